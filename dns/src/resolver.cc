#include "dns/resolver.h"

#include <poll.h>
#include <unbound.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace dns {

using common::Error;
using notary::DnsAnswer;
using notary::DnssecStatus;
using notary::LookupOutcome;

namespace {

constexpr const char* kDebianRootKey = "/usr/share/dns/root.key";
constexpr size_t kMaxQueryName = 253;

// One lookup's rendezvous between the caller and the dispatcher thread. Shared: the caller
// may give up (timeout) while the answer is being delivered.
struct Pending {
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  int err = 0;
  ub_result* result = nullptr;
};

void OnAnswer(void* data, int err, ub_result* result) {
  auto* holder = static_cast<std::shared_ptr<Pending>*>(data);
  std::shared_ptr<Pending> p = std::move(*holder);
  delete holder;
  std::lock_guard<std::mutex> lock(p->mu);
  p->err = err;
  p->result = result;
  p->done = true;
  p->cv.notify_all();
}

std::string TypeName(uint16_t type) {
  switch (type) {
    case notary::kDnsTypeTxt:
      return "TXT";
    case notary::kDnsTypeDnskey:
      return "DNSKEY";
    case notary::kDnsTypeDs:
      return "DS";
    case notary::kDnsTypeA:
      return "A";
    default:
      return "TYPE" + std::to_string(type);
  }
}

}  // namespace

common::Result<std::string> UnboundForwarder(std::string_view host_port) {
  std::string_view host, port;
  if (!host_port.empty() && host_port.front() == '[') {
    size_t close = host_port.find(']');
    if (close == std::string_view::npos || close + 1 >= host_port.size() ||
        host_port[close + 1] != ':') {
      return Error::InvalidInput("resolver must be HOST:PORT or [V6]:PORT");
    }
    host = host_port.substr(1, close - 1);
    port = host_port.substr(close + 2);
  } else {
    size_t colon = host_port.rfind(':');
    if (colon == std::string_view::npos || host_port.find(':') != colon) {
      return Error::InvalidInput("resolver must be HOST:PORT or [V6]:PORT");
    }
    host = host_port.substr(0, colon);
    port = host_port.substr(colon + 1);
  }
  if (host.empty() || port.empty() || port.size() > 5 ||
      !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; }) ||
      std::stoi(std::string(port)) == 0 || std::stoi(std::string(port)) > 65535) {
    return Error::InvalidInput("resolver must be HOST:PORT or [V6]:PORT");
  }
  return std::string(host) + "@" + std::string(port);
}

struct Resolver::Impl {
  const common::Clock& clock;
  ResolverOptions options;
  std::string description;
  ub_ctx* ctx = nullptr;
  int stop_pipe[2] = {-1, -1};
  std::thread dispatcher;

  Impl(const common::Clock& c, ResolverOptions o) : clock(c), options(std::move(o)) {}

  ~Impl() {
    if (dispatcher.joinable()) {
      char b = 0;
      ssize_t n = write(stop_pipe[1], &b, 1);
      (void)n;
      dispatcher.join();
    }
    if (ctx != nullptr) ub_ctx_delete(ctx);
    for (int fd : stop_pipe) {
      if (fd >= 0) close(fd);
    }
  }

  // Delivers answers: libunbound's worker thread signals its fd; ub_process runs callbacks.
  void Dispatch() {
    pollfd fds[2] = {{ub_fd(ctx), POLLIN, 0}, {stop_pipe[0], POLLIN, 0}};
    for (;;) {
      if (poll(fds, 2, -1) < 0) continue;
      if (fds[1].revents != 0) return;
      if (fds[0].revents != 0) ub_process(ctx);
    }
  }
};

