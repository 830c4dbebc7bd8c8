// The PKCS#11 key source against a real SoftHSM2 token: each test makes its own token in a
// private token directory (SOFTHSM2_CONF), so nothing outside the build tree is touched.
#include "signer/pkcs11_key.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdlib.h>

#include <atomic>
#include <filesystem>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "common/bytes.h"
#include "common/ossl.h"
#include "common/sha256.h"
#include "log/ed25519.h"
#include "pkcs11_module.h"
#include "support/test_support.h"

#if defined(__SANITIZE_ADDRESS__)
// SoftHSM2's own leak is suppressed by name (tests/lsan.supp): LeakSanitizer needs the slow
// unwinder to see the module's frames.
extern "C" const char* __lsan_default_options() { return "fast_unwind_on_malloc=0"; }
#endif

namespace {

using signer::Pkcs11EcdsaP256Key;
using signer::Pkcs11Ed25519Key;
using signer::Pkcs11Options;

constexpr char kModule[] = "/usr/lib/softhsm/libsofthsm2.so";
constexpr char kToken[] = "notary test";
constexpr char kPin[] = "5678";

bool OpenSslVerifies(EVP_PKEY* key, const EVP_MD* md, std::string_view sig,
                     std::string_view message) {
  common::EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  const bool ok =
      ctx && EVP_DigestVerifyInit(ctx.get(), nullptr, md, nullptr, key) == 1 &&
      EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(sig.data()), sig.size(),
                       reinterpret_cast<const unsigned char*>(message.data()), message.size()) == 1;
  common::OpenSslError();  // a bad signature leaves an error on the queue
  return ok;
}

// Ed25519 verification by OpenSSL alone, independent of notary::Ed25519Verify.
bool OpenSslEd25519Verifies(const notary::Ed25519PublicKey& pub,
                            const notary::Ed25519Signature& sig, std::string_view message) {
  common::EvpPkeyPtr key(
      EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, pub.data(), pub.size()));
  return key && OpenSslVerifies(key.get(), nullptr, common::AsChars(sig), message);
}

bool OpenSslEcdsaVerifies(const std::string& spki_der, const std::string& der_sig,
                          std::string_view message) {
  const auto* p = reinterpret_cast<const unsigned char*>(spki_der.data());
  common::EvpPkeyPtr key(d2i_PUBKEY(nullptr, &p, static_cast<long>(spki_der.size())));
  return key && OpenSslVerifies(key.get(), EVP_sha256(), der_sig, message);
}

// The block of `pkcs11-tool --list-objects` output for the object of `kind` ("Private Key
// Object") labelled `label`, or "" when there is none.
std::string ObjectBlock(const std::string& listing, const std::string& kind,
                        const std::string& label) {
  std::istringstream in(listing);
  std::vector<std::string> blocks;
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line[0] != ' ') blocks.emplace_back();
    if (!blocks.empty()) blocks.back() += line + "\n";
  }
  for (const std::string& b : blocks) {
    if (b.rfind(kind, 0) == 0 && b.find("label:      " + label + "\n") != std::string::npos) {
      return b;
    }
  }
  return "";
}

class Pkcs11KeyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!std::filesystem::exists(kModule) || !std::filesystem::exists("/usr/bin/softhsm2-util")) {
      GTEST_SKIP() << "softhsm2 is not installed";
    }
    dir_ = testsupport::MakeTempDir("pkcs11");
    std::filesystem::create_directories(dir_ + "/tokens");
    testsupport::WriteFile(dir_ + "/softhsm2.conf", "directories.tokendir = " + dir_ +
                                                        "/tokens\n"
                                                        "objectstore.backend = file\n"
                                                        "log.level = ERROR\n"
                                                        "slots.removable = false\n");
    // SoftHSM2 reads it at C_Initialize: every key of the previous test is gone by now, so the
    // module was finalised and the next Open initialises it afresh with this test's tokens.
    ::setenv("SOFTHSM2_CONF", (dir_ + "/softhsm2.conf").c_str(), 1);
    auto r = testsupport::RunCommand({"softhsm2-util", "--init-token", "--free", "--label", kToken,
                                      "--so-pin", "1234", "--pin", kPin});
    ASSERT_EQ(r.exit_code, 0) << r.out;
  }

  void TearDown() override {
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }

  static Pkcs11Options Options(const std::string& key_label) {
    Pkcs11Options o;
    o.module_path = kModule;
    o.token_label = kToken;
    o.pin = kPin;
    o.key_label = key_label;
    return o;
  }

  std::string dir_;
};

