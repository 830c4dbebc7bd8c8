// The certificate PDF against the tools a court clerk or the other side's expert would use:
// qpdf --check, pdftotext, pdffonts, pdfinfo and pdfsig (poppler), with keys, certificates
// and the time-stamp token made by the openssl command.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/pkcs7.h>

#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include "common/bytes.h"
#include "common/deleter.h"
#include "common/ossl.h"
#include "common/sha256.h"
#include "evidence/pdf_signature.h"
#include "pdf/archival.h"
#include "pdf/document.h"
#include "pdf/signature.h"
#include "support/test_support.h"

namespace {

using testsupport::RunCommand;

constexpr char kHash[] = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

pdf::Document Sample(size_t rows) {
  pdf::Document d;
  d.lang = "ko";
  d.title = "증거 인증서 Certificate of evidence";
  d.author = "ACME Notary GmbH";
  d.footer = "Case ACME-1";
  d.created_us = 1'765'000'000'000'000;
  d.blocks.push_back(pdf::Block::Heading("운영자 Operator"));
  d.blocks.push_back(pdf::Block::Fields({{"Name", "ACME Notary GmbH"},
                                         {"주소", "서울특별시 중구 세종대로 110"},
                                         {"中文", "电子数据的完整性已经校验"},
                                         {"SHA-256", kHash, true}}));
  d.blocks.push_back(pdf::Block::Paragraph(std::string(3000, 'x') + " end of a long paragraph"));
  pdf::Block t;
  t.kind = pdf::Block::Kind::kTable;
  t.columns = {"Bates", "Receipt", "SHA-256"};
  t.widths = {0.2, 0.3, 0.5};
  t.mono = {false, true, true};
  for (size_t i = 0; i < rows; ++i) {
    t.rows.push_back({"ACME" + std::to_string(100000 + i), "r-" + std::to_string(i), kHash});
  }
  d.blocks.push_back(t);
  d.blocks.push_back(pdf::Block::Note("끝 the end"));
  return d;
}

struct Keys {
  std::string dir;
  std::string chain_der;  // the signer's certificate, DER
  common::EvpPkeyPtr key;
};

// An ECDSA P-256 key and a self-signed certificate for it, and a TSA of the openssl command.
Keys MakeKeys() {
  Keys k;
  k.dir = testsupport::MakeTempDir("pdf-keys");
  const std::string d = k.dir;
  EXPECT_EQ(RunCommand({"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:P-256", "-nodes", "-keyout", d + "/doc.key", "-out",
                        d + "/doc.pem", "-days", "30", "-subj", "/CN=ACME Notary GmbH/O=ACME"})
                .exit_code,
            0);
  EXPECT_EQ(RunCommand({"openssl", "x509", "-in", d + "/doc.pem", "-outform", "DER", "-out",
                        d + "/doc.der"})
                .exit_code,
            0);
  k.chain_der = testsupport::ReadFile(d + "/doc.der");
  const std::string pem = testsupport::ReadFile(d + "/doc.key");
  common::BioPtr bio{BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()))};
  k.key.reset(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  EXPECT_TRUE(k.key);
  // The TSA: a key, a certificate with the timeStamping extended key usage, and the
  // configuration `openssl ts -reply` reads.
  EXPECT_EQ(RunCommand({"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:P-256", "-nodes", "-keyout", d + "/tsa.key", "-out",
                        d + "/tsa.pem", "-days", "30", "-subj", "/CN=Independent TSA", "-addext",
                        "extendedKeyUsage=critical,timeStamping"})
                .exit_code,
            0);
  testsupport::WriteFile(d + "/serial", "01\n");
  testsupport::WriteFile(d + "/tsa.cnf", "[tsa]\ndefault_tsa = t\n[t]\ndir = " + d +
                                             "\nserial = $dir/serial\nsigner_cert = $dir/tsa.pem\n"
                                             "signer_key = $dir/tsa.key\nsigner_digest = sha256\n"
                                             "default_policy = 1.2.3.4.1\ndigests = sha256\n"
                                             "ess_cert_id_alg = sha256\n");
  return k;
}

