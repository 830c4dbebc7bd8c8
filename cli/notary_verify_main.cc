// NAME
//   notary-verify - check an e-mail evidence bundle offline
// SUMMARY
//   notary-verify BUNDLE.zip [--key PEM]... [--fingerprint HEX]... [--tsa-ca PEM]
//                 [--eml FILE] [--attachment FILE] [--checkpoint FILE [--consistency-proof FILE]]
//                 [--json]
// DESCRIPTION
//   Runs every check of docs/verifying.md on the bundle and prints one line per check
//   (PASS, FAIL or SKIP, with the reason), then a verdict. Never uses the network: keys, the
//   TSA root and newer checkpoints are files the user obtained separately.
//   Exit status: 0 valid, 1 invalid (or --eml/--attachment do not match), 2 usage error or
//   unreadable input.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "common/bytes.h"
#include "common/printable.h"
#include "common/time.h"
#include "evidence/bundle.h"

namespace {

constexpr int kExitValid = 0;
constexpr int kExitInvalid = 1;
constexpr int kExitUsage = 2;
// Inputs other than the bundle (keys, PEMs, e-mails, attachments, checkpoints).
constexpr uintmax_t kMaxInputBytes = 512ull << 20;

struct Unreadable {
  std::string message;
};

std::string ReadInput(const std::string& path, uintmax_t limit) {
  std::error_code ec;
  auto size = std::filesystem::file_size(path, ec);
  if (ec) throw Unreadable{path + ": " + ec.message()};
  if (size > limit)
    throw Unreadable{path + ": larger than " + std::to_string(limit >> 20) + " MiB"};
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Unreadable{path + ": cannot open"};
  std::string data(static_cast<size_t>(size), '\0');
  in.read(data.data(), static_cast<std::streamsize>(size));
  if (static_cast<uintmax_t>(in.gcount()) != size) throw Unreadable{path + ": short read"};
  return data;
}

bool IsFingerprint(const std::string& s) {
  return s.size() == 64 && common::FromHex(s).has_value();
}

bool OnlyMatchChecksFailed(const notary::VerifyReport& r) {
  bool any = false;
  for (const auto& c : r.checks) {
    if (c.status != notary::CheckStatus::kFail) continue;
    if (c.id != "eml.compare" && c.id != "attachment.match") return false;
    any = true;
  }
  return any;
}

// Every value printed comes from the bundle or the command line and goes through
// TerminalSafe: a crafted receipt id or file name must not be able to move the cursor and
// paint a verdict of its own.
void PrintText(const std::string& path, const notary::VerifyReport& r) {
  using common::TerminalSafe;
  std::cout << "Evidence bundle " << TerminalSafe(path) << "\n"
            << "Receipt " << TerminalSafe(r.receipt_id) << ", received "
            << common::FormatRfc3339Micros(r.received_at_us) << ", block " << r.block_height
            << "\n\n";
  for (const auto& c : r.checks) {
    std::printf("%s  %-24s %s: %s\n", std::string(notary::CheckStatusName(c.status)).c_str(),
                TerminalSafe(c.id).c_str(), TerminalSafe(c.name).c_str(),
                TerminalSafe(c.reason).c_str());
  }
  std::cout << "\n";
  if (r.valid) {
    std::cout << "VERDICT: VALID - every check passed";
    if (r.not_after_us) {
      std::cout << "; received " << common::FormatRfc3339Micros(r.received_at_us)
                << ", time-stamped no later than " << common::FormatRfc3339Micros(*r.not_after_us);
    }
    std::cout << ".\n";
  } else if (OnlyMatchChecksFailed(r)) {
    std::cout << "VERDICT: NOT MATCHED - the evidence bundle is valid, but the file given with "
                 "--eml or --attachment is not the notarised one.\n";
  } else {
    std::cout << "VERDICT: INVALID - failed:";
    for (const auto& c : r.checks) {
      if (c.status == notary::CheckStatus::kFail) std::cout << " " << c.id;
    }
    std::cout << ".\n";
  }
  if (r.key_self_declared) {
    std::cout << "NOTE: the notary key was taken from the bundle itself (self-declared). Its "
                 "fingerprint is "
              << (r.key_fingerprint.empty() ? "unknown" : TerminalSafe(r.key_fingerprint))
              << ": compare it with the fingerprint the notary publishes, or run again with "
                 "--fingerprint or --key.\n";
  }
  if (r.tsa_ca_self_declared) {
    std::cout << "NOTE: the time-stamp authority's root certificate was taken from the bundle "
                 "itself (self-declared): run again with --tsa-ca and the TSA's published "
                 "root.\n";
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"notary-verify: check an e-mail evidence bundle offline (docs/verifying.md)"};
  std::string bundle_path;
  std::vector<std::string> key_paths, fingerprints;
  std::string tsa_ca_path, eml_path, attachment_path, checkpoint_path, proof_path;
  bool json = false;
  app.add_option("bundle", bundle_path, "the evidence bundle (evidence-<id>.zip)")->required();
  app.add_option("--key", key_paths, "a trusted notary public key (PEM file); repeatable");
  app.add_option("--fingerprint", fingerprints,
                 "a trusted notary key fingerprint (64 hex digits); repeatable");
  app.add_option("--tsa-ca", tsa_ca_path, "trusted TSA root certificate(s), PEM file");
  app.add_option("--eml", eml_path, "another copy of the e-mail to compare");
  app.add_option("--attachment", attachment_path, "a file that may be one of the attachments");
  auto* cp = app.add_option("--checkpoint", checkpoint_path,
                            "a newer signed checkpoint obtained separately (GET /v1/checkpoint)");
  app.add_option("--consistency-proof", proof_path,
                 "JSON of GET /v1/proofs/consistency?first=<bundle size>&second=<newer size>")
      ->needs(cp);
  app.add_flag("--json", json, "print the report as JSON");
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    (void)app.exit(e);
    return kExitUsage;
  }

