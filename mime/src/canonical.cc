// Canonicaliser, version 1: RFC 5322 bytes -> canonical form (docs/canonical-form.md), with
// GMime 3 doing all MIME parsing, transfer decoding, RFC 2047/2231 decoding and charset
// lookup. Also the entry points, which dispatch on the version (version 2 is canonical_v2.cc),
// and the part records of both versions. Version 1's output must never change.
#include "mime/canonical.h"

#include <gmime/gmime.h>
#include <iconv.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "canonical_common.h"
#include "canonical_v2.h"
#include "common/check.h"
#include "common/rfc6962.h"
#include "common/sha256.h"
#include "gmime_support.h"
#include "text_normalise.h"

namespace mime {
namespace {

using internal::AppendRecord;
using internal::CollapseWhitespace;
using internal::FormatOptionsPtr;
using internal::GCharPtr;
using internal::GPtr;
using internal::MetadataField;
using internal::NormaliseTextLines;
using internal::ParserOptionsPtr;
using internal::StartsWithMboxFromLine;
using internal::ToUtf8;
using internal::Warnings;

// Larger inputs are not given to GMime (its buffers use 32-bit lengths); they are still
// hashed, as an "unparsed" record.
constexpr size_t kMaxParseBytes = size_t{1} << 30;
constexpr size_t kReadChunk = 64 * 1024;
// Legitimate mail stays far below these; beyond them a warning flags the structure.
constexpr size_t kSuspiciousDepth = 100;
constexpr size_t kSuspiciousParts = 10000;

const char* ParserWarningText(GMimeParserWarning code) {
  switch (code) {
    case GMIME_WARN_DUPLICATED_HEADER:
      return "parser: duplicated header";
    case GMIME_WARN_DUPLICATED_PARAMETER:
      return "parser: duplicated header parameter";
    case GMIME_WARN_UNENCODED_8BIT_HEADER:
      return "parser: unencoded 8-bit bytes in a header";
    case GMIME_WARN_INVALID_CONTENT_TYPE:
      return "parser: invalid content type, assumed application/octet-stream";
    case GMIME_WARN_INVALID_RFC2047_HEADER_VALUE:
      return "parser: invalid RFC 2047 encoded header value";
    case GMIME_WARN_INVALID_PARAMETER:
      return "parser: invalid header parameter";
    case GMIME_WARN_MALFORMED_MULTIPART:
      return "parser: multipart without child parts";
    case GMIME_WARN_TRUNCATED_MESSAGE:
      return "parser: message truncated (missing closing boundary)";
    case GMIME_WARN_MALFORMED_MESSAGE:
      return "parser: malformed message";
    case GMIME_WARN_INVALID_ADDRESS_LIST:
      return "parser: invalid address list";
    case GMIME_CRIT_INVALID_HEADER_NAME:
      return "parser: invalid header name";
    case GMIME_CRIT_CONFLICTING_HEADER:
      return "parser: conflicting header";
    case GMIME_CRIT_CONFLICTING_PARAMETER:
      return "parser: conflicting header parameter";
    case GMIME_CRIT_MULTIPART_WITHOUT_BOUNDARY:
      return "parser: multipart without boundary parameter";
    case GMIME_CRIT_NESTING_OVERFLOW:
      return "parser: MIME nesting too deep, deeper parts kept as content";
    case GMIME_WARN_PART_WITHOUT_CONTENT:
      return "parser: part headers ended by a boundary";
    case GMIME_CRIT_PART_WITHOUT_HEADERS_OR_CONTENT:
      return "parser: part without headers or content";
  }
  return "parser: unclassified problem";
}

void OnParserWarning(gint64 /*offset*/, GMimeParserWarning code, const gchar* /*item*/,
                     gpointer user_data) {
  static_cast<Warnings*>(user_data)->Add(ParserWarningText(code));
}

// Bare LF -> CRLF, into a GByteArray the parser's stream will own. Copies in runs between
// bare LFs, so CRLF input is one append.
GByteArray* ToCrlf(std::string_view in) {
  GByteArray* out = g_byte_array_sized_new(static_cast<guint>(in.size() + in.size() / 32 + 2));
  const auto* p = reinterpret_cast<const guint8*>(in.data());
  const size_t n = in.size();
  size_t run = 0;  // start of the bytes not yet copied
  size_t i = 0;
  while (i < n) {
    const void* hit = std::memchr(p + i, '\n', n - i);
    if (hit == nullptr) break;
    const size_t j = static_cast<size_t>(static_cast<const guint8*>(hit) - p);
    if (j == 0 || p[j - 1] != '\r') {
      g_byte_array_append(out, p + run, static_cast<guint>(j - run));
      g_byte_array_append(out, reinterpret_cast<const guint8*>("\r\n"), 2);
      run = j + 1;
    }
    i = j + 1;
  }
  g_byte_array_append(out, p + run, static_cast<guint>(n - run));
  return out;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(g_ascii_tolower(c));
  return out;
}

std::string Safe(const char* s) { return s == nullptr ? std::string() : std::string(s); }

// Unfold, RFC 2047-decode to UTF-8, collapse whitespace runs to one space, trim.
std::string NormaliseHeaderValue(GMimeParserOptions* options, const char* raw) {
  if (raw == nullptr) return {};
  GCharPtr unfolded{g_mime_utils_header_unfold(raw)};
  const char* src = unfolded ? unfolded.get() : raw;
  GCharPtr decoded{g_mime_utils_header_decode_text(options, src)};
  return CollapseWhitespace(decoded ? decoded.get() : src);
}

// Decodes the part's transfer encoding with GMime's decoder, feeding `sink` in chunks.
template <class Sink>
void DecodeContent(GMimeDataWrapper* wrapper, Sink&& sink) {
  if (wrapper == nullptr) return;
  GMimeStream* stream = g_mime_data_wrapper_get_stream(wrapper);  // transfer none
  if (stream == nullptr) return;
  const GMimeContentEncoding enc = g_mime_data_wrapper_get_encoding(wrapper);
  const bool decode = enc == GMIME_CONTENT_ENCODING_BASE64 ||
                      enc == GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE ||
                      enc == GMIME_CONTENT_ENCODING_UUENCODE;
  GMimeEncoding state;
  std::vector<char> in(kReadChunk);
  std::vector<char> out;
  if (decode) {
    g_mime_encoding_init_decode(&state, enc);
    out.resize(g_mime_encoding_outlen(&state, kReadChunk) + 16);
  }
  if (g_mime_stream_reset(stream) == -1) return;
  while (true) {
    const ssize_t n = g_mime_stream_read(stream, in.data(), in.size());
    if (n <= 0) break;
    if (decode) {
      const size_t m = g_mime_encoding_step(&state, in.data(), static_cast<size_t>(n), out.data());
      sink(out.data(), m);
    } else {
      sink(in.data(), static_cast<size_t>(n));
    }
  }
  if (decode) {
    const size_t m = g_mime_encoding_flush(&state, in.data(), 0, out.data());
    sink(out.data(), m);
  }
}

struct Builder {
  GMimeParserOptions* options = nullptr;
  Warnings* warnings = nullptr;
  Canonical* result = nullptr;
  std::string body_records;
  const std::string* capture_position = nullptr;  // ExtractPart: the part to keep
  std::string* captured = nullptr;

