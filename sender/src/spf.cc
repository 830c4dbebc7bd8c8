#include "sender/spf.h"

#include <arpa/inet.h>
#include <ldns/ldns.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>

// libspf2's headers are C and need the socket and resolver types above.
extern "C" {
#include <spf2/spf.h>
}

#include <algorithm>
#include <cctype>
#include <cstring>
#include <memory>
#include <mutex>
#include <set>
#include <vector>

namespace notary {

using common::Error;

namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string CanonicalName(std::string_view name) {
  while (!name.empty() && name.back() == '.') name.remove_suffix(1);
  return Lower(name);
}

// The owner name of an ldns record (or a name in its rdata), lower case, no trailing dot.
std::string NameText(const ldns_rdf* rdf) {
  char* text = ldns_rdf2str(rdf);
  if (text == nullptr) return "";
  std::string out = CanonicalName(text);
  free(text);
  return out;
}

bool IsSpfRecord(std::string_view txt) {
  // RFC 7208 §4.5: "v=spf1" followed by a space or the end, case-insensitively.
  if (txt.size() < 6 || Lower(txt.substr(0, 6)) != "v=spf1") return false;
  return txt.size() == 6 || txt[6] == ' ';
}

// What one evaluation's DNS layer knows; it lives on the stack of EvaluateSpf.
struct LayerState {
  const DnsLookup* lookup = nullptr;
  bool first_txt_done = false;
  int terms = 0;  // DNS-querying terms so far (RFC 7208 §4.6.4)
  int voids = 0;  // of which void
  bool over_term_limit = false;
  bool over_void_limit = false;
  // MX targets and PTR names: their A/AAAA lookups belong to the mx/ptr term that found
  // them and are not terms of their own.
  std::multiset<std::string> expansion_names;
  std::vector<std::string> top_records;  // SPF records of the evaluated domain
  std::string temperror_why;             // the first lookup that failed for now
};

SPF_dns_rr_t* Rr(SPF_dns_server_t* server, const char* domain, ns_type type, int herrno) {
  SPF_dns_rr_t* rr = SPF_dns_rr_new_init(server, domain, type, 0, herrno);
  if (rr == nullptr) SPF_error("out of memory");  // libspf2 cannot take a NULL here
  return rr;
}

// The records of `type` answering `qname` in a wire reply, CNAMEs followed.
std::vector<ldns_rr*> AnswerRecords(ldns_pkt* pkt, const std::string& qname, ldns_rr_type type) {
  ldns_rr_list* answer = ldns_pkt_answer(pkt);
  std::set<std::string> owners{qname};
  // A CNAME chain is at most as long as the answer section.
  for (size_t pass = 0; pass < ldns_rr_list_rr_count(answer); ++pass) {
    size_t before = owners.size();
    for (size_t i = 0; i < ldns_rr_list_rr_count(answer); ++i) {
      ldns_rr* rr = ldns_rr_list_rr(answer, i);
      if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_CNAME && ldns_rr_rd_count(rr) == 1 &&
          owners.count(NameText(ldns_rr_owner(rr))) != 0) {
        owners.insert(NameText(ldns_rr_rdf(rr, 0)));
      }
    }
    if (owners.size() == before) break;
  }
  std::vector<ldns_rr*> out;
  for (size_t i = 0; i < ldns_rr_list_rr_count(answer); ++i) {
    ldns_rr* rr = ldns_rr_list_rr(answer, i);
    if (ldns_rr_get_type(rr) == type && owners.count(NameText(ldns_rr_owner(rr))) != 0) {
      out.push_back(rr);
    }
  }
  return out;
}

bool SetData(SPF_dns_rr_t* out, int idx, const void* data, size_t size) {
  if (SPF_dns_rr_buf_realloc(out, idx, size) != SPF_E_SUCCESS) return false;
  std::memcpy(out->rr[idx], data, size);
  return true;
}

bool SetText(SPF_dns_rr_t* out, int idx, const std::string& text) {
  // libspf2 reads C strings: a record with an embedded NUL is cut there.
  return SetData(out, idx, text.c_str(), text.size() + 1);
}

