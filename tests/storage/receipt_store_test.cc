#include "storage/receipt_store.h"

#include <gtest/gtest.h>

#include "common/bytes.h"
#include "common/sha256.h"
#include "storage/migrations.h"
#include "storage/receipt_index.h"
#include "support/test_support.h"

namespace {

using testsupport::TestDatabase;

class ReceiptStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(storage::Migrate(tdb_.OwnerUrl(), storage::BuiltinMigrations()).ok());
    auto db = storage::Database::Open({tdb_.AppUrl(), 4});
    ASSERT_TRUE(db.ok()) << db.error().ToString();
    db_ = std::move(*db);
  }

  static storage::NewReceipt Make(const std::string& id, const std::string& raw) {
    storage::NewReceipt r;
    r.receipt.id = id;
    r.receipt.tenant = "default";
    r.receipt.received_at_us = 1764000000123456;
    r.receipt.provenance.node = "test";
    r.receipt.provenance.source = "smtp";
    r.receipt.envelope.mail_from = "alice@example.com";
    r.receipt.envelope.recipients = {"bob@example.org", "carol@example.net"};
    r.receipt.envelope.client_ip = "127.0.0.1";
    r.raw = raw;
    r.receipt.raw_sha256 = common::Sha256Of(raw);
    r.receipt.metadata.subject = "Vertrag \xea\xb3\x84\xec\x95\xbd";  // Korean, UTF-8
    r.receipt.metadata.addresses = {"alice@example.com", "bob@example.org"};
    r.receipt.metadata.message_id = "m1@example.com";
    // Canonical form and leaf record version 1 (unsalted parts, no provenance bound) unless a
    // test says otherwise.
    r.receipt.canon_version = 1;
    r.receipt.leaf_version = 1;
    r.receipt.parts.push_back(
        {"1", "text/plain", "utf-8", "", "", 5, common::Sha256Of("hello"), common::Hash{}});
    return r;
  }

  // The search index is filled after commit (migration 0015): what notaryd's indexer, or a
  // search's own catch-up, does.
  void Index() { ASSERT_TRUE(storage::ReceiptIndex(*db_).CatchUp("default").ok()); }

  TestDatabase tdb_;
  std::unique_ptr<storage::Database> db_;
};

TEST_F(ReceiptStoreTest, InsertedReceiptReadsBackWithPartsAndPendingStatus) {
  storage::ReceiptStore store(*db_);
  auto m = Make("0190a5d8-0000-7000-8000-000000000001", "Subject: x\r\n\r\nhello\r\n");
  auto ins = store.Insert({&m});
  ASSERT_TRUE(ins.ok()) << ins.error().ToString();
  auto got = store.Get(m.receipt.id, std::nullopt);
  ASSERT_TRUE(got.ok() && got->has_value());
  const notary::Receipt& r = **got;
  EXPECT_EQ(r.envelope.recipients, m.receipt.envelope.recipients);
  EXPECT_EQ(r.raw_sha256, m.receipt.raw_sha256);
  EXPECT_EQ(r.metadata.subject, m.receipt.metadata.subject);
  EXPECT_EQ(r.received_at_us, m.receipt.received_at_us);
  ASSERT_EQ(r.parts.size(), 1u);
  EXPECT_EQ(r.parts[0].sha256, common::Sha256Of("hello"));
  EXPECT_EQ(r.parts[0].salt, common::Hash{});
  EXPECT_FALSE(r.leaf_index.has_value());
  EXPECT_EQ(*store.PendingCount(), 1);
  auto raw = store.GetRaw("default", m.receipt.raw_sha256);
  ASSERT_TRUE(raw.ok());
  EXPECT_EQ(*raw, m.raw);
}

TEST_F(ReceiptStoreTest, IdenticalBytesAreStoredOnceButEachReceptionIsAReceipt) {
  storage::ReceiptStore store(*db_);
  auto a = Make("0190a5d8-0000-7000-8000-000000000002", "same bytes");
  auto b = Make("0190a5d8-0000-7000-8000-000000000003", "same bytes");
  ASSERT_TRUE(store.Insert({&a, &b}).ok());
  auto out = testsupport::RunCommand(
      {"psql", "-X", "-At", tdb_.SuperUrl(), "-c",
       "SELECT (SELECT count(*) FROM message_blobs) || ',' || (SELECT count(*) FROM receipts)"});
  EXPECT_EQ(out.out, "1,2\n");
}

