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

TEST(KeyWrapTest, ARotationMakesANewCurrentPairAndTheEarlierOnesStillUnwrap) {
  const std::string dir = testsupport::MakeTempDir("keks");
  auto holder = FileKeyHolder::Open(dir);
  ASSERT_TRUE(holder.ok()) << holder.error().message();
  // Another process sharing the folder (a node, or notary-signer while notaryctl rotates),
  // which has read the tenant's pair before the rotation.
  auto other = FileKeyHolder::Open(dir);
  Wrapper asks_every_time(**other, std::chrono::milliseconds(0));
  Wrapper keeps_a_minute(**other);
  const std::vector<Key> before = SomeKeys(3);
  auto w1 = asks_every_time.Wrap("acme", before);
  ASSERT_TRUE(w1.ok()) << w1.error().message();
  ASSERT_EQ(w1->kek_id.substr(0, 7), "file/1/");
  ASSERT_EQ(keeps_a_minute.Wrap("acme", before)->kek_id, w1->kek_id);

  auto rotated = (*holder)->Rotate("acme");
  ASSERT_TRUE(rotated.ok()) << rotated.error().message();
  EXPECT_EQ(rotated->kek_id.substr(0, 7), "file/2/");
  EXPECT_EQ(rotated->kek_id.substr(7),
            common::ToHex(common::Sha256Of(rotated->public_key)).substr(0, 16));
  struct stat st {};
  ASSERT_EQ(::stat((dir + "/acme.kek.2").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(st.st_size, 32);

  // The other process follows at its next call; a wrapper that keeps keys a minute does not
  // ask yet, one that asks every time wraps for the new pair.
  EXPECT_EQ((*other)->PublicKeyFor("acme")->kek_id, rotated->kek_id);
  EXPECT_EQ(keeps_a_minute.Wrap("acme", before)->kek_id, w1->kek_id);
  const std::vector<Key> after = SomeKeys(2);
  auto w2 = asks_every_time.Wrap("acme", after);
  ASSERT_TRUE(w2.ok());
  EXPECT_EQ(w2->kek_id, rotated->kek_id);
  // After a refused group (RefreshSoon), the one that keeps keys asks at its next Wrap.
  keeps_a_minute.RefreshSoon("acme");
  EXPECT_EQ(keeps_a_minute.Wrap("acme", before)->kek_id, rotated->kek_id);

  // Both epochs unwrap, each only under its own name, in both processes.
  for (auto* h : {holder->get(), other->get()}) {
    EXPECT_EQ(*h->Unwrap("acme", w1->kek_id, w1->wrapped), before);
    EXPECT_EQ(*h->Unwrap("acme", w2->kek_id, w2->wrapped), after);
    EXPECT_FALSE(h->Unwrap("acme", w2->kek_id, w1->wrapped).ok());
    EXPECT_FALSE(h->Unwrap("acme", w1->kek_id, w2->wrapped).ok());
  }
  // Names of no pair here: another epoch, a zero-padded one, garbage.
  const std::string tail = w1->kek_id.substr(6);
  for (const std::string& id :
       {"file/3" + tail, "file/01" + tail, "file/0" + tail, std::string("file//x"),
        std::string("file/99999999/x"), std::string("file/1"), std::string("other/1" + tail)}) {
    EXPECT_EQ((*holder)->Unwrap("acme", id, w1->wrapped).error().code(),
              common::ErrorCode::kNotFound)
        << id;
  }

  // Two more rotations, one from each process: each makes a pair of its own.
  auto r3 = (*other)->Rotate("acme");
  auto r4 = (*holder)->Rotate("acme");
  ASSERT_TRUE(r3.ok() && r4.ok());
  EXPECT_EQ(r3->kek_id.substr(0, 7), "file/3/");
  EXPECT_EQ(r4->kek_id.substr(0, 7), "file/4/");
  EXPECT_EQ((*other)->PublicKeyFor("acme")->kek_id, r4->kek_id);

  // A process started later finds the newest epoch even when the first file is gone (a pair
  // destroyed once nothing is wrapped for it), and rotating a tenant with no pair makes its
  // first.
  // Destroying: never the current pair; an earlier one is gone from the folder and from
  // another process that had it in memory.
  EXPECT_EQ((*holder)->Destroy("acme", r4->kek_id).error().code(), common::ErrorCode::kConflict);
  EXPECT_EQ((*holder)->Destroy("acme", "file/9/0000").error().code(), common::ErrorCode::kNotFound);
  ASSERT_TRUE((*other)->Unwrap("acme", w1->kek_id, w1->wrapped).ok());
  ASSERT_TRUE((*holder)->Destroy("acme", w1->kek_id).ok());
  EXPECT_NE(::stat((dir + "/acme.kek.1").c_str(), &st), 0);
  EXPECT_EQ((*other)->Unwrap("acme", w1->kek_id, w1->wrapped).error().code(),
            common::ErrorCode::kNotFound);
  EXPECT_EQ((*holder)->Destroy("acme", w1->kek_id).error().code(), common::ErrorCode::kNotFound);
  EXPECT_EQ(*(*other)->Unwrap("acme", w2->kek_id, w2->wrapped), after);
  auto later = FileKeyHolder::Open(dir);
  EXPECT_EQ((*later)->PublicKeyFor("acme")->kek_id, r4->kek_id);
  EXPECT_EQ((*later)->Unwrap("acme", w1->kek_id, w1->wrapped).error().code(),
            common::ErrorCode::kNotFound);
  EXPECT_EQ((*later)->Rotate("fresh")->kek_id.substr(0, 7), "file/1/");
  EXPECT_EQ((*later)->Rotate("../x").error().code(), common::ErrorCode::kInvalidInput);
}

}  // namespace
}  // namespace vault
