// notaryd configuration: flags over NOTARY_* environment variables over an optional
// config file (INI/TOML, `--config FILE`). Every option is listed by `notaryd --help`.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/result.h"

namespace notaryd {

struct Config {
  std::string database_url;        // what notaryd uses (notary_app)
  std::string owner_database_url;  // migrations run as this role; defaults to database_url
  // A standby for the read routes (empty: the primary reads too), and how long a read waits
  // for it to replay what the primary acknowledged before it reads from the primary instead.
  std::string read_database_url;
  uint32_t read_max_wait_ms = 500;
  std::string smtp_listen = "127.0.0.1:2525";
  std::string http_listen = "127.0.0.1:8080";
  std::string data_dir = "var/notary";
  std::string node_name;  // defaults to the host name
  std::string origin;     // checkpoint origin line; defaults to "notary.local/<node>"
  std::string log_level = "info";
  std::vector<std::string> smtp_allow = {"127.0.0.0/8", "::1/128"};
  std::vector<std::string> smtp_journal_from;  // trusted journaling sources (CIDR)
  uint64_t max_message_bytes = 50ull << 20;
  uint32_t max_recipients = 1000;
  uint32_t max_sessions = 2000;
  uint32_t max_sessions_per_ip = 100;
  uint64_t smtp_max_buffered_bytes = 1ull << 30;
  uint32_t smtp_between_messages_timeout_s = 300;
  uint32_t smtp_idle_timeout_s = 300;
  uint32_t smtp_transaction_timeout_s = 1800;
  std::string tls_cert, tls_key;            // HTTPS and (unless set apart) SMTP STARTTLS
  std::string smtp_tls_cert, smtp_tls_key;  // STARTTLS only
  uint32_t http_threads = 8;
  uint32_t http_max_connections = 4096;
  uint32_t http_max_connections_per_ip = 128;
  uint32_t http_header_timeout_s = 10;
  uint32_t http_keepalive_timeout_s = 5;
  uint32_t http_body_timeout_s = 60;
  // Requests waiting for a seal (evidence ?wait=) at once; each holds a worker thread, so
  // 0 means half of http_threads (at least 1) and the other half keeps serving.
  uint32_t http_max_waiters = 0;
  uint32_t evidence_wait_recheck_ms = 5000;  // a waiter's re-read when no notification came
  bool public_tsa = false;                   // POST /v1/tsa without an API key
  uint32_t db_connections = 16;
  uint32_t batch_interval_ms = 1000;
  uint32_t batch_max = 4096;
  std::vector<std::string> tsa_urls;  // external RFC 3161 authorities
  std::vector<std::string> tsa_cas;   // CA files for the external TSAs' certificates
  bool builtin_tsa = true;            // the notary's own TSA stamps every block too
  uint32_t tsa_quorum = 1;            // tokens a block needs before its bundles are handed out
  std::string tsa_key, tsa_cert, tsa_chain;  // the built-in TSA's key and certificate
  std::string tsa_policy;                    // empty: notary::kDefaultTsaPolicyOid
  std::string signing_key;                   // Ed25519 PEM; generated in data_dir when empty
  std::string signer;                        // "unix:/path": notary-signer holds the keys
  // Who runs the notary, on every certificate (docs/cases.md, "The certificate").
  std::string operator_name, operator_address, operator_contact;
  // The operator's document certificate (PEM chain) and key: what signs certificate.pdf.
  std::string document_cert, document_key;
  // Independent witnesses (C2SP tlog-witness): "VKEY=URL", the cosigner vkey (type 0x04) and
  // the submission prefix. With witnesses, /v1/checkpoint and bundles carry only checkpoints
  // `witness_quorum` of them cosigned (0: all of them).
  std::vector<std::string> witnesses;
  uint32_t witness_quorum = 0;
  uint32_t witness_timeout_ms = 5000;
  uint32_t checkpoint_interval_ms = 10000;  // witnesses are asked at least this often
  // Sender evidence (docs/sender-evidence.md): after each message is stored, check its DKIM
  // signatures against DNS (through `dns_resolver`, "" for the system's), archive the answers
  // and seal the results as an authentication record.
  bool sender_checks = true;
  std::string dns_resolver;      // HOST:PORT
  std::string dns_trust_anchor;  // DS/DNSKEY file; "" for Debian's root key when installed
  uint32_t dns_timeout_ms = 5000;
  uint32_t sender_check_workers = 32;
  // Messages received this long before notaryd started are not checked.
  uint32_t sender_check_max_delay_s = 3600;
  // How often the retention sweeper erases what the tenants' periods expired; 0: never.
  uint32_t retention_sweep_interval_s = 3600;
  // How often the indexer looks for receipts to index once it has caught up; 0: never here.
  uint32_t index_interval_ms = 200;
  // How long a tenant's public key is kept before the key holder is asked again (a rotation
  // reaches new mail within it); 0: asked for every group.
  uint32_t tenant_key_refresh_ms = 60'000;
  uint32_t commit_answer_timeout_s = 60;
  bool seal = true;     // take part in sealing (one sealer at a time per database)
  bool migrate = true;  // apply migrations at start-up
  uint32_t rate_limit_per_minute = 600;
  std::string default_tenant = "default";
  std::vector<std::string> tenant_rules;  // "domain:example.com=tenant", "net:10.0.0.0/8=tenant"
};

// Parses argv (and the environment). On --help prints usage and exits 0; on an invalid value
// prints the option's name and exits 2.
Config ParseConfigOrExit(int argc, char** argv);

// Splits "host:port" / "[v6]:port".
common::Result<std::pair<std::string, uint16_t>> ParseHostPort(const std::string& s);

}  // namespace notaryd
