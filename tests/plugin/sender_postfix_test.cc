// Sender checks behind a real Postfix (docs/sender-evidence.md), against the test zones of
// scripts/dnstest (acme.example DNSSEC-signed, its key rsa1):
// - the sender's side as deployed: Debian's OpenDKIM milter signs in Postfix, which relays to
//   notaryd over SMTP; the notary verifies OpenDKIM's signature, not only dkimpy's;
// - the notary-milter path: Postfix hands each message to notary-milter, which posts it over
//   HTTP with the envelope Postfix saw; the checks use that envelope (client address, MAIL
//   FROM, HELO) and the bytes the milter rebuilt, and a relaxed DKIM signature survives.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <nlohmann/json.hpp>

#include "mail_harness.h"

namespace plugintest {
namespace {

using nlohmann::json;
using std::chrono::seconds;

std::string Message(const std::string& subject) {
  return "From: Alice <alice@acme.example>\r\n"
         "To: Bob <bob@example.org>\r\n"
         "Subject: " +
         subject +
         "\r\n"
         "Date: Fri, 04 Dec 2026 10:00:00 +0000\r\n"
         "Message-ID: <" +
         subject +
         "@acme.example>\r\n"
         "MIME-Version: 1.0\r\n"
         "Content-Type: text/plain; charset=utf-8\r\n"
         "\r\n"
         "The signed contract is attached.\r\n"
         "Regards, Alice\r\n";
}

// Debian's opendkim daemon signing for acme.example with the test zone's key rsa1.
class OpenDkimSigner {
 public:
  OpenDkimSigner(const std::string& dir, const std::string& key_file)
      : port_(testsupport::FreePort()) {
    const std::string conf = dir + "/opendkim.conf";
    testsupport::WriteFile(conf,
                           "Syslog no\n"
                           "Mode s\n"
                           "Domain acme.example\n"
                           "Selector rsa1\n"
                           "KeyFile " +
                               key_file +
                               "\n"
                               "Socket inet:" +
                               std::to_string(port_) +
                               "@127.0.0.1\n"
                               "Canonicalization relaxed/simple\n"
                               "InternalHosts 127.0.0.1\n"
                               "RequireSafeKeys no\n"
                               "Background no\n"
                               "PidFile " +
                               dir + "/opendkim.pid\n");
    proc_ = std::make_unique<testsupport::ChildProcess>(
        std::vector<std::string>{"/usr/sbin/opendkim", "-f", "-x", conf}, dir + "/opendkim.log");
  }
  ~OpenDkimSigner() { proc_->Stop(); }
  bool Ready() {
    return WaitUntil([&] { return PortOpen(port_); }, seconds(20));
  }
  std::string postfix_spec() const { return "inet:127.0.0.1:" + std::to_string(port_); }

 private:
  int port_;
  std::unique_ptr<testsupport::ChildProcess> proc_;
};

class SenderPostfixTest : public ::testing::Test {
 protected:
  void SetUp() override {
    env_ = testsupport::DnsTestEnv();
    ASSERT_FALSE(env_["NOTARY_DNSTEST_RESOLVER"].empty()) << "scripts/dnstest did not run";
    dir_ = testsupport::MakeTempDir("sender-postfix");
    chmod(dir_.c_str(), 0755);
    notary_ = std::make_unique<Notary>(dir_);
    notary_->Start({"--sender-checks", "true", "--dns-resolver", env_["NOTARY_DNSTEST_RESOLVER"],
                    "--dns-trust-anchor", env_["NOTARY_DNSTEST_TRUST_ANCHOR"]});
  }
  void TearDown() override {
    if (HasFailure() && postfix_) std::cerr << "---- postfix log\n" << postfix_->Log();
    postfix_.reset();
    milter_.reset();
    signer_.reset();
    sink_.reset();
    notary_.reset();
  }

  testsupport::CommandResult Send(const std::string& subject, const std::string& message) {
    const std::string file = dir_ + "/" + subject + ".eml";
    testsupport::WriteFile(file, message);
    return Swaks(postfix_->smtp_port(), {"--from", "alice@acme.example", "--to", "bob@example.org",
                                         "--helo", "mail.acme.example", "--data", "@" + file});
  }

