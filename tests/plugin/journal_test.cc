// Exchange / Microsoft 365 envelope journal reports, built the way the published format
// describes (report text: Sender, Subject, Message-Id, then To/Cc/Bcc/Recipient lines with
// optional ", Expanded: <group>" / ", Forwarded: <original>"; the original as an unaltered
// message/rfc822 attachment): the parser, and notaryd notarising the original.
#include "pipeline/journal.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "common/bytes.h"
#include "common/sha256.h"
#include "mail_harness.h"
#include "mime/canonical.h"
#include "storage/database.h"
#include "storage/journal_store.h"
#include "vault/key_wrapper.h"

namespace plugintest {
namespace {

const std::string kOriginal =
    "From: Alice <alice@contoso.com>\r\n"
    "To: Bob <bob@contoso.com>, team@contoso.com\r\n"
    "Cc: carol@fabrikam.com\r\n"
    "Subject: Quarterly figures\r\n"
    "Date: Thu, 26 Nov 2026 09:00:00 +0000\r\n"
    "Message-ID: <orig-1@contoso.com>\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "\r\n"
    "Figures attached in spirit.\r\n"
    "--not-a-boundary\r\n";

const std::string kReportText =
    "Sender: alice@contoso.com\r\n"
    "Subject: Quarterly figures\r\n"
    "Message-Id: <orig-1@contoso.com>\r\n"
    "To: bob@contoso.com\r\n"
    "Cc: carol@fabrikam.com\r\n"
    "Bcc: dave@contoso.com\r\n"
    "To: erin@contoso.com, Expanded: team@contoso.com\r\n"
    "To: frank@contoso.com, Expanded: team@contoso.com\r\n"
    "Cc: grace-alt@contoso.com, Forwarded: grace@contoso.com\r\n";

std::string Report(const std::string& text_part_headers, const std::string& text,
                   const std::string& original = kOriginal) {
  return "From: Microsoft Outlook <MicrosoftExchange@contoso.com>\r\n"
         "To: journal@notary.example\r\n"
         "Subject: Quarterly figures\r\n"
         "Date: Thu, 26 Nov 2026 09:00:01 +0000\r\n"
         "Message-ID: <journal-1@contoso.com>\r\n"
         "X-MS-Journal-Report:\r\n"
         "MIME-Version: 1.0\r\n"
         "Content-Type: multipart/mixed; boundary=\"JR_b0undary\"\r\n"
         "\r\n"
         "--JR_b0undary\r\n" +
         text_part_headers + "\r\n" + text +
         "\r\n--JR_b0undary\r\n"
         "Content-Type: message/rfc822\r\n"
         "Content-Disposition: attachment\r\n"
         "\r\n" +
         original + "\r\n--JR_b0undary--\r\n";
}

std::string PlainReport() {
  return Report(
      "Content-Type: text/plain; charset=\"us-ascii\"\r\n"
      "Content-Transfer-Encoding: 7bit\r\n",
      kReportText);
}

const std::vector<std::string> kRecipients = {"bob@contoso.com",   "carol@fabrikam.com",
                                              "dave@contoso.com",  "erin@contoso.com",
                                              "frank@contoso.com", "grace-alt@contoso.com"};

TEST(JournalReportTest, ParsesEnvelopeAndReturnsTheOriginalsExactBytes) {
  auto parsed = mime::ParseJournalReport(PlainReport());
  ASSERT_TRUE(parsed.ok()) << parsed.error().message();
  ASSERT_TRUE(parsed->has_value());
  const mime::JournalReport& r = **parsed;
  EXPECT_EQ(r.sender, "alice@contoso.com");
  EXPECT_EQ(r.subject, "Quarterly figures");
  EXPECT_EQ(r.message_id, "orig-1@contoso.com");
  EXPECT_EQ(r.original, kOriginal);
  EXPECT_EQ(r.EnvelopeRecipients(), kRecipients);
  ASSERT_EQ(r.recipients.size(), 6u);
  EXPECT_EQ(r.recipients[2].kind, "Bcc");
  EXPECT_EQ(r.recipients[3].redirection, "Expanded");
  EXPECT_EQ(r.recipients[3].source_address, "team@contoso.com");
  EXPECT_EQ(r.recipients[5].redirection, "Forwarded");
  EXPECT_EQ(r.recipients[5].source_address, "grace@contoso.com");
}

TEST(JournalReportTest, DecodesABase64ReportTextAndAcceptsLfLineEnds) {
  std::string b64 =
      "U2VuZGVyOiBhbGljZUBjb250b3NvLmNvbQ0KU3ViamVjdDogUXVhcnRhbHN6YWhsZW4g4oCTIMOcYmVyc2ljaHQN"
      "Ck1lc3NhZ2UtSWQ6IDxvcmlnLTFAY29udG9zby5jb20+DQpUbzogYm9iQGNvbnRvc28uY29tDQpCY2M6IGRhdmVA"
      "Y29udG9zby5jb20NCg==";
  auto parsed = mime::ParseJournalReport(Report(
      "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n", b64));
  ASSERT_TRUE(parsed.ok()) << parsed.error().message();
  ASSERT_TRUE(parsed->has_value());
  EXPECT_EQ((*parsed)->subject,
            "Quartalszahlen \xE2\x80\x93 \xC3\x9C"
            "bersicht");
  EXPECT_EQ((*parsed)->EnvelopeRecipients(),
            (std::vector<std::string>{"bob@contoso.com", "dave@contoso.com"}));

  std::string lf = PlainReport();
  std::string out;
  for (char c : lf) {
    if (c != '\r') out += c;
  }
  auto parsed_lf = mime::ParseJournalReport(out);
  ASSERT_TRUE(parsed_lf.ok()) << parsed_lf.error().message();
  std::string original_lf;
  for (char c : kOriginal) {
    if (c != '\r') original_lf += c;
  }
  EXPECT_EQ((*parsed_lf)->original, original_lf);
}

TEST(JournalReportTest, OrdinaryMessagesAndBrokenReportsAreTold) {
  auto plain = mime::ParseJournalReport(kOriginal);
  ASSERT_TRUE(plain.ok());
  EXPECT_FALSE(plain->has_value());

  std::string no_original = PlainReport();
  no_original.replace(no_original.find("message/rfc822"), 14, "text/plain");
  EXPECT_FALSE(mime::ParseJournalReport(no_original).ok());

  EXPECT_FALSE(mime::ParseJournalReport(
                   Report("Content-Type: text/plain\r\n", "Subject: no sender, no recipient\r\n"))
                   .ok());

  // journal_fuzz: a long Content-Type parameter name of invalid UTF-8 made GMime's parameter
  // encoder grow until memory ran out (83 bytes). Such a report is refused before GMime sees it.
  const std::string hostile(
      "X-MS-Journal-Report:\x0a"
      "Content-Type:multipart/"
      "e;"
      "\xff\xff\xff\xff\xff\xff\xff\xdb\xdb\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff"
      "\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xdb=\xdb",
      83);
  auto refused = mime::ParseJournalReport(hostile);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message().find("not UTF-8"), std::string::npos);

