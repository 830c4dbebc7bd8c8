// C2SP tlog-checkpoint bodies and C2SP signed-note Ed25519 signatures.
//
// Checkpoint body (the note text):      <origin>\n<tree size, decimal>\n<base64 root>\n
// Signed note:                          <text>\n— <key name> <base64(key ID || signature)>\n
//   (the separator is U+2014 EM DASH and a space; the blank line separates text and
//   signatures; the signature is Ed25519 over the text, final newline included)
// Note key ID:                          SHA-256(name || 0x0A || 0x01 || 32-byte key)[:4]
// Verifier key (vkey):                  <name>+<8 hex digits key ID>+<base64(0x01 || key)>
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/bytes.h"
#include "common/result.h"
#include "log/ed25519.h"

namespace notary {

struct Checkpoint {
  std::string origin;  // non-empty, one line; by convention a schema-less URL
  uint64_t size = 0;
  common::Hash root{};
  std::vector<std::string> extensions;  // optional non-empty lines after the root (rarely used)

  bool operator==(const Checkpoint&) const = default;
};

// The note text of a checkpoint. kInvalidInput for an empty origin or extension line, or one
// holding a newline or another control character.
common::Result<std::string> FormatCheckpoint(const Checkpoint& checkpoint);
// Parses a checkpoint note text (the text only, not the signatures). kInvalidInput unless it is
// exactly what FormatCheckpoint produces.
common::Result<Checkpoint> ParseCheckpoint(std::string_view text);

// A signed-note key name: non-empty, valid UTF-8, no spaces, '+' or control characters.
bool IsValidKeyName(std::string_view name);
uint32_t NoteKeyId(std::string_view name, const Ed25519PublicKey& key);

struct NoteVerifierKey {
  std::string name;
  uint32_t key_id = 0;
  Ed25519PublicKey public_key{};

  // "<name>+<hex key id>+<base64(0x01 || public key)>"
  std::string ToString() const;
};
// REQUIRES nothing; kInvalidInput for an invalid name.
common::Result<NoteVerifierKey> MakeNoteVerifierKey(std::string_view name,
                                                    const Ed25519PublicKey& key);
// kInvalidInput unless `vkey` is a well-formed Ed25519 (type 0x01) verifier key whose key ID
// matches its name and key.
common::Result<NoteVerifierKey> ParseNoteVerifierKey(std::string_view vkey);

struct NoteSignature {
  std::string name;
  uint32_t key_id = 0;
  std::string signature;  // the bytes after the key ID (64 for Ed25519)
};

struct Note {
  std::string text;  // ends with a newline
  std::vector<NoteSignature> signatures;
};

// Splits a signed note into text and signature lines without verifying anything.
// kInvalidInput when the note is not valid UTF-8, holds control characters other than newline,
// has no signature block, a malformed signature line, or more than 100 signatures.
common::Result<Note> ParseNote(std::string_view note);

// Signs `text` (non-empty, ends with a newline, no control characters) as key `name`:
// returns text || "\n" || "— <name> <base64(key id || signature)>\n".
common::Result<std::string> SignNote(std::string_view text, std::string_view name,
                                     const Ed25519Key& signer);

// Verifies `note` against one trusted key and returns its text. Signatures by other keys are
// ignored (C2SP: "verifiers MUST ignore signatures from unknown keys"). kVerifyFailed when no
// signature is by the key or one by the key does not verify; kInvalidInput for a malformed note.
common::Result<std::string> OpenNote(std::string_view note, const NoteVerifierKey& key);

// SignNote(FormatCheckpoint(checkpoint), name, signer). The log's key name should equal the
// origin.
common::Result<std::string> SignCheckpoint(const Checkpoint& checkpoint, std::string_view name,
                                           const Ed25519Key& signer);
// OpenNote then ParseCheckpoint.
common::Result<Checkpoint> OpenCheckpoint(std::string_view note, const NoteVerifierKey& key);

}  // namespace notary
