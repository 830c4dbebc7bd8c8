// The worked example of docs/evidence-format.md. Every value in the document is pinned here;
// run with NOTARY_PRINT_EVIDENCE_EXAMPLE=1 to print them again after a format change.
#include <gtest/gtest.h>

#include <cstdlib>
#include <iostream>
#include <string>

#include "common/bytes.h"
#include "log/block.h"
#include "log/checkpoint.h"
#include "log/ed25519.h"
#include "log/leaf_record.h"

namespace notary {
namespace {

struct Example {
  std::string public_key, fingerprint, key_id;
  std::string envelope, envelope_digest;
  std::string leaf_record, leaf_hash;
  std::string header, signature, block_hash;
  std::string note, vkey;
};

Example Build() {
  // RFC 8032 §7.1 TEST 1 key, so that anyone can reproduce the signatures.
  const std::string seed =
      *common::FromHex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60");
  Ed25519Signer signer = *Ed25519Signer::FromSeed(common::AsBytes(seed));
  Example ex;
  ex.public_key = common::ToHex(signer.public_key());
  ex.fingerprint = Fingerprint(signer.public_key());
  ex.key_id = KeyId(signer.public_key());

  Envelope env;
  env.mail_from = "alice@example.org";
  env.recipients = {"bob@example.com", "carol@example.com"};
  env.client_ip = "192.0.2.10";
  env.client_port = 52344;
  env.helo = "mail.example.org";
  env.tls_protocol = "TLSv1.3";
  env.tls_cipher = "TLS_AES_256_GCM_SHA384";
  ex.envelope = common::ToHex(common::AsBytes(EncodeEnvelope(env)));
  ex.envelope_digest = common::ToHex(EnvelopeDigest(env));

  LeafRecord leaf;
  leaf.receipt_id = "r-0001";
  leaf.received_at_us = 1764151200123456;  // 2025-11-26T10:00:00.123456Z
  leaf.raw_sha256.fill(0x11);
  leaf.canonical_sha256.fill(0x22);
  leaf.canonical_version = 1;
  leaf.parts_root.fill(0x33);
  leaf.envelope_digest = EnvelopeDigest(env);
  leaf.tenant = "acme";
  for (size_t i = 0; i < leaf.salt.size(); ++i) leaf.salt[i] = static_cast<uint8_t>(i);
  ex.leaf_record = common::ToHex(common::AsBytes(*leaf.Encode()));
  const common::Hash leaf_hash = *leaf.LeafHash();
  ex.leaf_hash = common::ToHex(leaf_hash);

  BlockHeader h;
  h.height = 0;
  h.batch_root = leaf_hash;  // a one-leaf batch: MTH is the leaf hash
  h.first_leaf_index = 0;
  h.leaf_count = 1;
  h.tree_size = 1;
  h.tree_root = leaf_hash;
  h.sealed_at_us = 1764151201000000;  // 2025-11-26T10:00:01Z
  h.key_id = ex.key_id;
  ex.header = common::ToHex(common::AsBytes(*h.Encode()));
  const Ed25519Signature sig = *SignBlock(h, signer);
  ex.signature = common::ToHex(sig);
  ex.block_hash = common::ToHex(*BlockHash(h, sig));

  Checkpoint cp{"notary.example.com/log", 1, leaf_hash, {}};
  ex.note = *SignCheckpoint(cp, cp.origin, signer);
  ex.vkey = MakeNoteVerifierKey(cp.origin, signer.public_key())->ToString();
  return ex;
}

TEST(EvidenceExampleTest, DocumentedValuesAreWhatTheCodeProduces) {
  const Example ex = Build();
  if (std::getenv("NOTARY_PRINT_EVIDENCE_EXAMPLE") != nullptr) {
    std::cout << "public_key " << ex.public_key << "\nfingerprint " << ex.fingerprint << "\nkey_id "
              << ex.key_id << "\nenvelope " << ex.envelope << "\nenvelope_digest "
              << ex.envelope_digest << "\nleaf_record " << ex.leaf_record << "\nleaf_hash "
              << ex.leaf_hash << "\nheader " << ex.header << "\nsignature " << ex.signature
              << "\nblock_hash " << ex.block_hash << "\nvkey " << ex.vkey << "\nnote\n"
              << ex.note;
  }
  EXPECT_EQ(ex.public_key, "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
  EXPECT_EQ(ex.fingerprint, "06e3fd8fda29bb60ab59557de61edb0aecdb231134be30e75b455f8e1b792fa9");
  EXPECT_EQ(ex.key_id, "06e3fd8fda29bb60");
  EXPECT_EQ(ex.envelope,
            "656d61696c2d6e6f746172792f656e76656c6f70652f76310a00000011616c696365406578616d70"
            "6c652e6f7267000000020000000f626f62406578616d706c652e636f6d000000116361726f6c4065"
            "78616d706c652e636f6d0000000a3139322e302e322e3130cc78000000106d61696c2e6578616d70"
            "6c652e6f726700000007544c5376312e3300000016544c535f4145535f3235365f47434d5f534841"
            "333834");
  EXPECT_EQ(ex.envelope_digest, "10e65043b6c8b7c4923d591cb65ba1e56641a330ea0c61120a128f8e2a2906f9");
  EXPECT_EQ(ex.leaf_record,
            "656d61696c2d6e6f746172792f6c6561660a0000000100000006722d303030310006447c759d0a40"
            "11111111111111111111111111111111111111111111111111111111111111112222222222222222"
            "22222222222222222222222222222222222222222222222200000001333333333333333333333333"
            "333333333333333333333333333333333333333310e65043b6c8b7c4923d591cb65ba1e56641a330"
            "ea0c61120a128f8e2a2906f90000000461636d65000102030405060708090a0b0c0d0e0f10111213"
            "1415161718191a1b1c1d1e1f");
  EXPECT_EQ(ex.leaf_hash, "7c954bd4208f2071a133bacd6f80592773e7386201d322acd6a18650b233c35d");
  EXPECT_EQ(ex.header,
            "00000001000000000000000000000000000000000000000000000000000000000000000000000000"
            "000000007c954bd4208f2071a133bacd6f80592773e7386201d322acd6a18650b233c35d00000000"
            "00000000000000000000000100000000000000017c954bd4208f2071a133bacd6f80592773e73862"
            "01d322acd6a18650b233c35d0006447c75aa6a400000001030366533666438666461323962623630");
  EXPECT_EQ(ex.signature,
            "8deaf4dfcf833dd29e86750060cc10380e671e1ccb898bbffcfc26af85a50a3eda2927734111bccc"
            "bbd3aae08237e22a7944147ac78f791f6664582d7d73c204");
  EXPECT_EQ(ex.block_hash, "e8078db3016e4558f43eeaf54905bb2faad34837dfc1d731f47ced54400e9d48");
  EXPECT_EQ(ex.vkey,
            "notary.example.com/log+17743c16+AddamAGCsQq31Uv+08lkBzoO4XLz2qYjJa8CGmj3B1Ea");
  EXPECT_EQ(ex.note,
            "notary.example.com/log\n"
            "1\n"
            "fJVL1CCPIHGhM7rNb4BZJ3PnOGIB0yKs1qGGULIzw10=\n"
            "\n"
            "\xE2\x80\x94 notary.example.com/log "
            "F3Q8FoMLwTHrRkf4QaxC/"
            "L0o+hLcqly7X+ZDnTW7Pqv77uY5bZxL1HcfntmQ7BkMp7iqv2SNFezYHaSgrP3uc0ywdgo=\n");
}

// The version 2 leaf record of docs/evidence-format.md: the same receipt, received on the SMTP
// listener (nothing stated by an API key, no journal report).
TEST(EvidenceExampleTest, LeafRecordVersionTwoIsPinned) {
  LeafRecord leaf;
  leaf.format_version = 2;
  leaf.receipt_id = "r-0001";
  leaf.received_at_us = 1764151200123456;
  leaf.raw_sha256.fill(0x11);
  leaf.canonical_sha256.fill(0x22);
  leaf.canonical_version = 2;
  leaf.parts_root.fill(0x33);
  leaf.envelope_digest =
      *common::HashFromHex("10e65043b6c8b7c4923d591cb65ba1e56641a330ea0c61120a128f8e2a2906f9");
  leaf.tenant = "acme";
  leaf.provenance.source = "smtp";
  leaf.provenance.listener = "smtp:192.0.2.1:25";
  leaf.provenance.node = "notary-1";
  for (size_t i = 0; i < leaf.salt.size(); ++i) leaf.salt[i] = static_cast<uint8_t>(i);
  const std::string record = common::ToHex(common::AsBytes(*leaf.Encode()));
  const std::string hash = common::ToHex(*leaf.LeafHash());
  if (std::getenv("NOTARY_PRINT_EVIDENCE_EXAMPLE") != nullptr) {
    std::cout << "leaf_record_v2 " << record << "\nleaf_hash_v2 " << hash << "\n";
  }
  EXPECT_EQ(record,
            "656d61696c2d6e6f746172792f6c6561660a0000000200000006722d303030310006447c759d0a40"
            "11111111111111111111111111111111111111111111111111111111111111112222222222222222"
            "22222222222222222222222222222222222222222222222200000002333333333333333333333333"
            "333333333333333333333333333333333333333310e65043b6c8b7c4923d591cb65ba1e56641a330"
            "ea0c61120a128f8e2a2906f90000000461636d6500000004736d747000000011736d74703a313932"
            "2e302e322e313a3235000000086e6f746172792d3100000000000000000000000000000000000000"
            "0000000000000000000000000000000000000000000000000000000000000102030405060708090a"
            "0b0c0d0e0f101112131415161718191a1b1c1d1e1f");
  EXPECT_EQ(hash, "39585d612921e96272aadf9b602fbb3a9494b4e2a937d132c5c523b71cb6f91a");
}

}  // namespace
}  // namespace notary