  notary::VerifyOptions opt;
  std::string zip;
  try {
    for (const auto& fp : fingerprints) {
      if (!IsFingerprint(fp)) {
        std::cerr << "notary-verify: --fingerprint needs 64 hex digits (SHA-256 of the key)\n";
        return kExitUsage;
      }
      opt.pinned_fingerprints.push_back(fp);
    }
    for (const auto& p : key_paths) opt.pinned_key_pems.push_back(ReadInput(p, 1 << 20));
    if (!tsa_ca_path.empty()) opt.tsa_ca_pem = ReadInput(tsa_ca_path, 1 << 20);
    if (!eml_path.empty()) opt.eml = ReadInput(eml_path, kMaxInputBytes);
    if (!attachment_path.empty()) opt.attachment = ReadInput(attachment_path, kMaxInputBytes);
    if (!checkpoint_path.empty()) opt.newer_checkpoint = ReadInput(checkpoint_path, 1 << 20);
    if (!proof_path.empty()) opt.consistency_proof_json = ReadInput(proof_path, 1 << 20);
    zip = ReadInput(bundle_path, notary::kMaxBundleZipBytes);
  } catch (const Unreadable& u) {
    std::cerr << "notary-verify: " << common::TerminalSafe(u.message) << "\n";
    return kExitUsage;
  }

  auto bundle = notary::ReadBundleZip(zip);
  if (!bundle.ok()) {
    if (json) {
      std::cout << "{\"valid\": false, \"error\": \"unreadable bundle\"}\n";
    }
    std::cerr << "notary-verify: " << common::TerminalSafe(bundle_path) << ": "
              << common::TerminalSafe(bundle.error().message()) << "\n";
    return kExitUsage;
  }
  notary::VerifyReport report = notary::VerifyBundle(*bundle, opt);
  if (json) {
    std::cout << notary::VerifyReportJson(report);
  } else {
    PrintText(bundle_path, report);
  }
  return report.valid ? kExitValid : kExitInvalid;
}
