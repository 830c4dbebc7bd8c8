// TenantRouter: assigns SMTP receipts to a tenant by configured rules (first match wins):
//   listener:<name>=<tenant>     the listener that received it
//   net:<CIDR>=<tenant>          the client's address
//   domain:<domain>=<tenant>     any envelope recipient's domain (case-insensitive)
// and the default tenant when none matches.
//
// Thread-safety: immutable after Create.
#pragma once

#include <string>
#include <vector>

#include "common/cidr.h"
#include "common/result.h"
#include "pipeline/message_sink.h"

namespace pipeline {

class TenantRouter {
 public:
  static common::Result<TenantRouter> Create(const std::vector<std::string>& rules,
                                             std::string default_tenant);
  std::string Route(const Arrival& arrival) const;
  const std::string& default_tenant() const { return default_; }
  // Every tenant the rules can assign, the default included.
  std::vector<std::string> tenants() const;

 private:
  struct Rule {
    enum class Kind { kListener, kNet, kDomain } kind;
    std::string value;
    std::vector<common::Cidr> net;  // one element for kNet
    std::string tenant;
  };
  std::vector<Rule> rules_;
  std::string default_;
};

}  // namespace pipeline