TEST_F(ReceiptStoreTest, OtherTenantSeesNothing) {
  storage::ReceiptStore store(*db_);
  auto m = Make("0190a5d8-0000-7000-8000-000000000004", "x");
  ASSERT_TRUE(store.Insert({&m}).ok());
  auto other = store.Get(m.receipt.id, std::string("someone-else"));
  ASSERT_TRUE(other.ok());
  EXPECT_FALSE(other->has_value());
  auto mine = store.Get(m.receipt.id, std::string("default"));
  ASSERT_TRUE(mine.ok());
  EXPECT_TRUE(mine->has_value());
}

TEST_F(ReceiptStoreTest, RepeatedIdempotencyKeyReturnsTheFirstReceipt) {
  storage::ReceiptStore store(*db_);
  auto a = Make("0190a5d8-0000-7000-8000-000000000005", "x");
  a.idempotency_key = "milter-q1";
  auto b = Make("0190a5d8-0000-7000-8000-000000000006", "x");
  b.idempotency_key = "milter-q1";
  ASSERT_TRUE(store.Insert({&a}).ok());
  auto r = store.Insert({&b});
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE((*r)[0].duplicate);
  EXPECT_EQ((*r)[0].id, a.receipt.id);
  EXPECT_EQ(*store.PendingCount(), 1);
}

TEST_F(ReceiptStoreTest, InvalidUtf8AndNulInMetadataAreStoredSanitised) {
  storage::ReceiptStore store(*db_);
  auto m = Make("0190a5d8-0000-7000-8000-000000000007", "x");
  m.receipt.metadata.subject = std::string("bad \xff\xfe and nul \0 here", 22);
  ASSERT_TRUE(store.Insert({&m}).ok());
  auto got = store.Get(m.receipt.id, std::nullopt);
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->metadata.subject, "bad \xEF\xBF\xBD\xEF\xBF\xBD and nul  here");
}

// A field the leaf record binds is stored byte for byte or not at all: sanitising it in the
// column would leave a receipt that does not match its own record. Ingest sanitises before it
// builds the record; anything else is refused as bad input, and nothing of it is stored.
TEST_F(ReceiptStoreTest, BoundTextThatIsNotUtf8IsRefusedNotAltered) {
  storage::ReceiptStore store(*db_);
  auto nul = Make("0190a5d8-0000-7000-8000-000000000008", "x");
  nul.receipt.envelope.helo = std::string("h\0elo", 5);
  auto bad = Make("0190a5d8-0000-7000-8000-000000000009", "y");
  bad.receipt.provenance.auth_user = "\xc3";
  for (const auto* m : {&nul, &bad}) {
    auto r = store.Insert({m});
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code(), common::ErrorCode::kInvalidInput);
    auto got = store.Get(m->receipt.id, std::nullopt);
    ASSERT_TRUE(got.ok());
    EXPECT_FALSE(got->has_value());
  }
  EXPECT_EQ(*store.PendingCount(), 0);
}

