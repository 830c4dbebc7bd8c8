// API keys (pipeline/auth.h) against a real database: "nk_<16 hex key id>_<64 hex secret>",
// only a salted SHA-256 of the secret stored, presented as "Bearer <key>" (RFC 6750 §2.1; the
// scheme is case-insensitive, RFC 9110 §11.1), scopes, expiry, revocation, the per-key rate
// and the per-address limit on failed attempts.
#include "pipeline/auth.h"

#include <gtest/gtest.h>

#include <cctype>
#include <memory>
#include <optional>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "common/bytes.h"
#include "common/sha256.h"
#include "storage/admin_store.h"
#include "storage/database.h"
#include "storage/migrations.h"
#include "support/test_support.h"

namespace {

using pipeline::Authenticator;
using Failure = Authenticator::Failure;

constexpr int64_t kNow = 1'750'000'000'000'000;  // 2025-06-15, in microseconds

class AuthTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(storage::Migrate(tdb_.OwnerUrl(), storage::BuiltinMigrations()).ok());
    auto db = storage::Database::Open({tdb_.AppUrl(), 2});
    ASSERT_TRUE(db.ok()) << db.error().ToString();
    db_ = std::move(*db);
    admin_ = std::make_unique<storage::AdminStore>(*db_);
    for (const char* t : {"acme", "globex"}) {
      auto st = admin_->CreateTenant(t);
      ASSERT_TRUE(st.ok()) << st.error().ToString();
    }
  }

  // A stored key; returns what the user was shown.
  std::string MakeKey(const std::string& tenant, const std::vector<std::string>& scopes,
                      std::optional<int64_t> expires_at_us = std::nullopt) {
    auto k = pipeline::GenerateApiKey(tenant, scopes, expires_at_us, "test key");
    EXPECT_TRUE(k.ok()) << k.error().ToString();
    if (!k.ok()) return "";
    auto st = admin_->InsertApiKey(k->row);
    EXPECT_TRUE(st.ok()) << st.error().ToString();
    return k->key;
  }

  static std::string KeyId(const std::string& key) { return key.substr(3, 16); }

  testsupport::TestDatabase tdb_;
  std::unique_ptr<storage::Database> db_;
  std::unique_ptr<storage::AdminStore> admin_;
};

TEST_F(AuthTest, GeneratedKeyHasTheDocumentedFormatAndStoresNoSecret) {
  auto k = pipeline::GenerateApiKey("acme", {"ingest", "read"}, kNow + 1, "label");
  ASSERT_TRUE(k.ok()) << k.error().ToString();
  EXPECT_TRUE(std::regex_match(k->key, std::regex("nk_[0-9a-f]{16}_[0-9a-f]{64}"))) << k->key;
  const std::string secret = k->key.substr(20);
  EXPECT_EQ(k->row.key_id, KeyId(k->key));
  EXPECT_EQ(k->row.tenant, "acme");
  EXPECT_EQ(k->row.scopes, (std::vector<std::string>{"ingest", "read"}));
  EXPECT_EQ(k->row.label, "label");
  EXPECT_EQ(k->row.expires_at_us, kNow + 1);
  EXPECT_FALSE(k->row.revoked_at_us.has_value());
  // Stored: a 16-byte salt and SHA-256(salt || secret), the secret as the user holds it. Keys
  // already stored depend on this: a change here locks every user out.
  EXPECT_EQ(k->row.salt.size(), 16u);
  const common::Hash want = common::Sha256Of(k->row.salt + secret);
  EXPECT_EQ(k->row.hash, std::string(want.begin(), want.end()));
  for (const std::string& field : {k->row.key_id, k->row.label, k->row.salt, k->row.hash}) {
    EXPECT_EQ(field.find(secret), std::string::npos);
    EXPECT_EQ(field.find(common::FromHex(secret).value()), std::string::npos);
  }
  // Every key is new: id, secret and salt.
  std::set<std::string> ids, secrets, salts;
  for (int i = 0; i < 50; ++i) {
    auto n = pipeline::GenerateApiKey("acme", {"read"}, std::nullopt, "");
    ASSERT_TRUE(n.ok());
    ids.insert(n->row.key_id);
    secrets.insert(n->key.substr(20));
    salts.insert(n->row.salt);
  }
  EXPECT_EQ(ids.size(), 50u);
  EXPECT_EQ(secrets.size(), 50u);
  EXPECT_EQ(salts.size(), 50u);
}

