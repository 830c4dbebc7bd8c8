// notaryctl: administration of a notary database.
//   notaryctl migrate
//   notaryctl tenant create NAME | tenant list
//   notaryctl tenant set-retention --tenant NAME (--days N | --keep) | tenant retention NAME
//   notaryctl tenant rotate-key --tenant NAME [--signer unix:PATH]
//   notaryctl tenant rewrap-keys --tenant NAME [--signer unix:PATH]
//   notaryctl tenant destroy-key --tenant NAME --kek-id ID [--signer unix:PATH]
//   notaryctl apikey create --tenant NAME --scope ingest,read,admin [--expires DATE] [--label T]
//   notaryctl apikey list [--tenant NAME] | apikey revoke KEY_ID
//   notaryctl keys list [--signer unix:PATH] [--data-dir DIR]
//   notaryctl keys rotate [--signer unix:PATH | --data-dir DIR]
//   notaryctl audit [--canonical] [--workers N] [--quiet]
//   notaryctl erase --receipt ID --reason TEXT
// The database comes from --database-url or NOTARY_DATABASE_URL; migrations use
// --owner-database-url / NOTARY_OWNER_DATABASE_URL when set.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <iostream>

#include "common/bytes.h"
#include "common/printable.h"
#include "common/time.h"
#include "log/ed25519.h"
#include "notaryctl_case.h"
#include "notaryctl_monitor.h"
#include "notaryctl_tsa_ca.h"
#include "pipeline/audit.h"
#include "pipeline/auth.h"
#include "pipeline/erasure.h"
#include "pipeline/ingest.h"
#include "pipeline/key_files.h"
#include "pipeline/key_rotation.h"
#include "pipeline/retention.h"
#include "pipeline/sealer.h"
#include "signer/client.h"
#include "storage/admin_store.h"
#include "storage/erasure_store.h"
#include "storage/key_rotation_store.h"
#include "storage/migrations.h"
#include "storage/retention_store.h"
#include "vault/key_wrapper.h"

