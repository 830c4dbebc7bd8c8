// A receipt's personal fields sealed at rest (migration 0016, docs/retention.md): with a key
// holder, the envelope, headers, addresses, attachment and part file names and parse warnings
// of a new receipt are in receipt_fields as ciphertext only; they read back, are searchable
// once indexed, and a row moved to another receipt or sealed anew with another envelope does
// not pass for the receipt's own.
#include "storage/receipt_fields.h"

#include <gtest/gtest.h>

#include "common/bytes.h"
#include "common/sha256.h"
#include "log/leaf_record.h"
#include "storage/migrations.h"
#include "storage/receipt_index.h"
#include "storage/receipt_store.h"
#include "support/test_support.h"
#include "vault/key_wrapper.h"

namespace {

using testsupport::TestDatabase;

constexpr const char* kMarker = "Z9MARKERQ";

class ReceiptFieldsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(storage::Migrate(tdb_.OwnerUrl(), storage::BuiltinMigrations()).ok());
    auto db = storage::Database::Open({tdb_.AppUrl(), 4});
    ASSERT_TRUE(db.ok()) << db.error().ToString();
    db_ = std::move(*db);
    auto holder = vault::FileKeyHolder::Open(testsupport::MakeTempDir("keks"));
    ASSERT_TRUE(holder.ok());
    holder_ = std::move(*holder);
    wrapper_ = std::make_unique<vault::Wrapper>(*holder_);
  }

  // A receipt with the marker in every personal field, its envelope digest as ingest makes it.
  static storage::NewReceipt Make(const std::string& id, const std::string& raw) {
    const std::string m = kMarker;
    storage::NewReceipt n;
    notary::Receipt& r = n.receipt;
    r.id = id;
    r.tenant = "default";
    r.received_at_us = 1764000000123456;
    r.provenance.node = "test";
    r.provenance.source = "smtp";
    r.envelope.mail_from = "alice-" + m + "@example.com";
    r.envelope.recipients = {"Bob-" + m + "@example.org", "carol@example.net"};
    r.envelope.client_ip = "192.0.2.7";
    r.envelope.client_port = 40001;
    r.envelope.helo = "mx.example.com";
    r.envelope_digest = notary::EnvelopeDigest(r.envelope);
    r.metadata.from = "Alice <alice-" + m + "@example.com>";
    r.metadata.sender = "sender-" + m + "@example.com";
    r.metadata.reply_to = "reply-" + m + "@example.com";
    r.metadata.to = {"Bob <bob-" + m + "@example.org>"};
    r.metadata.cc = {"cc-" + m + "@example.org"};
    r.metadata.subject = "Vertrag " + m + " \xea\xb3\x84\xec\x95\xbd";  // Korean, UTF-8
    r.metadata.date = "Tue, 1 Dec 2026 10:00:00 +0000";
    r.metadata.message_id = m + "@example.com";
    r.metadata.in_reply_to = "prev-" + m + "@example.com";
    r.metadata.addresses = {"alice-" + m + "@example.com", "bob-" + m + "@example.org"};
    r.metadata.attachment_names = {"contract-" + m + ".pdf"};
    r.parse_warnings = {"warning about " + m};
    r.canon_version = 1;
    r.leaf_version = 1;
    r.parts.push_back(
        {"1", "text/plain", "utf-8", "", "", 5, common::Sha256Of("hello"), common::Hash{}});
    r.parts.push_back({"2", "application/pdf", "", "attachment", "contract-" + m + ".pdf", 7,
                       common::Sha256Of("pdf"), common::Hash{}});
    n.raw = raw;
    r.raw_sha256 = common::Sha256Of(raw);
    return n;
  }

  std::string Sql(const std::string& sql) {
    return testsupport::RunCommand({"psql", "-X", "-At", "-q", tdb_.SuperUrl(), "-c", sql}).out;
  }

  TestDatabase tdb_;
  std::unique_ptr<storage::Database> db_;
  std::unique_ptr<vault::FileKeyHolder> holder_;
  std::unique_ptr<vault::Wrapper> wrapper_;
};