  // A broken report is left alone: notarised as received, not as a journal.
  pipeline::Arrival arrival;
  arrival.envelope.mail_from = "postmaster@contoso.com";
  arrival.provenance.source = "smtp";
  std::string raw = no_original;
  EXPECT_FALSE(pipeline::UnwrapJournalReport(arrival, raw).has_value());
  EXPECT_EQ(raw, no_original);
  EXPECT_EQ(arrival.envelope.mail_from, "postmaster@contoso.com");
  EXPECT_EQ(arrival.provenance.source, "smtp");
}

class JournalNotaryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testsupport::MakeTempDir("journal");
    notary_ = std::make_unique<Notary>(dir_);
    notary_->Start();
  }
  void ExpectJournalReceipt(const nlohmann::json& j, const std::string& report) {
    EXPECT_EQ(j["source"], "journal");
    EXPECT_EQ(j["envelope_from"], "alice@contoso.com");
    EXPECT_EQ(j["envelope_to"], nlohmann::json(kRecipients));
    EXPECT_EQ(
        j["canonical_sha256"],
        common::ToHex(mime::Canonicalize(kOriginal, mime::kLatestCanonVersion).canonical_sha256));
    auto kept = StoredReport(j["id"]);
    ASSERT_TRUE(kept.ok()) << kept.error().ToString();
    ASSERT_TRUE(kept->has_value());
    EXPECT_EQ((*kept)->data, report);
    EXPECT_EQ((*kept)->sha256, common::Sha256Of(report));
    // At rest the report is sealed (migration 0012): the table holds no word of it.
    EXPECT_EQ(testsupport::Psql(notary_->db().SuperUrl(),
                                "SELECT count(*) FROM journal_reports WHERE kek_id IS NULL OR"
                                " position(convert_to('contoso', 'UTF8') in data) > 0"),
              "0");
  }
  // The report kept for receipt `id`, opened with notaryd's key pairs.
  common::Result<std::optional<storage::JournalReportRow>> StoredReport(const std::string& id) {
    auto db = storage::Database::Open({notary_->db().AppUrl(), 1});
    if (!db.ok()) return db.error();
    auto holder = vault::FileKeyHolder::Open(dir_ + "/notaryd/keks.d");
    if (!holder.ok()) return holder.error();
    vault::Wrapper wrapper(**holder);
    storage::JournalStore store(**db, &wrapper);
    return store.Get(id, "default");
  }
  std::string dir_;
  std::unique_ptr<Notary> notary_;
};

