// The chain under attack and under failure: audit names tampering; two sealers on one
// database with one killed stay linear; PostgreSQL stopped mid-stream loses nothing that
// was acknowledged.
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <regex>
#include <set>
#include <thread>

#include "notaryd_process.h"
#include "support/test_support.h"

namespace {

using nlohmann::json;
using testsupport::Psql;
using testsupport::RunCommand;
using testsupport::WaitUntil;

int64_t Count(const std::string& url, const std::string& sql) {
  return std::atoll(Psql(url, sql).c_str());
}

// Sends `n` messages with Postfix's smtp-source over `sessions` sessions.
testsupport::CommandResult SmtpSource(int port, int n, int sessions, int size = 2000) {
  return RunCommand({"/usr/sbin/smtp-source", "-c", "-s", std::to_string(sessions), "-m",
                     std::to_string(n), "-l", std::to_string(size), "-f", "load@example.com", "-t",
                     "sink@example.org", "127.0.0.1:" + std::to_string(port)},
                    "", 300);
}

class ChainTest : public ::testing::Test {
 protected:
  testsupport::TestDatabase db_;
  std::string dir_ = testsupport::MakeTempDir("chain");

  testsupport::CommandResult Audit() {
    return RunCommand({e2e::NotaryctlBinary(), "--database-url", db_.AppUrl(), "audit", "--quiet",
                       "--data-dir", dir_ + "/data"});
  }

  // Seals `n` messages and stops the node gracefully.
  void SealSome(int n) {
    e2e::NotarydProcess node(db_.AppUrl(), db_.OwnerUrl(), dir_ + "/data");
    ASSERT_TRUE(node.ready()) << node.Log();
    auto r = SmtpSource(node.smtp_port(), n, 2);
    ASSERT_EQ(r.exit_code, 0) << r.out;
    ASSERT_TRUE(WaitUntil([&] { return Count(db_.SuperUrl(), "SELECT count(*) FROM leaves") == n; },
                          std::chrono::seconds(30)));
    node.Stop();
  }

  // Every receipt has exactly one leaf, leaf indexes and heights have no gap, audit passes.
  void ExpectEveryReceiptSealedOnceOnALinearChain(int64_t receipts) {
    EXPECT_EQ(Count(db_.SuperUrl(), "SELECT count(*) FROM leaves"), receipts);
    EXPECT_EQ(Count(db_.SuperUrl(), "SELECT count(DISTINCT receipt_id) FROM leaves"), receipts);
    EXPECT_EQ(Count(db_.SuperUrl(), "SELECT coalesce(max(leaf_index) + 1, 0) FROM leaves"),
              receipts);
    EXPECT_EQ(Count(db_.SuperUrl(), "SELECT coalesce(max(height) + 1, 0) - count(*) FROM blocks"),
              0);
    auto audit = Audit();
    EXPECT_EQ(audit.exit_code, 0) << audit.out;
  }

