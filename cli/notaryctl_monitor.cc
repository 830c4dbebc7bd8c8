#include "notaryctl_monitor.h"

#include <fcntl.h>
#include <httplib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>

#include "common/bytes.h"
#include "common/printable.h"
#include "log/checkpoint.h"
#include "log/cosignature.h"
#include "log/merkle.h"

namespace cli {
namespace {

constexpr int kConsistent = 0;
constexpr int kInconsistent = 1;
constexpr int kUsage = 2;
constexpr int kUnavailable = 3;
constexpr size_t kMaxAnswerBytes = 1 << 20;

struct Fetched {
  int status = 0;
  std::string body;
  std::string error;
};

Fetched Get(const std::string& base, const std::string& path, int timeout_s) {
  httplib::Client client(base);
  client.set_connection_timeout(std::chrono::seconds(timeout_s));
  client.set_read_timeout(std::chrono::seconds(timeout_s));
  Fetched f;
  bool too_large = false;
  auto res = client.Get(path, [&](const char* data, size_t n) {
    if (f.body.size() + n > kMaxAnswerBytes) {
      too_large = true;
      return false;
    }
    f.body.append(data, n);
    return true;
  });
  if (too_large) {
    f.error = "answer larger than 1 MiB";
  } else if (!res) {
    f.error = httplib::to_string(res.error());
  } else {
    f.status = res->status;
  }
  return f;
}

// Written aside, synced and renamed over the old one: a crash leaves the old or the new.
bool WriteDurably(const std::string& path, const std::string& data) {
  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return false;
  bool ok = ::write(fd, data.data(), data.size()) == static_cast<ssize_t>(data.size()) &&
            ::fsync(fd) == 0;
  ok = ::close(fd) == 0 && ok;
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) return false;
  std::string dir = std::filesystem::path(path).parent_path().string();
  if (dir.empty()) dir = ".";
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return false;
  ok = ::fsync(dfd) == 0;
  ::close(dfd);
  return ok;
}

std::string Describe(const notary::Checkpoint& cp) {
  return "size " + std::to_string(cp.size) + " root " + common::Base64Encode(cp.root);
}

int Inconsistent(const std::string& what, const std::string& old_note,
                 const std::string& new_note) {
  std::cout << "INCONSISTENT: " << what << "\n\n--- checkpoint kept in the state file ---\n"
            << common::TerminalSafe(old_note) << "\n--- checkpoint the log serves now ---\n"
            << common::TerminalSafe(new_note);
  return kInconsistent;
}

}  // namespace

