// Test vectors of canonical form version 2 (tests/data/canonical-v2/, README.md there): each
// <name>.eml has its exact canonical bytes in <name>.canonical and its hashes, parts, salted
// part records and parts_root in expected.json. Also: every text part is re-decoded here
// with the WHATWG decoders as the spec says, the texts the generator encoded with Python's
// codecs (intended.tsv) are what the form holds, and the golden corpus of version 1
// (tests/data/canonical/<group>/) keeps its same-message / visible-change relations in
// version 2, with the hashes pinned in expected_v2.txt.
// Regenerate with NOTARY_UPDATE_GOLDEN=1 (then review the diff).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "common/bytes.h"
#include "common/rfc6962.h"
#include "common/sha256.h"
#include "mime/canonical.h"
#include "support/test_support.h"
#include "text_normalise.h"
#include "whatwg_encoding.h"

namespace {

namespace fs = std::filesystem;

bool Updating() {
  const char* v = std::getenv("NOTARY_UPDATE_GOLDEN");
  return v != nullptr && std::string(v) == "1";
}

std::string VectorDir() { return testsupport::SourceDir() + "/tests/data/canonical-v2"; }

std::vector<std::string> Stems(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.path().extension() == ".eml") out.push_back(e.path().stem().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string ReadEml(const std::string& dir, const std::string& stem) {
  return testsupport::ReadFile(dir + "/" + stem + ".eml");
}

// The test salt of a part: SHA-256("salt/<case>/<position>").
common::Hash TestSalt(const std::string& name, const std::string& position) {
  return common::Sha256Of("salt/" + name + "/" + position);
}

std::string Json(std::string_view s) {
  std::string out = "\"";
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += ch;
    } else if (c < 0x20) {
      static const char kHex[] = "0123456789abcdef";
      out += "\\u00";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else {
      out += ch;
    }
  }
  return out + "\"";
}

// "text", "text-raw" or "bytes", as in the part's canonical record.
std::string Mode(const mime::Part& p) {
  if (!p.normalised_text) return "bytes";
  if (p.charset.empty()) return "text";
  const auto e = mime::EncodingForLabel(p.charset);
  return e && *e != mime::Encoding::kReplacement ? "text" : "text-raw";
}

// Sets the test salts and returns the root.
common::Hash Salt(const std::string& name, mime::Canonical* c) {
  for (auto& p : c->parts) p.salt = TestSalt(name, p.position);
  return mime::PartsRoot(c->parts, 2);
}

std::string CaseJson(const std::string& name, mime::Canonical c) {
  const common::Hash root = Salt(name, &c);
  std::string out = "    {\n      \"name\": " + Json(name) + ",\n";
  out += "      \"canonical_sha256\": " + Json(common::ToHex(c.canonical_sha256)) + ",\n";
  out += "      \"parts\": [";
  for (size_t i = 0; i < c.parts.size(); ++i) {
    const mime::Part& p = c.parts[i];
    const std::string record = mime::EncodePartRecord(p, 2);
    out += i == 0 ? "\n" : ",\n";
    out += "        {\"position\": " + Json(p.position) +
           ", \"content_type\": " + Json(p.content_type) + ", \"charset\": " + Json(p.charset) +
           ", \"disposition\": " + Json(p.disposition) + ", \"filename\": " + Json(p.filename) +
           ",\n         \"size\": " + std::to_string(p.size) +
           ", \"sha256\": " + Json(common::ToHex(p.sha256)) + ", \"mode\": " + Json(Mode(p)) +
           ",\n         \"content_sha256\": " + Json(common::ToHex(p.content_sha256)) +
           ",\n         \"salt\": " + Json(common::ToHex(p.salt)) +
           ",\n         \"record\": " + Json(common::ToHex(common::AsBytes(record))) +
           ",\n         \"leaf_hash\": " + Json(common::ToHex(common::HashLeaf(record))) + "}";
  }
  out += c.parts.empty() ? "],\n" : "\n      ],\n";
  out += "      \"parts_root\": " + Json(common::ToHex(root)) + "\n    }";
  return out;
}

std::string ExpectedJson() {
  std::string out =
      "{\n  \"canon_version\": 2,\n"
      "  \"salt\": \"SHA-256 of the ASCII string salt/<name>/<position>\",\n"
      "  \"cases\": [\n";
  const auto stems = Stems(VectorDir());
  for (size_t i = 0; i < stems.size(); ++i) {
    out += CaseJson(stems[i], mime::Canonicalize(ReadEml(VectorDir(), stems[i]), 2));
    out += i + 1 < stems.size() ? ",\n" : "\n";
  }
  return out + "  ]\n}\n";
}

TEST(GoldenV2Test, VectorsMatchTheirCanonicalBytesAndExpectedJson) {
  const auto stems = Stems(VectorDir());
  ASSERT_GE(stems.size(), 30u);
  if (Updating()) {
    for (const auto& s : stems) {
      testsupport::WriteFile(VectorDir() + "/" + s + ".canonical",
                             mime::Canonicalize(ReadEml(VectorDir(), s), 2).canonical);
    }
    testsupport::WriteFile(VectorDir() + "/expected.json", ExpectedJson());
  }
  for (const auto& s : stems) {
    const auto c = mime::Canonicalize(ReadEml(VectorDir(), s), 2);
    EXPECT_EQ(c.canonical, testsupport::ReadFile(VectorDir() + "/" + s + ".canonical")) << s;
    EXPECT_EQ(c.canonical_sha256, common::Sha256Of(c.canonical));
  }
  EXPECT_EQ(ExpectedJson(), testsupport::ReadFile(VectorDir() + "/expected.json"));
}

// Every text part again, from ExtractPart's bytes, by §V2.7 with the WHATWG decoders.
TEST(GoldenV2Test, TextPartsAreTheWhatwgDecodeOfTheirBytes) {
  int text_parts = 0;
  for (const auto& s : Stems(VectorDir())) {
    const std::string raw = ReadEml(VectorDir(), s);
    const auto c = mime::Canonicalize(raw, 2);
    for (const auto& p : c.parts) {
      if (!p.normalised_text) continue;
      const auto bytes = mime::ExtractPart(raw, p.position, 2);
      ASSERT_TRUE(bytes.has_value()) << s << " " << p.position;
      std::string text;
      if (p.charset.empty()) {
        auto d = mime::DecodeToUtf8(mime::Encoding::kUtf8, *bytes);
        text =
            d.errors == 0 ? d.utf8 : mime::DecodeToUtf8(mime::Encoding::kWindows1252, *bytes).utf8;
      } else if (Mode(p) == "text") {
        text = mime::DecodeToUtf8(*mime::EncodingForLabel(p.charset), *bytes).utf8;
      } else {
        text = *bytes;  // text-raw
      }
      EXPECT_EQ(common::Sha256Of(mime::internal::NormaliseTextLines(text)), p.content_sha256)
          << s << " part " << p.position;
      ++text_parts;
    }
  }
  EXPECT_GT(text_parts, 30);
}

// The texts make.py encoded (Python codecs) come back from the WHATWG decoders.
TEST(GoldenV2Test, IntendedTextsComeBack) {
  std::istringstream in(testsupport::ReadFile(VectorDir() + "/intended.tsv"));
  std::string line;
  int checked = 0;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream fields(line);
    std::string name, kind, key, hex;
    std::getline(fields, name, '\t');
    std::getline(fields, kind, '\t');
    std::getline(fields, key, '\t');
    std::getline(fields, hex, '\t');
    const std::string text = *common::FromHex(hex);
    const auto c = mime::Canonicalize(ReadEml(VectorDir(), name), 2);
    const mime::Part* part = nullptr;
    for (const auto& p : c.parts) {
      if (p.position == key) part = &p;
    }
    if (kind == "header") {
      const auto it = std::find_if(c.headers.begin(), c.headers.end(),
                                   [&](const auto& h) { return h.name == key; });
      ASSERT_NE(it, c.headers.end()) << line;
      EXPECT_EQ(it->value, text) << name << " " << key;
    } else if (kind == "text") {
      ASSERT_NE(part, nullptr) << line;
      EXPECT_EQ(part->content_sha256, common::Sha256Of(text)) << name << " " << key;
    } else {
      ASSERT_EQ(kind, "filename");
      ASSERT_NE(part, nullptr) << line;
      EXPECT_EQ(part->filename, text) << name << " " << key;
    }
    ++checked;
  }
  EXPECT_GT(checked, 25);
}

