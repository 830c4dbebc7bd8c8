// notary-milter inside a real Postfix: true envelope (Bcc included), receipt header and
// matching canonical hash on the delivered copy, fail-closed 4xx while notaryd is down,
// fail-open spooling across kill -9 with exactly-once delivery to the notary.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>

#include "common/bytes.h"
#include "mail_harness.h"
#include "mime/canonical.h"
#include "spool.h"

namespace plugintest {
namespace {

namespace fs = std::filesystem;
using std::chrono::seconds;

std::string Message(const std::string& subject) {
  return "From: Alice <alice@example.com>\r\n"
         "To: Bob <bob@example.net>\r\n"
         "Cc: carol@example.org\r\n"
         "Subject: " +
         subject +
         "\r\n"
         "Date: Thu, 26 Nov 2026 10:00:00 +0000\r\n"
         "Message-ID: <" +
         subject +
         "@example.com>\r\n"
         "MIME-Version: 1.0\r\n"
         "Content-Type: text/plain; charset=utf-8\r\n"
         "\r\n"
         "Hello Bob and Carol.\r\n"
         "This line is long enough to be a real body line of a test message.\r\n";
}

// Sends Message(subject) to bob and carol, and to dave as a Bcc recipient (in no header).
testsupport::CommandResult Send(const Postfix& pf, const std::string& dir,
                                const std::string& subject) {
  std::string file = dir + "/" + subject + ".eml";
  testsupport::WriteFile(file, Message(subject));
  return Swaks(pf.smtp_port(), {"--from", "alice@example.com", "--to",
                                "bob@example.net,carol@example.org,dave@example.org", "--helo",
                                "client.example.com", "--data", "@" + file});
}

std::vector<nlohmann::json> ReceiptsWithSubject(Notary& n, const std::string& subject) {
  std::vector<nlohmann::json> out;
  for (const auto& s : n.Search("subject=" + subject)) out.push_back(nlohmann::json::parse(s));
  return out;
}

// Records waiting in a spool no milter has open (as a restarted milter would see them).
uint64_t SpoolRecords(const std::string& spool) {
  auto s = milter::Spool::Open(spool, 1ull << 30);
  return s.ok() ? (*s)->records() : 0;
}

bool HasMetric(const Milter& m, const std::string& line) {
  return m.Metrics().find("\n" + line + "\n") != std::string::npos;
}

class MilterPostfixTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testsupport::MakeTempDir("milter-postfix");
    chmod(dir_.c_str(), 0755);
    notary_ = std::make_unique<Notary>(dir_);
    sink_ = std::make_unique<Sink>(dir_);
  }
  void TearDown() override {
    if (HasFailure()) {
      if (postfix_) std::cerr << "---- postfix log\n" << postfix_->Log();
      if (milter_) std::cerr << "---- milter log\n" << milter_->Log();
    }
    postfix_.reset();
    milter_.reset();
    sink_.reset();
    notary_.reset();
  }
  void StartMilterAndPostfix(std::vector<std::string> flags,
                             Milter::Socket socket = Milter::Socket::kInet) {
    milter_ = std::make_unique<Milter>(dir_, *notary_, std::move(flags), socket);
    milter_->Start();
    postfix_ = std::make_unique<Postfix>(dir_, milter_->postfix_spec(), sink_->port());
  }

  // notaryd down, its URL known: started once (port 0, so the ports are its own) and stopped;
  // Start() later brings it back on the same ports.
  void StopNotaryOnItsPorts() {
    notary_->Start();
    notary_->Stop();
  }

  std::string dir_;
  std::unique_ptr<Notary> notary_;
  std::unique_ptr<Sink> sink_;
  std::unique_ptr<Milter> milter_;
  std::unique_ptr<Postfix> postfix_;
};

TEST_F(MilterPostfixTest, ReceiptListsEveryRecipientAndDeliveredCopyCarriesMatchingReceipt) {
  notary_->Start();
  StartMilterAndPostfix({"--mode", "fail-closed", "--add-header"});
  auto sent = Send(*postfix_, dir_, "envelope-1");
  ASSERT_EQ(sent.exit_code, 0) << sent.out;

  ASSERT_TRUE(WaitUntil([&] { return sink_->Messages().size() == 1; }, seconds(30)));
  auto receipts = ReceiptsWithSubject(*notary_, "envelope-1");
  ASSERT_EQ(receipts.size(), 1u);
  const auto& r = receipts[0];
  EXPECT_EQ(r["source"], "milter");
  EXPECT_EQ(r["envelope_from"], "alice@example.com");
  EXPECT_EQ(r["envelope_to"],
            nlohmann::json::array({"bob@example.net", "carol@example.org", "dave@example.org"}));
  EXPECT_EQ(r["client_ip"], "127.0.0.1");
  EXPECT_EQ(r["helo"], "client.example.com");
  EXPECT_FALSE(r["queue_id"].get<std::string>().empty());

  const std::string delivered = sink_->Messages()[0];
  const std::string id = r["id"];
  const std::string canonical = r["canonical_sha256"];
  EXPECT_NE(delivered.find("X-Notary-Receipt: id=" + id + "; sha256=" + canonical),
            std::string::npos)
      << delivered;
  EXPECT_EQ(
      common::ToHex(mime::Canonicalize(delivered, mime::kLatestCanonVersion).canonical_sha256),
      canonical);
  EXPECT_NE(milter_->Metrics().find("milter_notarised_total 1"), std::string::npos);
}

