// The bundle's file layout and evidence.json, both ways (docs/evidence-bundle.md).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <set>

#include "bundle_internal.h"
#include "common/rfc6962.h"
#include "common/sha256.h"
#include "common/time.h"
#include "evidence/bundle.h"
#include "log/action_record.h"
#include "log/block.h"
#include "log/checkpoint.h"
#include "mime/canonical.h"

namespace notary {

std::string_view CheckStatusName(CheckStatus status) {
  switch (status) {
    case CheckStatus::kPass:
      return "PASS";
    case CheckStatus::kFail:
      return "FAIL";
    case CheckStatus::kSkip:
      return "SKIP";
  }
  return "FAIL";
}

namespace bundle_internal {
namespace {

// ordered_json keeps the documented field order in evidence.json.
using json = nlohmann::ordered_json;

json HashArray(const std::vector<common::Hash>& hashes) {
  json a = json::array();
  for (const auto& h : hashes) a.push_back(common::ToHex(h));
  return a;
}

json BlockJson(const BundleBlock& block, uint64_t height) {
  json tokens = json::array();
  for (size_t i = 0; i < block.tokens.size(); ++i) {
    tokens.push_back({{"tsa", block.tokens[i].tsa},
                      {"file", TokenFileName(height, i)},
                      {"token_base64", common::Base64Encode(block.tokens[i].der)}});
  }
  return {{"height", height},
          {"header_hex", common::ToHex(common::AsBytes(block.header))},
          {"header_file", BlockHeaderFileName(height)},
          {"signature_hex", common::ToHex(common::AsBytes(block.signature))},
          {"signature_file", BlockSignatureFileName(height)},
          {"hash", common::ToHex(block.block_hash)},
          {"timestamps", tokens}};
}

json ProvenanceJson(const Provenance& p) {
  const bool journal = p.journal_report_sha256 != common::Hash{};
  return {
      {"source", p.source},
      {"listener", p.listener},
      {"node", p.node},
      {"client_name", p.client_name},
      {"auth_user", p.auth_user},
      {"queue_id", p.queue_id},
      {"asserted_by", p.asserted_by},
      {"journal_report_sha256", journal ? json(common::ToHex(p.journal_report_sha256)) : json()}};
}

// Reads evidence.json's fields and remembers the first problem, instead of throwing: after
// one, every read returns an empty value, loops see empty arrays, and the parse returns the
// problem at its end. A read never indexes a value of the wrong type.
class Reader {
 public:
  bool ok() const { return !error_; }
  common::Error error() const { return common::Error::InvalidInput(*error_); }

  void Bad(const std::string& field, const std::string& what) {
    if (!error_) error_ = "evidence.json: " + (field.empty() ? "" : field + ": ") + what;
  }

  const json& Field(const json& obj, const char* name, const std::string& path) {
    if (!ok()) return Null();
    if (!obj.is_object()) {
      Bad(path, "not an object");
      return Null();
    }
    auto it = obj.find(name);
    if (it == obj.end()) {
      Bad(path + "." + name, "missing");
      return Null();
    }
    return *it;
  }

  // The array at obj.name when it has at most `max` entries; else an empty one.
  const json& Array(const json& obj, const char* name, const std::string& path, size_t max,
                    const std::string& what) {
    const json& v = Field(obj, name, path);
    if (!ok()) return EmptyArray();
    if (!v.is_array() || v.size() > max) {
      Bad(path.empty() ? name : path + "." + name, what);
      return EmptyArray();
    }
    return v;
  }

  std::string Str(const json& obj, const char* name, const std::string& path) {
    const json& v = Field(obj, name, path);
    if (!ok()) return {};
    if (!v.is_string()) {
      Bad(path + "." + name, "not a string");
      return {};
    }
    return v.get<std::string>();
  }

  uint64_t U64(const json& obj, const char* name, const std::string& path) {
    const json& v = Field(obj, name, path);
    if (!ok()) return 0;
    if (!v.is_number_unsigned()) {
      Bad(path + "." + name, "not an unsigned integer");
      return 0;
    }
    return v.get<uint64_t>();
  }

  int64_t I64(const json& obj, const char* name, const std::string& path) {
    const json& v = Field(obj, name, path);
    if (!ok()) return 0;
    if (!v.is_number_integer()) {
      Bad(path + "." + name, "not an integer");
      return 0;
    }
    if (v.is_number_unsigned() && v.get<uint64_t>() > uint64_t(INT64_MAX)) {
      Bad(path + "." + name, "out of range");
      return 0;
    }
    return v.get<int64_t>();
  }

  bool Bool(const json& obj, const char* name, const std::string& path) {
    const json& v = Field(obj, name, path);
    if (!ok()) return false;
    if (!v.is_boolean()) {
      Bad(path + "." + name, "not a boolean");
      return false;
    }
    return v.get<bool>();
  }

  common::Hash HashField(const json& obj, const char* name, const std::string& path) {
    auto h = common::HashFromLowerHex(Str(obj, name, path));
    if (!ok()) return {};
    if (!h) {
      Bad(path + "." + name, "not 64 lower-case hex digits");
      return {};
    }
    return *h;
  }

  std::string HexField(const json& obj, const char* name, const std::string& path) {
    auto b = common::FromLowerHex(Str(obj, name, path));
    if (!ok()) return {};
    if (!b) {
      Bad(path + "." + name, "not lower-case hex");
      return {};
    }
    return *b;
  }

