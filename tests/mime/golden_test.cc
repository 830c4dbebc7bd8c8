// Golden corpus (tests/data/canonical/<group>/): copies of one message that travelled by
// different routes share base.eml's canonical hash; every diff_*.eml changes one thing a
// reader sees and gets a hash of its own. Hashes are pinned in expected.txt and base.eml's
// canonical bytes in base.canonical, so a change of the form shows in review.
// Regenerate the pins with NOTARY_UPDATE_GOLDEN=1 (then review the diff).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "common/bytes.h"
#include "mime/canonical.h"
#include "support/test_support.h"

namespace {

namespace fs = std::filesystem;

std::string GroupDir(const std::string& group) {
  return testsupport::SourceDir() + "/tests/data/canonical/" + group;
}

std::vector<std::string> EmlFiles(const std::string& group) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(GroupDir(group))) {
    if (e.path().extension() == ".eml") out.push_back(e.path().filename().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

bool IsDiff(const std::string& name) { return name.starts_with("diff_"); }

bool Updating() {
  const char* v = std::getenv("NOTARY_UPDATE_GOLDEN");
  return v != nullptr && std::string(v) == "1";
}

// expected.txt: "<file> <canonical_sha256> <parts_root>" per line, '#' comments.
std::map<std::string, std::pair<std::string, std::string>> ReadExpected(const std::string& group) {
  std::map<std::string, std::pair<std::string, std::string>> out;
  std::istringstream in(testsupport::ReadFile(GroupDir(group) + "/expected.txt"));
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream fields(line);
    std::string file, canon, root;
    fields >> file >> canon >> root;
    out[file] = {canon, root};
  }
  return out;
}

mime::Canonical Load(const std::string& group, const std::string& file) {
  return mime::Canonicalize(testsupport::ReadFile(GroupDir(group) + "/" + file));
}

bool Contains(const std::vector<std::string>& lines, const std::string& needle) {
  return std::any_of(lines.begin(), lines.end(),
                     [&](const std::string& l) { return l.find(needle) != std::string::npos; });
}

class GoldenTest : public ::testing::TestWithParam<std::string> {};

TEST_P(GoldenTest, HashesMatchExpectedFile) {
  const std::string group = GetParam();
  const auto files = EmlFiles(group);
  ASSERT_FALSE(files.empty());
  if (Updating()) {
    std::string text =
        "# <file> <canonical_sha256> <parts_root>; written by mime_tests with "
        "NOTARY_UPDATE_GOLDEN=1\n";
    for (const auto& f : files) {
      const auto c = Load(group, f);
      text +=
          f + " " + common::ToHex(c.canonical_sha256) + " " + common::ToHex(c.parts_root) + "\n";
    }
    testsupport::WriteFile(GroupDir(group) + "/expected.txt", text);
    testsupport::WriteFile(GroupDir(group) + "/base.canonical", Load(group, "base.eml").canonical);
  }
  const auto expected = ReadExpected(group);
  EXPECT_EQ(expected.size(), files.size()) << "expected.txt out of date";
  for (const auto& f : files) {
    const auto c = Load(group, f);
    const auto it = expected.find(f);
    ASSERT_NE(it, expected.end()) << f << " missing from expected.txt";
    EXPECT_EQ(common::ToHex(c.canonical_sha256), it->second.first) << group << "/" << f;
    EXPECT_EQ(common::ToHex(c.parts_root), it->second.second) << group << "/" << f;
  }
}

TEST_P(GoldenTest, BaseCanonicalBytesMatchPinnedForm) {
  const std::string group = GetParam();
  const auto c = Load(group, "base.eml");
  EXPECT_EQ(c.canonical, testsupport::ReadFile(GroupDir(group) + "/base.canonical"));
  EXPECT_EQ(c.canon_version, mime::kCanonVersion);
}

TEST_P(GoldenTest, SameMessageCopiesShareTheCanonicalHash) {
  const std::string group = GetParam();
  const auto base = Load(group, "base.eml");
  int same = 0;
  for (const auto& f : EmlFiles(group)) {
    if (IsDiff(f) || f == "base.eml") continue;
    ++same;
    const auto c = Load(group, f);
    EXPECT_EQ(c.canonical, base.canonical) << group << "/" << f;
    EXPECT_EQ(c.canonical_sha256, base.canonical_sha256) << group << "/" << f;
    EXPECT_TRUE(mime::Differences(base, c).empty()) << group << "/" << f;
    // Attachments decode to the same bytes whatever the route.
    ASSERT_EQ(c.parts.size(), base.parts.size());
    for (size_t i = 0; i < c.parts.size(); ++i) {
      if (c.parts[i].disposition == "attachment") {
        EXPECT_EQ(c.parts[i].sha256, base.parts[i].sha256) << group << "/" << f;
        EXPECT_EQ(c.parts[i].filename, base.parts[i].filename) << group << "/" << f;
      }
    }
  }
  EXPECT_GT(same, 0);
}

TEST_P(GoldenTest, EveryVisibleChangeGetsItsOwnHash) {
  const std::string group = GetParam();
  const auto base = Load(group, "base.eml");
  std::map<common::Hash, std::string> seen{{base.canonical_sha256, "base.eml"}};
  int diffs = 0;
  for (const auto& f : EmlFiles(group)) {
    if (!IsDiff(f)) continue;
    ++diffs;
    const auto c = Load(group, f);
    const auto [it, inserted] = seen.emplace(c.canonical_sha256, f);
    EXPECT_TRUE(inserted) << group << "/" << f << " collides with " << it->second;
    EXPECT_FALSE(mime::Differences(base, c).empty()) << group << "/" << f;
  }
  EXPECT_GT(diffs, 0);
}

INSTANTIATE_TEST_SUITE_P(Groups, GoldenTest,
                         ::testing::Values("contract", "korean", "chinese", "japanese"));

TEST(GoldenDifferencesTest, NamesWhatChanged) {
  const auto base = Load("contract", "base.eml");
  EXPECT_TRUE(Contains(mime::Differences(base, Load("contract", "diff_subject_char.eml")),
                       "header subject differs"));
  EXPECT_TRUE(Contains(mime::Differences(base, Load("contract", "diff_from_char.eml")),
                       "header from differs"));
  EXPECT_TRUE(Contains(mime::Differences(base, Load("contract", "diff_filename.eml")),
                       "file name differs"));
  const auto att = mime::Differences(base, Load("contract", "diff_attachment_byte.eml"));
  EXPECT_TRUE(Contains(att, "part 2 (application/pdf, \"contract.pdf\"): content differs"));
  EXPECT_FALSE(Contains(att, "header"));
  EXPECT_TRUE(Contains(mime::Differences(base, Load("contract", "diff_body_char.eml")),
                       "part 1 (text/plain): content differs"));
  const auto moved = mime::Differences(base, Load("contract", "diff_parts_reordered.eml"));
  EXPECT_TRUE(Contains(moved, "notarised content found in the other as part 2"));
}

TEST(GoldenMetadataTest, NonAsciiHeadersAndRfc2231NamesDecodeToUtf8) {
  const auto ko = Load("korean", "euc_kr.eml");
  EXPECT_EQ(ko.metadata.subject, "계약서 송부의 건");
  EXPECT_EQ(ko.metadata.from, "홍길동 <sender@example.kr>");
  ASSERT_EQ(ko.parts.size(), 2u);
  EXPECT_EQ(ko.parts[0].charset, "euc-kr");
  EXPECT_EQ(ko.parts[1].filename, "계약서.pdf");  // filename*=euc-kr''...
  EXPECT_EQ(ko.metadata.attachment_names, std::vector<std::string>{"계약서.pdf"});
  const auto zh = Load("chinese", "gb2312.eml");
  EXPECT_EQ(zh.metadata.subject, "关于合同的通知");
  EXPECT_EQ(zh.parts[1].filename, "合同.pdf");
  const auto ja = Load("japanese", "iso_2022_jp.eml");
  EXPECT_EQ(ja.metadata.subject, "契約書の送付");
  EXPECT_EQ(ja.parts[1].filename, "契約書.pdf");
  EXPECT_TRUE(ja.warnings.size() == 0) << ja.warnings.front();
}

}  // namespace
