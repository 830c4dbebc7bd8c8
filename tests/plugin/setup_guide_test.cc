// The network set-up of docs/mail-server-setup.md run as written (issue 24, "The setup guide,
// tested"): notaryd from docs/examples/notary/notaryd.conf (all interfaces, SMTP only from the
// mail servers' network, STARTTLS and HTTPS with a CA-issued certificate) and a private Postfix
// with the guide's BCC snippet, transport map and dedicated `notary` transport (TLS mandatory,
// the certificate verified by name through the TLS policy map), and Exim with the guide's router
// and transport (TLS mandatory, the certificate verified by name). The test replaces only
// addresses, ports and paths; everything else is the example files as the guide shows them.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <ifaddrs.h>
#include <netinet/in.h>

#include <nlohmann/json.hpp>
#include <regex>

#include "mail_harness.h"
#include "support/test_support.h"

namespace {

using plugintest::Binary;
using plugintest::Postfix;
using plugintest::Sink;
using plugintest::Swaks;
using testsupport::RunCommand;
using testsupport::WaitUntil;

std::string Example(const std::string& rel) {
  return testsupport::ReadFile(testsupport::SourceDir() + "/docs/examples/" + rel);
}

// Debian's exim4, unpacked by scripts/install-deps (it conflicts with the postfix package).
std::string EximBinary() {
  const char* dir = std::getenv("NOTARY_TEST_MTA_DIR");
  return std::string(dir ? dir : "/opt/email-notary-tests") + "/exim4-daemon-light/usr/sbin/exim4";
}

std::string Replace(std::string s, const std::string& from, const std::string& to) {
  size_t at = s.find(from);
  EXPECT_NE(at, std::string::npos) << "the example no longer holds " << from;
  for (; at != std::string::npos; at = s.find(from, at + to.size())) s.replace(at, from.size(), to);
  return s;
}

// An IPv4 address of this host other than loopback, or "" when it has none.
std::string OutsideAddress() {
  ifaddrs* all = nullptr;
  if (getifaddrs(&all) != 0) return "";
  std::string found;
  for (ifaddrs* i = all; i != nullptr && found.empty(); i = i->ifa_next) {
    if (i->ifa_addr == nullptr || i->ifa_addr->sa_family != AF_INET) continue;
    char buf[INET_ADDRSTRLEN];
    auto* in = reinterpret_cast<sockaddr_in*>(i->ifa_addr);
    if (inet_ntop(AF_INET, &in->sin_addr, buf, sizeof buf) && std::string(buf).rfind("127.", 0))
      found = buf;
  }
  freeifaddrs(all);
  return found;
}

class SetupGuideTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // A certificate authority and, from it, the notary's certificate for notary.example.test,
    // as a public CA would issue it (the guide's example name is notary.example.com). It also
    // names localhost: Exim checks the name it routed to, and only that one resolves here.
    std::filesystem::create_directories(dir_ + "/tls");
    auto run = [&](const std::vector<std::string>& argv) {
      auto r = RunCommand(argv);
      ASSERT_EQ(r.exit_code, 0) << r.out;
    };
    run({"openssl",
         "req",
         "-x509",
         "-newkey",
         "ec",
         "-pkeyopt",
         "ec_paramgen_curve:P-256",
         "-nodes",
         "-days",
         "2",
         "-subj",
         "/CN=Setup Guide Test CA",
         "-keyout",
         dir_ + "/ca.key",
         "-out",
         dir_ + "/ca.pem",
         "-addext",
         "basicConstraints=critical,CA:TRUE",
         "-addext",
         "keyUsage=critical,keyCertSign,cRLSign"});
    run({"openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
         "-subj", "/CN=notary.example.test", "-keyout", dir_ + "/tls/privkey.pem", "-out",
         dir_ + "/notary.csr"});
    testsupport::WriteFile(dir_ + "/ext.cnf",
                           "subjectAltName=DNS:notary.example.test,DNS:localhost\n"
                           "extendedKeyUsage=serverAuth\n");
    run({"openssl", "x509", "-req", "-in", dir_ + "/notary.csr", "-CA", dir_ + "/ca.pem", "-CAkey",
         dir_ + "/ca.key", "-CAcreateserial", "-days", "2", "-extfile", dir_ + "/ext.cnf", "-out",
         dir_ + "/tls/fullchain.pem"});

