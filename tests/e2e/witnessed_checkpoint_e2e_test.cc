// notaryd with independent witnesses (issue 19): three real notary-witness processes, quorum 2.
// Checkpoints are published with two or three cosignatures; one witness down, publishing goes
// on; two down, mail is still taken and sealed while publishing waits and /readyz says why;
// one back, publishing resumes at the newest tree. A witness that holds a forked view of the
// log refuses, and notaryd's log and metrics show it.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>

#include <nlohmann/json.hpp>

#include "common/bytes.h"
#include "log/checkpoint.h"
#include "log/cosignature.h"
#include "notaryd_process.h"
#include "support/test_support.h"

namespace {

using nlohmann::json;
using testsupport::RunCommand;
using testsupport::WaitUntil;

constexpr const char* kOrigin = "notary.test/log";

std::string WitnessBinary() { return testsupport::BinaryDir() + "/witness/notary-witness"; }

class Witness {
 public:
  Witness(std::string dir, std::string name, std::vector<std::string> logs)
      : dir_(std::move(dir)), name_(std::move(name)), logs_(std::move(logs)) {
    auto r = RunCommand({WitnessBinary(), "--data-dir", dir_, "--name", name_, "--print-vkey"});
    vkey_ = r.out.substr(0, r.out.find('\n'));
    Start();
  }
  // The first start takes any free port; a restart takes the same one (notaryd was given it).
  void Start() {
    std::vector<std::string> argv = {
        WitnessBinary(), "--listen", "127.0.0.1:" + std::to_string(port_), "--data-dir", dir_,
        "--name",        name_};
    for (const auto& l : logs_) {
      argv.push_back("--log");
      argv.push_back(l);
    }
    proc_ = std::make_unique<testsupport::ChildProcess>(argv, dir_ + ".log");
    auto line = proc_->WaitForLine("event=listening", std::chrono::seconds(30));
    if (line && port_ == 0) {
      const size_t addr = line->find("addr=");
      const size_t colon = line->find(':', addr);
      port_ = std::atoi(line->c_str() + colon + 1);
    }
    up_ = line.has_value();
  }
  void Stop() { proc_.reset(); }
  bool up() const { return up_; }
  const std::string& vkey() const { return vkey_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::string flag() const { return vkey_ + "=" + url(); }

 private:
  std::string dir_, name_, vkey_;
  std::vector<std::string> logs_;
  int port_ = 0;
  bool up_ = false;
  std::unique_ptr<testsupport::ChildProcess> proc_;
};

// A signing key made by the test, so that the witnesses can be told the log's key first.
struct LogKey {
  explicit LogKey(const std::string& dir) : signer(*notary::Ed25519Signer::Generate()) {
    file = dir + "/signing-key.pem";
    testsupport::WriteFile(file, *signer.PrivatePem());
    ::chmod(file.c_str(), 0600);
    vkey = notary::MakeNoteVerifierKey(kOrigin, signer.public_key())->ToString();
  }
  notary::Ed25519Signer signer;
  std::string file, vkey;
};

struct Published {
  int status = 0;
  std::string note;
  uint64_t size = 0;
};

Published Checkpoint(const e2e::NotarydProcess& n) {
  auto r = RunCommand({"curl", "-s", "-o", "-", "-w", "\n%{http_code}", n.Http("/v1/checkpoint")});
  Published p;
  const size_t nl = r.out.rfind('\n');
  if (nl == std::string::npos) return p;
  p.status = std::atoi(r.out.c_str() + nl + 1);
  p.note = r.out.substr(0, nl);
  if (p.status == 200) {
    auto text = notary::ParseNote(p.note);
    if (text.ok()) {
      auto cp = notary::ParseCheckpoint(text->text);
      if (cp.ok()) p.size = cp->size;
    }
  }
  return p;
}

// The witnesses among `ws` whose cosignature on the note verifies.
size_t Cosigners(const std::string& note, const std::vector<Witness*>& ws) {
  size_t n = 0;
  for (const Witness* w : ws) {
    auto key = notary::ParseCosignerKey(w->vkey());
    if (key.ok() && notary::VerifyCosignature(note, *key).ok()) ++n;
  }
  return n;
}

int64_t LatestTreeSize(const e2e::NotarydProcess& n) {
  auto r = RunCommand({"curl", "-sf", n.Http("/v1/blocks/latest")});
  if (r.exit_code != 0) return -1;
  auto j = json::parse(r.out, nullptr, false);
  return j.is_object() && j.contains("tree_size") ? j["tree_size"].get<int64_t>() : -1;
}

void Send(const e2e::NotarydProcess& n) {
  auto r = RunCommand(
      {"swaks", "--server", "127.0.0.1:" + std::to_string(n.smtp_port()), "--to", "b@example.org"});
  ASSERT_EQ(r.exit_code, 0) << r.out;
}

std::string Get(const e2e::NotarydProcess& n, const std::string& path) {
  return RunCommand({"curl", "-s", n.Http(path)}).out;
}

TEST(WitnessedCheckpointTest, QuorumOfTwoOfThreeSurvivesOneWitnessAndWaitsForTwo) {
  testsupport::TestDatabase db;
  const std::string dir = testsupport::MakeTempDir("witnessed");
  LogKey key(dir);
  const std::string log_flag = std::string(kOrigin) + "=" + key.vkey;
  Witness a(dir + "/a", "witness.test/a", {log_flag});
  Witness b(dir + "/b", "witness.test/b", {log_flag});
  Witness c(dir + "/c", "witness.test/c", {log_flag});
  ASSERT_TRUE(a.up() && b.up() && c.up()) << testsupport::ReadFile(dir + "/a.log");
  std::vector<Witness*> all = {&a, &b, &c};

  e2e::NotarydProcess node(db.AppUrl(), db.OwnerUrl(), dir + "/data",
                           {"--signing-key", key.file, "--witness", a.flag(), "--witness", b.flag(),
                            "--witness", c.flag(), "--witness-quorum", "2",
                            "--checkpoint-interval-ms", "300", "--witness-timeout-ms", "2000"});
  ASSERT_TRUE(node.ready()) << node.Log();

  // All three up: a checkpoint with at least two valid cosignatures, and the log's signature.
  Send(node);
  ASSERT_TRUE(WaitUntil([&] { return Checkpoint(node).size >= 1; }, std::chrono::seconds(30)))
      << node.Log();
  Published p = Checkpoint(node);
  EXPECT_GE(Cosigners(p.note, all), 2u) << p.note;
  const auto log_vkey = *notary::ParseNoteVerifierKey(key.vkey);
  EXPECT_TRUE(notary::OpenCheckpoint(p.note, log_vkey).ok()) << p.note;
  // Rounds repeat, so all three converge on the newest tree.
  ASSERT_TRUE(WaitUntil([&] { return Cosigners(Checkpoint(node).note, all) == 3; },
                        std::chrono::seconds(30)));

  // One witness down: the next tree is still published, by the other two.
  c.Stop();
  Send(node);
  ASSERT_TRUE(WaitUntil([&] { return Checkpoint(node).size >= 2; }, std::chrono::seconds(30)))
      << node.Log();
  EXPECT_EQ(Cosigners(Checkpoint(node).note, {&a, &b}), 2u);

  // Two down: mail is taken and sealed, publishing stays at the last cosigned tree and
  // /readyz says the quorum cannot be reached.
  b.Stop();
  const uint64_t published = Checkpoint(node).size;
  Send(node);
  ASSERT_TRUE(WaitUntil([&] { return LatestTreeSize(node) > static_cast<int64_t>(published); },
                        std::chrono::seconds(30)));
  ASSERT_TRUE(WaitUntil(
      [&] {
        return Get(node, "/readyz").find("\"witness_quorum\":\"unreachable\"") != std::string::npos;
      },
      std::chrono::seconds(30)))
      << Get(node, "/readyz");
  EXPECT_EQ(Checkpoint(node).size, published);
  const std::string metrics = Get(node, "/metrics");
  EXPECT_NE(metrics.find("witness_up{witness=\"witness.test/b\"} 0"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("witness_quorum_reached 0"), std::string::npos) << metrics;

  // One back on its port: publishing resumes with the newest tree.
  b.Start();
  ASSERT_TRUE(b.up());
  const int64_t newest = LatestTreeSize(node);
  ASSERT_TRUE(WaitUntil([&] { return Checkpoint(node).size == static_cast<uint64_t>(newest); },
                        std::chrono::seconds(30)))
      << node.Log();
  EXPECT_EQ(Cosigners(Checkpoint(node).note, {&a, &b}), 2u);
  EXPECT_NE(Get(node, "/readyz").find("\"witness_quorum\":\"reached\""), std::string::npos);

  // The evidence bundle carries a checkpoint the quorum cosigned.
  const std::string api_key = e2e::MakeKey(db.AppUrl(), "default", "ingest,read");
  auto list = RunCommand({"curl", "-sf", "-H", "Authorization: Bearer " + api_key,
                          node.Http("/v1/messages?to=b@example.org&order=oldest")});
  ASSERT_EQ(list.exit_code, 0);
  const std::string id = json::parse(list.out)["items"][0]["id"].get<std::string>();
  const std::string zip = dir + "/evidence.zip";
  auto got = RunCommand({"curl", "-sf", "-H", "Authorization: Bearer " + api_key, "-o", zip,
                         node.Http("/v1/messages/" + id + "/evidence")});
  ASSERT_EQ(got.exit_code, 0);
  auto unzip = RunCommand({"unzip", "-p", zip, "evidence.json"});
  const json ev = json::parse(unzip.out);
  const std::string note = ev["checkpoint"]["note"].get<std::string>();
  EXPECT_GE(Cosigners(note, all), 2u) << note;

  // notary-verify, with the witnesses pinned: valid at quorum 2 (a and b cosigned; c was down
  // when this checkpoint was made), invalid when all three are required, naming check 22.
  const std::string verify = testsupport::BinaryDir() + "/cli/notary-verify";
  const std::string fingerprint = notary::Fingerprint(key.signer.public_key());
  auto ok = RunCommand({verify, zip, "--fingerprint", fingerprint, "--witness", a.vkey(),
                        "--witness", b.vkey(), "--witness", c.vkey(), "--witness-quorum", "2"});
  EXPECT_EQ(ok.exit_code, 0) << ok.out;
  EXPECT_NE(ok.out.find("witness.test/a"), std::string::npos) << ok.out;
  if (Cosigners(note, all) == 2) {
    auto strict = RunCommand({verify, zip, "--fingerprint", fingerprint, "--witness", a.vkey(),
                              "--witness", b.vkey(), "--witness", c.vkey()});
    EXPECT_EQ(strict.exit_code, 1) << strict.out;
    EXPECT_NE(strict.out.find("checkpoint.witnesses"), std::string::npos) << strict.out;
  }
}

TEST(WitnessedCheckpointTest, AWitnessHoldingAForkedViewRefusesAndNotarydSaysSo) {
  testsupport::TestDatabase db;
  const std::string dir = testsupport::MakeTempDir("witness-fork");
  LogKey key(dir);
  // The test's own key is also trusted for the origin: with it the test forges a checkpoint of
  // a larger tree the real log never had, and the witness cosigns that first.
  const auto forger = *notary::Ed25519Signer::Generate();
  const std::string forger_vkey =
      notary::MakeNoteVerifierKey(kOrigin, forger.public_key())->ToString();
  Witness w(dir + "/w", "witness.test/w",
            {std::string(kOrigin) + "=" + key.vkey, std::string(kOrigin) + "=" + forger_vkey});
  ASSERT_TRUE(w.up());
  notary::Checkpoint forged{kOrigin, 1000, {}, {}};
  forged.root.fill(0x42);
  const std::string body = "old 0\n\n" + *notary::SignCheckpoint(forged, kOrigin, forger);
  auto post = RunCommand(
      {"curl", "-s", "-w", "%{http_code}", "--data-binary", "@-", w.url() + "/add-checkpoint"},
      body);
  ASSERT_NE(post.out.find("200"), std::string::npos) << post.out;

  e2e::NotarydProcess node(db.AppUrl(), db.OwnerUrl(), dir + "/data",
                           {"--signing-key", key.file, "--witness", w.flag(),
                            "--checkpoint-interval-ms", "300", "--witness-timeout-ms", "2000"});
  ASSERT_TRUE(node.ready()) << node.Log();
  Send(node);
  ASSERT_TRUE(WaitUntil(
      [&] {
        return Get(node, "/metrics").find("witness_refusals_total{witness=\"witness.test/w\"} 0") ==
                   std::string::npos &&
               Get(node, "/metrics").find("witness_refusals_total{witness=\"witness.test/w\"}") !=
                   std::string::npos;
      },
      std::chrono::seconds(30)))
      << Get(node, "/metrics");
  EXPECT_EQ(Checkpoint(node).status, 503);
  EXPECT_NE(node.Log().find("event=witness_failed witness=\"witness.test/w\""), std::string::npos)
      << node.Log();
  EXPECT_NE(node.Log().find("1000"), std::string::npos) << node.Log();
}

}  // namespace

namespace {

testsupport::CommandResult Monitor(const e2e::NotarydProcess& n, const std::string& state,
                                   const std::string& vkey,
                                   const std::vector<std::string>& extra = {}) {
  std::vector<std::string> argv = {
      e2e::NotaryctlBinary(), "monitor", n.Http(""), "--state", state, "--log-key", vkey};
  argv.insert(argv.end(), extra.begin(), extra.end());
  return RunCommand(argv);
}

TEST(MonitorTest, AcceptsAGrowingLogAndNamesAForkOrARollback) {
  testsupport::TestDatabase db;
  const std::string dir = testsupport::MakeTempDir("monitor");
  LogKey key(dir);
  e2e::NotarydProcess node(db.AppUrl(), db.OwnerUrl(), dir + "/data", {"--signing-key", key.file});
  ASSERT_TRUE(node.ready()) << node.Log();
  Send(node);
  ASSERT_TRUE(WaitUntil([&] { return LatestTreeSize(node) >= 1; }, std::chrono::seconds(30)));
  const std::string state = dir + "/state";

  auto first = Monitor(node, state, key.vkey);
  ASSERT_EQ(first.exit_code, 0) << first.out;
  EXPECT_NE(first.out.find("first checkpoint recorded"), std::string::npos) << first.out;
  const std::string recorded = testsupport::ReadFile(state);

  Send(node);
  Send(node);
  const int64_t before = LatestTreeSize(node);
  ASSERT_TRUE(WaitUntil([&] { return LatestTreeSize(node) > 1; }, std::chrono::seconds(30)))
      << before;
  auto grown = Monitor(node, state, key.vkey);
  ASSERT_EQ(grown.exit_code, 0) << grown.out;
  EXPECT_NE(grown.out.find("consistent with size 1 "), std::string::npos) << grown.out;

  // A fork: the state holds another root for a size the log has, signed by the log's key
  // (what a split view would have shown this auditor).
  const auto now = *notary::OpenCheckpoint(testsupport::ReadFile(state),
                                           *notary::ParseNoteVerifierKey(key.vkey));
  notary::Checkpoint other = now;
  other.root[0] ^= 1;
  testsupport::WriteFile(state, *notary::SignCheckpoint(other, kOrigin, key.signer));
  auto fork = Monitor(node, state, key.vkey);
  EXPECT_EQ(fork.exit_code, 1) << fork.out;
  EXPECT_NE(fork.out.find("a fork"), std::string::npos) << fork.out;

  // A smaller tree with a root the log never had: the consistency proof fails.
  notary::Checkpoint small{kOrigin, 1, {}, {}};
  small.root.fill(7);
  testsupport::WriteFile(state, *notary::SignCheckpoint(small, kOrigin, key.signer));
  auto diverged = Monitor(node, state, key.vkey);
  EXPECT_EQ(diverged.exit_code, 1) << diverged.out;
  EXPECT_NE(diverged.out.find("does not extend"), std::string::npos) << diverged.out;

  // A rollback: the state holds a larger tree than the log now serves.
  notary::Checkpoint larger = now;
  larger.size += 10;
  testsupport::WriteFile(state, *notary::SignCheckpoint(larger, kOrigin, key.signer));
  auto rollback = Monitor(node, state, key.vkey);
  EXPECT_EQ(rollback.exit_code, 1) << rollback.out;
  EXPECT_NE(rollback.out.find("rolled back from size " + std::to_string(larger.size)),
            std::string::npos)
      << rollback.out;
  // The state keeps the evidence: a failed run does not overwrite it.
  EXPECT_NE(testsupport::ReadFile(state), recorded);
  EXPECT_TRUE(
      notary::OpenCheckpoint(testsupport::ReadFile(state), *notary::ParseNoteVerifierKey(key.vkey))
          ->size == larger.size);

  // Another key than the log's: the served checkpoint does not verify.
  const auto stranger = *notary::Ed25519Signer::Generate();
  const std::string wrong = notary::MakeNoteVerifierKey(kOrigin, stranger.public_key())->ToString();
  auto unsigned_run = Monitor(node, dir + "/state2", wrong);
  EXPECT_EQ(unsigned_run.exit_code, 1) << unsigned_run.out;
  // A witness quorum the log's checkpoint does not carry.
  auto unwitnessed =
      Monitor(node, dir + "/state3", key.vkey,
              {"--witness", notary::MakeCosignerKey("w", stranger.public_key())->ToString()});
  EXPECT_EQ(unwitnessed.exit_code, 1) << unwitnessed.out;
  EXPECT_NE(unwitnessed.out.find("0 of the 1 required"), std::string::npos) << unwitnessed.out;
}

}  // namespace
