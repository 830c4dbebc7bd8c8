#include "signer/policy.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/sha256.h"
#include "signer/key_ring.h"

namespace signer {
namespace {

constexpr std::string_view kStateHeader = "email-notary-signer-state v1";

std::string Num(uint64_t v) { return std::to_string(v); }

bool ParseU64(const std::string& s, uint64_t& out) {
  if (s.empty() || s.size() > 20 || !std::all_of(s.begin(), s.end(), ::isdigit)) return false;
  errno = 0;
  char* end = nullptr;
  const unsigned long long v = std::strtoull(s.c_str(), &end, 10);
  if (errno != 0 || *end != '\0') return false;
  out = v;
  return true;
}

}  // namespace

common::Result<Policy> Policy::Open(PolicyOptions options) {
  Policy p(std::move(options));
  std::ifstream in(p.options_.state_path, std::ios::binary);
  if (!in) {
    if (std::filesystem::exists(p.options_.state_path)) {
      return common::Error::Unavailable("cannot read " + p.options_.state_path);
    }
    return p;  // first use
  }
  auto bad = [&](const std::string& why) {
    return common::Error::InvalidInput(p.options_.state_path + ": " + why);
  };
  std::string line;
  if (!std::getline(in, line) || line != kStateHeader) return bad("not a signer state file");
  while (std::getline(in, line)) {
    std::istringstream f(line);
    std::string what;
    f >> what;
    if (what == "block") {
      std::string hash, header_hex;
      f >> hash >> header_hex;
      auto h = common::HashFromHex(hash);
      std::optional<std::string> header = common::FromHex(header_hex);
      if (!h || !header || !f.eof()) return bad("bad block line");
      auto decoded = notary::BlockHeader::Decode(*header);
      if (!decoded.ok()) return bad("bad block header");
      p.last_block_ =
          SignedBlock{decoded->height,      *h, *header, decoded->tree_size, decoded->tree_root,
                      decoded->sealed_at_us};
    } else if (what == "checkpoint") {
      std::string size, root;
      f >> size >> root;
      f.get();  // the space before the origin, which is the rest of the line
      std::string origin;
      std::getline(f, origin);
      SignedCheckpoint c;
      auto r = common::HashFromHex(root);
      if (!ParseU64(size, c.size) || !r || origin.empty()) return bad("bad checkpoint line");
      c.root = *r;
      p.checkpoints_[origin] = c;
    } else {
      return bad("unknown line");
    }
  }
  return p;
}

common::Status Policy::Save() const {
  std::string out = std::string(kStateHeader) + "\n";
  if (last_block_) {
    const SignedBlock& b = *last_block_;
    out += "block " + common::ToHex(b.block_hash) + " " + common::ToHex(common::AsBytes(b.header)) +
           "\n";
  }
  for (const auto& [origin, c] : checkpoints_) {
    out += "checkpoint " + Num(c.size) + " " + common::ToHex(c.root) + " " + origin + "\n";
  }
  return WriteDurably(options_.state_path, out);
}

common::Result<notary::BlockHeader> Policy::CheckBlock(std::string_view encoded,
                                                       bool& retry) const {
  retry = false;
  ASSIGN_OR_RETURN(notary::BlockHeader h, notary::BlockHeader::Decode(encoded));
  RETURN_IF_ERROR(h.Validate());
  // A header already signed is signed again before any other test: its age or a rotation
  // since does not matter, it adds nothing the signer has not vouched for.
  if (last_block_ && h.height == last_block_->height && encoded == last_block_->header) {
    retry = true;
    return h;
  }
  if (h.key_id != options_.key_id) {
    return common::Error::PermissionDenied("block header names key " + h.key_id +
                                           ", not this signer's " + options_.key_id);
  }
  if (h.sealed_at_us < 0) return common::Error::InvalidInput("block sealed before 1970");
  const int64_t now = options_.clock->NowMicros();
  if (h.sealed_at_us > now + options_.max_clock_skew_us ||
      h.sealed_at_us < now - options_.max_clock_skew_us) {
    return common::Error::PermissionDenied(
        "block time " + std::to_string(h.sealed_at_us) + " is more than " +
        std::to_string(options_.max_clock_skew_us / 1'000'000) + " s from the signer's clock");
  }
  if (!last_block_) return h;  // trust on first use
  const SignedBlock& last = *last_block_;
  if (h.height != last.height + 1) {
    return common::Error::Conflict("block height " + std::to_string(h.height) +
                                   " does not follow the last signed, " +
                                   std::to_string(last.height));
  }
  if (h.prev_block_hash != last.block_hash) {
    return common::Error::Conflict("block " + std::to_string(h.height) +
                                   " does not link to the last block signed");
  }
  if (h.first_leaf_index != last.tree_size) {
    return common::Error::Conflict("block " + std::to_string(h.height) + " starts at leaf " +
                                   std::to_string(h.first_leaf_index) + ", not at " +
                                   std::to_string(last.tree_size));
  }
  if (h.sealed_at_us < last.sealed_at_us) {
    return common::Error::Conflict("block " + std::to_string(h.height) +
                                   " is dated before the last block signed");
  }
  return h;
}

common::Status Policy::RecordBlock(std::string_view encoded, const notary::BlockHeader& header,
                                   const common::Hash& block_hash) {
  const std::optional<SignedBlock> before = last_block_;
  const std::map<std::string, SignedCheckpoint> checkpoints_before = checkpoints_;
  last_block_ = SignedBlock{header.height,    block_hash,       std::string(encoded),
                            header.tree_size, header.tree_root, header.sealed_at_us};
  // A signer of one log: the block's tree is that log's, so the checkpoint of this size and
  // root is recorded in the same write, and signing it next costs no second one.
  if (options_.origins.size() == 1) {
    SignedCheckpoint& c = checkpoints_[options_.origins[0]];
    if (header.tree_size > c.size) c = SignedCheckpoint{header.tree_size, header.tree_root};
  }
  common::Status st = Save();
  if (!st.ok()) {  // not durable: not signed
    last_block_ = before;
    checkpoints_ = checkpoints_before;
  }
  return st;
}

common::Result<notary::Checkpoint> Policy::CheckCheckpoint(std::string_view text) const {
  ASSIGN_OR_RETURN(notary::Checkpoint c, notary::ParseCheckpoint(text));
  if (std::find(options_.origins.begin(), options_.origins.end(), c.origin) ==
      options_.origins.end()) {
    return common::Error::PermissionDenied("checkpoint origin is not one this signer serves");
  }
  if (!c.extensions.empty()) {
    return common::Error::PermissionDenied("checkpoint extension lines are not signed");
  }
  if (options_.origins.size() == 1) {
    if (!last_block_) {
      return common::Error::Conflict("no block signed yet: no checkpoint to sign");
    }
    if (c.size != last_block_->tree_size || c.root != last_block_->tree_root) {
      return common::Error::Conflict("checkpoint of size " + std::to_string(c.size) +
                                     " is not the tree of the last block signed (size " +
                                     std::to_string(last_block_->tree_size) + ")");
    }
  }
  auto it = checkpoints_.find(c.origin);
  if (it == checkpoints_.end()) return c;  // trust on first use
  if (c.size < it->second.size) {
    return common::Error::Conflict("checkpoint size " + std::to_string(c.size) + " is below the " +
                                   std::to_string(it->second.size) + " already signed");
  }
  if (c.size == it->second.size && c.root != it->second.root) {
    return common::Error::Conflict("checkpoint of size " + std::to_string(c.size) +
                                   " with another root than the one already signed");
  }
  return c;
}

common::Status Policy::RecordCheckpoint(const notary::Checkpoint& checkpoint) {
  const SignedCheckpoint now{checkpoint.size, checkpoint.root};
  auto it = checkpoints_.find(checkpoint.origin);
  if (it != checkpoints_.end() && it->second == now) return common::Ok();  // already durable
  const std::map<std::string, SignedCheckpoint> before = checkpoints_;
  checkpoints_[checkpoint.origin] = now;
  common::Status st = Save();
  if (!st.ok()) checkpoints_ = before;
  return st;
}

}  // namespace signer
