// The web console in a real headless Chromium: this test starts notaryd (two of them: one with
// a 3-second session TTL for the expiry test), puts mail of two tenants in over SMTP and HTTP,
// makes API keys with notaryctl, then runs tests/console/console.test.mjs (node --test,
// playwright-core on Debian's /usr/bin/chromium, axe-core) and checks that it passes. Among
// its scenarios: the browser verifier (web/public/verify.js) against notary-verify on the same
// genuine and tampered bundles, check for check.
#include <gtest/gtest.h>

#include <cstdlib>
#include <iostream>
#include <nlohmann/json.hpp>
#include <regex>

#include "e2e/notaryd_process.h"
#include "support/test_support.h"

namespace {

using nlohmann::json;
using testsupport::RunCommand;

const char kKoreanMessage[] =
    "From: =?UTF-8?B?6rmA7LKg7IiY?= <kim@example.kr>\r\n"
    "To: Lee <lee@example.org>\r\n"
    "Subject: =?UTF-8?B?6rOE7JW97ISc?= final\r\n"
    "Date: Thu, 26 Nov 2026 09:00:00 +0900\r\n"
    "Message-ID: <final-contract@example.kr>\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: multipart/mixed; boundary=\"xyz\"\r\n"
    "\r\n"
    "--xyz\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "\r\n"
    "The signed contract is attached.\r\n"
    "--xyz\r\n"
    "Content-Type: application/pdf\r\n"
    "Content-Disposition: attachment; filename*=UTF-8''%EA%B3%84%EC%95%BD%EC%84%9C.pdf\r\n"
    "Content-Transfer-Encoding: base64\r\n"
    "\r\n"
    "JVBERi0xLjQKJcfsj6IKMSAwIG9iago8PD4+CmVuZG9iagp0cmFpbGVyCjw8Pj4KJSVFT0YKCg==\r\n"
    "--xyz--\r\n";

const char kHostileMessage[] =
    "From: Mallory <mallory@example.net>\r\n"
    "To: Lee <lee@example.org>\r\n"
    "Subject: <img src=x onerror=alert(1)>\r\n"
    "Date: Thu, 26 Nov 2026 10:00:00 +0900\r\n"
    "Message-ID: <hostile@example.net>\r\n"
    "\r\n"
    "<script>alert(2)</script>\r\n";

const char kChineseMessage[] =
    "From: =?UTF-8?B?546L5byA?= <wang@example.cn>\r\n"
    "To: Lee <lee@example.org>\r\n"
    "Subject: =?UTF-8?B?5ZCI5ZCM5Lmm?= v2\r\n"
    "Date: Thu, 26 Nov 2026 11:00:00 +0800\r\n"
    "Message-ID: <contract-cn@example.cn>\r\n"
    "\r\n"
    "See the contract.\r\n";

// The other tenant's message: its subject also contains the Korean search word.
const char kRivalMessage[] =
    "From: Rival <rival@example.com>\r\n"
    "To: Lee <lee@example.org>\r\n"
    "Subject: =?UTF-8?B?6rOE7JW97ISc?= rival-secret\r\n"
    "Date: Thu, 26 Nov 2026 12:00:00 +0900\r\n"
    "Message-ID: <rival@example.com>\r\n"
    "\r\n"
    "Not yours.\r\n";

// Ingested over HTTP after the Korean message's block was sealed, so it lands in a later block
// (its bundle has a previous block). Its headers exercise the escaping of the bundle's texts:
// a right-to-left override and an isolate (bidi controls), a C1 control, markup and quotes
// (RFC 2047), a raw 8-bit byte that is not UTF-8, and an attachment name with markup.
const char kEdgeMessage[] =
    "From: \"Zo\xc3\xab & Co\" <zoe@example.com>\r\n"
    "To: \"Lee \xff\" <lee@example.org>, <b@example.org>\r\n"
    "Subject: =?UTF-8?B?RWRnZSDigK5nbnAuZXhlICYgPGI+InEiICdhJyBDMVvChV0gYmlkaVvigaZdIGVuZA==?=\r\n"
    "Date: Thu, 26 Nov 2026 13:00:00 +0000\r\n"
    "Message-ID: <edge@example.com>\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: multipart/mixed; boundary=\"b1\"\r\n"
    "\r\n"
    "--b1\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "\r\n"
    "Body.\r\n"
    "--b1\r\n"
    "Content-Type: application/octet-stream\r\n"
    "Content-Disposition: attachment; filename=\"a&b<c>.bin\"\r\n"
    "Content-Transfer-Encoding: base64\r\n"
    "\r\n"
    "AAECAw==\r\n"
    "--b1--\r\n";

class ConsoleTest : public ::testing::Test {
 protected:
  // Sends `message` over SMTP to `node`; returns the receipt id.
  std::string Smtp(const e2e::NotarydProcess& node, const std::string& name, const char* message) {
    testsupport::WriteFile(dir_ + "/" + name, message);
    auto r = RunCommand({"swaks", "--server", "127.0.0.1:" + std::to_string(node.smtp_port()),
                         "--from", "sender@example.org", "--to", "lee@example.org", "--data",
                         "@" + dir_ + "/" + name});
    std::smatch m;
    EXPECT_TRUE(std::regex_search(r.out, m, std::regex("notarised id=([0-9a-f-]{36})"))) << r.out;
    return m.size() > 1 ? m[1].str() : "";
  }
  // Waits until `id` is sealed (the evidence route's wait); true when it is.
  bool Sealed(const e2e::NotarydProcess& node, const std::string& key, const std::string& id) {
    auto r = RunCommand(
        {"curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-H",
         "Authorization: Bearer " + key, node.Http("/v1/messages/" + id + "/evidence?wait=30")},
        "", 60);
    return r.out == "200";
  }

