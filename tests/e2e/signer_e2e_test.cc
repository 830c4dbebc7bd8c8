// notaryd signing through notary-signer (issue 20): bundles made through the signer verify with
// the fingerprint `notaryctl keys list` prints, with the key in files or in a SoftHSM2 token
// that will not export it; notaryd's data directory holds no log key; a signer killed with
// kill -9 while mail flows pauses sealing and, restarted, lets it catch up without gap or double
// height; a second log that does not extend the signer's last block is refused, and the refusal
// is logged; a rotation through the signer keeps old bundles verifying.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <thread>

#include "notaryd_process.h"
#include "signer_process.h"
#include "support/test_support.h"

namespace {

using nlohmann::json;
using testsupport::Psql;
using testsupport::RunCommand;
using testsupport::WaitUntil;

std::string VerifyBin() { return testsupport::BinaryDir() + "/cli/notary-verify"; }

int64_t Count(const std::string& url, const std::string& sql) {
  return std::atoll(Psql(url, sql).c_str());
}

// Sends `n` messages with Postfix's smtp-source over `sessions` sessions.
testsupport::CommandResult SmtpSource(int port, int n, int sessions, int size = 2000) {
  return RunCommand({"/usr/sbin/smtp-source", "-c", "-s", std::to_string(sessions), "-m",
                     std::to_string(n), "-l", std::to_string(size), "-f", "load@example.com", "-t",
                     "sink@example.org", "127.0.0.1:" + std::to_string(port)},
                    "", 300);
}

// One message through swaks; its receipt id, or "" (the reply is in `out`).
std::string SendOne(const e2e::NotarydProcess& node, const std::string& subject,
                    std::string* out = nullptr) {
  auto r = RunCommand({"swaks", "--server", "127.0.0.1:" + std::to_string(node.smtp_port()),
                       "--from", "a@example.com", "--to", "b@example.org", "--header",
                       "Subject: " + subject, "--body", "signed through notary-signer"});
  if (out) *out = r.out;
  std::smatch m;
  if (!std::regex_search(r.out, m, std::regex("notarised id=([0-9a-f-]{36})"))) return "";
  return m[1];
}

json Readyz(const e2e::NotarydProcess& node) {
  auto r = RunCommand({"curl", "-s", node.Http("/readyz")});
  return json::parse(r.out, nullptr, /*allow_exceptions=*/false);
}

// The value of an unlabelled metric, or -1 when it is absent.
double Metric(const e2e::NotarydProcess& node, const std::string& name) {
  std::istringstream in(RunCommand({"curl", "-s", node.Http("/metrics")}).out);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(name + " ", 0) == 0) return std::atof(line.c_str() + name.size() + 1);
  }
  return -1;
}

int CountOf(const std::string& text, const std::string& needle) {
  int n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) {
    ++n;
  }
  return n;
}

// A row of `notaryctl keys list`.
struct KeyRow {
  std::string key_id, algorithm, fingerprint, valid_from, valid_until, where;
};

// Files under notaryd's data directory that hold a private key: a signing_key*.pem by name, or
// any file whose contents say "PRIVATE KEY" (a recursive grep, as the issue asks).
std::vector<std::string> PrivateKeysUnder(const std::string& data_dir) {
  std::vector<std::string> found;
  namespace fs = std::filesystem;
  for (auto it = fs::recursive_directory_iterator(data_dir); it != fs::end(it); ++it) {
    const fs::path rel = fs::relative(it->path(), data_dir);
    if (!it->is_regular_file()) continue;
    const std::string name = it->path().filename().string();
    if (name.rfind("signing_key", 0) == 0 ||
        testsupport::ReadFile(it->path().string()).find("PRIVATE KEY") != std::string::npos) {
      found.push_back(rel.string());
    }
  }
  return found;
}

class SignerE2eTest : public ::testing::Test {
 protected:
  std::vector<std::string> SignerFlag() { return {"--signer", signer_->address()}; }

  // Starts the signer (files, or `token`'s flags) and a notaryd that signs through it.
  void StartBoth(std::vector<std::string> signer_flags = {}, std::vector<std::string> env = {}) {
    signer_ = std::make_unique<e2e::SignerProcess>(dir_ + "/signer", signer_flags, env);
    ASSERT_TRUE(signer_->Start()) << signer_->Log();
    node_ = std::make_unique<e2e::NotarydProcess>(db_.AppUrl(), db_.OwnerUrl(), dir_ + "/data",
                                                  SignerFlag());
    ASSERT_TRUE(node_->ready()) << node_->Log();
    api_key_ = e2e::MakeKey(db_.AppUrl(), "default", "ingest,read");
    ASSERT_FALSE(api_key_.empty());
  }

  // Downloads message `id`'s bundle to `out`, waiting for its seal; the HTTP status.
  int Download(const std::string& id, const std::string& out) {
    auto r = RunCommand({"curl", "-s", "-o", out, "-w", "%{http_code}", "-H",
                         "Authorization: Bearer " + api_key_,
                         node_->Http("/v1/messages/" + id + "/evidence?wait=30&certificate=pdf")});
    return std::atoi(r.out.c_str());
  }

  // What pdfsig says of the certificate.pdf inside bundle `zip` ("" without one).
  std::string BundlePdfSig(const std::string& zip) {
    const std::string out = zip + ".d";
    if (RunCommand({"unzip", "-qo", zip, "certificate.pdf", "-d", out}).exit_code != 0) return "";
    return RunCommand({"pdfsig", out + "/certificate.pdf"}).out;
  }