std::string Sign(EVP_PKEY* key, std::string_view data) {
  common::EvpMdCtxPtr ctx{EVP_MD_CTX_new()};
  size_t len = 0;
  EXPECT_EQ(EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key), 1);
  EXPECT_EQ(EVP_DigestSign(ctx.get(), nullptr, &len,
                           reinterpret_cast<const unsigned char*>(data.data()), data.size()),
            1);
  std::string sig(len, '\0');
  EXPECT_EQ(EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len,
                           reinterpret_cast<const unsigned char*>(data.data()), data.size()),
            1);
  sig.resize(len);
  return sig;
}

pdf::PadesSigner Signer(const Keys& k) {
  pdf::PadesSigner s;
  s.chain_der = {k.chain_der};
  EVP_PKEY* key = k.key.get();
  s.sign = [key](std::string_view attrs) -> common::Result<std::string> {
    return Sign(key, attrs);
  };
  const std::string d = k.dir;
  s.timestamp = [d](const common::Hash& digest) -> common::Result<std::string> {
    auto q = RunCommand({"openssl", "ts", "-query", "-digest", common::ToHex(digest), "-sha256",
                         "-cert", "-out", d + "/q.tsq"});
    auto r = RunCommand({"openssl", "ts", "-reply", "-config", d + "/tsa.cnf", "-queryfile",
                         d + "/q.tsq", "-token_out", "-out", d + "/t.tst"});
    if (q.exit_code != 0 || r.exit_code != 0) {
      return common::Error::Unavailable("openssl ts: " + q.out + r.out);
    }
    return testsupport::ReadFile(d + "/t.tst");
  };
  return s;
}

std::string Save(const std::string& dir, const std::string& name, const std::string& bytes) {
  const std::string path = dir + "/" + name;
  testsupport::WriteFile(path, bytes);
  return path;
}