    std::string conf = Example("notary/notaryd.conf");
    conf = Replace(conf, "/etc/notary/tls/", dir_ + "/tls/");
    conf = Replace(conf, "0.0.0.0:2525", "0.0.0.0:0");
    conf = Replace(conf, "0.0.0.0:8443", "0.0.0.0:0");
    conf = Replace(conf, "192.0.2.0/24", "127.0.0.0/8");
    testsupport::WriteFile(dir_ + "/notaryd.conf", conf);
    std::vector<std::string> argv = {Binary("notaryd/notaryd"),
                                     "--config",
                                     dir_ + "/notaryd.conf",
                                     "--database-url",
                                     db_.AppUrl(),
                                     "--owner-database-url",
                                     db_.OwnerUrl(),
                                     "--data-dir",
                                     dir_ + "/data"};
    testsupport::AppendSenderChecksOffUnlessAsked(argv, {});
    notaryd_ = std::make_unique<testsupport::ChildProcess>(argv, dir_ + "/notaryd.log");
    auto line = notaryd_->WaitForLine("event=listening ", std::chrono::seconds(30));
    ASSERT_TRUE(line) << testsupport::ReadFile(dir_ + "/notaryd.log");
    listening_ = *line;
    auto ports = testsupport::ParseListeningLine(*line);
    ASSERT_TRUE(ports) << *line;
    smtp_ = ports->smtp;
    http_ = ports->http;
  }

  // A new API key of tenant "default" with `scopes`, as notaryctl prints it (its last line);
  // "" (and a failure) when notaryctl fails.
  std::string ApiKey(const std::string& scopes) {
    auto r = RunCommand({Binary("cli/notaryctl"), "--database-url", db_.AppUrl(), "apikey",
                         "create", "--tenant", "default", "--scope", scopes});
    EXPECT_EQ(r.exit_code, 0) << r.out;
    if (r.exit_code != 0) return "";
    std::string key = r.out.substr(r.out.rfind('\n', r.out.size() - 2) + 1);
    key.erase(key.find_last_not_of("\n") + 1);
    return key;
  }

  // curl verifying the notary's certificate for its name against the CA.
  testsupport::CommandResult Https(const std::string& path, const std::string& key = "") {
    const std::string host = "notary.example.test:" + std::to_string(http_);
    std::vector<std::string> argv = {"curl",
                                     "-sS",
                                     "--fail",
                                     "--cacert",
                                     dir_ + "/ca.pem",
                                     "--resolve",
                                     host + ":127.0.0.1",
                                     "https://" + host + path};
    if (!key.empty()) argv.insert(argv.end(), {"-H", "Authorization: Bearer " + key});
    return RunCommand(argv);
  }

  testsupport::TestDatabase db_;
  std::string dir_ = testsupport::MakeTempDir("setup-guide");
  std::unique_ptr<testsupport::ChildProcess> notaryd_;
  std::string listening_;
  int smtp_ = 0, http_ = 0;
};

TEST_F(SetupGuideTest, NotaryListensBeyondLoopbackWithTlsAndTakesMailOnlyFromTheMailServers) {
  EXPECT_NE(listening_.find("smtp=0.0.0.0:"), std::string::npos) << listening_;
  EXPECT_NE(listening_.find("http=0.0.0.0:"), std::string::npos) << listening_;
  // HTTPS, the certificate verified by name; plain HTTP is not served.
  auto healthz = Https("/healthz");
  EXPECT_EQ(healthz.exit_code, 0) << healthz.out;
  auto plain = RunCommand({"curl", "-sS", "--fail", "--max-time", "10",
                           "http://127.0.0.1:" + std::to_string(http_) + "/healthz"});
  EXPECT_NE(plain.exit_code, 0) << plain.out;
  // STARTTLS from the allowed network, the certificate verified.
  auto tls = Swaks(smtp_, {"--tls", "--tls-verify", "--tls-ca-path", dir_ + "/ca.pem", "--tls-sni",
                           "notary.example.test", "--to", "b@example.org"});
  EXPECT_EQ(tls.exit_code, 0) << tls.out;
  EXPECT_NE(tls.out.find("notarised id="), std::string::npos) << tls.out;
  // From an address of this host outside the allowed network: refused, as a stranger is.
  const std::string outside = OutsideAddress();
  if (outside.empty()) GTEST_SKIP() << "this host has no address besides loopback";
  auto stranger = RunCommand({"swaks", "--server", outside + ":" + std::to_string(smtp_), "--to",
                              "b@example.org", "--timeout", "20"});
  EXPECT_NE(stranger.exit_code, 0) << stranger.out;
  EXPECT_NE(stranger.out.find("554 5.7.1"), std::string::npos) << stranger.out;
}

