#include "witness/witness.h"

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <thread>

#include "common/sha256.h"
#include "log/cosignature.h"
#include "support/manual_clock.h"
#include "support/test_support.h"
#include "test_log.h"

namespace witness {
namespace {

using witness_test::TestLog;

constexpr int64_t kNowUs = 1'760'000'000'000'000;

class WitnessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testsupport::MakeTempDir("witness");
    Open();
  }
  void TearDown() override {
    witness_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  // (Re)opens the store and the witness over dir_, as a restart would.
  void Open(std::vector<LogConfig> logs = {}) {
    witness_.reset();
    store_ = std::move(StateStore::Open({.dir = dir_}).value());
    if (logs.empty()) logs = {{log_.origin(), {log_.vkey()}}, {other_.origin(), {other_.vkey()}}};
    auto w = Witness::Create({"witness.test/w1", std::move(logs)}, key_, *store_, clock_);
    ASSERT_TRUE(w.ok()) << w.error().ToString();
    witness_ = std::move(*w);
  }
  AddCheckpointResponse Add(const std::string& body) { return witness_->AddCheckpoint(body); }
  void ExpectCosigned(const AddCheckpointResponse& r, const std::string& checkpoint) {
    ASSERT_EQ(r.status, 200) << r.reason;
    const std::string note = checkpoint + r.body;
    auto ts = notary::VerifyCosignature(note, witness_->cosigner_key());
    ASSERT_TRUE(ts.ok()) << ts.error().ToString();
    EXPECT_EQ(*ts, static_cast<uint64_t>(kNowUs / 1'000'000));
  }

  std::string dir_;
  TestLog log_{"example.com/log", 100};
  TestLog other_{"example.org/other", 10};
  notary::Ed25519Signer key_ = std::move(notary::Ed25519Signer::Generate().value());
  testsupport::ManualClock clock_{kNowUs};
  std::unique_ptr<StateStore> store_;
  std::unique_ptr<Witness> witness_;
};

TEST_F(WitnessTest, CosignsTheFirstCheckpointAndThenConsistentOnes) {
  ExpectCosigned(Add(log_.Body(0, 10)), log_.Checkpoint(10));
  EXPECT_EQ(witness_->State(log_.origin())->size, 10u);
  ExpectCosigned(Add(log_.Body(10, 37)), log_.Checkpoint(37));
  ExpectCosigned(Add(log_.Body(37, 37)), log_.Checkpoint(37));  // the same again
  ExpectCosigned(Add(log_.Body(37, 100)), log_.Checkpoint(100));
  const auto state = witness_->State(log_.origin());
  ASSERT_TRUE(state);
  EXPECT_EQ(state->size, 100u);
  EXPECT_EQ(state->root, log_.RootAt(100));
  EXPECT_EQ(state->checkpoint, log_.Checkpoint(100));
}

TEST_F(WitnessTest, MalformedIs400) {
  EXPECT_EQ(Add("old 0\n").status, 400);
  EXPECT_EQ(Add("old 0\n\nnot a note\n").status, 400);
  // A well-formed note whose text is not a checkpoint.
  auto note = notary::SignNote("example.com/log\nnot a size\n", "example.com/log", log_.key());
  EXPECT_EQ(Add("old 0\n\n" + *note).status, 400);
}

TEST_F(WitnessTest, UnknownOriginIs404) {
  TestLog stranger("example.net/unknown", 5);
  const auto r = Add(stranger.Body(0, 5));
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.origin, "example.net/unknown");
}

TEST_F(WitnessTest, NoTrustedSignatureIs403) {
  // Signed by another key under the log's name: an unknown key, ignored; none is left.
  TestLog impostor(log_.origin(), 5);
  EXPECT_EQ(Add(impostor.Body(0, 5)).status, 403);
  // A signature by the trusted key over other bytes fails: 403, even beside a good one.
  std::string good = log_.Checkpoint(5);
  std::string bad = good;
  const size_t line = bad.find("— ");
  bad[bad.size() - 6] = bad[bad.size() - 6] == 'A' ? 'B' : 'A';
  EXPECT_EQ(Add("old 0\n\n" + bad).status, 403);
  EXPECT_EQ(Add("old 0\n\n" + good + bad.substr(line)).status, 403);
  EXPECT_FALSE(witness_->State(log_.origin()));
}

TEST_F(WitnessTest, UnknownKeysBesideATrustedOneAreIgnored) {
  TestLog impostor(log_.origin(), 5);
  const std::string theirs = impostor.Checkpoint(5);
  // Another key's signature over a different tree, then the log's own, on the log's text.
  std::string note = log_.Checkpoint(5);
  auto extra =
      notary::SignNote(note.substr(0, note.find("\n\n") + 1), "someone.else", impostor.key());
  ASSERT_TRUE(extra.ok());
  note += extra->substr(extra->find("— "));
  ExpectCosigned(Add("old 0\n\n" + note), note);
}

