// An external RFC 3161 authority (openssl ts -reply behind tests/tools/tsa_server.py):
// its tokens reach every block; while it is down blocks keep sealing and say which token is
// missing; once it is back the missing tokens arrive.
#include <gtest/gtest.h>
#include <signal.h>

#include <nlohmann/json.hpp>

#include "common/bytes.h"
#include "notaryd_process.h"
#include "support/test_support.h"

namespace {

using nlohmann::json;
using testsupport::RunCommand;
using testsupport::WaitUntil;

class ExternalTsa {
 public:
  explicit ExternalTsa(const std::string& dir) : dir_(dir) { Start(); }
  // The first start listens on port 0 and reads the port from the server's "port=" line; a
  // restart takes the same port, which notaryd was given.
  void Start() {
    proc_ = std::make_unique<testsupport::ChildProcess>(
        std::vector<std::string>{"python3", testsupport::SourceDir() + "/tests/tools/tsa_server.py",
                                 std::to_string(port_), dir_},
        dir_ + "/tsa.log", testsupport::ChildProcess::Watched::kStdout);
    auto line = proc_->WaitForLine("port=", std::chrono::seconds(60));
    port_ = line ? std::atoi(line->c_str() + line->find("port=") + 5) : 0;
  }
  void Stop() { proc_.reset(); }  // SIGKILL
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/"; }
  std::string ca() const { return dir_ + "/ca.pem"; }

