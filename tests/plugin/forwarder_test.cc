// The milter's path to notaryd, against a real notaryd and PostgreSQL: the bounded pool of
// kept-alive connections that fail-closed sessions share, and the fail-open forwarder's
// pacing (the backlog waits while mail arrives, and not longer than its maximum delay).
#include "forwarder.h"

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>

#include "mail_harness.h"
#include "notary_client.h"
#include "spool.h"
#include "spool_record.h"
#include "stats.h"

namespace plugintest {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;
using std::chrono::seconds;

milter::SpoolRecord Record(const std::string& subject) {
  milter::SpoolRecord r;
  r.mail_from = "alice@example.com";
  r.rcpt_to = {"bob@example.net"};
  r.client_addr = "192.0.2.9";
  r.queue_id = subject;
  r.message = "From: alice@example.com\r\nTo: bob@example.net\r\nSubject: " + subject +
              "\r\nMessage-ID: <" + subject + "@example.com>\r\n\r\nbody of " + subject + "\r\n";
  return r;
}

class NotaryPathTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testsupport::MakeTempDir("notary-path");
    notary_ = std::make_unique<Notary>(dir_);
    notary_->Start();
  }
  void TearDown() override {
    notary_.reset();
    fs::remove_all(dir_);
  }
  size_t Found(const std::string& subject_part) {
    return notary_->Search("subject=" + subject_part + "&limit=1000").size();
  }
  std::string dir_;
  std::unique_ptr<Notary> notary_;
};

TEST_F(NotaryPathTest, ConcurrentSubmitsShareABoundedPoolOfConnections) {
  milter::NotaryClient client(notary_->url(), notary_->api_key(), seconds(20), 2);
  std::atomic<int> ok{0}, max_open{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 5; ++i) {
        const std::string subject = "pooled-" + std::to_string(t) + "-" + std::to_string(i);
        auto r = client.Submit(Record(subject), "pool-test-" + subject);
        if (r.ok()) ok.fetch_add(1);
        int open = client.pooled_connections();
        int seen = max_open.load();
        while (open > seen && !max_open.compare_exchange_weak(seen, open)) {
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 30);
  EXPECT_LE(max_open.load(), 2);
  EXPECT_GE(client.pooled_connections(), 1);
  EXPECT_EQ(Found("pooled"), 30u);
}

TEST_F(NotaryPathTest, PoolDropsBrokenConnectionsAndRecoversWhenNotarydReturns) {
  milter::NotaryClient client(notary_->url(), notary_->api_key(), seconds(5), 2);
  ASSERT_TRUE(client.Submit(Record("recover-1"), "recover-1").ok());
  EXPECT_EQ(client.pooled_connections(), 1);
  notary_->Stop();
  auto down = client.Submit(Record("recover-2"), "recover-2");
  ASSERT_FALSE(down.ok());
  EXPECT_EQ(down.error().code(), common::ErrorCode::kUnavailable);
  EXPECT_EQ(client.pooled_connections(), 0);  // the dead connection is not lent out again
  notary_->Start();
  auto up = client.Submit(Record("recover-2"), "recover-2");
  ASSERT_TRUE(up.ok()) << up.error().message();
  EXPECT_EQ(Found("recover"), 2u);
}

class PacingTest : public NotaryPathTest {
 protected:
  void Open(milter::ForwarderPacing pacing) {
    auto s = milter::Spool::Open(dir_ + "/spool", 1ull << 30);
    ASSERT_TRUE(s.ok()) << s.error().message();
    spool_ = std::move(*s);
    client_ =
        std::make_unique<milter::NotaryClient>(notary_->url(), notary_->api_key(), seconds(20));
    forwarder_ = std::make_unique<milter::Forwarder>(*spool_, *client_, stats_,
                                                     milter::ForwarderPriority::kNormal, pacing);
  }
  // Spools one message as the milter does at end of data.
  void Spool(const std::string& subject) {
    ASSERT_TRUE(spool_->Put(milter::EncodeSpoolRecord(Record(subject))).ok());
    forwarder_->Wake();
  }
  // Spools a message every 50 ms (up to 20 s) until the forwarder has sent one; true when it
  // did while messages were still arriving.
  bool ForwardsWhileMailArrives(const std::string& prefix) {
    for (int i = 0; i < 400; ++i) {
      Spool(prefix + std::to_string(i));
      std::this_thread::sleep_for(milliseconds(50));
      if (stats_.forwarded_total.load() > 0) return true;
    }
    return false;
  }
  void TearDown() override {
    forwarder_.reset();
    spool_.reset();
    NotaryPathTest::TearDown();
  }
  milter::Stats stats_;
  std::unique_ptr<milter::Spool> spool_;
  std::unique_ptr<milter::NotaryClient> client_;
  std::unique_ptr<milter::Forwarder> forwarder_;
};

TEST_F(PacingTest, HoldsTheBacklogWhileMailArrivesThenForwardsAllOfIt) {
  // Quiet period far longer than the gap between messages: nothing may go out meanwhile.
  Open({milliseconds(3000), seconds(600)});
  for (int i = 0; i < 20; ++i) {
    Spool("held-" + std::to_string(i));
    std::this_thread::sleep_for(milliseconds(50));
  }
  EXPECT_EQ(stats_.forwarded_total.load(), 0u);
  EXPECT_EQ(spool_->records(), 20u);
  ASSERT_TRUE(WaitUntil([&] { return stats_.forwarded_total.load() == 20; }, seconds(60)));
  EXPECT_EQ(Found("held"), 20u);
}

TEST_F(PacingTest, ForwardsOnceTheOldestHasWaitedTheMaximumDelayWhileMailKeepsArriving) {
  Open({milliseconds(600000), milliseconds(300)});
  EXPECT_TRUE(ForwardsWhileMailArrives("busy-"));
}

TEST_F(PacingTest, ZeroQuietForwardsAtOnce) {
  Open({milliseconds(0), seconds(600)});
  EXPECT_TRUE(ForwardsWhileMailArrives("unpaced-"));
}

}  // namespace
}  // namespace plugintest
