// End to end: the real notaryd binary, a real PostgreSQL, and clients not written here
// (swaks, curl, openssl, python3-rfc3161ng).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <regex>

#include "common/bytes.h"
#include "common/sha256.h"
#include "notaryd_process.h"
#include "storage/migrations.h"
#include "support/test_support.h"

namespace {

using nlohmann::json;
using testsupport::RunCommand;

struct Curl {
  int status = 0;
  std::string body;
};

Curl CurlDo(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {"curl", "-s", "-o", "-", "-w", "\n%{http_code}"};
  argv.insert(argv.end(), args.begin(), args.end());
  auto r = RunCommand(argv, "", 30);
  Curl c;
  auto nl = r.out.rfind('\n');
  c.body = r.out.substr(0, nl);
  c.status = std::atoi(r.out.substr(nl + 1).c_str());
  return c;
}

Curl Get(const e2e::NotarydProcess& n, const std::string& path, const std::string& key = "") {
  std::vector<std::string> a = {n.Http(path)};
  if (!key.empty()) a.insert(a.begin(), {"-H", "Authorization: Bearer " + key});
  return CurlDo(a);
}

Curl PostMessage(const e2e::NotarydProcess& n, const std::string& key, const std::string& file,
                 std::vector<std::string> headers = {}) {
  // Headers in the order given, before the default Content-Type (the server reads the first).
  std::vector<std::string> a;
  if (!key.empty()) a.insert(a.end(), {"-H", "Authorization: Bearer " + key});
  for (auto& h : headers) a.insert(a.end(), {"-H", h});
  a.insert(a.end(), {"-H", "Content-Type: message/rfc822", "--data-binary", "@" + file});
  a.push_back(n.Http("/v1/messages"));
  return CurlDo(a);
}

class E2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testsupport::MakeTempDir("e2e");
    node_ = std::make_unique<e2e::NotarydProcess>(
        db_.AppUrl(), db_.OwnerUrl(), dir_ + "/data",
        std::vector<std::string>{"--max-message-bytes", "100000"});
    ASSERT_TRUE(node_->ready()) << node_->Log();
    key_ = e2e::MakeKey(db_.AppUrl(), "default", "ingest,read,admin");
    ASSERT_EQ(key_.rfind("nk_", 0), 0u) << key_;
  }

  // Waits until the receipt is sealed; returns its JSON.
  json WaitSealed(const std::string& id) {
    json j;
    const bool sealed = testsupport::WaitUntil(
        [&] {
          auto r = Get(*node_, "/v1/messages/" + id, key_);
          if (r.status != 200) return false;
          j = json::parse(r.body);
          return j["status"] == "sealed";
        },
        std::chrono::seconds(10), std::chrono::milliseconds(100));
    if (sealed) return j;
    ADD_FAILURE() << "receipt " << id << " was not sealed";
    return {};
  }

  std::string Psql(const std::string& sql) { return testsupport::Psql(db_.SuperUrl(), sql); }

  testsupport::TestDatabase db_;
  std::string dir_, key_;
  std::unique_ptr<e2e::NotarydProcess> node_;
};

std::string WriteMessage(const std::string& dir, const std::string& name, const std::string& body) {
  std::string path = dir + "/" + name;
  testsupport::WriteFile(path, body);
  return path;
}

const char kMessage[] =
    "From: Alice <alice@example.com>\r\n"
    "To: Bob <bob@example.org>, carol@example.net\r\n"
    "Subject: =?UTF-8?B?6rOE7JW97ISc?= contract\r\n"
    "Date: Thu, 26 Nov 2026 10:00:00 +0000\r\n"
    "Message-ID: <contract-1@example.com>\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "\r\n"
    "Please find the signed contract.\r\n"
    ".leading dot line\r\n";

