// certificate.pdf's templates with hostile header values, read back with poppler's pdftotext.
#include "pipeline/production_certificate.h"

#include <gtest/gtest.h>

#include <string>

#include "support/test_support.h"

namespace {

TEST(ProductionCertificateTest, AHugeToHeaderIsClippedOnTheKoreanCertificateNotTheHash) {
  pipeline::ProductionCertificateInput in;
  in.c.id = "case-1";
  in.c.name = "Huge";
  in.issued_at_us = 1'765'000'000'000'000;
  in.kind = pipeline::CertificateTemplate::kKorea;
  pipeline::CertifiedMessage m;
  m.bates = "HUGE000001";
  m.receipt_id = "r-1";
  m.from = "a@example.com";
  for (int i = 0; i < 2000; ++i) m.to += "수신자" + std::to_string(i) + "@example.org; ";
  m.received_at_us = in.issued_at_us;
  m.raw_sha256.fill(0xab);
  m.checked = true;
  in.messages.push_back(m);
  auto pdf = pipeline::ProductionCertificatePdf(in, pipeline::CertificateOptions{});
  ASSERT_TRUE(pdf.ok()) << pdf.error().ToString();
  const std::string dir = testsupport::MakeTempDir("production-certificate");
  testsupport::WriteFile(dir + "/c.pdf", *pdf);
  auto text = testsupport::RunCommand({"pdftotext", "-enc", "UTF-8", dir + "/c.pdf", "-"});
  ASSERT_EQ(text.exit_code, 0) << text.out;
  EXPECT_NE(text.out.find("이하 생략"), std::string::npos) << text.out;
  std::string hash;
  for (int i = 0; i < 32; ++i) hash += "ab";
  EXPECT_NE(text.out.find(hash), std::string::npos) << text.out;
  EXPECT_EQ(text.out.find("수신자1999@"), std::string::npos);
}

}  // namespace