// Issue 17, finding 8: the milter sent every recipient in one X-Envelope-To header line,
// which notaryd split on commas (also inside quoted local parts) and refused past 8 KiB, so
// real envelopes were lost or mangled. 1,000 recipients, quoted local parts with a space and a
// comma among them, sent by Python's smtplib through Postfix and the milter.
TEST_F(MilterPostfixTest, ThousandRecipientsAndQuotedLocalPartsReachTheReceiptExactly) {
  notary_->Start();
  StartMilterAndPostfix({"--mode", "fail-closed"});
  std::vector<std::string> rcpts = {"\"john smith\"@example.org", "\"doe, jane\"@example.org"};
  for (int i = 0; rcpts.size() < 1000; ++i) {
    rcpts.push_back("user" + std::to_string(i) + "@example.org");
  }
  const std::string file = dir_ + "/many.eml";
  testsupport::WriteFile(file, Message("many-recipients"));
  std::string script =
      "import smtplib, sys\n"
      "rcpts = [l for l in open(sys.argv[2]).read().split('\\n') if l]\n"
      "s = smtplib.SMTP('127.0.0.1', int(sys.argv[1]), timeout=60)\n"
      "refused = s.sendmail('alice@example.com', rcpts, open(sys.argv[3], 'rb').read())\n"
      "s.quit()\n"
      "print('refused', len(refused))\n";
  std::string list;
  for (const auto& r : rcpts) list += r + "\n";
  testsupport::WriteFile(dir_ + "/rcpts.txt", list);
  auto sent = testsupport::RunCommand(
      {"python3", "-c", script, std::to_string(postfix_->smtp_port()), dir_ + "/rcpts.txt", file},
      "", 120);
  ASSERT_EQ(sent.exit_code, 0) << sent.out;
  EXPECT_NE(sent.out.find("refused 0"), std::string::npos) << sent.out;
  ASSERT_TRUE(WaitUntil([&] { return !sink_->Messages().empty(); }, seconds(60)));
  auto receipts = ReceiptsWithSubject(*notary_, "many-recipients");
  ASSERT_EQ(receipts.size(), 1u);
  EXPECT_EQ(receipts[0]["envelope_to"], nlohmann::json(rcpts));
}

// The deployment docs/mail-server-setup.md recommends on the MTA's own host: a Unix socket.
TEST_F(MilterPostfixTest, OverAUnixSocketEveryRecipientIsRecordedAndTheCopyCarriesItsReceipt) {
  notary_->Start();
  StartMilterAndPostfix({"--mode", "fail-closed", "--add-header"}, Milter::Socket::kUnix);
  auto sent = Send(*postfix_, dir_, "unix-socket-1");
  ASSERT_EQ(sent.exit_code, 0) << sent.out;
  ASSERT_TRUE(WaitUntil([&] { return sink_->Messages().size() == 1; }, seconds(30)));
  auto receipts = ReceiptsWithSubject(*notary_, "unix-socket-1");
  ASSERT_EQ(receipts.size(), 1u);
  EXPECT_EQ(receipts[0]["envelope_to"],
            nlohmann::json::array({"bob@example.net", "carol@example.org", "dave@example.org"}));
  const std::string id = receipts[0]["id"];
  EXPECT_NE(sink_->Messages()[0].find("X-Notary-Receipt: id=" + id + ";"), std::string::npos);
}

