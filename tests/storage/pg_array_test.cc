// PgArray (storage/src/pg_array.h): one-dimensional arrays in PostgreSQL's binary array
// format, byte for byte as array_send writes them and array_recv reads them
// (src/backend/utils/adt/arrayfuncs.c): int4 ndim, int4 flags (1 when the array holds a NULL),
// the element type's OID, then per dimension int4 length and int4 lower bound, then per
// element an int4 length (-1 for NULL) and the type's binary form (big-endian integers, one
// byte 0/1 for bool, the raw bytes for text and bytea). All integers are big-endian. An empty
// array has no dimensions. Then the same arrays through a real PostgreSQL.
#include "pg_array.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <optional>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "support/test_support.h"

namespace {

using storage::PgArray;
using Type = PgArray::Type;

// The OIDs of pg_type.dat, written down here and not taken from the enum under test.
constexpr uint32_t kBoolOid = 16, kByteaOid = 17, kInt8Oid = 20, kInt4Oid = 23, kTextOid = 25;

std::string Be(uint64_t v, int bytes) {
  std::string out;
  for (int i = bytes - 1; i >= 0; --i) out += static_cast<char>((v >> (8 * i)) & 0xff);
  return out;
}
std::string I32(int64_t v) { return Be(static_cast<uint32_t>(static_cast<int32_t>(v)), 4); }
std::string I64(int64_t v) { return Be(static_cast<uint64_t>(v), 8); }

// The array_send layout of a one-dimensional array whose lower bound is 1.
std::string Expected(uint32_t oid, bool has_null,
                     const std::vector<std::optional<std::string>>& e) {
  if (e.empty()) return I32(0) + I32(0) + I32(oid);
  std::string out =
      I32(1) + I32(has_null ? 1 : 0) + I32(oid) + I32(static_cast<int64_t>(e.size())) + I32(1);
  for (const auto& v : e) out += v ? I32(static_cast<int64_t>(v->size())) + *v : I32(-1);
  return out;
}

std::string Bytes(PgArray& a) { return a.Param().str(); }

TEST(PgArrayTest, Int4ElementsAreFourBytesBigEndian) {
  PgArray a(Type::kInt4);
  const std::vector<int32_t> values = {1, -2, 0x01020304, std::numeric_limits<int32_t>::min(),
                                       std::numeric_limits<int32_t>::max()};
  std::vector<std::optional<std::string>> want;
  for (int32_t v : values) {
    a.AddInt4(v);
    want.push_back(I32(v));
  }
  EXPECT_EQ(a.size(), values.size());
  const std::string got = Bytes(a);
  EXPECT_EQ(got, Expected(kInt4Oid, false, want));
  // Spelled out once, so that the helper above is not the only statement of the format.
  EXPECT_EQ(got.substr(0, 20), std::string("\0\0\0\1\0\0\0\0\0\0\0\x17\0\0\0\5\0\0\0\1", 20));
  EXPECT_EQ(got.substr(20, 16), std::string("\0\0\0\4\0\0\0\1\0\0\0\4\xff\xff\xff\xfe", 16));
  EXPECT_EQ(got.substr(36, 8), std::string("\0\0\0\4\1\2\3\4", 8));
  EXPECT_EQ(got.size(), 20u + 5u * 8u);
}

TEST(PgArrayTest, Int8ElementsAreEightBytesAndNullSetsTheFlag) {
  PgArray a(Type::kInt8);
  a.AddInt8(std::numeric_limits<int64_t>::min());
  a.AddNull();
  a.AddInt8(0x0102030405060708);
  a.AddInt8(-1);
  EXPECT_EQ(a.size(), 4u);
  EXPECT_EQ(Bytes(a), Expected(kInt8Oid, true,
                               {I64(std::numeric_limits<int64_t>::min()), std::nullopt,
                                std::string("\1\2\3\4\5\6\7\x08", 8), std::string(8, '\xff')}));
  const std::string got = Bytes(a);
  EXPECT_EQ(got.substr(4, 4), std::string("\0\0\0\1", 4));  // flags: has nulls
  EXPECT_EQ(got.substr(20 + 12, 4), "\xff\xff\xff\xff");    // the NULL: length -1, no bytes
  EXPECT_EQ(got.size(), 20u + 3u * 12u + 4u);
}

TEST(PgArrayTest, ByteaAndTextElementsAreTheirRawBytes) {
  const std::string every_byte = [] {
    std::string s;
    for (int i = 0; i < 256; ++i) s += static_cast<char>(i);
    return s;
  }();
  PgArray bytea(Type::kBytea);
  bytea.Add(every_byte);
  bytea.Add("");  // an empty value is length 0, not NULL
  bytea.AddNull();
  EXPECT_EQ(Bytes(bytea), Expected(kByteaOid, true, {every_byte, std::string(), std::nullopt}));

  PgArray text(Type::kText);
  text.Add("h\xc3\xa9llo");
  text.Add("");
  text.Add("{\"a\",NULL}");  // no quoting: binary elements are not array literals
  EXPECT_EQ(Bytes(text), Expected(kTextOid, false, {"h\xc3\xa9llo", "", "{\"a\",NULL}"}));
  EXPECT_EQ(Bytes(text).substr(20, 10), std::string("\0\0\0\6h\xc3\xa9llo", 10));
}

TEST(PgArrayTest, BoolElementsAreOneByte) {
  PgArray a(Type::kBool);
  a.AddBool(true);
  a.AddBool(false);
  a.AddNull();
  EXPECT_EQ(Bytes(a),
            Expected(kBoolOid, true, {std::string("\1"), std::string(1, '\0'), std::nullopt}));
}

TEST(PgArrayTest, EmptyArrayHasNoDimensions) {
  for (auto [type, oid] : {std::pair{Type::kBool, kBoolOid}, std::pair{Type::kBytea, kByteaOid},
                           std::pair{Type::kInt8, kInt8Oid}, std::pair{Type::kInt4, kInt4Oid},
                           std::pair{Type::kText, kTextOid}}) {
    PgArray a(type);
    EXPECT_EQ(a.size(), 0u);
    EXPECT_EQ(Bytes(a), I32(0) + I32(0) + I32(oid)) << oid;
  }
}

TEST(PgArrayTest, AllNullArrayHasOneDimensionAndTheFlag) {
  PgArray a(Type::kText);
  a.AddNull();
  a.AddNull();
  EXPECT_EQ(a.size(), 2u);
  EXPECT_EQ(Bytes(a), I32(1) + I32(1) + I32(kTextOid) + I32(2) + I32(1) + I32(-1) + I32(-1));
}

TEST(PgArrayTest, ParamCanBeTakenAgainAndFollowsLaterElements) {
  PgArray a(Type::kInt4);
  EXPECT_EQ(Bytes(a), Expected(kInt4Oid, false, {}));
  a.AddInt4(7);
  EXPECT_EQ(Bytes(a), Expected(kInt4Oid, false, {I32(7)}));
  EXPECT_EQ(Bytes(a), Expected(kInt4Oid, false, {I32(7)}));  // taking it changes nothing
  a.AddNull();
  a.AddInt4(8);
  EXPECT_EQ(Bytes(a), Expected(kInt4Oid, true, {I32(7), std::nullopt, I32(8)}));
}

// The same arrays as parameters of a real PostgreSQL, sent in binary as the repositories send
// them (exec_prepared/exec_params with a binarystring).
class PgArrayServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    try {
      conn_ = std::make_unique<pqxx::connection>(tdb_.SuperUrl());
    } catch (const std::exception& e) {
      FAIL() << "cannot connect to the test database: " << e.what();
    }
  }

  // array_send of the array that array_recv made of `a`, as `pg_type`.
  std::string Resent(PgArray& a, const std::string& pg_type) {
    pqxx::nontransaction tx(*conn_);
    pqxx::row r = tx.exec_params1("SELECT array_send($1::" + pg_type + ")", a.Param());
    return pqxx::binarystring(r[0]).str();
  }
  std::string AsText(PgArray& a, const std::string& pg_type) {
    pqxx::nontransaction tx(*conn_);
    return tx.exec_params1("SELECT ($1::" + pg_type + ")::text", a.Param())[0].as<std::string>();
  }

  testsupport::TestDatabase tdb_;
  std::unique_ptr<pqxx::connection> conn_;
};

