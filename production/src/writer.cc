#include "production/writer.h"

#include <openssl/evp.h>
#include <zip.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <vector>

#include "common/sha256.h"
#include "common/time.h"
#include "common/utf8.h"
#include "production/load_file.h"

namespace production {
namespace {

const std::vector<std::string> kIndexHeader = {
    "bates",      "receipt_id",       "received_at",  "from", "to",    "subject",
    "raw_sha256", "canonical_sha256", "block_height", "file", "bundle"};
const std::vector<bool> kIndexFreeText = {false, false, false, true,  true, true,
                                          false, false, false, false, false};
const std::vector<std::string> kDatHeader = {
    "BEGBATES",   "ENDBATES",   "CUSTODIAN", "FROM",           "TO",
    "CC",         "SUBJECT",    "DATESENT",  "DATERECEIVED",   "MD5HASH",
    "SHA256HASH", "NATIVEPATH", "RECEIPTID", "CANONICALSHA256"};

std::string Errno(const std::string& what, const std::string& path) {
  return what + " " + path + ": " + std::strerror(errno);
}

// "YYYY-MM-DD HH:MM:SS", UTC: what review platforms read as a date and time field.
std::string LoadFileTime(int64_t us) {
  const std::time_t t = static_cast<std::time_t>(us / 1000000 - (us % 1000000 < 0 ? 1 : 0));
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S", &tm);
  return buf;
}

// An append-only file of the staging folder.
class Appender {
 public:
  common::Status Open(const std::string& path) {
    path_ = path;
    f_ = std::fopen(path.c_str(), "wbx");
    if (f_ == nullptr) return common::Error::Unavailable(Errno("cannot create", path));
    return common::Ok();
  }
  common::Status Append(std::string_view data) {
    if (std::fwrite(data.data(), 1, data.size(), f_) != data.size()) {
      return common::Error::Unavailable(Errno("cannot write", path_));
    }
    return common::Ok();
  }
  common::Status Close() {
    if (f_ == nullptr) return common::Ok();
    const bool ok = std::fclose(f_) == 0;
    f_ = nullptr;
    if (!ok) return common::Error::Unavailable(Errno("cannot write", path_));
    return common::Ok();
  }
  ~Appender() {
    if (f_ != nullptr) std::fclose(f_);
  }

 private:
  std::string path_;
  std::FILE* f_ = nullptr;
};

common::Status WriteWhole(const std::string& path, std::string_view data) {
  Appender a;
  RETURN_IF_ERROR(a.Open(path));
  RETURN_IF_ERROR(a.Append(data));
  return a.Close();
}

bool IsPrefixChar(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-';
}

}  // namespace

std::string Md5Hex(std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), md, &len, EVP_md5(), nullptr) != 1) return "";
  return common::ToHex(std::span<const uint8_t>(md, len));
}

const std::vector<std::string>& IndexHeader() { return kIndexHeader; }
const std::vector<bool>& IndexFreeText() { return kIndexFreeText; }
const std::vector<std::string>& DatHeader() { return kDatHeader; }

std::vector<std::string> IndexRow(const ProductionMessage& m, const ProducedMessage& p) {
  return {p.bates,
          m.receipt_id,
          common::FormatRfc3339Micros(m.received_at_us),
          m.from,
          m.to,
          m.subject,
          common::ToHex(m.raw_sha256),
          common::ToHex(m.canonical_sha256),
          std::to_string(m.block_height),
          p.native_path,
          p.bundle_path};
}

std::vector<std::string> DatRow(const ProductionMessage& m, const ProducedMessage& p,
                                const std::string& custodian, const std::string& md5) {
  return {p.bates,
          p.bates,
          custodian,
          m.from,
          m.to,
          m.cc,
          m.subject,
          m.date_sent_us ? LoadFileTime(*m.date_sent_us) : "",
          LoadFileTime(m.received_at_us),
          md5,
          common::ToHex(m.raw_sha256),
          p.native_path,
          m.receipt_id,
          common::ToHex(m.canonical_sha256)};
}

common::Status CheckOptions(const ProductionOptions& o) {
  if (o.bates_prefix.size() > ProductionOptions::kMaxPrefixBytes) {
    return common::Error::InvalidInput("bates_prefix has at most 20 characters");
  }
  for (char c : o.bates_prefix) {
    if (!IsPrefixChar(c)) {
      return common::Error::InvalidInput("bates_prefix is letters, digits, '_' and '-'");
    }
  }
  if (o.bates_width < 1 || o.bates_width > 12) {
    return common::Error::InvalidInput("bates_width is 1 to 12 digits");
  }
  if (o.bates_start > 999999999999ULL) {
    return common::Error::InvalidInput("bates_start has at most 12 digits");
  }
  if (o.custodian.size() > 200) return common::Error::InvalidInput("custodian is too long");
  if (common::SanitizeUtf8(o.custodian) != o.custodian) {
    return common::Error::InvalidInput("custodian is not UTF-8");
  }
  for (unsigned char c : o.custodian) {
    if (c < 0x20 || c == 0x7f)
      return common::Error::InvalidInput("custodian has a control character");
  }
  return common::Ok();
}