int RunMonitor(const MonitorArgs& args) {
  auto log_key = notary::ParseNoteVerifierKey(args.log_key);
  if (!log_key.ok()) {
    std::cerr << "--log-key: " << log_key.error().message() << "\n";
    return kUsage;
  }
  std::vector<notary::CosignerKey> witnesses;
  for (const auto& w : args.witnesses) {
    auto k = notary::ParseCosignerKey(w);
    if (!k.ok()) {
      std::cerr << "--witness " << w << ": " << k.error().message() << "\n";
      return kUsage;
    }
    witnesses.push_back(*k);
  }
  const size_t quorum = args.witness_quorum == 0 ? witnesses.size() : args.witness_quorum;
  if (quorum > witnesses.size()) {
    std::cerr << "--witness-quorum is larger than the number of --witness keys\n";
    return kUsage;
  }
  std::string base = args.url;
  while (!base.empty() && base.back() == '/') base.pop_back();

  // The state from the previous run, if any. It was verified when it was written, but the
  // file is checked again: a state someone edited must not be trusted silently.
  std::optional<std::string> old_note;
  std::optional<notary::Checkpoint> old_cp;
  if (std::filesystem::exists(args.state)) {
    std::ifstream in(args.state, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    old_note = ss.str();
    auto cp = notary::OpenCheckpoint(*old_note, *log_key);
    if (!cp.ok()) {
      std::cerr << args.state << ": not a checkpoint signed by the log's key ("
                << cp.error().message() << ")\n";
      return kUsage;
    }
    old_cp = *cp;
  }

  Fetched got = Get(base, "/v1/checkpoint", args.timeout_s);
  if (got.status != 200) {
    std::cerr << "GET " << base << "/v1/checkpoint: "
              << (got.status ? "HTTP " + std::to_string(got.status) : got.error) << "\n";
    return kUnavailable;
  }
  const std::string& note = got.body;
  auto cp = notary::OpenCheckpoint(note, *log_key);
  if (!cp.ok()) {
    // A log that serves an unsigned or wrongly signed checkpoint is misbehaving, or the URL
    // is not the log the key belongs to: either way the auditor must look.
    std::cout << "INVALID: the checkpoint the log serves does not verify with its key: "
              << cp.error().message() << "\n"
              << common::TerminalSafe(note);
    return kInconsistent;
  }
  if (cp->origin != log_key->name) {
    std::cout << "INVALID: the checkpoint names origin " << common::TerminalSafe(cp->origin)
              << ", the key is for " << common::TerminalSafe(log_key->name) << "\n";
    return kInconsistent;
  }
  size_t cosigned = 0;
  for (const auto& w : witnesses) {
    auto t = notary::VerifyCosignature(note, w);
    if (t.ok()) {
      ++cosigned;
      std::cout << "cosigned by " << common::TerminalSafe(w.name) << " at " << *t << "\n";
    }
  }
  if (cosigned < quorum) {
    std::cout << "INVALID: " << cosigned << " of the " << quorum
              << " required witness cosignatures\n";
    return kInconsistent;
  }

  if (old_cp) {
    if (cp->size < old_cp->size) {
      return Inconsistent("the log rolled back from " + Describe(*old_cp) + " to " + Describe(*cp),
                          *old_note, note);
    }
    if (cp->size == old_cp->size && cp->root != old_cp->root) {
      return Inconsistent("two different roots for the same size: " + Describe(*old_cp) + " and " +
                              Describe(*cp) + " (a fork)",
                          *old_note, note);
    }
    if (cp->size > old_cp->size && old_cp->size > 0) {
      Fetched proof = Get(base,
                          "/v1/proofs/consistency?first=" + std::to_string(old_cp->size) +
                              "&second=" + std::to_string(cp->size),
                          args.timeout_s);
      if (proof.status != 200) {
        std::cerr << "GET consistency proof: "
                  << (proof.status ? "HTTP " + std::to_string(proof.status) : proof.error) << "\n";
        return kUnavailable;
      }
      auto j = nlohmann::json::parse(proof.body, nullptr, false);
      std::vector<common::Hash> hashes;
      bool well_formed = j.is_object() && j.contains("hashes") && j["hashes"].is_array() &&
                         j["hashes"].size() <= 128;
      if (well_formed) {
        for (const auto& h : j["hashes"]) {
          auto raw = h.is_string() ? common::FromHex(h.get<std::string>()) : std::nullopt;
          if (!raw || raw->size() != 32) {
            well_formed = false;
            break;
          }
          common::Hash hash;
          std::copy(raw->begin(), raw->end(), hash.begin());
          hashes.push_back(hash);
        }
      }
      if (!well_formed) {
        std::cerr << "the consistency proof is not the JSON the API documents\n";
        return kUnavailable;
      }
      auto ok = notary::VerifyConsistency(old_cp->size, cp->size, old_cp->root, cp->root, hashes);
      if (!ok.ok()) {
        return Inconsistent("the log's tree " + Describe(*cp) + " does not extend " +
                                Describe(*old_cp) + " (" + ok.error().message() + "): a fork",
                            *old_note, note);
      }
    }
  }
  if (!WriteDurably(args.state, note)) {
    std::cerr << args.state << ": cannot write\n";
    return kUsage;
  }
  std::cout << "OK: " << Describe(*cp)
            << (old_cp ? ", consistent with " + Describe(*old_cp) : ", first checkpoint recorded")
            << "\n";
  return kConsistent;
}

}  // namespace cli
