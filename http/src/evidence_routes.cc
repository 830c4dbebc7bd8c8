// GET /v1/messages/{id}/evidence: the evidence bundle (docs/evidence-bundle.md), built on
// demand from stored data; every download is on the access trail before it is served.
#include <httplib.h>
#include <spdlog/spdlog.h>

#include <thread>

#include "common/bytes.h"
#include "evidence/bundle.h"
#include "log/merkle.h"
#include "log/tlog.h"
#include "mime/canonical.h"
#include "pipeline/ingest.h"
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

notary::BundleBlock ToBundleBlock(const storage::BlockRow& b,
                                  const std::vector<storage::TokenRow>& tokens) {
  notary::BundleBlock out;
  out.header = b.header;
  out.signature = b.signature;
  out.block_hash = b.block_hash;
  for (const auto& t : tokens) out.tokens.push_back({t.tsa, t.token});
  return out;
}

}  // namespace

void RegisterEvidenceRoutes(httplib::Server& s, HttpDeps& d, pipeline::Sealer& sealer) {
  s.Get(R"(/v1/messages/([^/]+)/evidence)", [&d, &sealer](const httplib::Request& req,
                                                          httplib::Response& res) {
    auto who = RequireScope(d.auth, req, res, "read");
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
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(wait_s);
    std::optional<notary::Receipt> row;
    while (true) {
      auto r = d.receipts.Get(id, who->tenant);
      if (!r.ok()) {
        res.set_header("Retry-After", "5");
        return SendError(res, 503, "unavailable", "database unavailable, try again later");
      }
      if (!r->has_value()) return SendError(res, 404, "not_found", "no such message");
      row = std::move(**r);
      if (row->leaf_index || std::chrono::steady_clock::now() >= deadline) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    if (!row->leaf_index) {
      res.set_header("Retry-After", "2");
      return SendError(res, 409, "not_sealed", "the message is not sealed yet; retry shortly");
    }
    std::optional<std::string> part = Param(req, "part");
    if (row->parts.size() > mime::kMaxParts) {
      // Only a receipt of canonical form version 1 can list more (version 2 stops at the
      // limit): its bundle would exceed what every reader accepts.
      return SendError(res, 413, "too_many_parts",
                       "the message lists more than " + std::to_string(mime::kMaxParts) +
                           " parts, more than a bundle may hold");
    }

    auto fail = [&res](const common::Error& e) {
      if (e.code() == common::ErrorCode::kUnavailable) {
        res.set_header("Retry-After", "5");
        return SendError(res, 503, "unavailable", "database unavailable, try again later");
      }
      spdlog::error("event=evidence_failed error=\"{}\"", e.ToString());
      return SendError(res, 500, "internal", "could not assemble the evidence");
    };
    storage::ChainStore& chain = sealer.chain();
    auto block = chain.BlockAt(*row->block_height);
    auto latest = chain.Latest();
    auto leaf = chain.Leaf(*row->leaf_index);
    auto raw = d.receipts.GetRaw(row->raw_sha256);
    if (!block.ok()) return fail(block.error());
    if (!latest.ok()) return fail(latest.error());
    if (!leaf.ok()) return fail(leaf.error());
    if (!raw.ok()) return fail(raw.error());
    if (!block->has_value() || !latest->has_value() || !leaf->has_value()) {
      return fail(common::Error::Internal("sealed receipt without its block or leaf"));
    }
    const storage::BlockRow& b = **block;
    const storage::BlockRow& head = **latest;

    notary::BundleInput in;
    in.receipt = *row;
    if (part) {
      if (!mime::IsSupportedCanonVersion(row->canon_version)) {
        return fail(common::Error::Internal("receipt of an unknown canonical form version"));
      }
      auto bytes = mime::ExtractPart(*raw, *part, row->canon_version);
      if (!bytes) return SendError(res, 404, "not_found", "the message has no part " + *part);
      in.disclosed_part = notary::DisclosedPart{*part, std::move(*bytes)};
    } else {
      in.message = *raw;
      if (!mime::IsSupportedCanonVersion(row->canon_version)) {
        return fail(common::Error::Internal("receipt of an unknown canonical form version"));
      }
      in.canonical_form = mime::Canonicalize(in.message, row->canon_version).canonical;
      // The journal report the message arrived in is evidence of its envelope; it carries
      // the whole message, so a part-only bundle never includes it.
      if (d.journal != nullptr) {
        auto report = d.journal->Get(row->id);
        if (!report.ok()) return fail(report.error());
        if (report->has_value()) in.journal_report = std::move((*report)->data);
      }
    }
    in.leaf_record = (*leaf)->first;
    in.leaf_index = static_cast<uint64_t>(*row->leaf_index);
    in.leaf_hash = (*leaf)->second;

    auto batch = chain.BlockLeafHashes(b.height);
    if (!batch.ok()) return fail(batch.error());
    in.batch_index = in.leaf_index - static_cast<uint64_t>(b.first_leaf);
    in.batch_size = batch->size();
    auto batch_proof = notary::InclusionProof(*batch, in.batch_index);
    if (!batch_proof.ok()) return fail(batch_proof.error());
    in.batch_proof = std::move(*batch_proof);

    auto tokens = chain.Tokens(b.height);
    if (!tokens.ok()) return fail(tokens.error());
    if (tokens->empty()) {
      res.set_header("Retry-After", "5");
      return SendError(res, 409, "not_timestamped",
                       "the message's block has no time-stamp token yet; retry shortly");
    }
    in.block = ToBundleBlock(b, *tokens);
    if (b.height > 0) {
      auto prev = chain.BlockAt(b.height - 1);
      auto prev_tokens = chain.Tokens(b.height - 1);
      if (!prev.ok()) return fail(prev.error());
      if (!prev_tokens.ok()) return fail(prev_tokens.error());
      if (prev->has_value()) in.previous_block = ToBundleBlock(**prev, *prev_tokens);
    }
    in.checkpoint = head.checkpoint;
    auto cp_proof = notary::tlog::InclusionProof(
        in.leaf_index, static_cast<uint64_t>(head.tree_size), chain.Tiles());
    if (!cp_proof.ok()) return fail(cp_proof.error());
    in.checkpoint_proof = std::move(*cp_proof);

    auto keys = d.admin.ListSigningKeys();
    if (!keys.ok()) return fail(keys.error());
    for (const auto& k : *keys) {
      in.keys.push_back({k.key_id, k.public_pem, k.fingerprint, k.valid_from_us, k.valid_until_us});
    }
    in.tsa_chain_pem = sealer.tsa().certs_pem();
    in.tsa_ca_pem = sealer.tsa().ca_pem() + sealer.tsa().external_ca_pem();
    in.issued_to = "API key " + who->key_id + " (tenant " + who->tenant + ")";
    in.issued_at_us = pipeline::NowUs();
    in.lang = lang;

    // On the trail before it leaves: no trail, no download.
    storage::AccessEntry e;
    e.key_id = who->key_id;
    e.tenant = who->tenant;
    e.route = "GET /v1/messages/{id}/evidence";
    e.receipt_id = row->id;
    e.client_ip = req.remote_addr;
    e.detail = part ? "part=" + *part : "full";
    if (auto st = d.admin.LogAccess(e); !st.ok()) return fail(st.error());

    auto zip = notary::BuildBundleZip(in);
    if (!zip.ok()) return fail(zip.error());
    res.set_header("Content-Disposition", "attachment; filename=\"evidence-" + row->id +
                                              (part ? "-part-" + *part : "") + ".zip\"");
    res.set_content(std::move(*zip), "application/zip");
  });
}

}  // namespace http
