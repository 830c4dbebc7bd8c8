#include "pipeline/ingest.h"

#include <openssl/rand.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <ctime>

#include "common/check.h"
#include "common/sha256.h"
#include "common/time.h"
#include "common/utf8.h"
#include "log/leaf_record.h"
#include "mime/canonical.h"
#include "pipeline/journal.h"

namespace pipeline {

std::string NewReceiptId(int64_t now_us) {
  uint8_t b[16];
  CHECK(RAND_bytes(b, sizeof b) == 1);
  uint64_t ms = static_cast<uint64_t>(now_us / 1000);
  for (int i = 0; i < 6; ++i) b[i] = static_cast<uint8_t>(ms >> (40 - 8 * i));
  b[6] = static_cast<uint8_t>(0x70 | (b[6] & 0x0f));  // version 7
  b[8] = static_cast<uint8_t>(0x80 | (b[8] & 0x3f));  // RFC 9562 variant
  std::string hex = common::ToHex(std::span<const uint8_t>(b, 16));
  return hex.substr(0, 8) + "-" + hex.substr(8, 4) + "-" + hex.substr(12, 4) + "-" +
         hex.substr(16, 4) + "-" + hex.substr(20);
}

struct Ingestor::Answer {
  explicit Answer(std::function<void(SubmitOutcome)> d) : done(std::move(d)) {}
  std::atomic<bool> given{false};
  std::function<void(SubmitOutcome)> done;  // touched only by whoever sets `given` first

