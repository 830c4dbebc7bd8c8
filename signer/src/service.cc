#include "signer/service.h"

#include <openssl/crypto.h>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "log/block.h"
#include "log/checkpoint.h"
#include "signer/key_wrap_body.h"
#include "tsa_authority/tst_signing_check.h"

namespace signer {
namespace {

const char* KindName(Kind kind) {
  switch (kind) {
    case Kind::kListKeys:
      return "list-keys";
    case Kind::kSignBlock:
      return "sign-block";
    case Kind::kSignCheckpoint:
      return "sign-checkpoint";
    case Kind::kRotateKey:
      return "rotate-key";
    case Kind::kSignTimestamp:
      return "sign-timestamp";
    case Kind::kTenantKey:
      return "tenant-key";
    case Kind::kUnwrapKeys:
      return "unwrap-keys";
    case Kind::kSignDocument:
      return "sign-document";
    case Kind::kRotateTenantKey:
      return "rotate-tenant-key";
    case Kind::kDestroyTenantKey:
      return "destroy-tenant-key";
    default:
      return "answer-kind";
  }
}

// A refusal's text is ours, but it quotes fields of the request: keep it one printable line.
std::string OneLine(std::string_view s) {
  std::string out(s.substr(0, 400));
  for (char& c : out) {
    if (c < 0x20 || c >= 0x7f) c = '?';
  }
  return out;
}

}  // namespace

std::string RefusalBody(const common::Error& error) {
  const char* reason = "unavailable";
  switch (error.code()) {
    case common::ErrorCode::kInvalidInput:
    case common::ErrorCode::kTooLarge:
    case common::ErrorCode::kVerifyFailed:
      reason = "invalid";
      break;
    case common::ErrorCode::kPermissionDenied:
      reason = "denied";
      break;
    case common::ErrorCode::kConflict:
      reason = "conflict";
      break;
    case common::ErrorCode::kNotFound:
      reason = "unsupported";
      break;
    default:
      break;
  }
  return std::string(reason) + " " + OneLine(error.message());
}

common::Error RefusalError(std::string_view body) {
  const size_t sp = body.find(' ');
  const std::string_view reason = body.substr(0, sp);
  std::string why =
      "notary-signer refused: " + OneLine(sp == std::string_view::npos ? "" : body.substr(sp + 1));
  if (reason == "invalid") return common::Error::InvalidInput(why);
  if (reason == "denied") return common::Error::PermissionDenied(why);
  if (reason == "conflict") return common::Error::Conflict(why);
  if (reason == "unsupported") return common::Error::InvalidInput(why);
  return common::Error::Unavailable(why);
}

KeyList Service::Keys() const {
  KeyList list;
  list.keys = ring_.List();
  if (policy_.last_block()) list.last_block_header = policy_.last_block()->header;
  if (tsa_) list.tsa_chain_pem = tsa_->chain_pem;
  return list;
}

Frame Service::Handle(const Frame& request, const std::string& peer, bool admin) {
  auto answer = Answer(request, admin);
  if (answer.ok()) return std::move(*answer);
  const std::string body = RefusalBody(answer.error());
  spdlog::warn("event=signer_refused request={} peer=\"{}\" reason=\"{}\"", KindName(request.kind),
               peer, body);
  return Frame{Kind::kRefused, body};
}

common::Result<Frame> Service::Answer(const Frame& request, bool admin) {
  switch (request.kind) {
    case Kind::kListKeys:
      if (!request.body.empty()) return common::Error::InvalidInput("list-keys takes no body");
      return Frame{Kind::kKeys, EncodeKeyList(Keys())};
    case Kind::kSignBlock:
      return SignBlock(request.body);
    case Kind::kSignCheckpoint:
      return SignCheckpoint(request.body);
    case Kind::kSignTimestamp:
      return SignTimestamp(request.body);
    case Kind::kTenantKey:
      return TenantKey(request.body);
    case Kind::kUnwrapKeys:
      return UnwrapKeys(request.body);
    case Kind::kSignDocument:
      return SignDocument(request.body);
    case Kind::kRotateTenantKey:
      // As rotate-key: a compromised notaryd must not make key pairs at will.
      if (!admin) {
        return common::Error::PermissionDenied("rotate-tenant-key only on the admin socket");
      }
      return RotateTenantKey(request.body);
    case Kind::kDestroyTenantKey:
      if (!admin) {
        return common::Error::PermissionDenied("destroy-tenant-key only on the admin socket");
      }
      return DestroyTenantKey(request.body);
    case Kind::kRotateKey: {
      if (!request.body.empty()) return common::Error::InvalidInput("rotate-key takes no body");
      // notaryd's socket cannot rotate: a compromised notaryd could otherwise change the
      // published key at will, or grow the key list until it no longer fits an answer.
      if (!admin) return common::Error::PermissionDenied("rotate-key only on the admin socket");
      const std::string before = policy_.key_id();
      RETURN_IF_ERROR(ring_.Rotate());
      policy_.set_key_id(notary::KeyId(ring_.current().public_key()));
      spdlog::info("event=signer_key_rotated old_key_id={} key_id={}", before, policy_.key_id());
      return Frame{Kind::kKeys, EncodeKeyList(Keys())};
    }
    default:
      return common::Error::NotFound("not a request");
  }
}

common::Result<Frame> Service::SignBlock(const std::string& encoded) {
  bool retry = false;
  ASSIGN_OR_RETURN(notary::BlockHeader header, policy_.CheckBlock(encoded, retry));
  // A retry may name the key current before a rotation; anything new names the current key
  // (the policy checked it).
  const notary::Ed25519Key* key = ring_.Find(header.key_id);
  if (key == nullptr) return common::Error::PermissionDenied("no key " + header.key_id);
  ASSIGN_OR_RETURN(notary::Ed25519Signature sig, notary::SignBlock(header, *key));
  ASSIGN_OR_RETURN(common::Hash block_hash, notary::BlockHash(header, sig));
  if (!retry) {
    if (!policy_.last_block()) {
      spdlog::warn(
          "event=signer_first_block height={} note=\"no earlier state: taken as it comes\"",
          header.height);
    }
    RETURN_IF_ERROR(policy_.RecordBlock(encoded, header, block_hash));
  }
  spdlog::info("event=signer_signed_block height={} key_id={} retry={}", header.height,
               header.key_id, retry);
  return Frame{Kind::kSignature, std::string(sig.begin(), sig.end())};
}

common::Result<Frame> Service::SignCheckpoint(const std::string& text) {
  ASSIGN_OR_RETURN(notary::Checkpoint checkpoint, policy_.CheckCheckpoint(text));
  ASSIGN_OR_RETURN(std::string note,
                   notary::SignCheckpoint(checkpoint, checkpoint.origin, ring_.current()));
  RETURN_IF_ERROR(policy_.RecordCheckpoint(checkpoint));
  return Frame{Kind::kSignature, std::move(note)};
}

common::Result<Frame> Service::SignTimestamp(std::string_view body) {
  if (!tsa_) return common::Error::NotFound("this signer holds no TSA key");
  if (body.size() < 4) return common::Error::InvalidInput("sign-timestamp: short body");
  uint32_t attrs_len = 0;
  for (int i = 0; i < 4; ++i) {
    attrs_len = (attrs_len << 8) | static_cast<uint8_t>(body[static_cast<size_t>(i)]);
  }
  body.remove_prefix(4);
  if (attrs_len > body.size()) return common::Error::InvalidInput("sign-timestamp: bad length");
  // The request must be a token's signed attributes over a TSTInfo dated by the signer's
  // clock, naming this TSA's certificate: nothing else is signed with the TSA key.
  notary::TstSigningPolicy policy;
  policy.tsa_cert_pem = tsa_->cert_pem;
  policy.now_us = tsa_->clock->NowMicros();
  policy.max_skew_us = tsa_->max_clock_skew_us;
  ASSIGN_OR_RETURN(
      const common::Hash digest,
      notary::CheckTstSigningRequest(body.substr(0, attrs_len), body.substr(attrs_len), policy));
  ASSIGN_OR_RETURN(std::string sig, tsa_->key->SignDigest(digest));
  return Frame{Kind::kSignature, std::move(sig)};
}

common::Result<Frame> Service::SignDocument(std::string_view body) {
  if (!document_) return common::Error::NotFound("this signer holds no document key");
  ASSIGN_OR_RETURN(const common::Hash digest, CheckDocumentSigningRequest(body, *document_));
  ASSIGN_OR_RETURN(std::string sig, SignDocumentDigest(*document_, digest));
  spdlog::info("event=signer_signed_document");
  return Frame{Kind::kSignature, std::move(sig)};
}

// The tenant name is checked (vault::IsTenantName) before it names a key file or object.
common::Result<Frame> Service::TenantKey(std::string_view body) {
  if (!keks_) return common::Error::NotFound("this signer holds no key-encryption keys");
  ASSIGN_OR_RETURN(std::string tenant, DecodeTenantKeyRequest(body));
  if (!vault::IsTenantName(tenant)) return common::Error::InvalidInput("not a tenant name");
  ASSIGN_OR_RETURN(vault::TenantKey key, keks_->PublicKeyFor(tenant));
  return Frame{Kind::kTenantKeyIs, EncodeTenantKeyAnswer(key)};
}

common::Result<Frame> Service::RotateTenantKey(std::string_view body) {
  if (!keks_) return common::Error::NotFound("this signer holds no key-encryption keys");
  ASSIGN_OR_RETURN(std::string tenant, DecodeTenantKeyRequest(body));
  if (!vault::IsTenantName(tenant)) return common::Error::InvalidInput("not a tenant name");
  ASSIGN_OR_RETURN(vault::TenantKey key, keks_->Rotate(tenant));
  spdlog::info("event=signer_tenant_key_rotated tenant={} kek_id={}", tenant, key.kek_id);
  return Frame{Kind::kTenantKeyIs, EncodeTenantKeyAnswer(key)};
}

common::Result<Frame> Service::DestroyTenantKey(std::string_view body) {
  if (!keks_) return common::Error::NotFound("this signer holds no key-encryption keys");
  ASSIGN_OR_RETURN(DestroyKeyRequest r, DecodeDestroyKeyRequest(body));
  if (!vault::IsTenantName(r.tenant)) return common::Error::InvalidInput("not a tenant name");
  RETURN_IF_ERROR(keks_->Destroy(r.tenant, r.kek_id));
  spdlog::info("event=signer_tenant_key_destroyed tenant={} kek_id={}", r.tenant, r.kek_id);
  ASSIGN_OR_RETURN(vault::TenantKey key, keks_->PublicKeyFor(r.tenant));
  return Frame{Kind::kTenantKeyIs, EncodeTenantKeyAnswer(key)};
}

common::Result<Frame> Service::UnwrapKeys(std::string_view body) {
  if (!keks_) return common::Error::NotFound("this signer holds no key-encryption keys");
  ASSIGN_OR_RETURN(UnwrapRequest r, DecodeUnwrapRequest(body));
  if (!vault::IsTenantName(r.tenant)) return common::Error::InvalidInput("not a tenant name");
  ASSIGN_OR_RETURN(std::vector<vault::Key> keys, keks_->Unwrap(r.tenant, r.kek_id, r.wrapped));
  std::string answer = EncodeUnwrapAnswer(keys);
  for (auto& k : keys) OPENSSL_cleanse(k.data(), k.size());
  return Frame{Kind::kDataKeys, std::move(answer)};
}

}  // namespace signer
