// ConsoleSessions: the web console's sign-in sessions, in memory only.
//
// A session is made from an API key that the console user typed once (POST /v1/session). The
// browser then holds only an opaque cookie token; the key stays in this process's memory, so
// every request made with the cookie is authenticated again exactly as a Bearer request with
// that key (revocation, expiry, scopes and the per-key rate limit apply at once). A restart
// ends every session.
//
// Token: "<id hex>.<secret hex>". Sessions are found by the id; the secret is compared, as a
// SHA-256, in constant time, so neither lookup nor comparison leaks the secret through timing.
// Each session also has a CSRF token that non-GET requests must echo in X-CSRF-Token.
//
// Thread-safety: thread-safe. One process-wide store (Instance()), since the HTTP routes that
// accept the cookie share no other object with the console routes.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "common/thread_annotations.h"

namespace http {

class ConsoleSessions {
 public:
  static constexpr int64_t kDefaultTtlSeconds = 8 * 3600;
  static constexpr size_t kMaxSessions = 10000;
  // One key or one tenant cannot take the whole store (issue 17, finding 9): a key's new
  // session past kMaxPerKey ends that key's oldest one; a tenant past kMaxPerTenant is refused.
  static constexpr size_t kMaxPerKey = 32;
  static constexpr size_t kMaxPerTenant = 1000;
  static constexpr const char* kCookieName = "notary_session";
  static constexpr const char* kCsrfHeader = "X-CSRF-Token";

  struct Session {
    std::string api_key;  // secret: never logged, never sent back
    std::string key_id;
    std::string tenant;
    std::string csrf_token;
    int64_t expires_at_us = 0;
  };
  struct Created {
    std::string token;  // the cookie value
    Session session;
  };

  explicit ConsoleSessions(int64_t ttl_seconds) : ttl_us_(ttl_seconds * 1000000) {}
  ConsoleSessions(const ConsoleSessions&) = delete;
  ConsoleSessions& operator=(const ConsoleSessions&) = delete;

  // The process-wide store; its TTL is NOTARY_CONSOLE_SESSION_TTL_S (seconds, 1..86400) when
  // set at start-up, else kDefaultTtlSeconds.
  static ConsoleSessions& Instance();

  enum class Refusal { kNone, kStoreFull, kTenantFull };
  // nullopt when the store, or the tenant's share of it, is full of live sessions (`why`).
  std::optional<Created> Create(std::string api_key, std::string key_id, std::string tenant,
                                int64_t now_us, Refusal* why = nullptr) EXCLUDES(mu_);
  // The live session for `token`, or nullopt (unknown, malformed or expired).
  std::optional<Session> Find(std::string_view token, int64_t now_us) EXCLUDES(mu_);
  // Ends the session for `token`; false when there was none.
  bool Remove(std::string_view token) EXCLUDES(mu_);
  int64_t ttl_us() const { return ttl_us_; }

  // RequireScope's use of the cookie: for a request without an Authorization header.
  struct CookieCheck {
    enum class Kind { kNoCookie, kOk, kEnded, kBadCsrf } kind = Kind::kNoCookie;
    std::string authorization;  // kOk: "Bearer <key>" for Authenticator::Authenticate
  };
  // kEnded: a session cookie that names no live session (expired, signed out, restarted).
  // kBadCsrf: a live session, but a method other than GET/HEAD without its CSRF token.
  CookieCheck Check(std::string_view cookie_header, std::string_view method,
                    std::string_view csrf_header, int64_t now_us);

  // The value of cookie `name` in a Cookie header, or "".
  static std::string CookieValue(std::string_view cookie_header, std::string_view name);

 private:
  struct Entry {
    std::string secret_hash;  // SHA-256 of the secret
    Session session;
  };
  // Splits "<id>.<secret>"; false when malformed.
  static bool Split(std::string_view token, std::string& id, std::string& secret);
  void DropExpiredLocked(int64_t now_us) REQUIRES(mu_);
  // Erases the session and its place in the per-key and per-tenant indexes.
  void EraseLocked(std::map<std::string, Entry>::iterator it) REQUIRES(mu_);

  const int64_t ttl_us_;
  common::Mutex mu_;
  std::map<std::string, Entry> entries_ GUARDED_BY(mu_);  // by session id
  // Session ids of each key, oldest first; live sessions per tenant.
  std::map<std::string, std::deque<std::string>> by_key_ GUARDED_BY(mu_);
  std::map<std::string, size_t> per_tenant_ GUARDED_BY(mu_);
};

}  // namespace http
