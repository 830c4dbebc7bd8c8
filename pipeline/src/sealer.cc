#include "pipeline/sealer.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>

#include "common/rfc6962.h"
#include "common/utf8.h"
#include "log/block.h"
#include "log/checkpoint.h"
#include "pipeline/block_builder.h"
#include "pipeline/ingest.h"
#include "pipeline/key_files.h"

namespace pipeline {
namespace {

storage::KeyRow KeyRowOf(const notary::Ed25519PublicKey& key) {
  storage::KeyRow k;
  k.key_id = notary::KeyId(key);
  k.algorithm = "ed25519";
  k.public_key.assign(key.begin(), key.end());
  k.public_pem = notary::Ed25519PublicPem(key);
  k.fingerprint = notary::Fingerprint(key);
  return k;
}

// The key file in this process, when no notary-signer is configured. `notaryctl keys rotate`
// replaces the file; the next block is signed with the new key. Compared by content (a few
// hundred bytes, once per seal), not by mtime; a file missing or half-written mid-rotation
// leaves the loaded key in use until the next seal. Used under the sealer's mutex only.
class FileKeySigner final : public notary::ChainSigner {
 public:
  FileKeySigner(std::string path, notary::Ed25519Signer key)
      : path_(std::move(path)), key_(std::move(key)) {
    if (auto pem = ReadTextFile(path_); pem.ok()) pem_ = std::move(*pem);
  }
  common::Result<notary::Ed25519PublicKey> CurrentKey() override {
    auto pem = ReadTextFile(path_);
    if (pem.ok() && *pem != pem_) {
      if (auto key = notary::Ed25519Signer::FromPrivatePem(*pem); key.ok()) {
        key_ = std::move(*key);
        pem_ = std::move(*pem);
        spdlog::info("event=signing_key_loaded key_id={}", notary::KeyId(key_.public_key()));
      }
    }
    return key_.public_key();
  }
  common::Result<notary::Ed25519Signature> SignBlock(const notary::BlockHeader& h) override {
    return notary::SignBlock(h, key_);
  }
  common::Result<std::string> SignCheckpoint(const notary::Checkpoint& cp,
                                             std::string_view name) override {
    return notary::SignCheckpoint(cp, name, key_);
  }