std::optional<std::string> BatesNumber(const ProductionOptions& o, uint64_t n) {
  const std::string digits = std::to_string(n);
  const size_t width = static_cast<size_t>(o.bates_width);
  if (digits.size() > width) return std::nullopt;
  return o.bates_prefix + std::string(width - digits.size(), '0') + digits;
}

// An entry of the zip: its name, where its bytes are staged (a range of the spool, or a file
// of its own), and whether to store it as is (bundles are zips already).
struct StagedEntry {
  std::string name;
  std::string file;         // in the staging folder
  zip_uint64_t offset = 0;  // the range of `file`; length -1: to its end
  zip_int64_t length = -1;
  bool stored = false;
};

struct ProductionWriter::Impl {
  std::string dir;
  ProductionOptions options;
  uint64_t next = 0;
  Appender index, dat, mbox, custody;
  common::Sha256 index_sha, dat_sha, mbox_sha;  // of what index, dat and mbox were given
  std::optional<ListDigests> digests;           // once the lists are done
  bool custody_empty = true;
  // Every bundle and native, one after the other in one file: creating two files a message
  // cost more than building its bundle once ext4 had deleted a previous export's thousands
  // (it avoids reusing recently freed inodes, and searched its bitmap on every create).
  Appender spool;
  uint64_t spool_size = 0;
  std::vector<StagedEntry> entries;

  common::Status AppendIndex(std::string_view text) {
    index_sha.Update(text);
    return index.Append(text);
  }
  common::Status AppendDat(std::string_view text) {
    dat_sha.Update(text);
    return dat.Append(text);
  }

  common::Status Spool(const std::string& name, std::string_view data, bool stored) {
    RETURN_IF_ERROR(spool.Append(data));
    entries.push_back({name, "spool", spool_size, static_cast<zip_int64_t>(data.size()), stored});
    spool_size += data.size();
    return common::Ok();
  }
};