TEST(Pkcs11RvTest, ErrorsNameTheCodeAndSayWhatCanBeDone) {
  EXPECT_EQ(signer::pkcs11::RvName(CKR_PIN_INCORRECT), "CKR_PIN_INCORRECT (0xa0)");
  EXPECT_EQ(signer::pkcs11::RvName(0x8000abcdUL), "0x8000abcd");  // a vendor's code
  EXPECT_EQ(signer::pkcs11::RvError("C_Login", CKR_PIN_INCORRECT).code(),
            common::ErrorCode::kInvalidInput);
  EXPECT_EQ(signer::pkcs11::RvError("C_Sign", CKR_DEVICE_REMOVED).code(),
            common::ErrorCode::kUnavailable);
  EXPECT_EQ(signer::pkcs11::RvError("C_Sign", CKR_GENERAL_ERROR).message(),
            "C_Sign: CKR_GENERAL_ERROR (0x5)");
}

TEST_F(Pkcs11KeyTest, GeneratesOnFirstOpenAndFindsTheSameKeyAfter) {
  notary::Ed25519PublicKey first{};
  {
    auto key = Pkcs11Ed25519Key::Open(Options("log key"));
    ASSERT_TRUE(key.ok()) << key.error().ToString();
    EXPECT_TRUE((*key)->generated());
    EXPECT_EQ((*key)->uri(), "pkcs11:token=notary%20test;object=log%20key;type=private");
    first = (*key)->public_key();
  }
  auto again = Pkcs11Ed25519Key::Open(Options("log key"));
  ASSERT_TRUE(again.ok()) << again.error().ToString();
  EXPECT_FALSE((*again)->generated());
  EXPECT_EQ((*again)->public_key(), first);
  EXPECT_NE(first, notary::Ed25519PublicKey{});

  // Another label is another key.
  auto other = Pkcs11Ed25519Key::Open(Options("other key"));
  ASSERT_TRUE(other.ok()) << other.error().ToString();
  EXPECT_TRUE((*other)->generated());
  EXPECT_NE((*other)->public_key(), first);
}

TEST_F(Pkcs11KeyTest, Ed25519SignatureVerifiesAsNotaryAndOpenSslSee) {
  auto key = Pkcs11Ed25519Key::Open(Options("log key"));
  ASSERT_TRUE(key.ok()) << key.error().ToString();
  const std::string message = "block header 42";
  auto sig = (*key)->Sign(message);
  ASSERT_TRUE(sig.ok()) << sig.error().ToString();

  const notary::Ed25519PublicKey& pub = (*key)->public_key();
  EXPECT_TRUE(notary::Ed25519Verify(pub, common::AsBytes(message), *sig).ok());
  EXPECT_TRUE(OpenSslEd25519Verifies(pub, *sig, message));
  // Both refuse it for another message, so the checks above can fail.
  EXPECT_FALSE(notary::Ed25519Verify(pub, common::AsBytes("block header 43"), *sig).ok());
  EXPECT_FALSE(OpenSslEd25519Verifies(pub, *sig, "block header 43"));

  // Pure Ed25519 is deterministic: the token signs as any RFC 8032 implementation would.
  auto again = (*key)->Sign(message);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, *sig);
}

