// NAME
//   notary-verify - check an e-mail evidence bundle, or a case's production, offline
// SUMMARY
//   notary-verify BUNDLE.zip [--policy FILE] [--key PEM]... [--fingerprint HEX]...
//                 [--tsa-ca PEM]... [--tsa-quorum N] [--witness VKEY]... [--witness-quorum N]
//                 [--eml FILE] [--attachment FILE] [--checkpoint FILE [--consistency-proof FILE]]
//                 [--dns-trust-anchor FILE]... [--json]
//   notary-verify PRODUCTION.zip [the same trust flags] [--threads N] [--json]
// DESCRIPTION
//   Runs every check of docs/verifying.md on the bundle and prints one line per check
//   (PASS, FAIL or SKIP, with the reason), then a verdict. Never uses the network: keys, the
//   TSA roots, the witnesses' keys and newer checkpoints are what the user obtained
//   separately (flags, or one --policy file; flags add to its lists and override its quorums).
//   Given a case's production (GET /v1/cases/{id}/export: it has index.csv, loadfile.dat and
//   case.json), verifies every bundle inside against its native on every core and checks the
//   index, the load file, the mailbox and the custody file against them (docs/cases.md,
//   "Checking a production"): one line per message, then a verdict.
//   Exit status: 0 valid, 1 invalid (or --eml/--attachment do not match), 2 usage error or
//   unreadable input.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/bytes.h"
#include "common/printable.h"
#include "common/time.h"
#include "evidence/bundle.h"
#include "production/verify.h"