  // The built-in TSA's root, pinned for notary-verify as an operator takes it: `notaryctl
  // tsa-ca`, which reads data/tsa/ca.pem while notaryd holds the TSA key, else the root (last
  // certificate) of the chain notaryd keeps of the signer's TSA.
  std::vector<std::string> TsaCaFlag() {
    if (!std::filesystem::exists(dir_ + "/data/tsa/ca.pem") &&
        !std::filesystem::exists(dir_ + "/data/tsa/signer-chain.pem")) {
      return {};
    }
    auto r = RunCommand({"sh", "-c",
                         "'" + e2e::NotaryctlBinary() + "' --data-dir '" + dir_ +
                             "/data' tsa-ca > '" + dir_ + "/tsa-root.pem'"});
    EXPECT_EQ(r.exit_code, 0) << r.out;
    return {"--tsa-ca", dir_ + "/tsa-root.pem"};
  }

  testsupport::CommandResult Verify(const std::string& bundle, const std::string& fingerprint,
                                    const std::string& also = "") {
    std::vector<std::string> argv = {VerifyBin(), bundle, "--fingerprint", fingerprint};
    if (!also.empty()) argv.insert(argv.end(), {"--fingerprint", also});
    for (const std::string& a : TsaCaFlag()) argv.push_back(a);
    return RunCommand(argv);
  }

  testsupport::CommandResult Notaryctl(const std::vector<std::string>& args,
                                       const std::string& url = "") {
    std::vector<std::string> argv = {e2e::NotaryctlBinary(), "--database-url",
                                     url.empty() ? db_.AppUrl() : url};
    argv.insert(argv.end(), args.begin(), args.end());
    return RunCommand(argv);
  }

  // `notaryctl keys --signer ... list`, parsed; fails the test on a bad table.
  std::vector<KeyRow> KeysList() {
    auto r = Notaryctl({"keys", "--signer", signer_->address(), "list"});
    EXPECT_EQ(r.exit_code, 0) << r.out;
    std::vector<KeyRow> rows;
    std::istringstream in(r.out);
    std::string line;
    std::getline(in, line);
    EXPECT_EQ(line, "KEY_ID\tALGORITHM\tFINGERPRINT\tVALID_FROM\tVALID_UNTIL\tWHERE") << r.out;
    while (std::getline(in, line)) {
      std::vector<std::string> f;
      std::istringstream cols(line);
      for (std::string c; std::getline(cols, c, '\t');) f.push_back(c);
      EXPECT_EQ(f.size(), 6u) << line;
      if (f.size() == 6) rows.push_back({f[0], f[1], f[2], f[3], f[4], f[5]});
    }
    return rows;
  }

  testsupport::CommandResult Audit() { return Notaryctl({"audit", "--quiet"}); }

  // One message through the signer, its bundle downloaded and verified with the fingerprint
  // keys list prints for the one key; WHERE names the signer. Returns WHERE.
  std::string BundleVerifiesWithListedFingerprint() {
    const std::string id = SendOne(*node_, "through the signer");
    EXPECT_FALSE(id.empty());
    EXPECT_EQ(Download(id, dir_ + "/e.zip"), 200) << node_->Log() << signer_->Log();
    auto rows = KeysList();
    EXPECT_EQ(rows.size(), 1u);
    if (rows.size() != 1) return "";
    EXPECT_EQ(rows[0].algorithm, "ed25519");
    EXPECT_EQ(rows[0].valid_until, "-");
    EXPECT_EQ(rows[0].where.rfind("notary-signer", 0), 0u) << rows[0].where;
    auto v = Verify(dir_ + "/e.zip", rows[0].fingerprint);
    EXPECT_EQ(v.exit_code, 0) << v.out;
    EXPECT_NE(v.out.find("VERDICT: VALID"), std::string::npos) << v.out;
    // The check bites: another fingerprint does not verify the same bundle.
    std::string other = rows[0].fingerprint;
    other[0] = other[0] == '0' ? '1' : '0';
    EXPECT_NE(Verify(dir_ + "/e.zip", other).exit_code, 0);
    EXPECT_EQ(PrivateKeysUnder(dir_ + "/data"), std::vector<std::string>{});
    return rows[0].where;
  }

  testsupport::TestDatabase db_;
  std::string dir_ = testsupport::MakeTempDir("signer-e2e");
  std::unique_ptr<e2e::SignerProcess> signer_;
  std::unique_ptr<e2e::NotarydProcess> node_;
  std::string api_key_;
};

TEST_F(SignerE2eTest, BundleThroughTheSignerVerifiesWithTheFingerprintOfKeysList) {
  StartBoth();
  if (HasFatalFailure()) return;
  const std::string where = BundleVerifiesWithListedFingerprint();
  // The key is the signer's, in a file of its state directory.
  EXPECT_NE(where.find(dir_ + "/signer/state"), std::string::npos) << where;
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/data/signing_key.pem"));
  // So is the tenant's key pair for encryption at rest: the bundle's bytes were sealed with
  // its public half and opened by the signer (docs/retention.md).
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/data/keks.d"));
  EXPECT_TRUE(std::filesystem::exists(dir_ + "/signer/state/keks.d/default.kek.1"));
  EXPECT_EQ(testsupport::Psql(db_.SuperUrl(), "SELECT count(*) > 0 FROM sealed_blobs"), "t");
  EXPECT_EQ(testsupport::Psql(db_.SuperUrl(), "SELECT count(*) FROM message_blobs"), "0");
}