TEST_F(SetupGuideTest, PostfixCopiesEveryMessageToTheNotaryOverVerifiedTlsAndNeverToAnImpostor) {
  const std::string nexthop = "[127.0.0.1]:" + std::to_string(smtp_);
  testsupport::WriteFile(dir_ + "/transport", Replace(Example("postfix/transport-notary"),
                                                      "[192.0.2.10]:2525", nexthop));
  auto policy = [&](const std::string& name) {
    std::string p = Example("postfix/notary_tls_policy");
    p = Replace(p, "[192.0.2.10]:2525", nexthop);
    p = Replace(p, "notary.example.com", name);
    testsupport::WriteFile(dir_ + "/notary_tls_policy", p);
    // postmap reads a main.cf; Debian's Postfix without a configuration has none.
    std::filesystem::create_directories(dir_ + "/mapconf");
    testsupport::WriteFile(dir_ + "/mapconf/main.cf", "");
    for (const char* map : {"/transport", "/notary_tls_policy"}) {
      auto r = RunCommand({"/usr/sbin/postmap", "-c", dir_ + "/mapconf", "hash:" + dir_ + map});
      ASSERT_EQ(r.exit_code, 0) << r.out;
    }
  };
  policy("notary.example.test");
  std::string main_cf = Example("postfix/bcc-main.cf");
  main_cf = Replace(main_cf, "hash:/etc/postfix/transport", "hash:" + dir_ + "/transport");
  main_cf += "smtp_tls_loglevel = 1\n";  // logs each TLS connection, as the guide suggests
  std::string master_cf = Example("postfix/notary-transport-master.cf");
  master_cf = Replace(master_cf, "/etc/postfix/notary_tls_policy", dir_ + "/notary_tls_policy");
  master_cf = Replace(master_cf, "/etc/ssl/certs/ca-certificates.crt", dir_ + "/ca.pem");
  master_cf += "tlsmgr unix - - n 1000? 1 tlsmgr\n";  // in every stock master.cf
  Sink sink(dir_ + "/sink");
  Postfix postfix(dir_, "", sink.port(), main_cf, master_cf);

  auto sent = Swaks(postfix.smtp_port(), {"--from", "alice@notary.test", "--to",
                                          "bob@elsewhere.test", "--header", "Subject: contract"});
  ASSERT_EQ(sent.exit_code, 0) << sent.out;
  // `m` points into `maillog`, which must outlive it (ASan caught a copy local to the lambda).
  std::string maillog;
  std::smatch m;
  const std::regex copied(
      R"(to=<notary@notary\.invalid>.*status=sent \(250 2\.0\.0 Ok: notarised id=([0-9a-f-]{36}))");
  ASSERT_TRUE(WaitUntil(
      [&] {
        maillog = postfix.Log();
        return std::regex_search(maillog, m, copied);
      },
      std::chrono::seconds(60)))
      << postfix.Log();
  const std::string id = m[1];
  EXPECT_NE(postfix.Log().find("Verified TLS connection established to 127.0.0.1[127.0.0.1]:" +
                               std::to_string(smtp_)),
            std::string::npos)
      << postfix.Log();
  EXPECT_TRUE(WaitUntil([&] { return sink.Messages().size() == 1; }, std::chrono::seconds(30)))
      << "the original delivery goes on as before";

  // The receipt records the copy's TLS, and is read over HTTPS.
  const std::string api_key = ApiKey("read");
  ASSERT_FALSE(api_key.empty());
  auto got = Https("/v1/messages/" + id, api_key);
  ASSERT_EQ(got.exit_code, 0) << got.out;
  auto receipt = nlohmann::json::parse(got.out);
  EXPECT_EQ(receipt["envelope_to"], nlohmann::json::array({"notary@notary.invalid"}));
  EXPECT_EQ(receipt["tls_protocol"].get<std::string>().rfind("TLSv1.", 0), 0u) << got.out;

  // Someone else's certificate at the notary's address (here: the policy expects another name):
  // Postfix defers the copy rather than hand it over, and the notary receives nothing.
  policy("impostor.example.test");
  postfix.Reload();
  auto second = Swaks(postfix.smtp_port(), {"--from", "alice@notary.test", "--to",
                                            "bob@elsewhere.test", "--header", "Subject: two"});
  ASSERT_EQ(second.exit_code, 0) << second.out;
  EXPECT_TRUE(WaitUntil(
      [&] {
        const std::string log = postfix.Log();
        return log.find("to=<notary@notary.invalid>") != std::string::npos &&
               log.find("status=deferred") != std::string::npos &&
               log.find("not verified") != std::string::npos;
      },
      std::chrono::seconds(60)))
      << postfix.Log();
  auto count =
      RunCommand({"psql", "-X", "-At", db_.SuperUrl(), "-c", "SELECT count(*) FROM receipts"});
  EXPECT_EQ(count.out, "1\n");
}