// A group goes to PostgreSQL as one array per column: every field of every row must come
// back as it went in, NULLs, empty arrays and several parts included.
TEST_F(ReceiptStoreTest, GroupRowsReadBackFieldByField) {
  storage::ReceiptStore store(*db_);
  std::vector<storage::NewReceipt> group;
  for (int i = 0; i < 5; ++i) {
    auto m = Make("0190a5d8-0000-7000-8000-00000000010" + std::to_string(i),
                  "bytes of message " + std::to_string(i));
    m.receipt.envelope.recipients =
        std::vector<std::string>(i, "r\\\"" + std::to_string(i) + "@example.org");
    m.receipt.envelope.client_port = static_cast<uint16_t>(40000 + i);
    m.receipt.smtputf8 = i % 2 == 1;
    m.receipt.envelope.tls_protocol = i == 2 ? "TLSv1.3" : "";
    if (i == 3) m.receipt.metadata.date_utc_unix = 1764000000 + i;
    if (i == 4) m.idempotency_key = "key-4";
    if (i >= 1) {  // leaf record version 2 binds the provenance columns
      m.receipt.leaf_version = 2;
      m.receipt.provenance.asserted_by = i == 1 ? "0123456789abcdef" : "";
      if (i == 2) m.receipt.provenance.journal_report_sha256 = common::Sha256Of("report");
      m.receipt.provenance.source = i == 2 ? "journal" : "http";
      m.receipt.provenance.listener = "http";
      m.receipt.provenance.auth_user = i == 3 ? "al\xc3\xaf"
                                                "ce"
                                              : "";
    }
    m.receipt.parts.push_back({"2", "image/png", "", "attachment", "a \"b\".png", 7,
                               common::Sha256Of("part" + std::to_string(i)), common::Hash{}});
    if (i % 2 == 1) {  // canonical form version 2: every part record is salted
      m.receipt.canon_version = 2;
      for (auto& p : m.receipt.parts) p.salt = common::Sha256Of("salt" + p.position + m.raw);
    }
    group.push_back(m);
  }
  std::vector<const storage::NewReceipt*> ptrs;
  for (const auto& m : group) ptrs.push_back(&m);
  auto ins = store.Insert(ptrs);
  ASSERT_TRUE(ins.ok()) << ins.error().ToString();
  for (const auto& m : group) {
    auto got = store.Get(m.receipt.id, std::nullopt);
    ASSERT_TRUE(got.ok() && got->has_value()) << m.receipt.id;
    const notary::Receipt& r = **got;
    EXPECT_EQ(r.envelope.recipients, m.receipt.envelope.recipients);
    EXPECT_EQ(r.envelope.client_port, m.receipt.envelope.client_port);
    EXPECT_EQ(r.smtputf8, m.receipt.smtputf8);
    EXPECT_EQ(r.envelope.tls_protocol, m.receipt.envelope.tls_protocol);
    EXPECT_EQ(r.received_at_us, m.receipt.received_at_us);
    EXPECT_EQ(r.raw_sha256, m.receipt.raw_sha256);
    EXPECT_EQ(r.size, m.raw.size());
    EXPECT_EQ(r.metadata.subject, m.receipt.metadata.subject);
    ASSERT_EQ(r.parts.size(), 2u);
    EXPECT_EQ(r.parts[1].filename, "a \"b\".png");
    EXPECT_EQ(r.parts[1].sha256, m.receipt.parts[1].sha256);
    EXPECT_EQ(r.canon_version, m.receipt.canon_version);
    EXPECT_EQ(r.parts[0].salt, m.receipt.parts[0].salt);  // zero for version 1
    EXPECT_EQ(r.parts[1].salt, m.receipt.parts[1].salt);
    EXPECT_EQ(*store.GetRaw("default", m.receipt.raw_sha256), m.raw);
    EXPECT_EQ(r.leaf_version, m.receipt.leaf_version);
    EXPECT_EQ(r.provenance.asserted_by, m.receipt.provenance.asserted_by);
    EXPECT_EQ(r.provenance.journal_report_sha256, m.receipt.provenance.journal_report_sha256);
    EXPECT_EQ(r.provenance.auth_user, m.receipt.provenance.auth_user);
  }
  auto out = testsupport::RunCommand(
      {"psql", "-X", "-At", tdb_.SuperUrl(), "-c",
       "SELECT count(*) FILTER (WHERE date_utc IS NULL) || ',' || count(date_utc) || ','"
       " || count(idempotency_key) || ',' || (SELECT count(*) FROM message_parts) || ','"
       " || (SELECT count(*) FROM message_parts WHERE salt IS NULL) FROM receipts"});
  EXPECT_EQ(out.out, "4,1,1,10,6\n");  // version 1 part records have no salt: NULL, not zeros
}

// Bytes past one statement's share go ahead in statements of their own, in the same
// transaction; a group that fails afterwards leaves none of them behind.
TEST_F(ReceiptStoreTest, LargeGroupBytesAreStoredExactlyAndAtomically) {
  storage::ReceiptStore store(*db_);
  std::vector<storage::NewReceipt> group;
  for (int i = 0; i < 3; ++i) {
    std::string raw(7u << 20, static_cast<char>('a' + i));  // 21 MiB in all
    raw[12345] = '\0';
    group.push_back(Make("0190a5d8-0000-7000-8000-00000000020" + std::to_string(i), raw));
  }
  group.push_back(Make("0190a5d8-0000-7000-8000-000000000203", group[0].raw));  // same bytes
  std::vector<const storage::NewReceipt*> ptrs;
  for (const auto& m : group) ptrs.push_back(&m);
  auto ins = store.Insert(ptrs);
  ASSERT_TRUE(ins.ok()) << ins.error().ToString();
  EXPECT_EQ(ins->size(), 4u);
  for (const auto& m : group) EXPECT_EQ(*store.GetRaw("default", m.receipt.raw_sha256), m.raw);

  // The same again with an unknown tenant in the group: nothing of it is stored.
  std::vector<storage::NewReceipt> bad;
  for (int i = 0; i < 3; ++i) {
    bad.push_back(Make("0190a5d8-0000-7000-8000-00000000030" + std::to_string(i),
                       std::string(7u << 20, static_cast<char>('x' + i))));
  }
  bad[2].receipt.tenant = "no-such-tenant";
  std::vector<const storage::NewReceipt*> bad_ptrs;
  for (const auto& m : bad) bad_ptrs.push_back(&m);
  EXPECT_FALSE(store.Insert(bad_ptrs).ok());
  EXPECT_FALSE(store.GetRaw("default", bad[0].receipt.raw_sha256).ok());
  auto out = testsupport::RunCommand(
      {"psql", "-X", "-At", tdb_.SuperUrl(), "-c",
       "SELECT (SELECT count(*) FROM message_blobs) || ',' || (SELECT count(*) FROM receipts)"});
  EXPECT_EQ(out.out, "3,4\n");
}

