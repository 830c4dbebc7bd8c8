// Sender evidence end to end (docs/sender-evidence.md): notaryd with --sender-checks, asking a
// validating unbound in front of knotd (scripts/dnstest: acme.example DNSSEC-signed), receives
// messages DKIM-signed by dkimpy over SMTP from swaks; after the 250 it checks DKIM, SPF and
// DMARC, archives the DNS answers, and seals an authentication record that the receipt API
// shows and notaryctl audit checks.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <regex>

#include "notaryd_process.h"
#include "support/test_support.h"

namespace {

using nlohmann::json;
using testsupport::Psql;
using testsupport::RunCommand;
using testsupport::WaitUntil;

const char kMessage[] =
    "From: Alice <alice@acme.example>\r\n"
    "To: bob@example.org\r\n"
    "Subject: Contract, signed\r\n"
    "Date: Fri, 04 Dec 2026 10:00:00 +0000\r\n"
    "Message-ID: <contract@acme.example>\r\n"
    "\r\n"
    "Signed copy attached.\r\n";

class SenderChecksTest : public ::testing::Test {
 protected:
  void SetUp() override {
    env_ = testsupport::DnsTestEnv();
    ASSERT_FALSE(env_["NOTARY_DNSTEST_RESOLVER"].empty()) << "scripts/dnstest did not run";
    node_ = std::make_unique<e2e::NotarydProcess>(
        db_.AppUrl(), db_.OwnerUrl(), dir_ + "/data",
        std::vector<std::string>{"--sender-checks", "true", "--dns-resolver",
                                 env_["NOTARY_DNSTEST_RESOLVER"], "--dns-trust-anchor",
                                 env_["NOTARY_DNSTEST_TRUST_ANCHOR"]});
    ASSERT_TRUE(node_->ready()) << node_->Log();
    key_ = e2e::MakeKey(db_.AppUrl(), "default", "ingest,read");
  }

  std::string Signed(const std::string& message) {
    auto r = RunCommand(
        {"/usr/bin/python3", testsupport::SourceDir() + "/tests/sender/fixtures/dkim_sign.py",
         "--domain", "acme.example", "--selector", "rsa1", "--key",
         env_["NOTARY_DNSTEST_KEY_ACME_RSA"]},
        message);
    EXPECT_EQ(r.exit_code, 0) << r.out;
    return r.out;
  }

  // Sends `message` with MAIL FROM alice@acme.example; the receipt id from the 250.
  std::string Send(const std::string& message) {
    std::string file = dir_ + "/msg-" + std::to_string(sent_++) + ".eml";
    testsupport::WriteFile(file, message);
    auto r = RunCommand({"swaks", "--server", "127.0.0.1:" + std::to_string(node_->smtp_port()),
                         "--from", "alice@acme.example", "--to", "bob@example.org", "--helo",
                         "mail.acme.example", "--data", file});
    std::smatch m;
    EXPECT_TRUE(std::regex_search(r.out, m, std::regex("notarised id=([0-9a-f-]{36})"))) << r.out;
    return m.size() > 1 ? std::string(m[1]) : "";
  }

  // The receipt once its authentication record is sealed.
  json Authentication(const std::string& id) {
    json a;
    EXPECT_TRUE(WaitUntil(
        [&] {
          auto r = RunCommand({"curl", "-s", "-H", "Authorization: Bearer " + key_,
                               node_->Http("/v1/messages/" + id)});
          auto j = json::parse(r.out, nullptr, false);
          if (j.is_discarded() || !j.contains("authentication") || j["authentication"].is_null())
            return false;
          a = j["authentication"];
          return a["status"] == "sealed";
        },
        std::chrono::seconds(60)))
        << node_->Log();
    return a;
  }

