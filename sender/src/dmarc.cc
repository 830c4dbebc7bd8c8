#include "sender/dmarc.h"

#include <opendmarc/dmarc.h>

#include <cctype>
#include <cstring>
#include <memory>
#include <mutex>

// Exported by libopendmarc (the organizational domain from the loaded suffix list) but not
// declared in its header.
extern "C" int opendmarc_get_tld(u_char* domain, u_char* tld, size_t tld_len);

namespace notary {

using common::Error;

namespace {

// libopendmarc's state shared between threads, checked in its 1.4.2 source: the library
// options (written once by opendmarc_policy_library_init, which runs under std::call_once
// before any evaluation) and the suffix-list hash table (its pointer guarded by a mutex, its
// buckets each by their own). Everything else lives in the per-call DMARC_POLICY_T. So
// evaluations run concurrently without a lock of ours.
const std::string& LibraryInitError() {
  static std::once_flag once;
  static std::string error;
  std::call_once(once, [] {
    OPENDMARC_LIB_T lib{};
    lib.tld_type = OPENDMARC_TLD_TYPE_MOZILLA;
    std::strncpy(reinterpret_cast<char*>(lib.tld_source_file), kPublicSuffixList,
                 sizeof lib.tld_source_file - 1);
    if (opendmarc_policy_library_init(&lib) != DMARC_PARSE_OKAY) {
      error = std::string("cannot read the public suffix list ") + kPublicSuffixList;
    }
  });
  return error;
}

std::string CanonicalName(std::string_view name) {
  while (!name.empty() && name.back() == '.') name.remove_suffix(1);
  std::string out(name);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

u_char* U(const std::string& s) { return reinterpret_cast<u_char*>(const_cast<char*>(s.c_str())); }

struct PolicyFree {
  void operator()(DMARC_POLICY_T* p) const { opendmarc_policy_connect_shutdown(p); }
};

int SpfOutcome(const std::string& r) {
  if (r == "pass") return DMARC_POLICY_SPF_OUTCOME_PASS;
  if (r == "fail" || r == "softfail") return DMARC_POLICY_SPF_OUTCOME_FAIL;
  if (r == "temperror") return DMARC_POLICY_SPF_OUTCOME_TMPFAIL;
  return DMARC_POLICY_SPF_OUTCOME_NONE;
}

int DkimOutcome(const std::string& r) {
  if (r == "pass") return DMARC_POLICY_DKIM_OUTCOME_PASS;
  if (r == "fail") return DMARC_POLICY_DKIM_OUTCOME_FAIL;
  if (r == "temperror") return DMARC_POLICY_DKIM_OUTCOME_TMPFAIL;
  return DMARC_POLICY_DKIM_OUTCOME_NONE;
}

std::string PolicyName(int p) {
  switch (p) {
    case DMARC_RECORD_P_NONE:
      return "none";
    case DMARC_RECORD_P_QUARANTINE:
      return "quarantine";
    case DMARC_RECORD_P_REJECT:
      return "reject";
    default:
      return "";
  }
}

enum class Fetch { kFound, kAbsent, kTempError, kMultiple };

// RFC 7489 §6.6.3: the TXT records at name starting "v=DMARC1"; exactly one is the policy.
Fetch FetchRecord(const DnsLookup& lookup, const std::string& name, std::string& record,
                  std::string& why) {
  DnsAnswer answer = lookup(name, kDnsTypeTxt);
  if (answer.outcome == LookupOutcome::kTemperror || answer.dnssec == DnssecStatus::kBogus) {
    why = answer.why.empty() ? "lookup of " + name + " failed" : answer.why;
    return Fetch::kTempError;
  }
  auto records = TxtRecords(answer);
  if (!records.ok()) {
    why = "unreadable reply for " + name;
    return Fetch::kTempError;
  }
  std::vector<std::string> found;
  for (const std::string& t : *records) {
    std::string head = CanonicalName(t.substr(0, 8));
    if (head == "v=dmarc1" && (t.size() == 8 || t[8] == ';' || t[8] == ' ')) found.push_back(t);
  }
  if (found.empty()) return Fetch::kAbsent;
  if (found.size() > 1) return Fetch::kMultiple;
  record = found.front();
  return Fetch::kFound;
}

}  // namespace

common::Result<std::string> OrganizationalDomain(std::string_view domain) {
  if (const std::string& e = LibraryInitError(); !e.empty()) return Error::Unavailable(e);
  std::string d = CanonicalName(domain);
  if (d.empty() || d.size() > 253) return Error::InvalidInput("DMARC: not a domain name");
  // libopendmarc writes nothing when no suffix rule matches (e.g. "acme.example": .example
  // is reserved, not listed); RFC 7489 §3.2 then takes the TLD as the public suffix.
  u_char buf[256] = {};
  if (opendmarc_get_tld(U(d), buf, sizeof buf) == 0 && buf[0] != '\0') {
    return CanonicalName(reinterpret_cast<const char*>(buf));
  }
  size_t last = d.rfind('.');
  if (last == std::string::npos) return d;
  size_t second = d.rfind('.', last - 1);
  return second == std::string::npos ? d : d.substr(second + 1);
}

common::Result<DmarcResult> EvaluateDmarc(const DmarcQuery& query, const DnsLookup& lookup) {
  if (const std::string& e = LibraryInitError(); !e.empty()) return Error::Unavailable(e);
  DmarcResult out;
  out.domain = CanonicalName(query.header_from_domain);
  if (out.domain.empty()) return Error::InvalidInput("DMARC: no From: domain");
  ASSIGN_OR_RETURN(out.org_domain, OrganizationalDomain(out.domain));

  // §6.6.3: the From: domain's record, else the organizational domain's.
  std::string why;
  out.record_domain = "_dmarc." + out.domain;
  Fetch fetched = FetchRecord(lookup, out.record_domain, out.record, why);
  bool from_org = false;
  if (fetched == Fetch::kAbsent && out.org_domain != out.domain) {
    out.record_domain = "_dmarc." + out.org_domain;
    fetched = FetchRecord(lookup, out.record_domain, out.record, why);
    from_org = true;
  }
  switch (fetched) {
    case Fetch::kTempError:
      out.result = "temperror";
      out.reason = why;
      return out;
    case Fetch::kAbsent:
    case Fetch::kMultiple:
      out.result = "none";
      out.reason = fetched == Fetch::kAbsent ? "no DMARC record"
                                             : "more than one DMARC record at " + out.record_domain;
      out.record_domain.clear();
      return out;
    case Fetch::kFound:
      break;
  }

  // The client address is not part of the policy evaluation; libopendmarc only keeps it for
  // reports.
  std::unique_ptr<DMARC_POLICY_T, PolicyFree> pctx(
      opendmarc_policy_connect_init(U(std::string("0.0.0.0")), 0));
  if (!pctx) return Error::Internal("libopendmarc gave no context");
  // store_dmarc also sets the From: domain, and an organizational domain only when the record
  // came from it (libopendmarc then applies sp=). DKIM results go in after it: choosing the
  // best d= reads adkim= from the record.
  OPENDMARC_STATUS_T status = opendmarc_policy_store_dmarc(pctx.get(), U(out.record), U(out.domain),
                                                           from_org ? U(out.org_domain) : nullptr);
  if (status != DMARC_PARSE_OKAY) {
    out.result = "permerror";
    out.reason = std::string("bad DMARC record: ") + opendmarc_policy_status_to_str(status);
    return out;
  }
  if (!query.spf.domain.empty()) {
    (void)opendmarc_policy_store_spf(pctx.get(), U(CanonicalName(query.spf.domain)),
                                     SpfOutcome(query.spf.result), DMARC_POLICY_SPF_ORIGIN_MAILFROM,
                                     nullptr);
  }
  for (const DmarcAuthResult& d : query.dkim) {
    if (d.domain.empty()) continue;
    (void)opendmarc_policy_store_dkim(pctx.get(), U(CanonicalName(d.domain)), nullptr,
                                      DkimOutcome(d.result), nullptr);
  }
  status = opendmarc_get_policy_to_enforce(pctx.get());
  int dkim_alignment = 0, spf_alignment = 0;
  opendmarc_policy_fetch_alignment(pctx.get(), &dkim_alignment, &spf_alignment);
  out.dkim_aligned = dkim_alignment == DMARC_POLICY_DKIM_ALIGNMENT_PASS;
  out.spf_aligned = spf_alignment == DMARC_POLICY_SPF_ALIGNMENT_PASS;
  int p = 0, sp = 0;
  opendmarc_policy_fetch_p(pctx.get(), &p);
  opendmarc_policy_fetch_sp(pctx.get(), &sp);
  out.policy = PolicyName(from_org && sp != DMARC_RECORD_P_UNSPECIFIED ? sp : p);
  switch (status) {
    case DMARC_POLICY_PASS:
      out.result = "pass";
      break;
    case DMARC_POLICY_REJECT:
    case DMARC_POLICY_QUARANTINE:
    case DMARC_POLICY_NONE:
      out.result = "fail";
      break;
    default:
      out.result = "permerror";
      out.reason = opendmarc_policy_status_to_str(status);
      break;
  }
  return out;
}

}  // namespace notary