TEST_F(Pkcs11KeyTest, Pkcs11ToolSeesASensitiveNeverExtractableSigningKey) {
  ASSERT_TRUE(Pkcs11Ed25519Key::Open(Options("log key")).ok());
  ASSERT_TRUE(Pkcs11EcdsaP256Key::Open(Options("tsa key")).ok());
  auto r = testsupport::RunCommand({"pkcs11-tool", "--module", kModule, "--token-label", kToken,
                                    "--login", "--pin", kPin, "--list-objects"});
  ASSERT_EQ(r.exit_code, 0) << r.out;
  // opensc 0.23 prints, per object, "Usage:" and "Access:" lines, e.g.
  //   Access:     sensitive, always sensitive, never extractable, local
  for (const std::string label : {"log key", "tsa key"}) {
    const std::string priv = ObjectBlock(r.out, "Private Key Object", label);
    ASSERT_FALSE(priv.empty()) << r.out;
    EXPECT_NE(priv.find("Access:     sensitive, always sensitive, never extractable, local\n"),
              std::string::npos)
        << priv;
    EXPECT_NE(priv.find("Usage:      sign\n"), std::string::npos) << priv;
    const std::string pub = ObjectBlock(r.out, "Public Key Object", label);
    ASSERT_FALSE(pub.empty()) << r.out;
    EXPECT_NE(pub.find("Usage:      verify\n"), std::string::npos) << pub;
  }
  EXPECT_NE(ObjectBlock(r.out, "Private Key Object; EC_EDWARDS", "log key"), "");
  EXPECT_NE(ObjectBlock(r.out, "Private Key Object; EC\n", "tsa key"), "");
}

TEST_F(Pkcs11KeyTest, ThePrivateValueCannotBeRead) {
  ASSERT_TRUE(Pkcs11Ed25519Key::Open(Options("log key")).ok());
  auto module = signer::pkcs11::Module::Load(kModule);
  ASSERT_TRUE(module.ok()) << module.error().ToString();
  auto session = signer::pkcs11::Session::Open(*module, kToken, kPin);
  ASSERT_TRUE(session.ok()) << session.error().ToString();
  CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
  std::string label = "log key";
  CK_ATTRIBUTE tmpl[] = {{CKA_CLASS, &cls, sizeof cls}, {CKA_LABEL, label.data(), label.size()}};
  auto found = (*session)->Find(tmpl);
  ASSERT_TRUE(found.ok()) << found.error().ToString();
  ASSERT_EQ(found->size(), 1u);
  auto value = (*session)->Attribute(found->front(), CKA_VALUE);
  ASSERT_FALSE(value.ok());
  EXPECT_NE(value.error().message().find("CKR_ATTRIBUTE_SENSITIVE"), std::string::npos)
      << value.error().ToString();
  // Its public counterpart is readable, so the failure above is about sensitivity.
  EXPECT_TRUE((*session)->Attribute(found->front(), CKA_LABEL).ok());
  // Nor can it be changed or copied into a readable key: it was created unmodifiable and
  // uncopyable.
  auto modifiable = (*session)->BoolAttribute(found->front(), CKA_MODIFIABLE);
  auto copyable = (*session)->BoolAttribute(found->front(), CKA_COPYABLE);
  ASSERT_TRUE(modifiable.ok() && copyable.ok());
  EXPECT_FALSE(*modifiable);
  EXPECT_FALSE(*copyable);
  std::string new_label = "renamed";
  CK_ATTRIBUTE rename{CKA_LABEL, new_label.data(), new_label.size()};
  EXPECT_EQ((*session)->f()->C_SetAttributeValue((*session)->handle(), found->front(), &rename, 1),
            static_cast<CK_RV>(CKR_ACTION_PROHIBITED));
  CK_BBOOL yes = CK_TRUE;
  CK_BBOOL no = CK_FALSE;
  CK_ATTRIBUTE copy_tmpl[] = {{CKA_EXTRACTABLE, &yes, sizeof yes}, {CKA_TOKEN, &no, sizeof no}};
  CK_OBJECT_HANDLE copy = CK_INVALID_HANDLE;
  EXPECT_NE((*session)->f()->C_CopyObject((*session)->handle(), found->front(), copy_tmpl,
                                          std::size(copy_tmpl), &copy),
            static_cast<CK_RV>(CKR_OK));
}

