#include "config.h"

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdlib>
#include <iostream>

#include "common/cidr.h"
#include "common/utf8.h"

namespace notaryd {

common::Result<std::pair<std::string, uint16_t>> ParseHostPort(const std::string& s) {
  std::string host, port;
  if (!s.empty() && s[0] == '[') {
    auto close = s.find(']');
    if (close == std::string::npos || close + 1 >= s.size() || s[close + 1] != ':') {
      return common::Error::InvalidInput("expected [address]:port");
    }
    host = s.substr(1, close - 1);
    port = s.substr(close + 2);
  } else {
    auto colon = s.rfind(':');
    if (colon == std::string::npos) return common::Error::InvalidInput("expected host:port");
    host = s.substr(0, colon);
    port = s.substr(colon + 1);
  }
  if (host.empty() || port.empty() || port.size() > 5 ||
      port.find_first_not_of("0123456789") != std::string::npos) {
    return common::Error::InvalidInput("expected host:port");
  }
  unsigned long p = std::stoul(port);
  if (p > 65535) return common::Error::InvalidInput("port out of range");
  return std::make_pair(host, static_cast<uint16_t>(p));
}

namespace {

CLI::Validator HostPort() {
  return CLI::Validator(
      [](std::string& s) -> std::string {
        auto r = ParseHostPort(s);
        return r.ok() ? "" : r.error().message() + ": " + s;
      },
      "HOST:PORT");
}

CLI::Validator CidrValidator() {
  return CLI::Validator(
      [](std::string& s) -> std::string {
        return common::Cidr::Parse(s).ok() ? "" : "not a CIDR network: " + s;
      },
      "CIDR");
}

std::string HostName() {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0) return "notary";
  return buf;
}

}  // namespace

