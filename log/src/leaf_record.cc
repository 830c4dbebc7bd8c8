#include "log/leaf_record.h"

#include "common/byte_reader.h"
#include "common/rfc6962.h"
#include "common/sha256.h"

namespace notary {
namespace {

using common::Error;

constexpr std::string_view kEnvelopeTag = "email-notary/envelope/v1\n";
constexpr std::string_view kLeafTag = "email-notary/leaf\n";

}  // namespace

std::string EncodeEnvelope(const Envelope& envelope) {
  std::string out(kEnvelopeTag);
  common::AppendLengthPrefixed(out, envelope.mail_from);
  common::AppendU32(out, static_cast<uint32_t>(envelope.recipients.size()));
  for (const std::string& rcpt : envelope.recipients) common::AppendLengthPrefixed(out, rcpt);
  common::AppendLengthPrefixed(out, envelope.client_ip);
  common::AppendU16(out, envelope.client_port);
  common::AppendLengthPrefixed(out, envelope.helo);
  common::AppendLengthPrefixed(out, envelope.tls_protocol);
  common::AppendLengthPrefixed(out, envelope.tls_cipher);
  return out;
}

common::Hash EnvelopeDigest(const Envelope& envelope) {
  return common::Sha256Of(EncodeEnvelope(envelope));
}

common::Result<std::string> LeafRecord::Encode() const {
  if (format_version != 1 && format_version != 2) {
    return Error::InvalidInput("unknown leaf record version");
  }
  if (format_version == 1 && provenance != Provenance{}) {
    return Error::InvalidInput("a version 1 leaf record carries no provenance");
  }
  const Provenance& p = provenance;
  for (const std::string* f :
       {&p.source, &p.listener, &p.node, &p.client_name, &p.auth_user, &p.queue_id}) {
    if (f->size() > Provenance::kMaxFieldBytes) {
      return Error::InvalidInput("a provenance field is over 255 bytes");
    }
  }
  if (p.asserted_by.size() > Provenance::kMaxKeyIdBytes) {
    return Error::InvalidInput("asserted_by is over 64 bytes");
  }
  if (receipt_id.empty() || receipt_id.size() > kMaxReceiptIdBytes) {
    return Error::InvalidInput("receipt id must have 1 to 64 bytes");
  }
  if (tenant.size() > kMaxTenantBytes) return Error::InvalidInput("tenant id over 64 bytes");
  std::string out(kLeafTag);
  common::AppendU32(out, format_version);
  common::AppendLengthPrefixed(out, receipt_id);
  common::AppendU64(out, static_cast<uint64_t>(received_at_us));
  common::AppendBytes(out, raw_sha256);
  common::AppendBytes(out, canonical_sha256);
  common::AppendU32(out, canonical_version);
  common::AppendBytes(out, parts_root);
  common::AppendBytes(out, envelope_digest);
  common::AppendLengthPrefixed(out, tenant);
  if (format_version == 2) {
    for (const std::string* f : {&p.source, &p.listener, &p.node, &p.client_name, &p.auth_user,
                                 &p.queue_id, &p.asserted_by}) {
      common::AppendLengthPrefixed(out, *f);
    }
    common::AppendBytes(out, p.journal_report_sha256);
  }
  common::AppendBytes(out, salt);
  return out;
}

common::Result<LeafRecord> LeafRecord::Decode(std::string_view bytes) {
  common::ByteReader in(bytes);
  LeafRecord r;
  if (!in.Literal(kLeafTag)) return Error::InvalidInput("not a leaf record");
  if (!in.U32(r.format_version)) return Error::InvalidInput("truncated leaf record");
  if (r.format_version != 1 && r.format_version != 2) {
    return Error::InvalidInput("unknown leaf record version " + std::to_string(r.format_version));
  }
  if (!in.String(r.receipt_id, kMaxReceiptIdBytes) || r.receipt_id.empty() ||
      !in.I64(r.received_at_us) || !in.Fixed(r.raw_sha256) || !in.Fixed(r.canonical_sha256) ||
      !in.U32(r.canonical_version) || !in.Fixed(r.parts_root) || !in.Fixed(r.envelope_digest) ||
      !in.String(r.tenant, kMaxTenantBytes)) {
    return Error::InvalidInput("truncated or malformed leaf record");
  }
  if (r.format_version == 2) {
    Provenance& p = r.provenance;
    constexpr size_t kMax = Provenance::kMaxFieldBytes;
    if (!in.String(p.source, kMax) || !in.String(p.listener, kMax) || !in.String(p.node, kMax) ||
        !in.String(p.client_name, kMax) || !in.String(p.auth_user, kMax) ||
        !in.String(p.queue_id, kMax) || !in.String(p.asserted_by, Provenance::kMaxKeyIdBytes) ||
        !in.Fixed(p.journal_report_sha256)) {
      return Error::InvalidInput("truncated or malformed leaf record provenance");
    }
  }
  if (!in.Fixed(r.salt)) return Error::InvalidInput("truncated leaf record");
  if (!in.done()) return Error::InvalidInput("trailing bytes after the leaf record");
  return r;
}

common::Result<common::Hash> LeafRecord::LeafHash() const {
  ASSIGN_OR_RETURN(std::string encoded, Encode());
  return common::HashLeaf(encoded);
}

}  // namespace notary
