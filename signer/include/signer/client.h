// Client: notaryd's end of notary-signer's socket, as a notary::ChainSigner. One connection,
// opened on first use and again after any failure; every call has a deadline, so a stalled
// signer pauses sealing instead of hanging it. A refusal comes back as the error the signer
// gave (conflict, denied, invalid); a signer that cannot be reached as kUnavailable.
// Answers are checked, not trusted: a block signature must verify under the current key and a
// checkpoint note must open under it before they are returned.
//
// Thread-safety: thread-safe (one request at a time on the connection).
#pragma once

#include <mutex>
#include <optional>
#include <span>
#include <string>

#include "common/thread_annotations.h"
#include "log/chain_signer.h"
#include "signer/frame.h"
#include "signer/key_list.h"
#include "vault/key_wrapper.h"

namespace signer {

struct ClientOptions {
  std::string socket_path;
  int timeout_ms = 10'000;  // per request, connect included
};

class Client final : public notary::ChainSigner, public vault::KeyHolder {
 public:
  explicit Client(ClientOptions options) : options_(std::move(options)) {}
  ~Client() override;

  common::Result<KeyList> ListKeys() EXCLUDES(mu_);
  common::Result<KeyList> RotateKey() EXCLUDES(mu_);

  common::Result<notary::Ed25519PublicKey> CurrentKey() override EXCLUDES(mu_);
  common::Result<notary::Ed25519Signature> SignBlock(const notary::BlockHeader& header) override
      EXCLUDES(mu_);
  common::Result<std::string> SignCheckpoint(const notary::Checkpoint& checkpoint,
                                             std::string_view name) override EXCLUDES(mu_);
  common::Result<std::optional<std::string>> LastSignedHeader() override EXCLUDES(mu_);
  // The built-in TSA's signature (DER ECDSA) over `signed_attrs_der`, which must cover
  // `tst_info_der` (notary::TsaSignFn).
  common::Result<std::string> SignTimestamp(std::string_view signed_attrs_der,
                                            std::string_view tst_info_der) EXCLUDES(mu_);
  // The document key's signature over certificate.pdf's signed attributes
  // (document_signing.h); pdf::SignPades checks it against the certificate.
  common::Result<std::string> SignDocument(std::string_view signed_attrs_der) EXCLUDES(mu_);
  // Encryption at rest: the tenant's public key (wrapping needs nothing else), and data keys
  // unwrapped with its private half, which stays in the signer.
  common::Result<vault::TenantKey> PublicKeyFor(const std::string& tenant) override EXCLUDES(mu_);
  common::Result<std::vector<vault::Key>> Unwrap(const std::string& tenant,
                                                 const std::string& kek_id,
                                                 std::span<const std::string> wrapped) override
      EXCLUDES(mu_);
  // A new key pair for the tenant; the signer answers it on its admin socket only.
  common::Result<vault::TenantKey> Rotate(const std::string& tenant) override EXCLUDES(mu_);
  // An earlier key pair deleted; on the admin socket only.
  common::Status Destroy(const std::string& tenant, const std::string& kek_id) override
      EXCLUDES(mu_);

 private:
  // Sends one request and reads its answer; a kRefused answer becomes its error.
  common::Result<Frame> Call(Kind kind, std::string_view body) EXCLUDES(mu_);
  common::Result<Frame> CallLocked(Kind kind, std::string_view body) REQUIRES(mu_);
  void CloseLocked() REQUIRES(mu_);

  const ClientOptions options_;
  common::Mutex mu_;
  int fd_ GUARDED_BY(mu_) = -1;
  // The current key from the last key list: checks a checkpoint note without asking again.
  std::optional<notary::Ed25519PublicKey> current_ GUARDED_BY(mu_);
};

// "unix:/path" → "/path"; kInvalidInput for anything else.
common::Result<std::string> ParseSignerAddress(std::string_view address);

}  // namespace signer