  void AddMultipart(GMimeObject* obj, const std::string& position) {
    GCharPtr type{g_mime_content_type_get_mime_type(g_mime_object_get_content_type(obj))};
    Multipart mp{position, Lower(Safe(type.get()))};
    AppendRecord(body_records, "multipart", {mp.position, mp.content_type});
    result->multiparts.push_back(std::move(mp));
  }

  void AddLeaf(GMimeObject* obj, const std::string& position) {
    Part part;
    part.position = position;
    GMimeContentType* ct = g_mime_object_get_content_type(obj);  // transfer none
    if (ct != nullptr) {
      GCharPtr type{g_mime_content_type_get_mime_type(ct)};
      part.content_type = Lower(Safe(type.get()));
    }
    if (part.content_type.empty()) part.content_type = "application/octet-stream";
    part.charset =
        Lower(CollapseWhitespace(Safe(g_mime_object_get_content_type_parameter(obj, "charset"))));
    std::string disposition = Lower(CollapseWhitespace(Safe(g_mime_object_get_disposition(obj))));
    if (!disposition.empty() && disposition != "inline" && disposition != "attachment") {
      // RFC 2183 §2.8: an unrecognised disposition is treated as "attachment".
      warnings->Add("unrecognised Content-Disposition treated as attachment");
      disposition = "attachment";
    }
    part.disposition = std::move(disposition);

    common::Sha256 hasher;
    uint64_t size = 0;
    std::string text;  // decoded bytes, kept only for inline text parts
    const bool inline_text = part.content_type.starts_with("text/");
    const bool capture = capture_position != nullptr && *capture_position == position;
    if (capture) captured->clear();
    auto sink = [&](const char* data, size_t len) {
      hasher.Update(std::string_view(data, len));
      size += len;
      if (collect_text_) text.append(data, len);
      if (capture) captured->append(data, len);
    };

    if (GMIME_IS_PART(obj)) {
      part.filename = Safe(g_mime_part_get_filename(GMIME_PART(obj)));
      collect_text_ = inline_text && part.filename.empty() && part.disposition != "attachment";
      DecodeContent(g_mime_part_get_content(GMIME_PART(obj)), sink);
    } else {
      // message/rfc822 and similar: the embedded message, written back by GMime with CRLF.
      const char* name = g_mime_object_get_content_disposition_parameter(obj, "filename");
      if (name == nullptr) name = g_mime_object_get_content_type_parameter(obj, "name");
      part.filename = Safe(name);
      collect_text_ = false;
      if (GMIME_IS_MESSAGE_PART(obj)) {
        GMimeMessage* inner = g_mime_message_part_get_message(GMIME_MESSAGE_PART(obj));
        if (inner != nullptr) {
          FormatOptionsPtr fmt{g_mime_format_options_new()};
          g_mime_format_options_set_newline_format(fmt.get(), GMIME_NEWLINE_FORMAT_DOS);
          GPtr<GMimeStream> mem{g_mime_stream_mem_new()};
          g_mime_object_write_to_stream(GMIME_OBJECT(inner), fmt.get(), mem.get());
          GByteArray* bytes = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem.get()));
          if (bytes != nullptr) sink(reinterpret_cast<const char*>(bytes->data), bytes->len);
        }
      }
    }
    part.size = size;
    part.sha256 = hasher.Finish();

