// ReceiptStore::Search: the filters of GET /v1/messages as one parameterised query over the
// receipts and their search index (receipt_index, migration 0015), with (reception time, id) cursor
// pagination, newest first unless asked otherwise.
#include <algorithm>
#include <pqxx/pqxx>

#include "pg_util.h"
#include "receipt_rows.h"
#include "search_filter.h"
#include "storage/receipt_store.h"
#include "transaction.h"

namespace storage {
namespace {

// "%<s with LIKE wildcards escaped>%"; callers compare lower(column) LIKE lower(pattern): a
// case-insensitive "contains" that the trigram indexes of migration 0003 can serve.
std::string LikePattern(const std::string& s) {
  std::string out = "%";
  for (char c : s) {
    if (c == '%' || c == '_' || c == '\\') out += '\\';
    out += c;
  }
  return out + "%";
}

// The words of `text` bounded by separators on both sides, split by the database exactly as
// the name index splits names.
common::Result<std::vector<std::string>> InnerWords(Database& db, const std::string& text) {
  return InTransaction<std::vector<std::string>>(
      db, [&](pqxx::work& tx) -> common::Result<std::vector<std::string>> {
        return JsonTextArray(
            tx.exec_params("SELECT array_to_json(notary_inner_tokens($1))::text", text)[0][0]);
      });
}

// Whether the query filters on a field of receipt_index (migration 0015).
bool IndexedFieldsIn(const SearchQuery& q) {
  return q.message_id || q.from || q.to || q.subject || q.attachment_name;
}

}  // namespace

common::Result<std::string> SearchFilter(Database& db, const SearchQuery& q,
                                         std::vector<std::optional<std::string>>& params) {
  auto param = [&](std::optional<std::string> v) {
    params.push_back(std::move(v));
    return "$" + std::to_string(params.size());
  };
  std::string where = "t.name = " + param(q.tenant);
  // A query on an indexed field names its receipt and time through receipt_index alone, so
  // that Search can page there before it reads receipts (see Search).
  const bool indexed = IndexedFieldsIn(q);
  const std::string rid = indexed ? "x.receipt_id" : "r.id";
  const std::string time = indexed ? "x.received_at_us" : "r.received_at_us";
  if (indexed) {
    // The receipt's index row must exist (migration 0015). Said outright, because the
    // planner cannot tell that the name functions below are NULL on a missing row, and would
    // otherwise keep the outer join and filter after joining every receipt.
    where += " AND x.receipt_id IS NOT NULL AND x.tenant_id = t.id";
  }
  if (q.id) where += " AND " + rid + " = " + param(*q.id) + "::uuid";
  if (q.case_id) {
    where += " AND " + rid + " IN (SELECT m.receipt_id FROM notary_case_members(" +
             param(*q.case_id) + "::uuid) m)";
  }
  if (q.message_id) where += " AND x.message_id = " + param(*q.message_id);
  if (q.from) {
    if (q.from->find('@') != std::string::npos && q.from->find(' ') == std::string::npos) {
      std::string p = param(*q.from);
      // An address: the envelope sender or the From header's address, exactly.
      where +=
          " AND (lower(x.envelope_from) = lower(" + p + ") OR x.hdr_from_addr = lower(" + p + "))";
    } else {
      // Anything else (a name, part of an address): contained in the From header.
      where += " AND lower(x.hdr_from) LIKE lower(" + param(LikePattern(*q.from)) + ")";
    }
  }
  if (q.to) where += " AND x.addresses @> ARRAY[lower(" + param(*q.to) + ")]";
  if (q.subject)
    where += " AND lower(x.subject) LIKE lower(" + param(LikePattern(*q.subject)) + ")";
  if (q.since_us)
    where += " AND " + time + " >= " + param(std::to_string(*q.since_us)) + "::bigint";
  if (q.until_us) where += " AND " + time + " < " + param(std::to_string(*q.until_us)) + "::bigint";
  if (q.sha256) {
    const std::string p = param(*q.sha256);
    const std::string h = indexed ? "h" : "r";
    const std::string match = "(" + h + ".raw_sha256 = decode(" + p + ", 'hex') OR " + h +
                              ".canonical_sha256 = decode(" + p + ", 'hex'))";
    where += indexed ? " AND EXISTS (SELECT 1 FROM receipts h WHERE h.id = x.receipt_id AND " +
                           match + ")"
                     : " AND " + match;
  }
  if (q.attachment_sha256) {
    where += " AND EXISTS (SELECT 1 FROM message_parts p WHERE p.receipt_id = " + rid +
             " AND p.sha256 = decode(" + param(*q.attachment_sha256) + ", 'hex'))";
  }
  if (q.attachment_name) {
    // Whole words of the text, when it has any, find the candidates (migration 0005); the
    // contains test then runs on those alone. Otherwise the trigram index serves the LIKE.
    ASSIGN_OR_RETURN(auto words, InnerWords(db, *q.attachment_name));
    if (!words.empty()) {
      where += " AND notary_name_tokens(x.attachment_names) @> " + param(TextArray(words)) +
               "::text[] AND strpos(notary_names_text(x.attachment_names), lower(" +
               param(*q.attachment_name) + ")) > 0";
    } else {
      where += " AND notary_names_text(x.attachment_names) LIKE lower(" +
               param(LikePattern(*q.attachment_name)) + ")";
    }
  }
  if (q.dkim_domain || q.dkim_result) {
    // One signature must match both: the arrays hold each signature's d= and result at the
    // same position. The GIN index on dkim_domains narrows by domain first.
    std::string match = "TRUE";
    std::string domain_filter;
    if (q.dkim_domain) {
      const std::string p = param(*q.dkim_domain);
      domain_filter = " AND a.dkim_domains @> ARRAY[lower(" + p + ")]";
      match = "s.d = lower(" + p + ")";
    }
    if (q.dkim_result) match += " AND s.res = " + param(*q.dkim_result);
    where += " AND EXISTS (SELECT 1 FROM authentications a WHERE a.receipt_id = " + rid +
             domain_filter +
             " AND EXISTS (SELECT 1 FROM unnest(a.dkim_domains, a.dkim_results) AS s(d, res)"
             " WHERE " +
             match + "))";
  }
  if (q.status) {
    // Unsealed receipts are exactly those in the (small) pending queue.
    if (*q.status != "sealed") {
      where += " AND EXISTS (SELECT 1 FROM pending p WHERE p.receipt_id = " + rid + ")";
    } else {
      where += indexed ? " AND EXISTS (SELECT 1 FROM leaves s WHERE s.receipt_id = x.receipt_id)"
                       : " AND l.leaf_index IS NOT NULL";
    }
  }
  return where;
}

common::Result<SearchPage> ReceiptStore::Search(const SearchQuery& q) {
  std::vector<std::optional<std::string>> params;
  auto param = [&](std::optional<std::string> v) {
    params.push_back(std::move(v));
    return "$" + std::to_string(params.size());
  };
  ASSIGN_OR_RETURN(std::string filter, SearchFilter(db_, q, params));
  std::string where = "WHERE " + filter;
  // A search on the indexed fields pages over receipt_index's own copy of the reception time
  // (migration 0015): the matching rows are sorted there, and receipts is read for the page
  // alone. Otherwise over receipts'. The same values either way: x.receipt_id = r.id.
  const bool indexed = IndexedFieldsIn(q);
  const std::string time = indexed ? "x.received_at_us" : "r.received_at_us";
  const std::string id_column = indexed ? "x.receipt_id" : "r.id";
  if (q.after) {
    // Cursor: "<received_at_us>_<id>"; rows strictly past it in the page's (time, id) order.
    auto us = q.after->substr(0, q.after->find('_'));
    auto id = q.after->substr(q.after->find('_') + 1);
    where += " AND (" + time + ", " + id_column + ") " + (q.oldest_first ? ">" : "<") + " (" +
             param(us) + "::bigint, " + param(id) + "::uuid)";
  }
  const int limit = std::clamp(q.limit, 1, 1000);
  const std::string dir = q.oldest_first ? "" : " DESC";
  const std::string take = " LIMIT " + std::to_string(limit + 1);
  // Both directions can walk an index on (tenant, received_at_us, id), 0003's on receipts or
  // 0015's on receipt_index, when the filter is broad; a narrow one sorts what its index found.
  std::string sql;
  if (indexed) {
    // The page is chosen in receipt_index alone (the filter names no other table outside its
    // subqueries), and receipts is read for its rows only. Joined first, the planner would
    // read receipts for every match before sorting (1,000 random reads for a subject found
    // 1,000 times at 1M receipts: docs/benchmarks.md).
    sql = std::string("SELECT ") + kReceiptColumns +
          " FROM (SELECT x.receipt_id AS page_id, x.received_at_us AS page_us"
          " FROM receipt_index x JOIN tenants t ON t.id = x.tenant_id " +
          where + " ORDER BY x.received_at_us" + dir + ", x.receipt_id" + dir + take +
          ") page JOIN receipts r ON r.id = page.page_id" + kReceiptJoins +
          "ORDER BY page.page_us" + dir + ", page.page_id" + dir;
  } else {
    // Likewise, the page is chosen from receipts (with leaves, which status=sealed names)
    // before the other tables are joined: joined first, the planner would read every match's
    // sealed fields and index row, and sort them with the page (a part's hash found in 1,000
    // receipts at 1M: docs/benchmarks.md).
    sql = std::string("SELECT ") + kReceiptColumns +
          " FROM (SELECT r.id AS page_id, r.received_at_us AS page_us"
          " FROM receipts r JOIN tenants t ON t.id = r.tenant_id"
          " LEFT JOIN leaves l ON l.receipt_id = r.id " +
          where + " ORDER BY " + time + dir + ", " + id_column + dir + take +
          ") page JOIN receipts r ON r.id = page.page_id" + kReceiptJoins +
          "ORDER BY page.page_us" + dir + ", page.page_id" + dir;
  }
  std::vector<std::optional<SealedFields>> sealed;
  ASSIGN_OR_RETURN(
      SearchPage page,
      InTransaction<SearchPage>(db_, [&](pqxx::work& tx) -> common::Result<SearchPage> {
        pqxx::result r = tx.exec_params(sql, pqxx::prepare::make_dynamic_params(params));
        SearchPage page;
        sealed.clear();
        for (const auto& row : r) {
          if (static_cast<int>(page.items.size()) == limit) {
            const notary::Receipt& last = page.items.back();
            page.next = std::to_string(last.received_at_us) + "_" + last.id;
            break;
          }
          sealed.emplace_back();
          page.items.push_back(ReadRow(row, sealed.back()));
        }
        std::vector<notary::Receipt*> rows;
        for (auto& item : page.items) rows.push_back(&item);
        LoadParts(tx, rows);
        return page;
      }));
  // Opened after the transaction: the key holder may be a round trip away.
  std::vector<notary::Receipt*> rows;
  for (auto& item : page.items) rows.push_back(&item);
  RETURN_IF_ERROR(OpenRows(wrapper_, rows, sealed));
  return page;
}

}  // namespace storage