  testsupport::TestDatabase db_;
  std::string dir_ = testsupport::MakeTempDir("sender-e2e");
  std::map<std::string, std::string> env_;
  std::unique_ptr<e2e::NotarydProcess> node_;
  std::string key_;
  int sent_ = 0;
};

TEST_F(SenderChecksTest, SignedMessageIsCheckedArchivedSealedAndAudited) {
  std::string id = Send(Signed(kMessage));
  ASSERT_FALSE(id.empty());
  json a = Authentication(id);
  ASSERT_EQ(a["dkim"].size(), 1u) << a.dump(2);
  const json& d = a["dkim"][0];
  EXPECT_EQ(d["result"], "pass") << a.dump(2);
  EXPECT_EQ(d["domain"], "acme.example");
  EXPECT_EQ(d["key_dnssec"], "secure");
  const std::string summary = d["summary"];
  EXPECT_EQ(summary.rfind("signed by d=acme.example (key rsa1._domainkey.acme.example as "
                          "published at ",
                          0),
            0u)
      << summary;
  EXPECT_NE(summary.find("DNSSEC-validated)"), std::string::npos) << summary;
  EXPECT_EQ(a["spf"]["result"], "pass") << a.dump(2);
  EXPECT_EQ(a["spf"]["client_ip"], "127.0.0.1");
  EXPECT_EQ(a["dmarc"]["result"], "pass") << a.dump(2);
  EXPECT_EQ(a["dmarc"]["dkim_aligned"], true);
  bool key_archived = false;
  for (const json& answer : a["dns"]) {
    if (answer["name"] == "rsa1._domainkey.acme.example") {
      key_archived = answer["dnssec"] == "secure" && answer["outcome"] == "answer" &&
                     answer["records"].size() == 1 && answer["wire_size"].get<int>() > 0;
    }
  }
  EXPECT_TRUE(key_archived) << a.dump(2);

  // A message and its authentication record: two leaves, the second naming the first.
  EXPECT_EQ(Psql(db_.SuperUrl(), "SELECT count(*) FROM leaves"), "2");
  EXPECT_EQ(Psql(db_.SuperUrl(),
                 "SELECT count(*) FROM leaves l JOIN receipts r ON r.id = l.authentication_of"
                 " JOIN leaves m ON m.receipt_id = r.id WHERE m.leaf_index < l.leaf_index"),
            "1");
  // At rest the results and the DNS answers are ciphertext (migration 0019): the row's own
  // columns are empty, and nothing of the sender's address or domain is in the clear.
  EXPECT_EQ(Psql(db_.SuperUrl(),
                 "SELECT length(results) || ' ' || length(dns_archive) || ' ' ||"
                 " (sealed IS NOT NULL) || ' ' ||"
                 " (position(convert_to('acme.example', 'UTF8') in sealed) = 0)"
                 " FROM authentications"),
            "0 0 true true");
  // Both audit modes: the default reads no message bytes, --canonical reads them all. With
  // the key holder's folder the sealed checks are opened and compared with their record;
  // without it, they are counted as not opened.
  for (const char* mode : {"--quiet", "--canonical"}) {
    auto audit = RunCommand({e2e::NotaryctlBinary(), "--database-url", db_.AppUrl(), "audit", mode,
                             "--data-dir", dir_ + "/data"},
                            "", 120);
    EXPECT_EQ(audit.exit_code, 0) << mode << ": " << audit.out;
    EXPECT_NE(audit.out.find("audit: OK"), std::string::npos) << mode << ": " << audit.out;
    EXPECT_EQ(audit.out.find("sender checks sealed at rest not opened"), std::string::npos)
        << audit.out;
  }
  auto unopened =
      RunCommand({e2e::NotaryctlBinary(), "--database-url", db_.AppUrl(), "audit"}, "", 120);
  EXPECT_EQ(unopened.exit_code, 0) << unopened.out;
  EXPECT_NE(unopened.out.find("; 1 sender checks sealed at rest not opened"), std::string::npos)
      << unopened.out;
}

// The checks are on unless turned off: a notaryd given only a resolver checks the sender.
TEST_F(SenderChecksTest, TheChecksAreOnByDefault) {
  testsupport::TestDatabase plain_db;
  node_ = std::make_unique<e2e::NotarydProcess>(
      plain_db.AppUrl(), plain_db.OwnerUrl(), dir_ + "/default-data",
      std::vector<std::string>{"--dns-resolver", env_["NOTARY_DNSTEST_RESOLVER"],
                               "--dns-trust-anchor", env_["NOTARY_DNSTEST_TRUST_ANCHOR"]});
  ASSERT_TRUE(node_->ready()) << node_->Log();
  key_ = e2e::MakeKey(plain_db.AppUrl(), "default", "ingest,read");
  const std::string id = Send(Signed(kMessage));
  ASSERT_FALSE(id.empty());
  json a = Authentication(id);
  ASSERT_EQ(a["dkim"].size(), 1u) << a.dump(2);
  EXPECT_EQ(a["dkim"][0]["result"], "pass") << a.dump(2);
  node_.reset();  // before plain_db goes
}

TEST_F(SenderChecksTest, BodyChangedAfterSigningIsRecordedAsAFailNotRefused) {
  std::string message = Signed(kMessage);
  message.replace(message.find("Signed copy"), 11, "Forged copy");
  std::string id = Send(message);
  ASSERT_FALSE(id.empty());
  json a = Authentication(id);
  ASSERT_EQ(a["dkim"].size(), 1u) << a.dump(2);
  EXPECT_EQ(a["dkim"][0]["result"], "fail");
  EXPECT_EQ(a["dkim"][0]["reason"], "body hash did not verify");
  EXPECT_EQ(a["dkim"][0]["summary"].get<std::string>().rfind(
                "signature by d=acme.example does not verify: body hash did not verify", 0),
            0u);
}

TEST_F(SenderChecksTest, SearchFindsMessagesByDkimDomainAndResult) {
  std::string good = Send(Signed(kMessage));
  std::string message = Signed(kMessage);
  message.replace(message.find("Signed copy"), 11, "Forged copy");
  std::string forged = Send(message);
  std::string unsigned_id = Send(kMessage);
  ASSERT_FALSE(good.empty() || forged.empty() || unsigned_id.empty());
  for (const auto& id : {good, forged, unsigned_id}) Authentication(id);
  auto search = [&](const std::string& query) {
    auto r = RunCommand({"curl", "-s", "-w", "\n%{http_code}", "-H",
                         "Authorization: Bearer " + key_, node_->Http("/v1/messages?" + query)});
    const std::string code = r.out.substr(r.out.rfind('\n') + 1);
    std::vector<std::string> ids;
    if (code != "200") return std::vector<std::string>{"HTTP " + code};
    // Parsed into a variable: a range-for over a member of a temporary would dangle.
    const json page = json::parse(r.out.substr(0, r.out.rfind('\n')));
    for (const json& item : page["items"]) ids.push_back(item["id"]);
    std::sort(ids.begin(), ids.end());
    return ids;
  };
  auto sorted = [](std::vector<std::string> v) {
    std::sort(v.begin(), v.end());
    return v;
  };
  EXPECT_EQ(search("dkim_domain=ACME.example"), sorted({good, forged}));
  EXPECT_EQ(search("dkim_domain=acme.example&dkim_result=pass"), std::vector<std::string>{good});
  EXPECT_EQ(search("dkim_result=fail"), std::vector<std::string>{forged});
  EXPECT_TRUE(search("dkim_domain=plain.example").empty());
  EXPECT_EQ(search("dkim_result=bogus"), std::vector<std::string>{"HTTP 400"});
}

// The checks of one verifier's JSON report, by id: {status, reason}.
using Checks = std::map<std::string, std::pair<std::string, std::string>>;
Checks ChecksOf(const std::string& report) {
  Checks out;
  const json j = json::parse(report, nullptr, false);
  if (j.is_discarded() || !j.contains("checks")) return out;
  for (const json& c : j["checks"]) out[c["id"]] = {c["status"], c["reason"]};
  return out;
}

class SenderBundleTest : public SenderChecksTest {
 protected:
  // The bundle of `id`, once its authentication record is in the bundle's checkpoint (409
  // until then).
  std::string Bundle(const std::string& id, const std::string& lang = "en") {
    Authentication(id);
    const std::string zip = dir_ + "/evidence-" + id + "-" + lang + ".zip";
    EXPECT_TRUE(WaitUntil(
        [&] {
          auto r = RunCommand(
              {"curl", "-s", "-o", zip, "-w", "%{http_code}", "-H", "Authorization: Bearer " + key_,
               node_->Http("/v1/messages/" + id + "/evidence?wait=10&lang=" + lang)});
          return r.out == "200";
        },
        std::chrono::seconds(60)))
        << node_->Log();
    return zip;
  }