 private:
  const std::string path_;
  notary::Ed25519Signer key_;
  std::string pem_;
};

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
  RETURN_IF_ERROR(admin.InsertSigningKey(KeyRowOf(signer->public_key())));
  return signer;
}

common::Result<std::unique_ptr<Sealer>> Sealer::Create(SealerOptions options,
                                                       storage::ChainStore& chain,
                                                       storage::AdminStore& admin, TsaService& tsa,
                                                       common::Metrics& metrics) {
  std::unique_ptr<notary::ChainSigner> own;
  if (options.signer == nullptr) {
    ASSIGN_OR_RETURN(notary::Ed25519Signer key,
                     LoadOrCreateSigningKey(options.data_dir, options.signing_key_file, admin));
    own = std::make_unique<FileKeySigner>(options.signing_key_file.empty()
                                              ? options.data_dir + "/signing_key.pem"
                                              : options.signing_key_file,
                                          std::move(key));
  }
  std::unique_ptr<Sealer> s(
      new Sealer(std::move(options), chain, admin, tsa, metrics, std::move(own)));
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
               TsaService& tsa, common::Metrics& metrics, std::unique_ptr<notary::ChainSigner> own)
    : options_(std::move(options)),
      chain_(chain),
      admin_(admin),
      tsa_(tsa),
      metrics_(metrics),
      own_signer_(std::move(own)),
      signer_(own_signer_ ? own_signer_.get() : options_.signer),
      notifier_(options_.max_waiters) {}

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

void Sealer::Poke() {
  poked_.store(true);
  cv_.notify_all();
}

common::Status Sealer::RegisterKey(const notary::Ed25519PublicKey& key) {
  if (registered_ == key) return common::Ok();
  // Before the first block it signs: a bundle's verifier finds every block key listed. A key
  // the database has not seen yet is a new key (a rotation, or a move to notary-signer): once
  // a block signed with it commits, the validity of the others ends (RetireAfterSeal). Not
  // before: a signer that refuses every block (a wrong --signer) must not close the real key.
  ASSIGN_OR_RETURN(const std::vector<storage::KeyRow> known, admin_.ListSigningKeys());
  const std::string id = notary::KeyId(key);
  auto row = std::find_if(known.begin(), known.end(),
                          [&](const storage::KeyRow& k) { return k.key_id == id; });
  if (row != known.end() && row->valid_until_us) {
    // Its validity was closed (a rotation elsewhere): blocks it signed now would not verify.
    return common::Error::PermissionDenied("signing key " + id +
                                           " was retired; not sealing with it (docs/signer.md)");
  }
  const bool is_new = row == known.end();
  if (is_new) RETURN_IF_ERROR(admin_.InsertSigningKey(KeyRowOf(key)));
  retire_others_for_ = is_new && !known.empty() ? std::optional<std::string>(id) : std::nullopt;
  registered_ = key;
  spdlog::info("event=signing_key_in_use key_id={} fingerprint={} new={}", id,
               notary::Fingerprint(key), is_new);
  return common::Ok();
}

void Sealer::PlanReplay(int64_t head_height) {
  auto last = signer_->LastSignedHeader();
  if (!last.ok() || !last->has_value()) return;
  auto h = notary::BlockHeader::Decode(**last);
  if (!h.ok() || static_cast<int64_t>(h->height) != head_height + 1) return;
  replay_ = Replay{static_cast<int64_t>(h->height), static_cast<int64_t>(h->leaf_count),
                   h->sealed_at_us, h->batch_root};
  spdlog::warn(
      "event=seal_replay height={} leaves={} note=\"the signer signed this block but it never "
      "committed: sealing it again as signed\"",
      h->height, h->leaf_count);
}

common::Result<std::optional<storage::BlockRow>> Sealer::SealOnce() {
  common::MutexLock guard(mu_);
  if (!lock_ || !lock_->StillHeld()) {
    lock_.reset();
    // kConflict: another process seals.
    ASSIGN_OR_RETURN(lock_, storage::SealerLock::TryAcquire(options_.database_url));
    spdlog::info("event=sealer_lock_acquired node={}", options_.node);
  }
  auto key = signer_->CurrentKey();
  if (!key.ok()) {
    // Ingest goes on (receipts are durable before 250); sealing resumes when the signer does.
    metrics_.signer_failures.fetch_add(1);
    if (options_.signer != nullptr) metrics_.signer_up.store(0);
    return key.error();
  }
  if (auto registered = RegisterKey(*key); !registered.ok()) {
    if (registered.error().code() == common::ErrorCode::kPermissionDenied) {
      metrics_.signer_refusing.store(1);  // readyz: sealing refused
    }
    return registered.error();
  }
  // Normally the batch is what waits, dated now; a replay is the block the signer already
  // signed: the same first leaves in the same order, the same time.
  const std::optional<Replay> replay = replay_;
  const int limit =
      replay ? static_cast<int>(replay->leaf_count) : static_cast<int>(options_.batch_max);

  using Clock = std::chrono::steady_clock;
  auto t_start = Clock::now();
  Clock::time_point t_read, t_built;
  // The leaf records and hashes were built at ingest; the queue hands over the hashes. The
  // lambda runs on the seal's own thread while this one, holding mu_, waits in Seal(): the
  // signer is used from that thread only meanwhile.
  notary::ChainSigner& signer = *signer_;
  std::optional<common::Error> build_error;
  int64_t head_height = -1;
  auto block = chain_.Seal(
      limit, [&](const storage::SealInput& in) -> common::Result<std::optional<storage::NewBlock>> {
        t_read = Clock::now();
        head_height = in.head ? in.head->height : -1;
        if (replay && (replay->height != head_height + 1 ||
                       static_cast<int64_t>(in.hashes.size()) != replay->leaf_count)) {
          return common::Error::Internal("the queue no longer holds the block the signer signed");
        }
        // The first rows of the queue are the signed batch unless a row with a lower number
        // committed after the first attempt read the queue: then nothing can rebuild that
        // block, and asking would only be refused. Said once, loudly (docs/signer.md).
        if (replay && common::MerkleRoot(in.hashes) != replay->batch_root) {
          return common::Error::Internal(
              "cannot rebuild block " + std::to_string(replay->height) +
              " as the signer signed it: the queue's first rows are not its leaves any more");
        }
        auto built =
            BuildBlock({in.head, in.hashes, in.tiles, signer, options_.origin,
                        replay ? replay->sealed_at_us : options_.clock->NowMicros(), &*key});
        if (!built.ok()) {
          build_error = built.error();
          return built.error();
        }
        storage::NewBlock nb = std::move(*built);
        nb.node = options_.node;
        const storage::BlockRow& b = nb.block;

        if (options_.builtin_tsa) {
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
        }
        for (const auto& url : options_.tsa_urls) nb.tsa_to_fetch.push_back(url);
        t_built = Clock::now();
        return std::optional<storage::NewBlock>(std::move(nb));
      });
  if (options_.signer != nullptr) {
    if (build_error && build_error->code() == common::ErrorCode::kUnavailable) {
      metrics_.signer_failures.fetch_add(1);
      metrics_.signer_up.store(0);
    } else {
      metrics_.signer_up.store(1);
    }
  }
  replay_.reset();
  const auto code = build_error ? build_error->code() : common::ErrorCode::kInternal;
  if (build_error && options_.signer != nullptr &&
      (code == common::ErrorCode::kConflict || code == common::ErrorCode::kPermissionDenied ||
       code == common::ErrorCode::kInvalidInput)) {
    metrics_.signer_refusals.fetch_add(1);
    metrics_.signer_refusing.store(1);
    if (build_error->message() != last_refusal_) {  // once per reason, not per interval
      spdlog::warn("event=signer_refused_block error=\"{}\"", build_error->message());
      last_refusal_ = build_error->message();
    }
  } else if (block.ok()) {
    metrics_.signer_refusing.store(0);  // sealed, or nothing waited to be
    last_refusal_.clear();
  }
  if (build_error && code == common::ErrorCode::kConflict && !replay) PlanReplay(head_height);
  if (!block.ok()) return block.error();
  if (block->has_value() && retire_others_for_ && (*block)->key_id == *retire_others_for_) {
    // The first block under a new key is committed: the old keys signed their last.
    RETURN_IF_ERROR(admin_.RetireSigningKeysExcept(*retire_others_for_));
    spdlog::info("event=signing_keys_retired except={}", *retire_others_for_);
    retire_others_for_.reset();
  }
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
  std::string failing;  // the error last logged: once per cause, not once per interval
  while (!stop.stop_requested()) {
    auto r = SealOnce();
    bool full = false;
    if (r.ok() && r->has_value()) {
      full = (*r)->leaf_count >= static_cast<int64_t>(options_.batch_max);
    }
    // kConflict: another process holds the sealer lock (a signer's refusal is logged where
    // it happens).
    const std::string now_failing =
        r.ok() || r.error().code() == common::ErrorCode::kConflict ? "" : r.error().ToString();
    if (!now_failing.empty() && now_failing != failing) {
      spdlog::warn("event=seal_failed error=\"{}\"", now_failing);
    }
    if (!failing.empty() && now_failing.empty()) spdlog::info("event=seal_resumed");
    failing = now_failing;
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
