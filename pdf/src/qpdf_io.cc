#include "qpdf_io.h"

#include <qpdf/QPDFWriter.hh>

#include "common/time.h"

namespace pdf::qpdf_io {

std::string PdfDate(int64_t us) {
  const std::string t = common::FormatRfc3339Micros(us);  // YYYY-MM-DDTHH:MM:SS.ffffffZ
  return "D:" + t.substr(0, 4) + t.substr(5, 2) + t.substr(8, 2) + t.substr(11, 2) +
         t.substr(14, 2) + t.substr(17, 2) + "Z";
}

std::string Write(QPDF& q, const char* min_version) {
  QPDFWriter w(q);
  w.setOutputMemory();
  w.setDeterministicID(true);
  w.setObjectStreamMode(qpdf_o_disable);
  w.setDecodeLevel(qpdf_dl_none);
  w.setCompressStreams(false);
  if (min_version != nullptr) w.setMinimumPDFVersion(min_version);
  w.write();
  auto buffer = w.getBufferSharedPointer();
  return std::string(reinterpret_cast<const char*>(buffer->getBuffer()), buffer->getSize());
}

}  // namespace pdf::qpdf_io