TEST_F(E2eTest, SwaksMessageIsStoredWithEnvelopeAndHashAndSealed) {
  // swaks ends DATA with CRLF.CRLF after the file, adding a line end of its own.
  std::string file = WriteMessage(dir_, "m.eml", std::string(kMessage, sizeof(kMessage) - 3));
  auto r = RunCommand({"swaks", "--server", "127.0.0.1:" + std::to_string(node_->smtp_port()),
                       "--from", "alice@example.com", "--to", "bob@example.org,carol@example.net",
                       "--helo", "relay.example.com", "--data", "@" + file});
  ASSERT_EQ(r.exit_code, 0) << r.out;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(
      r.out, m, std::regex("250 2\\.0\\.0 Ok: notarised id=([0-9a-f-]{36}) sha256=([0-9a-f]{64})")))
      << r.out;
  const std::string id = m[1], sha = m[2];
  // swaks sends the file with CRLF line ends and dot-stuffing; the notary undoes the stuffing.
  EXPECT_EQ(sha, common::ToHex(common::Sha256Of(std::string(kMessage))));

  auto got = Get(*node_, "/v1/messages/" + id, key_);
  ASSERT_EQ(got.status, 200) << got.body;
  json j = json::parse(got.body);
  EXPECT_EQ(j["raw_sha256"], sha);
  EXPECT_EQ(j["envelope_from"], "alice@example.com");
  EXPECT_EQ(j["envelope_to"], json({"bob@example.org", "carol@example.net"}));
  EXPECT_EQ(j["helo"], "relay.example.com");
  EXPECT_EQ(j["client_ip"], "127.0.0.1");
  EXPECT_EQ(j["metadata"]["subject"], "\xea\xb3\x84\xec\x95\xbd\xec\x84\x9c contract");
  EXPECT_EQ(j["size"], sizeof(kMessage) - 1);

  auto by_mid = Get(*node_, "/v1/messages?message_id=contract-1@example.com", key_);
  ASSERT_EQ(by_mid.status, 200);
  EXPECT_EQ(json::parse(by_mid.body)["items"][0]["id"], id);

  json sealed = WaitSealed(id);
  EXPECT_TRUE(sealed["leaf_index"].is_number());
  EXPECT_TRUE(sealed["block_height"].is_number());
}

TEST_F(E2eTest, HttpIngestAnswersEachErrorWithItsCodeAndStoresNothing) {
  std::string good = WriteMessage(dir_, "good.eml", kMessage);
  std::string empty = WriteMessage(dir_, "empty.eml", "");
  std::string big = WriteMessage(dir_, "big.eml", std::string(200000, 'x'));
  auto created = PostMessage(
      *node_, key_, good,
      {"X-Envelope-From: a@example.com", "X-Envelope-To: b@example.org, c@example.org"});
  ASSERT_EQ(created.status, 201) << created.body;
  json c = json::parse(created.body);
  EXPECT_EQ(c["raw_sha256"], common::ToHex(common::Sha256Of(std::string(kMessage))));
  EXPECT_EQ(c["status"], "pending");
  EXPECT_EQ(c["canonical_sha256"].get<std::string>().size(), 64u);

  EXPECT_EQ(PostMessage(*node_, key_, empty).status, 400);
  EXPECT_EQ(PostMessage(*node_, "", good).status, 401);
  EXPECT_EQ(PostMessage(*node_, "nk_nonsense", good).status, 401);
  std::string read_only = e2e::MakeKey(db_.AppUrl(), "default", "read");
  auto forbidden = PostMessage(*node_, read_only, good);
  EXPECT_EQ(forbidden.status, 403);
  EXPECT_EQ(json::parse(forbidden.body)["error"]["code"], "forbidden");
  EXPECT_EQ(PostMessage(*node_, key_, big).status, 413);
  EXPECT_EQ(PostMessage(*node_, key_, good, {"Content-Type: text/html"}).status, 415);
  auto bad_key = PostMessage(*node_, key_, good, {"Idempotency-Key: caf\xc3\xa9"});
  EXPECT_EQ(bad_key.status, 400);
  EXPECT_EQ(json::parse(bad_key.body)["error"]["code"], "bad_idempotency_key");
  EXPECT_EQ(PostMessage(*node_, key_, good, {"Idempotency-Key: " + std::string(201, 'k')}).status,
            400);
  EXPECT_EQ(Psql("SELECT count(*) FROM receipts"), "1");

  // Another tenant's key sees a 404, exactly as for a missing id.
  ASSERT_EQ(RunCommand({e2e::NotaryctlBinary(), "--database-url", db_.AppUrl(), "tenant", "create",
                        "other"})
                .exit_code,
            0);
  std::string other = e2e::MakeKey(db_.AppUrl(), "other", "read");
  auto cross = Get(*node_, "/v1/messages/" + c["id"].get<std::string>(), other);
  auto missing = Get(*node_, "/v1/messages/00000000-0000-7000-8000-000000000000", other);
  EXPECT_EQ(cross.status, 404);
  EXPECT_EQ(cross.body, missing.body);
}

