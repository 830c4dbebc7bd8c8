// Every use of qpdf in pdf/, behind an interface of standard types only: qpdf_edit.cc is
// compiled as C++17 (pdf/CMakeLists.txt) because qpdf 11's JSON.hh does not compile with
// clang 14 in C++20 mode (a vector of an incomplete type whose destructor C++20 makes
// constexpr), and the thread-sanitizer build uses clang.
//
// Each function reads `pdf`, changes it, and writes it again with a trailer ID that depends
// on the content only, no object streams, and every stream as it came. They throw
// std::runtime_error("warnings") for a PDF that reads with warnings, and what qpdf throws.
//
// Thread-safety: may run on several threads at once.
#pragma once

#include <string>

namespace pdf::qpdf_edit {

// PDF/A-2b's additions (archival.h): the XMP packet as /Metadata, an output intent with the
// ICC profile `icc` (3 components), /Lang, and a new Info dictionary.
struct ArchivalParts {
  std::string xmp, icc, lang;
  std::string title, author, subject, producer;
  std::string date;  // "D:YYYYMMDDHHmmSSZ"
};
std::string AddArchivalParts(const std::string& pdf, const ArchivalParts& parts);

// An invisible signature field on the first page whose /V is a signature dictionary with
// `byte_range` written as given (an array) and /Contents `reserve` zero bytes (written as
// hex), and the text fields that are not empty.
struct SignatureParts {
  std::string sub_filter;  // "/ETSI.CAdES.detached"
  std::string byte_range;  // "[0 1000000000 1000000000 1000000000]"
  size_t reserve = 0;
  std::string date;  // /M
  std::string name, reason, location, contact;
};
std::string AddSignatureField(const std::string& pdf, const SignatureParts& parts);

}  // namespace pdf::qpdf_edit
