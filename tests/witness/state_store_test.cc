#include "witness/state_store.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>

#include "support/test_support.h"
#include "test_log.h"

namespace witness {
namespace {

using testsupport::MakeTempDir;
using testsupport::ReadFile;
using testsupport::WriteFile;

OriginState StateOf(const witness_test::TestLog& log, uint64_t n) {
  return {log.origin(), n, log.RootAt(n), log.Checkpoint(n)};
}

TEST(WitnessStateStoreTest, EncodeDecodeRoundTrip) {
  witness_test::TestLog log("example.com/log", 10);
  const OriginState s = StateOf(log, 7);
  const std::string file = EncodeOriginState(s);
  EXPECT_TRUE(file.starts_with("notary-witness state v1\norigin example.com/log\nsize 7\nroot "));
  auto back = DecodeOriginState(file);
  ASSERT_TRUE(back.ok()) << back.error().ToString();
  EXPECT_EQ(*back, s);
}

TEST(WitnessStateStoreTest, DecodeRefusesFieldsThatDisagreeWithTheNote) {
  witness_test::TestLog log("example.com/log", 10);
  OriginState s = StateOf(log, 7);
  s.size = 8;
  EXPECT_FALSE(DecodeOriginState(EncodeOriginState(s)).ok());
  s = StateOf(log, 7);
  s.root = log.RootAt(6);
  EXPECT_FALSE(DecodeOriginState(EncodeOriginState(s)).ok());
  s = StateOf(log, 7);
  s.origin = "example.com/other";
  EXPECT_FALSE(DecodeOriginState(EncodeOriginState(s)).ok());
  const std::string good = EncodeOriginState(StateOf(log, 7));
  for (size_t n = 0; n < good.size(); n += 7) {
    EXPECT_FALSE(DecodeOriginState(good.substr(0, n)).ok()) << n;
  }
  EXPECT_FALSE(DecodeOriginState("x" + good).ok());
}

TEST(WitnessStateStoreTest, SavedStateSurvivesReopen) {
  const std::string dir = MakeTempDir("witness_store");
  witness_test::TestLog a("example.com/a", 10), b("example.com/b", 3);
  {
    auto store = StateStore::Open({.dir = dir});
    ASSERT_TRUE(store.ok()) << store.error().ToString();
    EXPECT_TRUE((*store)->loaded().empty());
    ASSERT_TRUE((*store)->Save(StateOf(a, 4)).ok());
    ASSERT_TRUE((*store)->Save(StateOf(a, 10)).ok());  // replaces
    ASSERT_TRUE((*store)->Save(StateOf(b, 3)).ok());
  }
  const std::string path = dir + "/state/" + StateFileName("example.com/a");
  struct stat sb {};
  ASSERT_EQ(::stat(path.c_str(), &sb), 0);
  EXPECT_EQ(sb.st_mode & 0777, 0600u);
  EXPECT_FALSE(std::filesystem::exists(path + ".new"));
  auto store = StateStore::Open({.dir = dir});
  ASSERT_TRUE(store.ok()) << store.error().ToString();
  ASSERT_EQ((*store)->loaded().size(), 2u);
  EXPECT_EQ((*store)->loaded().at("example.com/a"), StateOf(a, 10));
  EXPECT_EQ((*store)->loaded().at("example.com/b"), StateOf(b, 3));
  std::filesystem::remove_all(dir);
}

TEST(WitnessStateStoreTest, RefusesACorruptFile) {
  const std::string dir = MakeTempDir("witness_store");
  witness_test::TestLog a("example.com/a", 10);
  ASSERT_TRUE((*StateStore::Open({.dir = dir}))->Save(StateOf(a, 5)).ok());
  const std::string path = dir + "/state/" + StateFileName("example.com/a");
  std::string bytes = ReadFile(path);
  bytes[bytes.find("size 5") + 5] = '6';
  WriteFile(path, bytes);
  auto store = StateStore::Open({.dir = dir});
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.error().code(), common::ErrorCode::kInvalidInput);
  EXPECT_NE(store.error().message().find(path), std::string::npos);
  EXPECT_NE(store.error().message().find("corrupt"), std::string::npos);
  std::filesystem::remove_all(dir);
}

TEST(WitnessStateStoreTest, RefusesAStateUnderAnotherOriginsName) {
  const std::string dir = MakeTempDir("witness_store");
  witness_test::TestLog a("example.com/a", 10);
  ASSERT_TRUE((*StateStore::Open({.dir = dir}))->Save(StateOf(a, 5)).ok());
  std::filesystem::rename(dir + "/state/" + StateFileName("example.com/a"),
                          dir + "/state/" + StateFileName("example.com/b"));
  EXPECT_FALSE(StateStore::Open({.dir = dir}).ok());
  std::filesystem::remove_all(dir);
}

TEST(WitnessStateStoreTest, IgnoresATempFileLeftByACrash) {
  const std::string dir = MakeTempDir("witness_store");
  witness_test::TestLog a("example.com/a", 10);
  ASSERT_TRUE((*StateStore::Open({.dir = dir}))->Save(StateOf(a, 5)).ok());
  const std::string path = dir + "/state/" + StateFileName("example.com/a");
  WriteFile(path + ".new", "half a fi");
  auto store = StateStore::Open({.dir = dir});
  ASSERT_TRUE(store.ok());
  EXPECT_EQ((*store)->loaded().at("example.com/a"), StateOf(a, 5));
  std::filesystem::remove_all(dir);
}

TEST(WitnessStateStoreTest, EvidenceIsBounded) {
  const std::string dir = MakeTempDir("witness_store");
  auto store = StateStore::Open({.dir = dir, .max_evidence_files = 2, .max_evidence_bytes = 10});
  ASSERT_TRUE(store.ok());
  EXPECT_TRUE((*store)->KeepEvidence("one").ok());
  EXPECT_TRUE((*store)->KeepEvidence("one").ok());  // the same body once
  EXPECT_EQ((*store)->KeepEvidence("eleven byte").error().code(), common::ErrorCode::kTooLarge);
  EXPECT_TRUE((*store)->KeepEvidence("two").ok());
  EXPECT_EQ((*store)->KeepEvidence("three").error().code(), common::ErrorCode::kTooLarge);
  size_t n = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir + "/evidence")) ++n;
  EXPECT_EQ(n, 2u);
  // The count survives a restart.
  store = StateStore::Open({.dir = dir, .max_evidence_files = 2});
  ASSERT_TRUE(store.ok());
  EXPECT_FALSE((*store)->KeepEvidence("four").ok());
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace witness
