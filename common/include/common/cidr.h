// Cidr and CidrSet: IPv4/IPv6 address prefixes such as "10.0.0.0/8" or "::1/128", used for
// the SMTP allow-list. An IPv4-mapped IPv6 address (::ffff:a.b.c.d), which a dual-stack
// listener reports for IPv4 peers, is matched as the IPv4 address it carries.
//
// Thread-safety: immutable values after parsing; safe to share for reading.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace common {

struct IpAddress {
  bool v6 = false;
  std::array<uint8_t, 16> bytes{};  // network order; IPv4 uses the first 4 bytes

  // Textual IPv4 or IPv6 (no zone, no brackets); nullopt when it is neither.
  static std::optional<IpAddress> Parse(std::string_view text);
};

class Cidr {
 public:
  // "a.b.c.d/n", "x::y/n", or a bare address (a host prefix). Host bits below the prefix
  // are ignored ("10.1.2.3/8" means 10.0.0.0/8).
  static common::Result<Cidr> Parse(std::string_view text);

  bool Contains(const IpAddress& address) const;
  std::string ToString() const;

 private:
  IpAddress network_;
  int prefix_ = 0;
};

class CidrSet {
 public:
  static common::Result<CidrSet> Parse(const std::vector<std::string>& texts);

  // False for text that is not an address.
  bool Contains(std::string_view address) const;
  bool Contains(const IpAddress& address) const;
  bool empty() const { return cidrs_.empty(); }

 private:
  std::vector<Cidr> cidrs_;
};

}  // namespace common