 private:
  std::string dir_;
  int port_ = 0;
  std::unique_ptr<testsupport::ChildProcess> proc_;
};

json Block(const e2e::NotarydProcess& n, int64_t height) {
  auto r = RunCommand({"curl", "-sf", n.Http("/v1/blocks/" + std::to_string(height))});
  return r.exit_code == 0 ? json::parse(r.out) : json();
}

int64_t LatestHeight(const e2e::NotarydProcess& n) {
  auto r = RunCommand({"curl", "-sf", n.Http("/v1/blocks/latest")});
  return r.exit_code == 0 ? json::parse(r.out)["height"].get<int64_t>() : -1;
}

std::string TokenStatus(const json& block, const std::string& tsa) {
  if (!block.is_object() || !block.contains("timestamps")) return "absent";
  for (const auto& t : block["timestamps"]) {
    if (t.value("tsa", "") == tsa) return t.value("status", "");
  }
  return "absent";
}

void Send(const e2e::NotarydProcess& n) {
  auto r = RunCommand(
      {"swaks", "--server", "127.0.0.1:" + std::to_string(n.smtp_port()), "--to", "b@example.org"});
  ASSERT_EQ(r.exit_code, 0) << r.out;
}

TEST(ExternalTsaTest, TokensArriveAndAnOutageNeverHoldsUpSealing) {
  testsupport::TestDatabase db;
  std::string dir = testsupport::MakeTempDir("tsa-ext");
  ExternalTsa tsa(dir);
  ASSERT_EQ(RunCommand({"test", "-f", tsa.ca()}).exit_code, 0)
      << testsupport::ReadFile(dir + "/tsa.log");
  e2e::NotarydProcess node(db.AppUrl(), db.OwnerUrl(), dir + "/data",
                           {"--tsa-url", tsa.url(), "--tsa-ca", tsa.ca()});
  ASSERT_TRUE(node.ready()) << node.Log();

  Send(node);
  ASSERT_TRUE(WaitUntil([&] { return LatestHeight(node) == 0; }, std::chrono::seconds(20)));
  ASSERT_TRUE(WaitUntil([&] { return TokenStatus(Block(node, 0), tsa.url()) == "verified"; },
                        std::chrono::seconds(20)))
      << Block(node, 0).dump();
  EXPECT_EQ(TokenStatus(Block(node, 0), "local"), "verified");
  EXPECT_EQ(Block(node, 0)["status"], "complete");

  tsa.Stop();
  Send(node);
  ASSERT_TRUE(WaitUntil([&] { return LatestHeight(node) == 1; }, std::chrono::seconds(20)))
      << "sealing waited for the TSA";
  json b1 = Block(node, 1);
  EXPECT_EQ(TokenStatus(b1, "local"), "verified");
  EXPECT_EQ(TokenStatus(b1, tsa.url()), "missing");
  EXPECT_EQ(b1["status"], "timestamps_missing");

  tsa.Start();
  // Backoff is at most a few seconds after the first failures.
  EXPECT_TRUE(WaitUntil([&] { return TokenStatus(Block(node, 1), tsa.url()) == "verified"; },
                        std::chrono::seconds(30)))
      << Block(node, 1).dump();
  EXPECT_EQ(Block(node, 1)["status"], "complete");
  // The stored token verifies with openssl against the external CA.
  const json block1 = Block(node, 1);
  json tok;
  for (const auto& t : block1["timestamps"]) {
    if (t["tsa"] == tsa.url()) tok = t;
  }
  auto der = common::Base64Decode(tok["token"].get<std::string>());
  ASSERT_TRUE(der.has_value());
  testsupport::WriteFile(dir + "/t.tst", *der);
  auto v = RunCommand({"openssl", "ts", "-verify", "-token_in", "-in", dir + "/t.tst", "-digest",
                       block1["block_hash"].get<std::string>(), "-CAfile", tsa.ca()});
  EXPECT_EQ(v.exit_code, 0) << v.out;
}

// Two external authorities, each with its own CA, plus the built-in one, and a quorum of all
// three: one external authority down while blocks seal; sealing goes on, the block says which
// token is missing, its bundle is held back (409) until the token arrives, then carries three.
TEST(ExternalTsaTest, SeveralAuthoritiesWithAQuorumHoldBackBundlesUntilTheLateTokenArrives) {
  testsupport::TestDatabase db;
  std::string dir = testsupport::MakeTempDir("tsa-quorum");
  ExternalTsa one(testsupport::MakeTempDir("tsa-one"));
  ExternalTsa two(testsupport::MakeTempDir("tsa-two"));
  ASSERT_NE(testsupport::ReadFile(one.ca()), testsupport::ReadFile(two.ca()));
  e2e::NotarydProcess node(db.AppUrl(), db.OwnerUrl(), dir + "/data",
                           {"--tsa-url", one.url(), "--tsa-ca", one.ca(), "--tsa-url", two.url(),
                            "--tsa-ca", two.ca(), "--tsa-quorum", "3"});
  ASSERT_TRUE(node.ready()) << node.Log();
  const std::string key = e2e::MakeKey(db.AppUrl(), "default", "ingest,read");

  two.Stop();
  Send(node);
  ASSERT_TRUE(WaitUntil([&] { return LatestHeight(node) == 0; }, std::chrono::seconds(20)))
      << "sealing waited for the TSA";
  ASSERT_TRUE(WaitUntil([&] { return TokenStatus(Block(node, 0), one.url()) == "verified"; },
                        std::chrono::seconds(20)));
  json b0 = Block(node, 0);
  EXPECT_EQ(TokenStatus(b0, "local"), "verified");
  EXPECT_EQ(TokenStatus(b0, two.url()), "missing");
  for (const auto& t : b0["timestamps"]) EXPECT_EQ(t["own"], t["tsa"] == "local") << t.dump();

  auto list = RunCommand({"curl", "-sf", "-H", "Authorization: Bearer " + key,
                          node.Http("/v1/messages?to=b@example.org&order=oldest")});
  ASSERT_EQ(list.exit_code, 0);
  const std::string id = json::parse(list.out)["items"][0]["id"].get<std::string>();
  const auto evidence = [&] {
    return RunCommand({"curl", "-s", "-o", dir + "/evidence.zip", "-w", "%{http_code}", "-H",
                       "Authorization: Bearer " + key,
                       node.Http("/v1/messages/" + id + "/evidence")})
        .out;
  };
  EXPECT_EQ(evidence(), "409");
  EXPECT_NE(testsupport::ReadFile(dir + "/evidence.zip").find("2 of the 3 time-stamp tokens"),
            std::string::npos)
      << testsupport::ReadFile(dir + "/evidence.zip");

  two.Start();
  ASSERT_TRUE(WaitUntil([&] { return TokenStatus(Block(node, 0), two.url()) == "verified"; },
                        std::chrono::seconds(30)))
      << Block(node, 0).dump();
  ASSERT_EQ(evidence(), "200");
  auto ev = RunCommand({"unzip", "-p", dir + "/evidence.zip", "evidence.json"});
  EXPECT_EQ(json::parse(ev.out)["block"]["timestamps"].size(), 3u) << ev.out;
}

}  // namespace
