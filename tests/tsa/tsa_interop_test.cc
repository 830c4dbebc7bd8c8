// RFC 3161 interoperability with clients not written here: the `openssl ts` command line,
// Debian's python3-rfc3161ng, and an external TSA (tests/tools/tsa_server.py, which wraps
// `openssl ts -reply`) whose replies our client side verifies.
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "common/bytes.h"
#include "common/sha256.h"
#include "support/test_support.h"
#include "tsa/client.h"
#include "tsa/token.h"
#include "tsa_authority/local_ca.h"
#include "tsa_authority/responder.h"

namespace notary {
namespace {

using testsupport::ReadFile;
using testsupport::RunCommand;
using testsupport::WriteFile;

// Debian's interpreter: python3-rfc3161ng is installed for it, not for other pythons on PATH.
constexpr const char* kPython = "/usr/bin/python3";

int64_t NowUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// The value after "<key>: " on the first line that has it.
std::string Field(const std::string& text, const std::string& key) {
  size_t pos = text.find(key + ": ");
  if (pos == std::string::npos) return {};
  pos += key.size() + 2;
  return text.substr(pos, text.find('\n', pos) - pos);
}

class TsaInteropTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(testsupport::MakeTempDir("tsa-interop"));
    auto tsa = GenerateLocalTsa("Test", NowUs());
    ASSERT_TRUE(tsa.ok()) << tsa.error().ToString();
    WriteFile(Path("ca.pem"), tsa->ca_cert_pem);
    WriteFile(Path("ca.key"), tsa->ca_key_pem);
    WriteFile(Path("tsa.pem"), tsa->tsa_cert_pem);
    WriteFile(Path("data.txt"), "An e-mail, canonicalised.\r\n");

    // An RSA-2048 TSA certificate from the same CA, made with the openssl command line.
    WriteFile(Path("ext.cnf"),
              "[tsa_ext]\nbasicConstraints=critical,CA:FALSE\n"
              "keyUsage=critical,digitalSignature,nonRepudiation\n"
              "extendedKeyUsage=critical,timeStamping\nsubjectKeyIdentifier=hash\n"
              "authorityKeyIdentifier=keyid\n");
    auto req = RunCommand({"openssl", "req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout",
                           Path("rsa.key"), "-out", Path("rsa.csr"), "-subj", "/CN=Test RSA TSA"});
    ASSERT_EQ(req.exit_code, 0) << req.out;
    auto sign = RunCommand({"openssl", "x509", "-req", "-in", Path("rsa.csr"), "-CA",
                            Path("ca.pem"), "-CAkey", Path("ca.key"), "-set_serial",
                            "0x5ca1ab1e0ddba11", "-days", "365", "-extfile", Path("ext.cnf"),
                            "-extensions", "tsa_ext", "-out", Path("rsa.pem")});
    ASSERT_EQ(sign.exit_code, 0) << sign.out;

    auto ec = TsaResponder::Create(tsa->tsa_key_pem, tsa->tsa_cert_pem, tsa->ca_cert_pem);
    ASSERT_TRUE(ec.ok()) << ec.error().ToString();
    ec_ = new TsaResponder(std::move(*ec));
    auto rsa = TsaResponder::Create(ReadFile(Path("rsa.key")), ReadFile(Path("rsa.pem")),
                                    tsa->ca_cert_pem);
    ASSERT_TRUE(rsa.ok()) << rsa.error().ToString();
    rsa_ = new TsaResponder(std::move(*rsa));
  }
  static void TearDownTestSuite() {
    delete ec_;
    delete rsa_;
    std::filesystem::remove_all(*dir_);
    delete dir_;
  }

  static std::string Path(const std::string& name) { return *dir_ + "/" + name; }

  // openssl ts -query ... -out <name>; returns the DER.
  static std::string OpensslQuery(const std::string& name, std::vector<std::string> options) {
    std::vector<std::string> argv = {"openssl", "ts", "-query", "-data", Path("data.txt")};
    argv.insert(argv.end(), options.begin(), options.end());
    argv.insert(argv.end(), {"-out", Path(name)});
    auto r = RunCommand(argv);
    EXPECT_EQ(r.exit_code, 0) << r.out;
    return ReadFile(Path(name));
  }