TEST(PdfTest, ArchivalSignedCertificatePassesQpdfAndPdfsigAndShowsItsText) {
  const std::string dir = testsupport::MakeTempDir("pdf");
  auto rendered = pdf::RenderPdf(Sample(120));
  ASSERT_TRUE(rendered.ok()) << rendered.error().ToString();
  pdf::ArchivalInfo info{"증거 인증서", "ACME Notary GmbH", "case ACME-1",
                         "ko",          "notaryd test",     1'765'000'000'000'000};
  auto archival = pdf::MakeArchival(*rendered, info);
  ASSERT_TRUE(archival.ok()) << archival.error().ToString();
  Keys keys = MakeKeys();
  auto signed_pdf = pdf::SignPades(*archival, Signer(keys),
                                   {"ACME Notary GmbH", "Certificate of evidence", "Seoul",
                                    "legal@acme.example", 1'765'000'000'000'000});
  ASSERT_TRUE(signed_pdf.ok()) << signed_pdf.error().ToString();
  const std::string path = Save(dir, "certificate.pdf", *signed_pdf);

  auto check = RunCommand({"qpdf", "--check", path});
  EXPECT_EQ(check.exit_code, 0) << check.out;
  EXPECT_NE(check.out.find("No syntax or stream encoding errors"), std::string::npos) << check.out;

  auto text = RunCommand({"pdftotext", "-enc", "UTF-8", path, "-"});
  ASSERT_EQ(text.exit_code, 0) << text.out;
  EXPECT_NE(text.out.find("서울특별시 중구 세종대로 110"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("电子数据的完整性已经校验"), std::string::npos);
  EXPECT_NE(text.out.find(kHash), std::string::npos);
  EXPECT_NE(text.out.find("ACME100119"), std::string::npos);  // the table's last row
  EXPECT_NE(text.out.find("끝 the end"), std::string::npos);

  // Every font is embedded (PDF/A); pdffonts' "emb" column is the fifth from the right.
  auto fonts = RunCommand({"pdffonts", path});
  ASSERT_EQ(fonts.exit_code, 0) << fonts.out;
  EXPECT_NE(fonts.out.find("NotoSansCJK"), std::string::npos) << fonts.out;
  EXPECT_NE(fonts.out.find("DejaVuSansMono"), std::string::npos) << fonts.out;
  EXPECT_EQ(fonts.out.find(" no  "), std::string::npos) << fonts.out;

  auto meta = RunCommand({"pdfinfo", "-meta", path});
  EXPECT_NE(meta.out.find("<pdfaid:part>2</pdfaid:part>"), std::string::npos) << meta.out;
  EXPECT_NE(meta.out.find("<pdfaid:conformance>B</pdfaid:conformance>"), std::string::npos);
  auto pdfinfo = RunCommand({"pdfinfo", path});
  EXPECT_NE(pdfinfo.out.find("Author:          ACME Notary GmbH"), std::string::npos)
      << pdfinfo.out;

  auto sig = RunCommand({"pdfsig", path});
  EXPECT_EQ(sig.exit_code, 0) << sig.out;
  EXPECT_NE(sig.out.find("Signature Validation: Signature is Valid."), std::string::npos)
      << sig.out;
  EXPECT_NE(sig.out.find("Total document signed"), std::string::npos) << sig.out;
  EXPECT_NE(sig.out.find("ETSI.CAdES.detached"), std::string::npos) << sig.out;
  EXPECT_NE(sig.out.find("ACME Notary GmbH"), std::string::npos) << sig.out;

  // The CMS: signingCertificateV2 signed, no signingTime (PAdES puts the claimed time in /M),
  // and the token over the signature value unsigned.
  const size_t a = signed_pdf->find("/Contents <") + 11;
  const size_t b = signed_pdf->find('>', a);
  const std::string cms = *common::FromHex(std::string_view(*signed_pdf).substr(a, b - a));
  const auto* p = reinterpret_cast<const unsigned char*>(cms.data());
  std::unique_ptr<PKCS7, common::Deleter<PKCS7_free>> p7{
      d2i_PKCS7(nullptr, &p, static_cast<long>(cms.size()))};
  ASSERT_TRUE(p7);
  PKCS7_SIGNER_INFO* si = sk_PKCS7_SIGNER_INFO_value(PKCS7_get_signer_info(p7.get()), 0);
  ASSERT_NE(si, nullptr);
  EXPECT_NE(PKCS7_get_signed_attribute(si, NID_id_smime_aa_signingCertificateV2), nullptr);
  EXPECT_EQ(PKCS7_get_signed_attribute(si, NID_pkcs9_signingTime), nullptr);
  ASN1_TYPE* token = PKCS7_get_attribute(si, NID_id_smime_aa_timeStampToken);
  ASSERT_NE(token, nullptr);
  ASSERT_EQ(token->type, V_ASN1_SEQUENCE);
  const std::string token_der(reinterpret_cast<const char*>(token->value.sequence->data),
                              static_cast<size_t>(token->value.sequence->length));
  const ASN1_OCTET_STRING* value = si->enc_digest;
  const common::Hash over = common::Sha256Of(std::string_view(
      reinterpret_cast<const char*>(value->data), static_cast<size_t>(value->length)));
  auto reply =
      RunCommand({"openssl", "ts", "-verify", "-digest", common::ToHex(over), "-token_in", "-in",
                  Save(dir, "token.tst", token_der), "-CAfile", keys.dir + "/tsa.pem"});
  EXPECT_EQ(reply.exit_code, 0) << reply.out;

  // One byte changed inside the signed range: pdfsig no longer calls it valid.
  std::string tampered = *signed_pdf;
  const size_t at = tampered.find("/Title");
  ASSERT_NE(at, std::string::npos);
  tampered[at + 1] = 'X';
  auto bad = RunCommand({"pdfsig", Save(dir, "tampered.pdf", tampered)});
  EXPECT_EQ(bad.out.find("Signature is Valid."), std::string::npos) << bad.out;
}

// An English certificate is set in DejaVu Sans; a Korean or Chinese name in it still shows,
// from Noto Sans CJK, which is embedded only when such a character is there.
TEST(PdfTest, AnEnglishCertificateTakesCjkGlyphsFromNotoOnlyWhenItHasThem) {
  const std::string dir = testsupport::MakeTempDir("pdf-en");
  auto fonts_of = [&](const pdf::Document& d, const std::string& name) {
    auto rendered = pdf::RenderPdf(d);
    EXPECT_TRUE(rendered.ok()) << rendered.error().ToString();
    const std::string path = Save(dir, name, rendered.ok() ? *rendered : "");
    auto text = RunCommand({"pdftotext", "-enc", "UTF-8", path, "-"});
    auto fonts = RunCommand({"pdffonts", path});
    EXPECT_EQ(fonts.exit_code, 0) << fonts.out;
    EXPECT_EQ(fonts.out.find(" no  "), std::string::npos) << "every font embedded: " << fonts.out;
    return std::make_pair(text.out, fonts.out);
  };
  pdf::Document latin;
  latin.lang = "en";
  latin.title = "Certificate of evidence";
  latin.author = "ACME Notary GmbH";
  latin.created_us = 1'765'000'000'000'000;
  latin.blocks.push_back(pdf::Block::Fields({{"Subject", "Contract, signed"}}));
  auto [latin_text, latin_fonts] = fonts_of(latin, "latin.pdf");
  EXPECT_NE(latin_text.find("Contract, signed"), std::string::npos) << latin_text;
  EXPECT_NE(latin_fonts.find("DejaVuSans"), std::string::npos) << latin_fonts;
  EXPECT_EQ(latin_fonts.find("NotoSansCJK"), std::string::npos) << latin_fonts;

  pdf::Document mixed = latin;
  mixed.blocks.push_back(pdf::Block::Fields(
      {{"File name", "계약서 최종본.pdf"}, {"Subject (zh)", "电子数据的完整性已经校验"}}));
  auto [mixed_text, mixed_fonts] = fonts_of(mixed, "mixed.pdf");
  EXPECT_NE(mixed_text.find("계약서 최종본.pdf"), std::string::npos) << mixed_text;
  EXPECT_NE(mixed_text.find("电子数据的完整性已经校验"), std::string::npos) << mixed_text;
  EXPECT_NE(mixed_fonts.find("DejaVuSans"), std::string::npos) << mixed_fonts;
  EXPECT_NE(mixed_fonts.find("NotoSansCJK"), std::string::npos) << mixed_fonts;
}

TEST(PdfTest, ASignatureFromAnotherKeyIsRefused) {
  Keys keys = MakeKeys();
  Keys other = MakeKeys();
  auto rendered = pdf::RenderPdf(Sample(1));
  ASSERT_TRUE(rendered.ok());
  pdf::PadesSigner s = Signer(keys);
  EVP_PKEY* wrong = other.key.get();
  s.sign = [wrong](std::string_view attrs) -> common::Result<std::string> {
    return Sign(wrong, attrs);
  };
  s.timestamp = nullptr;
  auto signed_pdf = pdf::SignPades(*rendered, s, {"x", "", "", "", 0});
  ASSERT_FALSE(signed_pdf.ok());
  EXPECT_EQ(signed_pdf.error().code(), common::ErrorCode::kVerifyFailed);
}

// notary-verify's reading of certificate.pdf (evidence/pdf_signature.h) on what SignPades
// writes: intact and naming the signer; broken by a changed byte, by an update appended after
// signing, by a second signature dictionary; unsigned; and hostile bytes never crash it.
TEST(PdfTest, TheVerifierSeesWhetherTheSignatureCoversTheWholeUnchangedFile) {
  Keys keys = MakeKeys();
  auto rendered = pdf::RenderPdf(Sample(3));
  ASSERT_TRUE(rendered.ok());
  pdf::PadesSigner s = Signer(keys);
  s.timestamp = nullptr;
  auto signed_pdf = pdf::SignPades(*rendered, s, {"ACME Notary GmbH", "", "", "", 0});
  ASSERT_TRUE(signed_pdf.ok()) << signed_pdf.error().message();
  using State = notary::PdfSignature::State;

  const notary::PdfSignature good = notary::CheckPdfSignature(*signed_pdf);
  EXPECT_EQ(good.state, State::kIntact) << good.problem;
  EXPECT_EQ(good.signer, "O=ACME,CN=ACME Notary GmbH");
  EXPECT_EQ(good.signer_fingerprint, common::ToHex(common::Sha256Of(keys.chain_der)));

  std::string changed = *signed_pdf;
  changed[changed.find("/Title") + 1] = 'X';
  EXPECT_EQ(notary::CheckPdfSignature(changed).state, State::kBroken);
  // An incremental update appended after signing: bytes the signature does not cover.
  const std::string appended = *signed_pdf + "1 0 obj\n<< /Title (forged) >>\nendobj\n%%EOF\n";
  const notary::PdfSignature grown = notary::CheckPdfSignature(appended);
  EXPECT_EQ(grown.state, State::kBroken);
  EXPECT_NE(grown.problem.find("does not cover the whole file"), std::string::npos);
  EXPECT_EQ(notary::CheckPdfSignature(*signed_pdf + "%/ByteRange [0 1 2 3]").state, State::kBroken);
  // pdfsig agrees on the appended update.
  const std::string dir = testsupport::MakeTempDir("pdf-sig-check");
  EXPECT_EQ(
      RunCommand({"pdfsig", Save(dir, "grown.pdf", appended)}).out.find("Total document signed"),
      std::string::npos);

  EXPECT_EQ(notary::CheckPdfSignature(*rendered).state, State::kUnsigned);
  // Hostile bytes, each failing a different rule: ranges that do not start at 0 or end at the
  // file's end, an unreadable range, and (with well-formed ranges around the hole) a hole that
  // is not a hex string, hex cut short, and hex that is not a CMS.
  for (const std::string bad :
       {"/ByteRange [0 10 20 99999999999]", "/ByteRange [0 1", "/ByteRange [1 2 3 4]"}) {
    EXPECT_EQ(notary::CheckPdfSignature(bad).state, State::kBroken) << bad;
  }
  auto Holed = [](const std::string& hole) {
    char header[64];
    const auto len = static_cast<size_t>(
        std::snprintf(header, sizeof(header), "/ByteRange [0 %010d %010d %010d]", 0, 0, 0));
    const std::string after = "\n%%EOF\n";
    std::snprintf(header, sizeof(header), "/ByteRange [0 %010zu %010zu %010zu]", len,
                  len + hole.size(), after.size());
    return std::string(header) + hole + after;
  };
  for (const auto& [hole, why] : std::vector<std::pair<std::string, std::string>>{
           {"(abcd)", "not /Contents"},
           {"<zz>", "not hexadecimal"},
           {"<0>", "cut short"},
           {"<00>", "not a CMS"},
           {"<" + std::string(80, '7') + ">", "not a CMS"}}) {
    const notary::PdfSignature r = notary::CheckPdfSignature(Holed(hole));
    EXPECT_EQ(r.state, State::kBroken) << hole;
    EXPECT_NE(r.problem.find(why), std::string::npos) << hole << ": " << r.problem;
  }
}

TEST(PdfTest, BadInputIsRefused) {
  pdf::Document d = Sample(1);
  d.blocks.back().text = std::string("\xff\xfe", 2);
  EXPECT_EQ(pdf::RenderPdf(d).error().code(), common::ErrorCode::kInvalidInput);
  pdf::Document t = Sample(1);
  t.blocks[3].rows.push_back({"only one cell"});
  EXPECT_EQ(pdf::RenderPdf(t).error().code(), common::ErrorCode::kInvalidInput);
  EXPECT_EQ(pdf::MakeArchival("not a pdf", {}).error().code(), common::ErrorCode::kInvalidInput);
}

}  // namespace
