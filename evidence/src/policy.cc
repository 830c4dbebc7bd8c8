// ParseVerifyPolicy: the verification policy file of notary-verify --policy
// (docs/verifying.md, "Policy file").
#include <nlohmann/json.hpp>

#include "common/bytes.h"
#include "evidence/bundle.h"

namespace notary {

common::Result<VerifyPolicy> ParseVerifyPolicy(std::string_view json_text) {
  using nlohmann::json;
  // Parsed without exceptions: a wrong shape is an error value, not control flow.
  const json j = json::parse(json_text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return common::Error::InvalidInput("policy: not a JSON object");
  }
  VerifyPolicy policy;
  auto strings = [&j](const char* name,
                      std::vector<std::string>& out) -> std::optional<std::string> {
    if (!j.contains(name)) return std::nullopt;
    const json& a = j[name];
    if (!a.is_array()) return std::string("policy: ") + name + " must be an array of strings";
    for (const auto& v : a) {
      if (!v.is_string()) return std::string("policy: ") + name + " must be an array of strings";
      out.push_back(v.get<std::string>());
    }
    return std::nullopt;
  };
  auto count = [&j](const char* name, std::optional<size_t>& out) -> std::optional<std::string> {
    if (!j.contains(name)) return std::nullopt;
    const json& v = j[name];
    if (!v.is_number_unsigned() || v.get<uint64_t>() < 1 || v.get<uint64_t>() > 1000) {
      return std::string("policy: ") + name + " must be a whole number from 1 to 1000";
    }
    out = static_cast<size_t>(v.get<uint64_t>());
    return std::nullopt;
  };
  for (const auto& [key, value] : j.items()) {
    (void)value;
    if (key != "notary_keys" && key != "witnesses" && key != "witness_quorum" &&
        key != "tsa_roots" && key != "tsa_quorum") {
      return common::Error::InvalidInput("policy: unknown member \"" + key.substr(0, 40) + "\"");
    }
  }
  std::vector<std::string> fingerprints, vkeys, roots;
  for (auto problem : {strings("notary_keys", fingerprints), strings("witnesses", vkeys),
                       strings("tsa_roots", roots), count("witness_quorum", policy.witness_quorum),
                       count("tsa_quorum", policy.tsa_quorum)}) {
    if (problem) return common::Error::InvalidInput(*problem);
  }
  for (const auto& fp : fingerprints) {
    if (fp.size() != 64 || !common::FromHex(fp)) {
      return common::Error::InvalidInput(
          "policy: notary_keys holds something other than a 64-hex-digit fingerprint");
    }
    policy.notary_fingerprints.push_back(fp);
  }
  for (const auto& vkey : vkeys) {
    auto key = ParseCosignerKey(vkey);
    if (!key.ok()) {
      return common::Error::InvalidInput("policy: witnesses: " + key.error().message());
    }
    policy.witnesses.push_back(*key);
  }
  for (const auto& root : roots) {
    if (root.rfind("-----BEGIN", 0) == 0) {
      policy.tsa_root_pems.push_back(root);
    } else if (root.empty()) {
      return common::Error::InvalidInput("policy: tsa_roots holds an empty path");
    } else {
      policy.tsa_root_paths.push_back(root);
    }
  }
  return policy;
}

}  // namespace notary
