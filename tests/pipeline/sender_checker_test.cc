// SenderChecker against a real database, with its DNS answered by a function (the resolver
// itself is tested against knotd and unbound in tests/dns/, and the whole path in
// tests/e2e/sender_checks_e2e_test.cc): every stored message is checked once, its record is
// queued for sealing, a lookup that fails is archived as a temperror, and messages stored
// before the checker started are never checked.
#include "pipeline/sender_checker.h"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>

#include "common/bytes.h"
#include "common/sha256.h"
#include "log/authentication_record.h"
#include "pipeline/ingest.h"
#include "pipeline/key_rotation.h"
#include "receipt/receipt.h"
#include "sender/authentication.h"
#include "storage/key_rotation_store.h"
#include "storage/migrations.h"
#include "support/manual_clock.h"
#include "support/test_support.h"
#include "vault/key_wrapper.h"

namespace {

constexpr int64_t kReceived = 1796378400000000;  // 2026-12-04T10:00:00Z

class SenderCheckerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(storage::Migrate(tdb_.OwnerUrl(), storage::BuiltinMigrations()).ok());
    auto db = storage::Database::Open({tdb_.AppUrl(), 8});
    ASSERT_TRUE(db.ok()) << db.error().ToString();
    db_ = std::move(*db);
    receipts_ = std::make_unique<storage::ReceiptStore>(*db_);
    authentications_ = std::make_unique<storage::AuthenticationStore>(*db_);
    auto router = pipeline::TenantRouter::Create({}, "default");
    ASSERT_TRUE(router.ok());
    router_ = std::make_unique<pipeline::TenantRouter>(std::move(*router));
  }

  // Stores `n` messages received at kReceived; their receipt ids.
  std::vector<std::string> Store(int n) {
    testsupport::ManualClock at(kReceived);
    pipeline::Ingestor::Options o;
    o.node = "test";
    o.clock = &at;
    pipeline::Ingestor ingestor(o, *receipts_, *router_, metrics_);
    std::mutex mu;
    std::condition_variable cv;
    std::vector<std::string> ids;
    for (int i = 0; i < n; ++i) {
      pipeline::Arrival e;
      e.envelope.mail_from = "alice@acme.example";
      e.envelope.recipients = {"bob@example.org"};
      e.envelope.client_ip = "192.0.2.10";
      e.envelope.helo = "mail.acme.example";
      e.provenance.source = "smtp";
      std::string raw = "From: Alice <alice@acme.example>\r\nTo: bob@example.org\r\nSubject: " +
                        std::to_string(i) + "\r\n\r\nbody\r\n";
      ingestor.SubmitWithExtra(e, raw, {}, [&](pipeline::SubmitOutcome out) {
        std::lock_guard lock(mu);
        ids.push_back(out.receipt_id);
        cv.notify_all();
      });
    }
    std::unique_lock lock(mu);
    EXPECT_TRUE(
        cv.wait_for(lock, std::chrono::seconds(60), [&] { return ids.size() == size_t(n); }));
    return ids;
  }

  // DNS that is down: every lookup a temperror saying so, counted.
  notary::DnsLookup Down() {
    return [this](std::string_view name, uint16_t type) {
      ++lookups_;
      notary::DnsAnswer a;
      a.qname = std::string(name);
      a.qtype = type;
      a.looked_up_at_us = kReceived + 1000000;
      a.why = "TXT " + std::string(name) + " via test: no answer within 5000 ms";
      return a;
    };
  }

  testsupport::TestDatabase tdb_;
  std::unique_ptr<storage::Database> db_;
  std::unique_ptr<storage::ReceiptStore> receipts_;
  std::unique_ptr<storage::AuthenticationStore> authentications_;
  std::unique_ptr<pipeline::TenantRouter> router_;
  common::Metrics metrics_;
  std::atomic<int> lookups_{0};
};

