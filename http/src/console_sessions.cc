#include "http/console_sessions.h"

#include <openssl/rand.h>

#include <cstdlib>

#include "common/bytes.h"
#include "common/check.h"
#include "common/sha256.h"

namespace http {
namespace {

constexpr size_t kIdBytes = 16;
constexpr size_t kSecretBytes = 32;

std::string RandomHex(size_t n) {
  std::string s(n, '\0');
  CHECK(RAND_bytes(reinterpret_cast<unsigned char*>(s.data()), static_cast<int>(n)) == 1);
  return common::ToHex(common::AsBytes(s));
}

std::string Sha256Of(std::string_view s) {
  common::Sha256 h;
  h.Update(s);
  common::Hash d = h.Finish();
  return std::string(reinterpret_cast<const char*>(d.data()), d.size());
}

bool IsLowerHex(std::string_view s) {
  return s.find_first_not_of("0123456789abcdef") == std::string_view::npos;
}

int64_t TtlFromEnvironment() {
  const char* v = std::getenv("NOTARY_CONSOLE_SESSION_TTL_S");
  if (v == nullptr || *v == '\0') return ConsoleSessions::kDefaultTtlSeconds;
  char* end = nullptr;
  long long n = std::strtoll(v, &end, 10);
  if (end == nullptr || *end != '\0' || n < 1 || n > 86400) {
    return ConsoleSessions::kDefaultTtlSeconds;
  }
  return static_cast<int64_t>(n);
}

}  // namespace

ConsoleSessions& ConsoleSessions::Instance() {
  static ConsoleSessions store(TtlFromEnvironment());
  return store;
}

bool ConsoleSessions::Split(std::string_view token, std::string& id, std::string& secret) {
  if (token.size() != 2 * kIdBytes + 1 + 2 * kSecretBytes || token[2 * kIdBytes] != '.') {
    return false;
  }
  id = std::string(token.substr(0, 2 * kIdBytes));
  secret = std::string(token.substr(2 * kIdBytes + 1));
  return IsLowerHex(id) && IsLowerHex(secret);
}

void ConsoleSessions::EraseLocked(std::map<std::string, Entry>::iterator it) {
  const Session& s = it->second.session;
  auto k = by_key_.find(s.key_id);
  if (k != by_key_.end()) {
    std::erase(k->second, it->first);  // at most kMaxPerKey ids
    if (k->second.empty()) by_key_.erase(k);
  }
  auto t = per_tenant_.find(s.tenant);
  if (t != per_tenant_.end() && --t->second == 0) per_tenant_.erase(t);
  entries_.erase(it);
}

void ConsoleSessions::DropExpiredLocked(int64_t now_us) {
  for (auto it = entries_.begin(); it != entries_.end();) {
    auto next = std::next(it);
    if (it->second.session.expires_at_us <= now_us) EraseLocked(it);
    it = next;
  }
}

std::optional<ConsoleSessions::Created> ConsoleSessions::Create(std::string api_key,
                                                                std::string key_id,
                                                                std::string tenant, int64_t now_us,
                                                                Refusal* why) {
  const std::string id = RandomHex(kIdBytes);
  const std::string secret = RandomHex(kSecretBytes);
  Session s{std::move(api_key), std::move(key_id), std::move(tenant), RandomHex(kSecretBytes),
            now_us + ttl_us_};
  if (why != nullptr) *why = Refusal::kNone;
  common::MutexLock lock(mu_);
  auto refuse = [&](Refusal r) {
    if (why != nullptr) *why = r;
    return std::nullopt;
  };
  // The key's oldest session makes room for its newest.
  if (auto k = by_key_.find(s.key_id); k != by_key_.end() && k->second.size() >= kMaxPerKey) {
    if (auto oldest = entries_.find(k->second.front()); oldest != entries_.end()) {
      EraseLocked(oldest);
    }
  }
  auto tenant_sessions = [&]() REQUIRES(mu_) {
    auto t = per_tenant_.find(s.tenant);
    return t == per_tenant_.end() ? size_t{0} : t->second;
  };
  if (entries_.size() >= kMaxSessions || tenant_sessions() >= kMaxPerTenant) {
    DropExpiredLocked(now_us);
  }
  if (tenant_sessions() >= kMaxPerTenant) return refuse(Refusal::kTenantFull);
  if (entries_.size() >= kMaxSessions) return refuse(Refusal::kStoreFull);
  entries_[id] = Entry{Sha256Of(secret), s};
  by_key_[s.key_id].push_back(id);
  ++per_tenant_[s.tenant];
  return Created{id + "." + secret, std::move(s)};
}

std::optional<ConsoleSessions::Session> ConsoleSessions::Find(std::string_view token,
                                                              int64_t now_us) {
  std::string id, secret;
  if (!Split(token, id, secret)) return std::nullopt;
  const std::string presented = Sha256Of(secret);
  common::MutexLock lock(mu_);
  auto it = entries_.find(id);
  if (it == entries_.end()) return std::nullopt;
  if (!common::ConstantTimeEquals(presented, it->second.secret_hash)) return std::nullopt;
  if (it->second.session.expires_at_us <= now_us) {
    EraseLocked(it);
    return std::nullopt;
  }
  return it->second.session;
}

bool ConsoleSessions::Remove(std::string_view token) {
  std::string id, secret;
  if (!Split(token, id, secret)) return false;
  const std::string presented = Sha256Of(secret);
  common::MutexLock lock(mu_);
  auto it = entries_.find(id);
  if (it == entries_.end() || !common::ConstantTimeEquals(presented, it->second.secret_hash)) {
    return false;
  }
  EraseLocked(it);
  return true;
}

ConsoleSessions::CookieCheck ConsoleSessions::Check(std::string_view cookie_header,
                                                    std::string_view method,
                                                    std::string_view csrf_header, int64_t now_us) {
  CookieCheck out;
  const std::string token = CookieValue(cookie_header, kCookieName);
  if (token.empty()) return out;
  auto s = Find(token, now_us);
  if (!s) {
    out.kind = CookieCheck::Kind::kEnded;
    return out;
  }
  if (method != "GET" && method != "HEAD" &&
      !common::ConstantTimeEquals(csrf_header, s->csrf_token)) {
    out.kind = CookieCheck::Kind::kBadCsrf;
    return out;
  }
  out.kind = CookieCheck::Kind::kOk;
  out.authorization = "Bearer " + s->api_key;
  return out;
}

std::string ConsoleSessions::CookieValue(std::string_view header, std::string_view name) {
  size_t pos = 0;
  while (pos < header.size()) {
    size_t end = header.find(';', pos);
    if (end == std::string_view::npos) end = header.size();
    std::string_view item = header.substr(pos, end - pos);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    if (item.size() > name.size() && item.substr(0, name.size()) == name &&
        item[name.size()] == '=') {
      return std::string(item.substr(name.size() + 1));
    }
    pos = end + 1;
  }
  return "";
}

}  // namespace http
