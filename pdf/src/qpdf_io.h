// What archival.cc and signature.cc share around qpdf: the PDF date form and writing a
// document back to bytes the same way (deterministic trailer ID, no object streams, every
// stream as it came).
#pragma once

#include <cstdint>
#include <qpdf/QPDF.hh>
#include <string>

namespace pdf::qpdf_io {

// "D:YYYYMMDDHHmmSSZ" of a time in microseconds since the epoch (whole seconds).
std::string PdfDate(int64_t us);

// The document's bytes. Throws what QPDFWriter throws.
std::string Write(QPDF& q, const char* min_version = nullptr);

}  // namespace pdf::qpdf_io
