// Network prefixes (common/cidr.h): the SMTP allow-list and the trusted journaling sources.
// Addresses are the textual forms of inet_pton (RFC 4291 §2.2 for IPv6, dotted quads for
// IPv4); an IPv4-mapped IPv6 address (RFC 4291 §2.5.5.2, ::ffff:a.b.c.d) counts as the IPv4
// address it carries, in an address and in a prefix alike.
#include "common/cidr.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace {

using common::Cidr;
using common::CidrSet;
using common::IpAddress;

IpAddress Ip(const std::string& text) {
  auto a = IpAddress::Parse(text);
  EXPECT_TRUE(a.has_value()) << text;
  return a.value_or(IpAddress{});
}

Cidr Net(const std::string& text) {
  auto c = Cidr::Parse(text);
  EXPECT_TRUE(c.ok()) << text << ": " << (c.ok() ? "" : c.error().ToString());
  return c.ok() ? *c : Cidr{};
}

TEST(CidrSetTest, MatchesIpv4Ipv6AndMappedAddresses) {
  auto set = CidrSet::Parse({"127.0.0.0/8", "::1", "10.1.2.3/15", "2001:db8::/32"});
  ASSERT_TRUE(set.ok()) << set.error().ToString();
  EXPECT_TRUE(set->Contains("127.8.9.10"));
  EXPECT_TRUE(set->Contains("::ffff:127.0.0.1"));
  EXPECT_TRUE(set->Contains("::1"));
  EXPECT_TRUE(set->Contains("10.0.255.1"));
  EXPECT_FALSE(set->Contains("10.2.0.1"));
  EXPECT_TRUE(set->Contains("2001:db8:ffff::1"));
  EXPECT_FALSE(set->Contains("2001:db9::1"));
  EXPECT_FALSE(set->Contains("::2"));
  EXPECT_FALSE(set->Contains("not-an-ip"));
  auto zero = Cidr::Parse("0.0.0.0/0");
  ASSERT_TRUE(zero.ok());
  EXPECT_TRUE(zero->Contains(*IpAddress::Parse("192.0.2.1")));
  EXPECT_FALSE(zero->Contains(*IpAddress::Parse("::1")));
}

TEST(CidrSetTest, RejectsBadText) {
  EXPECT_FALSE(Cidr::Parse("10.0.0.0/33").ok());
  EXPECT_FALSE(Cidr::Parse("::/129").ok());
  EXPECT_FALSE(Cidr::Parse("10.0.0/8").ok());
  EXPECT_FALSE(Cidr::Parse("10.0.0.0/").ok());
  EXPECT_FALSE(Cidr::Parse("10.0.0.0/8x").ok());
  EXPECT_FALSE(CidrSet::Parse({"127.0.0.1", "bogus"}).ok());
}

TEST(IpAddressTest, MappedAddressIsTheIpv4AddressItCarries) {
  const IpAddress v4 = Ip("192.0.2.33");
  EXPECT_FALSE(v4.v6);
  EXPECT_EQ(v4.bytes[0], 192);
  EXPECT_EQ(v4.bytes[3], 33);
  for (const char* mapped :
       {"::ffff:192.0.2.33", "::FFFF:192.0.2.33", "::ffff:c000:221", "0:0:0:0:0:ffff:c000:0221"}) {
    const IpAddress m = Ip(mapped);
    EXPECT_FALSE(m.v6) << mapped;
    EXPECT_EQ(m.bytes, v4.bytes) << mapped;
  }
  // IPv4-compatible (::a.b.c.d, deprecated by RFC 4291 §2.5.5.1) and other prefixes that end
  // in an IPv4 address are IPv6 addresses, not the IPv4 address.
  for (const char* not_mapped :
       {"::192.0.2.33", "::fffe:192.0.2.33", "64:ff9b::192.0.2.33", "1::ffff:192.0.2.33"}) {
    EXPECT_TRUE(Ip(not_mapped).v6) << not_mapped;
  }
}