namespace {

// Values printed may come from the database or the command line (tenant names, labels,
// errors naming stored data): all of them go through common::TerminalSafe.
int Fail(const std::string& message, int code = 1) {
  std::cerr << "notaryctl: " << common::TerminalSafe(message) << "\n";
  return code;
}

std::unique_ptr<storage::Database> OpenOrExit(const std::string& url) {
  if (url.empty()) std::exit(Fail("--database-url (or NOTARY_DATABASE_URL) is required", 2));
  auto db = storage::Database::Open({url, 2});
  if (!db.ok()) std::exit(Fail(db.error().ToString()));
  return std::move(*db);
}

// "YYYY-MM-DD": midnight UTC of a day that exists.
std::optional<int64_t> ParseDate(const std::string& s) {
  if (s.size() != 10) return std::nullopt;
  return common::ParseRfc3339Micros(s);
}

// Who an action record names when notaryctl acts: the operating-system user running it
// (an action record's actor is at most 64 bytes).
std::string OperatorActor() {
  const char* user = std::getenv("USER");
  std::string actor = std::string("notaryctl:") + (user != nullptr ? user : "unknown");
  if (actor.size() > 64) actor.resize(64);
  return actor;
}

std::string Join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ",") + s;
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  common::PinLocalTimeZone();  // before any thread
  CLI::App app{"notaryctl: administer the e-mail evidence notary"};
  app.require_subcommand(1);
  std::string url, owner_url, data_dir = "var/notary";
  app.add_option("--database-url", url, "libpq URL")->envname("NOTARY_DATABASE_URL");
  app.add_option("--owner-database-url", owner_url, "libpq URL of the schema owner")
      ->envname("NOTARY_OWNER_DATABASE_URL");
  app.add_option("--data-dir", data_dir, "notaryd's data directory")->envname("NOTARY_DATA_DIR");

  auto* migrate = app.add_subcommand("migrate", "Apply database migrations");

  auto* tenant = app.add_subcommand("tenant", "Tenants");
  tenant->require_subcommand(1);
  std::string tenant_name;
  auto* tenant_create = tenant->add_subcommand("create", "Create a tenant");
  tenant_create->add_option("name", tenant_name, "Tenant name")->required();
  auto* tenant_list = tenant->add_subcommand("list", "List tenants");
  auto* tenant_set_retention = tenant->add_subcommand(
      "set-retention",
      "Set how long the tenant's mail is kept; past it, mail no hold covers is erased "
      "(docs/retention.md). Recorded in the log.");
  int retention_days = 0;
  bool retention_keep = false;
  tenant_set_retention->add_option("--tenant", tenant_name, "Tenant")->required();
  auto* days_opt = tenant_set_retention->add_option("--days", retention_days, "1 to 36600")
                       ->check(CLI::Range(1, 36600));
  auto* keep_opt = tenant_set_retention->add_flag(
      "--keep", retention_keep, "No period: keep mail until it is erased by hand");
  days_opt->excludes(keep_opt);
  auto* tenant_retention =
      tenant->add_subcommand("retention", "Show the tenant's retention period in force");
  tenant_retention->add_option("name", tenant_name, "Tenant")->required();

  auto* tenant_rotate_key = tenant->add_subcommand(
      "rotate-key",
      "Make a new key pair current for the tenant's encryption at rest (docs/retention.md): "
      "new mail is wrapped for it; the earlier pairs stay, to read the mail stored before");
  std::string rotate_signer;
  tenant_rotate_key->add_option("--tenant", tenant_name, "Tenant")->required();
  tenant_rotate_key
      ->add_option("--signer", rotate_signer,
                   "notary-signer's socket (unix:/path), when it holds the key pairs; asked on "
                   "its admin socket (PATH.admin). Without it: the key pairs in --data-dir's "
                   "keks.d")
      ->envname("NOTARY_SIGNER");

  auto* tenant_rewrap = tenant->add_subcommand(
      "rewrap-keys",
      "Re-wrap every data key of the tenant stored for an earlier key pair for the current one "
      "(the ciphertext stays); needs the schema owner (--owner-database-url)");
  tenant_rewrap->add_option("--tenant", tenant_name, "Tenant")->required();
  tenant_rewrap->add_option("--signer", rotate_signer, "As for rotate-key")
      ->envname("NOTARY_SIGNER");
  std::string destroy_kek;
  auto* tenant_destroy_key = tenant->add_subcommand(
      "destroy-key",
      "Destroy an earlier key pair of the tenant once no stored row is wrapped for it: what "
      "was wrapped for it in backups and copies no longer opens; needs the schema owner");
  tenant_destroy_key->add_option("--tenant", tenant_name, "Tenant")->required();
  tenant_destroy_key->add_option("--kek-id", destroy_kek, "The pair, as rewrap-keys lists it")
      ->required();
  tenant_destroy_key->add_option("--signer", rotate_signer, "As for rotate-key")
      ->envname("NOTARY_SIGNER");

  auto* apikey = app.add_subcommand("apikey", "API keys");
  apikey->require_subcommand(1);
  std::string key_tenant, key_scope, key_expires, key_label, key_id;
  auto* key_create = apikey->add_subcommand("create", "Create a key (printed once)");
  key_create->add_option("--tenant", key_tenant, "Tenant")->required();
  key_create
      ->add_option("--scope", key_scope,
                   "ingest, read, admin, relay, journal, tsa, cases (comma-separated)")
      ->required();
  key_create->add_option("--expires", key_expires, "Expiry date YYYY-MM-DD (UTC)");
  key_create->add_option("--label", key_label, "Free text shown in listings");
  auto* key_list = apikey->add_subcommand("list", "List keys (never the secrets)");
  key_list->add_option("--tenant", key_tenant, "Only this tenant");
  auto* key_revoke = apikey->add_subcommand("revoke", "Revoke a key");
  key_revoke->add_option("key_id", key_id, "Key id (from list)")->required();

  auto* keys = app.add_subcommand("keys", "Block signing keys");
  keys->require_subcommand(1);
  std::string signer_address;
  keys->add_option("--signer", signer_address,
                   "notary-signer's socket (unix:/path), when it holds the keys")
      ->envname("NOTARY_SIGNER");
  auto* keys_list = keys->add_subcommand(
      "list", "Every key that signed or signs blocks: id, algorithm, fingerprint, validity, where");
  auto* keys_rotate = keys->add_subcommand("rotate", "Sign new blocks with a new key");

  auto* audit = app.add_subcommand("audit", "Re-verify everything from genesis");
  audit->footer(
      "By default the audit binds every stored byte to the signed chain: each message's bytes\n"
      "hash to its raw_sha256, each envelope to its digest, each leaf record is rebuilt from\n"
      "its receipt byte for byte, and each leaf hash, batch root, tree root, previous-hash\n"
      "link, block hash, signature and checkpoint is recomputed. It does NOT re-run the MIME\n"
      "canonicaliser: the canonical hash and parts_root are checked as signed, not re-derived\n"
      "from the bytes. --canonical re-derives them too (about 60 us of CPU per message, on\n"
      "all cores), which re-checks the canonicaliser's work at ingest.");
  bool quiet = false, canonical = false;
  unsigned workers = 0;
  audit->add_flag("--quiet", quiet, "No progress output");
  audit->add_flag("--canonical", canonical,
                  "Also re-derive each message's canonical hash and parts_root from its bytes");
  audit->add_option("--workers", workers, "Hashing threads (default: one per core)");
  // Message bytes sealed at rest (docs/retention.md) are opened with the tenants' keys: from
  // notary-signer, or from notaryd's data folder when it runs without one.
  std::string audit_signer, audit_data_dir;
  audit
      ->add_option("--signer", audit_signer,
                   "notary-signer's socket (unix:/path): opens the bytes and fields sealed at rest")
      ->envname("NOTARY_SIGNER");
  audit->add_option(
      "--data-dir", audit_data_dir,
      "notaryd's data folder, when it runs without a signer: opens the bytes and fields "
      "sealed at rest with the key pairs in its keks.d");

  auto* erase = app.add_subcommand(
      "erase", "Erase a message's bytes and personal fields, recording why (docs/retention.md)");
  erase->footer(
      "The message's bytes, addresses, headers, subject, attachment names, journal report and\n"
      "sender evidence are deleted; its hashes, leaf and proofs stay, so the receipt still\n"
      "proves that a message with those hashes was received. An erasure record (who, when,\n"
      "why) is appended to the log. Refused while a legal hold covers the message.");
  std::string erase_receipt, erase_reason;
  erase->add_option("--receipt", erase_receipt, "The message's receipt id")->required();
  erase->add_option("--reason", erase_reason, "Why (recorded in the log's erasure record)")
      ->required();

  auto* tsa_ca = app.add_subcommand(
      "tsa-ca",
      "Print the built-in time-stamp authority's root certificate (PEM), to pin with "
      "notary-verify --tsa-ca");
  tsa_ca->footer(
      "Reads --data-dir only; the root's SHA-256 fingerprint goes to stderr.\n"
      "Example: notaryctl tsa-ca > tsa-ca.pem");

  auto* monitor = app.add_subcommand(
      "monitor", "Check that a notary's published log only grows (for auditors; cron-friendly)");
  monitor->footer(
      "Exit status: 0 consistent, 1 fork, rollback or a checkpoint that does not verify\n"
      "(sizes and roots printed), 2 usage or unreadable state, 3 log unreachable.\n"
      "Example cron line (docs/trust.md):\n"
      "  */10 * * * * notaryctl monitor https://notary.example --state /var/lib/monitor/cp \\\n"
      "      --log-key \"$(cat /etc/notary-monitor/log.vkey)\" || mail -s fork auditor@example");
  cli::MonitorArgs monitor_args;
  monitor->add_option("url", monitor_args.url, "The notary's base URL")->required();
  monitor->add_option("--state", monitor_args.state, "File keeping the last checkpoint seen")
      ->required();
  monitor
      ->add_option("--log-key", monitor_args.log_key,
                   "The log's signed-note verifier key (name+id+key), obtained out of band")
      ->required();
  monitor->add_option("--witness", monitor_args.witnesses,
                      "A witness's cosigner key (vkey); repeatable");
  monitor->add_option("--witness-quorum", monitor_args.witness_quorum,
                      "Cosignatures required (default: all --witness keys)");
  monitor->add_option("--timeout-s", monitor_args.timeout_s, "Per request")
      ->check(CLI::Range(1, 600));

  auto* case_cmd = app.add_subcommand("case", "Cases (matters) and their productions");
  case_cmd->require_subcommand(1);
  auto* case_export = case_cmd->add_subcommand(
      "export", "Download a case's production from a notary (GET /v1/cases/{id}/export)");
  case_export->footer(
      "The API key (scopes cases and read) is read from --api-key-file or NOTARY_API_KEY.\n"
      "Exit status: 0 written, 1 refused (reason printed), 2 usage or file error,\n"
      "3 notary unreachable or failing. Example (docs/cases.md):\n"
      "  NOTARY_API_KEY=$(cat lawyer.key) notaryctl case export https://notary.example \\\n"
      "      --case 01a2… --bates-prefix ACME --out acme.zip && notary-verify acme.zip");
  cli::CaseExportArgs case_args;
  case_export->add_option("url", case_args.url, "The notary's base URL")->required();
  case_export->add_option("--case", case_args.case_id, "The case's id")->required();
  case_export->add_option("--out", case_args.out, "The zip to write (must not exist)")->required();
  case_export->add_option("--api-key-file", case_args.api_key_file,
                          "A file holding the API key (default: $NOTARY_API_KEY)");
  case_export->add_option("--bates-prefix", case_args.bates_prefix, "Bates prefix, e.g. ACME");
  case_export->add_option("--bates-start", case_args.bates_start, "The first Bates number");
  case_export->add_option("--bates-width", case_args.bates_width, "Digits of the Bates number");
  case_export->add_option("--custodian", case_args.custodian, "The load file's CUSTODIAN");
  case_export->add_option("--lang", case_args.lang, "The bundles' certificates: en, ko or zh");
  case_export->add_option("--template", case_args.certificate_template,
                          "certificate.pdf: default, us-fre-902, kr or cn");
  case_export->add_option("--timeout-s", case_args.timeout_s, "Connecting, and between reads")
      ->check(CLI::Range(1, 86400));

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }

  // The monitor talks to a notary over HTTP only: no database.
  if (monitor->parsed()) return cli::RunMonitor(monitor_args);
  // So is a case's export: notaryd builds it, with the keys that open the messages.
  if (case_export->parsed()) return cli::RunCaseExport(case_args);
  // The TSA root is a file in the data directory: no database either.
  if (tsa_ca->parsed()) return cli::RunTsaCa(data_dir);

  if (migrate->parsed()) {
    auto n = storage::Migrate(owner_url.empty() ? url : owner_url, storage::BuiltinMigrations());
    if (!n.ok()) return Fail(n.error().ToString());
    std::cout << "applied " << *n << " migration(s)\n";
    return 0;
  }
  auto db = OpenOrExit(url);
  storage::AdminStore admin(*db);

  if (tenant_set_retention->parsed() || tenant_retention->parsed()) {
    storage::RetentionStore store(*db);
    common::Result<std::optional<storage::RetentionPolicy>> p =
        std::optional<storage::RetentionPolicy>();
    if (tenant_set_retention->parsed()) {
      if (days_opt->count() == 0 && !retention_keep) return Fail("give --days N or --keep", 2);
      auto set = pipeline::SetRetention(
          store, tenant_name, retention_keep ? std::nullopt : std::optional<int>(retention_days),
          OperatorActor(), common::Clock::System().NowMicros());
      if (!set.ok()) return Fail(set.error().message());
      p = std::optional<storage::RetentionPolicy>(std::move(*set));
    } else {
      p = store.Get(tenant_name);
      if (!p.ok()) return Fail(p.error().ToString());
    }
    if (!*p) {
      std::cout << "tenant " << common::TerminalSafe(tenant_name)
                << ": no retention period (mail is kept until erased by hand)\n";
      return 0;
    }
    const storage::RetentionPolicy& r = **p;
    std::cout << "tenant " << common::TerminalSafe(r.tenant) << ": "
              << (r.days ? "mail erased " + std::to_string(*r.days) + " days after reception"
                         : std::string("mail kept until erased by hand"))
              << " (set " << common::FormatRfc3339Micros(r.set_at_us) << " by "
              << common::TerminalSafe(r.set_by) << ", record " << common::ToHex(r.action.leaf_hash)
              << ")\n";
    return 0;
  }

  if (erase->parsed()) {
    storage::ErasureStore store(*db);
    auto tenant_of = store.TenantOf(erase_receipt);
    if (!tenant_of.ok()) return Fail(tenant_of.error().ToString());
    if (!*tenant_of) return Fail("no such message: " + erase_receipt);
    auto e = pipeline::EraseMessage(store, **tenant_of, erase_receipt, OperatorActor(),
                                    erase_reason, common::Clock::System().NowMicros());
    if (!e.ok()) return Fail(e.error().message());
    std::cout << "erased " << e->receipt_id << " at "
              << common::FormatRfc3339Micros(e->erased_at_us) << " (erasure record "
              << common::ToHex(e->action.leaf_hash) << ", " << e->copies_removed << " stored cop"
              << (e->copies_removed == 1 ? "y" : "ies") << " of the bytes removed)\n";
    return 0;
  }

  if (tenant_create->parsed()) {
    auto st = admin.CreateTenant(tenant_name);
    if (!st.ok()) return Fail(st.error().message());
    std::cout << "tenant " << common::TerminalSafe(tenant_name) << " created\n";
    return 0;
  }
  if (tenant_rotate_key->parsed() || tenant_rewrap->parsed() || tenant_destroy_key->parsed()) {
    // Only a tenant the database knows: a mistyped name would otherwise make a key pair that
    // wraps nothing.
    auto known = admin.ListTenants();
    if (!known.ok()) return Fail(known.error().ToString());
    if (std::find(known->begin(), known->end(), tenant_name) == known->end()) {
      return Fail("no such tenant: " + common::TerminalSafe(tenant_name));
    }
  }
  // The tenants' key pairs: notary-signer's, asked on its admin socket (the only one that
  // rotates and destroys), or the files of notaryd's data folder.
  std::unique_ptr<vault::KeyHolder> keks;
  if (tenant_rotate_key->parsed() || tenant_rewrap->parsed() || tenant_destroy_key->parsed()) {
    if (!rotate_signer.empty()) {
      auto path = signer::ParseSignerAddress(rotate_signer);
      if (!path.ok()) return Fail(path.error().ToString(), 2);
      keks = std::make_unique<signer::Client>(signer::ClientOptions{*path + ".admin"});
    } else {
      // A folder without the tenant's pair is not where its mail is wrapped (notary-signer
      // holds it, or another data folder): making a pair here would wrap nothing, and a
      // re-wrap for it would wrap the mail for a pair notaryd does not have.
      const std::string dir = data_dir + "/keks.d";
      bool has_pair = false;
      std::error_code ec;
      const std::string prefix = tenant_name + ".kek.";
      for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
        // "<tenant>.kek.<epoch>", not another tenant's whose name begins with this one's
        // ("acme.kek" has "acme.kek.kek.1"), nor a file being written aside.
        const std::string name = e.path().filename().string();
        has_pair =
            has_pair || (name.size() > prefix.size() && name.rfind(prefix, 0) == 0 &&
                         name.find_first_not_of("0123456789", prefix.size()) == std::string::npos);
      }
      if (!has_pair) {
        return Fail("no key pair of " + common::TerminalSafe(tenant_name) + " in " +
                        common::TerminalSafe(dir) +
                        ": give --signer when notary-signer holds the tenants' key pairs",
                    2);
      }
      auto files = vault::FileKeyHolder::Open(dir);
      if (!files.ok()) return Fail(files.error().ToString(), 2);
      keks = std::move(*files);
    }
  }
  if (tenant_rewrap->parsed() || tenant_destroy_key->parsed()) {
    // Re-wrapping updates rows and retiring locks tables: the schema owner's.
    auto owner_db = OpenOrExit(owner_url.empty() ? url : owner_url);
    storage::KeyRotationStore store(*owner_db);
    if (tenant_destroy_key->parsed()) {
      auto st = pipeline::DestroyTenantKey(store, *keks, tenant_name, destroy_kek, OperatorActor());
      if (!st.ok()) return Fail(st.error().ToString());
      std::cout << "tenant " << common::TerminalSafe(tenant_name) << ": key pair "
                << common::TerminalSafe(destroy_kek)
                << " destroyed; no stored row was wrapped for it, and what backups and copies "
                   "hold wrapped for it no longer opens\n";
      return 0;
    }
    auto report = pipeline::RewrapTenant(store, *keks, tenant_name, OperatorActor());
    if (!report.ok()) return Fail(report.error().ToString());
    std::cout << "tenant " << common::TerminalSafe(tenant_name) << ": current key pair "
              << common::TerminalSafe(report->current) << "\n";
    for (const auto& [table, n] : report->rewrapped) {
      std::cout << "re-wrapped\t" << table << "\t" << n << "\n";
    }
    for (const auto& [kek, n] : report->in_use) {
      std::cout << "wrapped for\t" << common::TerminalSafe(kek) << "\t" << n << "\n";
    }
    return 0;
  }
  if (tenant_rotate_key->parsed()) {
    storage::KeyRotationStore store(*db);  // its record in the log, as notaryd's role may
    auto rotated = pipeline::RotateTenantKey(store, *keks, tenant_name, OperatorActor());
    if (!rotated.ok()) return Fail(rotated.error().ToString());
    std::cout << "tenant " << common::TerminalSafe(tenant_name) << ": key pair "
              << common::TerminalSafe(rotated->kek_id)
              << " is current; notaryd wraps new mail for it within its "
                 "--tenant-key-refresh-ms (a minute by default); the earlier pairs are kept "
                 "for the mail stored before\n";
    return 0;
  }
  if (tenant_list->parsed()) {
    auto t = admin.ListTenants();
    if (!t.ok()) return Fail(t.error().ToString());
    for (const auto& n : *t) std::cout << common::TerminalSafe(n) << "\n";
    return 0;
  }
  if (key_create->parsed()) {
    std::vector<std::string> scopes;
    std::stringstream ss(key_scope);
    for (std::string s; std::getline(ss, s, ',');) {
      if (!s.empty()) scopes.push_back(s);
    }
    std::optional<int64_t> expires;
    if (!key_expires.empty()) {
      expires = ParseDate(key_expires);
      if (!expires) return Fail("--expires: use YYYY-MM-DD", 2);
    }
    auto k = pipeline::GenerateApiKey(key_tenant, scopes, expires, key_label);
    if (!k.ok()) return Fail(k.error().message(), 2);
    auto st = admin.InsertApiKey(k->row);
    if (!st.ok()) return Fail(st.error().message());
    std::cout << "key_id " << k->row.key_id << " tenant " << common::TerminalSafe(key_tenant)
              << " scopes " << common::TerminalSafe(Join(scopes)) << "\n";
    std::cout << "store this key now; it is not shown again:\n";
    std::cout << k->key << "\n";
    return 0;
  }
  if (key_list->parsed()) {
    auto ks = admin.ListApiKeys(key_tenant.empty() ? std::nullopt
                                                   : std::optional<std::string>(key_tenant));
    if (!ks.ok()) return Fail(ks.error().ToString());
    const int64_t now = common::Clock::System().NowMicros();
    std::cout << "KEY_ID\tTENANT\tSCOPES\tSTATE\tCREATED\tEXPIRES\tLABEL\n";
    for (const auto& k : *ks) {
      std::string state = k.revoked_at_us                                ? "revoked"
                          : (k.expires_at_us && *k.expires_at_us <= now) ? "expired"
                                                                         : "active";
      std::cout << common::TerminalSafe(k.key_id) << "\t" << common::TerminalSafe(k.tenant) << "\t"
                << common::TerminalSafe(Join(k.scopes)) << "\t" << state << "\t"
                << common::FormatRfc3339Micros(k.created_at_us) << "\t"
                << (k.expires_at_us ? common::FormatRfc3339Micros(*k.expires_at_us) : "-") << "\t"
                << common::TerminalSafe(k.label) << "\n";
    }
    return 0;
  }
  if (key_revoke->parsed()) {
    auto st = admin.RevokeApiKey(key_id);
    if (!st.ok()) return Fail(st.error().message());
    std::cout << "revoked " << common::TerminalSafe(key_id) << "\n";
    return 0;
  }
  if (keys_list->parsed()) {
    auto listed = admin.ListSigningKeys();
    if (!listed.ok()) return Fail(listed.error().ToString());
    // Where each private key lives: the signer says for its keys; otherwise the data
    // directory's current and archived key files.
    std::optional<signer::KeyList> held;
    if (!signer_address.empty()) {
      auto path = signer::ParseSignerAddress(signer_address);
      if (!path.ok()) return Fail(path.error().message());
      signer::Client client({*path});
      auto got = client.ListKeys();
      if (!got.ok()) return Fail(got.error().ToString());
      held = std::move(*got);
    }
    auto where = [&](const storage::KeyRow& k) -> std::string {
      if (held) {
        for (const signer::KeyInfo& info : held->keys) {
          if (notary::KeyId(info.public_key) == k.key_id) return "notary-signer " + info.where;
        }
        return "-";
      }
      for (const std::string& f :
           {data_dir + "/signing_key.pem", data_dir + "/signing_key." + k.key_id + ".pem"}) {
        auto pem = pipeline::ReadTextFile(f);
        if (!pem.ok()) continue;
        auto key = notary::Ed25519Signer::FromPrivatePem(*pem);
        if (key.ok() && notary::KeyId(key->public_key()) == k.key_id) return "file " + f;
      }
      return "-";
    };
    std::cout << "KEY_ID\tALGORITHM\tFINGERPRINT\tVALID_FROM\tVALID_UNTIL\tWHERE\n";
    for (const storage::KeyRow& k : *listed) {
      std::cout << k.key_id << "\t" << k.algorithm << "\t" << k.fingerprint << "\t"
                << common::FormatRfc3339Micros(k.valid_from_us) << "\t"
                << (k.valid_until_us ? common::FormatRfc3339Micros(*k.valid_until_us) : "-") << "\t"
                << common::TerminalSafe(where(k)) << "\n";
    }
    return 0;
  }
  if (keys_rotate->parsed() && !signer_address.empty()) {
    // The signer makes the new key (in its token, when it has one) and from then on signs
    // only headers naming it; the database then closes the old key's validity.
    auto path = signer::ParseSignerAddress(signer_address);
    if (!path.ok()) return Fail(path.error().message());
    // Rotation is asked on the operator's socket (mode 0600), never on notaryd's.
    signer::Client client({*path + ".admin"});
    auto rotated = client.RotateKey();
    if (!rotated.ok()) return Fail(rotated.error().ToString());
    const signer::KeyInfo* current = rotated->Current("log");
    if (current == nullptr) return Fail("notary-signer lists no current key after rotating");
    const std::string id = notary::KeyId(current->public_key);
    storage::KeyRow row;
    row.key_id = id;
    row.algorithm = "ed25519";
    row.public_key.assign(current->public_key.begin(), current->public_key.end());
    row.public_pem = notary::Ed25519PublicPem(current->public_key);
    row.fingerprint = notary::Fingerprint(current->public_key);
    if (auto st = admin.InsertSigningKey(row); !st.ok()) return Fail(st.error().ToString());
    if (auto st = admin.RetireSigningKeysExcept(id); !st.ok()) return Fail(st.error().ToString());
    std::cout << "new signing key " << id << " fingerprint " << row.fingerprint << " in "
              << common::TerminalSafe(current->where) << "\n";
    return 0;
  }
  if (keys_rotate->parsed()) {
    // Only a notary that signs with this data directory's key file may rotate it: on a
    // notary-signer deployment a new file here would retire the signer's key in the database
    // while notaryd goes on signing with it, and its blocks would stop verifying.
    {
      auto listed = admin.ListSigningKeys();
      if (!listed.ok()) return Fail(listed.error().ToString());
      std::string file_id;
      if (auto pem = pipeline::ReadTextFile(data_dir + "/signing_key.pem"); pem.ok()) {
        if (auto key = notary::Ed25519Signer::FromPrivatePem(*pem); key.ok()) {
          file_id = notary::KeyId(key->public_key());
        }
      }
      for (const storage::KeyRow& k : *listed) {
        if (!k.valid_until_us && k.key_id != file_id) {
          return Fail("the notary signs with key " + k.key_id + ", which is not " + data_dir +
                      "/signing_key.pem: with notary-signer, use keys --signer unix:PATH rotate");
        }
      }
    }
    // The key file is replaced atomically (write aside, then rename), so a running sealer
    // never sees it missing or half-written; the old private key is kept beside it.
    const std::string path = data_dir + "/signing_key.pem";
    if (pipeline::FileExists(path)) {
      auto pem = pipeline::ReadTextFile(path);
      if (!pem.ok()) return Fail(pem.error().message());
      auto old = notary::Ed25519Signer::FromPrivatePem(*pem);
      if (!old.ok()) return Fail("the current signing key is unreadable");
      const std::string archive =
          data_dir + "/signing_key." + notary::KeyId(old->public_key()) + ".pem";
      if (!pipeline::FileExists(archive)) {
        if (auto st = pipeline::WriteSecretFile(archive, *pem); !st.ok())
          return Fail(st.error().message());
      }
    }
    auto signer = notary::Ed25519Signer::Generate();
    if (!signer.ok()) return Fail(signer.error().ToString());
    auto pem = signer->PrivatePem();
    if (!pem.ok()) return Fail(pem.error().ToString());
    const std::string tmp = path + ".new";
    std::filesystem::remove(tmp);
    if (auto st = pipeline::WriteSecretFile(tmp, *pem); !st.ok()) return Fail(st.error().message());
    auto registered = pipeline::LoadOrCreateSigningKey(data_dir, tmp, admin);
    if (!registered.ok()) return Fail(registered.error().ToString());
    std::error_code ec;
    std::filesystem::rename(tmp, path, ec);
    if (ec) return Fail("cannot install the new key: " + ec.message());
    const std::string id = notary::KeyId(signer->public_key());
    auto st = admin.RetireSigningKeysExcept(id);
    if (!st.ok()) return Fail(st.error().ToString());
    std::cout << "new signing key " << id << " fingerprint "
              << notary::Fingerprint(signer->public_key()) << "\n";
    return 0;
  }
  if (audit->parsed()) {
    pipeline::AuditOptions options;
    options.canonical = canonical;
    options.progress = !quiet && isatty(2);
    options.workers = workers;
    std::unique_ptr<vault::KeyHolder> holder;
    if (!audit_signer.empty() && !audit_data_dir.empty()) {
      return Fail("give --signer or --data-dir, not both", 2);
    }
    if (!audit_signer.empty()) {
      auto path = signer::ParseSignerAddress(audit_signer);
      if (!path.ok()) return Fail(path.error().ToString(), 2);
      holder = std::make_unique<signer::Client>(signer::ClientOptions{*path});
    } else if (!audit_data_dir.empty()) {
      auto files = vault::FileKeyHolder::Open(audit_data_dir + "/keks.d");
      if (!files.ok()) return Fail(files.error().ToString(), 2);
      holder = std::move(*files);
    }
    std::unique_ptr<vault::Wrapper> wrapper;
    if (holder) {
      wrapper = std::make_unique<vault::Wrapper>(*holder);
      options.wrapper = wrapper.get();
    }
    return pipeline::RunAudit(*db, options, std::cout, std::cerr);
  }
  return Fail("nothing to do", 2);
}
