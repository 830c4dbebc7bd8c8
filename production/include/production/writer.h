// ProductionWriter: a case production (docs/cases.md, "The production") built a message at a
// time in a staging folder and zipped at the end, so that its size is bounded by the disk,
// not by memory: each message's bundle and native are appended to one spool file as they come,
// and the index, load file and mailbox grow line by line. The staged files are unlinked as
// soon as they are made and read back through /proc/self/fd: the folder shows nothing, and
// they leave the disk with the writer or the process, however it ends.
//
//   bundles/evidence-<receipt id>.zip   the message's evidence bundle (docs/evidence-bundle.md)
//   natives/<Bates>.eml                 the message as received (none for an erased message)
//   index.csv, loadfile.dat             one line per message (production/load_file.h)
//   messages.mbox                       the natives in one mboxrd mailbox
//   custody.json                        {"messages": [AddCustody's entries], "export": …}
//   VERIFY.md, case.json                given to Finish
//   certificate.pdf                     given to Finish, when there is one
//
// Thread-safety: not thread-safe; one writer per export.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/bytes.h"
#include "common/result.h"
#include "production/deflate.h"

namespace production {

struct ProductionOptions {
  static constexpr size_t kMaxPrefixBytes = 20;
  std::string bates_prefix;  // [A-Za-z0-9_-]{0,20}
  uint64_t bates_start = 1;  // the first message's number
  int bates_width = 6;       // digits, zero-padded: 1 to 12
  std::string custodian;     // the load file's CUSTODIAN of every message
};

// kInvalidInput naming the rule an option breaks.
common::Status CheckOptions(const ProductionOptions& options);

// The prefix and `n` zero-padded to the width: "ACME000042". nullopt when `n` has more digits
// than the width.
std::optional<std::string> BatesNumber(const ProductionOptions& options, uint64_t n);

// One message of the production, in Bates order.
struct ProductionMessage {
  std::string receipt_id;
  int64_t received_at_us = 0;
  std::optional<int64_t> date_sent_us;  // the Date header, when it parsed
  std::string envelope_from;            // for the mailbox's From line
  std::string from, to, cc, subject;    // as the headers show them (to, cc: "; "-joined)
  common::Hash raw_sha256{}, canonical_sha256{};
  int64_t block_height = 0;
  std::optional<std::string> native;  // the message's bytes; none once erased
  std::string bundle_zip;             // its evidence bundle
};

// A message's share of the production's natives and mailbox, worked out on any thread before
// Add, so that the writer only appends: its native and its mailbox entry deflated as the zip
// stores them, and the native's MD5. Errors: kInternal (zlib or MD5 unavailable).
struct PackedMessage {
  std::string md5;                 // MD5Hex of the native; "" when erased
  std::optional<Deflated> native;  // a whole stream; none when erased
  std::string mbox_entry;          // as appended to messages.mbox (for its SHA-256)
  Deflated mbox;                   // that entry, a piece of the mailbox's stream
};
common::Result<PackedMessage> Pack(const ProductionMessage& m);

// Where a message went: its Bates number and file names in the zip.
struct ProducedMessage {
  std::string bates, native_path, bundle_path;
};

// The columns of index.csv and loadfile.dat, and one message's rows as Add writes them: `md5`
// is MD5Hex of the native ("" when erased). notary-verify rebuilds a message's rows from its
// bundle and native with these and compares them with the rows it was given.
const std::vector<std::string>& IndexHeader();
const std::vector<bool>& IndexFreeText();  // which index.csv columns get the formula defence
const std::vector<std::string>& DatHeader();
std::vector<std::string> IndexRow(const ProductionMessage& m, const ProducedMessage& p);
std::vector<std::string> DatRow(const ProductionMessage& m, const ProducedMessage& p,
                                const std::string& custodian, const std::string& md5);
// Lower-case hex MD5 of `data` ("" if OpenSSL has no MD5, as in a FIPS-only configuration).
std::string Md5Hex(std::string_view data);

// SHA-256 of index.csv, loadfile.dat and messages.mbox as written, so that a certificate can
// bind them.
struct ListDigests {
  common::Hash index_csv{}, loadfile_dat{}, messages_mbox{};
};

class ProductionWriter {
 public:
  // `dir` must be an empty folder; the caller removes it afterwards.
  static common::Result<std::unique_ptr<ProductionWriter>> Create(std::string dir,
                                                                  ProductionOptions options);
  ~ProductionWriter();

  // `packed` is Pack(m), made on any thread; the first form makes it here.
  common::Result<ProducedMessage> Add(const ProductionMessage& m);
  common::Result<ProducedMessage> Add(const ProductionMessage& m, const PackedMessage& packed);
  // Appends one message's entry (a JSON object) to custody.json's "messages" array, written
  // out as it comes so that no part of the custody is held for the whole case.
  common::Status AddCustody(const std::string& entry_json);
  // The digests of the three lists, once the last message is added (no Add after it).
  ListDigests Digests();
  // Writes the closing files, custody.json's "export" member (a JSON value) among them, and
  // zips everything into `zip_path` (outside `dir`). `certificate_pdf` empty: no certificate.
  common::Status Finish(const std::string& case_json, const std::string& custody_export_json,
                        const std::string& verify_md, const std::string& certificate_pdf,
                        const std::string& zip_path);

 private:
  struct Impl;
  explicit ProductionWriter(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace production
