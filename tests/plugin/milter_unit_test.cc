// notary-milter's pieces without an MTA: socket specs, spool records, the API key file
// check, the forwarder's CPU priority, and miltertest (opendkim's milter test client)
// driving the binary. The spool itself: spool_test.cc.
#include <gtest/gtest.h>
#include <sched.h>
#include <sys/stat.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>

#include "forwarder.h"
#include "mail_harness.h"
#include "milter.h"
#include "spool.h"
#include "spool_record.h"

namespace plugintest {
namespace {

namespace fs = std::filesystem;
using std::chrono::seconds;

TEST(MilterSocketSpecTest, TranslatesHostPortToLibmilterSyntax) {
  EXPECT_EQ(*milter::MilterSocketSpec("inet:127.0.0.1:8891"), "inet:8891@127.0.0.1");
  EXPECT_EQ(*milter::MilterSocketSpec("inet6:[::1]:8891"), "inet6:8891@::1");
  EXPECT_EQ(*milter::MilterSocketSpec("inet:8891@localhost"), "inet:8891@localhost");
  EXPECT_EQ(*milter::MilterSocketSpec("unix:/run/notary-milter.sock"),
            "unix:/run/notary-milter.sock");
  EXPECT_FALSE(milter::MilterSocketSpec("inet:127.0.0.1").ok());
  EXPECT_FALSE(milter::MilterSocketSpec("inet:host:port").ok());
  EXPECT_FALSE(milter::MilterSocketSpec("tcp:1.2.3.4:25").ok());
  EXPECT_FALSE(milter::MilterSocketSpec("unix:").ok());
}

TEST(SpoolRecordTest, RoundTripsEnvelopeAndExactBytes) {
  milter::SpoolRecord r;
  r.mail_from = "";
  r.rcpt_to = {"a@example.com", "b c%@example.org"};
  r.client_addr = "192.0.2.1";
  r.client_port = "4711";
  r.client_name = "host\r\nevil";
  r.helo = "helo name";
  r.tls_version = "TLSv1.3";
  r.tls_cipher = "TLS_AES_256_GCM_SHA384";
  r.auth_user = "alice";
  r.queue_id = "4ABC";
  static const char kWithNul[] = "Subject: x\r\n\r\nbody\0with nul\r\n\r\n";
  r.message = std::string(kWithNul, sizeof(kWithNul) - 1);
  auto back = milter::DecodeSpoolRecord(milter::EncodeSpoolRecord(r));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->mail_from, r.mail_from);
  EXPECT_EQ(back->rcpt_to, r.rcpt_to);
  EXPECT_EQ(back->client_name, r.client_name);
  EXPECT_EQ(back->helo, r.helo);
  EXPECT_EQ(back->auth_user, r.auth_user);
  EXPECT_EQ(back->queue_id, r.queue_id);
  EXPECT_EQ(back->message, r.message);
  EXPECT_FALSE(milter::DecodeSpoolRecord("garbage").ok());
  EXPECT_FALSE(milter::DecodeSpoolRecord("notary-spool 1\nfrom %4\n\nx").ok());
}

TEST(MilterBinaryTest, RefusesAnApiKeyFileOthersCanRead) {
  std::string dir = testsupport::MakeTempDir("milter-key");
  testsupport::WriteFile(dir + "/key", "secret\n");
  chmod((dir + "/key").c_str(), 0644);
  auto r = testsupport::RunCommand({Binary("plugin/notary-milter"), "--notary-url",
                                    "http://127.0.0.1:1", "--api-key-file", dir + "/key"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.out.find("chmod 600"), std::string::npos) << r.out;
  fs::remove_all(dir);
}

// The forwarder thread, found by its name, runs under SCHED_IDLE unless told otherwise.
int ForwarderPolicy(pid_t pid) {
  for (const auto& t : fs::directory_iterator("/proc/" + std::to_string(pid) + "/task")) {
    std::string comm = testsupport::ReadFile(t.path().string() + "/comm");
    if (comm != "notary-forward\n") continue;
    std::string stat = testsupport::ReadFile(t.path().string() + "/stat");
    std::istringstream fields(stat.substr(stat.rfind(')') + 2));
    std::string f;
    for (int i = 3; i <= 41 && fields >> f; ++i) {
    }
    return std::stoi(f);  // field 41: policy
  }
  return -1;
}

TEST(MilterBinaryTest, ForwarderRunsAtIdlePriorityUnlessToldNormal) {
  std::string dir = testsupport::MakeTempDir("milter-prio");
  Notary notary(dir);  // not started: only its key file is used
  for (const auto& setting : {std::pair{"idle", SCHED_IDLE}, {"normal", SCHED_OTHER}}) {
    // Named copies, not a structured binding: clang 14 cannot capture one in the lambda below.
    const std::string flag = setting.first;
    const int policy = setting.second;
    Milter m(dir, notary,
             {"--mode", "fail-open", "--spool-dir", dir + "/spool", "--forwarder-priority", flag});
    m.Start();
    int seen = -1;
    ASSERT_TRUE(WaitUntil(
        [&] {
          seen = ForwarderPolicy(m.pid());
          return seen == policy;
        },
        seconds(10)))
        << flag << ": policy " << seen << "\n"
        << m.Log();
  }
  fs::remove_all(dir);
}

// miltertest (a milter client not written here) drives notary-milter with a Lua script.
class MiltertestTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testsupport::MakeTempDir("miltertest");
    notary_ = std::make_unique<Notary>(dir_);
  }
  testsupport::CommandResult RunScript(const std::string& lua) {
    testsupport::WriteFile(dir_ + "/script.lua", lua);
    return testsupport::RunCommand({"miltertest", "-s", dir_ + "/script.lua"}, "", 60);
  }
  static std::string Script(int port, const std::string& at_eom) {
    return "local conn = mt.connect('inet:" + std::to_string(port) +
           "@127.0.0.1', 20, 0.25)\n"
           "if conn == nil then error('connect failed') end\n"
           "mt.set_timeout(20)\n"
           "mt.macro(conn, SMFIC_CONNECT, 'j', 'mta.example.net')\n"
           "assert(mt.conninfo(conn, 'client.example.com', '192.0.2.7') == nil)\n"
           "mt.macro(conn, SMFIC_HELO, '{tls_version}', 'TLSv1.3', '{cipher}', "
           "'TLS_AES_256_GCM_SHA384')\n"
           "assert(mt.helo(conn, 'client.example.com') == nil)\n"
           "mt.macro(conn, SMFIC_MAIL, 'i', 'QID4711', '{auth_authen}', 'alice')\n"
           "assert(mt.mailfrom(conn, '<alice@example.com>') == nil)\n"
           "assert(mt.rcptto(conn, '<bob@example.net>') == nil)\n"
           "assert(mt.rcptto(conn, '<hidden@example.org>') == nil)\n"
           "assert(mt.header(conn, 'From', 'alice@example.com') == nil)\n"
           "assert(mt.header(conn, 'To', 'bob@example.net') == nil)\n"
           "assert(mt.header(conn, 'Subject', 'miltertest-1') == nil)\n"
           // No mt.eoh(): notary-milter negotiates SMFIP_NOEOH, and miltertest stops there.
           "assert(mt.bodystring(conn, 'Hello from miltertest.\\r\\n') == nil)\n"
           "assert(mt.eom(conn) == nil)\n" +
           at_eom + "mt.disconnect(conn)\n";
  }
  std::string dir_;
  std::unique_ptr<Notary> notary_;
};

