// Compiled as C++17: see qpdf_edit.h. Includes nothing of ours but that header.
#include "qpdf_edit.h"

#include <qpdf/QPDF.hh>
#include <qpdf/QPDFObjectHandle.hh>
#include <qpdf/QPDFWriter.hh>
#include <stdexcept>
#include <vector>

namespace pdf::qpdf_edit {
namespace {

void Read(QPDF& q, const std::string& pdf) {
  q.setSuppressWarnings(true);
  q.processMemoryFile("certificate", pdf.data(), pdf.size());
  if (q.anyWarnings()) throw std::runtime_error("the PDF reads with warnings");
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

QPDFObjectHandle Text(const std::string& s) { return QPDFObjectHandle::newUnicodeString(s); }

}  // namespace

std::string AddArchivalParts(const std::string& pdf, const ArchivalParts& p) {
  QPDF q;
  Read(q, pdf);
  QPDFObjectHandle root = q.getRoot();
  QPDFObjectHandle xmp = QPDFObjectHandle::newStream(&q, p.xmp);
  xmp.getDict().replaceKey("/Type", QPDFObjectHandle::newName("/Metadata"));
  xmp.getDict().replaceKey("/Subtype", QPDFObjectHandle::newName("/XML"));
  root.replaceKey("/Metadata", xmp);

  QPDFObjectHandle profile = QPDFObjectHandle::newStream(&q, p.icc);
  profile.getDict().replaceKey("/N", QPDFObjectHandle::newInteger(3));
  QPDFObjectHandle intent = QPDFObjectHandle::newDictionary();
  intent.replaceKey("/Type", QPDFObjectHandle::newName("/OutputIntent"));
  intent.replaceKey("/S", QPDFObjectHandle::newName("/GTS_PDFA1"));
  intent.replaceKey("/OutputConditionIdentifier", QPDFObjectHandle::newString("sRGB IEC61966-2.1"));
  intent.replaceKey("/RegistryName", QPDFObjectHandle::newString("http://www.color.org"));
  intent.replaceKey("/DestOutputProfile", q.makeIndirectObject(profile));
  QPDFObjectHandle intents = QPDFObjectHandle::newArray();
  intents.appendItem(intent);
  root.replaceKey("/OutputIntents", intents);
  root.replaceKey("/Lang", Text(p.lang));

  QPDFObjectHandle info = QPDFObjectHandle::newDictionary();
  info.replaceKey("/Title", Text(p.title));
  info.replaceKey("/Author", Text(p.author));
  info.replaceKey("/Subject", Text(p.subject));
  info.replaceKey("/Creator", Text(p.producer));
  info.replaceKey("/Producer", Text(p.producer));
  info.replaceKey("/CreationDate", QPDFObjectHandle::newString(p.date));
  info.replaceKey("/ModDate", QPDFObjectHandle::newString(p.date));
  q.getTrailer().replaceKey("/Info", q.makeIndirectObject(info));
  return Write(q, "1.7");
}

std::string AddSignatureField(const std::string& pdf, const SignatureParts& p) {
  QPDF q;
  Read(q, pdf);
  std::vector<QPDFObjectHandle> pages = q.getAllPages();
  if (pages.empty()) throw std::runtime_error("a PDF without pages");

  QPDFObjectHandle sig =
      QPDFObjectHandle::parse("<< /Type /Sig /Filter /Adobe.PPKLite /SubFilter " + p.sub_filter +
                              " /ByteRange " + p.byte_range + " >>");
  sig.replaceKey("/Contents", QPDFObjectHandle::newString(std::string(p.reserve, '\0')));
  sig.replaceKey("/M", QPDFObjectHandle::newString(p.date));
  if (!p.name.empty()) sig.replaceKey("/Name", Text(p.name));
  if (!p.reason.empty()) sig.replaceKey("/Reason", Text(p.reason));
  if (!p.location.empty()) sig.replaceKey("/Location", Text(p.location));
  if (!p.contact.empty()) sig.replaceKey("/ContactInfo", Text(p.contact));
  QPDFObjectHandle sig_ref = q.makeIndirectObject(sig);

  // An invisible widget (zero area, which PDF/A exempts from an appearance) flagged Print
  // and Locked, as PDF/A wants every annotation printable.
  QPDFObjectHandle field = QPDFObjectHandle::parse(
      "<< /Type /Annot /Subtype /Widget /FT /Sig /F 132 /Rect [0 0 0 0] >>");
  field.replaceKey("/T", QPDFObjectHandle::newString("Signature1"));
  field.replaceKey("/V", sig_ref);
  field.replaceKey("/P", pages[0]);
  QPDFObjectHandle field_ref = q.makeIndirectObject(field);
  QPDFObjectHandle annots = pages[0].getKey("/Annots");
  if (!annots.isArray()) {
    annots = QPDFObjectHandle::newArray();
    pages[0].replaceKey("/Annots", annots);
  }
  annots.appendItem(field_ref);
  QPDFObjectHandle form = QPDFObjectHandle::newDictionary();
  QPDFObjectHandle fields = QPDFObjectHandle::newArray();
  fields.appendItem(field_ref);
  form.replaceKey("/Fields", fields);
  form.replaceKey("/SigFlags", QPDFObjectHandle::newInteger(3));
  q.getRoot().replaceKey("/AcroForm", form);
  return Write(q, nullptr);
}

}  // namespace pdf::qpdf_edit
