// The Encoding Standard's decoders, each written as its handler in the standard: the same
// state variables, the same steps, in the same order, so that a reader can check one against
// the other. Section names below are the standard's.
#include "whatwg_encoding.h"

#include <algorithm>
#include <cstdint>
#include <iterator>
#include <optional>
#include <utility>

#include "common/check.h"
#include "whatwg_tables.inc"

namespace mime {
namespace {

namespace data = whatwg_data;

constexpr bool NamesInEnumOrder() {
  if (std::size(data::kNames) != kEncodingCount) return false;
  for (size_t i = 0; i < kEncodingCount; ++i) {
    if (data::kNames[i].encoding != static_cast<Encoding>(i)) return false;
  }
  return true;
}
static_assert(NamesInEnumOrder(), "kNames is indexed by Encoding");

constexpr bool LabelsSorted() {
  for (size_t i = 1; i < std::size(data::kLabels); ++i) {
    if (!(data::kLabels[i - 1].label < data::kLabels[i].label)) return false;
  }
  return true;
}
static_assert(LabelsSorted(), "binary search needs kLabels sorted and without duplicates");

// "end-of-queue", as returned by ByteQueue::Read.
constexpr int kEndOfQueue = -1;

// The standard's I/O queue of bytes over the input. Every "restore" in the decoders below puts
// back items that were the last ones read, in the order they were read; restoring n bytes is
// therefore stepping back n positions. Reading end-of-queue does not consume it. Each decoder
// makes progress between restores (it reads more than it restores and emits U+FFFD), so the
// number of reads is at most four times the input size.
class ByteQueue {
 public:
  explicit ByteQueue(std::string_view bytes) : bytes_(bytes) {}

  int Read() {
    if (pos_ == bytes_.size()) return kEndOfQueue;
    return static_cast<unsigned char>(bytes_[pos_++]);
  }

  // REQUIRES: the n items to put back are the last n bytes read, in the order read (reading
  // end-of-queue does not move the position).
  void Restore(size_t n) {
    CHECK(n <= pos_);
    pos_ -= n;
  }

 private:
  std::string_view bytes_;
  size_t pos_ = 0;
};

// The output I/O queue of scalar values, serialised as TextDecoder does ("serialize I/O
// queue"): with drop_bom, a U+FEFF that is the very first item is left out.
class Utf8Output {
 public:
  Utf8Output(bool drop_bom, size_t expected_bytes) : bom_pending_(drop_bom) {
    result_.utf8.reserve(expected_bytes);
  }

  // REQUIRES: code_point is a scalar value (the indexes hold no surrogates; the generator
  // checks).
  void Push(uint32_t code_point) {
    if (bom_pending_) {
      bom_pending_ = false;
      if (code_point == 0xFEFF) return;
    }
    std::string& s = result_.utf8;
    if (code_point < 0x80) {
      s.push_back(static_cast<char>(code_point));
    } else if (code_point < 0x800) {
      s.push_back(static_cast<char>(0xC0 | (code_point >> 6)));
      s.push_back(static_cast<char>(0x80 | (code_point & 0x3F)));
    } else if (code_point < 0x10000) {
      s.push_back(static_cast<char>(0xE0 | (code_point >> 12)));
      s.push_back(static_cast<char>(0x80 | ((code_point >> 6) & 0x3F)));
      s.push_back(static_cast<char>(0x80 | (code_point & 0x3F)));
    } else {
      s.push_back(static_cast<char>(0xF0 | (code_point >> 18)));
      s.push_back(static_cast<char>(0x80 | ((code_point >> 12) & 0x3F)));
      s.push_back(static_cast<char>(0x80 | ((code_point >> 6) & 0x3F)));
      s.push_back(static_cast<char>(0x80 | (code_point & 0x3F)));
    }
  }

  // An "error" in error mode "replacement": push U+FFFD.
  void Error() {
    bom_pending_ = false;
    result_.utf8.append("\xEF\xBF\xBD");
    ++result_.errors;
  }

  Decoded Take() { return std::move(result_); }