TEST(IpAddressTest, RefusesTextThatIsNotAnAddress) {
  // Forms that inet_aton() would take but that are not dotted quads: an allow-list written
  // with them must not silently mean another address.
  for (const char* bad : {"127.1", "127.0.1", "0x7f.0.0.1", "0177.0.0.1", "2130706433"}) {
    EXPECT_FALSE(IpAddress::Parse(bad).has_value()) << bad;
  }
  // Out of range or of the wrong shape.
  for (const char* bad : {"", "1.2.3.4.5", "256.0.0.1", "1.2.3.-4", "1..2.3", "::ffff:256.0.0.1"}) {
    EXPECT_FALSE(IpAddress::Parse(bad).has_value()) << bad;
  }
  for (const char* bad : {"1:2:3:4:5:6:7:8:9", "1::2::3", "12345::", "localhost"}) {
    EXPECT_FALSE(IpAddress::Parse(bad).has_value()) << bad;
  }
  // Brackets, zones and prefixes belong to other syntaxes; whitespace to none.
  for (const char* bad : {"[::1]", "fe80::1%eth0", "::1/128", " 127.0.0.1", "127.0.0.1 "}) {
    EXPECT_FALSE(IpAddress::Parse(bad).has_value()) << '"' << bad << '"';
  }
  for (const char* bad : {"\t::1", ":: 1", "127.0.0.1\n", "127.0.0.1\r"}) {
    EXPECT_FALSE(IpAddress::Parse(bad).has_value()) << '"' << bad << '"';
  }
  // Longer than any textual address (the longest IPv6 form with an IPv4 tail has 45 bytes).
  EXPECT_FALSE(IpAddress::Parse(std::string(60, '0') + "::1").has_value());
  EXPECT_TRUE(IpAddress::Parse("0000:0000:0000:0000:0000:ffff:255.255.255.255").has_value());
}

TEST(CidrTest, HostBitsAreIgnoredAndToStringGivesTheNetwork) {
  EXPECT_EQ(Net("10.1.2.3/15").ToString(), "10.0.0.0/15");
  EXPECT_EQ(Net("192.0.2.255/25").ToString(), "192.0.2.128/25");
  EXPECT_EQ(Net("2001:db8:abcd::1/32").ToString(), "2001:db8::/32");
  EXPECT_EQ(Net("2001:db8::ffff/127").ToString(), "2001:db8::fffe/127");
  EXPECT_EQ(Net("1.2.3.4/0").ToString(), "0.0.0.0/0");
  EXPECT_EQ(Net("2001:db8::1/0").ToString(), "::/0");
  // A bare address is a host prefix.
  EXPECT_EQ(Net("192.0.2.7").ToString(), "192.0.2.7/32");
  EXPECT_EQ(Net("2001:db8::7").ToString(), "2001:db8::7/128");
}

TEST(CidrTest, ZeroPrefixHoldsEveryAddressOfItsFamilyOnly) {
  const Cidr all4 = Net("0.0.0.0/0");
  for (const char* a : {"0.0.0.0", "255.255.255.255", "10.0.0.1", "::ffff:203.0.113.9"}) {
    EXPECT_TRUE(all4.Contains(Ip(a))) << a;
  }
  EXPECT_FALSE(all4.Contains(Ip("::")));
  EXPECT_FALSE(all4.Contains(Ip("2001:db8::1")));
  const Cidr all6 = Net("::/0");
  for (const char* a : {"::", "::1", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "fe80::1"}) {
    EXPECT_TRUE(all6.Contains(Ip(a))) << a;
  }
  // A mapped address is IPv4, so the IPv6 catch-all does not hold it.
  EXPECT_FALSE(all6.Contains(Ip("::ffff:203.0.113.9")));
  EXPECT_FALSE(all6.Contains(Ip("203.0.113.9")));
}

TEST(CidrTest, HostPrefixesHoldExactlyOneAddress) {
  const Cidr h4 = Net("192.0.2.1/32");
  EXPECT_TRUE(h4.Contains(Ip("192.0.2.1")));
  EXPECT_TRUE(h4.Contains(Ip("::ffff:192.0.2.1")));
  for (const char* a : {"192.0.2.0", "192.0.2.2", "193.0.2.1", "192.0.2.129", "::192.0.2.1"}) {
    EXPECT_FALSE(h4.Contains(Ip(a))) << a;
  }
  const Cidr h6 = Net("2001:db8::1/128");
  EXPECT_TRUE(h6.Contains(Ip("2001:db8:0:0:0:0:0:1")));
  for (const char* a : {"2001:db8::", "2001:db8::3", "2001:db8::1:1", "3001:db8::1", "::1"}) {
    EXPECT_FALSE(h6.Contains(Ip(a))) << a;
  }
}

