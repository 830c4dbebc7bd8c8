#include "common/signing_key_file.h"

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <sys/stat.h>

#include <fstream>
#include <sstream>

namespace common {

Result<EvpPkeyPtr> ReadSigningKeyFile(const std::string& key_path, X509* cert,
                                      const std::string& cert_name) {
  struct stat st {};
  if (::stat(key_path.c_str(), &st) != 0) return Error::NotFound("cannot read " + key_path);
  if ((st.st_mode & 077) != 0) {
    return Error::InvalidInput(key_path + " is readable by group or others: chmod 600 it");
  }
  std::ifstream in(key_path, std::ios::binary);
  if (!in) return Error::NotFound("cannot read " + key_path);
  std::ostringstream ss;
  ss << in.rdbuf();
  std::string pem = ss.str();
  BioPtr bio{BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()))};
  EvpPkeyPtr key{PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr)};
  OPENSSL_cleanse(pem.data(), pem.size());
  if (!key) {
    ERR_clear_error();
    return Error::InvalidInput(key_path + ": not a PEM private key");
  }
  const int id = EVP_PKEY_get_base_id(key.get());
  const int bits = EVP_PKEY_get_bits(key.get());
  if (!((id == EVP_PKEY_EC && bits >= 256) || (id == EVP_PKEY_RSA && bits >= 2048))) {
    return Error::InvalidInput(key_path +
                               ": neither EC of 256 bits or more nor RSA of 2048 bits or more");
  }
  if (X509_check_private_key(cert, key.get()) != 1) {
    ERR_clear_error();
    return Error::InvalidInput(key_path + " is not the key of " + cert_name +
                               "'s first certificate");
  }
  return key;
}

}  // namespace common
