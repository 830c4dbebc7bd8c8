#include "pipeline/case_export.h"

#include <algorithm>
#include <deque>
#include <functional>
#include <future>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "common/bytes.h"
#include "common/time.h"
#include "evidence/bundle.h"
#include "log/action_record.h"
#include "pipeline/holds.h"

namespace pipeline {
namespace {

constexpr size_t kCustodyChunk = 1000;
// Bundles built ahead of the one being written. Each build waits on about ten queries, so
// it takes more builders than cores to keep two cores busy: a case of 2,000 took 12.0 s with
// three ahead, 8.5 to 9.0 s with six, no less with ten (docs/benchmarks.md).
constexpr size_t kBuildAhead = 6;

std::string Joined(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : "; ") + s;
  return out;
}

// Where the log holds a record (a message's own leaf: no action id).
nlohmann::json RecordJson(const storage::ActionRef& a) {
  nlohmann::json j = {
      {"leaf_hash", common::ToHex(a.leaf_hash)},
      {"leaf_index", a.leaf_index ? nlohmann::json(*a.leaf_index) : nlohmann::json()},
      {"block_height", a.block_height ? nlohmann::json(*a.block_height) : nlohmann::json()}};
  if (a.id != 0) j["action_id"] = a.id;
  return j;
}

std::string VerifyText(const storage::Case& c, const CaseExportResult& r,
                       const production::ProductionOptions& o) {
  std::string t;
  t += "# Production of case \"" + c.name + "\"\n\n";
  t += "Case " + c.id + (c.reference.empty() ? "" : ", reference " + c.reference) + ": " +
       std::to_string(r.messages) + " messages, Bates " + o.bates_prefix + "… from " +
       production::BatesNumber(o, o.bates_start).value_or("") + ".\n\n";
  t += "## Check it all at once\n\n"
       "      notary-verify --fingerprint <the notary's published key fingerprint> case.zip\n\n"
       "verifies every bundle against its native, on every core, and checks index.csv, "
       "loadfile.dat, messages.mbox, custody.json and case.json against them: one line per "
       "message, then a verdict (exit status 0 only when everything passed). The steps below "
       "are what it does, one file at a time.\n\n";
  t += "## What proves what\n\n"
       "- `bundles/evidence-<receipt>.zip` is each message's evidence bundle. It proves, "
       "offline and without trusting the notary's word, that a message with those hashes was "
       "received and sealed in the notary's signed log at the time it states. Check each "
       "with notary-verify:\n\n"
       "      notary-verify bundles/evidence-<receipt>.zip --eml natives/<Bates>.eml\n\n"
       "  which must end in VERIFIED and MATCHED for the native beside it.\n"
       "- `natives/<Bates>.eml` are the messages as received: `sha256sum` of each equals the "
       "`raw_sha256` of its row in `index.csv` and the `SHA256HASH` of `loadfile.dat`, and the "
       "bundle binds that hash. `md5sum` gives the load file's `MD5HASH` (MD5 is there for "
       "review platforms; it proves nothing on its own).\n"
       "- `index.csv`, `loadfile.dat` and `messages.mbox` are conveniences built from the "
       "same messages: every hash in them is checked by the steps above; the names, "
       "addresses, subjects and dates they show are as the headers state them and are bound "
       "only through the native whose hash is checked.\n"
       "- `custody.json` is each message's chain of custody from the notary's append-only "
       "tables: reception, seal, every access on the access trail, case changes, holds, "
       "exports and erasure. It is the notary's account. Its action records (case changes, "
       "holds, this export) are leaves of the signed log: the `leaf_hash` and `leaf_index` "
       "given can be checked with an inclusion proof from the notary's log "
       "(`GET /v1/proofs/inclusion`).\n"
       "- This export itself is the action record `case-export` with leaf hash " +
       common::ToHex(r.recorded.record.leaf_hash) +
       ": its details list every message's receipt id in Bates order.\n"
       "- `certificate.pdf`, when the production has one, is the operator's certificate of "
       "this production (PDF/A-2b): who the operator is, how each bundle was checked when the "
       "production was issued, which time-stamp authorities are the operator's own and which "
       "are independent, and every message's hash. Check its signature with "
       "`pdfsig certificate.pdf` (poppler-utils) and its hashes of `index.csv`, `loadfile.dat` "
       "and `messages.mbox` with `sha256sum`; notary-verify does not read it.\n";
  return t;
}

}  // namespace

