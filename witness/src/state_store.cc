#include "witness/state_store.h"

#include <dirent.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <optional>

#include "common/sha256.h"
#include "durable_file.h"
#include "log/checkpoint.h"

namespace witness {
namespace {

constexpr std::string_view kMagic = "notary-witness state v1\n";
constexpr size_t kMaxStateFile = 128 * 1024;

std::optional<std::string_view> Field(std::string_view& rest, std::string_view key) {
  const size_t nl = rest.find('\n');
  if (nl == std::string_view::npos) return std::nullopt;
  std::string_view line = rest.substr(0, nl);
  if (!line.starts_with(key) || line.size() <= key.size() || line[key.size()] != ' ') {
    return std::nullopt;
  }
  rest.remove_prefix(nl + 1);
  return line.substr(key.size() + 1);
}

std::optional<uint64_t> ParseDecimal(std::string_view s) {
  if (s.empty() || s.size() > 20 || (s.size() > 1 && s[0] == '0')) return std::nullopt;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    const auto d = static_cast<uint64_t>(c - '0');
    if (v > (UINT64_MAX - d) / 10) return std::nullopt;
    v = v * 10 + d;
  }
  return v;
}

common::Status MakeDir(const std::string& dir) {
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return common::Error::Unavailable("cannot create " + dir + ": " + std::strerror(errno));
  }
  return common::Ok();
}

// The names of the regular entries of `dir`, "." and ".." excepted.
common::Result<std::vector<std::string>> ListDir(const std::string& dir) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) {
    return common::Error::Unavailable("cannot read " + dir + ": " + std::strerror(errno));
  }
  std::vector<std::string> names;
  while (const dirent* e = ::readdir(d)) {
    const std::string name = e->d_name;
    if (name != "." && name != "..") names.push_back(name);
  }
  ::closedir(d);
  return names;
}

}  // namespace

std::string StateFileName(std::string_view origin) {
  return common::ToHex(common::Sha256Of(origin));
}

std::string EncodeOriginState(const OriginState& state) {
  std::string out(kMagic);
  out += "origin " + state.origin + "\n";
  out += "size " + std::to_string(state.size) + "\n";
  out += "root " + common::Base64Encode(state.root) + "\n";
  out += "\n";
  out += state.checkpoint;
  return out;
}

common::Result<OriginState> DecodeOriginState(std::string_view file) {
  if (!file.starts_with(kMagic)) return common::Error::InvalidInput("not a witness state file");
  std::string_view rest = file.substr(kMagic.size());
  OriginState out;
  const auto origin = Field(rest, "origin");
  const auto size = Field(rest, "size");
  const auto root = Field(rest, "root");
  if (!origin || !size || !root || !rest.starts_with("\n")) {
    return common::Error::InvalidInput("malformed state header");
  }
  rest.remove_prefix(1);
  out.origin = std::string(*origin);
  const auto n = ParseDecimal(*size);
  if (!n) return common::Error::InvalidInput("malformed size");
  out.size = *n;
  const auto raw = common::Base64Decode(*root);
  if (!raw || raw->size() != out.root.size()) return common::Error::InvalidInput("malformed root");
  for (size_t i = 0; i < out.root.size(); ++i) out.root[i] = static_cast<uint8_t>((*raw)[i]);
  out.checkpoint = std::string(rest);
  auto note = notary::ParseNote(out.checkpoint);
  if (!note.ok()) return common::Error::InvalidInput("malformed checkpoint note");
  auto cp = notary::ParseCheckpoint(note->text);
  if (!cp.ok()) return common::Error::InvalidInput("malformed checkpoint");
  if (cp->origin != out.origin || cp->size != out.size || cp->root != out.root) {
    return common::Error::InvalidInput("the checkpoint disagrees with the state's fields");
  }
  return out;
}

common::Result<std::unique_ptr<StateStore>> StateStore::Open(StateStoreOptions options) {
  RETURN_IF_ERROR(MakeDir(options.dir));
  RETURN_IF_ERROR(MakeDir(options.dir + "/state"));
  RETURN_IF_ERROR(MakeDir(options.dir + "/evidence"));
  std::unique_ptr<StateStore> store(new StateStore(std::move(options)));
  const std::string state_dir = store->options_.dir + "/state";
  ASSIGN_OR_RETURN(auto names, ListDir(state_dir));
  for (const auto& name : names) {
    if (name.ends_with(".new")) continue;  // a crash before rename(): the old file stands
    const std::string path = state_dir + "/" + name;
    ASSIGN_OR_RETURN(std::string bytes, ReadSmallFile(path, kMaxStateFile));
    auto state = DecodeOriginState(bytes);
    if (!state.ok()) {
      return common::Error::InvalidInput(path + " is corrupt (" + state.error().message() +
                                         "): restore it from a backup");
    }
    if (StateFileName(state->origin) != name) {
      return common::Error::InvalidInput(path + " holds the state of another origin");
    }
    store->loaded_.emplace(state->origin, std::move(*state));
  }
  ASSIGN_OR_RETURN(auto evidence, ListDir(store->options_.dir + "/evidence"));
  store->evidence_files_ = evidence.size();
  return store;
}

common::Status StateStore::Save(const OriginState& state) const {
  return WriteDurably(options_.dir + "/state/" + StateFileName(state.origin),
                      EncodeOriginState(state), options_.sync);
}

common::Status StateStore::KeepEvidence(std::string_view body) {
  if (body.size() > options_.max_evidence_bytes) {
    return common::Error::TooLarge("evidence body over the limit");
  }
  std::lock_guard lock(evidence_mu_);
  if (evidence_files_ >= options_.max_evidence_files) {
    return common::Error::TooLarge("the evidence folder is full");
  }
  const std::string path =
      options_.dir + "/evidence/" + common::ToHex(common::Sha256Of(body)) + ".txt";
  struct stat sb {};
  if (::stat(path.c_str(), &sb) == 0) return common::Ok();  // the same body, kept already
  RETURN_IF_ERROR(WriteDurably(path, body, options_.sync));
  ++evidence_files_;
  return common::Ok();
}

}  // namespace witness
