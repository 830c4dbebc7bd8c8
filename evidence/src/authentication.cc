// The bundle's sender evidence rendered for people (docs/evidence-bundle.md, "authentication").
#include "sender/authentication.h"

#include "bundle_internal.h"
#include "log/authentication_record.h"
#include "sender/authentication_json.h"
#include "sender/dns_answer.h"

namespace notary::bundle_internal {

common::Result<nlohmann::json> AuthenticationSummary(const BundleAuthentication& auth) {
  ASSIGN_OR_RETURN(auto record, AuthenticationRecord::Decode(auth.record));
  AuthenticationView view;
  ASSIGN_OR_RETURN(view.results, AuthenticationResults::Decode(auth.results));
  ASSIGN_OR_RETURN(view.answers, DecodeDnsArchive(auth.dns_archive));
  view.checked_at_us = record.checked_at_us;
  view.leaf_index = static_cast<int64_t>(auth.leaf_index);
  return AuthenticationJson(view);
}

}  // namespace notary::bundle_internal
