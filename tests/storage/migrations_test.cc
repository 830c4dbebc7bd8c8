#include "storage/migrations.h"

#include <gtest/gtest.h>

#include <map>
#include <vector>

#include "support/test_support.h"

namespace {

using testsupport::RunCommand;
using testsupport::TestDatabase;

// psql as `url`; returns {exit code, output}.
testsupport::CommandResult Sql(const std::string& url, const std::string& sql) {
  return RunCommand({"psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", url, "-c", sql});
}

TEST(MigrationsTest, ApplyingTwiceIsANoOp) {
  TestDatabase db;
  auto first = storage::Migrate(db.OwnerUrl(), storage::BuiltinMigrations());
  ASSERT_TRUE(first.ok()) << first.error().ToString();
  EXPECT_EQ(*first, static_cast<int>(storage::BuiltinMigrations().size()));
  auto second = storage::Migrate(db.OwnerUrl(), storage::BuiltinMigrations());
  ASSERT_TRUE(second.ok()) << second.error().ToString();
  EXPECT_EQ(*second, 0);
  auto count = Sql(db.OwnerUrl(), "SELECT count(*) FROM schema_migrations");
  EXPECT_EQ(count.out, std::to_string(storage::BuiltinMigrations().size()) + "\n");
  // The default tenant exists exactly once.
  EXPECT_EQ(Sql(db.OwnerUrl(), "SELECT count(*) FROM tenants WHERE name='default'").out, "1\n");
}

TEST(MigrationsTest, EditedAppliedMigrationIsRefusedByName) {
  TestDatabase db;
  ASSERT_TRUE(storage::Migrate(db.OwnerUrl(), storage::BuiltinMigrations()).ok());
  auto edited = storage::BuiltinMigrations();
  edited[0].sql += "\n-- an innocent-looking edit\n";
  auto r = storage::Migrate(db.OwnerUrl(), edited);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find(edited[0].name), std::string::npos) << r.error().message();
  EXPECT_NE(r.error().message().find("checksum"), std::string::npos);
}

// A downgrade after an upgrade: the older build stops, naming the migration it does not know,
// and changes nothing.
TEST(MigrationsTest, ADatabaseMigratedByANewerBuildIsRefusedByName) {
  TestDatabase db;
  auto newer = storage::BuiltinMigrations();
  newer.push_back({9000, "9000_from_the_future", "CREATE TABLE future_table (x int);"});
  ASSERT_TRUE(storage::Migrate(db.OwnerUrl(), newer).ok());
  auto older = storage::BuiltinMigrations();
  older.push_back({8999, "8999_not_applied_here", "CREATE TABLE older_table (x int);"});
  auto r = storage::Migrate(db.OwnerUrl(), older);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), common::ErrorCode::kConflict);
  EXPECT_NE(r.error().message().find("9000_from_the_future"), std::string::npos)
      << r.error().message();
  EXPECT_EQ(Sql(db.OwnerUrl(), "SELECT to_regclass('older_table') IS NULL").out, "t\n");
  // The same build (or a newer one) still starts.
  EXPECT_TRUE(storage::Migrate(db.OwnerUrl(), newer).ok());
}

TEST(MigrationsTest, FailingMigrationLeavesNothingBehind) {
  TestDatabase db;
  auto ms = storage::BuiltinMigrations();
  ms.push_back({9999, "9999_broken", "CREATE TABLE half_done (x int); SELECT no_such_function();"});
  auto r = storage::Migrate(db.OwnerUrl(), ms);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(Sql(db.OwnerUrl(), "SELECT to_regclass('half_done') IS NULL").out, "t\n");
  EXPECT_EQ(Sql(db.OwnerUrl(), "SELECT count(*) FROM schema_migrations WHERE version=9999").out,
            "0\n");
}

class AppendOnlyTest : public ::testing::TestWithParam<std::string> {};

