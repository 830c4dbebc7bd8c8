// A PAdES signature is a detached CMS over the file's bytes but one hole (/ByteRange
// [0 a b c]), and the hole is exactly the hex string /Contents <...> holding the CMS. When the
// ranges start at 0 and end at the file's end, and the CMS verifies over them, no byte of the
// file outside the signature can have changed since it was signed (an incremental update
// appended later would leave bytes outside the ranges).
#include "evidence/pdf_signature.h"

#include <openssl/cms.h>
#include <openssl/x509.h>

#include <array>
#include <cstdint>
#include <memory>
#include <optional>

#include "common/bytes.h"
#include "common/deleter.h"
#include "common/ossl.h"
#include "common/sha256.h"

namespace notary {
namespace {

constexpr std::string_view kByteRange = "/ByteRange";

using CmsPtr = std::unique_ptr<CMS_ContentInfo, common::Deleter<CMS_ContentInfo_free>>;

bool IsSpace(char c) {
  return c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '\f' || c == '\0';
}

// The four integers of "/ByteRange [a b c d]" starting at `at`.
std::optional<std::array<uint64_t, 4>> ParseRange(std::string_view pdf, size_t at) {
  size_t i = at + kByteRange.size();
  while (i < pdf.size() && IsSpace(pdf[i])) ++i;
  if (i >= pdf.size() || pdf[i] != '[') return std::nullopt;
  ++i;
  std::array<uint64_t, 4> out{};
  for (uint64_t& n : out) {
    while (i < pdf.size() && IsSpace(pdf[i])) ++i;
    size_t digits = 0;
    n = 0;
    while (i < pdf.size() && pdf[i] >= '0' && pdf[i] <= '9' && digits < 15) {
      n = n * 10 + static_cast<uint64_t>(pdf[i] - '0');
      ++i;
      ++digits;
    }
    if (digits == 0 || (i < pdf.size() && pdf[i] >= '0' && pdf[i] <= '9')) return std::nullopt;
  }
  while (i < pdf.size() && IsSpace(pdf[i])) ++i;
  if (i >= pdf.size() || pdf[i] != ']') return std::nullopt;
  return out;
}

PdfSignature Broken(std::string why) {
  PdfSignature s;
  s.state = PdfSignature::State::kBroken;
  s.problem = std::move(why);
  return s;
}

}  // namespace

const char* PdfSignatureStateName(PdfSignature::State state) {
  switch (state) {
    case PdfSignature::State::kIntact:
      return "intact";
    case PdfSignature::State::kBroken:
      return "broken";
    case PdfSignature::State::kUnsigned:
      return "unsigned";
  }
  return "broken";
}

PdfSignature CheckPdfSignature(std::string_view pdf) {
  const size_t first = pdf.find(kByteRange);
  if (first == std::string_view::npos) return {};
  if (pdf.find(kByteRange, first + 1) != std::string_view::npos) {
    return Broken("more than one signature dictionary: check it with pdfsig");
  }
  auto range = ParseRange(pdf, first);
  if (!range) return Broken("its /ByteRange cannot be read");
  const auto [a, b, c, d] = *range;
  if (a != 0 || b < 2 || c <= b + 1 || c > pdf.size() || d != pdf.size() - c) {
    return Broken("the signature does not cover the whole file (changed after signing?)");
  }
  // The hole is exactly "<hex>": the signature's /Contents, and nothing else is unsigned.
  if (pdf[b] != '<' || pdf[c - 1] != '>') return Broken("the unsigned bytes are not /Contents");
  const uint64_t hex_begin = b + 1, hex_end = c - 1;
  if ((hex_end - hex_begin) % 2 != 0) return Broken("the signature's /Contents is cut short");
  const std::optional<std::string> der =
      common::FromHex(pdf.substr(hex_begin, hex_end - hex_begin));
  if (!der) return Broken("the signature's /Contents is not hexadecimal");
  const auto* p = reinterpret_cast<const unsigned char*>(der->data());
  CmsPtr cms(d2i_CMS_ContentInfo(nullptr, &p, static_cast<long>(der->size())));
  if (!cms) return Broken("the signature is not a CMS structure");
  std::string signed_bytes;
  signed_bytes.reserve(b + d);
  signed_bytes.append(pdf.substr(0, b));
  signed_bytes.append(pdf.substr(c, d));
  common::BioPtr content(
      BIO_new_mem_buf(signed_bytes.data(), static_cast<int>(signed_bytes.size())));
  if (!content) return Broken("out of memory");
  // The certificate is not trusted here (the operator's own); the signature and the digest of
  // the signed bytes are what is checked.
  if (CMS_verify(cms.get(), nullptr, nullptr, content.get(), nullptr,
                 CMS_BINARY | CMS_NO_SIGNER_CERT_VERIFY) != 1) {
    return Broken("the signature does not verify over the file: it was changed after signing");
  }
  STACK_OF(X509)* signers = CMS_get0_signers(cms.get());
  if (signers == nullptr || sk_X509_num(signers) != 1) {
    sk_X509_free(signers);
    return Broken("the signature does not have exactly one signer");
  }
  X509* cert = sk_X509_value(signers, 0);
  PdfSignature out;
  out.state = PdfSignature::State::kIntact;
  out.signer = common::NameRfc2253(X509_get_subject_name(cert));
  unsigned char* cert_der = nullptr;
  const int len = i2d_X509(cert, &cert_der);
  if (len > 0) {
    out.signer_fingerprint = common::ToHex(common::Sha256Of(
        std::string_view(reinterpret_cast<char*>(cert_der), static_cast<size_t>(len))));
  }
  OPENSSL_free(cert_der);
  sk_X509_free(signers);
  return out;
}

}  // namespace notary
