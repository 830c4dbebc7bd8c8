// notary-signer's service over its real socket, through the client notaryd uses: what it
// signs verifies, what would go back is refused (and stays refused after a restart), a
// rotation makes the new key the only one for new blocks while a retry of the last block is
// still answered, and the key files are checked before they are used.
#include "signer/service.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>

#include "common/sha256.h"
#include "signer/client.h"
#include "signer/key_list.h"
#include "signer/server.h"
#include "support/manual_clock.h"
#include "support/test_support.h"
#include "tsa/client.h"
#include "tsa_authority/responder.h"
#include "vault/key_wrapper.h"

namespace {

constexpr int64_t kNow = 1'764'000'000'000'000;
constexpr char kOrigin[] = "notary.example/log";

// A signer serving its socket on a thread, as notary-signer runs it.
class RunningSigner {
 public:
  RunningSigner(const std::string& state_dir, const std::string& socket_path,
                const common::Clock& clock, bool tsa = false) {
    auto ring =
        signer::KeyRing::Open(state_dir, "notary-log", signer::MakeFileKeySource(state_dir), clock);
    EXPECT_TRUE(ring.ok()) << ring.error().ToString();
    signer::PolicyOptions po;
    po.state_path = state_dir + "/policy";
    po.key_id = notary::KeyId(ring->current().public_key());
    po.origins = {kOrigin};
    po.clock = &clock;
    auto policy = signer::Policy::Open(po);
    EXPECT_TRUE(policy.ok()) << policy.error().ToString();
    std::optional<signer::TsaSigning> tsa_signing;
    if (tsa) {
      auto key = signer::OpenFileTsaKey(state_dir + "/tsa.key.pem");
      EXPECT_TRUE(key.ok()) << key.error().ToString();
      auto chain = signer::LoadOrIssueTsaChain(state_dir + "/tsa-chain.pem", **key, clock);
      EXPECT_TRUE(chain.ok()) << chain.error().ToString();
      signer::TsaSigning t;
      t.cert_pem = chain->substr(0, chain->find("-----END CERTIFICATE-----\n") + 26);
      t.chain_pem = *chain;
      t.key = std::move(*key);
      t.clock = &clock;
      tsa_signing = std::move(t);
    }
    std::filesystem::create_directories(state_dir + "/keks.d");
    auto keks = vault::FileKeyHolder::Open(state_dir + "/keks.d");
    EXPECT_TRUE(keks.ok());
    service_ = std::make_unique<signer::Service>(std::move(*ring), std::move(*policy),
                                                 std::move(tsa_signing), std::move(*keks));
    auto fd = signer::Listen(socket_path, 0660);
    EXPECT_TRUE(fd.ok()) << fd.error().ToString();
    listen_fd_ = *fd;
    auto admin = signer::Listen(socket_path + ".admin", 0600);
    EXPECT_TRUE(admin.ok()) << admin.error().ToString();
    admin_fd_ = *admin;
    EXPECT_EQ(::pipe(stop_), 0);
    thread_ = std::thread([this] {
      (void)signer::Serve(options_, {{listen_fd_, false}, {admin_fd_, true}}, *service_, stop_[0]);
    });
  }
  ~RunningSigner() {
    const char c = 1;
    EXPECT_EQ(::write(stop_[1], &c, 1), 1);
    thread_.join();
    ::close(listen_fd_);
    ::close(admin_fd_);
    ::close(stop_[0]);
    ::close(stop_[1]);
  }

 private:
  signer::ServerOptions options_;
  std::unique_ptr<signer::Service> service_;
  int listen_fd_ = -1, admin_fd_ = -1;
  int stop_[2] = {-1, -1};
  std::thread thread_;
};

class SignerServiceTest : public ::testing::Test {
 protected:
  std::string dir_ = testsupport::MakeTempDir("signer-service");
  std::string state_ = dir_ + "/state";
  std::string socket_ = dir_ + "/sock";
  testsupport::ManualClock clock_{kNow};

  void SetUp() override { std::filesystem::create_directories(state_); }

  std::unique_ptr<RunningSigner> Start() {
    return std::make_unique<RunningSigner>(state_, socket_, clock_);
  }
  signer::Client NewClient() { return signer::Client({socket_, 5000}); }

