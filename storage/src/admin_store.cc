#include "storage/admin_store.h"

#include "common/utf8.h"
#include "pg_util.h"
#include "transaction.h"

namespace storage {
namespace {
constexpr const char* kKeyColumns =
    "k.key_id, t.name, k.label, array_to_json(k.scopes)::text, k.salt, k.hash,"
    " (extract(epoch from k.created_at) * 1e6)::bigint,"
    " (extract(epoch from k.expires_at) * 1e6)::bigint,"
    " (extract(epoch from k.revoked_at) * 1e6)::bigint"
    " FROM api_keys k JOIN tenants t ON t.id = k.tenant_id ";

ApiKeyRow ReadKey(const pqxx::row& r) {
  ApiKeyRow k;
  k.key_id = r[0].as<std::string>();
  k.tenant = r[1].as<std::string>();
  k.label = r[2].as<std::string>();
  k.scopes = JsonTextArray(r[3]);
  k.salt = BytesField(r[4]);
  k.hash = BytesField(r[5]);
  k.created_at_us = r[6].as<int64_t>();
  if (!r[7].is_null()) k.expires_at_us = r[7].as<int64_t>();
  if (!r[8].is_null()) k.revoked_at_us = r[8].as<int64_t>();
  return k;
}
}  // namespace

common::Status AdminStore::CreateTenant(const std::string& name) {
  auto r = InTransaction<bool>(db_, [&](pqxx::work& tx) -> common::Result<bool> {
    tx.exec_params("INSERT INTO tenants (name) VALUES ($1)", name);
    return true;
  });
  if (!r.ok()) {
    if (r.error().code() == common::ErrorCode::kConflict) {
      return common::Error::Conflict("tenant " + name + " already exists");
    }
    if (r.error().message().find("23514") != std::string::npos) {
      return common::Error::InvalidInput(
          "tenant names are 1-63 characters of a-z, 0-9, '.', '_' and '-', starting with a "
          "letter or digit");
    }
    return r.error();
  }
  return common::Ok();
}

common::Result<std::vector<std::string>> AdminStore::ListTenants() {
  return InTransaction<std::vector<std::string>>(
      db_, [&](pqxx::work& tx) -> common::Result<std::vector<std::string>> {
        std::vector<std::string> out;
        for (const auto& r : tx.exec("SELECT name FROM tenants ORDER BY name")) {
          out.push_back(r[0].as<std::string>());
        }
        return out;
      });
}

common::Status AdminStore::InsertApiKey(const ApiKeyRow& k) {
  auto status = InTransaction<bool>(db_, [&](pqxx::work& tx) -> common::Result<bool> {
    std::optional<std::string> expires;
    if (k.expires_at_us) expires = std::to_string(*k.expires_at_us);
    pqxx::result res = tx.exec_params(
        "INSERT INTO api_keys (key_id, tenant_id, label, scopes, salt, hash, expires_at) "
        "SELECT $1, id, $3, $4::text[], $5, $6, to_timestamp($7::bigint / 1e6) FROM tenants "
        "WHERE name = $2 RETURNING key_id",
        k.key_id, k.tenant, common::SanitizeUtf8(k.label), TextArray(k.scopes), Bytea(k.salt),
        Bytea(k.hash), expires);
    if (res.empty()) return common::Error::NotFound("no tenant named " + k.tenant);
    return true;
  });
  RETURN_IF_ERROR(status);
  return common::Ok();
}

common::Result<std::optional<ApiKeyRow>> AdminStore::FindApiKey(const std::string& key_id) {
  return InAutocommit<std::optional<ApiKeyRow>>(
      db_, [&](pqxx::nontransaction& tx) -> common::Result<std::optional<ApiKeyRow>> {
        // Every authenticated HTTP request comes here: one round trip, prepared once per
        // connection so that PostgreSQL does not plan the join again for each request.
        tx.conn().prepare("find_api_key",
                          std::string("SELECT ") + kKeyColumns + "WHERE k.key_id = $1");
        pqxx::result r = tx.exec_prepared("find_api_key", key_id);
        if (r.empty()) return std::optional<ApiKeyRow>();
        return std::optional<ApiKeyRow>(ReadKey(r[0]));
      });
}

common::Result<std::vector<ApiKeyRow>> AdminStore::ListApiKeys(
    const std::optional<std::string>& tenant) {
  return InTransaction<std::vector<ApiKeyRow>>(
      db_, [&](pqxx::work& tx) -> common::Result<std::vector<ApiKeyRow>> {
        std::vector<ApiKeyRow> out;
        for (const auto& r :
             tx.exec_params(std::string("SELECT ") + kKeyColumns +
                                "WHERE $1::text IS NULL OR t.name = $1 ORDER BY k.created_at",
                            tenant)) {
          out.push_back(ReadKey(r));
        }
        return out;
      });
}

common::Status AdminStore::RevokeApiKey(const std::string& key_id) {
  auto status = InTransaction<bool>(db_, [&](pqxx::work& tx) -> common::Result<bool> {
    // The application role has no UPDATE on api_keys: one function revokes (migration 0008).
    pqxx::result res = tx.exec_params("SELECT notary_revoke_api_key($1)", key_id);
    if (res.empty() || res[0][0].is_null()) return common::Error::NotFound("no API key " + key_id);
    return true;
  });
  RETURN_IF_ERROR(status);
  return common::Ok();
}

common::Status AdminStore::InsertSigningKey(const KeyRow& k) {
  auto status = InTransaction<bool>(db_, [&](pqxx::work& tx) -> common::Result<bool> {
    tx.exec_params(
        "INSERT INTO signing_keys (key_id, algorithm, public_key, public_pem, fingerprint) "
        "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (key_id) DO NOTHING",
        k.key_id, k.algorithm, Bytea(k.public_key), k.public_pem, k.fingerprint);
    return true;
  });
  RETURN_IF_ERROR(status);
  return common::Ok();
}

common::Result<std::vector<KeyRow>> AdminStore::ListSigningKeys() {
  return InAutocommit<std::vector<KeyRow>>(
      db_, [&](pqxx::nontransaction& tx) -> common::Result<std::vector<KeyRow>> {
        std::vector<KeyRow> out;
        for (const auto& r :
             ExecPrepared(tx,
                          "SELECT key_id, algorithm, public_pem, fingerprint, public_key,"
                          " (extract(epoch from valid_from) * 1e6)::bigint,"
                          " (extract(epoch from valid_until) * 1e6)::bigint FROM signing_keys"
                          " ORDER BY valid_from, key_id")) {
          KeyRow k;
          k.key_id = r[0].as<std::string>();
          k.algorithm = r[1].as<std::string>();
          k.public_pem = r[2].as<std::string>();
          k.fingerprint = r[3].as<std::string>();
          k.public_key = BytesField(r[4]);
          k.valid_from_us = r[5].as<int64_t>();
          if (!r[6].is_null()) k.valid_until_us = r[6].as<int64_t>();
          out.push_back(std::move(k));
        }
        return out;
      });
}

common::Status AdminStore::RetireSigningKeysExcept(const std::string& current) {
  auto status = InTransaction<bool>(db_, [&](pqxx::work& tx) -> common::Result<bool> {
    tx.exec_params("SELECT notary_retire_signing_keys_except($1)", current);
    return true;
  });
  RETURN_IF_ERROR(status);
  return common::Ok();
}

common::Status AdminStore::LogAccess(const AccessEntry& e) {
  auto status = InTransaction<bool>(db_, [&](pqxx::work& tx) -> common::Result<bool> {
    std::optional<std::string> receipt;
    if (!e.receipt_id.empty()) receipt = e.receipt_id;
    tx.exec_params(
        "INSERT INTO access_log (key_id, tenant_id, route, receipt_id, client_ip, detail) "
        "SELECT $1, id, $3, $4::uuid, $5, $6 FROM tenants WHERE name = $2",
        e.key_id, e.tenant, e.route, receipt, e.client_ip, common::SanitizeUtf8(e.detail));
    return true;
  });
  RETURN_IF_ERROR(status);
  return common::Ok();
}

common::Result<std::vector<AccessEntry>> AdminStore::ListAccess(
    const std::string& tenant, std::optional<std::string> receipt_id, int limit) {
  return InTransaction<std::vector<AccessEntry>>(
      db_, [&](pqxx::work& tx) -> common::Result<std::vector<AccessEntry>> {
        std::vector<AccessEntry> out;
        for (const auto& r : tx.exec_params(
                 "SELECT a.key_id, t.name, a.route, coalesce(a.receipt_id::text, ''), a.client_ip,"
                 " a.detail, (extract(epoch from a.at) * 1e6)::bigint FROM access_log a"
                 " JOIN tenants t ON t.id = a.tenant_id WHERE t.name = $1"
                 " AND ($2::uuid IS NULL OR a.receipt_id = $2::uuid) ORDER BY a.id DESC LIMIT $3",
                 tenant, receipt_id, limit)) {
          AccessEntry e;
          e.key_id = r[0].as<std::string>();
          e.tenant = r[1].as<std::string>();
          e.route = r[2].as<std::string>();
          e.receipt_id = r[3].as<std::string>();
          e.client_ip = r[4].as<std::string>();
          e.detail = r[5].as<std::string>();
          e.at_us = r[6].as<int64_t>();
          out.push_back(std::move(e));
        }
        return out;
      });
}

}  // namespace storage