common::Result<CaseExportResult> ExportCase(storage::CaseStore& cases,
                                            const EvidenceSources& sources,
                                            const std::string& tenant, const std::string& case_id,
                                            const CaseExportRequest& request,
                                            const std::string& staging_dir,
                                            const std::string& zip_path) {
  production::ProductionOptions options = request.options;
  if (options.custodian.empty()) options.custodian = tenant;
  RETURN_IF_ERROR(production::CheckOptions(options));
  ASSIGN_OR_RETURN(std::optional<storage::Case> c, cases.Get(tenant, case_id));
  if (!c) return common::Error::NotFound("no such case");
  ASSIGN_OR_RETURN(int64_t unsealed, cases.UnsealedMembers(tenant, case_id));
  if (unsealed > 0) {
    return common::Error::Conflict(std::to_string(unsealed) +
                                   " of the case's messages are not sealed yet: retry shortly");
  }
  ASSIGN_OR_RETURN(std::vector<std::string> ids, cases.Members(tenant, case_id));
  // Recorded first: the record binds which message gets which number.
  storage::NewCaseExport e;
  e.tenant = tenant;
  e.case_id = case_id;
  e.bates_prefix = options.bates_prefix;
  e.bates_start = static_cast<int64_t>(options.bates_start);
  e.bates_width = options.bates_width;
  for (size_t i = 0; i < ids.size(); ++i) {
    std::optional<std::string> bates = production::BatesNumber(options, options.bates_start + i);
    if (!bates) {
      return common::Error::InvalidInput("the case's " + std::to_string(ids.size()) +
                                         " messages do not fit in " +
                                         std::to_string(options.bates_width) + " Bates digits");
    }
    e.receipts.emplace_back(ids[i], std::move(*bates));
  }
  nlohmann::json details = {{"case", case_id},
                            {"bates_prefix", options.bates_prefix},
                            {"bates_start", options.bates_start},
                            {"bates_width", options.bates_width},
                            {"receipt_ids", ids}};
  ASSIGN_OR_RETURN(e.action, MakeAction(notary::ActionRecord::kCaseExport, tenant, case_id,
                                        request.actor, request.now_us, details.dump()));
  CaseExportResult result;
  ASSIGN_OR_RETURN(result.recorded, cases.RecordExport(e));
  const auto total = static_cast<int64_t>(ids.size());
  if (request.on_progress) request.on_progress(0, total);

  ASSIGN_OR_RETURN(auto writer, production::ProductionWriter::Create(staging_dir, options));
  EvidenceRequest er;
  er.lang = request.lang;
  er.issued_to = request.issued_to;
  er.issued_at_us = request.now_us;
  // Each message's bundle is built on another thread, a few messages ahead of the one being
  // written, and written in Bates order: building (queries, unwrapping, texts, deflate) is most
  // of an export's time, and the window keeps memory to a few bundles.
  EvidenceCache shared;
  EvidenceSources with_trees = sources;
  with_trees.cache = &shared;
  // A message as built, and what checking its bundle found.
  struct Built {
    production::ProductionMessage m;
    production::PackedMessage packed;  // its native and mailbox entry, deflated here
    CertifiedMessage certified;
    std::vector<notary::StampingAuthority> authorities;
    std::string key_fingerprint;
  };
  auto build = [&](const std::string& id) -> common::Result<Built> {
    ASSIGN_OR_RETURN(std::optional<notary::Receipt> receipt, sources.receipts.Get(id, tenant));
    if (!receipt) return common::Error::Internal("a case's message " + id + " is missing");
    ASSIGN_OR_RETURN(notary::BundleInput in, AssembleEvidence(*receipt, er, with_trees));
    production::ProductionMessage m;
    m.receipt_id = id;
    m.received_at_us = receipt->received_at_us;
    if (receipt->metadata.date_utc_unix)
      m.date_sent_us = *receipt->metadata.date_utc_unix * 1000000;
    m.envelope_from = receipt->envelope.mail_from;
    m.from = receipt->metadata.from;
    m.to = Joined(receipt->metadata.to);
    m.cc = Joined(receipt->metadata.cc);
    m.subject = receipt->metadata.subject;
    m.raw_sha256 = receipt->raw_sha256;
    m.canonical_sha256 = receipt->canonical_sha256;
    m.block_height = receipt->block_height.value_or(-1);
    if (!in.Erased()) m.native = in.message;
    ASSIGN_OR_RETURN(m.bundle_zip, notary::BuildBundleZip(in));
    Built b;
    b.certified.receipt_id = id;
    b.certified.raw_sha256 = m.raw_sha256;
    b.certified.received_at_us = m.received_at_us;
    b.certified.date_sent_us = m.date_sent_us;
    b.certified.from = m.from;
    b.certified.to = m.to;
    b.certified.source = receipt->provenance.source;
    b.certified.observed = receipt->provenance.asserted_by.empty();
    b.certified.tls = receipt->envelope.tls_protocol;
    b.certified.erased = in.Erased();
    if (request.certificate != nullptr) {
      // The checks of `notary-verify BUNDLE --eml NATIVE`, on the bytes that go out.
      ASSIGN_OR_RETURN(notary::Bundle bundle, notary::ReadBundleZip(m.bundle_zip));
      notary::VerifyOptions vo;
      if (m.native) vo.eml = *m.native;
      notary::VerifyReport report = notary::VerifyBundle(bundle, vo);
      b.certified.checked = report.valid;
      for (const auto& check : report.checks) {
        if (check.status != notary::CheckStatus::kFail) continue;
        if (!b.certified.problems.empty()) b.certified.problems += "; ";
        b.certified.problems += check.id + ": " + check.reason;
      }
      b.authorities = std::move(report.authorities);
      b.key_fingerprint = std::move(report.key_fingerprint);
    }
    ASSIGN_OR_RETURN(b.packed, production::Pack(m));
    b.m = std::move(m);
    return b;
  };
  std::deque<std::future<common::Result<Built>>> ahead;
  ProductionCertificateInput certificate;
  std::map<std::pair<std::string, std::string>, SeenAuthority> authorities;
  std::set<std::string> fingerprints;
  size_t launched = 0;
  auto fill = [&] {
    while (ahead.size() < kBuildAhead && launched < ids.size()) {
      ahead.push_back(std::async(std::launch::async, build, std::cref(ids[launched++])));
    }
  };
  for (size_t start = 0; start < ids.size(); start += kCustodyChunk) {
    const std::vector<std::string> chunk(
        ids.begin() + static_cast<std::ptrdiff_t>(start),
        ids.begin() + static_cast<std::ptrdiff_t>(std::min(ids.size(), start + kCustodyChunk)));
    fill();
    ASSIGN_OR_RETURN(std::vector<storage::CustodyEvent> events, cases.Custody(tenant, chunk));
    std::map<std::string, std::vector<const storage::CustodyEvent*>> by_receipt;
    for (const auto& ev : events) by_receipt[ev.receipt_id].push_back(&ev);
    for (const std::string& id : chunk) {
      fill();
      common::Result<Built> built = ahead.front().get();
      ahead.pop_front();
      // On an error the futures still ahead finish (their destructors wait) before it returns.
      if (!built.ok()) return built.error();
      const production::ProductionMessage& m = built->m;
      ASSIGN_OR_RETURN(production::ProducedMessage produced, writer->Add(m, built->packed));
      ++result.messages;
      if (request.on_progress) request.on_progress(result.messages, total);
      if (request.certificate != nullptr) {
        built->certified.bates = produced.bates;
        certificate.messages.push_back(std::move(built->certified));
        for (const auto& a : built->authorities) {
          SeenAuthority& seen = authorities[{a.tsa, a.subject}];
          seen.tsa = a.tsa;
          seen.subject = a.subject;
          seen.built_in = a.built_in;
          ++seen.messages;
        }
        if (!built->key_fingerprint.empty()) fingerprints.insert(built->key_fingerprint);
      }

      nlohmann::json list = nlohmann::json::array();
      for (const storage::CustodyEvent* event : by_receipt[id]) {
        const storage::CustodyEvent& ev = *event;
        nlohmann::json j = {{"at", common::FormatRfc3339Micros(ev.at_us)},
                            {"event", ev.event},
                            {"by", ev.actor},
                            {"detail", ev.detail}};
        if (ev.record) j["record"] = RecordJson(*ev.record);
        list.push_back(std::move(j));
      }
      const nlohmann::json entry = {{"bates", produced.bates},
                                    {"receipt_id", id},
                                    {"raw_sha256", common::ToHex(m.raw_sha256)},
                                    {"native", produced.native_path},
                                    {"bundle", produced.bundle_path},
                                    {"events", std::move(list)}};
      RETURN_IF_ERROR(writer->AddCustody(entry.dump(2)));
    }
  }
  const nlohmann::json export_json = {{"at", common::FormatRfc3339Micros(request.now_us)},
                                      {"by", request.actor},
                                      {"bates_prefix", options.bates_prefix},
                                      {"bates_start", options.bates_start},
                                      {"bates_width", options.bates_width},
                                      {"custodian", options.custodian},
                                      {"messages", result.messages},
                                      {"record", RecordJson(result.recorded.record)}};
  const nlohmann::json case_json = {{"case",
                                     {{"id", c->id},
                                      {"name", c->name},
                                      {"description", c->description},
                                      {"reference", c->reference},
                                      {"created_at", common::FormatRfc3339Micros(c->created_at_us)},
                                      {"record", RecordJson(c->opened)}}},
                                    {"export", export_json}};
  std::string certificate_pdf;
  if (request.certificate != nullptr) {
    certificate.c = *c;
    certificate.options = options;
    certificate.digests = writer->Digests();
    for (auto& [key, seen] : authorities) certificate.authorities.push_back(std::move(seen));
    certificate.key_fingerprints.assign(fingerprints.begin(), fingerprints.end());
    certificate.record = result.recorded.record;
    certificate.issued_to = request.issued_to;
    certificate.issued_at_us = request.now_us;
    certificate.kind = request.certificate_template;
    ASSIGN_OR_RETURN(certificate_pdf, ProductionCertificatePdf(certificate, *request.certificate));
  }
  RETURN_IF_ERROR(writer->Finish(case_json.dump(2) + "\n", export_json.dump(2),
                                 VerifyText(*c, result, options), certificate_pdf, zip_path));
  return result;
}

}  // namespace pipeline
