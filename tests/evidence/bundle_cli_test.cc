// The notary-verify binary as a judge runs it (exit codes, text and --json), and VERIFY.md's
// commands run with sha256sum and openssl only on an extracted bundle.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>

#include "bundle_fixture.h"
#include "common/bytes.h"
#include "common/sha256.h"
#include "evidence/bundle.h"
#include "support/test_support.h"

namespace notary {
namespace {

using bundle_test::BundleFactory;
using ::testing::HasSubstr;
using testsupport::RunCommand;

std::string VerifyBinary() { return testsupport::BinaryDir() + "/cli/notary-verify"; }

class BundleCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(std::filesystem::exists(VerifyBinary()))
        << "build the notary-verify target first: " << VerifyBinary();
    dir_ = testsupport::MakeTempDir("bundle_cli");
    zip_ = dir_ + "/evidence.zip";
    testsupport::WriteFile(zip_, BundleFactory::A().Zip());
    // bench/verify_bench.sh measures notary-verify on this very bundle.
    if (const char* out = std::getenv("NOTARY_BUNDLE_OUT")) {
      testsupport::WriteFile(out, BundleFactory::A().Zip());
      testsupport::WriteFile(std::string(out) + ".fingerprint", BundleFactory::A().fingerprint());
      testsupport::WriteFile(std::string(out) + ".tsa-ca.pem",
                             BundleFactory::A().tsa().ca_cert_pem);
    }
  }

  testsupport::CommandResult Run(std::vector<std::string> args) {
    args.insert(args.begin(), VerifyBinary());
    return RunCommand(args);
  }

  std::string dir_, zip_;
};

// Bundles real notaryds issued under earlier builds (kept in the fuzz corpus) stay VALID for
// this notary-verify, the texts they carry included: what docs/operations.md promises for
// upgrades. A change to a template or a check that breaks an old bundle fails here.
TEST_F(BundleCliTest, EveryStoredBundleOfAnEarlierBuildStillVerifies) {
  const std::string corpus = testsupport::SourceDir() + "/tests/fuzz/corpus/bundle";
  int seen = 0;
  for (const auto& entry : std::filesystem::directory_iterator(corpus)) {
    if (entry.path().extension() != ".zip") continue;
    ++seen;
    auto r = Run({entry.path().string()});
    EXPECT_THAT(r.out, HasSubstr("PASS  texts.rendered")) << entry.path();
    // Every check passes, but for one: the sender evidence was looked up in the test suite's
    // own DNSSEC zone, whose trust anchor was not kept, so against the root's anchor its
    // answers cannot validate (which is what check 26 must say).
    std::istringstream lines(r.out);
    std::string line;
    while (std::getline(lines, line)) {
      if (line.rfind("FAIL", 0) != 0) continue;
      EXPECT_THAT(line, HasSubstr("sender.dnssec")) << entry.path();
      EXPECT_THAT(line, HasSubstr("no trust anchor covers it")) << entry.path();
    }
    EXPECT_THAT(r.out, HasSubstr("VERDICT: ")) << entry.path();
  }
  EXPECT_GE(seen, 3);
}

TEST_F(BundleCliTest, ValidBundleExitsZeroWithOneLinePerCheck) {
  auto r = Run({zip_, "--fingerprint", BundleFactory::A().fingerprint()});
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_THAT(r.out, HasSubstr("PASS  block.signature"));
  EXPECT_THAT(r.out, HasSubstr("SKIP  eml.compare"));
  EXPECT_THAT(r.out, HasSubstr("VERDICT: VALID"));
  EXPECT_THAT(r.out, Not(HasSubstr("notary key was taken from the bundle")));

  r = Run({zip_});
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_THAT(r.out, HasSubstr("self-declared"));
  EXPECT_THAT(r.out, HasSubstr(BundleFactory::A().fingerprint()));
}

TEST_F(BundleCliTest, TamperedBundleExitsOne) {
  Bundle tampered = *ReadBundleZip(BundleFactory::A().Zip());
  tampered.files["message.eml"][500] ^= 0x01;
  std::string bad = dir_ + "/bad.zip";
  testsupport::WriteFile(bad, bundle_test::MakeZip({tampered.files.begin(), tampered.files.end()}));
  auto r = Run({bad, "--fingerprint", BundleFactory::A().fingerprint()});
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_THAT(r.out, HasSubstr("FAIL  message.raw_sha256"));
  EXPECT_THAT(r.out, HasSubstr("VERDICT: INVALID"));

  std::string other_key = dir_ + "/other.pem";
  testsupport::WriteFile(other_key, BundleFactory::B().public_pem());
  r = Run({zip_, "--key", other_key});
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_THAT(r.out, HasSubstr("FAIL  block.signature"));
}

