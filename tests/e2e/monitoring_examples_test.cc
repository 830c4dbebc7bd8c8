// The monitoring examples of docs/operations.md (issue 24, "Production operation"): the alert
// rules pass `promtool check rules` and their unit tests (`promtool test rules`), the scrape
// configuration passes `promtool check config`, and every metric the rules and the Grafana
// dashboard name is one a real notaryd exports, with the label values they match.
#include <gtest/gtest.h>

#include <fstream>
#include <regex>

#include "notaryd_process.h"
#include "support/test_support.h"

namespace {

using testsupport::RunCommand;

class MonitoringExamplesTest : public ::testing::Test {
 protected:
  std::string Examples() { return testsupport::SourceDir() + "/docs/examples"; }
  std::string Checker() {
    return testsupport::SourceDir() + "/tests/docs/monitoring_examples_check.py";
  }
  std::string dir_ = testsupport::MakeTempDir("monitoring");
};

TEST_F(MonitoringExamplesTest, RulesAndTheirUnitTestsPassPromtool) {
  auto check =
      RunCommand({"promtool", "check", "rules", Examples() + "/prometheus/notary-alerts.yml"});
  EXPECT_EQ(check.exit_code, 0) << check.out;
  EXPECT_NE(check.out.find("SUCCESS"), std::string::npos) << check.out;
  auto unit =
      RunCommand({"promtool", "test", "rules", Examples() + "/prometheus/notary-alerts.test.yml"});
  EXPECT_EQ(unit.exit_code, 0) << unit.out;

  // The scrape configuration as a whole prometheus.yml, its rule file where it was installed.
  std::string config = testsupport::ReadFile(Examples() + "/prometheus/scrape.yml");
  config = std::regex_replace(config, std::regex("/etc/prometheus/notary-alerts.yml"),
                              Examples() + "/prometheus/notary-alerts.yml");
  testsupport::WriteFile(dir_ + "/prometheus.yml", config);
  auto cfg = RunCommand({"promtool", "check", "config", dir_ + "/prometheus.yml"});
  EXPECT_EQ(cfg.exit_code, 0) << cfg.out;
}

TEST_F(MonitoringExamplesTest, RulesAndDashboardNameOnlyMetricsNotarydExports) {
  testsupport::TestDatabase db;
  e2e::NotarydProcess node(db.AppUrl(), db.OwnerUrl(), dir_ + "/data");
  ASSERT_TRUE(node.ready()) << node.Log();
  // One message, sealed: the latency histogram and the seal's age exist only after one.
  auto sent = RunCommand({"swaks", "--server", "127.0.0.1:" + std::to_string(node.smtp_port()),
                          "--from", "a@example.com", "--to", "b@example.org"});
  ASSERT_EQ(sent.exit_code, 0) << sent.out;
  std::string metrics;
  const bool sealed = testsupport::WaitUntil(
      [&] {
        metrics = RunCommand({"curl", "-sf", node.Http("/metrics")}).out;
        return metrics.find("\ncheckpoint_age_seconds ") != std::string::npos &&
               metrics.find("\nreceipts_pending 0") != std::string::npos;
      },
      std::chrono::seconds(30));
  ASSERT_TRUE(sealed) << metrics;
  testsupport::WriteFile(dir_ + "/metrics.txt", metrics);

  auto ok =
      RunCommand({"/usr/bin/python3", Checker(), dir_ + "/metrics.txt", testsupport::SourceDir()});
  EXPECT_EQ(ok.exit_code, 0) << ok.out;

  // The check can fail: a renamed metric and a label value notaryd never uses are named.
  std::string rules = testsupport::ReadFile(Examples() + "/prometheus/notary-alerts.yml");
  rules = std::regex_replace(rules, std::regex("tree_size"), "tree_leaves");
  rules = std::regex_replace(rules, std::regex("temp_failure\\|"), "tempfail|");
  testsupport::WriteFile(dir_ + "/bad.yml", rules);
  auto bad = RunCommand({"/usr/bin/python3", Checker(), dir_ + "/metrics.txt",
                         testsupport::SourceDir(), "--rules", dir_ + "/bad.yml"});
  EXPECT_EQ(bad.exit_code, 1) << bad.out;
  EXPECT_NE(bad.out.find("no metric tree_leaves"), std::string::npos) << bad.out;
  EXPECT_NE(bad.out.find("reason=\"tempfail\""), std::string::npos) << bad.out;
}

}  // namespace