TEST_F(Pkcs11KeyTest, AWrongPinIsRefusedWithoutShowingIt) {
  Pkcs11Options o = Options("log key");
  o.pin = "wrong-pin-4711";
  auto key = Pkcs11Ed25519Key::Open(o);
  ASSERT_FALSE(key.ok());
  EXPECT_EQ(key.error().code(), common::ErrorCode::kInvalidInput);
  EXPECT_NE(key.error().message().find("CKR_PIN_INCORRECT"), std::string::npos)
      << key.error().ToString();
  EXPECT_EQ(key.error().message().find("wrong-pin-4711"), std::string::npos)
      << key.error().ToString();
  EXPECT_EQ(key.error().message().find(kPin), std::string::npos) << key.error().ToString();
}

TEST_F(Pkcs11KeyTest, AnUnknownTokenIsRefused) {
  Pkcs11Options o = Options("log key");
  o.token_label = "no such token";
  auto key = Pkcs11Ed25519Key::Open(o);
  ASSERT_FALSE(key.ok());
  EXPECT_EQ(key.error().code(), common::ErrorCode::kNotFound);
  EXPECT_NE(key.error().message().find("'no such token'"), std::string::npos)
      << key.error().ToString();

  o.module_path = dir_ + "/no-such-module.so";
  auto no_module = Pkcs11Ed25519Key::Open(o);
  ASSERT_FALSE(no_module.ok());
  EXPECT_NE(no_module.error().message().find("no-such-module.so"), std::string::npos)
      << no_module.error().ToString();
}

TEST_F(Pkcs11KeyTest, AMissingKeyIsAnErrorWhenGeneratingIsOff) {
  Pkcs11Options o = Options("log key");
  o.generate_if_missing = false;
  auto key = Pkcs11Ed25519Key::Open(o);
  ASSERT_FALSE(key.ok());
  EXPECT_EQ(key.error().code(), common::ErrorCode::kNotFound);
  EXPECT_NE(key.error().message().find("'log key'"), std::string::npos) << key.error().ToString();
  auto p256 = Pkcs11EcdsaP256Key::Open(o);
  ASSERT_FALSE(p256.ok());
  EXPECT_EQ(p256.error().code(), common::ErrorCode::kNotFound);

  // Nothing was generated by the refused Opens.
  auto generated = Pkcs11Ed25519Key::Open(Options("log key"));
  ASSERT_TRUE(generated.ok()) << generated.error().ToString();
  EXPECT_TRUE((*generated)->generated());
  // And once it exists it is found without generating.
  auto found = Pkcs11Ed25519Key::Open(o);
  ASSERT_TRUE(found.ok()) << found.error().ToString();
  EXPECT_EQ((*found)->public_key(), (*generated)->public_key());
}

