#include "receipt_json.h"

#include "common/bytes.h"
#include "common/time.h"
#include "pipeline/ingest.h"

namespace http {

nlohmann::json ReceiptJson(const notary::Receipt& r) {
  using nlohmann::json;
  json parts = json::array();
  for (const auto& p : r.parts) {
    parts.push_back({{"position", p.position},
                     {"content_type", p.content_type},
                     {"charset", p.charset},
                     {"disposition", p.disposition},
                     {"filename", p.filename},
                     {"size", p.size},
                     {"sha256", common::ToHex(p.sha256)}});
  }
  json j = {
      {"id", r.id},
      {"tenant", r.tenant},
      {"status", r.erased_at_us ? "erased"
                 : r.leaf_index ? "sealed"
                                : "pending"},
      {"received_at", common::FormatRfc3339Micros(r.received_at_us)},
      {"received_at_us", r.received_at_us},
      {"node", r.provenance.node},
      {"source", r.provenance.source},
      {"listener", r.provenance.listener},
      {"envelope_from", r.envelope.mail_from},
      {"envelope_to", r.envelope.recipients},
      {"client_ip", r.envelope.client_ip},
      {"client_port", r.envelope.client_port},
      {"client_name", r.provenance.client_name},
      {"helo", r.envelope.helo},
      {"tls_protocol", r.envelope.tls_protocol},
      {"tls_cipher", r.envelope.tls_cipher},
      {"auth_user", r.provenance.auth_user},
      {"queue_id", r.provenance.queue_id},
      // Who stated the envelope ("" when the notary observed it on SMTP), whether the message
      // was unwrapped from a journal report, and whether the leaf record binds all of this.
      {"asserted_by", r.provenance.asserted_by},
      {"journal_report_sha256", r.provenance.journal_report_sha256 != common::Hash{}
                                    ? json(common::ToHex(r.provenance.journal_report_sha256))
                                    : json()},
      {"leaf_version", r.leaf_version},
      {"smtputf8", r.smtputf8},
      {"body_type", r.body_type},
      {"size", r.size},
      {"raw_sha256", common::ToHex(r.raw_sha256)},
      {"canonical_sha256", common::ToHex(r.canonical_sha256)},
      {"canon_version", r.canon_version},
      {"parts_root", common::ToHex(r.parts_root)},
      {"parts", parts},
      {"metadata",
       {{"from", r.metadata.from},
        {"sender", r.metadata.sender},
        {"reply_to", r.metadata.reply_to},
        {"to", r.metadata.to},
        {"cc", r.metadata.cc},
        {"subject", r.metadata.subject},
        {"date", r.metadata.date},
        {"date_utc", r.metadata.date_utc_unix
                         ? json(common::FormatRfc3339Micros(*r.metadata.date_utc_unix * 1000000))
                         : json()},
        {"message_id", r.metadata.message_id},
        {"in_reply_to", r.metadata.in_reply_to},
        {"attachment_names", r.metadata.attachment_names}}},
      {"parse_warnings", r.parse_warnings},
      {"leaf_index", r.leaf_index ? json(*r.leaf_index) : json()},
      {"block_height", r.block_height ? json(*r.block_height) : json()},
      {"erased_at", r.erased_at_us ? json(common::FormatRfc3339Micros(*r.erased_at_us)) : json()},
  };
  return j;
}

}  // namespace http