TEST_F(AuthTest, GenerateTakesOnlyTheFiveScopes) {
  for (const char* s : {"ingest", "read", "admin", "relay", "journal"}) {
    EXPECT_TRUE(pipeline::GenerateApiKey("acme", {s}, std::nullopt, "").ok()) << s;
  }
  EXPECT_TRUE(
      pipeline::GenerateApiKey("acme", {"ingest", "read", "admin", "relay", "journal"}, {}, "")
          .ok());
  for (const std::vector<std::string>& bad : std::vector<std::vector<std::string>>{
           {}, {"write"}, {"Read"}, {"read "}, {""}, {"read", "superuser"}, {"read,admin"}}) {
    auto k = pipeline::GenerateApiKey("acme", bad, std::nullopt, "");
    ASSERT_FALSE(k.ok()) << ::testing::PrintToString(bad);
    EXPECT_EQ(k.error().code(), common::ErrorCode::kInvalidInput);
  }
}

TEST_F(AuthTest, KeyForAnUnknownTenantIsNotStored) {
  auto k = pipeline::GenerateApiKey("initech", {"read"}, std::nullopt, "");
  ASSERT_TRUE(k.ok());
  auto st = admin_->InsertApiKey(k->row);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code(), common::ErrorCode::kNotFound);
  Authenticator auth(*admin_, 1000);
  EXPECT_EQ(auth.Authenticate("Bearer " + k->key, kNow, "192.0.2.1").failure, Failure::kUnknown);
}

TEST_F(AuthTest, ValidKeyGivesItsTenantAndScopes) {
  const std::string key = MakeKey("acme", {"ingest", "relay"});
  Authenticator auth(*admin_, 1000);
  // The scheme name in any case.
  for (const std::string scheme : {"Bearer ", "bearer ", "BEARER ", "bEaReR "}) {
    auto out = auth.Authenticate(scheme + key, kNow, "192.0.2.1");
    ASSERT_TRUE(out.principal.has_value()) << scheme << static_cast<int>(out.failure);
    EXPECT_EQ(out.principal->key_id, KeyId(key));
    EXPECT_EQ(out.principal->tenant, "acme");
    EXPECT_EQ(out.principal->scopes, (std::vector<std::string>{"ingest", "relay"}));
    EXPECT_TRUE(out.principal->Has("ingest"));
    EXPECT_TRUE(out.principal->Has("relay"));
    EXPECT_FALSE(out.principal->Has("read"));
    EXPECT_FALSE(out.principal->Has("admin"));
    EXPECT_FALSE(out.principal->Has("journal"));
    EXPECT_FALSE(out.principal->Has("Ingest"));
    EXPECT_FALSE(out.principal->Has(""));
  }
  // Each key is its own tenant's.
  const std::string other = MakeKey("globex", {"read"});
  auto out = auth.Authenticate("Bearer " + other, kNow, "192.0.2.1");
  ASSERT_TRUE(out.principal.has_value());
  EXPECT_EQ(out.principal->tenant, "globex");
  EXPECT_EQ(out.principal->scopes, std::vector<std::string>{"read"});
}

