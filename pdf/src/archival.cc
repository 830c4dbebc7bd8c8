// MakeArchival with qpdf: the file is read (a warning is an error: cairo's output reads
// cleanly), the catalog and Info dictionary are completed, and the whole is written again
// with a trailer ID that depends on the content only (the same PDF and info give the same
// bytes) and with every stream as it came: the XMP is left unfiltered, as PDF/A readers
// expect of metadata.
#include "pdf/archival.h"

#include <lcms2.h>

#include <exception>
#include <qpdf/QPDF.hh>
#include <qpdf/QPDFObjectHandle.hh>
#include <string>

#include "common/time.h"
#include "qpdf_io.h"

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

common::Result<std::string> MakeArchival(std::string_view bytes, const ArchivalInfo& info) {
  static const common::Result<std::string> icc = SrgbProfile();
  if (!icc.ok()) return icc.error();
  try {
    QPDF q;
    q.setSuppressWarnings(true);
    q.processMemoryFile("certificate", bytes.data(), bytes.size());
    if (q.anyWarnings()) return common::Error::InvalidInput("the PDF reads with warnings");

    QPDFObjectHandle root = q.getRoot();
    QPDFObjectHandle xmp = QPDFObjectHandle::newStream(&q, Xmp(info));
    xmp.getDict().replaceKey("/Type", QPDFObjectHandle::newName("/Metadata"));
    xmp.getDict().replaceKey("/Subtype", QPDFObjectHandle::newName("/XML"));
    root.replaceKey("/Metadata", xmp);

    QPDFObjectHandle profile = QPDFObjectHandle::newStream(&q, *icc);
    profile.getDict().replaceKey("/N", QPDFObjectHandle::newInteger(3));
    QPDFObjectHandle intent = QPDFObjectHandle::newDictionary();
    intent.replaceKey("/Type", QPDFObjectHandle::newName("/OutputIntent"));
    intent.replaceKey("/S", QPDFObjectHandle::newName("/GTS_PDFA1"));
    intent.replaceKey("/OutputConditionIdentifier",
                      QPDFObjectHandle::newString("sRGB IEC61966-2.1"));
    intent.replaceKey("/RegistryName", QPDFObjectHandle::newString("http://www.color.org"));
    intent.replaceKey("/DestOutputProfile", q.makeIndirectObject(profile));
    QPDFObjectHandle intents = QPDFObjectHandle::newArray();
    intents.appendItem(intent);
    root.replaceKey("/OutputIntents", intents);
    root.replaceKey("/Lang", QPDFObjectHandle::newUnicodeString(info.lang));

    QPDFObjectHandle doc_info = QPDFObjectHandle::newDictionary();
    doc_info.replaceKey("/Title", QPDFObjectHandle::newUnicodeString(info.title));
    doc_info.replaceKey("/Author", QPDFObjectHandle::newUnicodeString(info.author));
    doc_info.replaceKey("/Subject", QPDFObjectHandle::newUnicodeString(info.subject));
    doc_info.replaceKey("/Creator", QPDFObjectHandle::newUnicodeString(info.producer));
    doc_info.replaceKey("/Producer", QPDFObjectHandle::newUnicodeString(info.producer));
    doc_info.replaceKey("/CreationDate",
                        QPDFObjectHandle::newString(qpdf_io::PdfDate(info.created_us)));
    doc_info.replaceKey("/ModDate", QPDFObjectHandle::newString(qpdf_io::PdfDate(info.created_us)));
    q.getTrailer().replaceKey("/Info", q.makeIndirectObject(doc_info));

    return qpdf_io::Write(q, "1.7");
  } catch (const std::exception& e) {
    return common::Error::InvalidInput(std::string("qpdf: ") + e.what());
  }
}

}  // namespace pdf