TEST_F(WitnessTest, SeveralKeysForOneOrigin) {
  TestLog second_key(log_.origin(), 100);  // the same leaves, another key
  Open({{log_.origin(), {log_.vkey(), second_key.vkey()}}});
  ExpectCosigned(Add(log_.Body(0, 10)), log_.Checkpoint(10));
  ExpectCosigned(Add(second_key.Body(10, 20)), second_key.Checkpoint(20));
}

TEST_F(WitnessTest, OldLargerThanSizeIs400) {
  ExpectCosigned(Add(log_.Body(0, 10)), log_.Checkpoint(10));
  AddCheckpointRequest r{11, {}, log_.Checkpoint(10)};
  EXPECT_EQ(Add(FormatAddCheckpointRequest(r)).status, 400);
}

TEST_F(WitnessTest, OldSizeMismatchIs409WithTheStoredSize) {
  auto r = Add(log_.Body(5, 10));  // nothing cosigned yet: the stored size is 0
  EXPECT_EQ(r.status, 409);
  EXPECT_EQ(r.content_type, "text/x.tlog.size");
  EXPECT_EQ(r.body, "0\n");
  ExpectCosigned(Add(log_.Body(0, 10)), log_.Checkpoint(10));
  r = Add(log_.Body(0, 20));
  EXPECT_EQ(r.status, 409);
  EXPECT_EQ(r.body, "10\n");
  r = Add(log_.Body(5, 20));
  EXPECT_EQ(r.status, 409);
  EXPECT_EQ(r.body, "10\n");
}

TEST_F(WitnessTest, RollbackIsRefused) {
  ExpectCosigned(Add(log_.Body(0, 50)), log_.Checkpoint(50));
  // A checkpoint for an older, smaller tree, signed by the log: whatever old size it claims.
  EXPECT_EQ(Add(log_.Body(0, 20)).status, 409);
  EXPECT_EQ(Add(log_.Body(10, 20)).status, 409);
  EXPECT_EQ(Add(log_.Body(20, 20)).status, 409);
  AddCheckpointRequest r{50, {}, log_.Checkpoint(20)};
  EXPECT_EQ(Add(FormatAddCheckpointRequest(r)).status, 400);  // old > size
  EXPECT_EQ(witness_->State(log_.origin())->size, 50u);
}

TEST_F(WitnessTest, ForkAtTheSameSizeIs409AndKeptAsEvidence) {
  ExpectCosigned(Add(log_.Body(0, 30)), log_.Checkpoint(30));
  common::Hash other_root = log_.RootAt(30);
  other_root[0] ^= 1;
  AddCheckpointRequest fork{30, {}, log_.CheckpointWithRoot(30, other_root)};
  const std::string body = FormatAddCheckpointRequest(fork);
  const auto r = Add(body);
  EXPECT_EQ(r.status, 409);
  EXPECT_EQ(witness_->State(log_.origin())->root, log_.RootAt(30));
  const std::string kept = dir_ + "/evidence/" + common::ToHex(common::Sha256Of(body)) + ".txt";
  EXPECT_EQ(testsupport::ReadFile(kept), body);
}

TEST_F(WitnessTest, ForkOfALargerTreeFailsTheProofWith422) {
  ExpectCosigned(Add(log_.Body(0, 30)), log_.Checkpoint(30));
  // A tree of 60 leaves that does not extend the 30 cosigned: another history.
  TestLog forked(log_.origin(), 60, "another history");
  AddCheckpointRequest r{30, forked.Proof(30, 60), log_.CheckpointWithRoot(60, forked.RootAt(60))};
  EXPECT_EQ(Add(FormatAddCheckpointRequest(r)).status, 422);
  // The right tree with a damaged proof.
  r = {30, log_.Proof(30, 60), log_.Checkpoint(60)};
  r.proof[1][5] ^= 0x40;
  EXPECT_EQ(Add(FormatAddCheckpointRequest(r)).status, 422);
  // A proof that is too short, or one with a hash too many.
  r = {30, log_.Proof(30, 60), log_.Checkpoint(60)};
  r.proof.pop_back();
  EXPECT_EQ(Add(FormatAddCheckpointRequest(r)).status, 422);
  r = {30, log_.Proof(30, 60), log_.Checkpoint(60)};
  r.proof.push_back(r.proof[0]);
  EXPECT_EQ(Add(FormatAddCheckpointRequest(r)).status, 422);
  // Same size, right root, but a proof where none belongs.
  r = {30, {log_.RootAt(1)}, log_.Checkpoint(30)};
  EXPECT_EQ(Add(FormatAddCheckpointRequest(r)).status, 422);
  EXPECT_EQ(witness_->State(log_.origin())->size, 30u);
  ExpectCosigned(Add(log_.Body(30, 60)), log_.Checkpoint(60));
}

