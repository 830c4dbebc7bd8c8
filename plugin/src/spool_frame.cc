#include "spool_frame.h"

#include "common/sha256.h"

namespace milter {
namespace {

constexpr std::string_view kMagic = "NSF1";
constexpr uint32_t kMaxIdBytes = 256;

void PutLe(std::string& out, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out += static_cast<char>((v >> (8 * i)) & 0xff);
}

uint64_t GetLe(std::string_view in, int bytes) {
  uint64_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(in[i]);
  return v;
}

std::string Digest(std::string_view id, std::span<const std::string_view> parts) {
  common::Sha256 h;
  h.Update(id);
  for (std::string_view p : parts) h.Update(p);
  common::Hash d = h.Finish();
  return std::string(reinterpret_cast<const char*>(d.data()), d.size());
}

}  // namespace

std::string EncodeFrameHeader(std::string_view id, std::span<const std::string_view> parts) {
  uint64_t data_bytes = 0;
  for (std::string_view p : parts) data_bytes += p.size();
  std::string out;
  out.reserve(kFrameHeaderBytes);
  out += kMagic;
  PutLe(out, id.size(), 4);
  PutLe(out, data_bytes, 8);
  out += Digest(id, parts);
  return out;
}

std::string EncodeFrame(std::string_view id, std::string_view data) {
  std::string out = EncodeFrameHeader(id, std::span<const std::string_view>(&data, 1));
  out.reserve(kFrameHeaderBytes + id.size() + data.size());
  out += id;
  out += data;
  return out;
}

std::optional<FrameHeader> DecodeFrameHeader(std::string_view header, uint64_t available) {
  if (header.size() != kFrameHeaderBytes || header.substr(0, 4) != kMagic) return std::nullopt;
  FrameHeader h;
  h.id_bytes = static_cast<uint32_t>(GetLe(header.substr(4), 4));
  h.data_bytes = GetLe(header.substr(8), 8);
  h.digest = std::string(header.substr(16, 32));
  if (h.id_bytes == 0 || h.id_bytes > kMaxIdBytes) return std::nullopt;
  if (h.data_bytes > available || h.frame_bytes() > available) return std::nullopt;
  return h;
}

bool FrameBodyMatches(const FrameHeader& h, std::string_view body) {
  if (body.size() != h.id_bytes + h.data_bytes) return false;
  const std::string_view data = body.substr(h.id_bytes);
  return Digest(body.substr(0, h.id_bytes), std::span<const std::string_view>(&data, 1)) ==
         h.digest;
}

}  // namespace milter