 private:
  bool bom_pending_;
  Decoded result_;
};

bool InRange(int byte, int low, int high) { return byte >= low && byte <= high; }
bool IsAscii(int byte) { return InRange(byte, 0x00, 0x7F); }
uint32_t AsCodePoint(int byte) { return static_cast<uint32_t>(byte); }

// "index code point" for the generated multi-byte indexes; 0 stands for null (no index maps
// a pointer to U+0000).
template <size_t N>
uint32_t IndexCodePoint(const uint16_t (&index)[N], size_t first, uint32_t pointer) {
  if (pointer < first || pointer - first >= N) return 0;
  return index[pointer - first];
}

uint32_t Big5IndexCodePoint(uint32_t pointer) {
  if (pointer < data::kIndexBig5First ||
      pointer - data::kIndexBig5First >= std::size(data::kIndexBig5)) {
    return 0;
  }
  const size_t i = pointer - data::kIndexBig5First;
  const uint32_t low16 = data::kIndexBig5[i];
  const bool plane2 = ((data::kIndexBig5Plane2[i / 32] >> (i % 32)) & 1U) != 0;
  return plane2 ? 0x20000 + low16 : low16;  // 0: null
}

// "index gb18030 ranges code point"; 0 stands for null.
uint32_t Gb18030RangesCodePoint(uint32_t pointer) {
  if ((pointer > 39419 && pointer < 189000) || pointer > 1237575) return 0;
  if (pointer == 7457) return 0xE7C7;
  // The last entry whose pointer is <= pointer; the first entry's pointer is 0.
  const auto* it = std::upper_bound(std::begin(data::kGb18030RangesPointer),
                                    std::end(data::kGb18030RangesPointer), pointer);
  const auto i = static_cast<size_t>(it - std::begin(data::kGb18030RangesPointer)) - 1;
  return data::kGb18030RangesCodePoint[i] + pointer - data::kGb18030RangesPointer[i];
}

// "UTF-8 decoder".
void DecodeUtf8(ByteQueue& in, Utf8Output& out) {
  uint32_t code_point = 0;
  int bytes_seen = 0;
  int bytes_needed = 0;
  int lower_boundary = 0x80;
  int upper_boundary = 0xBF;
  for (;;) {
    const int byte = in.Read();
    if (byte == kEndOfQueue) {
      if (bytes_needed != 0) out.Error();
      return;
    }
    if (bytes_needed == 0) {
      if (IsAscii(byte)) {
        out.Push(AsCodePoint(byte));
      } else if (InRange(byte, 0xC2, 0xDF)) {
        bytes_needed = 1;
        code_point = AsCodePoint(byte & 0x1F);
      } else if (InRange(byte, 0xE0, 0xEF)) {
        if (byte == 0xE0) lower_boundary = 0xA0;
        if (byte == 0xED) upper_boundary = 0x9F;
        bytes_needed = 2;
        code_point = AsCodePoint(byte & 0xF);
      } else if (InRange(byte, 0xF0, 0xF4)) {
        if (byte == 0xF0) lower_boundary = 0x90;
        if (byte == 0xF4) upper_boundary = 0x8F;
        bytes_needed = 3;
        code_point = AsCodePoint(byte & 0x7);
      } else {
        out.Error();
      }
      continue;
    }
    if (!InRange(byte, lower_boundary, upper_boundary)) {
      code_point = 0;
      bytes_needed = 0;
      bytes_seen = 0;
      lower_boundary = 0x80;
      upper_boundary = 0xBF;
      in.Restore(1);
      out.Error();
      continue;
    }
    lower_boundary = 0x80;
    upper_boundary = 0xBF;
    code_point = (code_point << 6) | AsCodePoint(byte & 0x3F);
    ++bytes_seen;
    if (bytes_seen != bytes_needed) continue;
    out.Push(code_point);
    code_point = 0;
    bytes_needed = 0;
    bytes_seen = 0;
  }
}

// "single-byte decoder".
void DecodeSingleByte(const uint16_t* index, ByteQueue& in, Utf8Output& out) {
  for (int byte = in.Read(); byte != kEndOfQueue; byte = in.Read()) {
    if (IsAscii(byte)) {
      out.Push(AsCodePoint(byte));
      continue;
    }
    const uint32_t code_point = index[byte - 0x80];
    if (code_point == 0) {
      out.Error();
    } else {
      out.Push(code_point);
    }
  }
}

// "gb18030 decoder" (also GBK's decoder).
void DecodeGb18030(ByteQueue& in, Utf8Output& out) {
  int first = 0x00;
  int second = 0x00;
  int third = 0x00;
  for (;;) {
    const int byte = in.Read();
    if (byte == kEndOfQueue) {
      if (first != 0x00 || second != 0x00 || third != 0x00) out.Error();
      return;
    }
    if (third != 0x00) {
      if (!InRange(byte, 0x30, 0x39)) {
        in.Restore(3);  // « second, third, byte »
        first = second = third = 0x00;
        out.Error();
        continue;
      }
      const auto pointer =
          static_cast<uint32_t>((first - 0x81) * (10 * 126 * 10) + (second - 0x30) * (10 * 126) +
                                (third - 0x81) * 10 + byte - 0x30);
      const uint32_t code_point = Gb18030RangesCodePoint(pointer);
      first = second = third = 0x00;
      if (code_point == 0) {
        out.Error();
      } else {
        out.Push(code_point);
      }
      continue;
    }
    if (second != 0x00) {
      if (InRange(byte, 0x81, 0xFE)) {
        third = byte;
        continue;
      }
      in.Restore(2);  // « second, byte »
      first = second = 0x00;
      out.Error();
      continue;
    }
    if (first != 0x00) {
      if (InRange(byte, 0x30, 0x39)) {
        second = byte;
        continue;
      }
      const int leading = first;
      first = 0x00;
      const int offset = byte < 0x7F ? 0x40 : 0x41;
      uint32_t code_point = 0;
      if (InRange(byte, 0x40, 0x7E) || InRange(byte, 0x80, 0xFE)) {
        const auto pointer = static_cast<uint32_t>((leading - 0x81) * 190 + (byte - offset));
        code_point = IndexCodePoint(data::kIndexGb18030, data::kIndexGb18030First, pointer);
      }
      if (code_point != 0) {
        out.Push(code_point);
        continue;
      }
      if (IsAscii(byte)) in.Restore(1);
      out.Error();
      continue;
    }
    if (IsAscii(byte)) {
      out.Push(AsCodePoint(byte));
    } else if (byte == 0x80) {
      out.Push(0x20AC);
    } else if (InRange(byte, 0x81, 0xFE)) {
      first = byte;
    } else {
      out.Error();
    }
  }
}

// "Big5 decoder".
void DecodeBig5(ByteQueue& in, Utf8Output& out) {
  int big5_leading = 0x00;
  for (;;) {
    const int byte = in.Read();
    if (byte == kEndOfQueue) {
      if (big5_leading != 0x00) out.Error();
      return;
    }
    if (big5_leading != 0x00) {
      const int leading = big5_leading;
      big5_leading = 0x00;
      const int offset = byte < 0x7F ? 0x40 : 0x62;
      uint32_t code_point = 0;
      if (InRange(byte, 0x40, 0x7E) || InRange(byte, 0xA1, 0xFE)) {
        const auto pointer = static_cast<uint32_t>((leading - 0x81) * 157 + (byte - offset));
        // The four pointers that stand for two code points each.
        switch (pointer) {
          case 1133:
            out.Push(0x00CA);
            out.Push(0x0304);
            continue;
          case 1135:
            out.Push(0x00CA);
            out.Push(0x030C);
            continue;
          case 1164:
            out.Push(0x00EA);
            out.Push(0x0304);
            continue;
          case 1166:
            out.Push(0x00EA);
            out.Push(0x030C);
            continue;
          default:
            break;
        }
        code_point = Big5IndexCodePoint(pointer);
      }
      if (code_point != 0) {
        out.Push(code_point);
        continue;
      }
      if (IsAscii(byte)) in.Restore(1);
      out.Error();
      continue;
    }
    if (IsAscii(byte)) {
      out.Push(AsCodePoint(byte));
    } else if (InRange(byte, 0x81, 0xFE)) {
      big5_leading = byte;
    } else {
      out.Error();
    }
  }
}

// "EUC-JP decoder".
void DecodeEucJp(ByteQueue& in, Utf8Output& out) {
  bool jis0212 = false;
  int euc_jp_leading = 0x00;
  for (;;) {
    const int byte = in.Read();
    if (byte == kEndOfQueue) {
      if (euc_jp_leading != 0x00) out.Error();
      return;
    }
    if (euc_jp_leading == 0x8E && InRange(byte, 0xA1, 0xDF)) {
      euc_jp_leading = 0x00;
      out.Push(AsCodePoint(0xFF61 - 0xA1 + byte));
      continue;
    }
    if (euc_jp_leading == 0x8F && InRange(byte, 0xA1, 0xFE)) {
      jis0212 = true;
      euc_jp_leading = byte;
      continue;
    }
    if (euc_jp_leading != 0x00) {
      const int leading = euc_jp_leading;
      euc_jp_leading = 0x00;
      uint32_t code_point = 0;
      if (InRange(leading, 0xA1, 0xFE) && InRange(byte, 0xA1, 0xFE)) {
        const auto pointer = static_cast<uint32_t>((leading - 0xA1) * 94 + byte - 0xA1);
        code_point = jis0212
                         ? IndexCodePoint(data::kIndexJis0212, data::kIndexJis0212First, pointer)
                         : IndexCodePoint(data::kIndexJis0208, data::kIndexJis0208First, pointer);
      }
      jis0212 = false;
      if (code_point != 0) {
        out.Push(code_point);
        continue;
      }
      if (IsAscii(byte)) in.Restore(1);
      out.Error();
      continue;
    }
    if (IsAscii(byte)) {
      out.Push(AsCodePoint(byte));
    } else if (byte == 0x8E || byte == 0x8F || InRange(byte, 0xA1, 0xFE)) {
      euc_jp_leading = byte;
    } else {
      out.Error();
    }
  }
}

// "ISO-2022-JP decoder".
void DecodeIso2022Jp(ByteQueue& in, Utf8Output& out) {
  enum class State {
    kAscii,
    kRoman,
    kKatakana,
    kLeadingByte,
    kTrailingByte,
    kEscapeStart,
    kEscape
  };
  State state = State::kAscii;
  State output_state = State::kAscii;
  int iso_leading = 0x00;
  bool output_flag = false;
  for (;;) {
    const int byte = in.Read();
    switch (state) {
      case State::kAscii:
      case State::kRoman:
      case State::kKatakana:
      case State::kLeadingByte:
        if (byte == 0x1B) {
          state = State::kEscapeStart;
          continue;
        }
        if (byte == kEndOfQueue) return;
        output_flag = false;
        if (state == State::kAscii && IsAscii(byte) && byte != 0x0E && byte != 0x0F) {
          out.Push(AsCodePoint(byte));
        } else if (state == State::kRoman && byte == 0x5C) {
          out.Push(0x00A5);
        } else if (state == State::kRoman && byte == 0x7E) {
          out.Push(0x203E);
        } else if (state == State::kRoman && IsAscii(byte) && byte != 0x0E && byte != 0x0F) {
          out.Push(AsCodePoint(byte));
        } else if (state == State::kKatakana && InRange(byte, 0x21, 0x5F)) {
          out.Push(AsCodePoint(0xFF61 - 0x21 + byte));
        } else if (state == State::kLeadingByte && InRange(byte, 0x21, 0x7E)) {
          iso_leading = byte;
          state = State::kTrailingByte;
        } else {
          out.Error();
        }
        continue;
      case State::kTrailingByte:
        if (byte == 0x1B) {
          state = State::kEscapeStart;
          out.Error();
          continue;
        }
        state = State::kLeadingByte;
        if (InRange(byte, 0x21, 0x7E)) {
          const auto pointer = static_cast<uint32_t>((iso_leading - 0x21) * 94 + byte - 0x21);
          const uint32_t code_point =
              IndexCodePoint(data::kIndexJis0208, data::kIndexJis0208First, pointer);
          if (code_point == 0) {
            out.Error();
          } else {
            out.Push(code_point);
          }
        } else {
          out.Error();  // end-of-queue or another byte
        }
        continue;
      case State::kEscapeStart:
        if (byte == 0x24 || byte == 0x28) {
          iso_leading = byte;
          state = State::kEscape;
          continue;
        }
        if (byte != kEndOfQueue) in.Restore(1);
        output_flag = false;
        state = output_state;
        out.Error();
        continue;
      case State::kEscape: {
        const int leading = iso_leading;
        iso_leading = 0x00;
        std::optional<State> new_state;
        if (leading == 0x28 && byte == 0x42) new_state = State::kAscii;
        if (leading == 0x28 && byte == 0x4A) new_state = State::kRoman;
        if (leading == 0x28 && byte == 0x49) new_state = State::kKatakana;
        if (leading == 0x24 && (byte == 0x40 || byte == 0x42)) new_state = State::kLeadingByte;
        if (new_state) {
          state = output_state = *new_state;
          const bool output = output_flag;
          output_flag = true;
          if (output) out.Error();
          continue;
        }
        in.Restore(byte == kEndOfQueue ? 1 : 2);  // « leading » or « leading, byte »
        output_flag = false;
        state = output_state;
        out.Error();
        continue;
      }
    }
  }
}

// "Shift_JIS decoder".
void DecodeShiftJis(ByteQueue& in, Utf8Output& out) {
  int shift_jis_leading = 0x00;
  for (;;) {
    const int byte = in.Read();
    if (byte == kEndOfQueue) {
      if (shift_jis_leading != 0x00) out.Error();
      return;
    }
    if (shift_jis_leading != 0x00) {
      const int leading = shift_jis_leading;
      shift_jis_leading = 0x00;
      const int offset = byte < 0x7F ? 0x40 : 0x41;
      const int leading_offset = leading < 0xA0 ? 0x81 : 0xC1;
      uint32_t code_point = 0;
      if (InRange(byte, 0x40, 0x7E) || InRange(byte, 0x80, 0xFC)) {
        const auto pointer =
            static_cast<uint32_t>((leading - leading_offset) * 188 + byte - offset);
        // EUDC: interoperable legacy from Windows, mapped to the Private Use Area.
        if (pointer >= 8836 && pointer <= 10715) {
          out.Push(0xE000 - 8836 + pointer);
          continue;
        }
        code_point = IndexCodePoint(data::kIndexJis0208, data::kIndexJis0208First, pointer);
      }
      if (code_point != 0) {
        out.Push(code_point);
        continue;
      }
      if (IsAscii(byte)) in.Restore(1);
      out.Error();
      continue;
    }
    if (IsAscii(byte) || byte == 0x80) {
      out.Push(AsCodePoint(byte));
    } else if (InRange(byte, 0xA1, 0xDF)) {
      out.Push(AsCodePoint(0xFF61 - 0xA1 + byte));
    } else if (InRange(byte, 0x81, 0x9F) || InRange(byte, 0xE0, 0xFC)) {
      shift_jis_leading = byte;
    } else {
      out.Error();
    }
  }
}

// "EUC-KR decoder".
void DecodeEucKr(ByteQueue& in, Utf8Output& out) {
  int euc_kr_leading = 0x00;
  for (;;) {
    const int byte = in.Read();
    if (byte == kEndOfQueue) {
      if (euc_kr_leading != 0x00) out.Error();
      return;
    }
    if (euc_kr_leading != 0x00) {
      const int leading = euc_kr_leading;
      euc_kr_leading = 0x00;
      uint32_t code_point = 0;
      if (InRange(byte, 0x41, 0xFE)) {
        const auto pointer = static_cast<uint32_t>((leading - 0x81) * 190 + (byte - 0x41));
        code_point = IndexCodePoint(data::kIndexEucKr, data::kIndexEucKrFirst, pointer);
      }
      if (code_point != 0) {
        out.Push(code_point);
        continue;
      }
      if (IsAscii(byte)) in.Restore(1);
      out.Error();
      continue;
    }
    if (IsAscii(byte)) {
      out.Push(AsCodePoint(byte));
    } else if (InRange(byte, 0x81, 0xFE)) {
      euc_kr_leading = byte;
    } else {
      out.Error();
    }
  }
}

// "shared UTF-16 decoder".
void DecodeUtf16(bool is_utf16be, ByteQueue& in, Utf8Output& out) {
  std::optional<int> leading_byte;
  std::optional<uint32_t> leading_surrogate;
  for (;;) {
    const int byte = in.Read();
    if (byte == kEndOfQueue) {
      if (leading_byte || leading_surrogate) out.Error();
      return;
    }
    if (!leading_byte) {
      leading_byte = byte;
      continue;
    }
    const auto code_unit = static_cast<uint32_t>(is_utf16be ? (*leading_byte << 8) + byte
                                                            : (byte << 8) + *leading_byte);
    leading_byte.reset();
    if (leading_surrogate) {
      const uint32_t leading = *leading_surrogate;
      leading_surrogate.reset();
      if (code_unit >= 0xDC00 && code_unit <= 0xDFFF) {
        out.Push(0x10000 + ((leading - 0xD800) << 10) + (code_unit - 0xDC00));
        continue;
      }
      in.Restore(2);  // the two bytes of code_unit, in stream order
      out.Error();
      continue;
    }
    if (code_unit >= 0xD800 && code_unit <= 0xDBFF) {
      leading_surrogate = code_unit;
      continue;
    }
    if (code_unit >= 0xDC00 && code_unit <= 0xDFFF) {
      out.Error();
      continue;
    }
    out.Push(code_unit);
  }
}

// "x-user-defined decoder".
void DecodeXUserDefined(ByteQueue& in, Utf8Output& out) {
  for (int byte = in.Read(); byte != kEndOfQueue; byte = in.Read()) {
    out.Push(IsAscii(byte) ? AsCodePoint(byte) : AsCodePoint(0xF780 + byte - 0x80));
  }
}

bool IsAsciiWhitespace(char c) {
  return c == '\t' || c == '\n' || c == '\f' || c == '\r' || c == ' ';
}

}  // namespace

std::optional<Encoding> EncodingForLabel(std::string_view label) {
  while (!label.empty() && IsAsciiWhitespace(label.front())) label.remove_prefix(1);
  while (!label.empty() && IsAsciiWhitespace(label.back())) label.remove_suffix(1);
  if (label.size() > data::kLongestLabel) return std::nullopt;
  char lower[data::kLongestLabel];
  for (size_t i = 0; i < label.size(); ++i) {
    const char c = label[i];
    lower[i] = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  }
  const std::string_view key(lower, label.size());
  const auto* it = std::lower_bound(
      std::begin(data::kLabels), std::end(data::kLabels), key,
      [](const data::LabelEntry& entry, std::string_view k) { return entry.label < k; });
  if (it == std::end(data::kLabels) || it->label != key) return std::nullopt;
  return it->encoding;
}

std::string_view EncodingName(Encoding e) {
  const auto i = static_cast<size_t>(e);
  CHECK(i < kEncodingCount);
  return data::kNames[i].name;
}

Decoded DecodeToUtf8(Encoding e, std::string_view bytes) {
  ByteQueue in(bytes);
  const bool drop_bom = e == Encoding::kUtf8 || e == Encoding::kUtf16Be || e == Encoding::kUtf16Le;
  Utf8Output out(drop_bom, bytes.size());
  if (const uint16_t* index = data::SingleByteIndex(e)) {
    DecodeSingleByte(index, in, out);
    return out.Take();
  }
  switch (e) {
    case Encoding::kUtf8:
      DecodeUtf8(in, out);
      break;
    case Encoding::kGbk:
    case Encoding::kGb18030:
      DecodeGb18030(in, out);
      break;
    case Encoding::kBig5:
      DecodeBig5(in, out);
      break;
    case Encoding::kEucJp:
      DecodeEucJp(in, out);
      break;
    case Encoding::kIso2022Jp:
      DecodeIso2022Jp(in, out);
      break;
    case Encoding::kShiftJis:
      DecodeShiftJis(in, out);
      break;
    case Encoding::kEucKr:
      DecodeEucKr(in, out);
      break;
    case Encoding::kReplacement:
      // "replacement decoder": one error for the first byte, then finished.
      if (!bytes.empty()) out.Error();
      break;
    case Encoding::kUtf16Be:
      DecodeUtf16(/*is_utf16be=*/true, in, out);
      break;
    case Encoding::kUtf16Le:
      DecodeUtf16(/*is_utf16be=*/false, in, out);
      break;
    case Encoding::kXUserDefined:
      DecodeXUserDefined(in, out);
      break;
    default:
      CHECK(false);  // every single-byte encoding has an index
  }
  return out.Take();
}

}  // namespace mime