  // notary-verify --json, with no network at all where the machine allows it (root in CI):
  // the key records come from the archive in the bundle, never from DNS. The DNSSEC trust
  // anchor is the test zone's, as a verifier pins it; `root_anchor`: Debian's root key instead.
  testsupport::CommandResult NotaryVerify(const std::string& bundle, bool root_anchor = false) {
    std::vector<std::string> argv = {testsupport::BinaryDir() + "/cli/notary-verify", bundle,
                                     "--json"};
    if (!root_anchor) {
      argv.insert(argv.end(), {"--dns-trust-anchor", env_["NOTARY_DNSTEST_TRUST_ANCHOR"]});
    }
    static const bool isolated = RunCommand({"unshare", "-n", "true"}).exit_code == 0;
    if (isolated) argv.insert(argv.begin(), {"unshare", "-n"});
    return RunCommand(argv);
  }
  // The browser verifier (web/public/verify.js) on the same bundle, under node.
  testsupport::CommandResult BrowserVerify(const std::string& bundle) {
    return RunCommand({"node", testsupport::SourceDir() + "/tests/e2e/verify_js_report.mjs",
                       testsupport::SourceDir(), bundle});
  }
};

// Rewrites one entry of a zip (the rest as they are), for the tampering cases below.
const char kRezip[] = R"(
import sys, zipfile
src, dst, name, mode = sys.argv[1:5]
with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, 'w', zipfile.ZIP_DEFLATED) as zout:
    for item in zin.infolist():
        data = zin.read(item.filename)
        if item.filename == name:
            if mode == 'flip-last-byte':
                data = data[:-1] + bytes([data[-1] ^ 1])
            elif mode == 'summary-domain':
                data = data.replace(b'signed by d=acme.example', b'signed by d=bank.example', 1)
            elif mode == 'records':
                data = data.replace(b'"v=DKIM1; k=rsa; p=', b'"v=DKIM1; k=rsa; t=y; p=', 1)
        zout.writestr(item, data)
)";