// Only a trusted journaling source may have its reports unwrapped: an API key with the
// `journal` scope, or an SMTP client in --smtp-journal-from.
TEST_F(JournalNotaryTest, HttpIngestNotarisesTheOriginalWithTheReportsEnvelope) {
  const std::string report = PlainReport();
  auto posted =
      HttpPost(notary_->url() + "/v1/messages", notary_->CreateKey("ingest,read,journal"), report);
  ASSERT_EQ(posted.status, 201) << posted.body;
  auto receipt = nlohmann::json::parse(posted.body);
  EXPECT_EQ(receipt["raw_sha256"], common::ToHex(common::Sha256Of(kOriginal)));
  auto got = HttpGet(notary_->url() + "/v1/messages/" + receipt["id"].get<std::string>(),
                     notary_->api_key());
  ASSERT_EQ(got.status, 200);
  ExpectJournalReceipt(nlohmann::json::parse(got.body), report);
}

// Issue 17, finding 1: any message carrying X-MS-Journal-Report, from anyone, was unwrapped,
// and the sealed envelope became what its sender wrote inside the report. From a source the
// operator did not declare, the report is notarised as received, with the envelope the notary
// observed.
TEST_F(JournalNotaryTest, ReportsFromUntrustedSourcesAreNotarisedAsReceived) {
  const std::string report = PlainReport();
  // swaks ends DATA with a line end of its own, after the file's last one.
  auto expect_as_received = [&](const nlohmann::json& j, const std::string& source) {
    EXPECT_EQ(j["source"], source);
    EXPECT_EQ(j["raw_sha256"],
              common::ToHex(common::Sha256Of(source == "smtp" ? report + "\r\n" : report)));
    EXPECT_NE(j["envelope_from"], "alice@contoso.com");
    auto kept = StoredReport(j["id"]);
    ASSERT_TRUE(kept.ok()) << kept.error().ToString();
    EXPECT_FALSE(kept->has_value());
  };
  // HTTP, with an ingest key that lacks the journal scope (the milter's kind of key).
  auto posted = HttpPost(notary_->url() + "/v1/messages", notary_->api_key(), report,
                         {{"X-Envelope-From", "<mallory@attacker.example>"},
                          {"X-Envelope-To", "<journal@notary.example>"}});
  ASSERT_EQ(posted.status, 201) << posted.body;
  auto got = HttpGet(notary_->url() + "/v1/messages/" +
                         nlohmann::json::parse(posted.body)["id"].get<std::string>(),
                     notary_->api_key());
  ASSERT_EQ(got.status, 200);
  auto j = nlohmann::json::parse(got.body);
  expect_as_received(j, "http");
  EXPECT_EQ(j["envelope_from"], "mallory@attacker.example");

  // SMTP from a network not declared a journaling source, with swaks.
  const std::string file = dir_ + "/report.eml";
  testsupport::WriteFile(file, report);
  auto sent = Swaks(notary_->smtp_port(), {"--from", "mallory@attacker.example", "--to",
                                           "journal@notary.example", "--data", "@" + file});
  ASSERT_EQ(sent.exit_code, 0) << sent.out;
  auto found = notary_->Search("from=mallory@attacker.example&limit=10");
  ASSERT_EQ(found.size(), 2u);
  for (const auto& item : found) {
    auto r = nlohmann::json::parse(item);
    if (r["source"] == "smtp") {
      expect_as_received(r, "smtp");
      EXPECT_EQ(r["envelope_to"], nlohmann::json({"journal@notary.example"}));
    }
  }
}