TEST_F(BundleCliTest, UsageAndUnreadableInputExitTwo) {
  EXPECT_EQ(Run({}).exit_code, 2);
  EXPECT_EQ(Run({dir_ + "/missing.zip"}).exit_code, 2);
  EXPECT_EQ(Run({zip_, "--fingerprint", "abc"}).exit_code, 2);
  EXPECT_EQ(Run({zip_, "--no-such-option"}).exit_code, 2);
  EXPECT_EQ(Run({zip_, "--consistency-proof", zip_}).exit_code, 2);  // needs --checkpoint
  std::string junk = dir_ + "/junk.zip";
  testsupport::WriteFile(junk, "PK\x03\x04 not really");
  auto r = Run({junk});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.out, HasSubstr("not a readable zip"));
  std::string traversal = dir_ + "/traversal.zip";
  testsupport::WriteFile(traversal, bundle_test::MakeZip({{"../evil", "x"}}));
  r = Run({traversal});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/../evil"));
}

TEST_F(BundleCliTest, JsonReportParsesAndOptionalChecksRun) {
  std::string eml = dir_ + "/copy.eml", att = dir_ + "/contract.pdf", cp = dir_ + "/cp.txt",
              proof = dir_ + "/proof.json", ca = dir_ + "/ca.pem";
  testsupport::WriteFile(eml, BundleFactory::A().message());
  testsupport::WriteFile(att, BundleFactory::A().Attachment());
  testsupport::WriteFile(cp, BundleFactory::A().NewerCheckpoint(true));
  testsupport::WriteFile(proof, BundleFactory::A().ConsistencyProofJson(true));
  testsupport::WriteFile(ca, BundleFactory::A().tsa().ca_cert_pem);
  auto r =
      Run({zip_, "--json", "--fingerprint", BundleFactory::A().fingerprint(), "--tsa-ca", ca,
           "--eml", eml, "--attachment", att, "--checkpoint", cp, "--consistency-proof", proof});
  ASSERT_EQ(r.exit_code, 0) << r.out;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_TRUE(j["valid"].get<bool>());
  EXPECT_FALSE(j["key_self_declared"].get<bool>());
  EXPECT_FALSE(j["tsa_ca_self_declared"].get<bool>());
  ASSERT_EQ(j["checks"].size(), 27u);
  for (const auto& c : j["checks"]) {
    // This message did not arrive in a journal report, no witness was given, and it has no
    // sender evidence, and it was not erased; every other check runs and passes.
    const bool skipped = c["id"] == "journal.report" || c["id"] == "checkpoint.witnesses" ||
                         c["id"].get<std::string>().starts_with("sender.") ||
                         c["id"] == "erasure.record";
    EXPECT_EQ(c["status"], skipped ? "SKIP" : "PASS") << c.dump();
  }

  std::string changed = BundleFactory::A().message();
  changed[changed.find("Payment") + 1] = 'A';
  testsupport::WriteFile(eml, changed);
  r = Run({zip_, "--eml", eml});
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_THAT(r.out, HasSubstr("FAIL  eml.compare"));
  EXPECT_THAT(r.out, HasSubstr("NOT MATCHED"));
}

// Extracts the bundle and runs every command VERIFY.md shows (except unzip and notary-verify)
// with /bin/sh in the extracted folder: sha256sum, openssl pkeyutl and openssl ts -verify.
TEST_F(BundleCliTest, VerifyMdCommandsSucceedWithOpensslAlone) {
  auto bundle = ReadBundleZip(BundleFactory::A().Zip());
  ASSERT_TRUE(bundle.ok());
  std::string folder = dir_ + "/evidence";
  for (const auto& [name, data] : bundle->files) {
    std::filesystem::create_directories(std::filesystem::path(folder + "/" + name).parent_path());
    testsupport::WriteFile(folder + "/" + name, data);
  }
  const BundleInput& in = bundle->evidence;
  std::istringstream md(bundle->files.at("VERIFY.md"));
  std::string line, all_output;
  int commands = 0, ts_commands = 0;
  while (std::getline(md, line)) {
    if (line.rfind("    ", 0) != 0) continue;
    std::string cmd = line.substr(4);
    if (cmd.rfind("unzip", 0) == 0 || cmd.rfind("notary-verify", 0) == 0 ||
        cmd.rfind("    --", 0) == 0) {
      continue;
    }
    auto r = RunCommand({"/bin/sh", "-c", "cd '" + folder + "' && " + cmd});
    EXPECT_EQ(r.exit_code, 0) << cmd << "\n" << r.out;
    all_output += r.out;
    ++commands;
    if (cmd.rfind("openssl ts -verify", 0) == 0) {
      ++ts_commands;
      EXPECT_THAT(r.out, HasSubstr("Verification: OK")) << cmd;
    }
  }
  EXPECT_GE(commands, 9);
  EXPECT_EQ(ts_commands, 2);  // this block's token and the previous block's
  EXPECT_THAT(all_output, HasSubstr(common::ToHex(in.receipt.raw_sha256)));
  EXPECT_THAT(all_output, HasSubstr(common::ToHex(in.leaf_hash)));
  EXPECT_THAT(all_output, HasSubstr(common::ToHex(in.block.block_hash)));
  EXPECT_THAT(all_output, HasSubstr(BundleFactory::A().fingerprint()));
  size_t verified = 0;
  for (size_t p = 0;
       (p = all_output.find("Signature Verified Successfully", p)) != std::string::npos; ++p) {
    ++verified;
  }
  EXPECT_EQ(verified, 2u);  // the block and the checkpoint

  // openssl rejects a token checked against another block's hash.
  auto r = RunCommand({"/bin/sh", "-c",
                       "cd '" + folder + "' && openssl ts -verify -digest " +
                           common::ToHex(in.previous_block->block_hash) +
                           " -in tokens/1-0.tsr -token_in -CAfile tsa-ca.pem "
                           "-untrusted tsa-chain.pem"});
  EXPECT_NE(r.exit_code, 0) << r.out;
}