TEST_F(SenderBundleTest, NotaryVerifyRechecksTheSignatureOfflineAndBothVerifiersRefuseTampering) {
  std::string id = Send(Signed(kMessage));
  ASSERT_FALSE(id.empty());
  const std::string zip = Bundle(id);

  auto good = NotaryVerify(zip);
  EXPECT_EQ(good.exit_code, 0) << good.out;
  Checks c = ChecksOf(good.out);
  EXPECT_EQ(c["sender.record"].first, "PASS") << c["sender.record"].second;
  EXPECT_EQ(c["sender.dkim"].first, "PASS") << c["sender.dkim"].second;
  EXPECT_EQ(c["sender.dkim"].second.rfind(
                "signed by d=acme.example (key rsa1._domainkey.acme.example as published at ", 0),
            0u)
      << c["sender.dkim"].second;
  EXPECT_NE(c["sender.dkim"].second.find("DNSSEC-validated)"), std::string::npos);
  EXPECT_EQ(c["sender.policy"].first, "PASS") << c["sender.policy"].second;
  EXPECT_NE(c["sender.policy"].second.find("SPF pass"), std::string::npos);
  EXPECT_NE(c["sender.policy"].second.find("DMARC pass"), std::string::npos);
  // The key record, the SPF and DMARC records: signed by acme.example, whose key the anchor is.
  EXPECT_EQ(c["sender.dnssec"].first, "PASS") << c["sender.dnssec"].second;
  EXPECT_NE(c["sender.dnssec"].second.find("rsa1._domainkey.acme.example (looked up 2"),
            std::string::npos)
      << c["sender.dnssec"].second;
  EXPECT_NE(c["sender.dnssec"].second.find("via acme.example (trust anchor)"), std::string::npos)
      << c["sender.dnssec"].second;
  // With only the root's anchor the chain does not reach: the notary's "DNSSEC-validated" is
  // then not confirmed, and the verifier says so.
  auto rooted = NotaryVerify(zip, /*root_anchor=*/true);
  EXPECT_NE(rooted.exit_code, 0) << rooted.out;
  EXPECT_EQ(ChecksOf(rooted.out)["sender.dnssec"].first, "FAIL") << rooted.out;
  EXPECT_NE(ChecksOf(rooted.out)["sender.dnssec"].second.find("no DS records of acme.example"),
            std::string::npos)
      << rooted.out;
  // The browser binds the same files and renders the same summary; it cannot run OpenDKIM.
  auto browser = BrowserVerify(zip);
  Checks b = ChecksOf(browser.out);
  EXPECT_EQ(b["sender.record"].first, "PASS") << browser.out;
  EXPECT_EQ(b["sender.dkim"].first, "SKIP") << browser.out;

  // Each tampering is refused by both: the results, the DNS archive (the key DKIM was checked
  // with), and the readable summary or key record text in evidence.json.
  testsupport::WriteFile(dir_ + "/rezip.py", kRezip);
  for (const auto& [entry, mode] :
       {std::pair{"authentication/results.bin", "flip-last-byte"},
        std::pair{"authentication/dns-archive.bin", "flip-last-byte"},
        std::pair{"evidence.json", "summary-domain"}, std::pair{"evidence.json", "records"}}) {
    const std::string bad = dir_ + "/tampered.zip";
    auto rz = RunCommand({"/usr/bin/python3", dir_ + "/rezip.py", zip, bad, entry, mode});
    ASSERT_EQ(rz.exit_code, 0) << rz.out;
    ASSERT_NE(testsupport::ReadFile(bad), testsupport::ReadFile(zip)) << entry << " " << mode;
    auto r = NotaryVerify(bad);
    EXPECT_NE(r.exit_code, 0) << entry << ": " << r.out;
    EXPECT_EQ(ChecksOf(r.out)["sender.record"].first, "FAIL") << entry << " " << mode << r.out;
    auto br = BrowserVerify(bad);
    EXPECT_EQ(ChecksOf(br.out)["sender.record"].first, "FAIL") << entry << " " << mode << br.out;
  }
}

TEST_F(SenderBundleTest, TheCertificateSaysItInPlainWordsInKoreanAndChinese) {
  std::string id = Send(Signed(kMessage));
  ASSERT_FALSE(id.empty());
  for (const auto& [lang, words] :
       {std::pair{"ko", std::vector<std::string>{"발신 도메인 (DKIM, SPF, DMARC)",
                                                 "DKIM 서명 d=acme.example</th><td>통과",
                                                 "DNSSEC 서명됨"}},
        std::pair{"zh", std::vector<std::string>{"发件域（DKIM、SPF、DMARC）",
                                                 "DKIM 签名 d=acme.example</th><td>通过",
                                                 "DNSSEC 已签名"}}}) {
    const std::string zip = Bundle(id, lang);
    auto cert = RunCommand({"unzip", "-p", zip, "certificate.html"});
    for (const std::string& w : words)
      EXPECT_NE(cert.out.find(w), std::string::npos) << lang << ": " << w;
    // Both verifiers re-render it from the bound files, byte for byte.
    EXPECT_EQ(ChecksOf(NotaryVerify(zip).out)["texts.rendered"].first, "PASS") << lang;
    EXPECT_EQ(ChecksOf(BrowserVerify(zip).out)["texts.rendered"].first, "PASS") << lang;
  }
}