TEST_F(JournalNotaryTest, SmtpFromADeclaredJournalingNetworkIsUnwrapped) {
  notary_->Stop();
  notary_->Start({"--smtp-journal-from", "127.0.0.0/8"});
  const std::string report = PlainReport();
  const std::string file = dir_ + "/report.eml";
  testsupport::WriteFile(file, report);
  auto sent = Swaks(notary_->smtp_port(), {"--from", "MicrosoftExchange@contoso.com", "--to",
                                           "journal@notary.example", "--data", "@" + file});
  ASSERT_EQ(sent.exit_code, 0) << sent.out;
  auto found = notary_->Search("from=alice@contoso.com&limit=10");
  ASSERT_EQ(found.size(), 1u);
  ExpectJournalReceipt(nlohmann::json::parse(found[0]), report + "\r\n");  // swaks' line end
}

TEST_F(JournalNotaryTest, JournalReportsAreAppendOnly) {
  auto posted = HttpPost(notary_->url() + "/v1/messages", notary_->CreateKey("ingest,journal"),
                         PlainReport());
  ASSERT_EQ(posted.status, 201) << posted.body;
  for (const char* sql : {"UPDATE journal_reports SET size = 0", "DELETE FROM journal_reports",
                          "TRUNCATE journal_reports"}) {
    auto r = testsupport::RunCommand(
        {"psql", notary_->db().SuperUrl(), "-v", "ON_ERROR_STOP=1", "-c", sql});
    EXPECT_NE(r.exit_code, 0) << sql;
    EXPECT_NE(r.out.find("append-only"), std::string::npos) << r.out;
  }
}

// A node still holding a retired key pair (notaryd keeps a tenant's public key for a minute
// after a rotation) has a journal report refused along with its receipt. The report is stored
// first, before its receipt exists: migration 0021's guard, which read the tenant from the
// receipt, let it in, an orphan wrapped for a pair about to be destroyed (migration 0022).
TEST_F(JournalNotaryTest, AReportForARetiredPairIsRefusedAndItsRetryUsesTheCurrentPair) {
  const std::string key = notary_->CreateKey("ingest,journal");
  const std::string super = notary_->db().SuperUrl();
  ASSERT_EQ(HttpPost(notary_->url() + "/v1/messages", key, PlainReport()).status, 201);
  const std::string old_kek = testsupport::Psql(super, "SELECT kek_id FROM journal_reports");
  ASSERT_EQ(old_kek.substr(0, 7), "file/1/");
  // Rotated by another process on the same folder, as notaryctl does; notaryd still wraps for
  // epoch 1 until its refresh (60 s by default). Retired as `notaryctl tenant destroy-key` does.
  auto holder = vault::FileKeyHolder::Open(dir_ + "/notaryd/keks.d");
  ASSERT_TRUE(holder.ok()) << holder.error().ToString();
  ASSERT_TRUE((*holder)->Rotate("default").ok());
  testsupport::Psql(super, "INSERT INTO retired_keks (tenant_id, kek_id) SELECT id, '" + old_kek +
                               "' FROM tenants WHERE name = 'default'");

  // Another message than the first, so that the retry is not taken for a duplicate.
  const std::string second = Report("Content-Type: text/plain; charset=\"us-ascii\"\r\n",
                                    kReportText, kOriginal + "A second paragraph.\r\n");
  auto refused = HttpPost(notary_->url() + "/v1/messages", key, second);
  EXPECT_EQ(refused.status, 503) << refused.body;
  EXPECT_EQ(testsupport::Psql(super, "SELECT count(*) FROM journal_reports"), "1");
  EXPECT_EQ(testsupport::Psql(super, "SELECT count(*) FROM receipts"), "1");

  auto retried = HttpPost(notary_->url() + "/v1/messages", key, second);
  ASSERT_EQ(retried.status, 201) << retried.body;
  const std::string id = nlohmann::json::parse(retried.body)["id"];
  EXPECT_EQ(
      testsupport::Psql(super, "SELECT kek_id FROM journal_reports WHERE receipt_id = '" + id + "'")
          .substr(0, 7),
      "file/2/");
  EXPECT_EQ(testsupport::Psql(super, "SELECT count(*) FROM journal_reports"), "2");
  auto kept = StoredReport(id);
  ASSERT_TRUE(kept.ok()) << kept.error().ToString();
  ASSERT_TRUE(kept->has_value());
  EXPECT_EQ((*kept)->data, second);
}

