// TsaService: the built-in RFC 3161 authority (key and certificate from configured PEM files,
// or a local CA and TSA certificate generated in the data directory on first start) and the
// client side that asks external authorities (--tsa-url) for tokens over block hashes,
// verifying each token on receipt.
//
// With notary-signer the responder is made on first use, when the signer answers (it signs
// one test token); until then every use answers kUnavailable, so notaryd starts and takes
// mail while the signer is down.
//
// Thread-safety: thread-safe (the responder is safe for concurrent use).
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/bytes.h"
#include "common/clock.h"
#include "common/result.h"
#include "common/thread_annotations.h"
#include "tsa/token.h"
#include "tsa_authority/responder.h"

namespace pipeline {

// Sends a DER TimeStampReq to an RFC 3161 authority (POST, application/timestamp-query) and
// returns the body of its 200 reply; kUnavailable when it cannot be reached or answers
// otherwise. The HTTP front end provides one (http/tsa_transport.h): pipeline opens no sockets.
using TsaTransport =
    std::function<common::Result<std::string>(const std::string& url, std::string_view query_der)>;

struct TsaFiles {
  std::string data_dir;
  std::string key, cert, chain;  // configured PEM files; empty: generate in data_dir/tsa
  std::string policy;            // empty: the default policy OID
  // PEM files trusting the external TSAs (one per authority, or one bundle): a reply is
  // accepted when its signer chains to any of them.
  std::vector<std::string> external_cas;
  // notary-signer holds the key (notaryd --signer): its certificates (the TSA's, then the
  // root, PEM) and the function that asks it to sign. The key and cert files above stay empty
  // and nothing is generated in data_dir.
  std::string signer_chain_pem = {};
  notary::TsaSignFn sign = nullptr;
  // The time of the tokens' genTime and of a generated CA's validity.
  const common::Clock* clock = &common::Clock::System();
};

class TsaService {
 public:
  // Without a transport, StampExternal answers kUnavailable.
  static common::Result<std::unique_ptr<TsaService>> Create(const TsaFiles& files,
                                                            TsaTransport transport = nullptr);

  // The reply to a DER TimeStampReq (see notary::TsaResponder::Respond).
  common::Result<std::string> Respond(std::string_view query_der) const;
  // The same for an unchecked HTTP body: kInvalidInput when it is not a TimeStampReq.
  common::Result<std::string> RespondToQuery(std::string_view body) const;
  // A verified token over `digest` (SHA-256) from the built-in authority.
  common::Result<notary::TokenInfo> StampLocal(const common::Hash& digest) const;
  // Asks an external authority through the transport and verifies its reply.
  common::Result<notary::TokenInfo> StampExternal(const std::string& url,
                                                  const common::Hash& digest) const;

  const std::string& certs_pem() const { return certs_pem_; }  // TSA certificate + chain
  const std::string& ca_pem() const { return ca_pem_; }        // trust anchor for local tokens
  const std::string& external_ca_pem() const { return external_ca_pem_; }
  static constexpr const char* kLocalName = "local";

 private:
  using ResponderFactory = std::function<common::Result<notary::TsaResponder>()>;
  // One of `made` (a key file, checked at start) and `factory` (notary-signer).
  TsaService(std::optional<notary::TsaResponder> made, ResponderFactory factory, std::string certs,
             std::string ca, std::string external_ca, TsaTransport transport)
      : factory_(std::move(factory)),
        responder_(std::move(made)),
        certs_pem_(std::move(certs)),
        ca_pem_(std::move(ca)),
        external_ca_pem_(std::move(external_ca)),
        transport_(std::move(transport)) {}
  // The responder, made on first use; kUnavailable while it cannot be made.
  common::Result<const notary::TsaResponder*> Responder() const EXCLUDES(mu_);

  const ResponderFactory factory_;
  mutable common::Mutex mu_;
  mutable std::optional<notary::TsaResponder> responder_ GUARDED_BY(mu_);
  std::string certs_pem_, ca_pem_, external_ca_pem_;
  TsaTransport transport_;
};

}  // namespace pipeline
