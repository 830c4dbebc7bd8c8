// BlobScan's binary COPY reading through libpq on hand-built streams: the streams come from a
// stand-in server on loopback that speaks just enough of the PostgreSQL v3 protocol (startup,
// simple query, COPY OUT) for libpq: each CopyData message reaches the parser as one
// PQgetCopyData buffer, so a stream cut into messages at any byte is the parser fed in chunks
// cut there, and what ForEach makes of each outcome (kInternal, kUnavailable, the COPY's own
// result) is checked. (The parser alone, fed directly: copy_parser_test.cc. A real PostgreSQL
// only writes well-formed streams: tests/storage/blob_scan_test.cc reads those.)
//
// COPY BINARY (PostgreSQL docs, "COPY", Binary Format): the 11-byte signature
// "PGCOPY\n\377\r\n\0", an int32 flags field (bits 0-15 critical: a reader must abort on an
// unexpected one; bit 16: OIDs included), an int32 header extension length and that many
// bytes; then tuples, each an int16 field count and per field an int32 length (-1 for NULL)
// and the bytes; then the trailer, an int16 -1. Integers are big-endian.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "storage/blob_scan.h"
#include "storage/copy_stream.h"
#include "storage/database.h"

namespace {

using Rows = std::vector<std::pair<std::string, std::string>>;

using copystream::Be;
using copystream::Field;
using copystream::kSignature;
using copystream::Tuple;
const std::string kTrailer = Be(0xffff, 2);

std::string Stream(const Rows& rows) {
  std::string s = copystream::Header();
  for (const auto& [k, d] : rows) s += Tuple(k, d);
  return s + kTrailer;
}

// What the stand-in server answers to the COPY.
struct Script {
  std::vector<std::string> messages;  // one CopyData message each
  enum class End { kDone, kError, kHangUp } end = End::kDone;
};

// A loopback server that speaks the PostgreSQL v3 protocol far enough for libpq and libpqxx
// to connect, and answers every COPY with the current Script. One thread per connection;
// the destructor hangs up on every connection and joins the threads.
class StandInPostgres {
 public:
  StandInPostgres() {
    listen_fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    if (bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        listen(listen_fd_, 8) != 0) {
      ADD_FAILURE() << "cannot listen on loopback";
      return;
    }
    socklen_t len = sizeof addr;
    getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    acceptor_ = std::jthread([this] { AcceptLoop(); });
  }

  ~StandInPostgres() {
    shutdown(listen_fd_, SHUT_RDWR);
    acceptor_ = {};  // joins
    std::vector<std::jthread> threads;
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
      for (int fd : fds_) shutdown(fd, SHUT_RDWR);
      threads = std::move(threads_);
    }
    threads.clear();  // joins
    for (int fd : fds_) close(fd);
    close(listen_fd_);
  }

  std::string Url() const {
    return "postgresql://notary@127.0.0.1:" + std::to_string(port_) +
           "/notary?sslmode=disable&gssencmode=disable&connect_timeout=10";
  }
  void SetScript(Script s) {
    std::lock_guard lock(mu_);
    script_ = std::move(s);
  }
  int copies_served() {
    std::lock_guard lock(mu_);
    return copies_;
  }

 private:
  void AcceptLoop() {
    for (;;) {
      const int fd = accept(listen_fd_, nullptr, nullptr);
      if (fd < 0) return;
      std::lock_guard lock(mu_);
      if (stopping_) {
        close(fd);
        return;
      }
      fds_.push_back(fd);
      threads_.emplace_back([this, fd] {
        Serve(fd);
        shutdown(fd, SHUT_RDWR);
      });
    }
  }