  static std::string ReplyText(const std::string& reply_der) {
    WriteFile(Path("text.tsr"), reply_der);
    auto r = RunCommand({"openssl", "ts", "-reply", "-in", Path("text.tsr"), "-text"});
    EXPECT_EQ(r.exit_code, 0) << r.out;
    return r.out;
  }

  static std::string* dir_;
  static TsaResponder* ec_;
  static TsaResponder* rsa_;
};
std::string* TsaInteropTest::dir_ = nullptr;
TsaResponder* TsaInteropTest::ec_ = nullptr;
TsaResponder* TsaInteropTest::rsa_ = nullptr;

TEST_F(TsaInteropTest, OpensslVerifiesRepliesForEveryAlgorithmNonceAndCertOption) {
  for (const TsaResponder* responder : {ec_, rsa_}) {
    const std::string signer = responder == ec_ ? Path("tsa.pem") : Path("rsa.pem");
    for (std::string alg : {"-sha256", "-sha384", "-sha512"}) {
      for (bool nonce : {true, false}) {
        for (bool cert : {true, false}) {
          SCOPED_TRACE(signer + " " + alg + (nonce ? " nonce" : " -no_nonce") +
                       (cert ? " -cert" : ""));
          std::vector<std::string> options = {alg};
          if (!nonce) options.push_back("-no_nonce");
          if (cert) options.push_back("-cert");
          std::string query = OpensslQuery("q.tsq", options);
          auto reply = responder->Respond(query);
          ASSERT_TRUE(reply.ok());
          WriteFile(Path("r.tsr"), *reply);
          auto v = RunCommand({"openssl", "ts", "-verify", "-queryfile", Path("q.tsq"), "-in",
                               Path("r.tsr"), "-CAfile", Path("ca.pem"), "-untrusted", signer});
          EXPECT_EQ(v.exit_code, 0) << v.out;
          EXPECT_TRUE(Contains(v.out, "Verification: OK")) << v.out;
          // Our own client side agrees.
          auto info = VerifyReply(*reply, query, ReadFile(Path("ca.pem")), ReadFile(signer));
          EXPECT_TRUE(info.ok()) << info.error().ToString();
        }
      }
    }
  }
}

TEST_F(TsaInteropTest, OpensslShowsNoncePolicyAccuracyAndEssCertIdV2) {
  std::string query = OpensslQuery("q.tsq", {"-sha256", "-cert"});
  auto query_text = RunCommand({"openssl", "ts", "-query", "-in", Path("q.tsq"), "-text"});
  ASSERT_EQ(query_text.exit_code, 0);
  std::string nonce = Field(query_text.out, "Nonce");
  ASSERT_FALSE(nonce.empty()) << query_text.out;

  auto reply = ec_->Respond(query);
  ASSERT_TRUE(reply.ok());
  std::string text = ReplyText(*reply);
  EXPECT_EQ(Field(text, "Status"), "Granted.") << text;
  EXPECT_EQ(Field(text, "Nonce"), nonce) << text;
  EXPECT_EQ(Field(text, "Policy OID"), std::string(kDefaultTsaPolicyOid)) << text;
  EXPECT_TRUE(Contains(Field(text, "Accuracy"), "0x01 seconds")) << text;
  EXPECT_EQ(Field(text, "TSA"), "DirName:/CN=Test TSA") << text;

  // The token's signed attributes carry ESSCertIDv2 (RFC 5816), not the SHA-1 ESSCertID.
  WriteFile(Path("r.tsr"), *reply);
  auto token = RunCommand(
      {"openssl", "ts", "-reply", "-in", Path("r.tsr"), "-token_out", "-out", Path("token.der")});
  ASSERT_EQ(token.exit_code, 0) << token.out;
  auto cms = RunCommand(
      {"openssl", "cms", "-cmsout", "-print", "-inform", "DER", "-in", Path("token.der")});
  ASSERT_EQ(cms.exit_code, 0) << cms.out;
  EXPECT_TRUE(Contains(cms.out, "id-smime-aa-signingCertificateV2")) << cms.out;
  EXPECT_FALSE(Contains(cms.out, "id-smime-aa-signingCertificate:")) << cms.out;
}