  // A reader must not pass over a field it does not know: a person reading evidence.json
  // would take it for part of the evidence (docs/evidence-bundle.md §3).
  void ExpectOnly(const json& obj, const std::string& path,
                  std::initializer_list<std::string_view> names) {
    if (!ok()) return;
    if (!obj.is_object()) return Bad(path, "not an object");
    for (const auto& [key, value] : obj.items()) {
      if (std::find(names.begin(), names.end(), key) == names.end()) {
        return Bad(path.empty() ? key : path + "." + key, "unknown field");
      }
    }
  }

  std::vector<common::Hash> HashList(const json& obj, const char* name, const std::string& path) {
    std::vector<common::Hash> out;
    for (const auto& e : Array(obj, name, path, 128, "not an array of at most 128")) {
      auto h = e.is_string() ? common::HashFromLowerHex(e.get<std::string>()) : std::nullopt;
      if (!h) {
        Bad(path + "." + name, "an entry is not 64 lower-case hex digits");
        return {};
      }
      out.push_back(*h);
    }
    return out;
  }

  void ExpectFile(const json& obj, const char* name, const std::string& path,
                  const std::string& expected) {
    const std::string got = Str(obj, name, path);
    if (ok() && got != expected) Bad(path + "." + name, "must be \"" + expected + "\"");
  }