// Exim's copy keeps the message's envelope recipients, goes over TLS only to a certificate
// issued for the routed name, and leaves the normal delivery as it was.
TEST_F(SetupGuideTest, EximCopiesEveryMessageWithItsRecipientsOverVerifiedTlsAndNeverToAnImpostor) {
  const std::string exim = EximBinary();
  ASSERT_TRUE(std::filesystem::exists(exim)) << exim << " is missing: run scripts/install-deps";
  // Exim drops to its compiled-in user Debian-exim (install-deps creates it) to deliver, so
  // its spool, log, configuration and CA file live where that user can reach them: the build
  // tree may sit under a directory only root may enter.
  char tmpl[] = "/tmp/notary-exim-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string spool = tmpl;
  struct Cleanup {
    std::string dir;
    ~Cleanup() { std::filesystem::remove_all(dir); }
  } cleanup{spool};
  std::filesystem::permissions(
      spool, std::filesystem::perms::owner_all | std::filesystem::perms::group_read |
                 std::filesystem::perms::group_exec | std::filesystem::perms::others_read |
                 std::filesystem::perms::others_exec);
  std::filesystem::copy_file(dir_ + "/ca.pem", spool + "/ca.pem");
  std::filesystem::create_directories(spool + "/spool/log");
  auto own = RunCommand({"chown", "-R", "Debian-exim:Debian-exim", spool + "/spool"});
  ASSERT_EQ(own.exit_code, 0) << own.out;
  Sink sink(spool);  // smtp-sink, too, writes as another user (postfix)

  auto configure = [&](const std::string& notary_host) {
    std::string router = Example("exim/notary-router.conf");
    router = Replace(router, "notary.example.com", notary_host);
    std::string transport = Example("exim/notary-transport.conf");
    transport = Replace(transport, "port = 2525", "port = " + std::to_string(smtp_));
    transport = Replace(transport, "/etc/ssl/certs/ca-certificates.crt", spool + "/ca.pem");
    // The rest of a minimal configuration: a local submission, and the normal delivery to a
    // sink standing in for the next hop.
    testsupport::WriteFile(
        spool + "/exim.conf",
        "exim_path = " + exim + "\nspool_directory = " + spool +
            "/spool\nlog_file_path = " + spool +
            "/spool/log/%slog\nprimary_hostname = mx.example.test\nkeep_environment =\n\nbegin "
            "routers\n\n" +
            router +
            "\nnormal_delivery:\n  driver = manualroute\n  route_list = * 127.0.0.1\n"
            "  transport = next_hop\n  self = send\n\nbegin transports\n\n" +
            transport + "\nnext_hop:\n  driver = smtp\n  port = " + std::to_string(sink.port()) +
            "\n\nbegin retry\n\n* * F,1h,5m\n");
  };
  auto submit = [&](const std::string& subject) {
    // -odf: delivered in the foreground, so the log is complete when exim4 returns.
    return RunCommand({exim, "-C", spool + "/exim.conf", "-odf", "-f", "alice@mx.example.test",
                       "bob@elsewhere.test", "carol@elsewhere.test"},
                      "From: alice@mx.example.test\nTo: bob@elsewhere.test\nSubject: " + subject +
                          "\n\nThe terms as agreed.\n");
  };

  configure("localhost");
  auto sent = submit("contract");
  ASSERT_EQ(sent.exit_code, 0) << sent.out;
  const std::string log = testsupport::ReadFile(spool + "/spool/log/mainlog");
  // CV=yes: the certificate verified; one delivery to the notary carries both recipients.
  std::smatch m;
  ASSERT_TRUE(std::regex_search(
      log, m,
      std::regex(
          R"(=> bob@elsewhere\.test R=notary_copy T=notary_smtp .* CV=yes .*notarised id=([0-9a-f-]{36}))")))
      << log;
  const std::string id = m[1];
  EXPECT_NE(log.find("-> carol@elsewhere.test R=notary_copy"), std::string::npos) << log;
  EXPECT_EQ(log.find("TLS error"), std::string::npos) << log;
  EXPECT_NE(log.find("R=normal_delivery"), std::string::npos) << log;
  EXPECT_TRUE(WaitUntil([&] { return sink.Messages().size() == 1; }, std::chrono::seconds(30)))
      << "the normal delivery goes on as before\n"
      << log;

  const std::string api_key = ApiKey("read");
  ASSERT_FALSE(api_key.empty());
  auto got = Https("/v1/messages/" + id, api_key);
  ASSERT_EQ(got.exit_code, 0) << got.out;
  auto receipt = nlohmann::json::parse(got.out);
  EXPECT_EQ(receipt["envelope_from"], "alice@mx.example.test");
  EXPECT_EQ(receipt["envelope_to"],
            nlohmann::json::array({"bob@elsewhere.test", "carol@elsewhere.test"}));
  EXPECT_EQ(receipt["tls_protocol"].get<std::string>().rfind("TLSv1.", 0), 0u) << got.out;

  // Routed to a name the certificate does not carry: Exim defers the copy, the notary gets
  // nothing, and the normal delivery still happens.
  configure("127.0.0.1");
  auto second = submit("two");
  ASSERT_EQ(second.exit_code, 0) << second.out;
  const std::string log2 = testsupport::ReadFile(spool + "/spool/log/mainlog");
  EXPECT_NE(log2.find("R=notary_copy T=notary_smtp defer"), std::string::npos) << log2;
  EXPECT_NE(log2.find("certificate verification failed"), std::string::npos) << log2;
  EXPECT_TRUE(WaitUntil([&] { return sink.Messages().size() == 2; }, std::chrono::seconds(30)));
  auto count =
      RunCommand({"psql", "-X", "-At", db_.SuperUrl(), "-c", "SELECT count(*) FROM receipts"});
  EXPECT_EQ(count.out, "1\n");
}

