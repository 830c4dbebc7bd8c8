#include "storage/sealed_blobs.h"

#include <openssl/crypto.h>

#include <map>
#include <span>
#include <string_view>
#include <utility>

#include "common/sha256.h"
#include "vault/aead.h"

namespace storage {

std::string BlobAad(const std::string& tenant, const common::Hash& sha256) {
  std::string aad = "email-notary/blob\n";
  common::AppendLengthPrefixed(aad, tenant);
  common::AppendBytes(aad, sha256);
  return aad;
}

common::Status UnwrapEach(vault::Wrapper& wrapper, const std::vector<WrappedKeyRef>& rows,
                          const std::function<void(size_t, const vault::Key&)>& open,
                          const std::function<void(size_t, const common::Error&)>& bad) {
  std::map<std::pair<std::string_view, std::string_view>, std::vector<size_t>> groups;
  for (size_t i = 0; i < rows.size(); ++i) groups[{*rows[i].tenant, *rows[i].kek_id}].push_back(i);
  for (const auto& [group, positions] : groups) {
    const std::string& tenant = *rows[positions[0]].tenant;
    const std::string& kek_id = *rows[positions[0]].kek_id;
    std::vector<std::string> wrapped;
    wrapped.reserve(positions.size());
    for (size_t at : positions) wrapped.push_back(*rows[at].wrapped_key);
    auto keys = wrapper.Unwrap(tenant, kek_id, wrapped);
    if (!keys.ok() && keys.error().code() == common::ErrorCode::kVerifyFailed) {
      // One wrapped key of the group is bad: unwrap the group's one at a time to say which.
      for (size_t at : positions) {
        auto one =
            wrapper.Unwrap(tenant, kek_id, std::span<const std::string>(rows[at].wrapped_key, 1));
        if (!one.ok() && one.error().code() != common::ErrorCode::kVerifyFailed) {
          return one.error();
        }
        if (!one.ok()) {
          bad(at, one.error());
          continue;
        }
        open(at, (*one)[0]);
        OPENSSL_cleanse((*one)[0].data(), (*one)[0].size());
      }
      continue;
    }
    if (!keys.ok()) return keys.error();
    for (size_t k = 0; k < positions.size(); ++k) open(positions[k], (*keys)[k]);
    for (vault::Key& k : *keys) OPENSSL_cleanse(k.data(), k.size());
  }
  return common::Ok();
}

common::Result<std::vector<SealedValue>> SealForTenants(vault::Wrapper& wrapper,
                                                        const std::vector<PlainValue>& values) {
  std::map<std::string, std::vector<size_t>> by_tenant;
  for (size_t i = 0; i < values.size(); ++i) by_tenant[values[i].tenant].push_back(i);
  std::vector<SealedValue> out(values.size());
  for (const auto& [tenant, positions] : by_tenant) {
    std::vector<vault::Key> keys;
    keys.reserve(positions.size());
    for (size_t k = 0; k < positions.size(); ++k) {
      ASSIGN_OR_RETURN(vault::Key key, vault::NewKey());
      keys.push_back(key);
    }
    auto wrapped = wrapper.Wrap(tenant, keys);
    common::Status failed = common::Ok();
    if (!wrapped.ok()) failed = wrapped.error();
    for (size_t k = 0; failed.ok() && k < positions.size(); ++k) {
      const PlainValue& v = values[positions[k]];
      SealedValue& sealed = out[positions[k]];
      sealed.kek_id = wrapped->kek_id;
      sealed.wrapped_key = std::move(wrapped->wrapped[k]);
      auto data = vault::Seal(keys[k], v.bytes, v.aad);
      if (!data.ok()) {
        failed = data.error();
        break;
      }
      sealed.data = std::move(*data);
    }
    for (vault::Key& k : keys) OPENSSL_cleanse(k.data(), k.size());
    if (!failed.ok()) return failed.error();
  }
  return out;
}

common::Result<std::string> OpenSealed(vault::Wrapper& wrapper, const std::string& tenant,
                                       const std::string& kek_id, const std::string& wrapped_key,
                                       const std::string& data, const std::string& aad,
                                       const common::Hash& sha256) {
  ASSIGN_OR_RETURN(std::vector<vault::Key> keys,
                   wrapper.Unwrap(tenant, kek_id, std::span<const std::string>(&wrapped_key, 1)));
  auto plain = vault::Open(keys[0], data, aad);
  OPENSSL_cleanse(keys[0].data(), keys[0].size());
  if (!plain.ok()) return plain.error();
  if (common::Sha256Of(*plain) != sha256) {
    return common::Error::VerifyFailed("stored bytes do not hash to their recorded SHA-256");
  }
  return plain;
}

common::Result<std::string> OpenBlob(vault::Wrapper& wrapper, const std::string& tenant,
                                     const common::Hash& sha256, const std::string& kek_id,
                                     const std::string& wrapped_key, const std::string& data) {
  return OpenSealed(wrapper, tenant, kek_id, wrapped_key, data, BlobAad(tenant, sha256), sha256);
}

common::Result<std::vector<common::Result<std::string>>> OpenBlobs(
    vault::Wrapper& wrapper, const std::vector<SealedBlob>& blobs) {
  std::map<std::pair<std::string, std::string>, std::vector<size_t>> groups;
  for (size_t i = 0; i < blobs.size(); ++i) groups[{blobs[i].tenant, blobs[i].kek_id}].push_back(i);
  std::vector<common::Result<std::string>> out(blobs.size(), common::Error::Internal("not opened"));
  for (const auto& [group, positions] : groups) {
    std::vector<std::string> wrapped;
    wrapped.reserve(positions.size());
    for (size_t at : positions) wrapped.push_back(blobs[at].wrapped_key);
    auto keys = wrapper.Unwrap(group.first, group.second, wrapped);
    if (!keys.ok() && keys.error().code() == common::ErrorCode::kVerifyFailed) {
      // One wrapped key of the group is bad: open the group's blobs one at a time to say which.
      for (size_t at : positions) {
        const SealedBlob& b = blobs[at];
        out[at] = OpenBlob(wrapper, b.tenant, b.sha256, b.kek_id, b.wrapped_key, b.data);
      }
      continue;
    }
    if (!keys.ok()) return keys.error();
    for (size_t k = 0; k < positions.size(); ++k) {
      const SealedBlob& b = blobs[positions[k]];
      auto plain = vault::Open((*keys)[k], b.data, BlobAad(b.tenant, b.sha256));
      if (plain.ok() && common::Sha256Of(*plain) != b.sha256) {
        plain =
            common::Error::VerifyFailed("stored bytes do not hash to their receipt's raw_sha256");
      }
      out[positions[k]] = std::move(plain);
    }
    for (vault::Key& k : *keys) OPENSSL_cleanse(k.data(), k.size());
  }
  return out;
}

}  // namespace storage
