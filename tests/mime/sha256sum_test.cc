// The recorded part hashes are what `sha256sum` prints for the files the message was built
// from: the promise a lawyer relies on when checking a saved attachment.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "common/bytes.h"
#include "mime/canonical.h"
#include "support/test_support.h"

namespace {

std::string Base64Lines(const std::string& data) {
  const std::string b64 = common::Base64Encode(data);
  std::string out;
  for (size_t i = 0; i < b64.size(); i += 76) out += b64.substr(i, 76) + "\r\n";
  return out;
}

// Quoted-printable that also encodes CR and LF, as needed for binary data.
std::string QuotedPrintable(const std::string& data) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out, line;
  for (unsigned char c : data) {
    std::string tok;
    if ((c >= 33 && c <= 126 && c != '=') || c == ' ') {
      tok = std::string(1, static_cast<char>(c));
    } else {
      tok = {'=', kHex[c >> 4], kHex[c & 15]};
    }
    if (line.size() + tok.size() > 75) {
      out += line + "=\r\n";
      line.clear();
    }
    line += tok;
  }
  if (!line.empty() && line.back() == ' ') line.replace(line.size() - 1, 1, "=20");
  return out + line + "\r\n";
}

std::string Sha256sum(const std::string& path) {
  const auto r = testsupport::RunCommand({"sha256sum", "-b", path});
  EXPECT_EQ(r.exit_code, 0) << r.out;
  return r.out.substr(0, 64);
}

struct File {
  std::string name, content_type, encoding, data;
};

TEST(Sha256sumTest, PartHashesEqualSha256sumOfTheAttachedFiles) {
  std::string binary;
  for (int i = 0; i < 70000; ++i) binary += static_cast<char>((i * 7919 + i / 13) & 0xff);
  std::string text_file = "name,amount \r\nalice,10\r\n\r\n";  // trailing space and blank line
  std::string empty;
  const std::vector<File> files = {
      {"contract.pdf", "application/pdf", "base64", binary},
      {"ledger.csv", "text/csv; charset=utf-8", "base64", text_file},
      {"scan.bin", "application/octet-stream", "quoted-printable", binary.substr(0, 5000)},
      {"empty.dat", "application/octet-stream", "base64", empty},
  };
  const std::string dir = testsupport::MakeTempDir("mime-sha256sum");
  std::string msg =
      "From: a@example.com\r\nTo: b@example.org\r\nSubject: files\r\n"
      "Date: Tue, 01 Jul 2025 10:00:00 +0200\r\nMIME-Version: 1.0\r\n"
      "Content-Type: multipart/mixed; boundary=\"sep\"\r\n\r\n"
      "--sep\r\nContent-Type: text/plain\r\n\r\nSee attached.\r\n";
  for (const auto& f : files) {
    testsupport::WriteFile(dir + "/" + f.name, f.data);
    msg += "--sep\r\nContent-Type: " + f.content_type +
           "\r\nContent-Disposition: attachment; "
           "filename=\"" +
           f.name + "\"\r\nContent-Transfer-Encoding: " + f.encoding + "\r\n\r\n";
    msg += f.encoding == "base64" ? Base64Lines(f.data) : QuotedPrintable(f.data);
  }
  msg += "--sep--\r\n";

  const auto c = mime::Canonicalize(msg);
  ASSERT_EQ(c.parts.size(), files.size() + 1);
  for (size_t i = 0; i < files.size(); ++i) {
    const mime::Part& p = c.parts[i + 1];
    EXPECT_EQ(p.filename, files[i].name);
    EXPECT_EQ(p.position, std::to_string(i + 2));
    EXPECT_EQ(p.size, files[i].data.size()) << p.filename;
    EXPECT_EQ(common::ToHex(p.sha256), Sha256sum(dir + "/" + files[i].name)) << p.filename;
  }
  EXPECT_TRUE(c.warnings.empty()) << c.warnings.front();
  std::filesystem::remove_all(dir);
}

}  // namespace
