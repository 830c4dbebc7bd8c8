// CheckpointPublisher against real witnesses (the notary-witness library, in process, behind
// the transport instead of HTTP) and the real PostgreSQL: what counts as a cosignature, what
// is published, and how a witness's size is learnt. The HTTP path and the processes are
// covered by tests/e2e/witnessed_checkpoint_e2e_test.cc.
#include "pipeline/checkpoint_publisher.h"

#include <gtest/gtest.h>

#include <atomic>

#include "common/metrics.h"
#include "common/sha256.h"
#include "log/checkpoint.h"
#include "log/cosignature.h"
#include "pipeline/key_files.h"
#include "pipeline/sealer.h"
#include "pipeline/tsa_service.h"
#include "storage/admin_store.h"
#include "storage/chain_store.h"
#include "storage/migrations.h"
#include "storage/receipt_store.h"
#include "support/test_support.h"
#include "witness/state_store.h"
#include "witness/witness.h"

namespace {

constexpr const char* kOrigin = "notary.test/log";

// One real witness: its key, durable state and protocol logic.
struct InProcessWitness {
  InProcessWitness(const std::string& dir, const std::string& name,
                   const notary::NoteVerifierKey& log_key)
      : key(*notary::Ed25519Signer::Generate()) {
    store = std::move(*witness::StateStore::Open({dir}));
    witness::WitnessOptions o;
    o.name = name;
    o.logs = {{kOrigin, {log_key}}};
    w = std::move(*witness::Witness::Create(o, key, *store, common::Clock::System()));
    vkey = *notary::MakeCosignerKey(name, key.public_key());
  }
  notary::Ed25519Signer key;
  std::unique_ptr<witness::StateStore> store;
  std::unique_ptr<witness::Witness> w;
  notary::CosignerKey vkey;
  std::atomic<int> requests{0};
  std::atomic<bool> down{false};
  std::atomic<bool> repeat{false};
};

class CheckpointPublisherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(storage::Migrate(tdb_.OwnerUrl(), storage::BuiltinMigrations()).ok());
    auto db = storage::Database::Open({tdb_.AppUrl(), 8});
    ASSERT_TRUE(db.ok()) << db.error().ToString();
    db_ = std::move(*db);
    chain_ = std::make_unique<storage::ChainStore>(*db_);
    admin_ = std::make_unique<storage::AdminStore>(*db_);
    auto tsa = pipeline::TsaService::Create({dir_ + "/data", "", "", "", "", {}});
    ASSERT_TRUE(tsa.ok()) << tsa.error().ToString();
    tsa_ = std::move(*tsa);
    pipeline::SealerOptions so;
    so.database_url = tdb_.AppUrl();
    so.data_dir = dir_ + "/data";
    so.origin = kOrigin;
    so.node = "a";
    so.seal = false;  // the test seals by hand
    auto s = pipeline::Sealer::Create(so, *chain_, *admin_, *tsa_, metrics_);
    ASSERT_TRUE(s.ok()) << s.error().ToString();
    sealer_ = std::move(*s);
    auto keys = chain_->SigningKeys();
    ASSERT_TRUE(keys.ok() && !keys->empty());
    log_key_ = *notary::MakeNoteVerifierKey(kOrigin,
                                            *notary::ParseEd25519PublicKey((*keys)[0].public_key));
  }

  void SealOne() {
    storage::NewReceipt r;
    r.receipt.id = "0190a5d8-0000-7000-8000-00000000000" + std::to_string(next_++);
    r.receipt.tenant = "default";
    r.receipt.received_at_us = 1764000000000000;
    r.receipt.provenance.node = "a";
    r.receipt.provenance.source = "smtp";
    r.receipt.envelope.mail_from = "a@example.com";
    r.receipt.envelope.recipients = {"b@example.org"};
    r.raw = "message " + r.receipt.id;
    r.receipt.raw_sha256 = common::Sha256Of(r.raw);
    r.receipt.canonical_sha256 = common::Sha256Of("canonical");
    r.receipt.canon_version = 1;
    r.receipt.parts_root = common::Sha256Of("parts");
    r.receipt.envelope_digest = common::Sha256Of("envelope");
    r.receipt.salt = common::Sha256Of("salt");
    std::vector<const storage::NewReceipt*> ptrs = {&r};
    ASSERT_TRUE(storage::ReceiptStore(*db_).Insert(ptrs).ok());
    auto b = sealer_->SealOnce();
    ASSERT_TRUE(b.ok() && b->has_value());
  }

  std::unique_ptr<InProcessWitness> MakeWitness(const std::string& name) {
    return std::make_unique<InProcessWitness>(testsupport::MakeTempDir("w"), name, log_key_);
  }

  // Routes "http://<name>" to the witness of that name.
  pipeline::WitnessTransport Transport() {
    return [this](const std::string& url, std::string_view body,
                  std::chrono::milliseconds) -> common::Result<pipeline::WitnessReply> {
      for (auto* w : witnesses_) {
        if (url != "http://" + w->vkey.name + "/add-checkpoint") continue;
        ++w->requests;
        if (w->down) return common::Error::Unavailable("connection refused");
        auto r = w->w->AddCheckpoint(body);
        // A witness that repeats its (valid) line, hoping to bloat the published note.
        if (w->repeat && r.status == 200) r.body = r.body + r.body + r.body;
        return pipeline::WitnessReply{r.status, r.content_type, r.body};
      }
      return common::Error::Unavailable("no such host");
    };
  }

  std::unique_ptr<pipeline::CheckpointPublisher> Publisher(
      const std::vector<pipeline::WitnessConfig>& ws, size_t quorum) {
    pipeline::PublisherOptions o;
    o.witnesses = ws;
    o.quorum = quorum;
    auto p = pipeline::CheckpointPublisher::Create(*chain_, o, Transport(), metrics_);
    EXPECT_TRUE(p.ok()) << p.error().ToString();
    return p.ok() ? std::move(*p) : nullptr;
  }

  testsupport::TestDatabase tdb_;
  std::string dir_ = testsupport::MakeTempDir("publisher");
  std::unique_ptr<storage::Database> db_;
  std::unique_ptr<storage::ChainStore> chain_;
  std::unique_ptr<storage::AdminStore> admin_;
  std::unique_ptr<pipeline::TsaService> tsa_;
  common::Metrics metrics_;
  std::unique_ptr<pipeline::Sealer> sealer_;
  notary::NoteVerifierKey log_key_;
  std::vector<InProcessWitness*> witnesses_;
  int next_ = 1;
};

