// The real notary-witness binary, on a port it chose, spoken to with curl; restarted over the
// same data directory.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <regex>
#include <thread>

#include "log/cosignature.h"
#include "support/test_support.h"
#include "test_log.h"

namespace {

using testsupport::BinaryDir;
using testsupport::ChildProcess;
using testsupport::RunCommand;
using witness_test::TestLog;

constexpr auto kStartTimeout = std::chrono::seconds(30);

std::string WitnessBinary() { return BinaryDir() + "/witness/notary-witness"; }

class WitnessE2eTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = testsupport::MakeTempDir("witness_e2e"); }
  void TearDown() override {
    child_.reset();
    // A sanitizer build's witness reports into its log at exit, which is removed below.
    if (std::filesystem::exists(dir_ + "/witness.log")) {
      const std::string log = testsupport::ReadFile(dir_ + "/witness.log");
      EXPECT_EQ(log.find("Sanitizer"), std::string::npos) << log;
      EXPECT_EQ(log.find("runtime error:"), std::string::npos) << log;
    }
    std::filesystem::remove_all(dir_);
  }

  std::vector<std::string> Argv() const {
    return {WitnessBinary(),    "--listen",     "127.0.0.1:0",
            "--data-dir",       dir_ + "/data", "--name",
            "witness.test/e2e", "--log",        log_.origin() + "=" + log_.vkey().ToString()};
  }
  // Starts the witness and waits for its readiness line; returns its port.
  int Start() {
    child_ = std::make_unique<ChildProcess>(Argv(), dir_ + "/witness.log");
    const auto line = child_->WaitForLine("event=listening", kStartTimeout);
    EXPECT_TRUE(line) << testsupport::ReadFile(dir_ + "/witness.log");
    if (!line) return 0;
    std::smatch m;
    const std::regex re("addr=127\\.0\\.0\\.1:([0-9]+) ");
    EXPECT_TRUE(std::regex_search(*line, m, re)) << *line;
    port_ = std::stoi(m[1]);
    return port_;
  }

  struct Reply {
    int status = 0;
    std::string content_type;
    std::string body;
  };
  // curl, the body from a file; the status and Content-Type from --write-out.
  Reply Curl(int port, const std::string& method, const std::string& path,
             const std::string& body) {
    const std::string file = dir_ + "/body";
    testsupport::WriteFile(file, body);
    const std::string out = dir_ + "/out";
    std::filesystem::remove(out);
    auto r = RunCommand(
        {"curl", "-sS", "-X", method, "--data-binary", "@" + file, "-o", out, "-w",
         "%{http_code} %{content_type}", "http://127.0.0.1:" + std::to_string(port) + path},
        "", 30);
    EXPECT_EQ(r.exit_code, 0) << r.out;
    Reply reply;
    const size_t sp = r.out.find(' ');
    reply.status = std::stoi(r.out.substr(0, sp));
    reply.content_type = sp == std::string::npos ? "" : r.out.substr(sp + 1);
    if (std::filesystem::exists(out)) reply.body = testsupport::ReadFile(out);
    return reply;
  }

  std::string dir_;
  TestLog log_{"example.com/e2e-log", 64};
  std::unique_ptr<ChildProcess> child_;
  int port_ = 0;
};

TEST_F(WitnessE2eTest, CosignsOverHttpAndKeepsItsStateAcrossARestart) {
  const auto vkey_out = RunCommand({WitnessBinary(), "--data-dir", dir_ + "/data", "--name",
                                    "witness.test/e2e", "--print-vkey"});
  ASSERT_EQ(vkey_out.exit_code, 0) << vkey_out.out;
  auto cosigner = notary::ParseCosignerKey(vkey_out.out.substr(0, vkey_out.out.find('\n')));
  ASSERT_TRUE(cosigner.ok()) << vkey_out.out;
  struct stat sb {};
  ASSERT_EQ(::stat((dir_ + "/data/witness-key.pem").c_str(), &sb), 0);
  EXPECT_EQ(sb.st_mode & 0777, 0600u);

  int port = Start();
  ASSERT_GT(port, 0);
  auto r = Curl(port, "POST", "/add-checkpoint", log_.Body(0, 20));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_TRUE(notary::VerifyCosignature(log_.Checkpoint(20) + r.body, *cosigner).ok()) << r.body;
  r = Curl(port, "POST", "/add-checkpoint", log_.Body(20, 33));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_TRUE(notary::VerifyCosignature(log_.Checkpoint(33) + r.body, *cosigner).ok());

  // The HTTP surface: other paths, other methods, malformed and oversized bodies.
  EXPECT_EQ(Curl(port, "POST", "/other", log_.Body(33, 40)).status, 404);
  EXPECT_EQ(Curl(port, "GET", "/add-checkpoint", "").status, 405);
  EXPECT_EQ(Curl(port, "PUT", "/add-checkpoint", "x").status, 405);
  EXPECT_EQ(Curl(port, "POST", "/add-checkpoint", "old 01\n\nx").status, 400);
  EXPECT_EQ(Curl(port, "POST", "/add-checkpoint", std::string(70 * 1024, 'a')).status, 413);
  TestLog stranger("example.net/stranger", 3);
  EXPECT_EQ(Curl(port, "POST", "/add-checkpoint", stranger.Body(0, 3)).status, 404);
  TestLog impostor(log_.origin(), 64);
  EXPECT_EQ(Curl(port, "POST", "/add-checkpoint", impostor.Body(33, 40)).status, 403);

  // A second witness on the same data directory refuses to start.
  auto second = RunCommand(Argv(), "", 30);
  EXPECT_EQ(second.exit_code, 1);
  EXPECT_NE(second.out.find("another notary-witness uses"), std::string::npos) << second.out;

  child_->Stop();
  EXPECT_FALSE(child_->Alive());
  port = Start();
  ASSERT_GT(port, 0);
  r = Curl(port, "POST", "/add-checkpoint", log_.Body(0, 40));
  EXPECT_EQ(r.status, 409);
  EXPECT_EQ(r.content_type, "text/x.tlog.size");
  EXPECT_EQ(r.body, "33\n");
  r = Curl(port, "POST", "/add-checkpoint", log_.Body(33, 64));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_TRUE(notary::VerifyCosignature(log_.Checkpoint(64) + r.body, *cosigner).ok());
  // --print-vkey works beside the running witness and prints the same key.
  const auto again = RunCommand({WitnessBinary(), "--data-dir", dir_ + "/data", "--name",
                                 "witness.test/e2e", "--print-vkey"});
  EXPECT_EQ(again.out, vkey_out.out);
  const std::string log = testsupport::ReadFile(dir_ + "/witness.log");
  EXPECT_NE(
      log.find("event=add_checkpoint status=200 origin=\"example.com/e2e-log\" old=33 size=64"),
      std::string::npos)
      << log;
  EXPECT_EQ(log.find("PRIVATE KEY"), std::string::npos);
}