  // The block after `prev` (or block 0), named for `key`.
  static notary::BlockHeader Next(const std::optional<notary::BlockHeader>& prev,
                                  const common::Hash& prev_hash,
                                  const notary::Ed25519PublicKey& key, uint64_t leaves = 5) {
    notary::BlockHeader h;
    h.height = prev ? prev->height + 1 : 0;
    h.prev_block_hash = prev ? prev_hash : common::Hash{};
    h.first_leaf_index = prev ? prev->tree_size : 0;
    h.leaf_count = leaves;
    h.tree_size = h.first_leaf_index + leaves;
    h.batch_root = common::Sha256Of("batch " + std::to_string(h.height));
    h.tree_root = common::Sha256Of("tree " + std::to_string(h.height));
    h.sealed_at_us = kNow + static_cast<int64_t>(h.height);
    h.key_id = notary::KeyId(key);
    return h;
  }
};

TEST_F(SignerServiceTest, SignsAChainThatVerifiesAndRefusesGoingBack) {
  auto running = Start();
  signer::Client client = NewClient();
  auto key = client.CurrentKey();
  ASSERT_TRUE(key.ok()) << key.error().ToString();

  std::optional<notary::BlockHeader> prev;
  common::Hash prev_hash{};
  for (int i = 0; i < 3; ++i) {
    const notary::BlockHeader h = Next(prev, prev_hash, *key);
    auto sig = client.SignBlock(h);
    ASSERT_TRUE(sig.ok()) << sig.error().ToString();
    ASSERT_TRUE(notary::VerifyBlock(h, *sig, *key).ok());
    auto hash = notary::BlockHash(h, *sig);
    ASSERT_TRUE(hash.ok());
    auto note = client.SignCheckpoint({kOrigin, h.tree_size, h.tree_root, {}}, kOrigin);
    ASSERT_TRUE(note.ok()) << note.error().ToString();
    auto vkey = notary::MakeNoteVerifierKey(kOrigin, *key);
    ASSERT_TRUE(vkey.ok());
    auto cp = notary::OpenCheckpoint(*note, *vkey);
    ASSERT_TRUE(cp.ok()) << cp.error().ToString();
    EXPECT_EQ(cp->size, h.tree_size);
    prev = h;
    prev_hash = *hash;
  }

  // The same header again (an answer lost) is signed again, identically.
  auto again = client.SignBlock(*prev);
  ASSERT_TRUE(again.ok()) << again.error().ToString();

  // A height that goes back, one that skips, a fork at the next height, a checkpoint that
  // shrinks: each refused as a conflict.
  notary::BlockHeader back = *prev;
  back.height = 1;
  back.sealed_at_us += 1;
  EXPECT_EQ(client.SignBlock(back).error().code(), common::ErrorCode::kConflict);
  notary::BlockHeader skip = Next(prev, prev_hash, *key);
  skip.height += 1;
  EXPECT_EQ(client.SignBlock(skip).error().code(), common::ErrorCode::kConflict);
  notary::BlockHeader fork = Next(prev, common::Sha256Of("another parent"), *key);
  EXPECT_EQ(client.SignBlock(fork).error().code(), common::ErrorCode::kConflict);
  EXPECT_EQ(client.SignCheckpoint({kOrigin, prev->tree_size - 1, prev->tree_root, {}}, kOrigin)
                .error()
                .code(),
            common::ErrorCode::kConflict);
  // Another origin, and a block dated an hour off the signer's clock: not this signer's.
  EXPECT_EQ(
      client.SignCheckpoint({"other.example/log", 100, prev->tree_root, {}}, "other.example/log")
          .error()
          .code(),
      common::ErrorCode::kPermissionDenied);
  notary::BlockHeader late = Next(prev, prev_hash, *key);
  late.sealed_at_us = kNow + 3'600'000'000;
  EXPECT_EQ(client.SignBlock(late).error().code(), common::ErrorCode::kPermissionDenied);

  // After a restart of the signer the state still refuses going back; the client reconnects
  // by itself.
  running.reset();
  running = Start();
  EXPECT_EQ(client.SignBlock(back).error().code(), common::ErrorCode::kConflict);
  auto next = client.SignBlock(Next(prev, prev_hash, *key));
  EXPECT_TRUE(next.ok()) << next.error().ToString();
}

TEST_F(SignerServiceTest, AMalformedHeaderIsRefusedAsInvalidAndTheConnectionServesOn) {
  auto running = Start();
  signer::Client client = NewClient();
  auto key = client.CurrentKey();
  ASSERT_TRUE(key.ok());
  notary::BlockHeader bad = Next(std::nullopt, {}, *key);
  bad.tree_size = bad.first_leaf_index + bad.leaf_count + 1;  // breaks BlockHeader::Validate
  EXPECT_EQ(client.SignBlock(bad).error().code(), common::ErrorCode::kInvalidInput);
  EXPECT_TRUE(client.SignBlock(Next(std::nullopt, {}, *key)).ok());
}

TEST_F(SignerServiceTest, GarbageOnTheSocketClosesThatConnectionOnly) {
  auto running = Start();
  const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, socket_.c_str(), sizeof addr.sun_path - 1);
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  // A length of 16 MiB: over the frame limit, refused at the first bytes.
  const char garbage[] = {0x01, 0x00, 0x00, 0x00, 0x02};
  ASSERT_EQ(::write(fd, garbage, sizeof garbage), static_cast<ssize_t>(sizeof garbage));
  char buf[16];
  EXPECT_EQ(::read(fd, buf, sizeof buf), 0);  // closed without an answer
  ::close(fd);
  signer::Client client = NewClient();
  EXPECT_TRUE(client.CurrentKey().ok());
}