TEST(CidrTest, PrefixBoundariesInsideAByte) {
  // /25 and /121: the last byte is split after its first bit.
  const Cidr v4 = Net("192.0.2.0/25");
  EXPECT_TRUE(v4.Contains(Ip("192.0.2.0")));
  EXPECT_TRUE(v4.Contains(Ip("192.0.2.127")));
  EXPECT_FALSE(v4.Contains(Ip("192.0.2.128")));
  EXPECT_FALSE(v4.Contains(Ip("192.0.3.0")));
  const Cidr v6 = Net("2001:db8::80/121");
  EXPECT_TRUE(v6.Contains(Ip("2001:db8::80")));
  EXPECT_TRUE(v6.Contains(Ip("2001:db8::ff")));
  EXPECT_FALSE(v6.Contains(Ip("2001:db8::7f")));
  EXPECT_FALSE(v6.Contains(Ip("2001:db8::100")));
  // /31 and /12: the network ends one bit before, and four bits into, a byte.
  const Cidr pair = Net("198.51.100.6/31");
  EXPECT_TRUE(pair.Contains(Ip("198.51.100.6")));
  EXPECT_TRUE(pair.Contains(Ip("198.51.100.7")));
  EXPECT_FALSE(pair.Contains(Ip("198.51.100.5")));
  EXPECT_FALSE(pair.Contains(Ip("198.51.100.8")));
  const Cidr private172 = Net("172.16.0.0/12");
  EXPECT_TRUE(private172.Contains(Ip("172.31.255.255")));
  EXPECT_FALSE(private172.Contains(Ip("172.32.0.0")));
  EXPECT_FALSE(private172.Contains(Ip("172.15.255.255")));
}

TEST(CidrTest, MappedPrefixCountsItsLengthOverAll128Bits) {
  // ::ffff:10.0.0.0/104 is 10.0.0.0/8 written in IPv6 form.
  const Cidr ten = Net("::ffff:10.0.0.0/104");
  EXPECT_EQ(ten.ToString(), "10.0.0.0/8");
  EXPECT_TRUE(ten.Contains(Ip("10.200.0.1")));
  EXPECT_TRUE(ten.Contains(Ip("::ffff:10.200.0.1")));
  EXPECT_FALSE(ten.Contains(Ip("11.0.0.1")));
  // /96 is the whole mapped range, i.e. every IPv4 address; /128 one host.
  EXPECT_EQ(Net("::ffff:0.0.0.0/96").ToString(), "0.0.0.0/0");
  EXPECT_TRUE(Net("::ffff:0:0/96").Contains(Ip("198.51.100.1")));
  EXPECT_EQ(Net("::ffff:192.0.2.1/128").ToString(), "192.0.2.1/32");
  EXPECT_EQ(Net("::ffff:192.0.2.1").ToString(), "192.0.2.1/32");
  // Shorter than /96 would reach into the IPv6 bits in front of the mapped prefix; longer
  // than /128 does not exist.
  EXPECT_FALSE(Cidr::Parse("::ffff:10.0.0.0/95").ok());
  EXPECT_FALSE(Cidr::Parse("::ffff:10.0.0.0/0").ok());
  EXPECT_FALSE(Cidr::Parse("::ffff:10.0.0.0/129").ok());
  // An IPv4 address with an IPv6-sized prefix is still out of range.
  EXPECT_FALSE(Cidr::Parse("10.0.0.0/104").ok());
}

TEST(CidrTest, RefusesMalformedPrefixes) {
  const std::vector<std::string> malformed = {
      // Out of range, signed, not decimal, not an integer.
      "10.0.0.0/33", "10.0.0.0/-1", "10.0.0.0/+8", "10.0.0.0/0x8", "10.0.0.0/8.0",
      "10.0.0.0/4294967304", "10.0.0.0/99999999999999999999", "::/129", "::/-0x1",
      // Slashes missing their parts, or too many.
      "10.0.0.0//8", "10.0.0.0/8/8", "2001:db8::/", "/8", "/", "",
      // Whitespace anywhere.
      "10.0.0.0/ 8", "10.0.0.0 /8", " 10.0.0.0/8", "10.0.0.0/8 ", "10.0.0.0\t/8", "10.0.0.0/8\n",
      // Other syntaxes: ranges, brackets, zones.
      "10.0.0.0-10.0.0.255", "[2001:db8::]/32", "fe80::%eth0/64"};
  for (const std::string& bad : malformed) {
    auto c = Cidr::Parse(bad);
    ASSERT_FALSE(c.ok()) << '"' << bad << "\" parsed as " << c->ToString();
    EXPECT_EQ(c.error().code(), common::ErrorCode::kInvalidInput) << bad;
  }
}

