// The streaming, parallel audit: a chain spread over many small chunks and several workers
// still names the first inconsistency in chain order; the default mode and --canonical each
// catch what they promise; leaves, bytes and blocks that do not line up are named.
#include <gtest/gtest.h>

#include <chrono>
#include <sstream>
#include <thread>

#include "common/bytes.h"
#include "log/leaf_record.h"
#include "mime/canonical.h"
#include "notaryd_process.h"
#include "pipeline/audit.h"
#include "storage/database.h"
#include "storage/receipt_fields.h"
#include "storage/receipt_store.h"
#include "support/test_support.h"
#include "vault/key_wrapper.h"

namespace {

using testsupport::Psql;
using testsupport::RunCommand;
using testsupport::WaitUntil;

int64_t Count(const std::string& url, const std::string& sql) {
  return std::atoll(Psql(url, sql).c_str());
}

struct AuditRun {
  int rc = -1;
  std::string out, err;
};

class AuditTest : public ::testing::Test {
 protected:
  testsupport::TestDatabase db_;
  std::string dir_ = testsupport::MakeTempDir("audit");

  // Ingests `n` messages over SMTP and waits until all are sealed; leaves the node running
  // when `keep` is set (for receipts added behind its back).
  void SealSome(int n) {
    e2e::NotarydProcess node(db_.AppUrl(), db_.OwnerUrl(), dir_ + "/data");
    ASSERT_TRUE(node.ready()) << node.Log();
    auto r = RunCommand({"/usr/sbin/smtp-source", "-c", "-s", "4", "-m", std::to_string(n), "-l",
                         "1500", "-f", "load@example.com", "-t", "sink@example.org",
                         "127.0.0.1:" + std::to_string(node.smtp_port())},
                        "", 300);
    ASSERT_EQ(r.exit_code, 0) << r.out;
    ASSERT_TRUE(WaitUntil([&] { return Count(db_.SuperUrl(), "SELECT count(*) FROM leaves") == n; },
                          std::chrono::seconds(60)));
    node.Stop();
  }

  // The audit in this process, with chunks of about `chunk_bytes` spread over `workers`.
  AuditRun Audit(bool canonical, unsigned workers, size_t chunk_bytes, bool with_keys = true) {
    auto db = storage::Database::Open({db_.AppUrl(), 2});
    EXPECT_TRUE(db.ok());
    if (!db.ok()) return {};
    pipeline::AuditOptions o;
    // The node's key pairs open the bytes it sealed at rest (docs/retention.md).
    auto holder = vault::FileKeyHolder::Open(dir_ + "/data/keks.d");
    std::unique_ptr<vault::Wrapper> wrapper;
    if (holder.ok() && with_keys) {
      wrapper = std::make_unique<vault::Wrapper>(**holder);
      o.wrapper = wrapper.get();
    }
    o.canonical = canonical;
    o.workers = workers;
    o.chunk_bytes = chunk_bytes;
    std::ostringstream out, err;
    AuditRun a;
    a.rc = pipeline::RunAudit(**db, o, out, err);
    a.out = out.str();
    a.err = err.str();
    return a;
  }

  // Every way of spreading the work must report the same first inconsistency.
  void ExpectEveryLayoutReports(const std::vector<std::string>& needles) {
    for (bool canonical : {false, true}) {
      for (unsigned workers : {1u, 3u, 8u}) {
        for (size_t chunk : {size_t{1}, size_t{20000}, size_t{2} << 20}) {
          AuditRun a = Audit(canonical, workers, chunk);
          EXPECT_EQ(a.rc, 1) << a.out << a.err;
          for (const auto& n : needles) {
            EXPECT_NE(a.err.find(n), std::string::npos)
                << "canonical=" << canonical << " workers=" << workers << " chunk=" << chunk << ": "
                << a.err;
          }
        }
      }
    }
  }

  std::string ReceiptOf(int64_t leaf) {
    return Psql(db_.SuperUrl(),
                "SELECT receipt_id FROM leaves WHERE leaf_index = " + std::to_string(leaf));
  }
  std::string BlockOf(int64_t leaf) {
    return Psql(db_.SuperUrl(),
                "SELECT block_height FROM leaves WHERE leaf_index = " + std::to_string(leaf));
  }

