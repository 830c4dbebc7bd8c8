#include "common/cidr.h"

#include <arpa/inet.h>

#include <charconv>

namespace common {
namespace {

constexpr std::array<uint8_t, 12> kV4MappedPrefix = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

}  // namespace

std::optional<IpAddress> IpAddress::Parse(std::string_view text) {
  // inet_pton reads a C string: text with a NUL in it would be parsed only up to the NUL, and
  // "192.0.2.1\0.evil" would match an allow-list holding 192.0.2.1.
  if (text.empty() || text.size() > 64 || text.find('\0') != std::string_view::npos) {
    return std::nullopt;
  }
  std::string s(text);
  IpAddress a;
  if (inet_pton(AF_INET, s.c_str(), a.bytes.data()) == 1) return a;
  if (inet_pton(AF_INET6, s.c_str(), a.bytes.data()) != 1) return std::nullopt;
  if (std::equal(kV4MappedPrefix.begin(), kV4MappedPrefix.end(), a.bytes.begin())) {
    IpAddress v4;
    std::copy(a.bytes.begin() + 12, a.bytes.end(), v4.bytes.begin());
    return v4;
  }
  a.v6 = true;
  return a;
}

common::Result<Cidr> Cidr::Parse(std::string_view text) {
  std::string_view addr_text = text;
  std::optional<int> prefix;
  if (size_t slash = text.find('/'); slash != std::string_view::npos) {
    addr_text = text.substr(0, slash);
    std::string_view p = text.substr(slash + 1);
    int value = -1;
    auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), value);
    if (p.empty() || ec != std::errc() || end != p.data() + p.size()) {
      return common::Error::InvalidInput("bad prefix length in CIDR '" + std::string(text) + "'");
    }
    prefix = value;
  }
  std::optional<IpAddress> address = IpAddress::Parse(addr_text);
  if (!address) {
    return common::Error::InvalidInput("bad address in CIDR '" + std::string(text) + "'");
  }
  const int max_prefix = address->v6 ? 128 : 32;
  // An IPv4-mapped network written in IPv6 form ("::ffff:10.0.0.0/104") counts its prefix
  // over 128 bits; Parse() turned the address into IPv4, so translate the prefix as well.
  if (!address->v6 && addr_text.find(':') != std::string_view::npos && prefix) {
    if (*prefix < 96) {
      return common::Error::InvalidInput("IPv4-mapped CIDR shorter than /96: '" +
                                         std::string(text) + "'");
    }
    *prefix -= 96;
  }
  if (!prefix) prefix = max_prefix;
  if (*prefix < 0 || *prefix > max_prefix) {
    return common::Error::InvalidInput("prefix length out of range in CIDR '" + std::string(text) +
                                       "'");
  }
  Cidr c;
  c.network_ = *address;
  c.prefix_ = *prefix;
  // Clear host bits so that Contains() can compare whole bytes.
  for (int bit = c.prefix_; bit < max_prefix; ++bit) {
    c.network_.bytes[static_cast<size_t>(bit / 8)] &= static_cast<uint8_t>(~(0x80u >> (bit % 8)));
  }
  return c;
}

bool Cidr::Contains(const IpAddress& address) const {
  if (address.v6 != network_.v6) return false;
  const int full = prefix_ / 8;
  for (int i = 0; i < full; ++i) {
    if (address.bytes[static_cast<size_t>(i)] != network_.bytes[static_cast<size_t>(i)]) {
      return false;
    }
  }
  const int rest = prefix_ % 8;
  if (rest == 0) return true;
  const auto mask = static_cast<uint8_t>(0xffu << (8 - rest));
  return (address.bytes[static_cast<size_t>(full)] & mask) ==
         network_.bytes[static_cast<size_t>(full)];
}

std::string Cidr::ToString() const {
  char buf[INET6_ADDRSTRLEN] = {};
  inet_ntop(network_.v6 ? AF_INET6 : AF_INET, network_.bytes.data(), buf, sizeof(buf));
  return std::string(buf) + "/" + std::to_string(prefix_);
}

common::Result<CidrSet> CidrSet::Parse(const std::vector<std::string>& texts) {
  CidrSet set;
  for (const std::string& t : texts) {
    ASSIGN_OR_RETURN(Cidr c, Cidr::Parse(t));
    set.cidrs_.push_back(c);
  }
  return set;
}

bool CidrSet::Contains(std::string_view address) const {
  std::optional<IpAddress> a = IpAddress::Parse(address);
  return a && Contains(*a);
}

bool CidrSet::Contains(const IpAddress& address) const {
  for (const Cidr& c : cidrs_) {
    if (c.Contains(address)) return true;
  }
  return false;
}

}  // namespace common
