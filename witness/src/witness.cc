#include "witness/witness.h"

#include <algorithm>
#include <utility>

#include "log/merkle.h"
#include "witness/request.h"

namespace witness {
namespace {

AddCheckpointResponse Refuse(AddCheckpointResponse r, int status, std::string reason) {
  r.status = status;
  r.reason = std::move(reason);
  r.body = r.reason + "\n";
  return r;
}

}  // namespace

common::Result<std::pair<std::string, notary::NoteVerifierKey>> ParseLogFlag(std::string_view s) {
  const size_t eq = s.find('=');
  if (eq == std::string_view::npos || eq == 0) {
    return common::Error::InvalidInput("--log wants ORIGIN=VKEY");
  }
  const std::string origin(s.substr(0, eq));
  // The origin is the checkpoint's first line: what FormatCheckpoint accepts.
  notary::Checkpoint probe;
  probe.origin = origin;
  if (!notary::FormatCheckpoint(probe).ok()) {
    return common::Error::InvalidInput("--log: invalid origin \"" + origin + "\"");
  }
  auto key = notary::ParseNoteVerifierKey(s.substr(eq + 1));
  if (!key.ok()) {
    return common::Error::InvalidInput("--log " + origin +
                                       ": not an Ed25519 signed-note verifier key (" +
                                       key.error().message() + ")");
  }
  return std::make_pair(origin, std::move(*key));
}

std::vector<LogConfig> GroupLogs(
    const std::vector<std::pair<std::string, notary::NoteVerifierKey>>& flags) {
  std::vector<LogConfig> out;
  for (const auto& flag : flags) {
    const std::string& origin = flag.first;
    auto it = std::find_if(out.begin(), out.end(),
                           [&](const LogConfig& l) { return l.origin == origin; });
    if (it == out.end()) {
      out.push_back({origin, {}});
      it = out.end() - 1;
    }
    it->keys.push_back(flag.second);
  }
  return out;
}

common::Result<std::unique_ptr<Witness>> Witness::Create(WitnessOptions options,
                                                         const notary::Ed25519Key& key,
                                                         StateStore& store,
                                                         const common::Clock& clock) {
  ASSIGN_OR_RETURN(auto cosigner, notary::MakeCosignerKey(options.name, key.public_key()));
  if (options.logs.empty()) return common::Error::InvalidInput("no log to witness (--log)");
  std::unique_ptr<Witness> w(new Witness(options.name, key, store, clock, std::move(cosigner)));
  for (auto& log : options.logs) {
    if (log.keys.empty()) return common::Error::InvalidInput("log " + log.origin + " has no key");
    auto entry = std::make_unique<Log>();
    entry->keys = std::move(log.keys);
    if (auto it = store.loaded().find(log.origin); it != store.loaded().end()) {
      entry->state = it->second;
    }
    if (!w->logs_.emplace(log.origin, std::move(entry)).second) {
      return common::Error::InvalidInput("log " + log.origin + " given twice");
    }
  }
  return w;
}

std::optional<OriginState> Witness::State(const std::string& origin) const {
  const auto it = logs_.find(origin);
  if (it == logs_.end()) return std::nullopt;
  std::lock_guard lock(it->second->mu);
  return it->second->state;
}

AddCheckpointResponse Witness::AddCheckpoint(std::string_view body) {
  AddCheckpointResponse r;
  auto request = ParseAddCheckpointRequest(body);
  if (!request.ok()) return Refuse(std::move(r), 400, request.error().message());
  r.old_size = request->old_size;
  auto note = notary::ParseNote(request->checkpoint);
  if (!note.ok()) return Refuse(std::move(r), 400, "malformed signed note");
  auto checkpoint = notary::ParseCheckpoint(note->text);
  if (!checkpoint.ok()) return Refuse(std::move(r), 400, "malformed checkpoint");
  r.origin = checkpoint->origin;
  r.size = checkpoint->size;

  const auto it = logs_.find(checkpoint->origin);
  if (it == logs_.end()) return Refuse(std::move(r), 404, "unknown log origin");
  Log& log = *it->second;

  // C2SP signed-note: signatures by unknown keys are ignored; one by a trusted key (same name
  // and key ID) must verify.
  bool verified = false;
  for (const auto& sig : note->signatures) {
    for (const auto& key : log.keys) {
      if (sig.name != key.name || sig.key_id != key.key_id) continue;
      if (!notary::Ed25519Verify(key.public_key, common::AsBytes(note->text),
                                 common::AsBytes(sig.signature))
               .ok()) {
        return Refuse(std::move(r), 403, "a signature by a trusted log key does not verify");
      }
      verified = true;
    }
  }
  if (!verified) return Refuse(std::move(r), 403, "no signature by a trusted log key");
  if (request->old_size > checkpoint->size) {
    return Refuse(std::move(r), 400, "old size is larger than the checkpoint's");
  }

  std::lock_guard lock(log.mu);
  const uint64_t stored_size = log.state ? log.state->size : 0;
  r.stored_size = stored_size;
  if (request->old_size != stored_size) {
    r.status = 409;
    r.reason = "old size is not the size last cosigned";
    r.content_type = "text/x.tlog.size";
    r.body = std::to_string(stored_size) + "\n";
    return r;
  }
  if (log.state && request->old_size == checkpoint->size) {
    if (log.state->root != checkpoint->root) {
      (void)store_.KeepEvidence(body);
      return Refuse(std::move(r), 409, "same size as cosigned, different root (a fork)");
    }
  }
  if (request->old_size > 0) {
    // A stored state of that size exists (checked above). From 0 the proof is empty (the
    // parser's rule) and any tree extends the empty one.
    if (!notary::VerifyConsistency(request->old_size, checkpoint->size, log.state->root,
                                   checkpoint->root, request->proof)
             .ok()) {
      (void)store_.KeepEvidence(body);
      return Refuse(std::move(r), 422, "the consistency proof does not verify");
    }
  }

  OriginState next{checkpoint->origin, checkpoint->size, checkpoint->root, request->checkpoint};
  if (auto st = store_.Save(next); !st.ok()) {
    return Refuse(std::move(r), 500, "cannot store the new state: " + st.error().message());
  }
  log.state = std::move(next);
  const int64_t now_us = clock_.NowMicros();
  const uint64_t now_s = now_us > 0 ? static_cast<uint64_t>(now_us / 1'000'000) : 0;
  auto line = notary::Cosign(note->text, name_, key_, now_s);
  if (!line.ok()) return Refuse(std::move(r), 500, "cannot cosign: " + line.error().message());
  r.status = 200;
  r.body = std::move(*line);
  return r;
}

}  // namespace witness