// A mailing list: it checked the author's DKIM signature (pass), added a footer (which breaks
// that signature) and sealed an ARC set saying what it saw. The notary records the broken DKIM
// signature and the intact ARC chain with the list's report; dkimpy, checking the same message
// through the same resolver, agrees; notary-verify re-verifies the chain offline from the
// archived key, and both verifiers render the same summary and certificate row.
TEST_F(SenderBundleTest, AnArcSealedMailingListCopyIsRecordedAndReverifiedOffline) {
  std::string message = Signed(kMessage) + "-- \r\nacme-team mailing list\r\n";
  auto sealed = RunCommand(
      {"/usr/bin/python3", testsupport::SourceDir() + "/tests/sender/fixtures/arc_sign.py",
       "--domain", "acme.example", "--selector", "rsa1", "--key",
       env_["NOTARY_DNSTEST_KEY_ACME_RSA"], "--srv-id", "list.acme.example", "--auth-results",
       "dkim=pass header.d=acme.example"},
      message);
  ASSERT_EQ(sealed.exit_code, 0) << sealed.out;
  auto dkimpy = RunCommand(
      {"/usr/bin/python3", testsupport::SourceDir() + "/tests/sender/fixtures/dkim_verify.py",
       "--resolver", env_["NOTARY_DNSTEST_RESOLVER"], "--arc"},
      sealed.out);
  EXPECT_NE(dkimpy.out.find("arc cv=pass"), std::string::npos) << dkimpy.out;
  EXPECT_NE(dkimpy.out.find(" fail "), std::string::npos)
      << "the footer breaks DKIM: " << dkimpy.out;

  std::string id = Send(sealed.out);
  ASSERT_FALSE(id.empty());
  json a = Authentication(id);
  EXPECT_EQ(a["dkim"][0]["result"], "fail") << a.dump(2);
  ASSERT_TRUE(a.contains("arc")) << a.dump(2);
  EXPECT_EQ(a["arc"]["result"], "pass") << a.dump(2);
  EXPECT_EQ(a["arc"]["sets"][0]["authserv_id"], "list.acme.example");
  EXPECT_EQ(a["arc"]["summary"],
            "ARC chain intact: 1 hop, the first sealed by d=acme.example, which recorded: "
            "dkim=pass header.d=acme.example");

  const std::string zip = Bundle(id);
  auto verified = NotaryVerify(zip);
  EXPECT_EQ(verified.exit_code, 0) << verified.out;
  Checks c = ChecksOf(verified.out);
  EXPECT_EQ(c["sender.dkim"].first, "PASS") << c["sender.dkim"].second;
  EXPECT_NE(c["sender.dkim"].second.find("does not verify"), std::string::npos);
  EXPECT_NE(c["sender.dkim"].second.find("; ARC chain intact: 1 hop, the first sealed by "
                                         "d=acme.example"),
            std::string::npos)
      << c["sender.dkim"].second;
  EXPECT_EQ(c["texts.rendered"].first, "PASS") << c["texts.rendered"].second;
  Checks b = ChecksOf(BrowserVerify(zip).out);
  EXPECT_EQ(b["sender.record"].first, "PASS") << b["sender.record"].second;
  EXPECT_EQ(b["texts.rendered"].first, "PASS") << b["texts.rendered"].second;
  auto cert = RunCommand({"unzip", "-p", zip, "certificate.html"});
  EXPECT_NE(
      cert.out.find("ARC chain (intermediaries such as mailing lists)</th><td>pass &middot; "
                    "1 hop(s), first sealed by d=acme.example: dkim=pass header.d=acme.example"),
      std::string::npos)
      << cert.out;
  // The console's message page, in Chinese: a row of its own for the chain.
  auto page = RunCommand({"node", testsupport::SourceDir() + "/tests/e2e/console_sender_page.mjs",
                          node_->Http(""), key_, id, "zh"},
                         "", 120);
  const json zh = json::parse(page.out, nullptr, false);
  ASSERT_TRUE(zh.is_object() && zh["rows"].is_array()) << page.out;
  bool arc_row = false;
  for (const json& row : zh["rows"]) {
    arc_row = arc_row ||
              (row[0] == "ARC" &&
               row[1] == "通过 — 1 跳, 首个封印方 d=acme.example: dkim=pass header.d=acme.example");
  }
  EXPECT_TRUE(arc_row) << zh.dump();
}

