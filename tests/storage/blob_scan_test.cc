// The audit's byte scan: every stored message comes out of binary COPY exactly as stored
// (empty, binary, larger than one network buffer), once, and a scan stops when asked.
#include "storage/blob_scan.h"

#include <gtest/gtest.h>

#include <map>

#include "common/bytes.h"
#include "common/sha256.h"
#include "storage/migrations.h"
#include "support/test_support.h"

namespace {

using testsupport::RunCommand;
using testsupport::TestDatabase;

void Sql(const std::string& url, const std::string& sql) {
  auto r = RunCommand({"psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", url, "-c", sql});
  ASSERT_EQ(r.exit_code, 0) << sql << ": " << r.out;
}

std::string Key(std::string_view data) {
  const common::Hash h = common::Sha256Of(data);
  return std::string(h.begin(), h.end());
}

class BlobScanTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(storage::Migrate(db_.OwnerUrl(), storage::BuiltinMigrations()).ok());
    // Content-addressed rows as ingest stores them: an empty message, every byte value,
    // one of 300 KB (many network messages' worth) and 500 small ones.
    Sql(db_.SuperUrl(),
        "INSERT INTO message_blobs (sha256, size, data) SELECT sha256(d), length(d), d FROM ("
        " SELECT ''::bytea AS d"
        " UNION ALL SELECT string_agg(set_byte('\\x00'::bytea, 0, i), ''::bytea ORDER BY i)"
        "  FROM generate_series(0, 255) i"
        " UNION ALL SELECT convert_to(repeat('0123456789abcdef', 19200), 'UTF8')"
        " UNION ALL SELECT convert_to('message ' || i, 'UTF8') FROM generate_series(1, 500) i"
        ") blobs");
    auto db = storage::Database::Open({db_.AppUrl(), 2});
    ASSERT_TRUE(db.ok());
    database_ = std::move(*db);
  }

  TestDatabase db_;
  std::unique_ptr<storage::Database> database_;
};

TEST_F(BlobScanTest, StreamsEveryStoredMessageOnceAndExactly) {
  auto scan = storage::BlobScan::Open(*database_);
  ASSERT_TRUE(scan.ok()) << scan.error().ToString();
  std::map<std::string, std::string> seen;
  int rows = 0;
  auto st = (*scan)->ForEach([&](std::string_view key, std::string_view data) {
    ++rows;
    seen[std::string(key)] = std::string(data);
    return true;
  });
  ASSERT_TRUE(st.ok()) << st.error().ToString();
  EXPECT_EQ(rows, 503);
  ASSERT_EQ(seen.size(), 503u);
  for (const auto& [key, data] : seen) EXPECT_EQ(key, Key(data)) << data.size() << " bytes";
  std::string every_byte, big;
  for (int i = 0; i < 256; ++i) every_byte += static_cast<char>(i);
  for (int i = 0; i < 19200; ++i) big += "0123456789abcdef";
  for (const std::string& data : {std::string(), every_byte, big}) {
    ASSERT_EQ(seen.count(Key(data)), 1u) << data.size() << " bytes";
    EXPECT_EQ(seen[Key(data)], data);
  }
}

TEST_F(BlobScanTest, StopsWhenAsked) {
  auto scan = storage::BlobScan::Open(*database_);
  ASSERT_TRUE(scan.ok()) << scan.error().ToString();
  int rows = 0;
  auto st = (*scan)->ForEach([&](std::string_view, std::string_view) { return ++rows < 3; });
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code(), common::ErrorCode::kUnavailable);
  EXPECT_EQ(rows, 3);
  // A spent scan says so instead of reading on.
  auto again = (*scan)->ForEach([](std::string_view, std::string_view) { return true; });
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code(), common::ErrorCode::kUnavailable);
}

TEST_F(BlobScanTest, FindsNoLeafWhenNothingIsSealed) {
  auto finder = storage::BlobLeafFinder::Open(*database_);
  ASSERT_TRUE(finder.ok()) << finder.error().ToString();
  auto none = (*finder)->FirstLeafWithoutBlob(1000);
  ASSERT_TRUE(none.ok()) << none.error().ToString();
  EXPECT_FALSE(none->has_value());
  auto bad = (*finder)->FirstLeafReferencing({std::string(32, 'x')}, 1000);
  ASSERT_TRUE(bad.ok()) << bad.error().ToString();
  EXPECT_FALSE(bad->has_value());
}

}  // namespace