TEST_F(SignerServiceTest, RotationMakesOnlyTheNewKeySignNewBlocks) {
  auto running = Start();
  signer::Client client = NewClient();
  auto old_key = client.CurrentKey();
  ASSERT_TRUE(old_key.ok());
  const notary::BlockHeader b0 = Next(std::nullopt, {}, *old_key);
  auto s0 = client.SignBlock(b0);
  ASSERT_TRUE(s0.ok());
  auto h0 = notary::BlockHash(b0, *s0);
  ASSERT_TRUE(h0.ok());

  clock_.Advance(1000);
  // notaryd's socket cannot rotate; the operator's can.
  auto refused = client.RotateKey();
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code(), common::ErrorCode::kPermissionDenied);
  signer::Client admin({socket_ + ".admin", 5000});
  auto rotated = admin.RotateKey();
  ASSERT_TRUE(rotated.ok()) << rotated.error().ToString();
  ASSERT_EQ(rotated->keys.size(), 2u);
  EXPECT_FALSE(rotated->keys[0].current);
  EXPECT_EQ(rotated->keys[0].retired_us, kNow + 1000);
  const signer::KeyInfo* current = rotated->Current("log");
  ASSERT_NE(current, nullptr);
  EXPECT_NE(current->public_key, *old_key);
  EXPECT_EQ(*client.CurrentKey(), current->public_key);

  // The last block, asked again under the old key, is still answered (a lost answer); a new
  // block under the old key is not.
  EXPECT_TRUE(client.SignBlock(b0).ok());
  EXPECT_EQ(client.SignBlock(Next(b0, *h0, *old_key)).error().code(),
            common::ErrorCode::kPermissionDenied);
  const notary::BlockHeader b1 = Next(b0, *h0, current->public_key);
  auto s1 = client.SignBlock(b1);
  ASSERT_TRUE(s1.ok()) << s1.error().ToString();
  EXPECT_TRUE(notary::VerifyBlock(b1, *s1, current->public_key).ok());

  // Both keys survive a restart, in order.
  running.reset();
  running = Start();
  auto listed = client.ListKeys();
  ASSERT_TRUE(listed.ok());
  EXPECT_EQ(listed->keys, rotated->keys);
}

