#include "notary_client.h"

#include <httplib.h>

#include <algorithm>
#include <nlohmann/json.hpp>

namespace milter {
namespace {

// Header values must not carry line breaks; anything else passes as the MTA reported it.
std::string HeaderSafe(const std::string& s) {
  std::string out;
  for (char c : s) out += (c == '\r' || c == '\n') ? ' ' : c;
  return out;
}

// The envelope body form of POST /v1/messages (docs/mail-server-setup.md): the SMTP commands
// MAIL, RCPT (one per recipient) and DATA, then the message. Any number of recipients, and
// paths exactly as the MTA gave them (quoted local parts with spaces and commas included),
// which one header line could not carry. SMTPUTF8 when any path holds UTF-8, as an SMTP
// client would send it. (Line breaks cannot come from an MTA's envelope; HeaderSafe keeps one
// that did from starting a line of its own.)
std::string EnvelopeLines(const SpoolRecord& r) {
  auto utf8 = [](const std::string& s) {
    return std::any_of(s.begin(), s.end(),
                       [](char c) { return static_cast<unsigned char>(c) >= 0x80; });
  };
  const bool smtputf8 = utf8(r.mail_from) || std::any_of(r.rcpt_to.begin(), r.rcpt_to.end(), utf8);
  std::string out =
      "MAIL FROM:<" + HeaderSafe(r.mail_from) + ">" + (smtputf8 ? " SMTPUTF8" : "") + "\r\n";
  for (const auto& t : r.rcpt_to) out += "RCPT TO:<" + HeaderSafe(t) + ">\r\n";
  out += "DATA\r\n";
  return out;
}

constexpr const char* kEnvelopeBodyType = "application/vnd.email-notary.envelope";

}  // namespace

struct NotaryClient::Session::Impl {
  explicit Impl(const std::string& scheme_host_port) : client(scheme_host_port) {}
  httplib::Client client;
};

NotaryClient::Session::Session(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
NotaryClient::Session::~Session() = default;

std::unique_ptr<NotaryClient::Session> NotaryClient::NewSession() const {
  auto impl = std::make_unique<Session::Impl>(scheme_host_port_);
  impl->client.set_keep_alive(true);
  // Headers and body go out in separate writes: with Nagle, the body would wait for the
  // server's delayed ACK of the headers (40 ms) on every request of a kept-alive connection.
  impl->client.set_tcp_nodelay(true);
  return std::unique_ptr<Session>(new Session(std::move(impl)));
}

NotaryClient::NotaryClient(std::string url, std::string api_key, std::chrono::milliseconds timeout,
                           int max_connections)
    : api_key_(std::move(api_key)),
      timeout_(timeout),
      max_connections_(std::max(1, max_connections)) {
  size_t scheme_end = url.find("://");
  size_t path = url.find('/', scheme_end == std::string::npos ? 0 : scheme_end + 3);
  scheme_host_port_ = url.substr(0, path);
  path_prefix_ = path == std::string::npos ? "" : url.substr(path);
  while (!path_prefix_.empty() && path_prefix_.back() == '/') path_prefix_.pop_back();
}

NotaryClient::~NotaryClient() = default;

int NotaryClient::pooled_connections() const {
  common::MutexLock lock(pool_mu_);
  return open_;
}

common::Result<std::unique_ptr<NotaryClient::Session>> NotaryClient::Borrow() const {
  {
    common::MutexLock lock(pool_mu_);
    // All connections busy: wait for one, within the request's own timeout.
    if (!pool_cv_.wait_for(lock, timeout_, [this]() REQUIRES(pool_mu_) {
          return !idle_.empty() || open_ < max_connections_;
        })) {
      return common::Error::Unavailable("no connection to the notary became free in time");
    }
    if (!idle_.empty()) {
      std::unique_ptr<Session> s = std::move(idle_.back());
      idle_.pop_back();
      return s;
    }
    ++open_;
  }
  return NewSession();
}

void NotaryClient::Return(std::unique_ptr<Session> session, bool reusable) const {
  {
    common::MutexLock lock(pool_mu_);
    if (reusable) {
      idle_.push_back(std::move(session));
    } else {
      --open_;
    }
  }
  pool_cv_.notify_one();
}

common::Result<NotaryReceipt> NotaryClient::Submit(const SpoolRecord& r,
                                                   const std::string& idempotency_key,
                                                   Session* session) const {
  bool transport_ok = true;
  if (session != nullptr) return Post(*session, r, idempotency_key, transport_ok);
  ASSIGN_OR_RETURN(auto borrowed, Borrow());
  auto result = Post(*borrowed, r, idempotency_key, transport_ok);
  Return(std::move(borrowed), transport_ok);
  return result;
}

common::Result<NotaryReceipt> NotaryClient::Post(Session& session, const SpoolRecord& r,
                                                 const std::string& idempotency_key,
                                                 bool& transport_ok) const {
  httplib::Client& client = session.impl_->client;
  const auto secs = std::chrono::duration_cast<std::chrono::seconds>(timeout_);
  const auto usecs = std::chrono::duration_cast<std::chrono::microseconds>(timeout_ - secs);
  client.set_connection_timeout(secs.count(), usecs.count());
  client.set_read_timeout(secs.count(), usecs.count());
  client.set_write_timeout(secs.count(), usecs.count());
  httplib::Headers headers = {
      {"Authorization", "Bearer " + api_key_},
      {"X-Envelope-Source", "milter"},
  };
  auto opt = [&headers](const char* name, const std::string& v) {
    if (!v.empty()) headers.emplace(name, HeaderSafe(v));
  };
  opt("X-Envelope-Client-Address", r.client_addr);
  opt("X-Envelope-Client-Port", r.client_port);
  opt("X-Envelope-Client-Name", r.client_name);
  opt("X-Envelope-Helo", r.helo);
  opt("X-Envelope-TLS-Version", r.tls_version);
  opt("X-Envelope-TLS-Cipher", r.tls_cipher);
  opt("X-Envelope-Auth-User", r.auth_user);
  opt("X-Envelope-Queue-Id", r.queue_id);
  opt("Idempotency-Key", idempotency_key);

  // The envelope lines and the message go out as one body without being joined in memory.
  const std::string envelope = EnvelopeLines(r);
  const size_t total = envelope.size() + r.message.size();
  auto res = client.Post(
      path_prefix_ + "/v1/messages", headers, total,
      [&](size_t offset, size_t length, httplib::DataSink& sink) {
        while (length > 0) {
          const bool in_envelope = offset < envelope.size();
          const char* data = in_envelope ? envelope.data() + offset
                                         : r.message.data() + (offset - envelope.size());
          const size_t available = in_envelope ? envelope.size() - offset : total - offset;
          const size_t n = std::min(length, available);
          if (!sink.write(data, n)) return false;
          offset += n;
          length -= n;
        }
        return true;
      },
      kEnvelopeBodyType);
  if (!res) {
    transport_ok = false;
    return common::Error::Unavailable("notary unreachable: " + httplib::to_string(res.error()));
  }
  if (res->status == 201 || res->status == 200) {
    try {
      auto j = nlohmann::json::parse(res->body);
      NotaryReceipt out;
      out.id = j.at("id").get<std::string>();
      out.canonical_sha256 = j.at("canonical_sha256").get<std::string>();
      out.duplicate = j.value("duplicate", false);
      return out;
    } catch (const nlohmann::json::exception&) {
      return common::Error::Unavailable("notary answered with an unreadable receipt");
    }
  }
  const std::string status = "notary answered " + std::to_string(res->status);
  if (res->status == 400 || res->status == 413 || res->status == 415) {
    return common::Error::InvalidInput(status);
  }
  return common::Error::Unavailable(status);
}

}  // namespace milter
