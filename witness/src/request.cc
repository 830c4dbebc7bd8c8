#include "witness/request.h"

#include <optional>

namespace witness {
namespace {

// One line without its newline; nullopt when `rest` holds no newline. Advances `rest`.
std::optional<std::string_view> NextLine(std::string_view& rest) {
  const size_t nl = rest.find('\n');
  if (nl == std::string_view::npos) return std::nullopt;
  std::string_view line = rest.substr(0, nl);
  rest.remove_prefix(nl + 1);
  return line;
}

std::optional<uint64_t> ParseDecimal(std::string_view s) {
  if (s.empty() || s.size() > 20) return std::nullopt;
  if (s.size() > 1 && s[0] == '0') return std::nullopt;  // no leading zeroes
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    const auto d = static_cast<uint64_t>(c - '0');
    if (v > (UINT64_MAX - d) / 10) return std::nullopt;
    v = v * 10 + d;
  }
  return v;
}

}  // namespace

common::Result<AddCheckpointRequest> ParseAddCheckpointRequest(std::string_view body) {
  AddCheckpointRequest out;
  std::string_view rest = body;
  const auto first = NextLine(rest);
  if (!first || !first->starts_with("old ")) {
    return common::Error::InvalidInput("the body does not start with an \"old <size>\" line");
  }
  const auto old_size = ParseDecimal(first->substr(4));
  if (!old_size) return common::Error::InvalidInput("malformed old size");
  out.old_size = *old_size;
  while (true) {
    const auto line = NextLine(rest);
    if (!line) return common::Error::InvalidInput("no empty line before the checkpoint");
    if (line->empty()) break;
    if (out.proof.size() == kMaxProofLines) {
      return common::Error::InvalidInput("more than 63 consistency proof lines");
    }
    // 32 bytes are 44 base64 characters; Base64Encode of the decoded bytes gives the line back
    // only when it is canonical (no stray bits in the last character).
    const auto raw = line->size() == 44 ? common::Base64Decode(*line) : std::nullopt;
    if (!raw || raw->size() != 32 || common::Base64Encode(*raw) != *line) {
      return common::Error::InvalidInput("a consistency proof line is not base64 of 32 bytes");
    }
    common::Hash h;
    for (size_t i = 0; i < h.size(); ++i) h[i] = static_cast<uint8_t>((*raw)[i]);
    out.proof.push_back(h);
  }
  if (out.old_size == 0 && !out.proof.empty()) {
    return common::Error::InvalidInput("a consistency proof from size 0 must be empty");
  }
  if (rest.empty()) return common::Error::InvalidInput("no checkpoint");
  out.checkpoint = std::string(rest);
  return out;
}

std::string FormatAddCheckpointRequest(const AddCheckpointRequest& request) {
  std::string out = "old " + std::to_string(request.old_size) + "\n";
  for (const auto& h : request.proof) out += common::Base64Encode(h) + "\n";
  out += "\n";
  out += request.checkpoint;
  return out;
}

}  // namespace witness