TEST_F(SignerServiceTest, AKeyFileSwappedOrOpenToOthersIsRefused) {
  { auto running = Start(); }
  const std::string file = state_ + "/notary-log.pem";
  ASSERT_TRUE(std::filesystem::exists(file));
  ASSERT_EQ(::chmod(file.c_str(), 0644), 0);
  auto open =
      signer::KeyRing::Open(state_, "notary-log", signer::MakeFileKeySource(state_), clock_);
  ASSERT_FALSE(open.ok());
  EXPECT_EQ(open.error().code(), common::ErrorCode::kPermissionDenied);

  // Another key under the same name: the ring recorded which key it was.
  std::filesystem::remove(file);
  auto other = notary::Ed25519Signer::Generate();
  ASSERT_TRUE(other.ok());
  {
    std::ofstream out(file);
    out << *other->PrivatePem();
  }
  ASSERT_EQ(::chmod(file.c_str(), 0600), 0);
  open = signer::KeyRing::Open(state_, "notary-log", signer::MakeFileKeySource(state_), clock_);
  ASSERT_FALSE(open.ok());
  EXPECT_NE(open.error().message().find("is not the key"), std::string::npos);
}

// A second signer cannot take over a socket the first still serves (two signers would each
// keep their own last block, and could each sign a different one at one height).
TEST_F(SignerServiceTest, ASocketStillServedIsNotTakenOver) {
  auto running = Start();
  auto second = signer::Listen(socket_, 0660);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().code(), common::ErrorCode::kConflict);
  signer::Client client = NewClient();
  EXPECT_TRUE(client.CurrentKey().ok()) << "the first still serves";
}

TEST_F(SignerServiceTest, AClientOfNoSignerIsUnavailable) {
  signer::Client client = NewClient();
  auto key = client.CurrentKey();
  ASSERT_FALSE(key.ok());
  EXPECT_EQ(key.error().code(), common::ErrorCode::kUnavailable);
}

// The built-in TSA through the signer: tokens verify against the chain the signer published,
// and the TSA key signs nothing that is not a token's attributes over a fresh TSTInfo.
TEST_F(SignerServiceTest, TheTsaKeySignsTokensAndNothingElse) {
  // The TSA's check compares genTime with the signer's clock: give it the real one.
  RunningSigner running(state_, socket_, common::Clock::System(), /*tsa=*/true);
  signer::Client client = NewClient();
  auto listed = client.ListKeys();
  ASSERT_TRUE(listed.ok()) << listed.error().ToString();
  ASSERT_TRUE(listed->tsa_chain_pem.has_value());
  const std::string& chain = *listed->tsa_chain_pem;
  const size_t cut = chain.find("-----END CERTIFICATE-----\n") + 26;
  const std::string cert = chain.substr(0, cut), root = chain.substr(cut);

  auto responder = notary::TsaResponder::CreateWithSigner(
      cert, root, [&client](std::string_view attrs, std::string_view tst) {
        return client.SignTimestamp(attrs, tst);
      });
  ASSERT_TRUE(responder.ok()) << responder.error().ToString();
  const common::Hash digest = common::Sha256Of("a block hash");
  auto query =
      notary::CreateQuery(notary::TsaHashAlg::kSha256, digest, notary::RandomTsaNonce(), true);
  ASSERT_TRUE(query.ok());
  auto reply = responder->Respond(*query);
  ASSERT_TRUE(reply.ok()) << reply.error().ToString();
  auto token = notary::VerifyReply(*reply, *query, root, cert);
  ASSERT_TRUE(token.ok()) << token.error().ToString();

  // A bare digest, or attributes without their TSTInfo: refused, never signed.
  EXPECT_EQ(client.SignTimestamp(std::string(32, 'x'), "").error().code(),
            common::ErrorCode::kInvalidInput);
  EXPECT_FALSE(client.SignTimestamp("", std::string(64, 'y')).ok());
}

