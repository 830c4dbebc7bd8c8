#include "pipeline/sender_checker.h"

#include <openssl/rand.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <map>

#include "common/sha256.h"
#include "log/authentication_record.h"
#include "sender/authentication.h"
#include "sender/evaluate.h"

namespace pipeline {

common::Result<storage::AuthenticationRow> CheckSender(const storage::UncheckedMessage& message,
                                                       const notary::DnsLookup& lookup,
                                                       const common::Clock& clock,
                                                       const notary::DnssecAnchors* anchors) {
  notary::SenderContext context{message.received_at_us, message.mail_from,   message.client_ip,
                                message.helo,           message.header_from, anchors};
  ASSIGN_OR_RETURN(notary::SenderEvaluation evaluation,
                   notary::EvaluateSender(message.data, context, lookup));
  const notary::AuthenticationResults& results = evaluation.results;
  storage::AuthenticationRow row;
  row.receipt_id = message.receipt_id;
  row.tenant = message.tenant;
  row.checked_at_us = clock.NowMicros();
  ASSIGN_OR_RETURN(row.results, results.Encode());
  ASSIGN_OR_RETURN(row.dns_archive, notary::EncodeDnsArchive(evaluation.answers));
  notary::AuthenticationRecord record;
  record.receipt_id = message.receipt_id;
  record.receipt_leaf_hash = message.leaf_hash;
  record.checked_at_us = row.checked_at_us;
  record.results_sha256 = common::Sha256Of(row.results);
  record.dns_archive_sha256 = common::Sha256Of(row.dns_archive);
  if (RAND_bytes(record.salt.data(), static_cast<int>(record.salt.size())) != 1) {
    return common::Error::Internal("no randomness for the authentication record's salt");
  }
  ASSIGN_OR_RETURN(row.record, record.Encode());
  ASSIGN_OR_RETURN(row.leaf_hash, record.LeafHash());
  for (const notary::DkimSignatureResult& d : results.dkim) {
    std::string domain = d.domain;  // searched case-insensitively (storage: receipt_search.cc)
    for (char& c : domain) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    row.dkim_domains.push_back(std::move(domain));
    row.dkim_results.push_back(d.result);
  }
  return row;
}

common::Result<notary::AuthenticationView> AuthenticationViewOf(
    const storage::AuthenticationRow& row) {
  notary::AuthenticationView view;
  ASSIGN_OR_RETURN(view.results, notary::AuthenticationResults::Decode(row.results));
  ASSIGN_OR_RETURN(view.answers, notary::DecodeDnsArchive(row.dns_archive));
  view.checked_at_us = row.checked_at_us;
  view.leaf_index = row.leaf_index;
  return view;
}

SenderChecker::SenderChecker(storage::AuthenticationStore& store, notary::DnsLookup lookup,
                             const common::Clock& clock, SenderCheckerOptions options)
    : store_(store),
      lookup_(std::move(lookup)),
      clock_(clock),
      options_(options),
      since_us_(clock.NowMicros() - options.max_delay.count() * 1000000) {}

SenderChecker::~SenderChecker() { Stop(); }

void SenderChecker::Start() {
  common::MutexLock lock(mu_);
  if (thread_.joinable()) return;
  stop_ = false;
  stopping_.store(false);
  thread_ = std::thread([this] { Loop(); });
}

void SenderChecker::Stop() {
  stopping_.store(true);
  {
    common::MutexLock lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void SenderChecker::Wake() {
  {
    common::MutexLock lock(mu_);
    woken_ = true;
  }
  cv_.notify_all();
}

common::Result<int> SenderChecker::RunOnce() {
  ASSIGN_OR_RETURN(std::vector<storage::UncheckedMessage> batch,
                   store_.Unchecked(cursor_, since_us_, options_.batch));
  if (batch.empty()) return 0;
  std::atomic<size_t> next{0};
  std::atomic<int> stored{0};
  std::mutex failed_mu;
  int64_t first_failed = INT64_MAX;
  auto work = [&] {
    // Stopping does not wait for the rest of the batch (each may wait seconds on DNS): what
    // is left stays unchecked, and a later pass reads it again.
    for (size_t i = next++; i < batch.size() && !stopping_.load(); i = next++) {
      const storage::UncheckedMessage& m = batch[i];
      auto row = CheckSender(m, lookup_, clock_, options_.anchors.get());
      common::Status status = row.ok() ? common::Ok() : common::Status(row.error());
      if (row.ok()) {
        auto appended = store_.Append(*row);
        if (appended.ok()) {
          if (*appended) ++stored;
        } else {
          status = appended.error();
        }
      }
      if (!status.ok()) {
        spdlog::warn("event=authentication_failed receipt={} error=\"{}\"", m.receipt_id,
                     status.error().message());
        std::lock_guard<std::mutex> lock(failed_mu);
        first_failed = std::min(first_failed, m.seq);
      }
    }
  };
  std::vector<std::thread> helpers;
  const int n = std::clamp(options_.workers, 1, static_cast<int>(batch.size()));
  for (int i = 1; i < n; ++i) helpers.emplace_back(work);
  work();
  for (auto& t : helpers) t.join();
  if (stopping_.load()) return static_cast<int>(batch.size());
  // A message whose row could not be stored is read again next pass.
  cursor_ = first_failed == INT64_MAX ? batch.back().seq : first_failed - 1;
  checked_.fetch_add(static_cast<uint64_t>(stored.load()));
  return static_cast<int>(batch.size());
}

void SenderChecker::Loop() {
  constexpr auto kYieldStep = std::chrono::milliseconds(20);
  for (;;) {
    // Give way to ingest while it has work, for at most max_yield in a row.
    auto yielded = std::chrono::milliseconds(0);
    while (options_.busy && yielded < options_.max_yield && options_.busy()) {
      common::MutexLock lock(mu_);
      cv_.wait_for(lock, kYieldStep, [this]() REQUIRES(mu_) { return stop_; });
      if (stop_) return;
      yielded += kYieldStep;
    }
    auto checked = RunOnce();
    if (!checked.ok()) {
      spdlog::warn("event=authentication_pass_failed error=\"{}\"", checked.error().message());
    }
    common::MutexLock lock(mu_);
    // A full batch means more may wait: go on at once.
    if (checked.ok() && *checked >= options_.batch) {
      if (stop_) return;
      continue;
    }
    cv_.wait_for(lock, options_.poll_interval, [this]() REQUIRES(mu_) { return stop_ || woken_; });
    if (stop_) return;
    woken_ = false;
  }
}

}  // namespace pipeline
