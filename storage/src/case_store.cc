#include "storage/case_store.h"

#include <pqxx/pqxx>

#include "hold_coverage.h"
#include "list_cursor.h"
#include "pg_util.h"
#include "receipt_rows.h"
#include "search_filter.h"
#include "transaction.h"

namespace storage {
namespace {

constexpr const char* kCaseColumns =
    "k.id::text, t.name, k.name, k.description, k.reference, k.created_at_us, k.created_by,"
    " k.action_id, a.leaf_hash, l.leaf_index, l.block_height,"
    " (SELECT count(*) FROM notary_case_members(k.id))";
constexpr const char* kCaseFrom =
    " FROM cases k JOIN tenants t ON t.id = k.tenant_id JOIN actions a ON a.id = k.action_id"
    " LEFT JOIN leaves l ON l.action_of = a.id ";

constexpr const char* kChangeColumns =
    "c.id, c.change, c.query::text, c.reason, c.acted_at_us, c.actor, c.action_id, a.leaf_hash,"
    " l.leaf_index, l.block_height,"
    " (SELECT count(*) FROM case_change_receipts cr WHERE cr.change_id = c.id)";
constexpr const char* kChangeFrom =
    " FROM case_changes c JOIN actions a ON a.id = c.action_id"
    " LEFT JOIN leaves l ON l.action_of = a.id ";

std::optional<int64_t> OptInt(const pqxx::field& f) {
  if (f.is_null()) return std::nullopt;
  return f.as<int64_t>();
}

ActionRef ReadRef(const pqxx::row& r, int i) {
  ActionRef a;
  a.id = r[i].as<int64_t>();
  a.leaf_hash = HashField(r[i + 1]);
  a.leaf_index = OptInt(r[i + 2]);
  a.block_height = OptInt(r[i + 3]);
  return a;
}

Case ReadCase(const pqxx::row& r) {
  Case c;
  c.id = r[0].as<std::string>();
  c.tenant = r[1].as<std::string>();
  c.name = r[2].as<std::string>();
  c.description = r[3].as<std::string>();
  c.reference = r[4].as<std::string>();
  c.created_at_us = r[5].as<int64_t>();
  c.created_by = r[6].as<std::string>();
  c.opened = ReadRef(r, 7);
  c.messages = r[11].as<int64_t>();
  return c;
}

CaseChange ReadChange(const pqxx::row& r) {
  CaseChange c;
  c.id = r[0].as<int64_t>();
  c.change = r[1].as<std::string>();
  if (!r[2].is_null()) c.query = r[2].as<std::string>();
  c.reason = r[3].as<std::string>();
  c.acted_at_us = r[4].as<int64_t>();
  c.actor = r[5].as<std::string>();
  c.record = ReadRef(r, 6);
  c.receipts = r[10].as<int64_t>();
  return c;
}

std::optional<Case> GetTx(pqxx::work& tx, const std::string& tenant, const std::string& id) {
  pqxx::result r = tx.exec_params(
      std::string("SELECT ") + kCaseColumns + kCaseFrom + "WHERE t.name = $1 AND k.id = $2::uuid",
      tenant, id);
  if (r.empty()) return std::nullopt;
  return ReadCase(r[0]);
}

}  // namespace

// Whether the case is the tenant's, taking a lock on it for the transaction, so that two
// changes to one case cannot interleave their membership checks with each other's inserts
// (a row lock would need an UPDATE grant on an append-only table).
bool LockCase(pqxx::work& tx, const std::string& tenant, const std::string& id) {
  return !tx.exec_params(
                "SELECT pg_advisory_xact_lock(hashtextextended(k.id::text, 0))"
                " FROM cases k JOIN tenants t ON t.id = k.tenant_id"
                " WHERE t.name = $1 AND k.id = $2::uuid",
                tenant, id)
              .empty();
}

common::Result<Case> CaseStore::Create(const NewCase& n) {
  if (!IsUuid(n.id)) return common::Error::InvalidInput("a case id is a UUID");
  return InTransaction<Case>(db_, [&](pqxx::work& tx) -> common::Result<Case> {
    const int64_t action_id = InsertAction(tx, n.tenant, n.action);
    tx.exec_params(
        "INSERT INTO cases (id, tenant_id, name, description, reference, created_at_us,"
        " created_by, action_id) SELECT $1::uuid, t.id, $3, $4, $5, $6, $7, $8"
        " FROM tenants t WHERE t.name = $2",
        n.id, n.tenant, n.name, n.description, n.reference, n.created_at_us, n.created_by,
        action_id);
    auto c = GetTx(tx, n.tenant, n.id);
    if (!c) return common::Error::Internal("the case just stored is missing");
    return std::move(*c);
  });
}

common::Result<CasePage> CaseStore::List(const std::string& tenant, int limit,
                                         const std::string& after) {
  // Newest first, ties by id (list_cursor.h).
  return ReadPage<Case>(db_,
                        std::string("SELECT ") + kCaseColumns + kCaseFrom +
                            "WHERE t.name = $1 AND ($2 = '' OR (k.created_at_us, k.id) <"
                            " ($3, NULLIF($2, '')::uuid))"
                            " ORDER BY k.created_at_us DESC, k.id DESC LIMIT $4",
                        tenant, limit, kMaxListLimit, after, ReadCase);
}

common::Result<std::optional<Case>> CaseStore::Get(const std::string& tenant,
                                                   const std::string& id) {
  if (!IsUuid(id)) return std::optional<Case>();
  return InTransaction<std::optional<Case>>(
      db_,
      [&](pqxx::work& tx) -> common::Result<std::optional<Case>> { return GetTx(tx, tenant, id); });
}

common::Result<std::vector<std::string>> CaseStore::Matching(const SearchQuery& q, size_t max) {
  std::vector<std::optional<std::string>> params;
  ASSIGN_OR_RETURN(std::string filter, SearchFilter(db_, q, params));
  const std::string sql = std::string("SELECT r.id::text") + kReceiptFrom + "WHERE " + filter +
                          " ORDER BY r.id LIMIT " + std::to_string(max + 1);
  ASSIGN_OR_RETURN(
      auto ids,
      InTransaction<std::vector<std::string>>(
          db_, [&](pqxx::work& tx) -> common::Result<std::vector<std::string>> {
            std::vector<std::string> out;
            for (const auto& r : tx.exec_params(sql, pqxx::prepare::make_dynamic_params(params))) {
              out.push_back(r[0].as<std::string>());
            }
            return out;
          }));
  if (ids.size() > max) {
    return common::Error::InvalidInput("the search matches more than " + std::to_string(max) +
                                       " messages: narrow it, or add in several steps");
  }
  return ids;
}

common::Result<CaseChange> CaseStore::Change(const NewCaseChange& n) {
  if (n.change != "add" && n.change != "remove") {
    return common::Error::InvalidInput("a case changes by add or remove");
  }
  if (!IsUuid(n.case_id)) return common::Error::NotFound("no such case");
  for (const std::string& id : n.receipt_ids) {
    if (!IsUuid(id)) return common::Error::InvalidInput("receipt id " + id + " is not a UUID");
  }
  return InTransaction<CaseChange>(db_, [&](pqxx::work& tx) -> common::Result<CaseChange> {
    // An addition extends the case's holds: it takes the holds lock first (hold_coverage.h).
    if (n.change == "add") LockHolds(tx, n.tenant);
    if (!LockCase(tx, n.tenant, n.case_id)) return common::Error::NotFound("no such case");
    const std::string ids = TextArray(n.receipt_ids);
    if (n.change == "add") {
      const int64_t found =
          tx.exec_params(
                "SELECT count(*) FROM receipts r JOIN tenants t ON t.id = r.tenant_id"
                " WHERE t.name = $1 AND r.id = ANY($2::uuid[])",
                n.tenant, ids)[0][0]
              .as<int64_t>();
      if (found != static_cast<int64_t>(n.receipt_ids.size())) {
        return common::Error::NotFound("a listed receipt is not one of this tenant's messages");
      }
    } else {
      pqxx::result outside = tx.exec_params(
          "SELECT u::text FROM unnest($2::uuid[]) AS u"
          " WHERE u NOT IN (SELECT receipt_id FROM notary_case_members($1::uuid)) LIMIT 1",
          n.case_id, ids);
      if (!outside.empty()) {
        return common::Error::InvalidInput("receipt " + outside[0][0].as<std::string>() +
                                           " is not in the case");
      }
    }
    const int64_t action_id = InsertAction(tx, n.tenant, n.action);
    const int64_t change_id =
        tx.exec_params(
              "INSERT INTO case_changes (case_id, change, query, reason, acted_at_us, actor,"
              " action_id) VALUES ($1::uuid, $2, $3::jsonb, $4, $5, $6, $7) RETURNING id",
              n.case_id, n.change, n.query, n.reason, n.action.acted_at_us, n.action.actor,
              action_id)[0][0]
            .as<int64_t>();
    tx.exec_params(
        "INSERT INTO case_change_receipts (change_id, receipt_id)"
        " SELECT $1, u FROM unnest($2::uuid[]) AS u",
        change_id, ids);
    if (n.change == "add") {
      // Every hold in force on the case covers what is added (migration 0018), from this same
      // commit on: an erasure takes the holds lock taken above and sees both or neither.
      tx.exec_params(
          "INSERT INTO hold_receipts (hold_id, receipt_id)"
          " SELECT h.id, u FROM holds h, unnest($2::uuid[]) AS u"
          " WHERE h.case_id = $1::uuid AND h.released_at_us IS NULL"
          " ON CONFLICT DO NOTHING",
          n.case_id, ids);
    }
    pqxx::result r = tx.exec_params(
        std::string("SELECT ") + kChangeColumns + kChangeFrom + "WHERE c.id = $1", change_id);
    return ReadChange(r[0]);
  });
}

common::Result<std::vector<CaseChange>> CaseStore::Changes(const std::string& tenant,
                                                           const std::string& case_id) {
  if (!IsUuid(case_id)) return common::Error::NotFound("no such case");
  return InTransaction<std::vector<CaseChange>>(
      db_, [&](pqxx::work& tx) -> common::Result<std::vector<CaseChange>> {
        if (!GetTx(tx, tenant, case_id)) return common::Error::NotFound("no such case");
        std::vector<CaseChange> out;
        for (const auto& r : tx.exec_params(std::string("SELECT ") + kChangeColumns + kChangeFrom +
                                                "WHERE c.case_id = $1::uuid"
                                                " ORDER BY c.id",
                                            case_id)) {
          out.push_back(ReadChange(r));
        }
        return out;
      });
}

common::Result<std::vector<std::string>> CaseStore::Members(const std::string& tenant,
                                                            const std::string& case_id) {
  if (!IsUuid(case_id)) return common::Error::NotFound("no such case");
  return InTransaction<std::vector<std::string>>(
      db_, [&](pqxx::work& tx) -> common::Result<std::vector<std::string>> {
        if (!GetTx(tx, tenant, case_id)) return common::Error::NotFound("no such case");
        std::vector<std::string> out;
        for (const auto& r : tx.exec_params("SELECT r.id::text FROM notary_case_members($1::uuid) m"
                                            " JOIN receipts r ON r.id = m.receipt_id"
                                            " ORDER BY r.received_at_us, r.id",
                                            case_id)) {
          out.push_back(r[0].as<std::string>());
        }
        return out;
      });
}

common::Result<bool> CaseStore::HasMember(const std::string& tenant, const std::string& case_id,
                                          const std::string& receipt_id) {
  if (!IsUuid(case_id)) return common::Error::NotFound("no such case");
  if (!IsUuid(receipt_id)) return false;
  return InTransaction<bool>(db_, [&](pqxx::work& tx) -> common::Result<bool> {
    if (!GetTx(tx, tenant, case_id)) return common::Error::NotFound("no such case");
    return tx
        .exec_params(
            "SELECT EXISTS (SELECT 1 FROM notary_case_members($1::uuid) m"
            " WHERE m.receipt_id = $2::uuid)",
            case_id, receipt_id)[0][0]
        .as<bool>();
  });
}

common::Result<int64_t> CaseStore::UnsealedMembers(const std::string& tenant,
                                                   const std::string& case_id) {
  if (!IsUuid(case_id)) return common::Error::NotFound("no such case");
  return InTransaction<int64_t>(db_, [&](pqxx::work& tx) -> common::Result<int64_t> {
    if (!GetTx(tx, tenant, case_id)) return common::Error::NotFound("no such case");
    return tx
        .exec_params(
            "SELECT count(*) FROM notary_case_members($1::uuid) m"
            " WHERE NOT EXISTS (SELECT 1 FROM leaves l WHERE l.receipt_id = m.receipt_id)",
            case_id)[0][0]
        .as<int64_t>();
  });
}

common::Result<CaseExport> CaseStore::RecordExport(const NewCaseExport& e) {
  if (!IsUuid(e.case_id)) return common::Error::NotFound("no such case");
  std::vector<std::string> ids, bates;
  for (const auto& [id, b] : e.receipts) {
    if (!IsUuid(id)) return common::Error::InvalidInput("receipt id " + id + " is not a UUID");
    ids.push_back(id);
    bates.push_back(b);
  }
  return InTransaction<CaseExport>(db_, [&](pqxx::work& tx) -> common::Result<CaseExport> {
    if (!LockCase(tx, e.tenant, e.case_id)) return common::Error::NotFound("no such case");
    // The messages named must be the case's now: a change committed since they were read
    // makes this export stale (retry).
    const int64_t members =
        tx.exec_params("SELECT count(*) FROM notary_case_members($1::uuid)", e.case_id)[0][0]
            .as<int64_t>();
    const int64_t named =
        tx.exec_params(
              "SELECT count(*) FROM unnest($2::uuid[]) u"
              " WHERE u IN (SELECT receipt_id FROM notary_case_members($1::uuid))",
              e.case_id, TextArray(ids))[0][0]
            .as<int64_t>();
    if (members != static_cast<int64_t>(ids.size()) || named != members) {
      return common::Error::Conflict("the case changed while its export began: retry");
    }
    CaseExport out;
    out.record.id = InsertAction(tx, e.tenant, e.action);
    out.record.leaf_hash = e.action.leaf_hash;
    out.id = tx.exec_params(
                   "INSERT INTO case_exports (case_id, bates_prefix, bates_start, bates_width,"
                   " acted_at_us, actor, action_id) VALUES ($1::uuid, $2, $3, $4, $5, $6, $7)"
                   " RETURNING id",
                   e.case_id, e.bates_prefix, e.bates_start, e.bates_width, e.action.acted_at_us,
                   e.action.actor, out.record.id)[0][0]
                 .as<int64_t>();
    tx.exec_params(
        "INSERT INTO case_export_receipts (export_id, receipt_id, bates)"
        " SELECT $1, u.id, u.bates FROM unnest($2::uuid[], $3::text[]) AS u(id, bates)",
        out.id, TextArray(ids), TextArray(bates));
    return out;
  });
}

common::Result<std::vector<CustodyEvent>> CaseStore::Custody(const std::string& tenant,
                                                             const std::vector<std::string>& ids) {
  if (ids.size() > 1000) return common::Error::InvalidInput("custody of 1000 receipts at most");
  for (const std::string& id : ids) {
    if (!IsUuid(id)) return common::Error::InvalidInput("receipt id " + id + " is not a UUID");
  }
  // Every event names a receipt of the tenant (the first CTE); action records come with the
  // leaf that seals them, once sealed.
  static const char* const kSql =
      "WITH ids AS (SELECT r.id FROM receipts r JOIN tenants t ON t.id = r.tenant_id"
      "             WHERE t.name = $1 AND r.id = ANY($2::uuid[]))"
      " SELECT r.id::text, r.received_at_us, 'received', '',"
      "   'over ' || r.source || ', listener ' || r.listener || ', client ' || r.client_ip, "
      "NULL::bigint,"
      "   NULL::bytea, NULL::bigint, NULL::bigint"
      " FROM receipts r JOIN ids ON ids.id = r.id"
      " UNION ALL"
      " SELECT l.receipt_id::text, b.sealed_at_us, 'sealed', '',"
      "   'block ' || l.block_height || ', leaf ' || l.leaf_index, NULL, l.leaf_hash,"
      "   l.leaf_index, l.block_height"
      " FROM leaves l JOIN ids ON ids.id = l.receipt_id JOIN blocks b ON b.height = l.block_height"
      " UNION ALL"
      " SELECT a.receipt_id::text, (extract(epoch from a.at) * 1e6)::bigint, 'access', a.key_id,"
      "   a.route || CASE WHEN a.detail = '' THEN '' ELSE ': ' || a.detail END, NULL, NULL, NULL,"
      "   NULL"
      " FROM access_log a JOIN ids ON ids.id = a.receipt_id"
      " UNION ALL"
      " SELECT cr.receipt_id::text, c.acted_at_us, 'case-' || c.change, c.actor,"
      "   'case ' || c.case_id || CASE WHEN c.reason = '' THEN '' ELSE ': ' || c.reason END,"
      "   x.id, x.leaf_hash, lx.leaf_index, lx.block_height"
      " FROM case_change_receipts cr JOIN ids ON ids.id = cr.receipt_id"
      " JOIN case_changes c ON c.id = cr.change_id JOIN actions x ON x.id = c.action_id"
      " LEFT JOIN leaves lx ON lx.action_of = x.id"
      " UNION ALL"
      " SELECT er.receipt_id::text, e.acted_at_us, 'export', e.actor,"
      "   'case ' || e.case_id || ' as ' || er.bates, x.id, x.leaf_hash, lx.leaf_index,"
      "   lx.block_height"
      " FROM case_export_receipts er JOIN ids ON ids.id = er.receipt_id"
      " JOIN case_exports e ON e.id = er.export_id JOIN actions x ON x.id = e.action_id"
      " LEFT JOIN leaves lx ON lx.action_of = x.id"
      " UNION ALL"
      " SELECT hr.receipt_id::text, h.created_at_us, 'hold', h.created_by,"
      "   'hold ' || h.id || ' (' || h.name || ')', x.id, x.leaf_hash, lx.leaf_index,"
      "   lx.block_height"
      " FROM hold_receipts hr JOIN ids ON ids.id = hr.receipt_id JOIN holds h ON h.id = hr.hold_id"
      " JOIN actions x ON x.id = h.action_id LEFT JOIN leaves lx ON lx.action_of = x.id"
      " UNION ALL"
      " SELECT hr.receipt_id::text, h.released_at_us, 'hold-release', h.released_by,"
      "   'hold ' || h.id || ': ' || h.release_reason, x.id, x.leaf_hash, lx.leaf_index,"
      "   lx.block_height"
      " FROM hold_receipts hr JOIN ids ON ids.id = hr.receipt_id JOIN holds h ON h.id = hr.hold_id"
      " JOIN actions x ON x.id = h.release_action_id LEFT JOIN leaves lx ON lx.action_of = x.id"
      " UNION ALL"
      " SELECT e.receipt_id::text, e.erased_at_us, 'erasure', e.erased_by, e.reason, x.id,"
      "   x.leaf_hash, lx.leaf_index, lx.block_height"
      " FROM erasures e JOIN ids ON ids.id = e.receipt_id JOIN actions x ON x.id = e.action_id"
      " LEFT JOIN leaves lx ON lx.action_of = x.id"
      " ORDER BY 1, 2, 3";
  return InTransaction<std::vector<CustodyEvent>>(
      db_, [&](pqxx::work& tx) -> common::Result<std::vector<CustodyEvent>> {
        std::vector<CustodyEvent> out;
        for (const auto& r : tx.exec_params(kSql, tenant, TextArray(ids))) {
          CustodyEvent ev;
          ev.receipt_id = r[0].as<std::string>();
          ev.at_us = r[1].as<int64_t>();
          ev.event = r[2].as<std::string>();
          ev.actor = r[3].as<std::string>();
          ev.detail = r[4].as<std::string>();
          if (!r[6].is_null()) {
            ActionRef a;
            a.id = r[5].is_null() ? 0 : r[5].as<int64_t>();
            a.leaf_hash = HashField(r[6]);
            a.leaf_index = OptInt(r[7]);
            a.block_height = OptInt(r[8]);
            ev.record = a;
          }
          out.push_back(std::move(ev));
        }
        return out;
      });
}

}  // namespace storage