namespace {

// Debian's dns-root-data: the root zone's trust anchors, kept current by the package.
constexpr const char* kRootKey = "/usr/share/dns/root.key";

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

// What certificate.pdf's signature shows (evidence/pdf_signature.h): the file is unchanged
// since the named certificate signed it, or not, or it is not signed at all.
void PrintCertificatePdf(const notary::PdfSignature& sig, const std::string& what) {
  using common::TerminalSafe;
  using State = notary::PdfSignature::State;
  switch (sig.state) {
    case State::kIntact:
      std::cout << "NOTE: certificate.pdf is " << what << ". Its signature is intact: signed by "
                << TerminalSafe(sig.signer) << " (certificate SHA-256 "
                << TerminalSafe(sig.signer_fingerprint)
                << "), unchanged since. Compare the signer with the certificate the operator "
                   "publishes; pdfsig also checks the signature's time-stamp.\n";
      break;
    case State::kUnsigned:
      std::cout << "NOTE: certificate.pdf is " << what << ". It is NOT signed: nothing binds it.\n";
      break;
    case State::kBroken:
      std::cout << "WARNING: certificate.pdf is " << what << ". Its signature is BROKEN ("
                << TerminalSafe(sig.problem) << "): do not rely on it.\n";
      break;
  }
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
  for (const auto& a : r.authorities) {
    std::cout << "STAMPED  " << common::FormatRfc3339Micros(a.gen_time_us) << "  "
              << (a.subject.empty() ? std::string("unknown authority") : TerminalSafe(a.subject))
              << " (" << TerminalSafe(a.tsa) << (a.built_in ? ", the notary's own authority" : "")
              << (a.counted ? "" : ", not a trusted authority: not counted") << ")\n";
  }
  for (const auto& w : r.witnesses) {
    std::cout << "COSIGNED " << common::FormatRfc3339Micros(w.time_us) << "  witness "
              << TerminalSafe(w.name) << " (key " << TerminalSafe(w.key_id) << ")\n";
  }
  if (r.witnesses.empty() && r.cosignature_lines > 0) {
    std::cout << "The checkpoint carries " << r.cosignature_lines
              << " cosignature line(s), unchecked: pass --witness with the witnesses' keys.\n";
  }
  if (r.erased_at_us) {
    std::cout << "ERASED   " << common::FormatRfc3339Micros(*r.erased_at_us)
              << "  the message's bytes and personal fields were destroyed (reason: "
              << TerminalSafe(r.erasure_reason) << "); its hashes and proofs stay\n";
  }
  for (const auto& c : r.checks) {
    if (c.id == "eml.compare" && c.status == notary::CheckStatus::kPass) {
      std::cout << "MATCHED  the file given with --eml is the notarised message\n";
    }
  }
  if (!r.authorities.empty() || !r.witnesses.empty() || r.cosignature_lines > 0 || r.erased_at_us) {
    std::cout << "\n";
  }
  if (r.valid) {
    std::cout << "VERDICT: VALID - every check passed";
    if (r.not_after_us) {
      std::cout << "; received " << common::FormatRfc3339Micros(r.received_at_us)
                << (r.witnesses.empty() ? ", time-stamped no later than "
                                        : ", attested no later than ")
                << common::FormatRfc3339Micros(*r.not_after_us);
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
  if (r.certificate_pdf) {
    PrintCertificatePdf(*r.certificate_pdf,
                        "the operator's copy of certificate.html; its text is not read here: "
                        "certificate.html, which the checks above re-render from the evidence, "
                        "is what binds");
  }
}

void PrintProductionNotes(const production::ProductionReport& r);

void PrintProduction(const std::string& path, const production::ProductionReport& r) {
  using common::TerminalSafe;
  std::cout << "Case production " << TerminalSafe(path) << ": " << r.messages.size()
            << " message(s)\n\n";
  for (const auto& m : r.messages) {
    std::cout << (m.valid ? "PASS  " : "FAIL  ") << TerminalSafe(m.bates) << "  receipt "
              << TerminalSafe(m.receipt_id);
    if (m.erased) std::cout << " (erased: the bundle proves its hashes; there is no native)";
    for (size_t i = 0; i < m.problems.size(); ++i) {
      std::cout << (i == 0 ? ": " : "; ") << TerminalSafe(m.problems[i]);
    }
    std::cout << "\n";
  }
  for (const auto& p : r.problems) std::cout << "FAIL  production: " << TerminalSafe(p) << "\n";
  std::cout << "\n";
  if (r.valid) {
    std::cout << "VERDICT: VALID - every one of the " << r.messages.size()
              << " bundles verified against its native, and index.csv, loadfile.dat, "
                 "messages.mbox, custody.json and case.json agree with them.\n";
  } else {
    std::cout << "VERDICT: INVALID - ";
    if (r.failed == 0) {
      std::cout << "every message passed, but the production itself has " << r.problems.size()
                << " problem(s).\n";
      return PrintProductionNotes(r);
    }
    std::cout << r.failed << " of " << r.messages.size() << " message(s) failed";
    size_t shown = 0;
    for (const auto& m : r.messages) {
      if (m.valid) continue;
      if (shown++ == 20) {
        std::cout << ", …";
        break;
      }
      std::cout << (shown == 1 ? ": " : ", ") << TerminalSafe(m.bates);
    }
    if (!r.problems.empty()) {
      std::cout << "; " << r.problems.size() << " problem(s) with the production itself";
    }
    std::cout << ".\n";
  }
  PrintProductionNotes(r);
}

void PrintProductionNotes(const production::ProductionReport& r) {
  using common::TerminalSafe;
  if (r.key_self_declared) {
    std::cout << "NOTE: the notary keys were taken from the bundles themselves "
                 "(self-declared). Their fingerprints:";
    for (const auto& fp : r.key_fingerprints) std::cout << " " << TerminalSafe(fp);
    std::cout << ". Compare them with the fingerprints the notary publishes, or run again "
                 "with --fingerprint or --key.\n";
  }
  if (r.tsa_ca_self_declared) {
    std::cout << "NOTE: the time-stamp authorities' root certificates were taken from the "
                 "bundles themselves (self-declared): run again with --tsa-ca and the TSAs' "
                 "published roots.\n";
  }
  std::cout << "NOTE: custody.json and case.json are the notary's account: they are checked "
               "to name the same messages and numbers, not proven (VERIFY.md inside says how "
               "to check their records against the log).\n";
  if (r.certificate) {
    PrintCertificatePdf(*r.certificate,
                        "the operator's statement about this production; its text is not read "
                        "here: check its hashes of index.csv, loadfile.dat and messages.mbox with "
                        "sha256sum");
  }
}

}  // namespace

int main(int argc, char** argv) {
  common::PinLocalTimeZone();  // before any thread
  CLI::App app{"notary-verify: check an e-mail evidence bundle offline (docs/verifying.md)"};
  std::string bundle_path;
  std::vector<std::string> key_paths, fingerprints, tsa_ca_paths, witness_vkeys;
  std::string policy_path, eml_path, attachment_path, checkpoint_path, proof_path;
  std::optional<size_t> witness_quorum, tsa_quorum;
  bool json = false;
  app.add_option("bundle", bundle_path, "the evidence bundle (evidence-<id>.zip)")->required();
  app.add_option("--policy", policy_path,
                 "a verification policy file (JSON: notary_keys, witnesses, witness_quorum, "
                 "tsa_roots, tsa_quorum); the flags add to it and override its quorums");
  app.add_option("--key", key_paths, "a trusted notary public key (PEM file); repeatable");
  app.add_option("--fingerprint", fingerprints,
                 "a trusted notary key fingerprint (64 hex digits); repeatable");
  app.add_option("--tsa-ca", tsa_ca_paths,
                 "a trusted TSA root certificate, PEM file; repeatable, one per authority");
  app.add_option("--tsa-quorum", tsa_quorum,
                 "tokens from this many distinct trusted authorities are required (default 1)")
      ->check(CLI::Range(1, 1000));
  app.add_option("--witness", witness_vkeys,
                 "a trusted witness's verifier key (name+hexid+base64); repeatable");
  app.add_option("--witness-quorum", witness_quorum,
                 "cosignatures from this many of the witnesses are required (default: all)")
      ->check(CLI::Range(1, 1000));
  app.add_option("--eml", eml_path, "another copy of the e-mail to compare");
  app.add_option("--attachment", attachment_path, "a file that may be one of the attachments");
  auto* cp = app.add_option("--checkpoint", checkpoint_path,
                            "a newer signed checkpoint obtained separately (GET /v1/checkpoint)");
  app.add_option("--consistency-proof", proof_path,
                 "JSON of GET /v1/proofs/consistency?first=<bundle size>&second=<newer size>")
      ->needs(cp);
  std::vector<std::string> dns_anchor_paths;
  app.add_option("--dns-trust-anchor", dns_anchor_paths,
                 "DNSSEC trust anchors for the sender evidence (DS or DNSKEY records, zone-file "
                 "format); repeatable; default: /usr/share/dns/root.key when installed");
  app.add_flag("--json", json, "print the report as JSON");
  unsigned threads = std::max(1u, std::thread::hardware_concurrency());
  app.add_option("--threads", threads,
                 "a production's bundles are verified on this many threads (default: the "
                 "number of cores)")
      ->check(CLI::Range(1, 256));
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
    if (!policy_path.empty()) {
      auto policy = notary::ParseVerifyPolicy(ReadInput(policy_path, 1 << 20));
      if (!policy.ok()) {
        std::cerr << "notary-verify: " << common::TerminalSafe(policy_path) << ": "
                  << common::TerminalSafe(policy.error().message()) << "\n";
        return kExitUsage;
      }
      opt.pinned_fingerprints = policy->notary_fingerprints;
      opt.witnesses = policy->witnesses;
      opt.witness_quorum = policy->witness_quorum;
      opt.tsa_ca_pems = policy->tsa_root_pems;
      // Paths in the policy are relative to the policy file.
      const std::filesystem::path base = std::filesystem::path(policy_path).parent_path();
      for (const auto& p : policy->tsa_root_paths) {
        std::filesystem::path path(p);
        if (path.is_relative()) path = base / path;
        opt.tsa_ca_pems.push_back(ReadInput(path.string(), 1 << 20));
      }
      if (policy->tsa_quorum) opt.tsa_quorum = *policy->tsa_quorum;
    }
    for (const auto& vkey : witness_vkeys) {
      auto key = notary::ParseCosignerKey(vkey);
      if (!key.ok()) {
        std::cerr << "notary-verify: --witness: " << common::TerminalSafe(key.error().message())
                  << "\n";
        return kExitUsage;
      }
      opt.witnesses.push_back(*key);
    }
    if (witness_quorum) opt.witness_quorum = *witness_quorum;
    if (tsa_quorum) opt.tsa_quorum = *tsa_quorum;
    if (opt.witness_quorum && *opt.witness_quorum > opt.witnesses.size()) {
      std::cerr << "notary-verify: a witness quorum of " << *opt.witness_quorum
                << " needs at least "
                << "as many witnesses (--witness or the policy's witnesses), "
                << opt.witnesses.size() << " given\n";
      return kExitUsage;
    }
    for (const auto& fp : fingerprints) {
      if (!IsFingerprint(fp)) {
        std::cerr << "notary-verify: --fingerprint needs 64 hex digits (SHA-256 of the key)\n";
        return kExitUsage;
      }
      opt.pinned_fingerprints.push_back(fp);
    }
    for (const auto& p : key_paths) opt.pinned_key_pems.push_back(ReadInput(p, 1 << 20));
    for (const auto& p : tsa_ca_paths) opt.tsa_ca_pems.push_back(ReadInput(p, 1 << 20));
    if (!eml_path.empty()) opt.eml = ReadInput(eml_path, kMaxInputBytes);
    if (!attachment_path.empty()) opt.attachment = ReadInput(attachment_path, kMaxInputBytes);
    if (!checkpoint_path.empty()) opt.newer_checkpoint = ReadInput(checkpoint_path, 1 << 20);
    if (!proof_path.empty()) opt.consistency_proof_json = ReadInput(proof_path, 1 << 20);
    if (dns_anchor_paths.empty() && access(kRootKey, R_OK) == 0) dns_anchor_paths = {kRootKey};
    for (const auto& p : dns_anchor_paths) {
      opt.dns_trust_anchors += ReadInput(p, 1 << 20) + "\n";
      opt.dns_trust_anchor_source += (opt.dns_trust_anchor_source.empty() ? "" : ", ") + p;
    }
    if (production::IsProduction(bundle_path)) {
      if (opt.eml || opt.attachment || opt.newer_checkpoint) {
        std::cerr << "notary-verify: --eml, --attachment and --checkpoint are for one bundle; a "
                     "production's natives are checked against their bundles\n";
        return kExitUsage;
      }
      auto report = production::VerifyProduction(bundle_path, opt, threads);
      if (!report.ok()) {
        if (json) std::cout << "{\"valid\": false, \"error\": \"unreadable production\"}\n";
        std::cerr << "notary-verify: " << common::TerminalSafe(report.error().message()) << "\n";
        return kExitUsage;
      }
      if (json) {
        std::cout << production::ProductionReportJson(*report);
      } else {
        PrintProduction(bundle_path, *report);
      }
      return report->valid ? kExitValid : kExitInvalid;
    }
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
