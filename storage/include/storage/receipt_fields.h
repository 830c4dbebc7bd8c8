// A receipt's personal fields sealed at rest (migration 0016, docs/retention.md "Encryption at
// rest"): the envelope's sender and recipients, the headers shown, the address index, the
// attachment names, the parse warnings and the parts' file names, as one JSON document under
// a data key of the receipt's own, wrapped for its tenant's key pair. The receipt's columns
// for them stay empty; receipts stored before 0016 (or by a store without a key holder) keep
// them in the clear, and FieldsOf reads either kind the same way.
//
// Thread-safety: pure functions over a thread-safe Wrapper.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "receipt/receipt.h"
#include "storage/sealed_blobs.h"
#include "vault/key_wrapper.h"

namespace storage {

struct PersonalFields {
  std::string mail_from;
  std::vector<std::string> recipients;
  std::string from, sender, reply_to;
  std::vector<std::string> to, cc;
  std::string subject, date, message_id, in_reply_to;
  // Lower-case addr-specs of the envelope and the headers: what a search by address reads.
  std::vector<std::string> addresses;
  std::vector<std::string> attachment_names, parse_warnings;
  std::vector<std::string> part_filenames;  // by part ordinal
};

// A receipt_fields row as stored.
struct SealedFields {
  std::string kek_id, wrapped_key, data;
};

// The fields of a new receipt as stored: valid UTF-8 (invalid sequences replaced, as the text
// columns had them), addresses as the address index holds them.
PersonalFields FieldsOf(const notary::Receipt& r);

// "email-notary/receipt-fields\n" || str(tenant) || str(receipt id), str as in
// evidence-format.md: a row copied to another receipt or tenant does not open.
std::string FieldsAad(const std::string& tenant, const std::string& receipt_id);

// The JSON document (an object with "v": 1). Decode: kVerifyFailed when it is not one.
std::string EncodeFields(const PersonalFields& f);
common::Result<PersonalFields> DecodeFields(std::string_view json);

// One document sealed per receipt of `receipts`, in order; one wrapping per tenant present.
common::Result<std::vector<SealedValue>> SealFields(
    vault::Wrapper& wrapper, const std::vector<const notary::Receipt*>& receipts);

struct FieldsToOpen {
  std::string tenant, receipt_id;
  SealedFields sealed;
};
// Each row of `rows` opened: out[i] is the fields, or kVerifyFailed when the row does not open
// (altered, or moved from another receipt) or is not a document. The Result fails only when
// the key holder does (unreachable, or a key pair gone).
common::Result<std::vector<common::Result<PersonalFields>>> OpenFields(
    vault::Wrapper& wrapper, const std::vector<FieldsToOpen>& rows);

// Puts opened fields into the receipt they belong to (its parts loaded), and checks the
// envelope against the receipt's envelope digest, which its leaf record binds: kVerifyFailed
// when they differ (fields sealed anew by someone holding the tenant's key pair).
common::Status PutFields(PersonalFields f, notary::Receipt& r);

}  // namespace storage
