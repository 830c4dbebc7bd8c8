// notary-signer's wire format: a stream of frames over a Unix stream socket, each
//
//   u32 big-endian length of what follows (1 .. kMaxFrameBytes) || u8 kind || body
//
// A request is one frame and so is its answer. Only the kinds below exist: the protocol can
// ask for nothing but what the pipeline needs signed. A frame that is empty, too long or of
// an unknown kind makes the stream unusable (the signer closes the connection).
//
// Thread-safety: FrameReader is not thread-safe; the rest are pure functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"

namespace signer {

inline constexpr size_t kMaxFrameBytes = 64 * 1024;  // kind byte and body

enum class Kind : uint8_t {
  // Requests.
  kListKeys = 0x01,        // body empty; answered kKeys
  kSignBlock = 0x02,       // body: an encoded block header (log/block.h); answered kSignature
  kSignCheckpoint = 0x03,  // body: a checkpoint note text (log/checkpoint.h); kSignature
  kRotateKey = 0x04,       // body empty; a new log key becomes current; answered kKeys
  // body: u32 big-endian length of the signed attributes || the DER signed attributes (a
  // SET) || the DER TSTInfo they cover (tsa_authority/tst_signing_check.h); answered
  // kSignature with the DER ECDSA signature of the built-in TSA's key.
  kSignTimestamp = 0x05,
  // Encryption at rest (docs/retention.md, vault/key_wrapper.h): a tenant's key pair's public
  // half (made on first use), and data keys unwrapped with its private half, which never
  // leaves the signer (key_wrap_body.h).
  kTenantKey = 0x06,   // answered kTenantKeyIs
  kUnwrapKeys = 0x07,  // answered kDataKeys
  // body: the DER signed attributes of certificate.pdf's CMS SignerInfo
  // (document_signing.h); answered kSignature with the document key's signature.
  kSignDocument = 0x08,
  // body: as kTenantKey; only on the admin socket. A new key pair becomes the tenant's
  // current one (vault::KeyHolder::Rotate); answered kTenantKeyIs with its public half.
  kRotateTenantKey = 0x09,
  // body: str(tenant) || str(kek_id); only on the admin socket. An earlier key pair of the
  // tenant is destroyed (vault::KeyHolder::Destroy); answered kTenantKeyIs with the current.
  kDestroyTenantKey = 0x0a,
  // Answers.
  kKeys = 0x81,       // body: the key list (key_list.h)
  kSignature = 0x82,  // body: the block signature (64 bytes) or the signed checkpoint note
  kTenantKeyIs = 0x83,
  kDataKeys = 0x84,
  kRefused = 0xc0,  // body: "<reason code> <why>", printable ASCII (service.h)
};

bool IsKnownKind(uint8_t kind);

struct Frame {
  Kind kind;
  std::string body;
  bool operator==(const Frame&) const = default;
};

// The frame's bytes. kInvalidInput when the body does not fit in a frame.
common::Result<std::string> EncodeFrame(Kind kind, std::string_view body);

// Cuts a byte stream into frames, whatever the reads cut it into. Holds at most one
// incomplete frame (kMaxFrameBytes + 4 bytes) besides the complete ones not yet taken.
class FrameReader {
 public:
  // kInvalidInput once the stream is unusable; every later call returns the same.
  common::Status Feed(std::string_view bytes);
  // The next complete frame, in order.
  std::optional<Frame> Next();
  // Bytes of an incomplete frame held.
  size_t pending_bytes() const { return partial_.size(); }

 private:
  std::string partial_;
  std::deque<Frame> ready_;
  std::optional<common::Error> broken_;
};

}  // namespace signer
