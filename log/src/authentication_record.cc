#include "log/authentication_record.h"

#include "common/byte_reader.h"
#include "common/rfc6962.h"

namespace notary {
namespace {

using common::Error;

constexpr std::string_view kTag = "email-notary/authentication\n";

}  // namespace

common::Result<std::string> AuthenticationRecord::Encode() const {
  if (format_version != kFormatVersion) {
    return Error::InvalidInput("unknown authentication record version");
  }
  if (receipt_id.empty() || receipt_id.size() > kMaxReceiptIdBytes) {
    return Error::InvalidInput("receipt id must have 1 to 64 bytes");
  }
  std::string out(kTag);
  common::AppendU32(out, format_version);
  common::AppendLengthPrefixed(out, receipt_id);
  common::AppendBytes(out, receipt_leaf_hash);
  common::AppendU64(out, static_cast<uint64_t>(checked_at_us));
  common::AppendBytes(out, results_sha256);
  common::AppendBytes(out, dns_archive_sha256);
  common::AppendBytes(out, salt);
  return out;
}

common::Result<AuthenticationRecord> AuthenticationRecord::Decode(std::string_view bytes) {
  common::ByteReader in(bytes);
  AuthenticationRecord r;
  if (!in.Literal(kTag) || !in.U32(r.format_version)) {
    return Error::InvalidInput("not an authentication record");
  }
  if (r.format_version != kFormatVersion) {
    return Error::InvalidInput("unknown authentication record version");
  }
  if (!in.String(r.receipt_id, kMaxReceiptIdBytes) || r.receipt_id.empty() ||
      !in.Fixed(r.receipt_leaf_hash) || !in.I64(r.checked_at_us) || !in.Fixed(r.results_sha256) ||
      !in.Fixed(r.dns_archive_sha256) || !in.Fixed(r.salt)) {
    return Error::InvalidInput("truncated authentication record");
  }
  if (!in.done()) return Error::InvalidInput("trailing bytes after the authentication record");
  return r;
}

common::Result<common::Hash> AuthenticationRecord::LeafHash() const {
  ASSIGN_OR_RETURN(std::string encoded, Encode());
  return common::HashLeaf(common::AsBytes(encoded));
}

}  // namespace notary