  // The sealed `authentication` object of the one receipt with `subject`.
  json Authentication(const std::string& subject) {
    json auth;
    EXPECT_TRUE(WaitUntil(
        [&] {
          auto found = notary_->Search("subject=" + subject);
          if (found.size() != 1) return false;
          const std::string id = json::parse(found[0])["id"];
          auto r = HttpGet(notary_->url() + "/v1/messages/" + id, notary_->api_key());
          auto j = json::parse(r.body, nullptr, false);
          if (j.is_discarded() || !j.contains("authentication") || j["authentication"].is_null())
            return false;
          auth = j["authentication"];
          auth["_receipt"] = j;
          return auth["status"] == "sealed";
        },
        seconds(60)))
        << (postfix_ ? postfix_->Log() : "");
    return auth;
  }

  std::map<std::string, std::string> env_;
  std::string dir_;
  std::unique_ptr<Notary> notary_;
  std::unique_ptr<Sink> sink_;
  std::unique_ptr<OpenDkimSigner> signer_;
  std::unique_ptr<Milter> milter_;
  std::unique_ptr<Postfix> postfix_;
};

TEST_F(SenderPostfixTest, MailSignedByOpenDkimInPostfixIsVerifiedWhenItReachesTheNotary) {
  signer_ = std::make_unique<OpenDkimSigner>(dir_, env_["NOTARY_DNSTEST_KEY_ACME_RSA"]);
  ASSERT_TRUE(signer_->Ready()) << testsupport::ReadFile(dir_ + "/opendkim.log");
  // Postfix relays to notaryd's own SMTP listener.
  postfix_ = std::make_unique<Postfix>(dir_, signer_->postfix_spec(), notary_->smtp_port());
  auto sent = Send("opendkim-signed", Message("opendkim-signed"));
  ASSERT_EQ(sent.exit_code, 0) << sent.out;

  json a = Authentication("opendkim-signed");
  ASSERT_EQ(a["dkim"].size(), 1u) << a.dump(2);
  EXPECT_EQ(a["dkim"][0]["result"], "pass") << a.dump(2);
  EXPECT_EQ(a["dkim"][0]["domain"], "acme.example");
  EXPECT_EQ(a["dkim"][0]["selector"], "rsa1");
  EXPECT_EQ(a["dkim"][0]["canonicalization"], "relaxed/simple") << "OpenDKIM's, as configured";
  EXPECT_EQ(a["dkim"][0]["key_dnssec"], "secure");
  // The client the notary saw is Postfix on 127.0.0.1, which acme.example's SPF allows.
  EXPECT_EQ(a["spf"]["result"], "pass") << a.dump(2);
  EXPECT_EQ(a["spf"]["client_ip"], "127.0.0.1");
  EXPECT_EQ(a["dmarc"]["result"], "pass") << a.dump(2);
  EXPECT_EQ(a["_receipt"]["source"], "smtp");
}

TEST_F(SenderPostfixTest, TheMilterPathChecksWithTheEnvelopePostfixSaw) {
  sink_ = std::make_unique<Sink>(dir_);
  milter_ =
      std::make_unique<Milter>(dir_, *notary_, std::vector<std::string>{"--mode", "fail-closed"});
  milter_->Start();
  postfix_ = std::make_unique<Postfix>(dir_, milter_->postfix_spec(), sink_->port());
  auto signed_message = testsupport::RunCommand(
      {"/usr/bin/python3", testsupport::SourceDir() + "/tests/sender/fixtures/dkim_sign.py",
       "--domain", "acme.example", "--selector", "rsa1", "--key",
       env_["NOTARY_DNSTEST_KEY_ACME_RSA"], "--canon", "relaxed/relaxed"},
      Message("via-milter"));
  ASSERT_EQ(signed_message.exit_code, 0) << signed_message.out;
  auto sent = Send("via-milter", signed_message.out);
  ASSERT_EQ(sent.exit_code, 0) << sent.out;

  json a = Authentication("via-milter");
  EXPECT_EQ(a["_receipt"]["source"], "milter");
  ASSERT_EQ(a["dkim"].size(), 1u) << a.dump(2);
  EXPECT_EQ(a["dkim"][0]["result"], "pass") << a.dump(2);
  EXPECT_EQ(a["spf"]["identity"], "mailfrom") << a.dump(2);
  EXPECT_EQ(a["spf"]["domain"], "acme.example");
  EXPECT_EQ(a["spf"]["client_ip"], "127.0.0.1") << "the client Postfix reported to the milter";
  EXPECT_EQ(a["spf"]["result"], "pass");
  EXPECT_EQ(a["dmarc"]["result"], "pass") << a.dump(2);
  ASSERT_TRUE(WaitUntil([&] { return sink_->Messages().size() == 1; }, seconds(30)));
}

}  // namespace
}  // namespace plugintest
