// Evidence bundles: a real bundle verifies, and every kind of tampering fails naming the check
// that catches it. The bundle comes from bundle_fixture: real message, leaf records, signed
// blocks, RFC 3161 tokens and checkpoints.
#include "evidence/bundle.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <iostream>
#include <nlohmann/json.hpp>

#include "bundle_fixture.h"
#include "common/rfc6962.h"
#include "common/sha256.h"
#include "mime/canonical.h"
#include "support/test_support.h"

namespace notary {
namespace {

using bundle_test::BundleFactory;
using bundle_test::MakeZip;
using ::testing::HasSubstr;
using ::testing::Not;

// The leaf hash of a part's record, as evidence.json states it.
common::Hash PartRecordLeafHashForTest(const Part& p, uint32_t canon_version) {
  return common::HashLeaf(mime::EncodePartRecord(p, canon_version));
}

const std::vector<std::string> kCheckIds = {"bundle.files",
                                            "message.raw_sha256",
                                            "message.canonical_sha256",
                                            "parts.records",
                                            "parts.root",
                                            "leaf.record",
                                            "leaf.hash",
                                            "block.header",
                                            "batch.inclusion",
                                            "block.signature",
                                            "block.hash",
                                            "timestamp.block",
                                            "timestamp.previous",
                                            "timestamp.interval",
                                            "checkpoint.signature",
                                            "checkpoint.inclusion",
                                            "checkpoint.consistency",
                                            "eml.compare",
                                            "attachment.match",
                                            "journal.report",
                                            "texts.rendered",
                                            "checkpoint.witnesses",
                                            "sender.record",
                                            "sender.dkim",
                                            "sender.policy",
                                            "sender.dnssec",
                                            "erasure.record"};

Bundle Read(const std::string& zip) {
  auto b = ReadBundleZip(zip);
  EXPECT_TRUE(b.ok()) << b.error().ToString();
  return b.ok() ? std::move(*b) : Bundle{};
}

VerifyReport Verify(const std::string& zip, const VerifyOptions& opt = {}) {
  return VerifyBundle(Read(zip), opt);
}

const CheckResult& Find(const VerifyReport& r, const std::string& id) {
  for (const auto& c : r.checks) {
    if (c.id == id) return c;
  }
  ADD_FAILURE() << "no check " << id;
  static const CheckResult kNone;
  return kNone;
}

std::string FirstFailure(const VerifyReport& r) {
  for (const auto& c : r.checks) {
    if (c.status == CheckStatus::kFail) return c.id;
  }
  return "";
}

std::string Describe(const VerifyReport& r) {
  std::string s;
  for (const auto& c : r.checks) {
    s += std::string(CheckStatusName(c.status)) + " " + c.id + ": " + c.reason + "\n";
  }
  return s;
}

VerifyOptions PinnedA() {
  VerifyOptions o;
  o.pinned_fingerprints = {BundleFactory::A().fingerprint()};
  o.tsa_ca_pems = {BundleFactory::A().tsa().ca_cert_pem};
  return o;
}

// The zip's entries, with `edit` applied, zipped again (what someone editing the extracted
// folder and zipping it back produces).
std::string Rezip(const std::string& zip,
                  const std::function<void(std::map<std::string, std::string>&)>& edit) {
  Bundle b = Read(zip);
  edit(b.files);
  std::vector<std::pair<std::string, std::string>> entries(b.files.begin(), b.files.end());
  return MakeZip(entries);
}

// Edits evidence.json as JSON.
std::string EditJson(const std::string& zip, const std::function<void(nlohmann::json&)>& edit) {
  return Rezip(zip, [&](auto& files) {
    auto j = nlohmann::json::parse(files.at("evidence.json"));
    edit(j);
    files["evidence.json"] = j.dump(2);
  });
}

std::string FlipHexDigit(std::string hex, size_t pos) {
  hex[pos] = hex[pos] == '0' ? '1' : '0';
  return hex;
}

TEST(BundleTest, CompleteBundleVerifiesAndSaysTheKeyIsSelfDeclared) {
  VerifyReport r = Verify(BundleFactory::A().Zip());
  EXPECT_TRUE(r.valid) << Describe(r);
  std::vector<std::string> ids;
  for (const auto& c : r.checks) ids.push_back(c.id);
  EXPECT_EQ(ids, kCheckIds);
  for (const auto& c : r.checks) {
    bool optional = c.id == "checkpoint.consistency" || c.id == "eml.compare" ||
                    c.id == "attachment.match" || c.id == "journal.report" ||
                    c.id == "checkpoint.witnesses" || c.id.starts_with("sender.") ||
                    c.id == "erasure.record";
    EXPECT_EQ(c.status, optional ? CheckStatus::kSkip : CheckStatus::kPass)
        << c.id << ": " << c.reason;
  }
  EXPECT_TRUE(r.key_self_declared);
  EXPECT_TRUE(r.tsa_ca_self_declared);
  EXPECT_EQ(r.key_fingerprint, BundleFactory::A().fingerprint());
  EXPECT_THAT(Find(r, "block.signature").reason, HasSubstr("SELF-DECLARED"));
  EXPECT_THAT(Find(r, "block.signature").reason, HasSubstr(BundleFactory::A().fingerprint()));
  EXPECT_THAT(Find(r, "timestamp.block").reason, HasSubstr("SELF-DECLARED"));
  EXPECT_EQ(r.block_height, 1u);
  ASSERT_TRUE(r.not_before_us && r.not_after_us);
  EXPECT_LE(*r.not_before_us, r.received_at_us);
  EXPECT_LE(r.received_at_us, *r.not_after_us);
}

TEST(BundleTest, VerifiesWithPinnedFingerprintKeyAndTsaCa) {
  VerifyReport r = Verify(BundleFactory::A().Zip(), PinnedA());
  EXPECT_TRUE(r.valid) << Describe(r);
  EXPECT_FALSE(r.key_self_declared);
  EXPECT_FALSE(r.tsa_ca_self_declared);
  EXPECT_THAT(Find(r, "block.signature").reason, HasSubstr("pinned key"));

  VerifyOptions by_pem;
  by_pem.pinned_key_pems = {BundleFactory::A().public_pem()};
  EXPECT_TRUE(Verify(BundleFactory::A().Zip(), by_pem).valid);
}

TEST(BundleTest, ZipHoldsExactlyTheDocumentedFiles) {
  Bundle b = Read(BundleFactory::A().Zip());
  std::vector<std::string> names;
  for (const auto& [name, _] : b.files) names.push_back(name);
  std::string key = "keys/" + KeyId(BundleFactory::A().signer().public_key()) + ".pem";
  std::vector<std::string> expected = {"canonical-form.txt", "VERIFY.md",
                                       "block/0.header",     "block/0.sig",
                                       "block/1.header",     "block/1.sig",
                                       "certificate.html",   "checkpoint.txt",
                                       "evidence.json",      key,
                                       "leaf-record.bin",    "message.eml",
                                       "tokens/0-0.tsr",     "tokens/1-0.tsr",
                                       "tsa-ca.pem",         "tsa-chain.pem"};
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(names, expected);
  EXPECT_EQ(b.files.at("message.eml"), BundleFactory::A().message());
  // Building twice gives the same bytes (fixed times, fixed order).
  EXPECT_EQ(BundleFactory::A().Zip(), BundleFactory::A().Zip());
}

// certificate.pdf added to a built bundle (what notaryd does once the bundle is checked) gives
// the entries a bundle built with it has, each entry of the first copied as it was; a second
// PDF, or bytes that are not a zip, are refused.
TEST(BundleTest, AddingTheCertificatePdfKeepsEveryEntryAndStoresThePdf) {
  const BundleInput in = BundleFactory::A().Input();
  const std::string plain = BundleFactory::A().Zip();
  const std::string pdf = "%PDF-1.7\n% not a real one, stored as it is\n%%EOF\n";
  auto added = notary::AddCertificatePdf(plain, pdf, in.issued_at_us);
  ASSERT_TRUE(added.ok()) << added.error().message();
  auto built = notary::BuildBundleZip(in, pdf);
  ASSERT_TRUE(built.ok());
  EXPECT_EQ(Read(*added).files, Read(*built).files);
  EXPECT_EQ(Read(*added).files.at("certificate.pdf"), pdf);
  // The PDF is stored, as BuildBundleZip stores it.
  auto listing = testsupport::RunCommand(
      {"sh", "-c", "f=$(mktemp) && cat > $f && unzip -v $f; rm -f $f"}, *added);
  EXPECT_NE(listing.out.find("Stored"), std::string::npos) << listing.out;
  EXPECT_TRUE(Verify(*added).valid);

  auto twice = notary::AddCertificatePdf(*added, pdf, in.issued_at_us);
  ASSERT_FALSE(twice.ok());
  EXPECT_EQ(twice.error().code(), common::ErrorCode::kInvalidInput);
  EXPECT_FALSE(notary::AddCertificatePdf("not a zip", pdf, in.issued_at_us).ok());
}

TEST(BundleTest, OneByteOfTheMessageFailsTheRawHash) {
  std::string zip =
      Rezip(BundleFactory::A().Zip(), [](auto& files) { files["message.eml"][700] ^= 0x01; });
  VerifyReport r = Verify(zip, PinnedA());
  EXPECT_FALSE(r.valid);
  EXPECT_EQ(FirstFailure(r), "message.raw_sha256") << Describe(r);
  EXPECT_EQ(Find(r, "leaf.record").status, CheckStatus::kPass);
}

TEST(BundleTest, ChangedReceiptFieldsFailTheLeafRecord) {
  std::string zip = EditJson(BundleFactory::A().Zip(), [](auto& j) {
    j["receipt"]["envelope"]["recipients"][0] = "mallory@example.org";
  });
  VerifyReport r = Verify(zip, PinnedA());
  EXPECT_EQ(FirstFailure(r), "leaf.record") << Describe(r);
  EXPECT_THAT(Find(r, "leaf.record").reason, HasSubstr("receipt.envelope"));

  zip = EditJson(BundleFactory::A().Zip(), [](auto& j) {
    j["receipt"]["received_at_us"] = bundle_test::kT0 - 7'200'000'000;
  });
  r = Verify(zip, PinnedA());
  EXPECT_EQ(FirstFailure(r), "leaf.record") << Describe(r);
  EXPECT_THAT(Find(r, "leaf.record").reason, HasSubstr("received_at_us"));
  // Two hours before the previous block's time-stamp is also outside the interval.
  EXPECT_EQ(Find(r, "timestamp.interval").status, CheckStatus::kFail);

  zip = EditJson(BundleFactory::A().Zip(), [](auto& j) { j["receipt"]["id"] = "other"; });
  EXPECT_EQ(FirstFailure(Verify(zip, PinnedA())), "leaf.record");
}

TEST(BundleTest, OneProofHashFailsTheInclusionCheck) {
  std::string zip = EditJson(BundleFactory::A().Zip(), [](auto& j) {
    auto& h = j["batch_proof"]["hashes"][0];
    h = FlipHexDigit(h.template get<std::string>(), 5);
  });
  VerifyReport r = Verify(zip, PinnedA());
  EXPECT_EQ(FirstFailure(r), "batch.inclusion") << Describe(r);

  zip = EditJson(BundleFactory::A().Zip(), [](auto& j) {
    auto& h = j["checkpoint"]["inclusion_proof"][1];
    h = FlipHexDigit(h.template get<std::string>(), 0);
  });
  r = Verify(zip, PinnedA());
  EXPECT_EQ(FirstFailure(r), "checkpoint.inclusion") << Describe(r);
}

TEST(BundleTest, ChangedBlockHeaderFailsTheSignature) {
  // Change sealed_at_us only (bytes 132..139 of the header), keeping every proof intact.
  BundleInput in = BundleFactory::A().Input();
  in.block.header[139] ^= 0x01;
  VerifyReport r = Verify(*BuildBundleZip(in), PinnedA());
  EXPECT_EQ(FirstFailure(r), "block.signature") << Describe(r);
  EXPECT_EQ(Find(r, "block.hash").status, CheckStatus::kFail);
}

TEST(BundleTest, ChangedSignatureFailsTheSignature) {
  BundleInput in = BundleFactory::A().Input();
  in.block.signature[10] ^= 0x01;
  VerifyReport r = Verify(*BuildBundleZip(in), PinnedA());
  EXPECT_EQ(FirstFailure(r), "block.signature") << Describe(r);
}

TEST(BundleTest, ChangedTokenFailsTheTimeStamp) {
  BundleInput in = BundleFactory::A().Input();
  std::string& der = in.block.tokens[0].der;
  der[der.size() - 5] ^= 0x01;  // inside the CMS signature value
  VerifyReport r = Verify(*BuildBundleZip(in), PinnedA());
  EXPECT_EQ(FirstFailure(r), "timestamp.block") << Describe(r);
  EXPECT_EQ(Find(r, "timestamp.interval").status, CheckStatus::kFail);

  // A genuine token over another block.
  in = BundleFactory::A().Input();
  in.block.tokens = in.previous_block->tokens;
  r = Verify(*BuildBundleZip(in), PinnedA());
  EXPECT_EQ(FirstFailure(r), "timestamp.block") << Describe(r);
  EXPECT_THAT(Find(r, "timestamp.block").reason, HasSubstr("imprint"));
}

TEST(BundleTest, TokenFromAnotherTsaFailsAgainstThePinnedTsaCa) {
  VerifyOptions opt = PinnedA();
  opt.tsa_ca_pems = {BundleFactory::B().tsa().ca_cert_pem};
  VerifyReport r = Verify(BundleFactory::A().Zip(), opt);
  EXPECT_EQ(FirstFailure(r), "timestamp.block") << Describe(r);
}

TEST(BundleTest, ResignedWithAnotherKeyFailsOnlyWithThePinnedKey) {
  auto forger = *Ed25519Signer::FromSeed(std::vector<uint8_t>(32, 0x66));
  // The forger keeps the evidence and swaps the notary's signatures and key for his own
  // (having them time-stamped anew): everything is consistent except who signed.
  BundleInput in = BundleFactory::A().Input();
  BundleFactory::A().Reseal(in, forger);
  std::string zip = *BuildBundleZip(in);

  VerifyReport self = Verify(zip);
  EXPECT_TRUE(self.valid) << Describe(self);                          // internally consistent...
  EXPECT_EQ(self.key_fingerprint, Fingerprint(forger.public_key()));  // ...but another key
  EXPECT_THAT(Find(self, "block.signature").reason, HasSubstr("SELF-DECLARED"));

  VerifyReport pinned = Verify(zip, PinnedA());
  EXPECT_FALSE(pinned.valid);
  EXPECT_EQ(FirstFailure(pinned), "block.signature") << Describe(pinned);
  EXPECT_THAT(Find(pinned, "block.signature").reason, HasSubstr("not a pinned key"));
  EXPECT_EQ(Find(pinned, "checkpoint.signature").status, CheckStatus::kFail);

  VerifyOptions by_pem;
  by_pem.pinned_key_pems = {BundleFactory::A().public_pem()};
  EXPECT_EQ(FirstFailure(Verify(zip, by_pem)), "block.signature");
}

TEST(BundleTest, BundleFromAnotherNotaryFailsThePinnedKey) {
  VerifyReport own = Verify(BundleFactory::B().Zip());
  EXPECT_TRUE(own.valid) << Describe(own);
  VerifyReport r = Verify(BundleFactory::B().Zip(), PinnedA());
  EXPECT_FALSE(r.valid);
  EXPECT_EQ(FirstFailure(r), "block.signature") << Describe(r);
  EXPECT_EQ(Find(r, "timestamp.block").status, CheckStatus::kFail);  // A's TSA CA pinned
  EXPECT_EQ(Find(r, "checkpoint.signature").status, CheckStatus::kFail);
}

TEST(BundleTest, NewerCheckpointMustBeConsistent) {
  const BundleFactory& a = BundleFactory::A();
  VerifyOptions opt = PinnedA();
  opt.newer_checkpoint = a.NewerCheckpoint(true);
  opt.consistency_proof_json = a.ConsistencyProofJson(true);
  VerifyReport r = Verify(a.Zip(), opt);
  EXPECT_TRUE(r.valid) << Describe(r);
  EXPECT_EQ(Find(r, "checkpoint.consistency").status, CheckStatus::kPass);

  opt.newer_checkpoint = a.NewerCheckpoint(false);
  opt.consistency_proof_json = a.ConsistencyProofJson(false);
  r = Verify(a.Zip(), opt);
  EXPECT_EQ(FirstFailure(r), "checkpoint.consistency") << Describe(r);
  EXPECT_THAT(Find(r, "checkpoint.consistency").reason, HasSubstr("fork"));

  // The honest proof does not rescue a forked checkpoint either.
  opt.consistency_proof_json = a.ConsistencyProofJson(true);
  EXPECT_EQ(FirstFailure(Verify(a.Zip(), opt)), "checkpoint.consistency");

  opt.consistency_proof_json.reset();
  r = Verify(a.Zip(), opt);
  EXPECT_EQ(FirstFailure(r), "checkpoint.consistency");
  EXPECT_THAT(Find(r, "checkpoint.consistency").reason,
              HasSubstr("/v1/proofs/consistency?first=7&second=9"));

  // A newer checkpoint signed by another notary is not trusted.
  opt.newer_checkpoint = BundleFactory::B().NewerCheckpoint(true);
  EXPECT_EQ(FirstFailure(Verify(a.Zip(), opt)), "checkpoint.consistency");
}

TEST(BundleTest, EmlCopyThroughAnotherRelayMatchesAndAChangedBodyDoesNot) {
  const std::string& original = BundleFactory::A().message();
  // Another hop adds a Received header, and the mailbox stores LF line ends.
  std::string relayed =
      "Received: from mx.example.org (mx.example.org [198.51.100.7])\r\n"
      "\tby mail.example.net with ESMTPS id 4dR2; Tue, 01 Jul 2025 10:00:05 +0200\r\n" +
      original;
  std::string lf;
  for (char c : relayed) {
    if (c != '\r') lf += c;
  }
  VerifyOptions opt = PinnedA();
  opt.eml = lf;
  VerifyReport r = Verify(BundleFactory::A().Zip(), opt);
  EXPECT_TRUE(r.valid) << Describe(r);
  EXPECT_EQ(Find(r, "eml.compare").status, CheckStatus::kPass);
  EXPECT_THAT(Find(r, "eml.compare").reason, HasSubstr("bytes differ"));

  std::string changed = original;
  size_t pos = changed.find("Payment is due on 1 August");
  ASSERT_NE(pos, std::string::npos);
  changed[pos + 22] = '2';  // "1 August" -> "2 August"
  opt.eml = changed;
  r = Verify(BundleFactory::A().Zip(), opt);
  EXPECT_FALSE(r.valid);
  EXPECT_EQ(FirstFailure(r), "eml.compare") << Describe(r);
  EXPECT_THAT(Find(r, "eml.compare").reason, HasSubstr("part 1"));
}

TEST(BundleTest, AttachmentIsFoundAmongTheParts) {
  VerifyOptions opt = PinnedA();
  opt.attachment = BundleFactory::A().Attachment();
  VerifyReport r = Verify(BundleFactory::A().Zip(), opt);
  EXPECT_TRUE(r.valid) << Describe(r);
  EXPECT_EQ(Find(r, "attachment.match").status, CheckStatus::kPass);
  EXPECT_THAT(Find(r, "attachment.match").reason, HasSubstr("part 2 \"contract.pdf\""));

  opt.attachment = "not an attachment";
  r = Verify(BundleFactory::A().Zip(), opt);
  EXPECT_EQ(FirstFailure(r), "attachment.match");
}

TEST(BundleTest, SelectiveDisclosureProvesOnePartAndHidesTheRest) {
  std::string zip = BundleFactory::A().Zip("2");
  Bundle b = Read(zip);
  EXPECT_FALSE(b.files.contains("message.eml"));
  ASSERT_TRUE(b.files.contains("part-2.bin"));
  EXPECT_EQ(b.files.at("part-2.bin"), BundleFactory::A().Attachment());
  // Part 1 (the body text) is withheld: its hash and type do not appear.
  const std::string& ev = b.files.at("evidence.json");
  BundleInput full = BundleFactory::A().Input();
  EXPECT_THAT(ev, Not(HasSubstr(common::ToHex(full.receipt.parts[0].sha256))));
  EXPECT_THAT(ev, Not(HasSubstr("text/plain")));
  EXPECT_THAT(ev, HasSubstr("\"redacted\": true"));
  EXPECT_THAT(b.files.at("certificate.html"), Not(HasSubstr("Signed contract")));

  VerifyOptions opt = PinnedA();
  opt.attachment = BundleFactory::A().Attachment();
  VerifyReport r = VerifyBundle(b, opt);
  EXPECT_TRUE(r.valid) << Describe(r);
  EXPECT_EQ(Find(r, "message.raw_sha256").status, CheckStatus::kSkip);
  EXPECT_EQ(Find(r, "message.canonical_sha256").status, CheckStatus::kSkip);
  EXPECT_EQ(Find(r, "parts.records").status, CheckStatus::kPass);
  EXPECT_EQ(Find(r, "parts.root").status, CheckStatus::kPass);

  std::string bad = Rezip(zip, [](auto& files) { files["part-2.bin"][100] ^= 0x20; });
  r = Verify(bad, opt);
  EXPECT_EQ(FirstFailure(r), "parts.records") << Describe(r);

  // A withheld part's record hash cannot be changed without breaking parts_root.
  bad = EditJson(zip, [](auto& j) {
    auto& h = j["parts"][0]["record_leaf_hash"];
    h = FlipHexDigit(h.template get<std::string>(), 3);
  });
  EXPECT_EQ(FirstFailure(Verify(bad, opt)), "parts.root");
}

// Issue 22: an erased message's bundle carries nothing of the message, still proves that a
// message with its hashes was received when it says, and still matches a copy of the original.
std::string ErasedZip(const std::string& lang = "en") {
  auto zip =
      BuildBundleZip(BundleFactory::A().ErasedInput("subject's request under GDPR art. 17", lang));
  EXPECT_TRUE(zip.ok()) << zip.error().ToString();
  return zip.ok() ? *zip : "";
}

TEST(BundleTest, ErasedMessageBundleHoldsNothingOfTheMessageAndVerifies) {
  const std::string zip = ErasedZip();
  Bundle b = Read(zip);
  for (const char* gone : {"message.eml", "canonical-form.txt", "journal-report.eml"}) {
    EXPECT_FALSE(b.files.contains(gone)) << gone;
  }
  ASSERT_TRUE(b.files.contains("erasure-record.bin"));
  ASSERT_TRUE(b.files.contains("erasure-details.json"));
  // Nothing personal: not the envelope, the subject, the file name or a part's hash.
  const BundleInput full = BundleFactory::A().Input();
  for (const auto& [name, bytes] : b.files) {
    for (const std::string& secret :
         {std::string("alice@example.com"), std::string("bob@example.org"),
          std::string("Signed contract"), std::string("contract.pdf"), std::string("192.0.2.10"),
          common::ToHex(full.receipt.parts[1].sha256)}) {
      EXPECT_THAT(bytes, Not(HasSubstr(secret))) << name;
    }
  }
  VerifyReport r = VerifyBundle(b, PinnedA());
  EXPECT_TRUE(r.valid) << Describe(r);
  for (const char* skipped : {"message.raw_sha256", "message.canonical_sha256", "parts.records",
                              "parts.root", "journal.report"}) {
    EXPECT_EQ(Find(r, skipped).status, CheckStatus::kSkip) << skipped;
  }
  EXPECT_EQ(Find(r, "leaf.record").status, CheckStatus::kPass);
  EXPECT_EQ(Find(r, "checkpoint.inclusion").status, CheckStatus::kPass);
  EXPECT_EQ(Find(r, "texts.rendered").status, CheckStatus::kPass);
  EXPECT_EQ(Find(r, "erasure.record").status, CheckStatus::kPass);
  EXPECT_THAT(Find(r, "erasure.record").reason, HasSubstr("GDPR art. 17"));
  ASSERT_TRUE(r.erased_at_us.has_value());
  EXPECT_EQ(*r.erased_at_us, bundle_test::kT0 + 5 * 86'400'000'000);
  EXPECT_THAT(b.files.at("certificate.html"), HasSubstr("GDPR art. 17"));
  EXPECT_THAT(Read(ErasedZip("ko")).files.at("certificate.html"), HasSubstr("삭제됨"));
  // A full bundle says it was not erased.
  EXPECT_EQ(Find(Verify(BundleFactory::A().Zip(), PinnedA()), "erasure.record").status,
            CheckStatus::kSkip);
}

TEST(BundleTest, ErasedMessageBundleStillMatchesACopyOfTheOriginal) {
  VerifyOptions opt = PinnedA();
  opt.eml = BundleFactory::A().message();
  VerifyReport r = Verify(ErasedZip(), opt);
  EXPECT_TRUE(r.valid) << Describe(r);
  EXPECT_EQ(Find(r, "eml.compare").status, CheckStatus::kPass);
  EXPECT_THAT(Find(r, "eml.compare").reason, HasSubstr("identical bytes"));

  std::string changed = BundleFactory::A().message();
  changed[changed.find("Payment is due on 1 August") + 22] = '2';
  opt.eml = changed;
  r = Verify(ErasedZip(), opt);
  EXPECT_EQ(FirstFailure(r), "eml.compare") << Describe(r);
  // The attachment question cannot be answered: said, not failed.
  opt.eml.reset();
  opt.attachment = BundleFactory::A().Attachment();
  r = Verify(ErasedZip(), opt);
  EXPECT_TRUE(r.valid) << Describe(r);
  EXPECT_EQ(Find(r, "attachment.match").status, CheckStatus::kSkip);
}

TEST(BundleTest, ForgedOrEditedErasureRecordsFail) {
  const BundleFactory& a = BundleFactory::A();
  auto built = [&](std::optional<ActionRecord> rec) {
    auto zip = BuildBundleZip(a.ErasedInput("subject's request under GDPR art. 17", "en", rec));
    return zip.ok() ? *zip : std::string();
  };
  // The builder refuses a record that is not this receipt's erasure.
  ActionRecord hold = a.ErasureRecord("subject's request under GDPR art. 17");
  hold.action = "hold";
  EXPECT_EQ(built(hold), "");

  const std::string zip = ErasedZip();
  // Another reason than the sealed one: the record does not bind it.
  std::string bad = Rezip(zip, [](auto& f) {
    auto j = nlohmann::json::parse(f.at("evidence.json"));
    std::string details =
        nlohmann::json{{"receipt", j["receipt"]["id"]}, {"reason", "a court order"}}.dump();
    j["erasure"]["details"] = details;
    f["evidence.json"] = j.dump(2);
    f["erasure-details.json"] = details;
  });
  EXPECT_EQ(FirstFailure(Verify(bad, PinnedA())), "texts.rendered");
  EXPECT_EQ(Find(Verify(bad, PinnedA()), "erasure.record").status, CheckStatus::kFail);
  // A record whose leaf is not in the checkpoint's tree.
  bad = EditJson(zip, [](auto& j) { j["erasure"]["leaf_index"] = 7; });
  EXPECT_EQ(Find(Verify(bad, PinnedA()), "erasure.record").status, CheckStatus::kFail);
  bad = EditJson(zip, [](auto& j) {
    auto& h = j["erasure"]["inclusion_proof"][0];
    h = FlipHexDigit(h.template get<std::string>(), 5);
  });
  EXPECT_THAT(Find(Verify(bad, PinnedA()), "erasure.record").reason, HasSubstr("not proven"));
  // The erasure claimed for another receipt (rendered texts aside, the record names this one).
  bad = EditJson(zip, [](auto& j) { j["receipt"]["id"] = "0193e9b2-0000-7d4e-9f00-5a1b2c3d4e5f"; });
  VerifyReport r = Verify(bad, PinnedA());
  EXPECT_EQ(Find(r, "leaf.record").status, CheckStatus::kFail);
  EXPECT_EQ(Find(r, "erasure.record").status, CheckStatus::kFail);
}

TEST(BundleTest, AnErasedBundleCannotCarryOrHideTheMessage) {
  const std::string zip = ErasedZip();
  // The envelope back (someone adding what the erasure removed) or the member dropped.
  auto envelope = EditJson(zip, [](auto& j) {
    j["receipt"]["envelope"] = BundleFactory::A().Input().receipt.envelope.mail_from;
  });
  EXPECT_FALSE(ReadBundleZip(envelope).ok());
  auto dropped = EditJson(zip, [](auto& j) { j.erase("erasure"); });
  EXPECT_THAT(ReadBundleZip(dropped).error().message(), HasSubstr("receipt.envelope"));
  auto with_parts = EditJson(BundleFactory::A().Zip(), [](auto&) {});
  auto parts = EditJson(zip, [&](auto& j) {
    j["parts"] = nlohmann::json::parse(Read(with_parts).files.at("evidence.json"))["parts"];
  });
  EXPECT_THAT(ReadBundleZip(parts).error().message(), HasSubstr("must be empty"));
  auto huge = EditJson(zip, [](auto& j) { j["erasure"]["details"] = std::string(8193, 'x'); });
  EXPECT_THAT(ReadBundleZip(huge).error().message(), HasSubstr("erasure.details"));
  auto message = Rezip(zip, [](auto& f) { f["message.eml"] = BundleFactory::A().message(); });
  EXPECT_FALSE(ReadBundleZip(message).ok());
  // The builder refuses an erased input that still carries the message.
  BundleInput in = BundleFactory::A().ErasedInput();
  in.message = BundleFactory::A().message();
  EXPECT_FALSE(BuildBundleZip(in).ok());
}

TEST(BundleTest, ExtraOrMissingFilesAreRefused) {
  std::string zip = Rezip(BundleFactory::A().Zip(), [](auto& f) { f["notes.txt"] = "hello"; });
  auto r = ReadBundleZip(zip);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error().message(), HasSubstr("unexpected file notes.txt"));

  zip = Rezip(BundleFactory::A().Zip(), [](auto& f) { f["tokens/7-0.tsr"] = "x"; });
  r = ReadBundleZip(zip);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error().message(), HasSubstr("unexpected file tokens/7-0.tsr"));