 private:
  static const json& Null() {
    static const json kNull;
    return kNull;
  }
  static const json& EmptyArray() {
    static const json kEmpty = json::array();
    return kEmpty;
  }
  std::optional<std::string> error_;
};

// Parses evidence.json refusing duplicate keys (which of two values counts depends on the
// reader, and a person reads the first) and nesting deeper than the format has. Without
// exceptions: a syntax error gives a discarded value, a callback problem goes to `r`.
json ParseStrict(std::string_view text, Reader& r) {
  constexpr int kMaxDepth = 8;
  std::vector<std::set<std::string>> keys;  // one set per object being parsed
  json::parser_callback_t check = [&keys, &r](int depth, json::parse_event_t event, json& parsed) {
    if (depth > kMaxDepth) {
      r.Bad("", "nested deeper than the format allows");
      return false;
    }
    switch (event) {
      case json::parse_event_t::object_start:
        keys.emplace_back();
        break;
      case json::parse_event_t::object_end:
        if (!keys.empty()) keys.pop_back();
        break;
      case json::parse_event_t::key:
        if (keys.empty() || !keys.back().insert(parsed.get<std::string>()).second) {
          r.Bad(parsed.get<std::string>(), "the key appears twice in one object");
        }
        break;
      default:
        break;
    }
    return true;
  };
  json doc = json::parse(text.begin(), text.end(), check, /*allow_exceptions=*/false);
  if (doc.is_discarded()) r.Bad("", "not valid JSON");
  return doc;
}

BundleBlock ParseBlock(const json& j, const std::string& path, Reader& r) {
  r.ExpectOnly(j, path,
               {"height", "header_hex", "header_file", "signature_hex", "signature_file", "hash",
                "timestamps"});
  BundleBlock b;
  uint64_t height = r.U64(j, "height", path);
  b.header = r.HexField(j, "header_hex", path);
  b.signature = r.HexField(j, "signature_hex", path);
  b.block_hash = r.HashField(j, "hash", path);
  if (!r.ok()) return b;
  auto decoded = HeaderHeight(b.header);
  if (!decoded.ok()) {
    r.Bad(path + ".header_hex", decoded.error().message());
    return b;
  }
  if (*decoded != height) r.Bad(path + ".height", "differs from the height in header_hex");
  r.ExpectFile(j, "header_file", path, BlockHeaderFileName(height));
  r.ExpectFile(j, "signature_file", path, BlockSignatureFileName(height));
  const json& ts = r.Array(j, "timestamps", path, 16, "not an array of at most 16");
  for (size_t i = 0; i < ts.size() && r.ok(); ++i) {
    std::string p = path + ".timestamps[" + std::to_string(i) + "]";
    r.ExpectOnly(ts[i], p, {"tsa", "file", "token_base64"});
    BundleToken t;
    t.tsa = r.Str(ts[i], "tsa", p);
    const std::string b64 = r.Str(ts[i], "token_base64", p);
    auto der = common::Base64Decode(b64);
    // One spelling per token: what decodes must encode back to the same text (RFC 4648 §3.5).
    if (!der || common::Base64Encode(*der) != b64) {
      r.Bad(p + ".token_base64", "not canonical base64");
      return b;
    }
    t.der = std::move(*der);
    r.ExpectFile(ts[i], "file", p, TokenFileName(height, i));
    b.tokens.push_back(std::move(t));
  }
  return b;
}

}  // namespace

bool IsValidPosition(std::string_view position) {
  if (position.empty() || position.size() > 64) return false;
  bool digit_before = false;
  for (char c : position) {
    if (c >= '0' && c <= '9') {
      digit_before = true;
    } else if (c == '.' && digit_before) {
      digit_before = false;
    } else {
      return false;
    }
  }
  return digit_before;
}

std::string PartFileName(std::string_view position) {
  return "part-" + std::string(position) + ".bin";
}
std::string BlockHeaderFileName(uint64_t height) {
  return "block/" + std::to_string(height) + ".header";
}
std::string BlockSignatureFileName(uint64_t height) {
  return "block/" + std::to_string(height) + ".sig";
}
std::string TokenFileName(uint64_t height, size_t index) {
  return "tokens/" + std::to_string(height) + "-" + std::to_string(index) + ".tsr";
}
bool IsValidKeyId(std::string_view key_id) {
  if (key_id.empty() || key_id.size() > 64) return false;
  for (char c : key_id) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}
std::string KeyFileName(std::string_view key_id) { return "keys/" + std::string(key_id) + ".pem"; }

common::Hash PartRecordLeafHash(const Part& part, uint32_t canon_version) {
  // An unknown version has no record format: the leaf is of nothing (parts.records fails).
  if (!mime::IsSupportedCanonVersion(canon_version)) return common::Hash{};
  return common::HashLeaf(mime::EncodePartRecord(part, canon_version));
}

common::Result<uint64_t> HeaderHeight(std::string_view header) {
  ASSIGN_OR_RETURN(auto h, BlockHeader::Decode(header));
  return h.height;
}

common::Status ValidateInput(const BundleInput& input) {
  if (input.format_version != kBundleFormatVersion) {
    return common::Error::InvalidInput("unsupported bundle format version");
  }
  if (input.erasure) {
    // What an erased message's bundle may not carry (docs/evidence-bundle.md §6a).
    if (input.disclosed_part || !input.message.empty() || !input.canonical_form.empty() ||
        !input.receipt.parts.empty() || input.journal_report || input.authentication ||
        input.receipt.envelope != Envelope{}) {
      return common::Error::InvalidInput(
          "an erased message's bundle has no message, parts, envelope, journal report or "
          "sender evidence");
    }
    auto record = ActionRecord::Decode(input.erasure->record);
    if (!record.ok() || record->action != ActionRecord::kErasure ||
        record->subject != input.receipt.id ||
        record->details_sha256 != common::Sha256Of(input.erasure->details)) {
      return common::Error::InvalidInput("the erasure record is not this receipt's erasure");
    }
    if (input.erasure->leaf_index > uint64_t(INT64_MAX)) {
      return common::Error::InvalidInput("erasure: leaf index out of range");
    }
  }
  if (!input.disclosed_part && !input.erasure &&
      common::Sha256Of(input.canonical_form) != input.receipt.canonical_sha256) {
    return common::Error::InvalidInput("the canonical form does not have the canonical hash");
  }
  if (input.disclosed_part && !input.canonical_form.empty()) {
    return common::Error::InvalidInput("no canonical form under selective disclosure");
  }
  if (input.lang != "en" && input.lang != "ko" && input.lang != "zh") {
    return common::Error::InvalidInput("lang must be en, ko or zh");
  }
  if (input.disclosed_part && !input.message.empty()) {
    // An empty message is a message (SMTP can deliver zero bytes, and it was notarised).
    return common::Error::InvalidInput("give exactly one of message and disclosed_part");
  }
  if (!input.disclosed_part && !input.erasure &&
      common::Sha256Of(input.message) != input.receipt.raw_sha256) {
    return common::Error::InvalidInput("the message bytes do not have the stated raw hash");
  }
  std::set<std::string> positions;
  for (const auto& p : input.receipt.parts) {
    if (!IsValidPosition(p.position) || !positions.insert(p.position).second) {
      return common::Error::InvalidInput("part positions must be distinct, digits and dots");
    }
    // Version 2 records are salted (a zero salt was never drawn); version 1 records are not,
    // and evidence.json could not carry a salt for them.
    if ((p.salt != common::Hash{}) != (input.receipt.canon_version >= 2)) {
      return common::Error::InvalidInput(
          "parts of canonical form version 2, and only they, have salts");
    }
  }
  if (input.receipt.parts.size() > mime::kMaxParts) {
    return common::Error::InvalidInput("more than " + std::to_string(mime::kMaxParts) +
                                       " parts: no reader would accept the bundle");
  }
  if (input.disclosed_part && !positions.contains(input.disclosed_part->position)) {
    return common::Error::InvalidInput("the disclosed part is not among the parts");
  }
  if (input.journal_report && input.disclosed_part) {
    // The report holds the whole original: it would disclose what selective disclosure hides.
    return common::Error::InvalidInput("a journal report cannot go with a disclosed part");
  }
  if (input.journal_report && input.journal_report->empty()) {
    return common::Error::InvalidInput("the journal report is empty");
  }
  auto h = HeaderHeight(input.block.header);
  if (!h.ok()) return common::Error::InvalidInput("block header: " + h.error().message());
  if (input.previous_block) {
    auto p = HeaderHeight(input.previous_block->header);
    if (!p.ok()) return common::Error::InvalidInput("previous block: " + p.error().message());
  }
  std::set<std::string> key_ids;
  for (const auto& k : input.keys) {
    if (!IsValidKeyId(k.key_id) || !key_ids.insert(k.key_id).second) {
      return common::Error::InvalidInput("key ids must be distinct lower-case hex");
    }
  }
  if (input.authentication) {
    auto summary = AuthenticationSummary(*input.authentication);
    if (!summary.ok()) {
      return common::Error::InvalidInput("authentication: " + summary.error().message());
    }
    if (input.authentication->leaf_index > uint64_t(INT64_MAX)) {
      return common::Error::InvalidInput("authentication: leaf index out of range");
    }
  }
  if (input.block.tokens.size() > 16 ||
      (input.previous_block && input.previous_block->tokens.size() > 16)) {
    return common::Error::InvalidInput("at most 16 tokens per block");
  }
  return common::Ok();
}

std::map<std::string, std::string> LooseFiles(const BundleInput& input) {
  std::map<std::string, std::string> files;
  if (input.erasure) {
    files[std::string(kErasureRecordFile)] = input.erasure->record;
    files[std::string(kErasureDetailsFile)] = input.erasure->details;
  } else if (input.disclosed_part) {
    files[PartFileName(input.disclosed_part->position)] = input.disclosed_part->bytes;
  } else {
    files[std::string(kMessageFile)] = input.message;
    if (input.format_version >= 2) files[std::string(kCanonicalFormFile)] = input.canonical_form;
  }
  if (input.journal_report) files[std::string(kJournalReportFile)] = *input.journal_report;
  files[std::string(kLeafRecordFile)] = input.leaf_record;
  if (input.authentication) {
    files[std::string(kAuthRecordFile)] = input.authentication->record;
    files[std::string(kAuthResultsFile)] = input.authentication->results;
    files[std::string(kAuthDnsArchiveFile)] = input.authentication->dns_archive;
  }
  auto add_block = [&](const BundleBlock& b) {
    uint64_t height = *HeaderHeight(b.header);
    files[BlockHeaderFileName(height)] = b.header;
    files[BlockSignatureFileName(height)] = b.signature;
    for (size_t i = 0; i < b.tokens.size(); ++i) files[TokenFileName(height, i)] = b.tokens[i].der;
  };
  add_block(input.block);
  if (input.previous_block) add_block(*input.previous_block);
  for (const auto& k : input.keys) files[KeyFileName(k.key_id)] = k.public_key_pem;
  files[std::string(kCheckpointFile)] = input.checkpoint;
  files[std::string(kTsaCaFile)] = input.tsa_ca_pem;
  if (!input.tsa_chain_pem.empty()) files[std::string(kTsaChainFile)] = input.tsa_chain_pem;
  return files;
}

}  // namespace bundle_internal

std::string EvidenceJson(const BundleInput& in) {
  using namespace bundle_internal;  // the file names and helpers above
  const Envelope& env = in.receipt.envelope;
  const bool whole = !in.disclosed_part && !in.erasure;  // message.eml is in the bundle
  json receipt = {{"id", in.receipt.id},
                  {"tenant", in.receipt.tenant},
                  {"received_at_us", in.receipt.received_at_us},
                  {"envelope", in.erasure ? json()
                                          : json{{"mail_from", env.mail_from},
                                                 {"recipients", env.recipients},
                                                 {"client_ip", env.client_ip},
                                                 {"client_port", env.client_port},
                                                 {"helo", env.helo},
                                                 {"tls_protocol", env.tls_protocol},
                                                 {"tls_cipher", env.tls_cipher}}},
                  {"provenance", ProvenanceJson(in.receipt.provenance)},
                  {"provenance_bound", in.receipt.provenance_bound()}};
  json message = {{"file", whole ? json(std::string(kMessageFile)) : json()},
                  {"raw_sha256", common::ToHex(in.receipt.raw_sha256)},
                  {"canonical_sha256", common::ToHex(in.receipt.canonical_sha256)},
                  {"canon_version", in.receipt.canon_version},
                  {"canonical_file", whole ? json(std::string(kCanonicalFormFile)) : json()},
                  {"disclosed_part", in.disclosed_part
                                         ? json{{"position", in.disclosed_part->position},
                                                {"file", PartFileName(in.disclosed_part->position)}}
                                         : json()}};
  json parts = json::array();
  for (const auto& p : in.receipt.parts) {
    std::string leaf = common::ToHex(PartRecordLeafHash(p, in.receipt.canon_version));
    if (in.disclosed_part && in.disclosed_part->position != p.position) {
      parts.push_back({{"position", p.position}, {"redacted", true}, {"record_leaf_hash", leaf}});
    } else {
      parts.push_back(
          {{"position", p.position},
           {"redacted", false},
           {"content_type", p.content_type},
           {"charset", p.charset},
           {"disposition", p.disposition},
           {"filename", p.filename},
           {"size", p.size},
           {"sha256", common::ToHex(p.sha256)},
           {"salt", in.receipt.canon_version >= 2 ? json(common::ToHex(p.salt)) : json()},
           {"record_leaf_hash", leaf}});
    }
  }
  json keys = json::array();
  for (const auto& k : in.keys) {
    keys.push_back({{"key_id", k.key_id},
                    {"algorithm", "ed25519"},
                    {"public_key_pem", k.public_key_pem},
                    {"fingerprint", k.fingerprint},
                    {"valid_from_us", k.valid_from_us},
                    {"valid_until_us", k.valid_until_us ? json(*k.valid_until_us) : json()},
                    {"file", KeyFileName(k.key_id)}});
  }
  uint64_t height = *HeaderHeight(in.block.header);
  uint64_t cp_size = 0;
  if (auto note = ParseNote(in.checkpoint); note.ok()) {
    if (auto cp = ParseCheckpoint(note->text); cp.ok()) cp_size = cp->size;
  }
  json doc = {
      {"format", std::string(kFormatName)},
      {"format_version", in.format_version},
      {"issued_to", in.issued_to},
      {"issued_at_us", in.issued_at_us},
      {"lang", in.lang},
      {"receipt", receipt},
      {"message", message},
      {"parts", parts},
      {"parts_root", common::ToHex(in.receipt.parts_root)},
      {"journal_report", !in.journal_report
                             ? json()
                             : json{{"file", std::string(kJournalReportFile)},
                                    {"sha256", common::ToHex(common::Sha256Of(*in.journal_report))},
                                    {"size", in.journal_report->size()}}},
      {"leaf",
       {{"record_hex", common::ToHex(common::AsBytes(in.leaf_record))},
        {"file", std::string(kLeafRecordFile)},
        {"index", in.leaf_index},
        {"hash", common::ToHex(in.leaf_hash)}}},
      {"batch_proof",
       {{"index", in.batch_index}, {"size", in.batch_size}, {"hashes", HashArray(in.batch_proof)}}},
      {"block", BlockJson(in.block, height)},
      {"previous_block",
       in.previous_block ? BlockJson(*in.previous_block, *HeaderHeight(in.previous_block->header))
                         : json()},
      {"checkpoint",
       {{"note", in.checkpoint},
        {"file", std::string(kCheckpointFile)},
        {"tree_size", cp_size},
        {"inclusion_proof", HashArray(in.checkpoint_proof)}}},
      {"keys", keys},
      {"tsa",
       {{"ca_pem", in.tsa_ca_pem},
        {"ca_file", std::string(kTsaCaFile)},
        {"chain_pem", in.tsa_chain_pem},
        {"chain_file", in.tsa_chain_pem.empty() ? json() : json(std::string(kTsaChainFile))}}},
  };
  // Only bundles with sender evidence have the member, so that verifiers from before it read
  // every other bundle as before.
  if (in.authentication) {
    const BundleAuthentication& a = *in.authentication;
    auto summary = AuthenticationSummary(a);  // ValidateInput checked that it renders
    doc["authentication"] = {
        {"record_hex", common::ToHex(common::AsBytes(a.record))},
        {"record_file", std::string(kAuthRecordFile)},
        {"leaf_index", a.leaf_index},
        {"leaf_hash", common::ToHex(common::HashLeaf(a.record))},
        {"inclusion_proof", HashArray(a.checkpoint_proof)},
        {"results_file", std::string(kAuthResultsFile)},
        {"results_sha256", common::ToHex(common::Sha256Of(a.results))},
        {"dns_archive_file", std::string(kAuthDnsArchiveFile)},
        {"dns_archive_sha256", common::ToHex(common::Sha256Of(a.dns_archive))},
        {"summary", summary.ok()
                        ? json::parse(summary->dump(-1, ' ', false, json::error_handler_t::replace))
                        : json()}};
  }
  // Only bundles of erased messages have the member (§6a): a verifier from before erasure
  // refuses them rather than read a bundle without its message as if it were whole.
  if (in.erasure) {
    const BundleErasure& e = *in.erasure;
    doc["erasure"] = {{"record_hex", common::ToHex(common::AsBytes(e.record))},
                      {"record_file", std::string(kErasureRecordFile)},
                      {"details", e.details},
                      {"details_file", std::string(kErasureDetailsFile)},
                      {"leaf_index", e.leaf_index},
                      {"leaf_hash", common::ToHex(common::HashLeaf(e.record))},
                      {"inclusion_proof", HashArray(e.checkpoint_proof)}};
  }
  // Absent means 1, so that the bundles issued before the field read as they were written.
  if (in.texts_version != 1) doc["texts_version"] = in.texts_version;
  // Strings that are not UTF-8 are replaced (U+FFFD) rather than thrown on; see the spec.
  return doc.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

common::Result<BundleInput> ParseEvidenceJson(std::string_view text) {
  using namespace bundle_internal;  // the file names and helpers above
  Reader r;
  {
    const json doc = ParseStrict(text, r);
    if (!r.ok()) return r.error();
    r.ExpectOnly(doc, "", {"format",     "format_version", "issued_to",  "issued_at_us",
                           "lang",       "receipt",        "message",    "parts",
                           "parts_root", "journal_report", "leaf",       "batch_proof",
                           "block",      "previous_block", "checkpoint", "keys",
                           "tsa",        "authentication", "erasure",    "texts_version"});
    BundleInput in;
    if (r.Str(doc, "format", "") != kFormatName) r.Bad("format", "not an evidence bundle");
    uint64_t version = r.U64(doc, "format_version", "");
    if (version != 1 && version != 2) r.Bad("format_version", "unsupported version");
    in.format_version = static_cast<uint32_t>(version);
    const bool v2 = version == 2;
    in.issued_to = r.Str(doc, "issued_to", "");
    in.issued_at_us = r.I64(doc, "issued_at_us", "");
    in.lang = r.Str(doc, "lang", "");
    // Optional: absent in the bundles issued before texts version 2 (§7), which is 1.
    in.texts_version = 1;
    if (r.ok() && doc.contains("texts_version")) {
      const uint64_t tv = r.U64(doc, "texts_version", "");
      if (r.ok() && (!v2 || tv != 2)) {
        r.Bad("texts_version", "must be 2, in a version 2 bundle (absent means 1)");
      }
      in.texts_version = static_cast<uint32_t>(tv);
    }

    const json& rj = r.Field(doc, "receipt", "");
    if (v2) {
      r.ExpectOnly(
          rj, "receipt",
          {"id", "tenant", "received_at_us", "envelope", "provenance", "provenance_bound"});
    } else {
      r.ExpectOnly(rj, "receipt",
                   {"id", "tenant", "received_at_us", "envelope", "client_name", "auth_user",
                    "queue_id", "node", "source"});
    }
    in.receipt.id = r.Str(rj, "id", "receipt");
    in.receipt.tenant = r.Str(rj, "tenant", "receipt");
    in.receipt.received_at_us = r.I64(rj, "received_at_us", "receipt");
    // An erased message's envelope is withheld (null); only with the `erasure` member (§6a).
    const bool erased = v2 && doc.contains("erasure");
    const json& e = r.Field(rj, "envelope", "receipt");
    if (erased != e.is_null()) {
      r.Bad("receipt.envelope", erased ? "must be null for an erased message"
                                       : "must be an object (null only for an erased message)");
    }
    if (!e.is_null()) {
      r.ExpectOnly(e, "receipt.envelope",
                   {"mail_from", "recipients", "client_ip", "client_port", "helo", "tls_protocol",
                    "tls_cipher"});
      Envelope& env = in.receipt.envelope;
      env.mail_from = r.Str(e, "mail_from", "receipt.envelope");
      for (const auto& x : r.Array(e, "recipients", "receipt.envelope", SIZE_MAX, "not an array")) {
        if (!x.is_string()) {
          r.Bad("receipt.envelope.recipients", "an entry is not a string");
          break;
        }
        env.recipients.push_back(x.get<std::string>());
      }
      env.client_ip = r.Str(e, "client_ip", "receipt.envelope");
      uint64_t port = r.U64(e, "client_port", "receipt.envelope");
      if (port > 65535) r.Bad("receipt.envelope.client_port", "out of range");
      env.client_port = static_cast<uint16_t>(port);
      env.helo = r.Str(e, "helo", "receipt.envelope");
      env.tls_protocol = r.Str(e, "tls_protocol", "receipt.envelope");
      env.tls_cipher = r.Str(e, "tls_cipher", "receipt.envelope");
    }
    Provenance& pv = in.receipt.provenance;
    if (v2) {
      const json& pj = r.Field(rj, "provenance", "receipt");
      const std::string pp = "receipt.provenance";
      r.ExpectOnly(pj, pp,
                   {"source", "listener", "node", "client_name", "auth_user", "queue_id",
                    "asserted_by", "journal_report_sha256"});
      pv.source = r.Str(pj, "source", pp);
      pv.listener = r.Str(pj, "listener", pp);
      pv.node = r.Str(pj, "node", pp);
      pv.client_name = r.Str(pj, "client_name", pp);
      pv.auth_user = r.Str(pj, "auth_user", pp);
      pv.queue_id = r.Str(pj, "queue_id", pp);
      pv.asserted_by = r.Str(pj, "asserted_by", pp);
      if (!r.Field(pj, "journal_report_sha256", pp).is_null()) {
        pv.journal_report_sha256 = r.HashField(pj, "journal_report_sha256", pp);
        if (pv.journal_report_sha256 == common::Hash{}) {
          r.Bad(pp + ".journal_report_sha256", "zero bytes are written as null");
        }
      }
      // The claim; check leaf.record compares it with the record's own version.
      in.receipt.leaf_version = r.Bool(rj, "provenance_bound", "receipt") ? 2 : 1;
    } else {
      // Version 1: informational fields, bound by nothing.
      pv.client_name = r.Str(rj, "client_name", "receipt");
      pv.auth_user = r.Str(rj, "auth_user", "receipt");
      pv.queue_id = r.Str(rj, "queue_id", "receipt");
      pv.node = r.Str(rj, "node", "receipt");
      pv.source = r.Str(rj, "source", "receipt");
    }

    const json& m = r.Field(doc, "message", "");
    if (v2) {
      r.ExpectOnly(m, "message",
                   {"file", "raw_sha256", "canonical_sha256", "canon_version", "canonical_file",
                    "disclosed_part"});
    } else {
      r.ExpectOnly(m, "message",
                   {"file", "raw_sha256", "canonical_sha256", "canon_version", "disclosed_part"});
    }
    in.receipt.raw_sha256 = r.HashField(m, "raw_sha256", "message");
    in.receipt.canonical_sha256 = r.HashField(m, "canonical_sha256", "message");
    uint64_t cv = r.U64(m, "canon_version", "message");
    if (cv > UINT32_MAX) r.Bad("message.canon_version", "out of range");
    in.receipt.canon_version = static_cast<uint32_t>(cv);
    const json& dp = r.Field(m, "disclosed_part", "message");
    const json& mf = r.Field(m, "file", "message");
    if (v2) {
      const json& cf = r.Field(m, "canonical_file", "message");
      if (dp.is_null() && !erased ? cf != json(std::string(kCanonicalFormFile)) : !cf.is_null()) {
        r.Bad("message.canonical_file",
              "must be \"canonical-form.txt\", or null when a part is disclosed or the message "
              "was erased");
      }
    }
    if (erased) {
      if (!mf.is_null()) r.Bad("message.file", "must be null: the message was erased");
      if (!dp.is_null()) r.Bad("message.disclosed_part", "must be null: the message was erased");
    } else if (dp.is_null()) {
      if (mf != json(std::string(kMessageFile))) r.Bad("message.file", "must be \"message.eml\"");
    } else {
      if (!mf.is_null()) r.Bad("message.file", "must be null when a part is disclosed");
      r.ExpectOnly(dp, "message.disclosed_part", {"position", "file"});
      DisclosedPart d;
      d.position = r.Str(dp, "position", "message.disclosed_part");
      if (!IsValidPosition(d.position)) r.Bad("message.disclosed_part.position", "invalid");
      r.ExpectFile(dp, "file", "message.disclosed_part", PartFileName(d.position));
      in.disclosed_part = std::move(d);
    }

    if (!v2 && in.receipt.canon_version >= 2)
      r.Bad("message.canon_version", "needs format version 2");
    const json& parts = r.Array(doc, "parts", "", mime::kMaxParts,
                                "not an array of at most " + std::to_string(mime::kMaxParts));
    std::set<std::string> positions;
    for (size_t i = 0; i < parts.size() && r.ok(); ++i) {
      std::string p = "parts[" + std::to_string(i) + "]";
      Part part;
      BundleInput::StatedPart stated;
      part.position = r.Str(parts[i], "position", p);
      if (!IsValidPosition(part.position) || !positions.insert(part.position).second) {
        r.Bad(p + ".position", "invalid or repeated");
      }
      stated.redacted = r.Bool(parts[i], "redacted", p);
      if (stated.redacted) {
        r.ExpectOnly(parts[i], p, {"position", "redacted", "record_leaf_hash"});
      } else if (v2) {
        r.ExpectOnly(parts[i], p,
                     {"position", "redacted", "content_type", "charset", "disposition", "filename",
                      "size", "sha256", "salt", "record_leaf_hash"});
      } else {
        r.ExpectOnly(parts[i], p,
                     {"position", "redacted", "content_type", "charset", "disposition", "filename",
                      "size", "sha256", "record_leaf_hash"});
      }
      stated.record_leaf_hash = r.HashField(parts[i], "record_leaf_hash", p);
      if (!stated.redacted) {
        part.content_type = r.Str(parts[i], "content_type", p);
        part.charset = r.Str(parts[i], "charset", p);
        part.disposition = r.Str(parts[i], "disposition", p);
        part.filename = r.Str(parts[i], "filename", p);
        part.size = r.U64(parts[i], "size", p);
        part.sha256 = r.HashField(parts[i], "sha256", p);
        // Part records of canonical form version 2 are salted, version 1's are not
        // (canon_version was read above).
        const bool salted = in.receipt.canon_version >= 2;
        const bool has_salt = v2 && !r.Field(parts[i], "salt", p).is_null();
        if (has_salt != salted) {
          r.Bad(p + ".salt", salted ? "missing (canonical form version 2)"
                                    : "must be null (canonical form version 1)");
        }
        if (has_salt) part.salt = r.HashField(parts[i], "salt", p);
      }
      in.receipt.parts.push_back(std::move(part));
      in.stated_parts.push_back(stated);
    }
    if (in.disclosed_part && !positions.contains(in.disclosed_part->position)) {
      r.Bad("message.disclosed_part.position", "not among the parts");
    }
    // The part records named files: an erased message's bundle lists none (parts_root, bound
    // by the leaf record, stays).
    if (erased && !parts.empty()) r.Bad("parts", "must be empty: the message was erased");
    in.receipt.parts_root = r.HashField(doc, "parts_root", "");

    // Optional: bundles issued before journal reports were included lack the field.
    if (auto jr = doc.find("journal_report"); jr != doc.end() && !jr->is_null()) {
      if (in.disclosed_part) r.Bad("journal_report", "must be null when a part is disclosed");
      if (erased) r.Bad("journal_report", "must be null: the message was erased");
      r.ExpectOnly(*jr, "journal_report", {"file", "sha256", "size"});
      r.ExpectFile(*jr, "file", "journal_report", std::string(kJournalReportFile));
      in.journal_report_sha256 = r.HashField(*jr, "sha256", "journal_report");
      if (r.U64(*jr, "size", "journal_report") == 0) r.Bad("journal_report.size", "must not be 0");
      in.journal_report = std::string();  // the bytes come from the file (ReadBundleZip)
    }

    const json& leaf = r.Field(doc, "leaf", "");
    r.ExpectOnly(leaf, "leaf", {"record_hex", "file", "index", "hash"});
    in.leaf_record = r.HexField(leaf, "record_hex", "leaf");
    r.ExpectFile(leaf, "file", "leaf", std::string(kLeafRecordFile));
    in.leaf_index = r.U64(leaf, "index", "leaf");
    in.leaf_hash = r.HashField(leaf, "hash", "leaf");

    const json& bp = r.Field(doc, "batch_proof", "");
    r.ExpectOnly(bp, "batch_proof", {"index", "size", "hashes"});
    in.batch_index = r.U64(bp, "index", "batch_proof");
    in.batch_size = r.U64(bp, "size", "batch_proof");
    in.batch_proof = r.HashList(bp, "hashes", "batch_proof");

    in.block = ParseBlock(r.Field(doc, "block", ""), "block", r);
    const json& prev = r.Field(doc, "previous_block", "");
    if (r.ok() && !prev.is_null()) in.previous_block = ParseBlock(prev, "previous_block", r);

    const json& cp = r.Field(doc, "checkpoint", "");
    r.ExpectOnly(cp, "checkpoint", {"note", "file", "tree_size", "inclusion_proof"});
    in.checkpoint = r.Str(cp, "note", "checkpoint");
    r.ExpectFile(cp, "file", "checkpoint", std::string(kCheckpointFile));
    (void)r.U64(cp, "tree_size", "checkpoint");  // informational; the note is authoritative
    in.checkpoint_proof = r.HashList(cp, "inclusion_proof", "checkpoint");

    const json& keys = r.Array(doc, "keys", "", 16, "not an array of at most 16");
    std::set<std::string> key_ids;
    for (size_t i = 0; i < keys.size() && r.ok(); ++i) {
      std::string p = "keys[" + std::to_string(i) + "]";
      r.ExpectOnly(keys[i], p,
                   {"key_id", "algorithm", "public_key_pem", "fingerprint", "valid_from_us",
                    "valid_until_us", "file"});
      BundleKey k;
      k.key_id = r.Str(keys[i], "key_id", p);
      if (!IsValidKeyId(k.key_id) || !key_ids.insert(k.key_id).second) {
        r.Bad(p + ".key_id", "invalid or repeated");
      }
      if (r.Str(keys[i], "algorithm", p) != "ed25519") r.Bad(p + ".algorithm", "must be ed25519");
      k.public_key_pem = r.Str(keys[i], "public_key_pem", p);
      k.fingerprint = r.Str(keys[i], "fingerprint", p);
      k.valid_from_us = r.I64(keys[i], "valid_from_us", p);
      if (!r.Field(keys[i], "valid_until_us", p).is_null()) {
        k.valid_until_us = r.I64(keys[i], "valid_until_us", p);
      }
      r.ExpectFile(keys[i], "file", p, KeyFileName(k.key_id));
      in.keys.push_back(std::move(k));
    }

    const json& tsa = r.Field(doc, "tsa", "");
    r.ExpectOnly(tsa, "tsa", {"ca_pem", "ca_file", "chain_pem", "chain_file"});
    in.tsa_ca_pem = r.Str(tsa, "ca_pem", "tsa");
    r.ExpectFile(tsa, "ca_file", "tsa", std::string(kTsaCaFile));
    in.tsa_chain_pem = r.Str(tsa, "chain_pem", "tsa");
    const json& cf = r.Field(tsa, "chain_file", "tsa");
    if (in.tsa_chain_pem.empty() ? !cf.is_null() : cf != json(std::string(kTsaChainFile))) {
      r.Bad("tsa.chain_file", "must be \"tsa-chain.pem\", or null when chain_pem is empty");
    }

    // Optional: only bundles of messages with sender evidence have it.
    if (auto au = doc.find("authentication"); r.ok() && au != doc.end()) {
      const std::string ap = "authentication";
      r.ExpectOnly(
          *au, ap,
          {"record_hex", "record_file", "leaf_index", "leaf_hash", "inclusion_proof",
           "results_file", "results_sha256", "dns_archive_file", "dns_archive_sha256", "summary"});
      BundleAuthentication a;
      a.record = r.HexField(*au, "record_hex", ap);
      r.ExpectFile(*au, "record_file", ap, std::string(kAuthRecordFile));
      a.leaf_index = r.U64(*au, "leaf_index", ap);
      if (a.leaf_index > uint64_t(INT64_MAX)) r.Bad(ap + ".leaf_index", "out of range");
      a.leaf_hash = r.HashField(*au, "leaf_hash", ap);
      a.checkpoint_proof = r.HashList(*au, "inclusion_proof", ap);
      r.ExpectFile(*au, "results_file", ap, std::string(kAuthResultsFile));
      r.ExpectFile(*au, "dns_archive_file", ap, std::string(kAuthDnsArchiveFile));
      // The digests are the record's to state; these copies are for people, and the verifier
      // compares them with the files (check sender.record).
      a.stated_results_sha256 = r.HashField(*au, "results_sha256", ap);
      a.stated_dns_archive_sha256 = r.HashField(*au, "dns_archive_sha256", ap);
      const json& summary = r.Field(*au, "summary", ap);
      if (r.ok() && !summary.is_object()) r.Bad(ap + ".summary", "not an object");
      if (r.ok()) a.stated_summary = summary.dump(-1, ' ', false, json::error_handler_t::replace);
      if (erased) r.Bad(ap, "must be absent: the message was erased");
      in.authentication = std::move(a);
    }

    // Only bundles of erased messages (§6a).
    if (auto er = doc.find("erasure"); r.ok() && er != doc.end()) {
      const std::string ep = "erasure";
      if (!v2) r.Bad(ep, "needs format version 2");
      r.ExpectOnly(*er, ep,
                   {"record_hex", "record_file", "details", "details_file", "leaf_index",
                    "leaf_hash", "inclusion_proof"});
      BundleErasure x;
      x.record = r.HexField(*er, "record_hex", ep);
      r.ExpectFile(*er, "record_file", ep, std::string(kErasureRecordFile));
      x.details = r.Str(*er, "details", ep);
      if (x.details.size() > kMaxErasureDetailsBytes)
        r.Bad(ep + ".details", "longer than 8192 bytes");
      r.ExpectFile(*er, "details_file", ep, std::string(kErasureDetailsFile));
      x.leaf_index = r.U64(*er, "leaf_index", ep);
      if (x.leaf_index > uint64_t(INT64_MAX)) r.Bad(ep + ".leaf_index", "out of range");
      x.leaf_hash = r.HashField(*er, "leaf_hash", ep);
      x.checkpoint_proof = r.HashList(*er, "inclusion_proof", ep);
      in.erasure = std::move(x);
    }
    if (!r.ok()) return r.error();
    return in;
  }
}

}  // namespace notary