// "Years later": the sender rotates its key away (the record is removed and knotd re-signs the
// zone). The bundle still verifies offline with the archived record and its DNSSEC chain; a
// message signed with that key now finds no key (permerror), so the removal took effect.
TEST_F(SenderBundleTest, AKeyRemovedFromTheZoneAfterwardsStillVerifiesFromTheArchive) {
  const std::string selector = "gone" + std::to_string(getpid());
  ASSERT_EQ(
      RunCommand({"sh", "-c",
                  "cd '" + dir_ + "' && dknewkey --ktype ed25519 " + selector + " >/dev/null 2>&1"})
          .exit_code,
      0);
  const std::string dnstest = testsupport::SourceDir() + "/scripts/dnstest";
  const std::string name = selector + "._domainkey.acme.example";
  std::string record = testsupport::ReadFile(dir_ + "/" + selector + ".dns");
  while (!record.empty() && (record.back() == '\n' || record.back() == ' ')) record.pop_back();
  auto set = RunCommand({dnstest, "set-txt", env_["NOTARY_DNSTEST_DIR"], name, record});
  ASSERT_EQ(set.exit_code, 0) << set.out;
  auto sign = [&] {
    auto r = RunCommand(
        {"/usr/bin/python3", testsupport::SourceDir() + "/tests/sender/fixtures/dkim_sign.py",
         "--domain", "acme.example", "--selector", selector, "--algorithm", "ed25519-sha256",
         "--key", dir_ + "/" + selector + ".key"},
        kMessage);
    EXPECT_EQ(r.exit_code, 0) << r.out;
    return r.out;
  };
  const std::string id = Send(sign());
  ASSERT_FALSE(id.empty());
  const std::string zip = Bundle(id);

  auto removed = RunCommand({dnstest, "remove", env_["NOTARY_DNSTEST_DIR"], name, "TXT"});
  ASSERT_EQ(removed.exit_code, 0) << removed.out;
  const std::string later = Send(sign());
  ASSERT_FALSE(later.empty());
  json a = Authentication(later);
  ASSERT_EQ(a["dkim"].size(), 1u) << a.dump(2);
  EXPECT_EQ(a["dkim"][0]["result"], "permerror") << a.dump(2);

  auto r = NotaryVerify(zip);
  EXPECT_EQ(r.exit_code, 0) << r.out;
  Checks c = ChecksOf(r.out);
  EXPECT_EQ(c["sender.dkim"].first, "PASS") << c["sender.dkim"].second;
  EXPECT_EQ(c["sender.dkim"].second.rfind("signed by d=acme.example (key " + name, 0), 0u)
      << c["sender.dkim"].second;
  EXPECT_EQ(c["sender.dnssec"].first, "PASS") << c["sender.dnssec"].second;
  EXPECT_NE(c["sender.dnssec"].second.find(name), std::string::npos) << c["sender.dnssec"].second;
}

// The console's message page shows the checks in the reader's language (Debian's Chromium);
// an unchecked message's page has no such section.
TEST_F(SenderChecksTest, TheConsoleMessagePageShowsTheChecksInPlainWords) {
  const std::string id = Send(Signed(kMessage));
  ASSERT_FALSE(id.empty());
  Authentication(id);
  auto page = [&](const std::string& receipt, const std::string& lang) {
    auto r = RunCommand({"node", testsupport::SourceDir() + "/tests/e2e/console_sender_page.mjs",
                         node_->Http(""), key_, receipt, lang},
                        "", 120);
    EXPECT_EQ(r.exit_code, 0) << r.out;
    return json::parse(r.out, nullptr, false);
  };
  const json ko = page(id, "ko");
  ASSERT_TRUE(ko.is_object() && ko["text"].is_string()) << ko.dump();
  const std::string text = ko["text"];
  EXPECT_NE(text.find("발신 도메인 (DKIM, SPF, DMARC)"), std::string::npos) << text;
  ASSERT_GE(ko["rows"].size(), 4u) << ko.dump();
  EXPECT_EQ(ko["rows"][0][0], "DKIM d=acme.example");
  EXPECT_EQ(ko["rows"][0][1].get<std::string>().rfind(
                "통과 — 키 rsa1._domainkey.acme.example · DNSSEC 서명됨", 0),
            0u)
      << ko.dump();
  EXPECT_EQ(ko["rows"][1][0], "SPF");
  EXPECT_EQ(ko["rows"][1][1].get<std::string>().rfind("통과 — acme.example, 127.0.0.1", 0), 0u)
      << ko.dump();
  EXPECT_EQ(ko["rows"][2][0], "DMARC");
  EXPECT_EQ(ko["rows"][2][1].get<std::string>().rfind("통과 — acme.example, 정책 reject", 0), 0u)
      << ko.dump();
  const json en = page(id, "en");
  EXPECT_EQ(en["rows"][0][1].get<std::string>().rfind("pass — key rsa1._domainkey.acme.example", 0),
            0u)
      << en.dump();

  // A message stored on a notaryd without the checks (its own database): no section at all.
  testsupport::TestDatabase plain_db;
  e2e::NotarydProcess plain(plain_db.AppUrl(), plain_db.OwnerUrl(), dir_ + "/plain-data");
  ASSERT_TRUE(plain.ready()) << plain.Log();
  const std::string plain_key = e2e::MakeKey(plain_db.AppUrl(), "default", "ingest,read");
  testsupport::WriteFile(dir_ + "/plain.eml", kMessage);
  auto sent =
      RunCommand({"swaks", "--server", "127.0.0.1:" + std::to_string(plain.smtp_port()), "--from",
                  "alice@acme.example", "--to", "bob@example.org", "--data", dir_ + "/plain.eml"});
  std::smatch m;
  ASSERT_TRUE(std::regex_search(sent.out, m, std::regex("notarised id=([0-9a-f-]{36})")))
      << sent.out;
  auto r = RunCommand({"node", testsupport::SourceDir() + "/tests/e2e/console_sender_page.mjs",
                       plain.Http(""), plain_key, m[1].str(), "en"},
                      "", 120);
  EXPECT_EQ(json::parse(r.out, nullptr, false)["text"], nullptr) << r.out;
}