TEST_F(ReceiptStoreTest, SearchFiltersAndPaginatesWithinTenant) {
  storage::ReceiptStore store(*db_);
  std::vector<storage::NewReceipt> ms;
  for (int i = 0; i < 5; ++i) {
    auto m =
        Make("0190a5d8-0000-7000-8000-00000000010" + std::to_string(i), "m" + std::to_string(i));
    m.receipt.received_at_us += i;
    ms.push_back(m);
  }
  std::vector<const storage::NewReceipt*> ptrs;
  for (auto& m : ms) ptrs.push_back(&m);
  ASSERT_TRUE(store.Insert(ptrs).ok());
  storage::SearchQuery q;
  q.tenant = "default";
  q.subject = "\xea\xb3\x84\xec\x95\xbd";
  q.limit = 2;
  // Not searchable by its fields until indexed; then every one of them.
  EXPECT_TRUE(store.Search(q)->items.empty());
  auto indexed = storage::ReceiptIndex(*db_).CatchUp("default");
  ASSERT_TRUE(indexed.ok()) << indexed.error().ToString();
  EXPECT_EQ(*indexed, 5);
  EXPECT_EQ(*storage::ReceiptIndex(*db_).Backlog(), 0);
  // Every page, following the cursors, from the first.
  auto walk = [&store](storage::SearchQuery query) {
    std::vector<std::string> seen;
    for (int page = 0; page < 5; ++page) {
      auto r = store.Search(query);
      EXPECT_TRUE(r.ok()) << r.error().ToString();
      if (!r.ok()) break;
      for (auto& it : r->items) seen.push_back(it.id);
      if (!r->next) break;
      query.after = r->next;
    }
    return seen;
  };
  std::vector<std::string> seen = walk(q);
  ASSERT_EQ(seen.size(), 5u);
  // Newest first by default (issue 24), oldest first when asked.
  for (int i = 0; i < 5; ++i)
    EXPECT_EQ(seen[static_cast<size_t>(i)], ms[static_cast<size_t>(4 - i)].receipt.id);
  q.oldest_first = true;
  seen = walk(q);
  ASSERT_EQ(seen.size(), 5u);
  for (int i = 0; i < 5; ++i)
    EXPECT_EQ(seen[static_cast<size_t>(i)], ms[static_cast<size_t>(i)].receipt.id);
  storage::SearchQuery other;
  other.tenant = "nobody";
  EXPECT_TRUE(store.Search(other)->items.empty());
}

