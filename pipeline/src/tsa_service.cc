#include "pipeline/tsa_service.h"

#include <spdlog/spdlog.h>

#include "pipeline/ingest.h"
#include "pipeline/key_files.h"
#include "tsa/client.h"
#include "tsa_authority/local_ca.h"

namespace pipeline {

common::Result<std::unique_ptr<TsaService>> TsaService::Create(const TsaFiles& f,
                                                               TsaTransport transport) {
  std::string key, cert, chain, ca;
  if (!f.key.empty() || !f.cert.empty()) {
    if (f.key.empty() || f.cert.empty()) {
      return common::Error::InvalidInput("--tsa-key and --tsa-cert go together");
    }
    auto k = ReadTextFile(f.key);
    auto c = ReadTextFile(f.cert);
    if (!k.ok()) return k.error();
    if (!c.ok()) return c.error();
    key = *k;
    cert = *c;
    if (!f.chain.empty()) {
      ASSIGN_OR_RETURN(auto ch, ReadTextFile(f.chain));
      chain = ch;
    }
    ca = chain.empty() ? cert : chain;
  } else {
    const std::string dir = f.data_dir + "/tsa";
    RETURN_IF_ERROR(EnsurePrivateDir(dir));
    const std::string key_path = dir + "/tsa.key.pem", cert_path = dir + "/tsa.pem",
                      ca_path = dir + "/ca.pem", ca_key_path = dir + "/ca.key.pem";
    if (!FileExists(key_path)) {
      ASSIGN_OR_RETURN(auto made, notary::GenerateLocalTsa("Email Notary", f.clock->NowMicros()));
      for (auto st : {WriteSecretFile(ca_key_path, made.ca_key_pem),
                      WritePublicFile(ca_path, made.ca_cert_pem),
                      WritePublicFile(cert_path, made.tsa_cert_pem),
                      WriteSecretFile(key_path, made.tsa_key_pem)}) {
        if (!st.ok()) return st.error();
      }
      spdlog::info("event=tsa_generated dir={} note=\"created a local CA and TSA certificate\"",
                   dir);
    }
    auto k = ReadTextFile(key_path);
    auto c = ReadTextFile(cert_path);
    auto a = ReadTextFile(ca_path);
    if (!k.ok()) return k.error();
    if (!c.ok()) return c.error();
    if (!a.ok()) return a.error();
    key = *k;
    cert = *c;
    chain = *a;
    ca = *a;
  }
  notary::TsaResponderOptions opts;
  if (!f.policy.empty()) opts.policy_oid = f.policy;
  opts.clock = [clock = f.clock] { return clock->NowMicros(); };
  ASSIGN_OR_RETURN(auto responder, notary::TsaResponder::Create(key, cert, chain, opts));
  std::string external_ca;
  if (!f.external_ca.empty()) {
    ASSIGN_OR_RETURN(auto e, ReadTextFile(f.external_ca));
    external_ca = e;
  }
  return std::unique_ptr<TsaService>(
      new TsaService(std::move(responder), cert + chain, ca, external_ca, std::move(transport)));
}

common::Result<std::string> TsaService::Respond(std::string_view query_der) const {
  return responder_.Respond(query_der);
}

common::Result<notary::TokenInfo> TsaService::StampLocal(const common::Hash& digest) const {
  auto query =
      notary::CreateQuery(notary::TsaHashAlg::kSha256, digest, notary::RandomTsaNonce(), true);
  if (!query.ok()) return query.error();
  ASSIGN_OR_RETURN(auto reply, responder_.Respond(*query));
  return notary::VerifyReply(reply, *query, ca_pem_, certs_pem_);
}

common::Result<notary::TokenInfo> TsaService::StampExternal(const std::string& url,
                                                            const common::Hash& digest) const {
  auto query =
      notary::CreateQuery(notary::TsaHashAlg::kSha256, digest, notary::RandomTsaNonce(), true);
  if (!query.ok()) return query.error();
  if (!transport_) return common::Error::Unavailable("no transport to reach external TSAs");
  ASSIGN_OR_RETURN(std::string reply, transport_(url, *query));
  if (external_ca_pem_.empty()) {
    return common::Error::InvalidInput("no --tsa-ca given: cannot verify external tokens");
  }
  return notary::VerifyReply(reply, *query, external_ca_pem_, "");
}

}  // namespace pipeline
