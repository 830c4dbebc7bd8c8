#include "tsa_authority/responder.h"

#include <openssl/err.h>
#include <openssl/rand.h>

#include <array>
#include <chrono>
#include <climits>
#include <optional>
#include <utility>
#include <vector>

#include "common/ossl.h"
#include "common/sha256.h"
#include "common/thread_annotations.h"
#include "token_signer.h"
#include "tsa/client.h"
#include "tsa/openssl_ts.h"

namespace notary {

using tsa_internal::Asn1IntegerPtr;
using tsa_internal::Asn1ObjectPtr;
using tsa_internal::BignumPtr;
using tsa_internal::EvpMdPtr;
using tsa_internal::TsRespCtxPtr;
using tsa_internal::TsRespPtr;
using tsa_internal::X509StackPtr;

struct TsaResponder::State {
  common::EvpPkeyPtr key;  // empty with an external signer
  TsaSignFn sign;          // set with an external signer
  common::X509Ptr cert;
  X509StackPtr chain;  // sent with the token on certReq
  Asn1ObjectPtr policy;
  std::string policy_text;
  TsaAccuracy accuracy;
  TsaClock clock;
  EvpMdPtr sha256;  // fetched once: the signer digest and the ESSCertIDv2 digest
  tsa_internal::TsaSignerConfig signer_config;  // points into the members above

  // Granted tokens are issued by pooled signers (one thread at a time each), so a responder
  // builds one per concurrent caller, not one per token.
  common::Mutex pool_mu;
  std::vector<std::unique_ptr<tsa_internal::TsaTokenSigner>> idle_signers GUARDED_BY(pool_mu);
};

namespace {

int64_t SystemClockMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// 127 random bits from the CSPRNG (the top bit cleared so the INTEGER stays positive):
// serial numbers are unique with overwhelming probability and reveal nothing about the
// number of tokens issued.
ASN1_INTEGER* RandomSerial(TS_RESP_CTX* ctx, void* /*data*/) {
  std::array<unsigned char, 16> bytes{};
  ASN1_INTEGER* serial = nullptr;
  if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) == 1) {
    bytes[0] &= 0x7f;
    BignumPtr bn{BN_bin2bn(bytes.data(), static_cast<int>(bytes.size()), nullptr)};
    if (bn) serial = BN_to_ASN1_INTEGER(bn.get(), nullptr);
  }
  if (serial == nullptr) {
    TS_RESP_CTX_set_status_info(ctx, TS_STATUS_REJECTION, "Error during serial number generation.");
    TS_RESP_CTX_add_failure_info(ctx, TS_INFO_SYSTEM_FAILURE);
  }
  return serial;
}

int InjectedTime(TS_RESP_CTX* ctx, void* data, long* sec, long* usec) {
  const auto* state = static_cast<const TsaClock*>(data);
  const int64_t now = (*state) ? (*state)() : SystemClockMicros();
  if (now < 0 || now / 1'000'000 > LONG_MAX) {
    TS_RESP_CTX_set_status_info(ctx, TS_STATUS_REJECTION, "Time is not available.");
    TS_RESP_CTX_add_failure_info(ctx, TS_INFO_TIME_NOT_AVAILABLE);
    return 0;
  }
  *sec = static_cast<long>(now / 1'000'000);
  *usec = static_cast<long>(now % 1'000'000);
  return 1;
}

}  // namespace

bool IsTimeStampQuery(std::string_view body) {
  if (body.size() > kMaxTsaQueryBytes) return false;
  bool ok = tsa_internal::DecodeRequest(body) != nullptr;
  ERR_clear_error();
  return ok;
}

common::Result<TsaResponder> TsaResponder::Create(std::string_view key_pem,
                                                  std::string_view cert_pem,
                                                  std::string_view chain_pem,
                                                  TsaResponderOptions options) {
  auto state = std::make_unique<State>();
  ASSIGN_OR_RETURN(auto key, tsa_internal::ReadPrivateKey(key_pem));
  state->key = std::move(key);
  return Finish(std::move(state), cert_pem, chain_pem, std::move(options));
}

