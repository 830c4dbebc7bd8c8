#include "milter.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/rand.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <cstring>
#include <memory>
#include <utility>

#include "common/bytes.h"

namespace milter {
namespace {

MilterContext* g_ctx = nullptr;  // set once before smfi_main; read-only afterwards

struct Connection {
  std::string client_addr, client_port, client_name, helo;
  std::string tls_version, tls_cipher, auth_user;
  bool leading_space = false;  // SMFIP_HDR_LEADSPC negotiated: header values come verbatim
  unsigned long protocol = 0;  // the SMFIP_* steps negotiated
  // The message in progress.
  bool in_message = false;
  SpoolRecord record;
  std::string headers, body;
};

Connection* Conn(SMFICTX* ctx) { return static_cast<Connection*>(smfi_getpriv(ctx)); }

std::string Macro(SMFICTX* ctx, const char* name) {
  const char* v = smfi_getsymval(ctx, const_cast<char*>(name));
  return v == nullptr ? "" : v;
}

std::string StripBrackets(const char* s) {
  std::string v = s == nullptr ? "" : s;
  if (v.size() >= 2 && v.front() == '<' && v.back() == '>') v = v.substr(1, v.size() - 2);
  return v;
}

// Header values arrive with bare LF between folded lines; the message is CRLF throughout.
void AppendCrlf(std::string& out, const char* s) {
  for (const char* p = s; *p != '\0'; ++p) {
    if (*p == '\n' && (p == s || p[-1] != '\r')) out += '\r';
    out += *p;
  }
}

// Every stage before end of data only records: when the MTA allows it (SMFIP_NR_*), it sends
// them without waiting for a reply, which saves a round trip per header, recipient, etc.
constexpr unsigned long kNoReplySteps = SMFIP_NR_CONN | SMFIP_NR_HELO | SMFIP_NR_MAIL |
                                        SMFIP_NR_RCPT | SMFIP_NR_HDR | SMFIP_NR_BODY |
                                        SMFIP_NR_EOH | SMFIP_NR_DATA | SMFIP_NR_UNKN;
// Stages this milter has no use for.
constexpr unsigned long kSkippedSteps = SMFIP_NOUNKNOWN | SMFIP_NODATA | SMFIP_NOEOH;

sfsistat Reply(const Connection* c, unsigned long no_reply_flag) {
  return (c != nullptr && (c->protocol & no_reply_flag) != 0) ? SMFIS_NOREPLY : SMFIS_CONTINUE;
}

void ResetMessage(Connection* c) {
  c->in_message = false;
  c->record = SpoolRecord{};
  c->headers.clear();
  c->body.clear();
}

sfsistat OnNegotiate(SMFICTX* ctx, unsigned long f0, unsigned long f1, unsigned long, unsigned long,
                     unsigned long* pf0, unsigned long* pf1, unsigned long* pf2,
                     unsigned long* pf3) {
  auto* c = new Connection();
  smfi_setpriv(ctx, c);
  *pf0 = (g_ctx->add_header && g_ctx->mode == Mode::kFailClosed) ? (f0 & SMFIF_ADDHDRS) : 0;
  if ((f0 & SMFIF_SETSYMLIST) != 0) {
    // Only the macros this milter reads, fewer for the MTA to expand and send per message
    // (Postfix's defaults are about twenty). Postfix takes an empty list as "the default", so
    // a stage without use gets one short macro.
    const std::pair<int, const char*> lists[] = {
        {SMFIM_CONNECT, "j"},
        {SMFIM_HELO, "{tls_version} {cipher}"},
        {SMFIM_ENVFROM, "{auth_authen} {tls_version} {cipher}"},
        {SMFIM_ENVRCPT, "i"},
        {SMFIM_DATA, "i"},
        {SMFIM_EOH, "i"},
        {SMFIM_EOM, "i"},
    };
    bool set = true;
    for (const auto& [stage, macros] : lists) {
      set = set && smfi_setsymlist(ctx, stage, const_cast<char*>(macros)) == MI_SUCCESS;
    }
    if (set) *pf0 |= SMFIF_SETSYMLIST;
  }
  *pf1 = f1 & (SMFIP_HDR_LEADSPC | kNoReplySteps | kSkippedSteps);
  c->protocol = *pf1;
  c->leading_space = (*pf1 & SMFIP_HDR_LEADSPC) != 0;
  *pf2 = 0;
  *pf3 = 0;
  return SMFIS_CONTINUE;
}

sfsistat OnConnect(SMFICTX* ctx, char* hostname, _SOCK_ADDR* addr) {
  Connection* c = Conn(ctx);
  if (c == nullptr) {  // an MTA that does not negotiate
    c = new Connection();
    smfi_setpriv(ctx, c);
  }
  c->client_name = hostname == nullptr ? "" : hostname;
  if (addr != nullptr) {
    char buf[INET6_ADDRSTRLEN] = {0};
    if (addr->sa_family == AF_INET) {
      const auto* in = reinterpret_cast<const sockaddr_in*>(addr);
      inet_ntop(AF_INET, &in->sin_addr, buf, sizeof buf);
      c->client_port = std::to_string(ntohs(in->sin_port));
    } else if (addr->sa_family == AF_INET6) {
      const auto* in6 = reinterpret_cast<const sockaddr_in6*>(addr);
      inet_ntop(AF_INET6, &in6->sin6_addr, buf, sizeof buf);
      c->client_port = std::to_string(ntohs(in6->sin6_port));
    }
    c->client_addr = buf;
  }
  return Reply(Conn(ctx), SMFIP_NR_CONN);
}

sfsistat OnHelo(SMFICTX* ctx, char* helo) {
  Connection* c = Conn(ctx);
  c->helo = helo == nullptr ? "" : helo;
  // Postfix sends the TLS macros with HELO (milter_helo_macros), Sendmail too.
  c->tls_version = Macro(ctx, "{tls_version}");
  c->tls_cipher = Macro(ctx, "{cipher}");
  return Reply(Conn(ctx), SMFIP_NR_HELO);
}

sfsistat OnEnvFrom(SMFICTX* ctx, char** argv) {
  Connection* c = Conn(ctx);
  ResetMessage(c);
  c->in_message = true;
  c->record.mail_from = StripBrackets(argv == nullptr ? nullptr : argv[0]);
  c->auth_user = Macro(ctx, "{auth_authen}");
  if (c->tls_version.empty()) c->tls_version = Macro(ctx, "{tls_version}");
  if (c->tls_cipher.empty()) c->tls_cipher = Macro(ctx, "{cipher}");
  return Reply(Conn(ctx), SMFIP_NR_MAIL);
}

sfsistat OnEnvRcpt(SMFICTX* ctx, char** argv) {
  Connection* c = Conn(ctx);
  if (argv != nullptr && argv[0] != nullptr) c->record.rcpt_to.push_back(StripBrackets(argv[0]));
  return Reply(Conn(ctx), SMFIP_NR_RCPT);
}

sfsistat OnHeader(SMFICTX* ctx, char* name, char* value) {
  Connection* c = Conn(ctx);
  c->headers += name;
  c->headers += c->leading_space ? ":" : ": ";
  AppendCrlf(c->headers, value);
  c->headers += "\r\n";
  return Reply(Conn(ctx), SMFIP_NR_HDR);
}

sfsistat OnBody(SMFICTX* ctx, unsigned char* chunk, size_t len) {
  Conn(ctx)->body.append(reinterpret_cast<const char*>(chunk), len);
  return Reply(Conn(ctx), SMFIP_NR_BODY);
}

sfsistat OnEom(SMFICTX* ctx) {
  Connection* c = Conn(ctx);
  Stats& stats = *g_ctx->stats;
  stats.messages_total.fetch_add(1);
  SpoolRecord& r = c->record;
  r.client_addr = c->client_addr;
  r.client_port = c->client_port;
  r.client_name = c->client_name;
  r.helo = c->helo;
  r.tls_version = c->tls_version;
  r.tls_cipher = c->tls_cipher;
  r.auth_user = c->auth_user;
  r.queue_id = Macro(ctx, "i");
  const std::string queue_id = r.queue_id;
  const size_t bytes = c->headers.size() + 2 + c->body.size();

  if (g_ctx->mode == Mode::kFailOpen) {
    // The record goes to the spool from where its parts lie: no copy of the message.
    const std::string envelope = EncodeSpoolEnvelope(r);
    const std::string_view parts[] = {envelope, c->headers, "\r\n", c->body};
    auto id = g_ctx->spool->Put(parts);
    ResetMessage(c);
    if (!id.ok()) {
      if (id.error().message() == "spool full") {
        stats.spool_full_total.fetch_add(1);
        spdlog::error(
            "event=spool_full queue_id={} bytes={} spool_bytes={} max_bytes={} action=tempfail",
            queue_id, bytes, g_ctx->spool->bytes(), g_ctx->spool->max_bytes());
      } else {
        spdlog::error("event=spool_write_failed queue_id={} reason=\"{}\" action=tempfail",
                      queue_id, id.error().message());
      }
      stats.tempfail_total.fetch_add(1);
      smfi_setreply(ctx, const_cast<char*>("451"), const_cast<char*>("4.3.0"),
                    const_cast<char*>("notary spool unavailable, try again later"));
      return SMFIS_TEMPFAIL;
    }
    stats.spooled_total.fetch_add(1);
    stats.spool_records = g_ctx->spool->records();
    stats.spool_bytes = g_ctx->spool->bytes();
    spdlog::info("event=message_spooled queue_id={} spool_id={} bytes={}", queue_id, *id, bytes);
    g_ctx->forwarder->Wake();
    return SMFIS_CONTINUE;
  }

  // Fail-closed: a fresh key per attempt; a retry by the client is a new attempt.
  r.message = std::move(c->headers);
  r.message += "\r\n";
  r.message += c->body;
  uint8_t rnd[16];
  if (RAND_bytes(rnd, sizeof rnd) != 1) std::memset(rnd, 0, sizeof rnd);
  const std::string key = "notary-milter-" + common::ToHex(std::span<const uint8_t>(rnd, 16));
  auto receipt = g_ctx->client->Submit(r, key);
  ResetMessage(c);
  if (!receipt.ok()) {
    stats.tempfail_total.fetch_add(1);
    spdlog::warn("event=message_tempfailed queue_id={} bytes={} reason=\"{}\"", queue_id, bytes,
                 receipt.error().message());
    smfi_setreply(ctx, const_cast<char*>("451"), const_cast<char*>("4.3.0"),
                  const_cast<char*>("message could not be notarised, try again later"));
    return SMFIS_TEMPFAIL;
  }
  stats.notarised_total.fetch_add(1);
  spdlog::info("event=message_notarised queue_id={} receipt={} bytes={}", queue_id, receipt->id,
               bytes);
  if (g_ctx->add_header) {
    std::string value =
        (c->leading_space ? " id=" : "id=") + receipt->id + "; sha256=" + receipt->canonical_sha256;
    if (smfi_addheader(ctx, const_cast<char*>("X-Notary-Receipt"), value.data()) != MI_SUCCESS) {
      spdlog::warn("event=add_header_failed queue_id={}", queue_id);
    }
  }
  return SMFIS_CONTINUE;
}

sfsistat OnAbort(SMFICTX* ctx) {
  if (Connection* c = Conn(ctx)) ResetMessage(c);
  return SMFIS_CONTINUE;
}

sfsistat OnClose(SMFICTX* ctx) {
  delete Conn(ctx);
  smfi_setpriv(ctx, nullptr);
  return SMFIS_CONTINUE;
}

}  // namespace

smfiDesc MakeFilterDescription(MilterContext* ctx) {
  g_ctx = ctx;
  smfiDesc d{};
  d.xxfi_name = const_cast<char*>("notary-milter");
  d.xxfi_version = SMFI_VERSION;
  d.xxfi_flags = (ctx->add_header && ctx->mode == Mode::kFailClosed) ? SMFIF_ADDHDRS : 0;
  d.xxfi_connect = OnConnect;
  d.xxfi_helo = OnHelo;
  d.xxfi_envfrom = OnEnvFrom;
  d.xxfi_envrcpt = OnEnvRcpt;
  d.xxfi_header = OnHeader;
  d.xxfi_body = OnBody;
  d.xxfi_eom = OnEom;
  d.xxfi_abort = OnAbort;
  d.xxfi_close = OnClose;
  d.xxfi_negotiate = OnNegotiate;
  return d;
}

common::Result<std::string> MilterSocketSpec(const std::string& listen) {
  auto bad = [&] {
    return common::Error::InvalidInput(
        "--listen must be inet:HOST:PORT, inet6:[HOST]:PORT or "
        "unix:PATH");
  };
  if (listen.rfind("unix:", 0) == 0 || listen.rfind("local:", 0) == 0) {
    if (listen.size() <= listen.find(':') + 1) return bad();
    return listen;
  }
  for (const std::string proto : {"inet6:", "inet:"}) {
    if (listen.rfind(proto, 0) != 0) continue;
    std::string rest = listen.substr(proto.size());
    if (rest.find('@') != std::string::npos) return listen;  // libmilter's own PORT@HOST
    size_t colon = rest.rfind(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == rest.size()) return bad();
    std::string host = rest.substr(0, colon);
    std::string port = rest.substr(colon + 1);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
      host = host.substr(1, host.size() - 2);
    }
    if (port.find_first_not_of("0123456789") != std::string::npos) return bad();
    return proto + port + "@" + host;
  }
  return bad();
}

}  // namespace milter
