// The console's session store (http/console_sessions.h): tokens "<32 hex id>.<64 hex secret>",
// lookup, expiry at the instant the caller gives (the store reads no clock), sign-out, the
// CSRF token that requests other than GET and HEAD must echo, the cookie header, and the
// limits per key, per tenant and in all.
#include "http/console_sessions.h"

#include <gtest/gtest.h>

#include <cctype>
#include <cstdlib>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace http {
namespace {

using Kind = ConsoleSessions::CookieCheck::Kind;
using Refusal = ConsoleSessions::Refusal;

constexpr int64_t kTtlS = 600;
constexpr int64_t kTtlUs = kTtlS * 1'000'000;
constexpr int64_t kT0 = 1'750'000'000'000'000;  // microseconds

std::string Cookie(const std::string& token) {
  return std::string(ConsoleSessions::kCookieName) + "=" + token;
}

// The token with character `at` changed to another lower-case hex digit (or '.' moved).
std::string Altered(std::string token, size_t at) {
  token[at] = token[at] == 'a' ? 'b' : 'a';
  return token;
}

TEST(ConsoleSessionsTest, CreateGivesATokenThatFindsItsSession) {
  ConsoleSessions store(kTtlS);
  EXPECT_EQ(store.ttl_us(), kTtlUs);
  Refusal why = Refusal::kStoreFull;
  auto made = store.Create("nk_key", "id1", "acme", kT0, &why);
  ASSERT_TRUE(made.has_value());
  EXPECT_EQ(why, Refusal::kNone);
  EXPECT_TRUE(std::regex_match(made->token, std::regex("[0-9a-f]{32}\\.[0-9a-f]{64}")))
      << made->token;
  EXPECT_EQ(made->session.api_key, "nk_key");
  EXPECT_EQ(made->session.key_id, "id1");
  EXPECT_EQ(made->session.tenant, "acme");
  EXPECT_EQ(made->session.expires_at_us, kT0 + kTtlUs);
  EXPECT_TRUE(std::regex_match(made->session.csrf_token, std::regex("[0-9a-f]{64}")));
  // The CSRF token is not the cookie's secret: a page that can read one must not learn the
  // other.
  EXPECT_EQ(made->token.find(made->session.csrf_token), std::string::npos);

  auto found = store.Find(made->token, kT0 + 1);
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->api_key, "nk_key");
  EXPECT_EQ(found->key_id, "id1");
  EXPECT_EQ(found->tenant, "acme");
  EXPECT_EQ(found->csrf_token, made->session.csrf_token);
  EXPECT_EQ(found->expires_at_us, kT0 + kTtlUs);
  // Looking up does not extend the session.
  EXPECT_FALSE(store.Find(made->token, kT0 + kTtlUs).has_value());
}

TEST(ConsoleSessionsTest, EverySessionHasItsOwnTokenAndCsrfToken) {
  ConsoleSessions store(kTtlS);
  std::set<std::string> ids, secrets, csrf;
  for (int i = 0; i < 30; ++i) {
    auto made = store.Create("nk_key", "id1", "acme", kT0);
    ASSERT_TRUE(made.has_value());
    ids.insert(made->token.substr(0, 32));
    secrets.insert(made->token.substr(33));
    csrf.insert(made->session.csrf_token);
  }
  EXPECT_EQ(ids.size(), 30u);
  EXPECT_EQ(secrets.size(), 30u);
  EXPECT_EQ(csrf.size(), 30u);
}

TEST(ConsoleSessionsTest, AlteredOrMalformedTokensFindNothingAndEndNothing) {
  ConsoleSessions store(kTtlS);
  auto made = store.Create("nk_key", "id1", "acme", kT0);
  ASSERT_TRUE(made.has_value());
  const std::string& t = made->token;
  std::string upper = t;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  const std::vector<std::string> wrong = {
      Altered(t, 0),   // the id
      Altered(t, 31),  // the id's last character
      Altered(t, 33),  // the secret
      Altered(t, 96),  // the secret's last character
      t.substr(0, 32) + "." + std::string(64, '0'),
      t.substr(0, 32) + "-" + t.substr(33),
      t.substr(0, 32) + t.substr(33),
      t + "0",
      t.substr(0, 96),
      " " + t,
      upper,
      t.substr(33) + "." + t.substr(0, 32),
      "",
      ".",
  };
  for (const std::string& w : wrong) {
    EXPECT_FALSE(store.Find(w, kT0).has_value()) << w;
    EXPECT_FALSE(store.Remove(w)) << w;
  }
  // None of that ended the session.
  EXPECT_TRUE(store.Find(t, kT0).has_value());
}