ProductionWriter::ProductionWriter(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ProductionWriter::~ProductionWriter() = default;

common::Result<std::unique_ptr<ProductionWriter>> ProductionWriter::Create(
    std::string dir, ProductionOptions options) {
  RETURN_IF_ERROR(CheckOptions(options));
  auto impl = std::make_unique<Impl>();
  impl->dir = std::move(dir);
  impl->options = std::move(options);
  impl->next = impl->options.bates_start;
  RETURN_IF_ERROR(impl->spool.Open(impl->dir + "/spool"));
  RETURN_IF_ERROR(impl->index.Open(impl->dir + "/index.csv"));
  RETURN_IF_ERROR(impl->AppendIndex(kUtf8Bom));
  RETURN_IF_ERROR(impl->AppendIndex(CsvLine(kIndexHeader, {})));
  RETURN_IF_ERROR(impl->dat.Open(impl->dir + "/loadfile.dat"));
  RETURN_IF_ERROR(impl->AppendDat(kUtf8Bom));
  RETURN_IF_ERROR(impl->AppendDat(DatLine(kDatHeader)));
  RETURN_IF_ERROR(impl->mbox.Open(impl->dir + "/messages.mbox"));
  RETURN_IF_ERROR(impl->custody.Open(impl->dir + "/custody.json"));
  RETURN_IF_ERROR(impl->custody.Append("{\"messages\": ["));
  return std::unique_ptr<ProductionWriter>(new ProductionWriter(std::move(impl)));
}

common::Result<ProducedMessage> ProductionWriter::Add(const ProductionMessage& m) {
  Impl& s = *impl_;
  if (s.digests) return common::Error::Internal("a message added after the lists were closed");
  std::optional<std::string> bates = BatesNumber(s.options, s.next);
  if (!bates) {
    return common::Error::InvalidInput("Bates number " + std::to_string(s.next) +
                                       " does not fit in " + std::to_string(s.options.bates_width) +
                                       " digits");
  }
  ProducedMessage out;
  out.bates = std::move(*bates);
  ++s.next;
  out.bundle_path = "bundles/evidence-" + m.receipt_id + ".zip";
  RETURN_IF_ERROR(s.Spool(out.bundle_path, m.bundle_zip, true));
  std::string md5;
  if (m.native) {
    out.native_path = "natives/" + out.bates + ".eml";
    RETURN_IF_ERROR(s.Spool(out.native_path, *m.native, false));
    md5 = Md5Hex(*m.native);
    if (md5.empty()) return common::Error::Internal("MD5 is not available");
    std::string mboxed;
    AppendMboxrd(mboxed, m.envelope_from, m.received_at_us, *m.native);
    s.mbox_sha.Update(mboxed);
    RETURN_IF_ERROR(s.mbox.Append(mboxed));
  }
  RETURN_IF_ERROR(s.AppendIndex(CsvLine(IndexRow(m, out), kIndexFreeText)));
  RETURN_IF_ERROR(s.AppendDat(DatLine(DatRow(m, out, s.options.custodian, md5))));
  return out;
}

common::Status ProductionWriter::AddCustody(const std::string& entry_json) {
  Impl& s = *impl_;
  RETURN_IF_ERROR(s.custody.Append(s.custody_empty ? "\n" : ",\n"));
  s.custody_empty = false;
  return s.custody.Append(entry_json);
}

ListDigests ProductionWriter::Digests() {
  Impl& s = *impl_;
  if (!s.digests) {
    s.digests = ListDigests{s.index_sha.Finish(), s.dat_sha.Finish(), s.mbox_sha.Finish()};
  }
  return *s.digests;
}

common::Status ProductionWriter::Finish(const std::string& case_json,
                                        const std::string& custody_export_json,
                                        const std::string& verify_md,
                                        const std::string& certificate_pdf,
                                        const std::string& zip_path) {
  Impl& s = *impl_;
  RETURN_IF_ERROR(s.index.Close());
  RETURN_IF_ERROR(s.dat.Close());
  RETURN_IF_ERROR(s.mbox.Close());
  RETURN_IF_ERROR(s.custody.Append("\n],\n\"export\": " + custody_export_json + "}\n"));
  RETURN_IF_ERROR(s.custody.Close());
  RETURN_IF_ERROR(WriteWhole(s.dir + "/case.json", case_json));
  RETURN_IF_ERROR(WriteWhole(s.dir + "/VERIFY.md", verify_md));
  RETURN_IF_ERROR(s.spool.Close());
  std::vector<StagedEntry> entries;
  for (const char* name :
       {"VERIFY.md", "case.json", "index.csv", "loadfile.dat", "custody.json", "messages.mbox"}) {
    entries.push_back({name, name});
  }
  if (!certificate_pdf.empty()) {
    RETURN_IF_ERROR(WriteWhole(s.dir + "/certificate.pdf", certificate_pdf));
    // Stored: its streams are deflated already, and its bytes are what its signature covers.
    entries.push_back({"certificate.pdf", "certificate.pdf", 0, -1, true});
  }
  entries.insert(entries.end(), s.entries.begin(), s.entries.end());

  int err = 0;
  zip_t* za = zip_open(zip_path.c_str(), ZIP_CREATE | ZIP_EXCL, &err);
  if (za == nullptr) {
    zip_error_t ze;
    zip_error_init_with_code(&ze, err);
    std::string why = zip_error_strerror(&ze);
    zip_error_fini(&ze);
    return common::Error::Unavailable("cannot create " + zip_path + ": " + why);
  }
  auto fail = [&](const std::string& what) {
    std::string why = what + ": " + zip_strerror(za);
    zip_discard(za);
    std::remove(zip_path.c_str());
    return common::Error::Unavailable("libzip: " + why);
  };
  for (const StagedEntry& e : entries) {
    const std::string& name = e.name;
    const bool stored = e.stored;
    // Read from the staging files when the archive is written (zip_close), one at a time.
    zip_source_t* src = zip_source_file(za, (s.dir + "/" + e.file).c_str(), e.offset, e.length);
    if (src == nullptr) return fail(name);
    const zip_int64_t idx = zip_file_add(za, name.c_str(), src, ZIP_FL_ENC_UTF_8);
    if (idx < 0) {
      zip_source_free(src);
      return fail(name);
    }
    // Level 6, zlib's and Info-ZIP's default: libzip's own default is 9, which took three
    // times as long on a mailbox of 1,500 messages for 5 % less (docs/benchmarks.md).
    if (zip_set_file_compression(za, static_cast<zip_uint64_t>(idx),
                                 stored ? ZIP_CM_STORE : ZIP_CM_DEFLATE, stored ? 0 : 6) != 0) {
      return fail(name);
    }
  }
  if (zip_close(za) != 0) return fail("writing " + zip_path);
  return common::Ok();
}

}  // namespace production
