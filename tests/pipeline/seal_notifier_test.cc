// Waiting for a seal without polling: the sealer wakes its own process's waiters after the
// block commits, and the seal transaction's NOTIFY wakes those of another process sharing the
// database (a notaryd that does not seal). Waiters are given five minutes: one that is not
// woken comes back kTimeout (or meets the ctest timeout) and fails; no assertion reads a clock.
#include "pipeline/seal_notifier.h"

#include <gtest/gtest.h>

#include <future>
#include <thread>

#include "common/metrics.h"
#include "common/sha256.h"
#include "pipeline/sealer.h"
#include "pipeline/tsa_service.h"
#include "storage/admin_store.h"
#include "storage/chain_store.h"
#include "storage/migrations.h"
#include "storage/receipt_store.h"
#include "support/test_support.h"

namespace {

using pipeline::SealNotifier;
using Wake = SealNotifier::Wake;

constexpr auto kLong = std::chrono::minutes(5);

// Takes a place among the waiters, then sleeps until the generation changes.
std::future<Wake> StartWaiter(SealNotifier& n) {
  const uint64_t seen = n.generation();
  return std::async(std::launch::async, [&n, seen] {
    std::optional<SealNotifier::Ticket> ticket;
    if (!n.TryEnter(ticket)) return Wake::kTimeout;
    return n.WaitUntil(seen, std::chrono::steady_clock::now() + kLong);
  });
}

void AwaitWaiters(SealNotifier& n, uint64_t count) {
  ASSERT_TRUE(testsupport::WaitUntil([&] { return n.stats().waiters == count; },
                                     std::chrono::seconds(30), std::chrono::milliseconds(5)));
}

TEST(SealNotifierTest, ANewHeightWakesWaitersOnceWhicheverSourceReportsIt) {
  SealNotifier n(4);
  auto w = StartWaiter(n);
  AwaitWaiters(n, 1);
  n.Notify(SealNotifier::Source::kLocal, 7);
  EXPECT_EQ(w.get(), Wake::kNotified);
  // The same block again through NOTIFY, and an older one: no new generation.
  n.Notify(SealNotifier::Source::kListen, 7);
  n.Notify(SealNotifier::Source::kListen, 6);
  EXPECT_EQ(n.generation(), 1u);
  // A reconnect may have missed blocks: it always wakes.
  n.Notify(SealNotifier::Source::kReconnect);
  EXPECT_EQ(n.generation(), 2u);
  const auto s = n.stats();
  EXPECT_EQ(s.notified_local, 1u);
  EXPECT_EQ(s.notified_listen, 2u);
  EXPECT_EQ(s.notified_reconnect, 1u);
  EXPECT_EQ(s.woken_notified, 1u);
  EXPECT_EQ(s.woken_timeout, 0u);
  EXPECT_EQ(s.waiters, 0u);
}

TEST(SealNotifierTest, WaitersAreBounded) {
  SealNotifier n(2);
  std::optional<SealNotifier::Ticket> a, b, c;
  EXPECT_TRUE(n.TryEnter(a));
  EXPECT_TRUE(n.TryEnter(b));
  EXPECT_FALSE(n.TryEnter(c));
  EXPECT_EQ(n.stats().refused, 1u);
  a.reset();
  EXPECT_TRUE(n.TryEnter(c));
  EXPECT_EQ(n.stats().waiters, 2u);
}

TEST(SealNotifierTest, AWaitPastItsDeadlineSaysSo) {
  SealNotifier n(1);
  EXPECT_EQ(n.WaitUntil(n.generation(), std::chrono::steady_clock::now()), Wake::kTimeout);
  EXPECT_EQ(n.stats().woken_timeout, 1u);
}

// Two sealers on one database, as two notaryd nodes: `a` seals a block by hand; the waiters of
// both are woken, `a`'s by its sealer and `b`'s by the NOTIFY of a's seal transaction.
class SealWakeTest : public ::testing::Test {
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
    a_ = MakeSealer("a");
    b_ = MakeSealer("b");
    ASSERT_TRUE(a_ && b_);
  }