TEST_F(Pkcs11KeyTest, EcdsaP256SignatureVerifiesWithOpenSsl) {
  std::string spki;
  {
    auto key = Pkcs11EcdsaP256Key::Open(Options("tsa key"));
    ASSERT_TRUE(key.ok()) << key.error().ToString();
    EXPECT_TRUE((*key)->generated());
    EXPECT_EQ((*key)->uri(), "pkcs11:token=notary%20test;object=tsa%20key;type=private");
    spki = (*key)->public_spki_der();
    EXPECT_EQ(spki.size(), 91u);  // SEQUENCE { id-ecPublicKey prime256v1, 65-byte point }
  }
  auto key = Pkcs11EcdsaP256Key::Open(Options("tsa key"));
  ASSERT_TRUE(key.ok()) << key.error().ToString();
  EXPECT_FALSE((*key)->generated());
  EXPECT_EQ((*key)->public_spki_der(), spki);

  const std::string message = "TSTInfo to be signed";
  const common::Hash digest = common::Sha256Of(message);
  auto sig = (*key)->SignDigest(digest);
  ASSERT_TRUE(sig.ok()) << sig.error().ToString();
  EXPECT_EQ((*sig)[0], 0x30);  // DER SEQUENCE, not the token's raw r||s
  EXPECT_TRUE(OpenSslEcdsaVerifies(spki, *sig, message));
  EXPECT_FALSE(OpenSslEcdsaVerifies(spki, *sig, "another TSTInfo"));

  EXPECT_EQ((*key)->SignDigest(common::AsBytes("not a digest")).error().code(),
            common::ErrorCode::kInvalidInput);
}

TEST_F(Pkcs11KeyTest, SignaturesFromFourThreadsAllVerify) {
  auto opened = Pkcs11Ed25519Key::Open(Options("log key"));
  ASSERT_TRUE(opened.ok()) << opened.error().ToString();
  const Pkcs11Ed25519Key& key = **opened;
  auto p256 = Pkcs11EcdsaP256Key::Open(Options("tsa key"));
  ASSERT_TRUE(p256.ok()) << p256.error().ToString();
  std::atomic<int> good{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) {
        const std::string message = "thread " + std::to_string(t) + " message " + std::to_string(i);
        auto sig = key.Sign(message);
        auto der = (*p256)->SignDigest(common::Sha256Of(message));
        if (sig.ok() &&
            notary::Ed25519Verify(key.public_key(), common::AsBytes(message), *sig).ok() &&
            der.ok() && OpenSslEcdsaVerifies((*p256)->public_spki_der(), *der, message)) {
          ++good;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(good.load(), 4 * 50);
}

TEST_F(Pkcs11KeyTest, SigningOpensANewSessionWhenTheOldOneIsGone) {
  auto key = Pkcs11Ed25519Key::Open(Options("log key"));
  ASSERT_TRUE(key.ok()) << key.error().ToString();
  // Close every session of this process on the token (as a token re-plug would); the login
  // goes with them.
  auto module = signer::pkcs11::Module::Load(kModule);
  ASSERT_TRUE(module.ok()) << module.error().ToString();
  auto slot = (*module)->FindSlot(kToken);
  ASSERT_TRUE(slot.ok()) << slot.error().ToString();
  ASSERT_EQ((*module)->f()->C_CloseAllSessions(*slot), static_cast<CK_RV>(CKR_OK));

  auto sig = (*key)->Sign("after the sessions were closed");
  ASSERT_TRUE(sig.ok()) << sig.error().ToString();
  EXPECT_TRUE(notary::Ed25519Verify((*key)->public_key(),
                                    common::AsBytes("after the sessions were closed"), *sig)
                  .ok());
}

TEST_F(Pkcs11KeyTest, TwoKeyPairsWithTheLabelAreRefused) {
  for (int i = 0; i < 2; ++i) {
    auto r = testsupport::RunCommand({"pkcs11-tool", "--module", kModule, "--token-label", kToken,
                                      "--login", "--pin", kPin, "--keypairgen", "--key-type",
                                      "EC:prime256v1", "--label", "tsa key", "--id",
                                      i == 0 ? "01" : "02"});
    ASSERT_EQ(r.exit_code, 0) << r.out;
  }
  auto key = Pkcs11EcdsaP256Key::Open(Options("tsa key"));
  ASSERT_FALSE(key.ok());
  EXPECT_EQ(key.error().code(), common::ErrorCode::kConflict);
  EXPECT_NE(key.error().message().find("ambiguous"), std::string::npos) << key.error().ToString();
}

}  // namespace
