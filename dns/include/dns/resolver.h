// The resolver for sender evidence: libunbound, with DNSSEC validation when a trust anchor is
// configured, and a hard deadline per lookup. Each lookup returns the reply exactly as
// received, its DNSSEC status and when it came, ready to be archived (notary::DnsAnswer); a
// lookup that fails or times out is a kTemperror answer saying what was tried, never a guess.
//
// Thread-safety: Lookup may be called from any number of threads at once; libunbound runs the
// queries on its own thread and one dispatcher thread of ours delivers the answers.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "common/clock.h"
#include "common/result.h"
#include "sender/dns_answer.h"

namespace dns {

struct ResolverOptions {
  // "HOST:PORT" ("[V6]:PORT") of a recursive resolver to forward to; empty for the system's
  // (/etc/resolv.conf).
  std::string forwarder;
  // A file of DS or DNSKEY records (zone-file format) trusted as anchors; empty for the root
  // key of Debian's dns-root-data when it is installed (else no validation: every answer is
  // then "insecure").
  std::string trust_anchor_file;
  std::chrono::milliseconds timeout{5000};
};

class Resolver {
 public:
  static common::Result<std::unique_ptr<Resolver>> Create(
      const ResolverOptions& options, const common::Clock& clock = common::Clock::System());
  ~Resolver();
  Resolver(const Resolver&) = delete;
  Resolver& operator=(const Resolver&) = delete;

  // `name` without a trailing dot; at most 253 bytes (else a temperror answer saying so).
  notary::DnsAnswer Lookup(std::string_view name, uint16_t type);

  // What the archive says answered: "127.0.0.1@15354" or "system resolver".
  const std::string& description() const;

 private:
  struct Impl;
  explicit Resolver(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// "HOST:PORT" or "[V6]:PORT" -> libunbound's "HOST@PORT". kInvalidInput otherwise.
common::Result<std::string> UnboundForwarder(std::string_view host_port);

}  // namespace dns