TEST_F(ReceiptFieldsTest, TheFieldsAreCiphertextAtRestAndReadBackWhole) {
  storage::ReceiptStore store(*db_, wrapper_.get());
  auto a = Make("0190a5d8-0000-7000-8000-000000000a01", "message a");
  ASSERT_TRUE(store.Insert({&a}).ok());

  // Once indexed, nothing of the marker in any table but the search index (not evidence,
  // deleted on erasure): the receipt's columns are empty, the part's file name too, the queue
  // row is gone, and receipt_fields holds ciphertext.
  ASSERT_TRUE(storage::ReceiptIndex(*db_).CatchUp("default").ok());
  const std::string dump =
      testsupport::RunCommand(
          {"pg_dump", "--data-only", "--exclude-table-data=receipt_index", tdb_.SuperUrl()})
          .out;
  ASSERT_NE(dump.find("0190a5d8-0000-7000-8000-000000000a01"), std::string::npos);
  EXPECT_EQ(dump.find(kMarker), std::string::npos);
  EXPECT_EQ(dump.find("alice"), std::string::npos);
  EXPECT_EQ(Sql("SELECT count(*) FROM receipt_fields"), "1\n");
  EXPECT_EQ(Sql("SELECT envelope_from || '|' || envelope_to::text || '|' || subject || '|' ||"
                " attachment_names::text || '|' || addresses::text FROM receipts"),
            "|{}||{}|{}\n");

  auto got = store.Get(a.receipt.id, "default");
  ASSERT_TRUE(got.ok()) << got.error().ToString();
  ASSERT_TRUE(got->has_value());
  const notary::Receipt& r = **got;
  const notary::Receipt& w = a.receipt;
  EXPECT_EQ(r.envelope.mail_from, w.envelope.mail_from);
  EXPECT_EQ(r.envelope.recipients, w.envelope.recipients);
  EXPECT_EQ(r.envelope.client_ip, w.envelope.client_ip);
  EXPECT_EQ(r.metadata.from, w.metadata.from);
  EXPECT_EQ(r.metadata.sender, w.metadata.sender);
  EXPECT_EQ(r.metadata.reply_to, w.metadata.reply_to);
  EXPECT_EQ(r.metadata.to, w.metadata.to);
  EXPECT_EQ(r.metadata.cc, w.metadata.cc);
  EXPECT_EQ(r.metadata.subject, w.metadata.subject);
  EXPECT_EQ(r.metadata.date, w.metadata.date);
  EXPECT_EQ(r.metadata.message_id, w.metadata.message_id);
  EXPECT_EQ(r.metadata.in_reply_to, w.metadata.in_reply_to);
  EXPECT_EQ(r.metadata.attachment_names, w.metadata.attachment_names);
  EXPECT_EQ(r.parse_warnings, w.parse_warnings);
  ASSERT_EQ(r.parts.size(), 2u);
  EXPECT_EQ(r.parts[0].filename, "");
  EXPECT_EQ(r.parts[1].filename, w.parts[1].filename);

  // A store without the key holder cannot read them, and says why.
  auto blind = storage::ReceiptStore(*db_).Get(a.receipt.id, "default");
  ASSERT_FALSE(blind.ok());
  EXPECT_EQ(blind.error().code(), common::ErrorCode::kUnavailable);
}

TEST_F(ReceiptFieldsTest, SealedFieldsAreSearchableOnceIndexed) {
  storage::ReceiptStore store(*db_, wrapper_.get());
  auto a = Make("0190a5d8-0000-7000-8000-000000000b01", "message a");
  auto b = Make("0190a5d8-0000-7000-8000-000000000b02", "message b");
  b.receipt.metadata.subject = "something else";
  b.receipt.metadata.attachment_names = {};
  ASSERT_TRUE(store.Insert({&a, &b}).ok());

  // The queue row carries the searchable fields (the receipt's own are sealed): the index is
  // filled without the key holder.
  EXPECT_EQ(
      Sql("SELECT count(*) FROM index_pending WHERE subject LIKE '%" + std::string(kMarker) + "%'"),
      "1\n");
  storage::ReceiptIndex index(*db_);
  auto n = index.CatchUp("default");
  ASSERT_TRUE(n.ok()) << n.error().ToString();
  EXPECT_EQ(*n, 2);
  auto search = [&](auto set) {
    storage::SearchQuery q;
    q.tenant = "default";
    set(q);
    auto page = store.Search(q);
    EXPECT_TRUE(page.ok()) << page.error().ToString();
    std::vector<std::string> ids;
    for (const auto& r : page->items) ids.push_back(r.id);
    return ids;
  };
  const std::vector<std::string> only_a = {a.receipt.id};
  const std::vector<std::string> both = {b.receipt.id, a.receipt.id};  // newest first, then id
  EXPECT_EQ(search([](auto& q) { q.subject = std::string("vertrag ") + kMarker; }), only_a);
  EXPECT_EQ(search([](auto& q) { q.attachment_name = std::string("contract-") + kMarker; }),
            only_a);
  EXPECT_EQ(search([](auto& q) { q.from = std::string("alice-") + kMarker + "@example.com"; }),
            both);
  EXPECT_EQ(search([](auto& q) { q.to = std::string("bob-") + kMarker + "@example.org"; }), both);
  EXPECT_EQ(search([](auto& q) { q.message_id = std::string(kMarker) + "@example.com"; }), both);
  // A page of results carries the opened fields.
  storage::SearchQuery q;
  q.tenant = "default";
  q.subject = kMarker;
  auto page = store.Search(q);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->items.size(), 1u);
  EXPECT_EQ(page->items[0].metadata.subject, a.receipt.metadata.subject);
  EXPECT_EQ(page->items[0].envelope.recipients, a.receipt.envelope.recipients);
}

