#include "storage/hold_store.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "hold_coverage.h"
#include "list_cursor.h"
#include "pg_util.h"
#include "receipt_rows.h"
#include "search_filter.h"
#include "transaction.h"

namespace storage {
namespace {

// The text filters of a SearchQuery, by their names in GET /v1/messages.
struct TextFilter {
  const char* name;
  std::optional<std::string> SearchQuery::*field;
};
constexpr TextFilter kTextFilters[] = {
    {"message_id", &SearchQuery::message_id},
    {"from", &SearchQuery::from},
    {"to", &SearchQuery::to},
    {"subject", &SearchQuery::subject},
    {"sha256", &SearchQuery::sha256},
    {"attachment_sha256", &SearchQuery::attachment_sha256},
    {"attachment_name", &SearchQuery::attachment_name},
    {"dkim_domain", &SearchQuery::dkim_domain},
    {"dkim_result", &SearchQuery::dkim_result},
    {"case", &SearchQuery::case_id},
};

constexpr const char* kHoldColumns =
    "h.id::text, t.name, h.name, h.reason, h.query::text, h.include_future, h.created_at_us,"
    " h.created_by, h.action_id, pa.leaf_hash, pl.leaf_index, pl.block_height,"
    " h.released_at_us, h.released_by, h.release_reason, h.release_action_id, ra.leaf_hash,"
    " rl.leaf_index, rl.block_height, h.case_id::text";
constexpr const char* kHoldFrom =
    " FROM holds h JOIN tenants t ON t.id = h.tenant_id"
    " JOIN actions pa ON pa.id = h.action_id LEFT JOIN leaves pl ON pl.action_of = pa.id"
    " LEFT JOIN actions ra ON ra.id = h.release_action_id"
    " LEFT JOIN leaves rl ON rl.action_of = ra.id ";

std::optional<int64_t> OptInt(const pqxx::field& f) {
  if (f.is_null()) return std::nullopt;
  return f.as<int64_t>();
}

Hold ReadHold(const pqxx::row& r) {
  Hold h;
  h.id = r[0].as<std::string>();
  h.tenant = r[1].as<std::string>();
  h.name = r[2].as<std::string>();
  h.reason = r[3].as<std::string>();
  if (!r[4].is_null()) h.query = r[4].as<std::string>();
  h.include_future = r[5].as<bool>();
  h.created_at_us = r[6].as<int64_t>();
  h.created_by = r[7].as<std::string>();
  h.placed.id = r[8].as<int64_t>();
  h.placed.leaf_hash = HashField(r[9]);
  h.placed.leaf_index = OptInt(r[10]);
  h.placed.block_height = OptInt(r[11]);
  h.released_at_us = OptInt(r[12]);
  if (h.released_at_us) {
    h.released_by = r[13].as<std::string>();
    h.release_reason = r[14].as<std::string>();
    ActionRef a;
    a.id = r[15].as<int64_t>();
    a.leaf_hash = HashField(r[16]);
    a.leaf_index = OptInt(r[17]);
    a.block_height = OptInt(r[18]);
    h.released = a;
  }
  if (!r[19].is_null()) h.case_id = r[19].as<std::string>();
  return h;
}

std::optional<Hold> GetTx(pqxx::work& tx, const std::string& tenant, const std::string& id) {
  pqxx::result r = tx.exec_params(
      std::string("SELECT ") + kHoldColumns + kHoldFrom + "WHERE t.name = $1 AND h.id = $2::uuid",
      tenant, id);
  if (r.empty()) return std::nullopt;
  return ReadHold(r[0]);
}

// The hold's search, confined to what it covers: before the hold unless it covers the future.
common::Result<SearchQuery> CoverageQuery(const Hold& h) {
  ASSIGN_OR_RETURN(SearchQuery q, SearchQueryFromJson(*h.query, h.tenant));
  if (!h.include_future && (!q.until_us || *q.until_us > h.created_at_us)) {
    q.until_us = h.created_at_us;
  }
  return q;
}

}  // namespace

int64_t InsertAction(pqxx::work& tx, const std::string& tenant, const NewAction& a) {
  pqxx::result r = tx.exec_params(
      "WITH x AS (INSERT INTO actions (tenant_id, action, subject, acted_at_us, actor, details,"
      " record, leaf_hash) SELECT t.id, $2, $3, $4, $5, $6, $7, $8 FROM tenants t"
      " WHERE t.name = $1 RETURNING id, leaf_hash)"
      " INSERT INTO pending (seq, action_of, leaf_hash)"
      " SELECT nextval(pg_get_serial_sequence('receipts', 'seq')), id, leaf_hash FROM x"
      " RETURNING action_of",
      tenant, a.action, a.subject, a.acted_at_us, a.actor, Bytea(a.details), Bytea(a.record),
      Bytea(a.leaf_hash));
  if (r.empty()) throw std::runtime_error("no such tenant");
  return r[0][0].as<int64_t>();
}

void LockHolds(pqxx::work& tx, const std::string& tenant) {
  tx.exec_params("SELECT pg_advisory_xact_lock($1, t.id::integer) FROM tenants t WHERE t.name = $2",
                 kHoldsLockClass, tenant);
}

common::Result<std::vector<HoldRef>> CoveringTx(Database& db, pqxx::work& tx,
                                                const std::string& tenant,
                                                const std::string& receipt_id) {
  std::vector<HoldRef> out;
  if (!IsUuid(receipt_id)) return out;
  // Holds by list that name the receipt, and every hold by search (evaluated below).
  std::vector<Hold> active;
  for (const auto& r :
       tx.exec_params(std::string("SELECT ") + kHoldColumns + kHoldFrom +
                          "WHERE t.name = $1 AND h.released_at_us IS NULL AND (h.query IS NOT NULL"
                          " OR EXISTS (SELECT 1 FROM hold_receipts hr WHERE hr.hold_id = h.id"
                          " AND hr.receipt_id = $2::uuid)) ORDER BY h.created_at_us, h.id",
                      tenant, receipt_id)) {
    active.push_back(ReadHold(r));
  }
  for (const Hold& h : active) {
    if (h.query) {
      ASSIGN_OR_RETURN(SearchQuery q, CoverageQuery(h));
      q.id = receipt_id;
      std::vector<std::optional<std::string>> params;
      ASSIGN_OR_RETURN(std::string filter, SearchFilter(db, q, params));
      const std::string sql = std::string("SELECT 1") + kReceiptFrom + "WHERE " + filter;
      if (tx.exec_params(sql, pqxx::prepare::make_dynamic_params(params)).empty()) continue;
    }
    out.push_back({h.id, h.name});
  }
  return out;
}

std::string SearchQueryToJson(const SearchQuery& q) {
  nlohmann::json j = nlohmann::json::object();
  for (const TextFilter& f : kTextFilters) {
    if (q.*f.field) j[f.name] = *(q.*f.field);
  }
  if (q.since_us) j["since_us"] = *q.since_us;
  if (q.until_us) j["until_us"] = *q.until_us;
  return j.dump();
}

common::Result<SearchQuery> SearchQueryFromJson(const std::string& json,
                                                const std::string& tenant) {
  auto j = nlohmann::json::parse(json, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return common::Error::Internal("a stored hold's query is not a JSON object");
  }
  SearchQuery q;
  q.tenant = tenant;
  for (const auto& [key, value] : j.items()) {
    bool known = false;
    for (const TextFilter& f : kTextFilters) {
      if (key == f.name && value.is_string()) {
        q.*f.field = value.get<std::string>();
        known = true;
      }
    }
    if ((key == "since_us" || key == "until_us") && value.is_number_integer()) {
      (key == "since_us" ? q.since_us : q.until_us) = value.get<int64_t>();
      known = true;
    }
    if (!known) return common::Error::Internal("a stored hold's query has '" + key + "'");
  }
  return q;
}

common::Result<Hold> HoldStore::Create(const NewHold& n) {
  for (const std::string& id : n.receipt_ids) {
    if (!IsUuid(id)) return common::Error::InvalidInput("receipt id " + id + " is not a UUID");
  }
  return InTransaction<Hold>(db_, [&](pqxx::work& tx) -> common::Result<Hold> {
    // After an erasure in flight, so that it cannot take a message this hold covers.
    LockHolds(tx, n.tenant);
    if (!n.receipt_ids.empty()) {
      const int64_t found =
          tx.exec_params(
                "SELECT count(*) FROM receipts r JOIN tenants t ON t.id = r.tenant_id"
                " WHERE t.name = $1 AND r.id = ANY($2::uuid[])",
                n.tenant, TextArray(n.receipt_ids))[0][0]
              .as<int64_t>();
      if (found != static_cast<int64_t>(n.receipt_ids.size())) {
        return common::Error::NotFound("a listed receipt is not one of this tenant's messages");
      }
    }
    if (n.case_id) {
      if (!LockCase(tx, n.tenant, *n.case_id)) return common::Error::NotFound("no such case");
      // The case's members as the record names them: a case changed since they were read is
      // a conflict to retry (its changes take the case's lock too).
      pqxx::result members = tx.exec_params(
          "SELECT m.receipt_id::text FROM cases k JOIN tenants t ON t.id = k.tenant_id,"
          " notary_case_members(k.id) m WHERE t.name = $1 AND k.id = $2::uuid",
          n.tenant, *n.case_id);
      std::vector<std::string> now;
      for (const auto& r : members) now.push_back(r[0].as<std::string>());
      std::sort(now.begin(), now.end());  // as the pipeline sorts them, whatever the collation
      if (now != n.receipt_ids) {
        return common::Error::Conflict("the case changed while the hold was placed: retry");
      }
    }
    const int64_t action_id = InsertAction(tx, n.tenant, n.action);
    tx.exec_params(
        "INSERT INTO holds (id, tenant_id, name, reason, query, include_future, created_at_us,"
        " created_by, action_id, case_id) SELECT $1::uuid, t.id, $3, $4, $5::jsonb, $6, $7, $8,"
        " $9, $10::uuid FROM tenants t WHERE t.name = $2",
        n.id, n.tenant, n.name, n.reason, n.query, n.include_future, n.created_at_us, n.created_by,
        action_id, n.case_id);
    if (!n.receipt_ids.empty()) {
      tx.exec_params(
          "INSERT INTO hold_receipts (hold_id, receipt_id)"
          " SELECT $1::uuid, u FROM unnest($2::uuid[]) AS u",
          n.id, TextArray(n.receipt_ids));
    }
    auto h = GetTx(tx, n.tenant, n.id);
    if (!h) return common::Error::Internal("the hold just stored is missing");
    return std::move(*h);
  });
}

common::Result<std::vector<std::string>> HoldStore::CaseMembers(const std::string& tenant,
                                                                const std::string& case_id) {
  if (!IsUuid(case_id)) return common::Error::NotFound("no such case");
  return InTransaction<std::vector<std::string>>(
      db_, [&](pqxx::work& tx) -> common::Result<std::vector<std::string>> {
        pqxx::result k = tx.exec_params(
            "SELECT 1 FROM cases k JOIN tenants t ON t.id = k.tenant_id"
            " WHERE t.name = $1 AND k.id = $2::uuid",
            tenant, case_id);
        if (k.empty()) return common::Error::NotFound("no such case");
        std::vector<std::string> out;
        for (const auto& r : tx.exec_params(
                 "SELECT receipt_id::text FROM notary_case_members($1::uuid)", case_id)) {
          out.push_back(r[0].as<std::string>());
        }
        std::sort(out.begin(), out.end());
        return out;
      });
}

common::Result<HoldPage> HoldStore::List(const std::string& tenant, int limit,
                                         const std::string& after) {
  // Newest first, ties by id (list_cursor.h).
  return ReadPage<Hold>(db_,
                        std::string("SELECT ") + kHoldColumns + kHoldFrom +
                            "WHERE t.name = $1 AND ($2 = '' OR (h.created_at_us, h.id) <"
                            " ($3, NULLIF($2, '')::uuid))"
                            " ORDER BY h.created_at_us DESC, h.id DESC LIMIT $4",
                        tenant, limit, kMaxListLimit, after, ReadHold);
}

common::Result<std::optional<Hold>> HoldStore::Get(const std::string& tenant,
                                                   const std::string& id) {
  if (!IsUuid(id)) return std::optional<Hold>();
  return InTransaction<std::optional<Hold>>(
      db_,
      [&](pqxx::work& tx) -> common::Result<std::optional<Hold>> { return GetTx(tx, tenant, id); });
}

common::Result<Hold> HoldStore::Release(const std::string& tenant, const std::string& id,
                                        const std::string& reason, const NewAction& action) {
  if (!IsUuid(id)) return common::Error::NotFound("no such hold");
  return InTransaction<Hold>(db_, [&](pqxx::work& tx) -> common::Result<Hold> {
    // Locks the row, so that two releases cannot both pass the check.
    pqxx::result cur = tx.exec_params(
        "SELECT h.released_at_us FROM holds h JOIN tenants t ON t.id = h.tenant_id"
        " WHERE t.name = $1 AND h.id = $2::uuid FOR UPDATE OF h",
        tenant, id);
    if (cur.empty()) return common::Error::NotFound("no such hold");
    if (!cur[0][0].is_null()) return common::Error::Conflict("the hold was released already");
    const int64_t action_id = InsertAction(tx, tenant, action);
    tx.exec_params(
        "UPDATE holds SET released_at_us = $2, released_by = $3, release_reason = $4,"
        " release_action_id = $5 WHERE id = $1::uuid",
        id, action.acted_at_us, action.actor, reason, action_id);
    auto h = GetTx(tx, tenant, id);
    if (!h) return common::Error::Internal("the hold just released is missing");
    return std::move(*h);
  });
}

common::Result<int64_t> HoldStore::CountCovered(const Hold& h) {
  if (!h.query) {
    return InTransaction<int64_t>(db_, [&](pqxx::work& tx) -> common::Result<int64_t> {
      return tx
          .exec_params("SELECT count(*) FROM hold_receipts WHERE hold_id = $1::uuid", h.id)[0][0]
          .as<int64_t>();
    });
  }
  ASSIGN_OR_RETURN(SearchQuery q, CoverageQuery(h));
  std::vector<std::optional<std::string>> params;
  ASSIGN_OR_RETURN(std::string filter, SearchFilter(db_, q, params));
  const std::string sql = std::string("SELECT count(*)") + kReceiptFrom + "WHERE " + filter;
  return InTransaction<int64_t>(db_, [&](pqxx::work& tx) -> common::Result<int64_t> {
    return tx.exec_params(sql, pqxx::prepare::make_dynamic_params(params))[0][0].as<int64_t>();
  });
}

common::Result<std::vector<HoldRef>> HoldStore::Covering(const std::string& tenant,
                                                         const std::string& receipt_id) {
  return InTransaction<std::vector<HoldRef>>(
      db_, [&](pqxx::work& tx) -> common::Result<std::vector<HoldRef>> {
        return CoveringTx(db_, tx, tenant, receipt_id);
      });
}

}  // namespace storage