TEST_F(AuthTest, MissingAndMalformedKeysAreRefusedBeforeTheDatabase) {
  const std::string key = MakeKey("acme", {"read"});
  Authenticator auth(*admin_, 1000);
  EXPECT_EQ(auth.Authenticate("", kNow, "192.0.2.1").failure, Failure::kMissing);
  EXPECT_FALSE(auth.Authenticate("", kNow, "192.0.2.1").principal.has_value());
  const std::string id = KeyId(key), secret = key.substr(20);
  const std::vector<std::string> malformed = {
      "Bearer",
      "Bearer ",
      "Basic " + key,
      "Token " + key,
      key,                    // no scheme
      "Bearer  " + key,       // two spaces
      "Bearer\t" + key,       // not a space
      "Bearer " + key + " ",  // trailing space
      "Bearer " + key + "0",  // one character long
      "Bearer " + key.substr(0, key.size() - 1),
      "Bearer NK_" + id + "_" + secret,  // the prefix is lower case
      "Bearer nk-" + id + "_" + secret,
      "Bearer nk_" + id + "-" + secret,
      "Bearer nk_" + id + secret + "0",                  // no separator
      "Bearer nk_" + id.substr(1) + "_" + secret + "0",  // the separator one place early
      "Bearer nk_" + id + "_" + secret.substr(0, 63) + "g",
      "Bearer nk_" + id.substr(0, 15) + "x_" + secret,
      "Bearer nk_" + id + "_" + secret.substr(0, 63) + "\xff",
      "Bearer nk_" + id + "_" + secret.substr(0, 63) + std::string(1, '\0'),
  };
  for (size_t i = 0; i < malformed.size(); ++i) {
    // Each from its own address, clear of the failure limit.
    auto out = auth.Authenticate(malformed[i], kNow, "192.0.2." + std::to_string(i));
    EXPECT_FALSE(out.principal.has_value()) << malformed[i];
    EXPECT_EQ(out.failure, Failure::kMalformed) << malformed[i];
  }
}

TEST_F(AuthTest, WrongSecretIsRefusedLikeAnUnknownId) {
  const std::string key = MakeKey("acme", {"read", "admin"});
  const std::string id = KeyId(key), secret = key.substr(20);
  Authenticator auth(*admin_, 1000);
  auto flip = [](std::string s, size_t at) {
    s[at] = s[at] == '0' ? '1' : '0';
    return s;
  };
  // Differing in the first, a middle and the last character, all zeros, upper case (the
  // secret is compared as the user holds it), another key's secret.
  const std::string another = MakeKey("acme", {"read"});
  std::string upper = secret;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  ASSERT_NE(upper, secret);  // 64 hex digits of random: some letter among them
  for (const std::string& wrong : {flip(secret, 0), flip(secret, 31), flip(secret, 63),
                                   std::string(64, '0'), upper, another.substr(20)}) {
    auto out = auth.Authenticate("Bearer nk_" + id + "_" + wrong, kNow, "192.0.2.10");
    EXPECT_FALSE(out.principal.has_value()) << wrong;
    EXPECT_EQ(out.failure, Failure::kUnknown) << wrong;
  }
  // An id that does not exist, with the right secret, gets the same answer: the reply does
  // not tell known ids apart.
  auto unknown = auth.Authenticate("Bearer nk_" + flip(id, 0) + "_" + secret, kNow, "192.0.2.11");
  EXPECT_FALSE(unknown.principal.has_value());
  EXPECT_EQ(unknown.failure, Failure::kUnknown);
  // The right key still works after all that (from another address).
  EXPECT_TRUE(auth.Authenticate("Bearer " + key, kNow, "192.0.2.12").principal.has_value());
}

TEST_F(AuthTest, RevokedKeyIsRefusedAndOnlyTheHolderLearnsWhy) {
  const std::string key = MakeKey("acme", {"read"});
  Authenticator auth(*admin_, 1000);
  ASSERT_TRUE(auth.Authenticate("Bearer " + key, kNow, "192.0.2.1").principal.has_value());
  ASSERT_TRUE(admin_->RevokeApiKey(KeyId(key)).ok());
  auto out = auth.Authenticate("Bearer " + key, kNow, "192.0.2.1");
  EXPECT_FALSE(out.principal.has_value());
  EXPECT_EQ(out.failure, Failure::kRevoked);
  // Someone without the secret is not told that the id was a real key.
  std::string wrong = key;
  wrong.back() = wrong.back() == '0' ? '1' : '0';
  EXPECT_EQ(auth.Authenticate("Bearer " + wrong, kNow, "192.0.2.2").failure, Failure::kUnknown);
  // Revoking an unknown key is kNotFound; revoking twice keeps it revoked.
  auto unknown = admin_->RevokeApiKey("0000000000000000");
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().code(), common::ErrorCode::kNotFound);
  EXPECT_TRUE(admin_->RevokeApiKey(KeyId(key)).ok());
  EXPECT_EQ(auth.Authenticate("Bearer " + key, kNow, "192.0.2.1").failure, Failure::kRevoked);
}