TEST(SignerKeyListTest, RoundTripsAndRefusesWhatItWouldNotWrite) {
  signer::KeyList list;
  signer::KeyInfo a;
  a.public_key.fill(1);
  a.created_us = 5;
  a.retired_us = 9;
  a.where = "/var/lib/notary-signer/keys.d/notary-log.pem";
  signer::KeyInfo b;
  b.public_key.fill(2);
  b.current = true;
  b.created_us = 9;
  b.where = "pkcs11:token=notary;object=notary-log.2;type=private";
  list.keys = {a, b};
  list.last_block_header = std::string("\x00\x01header", 8);
  auto parsed = signer::ParseKeyList(signer::EncodeKeyList(list));
  ASSERT_TRUE(parsed.ok()) << parsed.error().ToString();
  EXPECT_EQ(*parsed, list);

  for (const char* bad : {"key log ed25519 00 current 1 - x\n", "nonsense\n",
                          "key log ed25519 " /* no newline */, "last-block zz\n"}) {
    EXPECT_FALSE(signer::ParseKeyList(bad).ok()) << bad;
  }
  signer::KeyList two = list;
  two.keys[0].current = true;
  EXPECT_FALSE(signer::ParseKeyList(signer::EncodeKeyList(two)).ok());
}

}  // namespace

namespace {

// Encryption at rest: notaryd wraps data keys with the public key the signer gives, and only
// the signer, whose private key never crosses the socket, unwraps them; a key wrapped for one
// tenant is refused as another's, and the key pair outlives a restart.
TEST_F(SignerServiceTest, UnwrapsDataKeysPerTenantWithKeysThatStayInTheSigner) {
  std::vector<vault::Key> keys = {*vault::NewKey(), *vault::NewKey(), *vault::NewKey()};
  vault::Wrapper::Wrapped w;
  {
    auto signer = Start();
    signer::Client client = NewClient();
    vault::Wrapper wrapper(client);
    auto wrapped = wrapper.Wrap("acme", keys);
    ASSERT_TRUE(wrapped.ok()) << wrapped.error().ToString();
    w = *wrapped;
    ASSERT_EQ(w.wrapped.size(), 3u);
    EXPECT_EQ(w.wrapped[0].size(), vault::kWrappedKeyBytes);
    auto back = client.Unwrap("acme", w.kek_id, w.wrapped);
    ASSERT_TRUE(back.ok()) << back.error().ToString();
    EXPECT_EQ(*back, keys);
    ASSERT_TRUE(client.PublicKeyFor("other").ok());
    EXPECT_FALSE(client.Unwrap("other", w.kek_id, w.wrapped).ok());
    EXPECT_EQ(client.PublicKeyFor("../etc").error().code(), common::ErrorCode::kInvalidInput);
    // The connection serves on after refusals.
    EXPECT_TRUE(client.Unwrap("acme", w.kek_id, w.wrapped).ok());
  }
  struct stat st {};
  ASSERT_EQ(::stat((state_ + "/keks.d/acme.kek.1").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto signer = Start();
  signer::Client client = NewClient();
  auto back = client.Unwrap("acme", w.kek_id, w.wrapped);
  ASSERT_TRUE(back.ok()) << back.error().ToString();
  EXPECT_EQ(*back, keys);

  // A rotation: refused on notaryd's socket, made on the operator's. The new pair wraps from
  // then on; what was wrapped for the first still unwraps.
  auto refused = client.Rotate("acme");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code(), common::ErrorCode::kPermissionDenied);
  EXPECT_EQ(client.PublicKeyFor("acme")->kek_id, w.kek_id);
  signer::Client admin({socket_ + ".admin", 5000});
  auto rotated = admin.Rotate("acme");
  ASSERT_TRUE(rotated.ok()) << rotated.error().ToString();
  EXPECT_EQ(rotated->kek_id.substr(0, 7), "file/2/");
  EXPECT_EQ(admin.Rotate("../etc").error().code(), common::ErrorCode::kInvalidInput);
  ASSERT_EQ(::stat((state_ + "/keks.d/acme.kek.2").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  vault::Wrapper wrapper(client, std::chrono::milliseconds(0));
  std::vector<vault::Key> later = {*vault::NewKey()};
  auto w2 = wrapper.Wrap("acme", later);
  ASSERT_TRUE(w2.ok()) << w2.error().ToString();
  EXPECT_EQ(w2->kek_id, rotated->kek_id);
  EXPECT_EQ(*client.Unwrap("acme", w2->kek_id, w2->wrapped), later);
  EXPECT_EQ(*client.Unwrap("acme", w.kek_id, w.wrapped), keys);
}

}  // namespace
