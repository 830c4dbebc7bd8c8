// The answer to kListKeys and kRotateKey: the signer's keys and the last block header it
// signed. One line per entry, fields separated by one space, the free-text field last:
//
//   key <purpose> <algorithm> <public key hex> <current|retired> <created µs> <retired µs|->
//   <where> last-block <encoded header hex>
//
// <purpose> is "log" (blocks and checkpoints); <algorithm> "ed25519"; <where> says where the
// private key lives (a file path, or an RFC 7512 pkcs11: URI) and is informational only.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "log/ed25519.h"

namespace signer {

struct KeyInfo {
  std::string purpose = "log";
  std::string algorithm = "ed25519";
  notary::Ed25519PublicKey public_key{};
  bool current = false;
  int64_t created_us = 0;
  std::optional<int64_t> retired_us;
  std::string where;
  bool operator==(const KeyInfo&) const = default;
};

struct KeyList {
  std::vector<KeyInfo> keys;
  std::optional<std::string> last_block_header;  // encoded
  std::optional<std::string> tsa_chain_pem;      // when the signer holds the TSA key
  bool operator==(const KeyList&) const = default;

  // The current key of `purpose`, if any.
  const KeyInfo* Current(std::string_view purpose) const;
};

std::string EncodeKeyList(const KeyList& list);
// kInvalidInput for anything EncodeKeyList would not write (unknown line, bad hex, control
// characters, more than one current key per purpose).
common::Result<KeyList> ParseKeyList(std::string_view body);

}  // namespace signer
