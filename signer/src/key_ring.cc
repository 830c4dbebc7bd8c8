#include "signer/key_ring.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace signer {
namespace {

constexpr std::string_view kRingHeader = "email-notary-signer-keys v1";

common::Status WriteAll(int fd, const std::string& data, const std::string& path) {
  size_t off = 0;
  while (off < data.size()) {
    const ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0)
      return common::Error::Unavailable("cannot write " + path + ": " + std::strerror(errno));
    off += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) {
    return common::Error::Unavailable("cannot sync " + path + ": " + std::strerror(errno));
  }
  return common::Ok();
}

common::Status SyncDir(const std::string& path) {
  const std::string dir = std::filesystem::path(path).parent_path().string();
  const int dfd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return common::Error::Unavailable("cannot open " + dir + " to sync it");
  const bool synced = ::fsync(dfd) == 0;
  ::close(dfd);
  if (!synced) return common::Error::Unavailable("cannot sync " + dir);
  return common::Ok();
}

bool ParseI64(std::string_view s, int64_t& out) {
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return !s.empty() && ec == std::errc() && end == s.data() + s.size() && out >= 0;
}

// A key name is a file name and a token label: keep it to a safe alphabet.
bool ValidName(std::string_view name) {
  if (name.empty() || name.size() > 64 || name[0] == '.') return false;
  for (char c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.') {
      return false;
    }
  }
  return true;
}

class FileKeySource final : public KeySource {
 public:
  explicit FileKeySource(std::string dir) : dir_(std::move(dir)) {}

  common::Result<Opened> OpenOrCreate(const std::string& name) override {
    const std::string path = dir_ + "/" + name + ".pem";
    Opened out;
    out.where = path;
    if (!std::filesystem::exists(path)) {
      ASSIGN_OR_RETURN(notary::Ed25519Signer made, notary::Ed25519Signer::Generate());
      ASSIGN_OR_RETURN(std::string pem, made.PrivatePem());
      RETURN_IF_ERROR(CreateSecretFile(path, pem));
      out.created = true;
    }
    struct stat sb {};
    if (::stat(path.c_str(), &sb) != 0) {
      return common::Error::Unavailable("cannot stat " + path + ": " + std::strerror(errno));
    }
    if ((sb.st_mode & 077) != 0) {
      return common::Error::PermissionDenied(path + " is readable by others: chmod 600 it");
    }
    std::ifstream in(path, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    if (!in) return common::Error::Unavailable("cannot read " + path);
    auto key = notary::Ed25519Signer::FromPrivatePem(text.str());
    if (!key.ok()) return common::Error::InvalidInput(path + " is not an Ed25519 private key");
    out.key = std::make_unique<notary::Ed25519Signer>(std::move(*key));
    return out;
  }

 private:
  std::string dir_;
};

}  // namespace

common::Status WriteDurably(const std::string& path, const std::string& data) {
  const std::string tmp = path + ".new";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    return common::Error::Unavailable("cannot create " + tmp + ": " + std::strerror(errno));
  }
  common::Status st = WriteAll(fd, data, tmp);
  if (::close(fd) != 0 && st.ok()) st = common::Error::Unavailable("cannot close " + tmp);
  RETURN_IF_ERROR(st);
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    return common::Error::Unavailable("cannot replace " + path + ": " + std::strerror(errno));
  }
  return SyncDir(path);
}

common::Status CreateSecretFile(const std::string& path, const std::string& data) {
  // Written whole beside it, then linked into place: a crash leaves no half key under the
  // name, and link() never replaces an existing key.
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  ::unlink(tmp.c_str());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    return common::Error::Unavailable("cannot create " + tmp + ": " + std::strerror(errno));
  }
  common::Status st = WriteAll(fd, data, tmp);
  ::close(fd);
  if (st.ok() && ::link(tmp.c_str(), path.c_str()) != 0) {
    st = common::Error::Unavailable("cannot create " + path + ": " + std::strerror(errno));
  }
  ::unlink(tmp.c_str());
  RETURN_IF_ERROR(st);
  return SyncDir(path);
}

std::unique_ptr<KeySource> MakeFileKeySource(std::string dir) {
  return std::make_unique<FileKeySource>(std::move(dir));
}