Config ParseConfigOrExit(int argc, char** argv) {
  Config c;
  CLI::App app{"notaryd: the e-mail evidence notary (SMTP and HTTP intake, sealing, evidence)"};
  app.set_config("--config", "", "Read options from this INI/TOML file (flags and NOTARY_* win)");
  app.option_defaults()->always_capture_default();
  app.add_option("--database-url", c.database_url, "libpq URL notaryd uses")
      ->envname("NOTARY_DATABASE_URL");
  app.add_option("--owner-database-url", c.owner_database_url,
                 "libpq URL of the schema owner, for migrations (default: --database-url)")
      ->envname("NOTARY_OWNER_DATABASE_URL");
  app.add_option("--read-database-url", c.read_database_url,
                 "libpq URL of a read replica (a standby: target_session_attrs=prefer-standby) "
                 "for messages, search, evidence, blocks, proofs and tiles; a read goes there only "
                 "once it has replayed everything the primary acknowledged before the read")
      ->envname("NOTARY_READ_DATABASE_URL");
  app.add_option("--read-max-wait-ms", c.read_max_wait_ms,
                 "How long a read waits for the replica to catch up before the primary answers it")
      ->envname("NOTARY_READ_MAX_WAIT_MS")
      ->check(CLI::Range(0u, 10000u));
  app.add_option("--smtp-listen", c.smtp_listen,
                 "SMTP listener address (port 0: any free port, reported in the "
                 "event=listening line on stderr)")
      ->envname("NOTARY_SMTP_LISTEN")
      ->check(HostPort());
  app.add_option("--http-listen", c.http_listen,
                 "HTTP listener address (port 0: any free port, reported likewise)")
      ->envname("NOTARY_HTTP_LISTEN")
      ->check(HostPort());
  app.add_option("--data-dir", c.data_dir, "Keys and generated certificates")
      ->envname("NOTARY_DATA_DIR");
  app.add_option("--node-name", c.node_name, "This node's name in receipts (default: host name)")
      ->envname("NOTARY_NODE_NAME");
  app.add_option("--origin", c.origin, "Checkpoint origin line (default: notary.local/<node>)")
      ->envname("NOTARY_ORIGIN");
  app.add_option("--log-level", c.log_level, "trace, debug, info, warn, error")
      ->envname("NOTARY_LOG_LEVEL")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error"}));
  app.add_option("--smtp-allow", c.smtp_allow, "Client networks allowed to relay (repeatable)")
      ->envname("NOTARY_SMTP_ALLOW")
      ->delimiter(',')
      ->check(CidrValidator());
  app.add_option("--smtp-journal-from", c.smtp_journal_from,
                 "Trusted journaling sources: SMTP client networks whose Exchange journal reports "
                 "are unwrapped (repeatable; default none: reports are notarised as received)")
      ->envname("NOTARY_SMTP_JOURNAL_FROM")
      ->delimiter(',')
      ->check(CidrValidator());
  app.add_option("--max-message-bytes", c.max_message_bytes, "Largest message accepted")
      ->envname("NOTARY_MAX_MESSAGE_BYTES")
      ->check(CLI::Range(1024ull, 1ull << 34));
  app.add_option("--max-recipients", c.max_recipients, "Recipients per SMTP transaction")
      ->envname("NOTARY_MAX_RECIPIENTS")
      ->check(CLI::Range(1u, 100000u));
  app.add_option("--max-sessions", c.max_sessions, "Concurrent SMTP sessions")
      ->envname("NOTARY_MAX_SESSIONS")
      ->check(CLI::Range(1u, 100000u));
  app.add_option("--max-sessions-per-ip", c.max_sessions_per_ip,
                 "Concurrent SMTP sessions from one client address")
      ->envname("NOTARY_MAX_SESSIONS_PER_IP")
      ->check(CLI::Range(1u, 100000u));
  app.add_option("--smtp-memory-budget", c.smtp_max_buffered_bytes,
                 "Bytes of messages being received over SMTP, all sessions together (past it: "
                 "452 4.3.1)")
      ->envname("NOTARY_SMTP_MEMORY_BUDGET")
      ->check(CLI::Range(1ull << 20, 1ull << 40));
  app.add_option("--smtp-between-messages-timeout", c.smtp_between_messages_timeout_s,
                 "Seconds a session may spend outside a transaction (from connect or the last "
                 "message to the next MAIL)")
      ->envname("NOTARY_SMTP_BETWEEN_MESSAGES_TIMEOUT")
      ->check(CLI::Range(1u, 86400u));
  app.add_option("--smtp-idle-timeout", c.smtp_idle_timeout_s, "Seconds of client silence")
      ->envname("NOTARY_SMTP_IDLE_TIMEOUT")
      ->check(CLI::Range(1u, 86400u));
  app.add_option("--smtp-transaction-timeout", c.smtp_transaction_timeout_s,
                 "Seconds for one whole SMTP transaction")
      ->envname("NOTARY_SMTP_TRANSACTION_TIMEOUT")
      ->check(CLI::Range(1u, 86400u));
  app.add_option("--tls-cert", c.tls_cert, "PEM certificate for HTTPS and STARTTLS")
      ->envname("NOTARY_TLS_CERT")
      ->check(CLI::ExistingFile);
  app.add_option("--tls-key", c.tls_key, "PEM key for HTTPS and STARTTLS")
      ->envname("NOTARY_TLS_KEY")
      ->check(CLI::ExistingFile);
  app.add_option("--smtp-tls-cert", c.smtp_tls_cert, "PEM certificate for STARTTLS only")
      ->envname("NOTARY_SMTP_TLS_CERT")
      ->check(CLI::ExistingFile);
  app.add_option("--smtp-tls-key", c.smtp_tls_key, "PEM key for STARTTLS only")
      ->envname("NOTARY_SMTP_TLS_KEY")
      ->check(CLI::ExistingFile);
  app.add_option("--http-threads", c.http_threads, "HTTP worker threads")
      ->envname("NOTARY_HTTP_THREADS")
      ->check(CLI::Range(1u, 256u));
  app.add_option("--http-max-connections", c.http_max_connections,
                 "Open HTTP connections; past it new ones get 503")
      ->envname("NOTARY_HTTP_MAX_CONNECTIONS")
      ->check(CLI::Range(1u, 1000000u));
  app.add_option("--http-max-connections-per-ip", c.http_max_connections_per_ip,
                 "Open HTTP connections from one address; past it new ones get 429")
      ->envname("NOTARY_HTTP_MAX_CONNECTIONS_PER_IP")
      ->check(CLI::Range(1u, 1000000u));
  app.add_option("--http-header-timeout", c.http_header_timeout_s,
                 "Seconds for a whole HTTP request head to arrive (then 408)")
      ->envname("NOTARY_HTTP_HEADER_TIMEOUT")
      ->check(CLI::Range(1u, 3600u));
  app.add_option("--http-keepalive-timeout", c.http_keepalive_timeout_s,
                 "Seconds an idle kept-alive HTTP connection waits for its next request")
      ->envname("NOTARY_HTTP_KEEPALIVE_TIMEOUT")
      ->check(CLI::Range(1u, 3600u));
  app.add_option("--http-body-timeout", c.http_body_timeout_s,
                 "Seconds of grace for an HTTP request body, then at least 16 KiB/s (then 408)")
      ->envname("NOTARY_HTTP_BODY_TIMEOUT")
      ->check(CLI::Range(1u, 86400u));
  app.add_option("--http-max-waiters", c.http_max_waiters,
                 "Requests waiting for a seal (evidence ?wait=) at once; past it 429 "
                 "(0: half of --http-threads)")
      ->envname("NOTARY_HTTP_MAX_WAITERS")
      ->check(CLI::Range(0u, 256u));
  app.add_option("--evidence-wait-recheck-ms", c.evidence_wait_recheck_ms,
                 "A waiting evidence request re-reads its receipt this often even when no "
                 "seal notification came")
      ->envname("NOTARY_EVIDENCE_WAIT_RECHECK_MS")
      ->check(CLI::Range(100u, 3600000u));
  app.add_flag("--public-tsa", c.public_tsa,
               "Answer POST /v1/tsa without an API key (default: the tsa scope is needed)")
      ->envname("NOTARY_PUBLIC_TSA");
  app.add_option("--db-connections", c.db_connections, "Database connection pool size")
      ->envname("NOTARY_DB_CONNECTIONS")
      ->check(CLI::Range(2u, 500u));
  app.add_option("--batch-interval-ms", c.batch_interval_ms, "Seal a block at least this often")
      ->envname("NOTARY_BATCH_INTERVAL_MS")
      ->check(CLI::Range(10u, 3600000u));
  app.add_option("--batch-max", c.batch_max, "Seal as soon as this many leaves wait")
      ->envname("NOTARY_BATCH_MAX")
      ->check(CLI::Range(1u, 1000000u));
  app.add_option("--tsa-url", c.tsa_urls, "External RFC 3161 TSA (repeatable)")
      ->envname("NOTARY_TSA_URL")
      ->delimiter(',');
  app.add_option("--tsa-ca", c.tsa_cas,
                 "CA certificates (PEM) of the external TSAs (repeatable: one per authority)")
      ->envname("NOTARY_TSA_CA")
      ->delimiter(',')
      ->check(CLI::ExistingFile);
  app.add_option("--builtin-tsa", c.builtin_tsa,
                 "The notary's own TSA stamps every block too (true/false; counts toward the "
                 "quorum)")
      ->envname("NOTARY_BUILTIN_TSA");
  app.add_option("--tsa-quorum", c.tsa_quorum,
                 "Time-stamp tokens a block needs before evidence bundles are handed out")
      ->envname("NOTARY_TSA_QUORUM")
      ->check(CLI::Range(1u, 100u));
  app.add_option("--tsa-key", c.tsa_key, "Built-in TSA key (PEM); generated when absent")
      ->envname("NOTARY_TSA_KEY")
      ->check(CLI::ExistingFile);
  app.add_option("--tsa-cert", c.tsa_cert, "Built-in TSA certificate (PEM)")
      ->envname("NOTARY_TSA_CERT")
      ->check(CLI::ExistingFile);
  app.add_option("--tsa-chain", c.tsa_chain, "Built-in TSA certificate chain (PEM)")
      ->envname("NOTARY_TSA_CHAIN")
      ->check(CLI::ExistingFile);
  app.add_option("--tsa-policy", c.tsa_policy,
                 "Built-in TSA policy OID (default: see docs/timestamping.md)")
      ->envname("NOTARY_TSA_POLICY");
  app.add_option("--operator-name", c.operator_name,
                 "The operator's legal name, shown on every certificate")
      ->envname("NOTARY_OPERATOR_NAME");
  app.add_option("--operator-address", c.operator_address,
                 "The operator's postal address, shown on every certificate")
      ->envname("NOTARY_OPERATOR_ADDRESS");
  app.add_option("--operator-contact", c.operator_contact,
                 "How to reach the operator (e-mail, telephone), shown on every certificate")
      ->envname("NOTARY_OPERATOR_CONTACT");
  app.add_option("--document-cert", c.document_cert,
                 "PEM certificate (then its chain) that signs certificate.pdf")
      ->envname("NOTARY_DOCUMENT_CERT")
      ->check(CLI::ExistingFile);
  app.add_option("--document-key", c.document_key,
                 "Private key of --document-cert (PEM, mode 0600)")
      ->envname("NOTARY_DOCUMENT_KEY")
      ->check(CLI::ExistingFile);
  app.add_option("--signer", c.signer,
                 "notary-signer's socket (unix:/path): it holds the signing keys, not notaryd");
  app.add_option("--witness", c.witnesses,
                 "Witness that cosigns checkpoints, VKEY=URL (C2SP tlog-witness; repeatable)")
      ->envname("NOTARY_WITNESS")
      ->delimiter(',');
  app.add_option("--witness-quorum", c.witness_quorum,
                 "Cosignatures a checkpoint needs before it is published (default: all)")
      ->envname("NOTARY_WITNESS_QUORUM")
      ->check(CLI::Range(0u, 100u));
  app.add_option("--witness-timeout-ms", c.witness_timeout_ms,
                 "How long one witness may take to answer")
      ->envname("NOTARY_WITNESS_TIMEOUT_MS")
      ->check(CLI::Range(100u, 600000u));
  app.add_option("--checkpoint-interval-ms", c.checkpoint_interval_ms,
                 "Ask the witnesses to cosign the newest checkpoint at least this often")
      ->envname("NOTARY_CHECKPOINT_INTERVAL_MS")
      ->check(CLI::Range(100u, 86400000u));
  app.add_option("--sender-checks", c.sender_checks,
                 "After storing a message, check its DKIM signatures, ARC chain, SPF and DMARC "
                 "against DNS, archive the answers and seal the results (docs/sender-evidence.md; "
                 "on by default)")
      ->envname("NOTARY_SENDER_CHECKS");
  app.add_option("--dns-resolver", c.dns_resolver,
                 "Resolver for the sender checks, HOST:PORT (default: /etc/resolv.conf's)")
      ->envname("NOTARY_DNS_RESOLVER");
  app.add_option("--dns-trust-anchor", c.dns_trust_anchor,
                 "DNSSEC trust anchors (DS or DNSKEY records, zone-file format; default: the "
                 "root key of dns-root-data when installed)")
      ->envname("NOTARY_DNS_TRUST_ANCHOR")
      ->check(CLI::ExistingFile);
  app.add_option("--dns-timeout-ms", c.dns_timeout_ms,
                 "How long one DNS lookup may take before it is recorded as a temperror")
      ->envname("NOTARY_DNS_TIMEOUT_MS")
      ->check(CLI::Range(50u, 60000u));
  app.add_option("--sender-check-workers", c.sender_check_workers,
                 "Messages whose sender is checked at once")
      ->envname("NOTARY_SENDER_CHECK_WORKERS")
      ->check(CLI::Range(1u, 256u));
  app.add_option("--sender-check-max-delay-s", c.sender_check_max_delay_s,
                 "Messages received this long before start-up are not checked (DNS now is not "
                 "DNS at their reception)")
      ->envname("NOTARY_SENDER_CHECK_MAX_DELAY_S")
      ->check(CLI::Range(1u, 604800u));
  app.add_option("--retention-sweep-interval-s", c.retention_sweep_interval_s,
                 "How often to erase the messages past their tenant's retention period that no "
                 "legal hold covers (docs/retention.md); 0: never on this node")
      ->envname("NOTARY_RETENTION_SWEEP_INTERVAL_S")
      ->check(CLI::Range(0u, 604800u));
  app.add_option("--tenant-key-refresh-ms", c.tenant_key_refresh_ms,
                 "How long a tenant's public key is kept before it is asked again of the key "
                 "holder: a rotation (notaryctl tenant rotate-key) reaches new mail within it; "
                 "0: asked for every group of messages")
      ->envname("NOTARY_TENANT_KEY_REFRESH_MS")
      ->check(CLI::Range(0u, 3600000u));
  app.add_option("--index-interval-ms", c.index_interval_ms,
                 "How often the indexer copies new receipts into the search index when it has "
                 "caught up (docs/retention.md, \"The search index\"); 0: never on this node")
      ->envname("NOTARY_INDEX_INTERVAL_MS")
      ->check(CLI::Range(0u, 60000u));
  app.add_option("--commit-answer-timeout-s", c.commit_answer_timeout_s,
                 "Answer a message whose commit the database has not confirmed after this long "
                 "with 451 (SMTP) or 503 (HTTP): the commit may still complete, so a resend is "
                 "at worst a duplicate (e.g. a primary waiting for a synchronous standby that is "
                 "gone, docs/high-availability.md); 0: wait as long as the commit takes")
      ->envname("NOTARY_COMMIT_ANSWER_TIMEOUT_S")
      ->check(CLI::Range(0u, 3600u));
  app.add_option("--signing-key", c.signing_key, "Ed25519 block signing key (PEM)")
      ->envname("NOTARY_SIGNING_KEY")
      ->check(CLI::ExistingFile);
  app.add_option("--seal", c.seal, "Take part in sealing blocks")->envname("NOTARY_SEAL");
  app.add_option("--migrate", c.migrate, "Apply database migrations at start-up")
      ->envname("NOTARY_MIGRATE");
  app.add_option("--rate-limit", c.rate_limit_per_minute, "API requests per key per minute")
      ->envname("NOTARY_RATE_LIMIT")
      ->check(CLI::Range(1u, 1000000u));
  app.add_option("--default-tenant", c.default_tenant, "Tenant for SMTP mail no rule matches")
      ->envname("NOTARY_DEFAULT_TENANT");
  app.add_option("--tenant-rule", c.tenant_rules,
                 "SMTP routing rule: domain:<recipient domain>=<tenant>, net:<CIDR>=<tenant> or "
                 "listener:<name>=<tenant> (repeatable, first match wins)")
      ->envname("NOTARY_TENANT_RULE")
      ->delimiter(';');
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    std::exit(code == 0 ? 0 : 2);
  }
  if (c.database_url.empty()) {
    std::cerr << "notaryd: --database-url (or NOTARY_DATABASE_URL) is required\n";
    std::exit(2);
  }
  if (c.owner_database_url.empty()) c.owner_database_url = c.database_url;
  if (c.node_name.empty()) c.node_name = HostName();
  if (c.origin.empty()) c.origin = "notary.local/" + c.node_name;
  // Both are bound into every leaf record (version 2), whose fields hold at most 255 bytes.
  if (c.node_name.size() > 255 || c.smtp_listen.size() > 250) {
    std::cerr << "notaryd: --node-name and --smtp-listen are at most 255 and 250 bytes\n";
    std::exit(2);
  }
  if (c.tls_cert.empty() != c.tls_key.empty()) {
    std::cerr << "notaryd: --tls-cert and --tls-key go together\n";
    std::exit(2);
  }
  // Printed on every certificate: UTF-8 text of one line, checked now rather than failing
  // each export later.
  for (const std::string* field : {&c.operator_name, &c.operator_address, &c.operator_contact}) {
    if (field->size() > 500 || common::SanitizeUtf8(*field) != *field ||
        std::any_of(field->begin(), field->end(),
                    [](char ch) { return static_cast<unsigned char>(ch) < 0x20 || ch == 0x7f; })) {
      std::cerr << "notaryd: --operator-name, --operator-address and --operator-contact are "
                   "UTF-8 text of one line, at most 500 bytes each\n";
      std::exit(2);
    }
  }
  if (c.smtp_tls_cert.empty()) {
    c.smtp_tls_cert = c.tls_cert;
    c.smtp_tls_key = c.tls_key;
  }
  return c;
}

}  // namespace notaryd