// Issue 17, finding 8: the envelope over HTTP takes every RFC 5321 path the SMTP listener
// takes, from repeated X-Envelope-To headers or the envelope body form; and finding 9: only a
// key with the relay scope may state what the MTA observed, and the receipt records which key
// stated the envelope.
TEST_F(E2eTest, HttpEnvelopesTakeQuotedPathsRepeatedHeadersAndTheBodyForm) {
  std::string good = WriteMessage(dir_, "good.eml", kMessage);
  auto created = PostMessage(*node_, key_, good,
                             {"X-Envelope-From: <\"a, b\"@example.com>",
                              "X-Envelope-To: <\"john smith\"@example.org>, <c@example.org>",
                              "X-Envelope-To: d@example.org"});
  ASSERT_EQ(created.status, 201) << created.body;
  auto got =
      Get(*node_, "/v1/messages/" + json::parse(created.body)["id"].get<std::string>(), key_);
  json j = json::parse(got.body);
  EXPECT_EQ(j["envelope_from"], "\"a, b\"@example.com");
  EXPECT_EQ(j["envelope_to"],
            json({"\"john smith\"@example.org", "c@example.org", "d@example.org"}));
  EXPECT_EQ(j["source"], "http");
  EXPECT_EQ(j["asserted_by"], key_.substr(3, 16));
  EXPECT_EQ(j["leaf_version"], 2);

  std::string body =
      "MAIL FROM:<alice@example.com>\r\nRCPT TO:<\"x, y\"@example.org>\r\n"
      "RCPT TO:<bob@example.org>\r\nDATA\r\n" +
      std::string(kMessage);
  std::string form = WriteMessage(dir_, "form.bin", body);
  auto posted = CurlDo({"-H", "Authorization: Bearer " + key_, "-H",
                        "Content-Type: application/vnd.email-notary.envelope", "--data-binary",
                        "@" + form, node_->Http("/v1/messages")});
  ASSERT_EQ(posted.status, 201) << posted.body;
  json p = json::parse(posted.body);
  EXPECT_EQ(p["raw_sha256"], common::ToHex(common::Sha256Of(std::string(kMessage))));
  j = json::parse(Get(*node_, "/v1/messages/" + p["id"].get<std::string>(), key_).body);
  EXPECT_EQ(j["envelope_to"], json({"\"x, y\"@example.org", "bob@example.org"}));

  // Malformed paths and envelope lines are the client's error.
  EXPECT_EQ(PostMessage(*node_, key_, good, {"X-Envelope-To: <a b@example.org>"}).status, 400);
  EXPECT_EQ(
      PostMessage(*node_, key_, good, {"X-Envelope-From: a@x", "X-Envelope-From: b@x"}).status,
      400);
  std::string no_data = WriteMessage(dir_, "nodata.bin", "MAIL FROM:<a@x>\r\nRCPT TO:<b@x>\r\n");
  EXPECT_EQ(CurlDo({"-H", "Authorization: Bearer " + key_, "-H",
                    "Content-Type: application/vnd.email-notary.envelope", "--data-binary",
                    "@" + no_data, node_->Http("/v1/messages")})
                .status,
            400);

  // Relay headers: 403 without the relay scope, recorded with it.
  auto claimed = PostMessage(*node_, key_, good, {"X-Envelope-Client-Address: 203.0.113.9"});
  EXPECT_EQ(claimed.status, 403) << claimed.body;
  std::string relay = e2e::MakeKey(db_.AppUrl(), "default", "ingest,relay");
  auto relayed = PostMessage(*node_, relay, good,
                             {"X-Envelope-Client-Address: 203.0.113.9", "X-Envelope-Source: milter",
                              "X-Envelope-Auth-User: alice"});
  ASSERT_EQ(relayed.status, 201) << relayed.body;
  j = json::parse(
      Get(*node_, "/v1/messages/" + json::parse(relayed.body)["id"].get<std::string>(), key_).body);
  EXPECT_EQ(j["client_ip"], "203.0.113.9");
  EXPECT_EQ(j["auth_user"], "alice");
  EXPECT_EQ(j["asserted_by"], relay.substr(3, 16));
  // "journal" is set by unwrapping a report from a trusted source, never claimed.
  EXPECT_EQ(PostMessage(*node_, relay, good, {"X-Envelope-Source: journal"}).status, 400);
}

