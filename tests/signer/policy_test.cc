// What notary-signer refuses to sign, across restarts: a malformed header, another key, a
// height that goes back or skips, a fork, a block dated off the signer's clock, a checkpoint
// that shrinks or changes its root.
#include "signer/policy.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <optional>

#include "common/sha256.h"
#include "support/manual_clock.h"
#include "support/test_support.h"

namespace {

constexpr int64_t kNow = 1'764'000'000'000'000;

class SignerPolicyTest : public ::testing::Test {
 protected:
  signer::PolicyOptions Options() {
    signer::PolicyOptions o;
    o.state_path = dir_ + "/state";
    o.key_id = "0123456789abcdef";
    o.origins = {"notary.example/log"};
    o.clock = &clock_;
    return o;
  }
  signer::Policy Open() {
    auto p = signer::Policy::Open(Options());
    EXPECT_TRUE(p.ok()) << p.error().ToString();
    return std::move(*p);
  }
  // Block `height` after `prev` (nullptr for the first one seen), of `leaves` leaves.
  static notary::BlockHeader Block(uint64_t height, const notary::BlockHeader* prev,
                                   const common::Hash& prev_hash, uint64_t leaves = 10) {
    notary::BlockHeader h;
    h.height = height;
    h.prev_block_hash = height == 0 ? common::Hash{} : prev_hash;
    h.first_leaf_index = prev ? prev->tree_size : height * 10;
    h.leaf_count = leaves;
    h.tree_size = h.first_leaf_index + leaves;
    h.batch_root = common::Sha256Of("batch " + std::to_string(height));
    h.tree_root = common::Sha256Of("tree " + std::to_string(height));
    h.sealed_at_us = kNow + static_cast<int64_t>(height);
    h.key_id = "0123456789abcdef";
    return h;
  }
  // Checkpoint text (C2SP tlog-checkpoint body).
  static std::string Text(uint64_t size, const common::Hash& root, const std::string& ext = "",
                          const std::string& origin = "notary.example/log") {
    return origin + "\n" + std::to_string(size) + "\n" +
           common::Base64Encode(std::span<const uint8_t>(root)) + "\n" + ext;
  }
  static std::string Enc(const notary::BlockHeader& h) {
    auto e = h.Encode();
    EXPECT_TRUE(e.ok());
    return *e;
  }
  // Checks and records `h` as signed, with a block hash derived from it.
  static common::Hash Sign(signer::Policy& p, const notary::BlockHeader& h) {
    bool retry = false;
    auto checked = p.CheckBlock(Enc(h), retry);
    EXPECT_TRUE(checked.ok()) << checked.error().ToString();
    const common::Hash hash = common::Sha256Of("hash of " + Enc(h));
    EXPECT_TRUE(p.RecordBlock(Enc(h), h, hash).ok());
    return hash;
  }
  // nullopt when the header would be signed.
  static std::optional<common::ErrorCode> Refusal(const signer::Policy& p,
                                                  const notary::BlockHeader& h) {
    bool retry = false;
    auto r = p.CheckBlock(Enc(h), retry);
    if (r.ok()) return std::nullopt;
    return r.error().code();
  }