TEST_F(WitnessE2eTest, RefusesToStartOnAKeyOthersMayReadOrACorruptState) {
  ASSERT_GT(Start(), 0);
  auto r = Curl(port_, "POST", "/add-checkpoint", log_.Body(0, 20));
  ASSERT_EQ(r.status, 200);
  child_->Stop();
  const std::string key = dir_ + "/data/witness-key.pem";
  ASSERT_EQ(::chmod(key.c_str(), 0644), 0);
  auto run = RunCommand(Argv(), "", 30);
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_NE(run.out.find("may be read by others"), std::string::npos) << run.out;
  ASSERT_EQ(::chmod(key.c_str(), 0600), 0);

  std::string state;
  for (const auto& e : std::filesystem::directory_iterator(dir_ + "/data/state")) {
    state = e.path().string();
  }
  ASSERT_FALSE(state.empty());
  std::string bytes = testsupport::ReadFile(state);
  bytes.replace(bytes.find("size 20"), 7, "size 2");  // a rollback by hand
  testsupport::WriteFile(state, bytes);
  run = RunCommand(Argv(), "", 30);
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_NE(run.out.find("is corrupt"), std::string::npos) << run.out;
}

TEST_F(WitnessE2eTest, ParallelClientsForOneOriginGetOneCosignatureEach) {
  const int port = Start();
  ASSERT_GT(port, 0);
  // Eight clients at once, each sending the first checkpoint of its own size from old 0:
  // exactly one is cosigned, the others learn its size (409), and the state is that one.
  std::vector<std::string> files;
  for (int i = 0; i < 8; ++i) {
    files.push_back(dir_ + "/parallel" + std::to_string(i));
    testsupport::WriteFile(files.back(), log_.Body(0, static_cast<uint64_t>(10 + i)));
  }
  const std::string url = "http://127.0.0.1:" + std::to_string(port) + "/add-checkpoint";
  std::vector<testsupport::CommandResult> results(files.size());
  {
    std::vector<std::jthread> clients;
    for (size_t i = 0; i < files.size(); ++i) {
      clients.emplace_back([&, i] {
        results[i] = RunCommand({"curl", "-sS", "--data-binary", "@" + files[i], "-o", "/dev/null",
                                 "-w", "%{http_code}", url},
                                "", 30);
      });
    }
  }
  int cosigned = -1, refused = 0;
  for (size_t i = 0; i < results.size(); ++i) {
    if (results[i].out == "200") {
      EXPECT_EQ(cosigned, -1) << "two cosigned";
      cosigned = static_cast<int>(i);
    } else {
      EXPECT_EQ(results[i].out, "409");
      ++refused;
    }
  }
  ASSERT_GE(cosigned, 0);
  EXPECT_EQ(refused, 7);
  const auto r = Curl(port, "POST", "/add-checkpoint", log_.Body(0, 40));
  EXPECT_EQ(r.body, std::to_string(10 + cosigned) + "\n");
}

TEST_F(WitnessE2eTest, KeepAliveConnectionCarriesSeveralRequests) {
  const int port = Start();
  ASSERT_GT(port, 0);
  // One curl, two requests on one connection (curl reuses it and says so with -v).
  testsupport::WriteFile(dir_ + "/a", log_.Body(0, 10));
  testsupport::WriteFile(dir_ + "/b", log_.Body(10, 12));
  const std::string url = "http://127.0.0.1:" + std::to_string(port) + "/add-checkpoint";
  auto r = RunCommand({"curl", "-sS", "-v", "--data-binary", "@" + dir_ + "/a", url, "--next",
                       "--data-binary", "@" + dir_ + "/b", url},
                      "", 30);
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("Re-using existing connection"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("HTTP/1.1 200"), std::string::npos) << r.out;
}

}  // namespace
