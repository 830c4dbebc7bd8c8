#include "pg_util.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "common/sha256.h"

namespace storage {

std::string PreparedName(std::string_view sql) {
  return "p" + common::ToHex(common::Sha256Of(sql)).substr(0, 24);
}

std::string TextArray(const std::vector<std::string>& items) {
  std::string out = "{";
  for (size_t i = 0; i < items.size(); ++i) {
    if (i) out += ',';
    out += '"';
    for (char c : items[i]) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  out += '}';
  return out;
}

std::vector<std::string> JsonTextArray(const pqxx::field& f) {
  std::vector<std::string> out;
  if (f.is_null()) return out;
  auto j = nlohmann::json::parse(f.c_str(), nullptr, /*allow_exceptions=*/false);
  if (!j.is_array()) return out;
  for (const auto& e : j) {
    if (e.is_string()) out.push_back(e.get<std::string>());
  }
  return out;
}

std::string BytesField(const pqxx::field& f) {
  if (f.is_null()) return {};
  pqxx::binarystring b(f);
  return b.str();
}

common::Hash HashField(const pqxx::field& f) {
  common::Hash h{};
  std::string s = BytesField(f);
  std::copy_n(s.begin(), std::min(s.size(), h.size()), h.begin());
  return h;
}

}  // namespace storage
