// Data keys wrapped for a tenant (vault/key_wrapper.h): with the public key alone, unwrapped
// only with the tenant's private key, for that tenant and key pair, unaltered; the key pairs
// of FileKeyHolder as files of mode 0600 made on first use.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include "common/bytes.h"
#include "common/sha256.h"
#include "support/test_support.h"
#include "vault/key_wrapper.h"

namespace vault {
namespace {

std::vector<Key> SomeKeys(size_t n) {
  std::vector<Key> out;
  for (size_t i = 0; i < n; ++i) out.push_back(*NewKey());
  return out;
}

TEST(KeyWrapTest, WrapsWithThePublicKeyAndUnwrapsOnlyWithThePrivateOne) {
  const PrivateKey priv = *NewPrivateKey();
  const TenantKey kek{"test/1", *PublicKeyOf(priv)};
  const std::vector<Key> keys = SomeKeys(3);
  auto w = WrapKeys("acme", kek, keys);
  ASSERT_TRUE(w.ok()) << w.error().message();
  ASSERT_EQ(w->size(), 3u);
  for (const auto& one : *w) EXPECT_EQ(one.size(), kWrappedKeyBytes);
  // Wrapped together: one ephemeral key.
  EXPECT_EQ((*w)[0].substr(0, 32), (*w)[2].substr(0, 32));
  EXPECT_EQ(*UnwrapKeys("acme", "test/1", priv, *w), keys);

  EXPECT_EQ(UnwrapKeys("other", "test/1", priv, *w).error().code(),
            common::ErrorCode::kVerifyFailed);
  EXPECT_EQ(UnwrapKeys("acme", "test/2", priv, *w).error().code(),
            common::ErrorCode::kVerifyFailed);
  EXPECT_FALSE(UnwrapKeys("acme", "test/1", *NewPrivateKey(), *w).ok());
  for (size_t i : {size_t{0}, size_t{40}, kWrappedKeyBytes - 1}) {
    std::vector<std::string> bad = *w;
    bad[1][i] = static_cast<char>(bad[1][i] ^ 1);
    EXPECT_FALSE(UnwrapKeys("acme", "test/1", priv, bad).ok()) << "byte " << i;
  }
  // A low-order ephemeral point (all zeros) is refused, not turned into a zero secret.
  std::vector<std::string> zero = {std::string(32, '\0') + (*w)[0].substr(32)};
  EXPECT_EQ(UnwrapKeys("acme", "test/1", priv, zero).error().code(),
            common::ErrorCode::kVerifyFailed);
  std::vector<std::string> short_one = {(*w)[0].substr(0, 91)};
  EXPECT_FALSE(UnwrapKeys("acme", "test/1", priv, short_one).ok());
  EXPECT_FALSE(WrapKeys("../x", kek, keys).ok());
}

TEST(KeyWrapTest, FileKeyHolderKeepsOneKeyPairPerTenantInAFileOfMode0600) {
  const std::string dir = testsupport::MakeTempDir("keks");
  auto holder = FileKeyHolder::Open(dir);
  ASSERT_TRUE(holder.ok()) << holder.error().message();
  Wrapper wrapper(**holder);
  const std::vector<Key> keys = SomeKeys(600);  // more than one holder call to unwrap
  auto w = wrapper.Wrap("acme", keys);
  ASSERT_TRUE(w.ok()) << w.error().message();
  const std::string pub_hex =
      common::ToHex(common::Sha256Of((*holder)->PublicKeyFor("acme")->public_key));
  EXPECT_EQ(w->kek_id, "file/1/" + pub_hex.substr(0, 16));
  struct stat st {};
  ASSERT_EQ(::stat((dir + "/acme.kek.1").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(st.st_size, 32);
  EXPECT_EQ(*wrapper.Unwrap("acme", w->kek_id, w->wrapped), keys);

  // Another process with the same folder has the same key pair.
  auto again = FileKeyHolder::Open(dir);
  EXPECT_EQ((*again)->PublicKeyFor("acme")->public_key,
            (*holder)->PublicKeyFor("acme")->public_key);
  std::vector<std::string> first(w->wrapped.begin(), w->wrapped.begin() + 10);
  EXPECT_EQ(*(*again)->Unwrap("acme", w->kek_id, first),
            std::vector<Key>(keys.begin(), keys.begin() + 10));
  EXPECT_EQ((*again)->Unwrap("nobody", w->kek_id, first).error().code(),
            common::ErrorCode::kNotFound);
  // Another node's key pair for the same tenant (another folder) says it has none.
  auto elsewhere = FileKeyHolder::Open(testsupport::MakeTempDir("keks"));
  ASSERT_TRUE((*elsewhere)->PublicKeyFor("acme").ok());
  EXPECT_EQ((*elsewhere)->Unwrap("acme", w->kek_id, first).error().code(),
            common::ErrorCode::kNotFound);
  EXPECT_FALSE((*again)->Unwrap("acme", w->kek_id, {}).ok());
  for (const char* bad : {"", "../etc", "A", ".hidden", "a/b"}) {
    EXPECT_EQ((*holder)->PublicKeyFor(bad).error().code(), common::ErrorCode::kInvalidInput) << bad;
  }
  EXPECT_FALSE(FileKeyHolder::Open("/nonexistent/folder").ok());
}

}  // namespace
}  // namespace vault
