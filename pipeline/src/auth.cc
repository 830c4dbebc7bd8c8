#include "pipeline/auth.h"

#include <openssl/rand.h>

#include <algorithm>

#include "common/bytes.h"
#include "common/check.h"
#include "common/sha256.h"

namespace pipeline {
namespace {

constexpr size_t kKeyIdBytes = 8;
constexpr size_t kSecretBytes = 32;

std::string Random(size_t n) {
  std::string s(n, '\0');
  CHECK(RAND_bytes(reinterpret_cast<unsigned char*>(s.data()), static_cast<int>(n)) == 1);
  return s;
}

std::string HashSecret(const std::string& salt, const std::string& secret) {
  common::Sha256 h;
  h.Update(salt);
  h.Update(secret);
  common::Hash d = h.Finish();
  return std::string(reinterpret_cast<const char*>(d.data()), d.size());
}

}  // namespace

bool Principal::Has(const std::string& scope) const {
  return std::find(scopes.begin(), scopes.end(), scope) != scopes.end();
}

common::Result<NewApiKey> GenerateApiKey(const std::string& tenant,
                                         const std::vector<std::string>& scopes,
                                         std::optional<int64_t> expires_at_us,
                                         const std::string& label) {
  if (scopes.empty()) return common::Error::InvalidInput("at least one scope is needed");
  for (const auto& s : scopes) {
    if (s != "ingest" && s != "read" && s != "admin" && s != "relay" && s != "journal" &&
        s != "tsa" && s != "cases") {
      return common::Error::InvalidInput("unknown scope '" + s +
                                         "' (ingest, read, admin, relay, journal, tsa, cases)");
    }
  }
  NewApiKey k;
  k.row.key_id = common::ToHex(common::AsBytes(Random(kKeyIdBytes)));
  const std::string secret = common::ToHex(common::AsBytes(Random(kSecretBytes)));
  k.row.tenant = tenant;
  k.row.scopes = scopes;
  k.row.label = label;
  k.row.salt = Random(16);
  k.row.hash = HashSecret(k.row.salt, secret);
  k.row.expires_at_us = expires_at_us;
  k.key = "nk_" + k.row.key_id + "_" + secret;
  return k;
}

Authenticator::Authenticator(storage::AdminStore& store, uint32_t per_minute)
    : store_(store), per_minute_(per_minute) {}

namespace {

// Seconds from `last_us` to `now_us`; never negative, so a clock set back refills nothing.
double SecondsSince(int64_t last_us, int64_t now_us) {
  return now_us > last_us ? static_cast<double>(now_us - last_us) / 1e6 : 0.0;
}

}  // namespace

Authenticator::Bucket& Authenticator::FailureBucketLocked(const std::string& client,
                                                          int64_t now_us) {
  if (failures_.size() >= kMaxTrackedAddresses && !failures_.contains(client)) {
    // Forget addresses whose buckets have refilled: they carry no penalty.
    std::erase_if(failures_, [&](const auto& kv) {
      return kv.second.tokens +
                 SecondsSince(kv.second.last_us, now_us) * kFailuresPerMinute / 60.0 >=
             kFailureBurst;
    });
    if (failures_.size() >= kMaxTrackedAddresses) failures_.clear();  // a flood of addresses
  }
  auto [it, inserted] = failures_.try_emplace(client, Bucket{kFailureBurst, now_us});
  Bucket& b = it->second;
  b.tokens = std::min(kFailureBurst,
                      b.tokens + SecondsSince(b.last_us, now_us) * kFailuresPerMinute / 60.0);
  b.last_us = std::max(b.last_us, now_us);
  return b;
}

Authenticator::Outcome Authenticator::Authenticate(const std::string& authorization, int64_t now_us,
                                                   const std::string& client) {
  Outcome out;
  if (authorization.empty()) return out;
  {
    common::MutexLock lock(mu_);
    if (auto it = failures_.find(client); it != failures_.end()) {
      Bucket& b = FailureBucketLocked(client, now_us);
      if (b.tokens < 1.0) {
        out.failure = Failure::kRateLimited;
        out.retry_after_s = static_cast<int>((1.0 - b.tokens) * 60.0 / kFailuresPerMinute) + 1;
        return out;
      }
    }
  }
  out = Check(authorization, now_us);
  if (!out.principal && out.failure != Failure::kUnavailable &&
      out.failure != Failure::kRateLimited) {
    common::MutexLock lock(mu_);
    FailureBucketLocked(client, now_us).tokens -= 1.0;
  }
  return out;
}

Authenticator::Outcome Authenticator::Check(const std::string& authorization, int64_t now_us) {
  Outcome out;
  out.failure = Failure::kMalformed;
  const std::string prefix = "Bearer ";
  if (authorization.size() <= prefix.size() ||
      !std::equal(prefix.begin(), prefix.end(), authorization.begin(),
                  [](char a, char b) { return std::tolower(a) == std::tolower(b); })) {
    return out;
  }
  std::string key = authorization.substr(prefix.size());
  // nk_<16 hex>_<64 hex>
  if (key.size() != 3 + 2 * kKeyIdBytes + 1 + 2 * kSecretBytes || key.rfind("nk_", 0) != 0 ||
      key[3 + 2 * kKeyIdBytes] != '_') {
    return out;
  }
  const std::string key_id = key.substr(3, 2 * kKeyIdBytes);
  const std::string secret = key.substr(4 + 2 * kKeyIdBytes);
  if (!common::FromHex(key_id) || !common::FromHex(secret)) return out;

  auto row = store_.FindApiKey(key_id);
  if (!row.ok()) {
    out.failure = Failure::kUnavailable;
    return out;
  }
  // Hash even when the id is unknown, so timing does not tell known ids apart.
  const std::string salt = row->has_value() ? (*row)->salt : std::string(16, '\0');
  const std::string presented = HashSecret(salt, secret);
  if (!row->has_value() || !common::ConstantTimeEquals(presented, (*row)->hash)) {
    out.failure = Failure::kUnknown;
    return out;
  }
  const storage::ApiKeyRow& k = **row;
  if (k.revoked_at_us) {
    out.failure = Failure::kRevoked;
    return out;
  }
  if (k.expires_at_us && *k.expires_at_us <= now_us) {
    out.failure = Failure::kExpired;
    return out;
  }
  {
    common::MutexLock lock(mu_);
    auto [it, inserted] = buckets_.try_emplace(k.key_id, Bucket{per_minute_, now_us});
    Bucket& b = it->second;
    b.tokens =
        std::min(per_minute_, b.tokens + SecondsSince(b.last_us, now_us) * per_minute_ / 60.0);
    b.last_us = std::max(b.last_us, now_us);
    if (b.tokens < 1.0) {
      out.failure = Failure::kRateLimited;
      out.retry_after_s = static_cast<int>((1.0 - b.tokens) * 60.0 / per_minute_) + 1;
      return out;
    }
    b.tokens -= 1.0;
  }
  out.principal = Principal{k.key_id, k.tenant, k.scopes};
  return out;
}

}  // namespace pipeline