TEST_F(SignerE2eTest, BundleThroughASoftHsmKeyVerifiesAndTheKeyCannotLeaveTheToken) {
  e2e::SoftHsmToken token("notary e2e");
  ASSERT_TRUE(token.ok()) << token.init_output();
  StartBoth(token.SignerFlags("notary-log"), {token.Env()});
  if (HasFatalFailure()) return;
  const std::string where = BundleVerifiesWithListedFingerprint();
  EXPECT_NE(where.find("pkcs11:"), std::string::npos) << where;

  auto listing = RunCommand({"env", token.Env(), "pkcs11-tool", "--module", e2e::kSoftHsmModule,
                             "--token-label", token.label(), "--login", "--pin", token.pin(),
                             "--list-objects"});
  ASSERT_EQ(listing.exit_code, 0) << listing.out;
  // The private key object labelled notary-log: sensitive and never extractable.
  std::istringstream in(listing.out);
  std::string block, line, found;
  auto close_block = [&] {
    if (block.rfind("Private Key Object", 0) == 0 &&
        block.find("label:      notary-log\n") != std::string::npos) {
      found = block;
    }
    block.clear();
  };
  while (std::getline(in, line)) {
    if (!line.empty() && line[0] != ' ') close_block();
    block += line + "\n";
  }
  close_block();
  ASSERT_FALSE(found.empty()) << listing.out;
  std::smatch access;
  ASSERT_TRUE(std::regex_search(found, access, std::regex("Access: *([^\n]*)"))) << found;
  const std::string a = access[1];
  EXPECT_TRUE(a == "sensitive" || a.rfind("sensitive,", 0) == 0) << found;
  EXPECT_NE(a.find("never extractable"), std::string::npos) << found;
  // and "extractable" nowhere else on the line
  EXPECT_EQ(std::regex_replace(a, std::regex("never extractable"), "").find("extractable"),
            std::string::npos)
      << found;
}

TEST_F(SignerE2eTest, SignerKilledWhileMailFlowsEveryAcceptedMessageIsSealedOnALinearChain) {
  StartBoth();
  if (HasFatalFailure()) return;
  constexpr int kMessages = 2000;
  std::atomic<bool> load_done{false};
  testsupport::CommandResult load;
  std::jthread sender([&] {
    load = SmtpSource(node_->smtp_port(), kMessages, 4);
    load_done = true;
  });
  const std::string super = db_.SuperUrl();
  int kills_while_flowing = 0;
  int64_t leaves_at_restart = 0;
  for (int round = 0; round < 2; ++round) {
    // Sealing runs through the signer: more leaves than while it was down (or, should the load
    // have ended and been sealed already, nothing left to seal).
    ASSERT_TRUE(WaitUntil(
        [&] {
          const int64_t leaves = Count(super, "SELECT count(*) FROM leaves");
          if (load_done && Count(super, "SELECT count(*) FROM pending") == 0) return true;
          return leaves > leaves_at_restart &&
                 (round > 0 || Count(super, "SELECT count(*) FROM receipts") >= 100);
        },
        std::chrono::seconds(60)))
        << "round " << round << node_->Log();
    if (!load_done) ++kills_while_flowing;
    signer_->Kill(SIGKILL);
    // Sealing visibly paused: readyz and the metric say so.
    EXPECT_TRUE(WaitUntil(
        [&] {
          auto r = Readyz(*node_);
          return r.is_object() && r.value("signer", "") == "unreachable" &&
                 r.value("sealing", "") == "paused" && Metric(*node_, "signer_up") == 0;
        },
        std::chrono::seconds(30)))
        << Readyz(*node_).dump() << node_->Log();
    // Mail is still taken while nothing is sealed.
    leaves_at_restart = Count(super, "SELECT count(*) FROM leaves");
    const int64_t receipts_down = Count(super, "SELECT count(*) FROM receipts");
    EXPECT_TRUE(WaitUntil(
        [&] { return load_done || Count(super, "SELECT count(*) FROM receipts") > receipts_down; },
        std::chrono::seconds(30)));
    EXPECT_EQ(Count(super, "SELECT count(*) FROM leaves"), leaves_at_restart)
        << "sealed without the signer";
    ASSERT_TRUE(signer_->Start()) << signer_->Log();
  }
  sender.join();
  EXPECT_GE(kills_while_flowing, 1) << "the load ended before the first kill";
  std::cout << "kills while mail flowed: " << kills_while_flowing << " of 2\n";
  ASSERT_EQ(load.exit_code, 0) << load.out;
  EXPECT_GE(Metric(*node_, "signer_unavailable_total"), 1);

  const int64_t receipts = Count(super, "SELECT count(*) FROM receipts");
  EXPECT_EQ(receipts, kMessages);
  ASSERT_TRUE(WaitUntil([&] { return Count(super, "SELECT count(*) FROM pending") == 0; },
                        std::chrono::seconds(60)))
      << node_->Log() << signer_->Log();
  EXPECT_EQ(Count(super, "SELECT count(*) FROM leaves"), receipts);
  EXPECT_EQ(Count(super, "SELECT count(DISTINCT receipt_id) FROM leaves"), receipts);
  EXPECT_EQ(Count(super, "SELECT coalesce(max(leaf_index) + 1, 0) FROM leaves"), receipts);
  // Heights 0..N, each once.
  EXPECT_EQ(Count(super, "SELECT count(DISTINCT height) - count(*) FROM blocks"), 0);
  EXPECT_EQ(Count(super, "SELECT coalesce(max(height) + 1, 0) - count(*) FROM blocks"), 0);
  EXPECT_EQ(Count(super, "SELECT coalesce(min(height), 0) FROM blocks"), 0);
  EXPECT_EQ(Count(super, "SELECT coalesce(sum(leaf_count), 0) FROM blocks"), receipts);
  // A block signed just before a kill may have missed its local time-stamp: fetched again.
  EXPECT_TRUE(WaitUntil(
      [&] {
        return Count(super,
                     "SELECT count(*) FROM blocks b WHERE NOT EXISTS (SELECT 1 FROM "
                     "timestamp_tokens t WHERE t.block_height = b.height)") == 0;
      },
      std::chrono::seconds(60)))
      << Psql(super, "SELECT block_height, tsa, attempts, last_error FROM tsa_pending");
  auto audit = Audit();
  EXPECT_EQ(audit.exit_code, 0) << audit.out;
  EXPECT_TRUE(WaitUntil(
      [&] {
        auto r = Readyz(*node_);
        return r.is_object() && r.value("signer", "") == "reachable" &&
               r.value("sealing", "") == "running";
      },
      std::chrono::seconds(30)))
      << Readyz(*node_).dump();
  EXPECT_EQ(Metric(*node_, "signer_up"), 1);
}