TEST_F(AuthTest, KeyExpiresAtItsInstantToTheMicrosecond) {
  // Expiry instants with a non-zero microsecond part, today and in 2200.
  for (int64_t expires : {kNow + 123'457, int64_t{7'258'118'400'000'001}}) {
    const std::string key = MakeKey("acme", {"read"}, expires);
    Authenticator auth(*admin_, 1000);
    auto before = auth.Authenticate("Bearer " + key, expires - 1, "192.0.2.1");
    EXPECT_TRUE(before.principal.has_value()) << expires << " " << static_cast<int>(before.failure);
    for (int64_t at : {expires, expires + 1, expires + 86'400'000'000}) {
      auto out = auth.Authenticate("Bearer " + key, at, "192.0.2.1");
      EXPECT_FALSE(out.principal.has_value()) << at;
      EXPECT_EQ(out.failure, Failure::kExpired) << at;
    }
    // Someone without the secret learns nothing about it either.
    std::string wrong = key;
    wrong.back() = wrong.back() == '0' ? '1' : '0';
    EXPECT_EQ(auth.Authenticate("Bearer " + wrong, expires, "192.0.2.2").failure,
              Failure::kUnknown);
  }
  // A key without expiry does not expire.
  const std::string forever = MakeKey("acme", {"read"});
  Authenticator auth(*admin_, 1000);
  EXPECT_TRUE(
      auth.Authenticate("Bearer " + forever, int64_t{1} << 62, "192.0.2.1").principal.has_value());
}

TEST_F(AuthTest, PerKeyRateLimitRefusesPastTheBudgetAndSaysWhenToRetry) {
  // per_minute = 3: a burst of 3, then one every 20 s, by the time the caller passes.
  const std::string key = MakeKey("acme", {"read"});
  const std::string other = MakeKey("acme", {"read"});
  Authenticator auth(*admin_, 3);
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(auth.Authenticate("Bearer " + key, kNow, "192.0.2.1").principal.has_value()) << i;
  }
  auto limited = auth.Authenticate("Bearer " + key, kNow, "192.0.2.1");
  EXPECT_FALSE(limited.principal.has_value());
  EXPECT_EQ(limited.failure, Failure::kRateLimited);
  EXPECT_EQ(limited.retry_after_s, 21);  // a token is 20 s away, rounded up past it
  // From another address as well: the budget is the key's.
  EXPECT_EQ(auth.Authenticate("Bearer " + key, kNow, "192.0.2.99").failure, Failure::kRateLimited);
  // Another key of the same tenant has its own budget.
  EXPECT_TRUE(auth.Authenticate("Bearer " + other, kNow, "192.0.2.1").principal.has_value());
  // A rate-limited holder is not counted as a guesser: 30 more refusals, and the address can
  // still authenticate with another key.
  for (int i = 0; i < 30; ++i) {
    EXPECT_EQ(auth.Authenticate("Bearer " + key, kNow, "192.0.2.1").failure, Failure::kRateLimited);
  }
  EXPECT_TRUE(auth.Authenticate("Bearer " + other, kNow, "192.0.2.1").principal.has_value());
  // The budget refills with time: one request 20 s later, not two; a clock set back after
  // that refills nothing.
  const int64_t later = kNow + 20'000'000;
  EXPECT_TRUE(auth.Authenticate("Bearer " + key, later, "192.0.2.1").principal.has_value());
  EXPECT_EQ(auth.Authenticate("Bearer " + key, later, "192.0.2.1").failure, Failure::kRateLimited);
  EXPECT_EQ(auth.Authenticate("Bearer " + key, kNow, "192.0.2.1").failure, Failure::kRateLimited);
  EXPECT_EQ(auth.Authenticate("Bearer " + key, later, "192.0.2.1").failure, Failure::kRateLimited);
  EXPECT_TRUE(
      auth.Authenticate("Bearer " + key, later + 20'000'000, "192.0.2.1").principal.has_value());
}

