// Issue 20's least-privilege items against the real notaryd: an evidence request with ?wait=
// on a node that does not seal sleeps until the sealing node's NOTIFY wakes it (no polling,
// bounded waiters, 429 beyond them), and POST /v1/tsa needs an API key with the `tsa` scope
// unless the node runs with --public-tsa.
#include <gtest/gtest.h>

#include <future>
#include <nlohmann/json.hpp>
#include <regex>

#include "notaryd_process.h"
#include "support/test_support.h"

namespace {

using nlohmann::json;
using testsupport::RunCommand;

struct Reply {
  int status = 0;
  std::string body;
};

Reply CurlDo(std::vector<std::string> args, int timeout_s = 120) {
  std::vector<std::string> argv = {"curl", "-s", "-o", "-", "-w", "\n%{http_code}"};
  argv.insert(argv.end(), args.begin(), args.end());
  auto r = RunCommand(argv, "", timeout_s);
  Reply c;
  auto nl = r.out.rfind('\n');
  c.body = r.out.substr(0, nl);
  c.status = std::atoi(r.out.substr(nl + 1).c_str());
  return c;
}

Reply GetWithKey(const std::string& url, const std::string& key) {
  return CurlDo({"-H", "Authorization: Bearer " + key, url});
}

// The value of one /metrics line (`name` with its labels); -1 when absent.
double Metric(const e2e::NotarydProcess& n, const std::string& name) {
  const std::string body = CurlDo({n.Http("/metrics")}).body;
  const std::string prefix = "\n" + name + " ";
  auto at = body.find(prefix);
  if (at == std::string::npos) return -1;
  return std::atof(body.c_str() + at + prefix.size());
}

class SealWaitTest : public ::testing::Test {
 protected:
  // A node that serves but never seals; its waiters re-check only hourly, so within a wait
  // of 60 s nothing but a notification can wake them.
  std::unique_ptr<e2e::NotarydProcess> StartNode(const std::string& node, bool seal,
                                                 std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"--seal", seal ? "true" : "false",
                                     "--evidence-wait-recheck-ms", "3600000"};
    args.insert(args.end(), extra.begin(), extra.end());
    auto p = std::make_unique<e2e::NotarydProcess>(db_.AppUrl(), db_.OwnerUrl(), dir_ + "/data",
                                                   args, node);
    EXPECT_TRUE(p->ready()) << p->Log();
    return p;
  }

  std::string Submit(const e2e::NotarydProcess& n, const std::string& key) {
    testsupport::WriteFile(dir_ + "/m.eml",
                           "From: a@example.com\r\nTo: b@example.org\r\nSubject: wait\r\n"
                           "Message-ID: <wait@example.com>\r\n\r\nhello\r\n");
    auto r = CurlDo({"-H", "Authorization: Bearer " + key, "-H", "Content-Type: message/rfc822",
                     "--data-binary", "@" + dir_ + "/m.eml", n.Http("/v1/messages")});
    EXPECT_EQ(r.status, 201) << r.body;
    return r.status == 201 ? json::parse(r.body)["id"].get<std::string>() : "";
  }

  testsupport::TestDatabase db_;
  std::string dir_ = testsupport::MakeTempDir("seal-wait");
};