// Fills `out` (NETDB_SUCCESS) from the reply's records; false if a record is malformed.
bool Convert(const std::vector<ldns_rr*>& records, ns_type type, LayerState& st,
             std::vector<std::string>& txts, SPF_dns_rr_t* out) {
  int n = 0;
  for (ldns_rr* rr : records) {
    switch (type) {
      case ns_t_a: {
        const ldns_rdf* rdf = ldns_rr_rdf(rr, 0);
        if (rdf == nullptr || ldns_rdf_size(rdf) != 4) return false;
        if (!SetData(out, n, ldns_rdf_data(rdf), 4)) return false;
        break;
      }
      case ns_t_aaaa: {
        const ldns_rdf* rdf = ldns_rr_rdf(rr, 0);
        if (rdf == nullptr || ldns_rdf_size(rdf) != 16) return false;
        if (!SetData(out, n, ldns_rdf_data(rdf), 16)) return false;
        break;
      }
      case ns_t_txt: {
        std::string text;
        for (size_t i = 0; i < ldns_rr_rd_count(rr); ++i) {
          const ldns_rdf* rdf = ldns_rr_rdf(rr, i);
          const uint8_t* data = ldns_rdf_data(rdf);
          size_t size = ldns_rdf_size(rdf);
          if (size == 0 || data[0] + 1u > size) return false;
          text.append(reinterpret_cast<const char*>(data + 1), data[0]);
        }
        txts.push_back(text);
        if (!SetText(out, n, text)) return false;
        break;
      }
      case ns_t_mx: {
        if (ldns_rr_rd_count(rr) != 2) return false;
        std::string target = NameText(ldns_rr_rdf(rr, 1));
        st.expansion_names.insert(target);
        if (!SetText(out, n, target)) return false;
        break;
      }
      case ns_t_ptr: {
        if (ldns_rr_rd_count(rr) != 1) return false;
        std::string target = NameText(ldns_rr_rdf(rr, 0));
        st.expansion_names.insert(target);
        if (!SetText(out, n, target)) return false;
        break;
      }
      default:
        return false;
    }
    ++n;
  }
  out->num_rr = n;
  return true;
}

