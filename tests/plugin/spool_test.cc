// The fail-open spool: an append-only log with group commit, read in order from a cursor.
// Real files in a temporary folder; a forked writer killed with SIGKILL for durability.
#include "spool.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>
#include <thread>

#include "forwarder.h"
#include "spool_frame.h"
#include "spool_record.h"
#include "support/test_support.h"

namespace plugintest {
namespace {

namespace fs = std::filesystem;
using milter::Spool;

std::unique_ptr<Spool> OpenSpool(const std::string& dir, uint64_t max_bytes = 1 << 30,
                                 uint64_t segment_bytes = Spool::kDefaultSegmentBytes) {
  auto s = Spool::Open(dir, max_bytes, segment_bytes);
  EXPECT_TRUE(s.ok()) << s.error().message();
  return s.ok() ? std::move(*s) : nullptr;
}

// Reads every waiting record (and marks it done); returns their data in order.
std::vector<std::string> Drain(Spool& spool, std::vector<std::string>* ids = nullptr) {
  std::vector<std::string> out;
  for (;;) {
    auto e = spool.Next();
    EXPECT_TRUE(e.ok()) << e.error().message();
    if (!e.ok() || !e->has_value()) break;
    out.push_back((*e)->data);
    if (ids != nullptr) ids->push_back((*e)->id);
    spool.Done(**e);
  }
  return out;
}

size_t SegmentFiles(const std::string& dir) {
  size_t n = 0;
  for (const auto& e : fs::directory_iterator(dir + "/log")) n += e.path().extension() == ".seg";
  return n;
}

TEST(SpoolFrameTest, RejectsTornAndAlteredFrames) {
  const std::string f = milter::EncodeFrame("id-1", "payload");
  auto h = milter::DecodeFrameHeader(f.substr(0, milter::kFrameHeaderBytes), f.size());
  ASSERT_TRUE(h.has_value());
  EXPECT_EQ(h->frame_bytes(), f.size());
  EXPECT_TRUE(milter::FrameBodyMatches(*h, f.substr(milter::kFrameHeaderBytes)));
  std::string altered = f.substr(milter::kFrameHeaderBytes);
  altered.back() ^= 1;
  EXPECT_FALSE(milter::FrameBodyMatches(*h, altered));
  // Fewer bytes on disk than the header announces: a torn write.
  EXPECT_FALSE(milter::DecodeFrameHeader(f.substr(0, milter::kFrameHeaderBytes), f.size() - 1));
  EXPECT_FALSE(milter::DecodeFrameHeader(std::string(milter::kFrameHeaderBytes, '\0'), 1000));
}

TEST(SpoolTest, ReadsInArrivalOrderAcrossSegmentsAndResumesAtTheCursor) {
  const std::string dir = testsupport::MakeTempDir("spool-order");
  {
    auto spool = OpenSpool(dir, 1 << 20, /*segment_bytes=*/200);  // a few records a segment
    for (int i = 0; i < 10; ++i) ASSERT_TRUE(spool->Put("message " + std::to_string(i)).ok());
    EXPECT_EQ(spool->records(), 10u);
    EXPECT_GT(SegmentFiles(dir), 2u);
    for (int i = 0; i < 4; ++i) {
      auto e = spool->Next();
      ASSERT_TRUE(e.ok() && e->has_value());
      EXPECT_EQ((*e)->data, "message " + std::to_string(i));
      spool->Done(**e);
    }
    // Next without Done returns the same record again (a failed forward is retried).
    auto again = spool->Next();
    auto same = spool->Next();
    ASSERT_TRUE(again.ok() && same.ok() && again->has_value() && same->has_value());
    EXPECT_EQ((*again)->id, (*same)->id);
    ASSERT_TRUE(spool->SaveCursor().ok());
  }
  auto spool = OpenSpool(dir, 1 << 20, 200);
  EXPECT_EQ(spool->records(), 6u);
  std::vector<std::string> rest = Drain(*spool);
  ASSERT_EQ(rest.size(), 6u);
  for (int i = 0; i < 6; ++i) EXPECT_EQ(rest[i], "message " + std::to_string(i + 4));
  EXPECT_EQ(spool->records(), 0u);
  EXPECT_EQ(spool->bytes(), 0u);
  EXPECT_EQ(SegmentFiles(dir), 1u);  // forwarded segments are deleted; the open one stays
  ASSERT_TRUE(spool->Put("after").ok());
  EXPECT_EQ(Drain(*spool), std::vector<std::string>{"after"});
  fs::remove_all(dir);
}

TEST(SpoolTest, RefusesBeyondLimitUntilForwardedRecordsFreeSpace) {
  const std::string dir = testsupport::MakeTempDir("spool-limit");
  const std::string msg(100, 'x');
  const uint64_t frame = milter::EncodeFrame(std::string(43, 'i'), msg).size();  // ids are 43 bytes
  auto spool = OpenSpool(dir, 3 * frame);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(spool->Put(msg).ok()) << i;
  auto full = spool->Put(msg);
  ASSERT_FALSE(full.ok());
  EXPECT_EQ(full.error().message(), "spool full");
  EXPECT_EQ(spool->records(), 3u);
  auto e = spool->Next();
  ASSERT_TRUE(e.ok() && e->has_value());
  spool->Done(**e);
  EXPECT_TRUE(spool->Put(msg).ok());
  EXPECT_EQ(Drain(*spool).size(), 3u);
  fs::remove_all(dir);
}

TEST(SpoolTest, CutsATornTailAtOpenAndKeepsEverythingBeforeIt) {
  const std::string dir = testsupport::MakeTempDir("spool-torn");
  {
    auto spool = OpenSpool(dir);
    for (int i = 0; i < 3; ++i) ASSERT_TRUE(spool->Put("m" + std::to_string(i)).ok());
  }
  // A batch that was being written when the process died: half a frame at the end.
  fs::path last;
  for (const auto& e : fs::directory_iterator(dir + "/log")) {
    if (fs::file_size(e.path()) > 0) last = e.path();
  }
  ASSERT_FALSE(last.empty());
  const std::string half = milter::EncodeFrame("torn", "never acknowledged").substr(0, 30);
  testsupport::WriteFile(last.string(), testsupport::ReadFile(last.string()) + half);
  auto spool = OpenSpool(dir);
  EXPECT_EQ(spool->records(), 3u);
  ASSERT_TRUE(spool->Put("m3").ok());
  EXPECT_EQ(Drain(*spool), (std::vector<std::string>{"m0", "m1", "m2", "m3"}));
  fs::remove_all(dir);
}

TEST(SpoolTest, TakesOverTheOneFilePerMessageSpoolKeepingIds) {
  const std::string dir = testsupport::MakeTempDir("spool-old");
  fs::create_directories(dir + "/new");
  fs::create_directories(dir + "/tmp");
  testsupport::WriteFile(dir + "/new/00000000000000002-00000001-bb.msg", "second");
  testsupport::WriteFile(dir + "/new/00000000000000001-00000000-aa.msg", "first");
  testsupport::WriteFile(dir + "/tmp/00000000000000003-00000002-cc.msg", "never acknowledged");
  auto spool = OpenSpool(dir);
  EXPECT_FALSE(fs::exists(dir + "/new"));
  EXPECT_FALSE(fs::exists(dir + "/tmp"));
  std::vector<std::string> ids;
  EXPECT_EQ(Drain(*spool, &ids), (std::vector<std::string>{"first", "second"}));
  EXPECT_EQ(ids, (std::vector<std::string>{"00000000000000001-00000000-aa",
                                           "00000000000000002-00000001-bb"}));
  // The idempotency key is the one the earlier format used for the same file.
  EXPECT_EQ(milter::IdempotencyKeyFor(ids[0]),
            milter::IdempotencyKeyFor("00000000000000001-00000000-aa.msg"));
  fs::remove_all(dir);
}

TEST(SpoolTest, QuarantineKeepsTheRecordInFailedAndMovesOn) {
  const std::string dir = testsupport::MakeTempDir("spool-quarantine");
  auto spool = OpenSpool(dir);
  ASSERT_TRUE(spool->Put("refused").ok());
  ASSERT_TRUE(spool->Put("fine").ok());
  auto e = spool->Next();
  ASSERT_TRUE(e.ok() && e->has_value());
  ASSERT_TRUE(spool->Quarantine(**e).ok());
  EXPECT_EQ(testsupport::ReadFile(dir + "/failed/" + (*e)->id + ".msg"), "refused");
  EXPECT_EQ(Drain(*spool), std::vector<std::string>{"fine"});
  fs::remove_all(dir);
}

// A record given in parts is stored as their concatenation, under the digest of the whole.
TEST(SpoolTest, PutInPartsStoresTheirConcatenation) {
  const std::string dir = testsupport::MakeTempDir("spool-parts");
  auto spool = OpenSpool(dir);
  const std::string_view parts[] = {"head\n", "", "body ", "bytes"};
  ASSERT_TRUE(spool->Put(parts).ok());
  EXPECT_EQ(Drain(*spool), std::vector<std::string>{"head\nbody bytes"});
  const std::string_view whole = "head\nbody bytes";
  EXPECT_EQ(milter::EncodeFrameHeader("id", parts),
            milter::EncodeFrame("id", whole).substr(0, milter::kFrameHeaderBytes));
  fs::remove_all(dir);
}

// Commits overwrite zeros written ahead of them; a closed segment holds only its records, as
// segments always did, so that an earlier reader reads it too.
TEST(SpoolTest, ZerosAheadOfTheRecordsAreCutWhenTheSegmentCloses) {
  const std::string dir = testsupport::MakeTempDir("spool-zeros");
  fs::path seg;
  uint64_t bytes = 0;
  {
    auto spool = OpenSpool(dir);
    for (int i = 0; i < 3; ++i) ASSERT_TRUE(spool->Put("record " + std::to_string(i)).ok());
    bytes = spool->bytes();
    for (const auto& e : fs::directory_iterator(dir + "/log")) seg = e.path();
    EXPECT_GE(fs::file_size(seg), Spool::kZeroAheadBytes);
  }
  EXPECT_EQ(fs::file_size(seg), bytes);
  auto spool = OpenSpool(dir);
  EXPECT_EQ(Drain(*spool).size(), 3u);
  fs::remove_all(dir);
}

// A segment whose zeros were not cut (the cut did not reach the disk before a crash) ends at
// its zeros: every record in it is read and the segment is not set aside as corrupt.
TEST(SpoolTest, ZerosAfterTheRecordsOfAnOlderSegmentAreItsEnd) {
  const std::string dir = testsupport::MakeTempDir("spool-zero-tail");
  {
    auto spool = OpenSpool(dir, 1 << 20, /*segment_bytes=*/200);
    for (int i = 0; i < 6; ++i) ASSERT_TRUE(spool->Put("message " + std::to_string(i)).ok());
  }
  std::vector<fs::path> segs;
  for (const auto& e : fs::directory_iterator(dir + "/log")) segs.push_back(e.path());
  std::sort(segs.begin(), segs.end());
  ASSERT_GT(segs.size(), 2u);
  const std::string first = testsupport::ReadFile(segs[0].string());
  testsupport::WriteFile(segs[0].string(), first + std::string(5000, '\0'));
  auto spool = OpenSpool(dir, 1 << 20, 200);
  std::vector<std::string> all = Drain(*spool);
  ASSERT_EQ(all.size(), 6u);
  for (int i = 0; i < 6; ++i) EXPECT_EQ(all[i], "message " + std::to_string(i));
  EXPECT_TRUE(fs::is_empty(dir + "/failed"));
  fs::remove_all(dir);
}

// Ids carry a random part drawn at Open: two spools (two processes, two hosts) never share
// an id, and with it an idempotency key.
TEST(SpoolTest, IdsOfDifferentOpensDiffer) {
  const std::string a = testsupport::MakeTempDir("spool-id-a");
  const std::string b = testsupport::MakeTempDir("spool-id-b");
  auto sa = OpenSpool(a);
  auto sb = OpenSpool(b);
  auto ia = sa->Put("x");
  auto ib = sb->Put("x");
  ASSERT_TRUE(ia.ok() && ib.ok());
  EXPECT_NE(ia->substr(ia->rfind('-')), ib->substr(ib->rfind('-')));
  EXPECT_EQ(ia->size(), 43u);
  fs::remove_all(a);
  fs::remove_all(b);
}

// Many sessions at once: their records share fdatasyncs (group commit), none is lost or
// duplicated, and each session's records stay in the order it wrote them.
TEST(SpoolTest, ConcurrentPutsShareCommitsAndKeepEachWritersOrder) {
  const std::string dir = testsupport::MakeTempDir("spool-group");
  constexpr int kThreads = 8, kEach = 100;
  auto spool = OpenSpool(dir);
  {
    std::vector<std::jthread> writers;
    for (int t = 0; t < kThreads; ++t) {
      writers.emplace_back([&, t] {
        for (int i = 0; i < kEach; ++i) {
          EXPECT_TRUE(spool->Put(std::to_string(t) + ":" + std::to_string(i)).ok());
        }
      });
    }
  }
  EXPECT_EQ(spool->records(), uint64_t{kThreads * kEach});
  EXPECT_LT(spool->commits(), uint64_t{kThreads * kEach});  // some records shared a commit
  std::map<int, int> next;
  for (const std::string& d : Drain(*spool)) {
    const int t = std::stoi(d.substr(0, d.find(':')));
    EXPECT_EQ(std::stoi(d.substr(d.find(':') + 1)), next[t]++) << d;
  }
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(next[t], kEach);
  fs::remove_all(dir);
}

// A writer process with many threads is killed with SIGKILL while it writes: every record
// it had acknowledged is in the spool after a restart, in acknowledgement order per thread,
// and the spool reads cleanly (a record in flight is there whole or not at all).
TEST(SpoolTest, EveryAcknowledgedRecordSurvivesKill9) {
  const std::string dir = testsupport::MakeTempDir("spool-kill");
  constexpr int kThreads = 6;
  int acks[2];
  ASSERT_EQ(pipe(acks), 0);
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    close(acks[0]);
    auto spool = Spool::Open(dir, 1ull << 30, 64 << 10);
    if (!spool.ok()) _exit(3);
    std::vector<std::thread> writers;
    for (int t = 0; t < kThreads; ++t) {
      writers.emplace_back([&, t] {
        for (int i = 0;; ++i) {
          std::string data = std::to_string(t) + ":" + std::to_string(i) + ":" +
                             std::string(static_cast<size_t>(500 + 97 * i % 3000), 'b');
          if (!(*spool)->Put(data).ok()) _exit(4);
          std::string line = std::to_string(t) + ":" + std::to_string(i) + "\n";
          if (write(acks[1], line.data(), line.size()) != static_cast<ssize_t>(line.size())) {
            _exit(5);
          }
        }
      });
    }
    for (auto& w : writers) w.join();
    _exit(0);
  }
  close(acks[1]);
  // Read acknowledgements until enough have arrived, then kill the writer mid-stream.
  std::string acked;
  char buf[4096];
  size_t lines = 0;
  while (lines < 3000) {
    ssize_t n = read(acks[0], buf, sizeof buf);
    ASSERT_GT(n, 0) << "writer died early";
    acked.append(buf, static_cast<size_t>(n));
    lines = static_cast<size_t>(std::count(acked.begin(), acked.end(), '\n'));
  }
  kill(child, SIGKILL);
  int status = 0;
  waitpid(child, &status, 0);
  while (true) {  // acknowledgements already in the pipe count too
    ssize_t n = read(acks[0], buf, sizeof buf);
    if (n <= 0) break;
    acked.append(buf, static_cast<size_t>(n));
  }
  close(acks[0]);
  std::map<int, int> acked_upto;  // thread -> highest acknowledged index (complete lines)
  for (size_t pos = 0, nl; (nl = acked.find('\n', pos)) != std::string::npos; pos = nl + 1) {
    std::string l = acked.substr(pos, nl - pos);
    int t = std::stoi(l.substr(0, l.find(':')));
    acked_upto[t] = std::max(acked_upto[t], std::stoi(l.substr(l.find(':') + 1)));
  }

  auto spool = OpenSpool(dir, 1ull << 30, 64 << 10);
  std::map<int, int> next;
  for (const std::string& d : Drain(*spool)) {
    size_t a = d.find(':'), b = d.find(':', a + 1);
    const int t = std::stoi(d.substr(0, a));
    EXPECT_EQ(std::stoi(d.substr(a + 1, b - a - 1)), next[t]++) << "thread " << t;
  }
  for (const auto& [t, upto] : acked_upto) EXPECT_GT(next[t], upto) << "thread " << t;
  fs::remove_all(dir);
}

}  // namespace
}  // namespace plugintest
