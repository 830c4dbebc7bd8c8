// scripts/demo (issue 24, "A demo") against the real notaryd: every message is notarised, the
// Korean and Chinese subjects and attachment names read back as written, the reply names the
// contract it answers, and the relayed copy of the contract has the contract's canonical hash
// (other raw bytes), so that notary-verify --eml matches it against the contract's bundle.
#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>

#include "json_call.h"
#include "notaryd_process.h"
#include "support/test_support.h"

namespace {

using nlohmann::json;
using testsupport::RunCommand;

TEST(DemoTest, EveryDemoMessageIsNotarisedAsWrittenAndTheRelayedCopyMatches) {
  testsupport::TestDatabase db;
  const std::string dir = testsupport::MakeTempDir("demo");
  e2e::NotarydProcess node(db.AppUrl(), db.OwnerUrl(), dir + "/data");
  ASSERT_TRUE(node.ready()) << node.Log();
  const std::string key = e2e::MakeKey(db.AppUrl(), "default", "read");

  auto demo = RunCommand(
      {testsupport::SourceDir() + "/scripts/demo", "127.0.0.1:" + std::to_string(node.smtp_port())},
      "", 120);
  ASSERT_EQ(demo.exit_code, 0) << demo.out;
  std::map<std::string, std::string> ids;  // file -> receipt id
  std::istringstream lines(demo.out);
  std::string line;
  std::smatch m;
  while (std::getline(lines, line)) {
    if (std::regex_match(line, m, std::regex(R"((\S+)\s+([0-9a-f-]{36}))"))) ids[m[1]] = m[2];
  }
  ASSERT_EQ(ids.size(), 5u) << demo.out;
  auto get = [&](const std::string& file) {
    auto r = e2e::Call("GET", node.Http("/v1/messages/" + ids[file]), key);
    EXPECT_EQ(r.status, 200) << r.body.dump();
    return r.body;
  };
  const json ko = get("03-ko-contract.eml");
  EXPECT_EQ(ko["metadata"]["subject"], "계약서 최종본 송부 (2026-117)");
  EXPECT_EQ(ko["metadata"]["attachment_names"], json::array({"계약서-2026-117.pdf"}));
  const json zh = get("04-zh-quote.eml");
  EXPECT_EQ(zh["metadata"]["subject"], "2026年第四季度报价单");
  EXPECT_EQ(zh["metadata"]["attachment_names"], json::array({"报价单.csv"}));
  const json contract = get("01-en-contract.eml");
  const json reply = get("02-en-reply.eml");
  EXPECT_EQ(reply["metadata"]["in_reply_to"], contract["metadata"]["message_id"]);
  const json relayed = get("05-en-contract-relayed.eml");
  EXPECT_EQ(relayed["canonical_sha256"], contract["canonical_sha256"]);
  EXPECT_NE(relayed["raw_sha256"], contract["raw_sha256"]);

  // The contract's bundle matches the relayed copy as a judge would check it.
  auto zip =
      RunCommand({"curl", "-s", "-o", dir + "/contract.zip", "-w", "%{http_code}", "-H",
                  "Authorization: Bearer " + key,
                  node.Http("/v1/messages/" + ids["01-en-contract.eml"] + "/evidence?wait=30")},
                 "", 60);
  ASSERT_EQ(zip.out, "200");
  auto v =
      RunCommand({testsupport::BinaryDir() + "/cli/notary-verify", dir + "/contract.zip", "--eml",
                  testsupport::SourceDir() + "/scripts/demo-mail/05-en-contract-relayed.eml"});
  EXPECT_EQ(v.exit_code, 0) << v.out;
  EXPECT_NE(v.out.find("MATCHED  the file given with --eml"), std::string::npos) << v.out;
}

}  // namespace
