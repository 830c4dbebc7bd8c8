// Canonical form version 2: the record syntax of version 1 over a MIME walk whose every rule
// is stated in docs/canonical-form.md ("Version 2", §V2.1-§V2.10), with our own parser
// (mime_parser.h), RFC 2047 (rfc2047.h) and RFC 2231 (rfc2231.h) readers, transfer decoders
// (transfer_decode.h) and the WHATWG Encoding Standard's decoders (whatwg_encoding.h).
#include "canonical_v2.h"

#include <cstring>
#include <utility>
#include <vector>

#include "canonical_common.h"
#include "common/ascii.h"
#include "common/bytes.h"
#include "common/sha256.h"
#include "gmime_support.h"
#include "mime_parser.h"
#include "rfc2047.h"
#include "rfc2231.h"
#include "text_normalise.h"
#include "transfer_decode.h"
#include "whatwg_encoding.h"

namespace mime::internal {
namespace {

// §V2.1: larger prepared inputs are hashed as one "unparsed" record.
constexpr size_t kMaxPreparedBytes = size_t{1} << 30;

// The size of the bytes after the LF -> CRLF step (§V2.1 step 3).
size_t PreparedSize(std::string_view raw) {
  size_t size = raw.size();
  for (size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] == '\n' && (i == 0 || raw[i - 1] != '\r')) ++size;
  }
  return size;
}

// Calls f(piece) with the prepared bytes in order: runs of `raw` and "\r\n" for bare LFs.
template <class F>
void ForEachPreparedPiece(std::string_view raw, F&& f) {
  size_t run = 0;
  size_t i = 0;
  while (i < raw.size()) {
    const void* hit = std::memchr(raw.data() + i, '\n', raw.size() - i);
    if (hit == nullptr) break;
    const size_t j = static_cast<size_t>(static_cast<const char*>(hit) - raw.data());
    if (j == 0 || raw[j - 1] != '\r') {
      f(raw.substr(run, j - run));
      f(std::string_view("\r\n"));
      run = j + 1;
    }
    i = j + 1;
  }
  f(raw.substr(run));
}

// Steps 1-4 of §V2.1. `prepared` is filled unless the input is empty or too large.
enum class Input { kEmpty, kTooLarge, kReady };
Input Prepare(std::string_view raw, std::string* prepared, common::Hash* too_large_hash) {
  if (StartsWithMboxFromLine(raw)) {
    const size_t nl = raw.find('\n');
    raw = nl == std::string_view::npos ? std::string_view() : raw.substr(nl + 1);
  }
  if (raw.empty()) return Input::kEmpty;
  const size_t size = PreparedSize(raw);
  if (size > kMaxPreparedBytes) {
    common::Sha256 hasher;
    ForEachPreparedPiece(raw, [&](std::string_view piece) { hasher.Update(piece); });
    *too_large_hash = hasher.Finish();
    return Input::kTooLarge;
  }
  prepared->reserve(size);
  ForEachPreparedPiece(raw, [&](std::string_view piece) { prepared->append(piece); });
  return Input::kReady;
}

bool IsLabelWhitespace(char c) {
  return c == '\t' || c == '\n' || c == '\f' || c == '\r' || c == ' ';
}

// §V2.7: the recorded charset: the parameter without leading and trailing ASCII whitespace,
// in ASCII lower case.
std::string RecordedCharset(std::string_view value) {
  while (!value.empty() && IsLabelWhitespace(value.front())) value.remove_prefix(1);
  while (!value.empty() && IsLabelWhitespace(value.back())) value.remove_suffix(1);
  return AsciiLower(value);
}

struct Stats {
  HeaderStats header;
  ParameterStats params;
  Rfc2047Stats rfc2047;
  TransferStats transfer;
};

// The leaf's decoded bytes (§V2.6) to `sink`.
void DecodeLeaf(const MimeNode& node, std::string_view prepared, Stats* stats, Warnings* warnings,
                const ByteSink& sink) {
  const std::string mechanism = ParseTransferEncoding(node.transfer_encoding);
  if (!mechanism.empty() && mechanism != "7bit" && mechanism != "8bit" && mechanism != "binary" &&
      mechanism != "base64" && mechanism != "quoted-printable") {
    warnings->Add("Content-Transfer-Encoding not decoded (unknown or x-uuencode)");
  }
  const std::string_view body = prepared.substr(node.body_begin, node.body_end - node.body_begin);
  TransferDecode(TransferEncodingFor(mechanism), body, &stats->transfer, sink);
}

class BuilderV2 {
 public:
  BuilderV2(std::string_view prepared, Canonical* out, Stats* stats, Warnings* warnings)
      : prepared_(prepared), out_(out), stats_(stats), warnings_(warnings) {}

