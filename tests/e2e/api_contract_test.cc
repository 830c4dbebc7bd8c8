// Access control, configuration and the API contract, against the real notaryd.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>

#include "notaryd_process.h"
#include "support/test_support.h"

namespace {

using nlohmann::json;
using testsupport::RunCommand;

struct Reply {
  int status = 0;
  std::string body;
};

Reply Curl(std::vector<std::string> args) {
  std::vector<std::string> argv = {"curl", "-s", "-o", "-", "-w", "\n%{http_code}"};
  argv.insert(argv.end(), args.begin(), args.end());
  auto r = RunCommand(argv, "", 30);
  auto nl = r.out.rfind('\n');
  return {std::atoi(r.out.substr(nl + 1).c_str()), r.out.substr(0, nl)};
}

Reply Get(const std::string& url, const std::string& key) {
  return Curl({"-H", "Authorization: Bearer " + key, url});
}

// Every (method, path) the server registers, read from its sources: regex captures become
// "{}" so they compare with OpenAPI's "{name}" templates.
std::set<std::string> RoutesInSources() {
  std::set<std::string> out;
  std::regex call(R"re(\.(Get|Post|Put|Delete|Patch)\(\s*(R"\(([^"]*)\)"|"([^"]*)"))re");
  for (const auto& entry :
       std::filesystem::directory_iterator(testsupport::SourceDir() + "/http/src")) {
    if (entry.path().extension() != ".cc") continue;
    std::string src = testsupport::ReadFile(entry.path().string());
    for (auto it = std::sregex_iterator(src.begin(), src.end(), call); it != std::sregex_iterator();
         ++it) {
      std::string method = (*it)[1];
      std::transform(method.begin(), method.end(), method.begin(), ::toupper);
      std::string path = (*it)[3].matched ? (*it)[3].str() : (*it)[4].str();
      path = std::regex_replace(path, std::regex(R"(\([^)]*\))"), "{}");
      if (path.rfind("/v1/", 0) != 0 && path.rfind("/tile/", 0) != 0 && path[0] == '/' &&
          path != "/healthz" && path != "/readyz" && path != "/metrics") {
        continue;  // the console's pages and assets are not API
      }
      out.insert(method + " " + path);
    }
  }
  return out;
}

std::set<std::string> RoutesInOpenApi() {
  std::set<std::string> out;
  std::string doc = testsupport::ReadFile(testsupport::SourceDir() + "/docs/openapi.yaml");
  std::regex path_line(R"(^  (/[^:]*):\s*$)"), method_line(R"(^    (get|post|put|delete|patch):)");
  std::string current;
  std::stringstream ss(doc);
  for (std::string line; std::getline(ss, line);) {
    std::smatch m;
    if (std::regex_match(line, m, path_line)) {
      current = std::regex_replace(m[1].str(), std::regex(R"(\{[^}]*\})"), "{}");
    } else if (!current.empty() && std::regex_search(line, m, method_line)) {
      std::string method = m[1];
      std::transform(method.begin(), method.end(), method.begin(), ::toupper);
      out.insert(method + " " + current);
    } else if (!line.empty() && line[0] != ' ') {
      current.clear();
    }
  }
  return out;
}

TEST(ApiContractTest, OpenApiDocumentsExactlyTheRoutesTheServerHas) {
  auto code = RoutesInSources();
  auto doc = RoutesInOpenApi();
  ASSERT_GT(code.size(), 10u);
  for (const auto& r : code)
    EXPECT_TRUE(doc.count(r)) << "route missing from docs/openapi.yaml: " << r;
  for (const auto& r : doc)
    EXPECT_TRUE(code.count(r)) << "documented route the server lacks: " << r;
}

class AccessTest : public ::testing::Test {
 protected:
  void Start(std::vector<std::string> extra) {
    node_ =
        std::make_unique<e2e::NotarydProcess>(db_.AppUrl(), db_.OwnerUrl(), dir_ + "/data", extra);
    ASSERT_TRUE(node_->ready()) << node_->Log();
  }
  testsupport::TestDatabase db_;
  std::string dir_ = testsupport::MakeTempDir("access");
  std::unique_ptr<e2e::NotarydProcess> node_;
};

TEST_F(AccessTest, OpenApiIsServedAsWritten) {
  Start({});
  auto r = Curl({node_->Http("/v1/openapi.yaml")});
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, testsupport::ReadFile(testsupport::SourceDir() + "/docs/openapi.yaml"));
}

TEST_F(AccessTest, RateLimitAnswers429WithRetryAfter) {
  Start({"--rate-limit", "5"});
  std::string key = e2e::MakeKey(db_.AppUrl(), "default", "read");
  int ok = 0, limited = 0;
  for (int i = 0; i < 8; ++i) {
    auto r = Get(node_->Http("/v1/messages"), key);
    if (r.status == 200) ++ok;
    if (r.status == 429) {
      ++limited;
      EXPECT_EQ(json::parse(r.body)["error"]["code"], "rate_limited");
    }
  }
  EXPECT_EQ(ok, 5);
  EXPECT_EQ(limited, 3);
  auto headers = RunCommand({"curl", "-s", "-D", "-", "-o", "/dev/null", "-H",
                             "Authorization: Bearer " + key, node_->Http("/v1/messages")});
  EXPECT_NE(headers.out.find("Retry-After:"), std::string::npos) << headers.out;
}

TEST_F(AccessTest, ExpiredAndRevokedKeysAre401AndWrongScopeIs403) {
  Start({});
  std::string expired = e2e::MakeKey(db_.AppUrl(), "default", "read", {"--expires", "2001-01-01"});
  std::string revoked = e2e::MakeKey(db_.AppUrl(), "default", "read");
  std::string ingest_only = e2e::MakeKey(db_.AppUrl(), "default", "ingest");
  std::string revoked_id = revoked.substr(3, 16);
  ASSERT_EQ(RunCommand({e2e::NotaryctlBinary(), "--database-url", db_.AppUrl(), "apikey", "revoke",
                        revoked_id})
                .exit_code,
            0);
  auto e = Get(node_->Http("/v1/messages"), expired);
  EXPECT_EQ(e.status, 401);
  EXPECT_EQ(json::parse(e.body)["error"]["message"], "API key expired");
  auto v = Get(node_->Http("/v1/messages"), revoked);
  EXPECT_EQ(v.status, 401);
  EXPECT_EQ(json::parse(v.body)["error"]["message"], "API key revoked");
  // A guessed secret for a real key id is simply unknown.
  std::string forged = ingest_only.substr(0, 20) + std::string(64, '0');
  EXPECT_EQ(Get(node_->Http("/v1/messages"), forged).status, 401);
  auto w = Get(node_->Http("/v1/messages"), ingest_only);
  EXPECT_EQ(w.status, 403);
  EXPECT_EQ(
      Get(node_->Http("/v1/access-log"), e2e::MakeKey(db_.AppUrl(), "default", "read")).status,
      403);
  // The key list shows state but never a secret.
  auto list =
      RunCommand({e2e::NotaryctlBinary(), "--database-url", db_.AppUrl(), "apikey", "list"});
  EXPECT_EQ(list.out.substr(0, list.out.find('\n')),
            "KEY_ID\tTENANT\tSCOPES\tSTATE\tCREATED\tEXPIRES\tLABEL");
  EXPECT_NE(list.out.find("revoked"), std::string::npos);
  EXPECT_NE(list.out.find("expired"), std::string::npos);
  EXPECT_EQ(list.out.find(revoked.substr(20)), std::string::npos);
}

TEST_F(AccessTest, SmtpMailIsRoutedToTenantsByRecipientDomain) {
  ASSERT_EQ(RunCommand({e2e::NotaryctlBinary(), "--database-url", db_.AppUrl(),
                        "--owner-database-url", db_.OwnerUrl(), "migrate"})
                .exit_code,
            0);
  ASSERT_EQ(RunCommand({e2e::NotaryctlBinary(), "--database-url", db_.AppUrl(), "tenant", "create",
                        "acme"})
                .exit_code,
            0);
  Start({"--tenant-rule", "domain:acme.example=acme"});
  for (const char* to : {"ceo@acme.example", "someone@elsewhere.example"}) {
    auto r = RunCommand({"swaks", "--server", "127.0.0.1:" + std::to_string(node_->smtp_port()),
                         "--to", to, "--from", "x@example.com"});
    ASSERT_EQ(r.exit_code, 0) << r.out;
  }
  std::string acme = e2e::MakeKey(db_.AppUrl(), "acme", "read,admin");
  std::string dflt = e2e::MakeKey(db_.AppUrl(), "default", "read");
  auto a = json::parse(Get(node_->Http("/v1/messages"), acme).body);
  auto d = json::parse(Get(node_->Http("/v1/messages"), dflt).body);
  ASSERT_EQ(a["items"].size(), 1u);
  ASSERT_EQ(d["items"].size(), 1u);
  EXPECT_EQ(a["items"][0]["envelope_to"][0], "ceo@acme.example");
  EXPECT_EQ(d["items"][0]["envelope_to"][0], "someone@elsewhere.example");
  // Searching by the other tenant's recipient finds nothing.
  EXPECT_TRUE(json::parse(Get(node_->Http("/v1/messages?to=ceo@acme.example"), dflt).body)["items"]
                  .empty());
  // The admin of acme sees acme's trail, with the searches just made.
  auto trail = json::parse(Get(node_->Http("/v1/access-log"), acme).body);
  ASSERT_FALSE(trail["items"].empty());
  for (const auto& item : trail["items"]) EXPECT_EQ(item["tenant"], "acme");
}

TEST_F(AccessTest, HttpsWithTls12OrNewerOnly) {
  auto gen = RunCommand({"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                         "ec_paramgen_curve:P-256", "-nodes", "-days", "2", "-subj",
                         "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout",
                         dir_ + "/key.pem", "-out", dir_ + "/cert.pem"});
  ASSERT_EQ(gen.exit_code, 0) << gen.out;
  Start({"--tls-cert", dir_ + "/cert.pem", "--tls-key", dir_ + "/key.pem"});
  // NotarydProcess waited for the readiness line, written once HTTPS listens.
  std::string url = "https://127.0.0.1:" + std::to_string(node_->http_port()) + "/healthz";
  auto ok = RunCommand({"curl", "-sf", "--cacert", dir_ + "/cert.pem", url});
  EXPECT_EQ(ok.exit_code, 0) << ok.out;
  auto old = RunCommand(
      {"curl", "-s", "--cacert", dir_ + "/cert.pem", "--tlsv1.0", "--tls-max", "1.1", url});
  EXPECT_NE(old.exit_code, 0) << old.out;
  // STARTTLS on SMTP uses the same files.
  auto swaks = RunCommand({"swaks", "--server", "127.0.0.1:" + std::to_string(node_->smtp_port()),
                           "--tls", "--to", "b@example.org"});
  EXPECT_EQ(swaks.exit_code, 0) << swaks.out;
}

TEST(ConfigTest, InvalidValuesExit2NamingTheOption) {
  auto r = RunCommand(
      {e2e::NotarydBinary(), "--database-url", "postgresql:///x", "--smtp-listen", "no-port-here"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.out.find("--smtp-listen"), std::string::npos) << r.out;
  auto range =
      RunCommand({e2e::NotarydBinary(), "--database-url", "postgresql:///x", "--batch-max", "0"});
  EXPECT_EQ(range.exit_code, 2);
  EXPECT_NE(range.out.find("--batch-max"), std::string::npos) << range.out;
  auto env = RunCommand({"env", "NOTARY_SMTP_ALLOW=not-a-network", e2e::NotarydBinary(),
                         "--database-url", "postgresql:///x"});
  EXPECT_EQ(env.exit_code, 2);
  auto help = RunCommand({e2e::NotarydBinary(), "--help"});
  EXPECT_EQ(help.exit_code, 0);
  for (const char* opt : {"--database-url", "--smtp-listen", "--http-listen", "--data-dir",
                          "--tsa-url", "--batch-interval-ms"}) {
    EXPECT_NE(help.out.find(opt), std::string::npos) << opt;
  }
}

TEST_F(AccessTest, KeyRotationSignsNewBlocksWithTheNewKeyAndKeepsTheOld) {
  Start({});
  std::string key = e2e::MakeKey(db_.AppUrl(), "default", "ingest,read");
  // Sends one message and returns the key id of the block that seals it.
  auto sealing_key_of_new_message = [&]() -> std::string {
    auto r = RunCommand({"swaks", "--server", "127.0.0.1:" + std::to_string(node_->smtp_port()),
                         "--to", "b@example.org"});
    std::smatch m;
    if (!std::regex_search(r.out, m, std::regex("notarised id=([0-9a-f-]{36})"))) return "";
    const std::string id = m[1];
    json j;
    const bool sealed = testsupport::WaitUntil(
        [&] {
          auto got = Get(node_->Http("/v1/messages/" + id), key);
          if (got.status != 200) return false;
          j = json::parse(got.body);
          return j["status"] == "sealed";
        },
        std::chrono::seconds(10), std::chrono::milliseconds(100));
    if (!sealed) return "";
    auto b = Curl({node_->Http("/v1/blocks/" + std::to_string(j["block_height"].get<int64_t>()))});
    return json::parse(b.body)["key_id"].get<std::string>();
  };
  std::string first = sealing_key_of_new_message();
  ASSERT_FALSE(first.empty());
  auto rot = RunCommand({e2e::NotaryctlBinary(), "--database-url", db_.AppUrl(), "--data-dir",
                         dir_ + "/data", "keys", "rotate"});
  ASSERT_EQ(rot.exit_code, 0) << rot.out;
  std::string second = sealing_key_of_new_message();
  ASSERT_FALSE(second.empty());
  EXPECT_NE(second, first);
  EXPECT_NE(rot.out.find(second), std::string::npos) << rot.out;
  auto keys = json::parse(Curl({node_->Http("/v1/keys")}).body)["keys"];
  ASSERT_EQ(keys.size(), 2u);
  for (const auto& k : keys) {
    if (k["key_id"] == first) {
      EXPECT_FALSE(k["valid_until"].is_null());
    }
    if (k["key_id"] == second) {
      EXPECT_TRUE(k["valid_until"].is_null());
    }
  }
  auto audit =
      RunCommand({e2e::NotaryctlBinary(), "--database-url", db_.AppUrl(), "audit", "--quiet"});
  EXPECT_EQ(audit.exit_code, 0) << audit.out;
  // The key file stays private.
  EXPECT_EQ(std::filesystem::status(dir_ + "/data/signing_key.pem").permissions() &
                std::filesystem::perms::all,
            std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
}

}  // namespace