  static bool ReadN(int fd, std::string& out, size_t n) {
    out.assign(n, '\0');
    size_t got = 0;
    while (got < n) {
      const ssize_t r = recv(fd, out.data() + got, n - got, 0);
      if (r <= 0) return false;
      got += static_cast<size_t>(r);
    }
    return true;
  }
  static bool Write(int fd, const std::string& bytes) {
    size_t sent = 0;
    while (sent < bytes.size()) {
      const ssize_t r = send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
      if (r <= 0) return false;
      sent += static_cast<size_t>(r);
    }
    return true;
  }
  static uint32_t Be32(const std::string& s, size_t at) {
    uint32_t v = 0;
    for (size_t i = 0; i < 4; ++i) v = (v << 8) | static_cast<unsigned char>(s[at + i]);
    return v;
  }
  static std::string Message(char type, const std::string& body) {
    return std::string(1, type) + Be(body.size() + 4, 4) + body;
  }
  static std::string Parameter(const std::string& name, const std::string& value) {
    return Message('S', name + '\0' + value + '\0');
  }
  static std::string Ready() { return Message('Z', "I"); }

  void Serve(int fd) {
    std::string len, body;
    // Startup, after any SSL or GSSAPI encryption request (refused with 'N').
    for (;;) {
      if (!ReadN(fd, len, 4) || Be32(len, 0) < 8 || Be32(len, 0) > 10000 ||
          !ReadN(fd, body, Be32(len, 0) - 4)) {
        return;
      }
      const uint32_t code = Be32(body, 0);
      if (code == 80877103 || code == 80877104) {
        if (!Write(fd, "N")) return;
        continue;
      }
      if (code != 196608) return;  // protocol 3.0 only
      break;
    }
    if (!Write(fd, Message('R', Be(0, 4)) + Parameter("server_version", "15.0") +
                       Parameter("server_encoding", "UTF8") + Parameter("client_encoding", "UTF8") +
                       Parameter("DateStyle", "ISO, MDY") + Parameter("integer_datetimes", "on") +
                       Parameter("standard_conforming_strings", "on") +
                       Message('K', Be(4242, 4) + Be(1, 4)) + Ready())) {
      return;
    }
    std::string type;
    while (ReadN(fd, type, 1) && ReadN(fd, len, 4) && Be32(len, 0) >= 4 && Be32(len, 0) < 100000 &&
           ReadN(fd, body, Be32(len, 0) - 4)) {
      if (type[0] == 'X') return;  // Terminate
      if (type[0] != 'Q') return;  // only the simple query protocol is spoken here
      const std::string sql = body.substr(0, body.find('\0'));
      if (sql.rfind("COPY ", 0) != 0 || sql.find("(FORMAT binary)") == std::string::npos) {
        // Anything else succeeds with no rows.
        if (!Write(fd, Message('C', "SELECT 0" + std::string(1, '\0')) + Ready())) return;
        continue;
      }
      Script script;
      {
        std::lock_guard lock(mu_);
        script = script_;
        ++copies_;
      }
      // CopyOutResponse: binary, two binary columns.
      std::string out = Message('H', Be(1, 1) + Be(2, 2) + Be(1, 2) + Be(1, 2));
      for (const std::string& m : script.messages) out += Message('d', m);
      switch (script.end) {
        case Script::End::kDone:
          out += Message('c', "") + Message('C', "COPY 0" + std::string(1, '\0')) + Ready();
          break;
        case Script::End::kError:
          out += Message('E', std::string("SERROR\0VERROR\0CXX001\0Mstand-in failure\0\0", 40)) +
                 Ready();
          break;
        case Script::End::kHangUp:
          Write(fd, out);
          return;
      }
      if (!Write(fd, out)) return;
    }
  }

  int listen_fd_ = -1;
  int port_ = 0;
  std::mutex mu_;
  Script script_;                      // GUARDED_BY(mu_)
  int copies_ = 0;                     // GUARDED_BY(mu_)
  bool stopping_ = false;              // GUARDED_BY(mu_)
  std::vector<int> fds_;               // GUARDED_BY(mu_)
  std::vector<std::jthread> threads_;  // GUARDED_BY(mu_)
  std::jthread acceptor_;
};

