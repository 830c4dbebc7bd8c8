#include "pipeline/tsa_service.h"

#include <spdlog/spdlog.h>

#include "pipeline/ingest.h"
#include "pipeline/key_files.h"
#include "tsa/client.h"
#include "tsa_authority/local_ca.h"

namespace pipeline {

common::Result<std::unique_ptr<TsaService>> TsaService::Create(const TsaFiles& f,
                                                               TsaTransport transport) {
  notary::TsaResponderOptions opts;
  if (!f.policy.empty()) opts.policy_oid = f.policy;
  opts.clock = [clock = f.clock] { return clock->NowMicros(); };
  std::string external_ca;
  for (const std::string& file : f.external_cas) {
    ASSIGN_OR_RETURN(auto e, ReadTextFile(file));
    if (!external_ca.empty() && external_ca.back() != '\n') external_ca += '\n';
    external_ca += e;
  }
  if (f.sign) {
    if (!f.key.empty() || !f.cert.empty()) {
      return common::Error::InvalidInput("--tsa-key/--tsa-cert and --signer exclude each other");
    }
    // The signer's chain is its TSA certificate, then the root: the trust anchor.
    const std::string end = "-----END CERTIFICATE-----\n";
    const size_t cut = f.signer_chain_pem.find(end);
    if (cut == std::string::npos || cut + end.size() >= f.signer_chain_pem.size()) {
      return common::Error::InvalidInput("notary-signer sent no TSA certificate chain");
    }
    std::string cert = f.signer_chain_pem.substr(0, cut + end.size());
    std::string root = f.signer_chain_pem.substr(cut + end.size());
    ResponderFactory factory = [cert, root, sign = f.sign, opts] {
      return notary::TsaResponder::CreateWithSigner(cert, root, sign, opts);
    };
    return std::unique_ptr<TsaService>(new TsaService(std::nullopt, std::move(factory),
                                                      f.signer_chain_pem, root, external_ca,
                                                      std::move(transport)));
  }
  std::string key, cert, chain, ca;
  if (!f.key.empty() || !f.cert.empty()) {
    if (f.key.empty() || f.cert.empty()) {
      return common::Error::InvalidInput("--tsa-key and --tsa-cert go together");
    }
    ASSIGN_OR_RETURN(key, ReadTextFile(f.key));
    ASSIGN_OR_RETURN(cert, ReadTextFile(f.cert));
    if (!f.chain.empty()) {
      ASSIGN_OR_RETURN(chain, ReadTextFile(f.chain));
    }
    ca = chain.empty() ? cert : chain;
  } else {
    const std::string dir = f.data_dir + "/tsa";
    RETURN_IF_ERROR(EnsurePrivateDir(dir));
    const std::string key_path = dir + "/tsa.key.pem", cert_path = dir + "/tsa.pem",
                      ca_path = dir + "/ca.pem", ca_key_path = dir + "/ca.key.pem";
    if (!FileExists(key_path)) {
      ASSIGN_OR_RETURN(auto made, notary::GenerateLocalTsa("Email Notary", f.clock->NowMicros()));
      // The key file last: it is what marks the set complete on the next start.
      RETURN_IF_ERROR(WriteSecretFile(ca_key_path, made.ca_key_pem));
      RETURN_IF_ERROR(WritePublicFile(ca_path, made.ca_cert_pem));
      RETURN_IF_ERROR(WritePublicFile(cert_path, made.tsa_cert_pem));
      RETURN_IF_ERROR(WriteSecretFile(key_path, made.tsa_key_pem));
      spdlog::info("event=tsa_generated dir={} note=\"created a local CA and TSA certificate\"",
                   dir);
    }
    ASSIGN_OR_RETURN(key, ReadTextFile(key_path));
    ASSIGN_OR_RETURN(cert, ReadTextFile(cert_path));
    ASSIGN_OR_RETURN(chain, ReadTextFile(ca_path));
    ca = chain;
  }
  // A key in the data directory is checked now: a bad file stops the start.
  ASSIGN_OR_RETURN(auto responder, notary::TsaResponder::Create(key, cert, chain, opts));
  return std::unique_ptr<TsaService>(new TsaService(std::move(responder), nullptr, cert + chain, ca,
                                                    external_ca, std::move(transport)));
}

common::Result<const notary::TsaResponder*> TsaService::Responder() const {
  common::MutexLock lock(mu_);
  if (!responder_) {
    if (!factory_) return common::Error::Internal("no TSA responder");
    auto made = factory_();
    if (!made.ok()) {
      return common::Error::Unavailable("the built-in TSA's signer is not ready: " +
                                        made.error().message());
    }
    responder_.emplace(std::move(*made));
  }
  return &*responder_;
}

common::Result<std::string> TsaService::Respond(std::string_view query_der) const {
  ASSIGN_OR_RETURN(const notary::TsaResponder* r, Responder());
  return r->Respond(query_der);
}

common::Result<std::string> TsaService::RespondToQuery(std::string_view body) const {
  ASSIGN_OR_RETURN(const notary::TsaResponder* r, Responder());
  return r->RespondToQuery(body);
}

common::Result<notary::TokenInfo> TsaService::StampLocal(const common::Hash& digest) const {
  ASSIGN_OR_RETURN(const std::string query, notary::CreateQuery(notary::TsaHashAlg::kSha256, digest,
                                                                notary::RandomTsaNonce(), true));
  ASSIGN_OR_RETURN(auto reply, Respond(query));
  return notary::VerifyReply(reply, query, ca_pem_, certs_pem_);
}

common::Result<notary::TokenInfo> TsaService::StampExternal(const std::string& url,
                                                            const common::Hash& digest) const {
  ASSIGN_OR_RETURN(const std::string query, notary::CreateQuery(notary::TsaHashAlg::kSha256, digest,
                                                                notary::RandomTsaNonce(), true));
  if (!transport_) return common::Error::Unavailable("no transport to reach external TSAs");
  ASSIGN_OR_RETURN(std::string reply, transport_(url, query));
  if (external_ca_pem_.empty()) {
    return common::Error::InvalidInput("no --tsa-ca given: cannot verify external tokens");
  }
  return notary::VerifyReply(reply, query, external_ca_pem_, "");
}

}  // namespace pipeline