  void AddMultipart(const MimeNode& node) {
    Multipart mp{node.position, node.type + "/" + node.subtype};
    AppendRecord(body_, "multipart", {mp.position, mp.content_type});
    out_->multiparts.push_back(std::move(mp));
  }

  void AddLeaf(const MimeNode& node) {
    Part part;
    part.position = node.position;
    part.content_type = node.type + "/" + node.subtype;
    const std::optional<std::string> charset =
        GetParameter(node.params, "charset", nullptr, &stats_->params);
    if (charset) part.charset = RecordedCharset(*charset);

    // §V2.8: disposition and filename.
    std::vector<Parameter> disposition_params;
    if (node.has_disposition) {
      ContentDisposition cd = ParseContentDisposition(node.disposition, &stats_->params);
      if (cd.kind == ContentDisposition::Kind::kValid &&
          (cd.type == "inline" || cd.type == "attachment")) {
        part.disposition = cd.type;
      } else if (cd.kind != ContentDisposition::Kind::kEmpty) {
        // RFC 2183 §2.8: an unrecognised disposition is treated as "attachment".
        warnings_->Add("unrecognised Content-Disposition treated as attachment");
        part.disposition = "attachment";
      }
      disposition_params = std::move(cd.params);
    }
    std::optional<std::string> filename =
        GetParameter(disposition_params, "filename", &stats_->rfc2047, &stats_->params);
    if (!filename || filename->empty()) {
      filename = GetParameter(node.params, "name", &stats_->rfc2047, &stats_->params);
    }
    if (filename) part.filename = std::move(*filename);

    // §V2.7: text mode.
    const bool text_mode =
        node.type == "text" && part.filename.empty() && part.disposition != "attachment";
    common::Sha256 hasher;
    uint64_t size = 0;
    std::string text;
    DecodeLeaf(node, prepared_, stats_, warnings_, [&](std::string_view piece) {
      hasher.Update(piece);
      size += piece.size();
      if (text_mode) text += piece;
    });
    part.size = size;
    part.sha256 = hasher.Finish();

    std::string mode = "bytes";
    std::string mode_charset;
    if (text_mode) {
      part.normalised_text = true;
      std::optional<std::string> utf8 =
          TextToUtf8(text, charset.has_value() && !part.charset.empty(), part.charset);
      if (utf8) {
        mode = "text";
        part.content_sha256 = common::Sha256Of(NormaliseTextLines(*utf8));
      } else {
        mode = "text-raw";
        mode_charset = part.charset;
        part.content_sha256 = common::Sha256Of(NormaliseTextLines(text));
      }
    } else {
      part.content_sha256 = part.sha256;
    }
    AppendRecord(body_, "part",
                 {part.position, part.content_type, part.disposition, part.filename, mode,
                  mode_charset, common::ToHex(part.content_sha256)});
    if (!part.filename.empty()) out_->metadata.attachment_names.push_back(part.filename);
    out_->parts.push_back(std::move(part));
  }

  std::string TakeBody() { return std::move(body_); }

 private:
  // §V2.7: the text of a text-mode part, or nullopt for text-raw.
  std::optional<std::string> TextToUtf8(const std::string& bytes, bool declared,
                                        const std::string& charset) {
    if (!declared) {
      Decoded d = DecodeToUtf8(Encoding::kUtf8, bytes);
      if (d.errors == 0) return std::move(d.utf8);
      warnings_->Add("text part without charset is not UTF-8, read as windows-1252");
      return DecodeToUtf8(Encoding::kWindows1252, bytes).utf8;
    }
    const std::optional<Encoding> encoding = EncodingForLabel(charset);
    if (!encoding) {
      warnings_->Add("text part with an unknown charset, hashed as raw text");
      return std::nullopt;
    }
    if (*encoding == Encoding::kReplacement) {
      warnings_->Add("text part with a charset of the replacement encoding, hashed as raw text");
      return std::nullopt;
    }
    Decoded d = DecodeToUtf8(*encoding, bytes);
    warnings_->Add("text part with bytes malformed for its charset (U+FFFD)", d.errors);
    return std::move(d.utf8);
  }

  std::string_view prepared_;
  Canonical* out_;
  Stats* stats_;
  Warnings* warnings_;
  std::string body_;
};