TEST(ConsoleSessionsTest, SessionEndsAtItsExpiryInstant) {
  ConsoleSessions store(kTtlS);
  auto made = store.Create("nk_key", "id1", "acme", kT0);
  ASSERT_TRUE(made.has_value());
  EXPECT_TRUE(store.Find(made->token, kT0).has_value());
  EXPECT_TRUE(store.Find(made->token, kT0 + kTtlUs - 1).has_value());
  EXPECT_FALSE(store.Find(made->token, kT0 + kTtlUs).has_value());
  // An expired session is gone, not only hidden: a clock that steps back does not revive it.
  EXPECT_FALSE(store.Find(made->token, kT0).has_value());
  EXPECT_FALSE(store.Remove(made->token));
  // The TTL is the store's.
  ConsoleSessions brief(1);
  auto short_lived = brief.Create("nk_key", "id1", "acme", kT0);
  ASSERT_TRUE(short_lived.has_value());
  EXPECT_EQ(short_lived->session.expires_at_us, kT0 + 1'000'000);
  EXPECT_TRUE(brief.Find(short_lived->token, kT0 + 999'999).has_value());
  EXPECT_FALSE(brief.Find(short_lived->token, kT0 + 1'000'000).has_value());
}

TEST(ConsoleSessionsTest, RemoveEndsTheSessionOnce) {
  ConsoleSessions store(kTtlS);
  auto a = store.Create("nk_key", "id1", "acme", kT0);
  auto b = store.Create("nk_key", "id1", "acme", kT0);
  ASSERT_TRUE(a && b);
  EXPECT_TRUE(store.Remove(a->token));
  EXPECT_FALSE(store.Find(a->token, kT0).has_value());
  EXPECT_FALSE(store.Remove(a->token));
  // The key's other session goes on.
  EXPECT_TRUE(store.Find(b->token, kT0).has_value());
}

TEST(ConsoleSessionsTest, CheckAcceptsSafeMethodsAndDemandsTheCsrfTokenForOthers) {
  ConsoleSessions store(kTtlS);
  auto made = store.Create("nk_secret_key", "id1", "acme", kT0);
  auto other = store.Create("nk_other", "id2", "acme", kT0);
  ASSERT_TRUE(made && other);
  const std::string cookie = "theme=dark; " + Cookie(made->token) + "; lang=en";
  const std::string& csrf = made->session.csrf_token;

  for (const char* safe : {"GET", "HEAD"}) {
    auto c = store.Check(cookie, safe, "", kT0);
    EXPECT_EQ(c.kind, Kind::kOk) << safe;
    // The request is then authenticated as a Bearer request with the session's key.
    EXPECT_EQ(c.authorization, "Bearer nk_secret_key") << safe;
  }
  // Methods are case-sensitive (RFC 9110 §9.1): "get" is not GET.
  for (const char* method : {"POST", "PUT", "PATCH", "DELETE", "OPTIONS", "get", ""}) {
    auto no_token = store.Check(cookie, method, "", kT0);
    EXPECT_EQ(no_token.kind, Kind::kBadCsrf) << method;
    EXPECT_EQ(no_token.authorization, "") << method;
    for (const std::string& bad :
         {Altered(csrf, 0), Altered(csrf, 63), csrf.substr(0, 63), csrf + "a",
          other->session.csrf_token, made->token, made->token.substr(33)}) {
      auto c = store.Check(cookie, method, bad, kT0);
      EXPECT_EQ(c.kind, Kind::kBadCsrf) << method << " " << bad;
      EXPECT_EQ(c.authorization, "");
    }
    auto ok = store.Check(cookie, method, csrf, kT0);
    EXPECT_EQ(ok.kind, Kind::kOk) << method;
    EXPECT_EQ(ok.authorization, "Bearer nk_secret_key");
  }
  // The other session's cookie with its own token.
  auto c = store.Check(Cookie(other->token), "POST", other->session.csrf_token, kT0);
  EXPECT_EQ(c.kind, Kind::kOk);
  EXPECT_EQ(c.authorization, "Bearer nk_other");
}

TEST(ConsoleSessionsTest, CheckTellsAMissingCookieFromAnEndedSession) {
  ConsoleSessions store(kTtlS);
  auto made = store.Create("nk_key", "id1", "acme", kT0);
  ASSERT_TRUE(made.has_value());
  for (const std::string& header :
       {std::string(), std::string("theme=dark"), std::string("notary_session="),
        "x" + Cookie(made->token), "notary_sessionx=" + made->token}) {
    auto c = store.Check(header, "GET", "", kT0);
    EXPECT_EQ(c.kind, Kind::kNoCookie) << header;
    EXPECT_EQ(c.authorization, "");
  }
  // A cookie that names no live session: unknown, expired, signed out.
  EXPECT_EQ(store.Check(Cookie(Altered(made->token, 40)), "GET", "", kT0).kind, Kind::kEnded);
  EXPECT_EQ(store.Check(Cookie("garbage"), "GET", "", kT0).kind, Kind::kEnded);
  EXPECT_EQ(store.Check(Cookie(made->token), "GET", "", kT0 + kTtlUs).kind, Kind::kEnded);
  auto again = store.Create("nk_key", "id1", "acme", kT0);
  ASSERT_TRUE(again.has_value());
  ASSERT_TRUE(store.Remove(again->token));
  auto ended = store.Check(Cookie(again->token), "POST", again->session.csrf_token, kT0);
  EXPECT_EQ(ended.kind, Kind::kEnded);
  EXPECT_EQ(ended.authorization, "");
}

TEST(ConsoleSessionsTest, CookieValueFindsTheNamedCookie) {
  const std::string name = ConsoleSessions::kCookieName;
  EXPECT_EQ(ConsoleSessions::CookieValue("notary_session=abc", name), "abc");
  EXPECT_EQ(ConsoleSessions::CookieValue("a=1; notary_session=abc; b=2", name), "abc");
  EXPECT_EQ(ConsoleSessions::CookieValue("a=1;notary_session=abc", name), "abc");
  EXPECT_EQ(ConsoleSessions::CookieValue("a=1;   notary_session=abc", name), "abc");
  EXPECT_EQ(ConsoleSessions::CookieValue("a=notary_session=abc", name), "");
  EXPECT_EQ(ConsoleSessions::CookieValue("my_notary_session=abc", name), "");
  EXPECT_EQ(ConsoleSessions::CookieValue("notary_session_2=abc", name), "");
  EXPECT_EQ(ConsoleSessions::CookieValue("notary_session", name), "");
  EXPECT_EQ(ConsoleSessions::CookieValue("notary_session=", name), "");
  EXPECT_EQ(ConsoleSessions::CookieValue("", name), "");
  EXPECT_EQ(ConsoleSessions::CookieValue(";;; ;", name), "");
  EXPECT_EQ(ConsoleSessions::CookieValue("a=1; b=2", "b"), "2");
}

TEST(ConsoleSessionsTest, KeysNewSessionPastItsLimitEndsItsOldest) {
  ConsoleSessions store(kTtlS);
  std::vector<std::string> tokens;
  for (size_t i = 0; i < ConsoleSessions::kMaxPerKey; ++i) {
    auto made = store.Create("nk_a", "a", "acme", kT0 + static_cast<int64_t>(i));
    ASSERT_TRUE(made.has_value()) << i;
    tokens.push_back(made->token);
  }
  auto b = store.Create("nk_b", "b", "acme", kT0);  // another key of the same tenant
  ASSERT_TRUE(b.has_value());
  for (const auto& t : tokens) ASSERT_TRUE(store.Find(t, kT0 + 100).has_value());
  // Two more for key a: its two oldest end, in order; the rest and key b stay.
  for (int extra = 0; extra < 2; ++extra) {
    Refusal why = Refusal::kStoreFull;
    auto made = store.Create("nk_a", "a", "acme", kT0 + 100, &why);
    ASSERT_TRUE(made.has_value());
    EXPECT_EQ(why, Refusal::kNone);
    tokens.push_back(made->token);
  }
  EXPECT_FALSE(store.Find(tokens[0], kT0 + 100).has_value());
  EXPECT_FALSE(store.Find(tokens[1], kT0 + 100).has_value());
  for (size_t i = 2; i < tokens.size(); ++i) {
    EXPECT_TRUE(store.Find(tokens[i], kT0 + 100).has_value()) << i;
  }
  EXPECT_TRUE(store.Find(b->token, kT0 + 100).has_value());
}

TEST(ConsoleSessionsTest, SignedOutSessionsDoNotCountAgainstTheKey) {
  ConsoleSessions store(kTtlS);
  auto first = store.Create("nk_a", "a", "acme", kT0);
  ASSERT_TRUE(first.has_value());
  for (size_t i = 0; i < 3 * ConsoleSessions::kMaxPerKey; ++i) {
    auto made = store.Create("nk_a", "a", "acme", kT0);
    ASSERT_TRUE(made.has_value());
    ASSERT_TRUE(store.Remove(made->token));
  }
  // Only two sessions of key a were ever live at once: the first is still there.
  EXPECT_TRUE(store.Find(first->token, kT0).has_value());
}

// Fills `tenant` with `n` live sessions spread over keys that stay under kMaxPerKey.
std::vector<std::string> Fill(ConsoleSessions& store, const std::string& tenant, size_t n,
                              int64_t now) {
  std::vector<std::string> tokens;
  for (size_t i = 0; i < n; ++i) {
    const std::string key = tenant + "-key" + std::to_string(i / (ConsoleSessions::kMaxPerKey - 1));
    auto made = store.Create("nk_" + key, key, tenant, now);
    EXPECT_TRUE(made.has_value()) << tenant << " " << i;
    if (!made) break;
    tokens.push_back(made->token);
  }
  return tokens;
}

TEST(ConsoleSessionsTest, TenantPastItsShareIsRefusedUntilASessionEnds) {
  ConsoleSessions store(kTtlS);
  auto tokens = Fill(store, "acme", ConsoleSessions::kMaxPerTenant, kT0);
  ASSERT_EQ(tokens.size(), ConsoleSessions::kMaxPerTenant);
  Refusal why = Refusal::kNone;
  EXPECT_FALSE(store.Create("nk_new", "new", "acme", kT0, &why).has_value());
  EXPECT_EQ(why, Refusal::kTenantFull);
  // Other tenants are not held back.
  why = Refusal::kTenantFull;
  EXPECT_TRUE(store.Create("nk_g", "g", "globex", kT0, &why).has_value());
  EXPECT_EQ(why, Refusal::kNone);
  // Every earlier session is intact; signing one out makes room for exactly one.
  for (const auto& t : tokens) ASSERT_TRUE(store.Find(t, kT0).has_value());
  ASSERT_TRUE(store.Remove(tokens[10]));
  EXPECT_TRUE(store.Create("nk_new", "new", "acme", kT0).has_value());
  EXPECT_FALSE(store.Create("nk_new", "new", "acme", kT0, &why).has_value());
  EXPECT_EQ(why, Refusal::kTenantFull);
  // Expired sessions make room again.
  why = Refusal::kTenantFull;
  EXPECT_TRUE(store.Create("nk_new", "new", "acme", kT0 + kTtlUs, &why).has_value());
  EXPECT_EQ(why, Refusal::kNone);
  EXPECT_FALSE(store.Find(tokens[0], kT0 + kTtlUs).has_value());
}

TEST(ConsoleSessionsTest, KeyAtItsLimitInAFullTenantEndsItsOwnOldest) {
  // The key's own oldest session makes room before the tenant's share is counted, so a key
  // that already holds its kMaxPerKey sessions can always sign in again.
  ConsoleSessions store(kTtlS);
  std::vector<std::string> own;
  for (size_t i = 0; i < ConsoleSessions::kMaxPerKey; ++i) {
    auto made = store.Create("nk_a", "a", "acme", kT0);
    ASSERT_TRUE(made.has_value());
    own.push_back(made->token);
  }
  auto others =
      Fill(store, "acme", ConsoleSessions::kMaxPerTenant - ConsoleSessions::kMaxPerKey, kT0);
  Refusal why = Refusal::kNone;
  ASSERT_FALSE(store.Create("nk_b", "b", "acme", kT0, &why).has_value());
  ASSERT_EQ(why, Refusal::kTenantFull);
  auto again = store.Create("nk_a", "a", "acme", kT0, &why);
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(why, Refusal::kNone);
  EXPECT_FALSE(store.Find(own[0], kT0).has_value());
  EXPECT_TRUE(store.Find(own[1], kT0).has_value());
  for (const auto& t : others) ASSERT_TRUE(store.Find(t, kT0).has_value());
}

TEST(ConsoleSessionsTest, FullStoreIsRefusedUntilSessionsExpire) {
  ConsoleSessions store(kTtlS);
  const size_t tenants = ConsoleSessions::kMaxSessions / ConsoleSessions::kMaxPerTenant;
  ASSERT_EQ(tenants * ConsoleSessions::kMaxPerTenant, ConsoleSessions::kMaxSessions);
  // Half the store made at kT0, half at kT0 + TTL/2.
  std::vector<std::string> early, late;
  for (size_t t = 0; t < tenants; ++t) {
    const bool is_early = t < tenants / 2;
    auto tokens = Fill(store, "tenant" + std::to_string(t), ConsoleSessions::kMaxPerTenant,
                       is_early ? kT0 : kT0 + kTtlUs / 2);
    ASSERT_EQ(tokens.size(), ConsoleSessions::kMaxPerTenant);
    (is_early ? early : late).push_back(tokens.front());
  }
  Refusal why = Refusal::kNone;
  EXPECT_FALSE(store.Create("nk_x", "x", "newcomer", kT0 + kTtlUs / 2, &why).has_value());
  EXPECT_EQ(why, Refusal::kStoreFull);
  EXPECT_FALSE(store.Create("nk_x", "x", "newcomer", kT0 + kTtlUs - 1, &why).has_value());
  EXPECT_EQ(why, Refusal::kStoreFull);
  // When the early half has expired, a newcomer gets in and the late half is untouched.
  why = Refusal::kStoreFull;
  auto in = store.Create("nk_x", "x", "newcomer", kT0 + kTtlUs, &why);
  ASSERT_TRUE(in.has_value());
  EXPECT_EQ(why, Refusal::kNone);
  for (const auto& t : late) EXPECT_TRUE(store.Find(t, kT0 + kTtlUs).has_value());
  for (const auto& t : early) EXPECT_FALSE(store.Find(t, kT0 + kTtlUs).has_value());
}

TEST(ConsoleSessionsTest, ConcurrentUseFromManyThreads) {
  ConsoleSessions store(kTtlS);
  constexpr int kThreads = 4, kEach = 300;
  std::vector<int> mismatches(kThreads, 0);
  {
    std::vector<std::jthread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        const std::string key = "k" + std::to_string(t);
        for (int i = 0; i < kEach; ++i) {
          auto made = store.Create("nk_" + key, key, "tenant" + std::to_string(t % 2), kT0);
          if (!made) {
            ++mismatches[static_cast<size_t>(t)];
            continue;
          }
          auto found = store.Find(made->token, kT0);
          if (!found || found->key_id != key) ++mismatches[static_cast<size_t>(t)];
          auto c = store.Check(Cookie(made->token), "POST", made->session.csrf_token, kT0);
          if (c.kind != Kind::kOk || c.authorization != "Bearer nk_" + key) {
            ++mismatches[static_cast<size_t>(t)];
          }
          if (i % 2 == 0 && !store.Remove(made->token)) ++mismatches[static_cast<size_t>(t)];
        }
      });
    }
  }
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(mismatches[static_cast<size_t>(t)], 0) << t;
}

