// The bundle's texts for people, certificate.html and VERIFY.md: a view built from the
// evidence alone (docs/evidence-bundle.md, "Rendering"), rendered with the templates of
// web/public/. The same evidence gives the same bytes, so that a verifier re-renders both and
// compares: a certificate edited after issue fails (issue 17, finding 2).
#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>
#include <optional>
#include <string_view>
#include <vector>

#include "bundle_internal.h"
#include "bundle_templates.h"
#include "common/bytes.h"
#include "common/rfc6962.h"
#include "common/sha256.h"
#include "common/time.h"
#include "log/action_record.h"
#include "log/authentication_record.h"
#include "log/block.h"
#include "sender/authentication.h"
#include "sender/authentication_json.h"
#include "sender/dns_answer.h"
#include "text_template.h"
#include "tsa/token.h"

namespace notary {
namespace bundle_internal {
namespace {

using json = nlohmann::json;

// Times a view shows: years 1 to 9999 (FormatUtcMicros's four digits); others cannot be
// rendered the same way everywhere, and no genuine bundle has them.
constexpr int64_t kMinTimeUs = -62135596800000000;  // 0001-01-01T00:00:00Z
constexpr int64_t kMaxTimeUs = 253402300799999999;  // 9999-12-31T23:59:59.999999Z

common::Result<std::string> Time(int64_t us) {
  if (us < kMinTimeUs || us > kMaxTimeUs) {
    return common::Error::InvalidInput("a time outside the years 1 to 9999");
  }
  return common::FormatRfc3339Micros(us);
}

// The header records of a canonical form (docs/canonical-form.md §2): "header" F(name)
// F(value) LF, where F is " " decimal-length ":" bytes. Other records are skipped field by
// field. kInvalidInput when the bytes are not a canonical form.
common::Result<std::vector<std::pair<std::string, std::string>>> CanonicalHeaders(
    std::string_view form) {
  const auto bad = [] { return common::Error::InvalidInput("canonical-form.txt is malformed"); };
  std::vector<std::pair<std::string, std::string>> out;
  const size_t first = form.find('\n');
  if (first == std::string_view::npos || form.substr(0, 17) != "notary-canonical ") return bad();
  size_t pos = first + 1;
  while (pos < form.size()) {
    const size_t space = form.find(' ', pos);
    const size_t nl = form.find('\n', pos);
    if (space == std::string_view::npos || (nl != std::string_view::npos && nl < space)) {
      return bad();
    }
    const std::string_view tag = form.substr(pos, space - pos);
    pos = space;
    std::vector<std::string_view> fields;
    while (pos < form.size() && form[pos] == ' ') {
      const size_t colon = form.find(':', pos + 1);
      if (colon == std::string_view::npos || colon == pos + 1 || colon - pos - 1 > 19) return bad();
      uint64_t len = 0;
      for (size_t i = pos + 1; i < colon; ++i) {
        if (form[i] < '0' || form[i] > '9') return bad();
        len = len * 10 + static_cast<uint64_t>(form[i] - '0');
      }
      if (len > form.size() - colon - 1) return bad();
      fields.push_back(form.substr(colon + 1, len));
      pos = colon + 1 + len;
    }
    if (pos >= form.size() || form[pos] != '\n') return bad();
    ++pos;
    if (tag == "header") {
      if (fields.size() != 2) return bad();
      out.emplace_back(fields[0], fields[1]);
    }
  }
  return out;
}

std::string Join(const std::vector<std::string>& v, std::string_view sep) {
  std::string s;
  for (size_t i = 0; i < v.size(); ++i) {
    if (i) s += sep;
    s += v[i];
  }
  return s;
}

// The first two lines of a signed note: the checkpoint's origin and size as written.
std::pair<std::string, std::string> CheckpointLines(std::string_view note) {
  const size_t a = note.find('\n');
  if (a == std::string_view::npos) return {std::string(note), ""};
  const size_t b = note.find('\n', a + 1);
  return {std::string(note.substr(0, a)),
          std::string(note.substr(a + 1, b == std::string_view::npos ? b : b - a - 1))};
}

// The names on the signature lines of a signed note after its first empty line, other than
// `origin` (the notary's own key name): the witnesses whose cosignatures the note carries, as
// written, unchecked. A line counts when it starts with U+2014 and a space and has another
// space after a non-empty name (web/public/verify.js reads them the same way).
std::vector<std::string> CosignerNames(std::string_view note, std::string_view origin) {
  static constexpr std::string_view kDash = "\xe2\x80\x94 ";
  std::vector<std::string> names;
  bool after_blank = false;
  size_t start = 0;
  while (start <= note.size()) {
    size_t end = note.find('\n', start);
    if (end == std::string_view::npos) end = note.size();
    std::string_view line = note.substr(start, end - start);
    start = end + 1;
    if (!after_blank) {
      after_blank = line.empty();
      continue;
    }
    if (line.substr(0, kDash.size()) != kDash) continue;
    line.remove_prefix(kDash.size());
    const size_t sp = line.find(' ');
    if (sp == std::string_view::npos || sp == 0) continue;
    if (line.substr(0, sp) != origin) names.emplace_back(line.substr(0, sp));
  }
  return names;
}

// A token's genTime, or nullopt when it does not parse. A case's production renders thousands
// of bundles sealed by the same few blocks, and parsing a token (a CMS SignedData with its
// certificates, each public key decoded) cost more than the rest of the texts: each thread
// remembers the last few tokens it parsed, compared by their whole DER.
std::optional<int64_t> TokenTime(const std::string& der) {
  struct Seen {
    std::string der;
    std::optional<int64_t> time;
  };
  constexpr size_t kRemembered = 8;
  thread_local std::vector<Seen> seen;
  thread_local size_t next = 0;
  for (const Seen& s : seen) {
    if (s.der == der) return s.time;
  }
  std::optional<int64_t> time;
  if (auto info = ParseToken(der); info.ok()) time = info->gen_time_us;
  if (seen.size() < kRemembered) {
    seen.push_back({der, time});
  } else {
    seen[next] = {der, time};
    next = (next + 1) % kRemembered;
  }
  return time;
}

common::Result<json> TokenList(const BundleBlock& block, uint64_t height, bool this_block,
                               const std::string& block_hash_hex, json& certificate_tokens) {
  json files = json::array();
  for (size_t i = 0; i < block.tokens.size(); ++i) {
    std::string time;
    if (std::optional<int64_t> at = TokenTime(block.tokens[i].der)) {
      ASSIGN_OR_RETURN(auto t, Time(*at));
      time = t;
    }
    certificate_tokens.push_back({{"height", std::to_string(height)},
                                  {"this_block", this_block},
                                  {"tsa", block.tokens[i].tsa},
                                  {"time", time}});
    files.push_back({{"file", TokenFileName(height, i)}, {"block_hash", block_hash_hex}});
  }
  return files;
}

// The label for a result name ("pass" -> labels.r_pass), or the name itself.
std::string ResultLabel(const json& l, const std::string& result) {
  auto it = l.find("r_" + result);
  return it != l.end() && it->is_string() ? it->get<std::string>() : result;
}

// The certificate's sender section (docs/evidence-bundle.md §7): null without sender evidence.
common::Result<json> SenderView(const BundleInput& in, const json& l) {
  if (!in.authentication) return json();
  const BundleAuthentication& a = *in.authentication;
  ASSIGN_OR_RETURN(auto record, AuthenticationRecord::Decode(a.record));
  ASSIGN_OR_RETURN(auto results, AuthenticationResults::Decode(a.results));
  ASSIGN_OR_RETURN(auto answers, DecodeDnsArchive(a.dns_archive));
  ASSIGN_OR_RETURN(auto checked, Time(record.checked_at_us));
  json dkim = json::array();
  for (const DkimSignatureResult& d : results.dkim) {
    const std::string name = d.selector + "._domainkey." + d.domain;
    const DnsAnswer* key = KeyAnswerFor(answers, d);
    std::string published, dnssec;
    if (key != nullptr) {
      ASSIGN_OR_RETURN(auto t, Time(key->looked_up_at_us));
      published = t.substr(0, 16) + "Z";  // to the minute
      if (key->dnssec != DnssecStatus::kIndeterminate) {
        dnssec = l.value("dnssec_" + std::string(DnssecStatusName(key->dnssec)), "");
      }
    }
    dkim.push_back({{"domain", d.domain},
                    {"key_record", name},
                    {"verdict", ResultLabel(l, d.result)},
                    {"published", published},
                    {"dnssec", dnssec}});
  }
  json spf, dmarc;
  if (results.spf) {
    spf = {{"verdict", ResultLabel(l, results.spf->result)},
           {"domain", results.spf->domain},
           {"client_ip", results.spf->client_ip}};
  }
  if (results.dmarc) {
    dmarc = {{"verdict", ResultLabel(l, results.dmarc->result)},
             {"domain", results.dmarc->domain},
             {"policy", results.dmarc->policy}};
  }
  json arc;
  if (results.arc) {
    // What the first intermediary said is shown only when the chain holds: a broken chain's
    // sets are anyone's words. A broken chain shows why instead.
    const ArcOutcome& r = *results.arc;
    const bool pass = r.result == "pass" && !r.sets.empty();
    arc = {{"verdict", ResultLabel(l, r.result)},
           {"hops", std::to_string(r.sets.size())},
           {"sealer", pass ? r.sets.front().seal_domain : ""},
           {"said", pass ? r.sets.front().auth_results : ""},
           {"reason", pass ? "" : r.reason}};
  }
  return json{
      {"checked_at", checked}, {"dkim", dkim}, {"spf", spf}, {"dmarc", dmarc}, {"arc", arc}};
}

}  // namespace

common::Result<json> TextsView(const BundleInput& in) {
  auto labels = json::parse(TextLabels(), nullptr, false);
  if (labels.is_discarded() || !labels.contains(in.lang)) {
    return common::Error::InvalidInput("lang must be en, ko or zh");
  }
  ASSIGN_OR_RETURN(auto header, BlockHeader::Decode(in.block.header));
  ASSIGN_OR_RETURN(auto received, Time(in.receipt.received_at_us));
  ASSIGN_OR_RETURN(auto issued, Time(in.issued_at_us));

  json v;
  v["lang"] = in.lang;
  v["l"] = labels[in.lang];
  const bool full = !in.disclosed_part && !in.Erased();
  v["full"] = full;
  v["erased"] = json();
  if (in.erasure) {
    // What the sealed record and its details say; check erasure.record verifies both.
    auto record = ActionRecord::Decode(in.erasure->record);
    if (!record.ok()) return common::Error::InvalidInput("the erasure record does not decode");
    auto details = json::parse(in.erasure->details, nullptr, false);
    if (!details.is_object() || !details.contains("reason") || !details["reason"].is_string()) {
      return common::Error::InvalidInput("the erasure details have no reason");
    }
    ASSIGN_OR_RETURN(auto at, Time(record->acted_at_us));
    v["erased"] = {{"at", at},
                   {"by", record->actor},
                   {"reason", details["reason"]},
                   {"leaf_index", std::to_string(in.erasure->leaf_index)},
                   {"leaf_hash", common::ToHex(common::HashLeaf(in.erasure->record))}};
  }
  v["disclosed_part"] = in.disclosed_part ? in.disclosed_part->position : "";
  std::string subject, from, date;
  std::vector<std::string> to;
  if (full) {
    ASSIGN_OR_RETURN(auto headers, CanonicalHeaders(in.canonical_form));
    for (const auto& [name, value] : headers) {
      if (name == "subject" && subject.empty()) subject = value;
      if (name == "from" && from.empty()) from = value;
      if (name == "date" && date.empty()) date = value;
      if (name == "to") to.push_back(value);
    }
  }
  v["subject"] = subject;
  v["from"] = from;
  v["to"] = Join(to, ", ");
  v["date"] = date;

  const Envelope& env = in.receipt.envelope;
  const Provenance& pv = in.receipt.provenance;
  v["receipt_id"] = in.receipt.id;
  v["received_at"] = received;
  v["envelope_from"] = env.mail_from.empty() ? "<>" : env.mail_from;
  v["envelope_to"] = Join(env.recipients, ", ");
  std::string client = env.client_ip + " port " + std::to_string(env.client_port);
  if (!pv.client_name.empty()) client += " (" + pv.client_name + ")";
  if (!env.helo.empty()) client += ", HELO " + env.helo;
  v["client"] = client;  // texts version 1; version 2 composes the parts with its labels
  v["client_ip"] = env.client_ip;
  v["client_port"] = std::to_string(env.client_port);
  v["client_name"] = pv.client_name;
  v["helo"] = env.helo;
  v["tls"] = env.tls_protocol.empty() ? "" : env.tls_protocol + " " + env.tls_cipher;
  v["journal"] = in.journal_report
                     ? json{{"file", std::string(kJournalReportFile)},
                            {"sha256", common::ToHex(common::Sha256Of(*in.journal_report))}}
                     : json();
  ASSIGN_OR_RETURN(v["sender"], SenderView(in, labels[in.lang]));
  v["provenance"] = {{"bound", in.receipt.provenance_bound()},
                     {"source", pv.source},
                     {"asserted_by", pv.asserted_by},
                     {"listener", pv.listener},
                     {"node", pv.node},
                     {"auth_user", pv.auth_user},
                     {"queue_id", pv.queue_id}};
  v["raw_sha256"] = common::ToHex(in.receipt.raw_sha256);
  v["canonical_sha256"] = common::ToHex(in.receipt.canonical_sha256);
  v["canon_version"] = std::to_string(in.receipt.canon_version);
  v["parts_root"] = common::ToHex(in.receipt.parts_root);
  json parts = json::array();
  for (size_t i = 0; i < in.receipt.parts.size(); ++i) {
    // A built bundle's input has every part; a read one has the withheld ones redacted.
    const Part& p = in.receipt.parts[i];
    const bool shown = !in.Withheld(i) && (full || p.position == in.disclosed_part->position);
    parts.push_back({{"position", p.position},
                     {"shown", shown},
                     {"filename", shown ? p.filename : ""},
                     {"content_type", shown ? p.content_type : ""},
                     {"size", shown ? std::to_string(p.size) : ""},
                     {"sha256", shown ? common::ToHex(p.sha256) : ""}});
  }
  v["has_parts"] = !parts.empty();
  v["parts"] = std::move(parts);

  const std::string block_hash = common::ToHex(in.block.block_hash);
  v["block_height"] = std::to_string(header.height);
  v["block_hash"] = block_hash;
  v["leaf_index"] = std::to_string(in.leaf_index);
  v["leaf_hash"] = common::ToHex(in.leaf_hash);
  const auto [origin, size] = CheckpointLines(in.checkpoint);
  v["checkpoint_origin"] = origin;
  v["checkpoint_size"] = size;
  json witnesses = json::array();
  for (auto& name : CosignerNames(in.checkpoint, origin)) witnesses.push_back({{"name", name}});
  v["has_witnesses"] = !witnesses.empty();
  v["witnesses"] = std::move(witnesses);
  json tokens = json::array();
  ASSIGN_OR_RETURN(auto block_tokens, TokenList(in.block, header.height, true, block_hash, tokens));
  v["block_tokens"] = std::move(block_tokens);
  v["previous"] = json();
  if (in.previous_block) {
    ASSIGN_OR_RETURN(auto prev, BlockHeader::Decode(in.previous_block->header));
    ASSIGN_OR_RETURN(auto prev_tokens,
                     TokenList(*in.previous_block, prev.height, false,
                               common::ToHex(in.previous_block->block_hash), tokens));
    v["previous"] = {{"height", std::to_string(prev.height)},
                     {"header_file", BlockHeaderFileName(prev.height)},
                     {"sig_file", BlockSignatureFileName(prev.height)},
                     {"tokens", std::move(prev_tokens)}};
  }
  v["tokens"] = std::move(tokens);
  json keys = json::array();
  for (const BundleKey& k : in.keys) {
    keys.push_back({{"key_id", k.key_id},
                    {"fingerprint", k.fingerprint},
                    {"signs", k.key_id == header.key_id}});
  }
  v["keys"] = std::move(keys);
  v["issued_to"] = in.issued_to;
  v["issued_at"] = issued;

  // VERIFY.md's file names and values.
  v["key_file"] = KeyFileName(header.key_id);
  v["header_file"] = BlockHeaderFileName(header.height);
  v["sig_file"] = BlockSignatureFileName(header.height);
  v["batch_root"] = common::ToHex(header.batch_root);
  v["has_chain"] = !in.tsa_chain_pem.empty();
  v["part"] = json();
  if (in.disclosed_part) {
    for (size_t i = 0; i < in.receipt.parts.size(); ++i) {
      const Part& p = in.receipt.parts[i];
      if (p.position == in.disclosed_part->position && !in.Withheld(i)) {  // the disclosed part
        v["part"] = {{"file", PartFileName(p.position)},
                     {"sha256", common::ToHex(p.sha256)},
                     {"position", p.position}};
      }
    }
  }
  return v;
}

}  // namespace bundle_internal

namespace {

using nlohmann::json;

const common::Result<TextTemplate>& CertificateTemplateFor(uint32_t texts_version) {
  using namespace bundle_internal;
  static const auto v2 = TextTemplate::Parse(CertificateTemplate(), TextTemplate::Kind::kHtml);
  static const auto v1 = TextTemplate::Parse(CertificateTemplateV1(), TextTemplate::Kind::kHtml);
  return texts_version == 1 ? v1 : v2;
}

const common::Result<TextTemplate>& VerifyTemplateText() {
  using namespace bundle_internal;
  static const auto tmpl = TextTemplate::Parse(VerifyTemplate(), TextTemplate::Kind::kText);
  return tmpl;
}

common::Status CheckTextsVersion(const BundleInput& in) {
  if (in.texts_version != 1 && in.texts_version != 2) {
    return common::Error::InvalidInput("texts_version must be 1 or 2");
  }
  return common::Ok();
}

// REQUIRES: CheckTextsVersion(in).
common::Result<std::string> RenderCertificate(const BundleInput& in, const json& view) {
  const auto& tmpl = CertificateTemplateFor(in.texts_version);
  if (!tmpl.ok()) return common::Error::Internal(tmpl.error().message());
  return tmpl->Render(view);
}

common::Result<std::string> RenderVerify(const json& view) {
  const auto& tmpl = VerifyTemplateText();
  if (!tmpl.ok()) return common::Error::Internal(tmpl.error().message());
  return tmpl->Render(view);
}

}  // namespace

common::Result<std::string> CertificateHtml(const BundleInput& in) {
  RETURN_IF_ERROR(CheckTextsVersion(in));
  ASSIGN_OR_RETURN(auto view, bundle_internal::TextsView(in));
  return RenderCertificate(in, view);
}

common::Result<std::string> VerifyMarkdown(const BundleInput& in) {
  ASSIGN_OR_RETURN(auto view, bundle_internal::TextsView(in));
  return RenderVerify(view);
}

common::Result<std::string> CertificateViewJson(const BundleInput& in) {
  RETURN_IF_ERROR(CheckTextsVersion(in));
  ASSIGN_OR_RETURN(auto view, bundle_internal::TextsView(in));
  return view.dump(-1, ' ', false, json::error_handler_t::replace);
}

common::Result<BundleTexts> RenderTexts(const BundleInput& in) {
  RETURN_IF_ERROR(CheckTextsVersion(in));
  ASSIGN_OR_RETURN(auto view, bundle_internal::TextsView(in));
  BundleTexts t;
  ASSIGN_OR_RETURN(t.certificate_html, RenderCertificate(in, view));
  ASSIGN_OR_RETURN(t.verify_md, RenderVerify(view));
  return t;
}

}  // namespace notary