// Issue 17, finding 9: an Idempotency-Key reused with another message answered 200 with the
// earlier receipt's id, as if the new message had been notarised.
TEST_F(E2eTest, IdempotencyKeyReusedForAnotherMessageIs409) {
  std::string one = WriteMessage(dir_, "one.eml", kMessage);
  std::string two = WriteMessage(dir_, "two.eml", std::string(kMessage) + "changed\r\n");
  auto first = PostMessage(*node_, key_, one, {"Idempotency-Key: k-1"});
  ASSERT_EQ(first.status, 201) << first.body;
  auto again = PostMessage(*node_, key_, one, {"Idempotency-Key: k-1"});
  EXPECT_EQ(again.status, 200) << again.body;
  EXPECT_EQ(json::parse(again.body)["id"], json::parse(first.body)["id"]);
  auto other = PostMessage(*node_, key_, two, {"Idempotency-Key: k-1"});
  EXPECT_EQ(other.status, 409) << other.body;
  EXPECT_EQ(json::parse(other.body)["error"]["code"], "idempotency_conflict");
  auto other_envelope =
      PostMessage(*node_, key_, one, {"Idempotency-Key: k-1", "X-Envelope-To: z@example.org"});
  EXPECT_EQ(other_envelope.status, 409) << other_envelope.body;
  EXPECT_EQ(Psql("SELECT count(*) FROM receipts"), "1");
}

