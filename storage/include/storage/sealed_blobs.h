// Message bytes sealed for storage (migration 0012, docs/retention.md): each tenant's distinct
// bytes under a fresh data key, wrapped for the tenant's key pair (vault/key_wrapper.h), with
// associated data that binds the tenant and the bytes' SHA-256. Sealed by ReceiptStore; opened
// by the stores and by the audit (with the key holder), row by row (OpenBlob) or a batch at a
// time (OpenBlobs: one unwrapping per tenant and key pair).
//
// Thread-safety: pure functions over a thread-safe Wrapper.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "common/bytes.h"
#include "common/result.h"
#include "storage/records.h"
#include "vault/key_wrapper.h"

namespace storage {

struct SealedBlob {
  std::string tenant;
  common::Hash sha256{};
  int64_t size = 0;  // of the plaintext
  std::string kek_id, wrapped_key, data;
};

// Any value sealed for a tenant (the bytes here, journal reports in journal_store.cc): a fresh
// data key each, wrapped once per tenant present; the associated data names what and whose.
struct PlainValue {
  std::string tenant;
  std::string_view bytes;
  std::string aad;
};
struct SealedValue {
  std::string kek_id, wrapped_key, data;
};
common::Result<std::vector<SealedValue>> SealForTenants(vault::Wrapper& wrapper,
                                                        const std::vector<PlainValue>& values);
// One sealed value opened and checked against its SHA-256: kVerifyFailed when it does not
// open or is not those bytes; the holder's errors otherwise (kNotFound: its key pair is gone).
common::Result<std::string> OpenSealed(vault::Wrapper& wrapper, const std::string& tenant,
                                       const std::string& kek_id, const std::string& wrapped_key,
                                       const std::string& data, const std::string& aad,
                                       const common::Hash& sha256);

// Rows sealed under data keys wrapped for their tenants, opened a batch at a time: one
// unwrapping per tenant and key pair, and, when a group's unwrapping says one of its wrapped
// keys is bad, that group's keys one at a time, so that each row gets its own answer.
// `open(i, key)` is called for every row whose key unwrapped (the key is wiped afterwards);
// `bad(i, error)` for every row whose key did not. Fails only when the holder does
// (unreachable, or a key pair gone).
struct WrappedKeyRef {
  const std::string* tenant;
  const std::string* kek_id;
  const std::string* wrapped_key;
};
common::Status UnwrapEach(vault::Wrapper& wrapper, const std::vector<WrappedKeyRef>& rows,
                          const std::function<void(size_t, const vault::Key&)>& open,
                          const std::function<void(size_t, const common::Error&)>& bad);

// "email-notary/blob\n" || str(tenant) || sha256 (32 bytes).
std::string BlobAad(const std::string& tenant, const common::Hash& sha256);

// The plaintext of a stored sealed blob, checked against its SHA-256. kVerifyFailed when it
// does not open or is not those bytes; the holder's errors otherwise (kNotFound: its key
// pair is gone).
common::Result<std::string> OpenBlob(vault::Wrapper& wrapper, const std::string& tenant,
                                     const common::Hash& sha256, const std::string& kek_id,
                                     const std::string& wrapped_key, const std::string& data);

// Each blob of `blobs` opened: out[i] is the plaintext, or the error that opening it met
// (kVerifyFailed for a blob altered or not of its hash). The Result fails only when the key
// holder does (unreachable, or a key pair gone).
common::Result<std::vector<common::Result<std::string>>> OpenBlobs(
    vault::Wrapper& wrapper, const std::vector<SealedBlob>& blobs);

}  // namespace storage
