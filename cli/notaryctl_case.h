// notaryctl case export: a case's production (docs/cases.md) downloaded from a notary over
// HTTP, as GET /v1/cases/{id}/export gives it, into a file.
//
// The API key (scopes cases and read) comes from --api-key-file or NOTARY_API_KEY, never from
// the command line, where `ps` would show it. The zip is written to "<out>.part" (mode 0600:
// it holds the messages in the clear), synced, and linked as <out> only once the notary said
// 200 and the download ended; anything else removes it. An existing <out> is never replaced.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace cli {

struct CaseExportArgs {
  std::string url;      // the notary's base URL
  std::string case_id;  // the case's id
  std::string out;      // the zip to write
  std::string api_key_file;
  std::string bates_prefix, custodian, lang;
  std::string certificate_template;  // certificate.pdf: default, us-fre-902, kr or cn
  std::optional<uint64_t> bates_start;
  std::optional<int> bates_width;
  int timeout_s = 600;  // connecting, and between two reads of the answer
};

// Exit status: 0 written, 1 the notary refused (its reason printed: 400, 403, 404, 409, 429),
// 2 usage error or the file cannot be written, 3 the notary could not be reached or failed.
int RunCaseExport(const CaseExportArgs& args);

}  // namespace cli