  // Changes a row the way an attacker with superuser rights would: triggers off.
  void Tamper(const std::string& sql) {
    Psql(db_.SuperUrl(), "SET session_replication_role = replica; " + sql);
  }
};

TEST_F(ChainTest, AuditPassesOnAnUntouchedChain) {
  SealSome(20);
  auto a = Audit();
  EXPECT_EQ(a.exit_code, 0) << a.out;
  EXPECT_NE(a.out.find("audit: OK"), std::string::npos) << a.out;
  EXPECT_NE(a.out.find("20 receipts"), std::string::npos) << a.out;
}

TEST_F(ChainTest, AuditNamesATamperedMessageByte) {
  SealSome(10);
  std::string victim = Psql(db_.SuperUrl(), "SELECT receipt_id FROM leaves WHERE leaf_index = 4");
  // One bit flipped: a fixed byte would leave the ciphertext as it was 1 time in 256.
  Tamper(
      "UPDATE sealed_blobs SET data = set_byte(data, 39, get_byte(data, 39) # 1) WHERE sha256 = "
      "(SELECT raw_sha256 FROM receipts WHERE id = '" +
      victim + "')");
  auto a = Audit();
  EXPECT_EQ(a.exit_code, 1);
  EXPECT_NE(a.out.find("receipt " + victim), std::string::npos) << a.out;
  EXPECT_NE(a.out.find("do not hash to raw_sha256"), std::string::npos) << a.out;
}

TEST_F(ChainTest, AuditNamesATamperedLeaf) {
  SealSome(10);
  // The record lives in the receipt; its hash goes along, as the CHECK demands.
  Tamper(
      "UPDATE receipts SET leaf_record = overlay(leaf_record placing '\\xff'::bytea from 30 for 1),"
      " leaf_hash = sha256('\\x00'::bytea || overlay(leaf_record placing '\\xff'::bytea from 30"
      " for 1)) WHERE id = (SELECT receipt_id FROM leaves WHERE leaf_index = 7)");
  auto a = Audit();
  EXPECT_EQ(a.exit_code, 1);
  EXPECT_NE(a.out.find("leaf 7 "), std::string::npos) << a.out;
  EXPECT_NE(a.out.find("leaf record differs"), std::string::npos) << a.out;
}

TEST_F(ChainTest, AuditNamesATamperedBlockRoot) {
  SealSome(10);
  Tamper("UPDATE blocks SET batch_root = '\\x" + std::string(64, 'a') + "' WHERE height = 0");
  auto a = Audit();
  EXPECT_EQ(a.exit_code, 1);
  EXPECT_NE(a.out.find("block 0"), std::string::npos) << a.out;
  EXPECT_NE(a.out.find("differ from its signed header"), std::string::npos) << a.out;
}

TEST_F(ChainTest, AuditNamesATamperedSignature) {
  SealSome(10);
  Tamper(
      "UPDATE blocks SET signature = set_byte(signature, 4, get_byte(signature, 4) # 1) WHERE "
      "height = 0");
  auto a = Audit();
  EXPECT_EQ(a.exit_code, 1);
  EXPECT_NE(a.out.find("block 0: signature does not verify"), std::string::npos) << a.out;
}

TEST_F(ChainTest, AuditNamesADroppedLeaf) {
  SealSome(10);
  Tamper("DELETE FROM leaves WHERE leaf_index = 3");
  auto a = Audit();
  EXPECT_EQ(a.exit_code, 1);
  EXPECT_NE(a.out.find("leaves signed"), std::string::npos) << a.out;
}

TEST_F(ChainTest, TwoSealersOneKilledKeepTheChainLinearAndLoseNothing) {
  // Without a signer, nodes that share a database share the tenants' key pairs
  // (docs/retention.md): one keks.d folder for both, as an operator sets it up.
  std::filesystem::create_directories(dir_ + "/data/keks.d");
  for (const char* node : {"/a", "/b"}) {
    std::filesystem::create_directories(dir_ + node);
    std::filesystem::create_directory_symlink(dir_ + "/data/keks.d", dir_ + node + "/keks.d");
  }
  e2e::NotarydProcess a(db_.AppUrl(), db_.OwnerUrl(), dir_ + "/a", {}, "node-a");
  e2e::NotarydProcess b(db_.AppUrl(), db_.OwnerUrl(), dir_ + "/b", {}, "node-b");
  ASSERT_TRUE(a.ready()) << a.Log();
  ASSERT_TRUE(b.ready()) << b.Log();
  std::atomic<bool> done_b{false};
  std::thread to_b([&] {
    SmtpSource(b.smtp_port(), 400, 4);
    done_b = true;
  });
  std::thread to_a([&] { SmtpSource(a.smtp_port(), 400, 4); });
  // Mid-stream: once node a has committed some of its messages, possibly while sealing.
  const bool a_took_mail = WaitUntil(
      [&] {
        return Count(db_.SuperUrl(), "SELECT count(*) FROM receipts WHERE node = 'node-a'") >= 50;
      },
      std::chrono::seconds(60));
  a.Kill(SIGKILL);
  to_a.join();
  to_b.join();
  EXPECT_TRUE(a_took_mail);
  ASSERT_TRUE(done_b);
  // The survivor takes over sealing and seals everything that was committed.
  ASSERT_TRUE(WaitUntil([&] { return Count(db_.SuperUrl(), "SELECT count(*) FROM pending") == 0; },
                        std::chrono::seconds(30)))
      << b.Log();
  const int64_t receipts = Count(db_.SuperUrl(), "SELECT count(*) FROM receipts");
  EXPECT_GE(receipts, 400);  // at least everything node b acknowledged
  ExpectEveryReceiptSealedOnceOnALinearChain(receipts);
}

TEST_F(ChainTest, KillNineAtRandomPointsNeverSealsTwiceOrSkips) {
  std::mt19937 rng(20261126);
  for (int round = 0; round < 5; ++round) {
    e2e::NotarydProcess node(db_.AppUrl(), db_.OwnerUrl(), dir_ + "/data");
    ASSERT_TRUE(node.ready()) << node.Log();
    std::thread load([&] { SmtpSource(node.smtp_port(), 300, 4); });
    std::this_thread::sleep_for(std::chrono::milliseconds(100 + rng() % 500));
    node.Kill(SIGKILL);  // wherever it is: mid-commit, mid-seal, idle
    load.join();
  }
  e2e::NotarydProcess last(db_.AppUrl(), db_.OwnerUrl(), dir_ + "/data");
  ASSERT_TRUE(last.ready()) << last.Log();
  ASSERT_TRUE(WaitUntil([&] { return Count(db_.SuperUrl(), "SELECT count(*) FROM pending") == 0; },
                        std::chrono::seconds(30)));
  const int64_t receipts = Count(db_.SuperUrl(), "SELECT count(*) FROM receipts");
  EXPECT_GT(receipts, 0);
  ExpectEveryReceiptSealedOnceOnALinearChain(receipts);
}

TEST(NoLossTest, DatabaseStoppedMidStreamLosesNothingAcknowledged) {
  // Its own cluster: this test stops and starts PostgreSQL.
  std::string pgdir = testsupport::MakeTempDir("pg-noloss");
  const std::string pg = testsupport::SourceDir() + "/scripts/pg";
  auto env_run = [&](const std::string& cmd) {
    return RunCommand({"env", "NOTARY_PG_DIR=" + pgdir, pg, cmd});
  };
  ASSERT_EQ(env_run("start").exit_code, 0);
  std::string app = RunCommand({"env", "NOTARY_PG_DIR=" + pgdir, pg, "url", "app"}).out;
  std::string owner = RunCommand({"env", "NOTARY_PG_DIR=" + pgdir, pg, "url", "owner"}).out;
  std::string super = RunCommand({"env", "NOTARY_PG_DIR=" + pgdir, pg, "url", "super"}).out;
  app.pop_back();
  owner.pop_back();
  super.pop_back();
  {
    e2e::NotarydProcess node(app, owner, pgdir + "/notary");
    ASSERT_TRUE(node.ready()) << node.Log();
    // Four clients send one message per connection with swaks and record every reply.
    std::mutex mu;
    std::condition_variable replied;  // a reply was recorded
    std::vector<std::string> acked;
    int refused = 0, other = 0;
    std::atomic<bool> stop{false};
    // jthreads: an early return (a failed ASSERT) joins them instead of terminating.
    std::vector<std::jthread> clients;
    for (int c = 0; c < 4; ++c) {
      clients.emplace_back([&, c] {
        for (int i = 0; i < 40 && !stop; ++i) {
          auto r = RunCommand({"swaks", "--server", "127.0.0.1:" + std::to_string(node.smtp_port()),
                               "--from", "a@example.com", "--to", "b@example.org", "--header",
                               "Subject: noloss " + std::to_string(c) + "-" + std::to_string(i)},
                              "", 60);
          std::smatch m;
          std::lock_guard lock(mu);
          if (std::regex_search(r.out, m,
                                std::regex("<-  250 2\\.0\\.0 Ok: notarised id=([0-9a-f-]{36})"))) {
            acked.push_back(m[1]);
          } else if (r.out.find("<** 451 4.3.0") != std::string::npos) {
            ++refused;
          } else {
            ++other;
          }
          replied.notify_all();
        }
      });
    }
    auto wait_for_replies = [&](const std::function<bool()>& enough) {
      std::unique_lock lock(mu);
      return replied.wait_for(lock, std::chrono::seconds(120), enough);
    };
    // The outage starts once some messages were acknowledged and lasts until a client saw it.
    EXPECT_TRUE(wait_for_replies([&] { return acked.size() >= 8; }));
    const bool stopped =
        RunCommand({"runuser", "-u", "postgres", "--", "/usr/lib/postgresql/15/bin/pg_ctl", "-D",
                    pgdir + "/data", "-m", "immediate", "stop"})
            .exit_code == 0;
    EXPECT_TRUE(stopped);
    if (stopped) {
      EXPECT_TRUE(wait_for_replies([&] { return refused > 0; }));
    }
    const bool restarted = env_run("start").exit_code == 0;
    if (!restarted) stop = true;
    for (auto& t : clients) t.join();
    ASSERT_TRUE(restarted);
    EXPECT_GT(refused, 0) << "the outage was not seen by any client";
    EXPECT_GT(acked.size(), 10u);
    EXPECT_EQ(other, 0) << "every message is either acknowledged or refused with 451 4.3.0";
    // Every acknowledged id is in the database.
    std::set<std::string> stored;
    std::string rows = Psql(super, "SELECT id FROM receipts");
    std::stringstream ss(rows);
    for (std::string line; std::getline(ss, line);) stored.insert(line);
    for (const auto& id : acked) EXPECT_TRUE(stored.count(id)) << "acknowledged and lost: " << id;
    node.Stop();
  }
  env_run("stop");
}

}  // namespace
