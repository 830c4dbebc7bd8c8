#include "log/checkpoint.h"

#include <cstdio>

#include "common/sha256.h"
#include "note_internal.h"

namespace notary {
namespace {

using common::Error;
using note_internal::BigEndian32;
using note_internal::CanonicalBase64;
using note_internal::CleanUtf8;
using note_internal::kEmDashSpace;
using note_internal::ParseSize;

constexpr uint8_t kEd25519Type = 0x01;
constexpr size_t kMaxSignatures = 100;

// Unicode spaces beyond ASCII that a key name must not contain.
bool HasUnicodeSpace(std::string_view s) {
  for (std::string_view space : {"\xC2\xA0", "\xE1\x9A\x80", "\xE2\x80\xA8", "\xE2\x80\xA9",
                                 "\xE2\x80\xAF", "\xE2\x81\x9F", "\xE3\x80\x80"}) {
    if (s.find(space) != std::string_view::npos) return true;
  }
  // U+2000..U+200A
  for (size_t i = 0; i + 2 < s.size(); ++i) {
    if (s[i] == '\xE2' && s[i + 1] == '\x80' && static_cast<uint8_t>(s[i + 2]) >= 0x80 &&
        static_cast<uint8_t>(s[i + 2]) <= 0x8A) {
      return true;
    }
  }
  return false;
}

bool IsValidText(std::string_view text) {
  return !text.empty() && text.back() == '\n' && text.size() <= note_internal::kMaxNoteBytes &&
         CleanUtf8(text, true);
}

}  // namespace

namespace note_internal {

bool CleanUtf8(std::string_view s, bool allow_newline) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<uint8_t>(s[i]);
    if (c < 0x80) {
      if ((c < 0x20 && !(allow_newline && c == '\n')) || c == 0x7F) return false;
      ++i;
      continue;
    }
    size_t len = 0;
    uint32_t cp = 0;
    if ((c & 0xE0) == 0xC0) {
      len = 2;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + len > s.size()) return false;
    for (size_t j = 1; j < len; ++j) {
      const auto cc = static_cast<uint8_t>(s[i + j]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    static constexpr uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMin[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    if (cp >= 0x80 && cp <= 0x9F) return false;  // C1 controls
    i += len;
  }
  return true;
}

std::optional<std::string> CanonicalBase64(std::string_view b64) {
  std::optional<std::string> raw = common::Base64Decode(b64);
  if (!raw || common::Base64Encode(*raw) != b64) return std::nullopt;
  return raw;
}

bool ParseSize(std::string_view s, uint64_t& out) {
  if (s.empty() || s.size() > 20 || (s.size() > 1 && s[0] == '0')) return false;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    const auto digit = static_cast<uint64_t>(c - '0');
    if (v > (UINT64_MAX - digit) / 10) return false;
    v = v * 10 + digit;
  }
  out = v;
  return true;
}

uint32_t BigEndian32(std::string_view b) {
  return (uint32_t{static_cast<uint8_t>(b[0])} << 24) |
         (uint32_t{static_cast<uint8_t>(b[1])} << 16) |
         (uint32_t{static_cast<uint8_t>(b[2])} << 8) | uint32_t{static_cast<uint8_t>(b[3])};
}

uint32_t TypedKeyId(std::string_view name, uint8_t type, const Ed25519PublicKey& key) {
  std::string data(name);
  data += '\n';
  data += static_cast<char>(type);
  data.append(reinterpret_cast<const char*>(key.data()), key.size());
  const common::Hash h = common::Sha256Of(data);
  return BigEndian32(common::AsChars(h));
}

std::string FormatVkey(std::string_view name, uint32_t key_id, uint8_t type,
                       const Ed25519PublicKey& key) {
  char id[9];
  std::snprintf(id, sizeof id, "%08x", key_id);
  std::string typed(1, static_cast<char>(type));
  typed.append(reinterpret_cast<const char*>(key.data()), key.size());
  return std::string(name) + "+" + id + "+" + common::Base64Encode(typed);
}

common::Result<ParsedVkey> ParseVkey(std::string_view vkey, uint8_t type) {
  const auto bad = [](const char* why) {
    return Error::InvalidInput(std::string("malformed verifier key: ") + why);
  };
  // The base64 part may itself contain '+': split at the first two.
  const size_t p1 = vkey.find('+');
  if (p1 == std::string_view::npos) return bad("no '+'");
  const size_t p2 = vkey.find('+', p1 + 1);
  if (p2 == std::string_view::npos) return bad("one '+'");
  const std::string_view name = vkey.substr(0, p1);
  const std::string_view hex = vkey.substr(p1 + 1, p2 - p1 - 1);
  const std::string_view b64 = vkey.substr(p2 + 1);
  if (!IsValidKeyName(name)) return bad("name");
  std::optional<std::string> id = hex.size() == 8 ? common::FromHex(hex) : std::nullopt;
  if (!id || common::ToHex(common::AsBytes(*id)) != hex)
    return bad("key id must be 8 lowercase hex digits");
  std::optional<std::string> typed = CanonicalBase64(b64);
  if (!typed || typed->size() != 33) return bad("key must be 33 bytes");
  if (static_cast<uint8_t>((*typed)[0]) != type) {
    return bad(type == kEd25519Type ? "not an Ed25519 note key"
                                    : "not an Ed25519 cosignature/v1 key (type 0x04)");
  }
  ParsedVkey key;
  key.name = std::string(name);
  std::copy(typed->begin() + 1, typed->end(), key.public_key.begin());
  key.key_id = BigEndian32(*id);
  if (key.key_id != TypedKeyId(name, type, key.public_key)) {
    return bad("key id does not match the key");
  }
  return key;
}

}  // namespace note_internal

common::Result<std::string> FormatCheckpoint(const Checkpoint& checkpoint) {
  if (checkpoint.origin.empty() || !CleanUtf8(checkpoint.origin, false)) {
    return Error::InvalidInput("checkpoint origin must be one non-empty line");
  }
  std::string text = checkpoint.origin + "\n" + std::to_string(checkpoint.size) + "\n" +
                     common::Base64Encode(checkpoint.root) + "\n";
  for (const std::string& line : checkpoint.extensions) {
    if (line.empty() || !CleanUtf8(line, false)) {
      return Error::InvalidInput("checkpoint extension lines must be single non-empty lines");
    }
    text += line + "\n";
  }
  return text;
}

common::Result<Checkpoint> ParseCheckpoint(std::string_view text) {
  if (!IsValidText(text)) return Error::InvalidInput("checkpoint text is not clean UTF-8 lines");
  std::vector<std::string_view> lines;
  std::string_view rest = text;
  while (!rest.empty()) {
    const size_t nl = rest.find('\n');
    lines.push_back(rest.substr(0, nl));
    rest.remove_prefix(nl + 1);
  }
  if (lines.size() < 3) return Error::InvalidInput("checkpoint needs origin, size and root lines");
  Checkpoint cp;
  if (lines[0].empty()) return Error::InvalidInput("empty checkpoint origin");
  cp.origin = std::string(lines[0]);
  if (!ParseSize(lines[1], cp.size)) return Error::InvalidInput("bad checkpoint tree size");
  std::optional<std::string> root = CanonicalBase64(lines[2]);
  if (!root || root->size() != cp.root.size()) {
    return Error::InvalidInput("bad checkpoint root hash");
  }
  std::copy(root->begin(), root->end(), cp.root.begin());
  for (size_t i = 3; i < lines.size(); ++i) {
    if (lines[i].empty()) return Error::InvalidInput("empty checkpoint extension line");
    cp.extensions.emplace_back(lines[i]);
  }
  return cp;
}

bool IsValidKeyName(std::string_view name) {
  if (name.empty() || !CleanUtf8(name, false) || HasUnicodeSpace(name)) return false;
  return name.find_first_of(" +") == std::string_view::npos;
}

uint32_t NoteKeyId(std::string_view name, const Ed25519PublicKey& key) {
  return note_internal::TypedKeyId(name, kEd25519Type, key);
}

std::string NoteVerifierKey::ToString() const {
  return note_internal::FormatVkey(name, key_id, kEd25519Type, public_key);
}

common::Result<NoteVerifierKey> MakeNoteVerifierKey(std::string_view name,
                                                    const Ed25519PublicKey& key) {
  if (!IsValidKeyName(name)) return Error::InvalidInput("invalid note key name");
  return NoteVerifierKey{std::string(name), NoteKeyId(name, key), key};
}

common::Result<NoteVerifierKey> ParseNoteVerifierKey(std::string_view vkey) {
  ASSIGN_OR_RETURN(note_internal::ParsedVkey key, note_internal::ParseVkey(vkey, kEd25519Type));
  return NoteVerifierKey{std::move(key.name), key.key_id, key.public_key};
}

common::Result<Note> ParseNote(std::string_view note) {
  if (note.size() > note_internal::kMaxNoteBytes) return Error::InvalidInput("note too large");
  if (!CleanUtf8(note, true)) return Error::InvalidInput("note is not clean UTF-8");
  if (note.empty() || note.back() != '\n') return Error::InvalidInput("note must end in newline");
  // The text ends at the last blank line; signatures follow it.
  const size_t split = note.rfind("\n\n");
  if (split == std::string_view::npos) return Error::InvalidInput("note has no signatures");
  Note out;
  out.text = std::string(note.substr(0, split + 1));
  std::string_view sigs = note.substr(split + 2);
  if (sigs.empty()) return Error::InvalidInput("note has no signatures");
  while (!sigs.empty()) {
    const size_t nl = sigs.find('\n');
    std::string_view line = sigs.substr(0, nl);
    sigs.remove_prefix(nl + 1);
    if (line.substr(0, kEmDashSpace.size()) != kEmDashSpace) {
      return Error::InvalidInput("signature line does not start with an em dash");
    }
    line.remove_prefix(kEmDashSpace.size());
    const size_t space = line.find(' ');
    if (space == std::string_view::npos) return Error::InvalidInput("malformed signature line");
    NoteSignature sig;
    sig.name = std::string(line.substr(0, space));
    if (!IsValidKeyName(sig.name)) return Error::InvalidInput("invalid signature key name");
    std::optional<std::string> blob = CanonicalBase64(line.substr(space + 1));
    if (!blob || blob->size() < 5) return Error::InvalidInput("malformed signature");
    sig.key_id = BigEndian32(*blob);
    sig.signature = blob->substr(4);
    if (out.signatures.size() == kMaxSignatures) {
      return Error::InvalidInput("too many signatures");
    }
    out.signatures.push_back(std::move(sig));
  }
  return out;
}

common::Result<std::string> SignNote(std::string_view text, std::string_view name,
                                     const Ed25519Key& signer) {
  if (!IsValidText(text)) {
    return Error::InvalidInput("note text must be non-empty clean UTF-8 ending in a newline");
  }
  if (!IsValidKeyName(name)) return Error::InvalidInput("invalid note key name");
  ASSIGN_OR_RETURN(Ed25519Signature sig, signer.Sign(text));
  std::string blob;
  common::AppendU32(blob, NoteKeyId(name, signer.public_key()));
  common::AppendBytes(blob, sig);
  std::string out(text);
  out += "\n";
  out += kEmDashSpace;
  out += name;
  out += " ";
  out += common::Base64Encode(blob);
  out += "\n";
  return out;
}

common::Result<std::string> OpenNote(std::string_view note, const NoteVerifierKey& key) {
  ASSIGN_OR_RETURN(Note parsed, ParseNote(note));
  bool verified = false;
  for (const NoteSignature& sig : parsed.signatures) {
    if (sig.name != key.name || sig.key_id != key.key_id) continue;  // someone else's
    common::Status s =
        Ed25519Verify(key.public_key, common::AsBytes(parsed.text), common::AsBytes(sig.signature));
    if (!s.ok()) return Error::VerifyFailed("note signature by " + key.name + " does not verify");
    verified = true;
  }
  if (!verified) return Error::VerifyFailed("note carries no signature by " + key.name);
  return std::move(parsed.text);
}

common::Result<std::string> SignCheckpoint(const Checkpoint& checkpoint, std::string_view name,
                                           const Ed25519Key& signer) {
  ASSIGN_OR_RETURN(std::string text, FormatCheckpoint(checkpoint));
  return SignNote(text, name, signer);
}

common::Result<Checkpoint> OpenCheckpoint(std::string_view note, const NoteVerifierKey& key) {
  ASSIGN_OR_RETURN(std::string text, OpenNote(note, key));
  return ParseCheckpoint(text);
}

}  // namespace notary