TEST_F(TsaInteropTest, OpensslSeesTheRightStatusForUnsupportedAndMalformedQueries) {
  for (std::string alg : {"-md5", "-sha1"}) {
    SCOPED_TRACE(alg);
    auto reply = ec_->Respond(OpensslQuery("bad.tsq", {alg}));
    ASSERT_TRUE(reply.ok());
    std::string text = ReplyText(*reply);
    EXPECT_EQ(Field(text, "Status"), "Rejected.") << text;
    EXPECT_TRUE(Contains(text, "unrecognized or unsupported algorithm identifier")) << text;
  }

  // A sha256 query whose imprint lost its last byte, lengths adjusted: valid DER, bad data.
  std::string q = OpensslQuery("short.tsq", {"-sha256", "-no_nonce"});
  ASSERT_EQ(q.size(), 56u);
  ASSERT_EQ(q.substr(22, 2), std::string("\x04\x20", 2));
  std::string truncated = q.substr(0, q.size() - 1);
  truncated[1] = static_cast<char>(truncated[1] - 1);    // TimeStampReq length
  truncated[6] = static_cast<char>(truncated[6] - 1);    // MessageImprint length
  truncated[23] = static_cast<char>(truncated[23] - 1);  // hashedMessage length
  ASSERT_TRUE(IsTimeStampQuery(truncated));
  for (const std::string& body : {truncated, std::string("certainly not DER")}) {
    auto reply = ec_->Respond(body);
    ASSERT_TRUE(reply.ok());
    std::string text = ReplyText(*reply);
    EXPECT_EQ(Field(text, "Status"), "Rejected.") << text;
    EXPECT_TRUE(Contains(text, "the data submitted has the wrong format")) << text;
  }
}

TEST_F(TsaInteropTest, Rfc3161ngBuildsAQueryAndChecksTheTokenOffline) {
  // rfc3161ng verifies only RSA PKCS#1 v1.5 signatures, so it checks the RSA responder.
  const std::string digest_hex = common::ToHex(common::Sha256Of("evidence for a judge"));
  auto make =
      RunCommand({kPython, "-c",
                  "import sys, rfc3161ng\n"
                  "req = rfc3161ng.make_timestamp_request(digest=bytes.fromhex(sys.argv[1]),\n"
                  "    hashname='sha256', include_tsa_certificate=True, nonce=123456789)\n"
                  "open(sys.argv[2], 'wb').write(rfc3161ng.encode_timestamp_request(req))\n",
                  digest_hex, Path("py.tsq")});
  ASSERT_EQ(make.exit_code, 0) << make.out;
  std::string query = ReadFile(Path("py.tsq"));
  ASSERT_TRUE(IsTimeStampQuery(query));
  auto reply = rsa_->Respond(query);
  ASSERT_TRUE(reply.ok());
  auto info = VerifyReply(*reply, query, ReadFile(Path("ca.pem")), "");
  ASSERT_TRUE(info.ok()) << info.error().ToString();
  EXPECT_EQ(info->nonce_hex, "075bcd15");
  // The token is the reply's own bytes, not a re-encoding.
  EXPECT_TRUE(Contains(*reply, info->token_der));
  WriteFile(Path("py.tsr"), *reply);
  WriteFile(Path("py-token.der"), info->token_der);

  const char* kCheck =
      "import sys, rfc3161ng\n"
      "tsr = rfc3161ng.decode_timestamp_response(open(sys.argv[1], 'rb').read())\n"
      "assert int(tsr['status']['status']) == 0, tsr['status']\n"
      "assert tsr.time_stamp_token is not None\n"
      "tst = open(sys.argv[2], 'rb').read()\n"
      "cert = open(sys.argv[3], 'rb').read()\n"
      "ok = rfc3161ng.check_timestamp(tst, certificate=cert, digest=bytes.fromhex(sys.argv[4]),\n"
      "    hashname='sha256', nonce=123456789)\n"
      "print('checked', ok, rfc3161ng.get_timestamp(tst).isoformat())\n";
  auto check = RunCommand(
      {kPython, "-c", kCheck, Path("py.tsr"), Path("py-token.der"), Path("rsa.pem"), digest_hex});
  EXPECT_EQ(check.exit_code, 0) << check.out;
  EXPECT_TRUE(Contains(check.out, "checked True")) << check.out;

  // And it refuses the same token for other data.
  const std::string other_hex = common::ToHex(common::Sha256Of("something else"));
  auto wrong = RunCommand(
      {kPython, "-c", kCheck, Path("py.tsr"), Path("py-token.der"), Path("rsa.pem"), other_hex});
  EXPECT_NE(wrong.exit_code, 0) << wrong.out;
  EXPECT_TRUE(Contains(wrong.out, "Message imprint mismatch")) << wrong.out;
}

