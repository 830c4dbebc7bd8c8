#include "pg_array.h"

namespace storage {
namespace {

void PutBe(char* out, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out[i] = static_cast<char>((v >> (8 * (bytes - 1 - i))) & 0xff);
}

void AppendBe(std::string& out, uint64_t v, int bytes) {
  char b[8];
  PutBe(b, v, bytes);
  out.append(b, static_cast<size_t>(bytes));
}

}  // namespace

PgArray::PgArray(Type type) : type_(type), buf_(kHeaderBytes, '\0') {}

void PgArray::Add(std::string_view bytes) {
  AppendBe(buf_, bytes.size(), 4);
  buf_.append(bytes);
  ++count_;
}

void PgArray::AddNull() {
  AppendBe(buf_, 0xffffffffu, 4);  // length -1
  has_null_ = true;
  ++count_;
}

void PgArray::AddFixed(uint64_t v, int bytes) {
  AppendBe(buf_, static_cast<uint64_t>(bytes), 4);
  AppendBe(buf_, v, bytes);
  ++count_;
}

void PgArray::AddInt8(int64_t v) { AddFixed(static_cast<uint64_t>(v), 8); }
void PgArray::AddInt4(int32_t v) { AddFixed(static_cast<uint32_t>(v), 4); }
void PgArray::AddBool(bool v) { AddFixed(v ? 1 : 0, 1); }

pqxx::binarystring PgArray::Param() {
  // The header goes into the space kept for it in front of the elements, so that the
  // elements (a group's messages, for the bytes) are copied once more only, by libpqxx.
  char* h = buf_.data();
  PutBe(h, count_ ? 1 : 0, 4);         // ndim; an empty array has no dimensions
  PutBe(h + 4, has_null_ ? 1 : 0, 4);  // flags: has nulls
  PutBe(h + 8, static_cast<uint32_t>(type_), 4);
  if (count_ == 0) return pqxx::binarystring(h, 12);
  PutBe(h + 12, count_, 4);  // dimension length
  PutBe(h + 16, 1, 4);       // lower bound
  return pqxx::binarystring(buf_.data(), buf_.size());
}

}  // namespace storage
