#include "production/verify.h"

#include <zip.h>

#include <atomic>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>

#include "common/bytes.h"
#include "common/sha256.h"
#include "mime/canonical.h"
#include "production/load_file.h"
#include "production/writer.h"

namespace production {
namespace {

struct ZipDiscard {
  void operator()(zip_t* z) const { zip_discard(z); }
};
using ZipPtr = std::unique_ptr<zip_t, ZipDiscard>;
struct ZipFileClose {
  void operator()(zip_file_t* f) const { zip_fclose(f); }
};
using ZipFilePtr = std::unique_ptr<zip_file_t, ZipFileClose>;

// The production's own files (docs/cases.md): exactly these, the rows' bundles and natives.
constexpr char kCertificateFile[] = "certificate.pdf";
const std::vector<std::string> kFixedFiles = {"VERIFY.md",    "case.json",    "index.csv",
                                              "loadfile.dat", "custody.json", "messages.mbox"};

// index.csv's columns.
enum IndexColumn : size_t {
  kBates = 0,
  kReceipt = 1,
  kRawSha256 = 6,
  kFile = 9,
  kBundle = 10,
};
constexpr size_t kDatCustodian = 2;

std::string Joined(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : "; ") + s;
  return out;
}

// An entry's bytes, read while counting: the sizes the zip states are not trusted.
common::Result<std::string> ReadEntry(zip_t* za, zip_uint64_t index, uint64_t limit,
                                      const std::string& name) {
  ZipFilePtr f{zip_fopen_index(za, index, 0)};
  if (!f) return common::Error::InvalidInput(name + ": " + zip_strerror(za));
  std::string out;
  char buf[1 << 16];
  while (true) {
    const zip_int64_t n = zip_fread(f.get(), buf, sizeof(buf));
    if (n < 0) return common::Error::InvalidInput(name + ": " + zip_file_strerror(f.get()));
    if (n == 0) break;
    if (out.size() + static_cast<uint64_t>(n) > limit) {
      return common::Error::InvalidInput(name + ": larger than " + std::to_string(limit >> 20) +
                                         " MiB");
    }
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

std::string_view WithoutBom(std::string_view text) {
  if (text.substr(0, kUtf8Bom.size()) == kUtf8Bom) text.remove_prefix(kUtf8Bom.size());
  return text;
}

// What the production states; filled by the main thread, read by the workers.
struct Given {
  std::map<std::string, zip_uint64_t> entries;                 // name -> index in the zip
  std::vector<std::vector<std::string>> index_rows, dat_rows;  // without headers
};

// `given` is a row as parsed; `expected` is the row as the writer would write it from what was
// proven, put through the same writing and parsing so that quoting (the formula apostrophe, ®
// for line breaks) compares equal.
void CompareRow(const std::string& file, const std::vector<std::string>& header,
                const std::vector<std::string>& given, const std::vector<std::string>& expected,
                std::vector<std::string>& problems) {
  if (expected.size() != header.size() || given.size() != header.size()) {
    problems.push_back(file + "'s row cannot be rebuilt from the bundle and the native");
    return;
  }
  for (size_t i = 0; i < header.size() && i < given.size() && i < expected.size(); ++i) {
    if (given[i] != expected[i]) {
      problems.push_back(file + "'s " + header[i] + " is not what the bundle and the native show");
    }
  }
}

std::vector<std::string> AsWrittenCsv(const std::vector<std::string>& row) {
  auto parsed = ParseCsv(CsvLine(row, IndexFreeText()));
  return parsed.ok() && parsed->size() == 1 ? (*parsed)[0] : std::vector<std::string>{};
}

std::vector<std::string> AsWrittenDat(const std::vector<std::string>& row) {
  auto parsed = ParseDat(DatLine(row));
  return parsed.ok() && parsed->size() == 1 ? (*parsed)[0] : std::vector<std::string>{};
}

void CheckMessage(zip_t* za, const Given& given, size_t i, const notary::VerifyOptions& base,
                  MessageCheck& out) {
  const std::vector<std::string>& row = given.index_rows[i];
  const std::vector<std::string>& dat = given.dat_rows[i];
  out.bates = row[kBates];
  out.receipt_id = row[kReceipt];
  std::vector<std::string>& problems = out.problems;

  const std::string bundle_path = "bundles/evidence-" + row[kReceipt] + ".zip";
  auto bundle_entry = given.entries.find(bundle_path);
  if (bundle_entry == given.entries.end()) {
    problems.push_back("its bundle " + bundle_path + " is missing");
    return;
  }
  auto zip = ReadEntry(za, bundle_entry->second, notary::kMaxBundleZipBytes, bundle_path);
  if (!zip.ok()) {
    problems.push_back(zip.error().message());
    return;
  }
  auto bundle = notary::ReadBundleZip(*zip);
  if (!bundle.ok()) {
    problems.push_back(bundle_path + " is not a readable bundle: " + bundle.error().message());
    return;
  }
  const notary::Receipt& receipt = bundle->evidence.receipt;
  out.erased = bundle->evidence.Erased();

  std::optional<std::string> native;
  if (!row[kFile].empty()) {
    auto native_entry = given.entries.find(row[kFile]);
    if (native_entry == given.entries.end()) {
      problems.push_back("its native " + row[kFile] + " is missing");
    } else {
      auto bytes = ReadEntry(za, native_entry->second, notary::kMaxBundleTotalBytes, row[kFile]);
      if (bytes.ok()) {
        native = std::move(*bytes);
      } else {
        problems.push_back(bytes.error().message());
      }
    }
  }
  if (out.erased && !row[kFile].empty()) {
    problems.push_back("it has a native, but its bundle shows the message erased");
  }
  if (!out.erased && row[kFile].empty()) {
    problems.push_back("it has no native, but its bundle does not show the message erased");
  }

  notary::VerifyOptions options = base;
  if (native && !out.erased) options.eml = *native;
  const notary::VerifyReport report = notary::VerifyBundle(*bundle, options);
  out.key_fingerprint = report.key_fingerprint;
  out.key_self_declared = report.key_self_declared;
  out.tsa_ca_self_declared = report.tsa_ca_self_declared;
  if (!report.valid) {
    std::string failed;
    for (const auto& c : report.checks) {
      if (c.status == notary::CheckStatus::kFail) failed += (failed.empty() ? "" : ", ") + c.id;
    }
    problems.push_back("its bundle fails " + failed);
  }
  // The eml comparison accepts a copy whose canonical form matches; a native is the message
  // as received, byte for byte.
  if (native && !out.erased && common::Sha256Of(*native) != receipt.raw_sha256) {
    problems.push_back("its native is not byte for byte the message its bundle proves");
  }

  // The rows as the notary's writer would write them from what is proven here.
  ProductionMessage m;
  m.receipt_id = receipt.id;
  m.received_at_us = receipt.received_at_us;
  m.raw_sha256 = receipt.raw_sha256;
  m.canonical_sha256 = receipt.canonical_sha256;
  m.block_height = static_cast<int64_t>(report.block_height);
  if (native && !out.erased && !mime::IsSupportedCanonVersion(receipt.canon_version)) {
    // The bundle's check has failed already; its headers cannot be read by an unknown version.
    problems.push_back("its bundle names canonical form version " +
                       std::to_string(receipt.canon_version) + ", which this verifier lacks");
  } else if (native && !out.erased) {
    const mime::Canonical c = mime::Canonicalize(*native, receipt.canon_version);
    m.from = c.metadata.from;
    m.to = Joined(c.metadata.to);
    m.cc = Joined(c.metadata.cc);
    m.subject = c.metadata.subject;
    if (c.metadata.date_utc_unix) m.date_sent_us = *c.metadata.date_utc_unix * 1000000;
  }
  ProducedMessage p;
  p.bates = row[kBates];
  p.bundle_path = "bundles/evidence-" + receipt.id + ".zip";
  if (!out.erased) p.native_path = "natives/" + p.bates + ".eml";
  CompareRow("index.csv", IndexHeader(), row, AsWrittenCsv(IndexRow(m, p)), problems);
  const std::string md5 = native && !out.erased ? Md5Hex(*native) : "";
  CompareRow("loadfile.dat", DatHeader(), dat, AsWrittenDat(DatRow(m, p, dat[kDatCustodian], md5)),
             problems);
}

// case.json's "export": the numbering and custodian every row must follow.
void CheckCase(zip_t* za, const Given& given, ProductionReport& report) {
  auto text = ReadEntry(za, given.entries.at("case.json"), 1 << 20, "case.json");
  if (!text.ok()) {
    report.problems.push_back(text.error().message());
    return;
  }
  const nlohmann::json j = nlohmann::json::parse(*text, nullptr, false);
  const nlohmann::json* e = nullptr;
  if (j.is_object() && j.contains("export") && j["export"].is_object()) e = &j["export"];
  ProductionOptions o;
  bool ok = e != nullptr;
  try {
    if (ok) {
      o.bates_prefix = e->at("bates_prefix").get<std::string>();
      o.bates_start = e->at("bates_start").get<uint64_t>();
      o.bates_width = e->at("bates_width").get<int>();
      o.custodian = e->at("custodian").get<std::string>();
      ok = CheckOptions(o).ok() && e->at("messages").get<uint64_t>() == given.index_rows.size();
    }
  } catch (const nlohmann::json::exception&) {
    ok = false;
  }
  if (!ok) {
    report.problems.push_back(
        "case.json does not state this export's Bates numbering, custodian and number of "
        "messages");
    return;
  }
  for (size_t i = 0; i < given.index_rows.size(); ++i) {
    const std::optional<std::string> bates = BatesNumber(o, o.bates_start + i);
    if (!bates || given.index_rows[i][kBates] != *bates) {
      report.problems.push_back("row " + std::to_string(i + 1) + " of index.csv is not Bates " +
                                bates.value_or("(out of range)") + " as case.json numbers them");
      return;
    }
    if (given.dat_rows[i][kDatCustodian] != o.custodian) {
      report.problems.push_back("loadfile.dat's CUSTODIAN of " + *bates +
                                " is not case.json's custodian");
      return;
    }
  }
}

// custody.json must name the same messages as the index, in the same order.
void CheckCustody(zip_t* za, const Given& given, ProductionReport& report) {
  auto text =
      ReadEntry(za, given.entries.at("custody.json"), kMaxProductionTextBytes, "custody.json");
  if (!text.ok()) {
    report.problems.push_back(text.error().message());
    return;
  }
  const nlohmann::json j = nlohmann::json::parse(*text, nullptr, false);
  if (!j.is_object() || !j.contains("messages") || !j["messages"].is_array() ||
      j["messages"].size() != given.index_rows.size()) {
    report.problems.push_back("custody.json does not list every message of index.csv");
    return;
  }
  const std::vector<std::pair<const char*, size_t>> fields = {{"bates", kBates},
                                                              {"receipt_id", kReceipt},
                                                              {"raw_sha256", kRawSha256},
                                                              {"native", kFile},
                                                              {"bundle", kBundle}};
  for (size_t i = 0; i < given.index_rows.size(); ++i) {
    const nlohmann::json& entry = j["messages"][i];
    for (const auto& [name, column] : fields) {
      if (!entry.is_object() || !entry.contains(name) || !entry[name].is_string() ||
          entry[name].get<std::string>() != given.index_rows[i][column]) {
        report.problems.push_back("custody.json's entry " + std::to_string(i + 1) + " (" +
                                  given.index_rows[i][kBates] + ") has another " + name +
                                  " than index.csv");
        return;
      }
    }
  }
}

// messages.mbox must hold exactly the natives, in the index's order: compared by the SHA-256
// the index states, which CheckMessage compares with each native.
void CheckMailbox(zip_t* za, const Given& given, ProductionReport& report) {
  ZipFilePtr f{zip_fopen_index(za, given.entries.at("messages.mbox"), 0)};
  if (!f) {
    report.problems.push_back("messages.mbox: " + std::string(zip_strerror(za)));
    return;
  }
  std::vector<size_t> with_native;
  for (size_t i = 0; i < given.index_rows.size(); ++i) {
    if (!given.index_rows[i][kFile].empty()) with_native.push_back(i);
  }
  size_t k = 0;
  MboxrdReader reader(notary::kMaxBundleTotalBytes, [&](std::string message) {
    if (k < with_native.size()) {
      const size_t i = with_native[k];
      if (common::ToHex(common::Sha256Of(message)) != given.index_rows[i][kRawSha256]) {
        report.messages[i].problems.push_back("its message in messages.mbox is not its native");
      }
    }
    ++k;
  });
  char buf[1 << 16];
  common::Status status = common::Ok();
  bool fed = false;  // an empty mailbox is right when no message has a native
  while (status.ok()) {
    const zip_int64_t n = zip_fread(f.get(), buf, sizeof(buf));
    if (n < 0) {
      report.problems.push_back("messages.mbox: " + std::string(zip_file_strerror(f.get())));
      return;
    }
    if (n == 0) break;
    fed = true;
    status = reader.Feed(std::string_view(buf, static_cast<size_t>(n)));
  }
  if (status.ok() && fed) status = reader.Finish();
  if (!status.ok()) {
    report.problems.push_back(status.error().message());
  } else if (k != with_native.size()) {
    report.problems.push_back("messages.mbox holds " + std::to_string(k) + " messages, not the " +
                              std::to_string(with_native.size()) + " natives");
  }
}

// Parses index.csv and loadfile.dat into `given`; false (with the problem) when the rows
// cannot be checked one by one.
bool ReadRows(zip_t* za, Given& given, ProductionReport& report) {
  auto index = ReadEntry(za, given.entries.at("index.csv"), kMaxProductionTextBytes, "index.csv");
  auto dat =
      ReadEntry(za, given.entries.at("loadfile.dat"), kMaxProductionTextBytes, "loadfile.dat");
  if (!index.ok() || !dat.ok()) {
    report.problems.push_back(!index.ok() ? index.error().message() : dat.error().message());
    return false;
  }
  auto index_rows = ParseCsv(WithoutBom(*index));
  auto dat_rows = ParseDat(WithoutBom(*dat));
  if (!index_rows.ok() || index_rows->empty() || (*index_rows)[0] != IndexHeader()) {
    report.problems.push_back("index.csv is not a production index (its header or quoting)");
    return false;
  }
  if (!dat_rows.ok() || dat_rows->empty() || (*dat_rows)[0] != DatHeader()) {
    report.problems.push_back("loadfile.dat is not a production load file (its header or quoting)");
    return false;
  }
  if (index_rows->size() != dat_rows->size()) {
    report.problems.push_back("index.csv and loadfile.dat do not have as many rows");
    return false;
  }
  for (size_t i = 1; i < index_rows->size(); ++i) {
    if ((*index_rows)[i].size() != IndexHeader().size() ||
        (*dat_rows)[i].size() != DatHeader().size()) {
      report.problems.push_back("row " + std::to_string(i) + " of index.csv or loadfile.dat " +
                                "does not have every column");
      return false;
    }
  }
  given.index_rows.assign(std::make_move_iterator(index_rows->begin() + 1),
                          std::make_move_iterator(index_rows->end()));
  given.dat_rows.assign(std::make_move_iterator(dat_rows->begin() + 1),
                        std::make_move_iterator(dat_rows->end()));
  return true;
}

// Every entry of the zip is a fixed file or a row's bundle or native; each Bates number and
// receipt appears once.
void CheckEntries(const Given& given, ProductionReport& report) {
  std::set<std::string> listed(kFixedFiles.begin(), kFixedFiles.end());
  // The notary's signed certificate, when the production has one: allowed, not read here
  // (docs/cases.md, "The certificate": pdfsig checks its signature).
  listed.insert(kCertificateFile);
  std::set<std::string> bates, receipts;
  for (const auto& row : given.index_rows) {
    if (!bates.insert(row[kBates]).second) {
      report.problems.push_back("Bates number " + row[kBates] + " appears twice in index.csv");
    }
    if (!receipts.insert(row[kReceipt]).second) {
      report.problems.push_back("receipt " + row[kReceipt] + " appears twice in index.csv");
    }
    listed.insert(row[kBundle]);
    if (!row[kFile].empty()) listed.insert(row[kFile]);
  }
  for (const auto& [name, index] : given.entries) {
    if (!listed.contains(name)) {
      report.problems.push_back("the zip holds " + name + ", which index.csv does not list");
    }
  }
}

}  // namespace

bool IsProduction(const std::string& path) {
  int err = 0;
  ZipPtr za{zip_open(path.c_str(), ZIP_RDONLY, &err)};
  if (!za) return false;
  for (const char* name : {"index.csv", "loadfile.dat", "case.json"}) {
    if (zip_name_locate(za.get(), name, ZIP_FL_ENC_RAW) < 0) return false;
  }
  return true;
}

common::Result<ProductionReport> VerifyProduction(const std::string& path,
                                                  const notary::VerifyOptions& options,
                                                  unsigned threads) {
  int err = 0;
  ZipPtr za{zip_open(path.c_str(), ZIP_RDONLY | ZIP_CHECKCONS, &err)};
  if (!za) {
    zip_error_t ze;
    zip_error_init_with_code(&ze, err);
    std::string why = zip_error_strerror(&ze);
    zip_error_fini(&ze);
    return common::Error::InvalidInput(path + ": not a readable zip: " + why);
  }
  ProductionReport report;
  Given given;
  const zip_int64_t n = zip_get_num_entries(za.get(), 0);
  if (n < 0 || static_cast<uint64_t>(n) > kMaxProductionEntries) {
    return common::Error::InvalidInput(path + ": more than " +
                                       std::to_string(kMaxProductionEntries) + " entries");
  }
  for (zip_int64_t i = 0; i < n; ++i) {
    const char* name = zip_get_name(za.get(), static_cast<zip_uint64_t>(i), ZIP_FL_ENC_RAW);
    if (name == nullptr) return common::Error::InvalidInput(path + ": an entry has no name");
    if (!given.entries.emplace(name, static_cast<zip_uint64_t>(i)).second) {
      report.problems.push_back(std::string("the zip holds ") + name + " twice");
    }
  }
  if (auto entry = given.entries.find(kCertificateFile); entry != given.entries.end()) {
    auto pdf = ReadEntry(za.get(), entry->second, kMaxProductionTextBytes, kCertificateFile);
    report.certificate.emplace();
    if (pdf.ok()) {
      report.certificate = notary::CheckPdfSignature(*pdf);
    } else {
      report.certificate->state = notary::PdfSignature::State::kBroken;
      report.certificate->problem = pdf.error().message();
    }
  }
  for (const auto& name : kFixedFiles) {
    if (!given.entries.contains(name)) report.problems.push_back("the zip lacks " + name);
  }
  if (!report.problems.empty() || !ReadRows(za.get(), given, report)) return report;

  report.messages.resize(given.index_rows.size());
  CheckEntries(given, report);
  CheckCase(za.get(), given, report);
  CheckCustody(za.get(), given, report);

  // The bundles, on `threads` threads with a zip handle each (libzip's are not shared).
  std::atomic<size_t> next{0};
  auto work = [&](zip_t* handle) {
    for (size_t i = next++; i < given.index_rows.size(); i = next++) {
      CheckMessage(handle, given, i, options, report.messages[i]);
    }
  };
  std::vector<ZipPtr> handles;
  std::vector<std::thread> pool;
  threads = std::max(1u, threads);
  for (unsigned t = 1; t < threads && t < given.index_rows.size(); ++t) {
    int e = 0;
    ZipPtr h{zip_open(path.c_str(), ZIP_RDONLY, &e)};
    if (!h) break;  // the main thread's handle does the rest
    handles.push_back(std::move(h));
    pool.emplace_back(work, handles.back().get());
  }
  work(za.get());
  for (auto& t : pool) t.join();
  // The mailbox afterwards: its problems are attached to the messages.
  CheckMailbox(za.get(), given, report);

  for (const MessageCheck& m : report.messages) {
    if (!m.problems.empty()) ++report.failed;
    if (!m.key_fingerprint.empty()) report.key_fingerprints.insert(m.key_fingerprint);
    report.key_self_declared |= m.key_self_declared;
    report.tsa_ca_self_declared |= m.tsa_ca_self_declared;
  }
  for (MessageCheck& m : report.messages) m.valid = m.problems.empty();
  report.valid = report.problems.empty() && report.failed == 0;
  return report;
}

std::string ProductionReportJson(const ProductionReport& r) {
  nlohmann::json messages = nlohmann::json::array();
  for (const MessageCheck& m : r.messages) {
    messages.push_back({{"bates", m.bates},
                        {"receipt_id", m.receipt_id},
                        {"valid", m.valid},
                        {"erased", m.erased},
                        {"problems", m.problems},
                        {"key_fingerprint", m.key_fingerprint}});
  }
  const nlohmann::json j = {
      {"production", true},
      {"valid", r.valid},
      {"failed", r.failed},
      {"problems", r.problems},
      {"messages", std::move(messages)},
      {"key_self_declared", r.key_self_declared},
      {"tsa_ca_self_declared", r.tsa_ca_self_declared},
      {"certificate_unchecked", r.certificate.has_value()},
      {"certificate",
       r.certificate
           ? nlohmann::json{{"signature", notary::PdfSignatureStateName(r.certificate->state)},
                            {"signer", r.certificate->signer},
                            {"signer_fingerprint", r.certificate->signer_fingerprint},
                            {"problem", r.certificate->problem}}
           : nlohmann::json()}};
  // Names and problems come from a zip someone else made: never abort on bad UTF-8.
  return j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

}  // namespace production
