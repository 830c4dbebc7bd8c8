// Cases (docs/cases.md): opening one, and adding or removing its messages, each recorded in
// the log as an action record (pipeline/holds.h's MakeAction) whose details name the case and
// exactly the receipts changed, with the search that found them. The checks a request must
// pass are here, so that every front end applies the same ones.
//
// Thread-safety: pure functions over a thread-safe store.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "storage/case_store.h"
#include "storage/receipt_store.h"

namespace pipeline {

struct CaseRequest {
  static constexpr size_t kMaxNameBytes = 200;
  static constexpr size_t kMaxDescriptionBytes = 4000;
  static constexpr size_t kMaxReferenceBytes = 200;

  std::string name;
  std::string description, reference;  // may be empty
};

struct CaseChangeRequest {
  // At most this many receipts per change: a search that matches more is refused (add in
  // several steps), so that one action record's details stay bounded.
  static constexpr size_t kMaxReceipts = 10000;
  static constexpr size_t kMaxReasonBytes = 2000;

  bool add = true;  // else remove
  // Exactly one of: receipt ids, or (to add) a search (its tenant is ignored).
  std::vector<std::string> receipt_ids;
  std::optional<storage::SearchQuery> query;
  std::string reason;  // required to remove; optional to add
};

common::Result<storage::Case> OpenCase(storage::CaseStore& store, const std::string& tenant,
                                       const std::string& actor, const CaseRequest& request,
                                       int64_t now_us);
// kInvalidInput for a request that breaks a rule above; kNotFound when the case or a listed
// receipt is not the tenant's.
common::Result<storage::CaseChange> ChangeCase(storage::CaseStore& store, const std::string& tenant,
                                               const std::string& case_id, const std::string& actor,
                                               const CaseChangeRequest& request, int64_t now_us);

}  // namespace pipeline