TEST_F(SignerE2eTest, ASecondLogThatDoesNotExtendTheSignersLastBlockIsRefusedAndLogged) {
  StartBoth();
  if (HasFatalFailure()) return;
  // Two blocks at least, so that the signer's last height is past 0.
  for (int batch = 1; batch <= 2; ++batch) {
    ASSERT_EQ(SmtpSource(node_->smtp_port(), 5, 1).exit_code, 0);
    ASSERT_TRUE(
        WaitUntil([&] { return Count(db_.SuperUrl(), "SELECT count(*) FROM leaves") == 5 * batch; },
                  std::chrono::seconds(30)))
        << node_->Log();
  }
  const int64_t last_height = Count(db_.SuperUrl(), "SELECT max(height) FROM blocks");
  ASSERT_GE(last_height, 1);
  node_->Stop();
  EXPECT_EQ(CountOf(signer_->Log(), "event=signer_refused"), 0) << signer_->Log();

  testsupport::TestDatabase fresh;
  e2e::NotarydProcess second(fresh.AppUrl(), fresh.OwnerUrl(), dir_ + "/data2", SignerFlag(), "b");
  ASSERT_TRUE(second.ready()) << second.Log();
  ASSERT_EQ(SmtpSource(second.smtp_port(), 5, 1).exit_code, 0);  // mail is still taken
  // Several seal attempts, each refused and logged by the signer.
  EXPECT_TRUE(WaitUntil([&] { return CountOf(signer_->Log(), "event=signer_refused") >= 3; },
                        std::chrono::seconds(30)))
      << signer_->Log();
  EXPECT_EQ(Count(fresh.SuperUrl(), "SELECT count(*) FROM blocks"), 0) << second.Log();
  EXPECT_EQ(Count(fresh.SuperUrl(), "SELECT count(*) FROM leaves"), 0);
  EXPECT_EQ(Count(fresh.SuperUrl(), "SELECT count(*) FROM pending"), 5);
  EXPECT_GE(Metric(second, "signer_refusals_total"), 1);
  // Reachable but refusing: readyz says sealing is refused, not running.
  EXPECT_TRUE(WaitUntil([&] { return Readyz(second).value("sealing", "") == "refused"; },
                        std::chrono::seconds(30)))
      << Readyz(second).dump();
  EXPECT_EQ(Readyz(second).value("signer", ""), "reachable");
  std::smatch m;
  const std::string log = signer_->Log();
  ASSERT_TRUE(std::regex_search(log, m, std::regex("event=signer_refused [^\n]*reason=\"[^\"]+\"")))
      << log;
  std::cout << "signer refusal: " << m[0] << "\n";
  // The first log's chain is untouched by all this.
  auto audit = Audit();
  EXPECT_EQ(audit.exit_code, 0) << audit.out;
  EXPECT_EQ(Count(db_.SuperUrl(), "SELECT max(height) FROM blocks"), last_height);
  second.Stop();
}

TEST_F(SignerE2eTest, RotationThroughTheSignerKeepsOldBundlesVerifying) {
  StartBoth();
  if (HasFatalFailure()) return;
  const std::string before = SendOne(*node_, "before rotation");
  ASSERT_FALSE(before.empty());
  ASSERT_EQ(Download(before, dir_ + "/before.zip"), 200) << node_->Log();
  auto one = KeysList();
  ASSERT_EQ(one.size(), 1u);

  auto rotated = Notaryctl({"keys", "--signer", signer_->address(), "rotate"});
  ASSERT_EQ(rotated.exit_code, 0) << rotated.out;
  EXPECT_NE(rotated.out.find("new signing key"), std::string::npos) << rotated.out;

  ASSERT_EQ(SmtpSource(node_->smtp_port(), 20, 2).exit_code, 0);
  const std::string after = SendOne(*node_, "after rotation");
  ASSERT_FALSE(after.empty());
  ASSERT_EQ(Download(after, dir_ + "/after.zip"), 200) << node_->Log() << signer_->Log();

  auto two = KeysList();
  ASSERT_EQ(two.size(), 2u);
  const KeyRow* old_key = nullptr;
  const KeyRow* new_key = nullptr;
  for (const KeyRow& k : two) (k.key_id == one[0].key_id ? old_key : new_key) = &k;
  ASSERT_NE(old_key, nullptr);
  ASSERT_NE(new_key, nullptr);
  EXPECT_NE(old_key->valid_until, "-");
  EXPECT_EQ(new_key->valid_until, "-");
  EXPECT_NE(old_key->fingerprint, new_key->fingerprint);
  EXPECT_EQ(old_key->where.rfind("notary-signer", 0), 0u) << old_key->where;
  EXPECT_EQ(new_key->where.rfind("notary-signer", 0), 0u) << new_key->where;

  auto v_before = Verify(dir_ + "/before.zip", old_key->fingerprint);
  EXPECT_EQ(v_before.exit_code, 0) << v_before.out;
  // A judge pins both keys after a rotation (docs/verifying.md): the message may be in the
  // first block of the new key, whose previous block (also checked) the old key signed.
  auto v_after = Verify(dir_ + "/after.zip", new_key->fingerprint, old_key->fingerprint);
  EXPECT_EQ(v_after.exit_code, 0) << v_after.out;
  // Each bundle is signed by its own key, not the other.
  EXPECT_NE(Verify(dir_ + "/before.zip", new_key->fingerprint).exit_code, 0);
  EXPECT_NE(Verify(dir_ + "/after.zip", old_key->fingerprint).exit_code, 0);
  auto audit = Audit();
  EXPECT_EQ(audit.exit_code, 0) << audit.out;
  EXPECT_EQ(PrivateKeysUnder(dir_ + "/data"), std::vector<std::string>{});
}