  std::string dir_ = testsupport::MakeTempDir("signer-policy");
  testsupport::ManualClock clock_{kNow};
};

TEST_F(SignerPolicyTest, HeightsOnlyGrowByOneLinkedToTheLastBlockSigned) {
  signer::Policy p = Open();
  const notary::BlockHeader b5 = Block(5, nullptr, common::Sha256Of("before"));
  const common::Hash h5 = Sign(p, b5);  // the first block seen is taken (trust on first use)
  const notary::BlockHeader b6 = Block(6, &b5, h5);
  EXPECT_EQ(Refusal(p, Block(5, nullptr, common::Sha256Of("other"))), common::ErrorCode::kConflict)
      << "another block at a height already signed is a fork";
  EXPECT_EQ(Refusal(p, Block(4, nullptr, common::Sha256Of("x"))), common::ErrorCode::kConflict);
  EXPECT_EQ(Refusal(p, Block(7, &b6, common::Sha256Of("x"))), common::ErrorCode::kConflict)
      << "a gap";
  EXPECT_EQ(Refusal(p, Block(6, &b5, common::Sha256Of("not h5"))), common::ErrorCode::kConflict)
      << "not linked to the last block signed";
  notary::BlockHeader overlapping = b6;
  overlapping.first_leaf_index -= 1;
  overlapping.leaf_count += 1;
  EXPECT_EQ(Refusal(p, overlapping), common::ErrorCode::kConflict);
  notary::BlockHeader earlier = b6;
  earlier.sealed_at_us = b5.sealed_at_us - 1;
  EXPECT_EQ(Refusal(p, earlier), common::ErrorCode::kConflict) << "dated before the last block";
  EXPECT_EQ(Refusal(p, b6), std::nullopt);
  Sign(p, b6);
}

TEST_F(SignerPolicyTest, TheSameHeaderAgainIsARetryAndIsSignedAgain) {
  signer::Policy p = Open();
  const notary::BlockHeader b0 = Block(0, nullptr, {});
  Sign(p, b0);
  bool retry = false;
  ASSERT_TRUE(p.CheckBlock(Enc(b0), retry).ok());
  EXPECT_TRUE(retry);
}

TEST_F(SignerPolicyTest, MalformedForeignOrMisdatedHeadersAreRefused) {
  signer::Policy p = Open();
  bool retry = false;
  EXPECT_EQ(p.CheckBlock("not a header", retry).error().code(), common::ErrorCode::kInvalidInput);
  notary::BlockHeader b0 = Block(0, nullptr, {});
  std::string truncated = Enc(b0);
  truncated.pop_back();
  EXPECT_EQ(p.CheckBlock(truncated, retry).error().code(), common::ErrorCode::kInvalidInput);
  notary::BlockHeader empty = b0;
  empty.leaf_count = 0;
  empty.tree_size = empty.first_leaf_index;
  EXPECT_EQ(Refusal(p, empty), common::ErrorCode::kInvalidInput) << "Validate()'s rules";
  notary::BlockHeader foreign = b0;
  foreign.key_id = "fedcba9876543210";
  EXPECT_EQ(Refusal(p, foreign), common::ErrorCode::kPermissionDenied);
  notary::BlockHeader ahead = b0;
  ahead.sealed_at_us = kNow + 300'000'001;
  EXPECT_EQ(Refusal(p, ahead), common::ErrorCode::kPermissionDenied) << "dated ahead";
  notary::BlockHeader behind = b0;
  behind.sealed_at_us = kNow - 300'000'001;
  EXPECT_EQ(Refusal(p, behind), common::ErrorCode::kPermissionDenied) << "backdated";
  behind.sealed_at_us = kNow - 300'000'000;
  EXPECT_EQ(Refusal(p, behind), std::nullopt) << "at the edge of the skew allowed";
}

TEST_F(SignerPolicyTest, WhatWasSignedIsRefusedAgainAfterARestart) {
  const notary::BlockHeader b0 = Block(0, nullptr, {});
  common::Hash h0;
  {
    signer::Policy p = Open();
    h0 = Sign(p, b0);
    auto c = p.CheckCheckpoint(Text(b0.tree_size, b0.tree_root));
    ASSERT_TRUE(c.ok()) << c.error().ToString();
    ASSERT_TRUE(p.RecordCheckpoint(*c).ok());
  }
  signer::Policy p = Open();
  ASSERT_TRUE(p.last_block().has_value());
  EXPECT_EQ(p.last_block()->height, 0u);
  EXPECT_EQ(p.last_block()->block_hash, h0);
  EXPECT_EQ(Refusal(p, Block(0, nullptr, {}, 11)), common::ErrorCode::kConflict);
  EXPECT_EQ(Refusal(p, Block(1, &b0, h0)), std::nullopt);
  EXPECT_TRUE(p.CheckCheckpoint(Text(b0.tree_size, b0.tree_root)).ok());
  auto smaller = p.CheckCheckpoint(Text(b0.tree_size - 1, b0.tree_root));
  ASSERT_FALSE(smaller.ok());
  EXPECT_EQ(smaller.error().code(), common::ErrorCode::kConflict);
}

// A signer of one log signs the checkpoint of the last block it signed and nothing else: no
// tree head a signed block does not commit to (a larger size with a root of the caller's
// choosing would be a fork signed by the log key), no extension lines, no other origin.
TEST_F(SignerPolicyTest, ACheckpointIsSignedOnlyForTheTreeOfTheLastBlockSigned) {
  signer::Policy p = Open();
  const common::Hash other = common::Sha256Of("another tree");
  EXPECT_EQ(p.CheckCheckpoint(Text(10, other)).error().code(), common::ErrorCode::kConflict)
      << "no block signed yet";
  const notary::BlockHeader b0 = Block(0, nullptr, {}, 10);
  Sign(p, b0);
  auto c = p.CheckCheckpoint(Text(b0.tree_size, b0.tree_root));
  ASSERT_TRUE(c.ok()) << c.error().ToString();
  ASSERT_TRUE(p.RecordCheckpoint(*c).ok());
  EXPECT_TRUE(p.CheckCheckpoint(Text(b0.tree_size, b0.tree_root)).ok()) << "the same again";
  EXPECT_EQ(p.CheckCheckpoint(Text(b0.tree_size, other)).error().code(),
            common::ErrorCode::kConflict);
  EXPECT_EQ(p.CheckCheckpoint(Text(b0.tree_size - 1, b0.tree_root)).error().code(),
            common::ErrorCode::kConflict);
  EXPECT_EQ(p.CheckCheckpoint(Text(b0.tree_size + 1, other)).error().code(),
            common::ErrorCode::kConflict)
      << "a larger tree no signed block commits to";
  EXPECT_EQ(p.CheckCheckpoint(Text(b0.tree_size, b0.tree_root, "extension line\n")).error().code(),
            common::ErrorCode::kPermissionDenied);
  EXPECT_EQ(p.CheckCheckpoint(Text(1, b0.tree_root, "", "other.example/log")).error().code(),
            common::ErrorCode::kPermissionDenied);
  EXPECT_EQ(p.CheckCheckpoint("notary.example/log\nten\n" +
                              common::Base64Encode(std::span<const uint8_t>(b0.tree_root)) + "\n")
                .error()
                .code(),
            common::ErrorCode::kInvalidInput);
}

// One durable write per block: the block's record carries its log's checkpoint (the signer
// serves one origin), so the checkpoint signed next needs no write of its own, and a smaller
// checkpoint is refused even though none was signed yet.
TEST_F(SignerPolicyTest, ABlockRecordsItsCheckpointInTheSameWrite) {
  signer::Policy p = Open();
  const notary::BlockHeader b0 = Block(0, nullptr, {}, 10);
  Sign(p, b0);
  const std::string state = testsupport::ReadFile(dir_ + "/state");
  EXPECT_EQ(p.CheckCheckpoint(Text(9, b0.tree_root)).error().code(), common::ErrorCode::kConflict);
  auto same = p.CheckCheckpoint(Text(10, b0.tree_root));
  ASSERT_TRUE(same.ok()) << same.error().ToString();
  // The state file is not rewritten (no .new file appears, the content stays).
  std::filesystem::remove(dir_ + "/state");
  ASSERT_TRUE(p.RecordCheckpoint(*same).ok());
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/state"));
  EXPECT_FALSE(state.empty());
}

TEST_F(SignerPolicyTest, AStateFileThatDoesNotParseStopsTheSigner) {
  std::ofstream(dir_ + "/state") << "email-notary-signer-state v1\nblock 1 zz\n";
  auto p = signer::Policy::Open(Options());
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.error().code(), common::ErrorCode::kInvalidInput);
  std::ofstream(dir_ + "/state") << "something else\n";
  EXPECT_FALSE(signer::Policy::Open(Options()).ok());
}

}  // namespace