TEST_F(ReceiptFieldsTest, FieldsMovedToAnotherReceiptOrResealedWithAnotherEnvelopeDoNotPass) {
  storage::ReceiptStore store(*db_, wrapper_.get());
  auto a = Make("0190a5d8-0000-7000-8000-000000000c01", "message a");
  auto b = Make("0190a5d8-0000-7000-8000-000000000c02", "message b");
  ASSERT_TRUE(store.Insert({&a, &b}).ok());

  // Someone with the database (triggers off) copies b's row onto a's: it does not open as a's.
  Sql("SET session_replication_role = replica; UPDATE receipt_fields d SET data = o.data,"
      " wrapped_key = o.wrapped_key FROM receipt_fields o WHERE d.receipt_id = '" +
      a.receipt.id + "' AND o.receipt_id = '" + b.receipt.id + "'");
  auto moved = store.Get(a.receipt.id, "default");
  ASSERT_FALSE(moved.ok());
  EXPECT_EQ(moved.error().code(), common::ErrorCode::kInternal);
  EXPECT_NE(moved.error().message().find("do not open"), std::string::npos);

  // Someone who also holds the tenant's key pair seals b's fields anew with another sender:
  // they open, but the envelope is not the one the receipt's leaf record binds.
  notary::Receipt forged = b.receipt;
  forged.envelope.mail_from = "mallory@example.com";
  auto sealed = storage::SealFields(*wrapper_, {&forged});
  ASSERT_TRUE(sealed.ok());
  const std::string hex_data = common::ToHex(common::AsBytes((*sealed)[0].data));
  const std::string hex_key = common::ToHex(common::AsBytes((*sealed)[0].wrapped_key));
  Sql("SET session_replication_role = replica; UPDATE receipt_fields SET data = '\\x" + hex_data +
      "', wrapped_key = '\\x" + hex_key + "' WHERE receipt_id = '" + b.receipt.id + "'");
  auto resealed = store.Get(b.receipt.id, "default");
  ASSERT_FALSE(resealed.ok());
  EXPECT_EQ(resealed.error().code(), common::ErrorCode::kInternal);
  EXPECT_NE(resealed.error().message().find("envelope digest"), std::string::npos);
}

TEST_F(ReceiptFieldsTest, TheRowIsAppendOnlyUntilItsReceiptIsErased) {
  storage::ReceiptStore store(*db_, wrapper_.get());
  auto a = Make("0190a5d8-0000-7000-8000-000000000d01", "message a");
  ASSERT_TRUE(store.Insert({&a}).ok());
  // Neither the application's role nor the owner may change or drop it.
  auto app = testsupport::RunCommand({"psql", "-X", "-At", "-q", "-v", "ON_ERROR_STOP=1",
                                      tdb_.AppUrl(), "-c", "DELETE FROM receipt_fields"});
  EXPECT_NE(app.exit_code, 0);
  for (const char* sql : {"DELETE FROM receipt_fields", "UPDATE receipt_fields SET data = ''",
                          "TRUNCATE receipt_fields"}) {
    auto owner = testsupport::RunCommand(
        {"psql", "-X", "-At", "-q", "-v", "ON_ERROR_STOP=1", tdb_.SuperUrl(), "-c", sql});
    EXPECT_NE(owner.exit_code, 0) << sql;
    EXPECT_NE(owner.out.find("append-only"), std::string::npos) << owner.out;
  }
  EXPECT_EQ(Sql("SELECT count(*) FROM receipt_fields"), "1\n");
}

TEST_F(ReceiptFieldsTest, ARepeatedIdempotencyKeyIsComparedWithTheSealedEnvelope) {
  storage::ReceiptStore store(*db_, wrapper_.get());
  auto first = Make("0190a5d8-0000-7000-8000-000000000e01", "same bytes");
  first.idempotency_key = "k1";
  ASSERT_TRUE(store.Insert({&first}).ok());

  auto retry = Make("0190a5d8-0000-7000-8000-000000000e02", "same bytes");
  retry.idempotency_key = "k1";
  auto again = store.Insert({&retry});
  ASSERT_TRUE(again.ok()) << again.error().ToString();
  EXPECT_TRUE((*again)[0].duplicate);
  EXPECT_FALSE((*again)[0].conflict);
  EXPECT_EQ((*again)[0].id, first.receipt.id);

  auto other = Make("0190a5d8-0000-7000-8000-000000000e03", "same bytes");
  other.idempotency_key = "k1";
  other.receipt.envelope.recipients = {"someone-else@example.org"};
  auto conflict = store.Insert({&other});
  ASSERT_TRUE(conflict.ok()) << conflict.error().ToString();
  EXPECT_TRUE((*conflict)[0].conflict);
}

}  // namespace