TEST_P(AppendOnlyTest, SuperuserCannotUpdateDeleteOrTruncateEvenWhenEmpty) {
  TestDatabase db;
  ASSERT_TRUE(storage::Migrate(db.OwnerUrl(), storage::BuiltinMigrations()).ok());
  const std::string table = GetParam();
  const std::map<std::string, std::string> column = {{"blocks", "height"},
                                                     {"leaves", "leaf_index"},
                                                     {"timestamp_tokens", "tsa"},
                                                     {"access_log", "route"},
                                                     {"receipts", "node"},
                                                     {"message_blobs", "size"},
                                                     {"message_parts", "size"},
                                                     {"tiles", "width"},
                                                     {"actions", "actor"},
                                                     {"hold_receipts", "hold_id"},
                                                     {"sealed_blobs", "size"},
                                                     {"erasures", "reason"},
                                                     {"cases", "name"},
                                                     {"case_changes", "reason"},
                                                     {"case_change_receipts", "receipt_id"},
                                                     {"case_exports", "actor"},
                                                     {"case_export_receipts", "bates"},
                                                     {"retired_keks", "tenant_id"}};
  const std::string col = column.at(table);
  // CASCADE, so a foreign key cannot be what refuses: the trigger must. The stored bytes go by
  // an erasure (migration 0013), so their DELETE is refused row by row instead, and an empty
  // table deletes nothing either way (ErasureTest checks it with rows).
  std::vector<std::string> stmts = {"TRUNCATE " + table + " CASCADE",
                                    "UPDATE " + table + " SET " + col + " = " + col};
  if (table != "message_blobs" && table != "sealed_blobs") stmts.push_back("DELETE FROM " + table);
  for (const std::string& stmt : stmts) {
    auto r = Sql(db.SuperUrl(), stmt);
    EXPECT_NE(r.exit_code, 0) << stmt << " was allowed";
    EXPECT_NE(r.out.find("append-only"), std::string::npos) << stmt << ": " << r.out;
  }
}

INSTANTIATE_TEST_SUITE_P(EvidenceTables, AppendOnlyTest,
                         ::testing::Values("blocks", "leaves", "timestamp_tokens", "access_log",
                                           "receipts", "message_blobs", "message_parts", "tiles",
                                           "actions", "hold_receipts", "sealed_blobs", "erasures",
                                           "cases", "case_changes", "case_change_receipts",
                                           "case_exports", "case_export_receipts", "retired_keks"));

// Migration 0011: a hold changes once, by its release (and nothing else with it); never
// deleted, by any role.
TEST(AppendOnlyTest, AHoldChangesOnlyByOneRelease) {
  TestDatabase db;
  ASSERT_TRUE(storage::Migrate(db.OwnerUrl(), storage::BuiltinMigrations()).ok());
  // Two action rows whose records satisfy the CHECKs (digest of the details 64 bytes from
  // the end, leaf hash of the record), then a hold placed by the first.
  const std::string action =
      "INSERT INTO actions (tenant_id, action, subject, acted_at_us, actor, details, record,"
      " leaf_hash) SELECT 1, 'hold', 's', 0, 'k', '\\x7b7d', r, sha256('\\x00'::bytea || r)"
      " FROM (SELECT ('\\x' || repeat('00', 40))::bytea || sha256('\\x7b7d'::bytea) ||"
      " ('\\x' || repeat('00', 32))::bytea AS r) v;";
  auto ins = Sql(db.SuperUrl(), action + action +
                                    "INSERT INTO holds (id, tenant_id, name, reason,"
                                    " created_at_us, created_by, action_id) VALUES"
                                    " ('0190d5a0-0000-7000-8000-000000000001', 1, 'n', 'r', 0,"
                                    " 'k', 1)");
  ASSERT_EQ(ins.exit_code, 0) << ins.out;
  auto app_rename = Sql(db.AppUrl(), "UPDATE holds SET name = 'x'");
  EXPECT_NE(app_rename.exit_code, 0);
  EXPECT_NE(app_rename.out.find("permission denied"), std::string::npos) << app_rename.out;
  auto rename = Sql(db.SuperUrl(), "UPDATE holds SET name = 'x'");
  EXPECT_NE(rename.exit_code, 0);
  EXPECT_NE(rename.out.find("only by a release"), std::string::npos) << rename.out;
  const std::string release =
      "UPDATE holds SET released_at_us = 1, released_by = 'k', release_reason = 'done',"
      " release_action_id = 2";
  auto half = Sql(db.AppUrl(), "UPDATE holds SET released_at_us = 1");
  EXPECT_NE(half.exit_code, 0) << "a release without its record";
  auto first = Sql(db.AppUrl(), release);
  EXPECT_EQ(first.exit_code, 0) << first.out;
  auto second = Sql(db.SuperUrl(), "UPDATE holds SET release_reason = 'again'");
  EXPECT_NE(second.exit_code, 0);
  for (const char* stmt : {"DELETE FROM holds", "TRUNCATE holds CASCADE"}) {
    auto r = Sql(db.SuperUrl(), stmt);
    EXPECT_NE(r.exit_code, 0) << stmt << " was allowed";
  }
  EXPECT_EQ(Sql(db.SuperUrl(), "SELECT release_reason FROM holds").out, "done\n");
}