  std::string dir_ = testsupport::MakeTempDir("console");
};

TEST_F(ConsoleTest, BrowserScenariosPassInHeadlessChromium) {
  testsupport::TestDatabase db;
  e2e::NotarydProcess node(db.AppUrl(), db.OwnerUrl(), dir_ + "/data");
  ASSERT_TRUE(node.ready()) << node.Log();
  ASSERT_EQ(RunCommand({e2e::NotaryctlBinary(), "--database-url", db.AppUrl(), "tenant", "create",
                        "rival"})
                .exit_code,
            0);
  const std::string read_key = e2e::MakeKey(db.AppUrl(), "default", "read");
  const std::string ingest_key = e2e::MakeKey(db.AppUrl(), "default", "ingest");
  const std::string rival_key = e2e::MakeKey(db.AppUrl(), "rival", "ingest,read");
  // The Cases page's keys: a lawyer of each tenant.
  const std::string cases_key = e2e::MakeKey(db.AppUrl(), "default", "read,cases");
  const std::string rival_cases_key = e2e::MakeKey(db.AppUrl(), "rival", "read,cases");
  ASSERT_FALSE(read_key.empty() || ingest_key.empty() || rival_key.empty() || cases_key.empty() ||
               rival_cases_key.empty());

  const std::string korean_id = Smtp(node, "ko.eml", kKoreanMessage);
  const std::string hostile_id = Smtp(node, "xss.eml", kHostileMessage);
  const std::string chinese_id = Smtp(node, "zh.eml", kChineseMessage);
  testsupport::WriteFile(dir_ + "/rival.eml", kRivalMessage);
  auto rival = RunCommand({"curl", "-s", "-H", "Authorization: Bearer " + rival_key, "-H",
                           "Content-Type: message/rfc822", "--data-binary",
                           "@" + dir_ + "/rival.eml", node.Http("/v1/messages")});
  const std::string rival_id = json::parse(rival.out, nullptr, false).value("id", "");
  ASSERT_FALSE(rival_id.empty()) << rival.out;
  ASSERT_TRUE(Sealed(node, read_key, korean_id)) << node.Log();
  ASSERT_TRUE(Sealed(node, rival_key, rival_id)) << node.Log();
  testsupport::WriteFile(dir_ + "/edge.eml", kEdgeMessage);
  auto edge = RunCommand({"curl", "-s", "-H", "Authorization: Bearer " + ingest_key, "-H",
                          "Content-Type: message/rfc822", "--data-binary", "@" + dir_ + "/edge.eml",
                          node.Http("/v1/messages")});
  const std::string edge_id = json::parse(edge.out, nullptr, false).value("id", "");
  ASSERT_FALSE(edge_id.empty()) << edge.out;
  ASSERT_TRUE(Sealed(node, read_key, edge_id)) << node.Log();
  // Erased (issue 22): its bundle carries the erasure record instead of the message, and the
  // browser must give notary-verify's verdicts on it too.
  testsupport::WriteFile(dir_ + "/erased.eml",
                         "From: a@example.com\r\nTo: b@example.org\r\nSubject: gone\r\n\r\nx\r\n");
  auto erased = RunCommand({"curl", "-s", "-H", "Authorization: Bearer " + ingest_key, "-H",
                            "Content-Type: message/rfc822", "--data-binary",
                            "@" + dir_ + "/erased.eml", node.Http("/v1/messages")});
  const std::string erased_id = json::parse(erased.out, nullptr, false).value("id", "");
  ASSERT_FALSE(erased_id.empty()) << erased.out;
  ASSERT_TRUE(Sealed(node, read_key, erased_id)) << node.Log();
  const std::string admin_key = e2e::MakeKey(db.AppUrl(), "default", "admin");
  auto erase = RunCommand({"curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-H",
                           "Authorization: Bearer " + admin_key, "-H",
                           "Content-Type: application/json", "--data", R"({"reason": "test"})",
                           node.Http("/v1/messages/" + erased_id + "/erase")});
  ASSERT_EQ(erase.out, "200");
  ASSERT_TRUE(Sealed(node, read_key, erased_id)) << node.Log();  // its erasure record too

  // A second notaryd whose console sessions last 3 s.
  testsupport::TestDatabase short_db;
  setenv("NOTARY_CONSOLE_SESSION_TTL_S", "3", 1);
  e2e::NotarydProcess short_node(short_db.AppUrl(), short_db.OwnerUrl(), dir_ + "/short");
  unsetenv("NOTARY_CONSOLE_SESSION_TTL_S");
  ASSERT_TRUE(short_node.ready()) << short_node.Log();
  const std::string short_key = e2e::MakeKey(short_db.AppUrl(), "default", "read");

  const std::string src = testsupport::SourceDir();
  std::string env =
      "CONSOLE_URL=" + node.Http("") + " CONSOLE_SHORT_URL=" + short_node.Http("") +
      " READ_KEY=" + read_key + " INGEST_KEY=" + ingest_key + " RIVAL_KEY=" + rival_key +
      " CASES_KEY=" + cases_key + " RIVAL_CASES_KEY=" + rival_cases_key +
      " SHORT_KEY=" + short_key + " KOREAN_ID=" + korean_id + " HOSTILE_ID=" + hostile_id +
      " CHINESE_ID=" + chinese_id + " RIVAL_ID=" + rival_id + " EDGE_ID=" + edge_id +
      " ERASED_ID=" + erased_id + " NOTARY_VERIFY=" + testsupport::BinaryDir() +
      "/cli/notary-verify" + " TSA_CA=" + dir_ + "/data/tsa/ca.pem" + " WORK_DIR=" + dir_ +
      " SCREENSHOT_DIR=" + testsupport::BinaryDir() + "/console-screenshots";
  auto r = RunCommand({"sh", "-c",
                       "cd " + src + " && env " + env +
                           " node --test --test-concurrency=1 tests/console/console.test.mjs"},
                      "", 540);
  EXPECT_EQ(r.exit_code, 0) << r.out << "\n--- notaryd log ---\n" << node.Log();
  // node --test's closing summary ("# pass N", "# fail N"), for the CTest log.
  std::cout << r.out.substr(r.out.rfind("# tests") == std::string::npos ? 0
                                                                        : r.out.rfind("# tests"));
  // Neither the key nor the session token may appear in notaryd's log.
  EXPECT_EQ(node.Log().find(read_key), std::string::npos);
  EXPECT_EQ(node.Log().find(read_key.substr(20)), std::string::npos);
}

}  // namespace