// The guide's curl command for HTTP ingest, as written: the envelope headers (a quoted local
// part with a comma among them) reach the receipt, over HTTPS verified against the CA.
TEST_F(SetupGuideTest, HttpIngestCommandRecordsTheEnvelopeItStates) {
  const std::string api_key = ApiKey("ingest,read");
  ASSERT_FALSE(api_key.empty());
  const std::string work = dir_ + "/http";
  std::filesystem::create_directories(work);
  testsupport::WriteFile(work + "/message.eml",
                         "From: alice@example.org\r\nSubject: posted\r\n\r\nBody.\r\n");
  const std::string script = Replace(Example("http/post-message.sh"), "https://notary.example.com",
                                     "https://localhost:" + std::to_string(http_));
  auto posted =
      RunCommand({"env", "NOTARY_INGEST_KEY=" + api_key, "CURL_CA_BUNDLE=" + dir_ + "/ca.pem",
                  "bash", "-c", "cd " + work + " && " + script});
  ASSERT_EQ(posted.exit_code, 0) << posted.out;
  const std::string id = nlohmann::json::parse(posted.out)["id"];
  auto got = Https("/v1/messages/" + id, api_key);
  ASSERT_EQ(got.exit_code, 0) << got.out;
  auto receipt = nlohmann::json::parse(got.out);
  EXPECT_EQ(receipt["envelope_from"], "alice@example.org");
  EXPECT_EQ(receipt["envelope_to"], nlohmann::json::array({"bob@example.net", "carol@example.net",
                                                           "\"doe, jane\"@example.net"}));
}

