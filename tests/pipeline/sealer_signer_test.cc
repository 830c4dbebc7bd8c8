// The sealer with a signer elsewhere: while the signer is down nothing seals and the leaves
// wait; when the signer signed a block whose commit never happened (its answer lost, or
// notaryd killed between the answer and the commit), the sealer rebuilds exactly that block
// instead of asking for another at the same height, which a signer refuses as a fork.
#include <gtest/gtest.h>

#include "common/metrics.h"
#include "common/sha256.h"
#include "log/chain_signer.h"
#include "pipeline/sealer.h"
#include "pipeline/tsa_service.h"
#include "storage/admin_store.h"
#include "storage/chain_store.h"
#include "storage/migrations.h"
#include "storage/receipt_store.h"
#include "support/test_support.h"

namespace {

// A signer with notary-signer's one rule that matters here (one header per height, the same
// one again is a retry) that can be down, or lose its answer after recording what it signed.
class FlakySigner final : public notary::ChainSigner {
 public:
  explicit FlakySigner(notary::Ed25519Signer key) : key_(std::move(key)) {}
  bool down = false;
  bool lose_next_answer = false;
  bool refuse_all = false;  // a signer that is not this log's (a wrong --signer)
  void SetKey(notary::Ed25519Signer key) { key_ = std::move(key); }
  int refusals = 0;

  common::Result<notary::Ed25519PublicKey> CurrentKey() override {
    if (down) return common::Error::Unavailable("signer down");
    return key_.public_key();
  }
  common::Result<notary::Ed25519Signature> SignBlock(const notary::BlockHeader& h) override {
    if (down) return common::Error::Unavailable("signer down");
    ASSIGN_OR_RETURN(std::string encoded, h.Encode());
    if (refuse_all) {
      ++refusals;
      return common::Error::Conflict("block height does not follow the last signed");
    }
    if (last_ && h.height <= last_height_ && encoded != *last_) {
      ++refusals;
      return common::Error::Conflict("another block at a height already signed");
    }
    last_ = encoded;
    last_height_ = h.height;
    if (lose_next_answer) {
      lose_next_answer = false;
      return common::Error::Unavailable("the answer was lost");
    }
    return notary::SignBlock(h, key_);
  }
  common::Result<std::string> SignCheckpoint(const notary::Checkpoint& cp,
                                             std::string_view name) override {
    if (down) return common::Error::Unavailable("signer down");
    return notary::SignCheckpoint(cp, name, key_);
  }
  common::Result<std::optional<std::string>> LastSignedHeader() override { return last_; }
  const std::optional<std::string>& last() const { return last_; }

 private:
  notary::Ed25519Signer key_;
  std::optional<std::string> last_;
  uint64_t last_height_ = 0;
};

class SealerSignerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(storage::Migrate(tdb_.OwnerUrl(), storage::BuiltinMigrations()).ok());
    auto db = storage::Database::Open({tdb_.AppUrl(), 4});
    ASSERT_TRUE(db.ok()) << db.error().ToString();
    db_ = std::move(*db);
    chain_ = std::make_unique<storage::ChainStore>(*db_);
    admin_ = std::make_unique<storage::AdminStore>(*db_);
    pipeline::TsaFiles files;
    files.data_dir = dir_ + "/data";
    auto tsa = pipeline::TsaService::Create(files);
    ASSERT_TRUE(tsa.ok()) << tsa.error().ToString();
    tsa_ = std::move(*tsa);
    auto key = notary::Ed25519Signer::Generate();
    ASSERT_TRUE(key.ok());
    signer_pem_a_ = *key->PrivatePem();
    signer_ = std::make_unique<FlakySigner>(std::move(*key));
    pipeline::SealerOptions so;
    so.database_url = tdb_.AppUrl();
    so.data_dir = dir_ + "/data";
    so.origin = "notary.test/log";
    so.node = "a";
    so.seal = false;  // the test seals by hand
    so.signer = signer_.get();
    auto s = pipeline::Sealer::Create(so, *chain_, *admin_, *tsa_, metrics_);
    ASSERT_TRUE(s.ok()) << s.error().ToString();
    sealer_ = std::move(*s);
  }

  void Ingest(int n) {
    for (int i = 0; i < n; ++i) {
      storage::NewReceipt r;
      char id[64];
      std::snprintf(id, sizeof id, "0190a5d8-0000-7000-8000-%012d", next_++);
      r.receipt.id = id;
      r.receipt.tenant = "default";
      r.receipt.received_at_us = 1764000000000000 + next_;
      r.receipt.provenance.node = "a";
      r.receipt.provenance.source = "smtp";
      r.receipt.envelope.mail_from = "a@example.com";
      r.receipt.envelope.recipients = {"b@example.org"};
      r.raw = "message " + std::to_string(next_);
      r.receipt.raw_sha256 = common::Sha256Of(r.raw);
      r.receipt.canonical_sha256 = common::Sha256Of("canonical " + r.raw);
      r.receipt.canon_version = 1;
      r.receipt.parts_root = common::Sha256Of("parts");
      r.receipt.envelope_digest = common::Sha256Of("envelope");
      r.receipt.salt = common::Sha256Of("salt " + r.raw);
      std::vector<const storage::NewReceipt*> ptrs = {&r};
      auto ins = storage::ReceiptStore(*db_).Insert(ptrs);
      ASSERT_TRUE(ins.ok()) << ins.error().ToString();
    }
  }
  int64_t Count(const std::string& sql) {
    return std::atoll(testsupport::Psql(tdb_.SuperUrl(), sql).c_str());
  }

  testsupport::TestDatabase tdb_;
  std::string dir_ = testsupport::MakeTempDir("sealer-signer");
  std::unique_ptr<storage::Database> db_;
  std::unique_ptr<storage::ChainStore> chain_;
  std::unique_ptr<storage::AdminStore> admin_;
  std::unique_ptr<pipeline::TsaService> tsa_;
  common::Metrics metrics_;
  std::unique_ptr<FlakySigner> signer_;
  std::optional<std::string> signer_pem_a_;  // the first key, to go back to it
  std::unique_ptr<pipeline::Sealer> sealer_;
  int next_ = 1;
};

