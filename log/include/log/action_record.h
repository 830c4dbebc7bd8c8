// The action record: a leaf of its own kind that makes what someone did to the store itself
// evidence. A legal hold placed or released (and, with erasure and retention, every erasure)
// is appended to the log as one of these, so that nobody, the operator included, can claim
// a hold that was never placed, hide one that was, or backdate a release without it showing.
// Byte layout: docs/evidence-format.md.
//
//   leaf_hash = SHA-256(0x00 || ActionRecord::Encode())
//
// The record binds the action's full description (`details`, stored beside it) by its
// SHA-256; the salt keeps the published leaf hash from confirming a guess of that text (a
// hold's name or reason may name people). Its tag differs from the other leaf kinds' from the
// 14th byte on, so no record can be read as another kind.
//
// Thread-safety: plain values and pure functions.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/bytes.h"
#include "common/result.h"

namespace notary {

struct ActionRecord {
  static constexpr uint32_t kFormatVersion = 1;
  static constexpr size_t kMaxActionBytes = 32;
  static constexpr size_t kMaxTenantBytes = 64;
  static constexpr size_t kMaxSubjectBytes = 64;
  static constexpr size_t kMaxActorBytes = 64;

  // The kinds written today; a decoder accepts any action name of 1 to 32 bytes in
  // [a-z-], so that a verifier of this version can still read (and report) a later kind.
  static constexpr std::string_view kHold = "hold";
  static constexpr std::string_view kRelease = "release";
  static constexpr std::string_view kErasure = "erasure";      // subject: the receipt id
  static constexpr std::string_view kRetention = "retention";  // subject: the tenant
  // Cases (docs/cases.md); subject: the case id.
  static constexpr std::string_view kCase = "case";               // opened
  static constexpr std::string_view kCaseAdd = "case-add";        // messages added
  static constexpr std::string_view kCaseRemove = "case-remove";  // messages removed
  static constexpr std::string_view kCaseExport = "case-export";  // a production exported
  // A tenant's key pairs (docs/retention.md, "Rotation"); subject: the pair's kek_id.
  static constexpr std::string_view kKeyRotate = "key-rotate";    // made current
  static constexpr std::string_view kKeyRewrap = "key-rewrap";    // data keys moved to it
  static constexpr std::string_view kKeyDestroy = "key-destroy";  // deleted

  uint32_t format_version = kFormatVersion;
  std::string action;              // what was done: one of the kinds above
  std::string tenant;              // whose mail, 0..64 bytes
  std::string subject;             // what it was done to: a hold's or receipt's id, 1..64 bytes
  int64_t acted_at_us = 0;         // when, µs since the epoch, UTC
  std::string actor;               // who: the API key's id, 0..64 bytes
  common::Hash details_sha256{};   // SHA-256 of the stored details (JSON)
  std::array<uint8_t, 32> salt{};  // random, private

  bool operator==(const ActionRecord&) const = default;

  common::Result<std::string> Encode() const;
  // Decode(x) succeeds only when Encode() of the result gives back x exactly.
  static common::Result<ActionRecord> Decode(std::string_view bytes);
  common::Result<common::Hash> LeafHash() const;
};

}  // namespace notary
