// libFuzzer target for the log's text formats that come from strangers (log/checkpoint.h,
// log/tlog.h): signed notes and checkpoints (witness replies, newer checkpoints given to
// notary-verify), verifier keys and tile paths. Whatever parses must re-encode to the bytes
// it came from.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "log/checkpoint.h"
#include "log/ed25519.h"
#include "log/tlog.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  if (auto note = notary::ParseNote(in); note.ok()) {
    if (auto cp = notary::ParseCheckpoint(note->text); cp.ok()) {
      auto again = notary::FormatCheckpoint(*cp);
      if (!again.ok() || *again != note->text) std::abort();
    }
  }
  (void)notary::ParseCheckpoint(in);
  if (auto key = notary::ParseNoteVerifierKey(in); key.ok()) {
    if (key->ToString() != in) std::abort();
    (void)notary::OpenCheckpoint(in, *key);
  }
  // A fixed key: the signature lines of the input are checked against it.
  static const auto signer = notary::Ed25519Signer::FromSeed(std::vector<uint8_t>(32, 7));
  static const auto vkey = notary::MakeNoteVerifierKey("fuzz.example/log", signer->public_key());
  (void)notary::OpenCheckpoint(in, *vkey);
  if (auto tile = notary::tlog::ParseTilePath(in); tile.ok()) {
    if (notary::tlog::TilePath(*tile) != (in.front() == '/' ? in.substr(1) : in)) std::abort();
  }
  return 0;
}