// libspf2's DNS layer: every question goes to the caller's DnsLookup.
SPF_dns_rr_t* LayerLookup(SPF_dns_server_t* server, const char* domain, ns_type type, int) {
  auto* st = static_cast<LayerState*>(server->hook);
  std::string name = CanonicalName(domain != nullptr ? domain : "");
  // RFC 7208 §3.1/§14.1: SPF records are published as TXT only; the old type SPF (99),
  // which libspf2 asks first, is answered "no data" here, neither asked nor archived.
  if (type == ns_t_spf) return Rr(server, domain, type, NO_DATA);
  if (type != ns_t_a && type != ns_t_aaaa && type != ns_t_txt && type != ns_t_mx &&
      type != ns_t_ptr) {
    return Rr(server, domain, type, NO_RECOVERY);
  }

  // The first TXT question is the evaluated domain's record: not a term. Address lookups
  // of names an MX or PTR answer gave belong to that term.
  const bool top = type == ns_t_txt && !st->first_txt_done;
  if (type == ns_t_txt) st->first_txt_done = true;
  bool term = !top;
  if (type == ns_t_a || type == ns_t_aaaa) {
    auto it = st->expansion_names.find(name);
    if (it != st->expansion_names.end()) {
      st->expansion_names.erase(it);
      term = false;
    }
  }
  if (term && ++st->terms > kSpfMaxDnsTerms) st->over_term_limit = true;
  // Past a limit the result is already permerror (EvaluateSpf sets it): ask nothing more.
  if (st->over_term_limit || st->over_void_limit) return Rr(server, domain, type, HOST_NOT_FOUND);

  DnsAnswer answer = (*st->lookup)(name, static_cast<uint16_t>(type));
  int herrno = NETDB_SUCCESS;
  switch (answer.outcome) {
    case LookupOutcome::kTemperror:
      herrno = TRY_AGAIN;
      break;
    case LookupOutcome::kNxdomain:
      herrno = HOST_NOT_FOUND;
      break;
    case LookupOutcome::kNodata:
      herrno = NO_DATA;
      break;
    case LookupOutcome::kAnswer:
      break;
  }
  // A validating resolver answers a bogus zone with SERVFAIL (RFC 4035 §5.5), which SPF
  // treats as a temporary error (RFC 7208 §5.2): the records are not used.
  if (answer.dnssec == DnssecStatus::kBogus) herrno = TRY_AGAIN;

  SPF_dns_rr_t* out = Rr(server, domain, type, herrno);
  if (herrno == NETDB_SUCCESS) {
    ldns_pkt* pkt = nullptr;
    std::vector<std::string> txts;
    bool ok = ldns_wire2pkt(&pkt, reinterpret_cast<const uint8_t*>(answer.wire.data()),
                            answer.wire.size()) == LDNS_STATUS_OK;
    if (ok) {
      ok = Convert(AnswerRecords(pkt, name, static_cast<ldns_rr_type>(type)), type, *st, txts, out);
      ldns_pkt_free(pkt);
    }
    if (!ok) {
      // A reply that does not parse is a failed lookup, not an absent record.
      SPF_dns_rr_free(out);
      out = Rr(server, domain, type, TRY_AGAIN);
      if (answer.why.empty()) answer.why = "unreadable reply to " + name;
    } else if (out->num_rr == 0) {
      out->herrno = NO_DATA;
    }
    if (top) {
      for (const std::string& t : txts) {
        if (IsSpfRecord(t)) st->top_records.push_back(t);
      }
    }
  }
  if (out->herrno == TRY_AGAIN && st->temperror_why.empty()) {
    st->temperror_why = answer.why.empty() ? "lookup of " + name + " failed" : answer.why;
  }
  if (!top && (out->herrno == HOST_NOT_FOUND || out->herrno == NO_DATA) &&
      ++st->voids > kSpfMaxVoidLookups) {
    st->over_void_limit = true;
  }
  return out;
}

// exp= (RFC 7208 §6.2): the explanation's TXT record, through the caller's lookup like every
// other question, and not one of the 10 terms. Its macros are left unexpanded: the text is
// kept as the domain published it.
SPF_errcode_t LayerGetExp(SPF_server_t* server, const char* domain, char** buf, size_t* len) {
  auto* st = static_cast<LayerState*>(server->resolver->hook);
  std::string text;
  std::string name = CanonicalName(domain != nullptr ? domain : "");
  if (!st->over_term_limit && !st->over_void_limit) {
    DnsAnswer answer = (*st->lookup)(name, kDnsTypeTxt);
    if (answer.outcome == LookupOutcome::kAnswer && answer.dnssec != DnssecStatus::kBogus) {
      auto records = TxtRecords(answer);
      // §6.2: exactly one TXT record, else no explanation.
      if (records.ok() && records->size() == 1) text = records->front();
    }
  }
  text = text.substr(0, std::strlen(text.c_str()));
  if (*len < text.size() + 1) {
    char* grown = static_cast<char*>(realloc(*buf, text.size() + 1));
    if (grown == nullptr) return SPF_E_NO_MEMORY;
    *buf = grown;
    *len = text.size() + 1;
  }
  std::memcpy(*buf, text.c_str(), text.size() + 1);
  return SPF_E_SUCCESS;
}

std::string ResultName(SPF_result_t r) {
  switch (r) {
    case SPF_RESULT_PASS:
      return "pass";
    case SPF_RESULT_FAIL:
      return "fail";
    case SPF_RESULT_SOFTFAIL:
      return "softfail";
    case SPF_RESULT_NEUTRAL:
      return "neutral";
    case SPF_RESULT_NONE:
      return "none";
    case SPF_RESULT_TEMPERROR:
      return "temperror";
    case SPF_RESULT_PERMERROR:
    case SPF_RESULT_INVALID:
    default:
      return "permerror";
  }
}