// notaryd killed between the signer's answer and its commit: the signer has signed block H+1,
// the database holds H. The next notaryd's block H+1 is not the one signed (another time), is
// refused, and is rebuilt as signed (same leaves, same time): the chain goes on, no gap.
TEST_F(SignerE2eTest, NotarydKilledAfterTheSignerSignedRebuildsTheSignedBlock) {
  StartBoth();
  if (HasFatalFailure()) return;
  const std::string super = db_.SuperUrl();
  ASSERT_EQ(SmtpSource(node_->smtp_port(), 5, 1).exit_code, 0);
  ASSERT_TRUE(WaitUntil([&] { return Count(super, "SELECT count(*) FROM pending") == 0; },
                        std::chrono::seconds(30)));
  // The signer stops the moment it has signed block head+1, before notaryd's next request
  // (checkpoint or time-stamp) is answered: notaryd waits there, uncommitted, and is killed.
  // The stop follows the signer's log line through a pipe, so notaryd may still get its
  // answers first and commit (the window is missed): then the signer goes on and the next
  // block is tried, a few times.
  int64_t head = -1, committed = -1;
  std::string next;
  for (int attempt = 0; attempt < 8; ++attempt) {
    head = Count(super, "SELECT max(height) FROM blocks");
    next = std::to_string(head + 1);
    std::jthread load([&] { SmtpSource(node_->smtp_port(), 20, 1); });
    auto signed_line = signer_->WaitForLine("event=signer_signed_block height=" + next + " ",
                                            std::chrono::seconds(30));
    signer_->Signal(SIGSTOP);
    ASSERT_TRUE(signed_line.has_value()) << signer_->Log();
    committed = Count(super, "SELECT max(height) FROM blocks");
    if (committed == head) {
      node_->Kill(SIGKILL);
      signer_->Signal(SIGCONT);
      break;
    }
    signer_->Signal(SIGCONT);
    load.join();
    ASSERT_TRUE(WaitUntil([&] { return Count(super, "SELECT count(*) FROM pending") == 0; },
                          std::chrono::seconds(30)));
  }
  ASSERT_EQ(committed, head) << "notaryd committed the signed block before it was stopped, "
                                "every time: the window was missed";
  ASSERT_EQ(Count(super, "SELECT max(height) FROM blocks"), head);

  e2e::NotarydProcess again(db_.AppUrl(), db_.OwnerUrl(), dir_ + "/data", SignerFlag());
  ASSERT_TRUE(again.ready()) << again.Log();
  ASSERT_EQ(SmtpSource(again.smtp_port(), 5, 1).exit_code, 0);
  ASSERT_TRUE(WaitUntil([&] { return Count(super, "SELECT count(*) FROM pending") == 0; },
                        std::chrono::seconds(60)))
      << again.Log() << signer_->Log();
  EXPECT_NE(again.Log().find("event=seal_replay height=" + next + " "), std::string::npos)
      << again.Log();
  EXPECT_NE(signer_->Log().find("event=signer_signed_block height=" + next + " key_id="),
            std::string::npos);
  const int64_t receipts = Count(super, "SELECT count(*) FROM receipts");
  EXPECT_EQ(Count(super, "SELECT count(*) FROM leaves"), receipts);
  EXPECT_EQ(Count(super, "SELECT coalesce(max(height) + 1, 0) - count(*) FROM blocks"), 0);
  EXPECT_EQ(Count(super, "SELECT coalesce(sum(leaf_count), 0) FROM blocks"), receipts);
  auto audit = Audit();
  EXPECT_EQ(audit.exit_code, 0) << audit.out;
  again.Stop();
}

