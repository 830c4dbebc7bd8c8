// Private helpers shared by the canonical-form versions (canonical.cc for version 1,
// canonical_v2.cc for version 2): the warnings list, record syntax, the mbox separator and
// the search metadata, which is not hashed and may come from GMime in every version.
//
// Thread-safety: pure functions; a Warnings object belongs to one canonicalisation.
#pragma once

#include <gmime/gmime.h>

#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "mime/canonical.h"
#include "warnings.h"

namespace mime::internal {

// "From " at the start of an mbox entry, but not the obsolete "From :" header syntax.
bool StartsWithMboxFromLine(std::string_view raw);

// ASCII lower case; other bytes unchanged.
std::string AsciiLower(std::string_view s);

// Appends one length-prefixed field: decimal byte count, ':', the bytes.
void AppendField(std::string& out, std::string_view s);
// Appends a record: the tag, then each field after one space, then LF.
void AppendRecord(std::string& out, std::string_view tag,
                  std::initializer_list<std::string_view> fields);

// One header field of the message for the metadata: lower-case name and the value as the
// version's parser gives it (NULL when there is none).
struct MetadataField {
  std::string name;
  const char* raw = nullptr;
};

// Fills out->metadata (docs/canonical-form.md §4) from out->headers (the canonical header
// values) and `fields` (every header field of the message, in order, for the address lists).
// Adds the "no From header" / "no Date header" / "Date header could not be parsed" warnings.
void FillMetadata(GMimeParserOptions* options, const std::vector<MetadataField>& fields,
                  Canonical* out, Warnings* warnings);

}  // namespace mime::internal