  // Changes rows the way an attacker with superuser rights would: triggers off.
  void Tamper(const std::string& sql) {
    Psql(db_.SuperUrl(), "SET session_replication_role = replica; " + sql);
  }
  // Since migration 0006 the record is in the receipt, under a CHECK that ties its hash to
  // it (which holds with triggers off): the attacker rewrites both.
  void TamperLeafRecord(int64_t leaf) {
    const std::string changed = "overlay(leaf_record placing '\\xff'::bytea from 30 for 1)";
    Tamper("UPDATE receipts SET leaf_record = " + changed +
           ", leaf_hash = sha256('\\x00'::bytea || " + changed + ") WHERE id = '" +
           ReceiptOf(leaf) + "'");
  }
  // The bytes are sealed at rest (migration 0012) unless a test stored them in the clear:
  // the attacker changes whichever holds them. One bit is flipped: writing a fixed byte left
  // ciphertext unchanged whenever it already held that byte (1 run in 256: the audit then
  // rightly found nothing, and the test failed).
  void TamperMessageByte(int64_t leaf) {
    for (const char* table : {"message_blobs", "sealed_blobs"}) {
      Tamper(std::string("UPDATE ") + table +
             " SET data = set_byte(data, 59, get_byte(data, 59) # 1) WHERE sha256 ="
             " (SELECT raw_sha256 FROM receipts WHERE id = '" +
             ReceiptOf(leaf) + "')");
    }
  }
  // The envelope is sealed with the receipt's personal fields (migration 0016): an attacker
  // who holds the tenant's key pair as well seals it anew with other recipients.
  void TamperSealedEnvelope(const std::string& receipt) {
    auto db = storage::Database::Open({db_.AppUrl(), 1});
    ASSERT_TRUE(db.ok());
    auto holder = vault::FileKeyHolder::Open(dir_ + "/data/keks.d");
    ASSERT_TRUE(holder.ok());
    vault::Wrapper wrapper(**holder);
    auto got = storage::ReceiptStore(**db, &wrapper).Get(receipt, std::nullopt);
    ASSERT_TRUE(got.ok() && got->has_value());
    notary::Receipt forged = **got;
    forged.envelope.recipients = {"someone@else.example"};
    auto sealed = storage::SealFields(wrapper, {&forged});
    ASSERT_TRUE(sealed.ok());
    Tamper("UPDATE receipt_fields SET kek_id = '" + (*sealed)[0].kek_id + "', wrapped_key = '\\x" +
           common::ToHex(common::AsBytes((*sealed)[0].wrapped_key)) + "', data = '\\x" +
           common::ToHex(common::AsBytes((*sealed)[0].data)) + "' WHERE receipt_id = '" + receipt +
           "'");
  }
  void DeleteMessageBytes(const std::string& receipt) {
    for (const char* table : {"message_blobs", "sealed_blobs"}) {
      Tamper(std::string("DELETE FROM ") + table +
             " WHERE sha256 = (SELECT raw_sha256 FROM receipts WHERE id = '" + receipt + "')");
    }
  }
};

TEST_F(AuditTest, PassesOverManyChunksAndWorkersInBothModes) {
  SealSome(120);
  ASSERT_GT(Count(db_.SuperUrl(), "SELECT count(*) FROM blocks"), 0);
  for (bool canonical : {false, true}) {
    AuditRun a = Audit(canonical, 4, 1);
    EXPECT_EQ(a.rc, 0) << a.err;
    EXPECT_NE(a.out.find("audit: OK"), std::string::npos) << a.out;
    EXPECT_NE(a.out.find("120 receipts"), std::string::npos) << a.out;
    EXPECT_NE(a.out.find(canonical ? "canonical hashes and parts roots re-derived"
                                   : "canonical hashes not re-derived"),
              std::string::npos)
        << a.out;
  }
}

// An envelope that is not valid UTF-8 (SMTPUTF8 lets bytes >= 0x80 through; HTTP headers
// carry any bytes) is stored with U+FFFD replacements: the envelope digest sealed in the
// leaf must be over what is stored, or the audit and every bundle of it would fail.
TEST_F(AuditTest, EnvelopeBytesThatAreNotUtf8AreSealedAsStored) {
  e2e::NotarydProcess node(db_.AppUrl(), db_.OwnerUrl(), dir_ + "/data");
  ASSERT_TRUE(node.ready()) << node.Log();
  const std::string key = e2e::MakeKey(db_.AppUrl(), "default", "ingest,relay");
  testsupport::WriteFile(dir_ + "/m.eml", "From: a@example.com\r\nSubject: x\r\n\r\nbody\r\n");
  auto r = RunCommand({"curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-H",
                       "Authorization: Bearer " + key, "-H", "Content-Type: message/rfc822", "-H",
                       "X-Envelope-From: caf\xe9@example.com", "-H",
                       "X-Envelope-To: b\xff\xfe@example.org", "-H", "X-Envelope-Helo: h\xc3",
                       "--data-binary", "@" + dir_ + "/m.eml", node.Http("/v1/messages")});
  ASSERT_EQ(r.out, "201");
  ASSERT_TRUE(WaitUntil([&] { return Count(db_.SuperUrl(), "SELECT count(*) FROM leaves") == 1; },
                        std::chrono::seconds(60)));
  node.Stop();
  // Sealed with the receipt's personal fields (migration 0016), opened with the node's keys.
  auto db = storage::Database::Open({db_.AppUrl(), 1});
  ASSERT_TRUE(db.ok());
  auto holder = vault::FileKeyHolder::Open(dir_ + "/data/keks.d");
  ASSERT_TRUE(holder.ok());
  vault::Wrapper wrapper(**holder);
  auto got = storage::ReceiptStore(**db, &wrapper)
                 .Get(Psql(db_.SuperUrl(), "SELECT id FROM receipts"), std::nullopt);
  ASSERT_TRUE(got.ok() && got->has_value()) << (got.ok() ? "" : got.error().ToString());
  EXPECT_EQ((*got)->envelope.mail_from, "caf\uFFFD@example.com");
  EXPECT_EQ((*got)->envelope.recipients, std::vector<std::string>{"b\uFFFD\uFFFD@example.org"});
  EXPECT_EQ(Psql(db_.SuperUrl(), "SELECT envelope_from FROM receipts"), "");
  AuditRun a = Audit(false, 2, 2 << 20);
  EXPECT_EQ(a.rc, 0) << a.out << a.err;
}

// Without the key holder, the sealed envelopes (migration 0016) cannot be checked against their
// digests: the audit passes on what it can check and says how many it left.
TEST_F(AuditTest, WithoutTheKeyHolderSaysHowManySealedEnvelopesItLeftUnchecked) {
  SealSome(6);
  AuditRun a = Audit(false, 2, 2 << 20, /*with_keys=*/false);
  EXPECT_EQ(a.rc, 0) << a.out << a.err;
  EXPECT_NE(a.out.find("6 envelopes sealed at rest not opened"), std::string::npos) << a.out;
  AuditRun b = Audit(false, 2, 2 << 20);
  EXPECT_EQ(b.rc, 0) << b.out << b.err;
  EXPECT_EQ(b.out.find("envelopes sealed at rest not opened"), std::string::npos) << b.out;
}

TEST_F(AuditTest, NamesABadLeafInTheMiddleOfABigBlock) {
  SealSome(120);
  // The leaf in the middle of the largest block: many chunks before and after it.
  const int64_t leaf = Count(db_.SuperUrl(),
                             "SELECT first_leaf + leaf_count / 2 FROM blocks ORDER BY leaf_count "
                             "DESC, height LIMIT 1");
  ASSERT_GT(Count(db_.SuperUrl(), "SELECT max(leaf_count) FROM blocks"), 8);
  const std::string receipt = ReceiptOf(leaf);
  TamperMessageByte(leaf);
  ExpectEveryLayoutReports(
      {"leaf " + std::to_string(leaf) + " (receipt " + receipt + ", block " + BlockOf(leaf) + ")",
       "do not hash to raw_sha256"});
}

TEST_F(AuditTest, ReportsTheFirstInconsistencyInChainOrder) {
  SealSome(120);
  // Up to three faults; the earliest in chain order is leaf 37's bytes. Workers given later
  // chunks finish first when chunks are small, so the report must not follow completion
  // order. A block's own faults are found when the block starts, so the bad signature goes
  // on a later block only (when the sealer made more than one).
  const int64_t last_block = Count(db_.SuperUrl(), "SELECT max(height) FROM blocks");
  const int64_t last_first =
      Count(db_.SuperUrl(), "SELECT first_leaf FROM blocks ORDER BY height DESC LIMIT 1");
  TamperLeafRecord(101);
  if (last_first > 37) {
    Tamper(
        "UPDATE blocks SET signature = set_byte(signature, 4, get_byte(signature, 4) # 1) "
        "WHERE height = " +
        std::to_string(last_block));
  }
  const std::string receipt = ReceiptOf(37);
  TamperMessageByte(37);
  ExpectEveryLayoutReports({"leaf 37 (receipt " + receipt, "do not hash to raw_sha256"});
}

TEST_F(AuditTest, CanonicalModeRederivesWhatTheDefaultTakesAsSigned) {
  // A receipt whose canonical hash was wrong at ingest, sealed into the chain like any other:
  // everything else binds to the signature, so only re-running the canonicaliser shows it.
  e2e::NotarydProcess node(db_.AppUrl(), db_.OwnerUrl(), dir_ + "/data");
  ASSERT_TRUE(node.ready()) << node.Log();
  const std::string id = "6f0c3a52-1d7e-4c59-9a51-3b8f2e0d4c11";
  const notary::Envelope env{"", {}, "", 0, "", "", ""};
  const std::string digest = common::ToHex(notary::EnvelopeDigest(env));
  const std::string raw = "From: a@example.com\r\nSubject: forged\r\n\r\nbody\r\n";
  ASSERT_NE(common::ToHex(mime::Canonicalize(raw).canonical_sha256), std::string(64, '0'));
  Psql(db_.SuperUrl(),
       "INSERT INTO message_blobs (sha256, size, data) VALUES (sha256(convert_to('" + raw +
           "', 'UTF8')), " + std::to_string(raw.size()) + ", convert_to('" + raw +
           "', 'UTF8'));"
           "INSERT INTO receipts (id, tenant_id, received_at, received_at_us, node, source,"
           " envelope_from, envelope_to, size, raw_sha256, canonical_sha256, canon_version,"
           " parts_root, envelope_digest, salt) VALUES ('" +
           id + "', 1, now(), 1764000000000000, 'forged', 'http', '', '{}', " +
           std::to_string(raw.size()) + ", sha256(convert_to('" + raw + "', 'UTF8')), '\\x" +
           std::string(64, '0') + "', " + std::to_string(mime::kCanonVersion) + ", '\\x" +
           std::string(64, '0') + "', '\\x" + digest + "', '\\x" + std::string(64, '5') +
           "');"
           "INSERT INTO pending (seq, receipt_id) SELECT seq, id FROM receipts WHERE id = '" +
           id + "'");
  ASSERT_TRUE(WaitUntil([&] { return Count(db_.SuperUrl(), "SELECT count(*) FROM leaves") == 1; },
                        std::chrono::seconds(30)));
  node.Stop();

  auto plain = RunCommand({e2e::NotaryctlBinary(), "--database-url", db_.AppUrl(), "audit"});
  EXPECT_EQ(plain.exit_code, 0) << plain.out;
  EXPECT_NE(plain.out.find("canonical hashes not re-derived"), std::string::npos) << plain.out;
  auto deep =
      RunCommand({e2e::NotaryctlBinary(), "--database-url", db_.AppUrl(), "audit", "--canonical"});
  EXPECT_EQ(deep.exit_code, 1) << deep.out;
  EXPECT_NE(deep.out.find("leaf 0 (receipt " + id + ", block 0): canonical hash recomputed as"),
            std::string::npos)
      << deep.out;
  auto help = RunCommand({e2e::NotaryctlBinary(), "audit", "--help"});
  EXPECT_NE(help.out.find("does NOT re-run the MIME"), std::string::npos) << help.out;
}

TEST_F(AuditTest, NamesALeafThatNoBlockSigns) {
  SealSome(10);
  Tamper(
      "INSERT INTO leaves (leaf_index, receipt_id, block_height, leaf_hash)"
      " SELECT 10, gen_random_uuid(), 0, leaf_hash FROM leaves WHERE leaf_index = 0");
  ExpectEveryLayoutReports({"leaf 10 is stored but no block signs it"});
}

TEST_F(AuditTest, NamesMissingMessageBytes) {
  SealSome(10);
  const std::string receipt = ReceiptOf(6);
  DeleteMessageBytes(receipt);
  ExpectEveryLayoutReports({"leaf 6 (receipt " + receipt, "stored message bytes are missing"});
}

TEST_F(AuditTest, NamesALeafFiledUnderAnotherBlock) {
  SealSome(10);
  Tamper("UPDATE leaves SET block_height = block_height + 7 WHERE leaf_index = 4");
  ExpectEveryLayoutReports({"leaf 4 is stored as part of block"});
}

TEST_F(AuditTest, NamesTheLastLeafOfTheChainDropped) {
  SealSome(10);
  const std::string block = BlockOf(9);
  Tamper("DELETE FROM leaves WHERE leaf_index = 9");
  ExpectEveryLayoutReports({"block " + block + ": ", "leaves signed"});
}

TEST_F(AuditTest, NamesAReceiptWhoseEnvelopeWasChanged) {
  SealSome(10);
  const std::string receipt = ReceiptOf(3);
  TamperSealedEnvelope(receipt);
  ExpectEveryLayoutReports(
      {"leaf 3 (receipt " + receipt, "envelope does not match its envelope digest"});
}

// Ingest leaves a sealed receipt's own columns empty: values written there since are named,
// though every reader takes the sealed ones.
TEST_F(AuditTest, NamesASealedReceiptWhoseClearEnvelopeColumnsWereFilledIn) {
  SealSome(10);
  const std::string receipt = ReceiptOf(4);
  Tamper("UPDATE receipts SET envelope_to = '{someone@else.example}' WHERE id = '" + receipt + "'");
  ExpectEveryLayoutReports({"leaf 4 (receipt " + receipt, "hold values beside its sealed fields"});
}

TEST_F(AuditTest, NamesATamperedLeafRecord) {
  SealSome(10);
  const std::string receipt = ReceiptOf(5);
  TamperLeafRecord(5);
  ExpectEveryLayoutReports({"leaf 5 (receipt " + receipt + ", block " + BlockOf(5) + ")",
                            "leaf record differs from the one rebuilt from the receipt"});
}

// The bytes are checked by a scan of their own, apart from the ordered pass over leaves: a
// fault the ordered pass finds earlier in chain order must still win over a bad message
// later in the chain, and a missing message earlier over a bad envelope later.
TEST_F(AuditTest, AnEarlierChainFaultWinsOverLaterBadBytes) {
  SealSome(10);
  const std::string receipt = ReceiptOf(2);
  TamperSealedEnvelope(receipt);
  TamperMessageByte(7);
  ExpectEveryLayoutReports({"leaf 2 (receipt " + receipt, "envelope does not match"});
}

TEST_F(AuditTest, EarlierMissingBytesWinOverALaterChainFault) {
  SealSome(10);
  const std::string receipt = ReceiptOf(1);
  TamperSealedEnvelope(ReceiptOf(8));
  TamperMessageByte(4);
  DeleteMessageBytes(receipt);
  ExpectEveryLayoutReports({"leaf 1 (receipt " + receipt, "stored message bytes are missing"});
}

// Bytes stored once and shared by several receipts: a bad copy is named at the first leaf
// that uses it, whichever receipt comes first in the table.
TEST_F(AuditTest, NamesTheFirstLeafOfBytesSharedByManyReceipts) {
  SealSome(10);
  // Receipt of leaf 6 and 3 share the bytes of leaf 3 (foreign keys off, as an attacker).
  Tamper("UPDATE receipts SET raw_sha256 = (SELECT raw_sha256 FROM receipts WHERE id = '" +
         ReceiptOf(3) + "') WHERE id = '" + ReceiptOf(6) + "'");
  const std::string receipt = ReceiptOf(3);
  TamperMessageByte(6);
  ExpectEveryLayoutReports({"leaf 3 (receipt " + receipt, "do not hash to raw_sha256"});
}

}  // namespace