struct ServerFree {
  void operator()(SPF_server_t* s) const { SPF_server_free(s); }
};
struct RequestFree {
  void operator()(SPF_request_t* r) const { SPF_request_free(r); }
};
struct ResponseFree {
  void operator()(SPF_response_t* r) const { SPF_response_free(r); }
};

// libspf2 prints its warnings and notes to stderr through process-wide hooks; the result
// carries what matters, so they are silenced, once, before any evaluation runs.
void QuietLibspf2() {
  static std::once_flag once;
  std::call_once(once, [] {
    SPF_warning_handler = nullptr;
    SPF_info_handler = nullptr;
    SPF_debug_handler = nullptr;
  });
}

// A domain SPF can be asked about (RFC 7208 §4.3): a dotted name, no address literal.
bool PlausibleDomain(std::string_view d) {
  if (d.empty() || d.size() > 253 || d.find('.') == std::string_view::npos) return false;
  if (d.front() == '[' || d.front() == '.') return false;
  size_t label = 0;
  for (char c : d) {
    if (c == '.') {
      if (label == 0) return false;
      label = 0;
    } else if (++label > 63 || static_cast<unsigned char>(c) <= ' ') {
      return false;
    }
  }
  return true;
}

common::Result<SpfResult> Evaluate(const SpfQuery& q, const DnsLookup& lookup, bool helo) {
  QuietLibspf2();
  SpfResult out;
  out.identity = helo ? "helo" : "mailfrom";
  const std::string helo_name = CanonicalName(q.helo);
  if (helo || q.mail_from.empty()) {
    if (helo_name.empty()) return Error::InvalidInput("SPF: no HELO name to check");
    out.sender = "postmaster@" + helo_name;
    out.domain = helo_name;
  } else {
    out.sender = q.mail_from;
    size_t at = q.mail_from.rfind('@');
    out.domain = CanonicalName(at == std::string::npos ? q.mail_from : q.mail_from.substr(at + 1));
    if (at == std::string::npos) out.sender = "postmaster@" + out.domain;
  }

  in_addr v4{};
  in6_addr v6{};
  const bool is_v4 = inet_pton(AF_INET, q.client_ip.c_str(), &v4) == 1;
  const bool is_v6 = !is_v4 && inet_pton(AF_INET6, q.client_ip.c_str(), &v6) == 1;
  if (!is_v4 && !is_v6) return Error::InvalidInput("SPF: client address is not an IP address");

  if (!PlausibleDomain(out.domain)) {
    // §4.3: a malformed or single-label domain has no record to find.
    out.result = "none";
    out.reason = "not a domain name SPF can check";
    return out;
  }

  LayerState st;
  st.lookup = &lookup;
  // destroy stays NULL: the layer is ours (on this stack), libspf2 must not free it.
  SPF_dns_server_t layer{};
  layer.lookup = LayerLookup;
  layer.get_exp = LayerGetExp;
  layer.name = "notary";
  layer.hook = &st;

  std::unique_ptr<SPF_server_t, ServerFree> server(SPF_server_new_dns(&layer, 0));
  if (!server) return Error::Internal("libspf2 did not initialise");
  // %{r} (the checking host) is "unknown" (RFC 7208 §7.3) so that the result does not depend
  // on the machine that computed it; the default explanation is none.
  SPF_response_t* setup = nullptr;
  SPF_errcode_t err = SPF_server_set_rec_dom(server.get(), "unknown");
  if (err == SPF_E_SUCCESS) err = SPF_server_set_explanation(server.get(), "", &setup);
  if (setup != nullptr) SPF_response_free(setup);
  if (err != SPF_E_SUCCESS) return Error::Internal("libspf2 refused its configuration");

  std::unique_ptr<SPF_request_t, RequestFree> req(SPF_request_new(server.get()));
  if (!req) return Error::Internal("libspf2 gave no request");
  err = is_v4 ? SPF_request_set_ipv4(req.get(), v4) : SPF_request_set_ipv6(req.get(), v6);
  if (err == SPF_E_SUCCESS && !helo_name.empty()) {
    err = SPF_request_set_helo_dom(req.get(), helo_name.c_str());
  }
  if (err == SPF_E_SUCCESS) {
    err = static_cast<SPF_errcode_t>(SPF_request_set_env_from(req.get(), out.sender.c_str()));
  }
  if (err != SPF_E_SUCCESS) return Error::InvalidInput("SPF: libspf2 refused the query");

  // SPF_request_query_mailfrom() would pass every loopback client without looking ("localhost
  // always gets a free ride"): its steps are done here without that shortcut.
  std::unique_ptr<SPF_response_t, ResponseFree> resp(SPF_response_new(req.get()));
  if (!resp) return Error::Internal("libspf2 gave no response");
  req->use_helo = helo ? 1 : 0;
  req->cur_dom = helo ? req->helo_dom : req->env_from_dp;
  if (req->cur_dom == nullptr) return Error::InvalidInput("SPF: no domain to check");
  SPF_record_t* record = nullptr;
  err = SPF_server_get_record(server.get(), req.get(), resp.get(), &record);
  SPF_result_t result = SPF_RESULT_INVALID;
  if (err != SPF_E_SUCCESS) {
    if (record != nullptr) SPF_record_free(record);
    SPF_i_done(resp.get(), resp->result, resp->reason, resp->err);
    result = SPF_response_result(resp.get());
    // Debian's libspf2 1.2.10 leaves the result unset (a permerror) when the record's own TXT
    // lookup fails for now; the layer saw that failure, and it is a temperror (§4.4).
    if (err == SPF_E_DNS_ERROR && !st.temperror_why.empty()) result = SPF_RESULT_TEMPERROR;
  } else {
    resp->spf_record_exp = record;
    SPF_record_interpret(record, req.get(), resp.get(), 0);
    SPF_record_free(record);
    resp->spf_record_exp = nullptr;
    result = SPF_response_result(resp.get());
  }

  out.result = ResultName(result);
  if (st.top_records.size() == 1) out.record = st.top_records.front();
  if (st.over_term_limit) {
    out.result = "permerror";
    out.reason = "more than " + std::to_string(kSpfMaxDnsTerms) + " DNS lookups";
  } else if (st.over_void_limit) {
    out.result = "permerror";
    out.reason = "more than " + std::to_string(kSpfMaxVoidLookups) + " void DNS lookups";
  } else if (out.result == "temperror") {
    out.reason = st.temperror_why.empty() ? "temporary DNS failure" : st.temperror_why;
  } else {
    std::vector<std::string> messages;
    for (int i = 0; i < SPF_response_messages(resp.get()); ++i) {
      SPF_error_t* e = SPF_response_message(resp.get(), i);
      if (e != nullptr && SPF_error_errorp(e) && SPF_error_message(e) != nullptr) {
        messages.emplace_back(SPF_error_message(e));
      }
    }
    if (messages.empty() && SPF_response_get_header_comment(resp.get()) != nullptr) {
      messages.emplace_back(SPF_response_get_header_comment(resp.get()));
    }
    if (messages.empty() && out.result == "permerror") {
      messages.emplace_back(SPF_strerror(SPF_response_errcode(resp.get())));
    }
    for (const std::string& m : messages) {
      if (!out.reason.empty()) out.reason += "; ";
      out.reason += m;
    }
  }
  if (out.result == "fail" && SPF_response_get_explanation(resp.get()) != nullptr) {
    out.explanation = SPF_response_get_explanation(resp.get());
  }
  return out;
}

}  // namespace

common::Result<SpfResult> EvaluateSpf(const SpfQuery& query, const DnsLookup& lookup) {
  return Evaluate(query, lookup, false);
}

common::Result<SpfResult> EvaluateSpfHelo(const SpfQuery& query, const DnsLookup& lookup) {
  return Evaluate(query, lookup, true);
}

}  // namespace notary