TEST_F(CheckpointPublisherTest, PublishesOnlyWhatTheQuorumCosignedAndTheWitnessesFollowTheLog) {
  auto a = MakeWitness("w.test/a"), b = MakeWitness("w.test/b");
  witnesses_ = {a.get(), b.get()};
  auto p = Publisher({{a->vkey, "http://w.test/a"}, {b->vkey, "http://w.test/b"}}, 2);
  ASSERT_TRUE(p);

  // No block yet: nothing to do.
  auto none = p->RunOnce();
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());

  SealOne();
  auto r1 = p->RunOnce();
  ASSERT_TRUE(r1.ok() && r1->has_value()) << (r1.ok() ? "" : r1.error().ToString());
  EXPECT_EQ((*r1)->cosigned, 2u);
  EXPECT_TRUE((*r1)->published);
  auto row = chain_->LatestCosignedCheckpoint();
  ASSERT_TRUE(row.ok() && row->has_value());
  EXPECT_EQ((*row)->tree_size, 1);
  EXPECT_TRUE(notary::VerifyCosignature((*row)->checkpoint, a->vkey).ok());
  EXPECT_TRUE(notary::VerifyCosignature((*row)->checkpoint, b->vkey).ok());
  EXPECT_TRUE(notary::OpenCheckpoint((*row)->checkpoint, log_key_).ok());

  // The log grows by two blocks; the witnesses get the consistency proof from size 1.
  SealOne();
  SealOne();
  auto r2 = p->RunOnce();
  ASSERT_TRUE(r2.ok() && r2->has_value());
  EXPECT_TRUE((*r2)->published);
  EXPECT_EQ(a->w->State(kOrigin)->size, 3u);
  EXPECT_EQ((*chain_->LatestCosignedCheckpoint())->tree_size, 3);
  // The same tree again: cosigned, not stored twice.
  const auto rows = [&] {
    return testsupport::Psql(tdb_.AppUrl(), "SELECT count(*) FROM cosigned_checkpoints");
  };
  const std::string before = rows();
  auto again = p->RunOnce();
  ASSERT_TRUE(again.ok() && again->has_value());
  EXPECT_TRUE((*again)->published);
  EXPECT_EQ(rows(), before);

  // One witness down, quorum 2: the round misses it and publishes nothing new.
  b->down = true;
  SealOne();
  auto r3 = p->RunOnce();
  ASSERT_TRUE(r3.ok() && r3->has_value());
  EXPECT_EQ((*r3)->cosigned, 1u);
  EXPECT_FALSE((*r3)->published);
  EXPECT_FALSE(p->quorum_reached());
  EXPECT_NE(p->last_problem().find("w.test/b"), std::string::npos) << p->last_problem();
  EXPECT_EQ((*chain_->LatestCosignedCheckpoint())->tree_size, 3);
  const std::string metrics = metrics_.Render();
  EXPECT_NE(metrics.find("witness_up{witness=\"w.test/b\"} 0"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("witness_quorum_reached 0"), std::string::npos) << metrics;
}

