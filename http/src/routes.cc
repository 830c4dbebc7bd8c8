#include "routes.h"

#include <spdlog/spdlog.h>

#include "common/time.h"
#include "common/utf8.h"
#include "http/envelope.h"
#include "util.h"

namespace http {
namespace {

std::string Trim(const std::string& s) {
  auto b = s.find_first_not_of(" \t");
  auto e = s.find_last_not_of(" \t");
  return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

std::string StripBrackets(std::string s) {
  s = Trim(s);
  if (s.size() >= 2 && s.front() == '<' && s.back() == '>') s = s.substr(1, s.size() - 2);
  return s;
}

bool IsHex64(const std::string& s) { return s.size() == 64 && common::FromHex(s).has_value(); }

}  // namespace

common::Result<pipeline::Arrival> ArrivalFromRequest(const httplib::Request& req,
                                                     const pipeline::Principal& who,
                                                     size_t max_recipients,
                                                     std::string_view& message) {
  pipeline::Arrival arrival;
  notary::Envelope& env = arrival.envelope;
  notary::Provenance& pv = arrival.provenance;
  pv.source = "http";
  env.client_ip = req.remote_addr;
  env.client_port = static_cast<uint16_t>(req.remote_port);
  pv.listener = "http";
  pv.asserted_by = who.key_id;
  arrival.journal_trusted = who.Has("journal");
  message = req.body;
  const bool body_form = req.get_header_value("Content-Type").rfind(kEnvelopeBodyType, 0) == 0;
  if (body_form) {
    if (req.has_header("X-Envelope-From") || req.has_header("X-Envelope-To")) {
      return common::Error::InvalidInput(
          "give the envelope either in the body or in X-Envelope-* headers, not both");
    }
    ASSIGN_OR_RETURN(auto parsed, ParseEnvelopeBody(req.body, max_recipients));
    env.mail_from = std::move(parsed.envelope.mail_from);
    env.recipients = std::move(parsed.envelope.rcpt_to);
    arrival.smtputf8 = parsed.envelope.smtputf8;
    arrival.body_type = parsed.envelope.body_type;
    message = message.substr(parsed.message_offset);
  } else {
    if (req.get_header_value_count("X-Envelope-From") > 1) {
      return common::Error::InvalidInput("X-Envelope-From given more than once");
    }
    if (req.has_header("X-Envelope-From")) {
      ASSIGN_OR_RETURN(auto from, ParseEnvelopeFromHeader(req.get_header_value("X-Envelope-From")));
      env.mail_from = std::move(from);
    }
    // Every X-Envelope-To header counts (a second one was silently ignored).
    auto range = req.headers.equal_range("X-Envelope-To");
    for (auto it = range.first; it != range.second; ++it) {
      if (auto st = AppendEnvelopeToHeader(it->second, max_recipients, env.recipients); !st.ok()) {
        return st.error();
      }
    }
  }
  // What the forwarding MTA observed: only a key trusted to relay may state it, or any ingest
  // key could claim any client address, TLS or authenticated user.
  static const char* kRelayHeaders[] = {
      "X-Envelope-Client-Address", "X-Envelope-Client-Port", "X-Envelope-Client-Name",
      "X-Envelope-Helo",           "X-Envelope-TLS-Version", "X-Envelope-TLS-Cipher",
      "X-Envelope-Auth-User",      "X-Envelope-Queue-Id",    "X-Envelope-Source"};
  bool relay = false;
  for (const char* h : kRelayHeaders) relay = relay || req.has_header(h);
  if (relay && !who.Has("relay")) {
    return common::Error::PermissionDenied(
        "X-Envelope-Client-* and the other relay headers need an API key with the 'relay' "
        "scope");
  }
  auto opt = [&](const char* name, std::string& field, size_t max) -> common::Status {
    if (!req.has_header(name)) return common::Ok();
    if (req.get_header_value_count(name) > 1) {
      return common::Error::InvalidInput(std::string(name) + " given more than once");
    }
    field = Trim(req.get_header_value(name));
    if (field.size() > max) return common::Error::InvalidInput(std::string(name) + " too long");
    return common::Ok();
  };
  std::string source, port;
  for (auto st :
       {opt("X-Envelope-Client-Address", env.client_ip, 64), opt("X-Envelope-Client-Port", port, 5),
        opt("X-Envelope-Client-Name", pv.client_name, 255), opt("X-Envelope-Helo", env.helo, 255),
        opt("X-Envelope-TLS-Version", env.tls_protocol, 32),
        opt("X-Envelope-TLS-Cipher", env.tls_cipher, 128),
        opt("X-Envelope-Auth-User", pv.auth_user, 255), opt("X-Envelope-Queue-Id", pv.queue_id, 64),
        opt("X-Envelope-Source", source, 16)}) {
    if (!st.ok()) return st.error();
  }
  if (!port.empty()) {
    auto p = ParseU64(port);
    if (!p || *p > 65535)
      return common::Error::InvalidInput("X-Envelope-Client-Port is not a port");
    env.client_port = static_cast<uint16_t>(*p);
  }
  if (!source.empty()) {
    // "journal" is not claimed: it is what unwrapping a report from a trusted source sets.
    if (source != "milter" && source != "http") {
      return common::Error::InvalidInput("X-Envelope-Source is milter or http");
    }
    pv.source = source;
  }
  return arrival;
}

common::Result<storage::SearchQuery> SearchFromRequest(const httplib::Request& req,
                                                       const std::string& tenant) {
  static const char* kKnown[] = {"message_id",      "from",        "to",     "subject",
                                 "since",           "until",       "sha256", "attachment_sha256",
                                 "attachment_name", "status",      "limit",  "next",
                                 "dkim_domain",     "dkim_result", "order",  "case"};
  for (const auto& [name, value] : req.params) {
    bool known = false;
    for (const char* k : kKnown) known = known || name == k;
    if (!known) return common::Error::InvalidInput("unknown parameter '" + name + "'");
    if (value.size() > 1000)
      return common::Error::InvalidInput("parameter '" + name + "' too long");
    // Text the database stores is valid UTF-8 without NUL: anything else matches nothing and
    // would make the query fail, which is the client's error, not the database's.
    if (value.find('\0') != std::string::npos || common::SanitizeUtf8(value) != value) {
      return common::Error::InvalidInput("parameter '" + name + "' is not UTF-8 text without NUL");
    }
  }
  storage::SearchQuery q;
  q.tenant = tenant;
  if (auto v = Param(req, "message_id")) q.message_id = StripBrackets(*v);
  q.from = Param(req, "from");
  q.to = Param(req, "to");
  q.subject = Param(req, "subject");
  q.attachment_name = Param(req, "attachment_name");
  if (auto v = Param(req, "sha256")) {
    if (!IsHex64(*v)) return common::Error::InvalidInput("sha256 must be 64 hex digits");
    q.sha256 = *v;
  }
  if (auto v = Param(req, "attachment_sha256")) {
    if (!IsHex64(*v)) return common::Error::InvalidInput("attachment_sha256 must be 64 hex digits");
    q.attachment_sha256 = *v;
  }
  q.dkim_domain = Param(req, "dkim_domain");
  if (auto v = Param(req, "case")) {
    if (!storage::IsUuid(*v)) return common::Error::InvalidInput("case is a case id");
    q.case_id = *v;
  }
  if (auto v = Param(req, "dkim_result")) {
    if (*v != "pass" && *v != "fail" && *v != "neutral" && *v != "temperror" && *v != "permerror") {
      return common::Error::InvalidInput(
          "dkim_result is pass, fail, neutral, temperror or permerror");
    }
    q.dkim_result = *v;
  }
  if (auto v = Param(req, "status")) {
    if (*v != "pending" && *v != "sealed")
      return common::Error::InvalidInput("status is pending or sealed");
    q.status = *v;
  }
  if (auto v = Param(req, "since")) {
    q.since_us = common::ParseRfc3339Micros(*v);
    if (!q.since_us) return common::Error::InvalidInput("since: use RFC 3339 or YYYY-MM-DD");
  }
  if (auto v = Param(req, "until")) {
    q.until_us = common::ParseRfc3339Micros(*v);
    if (!q.until_us) return common::Error::InvalidInput("until: use RFC 3339 or YYYY-MM-DD");
  }
  if (auto v = Param(req, "limit")) {
    auto n = ParseU64(*v);
    if (!n || *n < 1 || *n > 1000) return common::Error::InvalidInput("limit is 1 to 1000");
    q.limit = static_cast<int>(*n);
  }
  if (auto v = Param(req, "order")) {
    if (*v != "newest" && *v != "oldest")
      return common::Error::InvalidInput("order is newest (the default) or oldest");
    q.oldest_first = *v == "oldest";
  }
  if (auto v = Param(req, "next")) {
    auto us = v->find('_');
    if (us == std::string::npos || !ParseU64(v->substr(0, us)) ||
        !storage::IsUuid(v->substr(us + 1))) {
      return common::Error::InvalidInput("next is not a cursor from a previous page");
    }
    q.after = *v;
  }
  return q;
}

void LogAccess(HttpDeps& d, const pipeline::Principal& who, const httplib::Request& req,
               const std::string& route, const std::string& receipt_id, const std::string& detail) {
  storage::AccessEntry e;
  e.key_id = who.key_id;
  e.tenant = who.tenant;
  e.route = route;
  e.receipt_id = receipt_id;
  e.client_ip = req.remote_addr;
  e.detail = detail;
  auto st = d.admin.LogAccess(e);
  if (!st.ok()) {
    spdlog::warn("event=access_log_failed route=\"{}\" error=\"{}\"", route, st.error().ToString());
  }
}

}  // namespace http
