// C2SP tlog-cosignature, Ed25519 "cosignature/v1": what a witness signs over a checkpoint.
//
// Signed message:   "cosignature/v1\n" "time <T>\n" <checkpoint note text>
//                   (T: POSIX seconds, ASCII decimal, no leading zeroes)
// Signature line:   "— <name> base64(key ID || u64 BE T || 64-byte Ed25519 signature)\n"
// Key ID:           SHA-256(name || 0x0A || 0x04 || 32-byte key)[:4]
// Verifier key:     "<name>+<8 hex key ID>+base64(0x04 || key)"
//
// The note-signature key (type 0x01, checkpoint.h) and the cosigner key (type 0x04) of the
// same Ed25519 key have different key IDs, so a log signature can never be read as a
// cosignature or the other way round.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "log/ed25519.h"

namespace notary {

inline constexpr uint8_t kCosignatureV1Type = 0x04;

uint32_t CosignerKeyId(std::string_view name, const Ed25519PublicKey& key);

struct CosignerKey {
  std::string name;
  uint32_t key_id = 0;
  Ed25519PublicKey public_key{};

  // "<name>+<hex key id>+<base64(0x04 || public key)>"
  std::string ToString() const;
  bool operator==(const CosignerKey&) const = default;
};
// kInvalidInput for an invalid name (IsValidKeyName).
common::Result<CosignerKey> MakeCosignerKey(std::string_view name, const Ed25519PublicKey& key);
// kInvalidInput unless `vkey` is a well-formed type-0x04 verifier key whose ID matches.
common::Result<CosignerKey> ParseCosignerKey(std::string_view vkey);

// "cosignature/v1\ntime <timestamp>\n" || checkpoint_text.
std::string CosignatureMessage(std::string_view checkpoint_text, uint64_t timestamp);

// One signature line (ending in "\n") cosigning `checkpoint_text` (a note text, ending in a
// newline, no signatures) at `timestamp` as `name`. kInvalidInput for a bad name or text, a
// timestamp above 2^63 - 1.
common::Result<std::string> Cosign(std::string_view checkpoint_text, std::string_view name,
                                   const Ed25519Key& key, uint64_t timestamp);

// Checks the cosignature(s) of `key` in a signed note. Lines by other keys are ignored (C2SP).
// Returns the timestamp of the (first) valid cosignature by the key.
// kVerifyFailed when the note carries no cosignature by the key or one by the key does not
// verify (or is not 72 bytes, or has a timestamp above 2^63 - 1); kInvalidInput for a
// malformed note.
common::Result<uint64_t> VerifyCosignature(std::string_view note, const CosignerKey& key);

// The signature lines of `note` (each "— ...\n"), in order, without verifying anything.
common::Result<std::vector<std::string>> NoteSignatureLines(std::string_view note);

}  // namespace notary