common::Result<TsaResponder> TsaResponder::CreateWithSigner(std::string_view cert_pem,
                                                            std::string_view chain_pem,
                                                            TsaSignFn sign,
                                                            TsaResponderOptions options) {
  if (!sign) return common::Error::InvalidInput("no TSA signing function");
  auto state = std::make_unique<State>();
  state->sign = std::move(sign);
  ASSIGN_OR_RETURN(TsaResponder responder,
                   Finish(std::move(state), cert_pem, chain_pem, std::move(options)));

  // One token now: a signer that is unreachable, or signs with a key other than the
  // certificate's, fails here rather than on every query. Its token is discarded.
  State& s = *responder.state_;
  const std::string probe_digest = [] {
    const common::Hash h = common::Sha256Of(std::string_view("notary TSA signer self-test"));
    return std::string(h.begin(), h.end());
  }();
  ASSIGN_OR_RETURN(
      const std::string query,
      CreateQuery(TsaHashAlg::kSha256, common::AsBytes(probe_digest), std::nullopt, false));
  tsa_internal::TsReqPtr req = tsa_internal::DecodeRequest(query);
  if (!req) return common::Error::Internal("self-test query: " + common::OpenSslError());
  const int64_t clock_now = s.clock ? s.clock() : SystemClockMicros();
  const int64_t now = clock_now >= 0 ? clock_now : SystemClockMicros();
  std::unique_ptr<tsa_internal::TsaTokenSigner> signer;
  {
    common::MutexLock lock(s.pool_mu);
    signer = std::move(s.idle_signers.back());
    s.idle_signers.pop_back();
  }
  auto token = signer->Sign(req.get(), now);
  ERR_clear_error();
  if (!token.ok()) {
    if (token.error().code() == common::ErrorCode::kVerifyFailed) {
      return common::Error::InvalidInput(
          "the TSA signer's key does not match the TSA certificate: " + token.error().message());
    }
    return token.error();
  }
  {
    common::MutexLock lock(s.pool_mu);
    s.idle_signers.push_back(std::move(signer));
  }
  return responder;
}

// What Create and CreateWithSigner share, once `state` holds the key or the signer.
common::Result<TsaResponder> TsaResponder::Finish(std::unique_ptr<State> state,
                                                  std::string_view cert_pem,
                                                  std::string_view chain_pem,
                                                  TsaResponderOptions options) {
  ASSIGN_OR_RETURN(auto certs, tsa_internal::ReadCertificates(cert_pem, "TSA certificate"));
  if (sk_X509_num(certs.get()) != 1) {
    return common::Error::InvalidInput(
        "the TSA certificate PEM must hold exactly one certificate (the rest goes in the chain)");
  }
  state->cert.reset(sk_X509_shift(certs.get()));
  // With an external signer the certificate's public key stands in for the private one: it
  // fixes the signature algorithm and checks every signature (CreateWithSigner's first token
  // checks the match).
  EVP_PKEY* key = state->key ? state->key.get() : X509_get0_pubkey(state->cert.get());
  if (key == nullptr) {
    ERR_clear_error();
    return common::Error::InvalidInput("TSA certificate has no usable public key");
  }
  const int key_type = EVP_PKEY_get_base_id(key);
  if (key_type != EVP_PKEY_RSA && key_type != EVP_PKEY_EC) {
    return common::Error::InvalidInput("TSA key must be RSA or ECDSA");
  }
  if (state->key && X509_check_private_key(state->cert.get(), state->key.get()) != 1) {
    ERR_clear_error();
    return common::Error::InvalidInput("TSA key does not match the TSA certificate");
  }
  // RFC 3161 §2.3: the one and only extended key usage is timeStamping, marked critical.
  if (X509_check_purpose(state->cert.get(), X509_PURPOSE_TIMESTAMP_SIGN, 0) != 1) {
    ERR_clear_error();
    return common::Error::InvalidInput(
        "TSA certificate lacks the critical extendedKeyUsage timeStamping (RFC 3161 2.3)");
  }

  ASSIGN_OR_RETURN(auto chain, tsa_internal::ReadCertificates(chain_pem, "TSA chain"));
  state->chain = std::move(chain);

  state->policy.reset(OBJ_txt2obj(options.policy_oid.c_str(), 1));
  if (!state->policy) {
    ERR_clear_error();
    return common::Error::InvalidInput("bad policy OID '" + options.policy_oid + "'");
  }
  state->policy_text = tsa_internal::ObjectText(state->policy.get());

  const TsaAccuracy& acc = options.accuracy;
  if (acc.millis > 999 || acc.micros > 999 || acc.seconds > INT_MAX) {
    return common::Error::InvalidInput("accuracy: millis and micros must be 0..999");
  }
  state->accuracy = acc;
  state->clock = std::move(options.clock);

  state->sha256.reset(EVP_MD_fetch(nullptr, "SHA256", nullptr));
  if (!state->sha256) return common::Error::Internal("SHA-256: " + common::OpenSslError());

  tsa_internal::TsaSignerConfig& sc = state->signer_config;
  sc.key = key;
  sc.sign = state->sign ? &state->sign : nullptr;
  sc.cert = state->cert.get();
  sc.chain = state->chain.get();
  sc.policy = state->policy.get();
  sc.accuracy_seconds = acc.seconds;
  sc.accuracy_millis = acc.millis;
  sc.accuracy_micros = acc.micros;
  sc.sha256 = state->sha256.get();
  ASSIGN_OR_RETURN(auto ess,
                   tsa_internal::EncodeSigningCertV2(state->sha256.get(), state->cert.get()));
  sc.signing_cert_v2_der = std::move(ess);
  // One signer now, so that a key OpenSSL cannot sign with fails here, not on first use.
  ASSIGN_OR_RETURN(auto signer, tsa_internal::TsaTokenSigner::Create(sc));
  {
    common::MutexLock lock(state->pool_mu);  // not shared yet, but the member is guarded
    state->idle_signers.push_back(std::move(signer));
  }
  return TsaResponder(std::move(state));
}