TEST_F(CheckpointPublisherTest, ACosignatureByAnotherKeyUnderTheSameNameDoesNotCount) {
  // notaryd was told w.test/a's key, but the host answering is another witness of that name.
  auto real = MakeWitness("w.test/a"), impostor = MakeWitness("w.test/a");
  witnesses_ = {impostor.get()};
  auto p = Publisher({{real->vkey, "http://w.test/a"}}, 1);
  ASSERT_TRUE(p);
  SealOne();
  auto r = p->RunOnce();
  ASSERT_TRUE(r.ok() && r->has_value());
  EXPECT_EQ((*r)->cosigned, 0u);
  EXPECT_FALSE((*r)->published);
  EXPECT_EQ(impostor->requests.load(), 1);
  EXPECT_FALSE(chain_->LatestCosignedCheckpoint()->has_value());
}

TEST_F(CheckpointPublisherTest, OneLinePerWitnessHoweverManyItSends) {
  auto a = MakeWitness("w.test/a");
  a->repeat = true;
  witnesses_ = {a.get()};
  auto p = Publisher({{a->vkey, "http://w.test/a"}}, 1);
  SealOne();
  auto r = p->RunOnce();
  ASSERT_TRUE(r.ok() && r->has_value() && (*r)->published);
  const std::string note = (*chain_->LatestCosignedCheckpoint())->checkpoint;
  EXPECT_EQ(notary::NoteSignatureLines(note)->size(), 2u) << note;  // the log's and a's
}

TEST_F(CheckpointPublisherTest, AWitnessThatRestartedEmptyOrAheadIsLearntFromIts409) {
  auto a = MakeWitness("w.test/a");
  witnesses_ = {a.get()};
  SealOne();
  SealOne();
  {
    // A first publisher brings the witness to size 2, then goes away (notaryd restarts).
    auto first = Publisher({{a->vkey, "http://w.test/a"}}, 1);
    ASSERT_TRUE(first->RunOnce().ok());
  }
  SealOne();
  // The new publisher starts from old size 0, is told 2 (409), and retries with the proof.
  auto p = Publisher({{a->vkey, "http://w.test/a"}}, 1);
  const int before = a->requests.load();
  auto r = p->RunOnce();
  ASSERT_TRUE(r.ok() && r->has_value());
  EXPECT_TRUE((*r)->published);
  EXPECT_EQ(a->requests.load() - before, 2);
  EXPECT_EQ(a->w->State(kOrigin)->size, 3u);
}

TEST_F(CheckpointPublisherTest, RefusesAQuorumItCannotMeet) {
  auto a = MakeWitness("w.test/a");
  pipeline::PublisherOptions o;
  o.witnesses = {{a->vkey, "http://w.test/a"}};
  o.quorum = 2;
  EXPECT_FALSE(pipeline::CheckpointPublisher::Create(*chain_, o, Transport(), metrics_).ok());
  o.quorum = 0;
  EXPECT_FALSE(pipeline::CheckpointPublisher::Create(*chain_, o, Transport(), metrics_).ok());
  o.quorum = 1;
  o.witnesses.push_back(o.witnesses[0]);
  EXPECT_FALSE(pipeline::CheckpointPublisher::Create(*chain_, o, Transport(), metrics_).ok());
}

TEST(AddCheckpointBodyTest, IsTheOldSizeTheProofAnEmptyLineAndTheNote) {
  common::Hash h{};
  h.fill(0);
  EXPECT_EQ(pipeline::AddCheckpointBody(3, {h}, "o\n5\nroot\n\n— o sig\n"),
            "old 3\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n\no\n5\nroot\n\n— o sig\n");
}

}  // namespace