// Issue 17, finding 9: bad input on read routes answered "503 database unavailable"; it is
// the client's error (400/404, the JSON error shape), and 503 only when the database is down.
TEST_F(E2eTest, HostileQueriesAre4xxNot503) {
  auto expect = [&](const std::string& path, int status) {
    auto r = Get(*node_, path, key_);
    EXPECT_EQ(r.status, status) << path << ": " << r.body;
    auto j = json::parse(r.body, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << path << ": " << r.body;
    EXPECT_TRUE(j["error"]["code"].is_string()) << path << ": " << r.body;
  };
  expect("/v1/messages?subject=%ff%fe", 400);
  expect("/v1/messages?subject=a%00b", 400);
  expect("/v1/messages?since=2026-02-31", 400);
  expect("/v1/messages?until=2026-13-01", 400);
  expect("/v1/proofs/inclusion?leaf_index=0&tree_size=18446744073709551615", 400);
  expect("/v1/proofs/inclusion?leaf_index=0&tree_size=9223372036854775809", 400);
  expect("/v1/proofs/consistency?first=1&second=18446744073709551615", 400);
  expect("/tile/7/000", 404);
  expect("/tile/8/x001/x002/003", 404);
  expect("/tile/63/000", 404);
  EXPECT_EQ(Get(*node_, "/readyz").status, 200);
}

TEST_F(E2eTest, InclusionProofReachesTheSignedCheckpointVerifiedByOpenSsl) {
  std::string file = WriteMessage(dir_, "m.eml", kMessage);
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) {
    auto r = PostMessage(*node_, key_, file);
    ASSERT_EQ(r.status, 201);
    ids.push_back(json::parse(r.body)["id"]);
  }
  json sealed = WaitSealed(ids[3]);
  auto cp = Get(*node_, "/v1/checkpoint");
  ASSERT_EQ(cp.status, 200);
  // Checkpoint: origin, size, base64 root, blank line, signature line.
  std::smatch m;
  ASSERT_TRUE(std::regex_search(
      cp.body, m,
      std::regex("^notary\\.test/log\\n(\\d+)\\n([A-Za-z0-9+/=]+)\\n\\n\xE2\x80\x94 "
                 "notary\\.test/log ([A-Za-z0-9+/=]+)\\n$")))
      << cp.body;
  const std::string size = m[1], root_b64 = m[2], sig_b64 = m[3];
  const std::string body = "notary.test/log\n" + size + "\n" + root_b64 + "\n";

  auto proof = Get(
      *node_, "/v1/proofs/inclusion?leaf_index=" + std::to_string(sealed["leaf_index"].get<int>()) +
                  "&tree_size=" + size);
  ASSERT_EQ(proof.status, 200) << proof.body;
  json p = json::parse(proof.body);
  EXPECT_EQ(common::Base64Encode(*common::FromHex(p["root"].get<std::string>())), root_b64);

  // The signature: 4-byte key id then 64 bytes of Ed25519 over the body; check it with
  // OpenSSL, an implementation not written here.
  auto keys = json::parse(Get(*node_, "/v1/keys").body);
  std::string pem = keys["keys"][0]["public_key_pem"];
  auto sig = common::Base64Decode(sig_b64);
  ASSERT_TRUE(sig.has_value());
  ASSERT_EQ(sig->size(), 68u);
  testsupport::WriteFile(dir_ + "/pub.pem", pem);
  testsupport::WriteFile(dir_ + "/body", body);
  testsupport::WriteFile(dir_ + "/sig", sig->substr(4));
  auto ok = RunCommand({"openssl", "pkeyutl", "-verify", "-pubin", "-inkey", dir_ + "/pub.pem",
                        "-rawin", "-in", dir_ + "/body", "-sigfile", dir_ + "/sig"});
  EXPECT_EQ(ok.exit_code, 0) << ok.out;
  testsupport::WriteFile(dir_ + "/body", body + "x");
  auto bad = RunCommand({"openssl", "pkeyutl", "-verify", "-pubin", "-inkey", dir_ + "/pub.pem",
                         "-rawin", "-in", dir_ + "/body", "-sigfile", dir_ + "/sig"});
  EXPECT_NE(bad.exit_code, 0);

  // The block names its time-stamp from the built-in TSA.
  auto block = json::parse(
      Get(*node_, "/v1/blocks/" + std::to_string(sealed["block_height"].get<int>())).body);
  ASSERT_FALSE(block["timestamps"].empty());
  EXPECT_EQ(block["timestamps"][0]["tsa"], "local");
  EXPECT_EQ(block["timestamps"][0]["status"], "verified");
}