// The signer runs as its own user and only its socket's group can ask: started as root with
// --user and --socket-group, it drops to that user for good, its socket is mode 0660 in that
// group, a user outside the group cannot even connect, a member of the group can.
TEST_F(SignerE2eTest, TheSignerRunsAsItsOwnUserAndOnlyItsGroupReachesIt) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to start the signer as another user";
  const std::string dir = dir_ + "/own-user";
  e2e::SignerProcess signer(dir, {"--user", "nobody", "--socket-group", "nogroup"});
  // Others may traverse to the socket: the socket's own mode is the only gate tested.
  std::filesystem::permissions(dir_, std::filesystem::perms::others_exec,
                               std::filesystem::perm_options::add);
  std::filesystem::permissions(dir, std::filesystem::perms::others_exec,
                               std::filesystem::perm_options::add);
  ASSERT_TRUE(signer.Start()) << signer.Log();

  struct stat sb {};
  ASSERT_EQ(::stat(signer.socket().c_str(), &sb), 0);
  EXPECT_TRUE(S_ISSOCK(sb.st_mode));
  EXPECT_EQ(sb.st_mode & 0777, 0660u);
  EXPECT_EQ(sb.st_gid, 65534u);  // nogroup
  // The process's real, effective and saved uids are all nobody's.
  const std::string status =
      testsupport::ReadFile("/proc/" + std::to_string(signer.pid()) + "/status");
  EXPECT_NE(status.find("Uid:\t65534\t65534\t65534\t65534"), std::string::npos) << status;

  const std::string connect =
      "import socket; s = socket.socket(socket.AF_UNIX); s.connect('" + signer.socket() + "')";
  auto outsider = RunCommand({"runuser", "-u", "daemon", "--", "/usr/bin/python3", "-c", connect});
  EXPECT_NE(outsider.exit_code, 0);
  EXPECT_NE(outsider.out.find("PermissionError"), std::string::npos) << outsider.out;
  auto member = RunCommand(
      {"runuser", "-u", "daemon", "-g", "nogroup", "--", "/usr/bin/python3", "-c", connect});
  EXPECT_EQ(member.exit_code, 0) << member.out;
}

// The signer's state guards itself: a second signer on the same state folder is refused (it
// would keep its own last block and could sign a different one at the same height); a state
// that lost its record of what was signed is refused until the operator says so; ListKeys of
// a running signer is refused for the same reason as a second signer.
TEST_F(SignerE2eTest, TheSignersStateAllowsOneSignerAndRefusesALostRecord) {
  const std::string dir = dir_ + "/guard";
  e2e::SignerProcess first(dir);
  ASSERT_TRUE(first.Start()) << first.Log();
  auto second =
      RunCommand({testsupport::BinaryDir() + "/signer/notary-signer", "--state-dir", dir + "/state",
                  "--origin", "notary.test/log", "--socket", dir + "/second.sock"});
  EXPECT_NE(second.exit_code, 0);
  EXPECT_NE(second.out.find("another notary-signer uses"), std::string::npos) << second.out;
  first.Stop();

  std::filesystem::remove(dir + "/state/policy");
  auto lost = first.ListKeys();
  EXPECT_NE(lost.exit_code, 0);
  EXPECT_NE(lost.out.find("policy is missing while keys exist"), std::string::npos) << lost.out;
  auto accepted =
      RunCommand({testsupport::BinaryDir() + "/signer/notary-signer", "--state-dir", dir + "/state",
                  "--origin", "notary.test/log", "--list-keys", "--accept-first-block"});
  EXPECT_EQ(accepted.exit_code, 0) << accepted.out;
  EXPECT_EQ(first.ListKeys().exit_code, 0) << "the record exists again";
}

