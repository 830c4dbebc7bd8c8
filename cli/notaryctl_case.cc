#include "notaryctl_case.h"

#include <fcntl.h>
#include <httplib.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "common/printable.h"

namespace cli {
namespace {

constexpr int kWritten = 0;
constexpr int kRefused = 1;
constexpr int kUsage = 2;
constexpr int kUnavailable = 3;
constexpr size_t kMaxErrorBytes = 64 << 10;

// RFC 3986 unreserved characters stay; every other byte is %XX.
std::string QueryValue(const std::string& v) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : v) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::string ExportPath(const CaseExportArgs& a) {
  std::string q;
  auto add = [&](const char* name, const std::string& value) {
    q += (q.empty() ? "?" : "&") + std::string(name) + "=" + QueryValue(value);
  };
  if (!a.bates_prefix.empty()) add("bates_prefix", a.bates_prefix);
  if (a.bates_start) add("bates_start", std::to_string(*a.bates_start));
  if (a.bates_width) add("bates_width", std::to_string(*a.bates_width));
  if (!a.custodian.empty()) add("custodian", a.custodian);
  if (!a.lang.empty()) add("lang", a.lang);
  if (!a.certificate_template.empty()) add("template", a.certificate_template);
  return "/v1/cases/" + QueryValue(a.case_id) + "/export" + q;
}

std::optional<std::string> ApiKey(const CaseExportArgs& a) {
  std::string key;
  if (!a.api_key_file.empty()) {
    std::ifstream in(a.api_key_file, std::ios::binary);
    if (!in) return std::nullopt;
    std::stringstream ss;
    ss << in.rdbuf();
    key = ss.str();
  } else if (const char* env = std::getenv("NOTARY_API_KEY")) {
    key = env;
  }
  while (!key.empty() && (key.back() == '\n' || key.back() == '\r' || key.back() == ' ')) {
    key.pop_back();
  }
  // A key is printable ASCII: anything else (a line break above all, which would add a header
  // of its own to the request) is not a key.
  if (key.empty() || key.size() > 512) return std::nullopt;
  for (unsigned char c : key) {
    if (c < 0x21 || c > 0x7e) return std::nullopt;
  }
  return key;
}

}  // namespace

int RunCaseExport(const CaseExportArgs& args) {
  const std::optional<std::string> key = ApiKey(args);
  if (!key) {
    std::cerr << "notaryctl case export: no API key (one line of printable ASCII): give "
                 "--api-key-file or set NOTARY_API_KEY\n";
    return kUsage;
  }
  std::string base = args.url;
  while (!base.empty() && base.back() == '/') base.pop_back();
  const std::string part = args.out + ".part";
  if (::access(args.out.c_str(), F_OK) == 0) {
    std::cerr << "notaryctl case export: " << common::TerminalSafe(args.out)
              << " exists: choose another --out\n";
    return kUsage;
  }
  const int fd = ::open(part.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    std::cerr << "notaryctl case export: cannot create " << common::TerminalSafe(part) << ": "
              << std::strerror(errno) << "\n";
    return kUsage;
  }

  httplib::Client client(base);
  client.set_connection_timeout(std::chrono::seconds(args.timeout_s));
  client.set_read_timeout(std::chrono::seconds(args.timeout_s));
  int status = 0;
  bool write_failed = false;
  uint64_t written = 0;
  std::string error_body;
  auto res = client.Get(
      ExportPath(args), httplib::Headers{{"Authorization", "Bearer " + *key}},
      [&](const httplib::Response& r) {
        status = r.status;
        return true;
      },
      [&](const char* data, size_t n) {
        if (status != 200) {  // an error's JSON: kept (bounded) to show its reason
          error_body.append(data, std::min(n, kMaxErrorBytes - error_body.size()));
          return error_body.size() < kMaxErrorBytes;
        }
        while (n > 0) {
          const ssize_t w = ::write(fd, data, n);
          if (w < 0 && errno == EINTR) continue;
          if (w <= 0) {
            write_failed = true;
            return false;
          }
          data += w;
          n -= static_cast<size_t>(w);
          written += static_cast<uint64_t>(w);
        }
        return true;
      });
  const bool synced = !write_failed && ::fsync(fd) == 0;
  ::close(fd);
  auto discard = [&] { std::remove(part.c_str()); };
  if (write_failed || (status == 200 && !synced)) {
    discard();
    std::cerr << "notaryctl case export: cannot write " << common::TerminalSafe(part) << "\n";
    return kUsage;
  }
  if (!res) {
    discard();
    std::cerr << "notaryctl case export: " << common::TerminalSafe(base) << ": "
              << httplib::to_string(res.error()) << " (nothing written)\n";
    return kUnavailable;
  }
  if (status != 200) {
    discard();
    const nlohmann::json j = nlohmann::json::parse(error_body, nullptr, false);
    // {"error": {"code", "message"}} (docs/openapi.yaml), or whatever a proxy answered.
    std::string reason = error_body;
    if (j.is_object() && j.contains("error") && j["error"].is_object() &&
        j["error"].contains("message") && j["error"]["message"].is_string()) {
      reason = j["error"]["message"].get<std::string>();
    }
    std::cerr << "notaryctl case export: the notary answered " << status << ": "
              << common::TerminalSafe(reason) << "\n";
    return status >= 500 ? kUnavailable : kRefused;
  }
  // link() refuses an existing file where rename() would replace it: --out is never
  // overwritten, even by a file that appeared during the download.
  if (::link(part.c_str(), args.out.c_str()) != 0) {
    std::cerr << "notaryctl case export: cannot write " << common::TerminalSafe(args.out) << ": "
              << std::strerror(errno) << " (the download is kept in " << common::TerminalSafe(part)
              << ")\n";
    return kUsage;
  }
  ::unlink(part.c_str());
  std::cout << "wrote " << common::TerminalSafe(args.out) << " (" << written
            << " bytes); check it offline with: notary-verify " << common::TerminalSafe(args.out)
            << "\n";
  return kWritten;
}

}  // namespace cli