TEST_F(SenderCheckerTest, ChecksEveryStoredMessageOnceAndQueuesItsRecord) {
  std::vector<std::string> ids = Store(3);
  ASSERT_EQ(ids.size(), 3u);
  testsupport::ManualClock now(kReceived + 2000000);
  pipeline::SenderChecker checker(*authentications_, Down(), now, {});
  auto first = checker.RunOnce();
  ASSERT_TRUE(first.ok()) << first.error().message();
  EXPECT_EQ(*first, 3);
  EXPECT_EQ(checker.checked(), 3u);
  auto again = checker.RunOnce();
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, 0) << "a checked message is never checked again";

  for (const std::string& id : ids) {
    auto row = authentications_->Get(id);
    ASSERT_TRUE(row.ok() && row->has_value()) << id;
    const storage::AuthenticationRow& r = **row;
    auto record = notary::AuthenticationRecord::Decode(r.record);
    ASSERT_TRUE(record.ok());
    EXPECT_EQ(record->receipt_id, id);
    EXPECT_EQ(record->checked_at_us, kReceived + 2000000);
    auto receipt = receipts_->Get(id, std::nullopt);
    ASSERT_TRUE(receipt.ok() && receipt->has_value());
    auto leaf_hash = notary::LeafRecordOf(**receipt).LeafHash();
    ASSERT_TRUE(leaf_hash.ok());
    EXPECT_EQ(record->receipt_leaf_hash, *leaf_hash);
    EXPECT_FALSE(r.leaf_index.has_value()) << "queued, not sealed yet";
    // Unsigned mail: no DKIM result. DNS down: SPF and DMARC are temperrors, never a guess,
    // and every failed lookup is in the archive saying what was tried.
    auto results = notary::AuthenticationResults::Decode(r.results);
    ASSERT_TRUE(results.ok());
    EXPECT_TRUE(results->dkim.empty());
    ASSERT_TRUE(results->spf.has_value());
    EXPECT_EQ(results->spf->result, "temperror");
    EXPECT_EQ(results->spf->client_ip, "192.0.2.10");
    auto archive = notary::DecodeDnsArchive(r.dns_archive);
    ASSERT_TRUE(archive.ok());
    ASSERT_FALSE(archive->empty());
    for (const notary::DnsAnswer& a : *archive) {
      EXPECT_EQ(a.outcome, notary::LookupOutcome::kTemperror);
      EXPECT_NE(a.why.find("no answer within"), std::string::npos);
    }
  }
  EXPECT_EQ(testsupport::Psql(tdb_.SuperUrl(),
                              "SELECT count(*) FROM pending WHERE authentication_of IS NOT NULL"),
            "3");
}

TEST_F(SenderCheckerTest, MessagesStoredLongBeforeStartUpAreNeverChecked) {
  Store(2);
  // Started two hours after reception with the default one-hour limit.
  testsupport::ManualClock later(kReceived + 2 * 3600 * 1000000LL);
  pipeline::SenderChecker checker(*authentications_, Down(), later, {});
  auto n = checker.RunOnce();
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 0);
  EXPECT_EQ(lookups_.load(), 0) << "no DNS asked for them";
  EXPECT_EQ(testsupport::Psql(tdb_.SuperUrl(), "SELECT count(*) FROM authentications"), "0");
}

TEST_F(SenderCheckerTest, StartAndStopRunTheLoopUntilEverythingIsChecked) {
  std::vector<std::string> ids = Store(5);
  testsupport::ManualClock now(kReceived + 1000000);
  pipeline::SenderCheckerOptions o;
  o.workers = 2;
  o.batch = 2;  // several passes
  pipeline::SenderChecker checker(*authentications_, Down(), now, o);
  checker.Start();
  EXPECT_TRUE(
      testsupport::WaitUntil([&] { return checker.checked() == 5u; }, std::chrono::seconds(60)));
  checker.Stop();
  EXPECT_EQ(testsupport::Psql(tdb_.SuperUrl(), "SELECT count(*) FROM authentications"), "5");
}

// Ingest that never stops being busy still lets the checks through after max_yield.
TEST_F(SenderCheckerTest, GivingWayToIngestNeverStopsTheChecks) {
  Store(3);
  testsupport::ManualClock now(kReceived + 1000000);
  pipeline::SenderCheckerOptions o;
  std::atomic<int> asked{0};
  o.busy = [&asked] {
    ++asked;
    return true;
  };
  o.max_yield = std::chrono::milliseconds(100);
  pipeline::SenderChecker checker(*authentications_, Down(), now, o);
  checker.Start();
  EXPECT_TRUE(
      testsupport::WaitUntil([&] { return checker.checked() == 3u; }, std::chrono::seconds(60)));
  checker.Stop();
  EXPECT_GT(asked.load(), 0) << "the checker asked whether ingest was busy";
}