    std::string mode = "bytes";
    std::string mode_charset;
    if (collect_text_) {
      part.normalised_text = true;
      std::string utf8;
      if (ToUtf8(text, part.charset, &utf8)) {
        mode = "text";
        part.content_sha256 = common::Sha256Of(NormaliseTextLines(utf8));
      } else {
        warnings->Add(
            "text part not convertible to UTF-8 (unknown charset or invalid bytes); "
            "hashed as raw text");
        mode = "text-raw";
        mode_charset = part.charset;
        part.content_sha256 = common::Sha256Of(NormaliseTextLines(text));
      }
    } else {
      part.content_sha256 = part.sha256;
    }
    const std::string digest = common::ToHex(part.content_sha256);
    AppendRecord(body_records, "part",
                 {part.position, part.content_type, part.disposition, part.filename, mode,
                  mode_charset, digest});
    if (!part.filename.empty()) result->metadata.attachment_names.push_back(part.filename);
    result->parts.push_back(std::move(part));
  }

  // Depth-first pre-order walk with an explicit stack (no recursion on input depth).
  void Walk(GMimeObject* root) {
    struct Frame {
      GMimeObject* obj;
      std::string position;
      size_t depth;
    };
    std::vector<Frame> stack;
    stack.push_back({root, GMIME_IS_MULTIPART(root) ? std::string() : std::string("1"), 0});
    bool deep_warned = false;
    while (!stack.empty()) {
      Frame frame = std::move(stack.back());
      stack.pop_back();
      if (frame.depth > kSuspiciousDepth && !deep_warned) {
        warnings->Add("MIME nesting deeper than 100 levels");
        deep_warned = true;
      }
      if (GMIME_IS_MULTIPART(frame.obj)) {
        AddMultipart(frame.obj, frame.position);
        GMimeMultipart* mp = GMIME_MULTIPART(frame.obj);
        const int count = g_mime_multipart_get_count(mp);
        for (int i = count - 1; i >= 0; --i) {
          GMimeObject* child = g_mime_multipart_get_part(mp, i);
          if (child == nullptr) continue;
          std::string pos = frame.position.empty() ? std::string() : frame.position + ".";
          pos += std::to_string(i + 1);
          stack.push_back({child, std::move(pos), frame.depth + 1});
        }
      } else {
        AddLeaf(frame.obj, frame.position);
      }
    }
    if (result->parts.size() > kSuspiciousParts) warnings->Add("more than 10000 MIME parts");
  }

