// notary-signer's check of a document signing request: it signs the signed attributes that
// pdf::SignPades writes for the document certificate, and nothing else.
#include "signer/document_signing.h"

#include <gtest/gtest.h>
#include <openssl/ess.h>
#include <openssl/pem.h>
#include <openssl/pkcs7.h>
#include <sys/stat.h>

#include <string>

#include "common/sha256.h"
#include "support/test_support.h"

namespace {

using testsupport::RunCommand;

struct Files {
  std::string key, cert, other_cert;
};

Files MakeFiles() {
  const std::string d = testsupport::MakeTempDir("document-signing");
  for (const char* name : {"doc", "other"}) {
    EXPECT_EQ(
        RunCommand({"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-keyout", d + "/" + name + ".key", "-out",
                    d + "/" + name + ".pem", "-days", "1", "-subj", std::string("/CN=") + name})
            .exit_code,
        0);
  }
  ::chmod((d + "/doc.key").c_str(), 0600);
  return {d + "/doc.key", d + "/doc.pem", d + "/other.pem"};
}

// DER signed attributes: contentType `content`, a messageDigest of `digest_len` bytes, the
// signingCertificateV2 of `cert_pem`, and signingTime when asked.
std::string Attributes(const std::string& cert_pem, int content = NID_pkcs7_data,
                       int digest_len = 32, bool signing_time = false) {
  PKCS7_SIGNER_INFO* si = PKCS7_SIGNER_INFO_new();
  PKCS7_add_signed_attribute(si, NID_pkcs9_contentType, V_ASN1_OBJECT, OBJ_nid2obj(content));
  ASN1_OCTET_STRING* md = ASN1_OCTET_STRING_new();
  const std::string zeros(static_cast<size_t>(digest_len), '\0');
  ASN1_OCTET_STRING_set(md, reinterpret_cast<const unsigned char*>(zeros.data()), digest_len);
  PKCS7_add_signed_attribute(si, NID_pkcs9_messageDigest, V_ASN1_OCTET_STRING, md);
  BIO* bio = BIO_new_mem_buf(cert_pem.data(), static_cast<int>(cert_pem.size()));
  X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
  ESS_SIGNING_CERT_V2* ess = OSSL_ESS_signing_cert_v2_new_init(EVP_sha256(), cert, nullptr, 0);
  unsigned char* der = nullptr;
  const int len = i2d_ESS_SIGNING_CERT_V2(ess, &der);
  ASN1_STRING* seq = ASN1_STRING_new();
  ASN1_STRING_set(seq, der, len);
  PKCS7_add_signed_attribute(si, NID_id_smime_aa_signingCertificateV2, V_ASN1_SEQUENCE, seq);
  if (signing_time) {
    PKCS7_add_signed_attribute(si, NID_pkcs9_signingTime, V_ASN1_UTCTIME,
                               ASN1_TIME_set(nullptr, 1'700'000'000));
  }
  unsigned char* out = nullptr;
  const int out_len = ASN1_item_i2d(reinterpret_cast<ASN1_VALUE*>(si->auth_attr), &out,
                                    ASN1_ITEM_rptr(PKCS7_ATTR_SIGN));
  std::string result(reinterpret_cast<char*>(out), static_cast<size_t>(out_len));
  OPENSSL_free(out);
  OPENSSL_free(der);
  ESS_SIGNING_CERT_V2_free(ess);
  X509_free(cert);
  BIO_free(bio);
  PKCS7_SIGNER_INFO_free(si);
  return result;
}

TEST(DocumentSigningTest, SignsOnlyTheAttributesOfAPdfSignatureForItsCertificate) {
  const Files f = MakeFiles();
  auto doc = signer::OpenDocumentSigning(f.key, f.cert);
  ASSERT_TRUE(doc.ok()) << doc.error().ToString();
  const std::string cert = testsupport::ReadFile(f.cert);

  const std::string good = Attributes(cert);
  auto digest = signer::CheckDocumentSigningRequest(good, *doc);
  ASSERT_TRUE(digest.ok()) << digest.error().ToString();
  EXPECT_EQ(*digest, common::Sha256Of(good));
  auto sig = signer::SignDocumentDigest(*doc, *digest);
  ASSERT_TRUE(sig.ok());
  // The signature verifies with the certificate's key (openssl pkeyutl, over the digest).
  const std::string d = testsupport::MakeTempDir("document-sig");
  testsupport::WriteFile(d + "/digest", std::string(digest->begin(), digest->end()));
  testsupport::WriteFile(d + "/sig", *sig);
  EXPECT_EQ(RunCommand({"openssl", "pkeyutl", "-verify", "-certin", "-inkey", f.cert, "-in",
                        d + "/digest", "-sigfile", d + "/sig"})
                .exit_code,
            0);

  const auto code = [&](const std::string& attrs) {
    return signer::CheckDocumentSigningRequest(attrs, *doc).error().code();
  };
  EXPECT_EQ(code(Attributes(cert, NID_id_smime_ct_TSTInfo)), common::ErrorCode::kPermissionDenied);
  EXPECT_EQ(code(Attributes(cert, NID_pkcs7_data, 20)), common::ErrorCode::kPermissionDenied);
  EXPECT_EQ(code(Attributes(cert, NID_pkcs7_data, 32, true)), common::ErrorCode::kPermissionDenied);
  EXPECT_EQ(code(Attributes(testsupport::ReadFile(f.other_cert))),
            common::ErrorCode::kPermissionDenied);
  EXPECT_EQ(code("not DER"), common::ErrorCode::kInvalidInput);
  EXPECT_EQ(code(std::string(signer::kMaxDocumentAttributesBytes + 1, '\x31')),
            common::ErrorCode::kInvalidInput);
}

TEST(DocumentSigningTest, AKeyOthersMayReadOrOfAnotherCertificateIsRefused) {
  const Files f = MakeFiles();
  ::chmod(f.key.c_str(), 0640);
  EXPECT_EQ(signer::OpenDocumentSigning(f.key, f.cert).error().code(),
            common::ErrorCode::kInvalidInput);
  ::chmod(f.key.c_str(), 0600);
  auto wrong = signer::OpenDocumentSigning(f.key, f.other_cert);
  ASSERT_FALSE(wrong.ok());
  EXPECT_NE(wrong.error().message().find("is not the key of"), std::string::npos);
}

}  // namespace
