// Public, read-only routes over the sealed chain: checkpoint, keys, blocks, proofs, tiles,
// and the RFC 3161 time-stamp authority.
#include <httplib.h>
#include <openssl/x509.h>
#include <spdlog/spdlog.h>

#include <memory>
#include <mutex>

#include "common/bytes.h"
#include "common/ossl.h"
#include "common/sha256.h"
#include "common/time.h"
#include "log/checkpoint.h"
#include "log/ed25519.h"
#include "log/tlog.h"
#include "pipeline/checkpoint_publisher.h"
#include "pipeline/ingest.h"
#include "pipeline/production_certificate.h"
#include "pipeline/sealer.h"
#include "pipeline/tsa_service.h"
#include "routes.h"
#include "tsa/token.h"
#include "util.h"

namespace http {
namespace {

using nlohmann::json;

json HashList(const std::vector<common::Hash>& hashes) {
  json a = json::array();
  for (const auto& h : hashes) a.push_back(common::ToHex(h));
  return a;
}

}  // namespace

json BlockJson(const storage::BlockRow& b, const std::vector<storage::TokenRow>& tokens,
               const std::vector<storage::ChainStore::MissingToken>& missing) {
  json ts = json::array();
  for (const auto& t : tokens) {
    ts.push_back({{"tsa", t.tsa},
                  {"own", t.tsa == pipeline::TsaService::kLocalName},
                  {"gen_time", common::FormatRfc3339Micros(t.gen_time_us)},
                  {"token", common::Base64Encode(t.token)},
                  {"status", "verified"}});
  }
  for (const auto& m : missing) {
    ts.push_back({{"tsa", m.tsa},
                  {"own", m.tsa == pipeline::TsaService::kLocalName},
                  {"gen_time", nullptr},
                  {"token", nullptr},
                  {"status", "missing"},
                  {"attempts", m.attempts}});
  }
  return {{"height", b.height},
          {"prev_hash", common::ToHex(b.prev_hash)},
          {"batch_root", common::ToHex(b.batch_root)},
          {"first_leaf_index", b.first_leaf},
          {"leaf_count", b.leaf_count},
          {"tree_size", b.tree_size},
          {"tree_root", common::ToHex(b.tree_root)},
          {"sealed_at", common::FormatRfc3339Micros(b.sealed_at_us)},
          {"sealed_at_us", b.sealed_at_us},
          {"key_id", b.key_id},
          {"header", common::ToHex(common::AsBytes(b.header))},
          {"signature", common::ToHex(common::AsBytes(b.signature))},
          {"block_hash", common::ToHex(b.block_hash)},
          {"timestamps", ts},
          {"status", missing.empty() ? "complete" : "timestamps_missing"}};
}

// The certificate that signs certificate.pdf (--document-cert), so that a reader can compare
// what notary-verify and pdfsig say signed a PDF with what the operator publishes: its
// subject, the SHA-256 of its DER (notary-verify's "fingerprint"), and the chain as PEM. null
// when PDFs are issued unsigned.
json DocumentJson(const pipeline::CertificateOptions* certificate) {
  if (certificate == nullptr || !certificate->signer.sign ||
      certificate->signer.chain_der.empty()) {
    return nullptr;
  }
  json pems = json::array();
  std::string subject;
  for (const std::string& der : certificate->signer.chain_der) {
    const auto* p = reinterpret_cast<const unsigned char*>(der.data());
    common::X509Ptr cert(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
    // Checked at start (LoadDocumentChain); an unreadable one here is a bug, not an input.
    std::string pem = cert ? common::CertificatePem(cert.get()) : std::string();
    if (pem.empty()) return nullptr;
    pems.push_back(std::move(pem));
    if (pems.size() == 1) {  // the signer's subject, as notary-verify prints it
      subject = common::NameRfc2253(X509_get_subject_name(cert.get()));
    }
  }
  return json{{"subject", subject},
              {"fingerprint_sha256",
               common::ToHex(common::Sha256Of(certificate->signer.chain_der.front()))},
              {"certificates_pem", pems}};
}

// An error when the keys cannot be read: an empty list would read as "this notary publishes
// no such key", which a verifier takes for a forgery.
common::Result<json> KeysJson(storage::AdminStore& admin, pipeline::Sealer& sealer,
                              const json& document) {
  json keys = json::array();
  ASSIGN_OR_RETURN(std::vector<storage::KeyRow> rows, admin.ListSigningKeys());
  {
    for (const auto& k : rows) {
      json entry = {
          {"key_id", k.key_id},
          {"algorithm", k.algorithm},
          {"public_key_pem", k.public_pem},
          {"fingerprint_sha256", k.fingerprint},
          {"valid_from", common::FormatRfc3339Micros(k.valid_from_us)},
          {"valid_until",
           k.valid_until_us ? json(common::FormatRfc3339Micros(*k.valid_until_us)) : json()}};
      auto pub = notary::ParseEd25519PublicKey(k.public_key);
      if (pub.ok()) {
        auto vkey = notary::MakeNoteVerifierKey(sealer.origin(), *pub);
        if (vkey.ok()) entry["note_verifier_key"] = vkey->ToString();
      }
      keys.push_back(entry);
    }
  }
  return json{{"origin", sealer.origin()},
              {"keys", keys},
              {"tsa",
               {{"certificates_pem", sealer.tsa().certs_pem()},
                {"ca_pem", sealer.tsa().ca_pem()},
                {"external", sealer.tsa_urls()},
                {"builtin", sealer.builtin_tsa()},
                {"quorum", sealer.tsa_quorum()}}},
              {"document", document}};
}

void RegisterChainRoutes(httplib::Server& s, HttpDeps& d, const HttpOptions& options) {
  if (d.tsa != nullptr) {
    pipeline::TsaService* tsa = d.tsa;
    const bool open = options.public_tsa;
    s.Post("/v1/tsa", [tsa, &d, open](const httplib::Request& req, httplib::Response& res) {
      // Each reply is a signature by the TSA key over a hash the caller chose: not for anyone
      // on the network unless the operator says so (--public-tsa). The scope is checked first,
      // so a stranger learns nothing about the body's handling.
      if (!open && !RequireScope(d, req, res, "tsa")) return;
      const std::string ctype = req.get_header_value("Content-Type");
      if (ctype.rfind("application/timestamp-query", 0) != 0) {
        return SendError(res, 400, "bad_content_type",
                         "send Content-Type: application/timestamp-query");
      }
      // One parse: the responder says when the body is not a TimeStampReq at all.
      auto reply = tsa->RespondToQuery(req.body);
      if (!reply.ok() && reply.error().code() == common::ErrorCode::kInvalidInput) {
        return SendError(res, 400, "bad_request", "the body is not a DER TimeStampReq");
      }
      if (!reply.ok()) return SendErrorFor(res, reply.error());
      d.metrics.tsa_replies.fetch_add(1, std::memory_order_relaxed);
      res.set_content(*reply, "application/timestamp-reply");
    });
    s.Get("/v1/tsa/certs", [tsa](const httplib::Request&, httplib::Response& res) {
      res.set_content(tsa->certs_pem(), "application/pem-certificate-chain");
    });
  }
  if (d.sealer == nullptr) return;
  pipeline::Sealer* sealer = d.sealer;
  // A read route: `fn` gets the chain store to read, the replica's when it is as fresh as the
  // primary (PickReadStores), for the whole request.
  auto reading = [&d](auto fn) {
    return [&d, fn](const httplib::Request& req, httplib::Response& res) {
      storage::ReadReplica::Scope scope;
      auto reads = PickReadStores(d, scope);
      if (!reads.ok()) return SendErrorFor(res, reads.error());
      fn(reads->chain, req, res);
    };
  };
  RegisterEvidenceRoutes(s, d, *sealer, options.evidence_wait_recheck);
  RegisterCaseExportRoute(s, d, *sealer);

  s.Get("/v1/checkpoint",
        reading([&d](storage::ChainStore* chain, const httplib::Request&, httplib::Response& res) {
          if (d.publisher != nullptr) {
            // Published only once the witness quorum cosigned it (docs/trust.md).
            auto cosigned = chain->LatestCosignedCheckpoint();
            if (!cosigned.ok()) return SendErrorFor(res, cosigned.error());
            if (!cosigned->has_value()) {
              res.set_header("Retry-After", "10");
              return SendError(res, 503, "not_cosigned",
                               "no checkpoint has been cosigned by " +
                                   std::to_string(d.publisher->quorum()) + " witnesses yet");
            }
            return res.set_content((*cosigned)->checkpoint, "text/plain; charset=utf-8");
          }
          auto latest = chain->Latest();
          if (!latest.ok()) return SendErrorFor(res, latest.error());
          if (!latest->has_value()) return SendError(res, 404, "not_found", "no block sealed yet");
          res.set_content((*latest)->checkpoint, "text/plain; charset=utf-8");
        }));

  // The document chain is fixed at start: parsed once, on the first request (the route needs
  // no key, so it should cost little).
  struct Document {
    std::once_flag once;
    json value;
  };
  auto document = std::make_shared<Document>();
  s.Get("/v1/keys", [&d, sealer, document](const httplib::Request&, httplib::Response& res) {
    std::call_once(document->once, [&] { document->value = DocumentJson(d.certificate); });
    auto keys = KeysJson(d.admin, *sealer, document->value);
    if (!keys.ok()) return SendErrorFor(res, keys.error());
    SendJson(res, *keys);
  });

  auto block_route = [](storage::ChainStore* chain, const std::optional<storage::BlockRow>& b,
                        httplib::Response& res) {
    if (!b) return SendError(res, 404, "not_found", "no such block");
    auto tokens = chain->Tokens(b->height);
    auto missing = chain->MissingTokens(b->height);
    if (!tokens.ok()) return SendErrorFor(res, tokens.error());
    if (!missing.ok()) return SendErrorFor(res, missing.error());
    SendJson(res, BlockJson(*b, *tokens, *missing));
  };
  s.Get("/v1/blocks/latest",
        reading([block_route](storage::ChainStore* chain, const httplib::Request&,
                              httplib::Response& res) {
          auto b = chain->Latest();
          if (!b.ok()) return SendErrorFor(res, b.error());
          block_route(chain, *b, res);
        }));
  s.Get(R"(/v1/blocks/(\d{1,18}))",
        reading([block_route](storage::ChainStore* chain, const httplib::Request& req,
                              httplib::Response& res) {
          auto b = chain->BlockAt(static_cast<int64_t>(std::stoll(req.matches[1])));
          if (!b.ok()) return SendErrorFor(res, b.error());
          block_route(chain, *b, res);
        }));

  s.Get("/v1/proofs/inclusion", reading([](storage::ChainStore* chain, const httplib::Request& req,
                                           httplib::Response& res) {
          auto index = ParseU64(req.get_param_value("leaf_index"));
          auto size = ParseU64(req.get_param_value("tree_size"));
          if (!index || !size || *index >= *size) {
            return SendError(res, 400, "bad_query", "need leaf_index < tree_size, both integers");
          }
          auto latest = chain->Latest();
          if (!latest.ok()) return SendErrorFor(res, latest.error());
          // Compared as unsigned: a tree_size above 2^63 is larger than any log, not a negative
          // one.
          if (!latest->has_value() || *size > static_cast<uint64_t>((*latest)->tree_size)) {
            return SendError(res, 400, "bad_query", "tree_size is larger than the log");
          }
          auto proof = notary::tlog::InclusionProof(*index, *size, chain->Tiles());
          if (!proof.ok()) return SendErrorFor(res, proof.error(), "bad_query");
          auto leaf = notary::tlog::LeafHash(*index, *size, chain->Tiles());
          if (!leaf.ok()) return SendErrorFor(res, leaf.error(), "bad_query");
          auto root = notary::tlog::TreeRoot(*size, chain->Tiles());
          if (!root.ok()) return SendErrorFor(res, root.error(), "bad_query");
          SendJson(res, {{"leaf_index", *index},
                         {"tree_size", *size},
                         {"leaf_hash", common::ToHex(*leaf)},
                         {"hashes", HashList(*proof)},
                         {"root", common::ToHex(*root)}});
        }));

  s.Get("/v1/proofs/consistency", reading([](storage::ChainStore* chain,
                                             const httplib::Request& req, httplib::Response& res) {
          auto first = ParseU64(req.get_param_value("first"));
          auto second = ParseU64(req.get_param_value("second"));
          if (!first || !second || *first == 0 || *first > *second) {
            return SendError(res, 400, "bad_query", "need 0 < first <= second, both integers");
          }
          auto latest = chain->Latest();
          if (!latest.ok()) return SendErrorFor(res, latest.error());
          if (!latest->has_value() || *second > static_cast<uint64_t>((*latest)->tree_size)) {
            return SendError(res, 400, "bad_query", "second is larger than the log");
          }
          auto proof = notary::tlog::ConsistencyProof(*first, *second, chain->Tiles());
          if (!proof.ok()) return SendErrorFor(res, proof.error(), "bad_query");
          SendJson(res, {{"first", *first}, {"second", *second}, {"hashes", HashList(*proof)}});
        }));

  // C2SP tlog-tiles: hash tiles only; leaf records are not published.
  s.Get(
      R"(/tile/(.+))",
      reading([](storage::ChainStore* chain, const httplib::Request& req, httplib::Response& res) {
        auto id = notary::tlog::ParseTilePath("tile/" + std::string(req.matches[1]));
        if (!id.ok()) return SendError(res, 404, "not_found", "no such tile");
        auto latest = chain->Latest();
        if (!latest.ok()) return SendErrorFor(res, latest.error());
        // A tile exists only once the tree has grown past it.
        const uint64_t size = latest->has_value() ? static_cast<uint64_t>((*latest)->tree_size) : 0;
        bool exists = false;
        for (const auto& t : notary::tlog::PartialTiles(size)) exists = exists || t == *id;
        if (!exists && id->full()) {
          // (index + 1) * 256^(level + 1) <= size, without overflow: from level 7 on, the span
          // alone passes 2^64, and no log is that large.
          uint64_t span = 1;
          bool overflow = false;
          for (int l = 0; l <= id->level && !overflow; ++l) {
            overflow = __builtin_mul_overflow(span, uint64_t{notary::tlog::kTileWidth}, &span);
          }
          uint64_t end = 0;
          overflow = overflow || id->index == UINT64_MAX ||
                     __builtin_mul_overflow(id->index + 1, span, &end);
          exists = !overflow && end <= size;
        }
        if (!exists) return SendError(res, 404, "not_found", "no such tile");
        notary::tlog::TileId want = *id;
        auto data = chain->Tiles().ReadTiles(std::span<const notary::tlog::TileId>(&want, 1));
        if (!data.ok()) return SendErrorFor(res, data.error(), "bad_query");
        res.headers.erase("Cache-Control");
        res.set_header("Cache-Control", "public, max-age=31536000, immutable");
        res.set_content((*data)[0].substr(0, 32u * id->width), "application/octet-stream");
      }));
}

}  // namespace http
