// GET /v1/messages/{id}/evidence: the evidence bundle (docs/evidence-bundle.md), built on
// demand from stored data; every download is on the access trail before it is served.
#include <httplib.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <optional>

#include "common/bytes.h"
#include "common/time.h"
#include "evidence/bundle.h"
#include "pipeline/bundle_certificate.h"
#include "pipeline/evidence_assembly.h"
#include "pipeline/ingest.h"
#include "pipeline/seal_notifier.h"
#include "pipeline/sealer.h"
#include "routes.h"
#include "util.h"

namespace http {
namespace {

std::string PickLang(const httplib::Request& req) {
  if (auto l = Param(req, "lang")) return *l;
  // Accept-Language: the first of ko / zh / en that appears, in the client's order.
  std::string al = req.get_header_value("Accept-Language");
  for (size_t i = 0; i < al.size(); ++i) {
    std::string two = al.substr(i, 2);
    if ((i == 0 || al[i - 1] == ',' || al[i - 1] == ' ') &&
        (two == "ko" || two == "zh" || two == "en")) {
      return two;
    }
  }
  return "en";
}

}  // namespace

void RegisterEvidenceRoutes(httplib::Server& s, HttpDeps& d, pipeline::Sealer& sealer,
                            std::chrono::milliseconds wait_recheck) {
  s.Get(R"(/v1/messages/([^/]+)/evidence)", [&d, &sealer, wait_recheck](const httplib::Request& req,
                                                                        httplib::Response& res) {
    auto who = RequireScope(d, req, res, "read");
    if (!who) return;
    const std::string id = req.matches[1];
    const std::string lang = PickLang(req);
    if (lang != "en" && lang != "ko" && lang != "zh") {
      return SendError(res, 400, "bad_query", "lang is en, ko or zh");
    }
    uint64_t wait_s = 0;
    if (auto w = Param(req, "wait")) {
      auto n = ParseU64(*w);
      if (!n || *n > 60) return SendError(res, 400, "bad_query", "wait is 0 to 60 seconds");
      wait_s = *n;
    }
    // certificate.pdf beside certificate.html when asked for (docs/evidence-bundle.md §7a): a
    // person's download (the console asks) rather than every machine's, since laying out,
    // signing and time-stamping it costs several times the rest of the bundle.
    const std::string certificate = Param(req, "certificate").value_or("none");
    if (certificate != "pdf" && certificate != "none") {
      return SendError(res, 400, "bad_query", "certificate is pdf or none");
    }
    std::optional<std::string> part = Param(req, "part");
    pipeline::EvidenceRequest request;
    request.part = part;
    request.lang = lang;
    request.issued_to = "API key " + who->key_id + " (tenant " + who->tenant + ")";
    // Waiting is event-driven: the request sleeps on the sealer's notifier (no query while it
    // sleeps) and tries again when a block commits on any node, or after wait_recheck in case
    // a notification was lost. It waits for what a retry would wait for: the seal, and then
    // whatever AssembleEvidence reports as kConflict (time-stamps, a cosigned checkpoint, the
    // sender checks and their seal). It still holds this worker thread (the routes are
    // synchronous cpp-httplib handlers), so the number of waiters is bounded by the notifier:
    // beyond it, 429.
    pipeline::SealNotifier& notifier = sealer.notifier();
    std::optional<pipeline::SealNotifier::Ticket> ticket;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(wait_s);
    std::optional<notary::Receipt> row;
    std::optional<common::Result<notary::BundleInput>> in;
    while (true) {
      // Read before the receipt: a block committed after this read wakes the wait below.
      const uint64_t seen = notifier.generation();
      // A replica is asked again on every try: the block that woke this wait was committed
      // on the primary, and the replica must show it too before it answers.
      storage::ReadReplica::Scope scope;
      auto reads = PickReadStores(d, scope);
      if (!reads.ok()) return SendErrorFor(res, reads.error());
      auto r = reads->receipts->Get(id, who->tenant);
      if (!r.ok()) return SendErrorFor(res, r.error());
      if (!r->has_value()) return SendError(res, 404, "not_found", "no such message");
      row = std::move(**r);
      if (row->erased_at_us && part) {
        // Its bytes are gone (docs/retention.md); the whole-message bundle of an erased
        // message (hashes, proofs and the erasure record) is still served.
        return SendError(res, 410, "erased",
                         "the message was erased at " +
                             common::FormatRfc3339Micros(*row->erased_at_us) +
                             ": its parts are gone; its bundle without ?part= proves what "
                             "remains");
      }
      if (row->leaf_index) {
        request.issued_at_us = d.clock->NowMicros();
        std::optional<int64_t> checks_since;
        if (reads->authentications != nullptr) {
          checks_since =
              request.issued_at_us -
              std::chrono::duration_cast<std::chrono::microseconds>(d.sender_check_max_delay)
                  .count();
        }
        const pipeline::EvidenceSources sources{
            *reads->receipts, *reads->chain,          *reads->admin,       sealer.tsa(),
            reads->journal,   d.publisher != nullptr, sealer.tsa_quorum(), reads->authentications,
            checks_since,     reads->erasures};
        in = pipeline::AssembleEvidence(*row, request, sources);
        if (in->ok() || in->error().code() != common::ErrorCode::kConflict) break;
      }
      const auto now = std::chrono::steady_clock::now();
      if (now >= deadline) break;
      if (!ticket && !notifier.TryEnter(ticket)) {
        res.set_header("Retry-After", "2");
        return SendError(res, 429, "too_many_waiters",
                         "too many requests are waiting for a seal; retry shortly");
      }
      (void)notifier.WaitUntil(seen, std::min(deadline, now + wait_recheck));
    }
    if (!row->leaf_index) {
      res.set_header("Retry-After", "2");
      return SendError(res, 409, "not_sealed", "the message is not sealed yet; retry shortly");
    }
    if (!in->ok()) {
      const common::Error& e = in->error();
      switch (e.code()) {
        case common::ErrorCode::kNotFound:
          return SendError(res, 404, "not_found", e.message());
        case common::ErrorCode::kConflict:
          res.set_header("Retry-After", "5");
          return SendError(res, 409, "not_timestamped", e.message() + "; retry shortly");
        case common::ErrorCode::kTooLarge:
          return SendError(res, 413, "too_many_parts", e.message());
        default:
          return SendErrorFor(res, e);
      }
    }

    // On the trail before it leaves: no trail, no download.
    storage::AccessEntry e;
    e.key_id = who->key_id;
    e.tenant = who->tenant;
    e.route = "GET /v1/messages/{id}/evidence";
    e.receipt_id = row->id;
    e.client_ip = req.remote_addr;
    e.detail = part ? "part=" + *part : row->erased_at_us ? "erased" : "full";
    if (auto st = d.admin.LogAccess(e); !st.ok()) return SendErrorFor(res, st.error());

    common::Result<std::string> zip = common::Error::Internal("not built");
    if (certificate == "pdf" && d.certificate != nullptr) {
      zip = pipeline::BuildBundleZipWithPdf(**in, *d.certificate);
      if (!zip.ok()) {
        // The evidence does not depend on the PDF: without it (its signer or the authority
        // stamping its signature unreachable) the bundle still goes out, and says so.
        spdlog::warn("event=bundle_certificate_pdf_failed receipt={} error=\"{}\"", row->id,
                     zip.error().message());
        res.set_header("Notary-Certificate-Pdf", "omitted");
      }
    }
    if (!zip.ok()) zip = notary::BuildBundleZip(**in);
    if (!zip.ok()) return SendErrorFor(res, zip.error());
    res.set_header("Content-Disposition", "attachment; filename=\"evidence-" + row->id +
                                              (part ? "-part-" + *part : "") + ".zip\"");
    res.set_content(std::move(*zip), "application/zip");
  });
}

}  // namespace http