TEST_F(AuthTest, FailedAttemptsAreLimitedPerClientAddress) {
  const std::string key = MakeKey("acme", {"read"});
  Authenticator auth(*admin_, 100000);
  const std::string guesser = "198.51.100.7";
  // Successes cost nothing.
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(auth.Authenticate("Bearer " + key, kNow, guesser).principal.has_value());
  }
  // A burst of kFailureBurst failures of any kind is answered as such...
  std::string wrong = key;
  wrong.back() = wrong.back() == '0' ? '1' : '0';
  const int burst = static_cast<int>(Authenticator::kFailureBurst);
  for (int i = 0; i < burst; ++i) {
    const bool malformed = i % 2 == 0;
    auto out = auth.Authenticate(malformed ? "Bearer nope" : "Bearer " + wrong, kNow, guesser);
    ASSERT_EQ(out.failure, malformed ? Failure::kMalformed : Failure::kUnknown) << i;
  }
  // ...then every attempt from that address is refused, the right key too, until the bucket
  // refills (kFailuresPerMinute: one attempt per 6 s).
  for (const std::string& a : {"Bearer " + wrong, std::string("Bearer nope"), "Bearer " + key}) {
    auto out = auth.Authenticate(a, kNow, guesser);
    EXPECT_FALSE(out.principal.has_value()) << a;
    EXPECT_EQ(out.failure, Failure::kRateLimited) << a;
    EXPECT_EQ(out.retry_after_s, static_cast<int>(60 / Authenticator::kFailuresPerMinute) + 1);
  }
  // One attempt per 6 s comes back. A failure spends it at once (the right key is refused
  // again); 6 s later the right key is let in.
  const int64_t step = static_cast<int64_t>(60 / Authenticator::kFailuresPerMinute) * 1'000'000;
  EXPECT_EQ(auth.Authenticate("Bearer " + wrong, kNow + step, guesser).failure, Failure::kUnknown);
  EXPECT_EQ(auth.Authenticate("Bearer " + key, kNow + step, guesser).failure,
            Failure::kRateLimited);
  EXPECT_TRUE(auth.Authenticate("Bearer " + key, kNow + 2 * step, guesser).principal.has_value());
  // Other addresses are not held back, neither with the key nor with one more failure.
  EXPECT_TRUE(auth.Authenticate("Bearer " + key, kNow, "198.51.100.8").principal.has_value());
  EXPECT_EQ(auth.Authenticate("Bearer " + wrong, kNow, "198.51.100.9").failure, Failure::kUnknown);
  // An empty request (no Authorization header) is not an attempt: never limited.
  EXPECT_EQ(auth.Authenticate("", kNow, guesser).failure, Failure::kMissing);
}

TEST(ConstantTimeEqualsTest, EqualOnlyForTheSameBytes) {
  // The comparison behind the key and session checks (its timing cannot be tested here).
  const std::string a(32, 'a');
  EXPECT_TRUE(common::ConstantTimeEquals(a, a));
  EXPECT_TRUE(common::ConstantTimeEquals("", ""));
  EXPECT_TRUE(common::ConstantTimeEquals(std::string("\0x", 2), std::string("\0x", 2)));
  for (size_t i = 0; i < a.size(); ++i) {
    for (char bit : {'\x01', '\x80'}) {
      std::string b = a;
      b[i] = static_cast<char>(b[i] ^ bit);
      EXPECT_FALSE(common::ConstantTimeEquals(a, b)) << i;
      EXPECT_FALSE(common::ConstantTimeEquals(b, a)) << i;
    }
  }
  EXPECT_FALSE(common::ConstantTimeEquals(a, a + "a"));
  EXPECT_FALSE(common::ConstantTimeEquals(a + "a", a));
  EXPECT_FALSE(common::ConstantTimeEquals(a, ""));
  EXPECT_FALSE(common::ConstantTimeEquals("", a));
  EXPECT_FALSE(common::ConstantTimeEquals(std::string("\0", 1), ""));
  EXPECT_FALSE(common::ConstantTimeEquals(std::string("ab\0", 3), std::string("ab\0c", 4)));
}

}  // namespace
