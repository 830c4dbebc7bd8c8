// notary-milter inside a real Sendmail, configured with the guide's sendmail.mc snippet
// (docs/examples/sendmail/notary-milter.mc) as written: m4 from Debian's sendmail-cf builds
// the configuration, Sendmail 8.17 (unpacked by scripts/install-deps: it conflicts with the
// postfix package) runs it in the foreground, swaks sends. The receipt carries the true envelope
// and Sendmail's queue id; with the milter unreachable Sendmail answers 451 (F=T), as the guide
// says. The test replaces only the milter's port; the rest of sendmail.mc is what any site has.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <regex>

#include "mail_harness.h"

namespace plugintest {
namespace {

using std::chrono::seconds;
using testsupport::RunCommand;
using testsupport::WaitUntil;

std::string Sendmail() {
  const char* dir = std::getenv("NOTARY_TEST_MTA_DIR");
  return std::string(dir ? dir : "/opt/email-notary-tests") +
         "/sendmail-bin/usr/libexec/sendmail/sendmail";
}

class MilterSendmailTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(std::filesystem::exists(Sendmail()))
        << Sendmail() << " is missing: run scripts/install-deps";
    dir_ = testsupport::MakeTempDir("milter-sendmail");
    notary_ = std::make_unique<Notary>(dir_);
    notary_->Start();
    milter_ =
        std::make_unique<Milter>(dir_, *notary_, std::vector<std::string>{"--mode", "fail-closed"});
    milter_->Start();
    port_ = testsupport::FreePort();

    std::string snippet = testsupport::ReadFile(testsupport::SourceDir() +
                                                "/docs/examples/sendmail/notary-milter.mc");
    const std::string spec = "S=inet:8891@127.0.0.1";
    ASSERT_NE(snippet.find(spec), std::string::npos) << "the example no longer holds " << spec;
    snippet.replace(snippet.find(spec), spec.size(),
                    "S=inet:" + std::to_string(milter_->port()) + "@127.0.0.1");
    // A minimal site configuration around the snippet: loopback only, mail queued rather than
    // delivered (there is no next hop), no alias or status files.
    std::filesystem::create_directories(dir_ + "/mqueue");
    const std::string mc =
        "divert(-1)\ndivert(0)dnl\ninclude(`/usr/share/sendmail/cf/m4/cf.m4')dnl\n"
        "VERSIONID(`notary setup guide test')dnl\nOSTYPE(`linux')dnl\n"
        "define(`confDOMAIN_NAME', `mx.example.test')dnl\n"
        "define(`QUEUE_DIR', `" +
        dir_ + "/mqueue')dnl\ndefine(`confPID_FILE', `" + dir_ +
        "/sendmail.pid')dnl\n"
        "define(`confDELIVERY_MODE', `queue')dnl\ndefine(`ALIAS_FILE', `')dnl\n"
        "define(`STATUS_FILE', `')dnl\nDAEMON_OPTIONS(`Port=" +
        std::to_string(port_) +
        ", Addr=127.0.0.1, Name=MTA')dnl\n"
        "FEATURE(`no_default_msa')dnl\nFEATURE(`accept_unresolvable_domains')dnl\n"
        "FEATURE(`promiscuous_relay')dnl\nMAILER(`smtp')dnl\n" +
        snippet;
    auto cf = RunCommand({"sh", "-c", "m4 > " + dir_ + "/sendmail.cf"}, mc);
    ASSERT_EQ(cf.exit_code, 0) << cf.out;
    cf_ = testsupport::ReadFile(dir_ + "/sendmail.cf");
  }
  void TearDown() override {
    if (HasFailure()) {
      if (sendmail_)
        std::cerr << "---- sendmail\n" << testsupport::ReadFile(dir_ + "/sendmail.log");
      if (milter_) std::cerr << "---- milter log\n" << milter_->Log();
    }
    sendmail_.reset();
    milter_.reset();
    notary_.reset();
  }