TEST_F(ReceiptStoreTest, PaginationStaysStableWhileNewMailArrives) {
  storage::ReceiptStore store(*db_);
  std::vector<storage::NewReceipt> first;
  for (int i = 0; i < 6; ++i) {
    auto m =
        Make("0190a5d8-0000-7000-8000-00000000020" + std::to_string(i), "p" + std::to_string(i));
    m.receipt.received_at_us += i;
    first.push_back(m);
  }
  std::vector<const storage::NewReceipt*> ptrs;
  for (auto& m : first) ptrs.push_back(&m);
  ASSERT_TRUE(store.Insert(ptrs).ok());
  storage::SearchQuery q;
  q.tenant = "default";
  q.limit = 4;
  q.oldest_first = true;
  storage::SearchQuery newest = q;
  newest.oldest_first = false;
  auto page1 = store.Search(q);
  ASSERT_TRUE(page1.ok() && page1->next);
  auto newest1 = store.Search(newest);
  ASSERT_TRUE(newest1.ok() && newest1->next);
  // New mail arrives between the two pages (later reception times, as always).
  auto late = Make("0190a5d8-0000-7000-8000-000000000299", "late");
  late.receipt.received_at_us += 1000;
  ASSERT_TRUE(store.Insert({&late}).ok());
  q.after = page1->next;
  auto page2 = store.Search(q);
  ASSERT_TRUE(page2.ok());
  std::vector<std::string> ids;
  for (auto& r : page1->items) ids.push_back(r.id);
  for (auto& r : page2->items) ids.push_back(r.id);
  ASSERT_EQ(ids.size(), 7u);  // the six, once each, then the newcomer at the end
  for (int i = 0; i < 6; ++i)
    EXPECT_EQ(ids[static_cast<size_t>(i)], first[static_cast<size_t>(i)].receipt.id);
  EXPECT_EQ(ids[6], late.receipt.id);
  // Newest first: the second page goes on backwards from the first; the newcomer, newer than
  // the whole walk, is on a fresh first page, not mixed into the old one.
  newest.after = newest1->next;
  auto newest2 = store.Search(newest);
  ASSERT_TRUE(newest2.ok());
  ids.clear();
  for (auto& r : newest1->items) ids.push_back(r.id);
  for (auto& r : newest2->items) ids.push_back(r.id);
  ASSERT_EQ(ids.size(), 6u);
  for (int i = 0; i < 6; ++i)
    EXPECT_EQ(ids[static_cast<size_t>(i)], first[static_cast<size_t>(5 - i)].receipt.id);
  newest.after.reset();
  EXPECT_EQ(store.Search(newest)->items.front().id, late.receipt.id);
}

TEST_F(ReceiptStoreTest, SearchByFromMatchesAddressesExactlyAndNamesByContains) {
  storage::ReceiptStore store(*db_);
  auto a = Make("0190a5d8-0000-7000-8000-000000000301", "a");
  a.receipt.metadata.from = "Alice Kim <Alice.Kim@Example.com>";
  a.receipt.envelope.mail_from = "bounces@list.example";
  auto b = Make("0190a5d8-0000-7000-8000-000000000302", "b");
  b.receipt.metadata.from = "bob@example.org";
  b.receipt.envelope.mail_from = "bob@example.org";
  auto c = Make("0190a5d8-0000-7000-8000-000000000303", "c");
  c.receipt.metadata.from = "Mallory <alice.kim@example.com.evil>";
  c.receipt.envelope.mail_from = "m@evil.example";
  ASSERT_TRUE(store.Insert({&a, &b, &c}).ok());
  Index();
  auto ids = [&](const std::string& from) {
    storage::SearchQuery q;
    q.tenant = "default";
    q.from = from;
    q.oldest_first = true;  // in the order they were received
    std::vector<std::string> out;
    auto r = store.Search(q);
    EXPECT_TRUE(r.ok());
    if (r.ok()) {
      for (auto& i : r->items) out.push_back(i.id);
    }
    return out;
  };
  EXPECT_EQ(ids("alice.kim@example.com"),
            std::vector<std::string>{a.receipt.id});  // header address
  EXPECT_EQ(ids("BOUNCES@list.example"),
            std::vector<std::string>{a.receipt.id});  // envelope sender
  EXPECT_EQ(ids("bob@example.org"), std::vector<std::string>{b.receipt.id});
  EXPECT_EQ(ids("kim"),
            (std::vector<std::string>{a.receipt.id, c.receipt.id}));  // a name: contains
  EXPECT_TRUE(ids("nobody@example.com").empty());
}

