#include "log/leaf_record.h"

#include <gtest/gtest.h>

#include <string>

#include "common/bytes.h"
#include "common/rfc6962.h"
#include "common/sha256.h"

namespace notary {
namespace {

LeafRecord Sample() {
  LeafRecord r;
  r.receipt_id = "r-0001";
  r.received_at_us = 1764151200123456;
  r.raw_sha256 = common::Sha256Of("raw");
  r.canonical_sha256 = common::Sha256Of("canonical");
  r.canonical_version = 1;
  r.parts_root = common::Sha256Of("parts");
  r.envelope_digest = common::Sha256Of("envelope");
  r.tenant = "acme";
  for (size_t i = 0; i < r.salt.size(); ++i) r.salt[i] = static_cast<uint8_t>(i);
  return r;
}

TEST(LeafRecordTest, RoundTripsByteExactly) {
  const LeafRecord r = Sample();
  const std::string bytes = *r.Encode();
  EXPECT_EQ(bytes.substr(0, 18), "email-notary/leaf\n");
  // tag 18, version 4, id 4+6, time 8, 2 hashes 64, canonical version 4, 2 hashes 64,
  // tenant 4+4, salt 32.
  EXPECT_EQ(bytes.size(), 18u + 4 + 10 + 8 + 64 + 4 + 64 + 8 + 32);
  EXPECT_EQ(*LeafRecord::Decode(bytes), r);
  EXPECT_EQ(*r.LeafHash(), common::HashLeaf(bytes));

  LeafRecord edge = r;
  edge.received_at_us = -1;  // before the epoch still round-trips
  edge.tenant = "";
  edge.receipt_id = std::string(64, 'x');
  EXPECT_EQ(*LeafRecord::Decode(*edge.Encode()), edge);
}

TEST(LeafRecordTest, EveryFieldChangesTheLeafHash) {
  const common::Hash base = *Sample().LeafHash();
  std::vector<LeafRecord> variants(10, Sample());
  variants[0].receipt_id = "r-0002";
  variants[1].received_at_us += 1;
  variants[2].raw_sha256[0] ^= 1;
  variants[3].canonical_sha256[0] ^= 1;
  variants[4].canonical_version = 2;
  variants[5].parts_root[0] ^= 1;
  variants[6].envelope_digest[0] ^= 1;
  variants[7].tenant = "acmf";
  variants[8].salt[31] ^= 1;
  variants[9].tenant = "";
  for (const LeafRecord& v : variants) EXPECT_NE(*v.LeafHash(), base);
}

TEST(LeafRecordTest, EncodeRejectsBadFields) {
  LeafRecord r = Sample();
  r.receipt_id = "";
  EXPECT_EQ(r.Encode().error().code(), common::ErrorCode::kInvalidInput);
  r.receipt_id = std::string(65, 'x');
  EXPECT_FALSE(r.Encode().ok());
  r = Sample();
  r.tenant = std::string(65, 't');
  EXPECT_FALSE(r.Encode().ok());
  r = Sample();
  r.format_version = 3;
  EXPECT_FALSE(r.Encode().ok());
  EXPECT_FALSE(r.LeafHash().ok());
  r = Sample();
  r.format_version = 1;
  r.provenance.source = "smtp";  // version 1 cannot carry provenance
  EXPECT_FALSE(r.Encode().ok());
  r.format_version = 2;
  EXPECT_TRUE(r.Encode().ok());
  r.provenance.client_name = std::string(256, 'n');
  EXPECT_FALSE(r.Encode().ok());
  r.provenance.client_name = "";
  r.provenance.asserted_by = std::string(65, 'k');
  EXPECT_FALSE(r.Encode().ok());
}

LeafRecord SampleV2() {
  LeafRecord r = Sample();
  r.format_version = 2;
  r.provenance.source = "milter";
  r.provenance.listener = "http";
  r.provenance.node = "notary-1";
  r.provenance.client_name = "mail.example.org";
  r.provenance.auth_user = "alice";
  r.provenance.queue_id = "4dQx1T0abcz";
  r.provenance.asserted_by = "7f3a9c21d04e5b68";
  r.provenance.journal_report_sha256 = common::Sha256Of("report");
  return r;
}

// Version 2 binds the provenance (issue 17, finding 10): each field is in the leaf hash.
TEST(LeafRecordTest, VersionTwoRoundTripsAndBindsEveryProvenanceField) {
  const LeafRecord r = SampleV2();
  const std::string bytes = *r.Encode();
  EXPECT_EQ(*LeafRecord::Decode(bytes), r);
  for (size_t n = 0; n < bytes.size(); ++n) {
    EXPECT_FALSE(LeafRecord::Decode(bytes.substr(0, n)).ok()) << n;
  }
  const common::Hash base = *r.LeafHash();
  std::vector<LeafRecord> variants(8, r);
  variants[0].provenance.source = "smtp";
  variants[1].provenance.listener = "smtp:127.0.0.1:2525";
  variants[2].provenance.node = "notary-2";
  variants[3].provenance.client_name = "";
  variants[4].provenance.auth_user = "bob";
  variants[5].provenance.queue_id = "x";
  variants[6].provenance.asserted_by = "";
  variants[7].provenance.journal_report_sha256[0] ^= 1;
  for (const LeafRecord& v : variants) EXPECT_NE(*v.LeafHash(), base);
  // Moving bytes between adjacent fields changes the hash too (length prefixes).
  LeafRecord shifted = r;
  shifted.provenance.source = "milterh";
  shifted.provenance.listener = "ttp";
  EXPECT_NE(*shifted.LeafHash(), base);
}

TEST(LeafRecordTest, DecodeRejectsTruncationTrailingBytesAndOtherVersions) {
  const std::string bytes = *Sample().Encode();
  for (size_t n = 0; n < bytes.size(); ++n) {
    EXPECT_FALSE(LeafRecord::Decode(bytes.substr(0, n)).ok()) << n;
  }
  EXPECT_FALSE(LeafRecord::Decode(bytes + '\0').ok());
  std::string v2 = bytes;
  v2[21] = 2;  // last byte of the version
  EXPECT_EQ(LeafRecord::Decode(v2).error().code(), common::ErrorCode::kInvalidInput);
  std::string tag = bytes;
  tag[0] = 'E';
  EXPECT_FALSE(LeafRecord::Decode(tag).ok());
  // A length prefix that points past the end, or beyond the limit.
  std::string long_id = bytes;
  long_id[25] = 65;
  EXPECT_FALSE(LeafRecord::Decode(long_id).ok());
  std::string huge = bytes;
  huge[22] = '\xff';
  EXPECT_FALSE(LeafRecord::Decode(huge).ok());
  std::string empty_id = bytes;
  empty_id.replace(22, 10, std::string("\0\0\0\0", 4));
  EXPECT_FALSE(LeafRecord::Decode(empty_id).ok());
}

TEST(EnvelopeTest, EncodingIsUnambiguous) {
  Envelope e;
  e.mail_from = "alice@example.org";
  e.recipients = {"bob@example.com", "carol@example.com"};
  e.client_ip = "192.0.2.10";
  e.client_port = 52344;
  e.helo = "mail.example.org";
  e.tls_protocol = "TLSv1.3";
  e.tls_cipher = "TLS_AES_256_GCM_SHA384";
  const std::string enc = EncodeEnvelope(e);
  EXPECT_EQ(enc.substr(0, 25), "email-notary/envelope/v1\n");
  EXPECT_EQ(EnvelopeDigest(e), common::Sha256Of(enc));

  // Moving bytes between fields, reordering recipients or splitting one changes the digest.
  Envelope moved = e;
  moved.mail_from = "alice@example.orgb";
  moved.recipients = {"ob@example.com", "carol@example.com"};
  EXPECT_NE(EnvelopeDigest(moved), EnvelopeDigest(e));
  Envelope reordered = e;
  std::swap(reordered.recipients[0], reordered.recipients[1]);
  EXPECT_NE(EnvelopeDigest(reordered), EnvelopeDigest(e));
  Envelope port = e;
  port.client_port = 25;
  EXPECT_NE(EnvelopeDigest(port), EnvelopeDigest(e));
  Envelope plain = e;
  plain.tls_protocol.clear();
  plain.tls_cipher.clear();
  EXPECT_NE(EnvelopeDigest(plain), EnvelopeDigest(e));
  Envelope no_rcpt = e;
  no_rcpt.recipients.clear();
  Envelope empty_rcpt = e;
  empty_rcpt.recipients = {""};
  EXPECT_NE(EnvelopeDigest(no_rcpt), EnvelopeDigest(empty_rcpt));
}

}  // namespace
}  // namespace notary