// Cuts a stream into messages at the given positions (ascending, inside the stream).
std::vector<std::string> Cut(const std::string& s, const std::vector<size_t>& at) {
  std::vector<std::string> out;
  size_t from = 0;
  for (size_t p : at) {
    if (p > from && p < s.size()) {
      out.push_back(s.substr(from, p - from));
      from = p;
    }
  }
  if (from < s.size()) out.push_back(s.substr(from));
  return out;
}

// Every way the stream reaches the parser here: whole, cut in two at every byte, cut in
// three at every pair of bytes apart by a tuple's worth, and one byte per message.
std::vector<std::vector<std::string>> Chunkings(const std::string& s) {
  std::vector<std::vector<std::string>> all = {{s}};
  for (size_t i = 1; i < s.size(); ++i) all.push_back(Cut(s, {i}));
  for (size_t i = 1; i + 13 < s.size(); i += 3) all.push_back(Cut(s, {i, i + 13}));
  all.push_back(Cut(s, [&] {
    std::vector<size_t> every;
    for (size_t i = 1; i < s.size(); ++i) every.push_back(i);
    return every;
  }()));
  return all;
}

std::string Describe(const std::vector<std::string>& messages) {
  std::string d = std::to_string(messages.size()) + " messages of";
  for (size_t i = 0; i < messages.size() && i < 4; ++i)
    d += " " + std::to_string(messages[i].size());
  return d + (messages.size() > 4 ? " ..." : "");
}

class BlobScanCopyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = storage::Database::Open({server_.Url(), 1});
    ASSERT_TRUE(db.ok()) << db.error().ToString();
    db_ = std::move(*db);
    auto scan = storage::BlobScan::Open(*db_);
    ASSERT_TRUE(scan.ok()) << scan.error().ToString();
    scan_ = std::move(*scan);
  }

  struct Outcome {
    common::Status status;
    Rows rows;
  };
  Outcome Scan(Script script) {
    server_.SetScript(std::move(script));
    Outcome o;
    o.status = scan_->ForEach([&](std::string_view key, std::string_view data) {
      o.rows.emplace_back(std::string(key), std::string(data));
      return true;
    });
    return o;
  }
  Outcome Scan(std::vector<std::string> messages) {
    Script s;
    s.messages = std::move(messages);
    return Scan(std::move(s));
  }

  // Every chunking of a malformed `stream` is refused with kInternal, after no rows but a
  // prefix of `good_rows` (never a row the stream does not hold whole).
  void ExpectRefusedInEveryChunking(const std::string& stream, const Rows& good_rows = {}) {
    for (const auto& messages : Chunkings(stream)) {
      Outcome o = Scan(messages);
      ASSERT_FALSE(o.status.ok()) << Describe(messages);
      EXPECT_EQ(o.status.error().code(), common::ErrorCode::kInternal)
          << Describe(messages) << ": " << o.status.error().ToString();
      ASSERT_LE(o.rows.size(), good_rows.size()) << Describe(messages);
      for (size_t i = 0; i < o.rows.size(); ++i) EXPECT_EQ(o.rows[i], good_rows[i]);
    }
  }

  StandInPostgres server_;  // outlives the connections to it
  std::unique_ptr<storage::Database> db_;
  std::unique_ptr<storage::BlobScan> scan_;
};

Rows SampleRows() {
  std::string every_byte;
  for (int i = 0; i < 256; ++i) every_byte += static_cast<char>(i);
  return {
      {std::string(32, 'k'), "hello"},
      {std::string(32, '\0'), ""},  // an empty message
      {std::string(32, '\xff'), every_byte},
      // Data that looks like a trailer, a tuple header and the signature.
      {"\xff\xff", std::string("\xff\xff\0\2", 4) + kSignature},
  };
}

TEST_F(BlobScanCopyTest, ReadsEveryTupleExactlyInEveryChunking) {
  const Rows rows = SampleRows();
  const std::string stream = Stream(rows);
  for (const auto& messages : Chunkings(stream)) {
    Outcome o = Scan(messages);
    ASSERT_TRUE(o.status.ok()) << Describe(messages) << ": " << o.status.error().ToString();
    EXPECT_EQ(o.rows, rows) << Describe(messages);
  }
  // The scan is reusable after a whole COPY: the stand-in answered every one.
  EXPECT_EQ(server_.copies_served(), static_cast<int>(Chunkings(stream).size()));
}