TEST_F(PgArrayServerTest, PostgresReadsEveryTypeAndSendsTheSameBytesBack) {
  PgArray i4(Type::kInt4);
  for (int32_t v : {1, -2, std::numeric_limits<int32_t>::min()}) i4.AddInt4(v);
  i4.AddNull();
  EXPECT_EQ(AsText(i4, "int4[]"), "{1,-2,-2147483648,NULL}");
  EXPECT_EQ(Resent(i4, "int4[]"), Bytes(i4));

  PgArray i8(Type::kInt8);
  i8.AddInt8(std::numeric_limits<int64_t>::max());
  i8.AddInt8(-1);
  EXPECT_EQ(AsText(i8, "int8[]"), "{9223372036854775807,-1}");
  EXPECT_EQ(Resent(i8, "int8[]"), Bytes(i8));

  PgArray text(Type::kText);
  text.Add("h\xc3\xa9llo");
  text.Add("");
  text.AddNull();
  text.Add("a,\"b\"");
  EXPECT_EQ(AsText(text, "text[]"), "{h\xc3\xa9llo,\"\",NULL,\"a,\\\"b\\\"\"}");
  EXPECT_EQ(Resent(text, "text[]"), Bytes(text));

  PgArray b(Type::kBool);
  b.AddBool(false);
  b.AddBool(true);
  EXPECT_EQ(AsText(b, "bool[]"), "{f,t}");
  EXPECT_EQ(Resent(b, "bool[]"), Bytes(b));

  for (auto [type, name] : {std::pair{Type::kInt4, "int4[]"}, std::pair{Type::kText, "text[]"},
                            std::pair{Type::kBytea, "bytea[]"}}) {
    PgArray empty(type);
    EXPECT_EQ(AsText(empty, name), "{}") << name;
    EXPECT_EQ(Resent(empty, name), Bytes(empty)) << name;
  }
}