// With notary-signer the operator's document key is the signer's (--document-key there):
// notaryd, given only the certificate, has certificate.pdf signed through the socket, and
// pdfsig finds the signature valid over the whole document. notaryd refuses the key itself
// beside --signer, and the signer refuses to sign attributes of any other kind.
TEST_F(SignerE2eTest, TheDocumentKeyStaysInTheSigner) {
  const std::string keys = dir_ + "/document";
  std::filesystem::create_directories(keys);
  ASSERT_EQ(RunCommand({"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
                        keys + "/doc.key", "-out", keys + "/doc.pem", "-days", "30", "-subj",
                        "/CN=Signer Held Document Key"})
                .exit_code,
            0);
  ::chmod((keys + "/doc.key").c_str(), 0600);
  signer_ = std::make_unique<e2e::SignerProcess>(
      dir_ + "/signer", std::vector<std::string>{"--document-key", keys + "/doc.key",
                                                 "--document-cert", keys + "/doc.pem"});
  ASSERT_TRUE(signer_->Start()) << signer_->Log();
  std::vector<std::string> flags = SignerFlag();
  flags.insert(flags.end(), {"--document-cert", keys + "/doc.pem", "--operator-name", "Op"});
  node_ =
      std::make_unique<e2e::NotarydProcess>(db_.AppUrl(), db_.OwnerUrl(), dir_ + "/data", flags);
  ASSERT_TRUE(node_->ready()) << node_->Log();
  api_key_ = e2e::MakeKey(db_.AppUrl(), "default", "ingest,read,cases");
  std::string sent;
  const std::string id = SendOne(*node_, "document", &sent);
  ASSERT_FALSE(id.empty()) << sent;
  ASSERT_EQ(Download(id, dir_ + "/bundle.zip"), 200);
  // The bundle's own certificate.pdf is signed through the signer too.
  EXPECT_NE(BundlePdfSig(dir_ + "/bundle.zip").find("Signature Validation: Signature is Valid."),
            std::string::npos);
  auto Post = [&](const std::string& path, const json& body) {
    return RunCommand({"curl", "-s", "-H", "Authorization: Bearer " + api_key_, "-H",
                       "Content-Type: application/json", "--data-binary", body.dump(),
                       node_->Http(path)});
  };
  const std::string c =
      json::parse(Post("/v1/cases", {{"name", "held"}}).out, nullptr, false).value("id", "");
  ASSERT_FALSE(c.empty());
  Post("/v1/cases/" + c + "/messages", {{"receipt_ids", {id}}});
  auto got =
      RunCommand({"curl", "-s", "-o", dir_ + "/case.zip", "-w", "%{http_code}", "-H",
                  "Authorization: Bearer " + api_key_, node_->Http("/v1/cases/" + c + "/export")});
  ASSERT_EQ(got.out, "200");
  ASSERT_EQ(RunCommand({"unzip", "-q", dir_ + "/case.zip", "certificate.pdf", "-d", dir_ + "/out"})
                .exit_code,
            0);
  auto sig = RunCommand({"pdfsig", dir_ + "/out/certificate.pdf"});
  EXPECT_NE(sig.out.find("Signature Validation: Signature is Valid."), std::string::npos)
      << sig.out;
  EXPECT_NE(sig.out.find("Signer Certificate Common Name: Signer Held Document Key"),
            std::string::npos)
      << sig.out;
  EXPECT_NE(sig.out.find("Total document signed"), std::string::npos) << sig.out;
  EXPECT_TRUE(signer_->WaitForLine("event=signer_signed_document", std::chrono::seconds(5)))
      << signer_->Log();

  // The PDF cannot be signed (the signer now holds another document key, and refuses this
  // certificate's attributes): the bundle asked with its PDF still goes out, without the PDF,
  // and says so; the evidence does not depend on the operator's signature.
  ASSERT_EQ(RunCommand({"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
                        keys + "/third.key", "-out", keys + "/third.pem", "-days", "30", "-subj",
                        "/CN=Third"})
                .exit_code,
            0);
  ::chmod((keys + "/third.key").c_str(), 0600);
  signer_->Stop();
  signer_ = std::make_unique<e2e::SignerProcess>(
      dir_ + "/signer", std::vector<std::string>{"--document-key", keys + "/third.key",
                                                 "--document-cert", keys + "/third.pem"});
  ASSERT_TRUE(signer_->Start()) << signer_->Log();
  auto without = RunCommand({"curl", "-s", "-D", dir_ + "/headers.txt", "-o", dir_ + "/no-pdf.zip",
                             "-w", "%{http_code}", "-H", "Authorization: Bearer " + api_key_,
                             node_->Http("/v1/messages/" + id + "/evidence?certificate=pdf")},
                            "", 60);
  EXPECT_EQ(without.out, "200");
  EXPECT_NE(testsupport::ReadFile(dir_ + "/headers.txt").find("Notary-Certificate-Pdf: omitted"),
            std::string::npos);
  EXPECT_EQ(RunCommand({"unzip", "-l", dir_ + "/no-pdf.zip"}).out.find("certificate.pdf"),
            std::string::npos);
  EXPECT_EQ(
      RunCommand({testsupport::BinaryDir() + "/cli/notary-verify", dir_ + "/no-pdf.zip"}).exit_code,
      0);
  EXPECT_NE(node_->Log().find("event=bundle_certificate_pdf_failed"), std::string::npos);
  signer_->Stop();
  signer_ = std::make_unique<e2e::SignerProcess>(
      dir_ + "/signer", std::vector<std::string>{"--document-key", keys + "/doc.key",
                                                 "--document-cert", keys + "/doc.pem"});
  ASSERT_TRUE(signer_->Start()) << signer_->Log();

  // The key beside --signer: notaryd will not start.
  node_->Stop();
  auto refused =
      RunCommand({e2e::NotarydBinary(), "--database-url", db_.AppUrl(), "--owner-database-url",
                  db_.OwnerUrl(), "--data-dir", dir_ + "/data", "--smtp-listen", "127.0.0.1:0",
                  "--http-listen", "127.0.0.1:0", "--signer", signer_->address(), "--document-cert",
                  keys + "/doc.pem", "--document-key", keys + "/doc.key"},
                 "", 60);
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_NE(refused.out.find("give the key to notary-signer"), std::string::npos) << refused.out;

  // A certificate that is not the signer's key's: notaryd will not start either (the
  // start-up check), rather than fail every export later.
  ASSERT_EQ(RunCommand({"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
                        keys + "/other.key", "-out", keys + "/other.pem", "-days", "30", "-subj",
                        "/CN=Someone Else"})
                .exit_code,
            0);
  auto mismatched = RunCommand(
      {e2e::NotarydBinary(), "--database-url", db_.AppUrl(), "--owner-database-url", db_.OwnerUrl(),
       "--data-dir", dir_ + "/data", "--smtp-listen", "127.0.0.1:0", "--http-listen", "127.0.0.1:0",
       "--signer", signer_->address(), "--document-cert", keys + "/other.pem"},
      "", 60);
  EXPECT_NE(mismatched.exit_code, 0);
  EXPECT_NE(mismatched.out.find("is not the certificate of notary-signer's document key"),
            std::string::npos)
      << mismatched.out;
}

}  // namespace