// With a key holder the results and the DNS archive are sealed for the message's tenant
// (migration 0019) and read back whole; results sealed anew for the same receipt by someone
// holding the tenant's key pair open, but are not the ones the record binds, and are refused.
TEST_F(SenderCheckerTest, SealedResultsReadBackAndResealedOnesAreRefused) {
  auto holder = vault::FileKeyHolder::Open(testsupport::MakeTempDir("keks"));
  ASSERT_TRUE(holder.ok());
  vault::Wrapper wrapper(**holder);
  storage::AuthenticationStore sealed_store(*db_, &wrapper);
  std::vector<std::string> ids = Store(1);
  ASSERT_EQ(ids.size(), 1u);
  testsupport::ManualClock now(kReceived + 1000000);
  pipeline::SenderChecker checker(sealed_store, Down(), now, {});
  ASSERT_TRUE(checker.RunOnce().ok());
  EXPECT_EQ(testsupport::Psql(tdb_.SuperUrl(),
                              "SELECT length(results) || ' ' || length(dns_archive) || ' ' ||"
                              " (kek_id LIKE 'file/1/%') FROM authentications"),
            "0 0 true");

  auto row = sealed_store.Get(ids[0]);
  ASSERT_TRUE(row.ok() && row->has_value()) << (row.ok() ? "" : row.error().message());
  auto record = notary::AuthenticationRecord::Decode((*row)->record);
  ASSERT_TRUE(record.ok());
  EXPECT_EQ(common::Sha256Of((*row)->results), record->results_sha256);
  EXPECT_EQ(common::Sha256Of((*row)->dns_archive), record->dns_archive_sha256);
  auto results = notary::AuthenticationResults::Decode((*row)->results);
  ASSERT_TRUE(results.ok());
  ASSERT_TRUE(results->spf.has_value());
  EXPECT_EQ(results->spf->result, "temperror");

  // Without the key holder, a sealed row is not shown as anything.
  auto unopened = authentications_->Get(ids[0]);
  ASSERT_FALSE(unopened.ok());
  EXPECT_EQ(unopened.error().code(), common::ErrorCode::kUnavailable);

  // Other results, sealed properly for this receipt and tenant, put in place with the
  // triggers off: they open, but the record's digests name the original ones.
  std::string other = (*row)->results;
  other.push_back('\0');
  auto resealed =
      storage::SealSenderEvidence(wrapper, "default", ids[0], other, (*row)->dns_archive);
  ASSERT_TRUE(resealed.ok());
  testsupport::Psql(
      tdb_.SuperUrl(),
      "SET session_replication_role = replica; UPDATE authentications SET sealed = '\\x" +
          common::ToHex(common::AsBytes(resealed->data)) + "', wrapped_key = '\\x" +
          common::ToHex(common::AsBytes(resealed->wrapped_key)) + "'");
  auto refused = sealed_store.Get(ids[0]);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code(), common::ErrorCode::kInternal);
  EXPECT_NE(refused.error().message().find("digests its authentication record binds"),
            std::string::npos)
      << refused.error().message();
  EXPECT_NE(refused.error().message().find(ids[0]), std::string::npos);
}

// A rotation's re-wrap (migration 0021, docs/retention.md "Rotation") moves a sealed row's
// data key to the tenant's new pair; the row still opens to the same results, and the update
// may change the wrapping and nothing else.
TEST_F(SenderCheckerTest, ASealedRowIsReWrappedForTheNewPairAndStillOpens) {
  auto holder = vault::FileKeyHolder::Open(testsupport::MakeTempDir("keks"));
  ASSERT_TRUE(holder.ok());
  vault::Wrapper wrapper(**holder);
  storage::AuthenticationStore sealed_store(*db_, &wrapper);
  std::vector<std::string> ids = Store(1);
  ASSERT_EQ(ids.size(), 1u);
  testsupport::ManualClock now(kReceived + 1000000);
  pipeline::SenderChecker checker(sealed_store, Down(), now, {});
  ASSERT_TRUE(checker.RunOnce().ok());
  auto before = sealed_store.Get(ids[0]);
  ASSERT_TRUE(before.ok() && before->has_value());

  auto rotated = (*holder)->Rotate("default");
  ASSERT_TRUE(rotated.ok());
  auto owner = storage::Database::Open({tdb_.OwnerUrl(), 2});
  ASSERT_TRUE(owner.ok());
  storage::KeyRotationStore rotation(**owner);
  auto report = pipeline::RewrapTenant(rotation, **holder, "default", "test");
  ASSERT_TRUE(report.ok()) << report.error().ToString();
  EXPECT_EQ(report->current, rotated->kek_id);
  ASSERT_EQ(report->rewrapped.size(), 4u);
  EXPECT_EQ(report->rewrapped[2], std::make_pair(std::string("authentications"), int64_t{1}));
  ASSERT_EQ(report->in_use.size(), 1u);
  EXPECT_EQ(report->in_use[0].first, rotated->kek_id);
  EXPECT_EQ(testsupport::Psql(tdb_.SuperUrl(), "SELECT kek_id FROM authentications"),
            rotated->kek_id);
  auto after = sealed_store.Get(ids[0]);
  ASSERT_TRUE(after.ok() && after->has_value()) << (after.ok() ? "" : after.error().message());
  EXPECT_EQ((*after)->results, (*before)->results);
  EXPECT_EQ((*after)->dns_archive, (*before)->dns_archive);

  // In a re-wrap, the owner may change the wrapping alone: another column is refused.
  EXPECT_THROW(testsupport::Psql(tdb_.OwnerUrl(),
                                 "BEGIN; SET LOCAL notary.rewrap = 'on'; UPDATE authentications"
                                 " SET dkim_results = '{pass}'; COMMIT"),
               std::exception);
  EXPECT_EQ(testsupport::Psql(tdb_.OwnerUrl(),
                              "BEGIN; SET LOCAL notary.rewrap = 'on'; UPDATE authentications"
                              " SET kek_id = kek_id; COMMIT; SELECT count(*) FROM authentications"
                              " WHERE kek_id = '" +
                                  rotated->kek_id + "'"),
            "1");
}

}  // namespace
