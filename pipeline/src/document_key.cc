// LoadDocumentSigner: the key is read once and held by the returned function; an EVP_PKEY is
// safe to sign with from several threads, each with its own EVP_MD_CTX.
#include "pipeline/document_key.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <memory>

#include "common/ossl.h"
#include "common/signing_key_file.h"
#include "pdf/document.h"
#include "pipeline/key_files.h"

namespace pipeline {

namespace {

// The chain's DER, and its first certificate.
common::Result<common::X509Ptr> ReadChain(const std::string& cert_path, pdf::PadesSigner& s) {
  ASSIGN_OR_RETURN(std::string certs_pem, ReadTextFile(cert_path));
  common::BioPtr bio{BIO_new_mem_buf(certs_pem.data(), static_cast<int>(certs_pem.size()))};
  common::X509Ptr first;
  while (true) {
    common::X509Ptr x{PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)};
    if (!x) break;
    unsigned char* der = nullptr;
    const int len = i2d_X509(x.get(), &der);
    if (len <= 0)
      return common::Error::InvalidInput(cert_path + ": a certificate re-encodes badly");
    s.chain_der.emplace_back(reinterpret_cast<char*>(der), static_cast<size_t>(len));
    OPENSSL_free(der);
    if (!first) first = std::move(x);
  }
  ERR_clear_error();
  if (!first) return common::Error::InvalidInput(cert_path + ": no PEM certificate");
  return first;
}

}  // namespace

common::Result<pdf::PadesSigner> LoadDocumentChain(const std::string& cert_path) {
  pdf::PadesSigner s;
  RETURN_IF_ERROR(ReadChain(cert_path, s));
  return s;
}

common::Result<pdf::PadesSigner> LoadDocumentSigner(const std::string& cert_path,
                                                    const std::string& key_path) {
  pdf::PadesSigner s;
  ASSIGN_OR_RETURN(common::X509Ptr first, ReadChain(cert_path, s));

  ASSIGN_OR_RETURN(common::EvpPkeyPtr read,
                   common::ReadSigningKeyFile(key_path, first.get(), cert_path));
  std::shared_ptr<EVP_PKEY> key{read.release(), EVP_PKEY_free};
  s.sign = [key](std::string_view data) -> common::Result<std::string> {
    common::EvpMdCtxPtr ctx{EVP_MD_CTX_new()};
    size_t len = 0;
    const auto* in = reinterpret_cast<const unsigned char*>(data.data());
    if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key.get()) != 1 ||
        EVP_DigestSign(ctx.get(), nullptr, &len, in, data.size()) != 1) {
      return common::Error::Internal("document signature: " + common::OpenSslError());
    }
    std::string sig(len, '\0');
    if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len, in,
                       data.size()) != 1) {
      return common::Error::Internal("document signature: " + common::OpenSslError());
    }
    sig.resize(len);
    return sig;
  };
  return s;
}

common::Status CheckDocumentSigner(const pdf::PadesSigner& signer) {
  pdf::Document probe;
  probe.title = "notaryd start-up check of the document key";
  probe.blocks.push_back(pdf::Block::Paragraph("Not a certificate: signed once at start-up."));
  ASSIGN_OR_RETURN(std::string blank, pdf::RenderPdf(probe));
  pdf::PadesSigner untimed = signer;
  untimed.timestamp = nullptr;  // no authority is asked for a start-up check
  auto signed_pdf = pdf::SignPades(blank, untimed, {"", "start-up check", "", "", 0});
  if (signed_pdf.ok()) return common::Ok();
  if (signed_pdf.error().code() == common::ErrorCode::kUnavailable) return signed_pdf.error();
  return common::Error::InvalidInput(
      "--document-cert is not the certificate of notary-signer's document key (" +
      signed_pdf.error().message() + ")");
}

}  // namespace pipeline
