#include "log/action_record.h"

#include "common/byte_reader.h"
#include "common/rfc6962.h"

namespace notary {
namespace {

using common::Error;

constexpr std::string_view kTag = "email-notary/action\n";

bool IsActionName(std::string_view s) {
  if (s.empty() || s.size() > ActionRecord::kMaxActionBytes) return false;
  for (char c : s) {
    if (!((c >= 'a' && c <= 'z') || c == '-')) return false;
  }
  return true;
}

common::Status Validate(const ActionRecord& r) {
  if (r.format_version != ActionRecord::kFormatVersion) {
    return Error::InvalidInput("unknown action record version");
  }
  if (!IsActionName(r.action)) return Error::InvalidInput("action must be 1 to 32 of [a-z-]");
  if (r.tenant.size() > ActionRecord::kMaxTenantBytes) {
    return Error::InvalidInput("tenant longer than 64 bytes");
  }
  if (r.subject.empty() || r.subject.size() > ActionRecord::kMaxSubjectBytes) {
    return Error::InvalidInput("subject must have 1 to 64 bytes");
  }
  if (r.actor.size() > ActionRecord::kMaxActorBytes) {
    return Error::InvalidInput("actor longer than 64 bytes");
  }
  return common::Ok();
}

}  // namespace

common::Result<std::string> ActionRecord::Encode() const {
  RETURN_IF_ERROR(Validate(*this));
  std::string out(kTag);
  common::AppendU32(out, format_version);
  common::AppendLengthPrefixed(out, action);
  common::AppendLengthPrefixed(out, tenant);
  common::AppendLengthPrefixed(out, subject);
  common::AppendU64(out, static_cast<uint64_t>(acted_at_us));
  common::AppendLengthPrefixed(out, actor);
  common::AppendBytes(out, details_sha256);
  common::AppendBytes(out, salt);
  return out;
}

common::Result<ActionRecord> ActionRecord::Decode(std::string_view bytes) {
  common::ByteReader in(bytes);
  ActionRecord r;
  if (!in.Literal(kTag) || !in.U32(r.format_version)) {
    return Error::InvalidInput("not an action record");
  }
  if (r.format_version != kFormatVersion) {
    return Error::InvalidInput("unknown action record version");
  }
  if (!in.String(r.action, kMaxActionBytes) || !in.String(r.tenant, kMaxTenantBytes) ||
      !in.String(r.subject, kMaxSubjectBytes) || !in.I64(r.acted_at_us) ||
      !in.String(r.actor, kMaxActorBytes) || !in.Fixed(r.details_sha256) || !in.Fixed(r.salt)) {
    return Error::InvalidInput("truncated action record");
  }
  if (!in.done()) return Error::InvalidInput("trailing bytes after the action record");
  RETURN_IF_ERROR(Validate(r));
  return r;
}

common::Result<common::Hash> ActionRecord::LeafHash() const {
  ASSIGN_OR_RETURN(std::string encoded, Encode());
  return common::HashLeaf(common::AsBytes(encoded));
}

}  // namespace notary