TEST_F(BlobScanCopyTest, SkipsTheHeaderExtension) {
  const Rows rows = {{"key", "data"}};
  // An extension that holds what looks like a tuple and a trailer: none of it is data.
  const std::string extension = Tuple("not", "a row") + kTrailer;
  const std::string stream = copystream::Header(0, extension) + Tuple("key", "data") + kTrailer;
  for (const auto& messages : Chunkings(stream)) {
    Outcome o = Scan(messages);
    ASSERT_TRUE(o.status.ok()) << Describe(messages) << ": " << o.status.error().ToString();
    EXPECT_EQ(o.rows, rows) << Describe(messages);
  }
}

TEST_F(BlobScanCopyTest, EmptyTableIsHeaderAndTrailer) {
  for (const auto& messages : Chunkings(copystream::Header() + kTrailer)) {
    Outcome o = Scan(messages);
    ASSERT_TRUE(o.status.ok()) << Describe(messages) << ": " << o.status.error().ToString();
    EXPECT_TRUE(o.rows.empty());
  }
}

TEST_F(BlobScanCopyTest, LargeTupleAcrossManyMessages) {
  std::string big;
  for (int i = 0; i < 200000; ++i) big += static_cast<char>((i * 131) & 0xff);
  const Rows rows = {{"a", big}, {"b", "small"}};
  const std::string stream = Stream(rows);
  // Messages of a prime size, so that no cut falls where a field starts.
  std::vector<size_t> cuts;
  for (size_t i = 8191; i < stream.size(); i += 8191) cuts.push_back(i);
  Outcome o = Scan(Cut(stream, cuts));
  ASSERT_TRUE(o.status.ok()) << o.status.error().ToString();
  EXPECT_EQ(o.rows, rows);
}

TEST_F(BlobScanCopyTest, EveryTruncationIsAnError) {
  const Rows rows = SampleRows();
  const std::string stream = Stream(rows);
  // Every proper prefix: inside the signature, the flags, a length, a field, or just before
  // the trailer. Whole and one byte per message, so that the carried remainder is exercised.
  for (size_t n = 0; n < stream.size(); ++n) {
    const std::string prefix = stream.substr(0, n);
    std::vector<size_t> every;
    for (size_t i = 1; i < n; ++i) every.push_back(i);
    for (const auto& messages : {Cut(prefix, {}), Cut(prefix, every)}) {
      Outcome o = Scan(messages);
      ASSERT_FALSE(o.status.ok()) << "prefix of " << n << " bytes, " << Describe(messages);
      EXPECT_EQ(o.status.error().code(), common::ErrorCode::kInternal) << n;
      ASSERT_LE(o.rows.size(), rows.size());
      for (size_t i = 0; i < o.rows.size(); ++i) EXPECT_EQ(o.rows[i], rows[i]) << n;
    }
  }
}

TEST_F(BlobScanCopyTest, WrongSignatureIsAnError) {
  const std::string good = Stream({{"k", "v"}});
  for (size_t i = 0; i < kSignature.size(); ++i) {
    std::string bad = good;
    bad[i] = static_cast<char>(bad[i] ^ 0x20);
    ExpectRefusedInEveryChunking(bad);
  }
  // A text-format COPY (no signature at all).
  ExpectRefusedInEveryChunking("6b\t\\\\x76\n");
}

TEST_F(BlobScanCopyTest, FieldCountOtherThanTwoIsAnError) {
  const Rows first = {{"k", "v"}};
  for (int fields : {0, 1, 3, 0x7fff, 0xfffe /* -2 */}) {
    std::string tuple = Be(static_cast<uint64_t>(fields), 2);
    for (int f = 0; f < std::min(fields, 3); ++f) tuple += Field("x");
    ExpectRefusedInEveryChunking(copystream::Header() + Tuple("k", "v") + tuple + kTrailer, first);
  }
}