  bool Give(SubmitOutcome out) {
    if (given.exchange(true)) return false;
    auto d = std::move(done);
    d(std::move(out));
    return true;
  }
};

Ingestor::Ingestor(Options options, storage::ReceiptStore& store, const TenantRouter& router,
                   common::Metrics& metrics)
    : options_(std::move(options)), store_(store), router_(router), metrics_(metrics) {
  for (size_t i = 0; i < options_.workers; ++i) {
    workers_.emplace_back([this](std::stop_token st) { Work(st); });
  }
  if (options_.answer_timeout.count() > 0) {
    watchdog_ = std::jthread([this](std::stop_token st) { WatchDeadlines(st); });
  }
}

Ingestor::~Ingestor() {
  for (auto& w : workers_) w.request_stop();
  cv_.notify_all();
  workers_.clear();  // joins; workers drain the queue before they exit
  if (watchdog_.joinable()) {
    watchdog_.request_stop();
    watchdog_.join();
  }
}

void Ingestor::Respond(Answer& answer, SubmitOutcome out) {
  const bool accepted = out.kind == SubmitOutcome::Kind::kAccepted;
  const std::string id = out.receipt_id;
  if (!answer.Give(std::move(out)) && accepted) {
    spdlog::warn(
        "event=commit_confirmed_late id={} note=\"the sender had been told to try again; a "
        "message it resends is stored twice\"",
        id);
  }
}

void Ingestor::Watch(std::shared_ptr<Answer> answer) {
  if (options_.answer_timeout.count() <= 0) return;
  bool was_empty;
  {
    common::MutexLock lock(watch_mu_);
    was_empty = watched_.empty();
    watched_.emplace_back(std::chrono::steady_clock::now() + options_.answer_timeout,
                          std::move(answer));
  }
  // Later deadlines never wake the watchdog: it sleeps until the front's.
  if (was_empty) watch_cv_.notify_one();
}

void Ingestor::WatchDeadlines(std::stop_token stop) {
  common::MutexLock lock(watch_mu_);
  while (!stop.stop_requested()) {
    while (!watched_.empty() && watched_.front().second->given.load()) watched_.pop_front();
    if (watched_.empty()) {
      watch_cv_.wait(lock, stop, [&]() REQUIRES(watch_mu_) { return !watched_.empty(); });
      continue;
    }
    const auto deadline = watched_.front().first;
    if (std::chrono::steady_clock::now() < deadline) {
      watch_cv_.wait_until(lock, stop, deadline, [] { return false; });
      continue;
    }
    std::shared_ptr<Answer> late = std::move(watched_.front().second);
    watched_.pop_front();
    // Answered outside the lock: `done` may take its time, and submitters wait on the lock.
    lock.unlock();
    SubmitOutcome out;
    out.kind = SubmitOutcome::Kind::kTempFail;
    out.message = "the database did not confirm the commit in time, try again later";
    if (late->Give(std::move(out))) {
      metrics_.ingest_temp_failures.fetch_add(1);
      spdlog::warn("event=message_refused reason=commit_not_confirmed timeout_ms={}",
                   options_.answer_timeout.count());
    }
    lock.lock();
  }
}

size_t Ingestor::queued() const {
  common::MutexLock lock(mu_);
  return queue_.size();
}

void Ingestor::Submit(Arrival arrival, std::string raw, std::function<void(SubmitOutcome)> done) {
  SubmitWithExtra(std::move(arrival), std::move(raw), Extra{}, std::move(done));
}

void Ingestor::SubmitWithExtra(Arrival arrival, std::string raw, Extra extra,
                               std::function<void(SubmitOutcome)> done) {
  submitted_.fetch_add(1, std::memory_order_relaxed);
  const int64_t now = options_.clock->NowMicros();
  auto answer = std::make_shared<Answer>(std::move(done));
  bool queued = false;
  {
    common::MutexLock lock(mu_);
    if (queue_.size() < options_.max_queue_messages &&
        queued_bytes_ + raw.size() <= options_.max_queue_bytes) {
      queued_bytes_ += raw.size();
      queue_.push_back(Item{std::move(arrival), std::move(raw), std::move(extra), now, answer});
      queued = true;
      cv_.notify_one();
    }
  }
  if (queued) {
    // Watched once queued (a message committed and answered meanwhile is simply skipped).
    Watch(std::move(answer));
    return;
  }
  metrics_.ingest_temp_failures.fetch_add(1);
  SubmitOutcome busy;
  busy.kind = SubmitOutcome::Kind::kTempFail;
  busy.message = "notary busy, try again later";
  answer->Give(std::move(busy));
}

void Ingestor::Work(std::stop_token stop) {
  std::vector<Item> group;
  while (true) {
    {
      common::MutexLock lock(mu_);
      cv_.wait(lock, stop, [&]() REQUIRES(mu_) { return !queue_.empty(); });
      if (queue_.empty()) return;  // stopping and drained
      size_t bytes = 0;
      while (!queue_.empty() && group.size() < options_.max_group && bytes < (64u << 20)) {
        queued_bytes_ -= queue_.front().raw.size();
        // Told to try again while it waited (the commit before it did not complete in time):
        // the sender resends it, so storing it too would only make a duplicate.
        if (!queue_.front().answer->given.load()) {
          bytes += queue_.front().raw.size();
          group.push_back(std::move(queue_.front()));
        }
        queue_.pop_front();
      }
    }
    std::vector<Ready> prepared;
    prepared.reserve(group.size());
    for (Item& item : group) prepared.push_back(Prepare(std::move(item)));
    group.clear();
    {
      common::MutexLock lock(ready_mu_);
      for (Ready& r : prepared) ready_.push_back(std::move(r));
    }
    CommitReady();
  }
}

void Ingestor::CommitReady() {
  // Whoever holds commit_mu_ commits what is ready when it takes it; a worker that finds
  // nothing left once it gets the lock had its messages committed by the other.
  common::MutexLock commit(commit_mu_);
  std::vector<Ready> group;
  {
    common::MutexLock lock(ready_mu_);
    group.swap(ready_);
  }
  // As in Work(): a message already told to try again is not stored as well.
  std::erase_if(group, [](const Ready& r) { return r.answer->given.load(); });
  if (!group.empty()) CommitGroup(group);
}

namespace {

// The envelope and provenance as they will be stored: text columns hold valid UTF-8 (invalid
// sequences become U+FFFD), and the envelope digest sealed in the leaf must be over exactly what is
// stored, or the receipt would fail its own audit and every bundle of it. SMTPUTF8 paths and HTTP
// envelope headers can carry any bytes.
void SanitizeBoundText(notary::Envelope& e, notary::Provenance& p) {
  for (std::string* s :
       {&e.mail_from, &e.client_ip, &e.helo, &e.tls_protocol, &e.tls_cipher, &p.source, &p.listener,
        &p.node, &p.client_name, &p.auth_user, &p.queue_id, &p.asserted_by}) {
    *s = common::SanitizeUtf8(*s);
  }
  for (std::string& t : e.recipients) t = common::SanitizeUtf8(t);
}

storage::NewReceipt BuildReceipt(Arrival arrival, std::string raw, const std::string& tenant,
                                 const std::string& idempotency_key, int64_t received_at_us,
                                 const std::string& node,
                                 const std::optional<common::Hash>& journal_report_sha256) {
  storage::NewReceipt n;
  notary::Receipt& r = n.receipt;
  r.id = NewReceiptId(received_at_us);
  r.tenant = tenant;
  r.received_at_us = received_at_us;
  r.envelope = std::move(arrival.envelope);
  r.provenance = std::move(arrival.provenance);
  r.provenance.node = node;
  r.provenance.journal_report_sha256 = journal_report_sha256.value_or(common::Hash{});
  SanitizeBoundText(r.envelope, r.provenance);
  r.leaf_version = notary::LeafRecord::kLatestFormatVersion;
  r.smtputf8 = arrival.smtputf8;
  r.body_type = std::move(arrival.body_type);
  r.size = raw.size();
  r.raw_sha256 = common::Sha256Of(raw);

  // Canonical form version 2: its part records are salted, one random salt per part, so the
  // root is computed here, once the salts are drawn (docs/canonical-form.md).
  mime::Canonical c = mime::Canonicalize(raw, mime::kLatestCanonVersion);
  for (mime::Part& p : c.parts) {
    CHECK(RAND_bytes(p.salt.data(), static_cast<int>(p.salt.size())) == 1);
  }
  r.canonical_sha256 = c.canonical_sha256;
  r.canon_version = c.canon_version;
  r.parts_root = mime::PartsRoot(c.parts, c.canon_version);
  r.parts = std::move(c.parts);
  r.metadata = std::move(c.metadata);
  r.parse_warnings = std::move(c.warnings);
  r.envelope_digest = notary::EnvelopeDigest(r.envelope);
  CHECK(RAND_bytes(r.salt.data(), static_cast<int>(r.salt.size())) == 1);
  if (!idempotency_key.empty()) n.idempotency_key = idempotency_key;
  n.raw = std::move(raw);
  return n;
}

}  // namespace

Ingestor::Ready Ingestor::Prepare(Item item) const {
  const std::string tenant =
      item.extra.tenant.empty() ? router_.Route(item.arrival) : item.extra.tenant;
  // A journal report from a source the operator trusts for journaling: notarise the original
  // it carries, with the envelope it states. From anywhere else it is an ordinary message.
  std::optional<std::string> report;
  if (options_.journal_store != nullptr && item.arrival.journal_trusted) {
    report = UnwrapJournalReport(item.arrival, item.raw);
  }
  std::optional<common::Hash> report_sha256;
  if (report) report_sha256 = common::Sha256Of(*report);
  Ready r{
      std::move(item.answer),
      BuildReceipt(std::move(item.arrival), std::move(item.raw), tenant, item.extra.idempotency_key,
                   item.received_at_us, options_.node, report_sha256),
      std::nullopt};
  if (report) {
    r.report = storage::JournalReportRow{r.receipt.receipt.id, r.receipt.receipt.tenant,
                                         *report_sha256, std::move(*report)};
  }
  return r;
}

void Ingestor::CommitGroup(std::vector<Ready>& group) {
  auto answer = [&](size_t i, const common::Result<std::vector<storage::InsertedReceipt>>& r,
                    size_t index_in_result) {
    SubmitOutcome out;
    if (r.ok() && (*r)[index_in_result].conflict) {
      out.kind = SubmitOutcome::Kind::kConflict;
      out.message = "the Idempotency-Key was used before for another message or envelope";
      spdlog::info("event=message_refused reason=idempotency_conflict bytes={}",
                   group[i].receipt.raw.size());
    } else if (r.ok()) {
      const storage::InsertedReceipt& ins = (*r)[index_in_result];
      out.kind = SubmitOutcome::Kind::kAccepted;
      out.receipt_id = ins.id;
      out.raw_sha256_hex = common::ToHex(group[i].receipt.receipt.raw_sha256);
      out.canonical_sha256_hex = common::ToHex(group[i].receipt.receipt.canonical_sha256);
      out.received_at = common::FormatRfc3339Micros(ins.received_at_us);
      out.message = ins.duplicate ? "duplicate" : "";
      metrics_.ingest_bytes.fetch_add(group[i].receipt.raw.size());
      spdlog::info("event=message_accepted id={} source={} sha256={} bytes={}{}", ins.id,
                   group[i].receipt.receipt.provenance.source, out.raw_sha256_hex,
                   group[i].receipt.raw.size(), ins.duplicate ? " duplicate=true" : "");
    } else {
      metrics_.ingest_temp_failures.fetch_add(1);
      out.kind = SubmitOutcome::Kind::kTempFail;
      out.message = r.error().code() == common::ErrorCode::kUnavailable
                        ? "database unavailable, try again later"
                        : "could not store the message, try again later";
      spdlog::warn("event=message_refused reason=store_failed error=\"{}\" bytes={}",
                   r.error().ToString(), group[i].receipt.raw.size());
    }
    Respond(*group[i].answer, std::move(out));
  };

  std::vector<const storage::NewReceipt*> ptrs;
  std::vector<const storage::JournalReportRow*> report_ptrs;
  for (const Ready& r : group) {
    ptrs.push_back(&r.receipt);
    if (r.report) report_ptrs.push_back(&*r.report);
  }
  auto start = std::chrono::steady_clock::now();
  // Reports first: a journal receipt never exists without its report (docs/mail-server-setup.md).
  if (!report_ptrs.empty()) {
    auto kept = options_.journal_store->Append(report_ptrs);
    if (!kept.ok()) {
      common::Result<std::vector<storage::InsertedReceipt>> failed = kept.error();
      for (size_t i = 0; i < group.size(); ++i) answer(i, failed, i);
      return;
    }
  }
  auto result = store_.Insert(ptrs);
  metrics_.commit_latency.Observe(
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  if (result.ok() || result.error().code() == common::ErrorCode::kUnavailable ||
      group.size() == 1) {
    for (size_t i = 0; i < group.size(); ++i) answer(i, result, i);
    return;
  }
  // One message made the group fail for a reason other than the database being down:
  // commit the rest one by one, so one bad row cannot hold back the others.
  for (size_t i = 0; i < group.size(); ++i) {
    auto single = store_.Insert({ptrs[i]});
    answer(i, single, 0);
  }
}

}  // namespace pipeline
