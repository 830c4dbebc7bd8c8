#include "pipeline/sealer.h"

#include <spdlog/spdlog.h>

#include <chrono>

#include "common/utf8.h"
#include "log/block.h"
#include "log/checkpoint.h"
#include "pipeline/block_builder.h"
#include "pipeline/ingest.h"
#include "pipeline/key_files.h"

namespace pipeline {
namespace {

storage::KeyRow KeyRowOf(const notary::Ed25519Signer& signer) {
  storage::KeyRow k;
  k.key_id = notary::KeyId(signer.public_key());
  k.algorithm = "ed25519";
  k.public_key.assign(signer.public_key().begin(), signer.public_key().end());
  k.public_pem = signer.PublicPem();
  k.fingerprint = notary::Fingerprint(signer.public_key());
  return k;
}

}  // namespace

common::Result<notary::Ed25519Signer> LoadOrCreateSigningKey(const std::string& data_dir,
                                                             const std::string& file,
                                                             storage::AdminStore& admin) {
  std::string path = file;
  if (path.empty()) {
    RETURN_IF_ERROR(EnsurePrivateDir(data_dir));
    path = data_dir + "/signing_key.pem";
    if (!FileExists(path)) {
      ASSIGN_OR_RETURN(notary::Ed25519Signer made, notary::Ed25519Signer::Generate());
      ASSIGN_OR_RETURN(std::string pem, made.PrivatePem());
      RETURN_IF_ERROR(WriteSecretFile(path, pem));
      spdlog::info("event=signing_key_generated key_id={} file={}",
                   notary::KeyId(made.public_key()), path);
    }
  }
  ASSIGN_OR_RETURN(std::string pem, ReadTextFile(path));
  auto signer = notary::Ed25519Signer::FromPrivatePem(pem);
  if (!signer.ok()) return common::Error::InvalidInput("signing key " + path + " is not Ed25519");
  RETURN_IF_ERROR(admin.InsertSigningKey(KeyRowOf(*signer)));
  return signer;
}

common::Result<std::unique_ptr<Sealer>> Sealer::Create(SealerOptions options,
                                                       storage::ChainStore& chain,
                                                       storage::AdminStore& admin, TsaService& tsa,
                                                       common::Metrics& metrics) {
  ASSIGN_OR_RETURN(notary::Ed25519Signer signer,
                   LoadOrCreateSigningKey(options.data_dir, options.signing_key_file, admin));
  std::unique_ptr<Sealer> s(
      new Sealer(std::move(options), chain, admin, tsa, metrics, std::move(signer)));
  if (auto latest = chain.Latest(); latest.ok() && latest->has_value()) {
    metrics.tree_size.store((*latest)->tree_size);
    metrics.last_seal_unix.store((*latest)->sealed_at_us / 1000000);
  }
  SealNotifier* notifier = &s->notifier_;
  ASSIGN_OR_RETURN(s->listener_,
                   storage::SealListener::Start(
                       s->options_.database_url,
                       [notifier](int64_t height) {
                         notifier->Notify(height < 0 ? SealNotifier::Source::kReconnect
                                                     : SealNotifier::Source::kListen,
                                          height);
                       },
                       [](const common::Error& e) {
                         // Waiters still re-check on their own every few seconds meanwhile.
                         spdlog::warn("event=seal_listener_lost error=\"{}\"", e.ToString());
                       }));
  metrics.AddCollector([notifier](std::string& out) { notifier->AppendMetrics(out); });
  if (s->options_.seal) {
    s->seal_thread_ = std::jthread([p = s.get()](std::stop_token st) { p->SealLoop(st); });
    s->token_thread_ = std::jthread([p = s.get()](std::stop_token st) { p->TokenLoop(st); });
  }
  return s;
}

Sealer::Sealer(SealerOptions options, storage::ChainStore& chain, storage::AdminStore& admin,
               TsaService& tsa, common::Metrics& metrics, notary::Ed25519Signer signer)
    : options_(std::move(options)),
      chain_(chain),
      admin_(admin),
      tsa_(tsa),
      metrics_(metrics),
      signer_(std::move(signer)),
      notifier_(options_.max_waiters) {
  key_file_ = options_.signing_key_file.empty() ? options_.data_dir + "/signing_key.pem"
                                                : options_.signing_key_file;
  if (auto pem = ReadTextFile(key_file_); pem.ok()) key_pem_ = std::move(*pem);
}

Sealer::~Sealer() { Stop(); }

void Sealer::Stop() {
  if (seal_thread_.joinable()) {
    seal_thread_.request_stop();
    cv_.notify_all();
    seal_thread_.join();
  }
  if (token_thread_.joinable()) {
    token_thread_.request_stop();
    token_thread_.join();
  }
  listener_.reset();
  common::MutexLock lock(mu_);
  lock_.reset();
}

const notary::Ed25519PublicKey& Sealer::public_key() const { return signer_.public_key(); }

void Sealer::Poke() {
  poked_.store(true);
  cv_.notify_all();
}

common::Status Sealer::ReloadKeyIfRotated() {
  // `notaryctl keys rotate` replaces the key file; the next block is signed with the new key.
  // Compared by content (a few hundred bytes, once per seal), not by mtime; a file missing or
  // half-written mid-rotation leaves the loaded key in use until the next seal.
  auto pem = ReadTextFile(key_file_);
  if (!pem.ok() || *pem == key_pem_) return common::Ok();
  auto signer = notary::Ed25519Signer::FromPrivatePem(*pem);
  if (!signer.ok()) return common::Ok();
  RETURN_IF_ERROR(admin_.InsertSigningKey(KeyRowOf(*signer)));
  signer_ = std::move(*signer);
  key_pem_ = std::move(*pem);
  spdlog::info("event=signing_key_loaded key_id={}", notary::KeyId(signer_.public_key()));
  return common::Ok();
}

common::Result<std::optional<storage::BlockRow>> Sealer::SealOnce() {
  common::MutexLock guard(mu_);
  if (!lock_ || !lock_->StillHeld()) {
    lock_.reset();
    // kConflict: another process seals.
    ASSIGN_OR_RETURN(lock_, storage::SealerLock::TryAcquire(options_.database_url));
    spdlog::info("event=sealer_lock_acquired node={}", options_.node);
  }
  RETURN_IF_ERROR(ReloadKeyIfRotated());

  using Clock = std::chrono::steady_clock;
  auto t_start = Clock::now();
  Clock::time_point t_read, t_built;
  // The leaf records and hashes were built at ingest; the queue hands over the hashes. The
  // lambda runs on the seal's own thread while this one, holding mu_, waits in Seal(): the
  // signer taken here under mu_ cannot change meanwhile (and signing is const, thread-safe).
  const notary::Ed25519Signer& signer = signer_;
  auto block = chain_.Seal(
      static_cast<int>(options_.batch_max),
      [&](const storage::SealInput& in) -> common::Result<std::optional<storage::NewBlock>> {
        t_read = Clock::now();
        ASSIGN_OR_RETURN(storage::NewBlock nb,
                         BuildBlock({in.head, in.hashes, in.tiles, signer, options_.origin,
                                     options_.clock->NowMicros()}));
        nb.node = options_.node;
        const storage::BlockRow& b = nb.block;

        auto token = tsa_.StampLocal(b.block_hash);
        if (token.ok()) {
          nb.tokens.push_back(
              {b.height, TsaService::kLocalName, token->gen_time_us, token->token_der});
        } else {
          // The block still seals; the token is fetched again by the token loop.
          spdlog::warn("event=tsa_local_failed height={} error=\"{}\"", b.height,
                       token.error().ToString());
          metrics_.tsa_failures.fetch_add(1);
          nb.tsa_to_fetch.push_back(TsaService::kLocalName);
        }
        for (const auto& url : options_.tsa_urls) nb.tsa_to_fetch.push_back(url);
        t_built = Clock::now();
        return std::optional<storage::NewBlock>(std::move(nb));
      });
  if (!block.ok()) return block.error();
  if (block->has_value()) {
    const storage::BlockRow& b = **block;
    metrics_.blocks_sealed.fetch_add(1);
    metrics_.leaves_sealed.fetch_add(static_cast<uint64_t>(b.leaf_count));
    metrics_.tree_size.store(b.tree_size);
    metrics_.last_seal_unix.store(b.sealed_at_us / 1000000);
    auto ms = [](Clock::time_point a, Clock::time_point z) {
      return std::chrono::duration_cast<std::chrono::milliseconds>(z - a).count();
    };
    const auto t_end = Clock::now();
    spdlog::info(
        "event=block_sealed height={} leaves={} tree_size={} block_hash={} ms_read={} "
        "ms_build_stamp={} ms_write_commit={}",
        b.height, b.leaf_count, b.tree_size, common::ToHex(b.block_hash), ms(t_start, t_read),
        ms(t_read, t_built), ms(t_built, t_end));
    if (!options_.tsa_urls.empty()) token_wake_.store(true);
    // At once, without the NOTIFY's round trip; that one arrives too and is ignored.
    notifier_.Notify(SealNotifier::Source::kLocal, b.height);
  }
  return block;
}

void Sealer::SealLoop(std::stop_token stop) {
  std::mutex wait_mu;
  while (!stop.stop_requested()) {
    auto r = SealOnce();
    bool full = false;
    if (r.ok() && r->has_value()) {
      full = (*r)->leaf_count >= static_cast<int64_t>(options_.batch_max);
    } else if (!r.ok() && r.error().code() != common::ErrorCode::kConflict) {
      spdlog::warn("event=seal_failed error=\"{}\"", r.error().ToString());
    }
    if (full) continue;  // more may be waiting: seal again at once
    std::unique_lock lk(wait_mu);
    cv_.wait_for(lk, stop, std::chrono::milliseconds(options_.batch_interval_ms),
                 [&] { return poked_.exchange(false); });
  }
  // Shutdown: seal what waits, if we are the sealer.
  bool sealer = false;
  {
    common::MutexLock lock(mu_);
    sealer = lock_ != nullptr;
  }
  if (sealer) (void)SealOnce();
}

void Sealer::TokenLoop(std::stop_token stop) {
  std::mutex wait_mu;
  std::condition_variable_any cv;
  while (!stop.stop_requested()) {
    auto due = chain_.DueTokens(32);
    if (due.ok()) {
      for (const auto& m : *due) {
        if (stop.stop_requested()) break;
        auto tok = m.tsa == TsaService::kLocalName ? tsa_.StampLocal(m.block_hash)
                                                   : tsa_.StampExternal(m.tsa, m.block_hash);
        if (tok.ok()) {
          auto st = chain_.AddToken({m.block_height, m.tsa, tok->gen_time_us, tok->token_der});
          if (st.ok()) {
            metrics_.tsa_replies.fetch_add(1);
            spdlog::info("event=tsa_token_stored height={} tsa=\"{}\"", m.block_height,
                         common::LogSafe(m.tsa, 128));
          }
        } else {
          metrics_.tsa_failures.fetch_add(1);
          int backoff = std::min(300, 1 << std::min(m.attempts, 8));
          (void)chain_.TokenFailed(m.block_height, m.tsa, tok.error().ToString(), backoff);
          spdlog::warn(
              "event=tsa_failed height={} tsa=\"{}\" attempts={} retry_in_s={} error=\"{}\"",
              m.block_height, common::LogSafe(m.tsa, 128), m.attempts + 1, backoff,
              common::LogSafe(tok.error().ToString(), 200));
        }
      }
    }
    std::unique_lock lk(wait_mu);
    cv.wait_for(lk, stop, std::chrono::milliseconds(500),
                [&] { return token_wake_.exchange(false); });
  }
}

}  // namespace pipeline
