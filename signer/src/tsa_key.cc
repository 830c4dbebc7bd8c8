#include "signer/tsa_key.h"

#include <fcntl.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/ossl.h"
#include "signer/key_ring.h"
#include "tsa_authority/local_ca.h"

namespace signer {
namespace {

common::Result<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return common::Error::Unavailable("cannot read " + path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string SpkiDer(EVP_PKEY* key) {
  unsigned char* der = nullptr;
  const int n = i2d_PUBKEY(key, &der);
  if (n <= 0) return {};
  std::string out(reinterpret_cast<char*>(der), static_cast<size_t>(n));
  OPENSSL_free(der);
  return out;
}

class FileTsaKey final : public TsaKey {
 public:
  FileTsaKey(std::string path, common::EvpPkeyPtr key)
      : path_(std::move(path)), key_(std::move(key)), spki_(SpkiDer(key_.get())) {}
  const std::string& public_key_der() const override { return spki_; }
  common::Result<std::string> SignDigest(std::span<const uint8_t> sha256) const override {
    if (sha256.size() != 32) return common::Error::InvalidInput("a SHA-256 digest is 32 bytes");
    common::EvpPkeyCtxPtr ctx{EVP_PKEY_CTX_new_from_pkey(nullptr, key_.get(), nullptr)};
    size_t len = 0;
    if (!ctx || EVP_PKEY_sign_init(ctx.get()) != 1 ||
        EVP_PKEY_CTX_set_signature_md(ctx.get(), EVP_sha256()) != 1 ||
        EVP_PKEY_sign(ctx.get(), nullptr, &len, sha256.data(), sha256.size()) != 1) {
      return common::Error::Internal("ECDSA signing: " + common::OpenSslError());
    }
    std::string sig(len, '\0');
    if (EVP_PKEY_sign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len, sha256.data(),
                      sha256.size()) != 1) {
      return common::Error::Internal("ECDSA signing: " + common::OpenSslError());
    }
    sig.resize(len);
    return sig;
  }
  std::string where() const override { return path_; }

 private:
  std::string path_;
  common::EvpPkeyPtr key_;
  std::string spki_;
};

class TokenTsaKey final : public TsaKey {
 public:
  explicit TokenTsaKey(std::unique_ptr<Pkcs11EcdsaP256Key> key) : key_(std::move(key)) {}
  const std::string& public_key_der() const override { return key_->public_spki_der(); }
  common::Result<std::string> SignDigest(std::span<const uint8_t> sha256) const override {
    return key_->SignDigest(sha256);
  }
  std::string where() const override { return key_->uri(); }

 private:
  std::unique_ptr<Pkcs11EcdsaP256Key> key_;
};

bool IsP256(EVP_PKEY* key) {
  char group[32] = {0};
  size_t len = 0;
  return EVP_PKEY_is_a(key, "EC") == 1 &&
         EVP_PKEY_get_utf8_string_param(key, "group", group, sizeof group, &len) == 1 &&
         std::string_view(group, len) == "prime256v1";
}

}  // namespace

common::Result<std::unique_ptr<TsaKey>> OpenFileTsaKey(const std::string& path) {
  if (!std::filesystem::exists(path)) {
    common::EvpPkeyPtr made{EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256")};
    common::BioPtr bio{BIO_new(BIO_s_mem())};
    if (!made || !bio ||
        PEM_write_bio_PrivateKey(bio.get(), made.get(), nullptr, nullptr, 0, nullptr, nullptr) !=
            1) {
      return common::Error::Internal("P-256 key generation: " + common::OpenSslError());
    }
    RETURN_IF_ERROR(CreateSecretFile(path, common::BioContents(bio.get())));
    spdlog::info("event=signer_tsa_key_generated where=\"{}\"", path);
  }
  struct stat sb {};
  if (::stat(path.c_str(), &sb) != 0 || (sb.st_mode & 077) != 0) {
    return common::Error::PermissionDenied(path + " is missing or readable by others");
  }
  ASSIGN_OR_RETURN(std::string pem, ReadFile(path));
  common::BioPtr bio{BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()))};
  common::EvpPkeyPtr key{bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr)
                             : nullptr};
  if (!key || !IsP256(key.get())) {
    return common::Error::InvalidInput(path + " is not an ECDSA P-256 private key");
  }
  return std::unique_ptr<TsaKey>(new FileTsaKey(path, std::move(key)));
}

std::unique_ptr<TsaKey> WrapTokenTsaKey(std::unique_ptr<Pkcs11EcdsaP256Key> key) {
  return std::make_unique<TokenTsaKey>(std::move(key));
}

common::Result<std::string> LoadOrIssueTsaChain(const std::string& path, const TsaKey& key,
                                                const common::Clock& clock) {
  if (std::filesystem::exists(path)) {
    ASSIGN_OR_RETURN(std::string chain, ReadFile(path));
    common::BioPtr bio{BIO_new_mem_buf(chain.data(), static_cast<int>(chain.size()))};
    common::X509Ptr first{bio ? PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr) : nullptr};
    if (first && SpkiDer(X509_get0_pubkey(first.get())) == key.public_key_der()) return chain;
    // Issued once: a new root behind the operator's back would break every verifier that
    // pinned the old one. A changed key is the operator's decision (move the file away).
    return common::Error::InvalidInput(path +
                                       " certifies another key than the TSA key: move it away "
                                       "to have a new chain issued");
  }
  ASSIGN_OR_RETURN(notary::LocalTsaCertificates issued,
                   notary::CertifyTsaKey("Email Notary", key.public_key_der(), clock.NowMicros()));
  const std::string chain = issued.tsa_cert_pem + issued.ca_cert_pem;
  RETURN_IF_ERROR(WriteDurably(path, chain));
  spdlog::info("event=signer_tsa_certified path={}", path);
  return chain;
}

}  // namespace signer
