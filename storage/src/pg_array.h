// One-dimensional PostgreSQL arrays in the binary wire format (what array_send writes and
// array_recv reads), passed to a statement as one binary parameter. A group of rows then
// goes to a fixed statement as one array per column (`unnest($1::text[], $2::bytea[], …)`):
// the statement text no longer depends on the number of rows, so it is prepared once per
// connection, and values need no quoting, hex or parsing on either side.
#pragma once

#include <cstdint>
#include <pqxx/pqxx>
#include <string>
#include <string_view>

namespace storage {

class PgArray {
 public:
  // Element type OIDs (pg_type.dat), which array_recv checks against the parameter's type.
  enum class Type : uint32_t { kBool = 16, kBytea = 17, kInt8 = 20, kInt4 = 23, kText = 25 };
  explicit PgArray(Type type);

  // The element as it is sent in binary: raw bytes for text and bytea (text must be valid
  // UTF-8 without NUL, or PostgreSQL refuses the array).
  void Add(std::string_view bytes);
  void AddNull();
  void AddInt8(int64_t v);
  void AddInt4(int32_t v);
  void AddBool(bool v);

  size_t size() const { return count_; }
  // The whole array (header, dimension, elements) as a binary parameter.
  pqxx::binarystring Param();

 private:
  void AddFixed(uint64_t v, int bytes);

  static constexpr size_t kHeaderBytes = 20;  // ndim, flags, type, length, lower bound
  Type type_;
  size_t count_ = 0;
  bool has_null_ = false;
  std::string buf_;  // kHeaderBytes kept for the header, then length-prefixed elements
};

}  // namespace storage
