#include "production/deflate.h"

#include <zlib.h>

namespace production {
namespace {

// Windows of 2^15 bytes, negative: no zlib header or trailer (the zip has its own CRC).
constexpr int kRawWindowBits = -15;
constexpr int kLevel = 6;
constexpr int kMemLevel = 8;

class Stream {
 public:
  Stream() {
    ok_ = deflateInit2(&z_, kLevel, Z_DEFLATED, kRawWindowBits, kMemLevel, Z_DEFAULT_STRATEGY) ==
          Z_OK;
  }
  ~Stream() {
    if (ok_) deflateEnd(&z_);
  }
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;

  // All of `in`, then `flush` (Z_FINISH or Z_SYNC_FLUSH).
  common::Result<std::string> Run(std::string_view in, int flush) {
    if (!ok_) return common::Error::Internal("zlib: deflateInit2 failed");
    std::string out;
    // deflateBound covers Z_FINISH; a sync flush adds its empty stored block (5 bytes).
    out.resize(deflateBound(&z_, static_cast<uLong>(in.size())) + 16);
    z_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    z_.avail_in = static_cast<uInt>(in.size());
    z_.next_out = reinterpret_cast<Bytef*>(out.data());
    z_.avail_out = static_cast<uInt>(out.size());
    const int rc = deflate(&z_, flush);
    const bool done = flush == Z_FINISH ? rc == Z_STREAM_END : rc == Z_OK;
    if (!done || z_.avail_in != 0) return common::Error::Internal("zlib: deflate failed");
    out.resize(out.size() - z_.avail_out);
    return out;
  }

 private:
  z_stream z_{};
  bool ok_ = false;
};

}  // namespace

common::Result<Deflated> Deflate(std::string_view in, bool whole) {
  // One call to deflate: uInt counts the input, and no message is near 4 GiB.
  if (in.size() > (1ull << 31)) return common::Error::InvalidInput("too large to deflate");
  Deflated out;
  Stream s;
  ASSIGN_OR_RETURN(out.data, s.Run(in, whole ? Z_FINISH : Z_SYNC_FLUSH));
  out.crc = static_cast<uint32_t>(
      crc32(0, reinterpret_cast<const Bytef*>(in.data()), static_cast<uInt>(in.size())));
  out.size = in.size();
  return out;
}

common::Result<std::string> FinalBlock() {
  Stream s;
  return s.Run({}, Z_FINISH);  // an empty final block with fixed codes: 03 00
}

void Follow(uint32_t& crc, uint64_t& size, const Deflated& piece) {
  crc = static_cast<uint32_t>(crc32_combine(crc, piece.crc, static_cast<z_off_t>(piece.size)));
  size += piece.size;
}

}  // namespace production
