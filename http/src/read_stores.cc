// PickReadStores: where a read route reads, and CatchUpIndex (routes.h).
#include "pipeline/sealer.h"
#include "routes.h"
#include "storage/receipt_index.h"

namespace http {

common::Result<ReadStores> PickReadStores(HttpDeps& d, storage::ReadReplica::Scope& scope) {
  if (d.replica != nullptr) {
    ASSIGN_OR_RETURN(const bool fresh, d.replica->gate.Enter(scope));
    if (fresh) {
      ReplicaStores& r = *d.replica;
      return ReadStores{&r.receipts,       &r.chain, &r.admin,  r.journal,
                        r.authentications, r.holds,  r.erasures};
    }
  }
  return ReadStores{&d.receipts,       d.sealer != nullptr ? &d.sealer->chain() : nullptr,
                    &d.admin,          d.journal,
                    d.authentications, d.holds,
                    d.erasures};
}

common::Status CatchUpIndex(HttpDeps& d, const std::string& tenant) {
  auto n = storage::ReceiptIndex(d.db).CatchUp(tenant);
  if (!n.ok()) return n.error();
  return common::Ok();
}

}  // namespace http