TEST_F(MilterPostfixTest, FailClosedAnswers4xxWhileNotaryDownAndRetryIsNotarisedAndDelivered) {
  StopNotaryOnItsPorts();
  StartMilterAndPostfix({"--mode", "fail-closed", "--add-header"});  // notaryd not running
  auto sent = Send(*postfix_, dir_, "closed-1");
  EXPECT_NE(sent.exit_code, 0);
  EXPECT_NE(sent.out.find("<** 451"), std::string::npos) << sent.out;
  // Refused in the SMTP session (451): never queued, so nothing can be on its way to the sink.
  EXPECT_TRUE(sink_->Messages().empty());

  notary_->Start();
  auto retry = Send(*postfix_, dir_, "closed-1");
  ASSERT_EQ(retry.exit_code, 0) << retry.out;
  ASSERT_TRUE(WaitUntil([&] { return sink_->Messages().size() == 1; }, seconds(30)));
  auto receipts = ReceiptsWithSubject(*notary_, "closed-1");
  ASSERT_EQ(receipts.size(), 1u);
  EXPECT_NE(
      sink_->Messages()[0].find("X-Notary-Receipt: id=" + receipts[0]["id"].get<std::string>()),
      std::string::npos);
  EXPECT_NE(milter_->Metrics().find("milter_tempfail_total 1"), std::string::npos);
}

TEST_F(MilterPostfixTest, FailOpenSpoolsSurvivesKill9AndEveryCopyArrivesExactlyOnce) {
  const std::string spool = dir_ + "/spool";
  StopNotaryOnItsPorts();
  StartMilterAndPostfix({"--mode", "fail-open", "--spool-dir", spool});  // notaryd down
  // Sessions at once, so that their copies share spool commits.
  constexpr int kMessages = 6;
  {
    std::vector<std::jthread> senders;
    for (int i = 0; i < kMessages; ++i) {
      senders.emplace_back([&, i] {
        auto sent = Send(*postfix_, dir_, "open-" + std::to_string(i));
        EXPECT_EQ(sent.exit_code, 0) << sent.out;
      });
    }
  }
  ASSERT_TRUE(WaitUntil([&] { return sink_->Messages().size() == kMessages; }, seconds(30)));
  EXPECT_TRUE(HasMetric(*milter_, "milter_spooled_total 6")) << milter_->Metrics();

  milter_->Kill9();
  EXPECT_EQ(SpoolRecords(spool), static_cast<uint64_t>(kMessages));
  // Keep a copy of the spool as it is: put back later, it plays a crash after notaryd had
  // confirmed every copy but before the forwarder's position reached the disk.
  const std::string saved = dir_ + "/saved-spool";
  fs::copy(spool, saved, fs::copy_options::recursive);

  milter_->Start();
  notary_->Start();
  ASSERT_TRUE(
      WaitUntil([&] { return HasMetric(*milter_, "milter_forwarded_total 6"); }, seconds(60)))
      << milter_->Log();
  for (int i = 0; i < kMessages; ++i) {
    auto receipts = ReceiptsWithSubject(*notary_, "open-" + std::to_string(i));
    ASSERT_EQ(receipts.size(), 1u) << i;
    EXPECT_EQ(receipts[0]["source"], "milter");
    EXPECT_EQ(receipts[0]["envelope_to"].size(), 3u);
  }

  milter_->Kill9();
  fs::remove_all(spool);
  fs::copy(saved, spool, fs::copy_options::recursive);
  milter_->Start();
  ASSERT_TRUE(
      WaitUntil([&] { return HasMetric(*milter_, "milter_forwarded_total 6"); }, seconds(60)))
      << milter_->Log();
  size_t duplicates = 0;
  const std::string log = milter_->Log();
  for (size_t p = 0; (p = log.find("duplicate=true", p)) != std::string::npos; ++p) ++duplicates;
  EXPECT_EQ(duplicates, static_cast<size_t>(kMessages));
  for (int i = 0; i < kMessages; ++i) {
    EXPECT_EQ(ReceiptsWithSubject(*notary_, "open-" + std::to_string(i)).size(), 1u) << i;
  }
  EXPECT_EQ(sink_->Messages().size(), static_cast<size_t>(kMessages));
}

TEST_F(MilterPostfixTest, FailOpenWithFullSpoolTempfailsAndCountsIt) {
  const std::string spool = dir_ + "/spool";
  StopNotaryOnItsPorts();
  StartMilterAndPostfix({"--mode", "fail-open", "--spool-dir", spool, "--spool-max-bytes", "100"});
  auto sent = Send(*postfix_, dir_, "full-1");
  EXPECT_NE(sent.out.find("<** 451"), std::string::npos) << sent.out;
  EXPECT_NE(milter_->Log().find("event=spool_full"), std::string::npos);
  EXPECT_NE(milter_->Metrics().find("milter_spool_full_total 1"), std::string::npos);
  // Refused in the SMTP session (451): never queued, so nothing can be on its way to the sink.
  EXPECT_TRUE(sink_->Messages().empty());
}

}  // namespace
}  // namespace plugintest