// A lawyer's bundle of a journaled message carries the report it arrived in, and notary-verify
// checks it against the sealed envelope (Bcc recipients included).
TEST_F(JournalNotaryTest, EvidenceBundleCarriesTheReportAndNotaryVerifyChecksIt) {
  const std::string report = PlainReport();
  auto posted =
      HttpPost(notary_->url() + "/v1/messages", notary_->CreateKey("ingest,journal"), report);
  ASSERT_EQ(posted.status, 201) << posted.body;
  const std::string id = nlohmann::json::parse(posted.body)["id"];
  const std::string zip = dir_ + "/e.zip";
  auto got = testsupport::RunCommand({"curl", "-s", "-o", zip, "-w", "%{http_code}", "-H",
                                      "Authorization: Bearer " + notary_->api_key(),
                                      notary_->url() + "/v1/messages/" + id + "/evidence?wait=30"});
  ASSERT_EQ(got.out, "200");
  const std::string x = dir_ + "/x";
  ASSERT_EQ(testsupport::RunCommand({"unzip", "-q", "-o", zip, "-d", x}).exit_code, 0);
  EXPECT_EQ(testsupport::ReadFile(x + "/journal-report.eml"), report);
  EXPECT_EQ(testsupport::ReadFile(x + "/message.eml"), kOriginal);
  auto evidence = nlohmann::json::parse(testsupport::ReadFile(x + "/evidence.json"));
  EXPECT_EQ(evidence["journal_report"]["sha256"], common::ToHex(common::Sha256Of(report)));

  auto verdict = [&](const std::string& bundle, const std::string& check) {
    auto v = testsupport::RunCommand({Binary("cli/notary-verify"), bundle, "--json"});
    auto j = nlohmann::json::parse(v.out, nullptr, false);
    if (j.is_discarded()) return std::string("no JSON: ") + v.out;
    for (const auto& c : j["checks"]) {
      if (c["id"] == check)
        return c["status"].get<std::string>() + ": " + c["reason"].get<std::string>();
    }
    return std::string("no such check");
  };
  EXPECT_EQ(verdict(zip, "journal.report").rfind("PASS: ", 0), 0u)
      << verdict(zip, "journal.report");
  EXPECT_NE(verdict(zip, "journal.report").find("6 recipients (1 Bcc)"), std::string::npos);

  // The same report with the Bcc line gone: the bytes no longer match evidence.json.
  std::string edited = report;
  edited.erase(edited.find("Bcc: dave@contoso.com\r\n"), 23);
  testsupport::WriteFile(x + "/journal-report.eml", edited);
  ASSERT_EQ(
      testsupport::RunCommand({"sh", "-c", "cd " + x + " && zip -q -X -r ../t.zip ."}).exit_code,
      0);
  EXPECT_EQ(verdict(dir_ + "/t.zip", "journal.report").rfind("FAIL: ", 0), 0u)
      << verdict(dir_ + "/t.zip", "journal.report");

  // A bundle of one part never carries the report (it holds the whole message).
  auto part = testsupport::RunCommand({"curl", "-s", "-o", dir_ + "/p.zip", "-w", "%{http_code}",
                                       "-H", "Authorization: Bearer " + notary_->api_key(),
                                       notary_->url() + "/v1/messages/" + id + "/evidence?part=1"});
  ASSERT_EQ(part.out, "200");
  auto list = testsupport::RunCommand({"unzip", "-Z1", dir_ + "/p.zip"});
  EXPECT_EQ(list.out.find("journal-report.eml"), std::string::npos) << list.out;
  EXPECT_EQ(verdict(dir_ + "/p.zip", "journal.report").rfind("SKIP: ", 0), 0u);
}

}  // namespace
}  // namespace plugintest
