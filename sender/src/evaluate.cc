#include "sender/evaluate.h"

#include <cctype>
#include <map>
#include <memory>
#include <utility>

#include "sender/arc.h"
#include "sender/dkim.h"
#include "sender/dmarc.h"
#include "sender/spf.h"

namespace notary {

namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// DNS names compare case-insensitively; a trailing dot is the same name.
std::string NameKey(std::string_view name) {
  std::string key = Lower(name);
  if (!key.empty() && key.back() == '.') key.pop_back();
  return key;
}

// The answer to a question past the archive's limit: the same at reception and offline.
DnsAnswer OverTheLimit(std::string name, uint16_t type) {
  DnsAnswer a;
  a.qname = std::move(name);
  a.qtype = type;
  a.outcome = LookupOutcome::kTemperror;
  a.why = "not asked: over the limit of " + std::to_string(kMaxDnsAnswers) +
          " DNS answers for one message";
  return a;
}

// The lookups of one message: each (name, type) asked once, every answer kept in order, at
// most kMaxDnsAnswers of them (a hostile message's SPF, DKIM and ARC names could ask for more,
// and an archive that cannot be encoded would leave the message unchecked for good).
class ArchivingLookup {
 public:
  explicit ArchivingLookup(const DnsLookup& lookup) : lookup_(lookup) {}

  const DnsAnswer& Ask(std::string_view name, uint16_t type) {
    auto key = std::make_pair(NameKey(name), type);
    if (auto it = index_.find(key); it != index_.end()) return answers_[it->second];
    if (answers_.size() >= kMaxDnsAnswers) {
      over_ = OverTheLimit(key.first, type);
      return over_;
    }
    answers_.push_back(lookup_(name, type));
    index_.emplace(std::move(key), answers_.size() - 1);
    return answers_.back();
  }
  std::vector<DnsAnswer> Take() { return std::move(answers_); }
  size_t size() const { return answers_.size(); }
  const DnsAnswer& at(size_t i) const { return answers_[i]; }

 private:
  const DnsLookup& lookup_;
  std::vector<DnsAnswer> answers_;
  std::map<std::pair<std::string, uint16_t>, size_t> index_;
  DnsAnswer over_;  // the last answer past the limit (a reference to it is returned)
};

}  // namespace

std::string FromDomain(std::string_view from) {
  std::string addr(from);
  if (size_t lt = addr.rfind('<'); lt != std::string::npos) {
    size_t gt = addr.find('>', lt);
    if (gt == std::string::npos) return "";
    if (addr.substr(0, lt).find('@') != std::string::npos &&
        addr.substr(0, lt).find(',') != std::string::npos) {
      return "";  // a list of addresses
    }
    addr = addr.substr(lt + 1, gt - lt - 1);
  } else if (addr.find(',') != std::string::npos) {
    return "";
  }
  size_t at = addr.rfind('@');
  if (at == std::string::npos) return "";
  std::string domain = Lower(addr.substr(at + 1));
  while (!domain.empty() && (domain.back() == ' ' || domain.back() == '.')) domain.pop_back();
  if (domain.empty() || domain.find_first_of(" \t\"()<>[]:;@") != std::string::npos) return "";
  return domain;
}

common::Result<SenderEvaluation> EvaluateSender(std::string_view message,
                                                const SenderContext& context,
                                                const DnsLookup& lookup) {
  ArchivingLookup dns(lookup);
  SenderEvaluation out;
  AuthenticationResults& results = out.results;
  auto fetch = [&dns](std::string_view domain, std::string_view selector) {
    const DnsAnswer& a =
        dns.Ask(std::string(selector) + "._domainkey." + std::string(domain), kDnsTypeTxt);
    DkimKeyLookup key;
    if (a.outcome == LookupOutcome::kTemperror) {
      key.kind = DkimKeyLookup::Kind::kTempError;
      return key;
    }
    auto records = TxtRecords(a);
    // RFC 6376 §3.6.2.2: several key records make the key unusable; OpenDKIM is handed the
    // first, and the archive shows them all.
    if (records.ok() && !records->empty()) key = {DkimKeyLookup::Kind::kFound, records->front()};
    return key;
  };
  DkimVerifyOptions options{.now_s = context.received_at_us / 1000000};
  auto dkim = VerifyDkim(message, fetch, options);
  if (dkim.ok()) {
    results.dkim = std::move(*dkim);
  } else if (dkim.error().code() != common::ErrorCode::kInvalidInput) {
    return dkim.error();
  }

  // ARC (RFC 8617) where an intermediary added sets; its keys are archived like DKIM's.
  if (ArcOutcome arc = VerifyArc(message, fetch); arc.result != "none") {
    results.arc = std::move(arc);
  }

  DnsLookup archived = [&dns](std::string_view name, uint16_t type) { return dns.Ask(name, type); };
  // SPF judges the client that connected to the notary (or that the forwarding MTA reported):
  // docs/sender-evidence.md says what that proves for relayed mail.
  std::string spf_domain;
  if (!context.client_ip.empty()) {
    SpfQuery q{context.client_ip, context.mail_from, context.helo};
    auto spf = EvaluateSpf(q, archived);
    if (spf.ok()) {
      results.spf =
          SpfOutcome{spf->identity, spf->domain, context.client_ip, spf->result, spf->reason};
      spf_domain = spf->domain;
    }
  }
  if (std::string from = FromDomain(context.header_from); !from.empty()) {
    DmarcQuery q;
    q.header_from_domain = from;
    q.spf = {spf_domain, results.spf ? results.spf->result : "none"};
    for (const auto& d : results.dkim) q.dkim.push_back({d.domain, d.result});
    auto dmarc = EvaluateDmarc(q, archived);
    if (dmarc.ok()) {
      results.dmarc = DmarcOutcome{dmarc->domain, dmarc->org_domain,   dmarc->policy,
                                   dmarc->result, dmarc->dkim_aligned, dmarc->spf_aligned};
    }
  }
  if (context.anchors != nullptr) {
    // By index and by value: the chain's lookups append to the archive as it is walked.
    for (size_t i = 0; i < dns.size(); ++i) {
      const DnsAnswer answer = dns.at(i);
      if (answer.dnssec != DnssecStatus::kSecure || answer.qtype == kDnsTypeDnskey ||
          answer.qtype == kDnsTypeDs) {
        continue;
      }
      FetchDnssecChain(answer, *context.anchors, archived);
    }
  }
  out.answers = dns.Take();
  return out;
}

DnsLookup ArchiveLookup(const std::vector<DnsAnswer>& answers) {
  auto index = std::make_shared<std::map<std::pair<std::string, uint16_t>, DnsAnswer>>();
  for (const DnsAnswer& a : answers) index->emplace(std::make_pair(NameKey(a.qname), a.qtype), a);
  const bool full = answers.size() >= kMaxDnsAnswers;
  return [index, full](std::string_view name, uint16_t type) {
    if (auto it = index->find({NameKey(name), type}); it != index->end()) return it->second;
    if (full) return OverTheLimit(NameKey(name), type);
    DnsAnswer missing;
    missing.qname = NameKey(name);
    missing.qtype = type;
    missing.outcome = LookupOutcome::kTemperror;
    missing.why = "not in the archive";
    return missing;
  };
}

}  // namespace notary