TsaResponder::TsaResponder(std::unique_ptr<State> state) : state_(std::move(state)) {}
TsaResponder::TsaResponder(TsaResponder&&) noexcept = default;
TsaResponder& TsaResponder::operator=(TsaResponder&&) noexcept = default;
TsaResponder::~TsaResponder() = default;

const std::string& TsaResponder::policy_oid() const { return state_->policy_text; }

std::string TsaResponder::CertificatesPem() const {
  std::string out = common::CertificatePem(state_->cert.get());
  for (int i = 0; i < sk_X509_num(state_->chain.get()); ++i) {
    out += common::CertificatePem(sk_X509_value(state_->chain.get(), i));
  }
  return out;
}

namespace {

// The checks of OpenSSL's responder (ts_RESP_check_request, ts_RESP_get_policy,
// ts_RESP_process_extensions) for our configuration: version 1, a SHA-256/384/512 imprint
// of the right length with NULL or absent parameters, our policy or none, no extensions.
// A request failing any of them is answered by TS_RESP_create_response itself.
bool Acceptable(TS_REQ* req, const ASN1_OBJECT* policy) {
  if (TS_REQ_get_version(req) != 1) return false;
  TS_MSG_IMPRINT* imprint = TS_REQ_get_msg_imprint(req);
  const ASN1_OBJECT* alg = nullptr;
  int param_type = V_ASN1_UNDEF;
  const void* param = nullptr;
  X509_ALGOR_get0(&alg, &param_type, &param, TS_MSG_IMPRINT_get_algo(imprint));
  int size = 0;
  switch (OBJ_obj2nid(alg)) {
    case NID_sha256:
      size = 32;
      break;
    case NID_sha384:
      size = 48;
      break;
    case NID_sha512:
      size = 64;
      break;
    default:
      return false;
  }
  if (param_type != V_ASN1_UNDEF && param_type != V_ASN1_NULL) return false;
  if (ASN1_STRING_length(TS_MSG_IMPRINT_get_msg(imprint)) != size) return false;
  const ASN1_OBJECT* requested = TS_REQ_get_policy_id(req);
  if (requested != nullptr && OBJ_cmp(requested, policy) != 0) return false;
  return sk_X509_EXTENSION_num(TS_REQ_get_exts(req)) <= 0;
}

}  // namespace

common::Result<std::string> TsaResponder::Respond(std::string_view query_der) const {
  return Answer(query_der, nullptr);
}

common::Result<std::string> TsaResponder::RespondToQuery(std::string_view body) const {
  bool is_query = false;
  auto reply = Answer(body, &is_query);
  if (!is_query) return common::Error::InvalidInput("not a DER TimeStampReq");
  return reply;
}