// Issue 22: the bundle of an erased message verifies, says when and why it was erased, still
// says MATCHED for a copy of the original, and its VERIFY.md commands show with sha256sum that
// the sealed record binds the details.
TEST_F(BundleCliTest, ErasedMessageBundleVerifiesAndMatchesTheOriginal) {
  auto zip = BuildBundleZip(BundleFactory::A().ErasedInput("subject's request"));
  ASSERT_TRUE(zip.ok()) << zip.error().ToString();
  const std::string erased = dir_ + "/erased.zip", eml = dir_ + "/copy.eml";
  testsupport::WriteFile(erased, *zip);
  testsupport::WriteFile(eml, BundleFactory::A().message());
  auto r = Run({erased, "--fingerprint", BundleFactory::A().fingerprint(), "--eml", eml});
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_THAT(r.out, HasSubstr("PASS  erasure.record"));
  EXPECT_THAT(r.out, HasSubstr("ERASED   2026-01-20T10:20:30.000000Z"));
  EXPECT_THAT(r.out, HasSubstr("reason: subject's request"));
  EXPECT_THAT(r.out, HasSubstr("MATCHED  the file given with --eml"));
  EXPECT_THAT(r.out, HasSubstr("VERDICT: VALID"));

  Bundle b = *ReadBundleZip(*zip);
  const std::string folder = dir_ + "/erased";
  for (const auto& [name, data] : b.files) {
    std::filesystem::create_directories(std::filesystem::path(folder + "/" + name).parent_path());
    testsupport::WriteFile(folder + "/" + name, data);
  }
  const std::string& md = b.files.at("VERIFY.md");
  ASSERT_THAT(md, HasSubstr("    sha256sum erasure-details.json\n"));
  ASSERT_THAT(md, HasSubstr("    tail -c 64 erasure-record.bin | head -c 32 | xxd -p -c 32\n"));
  auto sh = [&](const std::string& cmd) {
    return RunCommand({"/bin/sh", "-c", "cd '" + folder + "' && " + cmd}).out;
  };
  const std::string details = sh("sha256sum erasure-details.json").substr(0, 64);
  EXPECT_EQ(details, common::ToHex(common::Sha256Of(b.evidence.erasure->details)));
  EXPECT_EQ(sh("tail -c 64 erasure-record.bin | head -c 32 | xxd -p -c 32"), details + "\n");
  EXPECT_THAT(sh("(printf '\\000'; cat erasure-record.bin) | sha256sum"),
              HasSubstr(common::ToHex(b.evidence.erasure->leaf_hash)));
}

// Issue 17, finding 5: receipt ids and entry names were printed raw, so a crafted bundle could
// paint "VERDICT: VALID" over the real verdict with terminal escape sequences.
TEST_F(BundleCliTest, ValuesFromTheBundleCannotWriteTerminalEscapes) {
  Bundle b = *ReadBundleZip(BundleFactory::A().Zip());
  auto j = nlohmann::ordered_json::parse(b.files["evidence.json"]);
  j["receipt"]["id"] = "r\x1b[1A\x1b[2K\rVERDICT: VALID - every check passed.\x1b[8m";
  b.files["evidence.json"] = j.dump(2);
  std::vector<std::pair<std::string, std::string>> entries(b.files.begin(), b.files.end());
  std::string forged = dir_ + "/forged.zip";
  testsupport::WriteFile(forged, bundle_test::MakeZip(entries));
  auto r = Run({forged, "--fingerprint", BundleFactory::A().fingerprint()});
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_EQ(r.out.find('\x1b'), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find('\r'), std::string::npos) << r.out;
  EXPECT_THAT(r.out, HasSubstr("\\x1b[1A"));
  EXPECT_THAT(r.out, HasSubstr("VERDICT: INVALID"));
}

}  // namespace
}  // namespace notary