  for (const char* name : {"message.eml", "tokens/1-0.tsr", "evidence.json", "VERIFY.md"}) {
    zip = Rezip(BundleFactory::A().Zip(), [&](auto& f) { f.erase(name); });
    r = ReadBundleZip(zip);
    ASSERT_FALSE(r.ok()) << name;
    EXPECT_THAT(r.error().message(),
                HasSubstr(std::string("missing ") +
                          (std::string(name) == "evidence.json" ? "" : "file ") + name));
  }
}

TEST(BundleTest, LooseCopiesThatDisagreeWithEvidenceJsonFail) {
  std::string zip = Rezip(BundleFactory::A().Zip(), [](auto& f) {
    f["tokens/1-0.tsr"] = f["tokens/0-0.tsr"];  // openssl would check the wrong token
  });
  VerifyReport r = Verify(zip, PinnedA());
  EXPECT_EQ(FirstFailure(r), "bundle.files") << Describe(r);
  EXPECT_THAT(Find(r, "bundle.files").reason, HasSubstr("tokens/1-0.tsr"));
}

TEST(BundleTest, PathTraversalAndAbsoluteNamesAreRefused) {
  for (const char* name :
       {"../x", "/etc/x", "tokens/../../x", "block/a/b", "a\\b", "..", "keys/.."}) {
    std::string zip = MakeZip({{"evidence.json", "{}"}, {name, "x"}});
    auto r = ReadBundleZip(zip);
    ASSERT_FALSE(r.ok()) << name;
    EXPECT_THAT(r.error().message(), HasSubstr("entry name not allowed")) << name;
  }
}

TEST(BundleTest, DuplicateNamesAreRefused) {
  std::string dir = testsupport::MakeTempDir("bundle_dup");
  std::string path = dir + "/dup.zip";
  auto res = testsupport::RunCommand({"python3", "-c",
                                      "import sys, zipfile, warnings\n"
                                      "warnings.simplefilter('ignore')\n"
                                      "with zipfile.ZipFile(sys.argv[1], 'w') as z:\n"
                                      "    z.writestr('evidence.json', '{}')\n"
                                      "    z.writestr('evidence.json', '{}')\n",
                                      path});
  ASSERT_EQ(res.exit_code, 0) << res.out;
  auto r = ReadBundleZip(testsupport::ReadFile(path));
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error().message(), HasSubstr("duplicate"));
}