TEST_F(E2eTest, BuiltInTsaAnswersOpensslTsAndRfc3161ng) {
  // POST /v1/tsa needs the `tsa` scope (tests/e2e/seal_wait_e2e_test.cc tests the refusals).
  const std::string tsa_key = e2e::MakeKey(db_.AppUrl(), "default", "tsa");
  ASSERT_EQ(tsa_key.rfind("nk_", 0), 0u) << tsa_key;
  const std::string bearer = "Authorization: Bearer " + tsa_key;
  for (const char* alg : {"-sha256", "-sha384", "-sha512"}) {
    auto q =
        RunCommand({"openssl", "ts", "-query", "-data", testsupport::SourceDir() + "/README.md",
                    alg, "-cert", "-out", dir_ + "/q.tsq"});
    ASSERT_EQ(q.exit_code, 0) << q.out;
    auto post = RunCommand({"curl", "-sf", "-H", bearer, "-H",
                            "Content-Type: application/timestamp-query", "--data-binary",
                            "@" + dir_ + "/q.tsq", "-o", dir_ + "/r.tsr", node_->Http("/v1/tsa")});
    ASSERT_EQ(post.exit_code, 0) << post.out;
    auto v = RunCommand({"openssl", "ts", "-verify", "-queryfile", dir_ + "/q.tsq", "-in",
                         dir_ + "/r.tsr", "-CAfile", dir_ + "/data/tsa/ca.pem"});
    EXPECT_EQ(v.exit_code, 0) << alg << ": " << v.out;
  }
  // Not DER at all, or the wrong content type: HTTP 400.
  testsupport::WriteFile(dir_ + "/junk", "not a query");
  auto junk = CurlDo({"-H", bearer, "-H", "Content-Type: application/timestamp-query",
                      "--data-binary", "@" + dir_ + "/junk", node_->Http("/v1/tsa")});
  EXPECT_EQ(junk.status, 400);
  auto wrong_type = CurlDo({"-H", bearer, "-H", "Content-Type: text/plain", "--data-binary",
                            "@" + dir_ + "/q.tsq", node_->Http("/v1/tsa")});
  EXPECT_EQ(wrong_type.status, 400);

  // A second client: python3-rfc3161ng over HTTP (Debian's python3; it checks only RSA
  // signatures, so the ECDSA token's signature is left to openssl above). It sends only Basic
  // credentials, so the script adds the bearer key to the requests it makes.
  std::string script =
      "import rfc3161ng, requests, sys\n"
      "post = requests.post\n"
      "def with_key(url, **kw):\n"
      "    kw['headers'] = dict(kw.get('headers') or {}, Authorization='Bearer ' + sys.argv[2])\n"
      "    return post(url, **kw)\n"
      "requests.post = with_key\n"

      "t = rfc3161ng.RemoteTimestamper(sys.argv[1], hashname='sha256')\n"
      "tst = t.timestamp(data=b'hello notary')\n"
      "print('ok', rfc3161ng.get_timestamp(tst))\n";
  testsupport::WriteFile(dir_ + "/client.py", script);
  auto py = RunCommand({"/usr/bin/python3", dir_ + "/client.py", node_->Http("/v1/tsa"), tsa_key});
  EXPECT_EQ(py.exit_code, 0) << py.out;
  EXPECT_NE(py.out.find("ok "), std::string::npos) << py.out;
}

TEST_F(E2eTest, HealthReadinessMetricsAndBadRoutes) {
  EXPECT_EQ(Get(*node_, "/healthz").status, 200);
  EXPECT_EQ(Get(*node_, "/readyz").status, 200);
  auto metrics = Get(*node_, "/metrics");
  EXPECT_EQ(metrics.status, 200);
  for (const char* name :
       {"smtp_sessions_active", "smtp_messages_refused_total",
        "ingest_commit_latency_seconds_bucket", "receipts_pending", "ingest_bytes_total"}) {
    EXPECT_NE(metrics.body.find(name), std::string::npos) << name;
  }
  auto nope = Get(*node_, "/v1/nothing-here");
  EXPECT_EQ(nope.status, 404);
  EXPECT_EQ(json::parse(nope.body)["error"]["code"], "not_found");
  EXPECT_EQ(Get(*node_, "/v1/messages?limit=0", key_).status, 400);
  EXPECT_EQ(Get(*node_, "/v1/messages?bogus=1", key_).status, 400);
  EXPECT_EQ(Get(*node_, "/v1/messages?next=1_x", key_).status, 400);
  EXPECT_EQ(Get(*node_, "/v1/proofs/inclusion?leaf_index=5&tree_size=2").status, 400);
  EXPECT_EQ(Get(*node_, "/tile/0/x001/x002/003").status, 404);
}

}  // namespace
