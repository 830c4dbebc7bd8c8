#include "signer/frame.h"

#include <algorithm>

namespace signer {

bool IsKnownKind(uint8_t kind) {
  switch (static_cast<Kind>(kind)) {
    case Kind::kListKeys:
    case Kind::kSignBlock:
    case Kind::kSignCheckpoint:
    case Kind::kRotateKey:
    case Kind::kSignTimestamp:
    case Kind::kTenantKey:
    case Kind::kUnwrapKeys:
    case Kind::kSignDocument:
    case Kind::kRotateTenantKey:
    case Kind::kDestroyTenantKey:
    case Kind::kKeys:
    case Kind::kSignature:
    case Kind::kTenantKeyIs:
    case Kind::kDataKeys:
    case Kind::kRefused:
      return true;
  }
  return false;
}

common::Result<std::string> EncodeFrame(Kind kind, std::string_view body) {
  if (body.size() + 1 > kMaxFrameBytes) {
    return common::Error::InvalidInput("signer frame body of " + std::to_string(body.size()) +
                                       " bytes is too long");
  }
  const auto n = static_cast<uint32_t>(body.size() + 1);
  std::string out;
  out.reserve(4 + n);
  for (int shift = 24; shift >= 0; shift -= 8)
    out.push_back(static_cast<char>((n >> shift) & 0xff));
  out.push_back(static_cast<char>(kind));
  out.append(body);
  return out;
}

common::Status FrameReader::Feed(std::string_view bytes) {
  if (broken_) return *broken_;
  while (!bytes.empty()) {
    // The length first (at most 4 bytes held), then the frame it announces.
    if (partial_.size() < 4) {
      const size_t take = std::min(bytes.size(), 4 - partial_.size());
      partial_.append(bytes.substr(0, take));
      bytes.remove_prefix(take);
      if (partial_.size() < 4) break;
    }
    uint32_t n = 0;
    for (int i = 0; i < 4; ++i)
      n = (n << 8) | static_cast<uint8_t>(partial_[static_cast<size_t>(i)]);
    if (n == 0 || n > kMaxFrameBytes) {
      broken_ = common::Error::InvalidInput("signer frame length " + std::to_string(n) +
                                            " outside 1.." + std::to_string(kMaxFrameBytes));
      partial_.clear();
      return *broken_;
    }
    if (bytes.empty()) break;
    if (partial_.size() == 4) {
      // The kind is known as soon as its byte arrives: refuse before holding a body.
      if (!IsKnownKind(static_cast<uint8_t>(bytes.front()))) {
        broken_ = common::Error::InvalidInput("unknown signer frame kind " +
                                              std::to_string(static_cast<uint8_t>(bytes.front())));
        partial_.clear();
        return *broken_;
      }
    }
    const size_t want = 4 + static_cast<size_t>(n) - partial_.size();
    const size_t take = std::min(bytes.size(), want);
    partial_.append(bytes.substr(0, take));
    bytes.remove_prefix(take);
    if (take < want) break;
    ready_.push_back(Frame{static_cast<Kind>(partial_[4]), partial_.substr(5)});
    partial_.clear();
  }
  return common::Ok();
}

std::optional<Frame> FrameReader::Next() {
  if (ready_.empty()) return std::nullopt;
  Frame f = std::move(ready_.front());
  ready_.pop_front();
  return f;
}

}  // namespace signer