TEST(BundleTest, ZipBombIsRefusedWhileInflating) {
  // 210 MiB of zeros deflate to about 200 KiB.
  std::string zeros(210u << 20, '\0');
  std::string zip = MakeZip({{"message.eml", zeros}});
  zeros.clear();
  zeros.shrink_to_fit();
  ASSERT_LT(zip.size(), 1u << 20);
  auto r = ReadBundleZip(zip);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error().message(), HasSubstr("zip bomb"));
}

TEST(BundleTest, TooManyEntriesAndJunkAreRefused) {
  std::vector<std::pair<std::string, std::string>> many;
  for (int i = 0; i < 65; ++i) many.push_back({"f" + std::to_string(i), "x"});
  auto r = ReadBundleZip(MakeZip(many));
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error().message(), HasSubstr("more than 64 entries"));

  EXPECT_FALSE(ReadBundleZip("not a zip at all").ok());
  EXPECT_FALSE(ReadBundleZip("").ok());
  std::string zip = BundleFactory::A().Zip();
  EXPECT_FALSE(ReadBundleZip(zip.substr(0, zip.size() / 2)).ok());
  auto bad_json = ReadBundleZip(Rezip(zip, [](auto& f) { f["evidence.json"] = "{\"format\":"; }));
  ASSERT_FALSE(bad_json.ok());
  EXPECT_THAT(bad_json.error().message(), HasSubstr("evidence.json"));
}