TEST_F(SealerSignerTest, ADownSignerPausesSealingAndNothingIsLost) {
  Ingest(3);
  signer_->down = true;
  auto r = sealer_->SealOnce();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), common::ErrorCode::kUnavailable);
  EXPECT_EQ(metrics_.signer_up.load(), 0);
  EXPECT_GE(metrics_.signer_failures.load(), 1u);
  EXPECT_EQ(Count("SELECT count(*) FROM blocks"), 0);

  signer_->down = false;
  r = sealer_->SealOnce();
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  ASSERT_TRUE(r->has_value());
  EXPECT_EQ((*r)->leaf_count, 3);
  EXPECT_EQ(metrics_.signer_up.load(), 1);
}

TEST_F(SealerSignerTest, ABlockSignedButNeverCommittedIsSealedAgainAsSigned) {
  Ingest(2);
  ASSERT_TRUE(sealer_->SealOnce().ok());  // block 0
  Ingest(3);
  signer_->lose_next_answer = true;
  auto lost = sealer_->SealOnce();
  ASSERT_FALSE(lost.ok());  // block 1 signed, not committed
  ASSERT_TRUE(signer_->last().has_value());
  const std::string signed_header = *signer_->last();
  EXPECT_EQ(Count("SELECT count(*) FROM blocks"), 1);

  Ingest(4);  // more mail meanwhile: a fresh block 1 would hold 7 leaves and another time
  auto refused = sealer_->SealOnce();
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(signer_->refusals, 1);
  EXPECT_EQ(metrics_.signer_refusals.load(), 1u);

  auto replayed = sealer_->SealOnce();
  ASSERT_TRUE(replayed.ok()) << replayed.error().ToString();
  ASSERT_TRUE(replayed->has_value());
  EXPECT_EQ((*replayed)->height, 1);
  EXPECT_EQ((*replayed)->leaf_count, 3);
  EXPECT_EQ((*replayed)->header, signed_header);  // byte for byte what the signer signed

  auto rest = sealer_->SealOnce();
  ASSERT_TRUE(rest.ok()) << rest.error().ToString();
  ASSERT_TRUE(rest->has_value());
  EXPECT_EQ((*rest)->height, 2);
  EXPECT_EQ((*rest)->leaf_count, 4);
  EXPECT_EQ(Count("SELECT count(*) FROM leaves"), 9);
  EXPECT_EQ(Count("SELECT count(DISTINCT height) FROM blocks"), 3);
}

// A new key's arrival closes the old keys' validity only once a block it signed commits: a
// signer that refuses everything (the wrong one) must not retire the real key. A key whose
// validity was closed is not used to seal: its blocks would not verify.
TEST_F(SealerSignerTest, OldKeysAreRetiredOnlyWhenTheNewKeysFirstBlockCommits) {
  Ingest(1);
  ASSERT_TRUE(sealer_->SealOnce().ok());
  auto a = admin_->ListSigningKeys();
  ASSERT_TRUE(a.ok());
  ASSERT_EQ(a->size(), 1u);
  const std::string key_a = (*a)[0].key_id;
  auto a_private = notary::Ed25519Signer::FromPrivatePem(*signer_pem_a_);
  ASSERT_TRUE(a_private.ok());

  auto b = notary::Ed25519Signer::Generate();
  ASSERT_TRUE(b.ok());
  const std::string key_b = notary::KeyId(b->public_key());
  signer_->SetKey(std::move(*b));
  signer_->refuse_all = true;
  Ingest(1);
  EXPECT_FALSE(sealer_->SealOnce().ok());
  EXPECT_EQ(Count("SELECT count(*) FROM signing_keys WHERE valid_until IS NULL"), 2)
      << "nothing retired while no block under the new key committed";

  signer_->refuse_all = false;
  auto sealed = sealer_->SealOnce();
  ASSERT_TRUE(sealed.ok()) << sealed.error().ToString();
  ASSERT_TRUE(sealed->has_value());
  EXPECT_EQ((*sealed)->key_id, key_b);
  EXPECT_EQ(Count("SELECT count(*) FROM signing_keys WHERE valid_until IS NULL AND key_id = '" +
                  key_a + "'"),
            0);

  // Back to the retired key: refused before anything is signed.
  signer_->SetKey(std::move(*a_private));
  Ingest(1);
  auto refused = sealer_->SealOnce();
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code(), common::ErrorCode::kPermissionDenied);
  EXPECT_EQ(metrics_.signer_refusing.load(), 1);
  EXPECT_EQ(Count("SELECT count(*) FROM blocks"), 2);
}

}  // namespace