common::Result<KeyRing> KeyRing::Open(const std::string& state_dir, const std::string& base_name,
                                      std::unique_ptr<KeySource> source,
                                      const common::Clock& clock) {
  if (!ValidName(base_name)) {
    return common::Error::InvalidInput("key name \"" + base_name +
                                       "\": use letters, digits, '-', '_' and '.'");
  }
  KeyRing ring(state_dir + "/keys", base_name, std::move(source), clock);
  std::ifstream in(ring.path_, std::ios::binary);
  if (!in) {
    if (std::filesystem::exists(ring.path_)) {
      return common::Error::Unavailable("cannot read " + ring.path_);
    }
    RETURN_IF_ERROR(ring.Add(base_name, clock.NowMicros()));
    RETURN_IF_ERROR(ring.Save());
    return ring;
  }
  auto bad = [&](const std::string& why) {
    return common::Error::InvalidInput(ring.path_ + ": " + why);
  };
  std::string line;
  if (!std::getline(in, line) || line != kRingHeader) return bad("not a signer key ring");
  while (std::getline(in, line)) {
    std::istringstream f(line);
    std::string what, name, key_id, created, retired;
    f >> what >> name >> key_id >> created >> retired;
    int64_t created_us = 0, retired_us = 0;
    if (what != "log" || !ValidName(name) || !ParseI64(created, created_us) ||
        (retired != "-" && !ParseI64(retired, retired_us)) || !f.eof()) {
      return bad("bad line");
    }
    RETURN_IF_ERROR(ring.Add(name, created_us));
    // The ring names the key it expects: a file or token object swapped underneath is refused.
    if (ring.entries_.back().key_id != key_id) {
      return bad("key " + name + " is not the key " + key_id + " the ring recorded");
    }
    if (retired != "-") ring.entries_.back().retired_us = retired_us;
  }
  if (ring.entries_.empty()) return bad("no keys");
  if (ring.entries_.back().retired_us) return bad("the last key is retired");
  return ring;
}

common::Status KeyRing::Add(const std::string& name, int64_t created_us) {
  ASSIGN_OR_RETURN(KeySource::Opened opened, source_->OpenOrCreate(name));
  if (opened.created) {
    spdlog::info("event=signer_key_generated name={} key_id={} where=\"{}\"", name,
                 notary::KeyId(opened.key->public_key()), opened.where);
  }
  const std::string key_id = notary::KeyId(opened.key->public_key());
  entries_.push_back(
      Entry{name, std::move(opened.key), key_id, opened.where, created_us, std::nullopt});
  return common::Ok();
}

common::Status KeyRing::Save() const {
  std::string out = std::string(kRingHeader) + "\n";
  for (const Entry& e : entries_) {
    out += "log " + e.name + " " + e.key_id + " " + std::to_string(e.created_us) + " " +
           (e.retired_us ? std::to_string(*e.retired_us) : "-") + "\n";
  }
  return WriteDurably(path_, out);
}

const notary::Ed25519Key* KeyRing::Find(const std::string& key_id) const {
  for (const Entry& e : entries_) {
    if (e.key_id == key_id) return e.key.get();
  }
  return nullptr;
}

std::vector<KeyInfo> KeyRing::List() const {
  std::vector<KeyInfo> out;
  for (size_t i = 0; i < entries_.size(); ++i) {
    const Entry& e = entries_[i];
    KeyInfo k;
    k.public_key = e.key->public_key();
    k.current = i + 1 == entries_.size();
    k.created_us = e.created_us;
    k.retired_us = e.retired_us;
    k.where = e.where;
    out.push_back(std::move(k));
  }
  return out;
}

common::Status KeyRing::Rotate() {
  const std::string name = base_name_ + "." + std::to_string(entries_.size() + 1);
  const int64_t now = clock_->NowMicros();
  RETURN_IF_ERROR(Add(name, now));
  entries_[entries_.size() - 2].retired_us = now;
  common::Status st = Save();
  if (!st.ok()) {
    // Not durable: not rotated. (The new file or token object stays, unused, and is taken
    // again by name on the next rotation.)
    entries_.pop_back();
    entries_.back().retired_us.reset();
  }
  return st;
}

}  // namespace signer