TEST(BundleTest, CertificateIsLocalisedEscapedAndSelfContained) {
  auto korean = std::make_unique<BundleFactory>(
      0x33, "notary.example.kr/log",
      testsupport::ReadFile(testsupport::SourceDir() + "/tests/data/canonical/korean/base.eml"));
  BundleInput in = korean->Input(std::nullopt, "ko");
  in.receipt.provenance.client_name = "<script>alert(1)</script>";
  in.issued_to = "a&b \"quoted\"";
  Bundle b = Read(*BuildBundleZip(in));
  const std::string& html = b.files.at("certificate.html");
  EXPECT_THAT(html, HasSubstr("<html lang=\"ko\">"));
  EXPECT_THAT(html, HasSubstr("증거 증명서"));
  EXPECT_THAT(html, HasSubstr("계약서 송부의 건"));  // the RFC 2047-encoded subject, decoded
  EXPECT_THAT(html, HasSubstr("계약서.pdf"));
  EXPECT_THAT(html, HasSubstr("&lt;script&gt;alert(1)&lt;/script&gt;"));
  EXPECT_THAT(html, HasSubstr("a&amp;b &quot;quoted&quot;"));
  EXPECT_THAT(html, Not(HasSubstr("<script")));
  EXPECT_THAT(html, Not(HasSubstr("http://")));
  EXPECT_THAT(html, Not(HasSubstr("https://")));
  EXPECT_THAT(html, HasSubstr("@media print"));
  EXPECT_THAT(html, HasSubstr(korean->fingerprint()));
  // (The client name is bound by the leaf record: the bundle above fails it; the unaltered
  // one verifies.)
  EXPECT_TRUE(VerifyBundle(Read(korean->Zip(std::nullopt, "ko")), {}).valid);

  in.lang = "zh";
  EXPECT_THAT(Read(*BuildBundleZip(in)).files.at("certificate.html"), HasSubstr("证据证书"));
  in.lang = "en";
  const std::string en = Read(*BuildBundleZip(in)).files.at("certificate.html");
  EXPECT_THAT(en, HasSubstr("Evidence certificate"));
  EXPECT_THAT(en, HasSubstr("2026-01-15T10:20:30.500123Z"));  // received, UTC
  in.lang = "fr";
  EXPECT_FALSE(BuildBundleZip(in).ok());
}