  // Sendmail in the foreground (-bD). Before it reads its configuration, Sendmail looks its
  // own host name up and, when that name has no dot and no DNS name, sleeps a minute: the test
  // gives it a qualified name in a UTS namespace of its own where the machine allows one.
  void StartSendmail() {
    std::vector<std::string> argv = {Sendmail(), "-C", dir_ + "/sendmail.cf", "-bD"};
    if (RunCommand({"unshare", "-u", "true"}).exit_code == 0) {
      argv = {"unshare", "-u",    "sh",    "-c",   "hostname mx.example.test && exec \"$0\" \"$@\"",
              argv[0],   argv[1], argv[2], argv[3]};
    }
    sendmail_ = std::make_unique<testsupport::ChildProcess>(argv, dir_ + "/sendmail.log");
    ASSERT_TRUE(WaitUntil([&] { return PortOpen(port_); }, seconds(120)))
        << testsupport::ReadFile(dir_ + "/sendmail.log");
  }

  std::string dir_, cf_;
  int port_ = 0;
  std::unique_ptr<Notary> notary_;
  std::unique_ptr<Milter> milter_;
  std::unique_ptr<testsupport::ChildProcess> sendmail_;
};

TEST_F(MilterSendmailTest, TheSnippetConfiguresTheMilterAsTheGuideSays) {
  EXPECT_NE(cf_.find("\nXnotary, S=inet:" + std::to_string(milter_->port()) +
                     "@127.0.0.1, F=T, T=S:30s;R:30s;E:90s\n"),
            std::string::npos)
      << cf_;
  EXPECT_NE(cf_.find("\nO InputMailFilters=notary\n"), std::string::npos);
  // The macros notary-milter records come with Sendmail's defaults, each once.
  std::smatch helo, envfrom;
  ASSERT_TRUE(std::regex_search(cf_, helo, std::regex(R"(\nO Milter\.macros\.helo=([^\n]*))")));
  ASSERT_TRUE(
      std::regex_search(cf_, envfrom, std::regex(R"(\nO Milter\.macros\.envfrom=([^\n]*))")));
  auto count = [](const std::string& list, const std::string& macro) {
    std::vector<std::string> items;
    std::stringstream in(list);
    for (std::string item; std::getline(in, item, ',');) {
      item.erase(0, item.find_first_not_of(' '));
      items.push_back(item);
    }
    return std::count(items.begin(), items.end(), macro);
  };
  EXPECT_EQ(count(helo[1], "{tls_version}"), 1) << helo[1];
  EXPECT_EQ(count(helo[1], "{cipher}"), 1) << helo[1];
  EXPECT_EQ(count(envfrom[1], "i"), 1) << envfrom[1];
  EXPECT_EQ(count(envfrom[1], "{auth_authen}"), 1) << envfrom[1];
}

TEST_F(MilterSendmailTest, ReceiptHasTheEnvelopeAndQueueIdAndAnUnreachableMilterMeans451) {
  StartSendmail();
  auto sent = Swaks(port_, {"--from", "alice@example.com", "--to",
                            "bob@example.net,carol@example.org,dave@example.org", "--helo",
                            "client.example.com", "--header", "Subject: via-sendmail"});
  ASSERT_EQ(sent.exit_code, 0) << sent.out;
  std::smatch queued;
  ASSERT_TRUE(std::regex_search(sent.out, queued,
                                std::regex(R"(250 2\.0\.0 ([A-Za-z0-9]+) Message accepted)")))
      << sent.out;
  auto found = notary_->Search("subject=via-sendmail");
  ASSERT_EQ(found.size(), 1u) << "fail-closed: the receipt exists before Sendmail says 250";
  auto r = nlohmann::json::parse(found[0]);
  EXPECT_EQ(r["source"], "milter");
  EXPECT_EQ(r["envelope_from"], "alice@example.com");
  EXPECT_EQ(r["envelope_to"],
            nlohmann::json::array({"bob@example.net", "carol@example.org", "dave@example.org"}));
  EXPECT_EQ(r["client_ip"], "127.0.0.1");
  EXPECT_EQ(r["helo"], "client.example.com");
  EXPECT_EQ(r["queue_id"], queued[1].str());

  // The milter gone: Sendmail refuses the mail with 451 (F=T) instead of passing it unseen.
  milter_.reset();
  auto refused = Swaks(port_, {"--from", "alice@example.com", "--to", "bob@example.net", "--header",
                               "Subject: milter-down"});
  EXPECT_NE(refused.exit_code, 0) << refused.out;
  EXPECT_NE(refused.out.find("451 4.3.2"), std::string::npos) << refused.out;
}

}  // namespace
}  // namespace plugintest