TEST_F(SealWaitTest, AWaitOnANodeThatDoesNotSealIsWokenByTheSealersNotify) {
  auto a = StartNode("node-a", false, {"--http-max-waiters", "1"});
  ASSERT_TRUE(a->ready());
  const std::string key = e2e::MakeKey(db_.AppUrl(), "default", "ingest,read");
  const std::string id = Submit(*a, key);
  ASSERT_FALSE(id.empty());
  const std::string url = a->Http("/v1/messages/" + id + "/evidence?wait=60");

  // Nothing seals yet: the request waits on node a.
  auto waiting = std::async(std::launch::async, [&] { return GetWithKey(url, key); });
  ASSERT_TRUE(testsupport::WaitUntil([&] { return Metric(*a, "evidence_waiters") == 1; },
                                     std::chrono::seconds(30)))
      << a->Log();

  // One waiter is the bound: a second is refused at once, not queued.
  auto refused = GetWithKey(url, key);
  EXPECT_EQ(refused.status, 429) << refused.body;
  EXPECT_EQ(json::parse(refused.body)["error"]["code"], "too_many_waiters");

  // A sealing node starts; its first seal takes the message and NOTIFYs.
  auto s = StartNode("node-s", true);
  ASSERT_TRUE(s->ready());
  auto done = waiting.get();
  EXPECT_EQ(done.status, 200) << done.body;

  // Woken by the notification, never by its own clock: node a seals nothing itself.
  EXPECT_EQ(Metric(*a, "evidence_wait_wakeups_total{cause=\"notified\"}"), 1) << a->Log();
  EXPECT_EQ(Metric(*a, "evidence_wait_wakeups_total{cause=\"timeout\"}"), 0);
  EXPECT_GE(Metric(*a, "seal_notifications_total{source=\"listen\"}"), 1);
  EXPECT_EQ(Metric(*a, "seal_notifications_total{source=\"local\"}"), 0);
  EXPECT_EQ(Metric(*a, "evidence_wait_refused_total"), 1);
  EXPECT_EQ(Metric(*a, "evidence_waiters"), 0);

  // On the sealing node, a wait ends by its own sealer's word (or at once if already sealed).
  const std::string id2 = Submit(*s, key);
  auto own = GetWithKey(s->Http("/v1/messages/" + id2 + "/evidence?wait=60"), key);
  EXPECT_EQ(own.status, 200) << own.body;
  EXPECT_EQ(Metric(*s, "evidence_wait_wakeups_total{cause=\"timeout\"}"), 0);
  EXPECT_GE(Metric(*s, "seal_notifications_total{source=\"local\"}"), 1);
}

TEST_F(SealWaitTest, TsaNeedsTheTsaScopeUnlessPublic) {
  auto a = StartNode("node-a", true);
  ASSERT_TRUE(a->ready());
  auto q = RunCommand({"openssl", "ts", "-query", "-data", testsupport::SourceDir() + "/README.md",
                       "-sha256", "-cert", "-out", dir_ + "/q.tsq"});
  ASSERT_EQ(q.exit_code, 0) << q.out;
  auto post = [&](const e2e::NotarydProcess& n, const std::string& key) {
    std::vector<std::string> args = {"-H",
                                     "Content-Type: application/timestamp-query",
                                     "--data-binary",
                                     "@" + dir_ + "/q.tsq",
                                     "-o",
                                     dir_ + "/r.tsr",
                                     "-w",
                                     "%{http_code}"};
    if (!key.empty()) args.insert(args.begin(), {"-H", "Authorization: Bearer " + key});
    args.insert(args.begin(), {"curl", "-s"});
    args.push_back(n.Http("/v1/tsa"));
    return std::atoi(RunCommand(args).out.c_str());
  };
  auto verify = [&] {
    return RunCommand({"openssl", "ts", "-verify", "-queryfile", dir_ + "/q.tsq", "-in",
                       dir_ + "/r.tsr", "-CAfile", dir_ + "/data/tsa/ca.pem"});
  };

  EXPECT_EQ(post(*a, ""), 401);
  EXPECT_EQ(post(*a, e2e::MakeKey(db_.AppUrl(), "default", "ingest,read,admin")), 403);
  const std::string tsa_key = e2e::MakeKey(db_.AppUrl(), "default", "tsa");
  ASSERT_EQ(tsa_key.rfind("nk_", 0), 0u) << tsa_key;
  ASSERT_EQ(post(*a, tsa_key), 200);
  auto v = verify();
  EXPECT_EQ(v.exit_code, 0) << v.out;

  // --public-tsa: open to anyone, as before issue 20.
  auto open = StartNode("node-b", false, {"--public-tsa"});
  ASSERT_TRUE(open->ready());
  ASSERT_EQ(post(*open, ""), 200);
  v = verify();
  EXPECT_EQ(v.exit_code, 0) << v.out;
}

}  // namespace