// Issue 17, finding 3: previous_block set to null (and its files deleted) took away the lower
// time bound of a block that is not the genesis block, and the bundle still verified.
TEST(BundleTest, DroppedPreviousBlockFailsUnlessGenesis) {
  std::string zip = Rezip(BundleFactory::A().Zip(), [](auto& files) {
    auto j = nlohmann::json::parse(files.at("evidence.json"));
    j["previous_block"] = nullptr;
    files["evidence.json"] = j.dump(2);
    files.erase("block/0.header");
    files.erase("block/0.sig");
    files.erase("tokens/0-0.tsr");
  });
  VerifyReport r = Verify(zip, PinnedA());
  EXPECT_FALSE(r.valid) << Describe(r);
  EXPECT_EQ(Find(r, "timestamp.previous").status, CheckStatus::kFail) << Describe(r);
  EXPECT_THAT(Find(r, "timestamp.previous").reason, HasSubstr("not the genesis block"));
}

// Issue 17, finding 4: with "mail_from" twice, the verifier used the last value while a person
// (and many parsers) read the first. Duplicate keys, unknown fields and upper-case hex make
// evidence.json malformed.
TEST(BundleTest, DuplicateKeysUnknownFieldsAndUpperCaseHexAreMalformed) {
  const std::string good = BundleFactory::A().Zip();
  auto with_json = [&](const std::function<std::string(std::string)>& edit) {
    return Rezip(good, [&](auto& files) { files["evidence.json"] = edit(files["evidence.json"]); });
  };
  auto first = [](std::string text, const std::string& from, const std::string& to) {
    size_t at = text.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    return text.replace(at, from.size(), to);
  };
  // A forged sender first, the sealed one after it.
  std::string dup = with_json([&](std::string t) {
    return first(t, "\"mail_from\":", "\"mail_from\": \"ceo@example.com\", \"mail_from\":");
  });
  auto r = ReadBundleZip(dup);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error().message(), HasSubstr("appears twice"));

  std::string unknown = with_json([&](std::string t) {
    return first(t, "\"lang\":", "\"amount\": \"USD 1,000,000\", \"lang\":");
  });
  r = ReadBundleZip(unknown);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error().message(), HasSubstr("unknown field"));

  const std::string raw = common::ToHex(BundleFactory::A().Input().receipt.raw_sha256);
  std::string upper_hex = raw;
  for (char& c : upper_hex) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  ASSERT_NE(upper_hex, raw);
  std::string upper = with_json([&](std::string t) { return first(t, raw, upper_hex); });
  r = ReadBundleZip(upper);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error().message(), HasSubstr("lower-case hex"));

  std::string deep = with_json([&](std::string t) {
    return first(t, "\"lang\":", "\"x\": [[[[[[[[[[1]]]]]]]]]], \"lang\":");
  });
  EXPECT_FALSE(ReadBundleZip(deep).ok());
}

