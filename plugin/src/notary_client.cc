#include "notary_client.h"

#include <httplib.h>

#include <algorithm>
#include <nlohmann/json.hpp>

namespace milter {
namespace {

std::string JoinRecipients(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) {
    if (!out.empty()) out += ",";
    out += s;
  }
  return out;
}

// Header values must not carry line breaks; anything else passes as the MTA reported it.
std::string HeaderSafe(const std::string& s) {
  std::string out;
  for (char c : s) out += (c == '\r' || c == '\n') ? ' ' : c;
  return out;
}

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
  std::lock_guard lock(pool_mu_);
  return open_;
}

common::Result<std::unique_ptr<NotaryClient::Session>> NotaryClient::Borrow() const {
  std::unique_lock lock(pool_mu_);
  // All connections busy: wait for one, within the request's own timeout.
  if (!pool_cv_.wait_for(lock, timeout_,
                         [this] { return !idle_.empty() || open_ < max_connections_; })) {
    return common::Error::Unavailable("no connection to the notary became free in time");
  }
  if (!idle_.empty()) {
    std::unique_ptr<Session> s = std::move(idle_.back());
    idle_.pop_back();
    return s;
  }
  ++open_;
  lock.unlock();
  return NewSession();
}

void NotaryClient::Return(std::unique_ptr<Session> session, bool reusable) const {
  {
    std::lock_guard lock(pool_mu_);
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
  auto borrowed = Borrow();
  if (!borrowed.ok()) return borrowed.error();
  auto result = Post(**borrowed, r, idempotency_key, transport_ok);
  Return(std::move(*borrowed), transport_ok);
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
      {"X-Envelope-From", "<" + HeaderSafe(r.mail_from) + ">"},
      {"X-Envelope-To", HeaderSafe(JoinRecipients(r.rcpt_to))},
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

  auto res = client.Post(path_prefix_ + "/v1/messages", headers, r.message, "message/rfc822");
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
