// ReadReplica's contract where one PostgreSQL is enough: a "replica" URL that reaches the
// primary itself is always fresh, and the floor belongs to one scope on one thread. Reads on a
// standby that lags are tested on a real Patroni cluster (tests/ha/read_replica_test.sh).
#include "storage/read_replica.h"

#include <gtest/gtest.h>

#include <thread>

#include "storage/migrations.h"
#include "storage/receipt_store.h"
#include "support/test_support.h"

namespace {

class ReadReplicaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(storage::Migrate(tdb_.OwnerUrl(), storage::BuiltinMigrations()).ok());
    auto primary = storage::Database::Open({tdb_.AppUrl(), 2});
    ASSERT_TRUE(primary.ok()) << primary.error().ToString();
    primary_ = std::move(*primary);
    auto replica = storage::Database::Open({tdb_.AppUrl(), 2});
    ASSERT_TRUE(replica.ok()) << replica.error().ToString();
    replica_ = std::move(*replica);
  }

  testsupport::TestDatabase tdb_;
  std::unique_ptr<storage::Database> primary_, replica_;
};

TEST_F(ReadReplicaTest, APrimaryAsTheReplicaIsAlwaysFreshAndItsReadsRun) {
  // No wait allowed: a server not in recovery must pass at once.
  storage::ReadReplica gate(*primary_, *replica_, std::chrono::milliseconds(0));
  storage::ReadReplica::Scope scope;
  auto fresh = gate.Enter(scope);
  ASSERT_TRUE(fresh.ok()) << fresh.error().ToString();
  EXPECT_TRUE(*fresh);
  // Transactions on the replica's pool run under the floor's own check, and pass it.
  storage::ReceiptStore receipts(*replica_);
  auto row = receipts.Get("00000000-0000-0000-0000-000000000000", "default");
  ASSERT_TRUE(row.ok()) << row.error().ToString();
  EXPECT_FALSE(row->has_value());
  EXPECT_EQ(gate.fresh(), 1u);
  EXPECT_EQ(gate.behind(), 0u);
}

TEST_F(ReadReplicaTest, AFloorBelongsToOneScopeOnOneThread) {
  storage::ReadReplica gate(*primary_, *replica_, std::chrono::milliseconds(0));
  {
    storage::ReadReplica::Scope first;
    ASSERT_TRUE(gate.Enter(first).ok());
    // A second scope on the same thread would change the floor under the first one's reads.
    storage::ReadReplica::Scope second;
    auto nested = gate.Enter(second);
    ASSERT_FALSE(nested.ok());
    EXPECT_EQ(nested.error().code(), common::ErrorCode::kInternal);
    // Another thread has no floor of its own yet, and may open one.
    std::thread other([&gate] {
      storage::ReadReplica::Scope scope;
      auto r = gate.Enter(scope);
      EXPECT_TRUE(r.ok() && *r);
    });
    other.join();
  }
  // The first scope's end cleared the floor.
  storage::ReadReplica::Scope again;
  auto r = gate.Enter(again);
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_TRUE(*r);
}

}  // namespace
