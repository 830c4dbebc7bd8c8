// Call: one request to notaryd's JSON API with curl, as a client would send it: the
// status and the parsed body (discarded JSON when the body is not JSON).
#pragma once

#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "support/test_support.h"

namespace e2e {

struct JsonReply {
  int status = 0;
  nlohmann::json body;
};

inline JsonReply Call(const std::string& method, const std::string& url, const std::string& key,
                      const std::string& body = "") {
  std::vector<std::string> argv = {
      "curl",           "-s", "-o",   "-",  "-w",
      "\n%{http_code}", "-X", method, "-H", "Authorization: Bearer " + key};
  if (!body.empty()) {
    argv.insert(argv.end(), {"-H", "Content-Type: application/json", "--data-binary", body});
  }
  argv.push_back(url);
  auto r = testsupport::RunCommand(argv, "", 30);
  auto nl = r.out.rfind('\n');
  JsonReply out;
  out.status = std::atoi(r.out.substr(nl + 1).c_str());
  out.body = nlohmann::json::parse(r.out.substr(0, nl), nullptr, false);
  return out;
}

}  // namespace e2e
