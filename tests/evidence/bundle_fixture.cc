#include "bundle_fixture.h"

#include <gtest/gtest.h>
#include <zip.h>

#include <nlohmann/json.hpp>

#include "common/rfc6962.h"
#include "common/sha256.h"
#include "log/block.h"
#include "log/checkpoint.h"
#include "log/leaf_record.h"
#include "log/merkle.h"
#include "mime/canonical.h"
#include "support/test_support.h"
#include "tsa/client.h"

namespace notary::bundle_test {
namespace {

// Canonical form version 2, as notaryd issues it, with fixed part salts (notaryd draws
// random ones) so that the worked example is reproducible: SHA-256("part salt " position).
mime::Canonical Canonical(const std::string& message) {
  mime::Canonical c = mime::Canonicalize(message, mime::kLatestCanonVersion);
  for (mime::Part& p : c.parts) p.salt = common::Sha256Of("part salt " + p.position);
  c.parts_root = mime::PartsRoot(c.parts, c.canon_version);
  return c;
}

constexpr uint64_t kLeafIndex = 3;  // the notarised message: block 1 holds leaves 2, 3, 4

template <class T>
T Must(common::Result<T> r) {
  if (!r.ok()) {
    ADD_FAILURE() << r.error().ToString();
    std::abort();
  }
  return std::move(*r);
}

common::Hash Filler(const std::string& tag) { return common::HashLeaf("filler " + tag); }

}  // namespace

BundleFactory::BundleFactory(uint8_t seed_byte, std::string origin, std::string message,
                             std::optional<std::string> journal_report)
    : origin_(std::move(origin)),
      message_(std::move(message)),
      journal_report_(std::move(journal_report)),
      signer_(Must(Ed25519Signer::FromSeed(std::vector<uint8_t>(32, seed_byte)))),
      local_tsa_(Must(GenerateLocalTsa(origin_.substr(0, 40), kT0))),
      tsa_now_(std::make_shared<int64_t>(kT0)) {
  TsaResponderOptions opts;
  opts.clock = [now = tsa_now_] { return *now; };
  tsa_ = std::make_unique<TsaResponder>(
      Must(TsaResponder::Create(local_tsa_.tsa_key_pem, local_tsa_.tsa_cert_pem, "", opts)));

  // The receipt, as SMTP intake records it.
  receipt_.id = "0193e9b2-7c1a-7d4e-9f00-5a1b2c3d4e5f";
  receipt_.tenant = "acme";
  receipt_.received_at_us = kT0 + 500'123;
  receipt_.envelope.mail_from = "alice@example.com";
  receipt_.envelope.recipients = {"bob@example.org", "carol@example.net"};
  receipt_.envelope.client_ip = "192.0.2.10";
  receipt_.envelope.client_port = 52344;
  receipt_.envelope.helo = "mail.example.com";
  receipt_.envelope.tls_protocol = "TLSv1.3";
  receipt_.envelope.tls_cipher = "TLS_AES_256_GCM_SHA384";
  // Forwarded by notary-milter: the MTA's observations, stated by its API key (relay scope).
  receipt_.provenance.source = "milter";
  receipt_.provenance.listener = "http";
  receipt_.provenance.node = "notary-1";
  receipt_.provenance.client_name = "mail.example.com";
  receipt_.provenance.queue_id = "4dQx1T0abcz";
  receipt_.provenance.asserted_by = "7f3a9c21d04e5b68";
  receipt_.leaf_version = 2;
  if (journal_report_) {
    receipt_.provenance.source = "journal";
    receipt_.provenance.journal_report_sha256 = common::Sha256Of(*journal_report_);
  }

  const mime::Canonical c = Canonical(message_);
  receipt_.size = message_.size();
  receipt_.raw_sha256 = common::Sha256Of(message_);
  receipt_.canonical_sha256 = c.canonical_sha256;
  receipt_.canon_version = c.canon_version;
  receipt_.parts = c.parts;
  receipt_.parts_root = c.parts_root;
  receipt_.envelope_digest = EnvelopeDigest(receipt_.envelope);
  for (size_t i = 0; i < receipt_.salt.size(); ++i) {
    receipt_.salt[i] = static_cast<uint8_t>(0xa0 + i);
  }
  const LeafRecord rec = LeafRecordOf(receipt_);
  leaf_record_ = Must(rec.Encode());

  leaves_ = {Filler("0"), Filler("1"), Filler("2"), common::HashLeaf(leaf_record_),
             Filler("4"), Filler("5"), Filler("6")};
  // Block 0: leaves 0-1; block 1: leaves 2-4 (ours is 3); block 2: leaves 5-6.
  blocks_.push_back(Seal(0, common::Hash{}, 0, 2, leaves_, kT0, signer_));
  blocks_.push_back(Seal(1, blocks_[0].hash, 2, 3, leaves_, kT0 + 1'000'000, signer_));
  blocks_.push_back(Seal(2, blocks_[1].hash, 5, 2, leaves_, kT0 + 2'000'000, signer_));
  checkpoint_ =
      Must(SignCheckpoint({origin_, 7, MerkleTree(leaves_).Root(), {}}, origin_, signer_));
}

const BundleFactory& BundleFactory::A() {
  static const BundleFactory* a = new BundleFactory(
      0x11, "notary.example.com/log",
      testsupport::ReadFile(testsupport::SourceDir() + "/tests/data/canonical/contract/base.eml"));
  return *a;
}

const BundleFactory& BundleFactory::B() {
  static const BundleFactory* b = new BundleFactory(
      0x22, "other-notary.example.net/log",
      testsupport::ReadFile(testsupport::SourceDir() + "/tests/data/canonical/contract/base.eml"));
  return *b;
}

std::vector<BundleToken> BundleFactory::Stamp(const common::Hash& block_hash, int64_t at_us) const {
  *tsa_now_ = at_us;
  std::string query = Must(CreateQuery(TsaHashAlg::kSha256, block_hash, RandomTsaNonce(), true));
  std::string reply = Must(tsa_->Respond(query));
  TokenInfo info = Must(VerifyReply(reply, query, local_tsa_.ca_cert_pem, ""));
  return {BundleToken{"local", info.token_der}};
}

BundleFactory::Block BundleFactory::Seal(uint64_t height, const common::Hash& prev, uint64_t first,
                                         uint64_t count,
                                         const std::vector<common::Hash>& all_leaves,
                                         int64_t sealed_at_us, const Ed25519Signer& signer) const {
  BlockHeader h;
  h.height = height;
  h.prev_block_hash = prev;
  std::vector<common::Hash> batch(all_leaves.begin() + static_cast<ptrdiff_t>(first),
                                  all_leaves.begin() + static_cast<ptrdiff_t>(first + count));
  h.batch_root = MerkleTree(batch).Root();
  h.first_leaf_index = first;
  h.leaf_count = count;
  h.tree_size = first + count;
  h.tree_root = Must(MerkleTree(all_leaves).RootAt(first + count));
  h.sealed_at_us = sealed_at_us;
  h.key_id = KeyId(signer.public_key());
  Block b;
  b.header = Must(h.Encode());
  Ed25519Signature sig = Must(SignBlock(h, signer));
  b.signature.assign(sig.begin(), sig.end());
  b.hash = Must(BlockHash(h, sig));
  b.tokens = Stamp(b.hash, sealed_at_us + 100'000);
  return b;
}

BundleInput BundleFactory::Input(std::optional<std::string> part, std::string lang) const {
  const mime::Canonical c = Canonical(message_);
  BundleInput in;
  in.receipt = receipt_;
  if (part) {
    for (const auto& p : c.parts) {
      // The decoded bytes are not in mime::Part; tests disclose parts whose bytes they know.
      if (p.position == *part) in.disclosed_part = DisclosedPart{p.position, Attachment()};
    }
  } else {
    in.message = message_;
    in.canonical_form = c.canonical;
    in.journal_report = journal_report_;
  }
  in.leaf_record = leaf_record_;
  in.leaf_index = kLeafIndex;
  in.leaf_hash = leaves_[kLeafIndex];
  in.batch_index = 1;
  in.batch_size = 3;
  std::vector<common::Hash> batch(leaves_.begin() + 2, leaves_.begin() + 5);
  in.batch_proof = Must(MerkleTree(batch).InclusionProof(1));
  auto to_bundle = [](const Block& b) {
    return BundleBlock{b.header, b.signature, b.hash, b.tokens};
  };
  in.block = to_bundle(blocks_[1]);
  in.previous_block = to_bundle(blocks_[0]);
  in.checkpoint = checkpoint_;
  in.checkpoint_proof = Must(MerkleTree(leaves_).InclusionProof(kLeafIndex));
  in.keys = {BundleKey{KeyId(signer_.public_key()), signer_.PublicPem(),
                       Fingerprint(signer_.public_key()), kT0 - 3'600'000'000, std::nullopt}};
  in.tsa_chain_pem = local_tsa_.tsa_cert_pem;
  in.tsa_ca_pem = local_tsa_.ca_cert_pem;
  in.issued_to = "apikey 7f3a9c21 (tenant acme)";
  in.issued_at_us = kT0 + 86'400'000'000;
  in.lang = std::move(lang);
  return in;
}

std::string BundleFactory::Attachment() const {
  // Part 2 of contract/base.eml: the base64 lines after its headers, up to the boundary.
  size_t start =
      message_.find("Content-Transfer-Encoding: base64\r\n\r\n", message_.find("application/pdf"));
  EXPECT_NE(start, std::string::npos);
  start = message_.find("\r\n\r\n", start) + 4;
  size_t end = message_.find("--=_b1--", start);
  std::string b64;
  for (char ch : message_.substr(start, end - start)) {
    if (ch != '\r' && ch != '\n') b64 += ch;
  }
  auto bytes = common::Base64Decode(b64);
  EXPECT_TRUE(bytes.has_value());
  return bytes.value_or("");
}

std::string BundleFactory::Zip(std::optional<std::string> part, std::string lang) const {
  return Must(BuildBundleZip(Input(std::move(part), std::move(lang))));
}

ActionRecord BundleFactory::ErasureRecord(const std::string& reason) const {
  ActionRecord rec;
  rec.action = std::string(ActionRecord::kErasure);
  rec.tenant = receipt_.tenant;
  rec.subject = receipt_.id;
  rec.acted_at_us = kT0 + 5 * 86'400'000'000;
  rec.actor = "7f3a9c21d04e5b68";
  rec.details_sha256 =
      common::Sha256Of(nlohmann::json{{"receipt", receipt_.id}, {"reason", reason}}.dump());
  for (size_t i = 0; i < rec.salt.size(); ++i) rec.salt[i] = static_cast<uint8_t>(0x40 + i);
  return rec;
}

BundleInput BundleFactory::ErasedInput(std::string reason, std::string lang,
                                       std::optional<ActionRecord> record) const {
  BundleInput in = Input(std::nullopt, std::move(lang));
  in.message.clear();
  in.canonical_form.clear();
  in.journal_report.reset();
  in.receipt.parts.clear();
  in.receipt.envelope = Envelope{};
  const ActionRecord rec = record.value_or(ErasureRecord(reason));
  BundleErasure e;
  e.record = Must(rec.Encode());
  e.details = nlohmann::json{{"receipt", receipt_.id}, {"reason", reason}}.dump();
  e.leaf_index = 8;
  e.leaf_hash = common::HashLeaf(e.record);
  std::vector<common::Hash> leaves = leaves_;
  leaves.push_back(Filler("7"));
  leaves.push_back(e.leaf_hash);
  const MerkleTree tree(leaves);
  e.checkpoint_proof = Must(tree.InclusionProof(8));
  in.checkpoint = Must(SignCheckpoint({origin_, 9, tree.Root(), {}}, origin_, signer_));
  in.checkpoint_proof = Must(tree.InclusionProof(kLeafIndex));
  in.erasure = std::move(e);
  return in;
}

std::string BundleFactory::NewerCheckpoint(bool consistent) const {
  std::vector<common::Hash> leaves = leaves_;
  if (!consistent) leaves[0] = Filler("rewritten history");
  leaves.push_back(Filler("7"));
  leaves.push_back(Filler("8"));
  return Must(SignCheckpoint({origin_, 9, MerkleTree(leaves).Root(), {}}, origin_, signer_));
}

std::string BundleFactory::ConsistencyProofJson(bool consistent) const {
  std::vector<common::Hash> leaves = leaves_;
  if (!consistent) leaves[0] = Filler("rewritten history");
  leaves.push_back(Filler("7"));
  leaves.push_back(Filler("8"));
  std::string json = "{\"first\":7,\"second\":9,\"hashes\":[";
  auto proof = Must(MerkleTree(leaves).ConsistencyProof(7));
  for (size_t i = 0; i < proof.size(); ++i) {
    json += (i ? ",\"" : "\"") + common::ToHex(proof[i]) + "\"";
  }
  return json + "]}";
}

void BundleFactory::Reseal(BundleInput& in, const Ed25519Signer& signer) const {
  auto reseal = [&](BundleBlock& b, const common::Hash& prev) {
    BlockHeader h = Must(BlockHeader::Decode(b.header));
    h.key_id = KeyId(signer.public_key());
    h.prev_block_hash = prev;
    b.header = Must(h.Encode());
    Ed25519Signature sig = Must(SignBlock(h, signer));
    b.signature.assign(sig.begin(), sig.end());
    b.block_hash = Must(BlockHash(h, sig));
    b.tokens = Stamp(b.block_hash, h.sealed_at_us + 100'000);
  };
  reseal(*in.previous_block, common::Hash{});
  reseal(in.block, in.previous_block->block_hash);
  Checkpoint cp = Must(ParseCheckpoint(Must(ParseNote(in.checkpoint)).text));
  in.checkpoint = Must(SignCheckpoint(cp, cp.origin, signer));
  in.keys = {BundleKey{KeyId(signer.public_key()), signer.PublicPem(),
                       Fingerprint(signer.public_key()), kT0 - 3'600'000'000, std::nullopt}};
}

std::string MakeZip(const std::vector<std::pair<std::string, std::string>>& entries) {
  zip_error_t err;
  zip_error_init(&err);
  zip_source_t* src = zip_source_buffer_create(nullptr, 0, 0, &err);
  zip_t* za = zip_open_from_source(src, ZIP_TRUNCATE, &err);
  EXPECT_NE(za, nullptr);
  zip_source_keep(src);
  for (const auto& [name, data] : entries) {
    zip_source_t* fs = zip_source_buffer(za, data.data(), data.size(), 0);
    zip_int64_t idx = zip_file_add(za, name.c_str(), fs, ZIP_FL_ENC_UTF_8);
    EXPECT_GE(idx, 0) << name << ": " << zip_strerror(za);
    if (idx < 0) {
      zip_source_free(fs);
      continue;
    }
    zip_set_file_compression(za, static_cast<zip_uint64_t>(idx), ZIP_CM_DEFLATE, 9);
  }
  EXPECT_EQ(zip_close(za), 0);
  std::string out;
  zip_source_open(src);
  zip_source_seek(src, 0, SEEK_END);
  out.resize(static_cast<size_t>(zip_source_tell(src)));
  zip_source_seek(src, 0, SEEK_SET);
  zip_source_read(src, out.data(), out.size());
  zip_source_close(src);
  zip_source_free(src);
  return out;
}

}  // namespace notary::bundle_test