TEST_F(BlobScanCopyTest, NullFieldIsAnError) {
  const std::string null_field = Be(0xffffffff, 4);
  ExpectRefusedInEveryChunking(copystream::Header() + Be(2, 2) + null_field + Field("v") +
                               kTrailer);
  ExpectRefusedInEveryChunking(copystream::Header() + Be(2, 2) + Field("k") + null_field +
                               kTrailer);
}

TEST_F(BlobScanCopyTest, HugeLengthsAreRefusedOrWaitedForButNeverAllocated) {
  // A header extension past the parser's 1 MiB bound, a negative field length or one past
  // PostgreSQL's 1 GiB is refused on the length alone, never reserved or waited for.
  for (uint32_t ext : {0xffffffffu, 0x80000000u, (1u << 20) + 1}) {
    ExpectRefusedInEveryChunking(kSignature + Be(0, 4) + Be(ext, 4) + Tuple("k", "v") + kTrailer);
  }
  for (uint32_t len : {0xfffffffeu, 0x7fffffffu, 0x80000000u}) {
    ExpectRefusedInEveryChunking(copystream::Header() + Be(2, 2) + Be(len, 4) + "abc" + kTrailer);
    ExpectRefusedInEveryChunking(copystream::Header() + Be(2, 2) + Field("k") + Be(len, 4) + "abc" +
                                 kTrailer);
  }
}

TEST_F(BlobScanCopyTest, ServerErrorAfterSomeTuplesWins) {
  // The COPY's own result comes after the data: a server that fails mid-COPY (say, an I/O
  // error on a page) fails the scan even though every tuple so far was well-formed.
  const Rows rows = SampleRows();
  std::string partial = copystream::Header();
  for (const auto& [k, d] : rows) partial += Tuple(k, d);
  Script s;
  s.messages = {partial};
  s.end = Script::End::kError;
  Outcome o = Scan(s);
  ASSERT_FALSE(o.status.ok());
  EXPECT_EQ(o.status.error().code(), common::ErrorCode::kInternal) << o.status.error().ToString();
  EXPECT_EQ(o.rows, rows);
  // Even after a complete stream with its trailer.
  s.messages = {Stream(rows)};
  o = Scan(s);
  ASSERT_FALSE(o.status.ok());
  EXPECT_EQ(o.status.error().code(), common::ErrorCode::kInternal);
}

TEST_F(BlobScanCopyTest, LostConnectionMidCopyIsUnavailable) {
  Script s;
  s.messages = {copystream::Header() + Tuple("k", "v")};
  s.end = Script::End::kHangUp;
  Outcome o = Scan(s);
  ASSERT_FALSE(o.status.ok());
  EXPECT_EQ(o.status.error().code(), common::ErrorCode::kUnavailable)
      << o.status.error().ToString();
}

// Regression: the header's flags were not read. Bits 0-15 are critical (a reader must abort on
// one it does not know); bit 16 puts an OID before each tuple's fields, which was handed over
// as a key before the field count failed.
TEST_F(BlobScanCopyTest, CriticalHeaderFlagIsAnError) {
  for (uint32_t flags : {1u, 1u << 15}) {
    ExpectRefusedInEveryChunking(copystream::Header(flags) + Tuple("k", "v") + kTrailer);
  }
  const std::string oid = Field(Be(16384, 4));  // not counted in the field count
  ExpectRefusedInEveryChunking(copystream::Header(1u << 16) + Be(2, 2) + oid + Field("k") +
                               Field("v") + kTrailer);
}

// Regression: bytes after the trailer were accepted or refused depending on where the
// messages happened to cut the stream.
TEST_F(BlobScanCopyTest, BytesAfterTheTrailerAreAnError) {
  const Rows rows = {{"k", "v"}};
  ExpectRefusedInEveryChunking(Stream(rows) + Tuple("x", "y"), rows);
  ExpectRefusedInEveryChunking(Stream(rows) + std::string(1, '\0'), rows);
}

}  // namespace