// Issue 17, finding 9: an empty message was notarised (SMTP can deliver zero bytes) but its
// evidence request failed with a 500, because the builder refused an empty message.
TEST(BundleTest, EmptyMessageHasABundleThatVerifies) {
  BundleFactory empty(0x33, "notary.example.com/log", "");
  BundleInput in = empty.Input();
  ASSERT_TRUE(in.message.empty());
  auto zip = BuildBundleZip(in);
  ASSERT_TRUE(zip.ok()) << zip.error().ToString();
  VerifyOptions opt;
  opt.pinned_fingerprints = {empty.fingerprint()};
  opt.tsa_ca_pems = {empty.tsa().ca_cert_pem};
  VerifyReport r = Verify(*zip, opt);
  EXPECT_TRUE(r.valid) << Describe(r);
}

// Issue 17, finding 2: editing certificate.html (a judge reads it) or VERIFY.md still verified
// VALID. Both are re-rendered from evidence.json and compared byte for byte.
TEST(BundleTest, EditedCertificateOrVerifyMdFailsNamingTheFile) {
  const std::string zip = BundleFactory::A().Zip();
  VerifyReport good = Verify(zip, PinnedA());
  EXPECT_EQ(Find(good, "texts.rendered").status, CheckStatus::kPass) << Describe(good);

  std::string edited = Rezip(zip, [](auto& files) {
    std::string& html = files["certificate.html"];
    size_t at = html.find("Signed contract");
    ASSERT_NE(at, std::string::npos);
    html.replace(at, 15, "Signed contract for USD 9,000,000");
  });
  VerifyReport r = Verify(edited, PinnedA());
  EXPECT_FALSE(r.valid);
  EXPECT_EQ(FirstFailure(r), "texts.rendered") << Describe(r);
  EXPECT_THAT(Find(r, "texts.rendered").reason, HasSubstr("certificate.html"));
  EXPECT_THAT(Find(r, "texts.rendered").reason, Not(HasSubstr("VERIFY.md")));

  std::string md = Rezip(zip, [](auto& files) { files["VERIFY.md"] += "\nAlso trust us.\n"; });
  r = Verify(md, PinnedA());
  EXPECT_EQ(FirstFailure(r), "texts.rendered") << Describe(r);
  EXPECT_THAT(Find(r, "texts.rendered").reason, HasSubstr("VERIFY.md"));

  // The same evidence and lang give the same bytes; another lang gives another certificate
  // whose bundle verifies too.
  for (const char* lang : {"en", "ko", "zh"}) {
    const std::string a = BundleFactory::A().Zip(std::nullopt, lang);
    EXPECT_EQ(a, BundleFactory::A().Zip(std::nullopt, lang)) << lang;
    EXPECT_TRUE(Verify(a, PinnedA()).valid) << lang << Describe(Verify(a, PinnedA()));
    EXPECT_TRUE(Verify(BundleFactory::A().Zip("2", lang), PinnedA()).valid) << lang;
  }
}

// Texts version 2 (issue 24): the sending server's port labelled in the certificate's
// language and what each time-stamp shows in its own column. A bundle without texts_version
// renders with the frozen version 1 template; stating another version than the one the
// certificate was rendered with fails check 21, and only 2 may be stated.
TEST(BundleTest, TextsVersionChoosesTheTemplateAndCannotBeSwapped) {
  auto korean = std::make_unique<BundleFactory>(
      0x33, "notary.example.kr/log",
      testsupport::ReadFile(testsupport::SourceDir() + "/tests/data/canonical/korean/base.eml"));
  BundleInput in = korean->Input(std::nullopt, "ko");
  Bundle v2 = Read(*BuildBundleZip(in));
  const std::string& html = v2.files.at("certificate.html");
  EXPECT_THAT(html, HasSubstr(" 포트 "));
  EXPECT_THAT(html, Not(HasSubstr(" port ")));
  EXPECT_THAT(html, HasSubstr("<th>시각의 의미</th>"));
  EXPECT_THAT(html, HasSubstr("<td>늦어도 이 시각 이전에 봉인됨</td>"));
  EXPECT_THAT(v2.files.at("evidence.json"), HasSubstr("\"texts_version\": 2"));
  EXPECT_TRUE(VerifyBundle(v2, {}).valid);

  in.texts_version = 1;  // what every bundle before the field was
  Bundle v1 = Read(*BuildBundleZip(in));
  EXPECT_THAT(v1.files.at("certificate.html"), HasSubstr(" port "));
  EXPECT_THAT(v1.files.at("certificate.html"), Not(HasSubstr("시각의 의미")));
  EXPECT_THAT(v1.files.at("evidence.json"), Not(HasSubstr("texts_version")));
  EXPECT_TRUE(VerifyBundle(v1, {}).valid);

  const std::string zip = BundleFactory::A().Zip();
  VerifyReport r = Verify(EditJson(zip, [](auto& j) { j.erase("texts_version"); }), PinnedA());
  EXPECT_EQ(FirstFailure(r), "texts.rendered") << Describe(r);
  for (const nlohmann::json& bad : {nlohmann::json(1), nlohmann::json(3), nlohmann::json("2")}) {
    auto read = ReadBundleZip(EditJson(zip, [&](auto& j) { j["texts_version"] = bad; }));
    ASSERT_FALSE(read.ok()) << bad;
    EXPECT_THAT(read.error().message(), HasSubstr("texts_version")) << bad;
  }
}

