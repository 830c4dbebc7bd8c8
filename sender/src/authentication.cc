#include "sender/authentication.h"

#include <array>
#include <utility>

#include "common/byte_reader.h"

namespace notary {

using common::Error;

namespace {

constexpr std::string_view kTag = "email-notary/auth-results/v1\n";
constexpr std::string_view kTagV2 = "email-notary/auth-results/v2\n";
constexpr size_t kMax = AuthenticationResults::kMaxFieldBytes;

bool Fits(std::initializer_list<const std::string*> fields) {
  for (const std::string* f : fields) {
    if (f->size() > kMax) return false;
  }
  return true;
}

template <typename Set>
std::array<decltype(&std::declval<Set&>().cv), 9> ArcFields(Set& a) {
  return {&a.seal_domain,
          &a.seal_selector,
          &a.signature_domain,
          &a.signature_selector,
          &a.authserv_id,
          &a.auth_results,
          &a.cv,
          &a.seal_result,
          &a.signature_result};
}

}  // namespace

common::Result<std::string> AuthenticationResults::Encode() const {
  if (dkim.size() > DkimVerifyOptions::kMaxSignatures) {
    return Error::InvalidInput("more than 16 DKIM signatures");
  }
  if (arc && arc->sets.size() > ArcOutcome::kMaxInstances) {
    return Error::InvalidInput("more than 50 ARC sets");
  }
  std::string out(arc ? kTagV2 : kTag);
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
  if (arc) {
    if (!Fits({&arc->result, &arc->reason})) {
      return Error::InvalidInput("an ARC result field is over 1,024 bytes");
    }
    common::AppendLengthPrefixed(out, arc->result);
    common::AppendLengthPrefixed(out, arc->reason);
    common::AppendU32(out, static_cast<uint32_t>(arc->sets.size()));
    for (const ArcSetResult& a : arc->sets) {
      common::AppendU32(out, a.instance);
      for (const std::string* f : ArcFields(a)) {
        if (f->size() > kMax) return Error::InvalidInput("an ARC set field is over 1,024 bytes");
        common::AppendLengthPrefixed(out, *f);
      }
    }
  }
  return out;
}

common::Result<AuthenticationResults> AuthenticationResults::Decode(std::string_view bytes) {
  common::ByteReader in(bytes);
  AuthenticationResults r;
  uint32_t count = 0;
  const bool v2 = bytes.starts_with(kTagV2);
  if (!in.Literal(v2 ? kTagV2 : kTag) || !in.U32(count) ||
      count > DkimVerifyOptions::kMaxSignatures) {
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
  if (v2) {
    ArcOutcome arc;
    uint32_t sets = 0;
    if (!in.String(arc.result, kMax) || !in.String(arc.reason, kMax) || !in.U32(sets) ||
        sets > ArcOutcome::kMaxInstances) {
      return bad();
    }
    for (uint32_t i = 0; i < sets; ++i) {
      ArcSetResult a;
      if (!in.U32(a.instance)) return bad();
      for (std::string* f : ArcFields(a)) {
        if (!in.String(*f, kMax)) return bad();
      }
      arc.sets.push_back(std::move(a));
    }
    if (arc.result == "pass" && arc.sets.empty()) {
      return Error::InvalidInput("an ARC pass without ARC sets");
    }
    r.arc = std::move(arc);
  }
  if (!in.done()) return Error::InvalidInput("trailing bytes after the authentication results");
  return r;
}

}  // namespace notary
