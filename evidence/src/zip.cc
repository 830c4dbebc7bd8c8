// BuildBundleZip and ReadBundleZip: the zip container, in memory only (libzip).
#include <zip.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <set>

#include "bundle_internal.h"
#include "common/check.h"
#include "evidence/bundle.h"
#include "log/block.h"
#include "log/checkpoint.h"
#include "mime/canonical.h"
#include "tsa/token.h"

namespace notary {
namespace {

using namespace bundle_internal;

struct ZipDiscard {
  void operator()(zip_t* z) const { zip_discard(z); }
};
using ZipPtr = std::unique_ptr<zip_t, ZipDiscard>;
struct ZipSourceFree {
  void operator()(zip_source_t* s) const { zip_source_free(s); }
};
using ZipSourcePtr = std::unique_ptr<zip_source_t, ZipSourceFree>;
struct ZipFileClose {
  void operator()(zip_file_t* f) const { zip_fclose(f); }
};
using ZipFilePtr = std::unique_ptr<zip_file_t, ZipFileClose>;

std::string ZipErrorText(zip_error_t* err) {
  std::string s = zip_error_strerror(err);
  zip_error_fini(err);
  return s;
}

// MS-DOS date and time of a UTC instant (zip entries carry no time zone).
void DosTime(int64_t us, uint16_t& dos_time, uint16_t& dos_date) {
  using namespace std::chrono;
  const sys_time<microseconds> tp{microseconds{us}};
  const sys_days day = floor<days>(tp);
  const year_month_day ymd{day};
  const hh_mm_ss<seconds> tod{floor<seconds>(tp - day)};
  int year = int(ymd.year());
  if (year < 1980) year = 1980;  // the DOS epoch
  if (year > 2107) year = 2107;
  dos_date = static_cast<uint16_t>(((year - 1980) << 9) | (unsigned(ymd.month()) << 5) |
                                   unsigned(ymd.day()));
  dos_time = static_cast<uint16_t>((tod.hours().count() << 11) | (tod.minutes().count() << 5) |
                                   (tod.seconds().count() / 2));
}

// Zip entry names we ever write: "name" or "dir/name", with dir one of the bundle's own,
// from [A-Za-z0-9._-] and never "." or "..".
bool IsAllowedName(std::string_view name, bool& is_directory) {
  is_directory = false;
  if (name.empty() || name.size() > 128) return false;
  size_t slash = name.find('/');
  std::string_view file = name;
  if (slash != std::string_view::npos) {
    std::string_view dir = name.substr(0, slash);
    if (dir != "block" && dir != "tokens" && dir != "keys" && dir != "authentication") {
      return false;
    }
    file = name.substr(slash + 1);
    if (file.empty()) {
      is_directory = true;
      return true;
    }
  }
  if (file == "." || file == "..") return false;
  for (char c : file) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

// Writes the zip into its buffer source and reads it back whole.
common::Result<std::string> CloseAndRead(ZipPtr za, zip_source_t* src) {
  if (zip_close(za.get()) != 0) {
    return common::Error::Internal(std::string("libzip: ") + zip_strerror(za.get()));
  }
  (void)za.release();  // zip_close freed it

  if (zip_source_open(src) != 0) return common::Error::Internal("libzip: reopen failed");
  std::string out;
  if (zip_source_seek(src, 0, SEEK_END) == 0) {
    zip_int64_t size = zip_source_tell(src);
    if (size > 0 && zip_source_seek(src, 0, SEEK_SET) == 0) {
      out.resize(static_cast<size_t>(size));
      zip_int64_t n = zip_source_read(src, out.data(), out.size());
      if (n != size) out.clear();
    }
  }
  zip_source_close(src);
  if (out.empty()) return common::Error::Internal("libzip: cannot read the finished zip");
  return out;
}

}  // namespace

common::Result<std::string> BuildBundleZip(const BundleInput& input,
                                           std::string_view certificate_pdf) {
  RETURN_IF_ERROR(ValidateInput(input));
  std::map<std::string, std::string> files = LooseFiles(input);
  files[std::string(kEvidenceFile)] = EvidenceJson(input);
  ASSIGN_OR_RETURN(BundleTexts texts, RenderTexts(input));
  files[std::string(kCertificateFile)] = std::move(texts.certificate_html);
  files[std::string(kVerifyFile)] = std::move(texts.verify_md);
  if (!certificate_pdf.empty()) files[std::string(kCertificatePdfFile)] = certificate_pdf;

  zip_error_t err;
  zip_error_init(&err);
  zip_source_t* raw_src = zip_source_buffer_create(nullptr, 0, 0, &err);
  if (raw_src == nullptr) return common::Error::Internal("libzip: " + ZipErrorText(&err));
  ZipSourcePtr src{raw_src};
  ZipPtr za{zip_open_from_source(src.get(), ZIP_TRUNCATE, &err)};
  if (!za) return common::Error::Internal("libzip: " + ZipErrorText(&err));
  // zip_open_from_source took a reference; keep ours so the bytes survive zip_close.
  zip_source_keep(src.get());

  uint16_t dos_time = 0, dos_date = 0;
  DosTime(input.issued_at_us, dos_time, dos_date);
  // Fixed order: evidence.json first (readers that stream find it early), then by name.
  std::vector<std::string> order{std::string(kEvidenceFile)};
  for (const auto& [name, _] : files) {
    if (name != kEvidenceFile) order.push_back(name);
  }
  for (const auto& name : order) {
    const std::string& data = files.at(name);
    zip_source_t* fs = zip_source_buffer(za.get(), data.data(), data.size(), 0);
    if (fs == nullptr) return common::Error::Internal("libzip: cannot add " + name);
    zip_int64_t idx = zip_file_add(za.get(), name.c_str(), fs, ZIP_FL_ENC_UTF_8);
    if (idx < 0) {
      zip_source_free(fs);
      return common::Error::Internal("libzip: cannot add " + name);
    }
    auto uidx = static_cast<zip_uint64_t>(idx);
    if (zip_file_set_dostime(za.get(), uidx, dos_time, dos_date, 0) != 0 ||
        zip_set_file_compression(za.get(), uidx,
                                 name == kCertificatePdfFile ? ZIP_CM_STORE : ZIP_CM_DEFLATE,
                                 name == kCertificatePdfFile ? 0 : 9) != 0) {
      return common::Error::Internal("libzip: cannot set attributes of " + name);
    }
  }
  return CloseAndRead(std::move(za), src.get());
}

common::Result<std::string> AddCertificatePdf(std::string_view bundle_zip,
                                              std::string_view certificate_pdf,
                                              int64_t issued_at_us) {
  if (certificate_pdf.empty()) return common::Error::InvalidInput("no certificate.pdf to add");
  zip_error_t err;
  zip_error_init(&err);
  // libzip copies the entries it keeps as they are: nothing is deflated again. It gets a copy
  // of its own, which it frees: once it has written the new zip, libzip 1.7.3's buffer source
  // frees the buffer it was opened on even when told it does not own it (valgrind: an invalid
  // free in zip_source_free, of the caller's bytes).
  void* copy = std::malloc(bundle_zip.size());
  if (copy == nullptr) return common::Error::Internal("out of memory for the bundle");
  std::memcpy(copy, bundle_zip.data(), bundle_zip.size());
  zip_source_t* raw_src = zip_source_buffer_create(copy, bundle_zip.size(), 1, &err);
  if (raw_src == nullptr) {
    std::free(copy);
    return common::Error::Internal("libzip: " + ZipErrorText(&err));
  }
  ZipSourcePtr src{raw_src};
  ZipPtr za{zip_open_from_source(src.get(), 0, &err)};
  if (!za) return common::Error::InvalidInput("bundle: " + ZipErrorText(&err));
  zip_source_keep(src.get());
  const std::string name(kCertificatePdfFile);
  if (zip_name_locate(za.get(), name.c_str(), 0) >= 0) {
    return common::Error::InvalidInput("the bundle has a certificate.pdf already");
  }
  zip_source_t* fs = zip_source_buffer(za.get(), certificate_pdf.data(), certificate_pdf.size(), 0);
  if (fs == nullptr) return common::Error::Internal("libzip: cannot add " + name);
  zip_int64_t idx = zip_file_add(za.get(), name.c_str(), fs, ZIP_FL_ENC_UTF_8);
  if (idx < 0) {
    zip_source_free(fs);
    return common::Error::Internal("libzip: cannot add " + name);
  }
  uint16_t dos_time = 0, dos_date = 0;
  DosTime(issued_at_us, dos_time, dos_date);
  const auto uidx = static_cast<zip_uint64_t>(idx);
  if (zip_file_set_dostime(za.get(), uidx, dos_time, dos_date, 0) != 0 ||
      zip_set_file_compression(za.get(), uidx, ZIP_CM_STORE, 0) != 0) {
    return common::Error::Internal("libzip: cannot set attributes of " + name);
  }
  return CloseAndRead(std::move(za), src.get());
}

common::Result<Bundle> ReadBundleZip(std::string_view zip_bytes) {
  using common::Error;
  if (zip_bytes.size() > kMaxBundleZipBytes) return Error::InvalidInput("bundle: zip too large");
  zip_error_t err;
  zip_error_init(&err);
  zip_source_t* raw_src = zip_source_buffer_create(zip_bytes.data(), zip_bytes.size(), 0, &err);
  if (raw_src == nullptr) return Error::InvalidInput("bundle: " + ZipErrorText(&err));
  ZipSourcePtr src{raw_src};
  ZipPtr za{zip_open_from_source(src.get(), ZIP_RDONLY | ZIP_CHECKCONS, &err)};
  if (!za) {
    // libzip refuses an archive with two entries of one name when opening it.
    if (zip_error_code_zip(&err) == ZIP_ER_EXISTS) {
      zip_error_fini(&err);
      return Error::InvalidInput("bundle: duplicate entry names");
    }
    return Error::InvalidInput("bundle: not a readable zip (" + ZipErrorText(&err) + ")");
  }
  (void)src.release();  // the archive owns the source now

  zip_int64_t count = zip_get_num_entries(za.get(), 0);
  if (count < 0) return Error::InvalidInput("bundle: unreadable zip directory");
  if (static_cast<uint64_t>(count) > kMaxBundleEntries) {
    return Error::InvalidInput("bundle: more than " + std::to_string(kMaxBundleEntries) +
                               " entries");
  }
  Bundle bundle;
  uint64_t total = 0;
  std::set<std::string> seen;
  std::string chunk(64 * 1024, '\0');
  for (zip_uint64_t i = 0; i < static_cast<zip_uint64_t>(count); ++i) {
    const char* raw_name = zip_get_name(za.get(), i, ZIP_FL_ENC_RAW);
    if (raw_name == nullptr) return Error::InvalidInput("bundle: unreadable entry name");
    std::string name = raw_name;
    bool is_dir = false;
    if (!IsAllowedName(name, is_dir)) {
      return Error::InvalidInput("bundle: entry name not allowed: \"" + name.substr(0, 80) + "\"");
    }
    if (!seen.insert(name).second) {
      return Error::InvalidInput("bundle: duplicate entry \"" + name + "\"");
    }
    if (is_dir) continue;
    zip_stat_t st;
    zip_stat_init(&st);
    if (zip_stat_index(za.get(), i, 0, &st) != 0) {
      return Error::InvalidInput("bundle: unreadable entry \"" + name + "\"");
    }
    if ((st.valid & ZIP_STAT_ENCRYPTION_METHOD) && st.encryption_method != ZIP_EM_NONE) {
      return Error::InvalidInput("bundle: encrypted entry \"" + name + "\"");
    }
    ZipFilePtr f{zip_fopen_index(za.get(), i, 0)};
    if (!f) return Error::InvalidInput("bundle: cannot open entry \"" + name + "\"");
    std::string data;
    // Count what actually inflates: the sizes in the zip headers are not trusted.
    for (;;) {
      zip_int64_t n = zip_fread(f.get(), chunk.data(), chunk.size());
      if (n < 0) return Error::InvalidInput("bundle: corrupt entry \"" + name + "\"");
      if (n == 0) break;
      total += static_cast<uint64_t>(n);
      if (total > kMaxBundleTotalBytes) {
        return Error::InvalidInput("bundle: more than " +
                                   std::to_string(kMaxBundleTotalBytes >> 20) +
                                   " MiB uncompressed (zip bomb?)");
      }
      data.append(chunk.data(), static_cast<size_t>(n));
    }
    bundle.files.emplace(name, std::move(data));
  }

  auto ev = bundle.files.find(std::string(kEvidenceFile));
  if (ev == bundle.files.end()) return Error::InvalidInput("bundle: missing evidence.json");
  auto parsed = ParseEvidenceJson(ev->second);
  if (!parsed.ok()) return Error::InvalidInput("bundle: " + parsed.error().message());
  bundle.evidence = std::move(*parsed);
  BundleInput& in = bundle.evidence;

  // The set of files is fixed by evidence.json: nothing missing, nothing extra.
  // An erased message's bundle has no content file (its bytes are destroyed).
  std::string content_file =
      in.disclosed_part ? PartFileName(in.disclosed_part->position) : std::string(kMessageFile);
  auto content = bundle.files.find(content_file);
  if (!in.Erased() && content == bundle.files.end()) {
    return Error::InvalidInput("bundle: missing file " + content_file);
  }
  if (in.Erased()) {
    // Nothing to read: the message, its canonical form and its parts are not in the bundle.
  } else if (in.disclosed_part) {
    in.disclosed_part->bytes = content->second;
  } else {
    in.message = content->second;
    if (in.format_version >= 2) {
      auto canonical = bundle.files.find(std::string(kCanonicalFormFile));
      if (canonical == bundle.files.end()) {
        return Error::InvalidInput("bundle: missing file " + std::string(kCanonicalFormFile));
      }
      in.canonical_form = canonical->second;
    }
  }
  if (in.journal_report) {
    auto report = bundle.files.find(std::string(kJournalReportFile));
    if (report == bundle.files.end()) {
      return Error::InvalidInput("bundle: missing file " + std::string(kJournalReportFile));
    }
    in.journal_report = report->second;
  }
  if (in.authentication) {
    for (auto [file, bytes] : {std::pair{kAuthResultsFile, &in.authentication->results},
                               std::pair{kAuthDnsArchiveFile, &in.authentication->dns_archive}}) {
      auto it = bundle.files.find(std::string(file));
      if (it == bundle.files.end()) {
        return Error::InvalidInput("bundle: missing file " + std::string(file));
      }
      *bytes = it->second;
    }
  }
  std::set<std::string> expected{std::string(kEvidenceFile), std::string(kCertificateFile),
                                 std::string(kVerifyFile)};
  for (const auto& [name, _] : LooseFiles(in)) expected.insert(name);
  for (const auto& name : expected) {
    if (!bundle.files.contains(name)) return Error::InvalidInput("bundle: missing file " + name);
  }
  for (const auto& [name, _] : bundle.files) {
    if (!expected.contains(name) && name != kCertificatePdfFile) {
      return Error::InvalidInput("bundle: unexpected file " + name);
    }
  }
  return bundle;
}

}  // namespace notary
