#include "log/cosignature.h"

#include "common/bytes.h"
#include "log/checkpoint.h"
#include "note_internal.h"

namespace notary {
namespace {

using common::Error;

constexpr uint64_t kMaxTimestamp = (uint64_t{1} << 63) - 1;

uint64_t BigEndian64(std::string_view b) {
  uint64_t v = 0;
  for (size_t i = 0; i < 8; ++i) v = (v << 8) | static_cast<uint8_t>(b[i]);
  return v;
}

}  // namespace

uint32_t CosignerKeyId(std::string_view name, const Ed25519PublicKey& key) {
  return note_internal::TypedKeyId(name, kCosignatureV1Type, key);
}

std::string CosignerKey::ToString() const {
  return note_internal::FormatVkey(name, key_id, kCosignatureV1Type, public_key);
}

common::Result<CosignerKey> MakeCosignerKey(std::string_view name, const Ed25519PublicKey& key) {
  if (!IsValidKeyName(name)) return Error::InvalidInput("invalid cosigner key name");
  return CosignerKey{std::string(name), CosignerKeyId(name, key), key};
}

common::Result<CosignerKey> ParseCosignerKey(std::string_view vkey) {
  ASSIGN_OR_RETURN(note_internal::ParsedVkey key,
                   note_internal::ParseVkey(vkey, kCosignatureV1Type));
  return CosignerKey{std::move(key.name), key.key_id, key.public_key};
}

std::string CosignatureMessage(std::string_view checkpoint_text, uint64_t timestamp) {
  std::string m = "cosignature/v1\ntime " + std::to_string(timestamp) + "\n";
  m += checkpoint_text;
  return m;
}

common::Result<std::string> Cosign(std::string_view checkpoint_text, std::string_view name,
                                   const Ed25519Key& key, uint64_t timestamp) {
  if (!IsValidKeyName(name)) return Error::InvalidInput("invalid cosigner key name");
  if (checkpoint_text.empty() || checkpoint_text.back() != '\n' ||
      checkpoint_text.size() > note_internal::kMaxNoteBytes ||
      !note_internal::CleanUtf8(checkpoint_text, true) ||
      checkpoint_text.find("\n\n") != std::string_view::npos) {
    return Error::InvalidInput("cosigned text must be a checkpoint note text");
  }
  if (timestamp > kMaxTimestamp) return Error::InvalidInput("cosignature timestamp too large");
  ASSIGN_OR_RETURN(Ed25519Signature sig, key.Sign(CosignatureMessage(checkpoint_text, timestamp)));
  std::string blob;
  common::AppendU32(blob, CosignerKeyId(name, key.public_key()));
  common::AppendU64(blob, timestamp);
  common::AppendBytes(blob, sig);
  std::string line(note_internal::kEmDashSpace);
  line += name;
  line += ' ';
  line += common::Base64Encode(blob);
  line += '\n';
  return line;
}

common::Result<uint64_t> VerifyCosignature(std::string_view note, const CosignerKey& key) {
  ASSIGN_OR_RETURN(Note parsed, ParseNote(note));
  std::optional<uint64_t> first;
  for (const NoteSignature& sig : parsed.signatures) {
    if (sig.name != key.name || sig.key_id != key.key_id) continue;  // someone else's
    if (sig.signature.size() != 8 + 64) {
      return Error::VerifyFailed("cosignature by " + key.name + " is not 72 bytes");
    }
    const uint64_t t = BigEndian64(sig.signature);
    if (t > kMaxTimestamp) {
      return Error::VerifyFailed("cosignature by " + key.name + " has an invalid timestamp");
    }
    const std::string message = CosignatureMessage(parsed.text, t);
    common::Status s = Ed25519Verify(key.public_key, common::AsBytes(message),
                                     common::AsBytes(std::string_view(sig.signature).substr(8)));
    if (!s.ok()) return Error::VerifyFailed("cosignature by " + key.name + " does not verify");
    if (!first) first = t;
  }
  if (!first) return Error::VerifyFailed("note carries no cosignature by " + key.name);
  return *first;
}

common::Result<std::vector<std::string>> NoteSignatureLines(std::string_view note) {
  ASSIGN_OR_RETURN(Note parsed, ParseNote(note));
  std::vector<std::string> lines;
  std::string_view sigs = note.substr(parsed.text.size() + 1);
  while (!sigs.empty()) {
    const size_t nl = sigs.find('\n');
    lines.emplace_back(sigs.substr(0, nl + 1));
    sigs.remove_prefix(nl + 1);
  }
  return lines;
}

}  // namespace notary