mime::Canonical Vector(const std::string& name) {
  return mime::Canonicalize(ReadEml(VectorDir(), name), 2);
}

TEST(GoldenV2Test, RelationsBetweenVectors) {
  // One text, two labels of one WHATWG encoding: one canonical form, two part records.
  const auto ks = Vector("korean_ks_c_5601_1987");
  const auto euc = Vector("korean_euc_kr");
  EXPECT_EQ(ks.canonical, euc.canonical);
  EXPECT_NE(ks.parts[0].charset, euc.parts[0].charset);
  // message/rfc822 sent plain and in base64: the same bytes.
  const auto fw = Vector("message_rfc822");
  ASSERT_EQ(fw.parts.size(), 3u);
  EXPECT_EQ(fw.parts[1].sha256, fw.parts[2].sha256);
  // The v1 example keeps its part bytes in v2.
  const auto v1 = mime::Canonicalize(ReadEml(VectorDir(), "contract_base"), 1);
  const auto v2 = Vector("contract_base");
  ASSERT_EQ(v1.parts.size(), v2.parts.size());
  for (size_t i = 0; i < v1.parts.size(); ++i) {
    EXPECT_EQ(v1.parts[i].sha256, v2.parts[i].sha256);
    EXPECT_EQ(v1.parts[i].content_sha256, v2.parts[i].content_sha256);
  }
  // More than kMaxParts: unparsed.
  const auto many = Vector("too_many_parts");
  EXPECT_TRUE(many.parts.empty());
  EXPECT_NE(many.canonical.find("\nunparsed 64:"), std::string::npos);
}

