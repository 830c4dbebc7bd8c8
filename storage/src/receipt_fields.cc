#include "storage/receipt_fields.h"

#include <openssl/crypto.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <nlohmann/json.hpp>

#include "common/bytes.h"
#include "common/utf8.h"
#include "log/leaf_record.h"
#include "vault/aead.h"

namespace storage {
namespace {

std::string C(const std::string& s) { return common::SanitizeUtf8(s); }

std::vector<std::string> Clean(const std::vector<std::string>& v) {
  std::vector<std::string> out;
  out.reserve(v.size());
  for (const auto& s : v) out.push_back(C(s));
  return out;
}

// Search by address covers the envelope as well as the headers, in lower case.
std::vector<std::string> SearchAddresses(const notary::Receipt& r) {
  auto lower = [](std::string s) {
    std::transform(s.begin(), s.end(), s.begin(),
                   [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
    return s;
  };
  std::vector<std::string> out = r.metadata.addresses;
  if (!r.envelope.mail_from.empty()) out.push_back(lower(r.envelope.mail_from));
  for (const std::string& t : r.envelope.recipients) out.push_back(lower(t));
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return Clean(out);
}

}  // namespace

PersonalFields FieldsOf(const notary::Receipt& r) {
  const mime::Metadata& md = r.metadata;
  PersonalFields f;
  f.mail_from = r.envelope.mail_from;  // bound by the leaf record: checked to be UTF-8
  f.recipients = r.envelope.recipients;
  f.from = C(md.from);
  f.sender = C(md.sender);
  f.reply_to = C(md.reply_to);
  f.to = Clean(md.to);
  f.cc = Clean(md.cc);
  f.subject = C(md.subject);
  f.date = C(md.date);
  f.message_id = C(md.message_id);
  f.in_reply_to = C(md.in_reply_to);
  f.addresses = SearchAddresses(r);
  f.attachment_names = Clean(md.attachment_names);
  f.parse_warnings = Clean(r.parse_warnings);
  for (const notary::Part& p : r.parts) f.part_filenames.push_back(C(p.filename));
  return f;
}

std::string FieldsAad(const std::string& tenant, const std::string& receipt_id) {
  std::string aad = "email-notary/receipt-fields\n";
  common::AppendLengthPrefixed(aad, tenant);
  common::AppendLengthPrefixed(aad, receipt_id);
  return aad;
}

std::string EncodeFields(const PersonalFields& f) {
  nlohmann::json j = {{"v", 1},
                      {"mail_from", f.mail_from},
                      {"recipients", f.recipients},
                      {"from", f.from},
                      {"sender", f.sender},
                      {"reply_to", f.reply_to},
                      {"to", f.to},
                      {"cc", f.cc},
                      {"subject", f.subject},
                      {"date", f.date},
                      {"message_id", f.message_id},
                      {"in_reply_to", f.in_reply_to},
                      {"addresses", f.addresses},
                      {"attachment_names", f.attachment_names},
                      {"parse_warnings", f.parse_warnings},
                      {"part_filenames", f.part_filenames}};
  // Replace, not throw: every value is UTF-8 already (FieldsOf), this is the second guard.
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

common::Result<PersonalFields> DecodeFields(std::string_view json) {
  try {
    const nlohmann::json j = nlohmann::json::parse(json);
    if (!j.is_object() || j.value("v", 0) != 1) {
      return common::Error::VerifyFailed("sealed fields: not a version 1 document");
    }
    PersonalFields f;
    j.at("mail_from").get_to(f.mail_from);
    j.at("recipients").get_to(f.recipients);
    j.at("from").get_to(f.from);
    j.at("sender").get_to(f.sender);
    j.at("reply_to").get_to(f.reply_to);
    j.at("to").get_to(f.to);
    j.at("cc").get_to(f.cc);
    j.at("subject").get_to(f.subject);
    j.at("date").get_to(f.date);
    j.at("message_id").get_to(f.message_id);
    j.at("in_reply_to").get_to(f.in_reply_to);
    j.at("addresses").get_to(f.addresses);
    j.at("attachment_names").get_to(f.attachment_names);
    j.at("parse_warnings").get_to(f.parse_warnings);
    j.at("part_filenames").get_to(f.part_filenames);
    return f;
  } catch (const nlohmann::json::exception& e) {
    return common::Error::VerifyFailed(std::string("sealed fields: ") + e.what());
  }
}

common::Result<std::vector<SealedValue>> SealFields(
    vault::Wrapper& wrapper, const std::vector<const notary::Receipt*>& receipts) {
  std::vector<std::string> docs, aads;
  docs.reserve(receipts.size());
  aads.reserve(receipts.size());
  for (const notary::Receipt* r : receipts) {
    docs.push_back(EncodeFields(FieldsOf(*r)));
    aads.push_back(FieldsAad(r->tenant, r->id));
  }
  std::vector<PlainValue> values;
  values.reserve(receipts.size());
  for (size_t i = 0; i < receipts.size(); ++i) {
    values.push_back({receipts[i]->tenant, docs[i], aads[i]});
  }
  auto sealed = SealForTenants(wrapper, values);
  for (std::string& d : docs) OPENSSL_cleanse(d.data(), d.size());
  return sealed;
}

namespace {

common::Result<PersonalFields> OpenOne(const vault::Key& key, const FieldsToOpen& row) {
  ASSIGN_OR_RETURN(std::string doc,
                   vault::Open(key, row.sealed.data, FieldsAad(row.tenant, row.receipt_id)));
  auto f = DecodeFields(doc);
  OPENSSL_cleanse(doc.data(), doc.size());
  return f;
}

}  // namespace

common::Result<std::vector<common::Result<PersonalFields>>> OpenFields(
    vault::Wrapper& wrapper, const std::vector<FieldsToOpen>& rows) {
  std::vector<WrappedKeyRef> refs;
  refs.reserve(rows.size());
  for (const FieldsToOpen& r : rows)
    refs.push_back({&r.tenant, &r.sealed.kek_id, &r.sealed.wrapped_key});
  std::vector<common::Result<PersonalFields>> out(rows.size(),
                                                  common::Error::Internal("not opened"));
  RETURN_IF_ERROR(UnwrapEach(
      wrapper, refs, [&](size_t i, const vault::Key& key) { out[i] = OpenOne(key, rows[i]); },
      [&](size_t i, const common::Error& e) { out[i] = e; }));
  return out;
}

common::Status PutFields(PersonalFields f, notary::Receipt& r) {
  notary::Envelope& e = r.envelope;
  e.mail_from = std::move(f.mail_from);
  e.recipients = std::move(f.recipients);
  if (notary::EnvelopeDigest(e) != r.envelope_digest) {
    return common::Error::VerifyFailed("receipt " + r.id +
                                       ": the sealed envelope does not match its envelope digest");
  }
  mime::Metadata& md = r.metadata;
  md.from = std::move(f.from);
  md.sender = std::move(f.sender);
  md.reply_to = std::move(f.reply_to);
  md.to = std::move(f.to);
  md.cc = std::move(f.cc);
  md.subject = std::move(f.subject);
  md.date = std::move(f.date);
  md.message_id = std::move(f.message_id);
  md.in_reply_to = std::move(f.in_reply_to);
  md.attachment_names = std::move(f.attachment_names);
  r.parse_warnings = std::move(f.parse_warnings);
  if (f.part_filenames.size() != r.parts.size()) {
    return common::Error::VerifyFailed(
        "receipt " + r.id + ": the sealed fields name " + std::to_string(f.part_filenames.size()) +
        " part file names for " + std::to_string(r.parts.size()) + " parts");
  }
  for (size_t i = 0; i < r.parts.size(); ++i) r.parts[i].filename = std::move(f.part_filenames[i]);
  return common::Ok();
}

}  // namespace storage