TEST_F(PgArrayServerTest, ByteaElementsArriveByteForByte) {
  std::string big;
  for (int i = 0; i < 300000; ++i) big += static_cast<char>((i * 7 + i / 256) & 0xff);
  std::string every_byte;
  for (int i = 0; i < 256; ++i) every_byte += static_cast<char>(i);
  const std::vector<std::optional<std::string>> values = {every_byte, std::string(), std::nullopt,
                                                          big};
  PgArray a(Type::kBytea);
  for (const auto& v : values) v ? a.Add(*v) : a.AddNull();
  pqxx::result r;
  {
    pqxx::nontransaction tx(*conn_);
    r = tx.exec_params(
        "SELECT n, v IS NULL, v FROM unnest($1::bytea[]) WITH ORDINALITY AS t(v, n) ORDER BY n",
        a.Param());
  }
  ASSERT_EQ(r.size(), values.size());
  for (size_t i = 0; i < values.size(); ++i) {
    EXPECT_EQ(r[i][0].as<int64_t>(), static_cast<int64_t>(i + 1));
    ASSERT_EQ(r[i][1].as<bool>(), !values[i].has_value()) << i;
    if (values[i]) {
      EXPECT_EQ(pqxx::binarystring(r[i][2]).str(), *values[i]) << i;
    }
  }
  EXPECT_EQ(Resent(a, "bytea[]"), Bytes(a));
}

TEST_F(PgArrayServerTest, ParallelArraysUnnestIntoRowsAsTheRepositoriesUseThem) {
  PgArray ids(Type::kText), sizes(Type::kInt8), ordinals(Type::kInt4), data(Type::kBytea);
  for (int i = 0; i < 3; ++i) {
    ids.Add("r" + std::to_string(i));
    sizes.AddInt8(int64_t{1} << (20 + 10 * i));
    ordinals.AddInt4(-i);
    i == 1 ? data.AddNull() : data.Add(std::string(static_cast<size_t>(i) + 1, '\0'));
  }
  pqxx::nontransaction tx(*conn_);
  pqxx::result r = tx.exec_params(
      "SELECT id, size, ordinal, data IS NULL, length(data)"
      " FROM unnest($1::text[], $2::int8[], $3::int4[], $4::bytea[]) AS t(id, size, ordinal, data)",
      ids.Param(), sizes.Param(), ordinals.Param(), data.Param());
  ASSERT_EQ(r.size(), 3u);
  for (int i = 0; i < 3; ++i) {
    const auto row = r[static_cast<pqxx::result::size_type>(i)];
    EXPECT_EQ(row[0].as<std::string>(), "r" + std::to_string(i));
    EXPECT_EQ(row[1].as<int64_t>(), int64_t{1} << (20 + 10 * i));
    EXPECT_EQ(row[2].as<int>(), -i);
    EXPECT_EQ(row[3].as<bool>(), i == 1);
    if (i != 1) {
      EXPECT_EQ(row[4].as<int>(), i + 1);
    }
  }
}

TEST_F(PgArrayServerTest, PostgresRefusesAnArrayOfAnotherElementType) {
  // array_recv checks the element OID in the data against the parameter's type, so an int4
  // array can never be read as int8 (or text as bytea) by mistake.
  auto sqlstate_of = [&](PgArray& a, const std::string& pg_type) -> std::string {
    try {
      Resent(a, pg_type);
    } catch (const pqxx::sql_error& e) {
      return e.sqlstate();
    }
    return "accepted";
  };
  PgArray i4(Type::kInt4);
  i4.AddInt4(1);
  EXPECT_EQ(sqlstate_of(i4, "int8[]"), "42804");  // datatype_mismatch
  PgArray text(Type::kText);
  text.Add("x");
  EXPECT_EQ(sqlstate_of(text, "bytea[]"), "42804");
  PgArray empty(Type::kInt8);
  EXPECT_EQ(sqlstate_of(empty, "int4[]"), "42804");
}

}  // namespace