TEST_F(MiltertestTest, FailClosedAddsReceiptHeaderAndRecordsMacros) {
  notary_->Start();
  Milter m(dir_, *notary_, {"--mode", "fail-closed", "--add-header"});
  m.Start();
  auto r =
      RunScript(Script(m.port(),
                       "if mt.getreply(conn) ~= SMFIR_CONTINUE then error('not accepted') end\n"
                       "if not mt.eom_check(conn, MT_HDRADD, 'X-Notary-Receipt') then "
                       "error('no receipt header') end\n"
                       "mt.echo('HEADER=' .. mt.getheader(conn, 'X-Notary-Receipt', 0))\n"));
  ASSERT_EQ(r.exit_code, 0) << r.out << m.Log();
  auto items = notary_->Search("subject=miltertest-1");
  ASSERT_EQ(items.size(), 1u);
  auto j = nlohmann::json::parse(items[0]);
  EXPECT_EQ(j["envelope_to"], nlohmann::json::array({"bob@example.net", "hidden@example.org"}));
  EXPECT_EQ(j["client_ip"], "192.0.2.7");
  EXPECT_EQ(j["helo"], "client.example.com");
  EXPECT_EQ(j["tls_protocol"], "TLSv1.3");
  EXPECT_EQ(j["auth_user"], "alice");
  EXPECT_EQ(j["queue_id"], "QID4711");
  EXPECT_NE(r.out.find("id=" + j["id"].get<std::string>() +
                       "; sha256=" + j["canonical_sha256"].get<std::string>()),
            std::string::npos)
      << r.out;
}

TEST_F(MiltertestTest, FailClosedTempfailsWhenNotaryIsDown) {
  Milter m(dir_, *notary_, {"--mode", "fail-closed"});
  m.Start();
  auto r = RunScript(Script(m.port(),
                            "local reply = mt.getreply(conn)\n"
                            "if reply ~= SMFIR_TEMPFAIL and reply ~= SMFIR_REPLYCODE then "
                            "error('expected a temporary failure') end\n"));
  EXPECT_EQ(r.exit_code, 0) << r.out << m.Log();
  EXPECT_NE(m.Log().find("event=message_tempfailed"), std::string::npos);
}

}  // namespace
}  // namespace plugintest