// The guide's commands that create the milter's key and start notary-milter, then Postfix with
// the guide's milter snippet: the milter reaches the notary over HTTPS and checks its
// certificate (with the CA unknown to it, the milter cannot notarise, and Postfix answers 4xx).
TEST_F(SetupGuideTest, MilterStartedAsTheGuideSaysNotarisesOverVerifiedHttps) {
  const int milter_port = testsupport::FreePort();
  const int status_port = testsupport::FreePort();
  std::string script = Example("notary-milter/start.sh");
  script = Replace(script, "/etc/notary-milter/key", dir_ + "/milter.key");
  script = Replace(script, "unix:/var/spool/postfix/notary-milter/milter.sock",
                   "inet:127.0.0.1:" + std::to_string(milter_port));
  script =
      Replace(script, "https://notary.example.com", "https://localhost:" + std::to_string(http_));
  script = Replace(script, "127.0.0.1:8892", "127.0.0.1:" + std::to_string(status_port));
  const std::string path =
      std::filesystem::path(Binary("cli/notaryctl")).parent_path().string() + ":" +
      std::filesystem::path(Binary("plugin/notary-milter")).parent_path().string() + ":" +
      std::getenv("PATH");
  auto start_milter = [&](const std::string& ca_file) {
    std::vector<std::string> argv = {"env", "PATH=" + path, "NOTARY_DATABASE_URL=" + db_.AppUrl()};
    // OpenSSL's default trust store, which notary-milter's HTTPS client uses, read from a file
    // holding the test CA (a real site's notary has a publicly trusted certificate).
    if (!ca_file.empty()) argv.push_back("SSL_CERT_FILE=" + ca_file);
    argv.insert(argv.end(), {"bash", "-c", script});
    auto milter = std::make_unique<testsupport::ChildProcess>(argv, dir_ + "/milter.log");
    EXPECT_TRUE(
        WaitUntil([&] { return plugintest::PortOpen(milter_port); }, std::chrono::seconds(30)))
        << testsupport::ReadFile(dir_ + "/milter.log");
    return milter;
  };
  auto milter = start_milter(dir_ + "/ca.pem");
  std::string main_cf = Example("postfix/milter-main.cf");
  main_cf = Replace(main_cf, "unix:/notary-milter/milter.sock",
                    "inet:127.0.0.1:" + std::to_string(milter_port));
  Sink sink(dir_ + "/milter-sink");
  Postfix postfix(dir_, "inet:127.0.0.1:" + std::to_string(milter_port), sink.port(), main_cf);

  auto sent = Swaks(postfix.smtp_port(), {"--from", "alice@notary.test", "--to",
                                          "bob@elsewhere.test", "--header", "Subject: milter"});
  ASSERT_EQ(sent.exit_code, 0) << sent.out << testsupport::ReadFile(dir_ + "/milter.log");
  ASSERT_TRUE(WaitUntil([&] { return sink.Messages().size() == 1; }, std::chrono::seconds(30)));
  EXPECT_NE(sink.Messages()[0].find("X-Notary-Receipt: id="), std::string::npos)
      << sink.Messages()[0];
  auto count = [&] {
    return RunCommand({"psql", "-X", "-At", db_.SuperUrl(), "-c", "SELECT count(*) FROM receipts"})
        .out;
  };
  EXPECT_EQ(count(), "1\n");

  // The same milter trusting only the public CAs: it refuses the notary's certificate.
  milter->Kill(SIGTERM);
  milter = start_milter("");
  auto refused = Swaks(postfix.smtp_port(), {"--from", "alice@notary.test", "--to",
                                             "bob@elsewhere.test", "--header", "Subject: two"});
  EXPECT_NE(refused.exit_code, 0) << refused.out;
  EXPECT_NE(refused.out.find("451 4."), std::string::npos) << refused.out;
  EXPECT_EQ(count(), "1\n");
  milter->Kill(SIGTERM);
  EXPECT_NE(testsupport::ReadFile(dir_ + "/milter.log").find("SSLServerVerification"),
            std::string::npos)
      << "refused for the certificate, not for another reason";
}

}  // namespace