void AddStatsWarnings(const Stats& s, Warnings* w) {
  w->Add("unencoded 8-bit bytes in a header, read as UTF-8", s.header.eight_bit_utf8);
  w->Add("unencoded 8-bit bytes in a header, not UTF-8, read as windows-1252",
         s.header.windows_1252);
  w->Add("encoded word with an unknown charset left as written", s.rfc2047.unknown_charset);
  w->Add("encoded word with a charset of the replacement encoding left as written",
         s.rfc2047.replacement_charset);
  w->Add("encoded word with invalid base64 left as written", s.rfc2047.invalid_base64);
  w->Add("encoded word with bytes malformed for its charset (U+FFFD)", s.rfc2047.malformed_bytes);
  w->Add("invalid header parameter ignored", s.params.invalid);
  w->Add("duplicated header parameter, the first kept", s.params.duplicate);
  w->Add("RFC 2231 value with bytes malformed for its charset (U+FFFD)", s.params.malformed);
  w->Add("RFC 2231 value with an unknown or replacement charset, read as UTF-8 or windows-1252",
         s.params.bad_charset);
  w->Add("base64 content with bytes outside the alphabet (skipped)", s.transfer.base64_skipped);
  w->Add("base64 content ending in a lone character (dropped)", s.transfer.base64_leftover);
  w->Add("quoted-printable content with invalid = sequences (kept as written)",
         s.transfer.qp_invalid);
}

void Finish(Canonical* out, const std::string& body_records, Warnings* warnings) {
  std::string form = "notary-canonical 2\n";
  for (const auto& h : out->headers) AppendRecord(form, "header", {h.name, h.value});
  form += body_records;
  out->canonical = std::move(form);
  out->canonical_sha256 = common::Sha256Of(out->canonical);
  out->parts_root = {};  // depends on the salts: PartsRoot(parts, 2) once they are drawn
  out->warnings = warnings->Render();
}

std::string UnparsedRecord(const common::Hash& digest) {
  std::string out;
  AppendRecord(out, "unparsed", {common::ToHex(digest)});
  return out;
}

}  // namespace

Canonical CanonicalizeV2(std::string_view raw) {
  Canonical out;
  out.canon_version = 2;
  Warnings warnings;
  std::string prepared;
  common::Hash too_large_hash{};
  switch (Prepare(raw, &prepared, &too_large_hash)) {
    case Input::kEmpty:
      warnings.Add("message is empty");
      Finish(&out, {}, &warnings);
      return out;
    case Input::kTooLarge:
      warnings.Add("message too large to parse; canonical form covers the raw bytes");
      Finish(&out, UnparsedRecord(too_large_hash), &warnings);
      return out;
    case Input::kReady:
      break;
  }

  Stats stats;
  const MimeTree tree = ParseMime(prepared, &stats.params, &stats.header, &warnings);

  // §V2.2: the allow-listed headers, in allow-list order, then message order.
  for (const std::string& name : CanonicalHeaderNames()) {
    for (const HeaderField& f : tree.headers) {
      if (!common::EqualsIgnoreAsciiCase(f.name, name)) continue;
      out.headers.push_back(
          {name, CollapseWhitespace(DecodeEncodedWords(f.value, &stats.rfc2047))});
    }
  }
  // §V2.11: metadata (not hashed) through GMime's address and date parsers.
  EnsureGMimeInitialized();
  ParserOptionsPtr options{g_mime_parser_options_new()};
  std::vector<MetadataField> fields;
  fields.reserve(tree.headers.size());
  for (const HeaderField& f : tree.headers) fields.push_back({AsciiLower(f.name), f.value.c_str()});
  FillMetadata(options.get(), fields, &out, &warnings);

  std::string body;
  if (tree.too_many_parts) {
    // §V2.5: never more parts than a bundle reader accepts.
    warnings.Add("more than 10000 MIME parts; canonical form covers the raw bytes");
    out.headers.clear();
    body = UnparsedRecord(common::Sha256Of(prepared));
  } else {
    BuilderV2 builder(prepared, &out, &stats, &warnings);
    for (const MimeNode& node : tree.nodes) {
      if (node.multipart) {
        builder.AddMultipart(node);
      } else {
        builder.AddLeaf(node);
      }
    }
    body = builder.TakeBody();
  }
  AddStatsWarnings(stats, &warnings);
  Finish(&out, body, &warnings);
  return out;
}

std::optional<std::string> ExtractPartV2(std::string_view raw, const std::string& position) {
  std::string prepared;
  common::Hash ignored{};
  if (Prepare(raw, &prepared, &ignored) != Input::kReady) return std::nullopt;
  Warnings warnings;
  Stats stats;
  const MimeTree tree = ParseMime(prepared, &stats.params, &stats.header, &warnings);
  if (tree.too_many_parts) return std::nullopt;
  for (const MimeNode& node : tree.nodes) {
    if (node.multipart || node.position != position) continue;
    std::string bytes;
    DecodeLeaf(node, prepared, &stats, &warnings, [&](std::string_view piece) { bytes += piece; });
    return bytes;
  }
  return std::nullopt;
}

}  // namespace mime::internal
