#include "storage/export_progress_store.h"

#include <algorithm>
#include <pqxx/pqxx>

#include "common/utf8.h"
#include "pg_util.h"
#include "storage/receipt_store.h"
#include "transaction.h"

namespace storage {
namespace {

// At most `max` bytes of valid UTF-8, cut before a character rather than inside it.
std::string Bounded(const std::string& text, size_t max) {
  std::string s = common::SanitizeUtf8(text);
  if (s.size() <= max) return s;
  size_t cut = max;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
  s.resize(cut);
  return s;
}

}  // namespace

bool ExportProgressStore::ValidToken(const std::string& token) {
  return token.size() >= 16 && token.size() <= 64 &&
         std::all_of(token.begin(), token.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

common::Result<ExportProgressStore::Begun> ExportProgressStore::Begin(const std::string& tenant,
                                                                      const std::string& case_id,
                                                                      const std::string& token,
                                                                      int64_t now_us) {
  if (!ValidToken(token)) return common::Error::InvalidInput("not a progress token");
  // A case id is a UUID: anything else names no case (and bytes that are not UTF-8 would be
  // refused by the text column as a server error rather than a 404).
  if (!IsUuid(case_id)) return common::Error::NotFound("no such case");
  return InTransaction<Begun>(db_, [&](pqxx::work& tx) -> common::Result<Begun> {
    // What is no longer kept goes: ended long enough ago, or silent for longer than a poll
    // reports it as failed plus the time an ended one is kept.
    ExecPrepared(tx,
                 "DELETE FROM export_progress WHERE (ended_at_us IS NOT NULL AND ended_at_us < $1)"
                 " OR (ended_at_us IS NULL AND updated_at_us < $2)",
                 now_us - kKeepAfterEndUs, now_us - kSilentUs - kKeepAfterEndUs);
    // When the tenant's share is full, its ended exports make room, oldest first; those being
    // built do not.
    ExecPrepared(tx,
                 "WITH mine AS (SELECT p.token, p.ended_at_us FROM export_progress p"
                 " JOIN tenants t ON t.id = p.tenant_id WHERE t.name = $1)"
                 " DELETE FROM export_progress WHERE token IN (SELECT token FROM mine"
                 " WHERE ended_at_us IS NOT NULL ORDER BY ended_at_us, token"
                 " LIMIT greatest(0, (SELECT count(*) FROM mine) - $2 + 1))",
                 tenant, kMaxPerTenant);
    const pqxx::result added = ExecPrepared(
        tx,
        "INSERT INTO export_progress (token, tenant_id, case_id, node, state, updated_at_us)"
        " SELECT $1, t.id, $3, $4, 'building', $5 FROM tenants t WHERE t.name = $2 AND"
        " (SELECT count(*) FROM export_progress p WHERE p.tenant_id = t.id) < $6"
        " ON CONFLICT (token) DO NOTHING RETURNING 1",
        token, tenant, case_id, node_, now_us, kMaxPerTenant);
    if (!added.empty()) return Begun::kStarted;
    const pqxx::result taken =
        ExecPrepared(tx, "SELECT 1 FROM export_progress WHERE token = $1", token);
    return taken.empty() ? Begun::kFull : Begun::kInUse;
  });
}

common::Status ExportProgressStore::Update(const std::string& token, int64_t done, int64_t total,
                                           int64_t now_us) {
  auto r = InAutocommit<bool>(db_, [&](pqxx::nontransaction& tx) -> common::Result<bool> {
    ExecPrepared(tx,
                 "UPDATE export_progress SET done = $2, total = $3, updated_at_us = $4"
                 " WHERE token = $1 AND state = 'building'",
                 token, std::max<int64_t>(done, 0), std::max<int64_t>(total, 0), now_us);
    return true;
  });
  if (!r.ok()) return r.error();
  return common::Ok();
}

common::Status ExportProgressStore::End(const std::string& token, bool ok, const std::string& error,
                                        int64_t now_us) {
  auto r = InAutocommit<bool>(db_, [&](pqxx::nontransaction& tx) -> common::Result<bool> {
    ExecPrepared(tx,
                 "UPDATE export_progress SET state = $2, error = $3, ended_at_us = $4,"
                 " updated_at_us = $4 WHERE token = $1 AND state = 'building'",
                 token, ok ? "ready" : "failed", ok ? "" : Bounded(error, kMaxErrorBytes), now_us);
    return true;
  });
  if (!r.ok()) return r.error();
  return common::Ok();
}

common::Result<std::optional<ExportProgressStore::Snapshot>> ExportProgressStore::Find(
    const std::string& tenant, const std::string& case_id, const std::string& token,
    int64_t now_us) {
  using Found = std::optional<Snapshot>;
  if (!IsUuid(case_id)) return Found();  // as in Begin
  return InAutocommit<Found>(db_, [&](pqxx::nontransaction& tx) -> common::Result<Found> {
    const pqxx::result r = ExecPrepared(
        tx,
        "SELECT p.state, p.done, p.total, p.error, p.node, p.updated_at_us, p.ended_at_us"
        " FROM export_progress p JOIN tenants t ON t.id = p.tenant_id"
        " WHERE p.token = $1 AND t.name = $2 AND p.case_id = $3",
        token, tenant, case_id);
    if (r.empty()) return Found();
    const auto row = r[0];
    const std::string state = row[0].as<std::string>();
    const int64_t updated_at_us = row[5].as<int64_t>();
    // As if deleted already: the next Begin deletes it.
    if (!row[6].is_null() && row[6].as<int64_t>() < now_us - kKeepAfterEndUs) return Found();
    Snapshot s;
    s.state = state == "ready"    ? State::kReady
              : state == "failed" ? State::kFailed
                                  : State::kBuilding;
    s.done = row[1].as<int64_t>();
    s.total = row[2].is_null() ? -1 : row[2].as<int64_t>();
    s.error = row[3].as<std::string>();
    if (s.state == State::kBuilding && updated_at_us < now_us - kSilentUs) {
      if (updated_at_us < now_us - kSilentUs - kKeepAfterEndUs) return Found();
      s.state = State::kFailed;
      s.error = "no word from node " + row[4].as<std::string>() + " building the export for " +
                std::to_string((now_us - updated_at_us) / 60000000) +
                " minutes: it stopped before finishing; export again";
    }
    return Found(std::move(s));
  });
}

}  // namespace storage