 private:
  bool collect_text_ = false;
};

// Every header field of the message, for the metadata's address lists.
std::vector<MetadataField> MetadataFields(GMimeHeaderList* list) {
  std::vector<MetadataField> out;
  const int n = g_mime_header_list_get_count(list);
  out.reserve(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) {
    GMimeHeader* h = g_mime_header_list_get_header_at(list, i);
    out.push_back({Lower(Safe(g_mime_header_get_name(h))), g_mime_header_get_raw_value(h)});
  }
  return out;
}

void Finish(Canonical* out, const std::string& body_records, Warnings* warnings) {
  std::string form = "notary-canonical 1\n";
  for (const auto& h : out->headers) AppendRecord(form, "header", {h.name, h.value});
  form += body_records;
  out->canonical = std::move(form);
  out->canonical_sha256 = common::Sha256Of(out->canonical);
  out->parts_root = PartsRoot(out->parts);
  out->warnings = warnings->Render();
}

}  // namespace

const std::vector<std::string>& CanonicalHeaderNames() {
  // Only what a reader sees. Trace, transport, filter and signature headers (Received,
  // Return-Path, Delivered-To, X-*, Authentication-Results, ARC-*, DKIM-Signature, ...)
  // are outside by construction; Bcc exists only in the sender's copy.
  static const std::vector<std::string> kNames = {
      "from", "sender", "reply-to", "to", "cc", "subject", "date", "message-id", "in-reply-to"};
  return kNames;
}

std::string EncodePartRecord(const Part& part, uint32_t version) {
  CHECK(IsSupportedCanonVersion(version));
  std::string out;
  common::AppendU32(out, version);
  // Version 2 (docs/canonical-form.md §V2.9): the per-part salt hides withheld parts.
  if (version >= 2) common::AppendBytes(out, part.salt);
  common::AppendLengthPrefixed(out, part.position);
  common::AppendLengthPrefixed(out, part.content_type);
  common::AppendLengthPrefixed(out, part.charset);
  common::AppendLengthPrefixed(out, part.disposition);
  common::AppendLengthPrefixed(out, part.filename);
  common::AppendU64(out, part.size);
  common::AppendBytes(out, part.sha256);
  return out;
}

common::Hash PartsRoot(const std::vector<Part>& parts, uint32_t version) {
  CHECK(IsSupportedCanonVersion(version));
  std::vector<common::Hash> leaves;
  leaves.reserve(parts.size());
  for (const Part& p : parts) leaves.push_back(common::HashLeaf(EncodePartRecord(p, version)));
  return common::MerkleRoot(leaves);
}

namespace {
Canonical CanonicalizeImpl(std::string_view raw, const std::string* capture_position,
                           std::string* captured);
}  // namespace

Canonical Canonicalize(std::string_view raw, uint32_t version) {
  CHECK(IsSupportedCanonVersion(version));
  if (version == 2) return internal::CanonicalizeV2(raw);
  return CanonicalizeImpl(raw, nullptr, nullptr);
}