Resolver::Resolver(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Resolver::~Resolver() = default;

const std::string& Resolver::description() const { return impl_->description; }

common::Result<std::unique_ptr<Resolver>> Resolver::Create(const ResolverOptions& options,
                                                           const common::Clock& clock) {
  if (options.timeout.count() <= 0) return Error::InvalidInput("DNS timeout must be positive");
  auto impl = std::make_unique<Impl>(clock, options);
  impl->ctx = ub_ctx_create();
  if (impl->ctx == nullptr) return Error::Internal("libunbound: no context");
  if (options.forwarder.empty()) {
    if (int r = ub_ctx_resolvconf(impl->ctx, nullptr); r != 0) {
      return Error::Unavailable(std::string("libunbound: resolv.conf: ") + ub_strerror(r));
    }
    impl->description = "system resolver";
  } else {
    ASSIGN_OR_RETURN(std::string fwd, UnboundForwarder(options.forwarder));
    if (int r = ub_ctx_set_fwd(impl->ctx, fwd.c_str()); r != 0) {
      return Error::InvalidInput(std::string("libunbound: forwarder: ") + ub_strerror(r));
    }
    impl->description = fwd;
  }
  std::string anchor = options.trust_anchor_file;
  if (anchor.empty() && access(kDebianRootKey, R_OK) == 0) anchor = kDebianRootKey;
  if (!anchor.empty()) {
    if (int r = ub_ctx_add_ta_file(impl->ctx, anchor.c_str()); r != 0) {
      return Error::InvalidInput("libunbound: trust anchor " + anchor + ": " + ub_strerror(r));
    }
  }
  // Answers to loopback resolvers are what the tests and local caches use.
  ub_ctx_set_option(impl->ctx, "do-not-query-localhost:", "no");
  if (int r = ub_ctx_async(impl->ctx, 1); r != 0) {
    return Error::Internal(std::string("libunbound: async: ") + ub_strerror(r));
  }
  if (pipe(impl->stop_pipe) != 0) return Error::Internal("pipe failed");
  impl->dispatcher = std::thread([p = impl.get()] { p->Dispatch(); });
  return std::unique_ptr<Resolver>(new Resolver(std::move(impl)));
}

DnsAnswer Resolver::Lookup(std::string_view name, uint16_t type) {
  DnsAnswer answer;
  answer.qname.reserve(name.size());
  for (char c : name)
    answer.qname.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  while (!answer.qname.empty() && answer.qname.back() == '.') answer.qname.pop_back();
  // The root (its DNSKEY, for a DNSSEC chain) is the one name written with its dot.
  if (answer.qname.empty() && name == ".") answer.qname = ".";
  answer.qtype = type;
  const std::string tried = TypeName(type) + " " + answer.qname + " via " + impl_->description;
  auto give_up = [&](std::string why) {
    answer.outcome = LookupOutcome::kTemperror;
    answer.dnssec = DnssecStatus::kIndeterminate;
    answer.why = (tried + ": " + why).substr(0, DnsAnswer::kMaxWhyBytes);
    answer.wire.clear();
    answer.looked_up_at_us = impl_->clock.NowMicros();
    return answer;
  };
  if (answer.qname.empty() || answer.qname.size() > kMaxQueryName ||
      answer.qname.find('\0') != std::string::npos) {
    answer.qname = answer.qname.empty() ? "." : answer.qname.substr(0, DnsAnswer::kMaxNameBytes);
    return give_up("not a domain name");
  }

  auto pending = std::make_shared<Pending>();
  auto* holder = new std::shared_ptr<Pending>(pending);
  int async_id = 0;
  if (int r = ub_resolve_async(impl_->ctx, answer.qname.c_str(), type, 1 /* IN */, holder, OnAnswer,
                               &async_id);
      r != 0) {
    delete holder;
    return give_up(std::string("libunbound: ") + ub_strerror(r));
  }
  ub_result* result = nullptr;
  int err = 0;
  {
    std::unique_lock<std::mutex> lock(pending->mu);
    if (!pending->cv.wait_for(lock, impl_->options.timeout, [&] { return pending->done; })) {
      lock.unlock();
      // Cancelled: the callback will not run, so its holder is ours to free. Not cancelled:
      // the answer is being delivered right now; wait for it (it is moments away).
      if (ub_cancel(impl_->ctx, async_id) == 0) {
        delete holder;
        return give_up("no answer within " + std::to_string(impl_->options.timeout.count()) +
                       " ms");
      }
      lock.lock();
      pending->cv.wait(lock, [&] { return pending->done; });
    }
    result = pending->result;
    err = pending->err;
  }
  answer.looked_up_at_us = impl_->clock.NowMicros();
  std::unique_ptr<ub_result, void (*)(ub_result*)> owned(result, ub_resolve_free);
  if (err != 0 || result == nullptr) return give_up(std::string("libunbound: ") + ub_strerror(err));
  if (result->bogus) {
    answer.dnssec = DnssecStatus::kBogus;
    answer.why = (tried + ": " + (result->why_bogus != nullptr ? result->why_bogus : "bogus"))
                     .substr(0, DnsAnswer::kMaxWhyBytes);
  } else {
    answer.dnssec = result->secure ? DnssecStatus::kSecure : DnssecStatus::kInsecure;
  }
  if (result->answer_packet != nullptr && result->answer_len > 0) {
    answer.wire.assign(static_cast<const char*>(result->answer_packet),
                       static_cast<size_t>(result->answer_len));
  }
  if (result->havedata) {
    answer.outcome = LookupOutcome::kAnswer;
  } else if (result->nxdomain) {
    answer.outcome = LookupOutcome::kNxdomain;
  } else if (result->rcode == 0) {
    answer.outcome = LookupOutcome::kNodata;
  } else if (answer.dnssec == DnssecStatus::kBogus) {
    // A validation failure: the resolver withholds the data. Kept as what it is.
    answer.outcome = LookupOutcome::kTemperror;
  } else {
    std::string why = "rcode " + std::to_string(result->rcode);
    DnsAnswer failed = give_up(why);
    failed.wire = answer.wire;
    return failed;
  }
  if (answer.wire.size() > DnsAnswer::kMaxWireBytes) return give_up("reply over 65535 bytes");
  return answer;
}

}  // namespace dns
