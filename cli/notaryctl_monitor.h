// notaryctl monitor: an auditor's check that a notary's log only ever grows (docs/trust.md).
//
// Fetches GET <url>/v1/checkpoint, verifies the log's signature with the pinned note key
// (--log-key) and, when --witness keys are given, that at least --witness-quorum of them
// cosigned it; compares it with the checkpoint kept in the state file from the previous run:
// the same size must have the same root, a larger tree must be proven to extend the old one
// by GET <url>/v1/proofs/consistency (checked here, RFC 6962), and a smaller tree is a
// rollback. Only a checkpoint that passed is written to the state file (durably), so a run
// that finds a fork keeps the evidence: the old checkpoint in the state file and the new one,
// printed in full.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace cli {

struct MonitorArgs {
  std::string url;                     // the notary's base URL, e.g. https://notary.example
  std::string state;                   // the file holding the last checkpoint seen
  std::string log_key;                 // the log's signed-note verifier key (vkey, type 0x01)
  std::vector<std::string> witnesses;  // cosigner vkeys (type 0x04)
  size_t witness_quorum = 0;           // 0: all of them
  int timeout_s = 30;
};

// Exit status: 0 consistent (state advanced or unchanged), 1 the log forked, rolled back, or
// served a checkpoint that does not verify (the message names sizes and roots), 2 usage error
// or unreadable state, 3 the log could not be reached or answered garbage (try again later).
int RunMonitor(const MonitorArgs& args);

}  // namespace cli