// The resolver is down (a UDP socket that takes queries and never answers): the message is
// accepted as always, its checks are recorded as temperror saying what was tried, never a
// guess, and the bundle re-verifies exactly that offline.
TEST_F(SenderBundleTest, AResolverThatIsDownIsRecordedAsTemperrorAndVerifiesAsSuch) {
  testsupport::SilentUdpPort silent;
  ASSERT_NE(silent.port(), 0);
  const std::string dead = silent.address();

  testsupport::TestDatabase down_db;
  node_ = std::make_unique<e2e::NotarydProcess>(
      down_db.AppUrl(), down_db.OwnerUrl(), dir_ + "/down-data",
      std::vector<std::string>{"--sender-checks", "true", "--dns-resolver", dead,
                               "--dns-trust-anchor", env_["NOTARY_DNSTEST_TRUST_ANCHOR"],
                               "--dns-timeout-ms", "300"});
  ASSERT_TRUE(node_->ready()) << node_->Log();
  key_ = e2e::MakeKey(down_db.AppUrl(), "default", "ingest,read");
  const std::string id = Send(Signed(kMessage));
  ASSERT_FALSE(id.empty());
  json a = Authentication(id);
  ASSERT_EQ(a["dkim"].size(), 1u) << a.dump(2);
  EXPECT_EQ(a["dkim"][0]["result"], "temperror") << a.dump(2);
  EXPECT_EQ(a["spf"]["result"], "temperror") << a.dump(2);
  EXPECT_EQ(a["dns"][0]["why"], "TXT rsa1._domainkey.acme.example via 127.0.0.1@" +
                                    dead.substr(dead.find(':') + 1) + ": no answer within 300 ms")
      << a.dump(2);

  auto r = NotaryVerify(Bundle(id));
  EXPECT_EQ(r.exit_code, 0) << r.out;
  Checks c = ChecksOf(r.out);
  EXPECT_EQ(c["sender.record"].first, "PASS") << c["sender.record"].second;
  EXPECT_EQ(c["sender.dkim"].first, "PASS") << c["sender.dkim"].second;
  EXPECT_EQ(c["sender.dkim"].second.rfind(
                "signature by d=acme.example not checked: the key rsa1._domainkey.acme.example "
                "could not be looked up (TXT rsa1._domainkey.acme.example via 127.0.0.1@",
                0),
            0u)
      << c["sender.dkim"].second;
  EXPECT_EQ(c["sender.dnssec"].first, "SKIP") << c["sender.dnssec"].second;
  node_.reset();  // before down_db goes
}

// A bundle asked for the moment the message is stored, while its checks still wait on a
// resolver that never answers (3 s per lookup): without `wait`, 409 (retry) and never a bundle
// that lacks the sender evidence for good; with `wait`, one request that returns once the
// checks are recorded and sealed.
TEST_F(SenderBundleTest, ABundleAskedForBeforeTheChecksFinishWaitsForThem) {
  testsupport::SilentUdpPort silent;
  ASSERT_NE(silent.port(), 0);
  testsupport::TestDatabase slow_db;
  node_ = std::make_unique<e2e::NotarydProcess>(
      slow_db.AppUrl(), slow_db.OwnerUrl(), dir_ + "/slow-data",
      std::vector<std::string>{"--sender-checks", "true", "--dns-resolver", silent.address(),
                               "--dns-timeout-ms", "3000"});
  ASSERT_TRUE(node_->ready()) << node_->Log();
  key_ = e2e::MakeKey(slow_db.AppUrl(), "default", "ingest,read");
  auto get = [&](const std::string& id, const std::string& query, const std::string& zip) {
    return RunCommand({"curl", "-s", "-o", zip, "-w", "%{http_code}", "-H",
                       "Authorization: Bearer " + key_,
                       node_->Http("/v1/messages/" + id + "/evidence" + query)},
                      "", 90)
        .out;
  };
  auto has_authentication = [](const std::string& zip) {
    return RunCommand({"unzip", "-p", zip, "evidence.json"}).out.find("\"authentication\"") !=
           std::string::npos;
  };

  // Without wait: retries until the bundle comes, and it has the evidence.
  const std::string polled = Send(Signed(kMessage));
  ASSERT_FALSE(polled.empty());
  const std::string polled_zip = dir_ + "/polled.zip";
  std::string code;
  ASSERT_TRUE(WaitUntil(
      [&] {
        code = get(polled, "", polled_zip);
        return code != "409";
      },
      std::chrono::seconds(90)))
      << node_->Log();
  EXPECT_EQ(code, "200");
  EXPECT_TRUE(has_authentication(polled_zip));

  // With wait: one request.
  const std::string waited = Send(Signed(kMessage));
  ASSERT_FALSE(waited.empty());
  const std::string waited_zip = dir_ + "/waited.zip";
  EXPECT_EQ(get(waited, "?wait=60", waited_zip), "200");
  EXPECT_TRUE(has_authentication(waited_zip));
  node_.reset();  // before slow_db goes
}

