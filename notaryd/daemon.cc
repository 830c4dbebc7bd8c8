#include "daemon.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "common/metrics.h"
#include "dns/resolver.h"
#include "http/api.h"
#include "http/tsa_transport.h"
#include "http/witness_transport.h"
#include "log/cosignature.h"
#include "pipeline/auth.h"
#include "pipeline/checkpoint_publisher.h"
#include "pipeline/document_key.h"
#include "pipeline/indexer.h"
#include "pipeline/ingest.h"
#include "pipeline/key_files.h"
#include "pipeline/retention.h"
#include "pipeline/sealer.h"
#include "pipeline/sender_checker.h"
#include "pipeline/tenant_router.h"
#include "pipeline/tsa_service.h"
#include "signer/client.h"
#include "smtp/server.h"
#include "storage/admin_store.h"
#include "storage/authentication_store.h"
#include "storage/case_store.h"
#include "storage/chain_store.h"
#include "storage/erasure_store.h"
#include "storage/journal_store.h"
#include "storage/migrations.h"
#include "storage/read_replica.h"
#include "storage/receipt_index.h"
#include "storage/receipt_store.h"
#include "storage/retention_store.h"

namespace notaryd {

struct Daemon::Parts {
  common::Metrics metrics;
  std::unique_ptr<storage::Database> db;
  // Encryption at rest (docs/retention.md): the tenants' key pairs are in the signer (a
  // connection of its own), or without one in <data-dir>/keks.d; before the stores using them.
  std::unique_ptr<vault::KeyHolder> key_holder;
  std::unique_ptr<vault::Wrapper> wrapper;
  std::unique_ptr<storage::ReceiptStore> receipts;
  std::unique_ptr<storage::AdminStore> admin;
  std::unique_ptr<storage::ChainStore> chain;
  std::unique_ptr<storage::JournalStore> journal;
  std::unique_ptr<signer::Client> signer;  // before the TSA and the sealer, which use it
  // A connection of its own for the TSA: POST /v1/tsa under load must not queue the sealer.
  std::unique_ptr<signer::Client> tsa_signer;
  std::unique_ptr<signer::Client> document_signer;  // certificate.pdf, with --signer
  std::unique_ptr<pipeline::TsaService> tsa;
  pipeline::CertificateOptions certificate;  // certificate.pdf of a case's production
  std::unique_ptr<pipeline::TenantRouter> router;
  std::unique_ptr<pipeline::Authenticator> auth;
  std::unique_ptr<pipeline::Ingestor> ingestor;
  std::unique_ptr<pipeline::Sealer> sealer;
  std::unique_ptr<pipeline::CheckpointPublisher> publisher;  // with --witness
  // With --sender-checks.
  std::unique_ptr<dns::Resolver> resolver;
  std::unique_ptr<storage::AuthenticationStore> authentications;
  std::unique_ptr<pipeline::SenderChecker> sender_checker;
  std::unique_ptr<storage::HoldStore> holds;
  std::unique_ptr<storage::ErasureStore> erasures;
  std::unique_ptr<storage::RetentionStore> retention;
  std::unique_ptr<storage::CaseStore> cases;
  std::unique_ptr<storage::ExportProgressStore> export_progress;
  std::unique_ptr<pipeline::RetentionSweeper> sweeper;  // unless --retention-sweep-interval-s 0
  std::unique_ptr<storage::ReceiptIndex> index;
  std::unique_ptr<pipeline::Indexer> indexer;  // unless --index-interval-ms 0
  // With --read-database-url: the replica's pool, its gate and the stores the read routes use
  // over it.
  std::unique_ptr<storage::Database> read_db;
  std::unique_ptr<storage::ReadReplica> read_gate;
  std::unique_ptr<storage::ReceiptStore> read_receipts;
  std::unique_ptr<storage::ChainStore> read_chain;
  std::unique_ptr<storage::AdminStore> read_admin;
  std::unique_ptr<storage::JournalStore> read_journal;
  std::unique_ptr<storage::AuthenticationStore> read_authentications;
  std::unique_ptr<storage::HoldStore> read_holds;
  std::unique_ptr<storage::ErasureStore> read_erasures;
  std::unique_ptr<http::ReplicaStores> replica;
  std::unique_ptr<smtp::SmtpServer> smtp;
  std::unique_ptr<http::HttpApi> http;
};

namespace {

// "VKEY=URL". The vkey's base64 may itself end in '=', so the split is at "=http".
common::Result<pipeline::WitnessConfig> ParseWitness(const std::string& spec) {
  size_t eq = spec.find("=http://");
  if (eq == std::string::npos) eq = spec.find("=https://");
  if (eq == std::string::npos) {
    return common::Error::InvalidInput("--witness wants VKEY=URL (http:// or https://): " + spec);
  }
  auto key = notary::ParseCosignerKey(spec.substr(0, eq));
  if (!key.ok()) {
    return common::Error::InvalidInput("--witness " + spec.substr(0, eq) + ": " +
                                       key.error().message());
  }
  std::string url = spec.substr(eq + 1);
  while (!url.empty() && url.back() == '/') url.pop_back();
  return pipeline::WitnessConfig{*key, url};
}

// The built-in TSA's certificates from notary-signer, kept in the data directory (public) so
// that notaryd can start, take mail and serve them while the signer is down.
common::Result<std::string> SignerTsaChain(signer::Client& client, const std::string& data_dir) {
  RETURN_IF_ERROR(pipeline::EnsurePrivateDir(data_dir + "/tsa"));
  const std::string cache = data_dir + "/tsa/signer-chain.pem";
  auto listed = client.ListKeys();
  if (listed.ok()) {
    if (!listed->tsa_chain_pem) {
      return common::Error::InvalidInput(
          "notary-signer holds no TSA key (--no-tsa): give notaryd --tsa-key and --tsa-cert");
    }
    auto cached = pipeline::ReadTextFile(cache);
    if (!cached.ok() || *cached != *listed->tsa_chain_pem) {
      const std::string tmp = cache + ".new";
      std::filesystem::remove(tmp);
      RETURN_IF_ERROR(pipeline::WritePublicFile(tmp, *listed->tsa_chain_pem));
      std::error_code ec;
      std::filesystem::rename(tmp, cache, ec);
      if (ec) return common::Error::Unavailable("cannot write " + cache + ": " + ec.message());
    }
    return *listed->tsa_chain_pem;
  }
  auto cached = pipeline::ReadTextFile(cache);
  if (!cached.ok()) {
    return common::Error::Unavailable(
        "notary-signer is unreachable and no TSA certificate from it is kept yet (" +
        listed.error().message() + "): start notary-signer first");
  }
  spdlog::warn("event=signer_unreachable_at_start note=\"sealing waits for it\" error=\"{}\"",
               listed.error().message());
  return *cached;
}

}  // namespace

Daemon::Daemon(std::unique_ptr<Parts> parts) : parts_(std::move(parts)) {}
Daemon::~Daemon() { Stop(); }

uint16_t Daemon::smtp_port() const { return parts_->smtp ? parts_->smtp->port() : 0; }
uint16_t Daemon::http_port() const { return parts_->http ? parts_->http->port() : 0; }

common::Result<std::unique_ptr<Daemon>> Daemon::Start(const Config& c) {
  auto p = std::make_unique<Parts>();
  if (c.migrate) {
    ASSIGN_OR_RETURN(const auto applied,
                     storage::Migrate(c.owner_database_url, storage::BuiltinMigrations()));
    spdlog::info("event=migrations_applied count={}", applied);
  }
  ASSIGN_OR_RETURN(p->db, storage::Database::Open({c.database_url, c.db_connections}));
  if (!c.signer.empty()) {
    ASSIGN_OR_RETURN(std::string socket_path, signer::ParseSignerAddress(c.signer));
    p->key_holder = std::make_unique<signer::Client>(signer::ClientOptions{socket_path});
  } else {
    ASSIGN_OR_RETURN(p->key_holder, pipeline::OpenLocalKeyHolder(c.data_dir));
  }
  p->wrapper = std::make_unique<vault::Wrapper>(*p->key_holder,
                                                std::chrono::milliseconds(c.tenant_key_refresh_ms));
  p->receipts = std::make_unique<storage::ReceiptStore>(*p->db, p->wrapper.get());
  p->admin = std::make_unique<storage::AdminStore>(*p->db);
  p->chain = std::make_unique<storage::ChainStore>(*p->db);

  pipeline::TsaFiles tsa_files;
  tsa_files.data_dir = c.data_dir;
  tsa_files.key = c.tsa_key;
  tsa_files.cert = c.tsa_cert;
  tsa_files.chain = c.tsa_chain;
  tsa_files.policy = c.tsa_policy;
  tsa_files.external_cas = c.tsa_cas;
  if (!c.signer.empty()) {
    if (!c.signing_key.empty()) {
      return common::Error::InvalidInput("--signer and --signing-key exclude each other");
    }
    ASSIGN_OR_RETURN(std::string socket_path, signer::ParseSignerAddress(c.signer));
    p->signer = std::make_unique<signer::Client>(signer::ClientOptions{socket_path});
    // Keys from before the move to the signer are not used any more, but still there to steal.
    for (const char* old : {"/signing_key.pem", "/tsa/tsa.key.pem", "/tsa/ca.key.pem"}) {
      if (pipeline::FileExists(c.data_dir + old)) {
        spdlog::warn(
            "event=private_key_in_data_dir file={}{} note=\"not used with --signer: move it "
            "offline (docs/signer.md)\"",
            c.data_dir, old);
      }
    }
    if (c.tsa_key.empty()) {
      ASSIGN_OR_RETURN(tsa_files.signer_chain_pem, SignerTsaChain(*p->signer, c.data_dir));
      p->tsa_signer = std::make_unique<signer::Client>(signer::ClientOptions{socket_path});
      signer::Client* client = p->tsa_signer.get();
      tsa_files.sign = [client](std::string_view attrs, std::string_view tst) {
        return client->SignTimestamp(attrs, tst);
      };
    }
  }
  ASSIGN_OR_RETURN(p->tsa, pipeline::TsaService::Create(tsa_files, http::HttpTsaTransport()));

  p->certificate.op = {c.operator_name, c.operator_address, c.operator_contact};
  if (!c.document_cert.empty() && !c.signer.empty()) {
    // notary-signer holds the key (--document-key there); notaryd keeps the certificate only.
    if (!c.document_key.empty()) {
      return common::Error::InvalidInput(
          "--document-key with --signer: give the key to notary-signer (its --document-key), "
          "not to notaryd");
    }
    ASSIGN_OR_RETURN(p->certificate.signer, pipeline::LoadDocumentChain(c.document_cert));
    ASSIGN_OR_RETURN(std::string socket_path, signer::ParseSignerAddress(c.signer));
    p->document_signer = std::make_unique<signer::Client>(signer::ClientOptions{socket_path});
    signer::Client* client = p->document_signer.get();
    p->certificate.signer.sign = [client](std::string_view attrs) {
      return client->SignDocument(attrs);
    };
    // A certificate that is not the signer's key's would only show at the first export.
    RETURN_IF_ERROR(pipeline::CheckDocumentSigner(p->certificate.signer));
  } else if (c.document_cert.empty() != c.document_key.empty()) {
    return common::Error::InvalidInput("--document-cert and --document-key go together");
  } else if (!c.document_key.empty()) {
    ASSIGN_OR_RETURN(p->certificate.signer,
                     pipeline::LoadDocumentSigner(c.document_cert, c.document_key));
  }
  if (p->certificate.signer.sign) {
    // The signature's time: an independent authority when one is configured.
    pipeline::TsaService* tsa = p->tsa.get();
    const std::string url = c.tsa_urls.empty() ? "" : c.tsa_urls.front();
    p->certificate.signature_tsa = url.empty() ? pipeline::TsaService::kLocalName : url;
    p->certificate.signer.timestamp =
        [tsa, url](const common::Hash& digest) -> common::Result<std::string> {
      ASSIGN_OR_RETURN(notary::TokenInfo token,
                       url.empty() ? tsa->StampLocal(digest) : tsa->StampExternal(url, digest));
      return token.token_der;
    };
  }

  ASSIGN_OR_RETURN(pipeline::TenantRouter router,
                   pipeline::TenantRouter::Create(c.tenant_rules, c.default_tenant));
  // A rule naming a tenant that does not exist would refuse its mail forever: refuse to start.
  ASSIGN_OR_RETURN(const std::vector<std::string> tenants, p->admin->ListTenants());
  for (const std::string& t : router.tenants()) {
    if (std::find(tenants.begin(), tenants.end(), t) == tenants.end()) {
      return common::Error::InvalidInput("tenant '" + t +
                                         "' (--default-tenant or --tenant-rule) does not exist; "
                                         "create it with notaryctl tenant create");
    }
  }
  p->router = std::make_unique<pipeline::TenantRouter>(std::move(router));
  p->auth = std::make_unique<pipeline::Authenticator>(*p->admin, c.rate_limit_per_minute);
  p->journal = std::make_unique<storage::JournalStore>(*p->db, p->wrapper.get());
  pipeline::Ingestor::Options ingest_options{c.node_name};
  ingest_options.journal_store = p->journal.get();
  ingest_options.answer_timeout = std::chrono::seconds(c.commit_answer_timeout_s);
  p->ingestor =
      std::make_unique<pipeline::Ingestor>(ingest_options, *p->receipts, *p->router, p->metrics);

  pipeline::SealerOptions so;
  so.database_url = c.database_url;
  so.data_dir = c.data_dir;
  so.signing_key_file = c.signing_key;
  so.signer = p->signer.get();
  so.origin = c.origin;
  so.node = c.node_name;
  so.batch_interval_ms = c.batch_interval_ms;
  so.batch_max = c.batch_max;
  so.tsa_urls = c.tsa_urls;
  so.builtin_tsa = c.builtin_tsa;
  so.tsa_quorum = c.tsa_quorum;
  const size_t authorities = c.tsa_urls.size() + (c.builtin_tsa ? 1 : 0);
  if (authorities == 0) {
    return common::Error::InvalidInput("--builtin-tsa=false needs at least one --tsa-url");
  }
  if (c.tsa_quorum > authorities) {
    return common::Error::InvalidInput("--tsa-quorum " + std::to_string(c.tsa_quorum) +
                                       " is more than the " + std::to_string(authorities) +
                                       " time-stamp authorities configured");
  }
  so.seal = c.seal;
  so.max_waiters = c.http_max_waiters != 0 ? c.http_max_waiters : std::max(1u, c.http_threads / 2);
  ASSIGN_OR_RETURN(p->sealer,
                   pipeline::Sealer::Create(so, *p->chain, *p->admin, *p->tsa, p->metrics));

  if (!c.witnesses.empty()) {
    pipeline::PublisherOptions po;
    for (const std::string& spec : c.witnesses) {
      ASSIGN_OR_RETURN(pipeline::WitnessConfig w, ParseWitness(spec));
      po.witnesses.push_back(std::move(w));
    }
    po.quorum = c.witness_quorum == 0 ? po.witnesses.size() : c.witness_quorum;
    po.interval = std::chrono::milliseconds(c.checkpoint_interval_ms);
    po.timeout = std::chrono::milliseconds(c.witness_timeout_ms);
    ASSIGN_OR_RETURN(p->publisher,
                     pipeline::CheckpointPublisher::Create(
                         *p->chain, std::move(po), http::HttpWitnessTransport(), p->metrics));
    pipeline::CheckpointPublisher* publisher = p->publisher.get();
    p->sealer->notifier().SetListener([publisher] { publisher->Nudge(); });
    p->publisher->Start();
  }

  if (c.sender_checks) {
    dns::ResolverOptions ro;
    ro.forwarder = c.dns_resolver;
    ro.trust_anchor_file = c.dns_trust_anchor;
    ro.timeout = std::chrono::milliseconds(c.dns_timeout_ms);
    ASSIGN_OR_RETURN(p->resolver, dns::Resolver::Create(ro));
    p->authentications = std::make_unique<storage::AuthenticationStore>(*p->db, p->wrapper.get());
    dns::Resolver* resolver = p->resolver.get();
    pipeline::SenderCheckerOptions co;
    co.workers = static_cast<int>(c.sender_check_workers);
    co.max_delay = std::chrono::seconds(c.sender_check_max_delay_s);
    co.poll_interval = std::chrono::milliseconds(500);
    // The anchors the resolver validates with; the chain of each secure answer up to one of
    // them is archived, so that a verifier can validate it again (docs/sender-evidence.md §2a).
    std::string anchor_file = c.dns_trust_anchor;
    if (anchor_file.empty() && access("/usr/share/dns/root.key", R_OK) == 0) {
      anchor_file = "/usr/share/dns/root.key";
    }
    if (!anchor_file.empty()) {
      std::ifstream in(anchor_file, std::ios::binary);
      std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      auto anchors = notary::ParseDnssecAnchors(text);
      if (!anchors.ok()) {
        return common::Error::InvalidInput(anchor_file + ": " + anchors.error().message());
      }
      co.anchors = std::make_shared<const notary::DnssecAnchors>(std::move(*anchors));
    }
    // The checks give way while messages arrive (docs/sender-evidence.md §5).
    pipeline::Ingestor* ingestor = p->ingestor.get();
    // Busy: a message arrived since the checker last asked (every 20 ms while it gives way)
    // or one is waiting. Only the checker's thread calls it.
    co.busy = [ingestor, last = uint64_t{0}]() mutable {
      const uint64_t now = ingestor->submitted();
      const bool arrived = now != last;
      last = now;
      return arrived || ingestor->queued() > 0;
    };
    p->sender_checker = std::make_unique<pipeline::SenderChecker>(
        *p->authentications,
        [resolver](std::string_view name, uint16_t type) { return resolver->Lookup(name, type); },
        common::Clock::System(), co);
    p->sender_checker->Start();
    spdlog::info("event=sender_checks resolver=\"{}\"", resolver->description());
  }

  Parts* raw = p.get();
  p->metrics.AddCollector([raw](std::string& out) {
    if (raw->smtp) {
      auto s = raw->smtp->stats();
      common::AppendMetric(out, "smtp_sessions_active", "gauge",
                           static_cast<double>(s.sessions_active));
      common::AppendMetric(out, "smtp_sessions_total", "counter",
                           static_cast<double>(s.sessions_total));
      common::AppendMetric(out, "smtp_messages_accepted_total", "counter",
                           static_cast<double>(s.messages_accepted));
      common::AppendMetric(out, "smtp_bytes_accepted_total", "counter",
                           static_cast<double>(s.bytes_accepted));
      auto d = [](uint64_t v) { return static_cast<double>(v); };
      common::AppendLabelledMetric(out, "smtp_messages_refused_total", "counter", "reason",
                                   {{"size", d(s.refused_size)},
                                    {"timeout", d(s.refused_timeout)},
                                    {"policy", d(s.refused_policy)},
                                    {"session_limit", d(s.refused_session_limit)},
                                    {"temp_failure", d(s.refused_temp_failure)},
                                    {"memory", d(s.refused_memory)},
                                    {"perm_failure", d(s.refused_perm_failure)},
                                    {"protocol", d(s.refused_protocol)},
                                    {"aborted_in_data", d(s.aborted_in_data)}});
    }
    if (raw->ingestor) {
      common::AppendMetric(out, "ingest_queue_messages", "gauge",
                           static_cast<double>(raw->ingestor->queued()));
    }
    if (raw->sender_checker) {
      common::AppendMetric(out, "sender_checks_stored_total", "counter",
                           static_cast<double>(raw->sender_checker->checked()));
    }
    auto pending = raw->receipts->PendingCount();
    if (pending.ok()) {
      common::AppendMetric(out, "receipts_pending", "gauge", static_cast<double>(*pending));
    }
    if (raw->index) {
      auto queued = raw->index->Backlog();
      if (queued.ok()) {
        common::AppendMetric(out, "receipts_index_pending", "gauge", static_cast<double>(*queued));
      }
    }
  });

  auto smtp_addr = ParseHostPort(c.smtp_listen);
  auto http_addr = ParseHostPort(c.http_listen);
  if (!smtp_addr.ok() || !http_addr.ok()) return common::Error::InvalidInput("bad listen address");

  smtp::SmtpServerConfig sc;
  sc.listen_address = smtp_addr->first;
  sc.port = smtp_addr->second;
  sc.hostname = c.node_name;
  sc.allow = c.smtp_allow;
  sc.journal_from = c.smtp_journal_from;
  sc.max_message_bytes = c.max_message_bytes;
  sc.max_recipients = c.max_recipients;
  sc.max_sessions = c.max_sessions;
  sc.max_sessions_per_ip = c.max_sessions_per_ip;
  sc.max_buffered_bytes = c.smtp_max_buffered_bytes;
  sc.between_messages_timeout = std::chrono::seconds(c.smtp_between_messages_timeout_s);
  sc.idle_timeout = std::chrono::seconds(c.smtp_idle_timeout_s);
  sc.transaction_timeout = std::chrono::seconds(c.smtp_transaction_timeout_s);
  sc.tls_cert_file = c.smtp_tls_cert;
  sc.tls_key_file = c.smtp_tls_key;
  // With port 0 the name comes from the bound port (the SMTP server's default), not ":0".
  if (smtp_addr->second != 0) sc.listener_name = "smtp:" + c.smtp_listen;
  p->smtp = std::make_unique<smtp::SmtpServer>(sc, *p->ingestor);
  RETURN_IF_ERROR(p->smtp->Start());

  http::HttpOptions ho;
  ho.host = http_addr->first;
  ho.port = http_addr->second;
  ho.tls_cert = c.tls_cert;
  ho.tls_key = c.tls_key;
  ho.threads = c.http_threads;
  ho.max_connections = c.http_max_connections;
  ho.max_connections_per_ip = c.http_max_connections_per_ip;
  ho.header_timeout = std::chrono::seconds(c.http_header_timeout_s);
  ho.keepalive_timeout = std::chrono::seconds(c.http_keepalive_timeout_s);
  ho.body_timeout = std::chrono::seconds(c.http_body_timeout_s);
  ho.max_message_bytes = c.max_message_bytes;
  ho.max_recipients = c.max_recipients;
  ho.node = c.node_name;
  ho.evidence_wait_recheck = std::chrono::milliseconds(c.evidence_wait_recheck_ms);
  ho.public_tsa = c.public_tsa;
  http::HttpDeps deps{*p->db,     *p->receipts,    *p->admin,    *p->ingestor,    *p->auth,
                      p->metrics, p->sealer.get(), p->tsa.get(), p->journal.get()};
  deps.publisher = p->publisher.get();
  deps.authentications = p->authentications.get();
  deps.sender_check_max_delay = std::chrono::seconds(c.sender_check_max_delay_s);
  p->holds = std::make_unique<storage::HoldStore>(*p->db);
  deps.holds = p->holds.get();
  p->erasures = std::make_unique<storage::ErasureStore>(*p->db);
  deps.erasures = p->erasures.get();
  p->retention = std::make_unique<storage::RetentionStore>(*p->db);
  deps.retention = p->retention.get();
  p->cases = std::make_unique<storage::CaseStore>(*p->db);
  deps.cases = p->cases.get();
  p->export_progress = std::make_unique<storage::ExportProgressStore>(*p->db, c.node_name);
  deps.export_progress = p->export_progress.get();
  deps.certificate = &p->certificate;
  if (c.retention_sweep_interval_s > 0) {
    pipeline::RetentionSweeper::Options ro;
    ro.interval = std::chrono::seconds(c.retention_sweep_interval_s);
    p->sweeper = std::make_unique<pipeline::RetentionSweeper>(ro, *p->retention, *p->erasures);
    p->sweeper->Start();
  }
  p->index = std::make_unique<storage::ReceiptIndex>(*p->db);
  if (c.index_interval_ms > 0) {
    pipeline::Indexer::Options io;
    io.interval = std::chrono::milliseconds(c.index_interval_ms);
    p->indexer = std::make_unique<pipeline::Indexer>(io, *p->index, p->metrics);
    p->indexer->Start();
  }
  if (!c.read_database_url.empty()) {
    // Say which URL failed: the primary's opened a moment ago.
    auto read_db = storage::Database::Open({c.read_database_url, c.db_connections});
    if (!read_db.ok()) {
      return common::Error(read_db.error().code(),
                           "--read-database-url: " + read_db.error().message());
    }
    p->read_db = std::move(*read_db);
    p->read_gate = std::make_unique<storage::ReadReplica>(
        *p->db, *p->read_db, std::chrono::milliseconds(c.read_max_wait_ms));
    p->read_receipts = std::make_unique<storage::ReceiptStore>(*p->read_db, p->wrapper.get());
    p->read_chain = std::make_unique<storage::ChainStore>(*p->read_db);
    p->read_admin = std::make_unique<storage::AdminStore>(*p->read_db);
    p->read_journal = std::make_unique<storage::JournalStore>(*p->read_db, p->wrapper.get());
    if (p->authentications) {
      p->read_authentications =
          std::make_unique<storage::AuthenticationStore>(*p->read_db, p->wrapper.get());
    }
    p->read_holds = std::make_unique<storage::HoldStore>(*p->read_db);
    p->read_erasures = std::make_unique<storage::ErasureStore>(*p->read_db);
    p->replica = std::make_unique<http::ReplicaStores>(http::ReplicaStores{
        *p->read_gate, *p->read_receipts, *p->read_chain, *p->read_admin, p->read_journal.get(),
        p->read_authentications.get(), p->read_holds.get(), p->read_erasures.get()});
    deps.replica = p->replica.get();
    storage::ReadReplica* gate = p->read_gate.get();
    p->metrics.AddCollector([gate](std::string& out) {
      common::AppendLabelledMetric(out, "http_reads_total", "counter", "from",
                                   {{"replica", static_cast<double>(gate->fresh())},
                                    {"primary", static_cast<double>(gate->behind())}});
    });
    spdlog::info("event=read_replica max_wait_ms={}", c.read_max_wait_ms);
  }
  p->http = std::make_unique<http::HttpApi>(ho, deps);
  RETURN_IF_ERROR(p->http->Start());
  spdlog::info("event=started node={} smtp_port={} http_port={}", c.node_name, p->smtp->port(),
               p->http->port());
  return std::unique_ptr<Daemon>(new Daemon(std::move(p)));
}

void Daemon::Stop() {
  if (!parts_) return;
  // Reverse of start-up: no new work, then drain.
  if (parts_->smtp) parts_->smtp->Stop();
  if (parts_->http) parts_->http->Stop();
  // The checker asks the ingestor whether it is busy, so it stops first (it works after the
  // 250s: nothing waits on it).
  if (parts_->sender_checker) parts_->sender_checker->Stop();
  if (parts_->sweeper) parts_->sweeper->Stop();
  if (parts_->indexer) parts_->indexer->Stop();
  parts_->ingestor.reset();                    // answers what is queued
  if (parts_->sealer) parts_->sealer->Stop();  // seals what waits
  if (parts_->publisher) {
    parts_->sealer->notifier().SetListener(nullptr);
    parts_->publisher->Stop();
  }
  parts_->smtp.reset();
  parts_->http.reset();
  parts_->sealer.reset();
  spdlog::info("event=stopped");
  parts_.reset();
}

}  // namespace notaryd