// With PKCS#11 the document key is the token's too: the operator prints its public key, has a
// certificate issued for it, and certificate.pdf is signed by the token (pdfsig: valid); a
// certificate for another key, and a key file beside the token, stop the signer at start.
TEST_F(SignerE2eTest, TheDocumentKeyInTheTokenSignsThePdf) {
  e2e::SoftHsmToken token("notary doc");
  ASSERT_TRUE(token.ok()) << token.init_output();
  const std::string keys = dir_ + "/document";
  std::filesystem::create_directories(keys);
  std::vector<std::string> base = {
      "env",      token.Env(),      e2e::SignerBinary(), "--state-dir", dir_ + "/signer/state",
      "--origin", "notary.test/log"};
  std::filesystem::create_directories(dir_ + "/signer/state");
  for (const std::string& f : token.SignerFlags("notary-log")) base.push_back(f);
  auto with = [&](std::vector<std::string> extra) {
    std::vector<std::string> args = base;
    args.insert(args.end(), extra.begin(), extra.end());
    return RunCommand(args, "", 60);
  };
  // 1. The token's public key, generated in the token on first asking; the same the second time.
  // (The command's output has the signer's log lines before the key.)
  auto pem_of = [](const std::string& out) {
    const size_t begin = out.find("-----BEGIN PUBLIC KEY-----");
    const size_t end = out.find("-----END PUBLIC KEY-----\n");
    if (begin == std::string::npos || end == std::string::npos) return std::string();
    return out.substr(begin, end + 25 - begin);
  };
  auto first = with({"--document-public-key"});
  ASSERT_EQ(first.exit_code, 0) << first.out;
  const std::string pub = pem_of(first.out);
  ASSERT_FALSE(pub.empty()) << first.out;
  EXPECT_EQ(pem_of(with({"--document-public-key"}).out), pub);
  testsupport::WriteFile(keys + "/token-pub.pem", pub);
  // 2. A CA issues the document certificate for that public key (openssl -force_pubkey).
  ASSERT_EQ(RunCommand({"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:P-256", "-nodes", "-keyout", keys + "/ca.key", "-out",
                        keys + "/ca.pem", "-days", "30", "-subj", "/CN=Operator CA"})
                .exit_code,
            0);
  ASSERT_EQ(RunCommand({"openssl", "req", "-new", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:P-256", "-nodes", "-keyout", keys + "/throwaway.key",
                        "-out", keys + "/doc.csr", "-subj", "/O=ACME/CN=Token Held Document Key"})
                .exit_code,
            0);
  auto issued = RunCommand({"openssl", "x509", "-req", "-in", keys + "/doc.csr", "-CA",
                            keys + "/ca.pem", "-CAkey", keys + "/ca.key", "-force_pubkey",
                            keys + "/token-pub.pem", "-days", "30", "-out", keys + "/doc.pem"});
  ASSERT_EQ(issued.exit_code, 0) << issued.out;
  testsupport::WriteFile(keys + "/chain.pem", testsupport::ReadFile(keys + "/doc.pem") +
                                                  testsupport::ReadFile(keys + "/ca.pem"));
  // A certificate of another key is refused, naming the key to certify.
  ASSERT_EQ(RunCommand({"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:P-256", "-nodes", "-keyout", keys + "/other.key", "-out",
                        keys + "/other.pem", "-days", "30", "-subj", "/CN=Other"})
                .exit_code,
            0);
  auto wrong = with({"--document-cert", keys + "/other.pem", "--list-keys"});
  EXPECT_NE(wrong.exit_code, 0);
  EXPECT_NE(wrong.out.find("is not the certificate of the token's document key"), std::string::npos)
      << wrong.out;
  EXPECT_NE(wrong.out.find(pub), std::string::npos) << wrong.out;
  // A key file beside the token: refused.
  ::chmod((keys + "/other.key").c_str(), 0600);
  auto beside = with({"--document-key", keys + "/other.key", "--document-cert", keys + "/other.pem",
                      "--list-keys"});
  EXPECT_NE(beside.exit_code, 0);
  EXPECT_NE(beside.out.find("drop --document-key"), std::string::npos) << beside.out;

  // 3. The signer holds the token's key; notaryd is given the chain only.
  std::vector<std::string> flags = token.SignerFlags("notary-log");
  flags.insert(flags.end(), {"--document-cert", keys + "/chain.pem"});
  signer_ = std::make_unique<e2e::SignerProcess>(dir_ + "/signer", flags,
                                                 std::vector<std::string>{token.Env()});
  ASSERT_TRUE(signer_->Start()) << signer_->Log();
  std::vector<std::string> node_flags = SignerFlag();
  node_flags.insert(node_flags.end(), {"--document-cert", keys + "/chain.pem"});
  node_ = std::make_unique<e2e::NotarydProcess>(db_.AppUrl(), db_.OwnerUrl(), dir_ + "/data",
                                                node_flags);
  ASSERT_TRUE(node_->ready()) << node_->Log();
  api_key_ = e2e::MakeKey(db_.AppUrl(), "default", "ingest,read");
  std::string sent;
  const std::string id = SendOne(*node_, "document", &sent);
  ASSERT_FALSE(id.empty()) << sent;
  ASSERT_EQ(Download(id, dir_ + "/bundle.zip"), 200);
  const std::string sig = BundlePdfSig(dir_ + "/bundle.zip");
  EXPECT_NE(sig.find("Signature Validation: Signature is Valid."), std::string::npos) << sig;
  EXPECT_NE(sig.find("Signer Certificate Common Name: Token Held Document Key"), std::string::npos)
      << sig;
  // notary-verify names the token's certificate, as GET /v1/keys publishes it.
  auto verified =
      RunCommand({testsupport::BinaryDir() + "/cli/notary-verify", dir_ + "/bundle.zip", "--json"});
  auto report = json::parse(verified.out, nullptr, false);
  const std::string fp =
      RunCommand({"sh", "-c",
                  "openssl x509 -in " + keys + "/doc.pem -outform DER | sha256sum | cut -c1-64"})
          .out;
  EXPECT_EQ(report["certificate_pdf"].value("signature", ""), "intact") << verified.out;
  EXPECT_EQ(report["certificate_pdf"].value("signer_fingerprint", "") + "\n", fp);
  auto published =
      json::parse(RunCommand({"curl", "-s", node_->Http("/v1/keys")}).out, nullptr, false);
  EXPECT_EQ(published["document"].value("fingerprint_sha256", "") + "\n", fp);
  EXPECT_EQ(published["document"]["certificates_pem"].size(), 2u);
}
