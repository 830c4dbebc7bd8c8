// The Ingestor against a real database: messages from many submitters at once are each
// committed exactly once and answered, one bad message does not hold back the others of
// its group, and the destructor answers everything still queued or ready.
#include "pipeline/ingest.h"

#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>
#include <pqxx/pqxx>
#include <set>
#include <thread>

#include "common/bytes.h"
#include "common/sha256.h"
#include "common/time.h"
#include "storage/migrations.h"
#include "support/manual_clock.h"
#include "support/test_support.h"

namespace {

using pipeline::Ingestor;
using pipeline::SubmitOutcome;

class IngestTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(storage::Migrate(tdb_.OwnerUrl(), storage::BuiltinMigrations()).ok());
    auto db = storage::Database::Open({tdb_.AppUrl(), 8});
    ASSERT_TRUE(db.ok()) << db.error().ToString();
    db_ = std::move(*db);
    store_ = std::make_unique<storage::ReceiptStore>(*db_);
    auto router = pipeline::TenantRouter::Create({}, "default");
    ASSERT_TRUE(router.ok());
    router_ = std::make_unique<pipeline::TenantRouter>(std::move(*router));
  }

  std::unique_ptr<Ingestor> MakeIngestor(const common::Clock* clock = &common::Clock::System()) {
    Ingestor::Options o;
    o.node = "test";
    o.clock = clock;
    return std::make_unique<Ingestor>(o, *store_, *router_, metrics_);
  }

  static std::string Message(int submitter, int n) {
    return "From: a@example.com\r\nTo: b@example.org\r\nSubject: s" + std::to_string(submitter) +
           "-" + std::to_string(n) + "\r\nMessage-ID: <" + std::to_string(submitter) + "." +
           std::to_string(n) + "@example.com>\r\n\r\nbody " + std::to_string(n) + "\r\n";
  }

  // Collects outcomes from the ingest workers' threads.
  struct Answers {
    std::mutex mu;
    std::condition_variable cv;
    std::vector<std::pair<std::string, SubmitOutcome>> got;  // (raw, outcome)
    void Add(std::string raw, SubmitOutcome o) {
      std::lock_guard lock(mu);
      got.emplace_back(std::move(raw), std::move(o));
      cv.notify_all();
    }
    bool WaitFor(size_t n) {
      std::unique_lock lock(mu);
      return cv.wait_for(lock, std::chrono::seconds(60), [&] { return got.size() >= n; });
    }
  };

  void Submit(Ingestor& ingestor, Answers& answers, const std::string& raw,
              const std::string& tenant = "") {
    pipeline::Arrival e;
    e.envelope.mail_from = "a@example.com";
    e.envelope.recipients = {"b@example.org"};
    e.envelope.client_ip = "127.0.0.1";
    e.provenance.source = tenant.empty() ? "smtp" : "http";
    Ingestor::Extra extra;
    extra.tenant = tenant;
    ingestor.SubmitWithExtra(e, raw, extra,
                             [&answers, raw](SubmitOutcome o) { answers.Add(raw, std::move(o)); });
  }

  testsupport::TestDatabase tdb_;
  std::unique_ptr<storage::Database> db_;
  std::unique_ptr<storage::ReceiptStore> store_;
  std::unique_ptr<pipeline::TenantRouter> router_;
  common::Metrics metrics_;
};

TEST_F(IngestTest, ConcurrentSubmittersAreEachCommittedOnceAndAnswered) {
  auto ingestor = MakeIngestor();
  Answers answers;
  constexpr int kSubmitters = 8, kEach = 40;
  {
    std::vector<std::jthread> submitters;
    for (int s = 0; s < kSubmitters; ++s) {
      submitters.emplace_back([&, s] {
        for (int n = 0; n < kEach; ++n) Submit(*ingestor, answers, Message(s, n));
      });
    }
  }
  ASSERT_TRUE(answers.WaitFor(kSubmitters * kEach));
  std::set<std::string> ids;
  for (const auto& [raw, o] : answers.got) {
    ASSERT_EQ(o.kind, SubmitOutcome::Kind::kAccepted) << o.message;
    EXPECT_EQ(o.raw_sha256_hex, common::ToHex(common::Sha256Of(raw)));
    EXPECT_TRUE(ids.insert(o.receipt_id).second) << "receipt id answered twice";
    auto row = store_->Get(o.receipt_id, std::nullopt);
    ASSERT_TRUE(row.ok() && row->has_value()) << o.receipt_id;
    EXPECT_EQ((*row)->raw_sha256, common::Sha256Of(raw));
  }
  EXPECT_EQ(ids.size(), static_cast<size_t>(kSubmitters * kEach));
  // Nothing was stored that was not answered: one queue entry per receipt, and no more.
  EXPECT_EQ(*store_->PendingCount(), kSubmitters * kEach);
}

