#include "sender/dkim.h"

// dkim.h is C99: its _Bool is C++'s bool.
#define _Bool bool
#include <opendkim/dkim.h>
#undef _Bool

#include <algorithm>
#include <cctype>
#include <cstring>
#include <memory>
#include <optional>
#include <utility>

namespace notary {

using common::Error;

namespace {

struct LibClose {
  void operator()(DKIM_LIB* lib) const { dkim_close(lib); }
};
struct HandleFree {
  void operator()(DKIM* dkim) const { dkim_free(dkim); }
};

struct CallContext {
  const DkimKeyFetcher* fetch;
  // Keys whose lookup failed for now. OpenDKIM is told "not found" (its "try again" and
  // "error" abandon the whole message, other signatures included) and these signatures are
  // reported as temperror afterwards.
  std::vector<std::pair<std::string, std::string>> temp_failed;
};

DKIM_CBSTAT KeyLookup(DKIM* dkim, DKIM_SIGINFO* sig, u_char* buf, size_t buflen) {
  auto* ctx = static_cast<CallContext*>(dkim_get_user_context(dkim));
  const char* domain = reinterpret_cast<const char*>(dkim_sig_getdomain(sig));
  const char* selector = reinterpret_cast<const char*>(dkim_sig_getselector(sig));
  if (ctx == nullptr || domain == nullptr || selector == nullptr) return DKIM_CBSTAT_ERROR;
  DkimKeyLookup key = (*ctx->fetch)(domain, selector);
  switch (key.kind) {
    case DkimKeyLookup::Kind::kNotFound:
      return DKIM_CBSTAT_NOTFOUND;
    case DkimKeyLookup::Kind::kTempError:
      ctx->temp_failed.emplace_back(domain, selector);
      return DKIM_CBSTAT_NOTFOUND;
    case DkimKeyLookup::Kind::kFound:
      break;
  }
  // OpenDKIM parses a NUL-terminated record; one with an embedded NUL is not a key record.
  if (key.record.size() >= buflen || key.record.find('\0') != std::string::npos) {
    return DKIM_CBSTAT_ERROR;
  }
  std::memcpy(buf, key.record.data(), key.record.size());
  buf[key.record.size()] = '\0';
  return DKIM_CBSTAT_CONTINUE;
}

std::string AlgorithmName(DKIM_SIGINFO* sig) {
  dkim_alg_t alg = DKIM_SIGN_UNKNOWN;
  if (dkim_sig_getsignalg(sig, &alg) != DKIM_STAT_OK) return "unknown";
  switch (alg) {
    case DKIM_SIGN_RSASHA1:
      return "rsa-sha1";
    case DKIM_SIGN_RSASHA256:
      return "rsa-sha256";
    case DKIM_SIGN_ED25519SHA256:
      return "ed25519-sha256";
    default:
      return "unknown";
  }
}

std::string CanonName(dkim_canon_t c) {
  switch (c) {
    case DKIM_CANON_SIMPLE:
      return "simple";
    case DKIM_CANON_RELAXED:
      return "relaxed";
    default:
      return "unknown";
  }
}

std::string Tag(DKIM_SIGINFO* sig, const char* name) {
  u_char* v = dkim_sig_gettagvalue(sig, false, reinterpret_cast<u_char*>(const_cast<char*>(name)));
  return v == nullptr ? std::string() : std::string(reinterpret_cast<const char*>(v));
}

// RFC 8601 §2.7.1 result names for what OpenDKIM concluded about one signature.
void Classify(DKIM_SIGINFO* sig, DkimSignatureResult& out) {
  const unsigned flags = dkim_sig_getflags(sig);
  const int error = dkim_sig_geterror(sig);
  const int bh = dkim_sig_getbh(sig);
  if ((flags & DKIM_SIGFLAG_PROCESSED) == 0 || (flags & DKIM_SIGFLAG_IGNORE) != 0) {
    out.result = "neutral";
    out.reason = error != DKIM_SIGERROR_OK && error != DKIM_SIGERROR_UNKNOWN
                     ? dkim_sig_geterrorstr(error)
                     : "signature not processed";
    if (error != DKIM_SIGERROR_OK && error != DKIM_SIGERROR_UNKNOWN) out.result = "permerror";
    return;
  }
  if (error == DKIM_SIGERROR_OK && (flags & DKIM_SIGFLAG_PASSED) != 0 && bh == DKIM_SIGBH_MATCH) {
    out.result = "pass";
    out.reason = "";
    return;
  }
  switch (error) {
    case DKIM_SIGERROR_OK:
    case DKIM_SIGERROR_BADSIG:
      out.result = "fail";
      out.reason =
          bh == DKIM_SIGBH_MISMATCH ? "body hash did not verify" : "signature did not verify";
      return;
    case DKIM_SIGERROR_KEYFAIL:
      out.result = "temperror";
      out.reason = "key lookup failed";
      return;
    case DKIM_SIGERROR_EXPIRED:
    case DKIM_SIGERROR_FUTURE:
      out.result = "fail";
      break;
    default:
      out.result = "permerror";
      break;
  }
  const char* text = dkim_sig_geterrorstr(error);
  out.reason = text != nullptr ? text : "unknown error";
}

// The message with every bare LF made CRLF (RFC 5322 line endings, as on the wire), or
// nullopt when its header section holds no DKIM-Signature field: then there is nothing to
// verify, and OpenDKIM never sees it. OpenDKIM's own CRLF fixing (DKIM_LIBFLAGS_FIXCRLF) is not
// used: on a message that starts with bare LFs it fails an assertion and aborts the process
// (found by tests/fuzz/sender_fuzz.cc), and every stranger's message reaches this code.
std::optional<std::string> Prepare(std::string_view message) {
  std::string out;
  out.reserve(message.size() + message.size() / 32);
  for (size_t i = 0; i < message.size(); ++i) {
    if (message[i] == '\n' && (i == 0 || message[i - 1] != '\r')) out.push_back('\r');
    out.push_back(message[i]);
  }
  // The header section: up to the first empty line. A message without one, or that starts
  // with it, has no header fields to sign.
  const size_t end = out.find("\r\n\r\n");
  if (out.rfind("\r\n", 0) == 0 || end == std::string::npos) return std::nullopt;
  constexpr std::string_view kField = "dkim-signature:";
  bool found = false;
  for (size_t line = 0; line <= end && !found; line = out.find("\r\n", line) + 2) {
    if (out.size() - line < kField.size()) break;
    found =
        std::equal(kField.begin(), kField.end(), out.begin() + static_cast<long>(line),
                   [](char a, char b) { return a == std::tolower(static_cast<unsigned char>(b)); });
  }
  if (!found) return std::nullopt;
  return out;
}

}  // namespace

common::Result<std::vector<DkimSignatureResult>> VerifyDkim(std::string_view message,
                                                            const DkimKeyFetcher& fetch,
                                                            const DkimVerifyOptions& options) {
  std::optional<std::string> prepared = Prepare(message);
  if (!prepared) return std::vector<DkimSignatureResult>{};
  std::unique_ptr<DKIM_LIB, LibClose> lib(dkim_init(nullptr, nullptr));
  if (!lib) return Error::Internal("OpenDKIM did not initialise");
  unsigned int flags = DKIM_LIBFLAGS_BADSIGHANDLES;
  uint64_t fixed_time = options.now_s > 0 ? static_cast<uint64_t>(options.now_s) : 0;
  if (dkim_options(lib.get(), DKIM_OP_SETOPT, DKIM_OPTS_FLAGS, &flags, sizeof flags) !=
          DKIM_STAT_OK ||
      (fixed_time != 0 && dkim_options(lib.get(), DKIM_OP_SETOPT, DKIM_OPTS_FIXEDTIME, &fixed_time,
                                       sizeof fixed_time) != DKIM_STAT_OK) ||
      dkim_set_key_lookup(lib.get(), KeyLookup) != DKIM_STAT_OK) {
    return Error::Internal("OpenDKIM refused an option");
  }
  DKIM_STAT status = DKIM_STAT_OK;
  std::unique_ptr<DKIM, HandleFree> dkim(
      dkim_verify(lib.get(), reinterpret_cast<const unsigned char*>("notary"), nullptr, &status));
  if (!dkim || status != DKIM_STAT_OK) return Error::Internal("OpenDKIM gave no handle");
  CallContext ctx{&fetch, {}};
  dkim_set_user_context(dkim.get(), &ctx);

  // dkim_chunk copies what it needs; the const_cast is for its pre-C89-style prototype.
  auto* bytes = reinterpret_cast<u_char*>(prepared->data());
  status = dkim_chunk(dkim.get(), bytes, prepared->size());
  if (status == DKIM_STAT_OK) status = dkim_chunk(dkim.get(), nullptr, 0);
  if (status == DKIM_STAT_OK) status = dkim_eom(dkim.get(), nullptr);
  std::vector<DkimSignatureResult> results;
  if (status == DKIM_STAT_NOSIG) return results;
  if (status == DKIM_STAT_SYNTAX) return Error::InvalidInput("message refused by OpenDKIM");

  DKIM_SIGINFO** sigs = nullptr;
  int nsigs = 0;
  if (dkim_getsiglist(dkim.get(), &sigs, &nsigs) != DKIM_STAT_OK || sigs == nullptr) {
    return results;
  }
  for (int i = 0; i < nsigs && static_cast<size_t>(i) < DkimVerifyOptions::kMaxSignatures; ++i) {
    DKIM_SIGINFO* sig = sigs[i];
    DkimSignatureResult r;
    const char* d = reinterpret_cast<const char*>(dkim_sig_getdomain(sig));
    const char* s = reinterpret_cast<const char*>(dkim_sig_getselector(sig));
    r.domain = d != nullptr ? d : "";
    r.selector = s != nullptr ? s : "";
    r.algorithm = AlgorithmName(sig);
    dkim_canon_t hc = DKIM_CANON_UNKNOWN, bc = DKIM_CANON_UNKNOWN;
    if (dkim_sig_getcanons(sig, &hc, &bc) == DKIM_STAT_OK) {
      r.header_canonicalization = CanonName(hc);
      r.body_canonicalization = CanonName(bc);
    }
    std::string l = Tag(sig, "l");
    if (!l.empty() && l.size() <= 18 && l.find_first_not_of("0123456789") == std::string::npos) {
      r.body_length = std::stoll(l);
    }
    r.signed_headers = Tag(sig, "h");
    unsigned int bits = 0;
    if (dkim_sig_getkeysize(sig, &bits) == DKIM_STAT_OK) r.key_bits = bits;
    Classify(sig, r);
    for (const auto& [domain, selector] : ctx.temp_failed) {
      if (domain == r.domain && selector == r.selector && r.result != "pass") {
        r.result = "temperror";
        r.reason = "key lookup failed";
      }
    }
    results.push_back(std::move(r));
  }
  return results;
}

}  // namespace notary