common::Result<std::string> TsaResponder::Answer(std::string_view query_der, bool* is_query) const {
  State& s = *state_;
  // Oversized bodies and bodies with trailing bytes count as unparseable.
  tsa_internal::TsReqPtr req;
  if (query_der.size() <= kMaxTsaQueryBytes) req = tsa_internal::DecodeRequest(query_der);
  ERR_clear_error();
  if (is_query != nullptr) {
    *is_query = req != nullptr;
    if (!req) return std::string();
  }
  const int64_t now = s.clock ? s.clock() : SystemClockMicros();
  if (req && now >= 0 && Acceptable(req.get(), s.policy.get())) {
    std::unique_ptr<tsa_internal::TsaTokenSigner> signer;
    {
      common::MutexLock lock(s.pool_mu);
      if (!s.idle_signers.empty()) {
        signer = std::move(s.idle_signers.back());
        s.idle_signers.pop_back();
      }
    }
    if (!signer) {
      ASSIGN_OR_RETURN(auto made, tsa_internal::TsaTokenSigner::Create(s.signer_config));
      signer = std::move(made);
    }
    auto der = signer->Sign(req.get(), now);
    ERR_clear_error();
    // A signer that failed midway is dropped rather than reused.
    if (der.ok()) {
      common::MutexLock lock(s.pool_mu);
      if (s.idle_signers.size() < 64) s.idle_signers.push_back(std::move(signer));
      return der;
    }
    // Otherwise OpenSSL's own responder decides (it reports the error in the reply).
  }
  return ReplyFromOpenSsl(req ? query_der : std::string_view());
}

// Rejections, and a token the pooled signer failed to make: OpenSSL's own responder, with a
// TS_RESP_CTX per call.
common::Result<std::string> TsaResponder::ReplyFromOpenSsl(std::string_view query_der) const {
  TsRespCtxPtr ctx{TS_RESP_CTX_new()};
  if (!ctx) return common::Error::Internal("TS_RESP_CTX_new: " + common::OpenSslError());
  const State& s = *state_;
  // Without a key (external signer) OpenSSL still answers every rejection: it needs the
  // key only to sign a token, and where it would sign (only after the external signature
  // failed) it finds none and answers "Error during signature generation." instead.
  bool setup = TS_RESP_CTX_set_signer_cert(ctx.get(), s.cert.get()) == 1 &&
               (!s.key || TS_RESP_CTX_set_signer_key(ctx.get(), s.key.get()) == 1) &&
               TS_RESP_CTX_set_signer_digest(ctx.get(), s.sha256.get()) == 1 &&
               TS_RESP_CTX_set_ess_cert_id_digest(ctx.get(), s.sha256.get()) == 1 &&
               TS_RESP_CTX_set_def_policy(ctx.get(), s.policy.get()) == 1 &&
               TS_RESP_CTX_add_md(ctx.get(), EVP_sha256()) == 1 &&
               TS_RESP_CTX_add_md(ctx.get(), EVP_sha384()) == 1 &&
               TS_RESP_CTX_add_md(ctx.get(), EVP_sha512()) == 1 &&
               TS_RESP_CTX_set_accuracy(ctx.get(), static_cast<int>(s.accuracy.seconds),
                                        static_cast<int>(s.accuracy.millis),
                                        static_cast<int>(s.accuracy.micros)) == 1 &&
               TS_RESP_CTX_set_clock_precision_digits(ctx.get(), 6) == 1;
  if (setup && sk_X509_num(s.chain.get()) > 0) {
    setup = TS_RESP_CTX_set_certs(ctx.get(), s.chain.get()) == 1;
  }
  if (!setup) return common::Error::Internal("TS_RESP_CTX setup: " + common::OpenSslError());
  TS_RESP_CTX_add_flags(ctx.get(), TS_TSA_NAME);
  TS_RESP_CTX_set_serial_cb(ctx.get(), RandomSerial, nullptr);
  TS_RESP_CTX_set_time_cb(ctx.get(), InjectedTime, const_cast<TsaClock*>(&s.clock));

  common::BioPtr bio = tsa_internal::ReadBio(query_der);
  if (!bio) return common::Error::Internal("out of memory");
  TsRespPtr resp{TS_RESP_create_response(ctx.get(), bio.get())};
  // Rejections leave TS errors on this thread's queue; they are answers, not failures.
  ERR_clear_error();
  if (!resp) return common::Error::Internal("TS_RESP_create_response failed");
  std::string der = tsa_internal::EncodeDer<TS_RESP>(i2d_TS_RESP, resp.get());
  if (der.empty()) return common::Error::Internal("cannot encode the TimeStampResp");
  return der;
}

}  // namespace notary