TEST(CidrSetTest, OneBadEntrySpoilsTheWholeList) {
  const std::vector<std::string> good = {"192.0.2.0/24", "2001:db8::/32", "::ffff:10.0.0.0/104"};
  ASSERT_TRUE(CidrSet::Parse(good).ok());
  // Wherever the bad entry is, the list is refused and its error names it, rather than an
  // allow-list that silently holds fewer networks than written.
  for (size_t at = 0; at <= good.size(); ++at) {
    for (const std::string bad : {"192.0.2.0/33", "192.0.2.0 /24", "not-a-network", ""}) {
      std::vector<std::string> texts = good;
      texts.insert(texts.begin() + static_cast<std::ptrdiff_t>(at), bad);
      auto set = CidrSet::Parse(texts);
      ASSERT_FALSE(set.ok()) << "bad entry '" << bad << "' at " << at;
      EXPECT_EQ(set.error().code(), common::ErrorCode::kInvalidInput);
      EXPECT_NE(set.error().message().find("'" + bad + "'"), std::string::npos)
          << set.error().message();
    }
  }
}

TEST(CidrSetTest, EmptyListHoldsNothing) {
  auto set = CidrSet::Parse({});
  ASSERT_TRUE(set.ok());
  EXPECT_TRUE(set->empty());
  EXPECT_FALSE(set->Contains("127.0.0.1"));
  EXPECT_FALSE(set->Contains("::1"));
  auto one = CidrSet::Parse({"::1"});
  ASSERT_TRUE(one.ok());
  EXPECT_FALSE(one->empty());
}

TEST(CidrSetTest, MatchesAgainstEveryEntryAndRefusesUnparsablePeers) {
  auto set = CidrSet::Parse({"192.0.2.0/24", "198.51.100.1/32", "2001:db8:1::/48", "::1/128"});
  ASSERT_TRUE(set.ok()) << set.error().ToString();
  for (const char* in : {"192.0.2.0", "192.0.2.255", "198.51.100.1", "::ffff:198.51.100.1",
                         "2001:db8:1:ffff::1", "0:0:0:0:0:0:0:1"}) {
    EXPECT_TRUE(set->Contains(in)) << in;
    EXPECT_TRUE(set->Contains(Ip(in))) << in;
  }
  for (const char* out :
       {"192.0.3.0", "198.51.100.2", "2001:db8:2::1", "::2", "::", "0.0.0.0", "::192.0.2.1"}) {
    EXPECT_FALSE(set->Contains(out)) << out;
  }
  // A peer string that is not exactly an address never matches, even if it starts with one.
  for (const char* junk : {"", " 192.0.2.1", "192.0.2.1 ", "192.0.2.1:25", "[::1]", "::1%lo",
                           "192.0.2.1/32", "192.0.2"}) {
    EXPECT_FALSE(set->Contains(junk)) << '"' << junk << '"';
  }
}

// Regression: inet_pton stopped at an embedded NUL, so text that is not an address parsed
// as the address before the NUL and matched allow-lists.
TEST(IpAddressTest, RefusesTextWithAnEmbeddedNul) {
  const std::string text("192.0.2.1\0.evil", 15);
  EXPECT_FALSE(IpAddress::Parse(text).has_value());
  EXPECT_FALSE(IpAddress::Parse(std::string("::1\0", 4)).has_value());
  EXPECT_FALSE(Cidr::Parse(std::string("192.0.2.0\0/24", 13)).ok());
  auto set = CidrSet::Parse({"192.0.2.1"});
  ASSERT_TRUE(set.ok());
  EXPECT_FALSE(set->Contains(text));
}

}  // namespace
