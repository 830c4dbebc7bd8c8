// MakeArchival with qpdf: the file is read (a warning is an error: cairo's output reads
// cleanly), the catalog and Info dictionary are completed, and the whole is written again
// with a trailer ID that depends on the content only (the same PDF and info give the same
// bytes) and with every stream as it came: the XMP is left unfiltered, as PDF/A readers
// expect of metadata.
#include "pdf/archival.h"

#include <lcms2.h>

#include <exception>
#include <string>

#include "common/time.h"
#include "qpdf_edit.h"

namespace pdf {
namespace {

std::string XmlEscape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string XmpDate(int64_t us) { return common::FormatRfc3339Micros(us).substr(0, 19) + "Z"; }

// The XMP packet: PDF/A identification and the Dublin Core, XMP and PDF properties that
// mirror the Info dictionary (ISO 19005-2 §6.6.2.3 asks them to agree).
std::string Xmp(const ArchivalInfo& info) {
  const std::string date = XmpDate(info.created_us);
  return "<?xpacket begin=\"\xEF\xBB\xBF\" id=\"W5M0MpCehiHzreSzNTczkc9d\"?>\n"
         "<x:xmpmeta xmlns:x=\"adobe:ns:meta/\">\n"
         "<rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\">\n"
         "<rdf:Description rdf:about=\"\"\n"
         " xmlns:pdfaid=\"http://www.aiim.org/pdfa/ns/id/\"\n"
         " xmlns:dc=\"http://purl.org/dc/elements/1.1/\"\n"
         " xmlns:xmp=\"http://ns.adobe.com/xap/1.0/\"\n"
         " xmlns:pdf=\"http://ns.adobe.com/pdf/1.3/\">\n"
         "<pdfaid:part>2</pdfaid:part>\n"
         "<pdfaid:conformance>B</pdfaid:conformance>\n"
         "<dc:format>application/pdf</dc:format>\n"
         "<dc:title><rdf:Alt><rdf:li xml:lang=\"x-default\">" +
         XmlEscape(info.title) +
         "</rdf:li></rdf:Alt></dc:title>\n"
         "<dc:creator><rdf:Seq><rdf:li>" +
         XmlEscape(info.author) +
         "</rdf:li></rdf:Seq></dc:creator>\n"
         "<dc:description><rdf:Alt><rdf:li xml:lang=\"x-default\">" +
         XmlEscape(info.subject) +
         "</rdf:li></rdf:Alt></dc:description>\n"
         "<xmp:CreatorTool>" +
         XmlEscape(info.producer) + "</xmp:CreatorTool>\n<xmp:CreateDate>" + date +
         "</xmp:CreateDate>\n<xmp:ModifyDate>" + date + "</xmp:ModifyDate>\n<pdf:Producer>" +
         XmlEscape(info.producer) +
         "</pdf:Producer>\n"
         "</rdf:Description>\n</rdf:RDF>\n</x:xmpmeta>\n<?xpacket end=\"r\"?>";
}

// sRGB IEC 61966-2.1 as an ICC version 2.1 profile, the version every PDF/A reader takes.
common::Result<std::string> SrgbProfile() {
  cmsHPROFILE p = cmsCreate_sRGBProfile();
  if (p == nullptr) return common::Error::Internal("lcms2: no sRGB profile");
  cmsSetProfileVersion(p, 2.1);
  cmsUInt32Number len = 0;
  std::string out;
  bool ok = cmsSaveProfileToMem(p, nullptr, &len) != 0 && len > 0;
  if (ok) {
    out.resize(len);
    ok = cmsSaveProfileToMem(p, out.data(), &len) != 0;
  }
  cmsCloseProfile(p);
  if (!ok) return common::Error::Internal("lcms2: the sRGB profile could not be written");
  return out;
}

}  // namespace

std::string PdfDate(int64_t us) {
  const std::string t = XmpDate(us);  // YYYY-MM-DDTHH:MM:SSZ
  return "D:" + t.substr(0, 4) + t.substr(5, 2) + t.substr(8, 2) + t.substr(11, 2) +
         t.substr(14, 2) + t.substr(17, 2) + "Z";
}

common::Result<std::string> MakeArchival(std::string_view bytes, const ArchivalInfo& info) {
  static const common::Result<std::string> icc = SrgbProfile();
  if (!icc.ok()) return icc.error();
  try {
    return qpdf_edit::AddArchivalParts(
        std::string(bytes), {Xmp(info), *icc, info.lang, info.title, info.author, info.subject,
                             info.producer, PdfDate(info.created_us)});
  } catch (const std::exception& e) {
    return common::Error::InvalidInput(std::string("qpdf: ") + e.what());
  }
}

}  // namespace pdf
