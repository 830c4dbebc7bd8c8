// MakeArchival: a PDF from RenderPdf made PDF/A-2b (ISO 19005-2, level B): the document
// catalog gains the XMP metadata PDF/A requires (pdfaid part 2, conformance B, and the
// title, author, producer and dates, the same as in the Info dictionary), an sRGB output
// intent with its ICC profile (made by lcms2), and the document's language; the file gets a
// trailer ID. What level B needs of the content itself (every font embedded, no encryption,
// no external content, no JavaScript) is what RenderPdf writes already.
//
// Thread-safety: may run on several threads at once.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"

namespace pdf {

struct ArchivalInfo {
  std::string title, author, subject;
  std::string lang = "en";
  std::string producer;  // the program, e.g. "notaryd 1.4.0"
  int64_t created_us = 0;
};

// PDF's date form "D:YYYYMMDDHHmmSSZ" of a time in microseconds since the epoch (whole
// seconds, UTC), as the Info dictionary and a signature's /M take it.
std::string PdfDate(int64_t us);

// Errors: kInvalidInput when `pdf` is not a PDF qpdf reads without a warning; kInternal when
// the profile cannot be made.
common::Result<std::string> MakeArchival(std::string_view pdf, const ArchivalInfo& info);

}  // namespace pdf