// tests/tools/tsa_server.py, started for one test and stopped by the destructor.
class ExternalTsa {
 public:
  explicit ExternalTsa(const std::string& dir) {
    int out[2];
    if (pipe(out) != 0) return;
    // Built before fork: no malloc between fork and exec (testsupport::RunCommand says why).
    const std::string script = testsupport::SourceDir() + "/tests/tools/tsa_server.py";
    pid_ = fork();
    if (pid_ == 0) {
      dup2(out[1], 1);
      close(out[0]);
      execl(kPython, kPython, script.c_str(), "0", dir.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    close(out[1]);
    std::string lines;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (!Contains(lines, "port=") || lines.back() != '\n') {
      if (std::chrono::steady_clock::now() > deadline) break;
      pollfd pfd{out[0], POLLIN, 0};
      if (poll(&pfd, 1, 1000) <= 0) continue;
      char buf[512];
      ssize_t n = read(out[0], buf, sizeof buf);
      if (n <= 0) break;
      lines.append(buf, static_cast<size_t>(n));
    }
    close(out[0]);
    auto take = [&](const std::string& key) {
      size_t p = lines.find(key + "=");
      if (p == std::string::npos) return std::string();
      p += key.size() + 1;
      return lines.substr(p, lines.find('\n', p) - p);
    };
    ca_ = take("ca");
    chain_ = take("chain");
    port_ = take("port");
  }
  ~ExternalTsa() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      waitpid(pid_, nullptr, 0);
    }
  }
  ExternalTsa(const ExternalTsa&) = delete;
  ExternalTsa& operator=(const ExternalTsa&) = delete;

  const std::string& ca() const { return ca_; }
  const std::string& chain() const { return chain_; }
  std::string url() const { return "http://127.0.0.1:" + port_ + "/"; }

 private:
  pid_t pid_ = -1;
  std::string ca_, chain_, port_;
};

TEST_F(TsaInteropTest, ClientSideVerifiesAnExternalOpensslTsa) {
  ExternalTsa tsa(Path("external"));
  ASSERT_FALSE(tsa.ca().empty());
  const common::Hash digest = common::Sha256Of("block 42");
  const uint64_t nonce = RandomTsaNonce();
  auto query = CreateQuery(TsaHashAlg::kSha256, digest, nonce, true);
  ASSERT_TRUE(query.ok());
  WriteFile(Path("ext.tsq"), *query);
  auto post =
      RunCommand({"curl", "-sS", "--fail", "--data-binary", "@" + Path("ext.tsq"), "-H",
                  "Content-Type: application/timestamp-query", "-o", Path("ext.tsr"), tsa.url()});
  ASSERT_EQ(post.exit_code, 0) << post.out;
  std::string reply = ReadFile(Path("ext.tsr"));
  auto info = VerifyReply(reply, *query, ReadFile(tsa.ca()), "");
  ASSERT_TRUE(info.ok()) << info.error().ToString();
  EXPECT_EQ(info->policy_oid, "1.2.3.4.1");
  EXPECT_EQ(info->tsa_name, "CN=Test External TSA");
  EXPECT_LT(std::llabs(info->gen_time_us - NowUs()), 120LL * 1000000);
  // The stored token verifies on its own, as the offline verifier will see it.
  auto token = VerifyToken(info->token_der, digest, TsaHashAlg::kSha256, ReadFile(tsa.ca()),
                           ReadFile(tsa.chain()));
  EXPECT_TRUE(token.ok()) << token.error().ToString();
  // Our own local CA does not vouch for it.
  EXPECT_FALSE(VerifyReply(reply, *query, ReadFile(Path("ca.pem")), "").ok());
}

}  // namespace
}  // namespace notary
