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

namespace signer {
namespace {

constexpr std::string_view kStateHeader = "email-notary-signer-state v1";

std::string Num(uint64_t v) { return std::to_string(v); }

// Writes `data` to `path` durably: a new file beside it, fsync, rename over, fsync of the
// directory, so that a crash leaves the old state or the new one, never a torn one.
common::Status WriteDurably(const std::string& path, const std::string& data) {
  const std::string tmp = path + ".new";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    return common::Error::Unavailable("cannot create " + tmp + ": " + std::strerror(errno));
  }
  size_t off = 0;
  while (off < data.size()) {
    const ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      ::close(fd);
      return common::Error::Unavailable("cannot write " + tmp + ": " + std::strerror(errno));
    }
    off += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) {
    ::close(fd);
    return common::Error::Unavailable("cannot sync " + tmp + ": " + std::strerror(errno));
  }
  if (::close(fd) != 0 || ::rename(tmp.c_str(), path.c_str()) != 0) {
    return common::Error::Unavailable("cannot replace " + path + ": " + std::strerror(errno));
  }
  const std::string dir = std::filesystem::path(path).parent_path().string();
  const int dfd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return common::Error::Unavailable("cannot open " + dir + " to sync it");
  const bool synced = ::fsync(dfd) == 0;
  ::close(dfd);
  if (!synced) return common::Error::Unavailable("cannot sync " + dir);
  return common::Ok();
}

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
      std::string height, hash, header, size, sealed;
      f >> height >> hash >> header >> size >> sealed;
      SignedBlock b;
      uint64_t sealed_u = 0;
      auto h1 = common::HashFromHex(hash), h2 = common::HashFromHex(header);
      if (!ParseU64(height, b.height) || !h1 || !h2 || !ParseU64(size, b.tree_size) ||
          !ParseU64(sealed, sealed_u) || !f.eof()) {
        return bad("bad block line");
      }
      b.block_hash = *h1;
      b.header_sha256 = *h2;
      b.sealed_at_us = static_cast<int64_t>(sealed_u);
      p.last_block_ = b;
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
    out += "block " + Num(b.height) + " " + common::ToHex(b.block_hash) + " " +
           common::ToHex(b.header_sha256) + " " + Num(b.tree_size) + " " +
           Num(static_cast<uint64_t>(b.sealed_at_us)) + "\n";
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
  if (h.height == last.height && common::Sha256Of(encoded) == last.header_sha256) {
    retry = true;
    return h;
  }
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
  last_block_ = SignedBlock{header.height, block_hash, common::Sha256Of(encoded), header.tree_size,
                            header.sealed_at_us};
  common::Status st = Save();
  if (!st.ok()) last_block_ = before;  // not durable: not signed
  return st;
}

common::Result<notary::Checkpoint> Policy::CheckCheckpoint(std::string_view text) const {
  ASSIGN_OR_RETURN(notary::Checkpoint c, notary::ParseCheckpoint(text));
  if (std::find(options_.origins.begin(), options_.origins.end(), c.origin) ==
      options_.origins.end()) {
    return common::Error::PermissionDenied("checkpoint origin is not one this signer serves");
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
  const std::map<std::string, SignedCheckpoint> before = checkpoints_;
  checkpoints_[checkpoint.origin] = SignedCheckpoint{checkpoint.size, checkpoint.root};
  common::Status st = Save();
  if (!st.ok()) checkpoints_ = before;
  return st;
}

}  // namespace signer