  std::unique_ptr<pipeline::Sealer> MakeSealer(const std::string& node) {
    pipeline::SealerOptions so;
    so.database_url = tdb_.AppUrl();
    so.data_dir = dir_ + "/data";  // one signing key for both, as nodes share theirs
    so.origin = "notary.test/log";
    so.node = node;
    so.seal = false;  // no loop: the test seals by hand
    so.max_waiters = 1;
    auto s = pipeline::Sealer::Create(so, *chain_, *admin_, *tsa_, metrics_);
    EXPECT_TRUE(s.ok()) << s.error().ToString();
    return s.ok() ? std::move(*s) : nullptr;
  }

  void IngestOne() {
    storage::NewReceipt r;
    r.receipt.id = "0190a5d8-0000-7000-8000-000000000001";
    r.receipt.tenant = "default";
    r.receipt.received_at_us = 1764000000000000;
    r.receipt.provenance.node = "a";
    r.receipt.provenance.source = "smtp";
    r.receipt.envelope.mail_from = "a@example.com";
    r.receipt.envelope.recipients = {"b@example.org"};
    r.raw = "message";
    r.receipt.raw_sha256 = common::Sha256Of(r.raw);
    r.receipt.canonical_sha256 = common::Sha256Of("canonical");
    r.receipt.canon_version = 1;
    r.receipt.parts_root = common::Sha256Of("parts");
    r.receipt.envelope_digest = common::Sha256Of("envelope");
    r.receipt.salt = common::Sha256Of("salt");
    std::vector<const storage::NewReceipt*> ptrs = {&r};
    auto ins = storage::ReceiptStore(*db_).Insert(ptrs);
    ASSERT_TRUE(ins.ok()) << ins.error().ToString();
  }

  testsupport::TestDatabase tdb_;
  std::string dir_ = testsupport::MakeTempDir("seal-wake");
  std::unique_ptr<storage::Database> db_;
  std::unique_ptr<storage::ChainStore> chain_;
  std::unique_ptr<storage::AdminStore> admin_;
  std::unique_ptr<pipeline::TsaService> tsa_;
  common::Metrics metrics_;
  std::unique_ptr<pipeline::Sealer> a_, b_;
};

TEST_F(SealWakeTest, TheSealerWakesItsOwnWaitersAndNotifyWakesAnotherNodes) {
  IngestOne();
  SealNotifier& na = a_->notifier();
  SealNotifier& nb = b_->notifier();
  auto wa = StartWaiter(na);
  auto wb = StartWaiter(nb);
  AwaitWaiters(na, 1);
  AwaitWaiters(nb, 1);

  auto block = a_->SealOnce();
  ASSERT_TRUE(block.ok()) << block.error().ToString();
  ASSERT_TRUE(block->has_value());

  EXPECT_EQ(wa.get(), Wake::kNotified);
  EXPECT_EQ(wb.get(), Wake::kNotified);
  EXPECT_EQ(na.stats().notified_local, 1u);
  EXPECT_EQ(nb.stats().notified_local, 0u);  // b never sealed: only NOTIFY can have woken it
  EXPECT_GE(nb.stats().notified_listen, 1u);
  EXPECT_EQ(na.stats().woken_timeout + nb.stats().woken_timeout, 0u);
  // One block, one generation, however many times it was reported.
  EXPECT_EQ(na.generation(), 1u);
  EXPECT_EQ(nb.generation(), 1u);
}

TEST_F(SealWakeTest, NothingSealedWakesNoOne) {
  // No receipt waits: SealOnce commits nothing and announces nothing.
  auto block = a_->SealOnce();
  ASSERT_TRUE(block.ok()) << block.error().ToString();
  EXPECT_FALSE(block->has_value());
  EXPECT_EQ(a_->notifier().generation(), 0u);
  EXPECT_EQ(a_->notifier().stats().notified_local, 0u);
}

}  // namespace