// A version 1 bundle cannot have its texts checked, so a downgrade from version 2 (which a
// forger could attempt to escape the check) is refused or fails.
TEST(BundleTest, FormatVersionOneTextsAreNeverTrusted) {
  auto downgrade = [](bool claim_canonical_v1) {
    return Rezip(BundleFactory::A().Zip(), [&](auto& files) {
      auto j = nlohmann::ordered_json::parse(files.at("evidence.json"));
      j["format_version"] = 1;
      auto& r = j["receipt"];
      const auto p = r["provenance"];
      r.erase("provenance");
      r.erase("provenance_bound");
      for (const char* f : {"client_name", "auth_user", "queue_id", "node", "source"}) r[f] = p[f];
      j["message"].erase("canonical_file");
      if (claim_canonical_v1) j["message"]["canon_version"] = 1;
      for (auto& part : j["parts"]) part.erase("salt");
      j.erase("texts_version");  // version 1 bundles have none (§10)
      files["evidence.json"] = j.dump(2);
      files.erase("canonical-form.txt");
    });
  };
  // Canonical form version 2 exists only in bundle format version 2.
  auto refused = ReadBundleZip(downgrade(false));
  ASSERT_FALSE(refused.ok());
  EXPECT_THAT(refused.error().message(), HasSubstr("needs format version 2"));
  // Claiming version 1 everywhere reads, and fails, the texts among the rest.
  VerifyReport r = Verify(downgrade(true), PinnedA());
  EXPECT_FALSE(r.valid);
  EXPECT_EQ(Find(r, "texts.rendered").status, CheckStatus::kFail) << Describe(r);
  EXPECT_THAT(Find(r, "texts.rendered").reason, HasSubstr("format version 1"));
}

TEST(BundleTest, InconsistentInputIsRefusedByTheBuilder) {
  BundleInput in = BundleFactory::A().Input();
  in.disclosed_part = DisclosedPart{"2", "x"};  // and the message too
  EXPECT_FALSE(BuildBundleZip(in).ok());
  in = BundleFactory::A().Input("9");
  EXPECT_FALSE(BuildBundleZip(in).ok());  // no such part: neither message nor part
  in = BundleFactory::A().Input();
  in.block.header = "junk";
  EXPECT_FALSE(BuildBundleZip(in).ok());
}

// An Exchange envelope journal report around `original`, stating `sender` and `recipients`
// (the last one as Bcc), as tests/plugin/journal_test.cc builds them.
std::string JournalReportOf(const std::string& original, const std::string& sender,
                            const std::vector<std::string>& recipients) {
  std::string text = "Sender: " + sender + "\r\nSubject: x\r\nMessage-Id: <x@example>\r\n";
  for (size_t i = 0; i < recipients.size(); ++i) {
    text += (i + 1 == recipients.size() ? "Bcc: " : "To: ") + recipients[i] + "\r\n";
  }
  return "From: journal@example.com\r\nX-MS-Journal-Report:\r\nMIME-Version: 1.0\r\n"
         "Content-Type: multipart/mixed; boundary=\"JR\"\r\n\r\n--JR\r\n"
         "Content-Type: text/plain; charset=us-ascii\r\n\r\n" +
         text + "\r\n--JR\r\nContent-Type: message/rfc822\r\n\r\n" + original + "\r\n--JR--\r\n";
}

TEST(BundleTest, JournalReportIsCheckedAgainstTheSealedEnvelope) {
  const BundleFactory& a = BundleFactory::A();
  const Envelope& env = a.Input().receipt.envelope;
  ASSERT_FALSE(env.recipients.empty());
  // A notary that unwrapped `report`: the leaf record binds the report's hash.
  auto notarised = [&](const std::string& report) {
    return std::make_unique<BundleFactory>(0x44, "journal.example.com/log", a.message(), report);
  };
  auto verify = [](const BundleFactory& f, const std::string& zip) {
    VerifyOptions o;
    o.pinned_fingerprints = {f.fingerprint()};
    o.tsa_ca_pems = {f.tsa().ca_cert_pem};
    return Verify(zip, o);
  };
  const std::string good = JournalReportOf(a.message(), env.mail_from, env.recipients);
  auto f = notarised(good);
  Bundle b = Read(f->Zip());
  EXPECT_EQ(b.files.at("journal-report.eml"), good);
  EXPECT_THAT(b.files.at("certificate.html"), HasSubstr("journal-report.eml"));
  VerifyReport r = verify(*f, f->Zip());
  EXPECT_TRUE(r.valid) << Describe(r);
  EXPECT_EQ(Find(r, "journal.report").status, CheckStatus::kPass) << Describe(r);
  EXPECT_THAT(Find(r, "journal.report").reason, HasSubstr("(1 Bcc)"));

  // A notary whose report states one more (Bcc) recipient than it sealed, another sender, or
  // another original inside it: it bound the report, and the report contradicts the envelope.
  std::vector<std::string> more = env.recipients;
  more.push_back("hidden@example.org");
  const std::string lying = JournalReportOf(a.message(), env.mail_from, more);
  f = notarised(lying);
  r = verify(*f, f->Zip());
  EXPECT_EQ(FirstFailure(r), "journal.report") << Describe(r);
  EXPECT_THAT(Find(r, "journal.report").reason, HasSubstr("recipients"));
  f = notarised(JournalReportOf(a.message(), "someone@else.example", env.recipients));
  EXPECT_THAT(Find(verify(*f, f->Zip()), "journal.report").reason, HasSubstr("sender"));
  f = notarised(JournalReportOf(a.message() + "x", env.mail_from, env.recipients));
  EXPECT_THAT(Find(verify(*f, f->Zip()), "journal.report").reason, HasSubstr("byte for byte"));
  f = notarised(a.message());  // not a journal report at all
  EXPECT_EQ(Find(verify(*f, f->Zip()), "journal.report").status, CheckStatus::kFail);

  // The file swapped after issue: the hash the leaf record binds catches it.
  f = notarised(good);
  std::string swapped = Rezip(f->Zip(), [&](auto& files) { files["journal-report.eml"] = lying; });
  r = verify(*f, swapped);
  EXPECT_EQ(Find(r, "journal.report").status, CheckStatus::kFail) << Describe(r);
  EXPECT_THAT(Find(r, "journal.report").reason, HasSubstr("leaf record binds"));
  // A report attached to a receipt that did not arrive in one (its leaf binds no report).
  BundleInput in = a.Input();
  in.journal_report = good;
  r = Verify(*BuildBundleZip(in), PinnedA());
  EXPECT_EQ(Find(r, "journal.report").status, CheckStatus::kFail) << Describe(r);
  // The report dropped from a bundle whose leaf record binds one.
  std::string dropped = Rezip(f->Zip(), [](auto& files) {
    auto j = nlohmann::json::parse(files.at("evidence.json"));
    j["journal_report"] = nullptr;
    files["evidence.json"] = j.dump(2);
    files.erase("journal-report.eml");
  });
  r = verify(*f, dropped);
  EXPECT_EQ(Find(r, "journal.report").status, CheckStatus::kFail) << Describe(r);

  // Never with a disclosed part; evidence.json naming a report the zip lacks is refused.
  BundleInput part = a.Input("2");
  part.journal_report = good;
  EXPECT_FALSE(BuildBundleZip(part).ok());
  std::string missing = Rezip(f->Zip(), [](auto& files) { files.erase("journal-report.eml"); });
  EXPECT_FALSE(ReadBundleZip(missing).ok());
}

TEST(BundleTest, ReportJsonListsEveryCheck) {
  VerifyReport r = Verify(BundleFactory::A().Zip(), PinnedA());
  auto j = nlohmann::json::parse(VerifyReportJson(r));
  EXPECT_TRUE(j["valid"].get<bool>());
  ASSERT_EQ(j["checks"].size(), kCheckIds.size());
  for (size_t i = 0; i < kCheckIds.size(); ++i) {
    EXPECT_EQ(j["checks"][i]["id"], kCheckIds[i]);
    EXPECT_FALSE(j["checks"][i]["name"].get<std::string>().empty());
  }
  EXPECT_EQ(j["key_fingerprint"], BundleFactory::A().fingerprint());
  EXPECT_EQ(j["received_at"], "2026-01-15T10:20:30.500123Z");
}

