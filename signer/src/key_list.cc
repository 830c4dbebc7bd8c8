#include "signer/key_list.h"

#include <algorithm>
#include <charconv>
#include <map>

#include "common/bytes.h"

namespace signer {
namespace {

bool ParseI64(std::string_view s, int64_t& out) {
  if (s.empty()) return false;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && end == s.data() + s.size() && out >= 0;
}

// Splits off the first `n` space-separated fields; the rest of the line is `rest`.
bool Fields(std::string_view line, size_t n, std::vector<std::string_view>& out,
            std::string_view& rest) {
  out.clear();
  for (size_t i = 0; i < n; ++i) {
    const size_t sp = line.find(' ');
    if (sp == std::string_view::npos) {
      if (i + 1 != n) return false;
      out.push_back(line);
      line = {};
      break;
    }
    out.push_back(line.substr(0, sp));
    line.remove_prefix(sp + 1);
  }
  rest = line;
  return std::none_of(out.begin(), out.end(), [](std::string_view f) { return f.empty(); });
}

bool Printable(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c >= 0x20 && c < 0x7f; });
}

}  // namespace

const KeyInfo* KeyList::Current(std::string_view purpose) const {
  for (const KeyInfo& k : keys) {
    if (k.current && k.purpose == purpose) return &k;
  }
  return nullptr;
}

std::string EncodeKeyList(const KeyList& list) {
  std::string out;
  for (const KeyInfo& k : list.keys) {
    out += "key " + k.purpose + " " + k.algorithm + " " + common::ToHex(k.public_key) + " " +
           (k.current ? "current" : "retired") + " " + std::to_string(k.created_us) + " " +
           (k.retired_us ? std::to_string(*k.retired_us) : "-") + " " + k.where + "\n";
  }
  if (list.last_block_header) {
    out += "last-block " + common::ToHex(common::AsBytes(*list.last_block_header)) + "\n";
  }
  if (list.tsa_chain_pem) {
    out += "tsa-chain " + common::ToHex(common::AsBytes(*list.tsa_chain_pem)) + "\n";
  }
  return out;
}

common::Result<KeyList> ParseKeyList(std::string_view body) {
  KeyList list;
  std::map<std::string, int> current;
  std::vector<std::string_view> f;
  std::string_view rest;
  while (!body.empty()) {
    const size_t nl = body.find('\n');
    if (nl == std::string_view::npos) return common::Error::InvalidInput("key list: no newline");
    const std::string_view line = body.substr(0, nl);
    body.remove_prefix(nl + 1);
    if (!Printable(line)) return common::Error::InvalidInput("key list: control characters");
    if (line.starts_with("key ")) {
      if (!Fields(line.substr(4), 7, f, rest)) {
        return common::Error::InvalidInput("key list: bad key line");
      }
      KeyInfo k;
      k.purpose = std::string(f[0]);
      k.algorithm = std::string(f[1]);
      auto pub = common::FromHex(f[2]);
      if (!pub || pub->size() != k.public_key.size()) {
        return common::Error::InvalidInput("key list: bad public key");
      }
      std::copy(pub->begin(), pub->end(), k.public_key.begin());
      if (f[3] != "current" && f[3] != "retired") {
        return common::Error::InvalidInput("key list: bad key state");
      }
      k.current = f[3] == "current";
      int64_t retired = 0;
      if (!ParseI64(f[4], k.created_us) || (f[5] != "-" && !ParseI64(f[5], retired))) {
        return common::Error::InvalidInput("key list: bad key times");
      }
      if (f[5] != "-") k.retired_us = retired;
      k.where = std::string(f[6]);
      if (!rest.empty()) k.where += " " + std::string(rest);
      if (k.current && ++current[k.purpose] > 1) {
        return common::Error::InvalidInput("key list: two current keys for " + k.purpose);
      }
      list.keys.push_back(std::move(k));
    } else if (line.starts_with("last-block ")) {
      auto header = common::FromHex(line.substr(11));
      if (!header || header->empty() || list.last_block_header) {
        return common::Error::InvalidInput("key list: bad last-block line");
      }
      list.last_block_header = std::move(*header);
    } else if (line.starts_with("tsa-chain ")) {
      auto chain = common::FromHex(line.substr(10));
      if (!chain || chain->empty() || list.tsa_chain_pem) {
        return common::Error::InvalidInput("key list: bad tsa-chain line");
      }
      list.tsa_chain_pem = std::move(*chain);
    } else {
      return common::Error::InvalidInput("key list: unknown line");
    }
  }
  return list;
}

}  // namespace signer
