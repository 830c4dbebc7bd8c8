// Service: notary-signer's answer to one request frame, without sockets (server.h carries the
// bytes). It checks the request against the Policy, signs with the KeyRing, records what it
// signed durably and only then answers; anything else is refused and logged.
//
// A refusal's body is "<reason> <why>" where <reason> is one of
//   invalid      the request does not parse (a malformed header or checkpoint)
//   denied       not what this signer signs (another key, another origin, off its clock)
//   conflict     it would go back: a height that is not the next, a fork, a shrinking checkpoint
//   unavailable  the signer cannot record it (its disk) or sign (its token); retry later
//   unsupported  a kind the signer does not serve
// so the client can tell a refusal from an outage.
//
// Thread-safety: not thread-safe; one request at a time.
#pragma once

#include <memory>
#include <string>

#include "common/result.h"
#include "signer/document_signing.h"
#include "signer/frame.h"
#include "signer/key_ring.h"
#include "signer/policy.h"
#include "signer/tsa_key.h"
#include "vault/key_wrapper.h"

namespace signer {

// The built-in TSA's key and certificates, when the signer holds them.
struct TsaSigning {
  std::unique_ptr<TsaKey> key;
  std::string cert_pem;   // the TSA certificate
  std::string chain_pem;  // the TSA certificate, then the root
  const common::Clock* clock = &common::Clock::System();
  int64_t max_clock_skew_us = 300'000'000;
};

class Service {
 public:
  // `policy` must name ring.current()'s key id.
  // `keks`: the tenants' key-encryption keys (tenant-key, unwrap-keys); none, and those
  // requests are refused as unsupported.
  Service(KeyRing ring, Policy policy, std::optional<TsaSigning> tsa = std::nullopt,
          std::unique_ptr<vault::KeyHolder> keks = nullptr)
      : ring_(std::move(ring)),
        policy_(std::move(policy)),
        tsa_(std::move(tsa)),
        keks_(std::move(keks)) {}

  // The answer frame. `peer` names the caller in the log (e.g. "uid=998 pid=123"); only a
  // request from the operator's `admin` socket may rotate keys.
  Frame Handle(const Frame& request, const std::string& peer, bool admin = false);

  KeyList Keys() const;

  // The operator's document key (sign-document); none, and those requests are refused as
  // unsupported.
  void set_document(DocumentSigning document) { document_ = std::move(document); }

 private:
  common::Result<Frame> Answer(const Frame& request, bool admin);
  common::Result<Frame> SignBlock(const std::string& encoded);
  common::Result<Frame> SignCheckpoint(const std::string& text);
  common::Result<Frame> SignTimestamp(std::string_view body);
  common::Result<Frame> TenantKey(std::string_view body);
  common::Result<Frame> UnwrapKeys(std::string_view body);
  common::Result<Frame> RotateTenantKey(std::string_view body);
  common::Result<Frame> DestroyTenantKey(std::string_view body);
  common::Result<Frame> SignDocument(std::string_view body);

  KeyRing ring_;
  Policy policy_;
  std::optional<TsaSigning> tsa_;
  std::unique_ptr<vault::KeyHolder> keks_;
  std::optional<DocumentSigning> document_;
};

// The refusal body for `error` (see above) and back.
std::string RefusalBody(const common::Error& error);
common::Error RefusalError(std::string_view body);

}  // namespace signer
