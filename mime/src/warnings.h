// The parse_warnings of a canonicalisation: fixed, content-free sentences, each listed once
// with a count, at most 64 distinct (docs/canonical-form.md §4).
//
// Thread-safety: an object belongs to one canonicalisation.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mime::internal {

// Collects content-free warnings, deduplicated, in first-seen order.
class Warnings {
 public:
  // `what` must be a fixed sentence: never a value taken from the message.
  void Add(std::string_view what) { Add(what, 1); }
  // Records `what` `times` times (nothing when times is 0).
  void Add(std::string_view what, uint64_t times);
  std::vector<std::string> Render() const;

 private:
  std::vector<std::pair<std::string, uint64_t>> entries_;
};

}  // namespace mime::internal