TEST(AppendOnlyTest, DeleteFromBlocksAsSuperuserFailsWithRows) {
  TestDatabase db;
  ASSERT_TRUE(storage::Migrate(db.OwnerUrl(), storage::BuiltinMigrations()).ok());
  // Insert a block row as a superuser (bypassing the app), then try to remove it.
  auto ins = Sql(db.SuperUrl(),
                 "INSERT INTO signing_keys (key_id, public_key, public_pem, fingerprint) VALUES "
                 "('k', '\\x00', 'pem', 'fp');"
                 "INSERT INTO blocks (height, prev_hash, batch_root, first_leaf, leaf_count,"
                 " tree_size, tree_root, sealed_at, sealed_at_us, key_id, header, signature,"
                 " block_hash, checkpoint) VALUES (0, '\\x00', '\\x00', 0, 1, 1, '\\x00', now(), 0,"
                 " 'k', '\\x00', '\\x00', '\\x01', 'cp')");
  ASSERT_EQ(ins.exit_code, 0) << ins.out;
  auto del = Sql(db.SuperUrl(), "DELETE FROM blocks");
  EXPECT_NE(del.exit_code, 0);
  EXPECT_EQ(Sql(db.SuperUrl(), "SELECT count(*) FROM blocks").out, "1\n");
  auto upd = Sql(db.SuperUrl(), "UPDATE blocks SET tree_size = 2");
  EXPECT_NE(upd.exit_code, 0);
}

TEST(AppendOnlyTest, AppRoleHoldsNoDeletePrivilege) {
  TestDatabase db;
  ASSERT_TRUE(storage::Migrate(db.OwnerUrl(), storage::BuiltinMigrations()).ok());
  auto r = Sql(db.AppUrl(), "DELETE FROM access_log");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.out.find("permission denied"), std::string::npos) << r.out;
  auto ok = Sql(db.AppUrl(), "SELECT count(*) FROM receipts");
  EXPECT_EQ(ok.exit_code, 0) << ok.out;
}

// Issue 17, finding 9: the application role could UPDATE api_keys and signing_keys (un-revoke
// a key, widen its scopes, move a signing key's validity). It has two functions instead.
TEST(AppendOnlyTest, AppRoleChangesKeysOnlyThroughTheirFunctions) {
  TestDatabase db;
  ASSERT_TRUE(storage::Migrate(db.OwnerUrl(), storage::BuiltinMigrations()).ok());
  ASSERT_EQ(Sql(db.SuperUrl(),
                "INSERT INTO tenants (name) VALUES ('t') ON CONFLICT DO NOTHING;"
                "INSERT INTO api_keys (key_id, tenant_id, scopes, salt, hash) SELECT 'k1', id,"
                " '{read}', '\\x00', '\\x00' FROM tenants WHERE name = 't';"
                "INSERT INTO signing_keys (key_id, public_key, public_pem, fingerprint) VALUES"
                " ('s1', '\\x00', 'p', 'f'), ('s2', '\\x01', 'p', 'f')")
                .exit_code,
            0);
  for (const char* sql :
       {"UPDATE api_keys SET scopes = '{admin}'", "UPDATE api_keys SET revoked_at = NULL",
        "UPDATE signing_keys SET valid_until = NULL",
        "UPDATE signing_keys SET valid_from = now() - interval '1 year'"}) {
    auto r = Sql(db.AppUrl(), sql);
    EXPECT_NE(r.exit_code, 0) << sql;
    EXPECT_NE(r.out.find("permission denied"), std::string::npos) << sql << ": " << r.out;
  }
  auto revoked = Sql(db.AppUrl(), "SELECT notary_revoke_api_key('k1')");
  EXPECT_EQ(revoked.out, "t\n") << revoked.out;
  EXPECT_EQ(Sql(db.AppUrl(), "SELECT notary_revoke_api_key('nope') IS NULL").out, "t\n");
  EXPECT_EQ(Sql(db.AppUrl(), "SELECT revoked_at IS NOT NULL FROM api_keys").out, "t\n");
  // Rotation to a key that does not exist closes nothing; to s2, closes s1.
  EXPECT_EQ(Sql(db.AppUrl(), "SELECT notary_retire_signing_keys_except('nope')").out, "0\n");
  EXPECT_EQ(Sql(db.AppUrl(), "SELECT notary_retire_signing_keys_except('s2')").out, "1\n");
  EXPECT_EQ(Sql(db.AppUrl(), "SELECT key_id FROM signing_keys WHERE valid_until IS NULL").out,
            "s2\n");
}

}  // namespace
