#include "pg_array.h"

namespace storage {
namespace {

void PutBe(std::string& out, uint64_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

}  // namespace

void PgArray::Add(std::string_view bytes) {
  PutBe(elements_, bytes.size(), 4);
  elements_.append(bytes);
  ++count_;
}

void PgArray::AddNull() {
  PutBe(elements_, 0xffffffffu, 4);  // length -1
  has_null_ = true;
  ++count_;
}

void PgArray::AddFixed(uint64_t v, int bytes) {
  PutBe(elements_, static_cast<uint64_t>(bytes), 4);
  PutBe(elements_, v, bytes);
  ++count_;
}

void PgArray::AddInt8(int64_t v) { AddFixed(static_cast<uint64_t>(v), 8); }
void PgArray::AddInt4(int32_t v) { AddFixed(static_cast<uint32_t>(v), 4); }
void PgArray::AddBool(bool v) { AddFixed(v ? 1 : 0, 1); }

pqxx::binarystring PgArray::Param() const {
  std::string out;
  out.reserve(20 + elements_.size());
  // An empty array has no dimensions.
  PutBe(out, count_ ? 1 : 0, 4);     // ndim
  PutBe(out, has_null_ ? 1 : 0, 4);  // flags: has nulls
  PutBe(out, static_cast<uint32_t>(type_), 4);
  if (count_) {
    PutBe(out, count_, 4);  // dimension length
    PutBe(out, 1, 4);       // lower bound
  }
  out += elements_;
  return pqxx::binarystring(out.data(), out.size());
}

}  // namespace storage