TEST_F(ReceiptStoreTest, AttachmentNameIsAContainsMatchWithOrWithoutWholeWords) {
  storage::ReceiptStore store(*db_);
  const std::vector<std::vector<std::string>> names = {{"Case-517.BIN"},
                                                       {"showcase-517.bin.zip"},
                                                       {"case-5170.bin"},
                                                       {"\xea\xb3\x84\xec\x95\xbd.pdf"},
                                                       {"a.txt", "517.doc"}};
  std::vector<storage::NewReceipt> ms;
  for (size_t i = 0; i < names.size(); ++i) {
    auto m =
        Make("0190a5d8-0000-7000-8000-00000000030" + std::to_string(i), "n" + std::to_string(i));
    m.receipt.received_at_us += static_cast<int64_t>(i);
    m.receipt.metadata.attachment_names = names[i];
    ms.push_back(m);
  }
  std::vector<const storage::NewReceipt*> ptrs;
  for (auto& m : ms) ptrs.push_back(&m);
  ASSERT_TRUE(store.Insert(ptrs).ok());
  Index();
  auto found = [&](const std::string& text) {
    storage::SearchQuery q;
    q.tenant = "default";
    q.attachment_name = text;
    q.oldest_first = true;  // in the order they were received
    auto r = store.Search(q);
    EXPECT_TRUE(r.ok()) << r.error().ToString();
    std::string out;
    for (const auto& it : r->items) out += it.id.substr(it.id.size() - 1);
    return out;
  };
  // With a whole word (517 between separators): candidates by word, then contains.
  EXPECT_EQ(found("case-517.bin"), "01");
  EXPECT_EQ(found("-517."), "01");
  EXPECT_EQ(found(" 517."), "4");
  EXPECT_EQ(found("CASE-517.b"), "01");
  // Without one: the trigram path, the same contains semantics.
  EXPECT_EQ(found("517"), "0124");
  EXPECT_EQ(found("\xec\x95\xbd.pd"), "3");
  EXPECT_EQ(found("txt 517"), "4");  // names are searched as one text, joined by spaces
  EXPECT_EQ(found("50%"), "");
}

// A search on an indexed field chooses its page in receipt_index and names the receipt through
// it in every other filter (hash, part, status, time, id): each still narrows as on receipts.
TEST_F(ReceiptStoreTest, IndexedSearchCombinesWithEveryOtherFilter) {
  storage::ReceiptStore store(*db_);
  std::vector<storage::NewReceipt> ms;
  for (int i = 0; i < 4; ++i) {
    auto m =
        Make("0190a5d8-0000-7000-8000-00000000040" + std::to_string(i), "c" + std::to_string(i));
    m.receipt.received_at_us += i;
    m.receipt.parts[0].sha256 = common::Sha256Of("part " + std::to_string(i % 2));
    ms.push_back(m);
  }
  std::vector<const storage::NewReceipt*> ptrs;
  for (auto& m : ms) ptrs.push_back(&m);
  ASSERT_TRUE(store.Insert(ptrs).ok());
  Index();
  auto ids = [&](storage::SearchQuery q) {
    q.tenant = "default";
    q.subject = "vertrag";  // every one of them, through the index
    q.oldest_first = true;
    auto r = store.Search(q);
    EXPECT_TRUE(r.ok()) << r.error().ToString();
    std::string out;
    if (r.ok()) {
      for (const auto& it : r->items) out += it.id.substr(it.id.size() - 1);
    }
    return out;
  };
  EXPECT_EQ(ids({}), "0123");
  storage::SearchQuery q;
  q.sha256 = common::ToHex(ms[2].receipt.raw_sha256);
  EXPECT_EQ(ids(q), "2");
  q = {};
  q.attachment_sha256 = common::ToHex(common::Sha256Of("part 1"));
  EXPECT_EQ(ids(q), "13");
  q = {};
  q.since_us = ms[1].receipt.received_at_us;
  q.until_us = ms[3].receipt.received_at_us;
  EXPECT_EQ(ids(q), "12");
  q = {};
  q.id = ms[3].receipt.id;
  EXPECT_EQ(ids(q), "3");
  q = {};
  q.status = "pending";  // none is sealed here
  EXPECT_EQ(ids(q), "0123");
  q.status = "sealed";
  EXPECT_EQ(ids(q), "");
  // Paging by the index's own time and id, two at a time.
  q = {};
  q.limit = 2;
  q.tenant = "default";
  q.subject = "vertrag";
  auto first = store.Search(q);
  ASSERT_TRUE(first.ok() && first->next);
  EXPECT_EQ(first->items[0].id, ms[3].receipt.id);  // newest first
  q.after = first->next;
  auto second = store.Search(q);
  ASSERT_TRUE(second.ok());
  ASSERT_EQ(second->items.size(), 2u);
  EXPECT_EQ(second->items[1].id, ms[0].receipt.id);
  EXPECT_FALSE(second->next);
}

TEST(DatabaseTest, UnreachableDatabaseIsUnavailableNotACrash) {
  int port = testsupport::FreePort();
  auto db = storage::Database::Open(
      {"postgresql://notary_app@127.0.0.1:" + std::to_string(port) + "/notary?connect_timeout=2",
       2});
  ASSERT_FALSE(db.ok());
  EXPECT_EQ(db.error().code(), common::ErrorCode::kUnavailable);
}

}  // namespace
