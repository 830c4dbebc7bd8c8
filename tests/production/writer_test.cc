// production/writer.h: while a production is built, its staging folder shows no file (what is
// staged has no name, so a crash leaves no copy of the case's mail on the disk), and the zip
// made at the end still holds every message, byte for byte, and every list.
#include "production/writer.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "support/test_support.h"

namespace {

using testsupport::RunCommand;

constexpr const char* kMarker = "STAGEDMARKER7Q";

// The regular files under `dir`, and any of the process's open files that were there.
std::vector<std::string> NamedFiles(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
    if (e.is_regular_file()) out.push_back(e.path().string());
  }
  return out;
}

int DeletedFilesOpenUnder(const std::string& dir) {
  int n = 0;
  for (const auto& e : std::filesystem::directory_iterator("/proc/self/fd")) {
    std::error_code ec;
    const std::string target = std::filesystem::read_symlink(e.path(), ec).string();
    if (!ec && target.rfind(dir + "/", 0) == 0 && target.find(" (deleted)") != std::string::npos) {
      ++n;
    }
  }
  return n;
}

TEST(ProductionWriterTest, StagedFilesHaveNoNameAndTheZipHoldsEverything) {
  const std::string root = testsupport::MakeTempDir("writer");
  const std::string staging = root + "/staging";
  std::filesystem::create_directory(staging);
  production::ProductionOptions options;
  options.bates_prefix = "T";
  options.custodian = "tester";
  const std::string native = std::string("From: a@example.com\r\nSubject: ") + kMarker +
                             "\r\n\r\nFrom the start of a line\r\n" + kMarker + "\r\n";
  {
    auto writer = production::ProductionWriter::Create(staging, options);
    ASSERT_TRUE(writer.ok()) << writer.error().ToString();
    production::ProductionMessage m;
    m.receipt_id = "00000000-0000-4000-8000-000000000001";
    m.received_at_us = 1765000000000000;
    m.envelope_from = "a@example.com";
    m.from = "a@example.com";
    m.subject = kMarker;
    m.native = native;
    m.bundle_zip = std::string("not really a zip, stored as given ") + kMarker;
    auto added = (*writer)->Add(m);
    ASSERT_TRUE(added.ok()) << added.error().ToString();
    ASSERT_TRUE((*writer)->AddCustody("{\"receipt_id\": \"" + m.receipt_id + "\"}").ok());

    // While it is built: nothing in the folder has a name, yet the files are open.
    EXPECT_TRUE(NamedFiles(staging).empty());
    EXPECT_GE(DeletedFilesOpenUnder(staging), 5);  // spool, index, dat, mbox, custody
    EXPECT_EQ(RunCommand({"grep", "-r", "-l", kMarker, staging}).exit_code, 1);

    const std::string zip = root + "/production.zip";
    ASSERT_TRUE(
        (*writer)->Finish("{\"case\": 1}\n", "{}", "# VERIFY\n", "%PDF-1.7 stand-in", zip).ok());
    EXPECT_TRUE(NamedFiles(staging).empty());
    EXPECT_EQ(RunCommand({"unzip", "-p", zip, "natives/T000001.eml"}).out, native);
    EXPECT_EQ(RunCommand({"unzip", "-p", zip, "bundles/evidence-" + m.receipt_id + ".zip"}).out,
              m.bundle_zip);
    EXPECT_EQ(RunCommand({"unzip", "-p", zip, "VERIFY.md"}).out, "# VERIFY\n");
    EXPECT_EQ(RunCommand({"unzip", "-p", zip, "certificate.pdf"}).out, "%PDF-1.7 stand-in");
    EXPECT_NE(RunCommand({"unzip", "-p", zip, "messages.mbox"}).out.find(">From the start"),
              std::string::npos);
    EXPECT_NE(RunCommand({"unzip", "-p", zip, "index.csv"}).out.find(kMarker), std::string::npos);
    EXPECT_NE(RunCommand({"unzip", "-p", zip, "custody.json"}).out.find(m.receipt_id),
              std::string::npos);
    EXPECT_EQ(RunCommand({"unzip", "-tq", zip}).exit_code, 0);
  }
  // The writer gone, its files are gone with it.
  EXPECT_EQ(DeletedFilesOpenUnder(staging), 0);
}

}  // namespace