// The reception time is the injected clock's: the receipt's received_at_us, the time the
// sender is told, and the millisecond timestamp at the head of its UUIDv7 id.
TEST_F(IngestTest, ReceptionTimeComesFromTheInjectedClock) {
  constexpr int64_t kAt = 1'893'456'000'123'456;  // 2030-01-01T00:00:00.123456Z
  testsupport::ManualClock clock(kAt);
  auto ingestor = MakeIngestor(&clock);
  Answers answers;
  Submit(*ingestor, answers, Message(0, 0));
  ASSERT_TRUE(answers.WaitFor(1));
  const SubmitOutcome& o = answers.got[0].second;
  ASSERT_EQ(o.kind, SubmitOutcome::Kind::kAccepted) << o.message;
  EXPECT_EQ(o.received_at, "2030-01-01T00:00:00.123456Z");
  auto row = store_->Get(o.receipt_id, std::nullopt);
  ASSERT_TRUE(row.ok() && row->has_value());
  EXPECT_EQ((*row)->received_at_us, kAt);
  std::string id_ms_hex = o.receipt_id.substr(0, 8) + o.receipt_id.substr(9, 4);
  EXPECT_EQ(std::stoll(id_ms_hex, nullptr, 16), kAt / 1000);
}

TEST_F(IngestTest, OneBadMessageDoesNotHoldBackTheOthers) {
  auto ingestor = MakeIngestor();
  Answers answers;
  constexpr int kGood = 60;
  const std::string bad = Message(99, 0);
  {
    std::vector<std::jthread> submitters;
    for (int s = 0; s < 3; ++s) {
      submitters.emplace_back([&, s] {
        for (int n = 0; n < kGood / 3; ++n) {
          Submit(*ingestor, answers, Message(s, n));
          // A tenant that does not exist fails its row, and with it the group's statement.
          if (s == 1 && n == kGood / 6) Submit(*ingestor, answers, bad, "no-such-tenant");
        }
      });
    }
  }
  ASSERT_TRUE(answers.WaitFor(kGood + 1));
  int accepted = 0;
  for (const auto& [raw, o] : answers.got) {
    if (raw == bad) {
      EXPECT_EQ(o.kind, SubmitOutcome::Kind::kTempFail);
    } else {
      EXPECT_EQ(o.kind, SubmitOutcome::Kind::kAccepted) << o.message;
      ++accepted;
    }
  }
  EXPECT_EQ(accepted, kGood);
  EXPECT_EQ(*store_->PendingCount(), kGood);
}

TEST_F(IngestTest, DestructorAnswersEverythingQueuedOrReady) {
  Answers answers;
  constexpr int kMessages = 200;
  {
    auto ingestor = MakeIngestor();
    for (int n = 0; n < kMessages; ++n) Submit(*ingestor, answers, Message(0, n));
  }  // destroyed at once: the workers drain the queue, and commit what they made ready
  std::lock_guard lock(answers.mu);
  ASSERT_EQ(answers.got.size(), static_cast<size_t>(kMessages));
  for (const auto& [raw, o] : answers.got) EXPECT_EQ(o.kind, SubmitOutcome::Kind::kAccepted);
  EXPECT_EQ(*store_->PendingCount(), kMessages);
}

}  // namespace

// A commit the database does not confirm (here: the receipts table locked by another session,
// as a primary waiting for a synchronous standby that is gone would hold it) is answered
// "try again" at its deadline, not held without an answer. Once the database lets it through,
// that commit completes, answered only once; a message that waited in the queue behind it and
// was told to try again is not stored as well (its sender resends it).
TEST_F(IngestTest, CommitNotConfirmedInTimeIsAnsweredTryAgainOnce) {
  // Destroyed in reverse: the lock goes first (so the ingestor can drain), then the ingestor,
  // then the answers its workers write to.
  Answers answers;
  Ingestor::Options o;
  o.node = "test";
  o.workers = 1;
  o.answer_timeout = std::chrono::milliseconds(300);
  auto ingestor = std::make_unique<Ingestor>(o, *store_, *router_, metrics_);
  pqxx::connection blocker(tdb_.SuperUrl());
  pqxx::work hold(blocker);
  hold.exec("LOCK TABLE receipts IN ACCESS EXCLUSIVE MODE");

  const std::string first = Message(1, 1);
  Submit(*ingestor, answers, first);
  // The one worker is in the first message's commit, which waits for the lock.
  ASSERT_TRUE(testsupport::WaitUntil(
      [&] {
        auto r = testsupport::RunCommand(
            {"psql", "-X", "-At", tdb_.SuperUrl(), "-c",
             "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
             "AND datname = current_database()"});
        return r.out == "1\n";
      },
      std::chrono::seconds(30)));
  const std::string second = Message(1, 2);
  Submit(*ingestor, answers, second);
  ASSERT_TRUE(answers.WaitFor(2));
  {
    std::lock_guard lock(answers.mu);
    for (const auto& [raw, out] : answers.got) {
      EXPECT_EQ(out.kind, SubmitOutcome::Kind::kTempFail);
      EXPECT_NE(out.message.find("did not confirm the commit"), std::string::npos) << out.message;
    }
  }

  hold.commit();  // the database answers again: the commit that waited completes
  auto stored = [&](const std::string& raw) {
    auto r = testsupport::RunCommand({"psql", "-X", "-At", tdb_.SuperUrl(), "-c",
                                      "SELECT count(*) FROM receipts WHERE raw_sha256 = '\\x" +
                                          common::ToHex(common::Sha256Of(raw)) + "'"});
    return r.out == "1\n";
  };
  EXPECT_TRUE(testsupport::WaitUntil([&] { return stored(first); }, std::chrono::seconds(30)));
  ingestor.reset();  // drains: nothing is answered a second time
  EXPECT_FALSE(stored(second)) << "a message told to try again was stored as well";
  std::lock_guard lock(answers.mu);
  EXPECT_EQ(answers.got.size(), 2u);
}