TEST_F(SenderBundleTest, ARecordedFailIsReverifiedAsAFail) {
  std::string message = Signed(kMessage);
  message.replace(message.find("Signed copy"), 11, "Forged copy");
  std::string id = Send(message);
  ASSERT_FALSE(id.empty());
  auto r = NotaryVerify(Bundle(id));
  // The bundle is valid: the notary recorded the failure, and the verifier reaches it again.
  EXPECT_EQ(r.exit_code, 0) << r.out;
  Checks c = ChecksOf(r.out);
  EXPECT_EQ(c["sender.dkim"].first, "PASS") << c["sender.dkim"].second;
  EXPECT_EQ(c["sender.dkim"].second.rfind(
                "signature by d=acme.example does not verify: body hash did not verify", 0),
            0u)
      << c["sender.dkim"].second;
  EXPECT_NE(c["sender.policy"].second.find("DMARC pass"), std::string::npos)
      << c["sender.policy"].second;  // SPF aligns: DMARC passes without DKIM
}

TEST_F(SenderChecksTest, StoredResultsCannotBeChangedOrPairedWithAnotherRecord) {
  std::string id = Send(Signed(kMessage));
  std::string other = Send(kMessage);  // unsigned: other results
  ASSERT_FALSE(id.empty());
  ASSERT_FALSE(other.empty());
  Authentication(id);
  Authentication(other);
  auto audit = [&] {
    return RunCommand({e2e::NotaryctlBinary(), "--database-url", db_.AppUrl(), "audit", "--quiet",
                       "--data-dir", dir_ + "/data"},
                      "", 120);
  };
  ASSERT_EQ(audit().exit_code, 0);
  // Append-only for every role.
  auto update = RunCommand({"psql", "-X", "-q", db_.SuperUrl(), "-c",
                            "UPDATE authentications SET results = results || '\\x00'::bytea"});
  EXPECT_NE(update.exit_code, 0) << update.out;
  EXPECT_NE(update.out.find("append-only"), std::string::npos) << update.out;
  // With the triggers off (as a superuser may), the CHECK still refuses results in the clear
  // beside sealed ones, and a row in the clear without the results its record's digest names.
  for (const char* sql :
       {"UPDATE authentications SET results = '\\x00'::bytea",
        "UPDATE authentications SET sealed = NULL, kek_id = NULL, wrapped_key = NULL"}) {
    auto forged = RunCommand({"psql", "-X", "-q", db_.SuperUrl(), "-c",
                              std::string("SET session_replication_role = replica; ") + sql});
    EXPECT_NE(forged.exit_code, 0) << sql << ": " << forged.out;
    EXPECT_NE(forged.out.find("authentications_record_binds_row"), std::string::npos) << forged.out;
  }
  // The CHECK cannot see into ciphertext: the other message's sealed results copied onto this
  // one's row pass it, but they do not open as this receipt's, and the message's page and the
  // audit say so.
  auto moved = RunCommand(
      {"psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", db_.SuperUrl(), "-c",
       "SET session_replication_role = replica; UPDATE authentications d SET sealed = o.sealed,"
       " wrapped_key = o.wrapped_key FROM authentications o WHERE d.receipt_id = '" +
           id + "' AND o.receipt_id = '" + other + "'"});
  ASSERT_EQ(moved.exit_code, 0) << moved.out;
  auto page = RunCommand({"curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-H",
                          "Authorization: Bearer " + key_, node_->Http("/v1/messages/" + id)});
  EXPECT_EQ(page.out, "500");
  auto failed = audit();
  EXPECT_NE(failed.exit_code, 0) << failed.out;
  EXPECT_NE(failed.out.find("receipt " + id), std::string::npos) << failed.out;
  EXPECT_NE(failed.out.find("sealed sender evidence does not open"), std::string::npos)
      << failed.out;
}

}  // namespace