// ---------------------------------------------------------------- v1 corpus through v2

std::string GroupDir(const std::string& group) {
  return testsupport::SourceDir() + "/tests/data/canonical/" + group;
}

class GoldenV2CorpusTest : public ::testing::TestWithParam<std::string> {};

TEST_P(GoldenV2CorpusTest, SameMessageSameHashVisibleChangeNewHash) {
  const std::string group = GetParam();
  const auto stems = Stems(GroupDir(group));
  std::string pinned = "# <file> <v2 canonical_sha256> <v2 parts_root with salts SHA-256(\"salt/" +
                       group +
                       "/<position>\")>; written by mime_tests with "
                       "NOTARY_UPDATE_GOLDEN=1\n";
  const auto base = mime::Canonicalize(ReadEml(GroupDir(group), "base"), 2);
  std::map<common::Hash, std::string> seen{{base.canonical_sha256, "base"}};
  for (const auto& s : stems) {
    auto c = mime::Canonicalize(ReadEml(GroupDir(group), s), 2);
    for (auto& p : c.parts) p.salt = TestSalt(group, p.position);
    pinned += s + ".eml " + common::ToHex(c.canonical_sha256) + " " +
              common::ToHex(mime::PartsRoot(c.parts, 2)) + "\n";
    if (s == "base") continue;
    if (s.starts_with("diff_")) {
      const auto [it, inserted] = seen.emplace(c.canonical_sha256, s);
      EXPECT_TRUE(inserted) << group << "/" << s << " collides with " << it->second;
      EXPECT_FALSE(mime::Differences(base, c).empty()) << group << "/" << s;
    } else {
      EXPECT_EQ(c.canonical, base.canonical) << group << "/" << s;
      EXPECT_TRUE(mime::Differences(base, c).empty()) << group << "/" << s;
    }
  }
  const std::string file = GroupDir(group) + "/expected_v2.txt";
  if (Updating()) testsupport::WriteFile(file, pinned);
  EXPECT_EQ(pinned, testsupport::ReadFile(file));
}

INSTANTIATE_TEST_SUITE_P(Groups, GoldenV2CorpusTest,
                         ::testing::Values("contract", "korean", "chinese", "japanese"));

}  // namespace
