#include "sender/authentication.h"

#include "common/byte_reader.h"

namespace notary {

using common::Error;

namespace {

constexpr std::string_view kTag = "email-notary/auth-results/v1\n";
constexpr size_t kMax = AuthenticationResults::kMaxFieldBytes;

bool Fits(std::initializer_list<const std::string*> fields) {
  for (const std::string* f : fields) {
    if (f->size() > kMax) return false;
  }
  return true;
}

}  // namespace

common::Result<std::string> AuthenticationResults::Encode() const {
  if (dkim.size() > DkimVerifyOptions::kMaxSignatures) {
    return Error::InvalidInput("more than 16 DKIM signatures");
  }
  std::string out(kTag);
  common::AppendU32(out, static_cast<uint32_t>(dkim.size()));
  for (const DkimSignatureResult& d : dkim) {
    if (!Fits({&d.domain, &d.selector, &d.algorithm, &d.header_canonicalization,
               &d.body_canonicalization, &d.signed_headers, &d.result, &d.reason})) {
      return Error::InvalidInput("a DKIM result field is over 1,024 bytes");
    }
    for (const std::string* f : {&d.domain, &d.selector, &d.algorithm, &d.header_canonicalization,
                                 &d.body_canonicalization}) {
      common::AppendLengthPrefixed(out, *f);
    }
    common::AppendU64(out, static_cast<uint64_t>(d.body_length));
    common::AppendLengthPrefixed(out, d.signed_headers);
    common::AppendU32(out, d.key_bits);
    common::AppendLengthPrefixed(out, d.result);
    common::AppendLengthPrefixed(out, d.reason);
  }
  common::AppendU8(out, spf ? 1 : 0);
  if (spf) {
    if (!Fits({&spf->identity, &spf->domain, &spf->client_ip, &spf->result, &spf->reason})) {
      return Error::InvalidInput("an SPF result field is over 1,024 bytes");
    }
    for (const std::string* f :
         {&spf->identity, &spf->domain, &spf->client_ip, &spf->result, &spf->reason}) {
      common::AppendLengthPrefixed(out, *f);
    }
  }
  common::AppendU8(out, dmarc ? 1 : 0);
  if (dmarc) {
    if (!Fits({&dmarc->domain, &dmarc->org_domain, &dmarc->policy, &dmarc->result})) {
      return Error::InvalidInput("a DMARC result field is over 1,024 bytes");
    }
    for (const std::string* f :
         {&dmarc->domain, &dmarc->org_domain, &dmarc->policy, &dmarc->result}) {
      common::AppendLengthPrefixed(out, *f);
    }
    common::AppendU8(out, dmarc->dkim_aligned ? 1 : 0);
    common::AppendU8(out, dmarc->spf_aligned ? 1 : 0);
  }
  return out;
}

common::Result<AuthenticationResults> AuthenticationResults::Decode(std::string_view bytes) {
  common::ByteReader in(bytes);
  AuthenticationResults r;
  uint32_t count = 0;
  if (!in.Literal(kTag) || !in.U32(count) || count > DkimVerifyOptions::kMaxSignatures) {
    return Error::InvalidInput("not encoded authentication results");
  }
  auto bad = [] { return Error::InvalidInput("truncated authentication results"); };
  for (uint32_t i = 0; i < count; ++i) {
    DkimSignatureResult d;
    for (std::string* f : {&d.domain, &d.selector, &d.algorithm, &d.header_canonicalization,
                           &d.body_canonicalization}) {
      if (!in.String(*f, kMax)) return bad();
    }
    if (!in.I64(d.body_length) || !in.String(d.signed_headers, kMax)) return bad();
    uint32_t bits = 0;
    if (!in.U32(bits) || !in.String(d.result, kMax) || !in.String(d.reason, kMax)) return bad();
    d.key_bits = bits;
    r.dkim.push_back(std::move(d));
  }
  auto flag = [&in](bool& out) {
    uint8_t v = 0;
    if (!in.U8(v) || v > 1) return false;
    out = v == 1;
    return true;
  };
  bool has = false;
  if (!flag(has)) return bad();
  if (has) {
    SpfOutcome s;
    for (std::string* f : {&s.identity, &s.domain, &s.client_ip, &s.result, &s.reason}) {
      if (!in.String(*f, kMax)) return bad();
    }
    r.spf = std::move(s);
  }
  if (!flag(has)) return bad();
  if (has) {
    DmarcOutcome m;
    for (std::string* f : {&m.domain, &m.org_domain, &m.policy, &m.result}) {
      if (!in.String(*f, kMax)) return bad();
    }
    if (!flag(m.dkim_aligned) || !flag(m.spf_aligned)) return bad();
    r.dmarc = std::move(m);
  }
  if (!in.done()) return Error::InvalidInput("trailing bytes after the authentication results");
  return r;
}

}  // namespace notary
