#include "pipeline/tenant_router.h"

#include <algorithm>

namespace pipeline {
namespace {
std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}
}  // namespace

common::Result<TenantRouter> TenantRouter::Create(const std::vector<std::string>& rules,
                                                  std::string default_tenant) {
  TenantRouter r;
  r.default_ = std::move(default_tenant);
  for (const std::string& text : rules) {
    auto colon = text.find(':');
    auto eq = text.rfind('=');
    if (colon == std::string::npos || eq == std::string::npos || eq < colon ||
        eq + 1 == text.size()) {
      return common::Error::InvalidInput("tenant rule '" + text + "': expected kind:value=tenant");
    }
    Rule rule;
    std::string kind = text.substr(0, colon);
    rule.value = text.substr(colon + 1, eq - colon - 1);
    rule.tenant = text.substr(eq + 1);
    if (kind == "listener") {
      rule.kind = Rule::Kind::kListener;
    } else if (kind == "net") {
      rule.kind = Rule::Kind::kNet;
      auto cidr = common::Cidr::Parse(rule.value);
      if (!cidr.ok()) return common::Error::InvalidInput("tenant rule '" + text + "': bad network");
      rule.net.push_back(*cidr);
    } else if (kind == "domain") {
      rule.kind = Rule::Kind::kDomain;
      rule.value = Lower(rule.value);
    } else {
      return common::Error::InvalidInput("tenant rule '" + text +
                                         "': kind must be listener, net or domain");
    }
    r.rules_.push_back(std::move(rule));
  }
  return r;
}

std::vector<std::string> TenantRouter::tenants() const {
  std::vector<std::string> out = {default_};
  for (const Rule& r : rules_) out.push_back(r.tenant);
  return out;
}

std::string TenantRouter::Route(const Arrival& arrival) const {
  auto ip = common::IpAddress::Parse(arrival.envelope.client_ip);
  for (const Rule& rule : rules_) {
    switch (rule.kind) {
      case Rule::Kind::kListener:
        if (arrival.provenance.listener == rule.value) return rule.tenant;
        break;
      case Rule::Kind::kNet:
        if (ip && rule.net[0].Contains(*ip)) return rule.tenant;
        break;
      case Rule::Kind::kDomain:
        for (const std::string& rcpt : arrival.envelope.recipients) {
          auto at = rcpt.rfind('@');
          if (at != std::string::npos && Lower(rcpt.substr(at + 1)) == rule.value) {
            return rule.tenant;
          }
        }
        break;
    }
  }
  return default_;
}

}  // namespace pipeline