TEST_F(WitnessTest, ProofFromZeroMustBeEmpty) {
  AddCheckpointRequest r{0, {log_.RootAt(1)}, log_.Checkpoint(10)};
  EXPECT_EQ(Add(FormatAddCheckpointRequest(r)).status, 400);
}

TEST_F(WitnessTest, OriginsAreIndependent) {
  ExpectCosigned(Add(log_.Body(0, 40)), log_.Checkpoint(40));
  ExpectCosigned(Add(other_.Body(0, 3)), other_.Checkpoint(3));
  ExpectCosigned(Add(other_.Body(3, 10)), other_.Checkpoint(10));
  EXPECT_EQ(witness_->State(log_.origin())->size, 40u);
}

TEST_F(WitnessTest, StateSurvivesARestart) {
  ExpectCosigned(Add(log_.Body(0, 40)), log_.Checkpoint(40));
  Open();
  const auto r = Add(log_.Body(0, 50));
  EXPECT_EQ(r.status, 409);
  EXPECT_EQ(r.body, "40\n");
  ExpectCosigned(Add(log_.Body(40, 50)), log_.Checkpoint(50));
}

TEST_F(WitnessTest, ConcurrentRequestsForOneOriginNeverRollBack) {
  ExpectCosigned(Add(log_.Body(0, 1)), log_.Checkpoint(1));
  // Every thread knows the size the witness last answered and tries to move the log from
  // there to a size of its own; the stored size must only grow, and every 200 must be for a
  // checkpoint extending the one before it.
  std::atomic<int> ok{0};
  std::atomic<bool> rollback{false};
  std::vector<std::jthread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      uint64_t known = 1;
      for (int i = 0; i < 60; ++i) {
        const uint64_t target =
            std::min<uint64_t>(100, known + 1 + static_cast<uint64_t>((i * 7 + t * 13) % 9));
        const auto r = witness_->AddCheckpoint(log_.Body(known, target));
        if (r.status == 200) {
          ++ok;
          known = target;
        } else if (r.status == 409) {
          const uint64_t stored = std::stoull(r.body);
          if (stored < known) rollback = true;
          known = stored;
        } else {
          rollback = true;  // nothing else is expected
        }
        if (known == 100) break;
      }
    });
  }
  threads.clear();
  EXPECT_FALSE(rollback);
  EXPECT_GT(ok.load(), 1);
  // Reopened from disk, the state is the largest size any thread was cosigned.
  const uint64_t last = witness_->State(log_.origin())->size;
  Open();
  EXPECT_EQ(witness_->State(log_.origin())->size, last);
}

TEST(WitnessCreateTest, RefusesBadConfigurations) {
  const std::string dir = testsupport::MakeTempDir("witness");
  auto store = StateStore::Open({.dir = dir});
  ASSERT_TRUE(store.ok());
  auto key = notary::Ed25519Signer::Generate();
  testsupport::ManualClock clock{kNowUs};
  TestLog log("example.com/log");
  EXPECT_FALSE(
      Witness::Create({"bad name", {{log.origin(), {log.vkey()}}}}, *key, **store, clock).ok());
  EXPECT_FALSE(Witness::Create({"w", {}}, *key, **store, clock).ok());
  EXPECT_FALSE(Witness::Create({"w", {{log.origin(), {}}}}, *key, **store, clock).ok());
  EXPECT_FALSE(Witness::Create({"w", {{log.origin(), {log.vkey()}}, {log.origin(), {log.vkey()}}}},
                               *key, **store, clock)
                   .ok());
  std::filesystem::remove_all(dir);
}

TEST(WitnessLogFlagTest, SplitsAtTheFirstEquals) {
  TestLog log("example.com/log");
  auto p = ParseLogFlag("example.com/log=" + log.vkey().ToString());
  ASSERT_TRUE(p.ok()) << p.error().ToString();
  EXPECT_EQ(p->first, "example.com/log");
  EXPECT_EQ(p->second.public_key, log.key().public_key());
  EXPECT_FALSE(ParseLogFlag("example.com/log").ok());
  EXPECT_FALSE(ParseLogFlag("=" + log.vkey().ToString()).ok());
  EXPECT_FALSE(ParseLogFlag("example.com/log=garbage").ok());
  // A cosigner key (type 0x04) is not a log key.
  auto cosigner = notary::MakeCosignerKey("example.com/log", log.key().public_key());
  EXPECT_FALSE(ParseLogFlag("example.com/log=" + cosigner->ToString()).ok());
  const auto grouped = GroupLogs({*p, *p, {"b", p->second}});
  ASSERT_EQ(grouped.size(), 2u);
  EXPECT_EQ(grouped[0].keys.size(), 2u);
  EXPECT_EQ(grouped[1].origin, "b");
}

}  // namespace
}  // namespace witness