// Instance() reads NOTARY_CONSOLE_SESSION_TTL_S once, at its first use: each case runs in a
// fresh process ("threadsafe" death tests re-execute the binary), which exits 0 when the
// store's TTL is `want_s` seconds.
[[noreturn]] void ExitZeroIfInstanceTtlIs(const char* value, int64_t want_s) {
  if (value == nullptr) {
    unsetenv("NOTARY_CONSOLE_SESSION_TTL_S");
  } else {
    setenv("NOTARY_CONSOLE_SESSION_TTL_S", value, 1);
  }
  std::exit(ConsoleSessions::Instance().ttl_us() == want_s * 1'000'000 ? 0 : 1);
}

TEST(ConsoleSessionsDeathTest, InstanceTtlComesFromTheEnvironmentWithinBounds) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  const auto exits_zero = ::testing::ExitedWithCode(0);
  for (int64_t s : {int64_t{1}, int64_t{60}, int64_t{86400}}) {
    EXPECT_EXIT(ExitZeroIfInstanceTtlIs(std::to_string(s).c_str(), s), exits_zero, "") << s;
  }
  // Outside 1..86400, or not a number: the default.
  constexpr int64_t kDefault = ConsoleSessions::kDefaultTtlSeconds;
  for (const char* bad : {"0", "86401", "-5", "12x", "60s", "", "1e3", "99999999999999999999"}) {
    EXPECT_EXIT(ExitZeroIfInstanceTtlIs(bad, kDefault), exits_zero, "") << bad;
  }
  EXPECT_EXIT(ExitZeroIfInstanceTtlIs(nullptr, kDefault), exits_zero, "");
}

}  // namespace
}  // namespace http