std::optional<std::string> ExtractPart(std::string_view raw, const std::string& position,
                                       uint32_t version) {
  CHECK(IsSupportedCanonVersion(version));
  if (version == 2) return internal::ExtractPartV2(raw, position);
  std::string bytes;
  Canonical c = CanonicalizeImpl(raw, &position, &bytes);
  for (const Part& p : c.parts) {
    if (p.position == position) return bytes;
  }
  return std::nullopt;
}

namespace {
Canonical CanonicalizeImpl(std::string_view raw, const std::string* capture_position,
                           std::string* captured) {
  internal::EnsureGMimeInitialized();
  Canonical out;
  Warnings warnings;
  std::string body_records;

  if (StartsWithMboxFromLine(raw)) {
    const size_t nl = raw.find('\n');
    raw = nl == std::string_view::npos ? std::string_view() : raw.substr(nl + 1);
  }
  if (raw.empty()) {
    warnings.Add("message is empty");
    Finish(&out, body_records, &warnings);
    return out;
  }
  if (raw.size() > kMaxParseBytes) {
    warnings.Add("message too large to parse; canonical form covers the raw bytes");
    AppendRecord(body_records, "unparsed", {common::ToHex(common::Sha256Of(raw))});
    Finish(&out, body_records, &warnings);
    return out;
  }

  ParserOptionsPtr options{g_mime_parser_options_new()};
  g_mime_parser_options_set_warning_callback(options.get(), OnParserWarning, &warnings);
  // Undeclared 8-bit header text: UTF-8 if valid, else ISO-8859-1 (never fails, so every
  // byte still reaches the form). Fixed here so the result never depends on the locale.
  const char* fallback[] = {"utf-8", "iso-8859-1", nullptr};
  g_mime_parser_options_set_fallback_charsets(options.get(), fallback);

  GByteArray* bytes = ToCrlf(raw);
  GPtr<GMimeStream> stream{g_mime_stream_mem_new_with_byte_array(bytes)};  // owns bytes
  GPtr<GMimeParser> parser{g_mime_parser_new_with_stream(stream.get())};
  g_mime_parser_set_format(parser.get(), GMIME_FORMAT_MESSAGE);
  GPtr<GMimeMessage> message{g_mime_parser_construct_message(parser.get(), options.get())};
  if (!message) {
    warnings.Add("message could not be parsed; canonical form covers the raw bytes");
    GByteArray* crlf = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(stream.get()));
    const std::string_view all(reinterpret_cast<const char*>(crlf->data), crlf->len);
    AppendRecord(body_records, "unparsed", {common::ToHex(common::Sha256Of(all))});
    Finish(&out, body_records, &warnings);
    return out;
  }

  GMimeHeaderList* list = g_mime_object_get_header_list(GMIME_OBJECT(message.get()));
  const int count = list == nullptr ? 0 : g_mime_header_list_get_count(list);
  for (const std::string& name : CanonicalHeaderNames()) {
    for (int i = 0; i < count; ++i) {
      GMimeHeader* h = g_mime_header_list_get_header_at(list, i);  // transfer none
      const char* hname = g_mime_header_get_name(h);
      if (hname == nullptr || g_ascii_strcasecmp(hname, name.c_str()) != 0) continue;
      out.headers.push_back(
          {name, NormaliseHeaderValue(options.get(), g_mime_header_get_raw_value(h))});
    }
  }
  if (list != nullptr) {
    internal::FillMetadata(options.get(), MetadataFields(list), &out, &warnings);
  }

  Builder builder;
  builder.options = options.get();
  builder.warnings = &warnings;
  builder.result = &out;
  builder.capture_position = capture_position;
  builder.captured = captured;
  GMimeObject* root = g_mime_message_get_mime_part(message.get());  // transfer none
  if (root == nullptr) {
    warnings.Add("message has no body");
  } else {
    builder.Walk(root);
  }
  Finish(&out, builder.body_records, &warnings);
  return out;
}

}  // namespace

}  // namespace mime