// The worked example of docs/evidence-bundle.md: every deterministic value is pinned here
// (tokens and the TSA certificates are random per run and are not).
TEST(BundleTest, SpecWorkedExampleIsPinned) {
  BundleInput in = BundleFactory::A().Input();
  if (std::getenv("NOTARY_PRINT_BUNDLE_EXAMPLE") != nullptr) {
    auto hex = [](std::string_view s) { return common::ToHex(common::AsBytes(s)); };
    std::cout << "raw " << common::ToHex(in.receipt.raw_sha256) << "\ncanonical "
              << common::ToHex(in.receipt.canonical_sha256) << "\nparts_root "
              << common::ToHex(in.receipt.parts_root) << "\nenvelope "
              << common::ToHex(EnvelopeDigest(in.receipt.envelope)) << "\nleaf_record "
              << hex(in.leaf_record) << "\nleaf_hash " << common::ToHex(in.leaf_hash) << "\nbatch0 "
              << common::ToHex(in.batch_proof[0]) << "\nbatch1 " << common::ToHex(in.batch_proof[1])
              << "\nheader " << hex(in.block.header) << "\nsignature " << hex(in.block.signature)
              << "\nblock_hash " << common::ToHex(in.block.block_hash) << "\nprev_hash "
              << common::ToHex(in.previous_block->block_hash) << "\ncheckpoint\n"
              << in.checkpoint << "cp0 " << common::ToHex(in.checkpoint_proof[0]) << "\ncp1 "
              << common::ToHex(in.checkpoint_proof[1]) << "\ncp2 "
              << common::ToHex(in.checkpoint_proof[2]) << "\n";
    for (const auto& p : in.receipt.parts) {
      std::cout << "part " << p.position << " salt " << common::ToHex(p.salt) << " leaf "
                << common::ToHex(PartRecordLeafHashForTest(p, in.receipt.canon_version)) << "\n";
    }
  }
  EXPECT_EQ(BundleFactory::A().fingerprint(),
            "503d8ee46d581c649966569ae095e27041de83322e8e0480e5539e00d2d5d874");
  EXPECT_EQ(common::ToHex(in.receipt.raw_sha256),
            "739b5d01b3664f0f16008cea956413a26247c63892ab1e4f4a78f60246fba122");
  EXPECT_EQ(in.receipt.canon_version, 2u);
  EXPECT_EQ(common::ToHex(in.receipt.canonical_sha256),
            "94b1897528ea23c3de5b99e8a471172d07ea91a7b64f3d0b4f4ab2a2437efeb5");
  EXPECT_EQ(common::ToHex(in.receipt.parts[0].salt),
            "30fb32944bb991bc56b92f316241065eb45862058586a567b5aa30de5c56eb5f");
  EXPECT_EQ(common::ToHex(PartRecordLeafHashForTest(in.receipt.parts[0], 2)),
            "3c3ca1893d379a4845597483bc0f8673832d1070be4bc37b16815459620d4c8a");
  EXPECT_EQ(common::ToHex(PartRecordLeafHashForTest(in.receipt.parts[1], 2)),
            "49e0a69f897b91b10e5ac780bbeea59ae7f6eb6f5912dafaee2695fad88e0b66");
  EXPECT_EQ(common::ToHex(in.receipt.parts_root),
            "8dab726f048e33b22792afe99f3f12faff1446ea060110e396c6c9c833e7eb6e");
  EXPECT_EQ(common::ToHex(EnvelopeDigest(in.receipt.envelope)),
            "339525240b2c65ceed54c70e9199a1a5b8159aa7e79fc7f6c9622297b11d3bf2");
  EXPECT_EQ(common::ToHex(common::AsBytes(in.leaf_record)),
            "656d61696c2d6e6f746172792f6c6561660a000000020000002430313933653962322d376331612d"
            "376434652d396630302d3561316232633364346535660006486a9303d91b739b5d01b3664f0f1600"
            "8cea956413a26247c63892ab1e4f4a78f60246fba12294b1897528ea23c3de5b99e8a471172d07ea"
            "91a7b64f3d0b4f4ab2a2437efeb5000000028dab726f048e33b22792afe99f3f12faff1446ea0601"
            "10e396c6c9c833e7eb6e339525240b2c65ceed54c70e9199a1a5b8159aa7e79fc7f6c9622297b11d"
            "3bf20000000461636d65000000066d696c7465720000000468747470000000086e6f746172792d31"
            "000000106d61696c2e6578616d706c652e636f6d000000000000000b346451783154306162637a00"
            "00001037663361396332316430346535623638000000000000000000000000000000000000000000"
            "0000000000000000000000a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbc"
            "bdbebf");
  EXPECT_EQ(common::ToHex(in.leaf_hash),
            "6603bd5bfb8da1b4526b0ee4ed014ec074fa8baa9bb1b0e3c4bebd45f36544ff");
  ASSERT_EQ(in.batch_proof.size(), 2u);
  EXPECT_EQ(common::ToHex(in.batch_proof[0]),
            "559e5a28e7dfc02d5bff7c0286ca83979e0d671948dee4e020721cf5b357421a");
  EXPECT_EQ(common::ToHex(in.batch_proof[1]),
            "cd53de753c81bf01d53e8c333c995e8a98474d88f2303274b5338fb2f1f37414");
  EXPECT_EQ(common::ToHex(common::AsBytes(in.block.header)),
            "0000000100000000000000015f46d65ca272b840655a32746a10c696dbf44048cbf11fa370b88bc8"
            "f5e67580a6821082aa1b002dd4eef3a91f028e420dbca9dca048007d722a1a222b350a4f00000000"
            "000000020000000000000003000000000000000504397a3996c38f62d1d7890e7185255b199efa39"
            "c1bbd94474f79c56667b2f240006486a930b79c00000001035303364386565343664353831633634");
  EXPECT_EQ(common::ToHex(common::AsBytes(in.block.signature)),
            "0c8fbfc20158d4e597148c5cafda5d2d8e21f4d340db9a984da9a0036c0d2787eeb521486e5067f8"
            "7638d4fda5d4001f649d261121dad9d2536a585e493a6400");
  EXPECT_EQ(common::ToHex(in.block.block_hash),
            "e9740b1f49fecfec99d6c8b8bc04221f2256ff6352e9dc2e2c44deafa7236edb");
  EXPECT_EQ(common::ToHex(in.previous_block->block_hash),
            "5f46d65ca272b840655a32746a10c696dbf44048cbf11fa370b88bc8f5e67580");
  EXPECT_EQ(in.checkpoint,
            "notary.example.com/log\n7\naSOxrP/PKSTzTeVBA84FY6LkTLK6JVdIyuuFibzgcDg=\n\n"
            "\xe2\x80\x94 notary.example.com/log VL8lTUxOM5xL11cbS2+smuOgPx8Kczwf1ab9qKNY4tCRiQfv"
            "xEyboUze8yBylsJfIXmXD33dhsNYpfbSb+kDzrWAMAg=\n");
  ASSERT_EQ(in.checkpoint_proof.size(), 3u);
  EXPECT_EQ(common::ToHex(in.checkpoint_proof[2]),
            "04bb54b6260c2327b8f0fcdb3d2b7cbc5cf6073d47bcb1f82ee179424cb9f937");
}

}  // namespace
}  // namespace notary
