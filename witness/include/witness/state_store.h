// What the witness remembers of each log: the last checkpoint it cosigned, one small file per
// origin, DIR/state/<lowercase hex SHA-256 of the origin>:
//
//   notary-witness state v1\n
//   origin <origin>\n
//   size <tree size, decimal>\n
//   root <base64 root hash>\n
//   \n
//   <the checkpoint's signed note, as the log sent it>
//
// Read and checked at Open (a file whose name, fields and note disagree stops the witness:
// a witness that forgot a log's size could be made to cosign a rollback), replaced durably
// (temp file, fsync, rename, fsync of the folder) before the witness answers.
//
// DIR/evidence/ keeps refused checkpoints the log did sign (a fork: same size, other root;
// an inconsistent proof), a log's misbehaviour in its own signature, at most `max_evidence`
// files of at most 64 KiB each (the request bodies, named by their SHA-256).
//
// Thread-safety: Save may run concurrently for different origins (the witness serialises one
// origin's requests); KeepEvidence is safe from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "common/bytes.h"
#include "common/result.h"

namespace witness {

struct OriginState {
  std::string origin;
  uint64_t size = 0;
  common::Hash root{};
  std::string checkpoint;  // the signed note cosigned last

  bool operator==(const OriginState&) const = default;
};

// The file's bytes, and back. DecodeOriginState checks that the note is a well-formed signed
// checkpoint whose origin, size and root are the fields' (kInvalidInput otherwise).
std::string EncodeOriginState(const OriginState& state);
common::Result<OriginState> DecodeOriginState(std::string_view file);
// Lowercase hex SHA-256 of the origin: the state file's name.
std::string StateFileName(std::string_view origin);

struct StateStoreOptions {
  std::string dir;   // the data directory; state/ and evidence/ are made in it
  bool sync = true;  // false only in the benchmark's "logic alone" run
  size_t max_evidence_files = 1000;
  size_t max_evidence_bytes = 64 * 1024;
};

class StateStore {
 public:
  // Creates DIR/state and DIR/evidence (0700) when missing and reads every state file.
  // kInvalidInput naming the file when one is corrupt; leftover "*.new" files (a crash
  // between write and rename) are ignored.
  static common::Result<std::unique_ptr<StateStore>> Open(StateStoreOptions options);

  // The states read at Open, by origin.
  const std::map<std::string, OriginState>& loaded() const { return loaded_; }

  // Durable when it returns OK (with options.sync).
  common::Status Save(const OriginState& state) const;

  // Keeps `body` as DIR/evidence/<sha256 hex>.txt unless the folder is full or the body too
  // large (then kTooLarge, and nothing is written). Durable when it returns OK.
  common::Status KeepEvidence(std::string_view body);

 private:
  explicit StateStore(StateStoreOptions options) : options_(std::move(options)) {}

  StateStoreOptions options_;
  std::map<std::string, OriginState> loaded_;
  std::mutex evidence_mu_;
  size_t evidence_files_ = 0;  // guarded by evidence_mu_
};

}  // namespace witness
