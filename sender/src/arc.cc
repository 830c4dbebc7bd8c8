#include "sender/arc.h"

#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <optional>
#include <set>
#include <utility>
#include <variant>

#include "common/ascii.h"
#include "common/bytes.h"
#include "common/ossl.h"
#include "common/sha256.h"
#include "common/utf8.h"

namespace notary {

namespace {

constexpr size_t kMaxText = 1024;  // AuthenticationResults::kMaxFieldBytes
constexpr int kMinRsaBits = 1024;  // RFC 8301 §3.2: smaller keys are not valid
// Far above real chains (a set is about 2 KiB; few messages cross more than 3 hops).
constexpr size_t kMaxArcBytes = 256 * 1024;
constexpr size_t kMaxArcKeys = 16;

bool IsWsp(char c) { return c == ' ' || c == '\t'; }

// RFC 6376's domain-name and selector syntax (letters, digits, "-", "_" in dot-separated labels
// of 1 to 63 bytes, at most 253 in all), so that no other text is sent to the resolver as a name.
bool IsDnsName(std::string_view s) {
  if (s.empty() || s.size() > 253) return false;
  size_t label = 0;
  for (char c : s) {
    if (c == '.') {
      if (label == 0) return false;
      label = 0;
      continue;
    }
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') return false;
    if (++label > 63) return false;
  }
  return label > 0;
}

bool AllDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view Trim(std::string_view s) {
  auto fws = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!s.empty() && fws(s.front())) s.remove_prefix(1);
  while (!s.empty() && fws(s.back())) s.remove_suffix(1);
  return s;
}

// Text a person will read: valid UTF-8, at most 1,024 bytes, cut on a character boundary.
std::string Clip(std::string_view s) {
  std::string out = common::SanitizeUtf8(s);
  if (out.size() > kMaxText) {
    size_t end = kMaxText;
    while (end > 0 && (static_cast<unsigned char>(out[end]) & 0xC0) == 0x80) --end;
    out.resize(end);
  }
  return out;
}

// Appends `s` with every run of WSP made one space and WSP at its end dropped: RFC 6376's
// relaxed rule for a header value (§3.4.2) and for a body line (§3.4.4). CRLF pairs
// (folding) are skipped.
void AppendCollapsed(std::string& out, std::string_view s) {
  bool space = false;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '\r' && i + 1 < s.size() && s[i + 1] == '\n') {  // folding: CRLF WSP
      ++i;
      continue;
    }
    if (IsWsp(c)) {
      space = true;
      continue;
    }
    if (space) out.push_back(' ');
    space = false;
    out.push_back(c);
  }
}

// Folding removed and every run of whitespace made one space, none at either end.
std::string Unfold(std::string_view s) {
  std::string out;
  AppendCollapsed(out, Trim(s));
  return out;
}

// A header field as it stands in the message, its CRLF included.
struct Field {
  std::string_view raw;
  std::string name;  // lower case
  std::string_view value() const {
    size_t colon = raw.find(':');
    std::string_view v = raw.substr(colon + 1);
    if (v.size() >= 2 && v.substr(v.size() - 2) == "\r\n") v.remove_suffix(2);
    return v;
  }
};

struct Message {
  std::string bytes;  // CRLF line ends throughout
  std::vector<Field> fields;
  std::string_view body;
};

// Bare LF is read as CRLF, as OpenDKIM does for the DKIM checks (sender/dkim.cc).
Message Split(std::string_view in) {
  Message m;
  m.bytes.reserve(in.size() + in.size() / 32);
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '\n' && (i == 0 || in[i - 1] != '\r')) m.bytes.push_back('\r');
    m.bytes.push_back(in[i]);
  }
  std::string_view all = m.bytes;
  size_t pos = 0;
  while (pos < all.size()) {
    if (all.substr(pos, 2) == "\r\n") {  // the empty line: the body follows
      m.body = all.substr(pos + 2);
      return m;
    }
    size_t end = pos;
    for (;;) {
      size_t eol = all.find("\r\n", end);
      if (eol == std::string_view::npos) {
        end = all.size();
        break;
      }
      end = eol + 2;
      if (end >= all.size() || !IsWsp(all[end])) break;
    }
    std::string_view raw = all.substr(pos, end - pos);
    if (size_t colon = raw.find(':'); colon != std::string_view::npos) {
      m.fields.push_back({raw, Lower(Trim(raw.substr(0, colon)))});
    }
    pos = end;
  }
  return m;  // no body
}

// A DKIM-style tag list (RFC 6376 §3.2): nullopt when malformed or a tag is repeated.
std::optional<std::map<std::string, std::string>> ParseTags(std::string_view list) {
  std::map<std::string, std::string> tags;
  size_t pos = 0;
  while (pos <= list.size()) {
    size_t semi = list.find(';', pos);
    std::string_view spec = list.substr(pos, semi == std::string_view::npos ? semi : semi - pos);
    pos = semi == std::string_view::npos ? list.size() + 1 : semi + 1;
    if (Trim(spec).empty()) continue;  // a trailing ';' is allowed
    size_t eq = spec.find('=');
    if (eq == std::string_view::npos) return std::nullopt;
    std::string name(Trim(spec.substr(0, eq)));
    if (name.empty()) return std::nullopt;
    if (!tags.emplace(name, std::string(Trim(spec.substr(eq + 1)))).second) return std::nullopt;
  }
  return tags;
}

std::string NoWhitespace(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (!IsWsp(c) && c != '\r' && c != '\n') out.push_back(c);
  }
  return out;
}

// The signature's own field ends the signed data without its CRLF (RFC 6376 §3.7); the last
// field of a message without a body may have none to begin with.
std::string WithoutCrlf(std::string s) {
  if (s.size() >= 2 && s.compare(s.size() - 2, 2, "\r\n") == 0) s.resize(s.size() - 2);
  return s;
}

// RFC 6376 §3.4.2, relaxed header canonicalisation, with the field's CRLF.
std::string RelaxedHeader(const Field& f) { return f.name + ":" + Unfold(f.value()) + "\r\n"; }

// The signature's own field with the b= value deleted (RFC 6376 §3.7, RFC 8617 §4.1.3).
std::string WithoutSignature(const Field& f) {
  std::string raw(f.raw);
  const size_t value_start = raw.find(':') + 1;
  const size_t value_end =
      raw.size() >= 2 && raw.compare(raw.size() - 2, 2, "\r\n") == 0 ? raw.size() - 2 : raw.size();
  size_t pos = value_start;
  while (pos < value_end) {
    size_t semi = raw.find(';', pos);
    if (semi == std::string::npos || semi > value_end) semi = value_end;
    size_t eq = raw.find('=', pos);
    if (eq != std::string::npos && eq < semi &&
        Trim(std::string_view(raw).substr(pos, eq - pos)) == "b") {
      raw.erase(eq + 1, semi - eq - 1);
      break;
    }
    pos = semi + 1;
  }
  return raw;
}

// The body as RFC 6376 §3.4.3 (simple) or §3.4.4 (relaxed) canonicalises it.
std::string CanonicalBody(std::string_view body, bool relaxed) {
  std::string out;
  out.reserve(body.size());
  if (!relaxed) {
    out.assign(body);
  } else {
    size_t pos = 0;
    while (pos < body.size()) {
      size_t eol = body.find("\r\n", pos);
      std::string_view line = body.substr(pos, eol == std::string_view::npos ? eol : eol - pos);
      pos = eol == std::string_view::npos ? body.size() : eol + 2;
      AppendCollapsed(out, line);  // a line holds no CRLF
      if (eol != std::string_view::npos) out += "\r\n";
    }
  }
  while (out.size() >= 2 && out.compare(out.size() - 2, 2, "\r\n") == 0) out.resize(out.size() - 2);
  if (!out.empty() || !relaxed) out += "\r\n";
  return out;
}

// What checking one signature gave.
struct Check {
  std::string result;  // pass, fail, temperror
  std::string reason;
};

Check Fail(std::string reason) { return {"fail", std::move(reason)}; }

// The public key of a DKIM key record (RFC 6376 §3.6.1), RSA only.
std::variant<common::EvpPkeyPtr, Check> KeyFor(const DkimKeyFetcher& fetch, std::string_view domain,
                                               std::string_view selector) {
  if (!IsDnsName(domain) || !IsDnsName(selector)) return Fail("d= or s= is not a domain name");
  DkimKeyLookup lookup = fetch(domain, selector);
  if (lookup.kind == DkimKeyLookup::Kind::kTempError) {
    return Check{"temperror", "key lookup failed"};
  }
  if (lookup.kind == DkimKeyLookup::Kind::kNotFound) return Fail("key not found");
  auto tags = ParseTags(lookup.record);
  if (!tags) return Fail("key record malformed");
  if (auto v = tags->find("v"); v != tags->end() && v->second != "DKIM1") {
    return Fail("key record malformed");
  }
  if (auto k = tags->find("k"); k != tags->end() && k->second != "rsa") {
    return Fail("key type is not rsa");
  }
  if (auto h = tags->find("h"); h != tags->end()) {
    std::string hashes = ":" + NoWhitespace(h->second) + ":";
    if (hashes.find(":sha256:") == std::string::npos) return Fail("key does not allow sha256");
  }
  auto p = tags->find("p");
  if (p == tags->end()) return Fail("key record malformed");
  const std::string b64 = NoWhitespace(p->second);
  if (b64.empty()) return Fail("key revoked");
  std::optional<std::string> der = common::Base64Decode(b64);
  if (!der) return Fail("key record malformed");
  const auto* data = reinterpret_cast<const unsigned char*>(der->data());
  common::EvpPkeyPtr key(d2i_PUBKEY(nullptr, &data, static_cast<long>(der->size())));
  if (!key) {  // some publish the bare RSAPublicKey
    data = reinterpret_cast<const unsigned char*>(der->data());
    key.reset(d2i_PublicKey(EVP_PKEY_RSA, nullptr, &data, static_cast<long>(der->size())));
  }
  common::OpenSslError();  // drop the queue either way
  if (!key || EVP_PKEY_get_base_id(key.get()) != EVP_PKEY_RSA) return Fail("key record malformed");
  if (EVP_PKEY_get_bits(key.get()) < kMinRsaBits) return Fail("key too small");
  return key;
}

Check VerifyRsaSha256(EVP_PKEY* key, std::string_view data, std::string_view b_tag) {
  std::optional<std::string> sig = common::Base64Decode(NoWhitespace(b_tag));
  if (!sig || sig->empty()) return Fail("signature malformed");
  common::EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  const bool ok =
      ctx && EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key) == 1 &&
      EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(sig->data()), sig->size(),
                       reinterpret_cast<const unsigned char*>(data.data()), data.size()) == 1;
  common::OpenSslError();
  return ok ? Check{"pass", ""} : Fail("signature mismatch");
}

// One instance's three fields.
struct Set {
  const Field* seal = nullptr;
  const Field* signature = nullptr;
  const Field* results = nullptr;
  std::map<std::string, std::string> seal_tags, signature_tags;
};

// RFC 8617 §5.1.2: the newest ARC-Message-Signature, checked as a DKIM signature is.
Check VerifyMessageSignature(const Message& m, const Set& set, const DkimKeyFetcher& fetch) {
  const auto& t = set.signature_tags;
  auto tag = [&t](const char* name) -> const std::string* {
    auto it = t.find(name);
    return it == t.end() ? nullptr : &it->second;
  };
  for (const char* required : {"a", "b", "bh", "d", "h", "s"}) {
    if (tag(required) == nullptr)
      return Fail(std::string("message signature lacks ") + required + "=");
  }
  if (!common::EqualsIgnoreAsciiCase(*tag("a"), "rsa-sha256"))
    return Fail("algorithm is not rsa-sha256");
  std::string header_canon = "simple", body_canon = "simple";
  if (const std::string* c = tag("c")) {
    const std::string lower = Lower(*c);
    size_t slash = lower.find('/');
    header_canon = lower.substr(0, slash);
    if (slash != std::string::npos) body_canon = lower.substr(slash + 1);
  }
  for (const std::string* canon : {&header_canon, &body_canon}) {
    if (*canon != "simple" && *canon != "relaxed") return Fail("unknown canonicalization");
  }
  std::string body = CanonicalBody(m.body, body_canon == "relaxed");
  if (const std::string* l = tag("l")) {
    if (l->size() > 18 || !AllDigits(*l)) {
      return Fail("l= malformed");
    }
    // A pass must mean the whole body as received: text added after the signed length (a
    // footer, or anything else) would otherwise ride on the chain unnoticed.
    const uint64_t length = std::stoull(*l);
    if (length != body.size()) {
      return Fail("message signature covers only the first " + std::to_string(length) + " of " +
                  std::to_string(body.size()) + " body bytes (l=)");
    }
  }
  const common::Hash body_hash = common::Sha256Of(body);
  std::optional<std::string> stated = common::Base64Decode(NoWhitespace(*tag("bh")));
  if (!stated || *stated != std::string(common::AsChars(body_hash))) {
    return Fail("body hash mismatch");
  }

  // RFC 6376 §5.4.2: a name listed n times takes that name's fields from the bottom up.
  std::map<std::string, std::vector<const Field*>> by_name;
  for (const Field& f : m.fields) by_name[f.name].push_back(&f);
  std::string data;
  const bool relaxed = header_canon == "relaxed";
  std::string_view names = *tag("h");
  std::vector<std::string> listed;
  for (size_t pos = 0; pos <= names.size();) {
    size_t colon = names.find(':', pos);
    listed.push_back(
        Lower(Trim(names.substr(pos, colon == std::string_view::npos ? colon : colon - pos))));
    pos = colon == std::string_view::npos ? names.size() + 1 : colon + 1;
  }
  // RFC 6376 §5.4: From must be signed; RFC 8617 §4.1.2: the seals are not.
  if (std::find(listed.begin(), listed.end(), "from") == listed.end()) {
    return Fail("message signature does not cover From:");
  }
  if (std::find(listed.begin(), listed.end(), "arc-seal") != listed.end()) {
    return Fail("message signature covers ARC-Seal");
  }
  for (const std::string& name : listed) {
    auto it = by_name.find(name);
    if (it == by_name.end() || it->second.empty()) continue;
    const Field* f = it->second.back();
    it->second.pop_back();
    data += relaxed ? RelaxedHeader(*f) : std::string(f->raw);
  }
  const std::string own = WithoutSignature(*set.signature);
  Field stripped{own, set.signature->name};
  data += WithoutCrlf(relaxed ? RelaxedHeader(stripped) : own);

  auto key = KeyFor(fetch, *tag("d"), *tag("s"));
  if (auto* check = std::get_if<Check>(&key)) return *check;
  return VerifyRsaSha256(std::get<common::EvpPkeyPtr>(key).get(), data, *tag("b"));
}

// RFC 8617 §5.1.1: seal i signs the three fields of every set 1..i, relaxed.
Check VerifySeal(const std::vector<Set>& sets, size_t i, const DkimKeyFetcher& fetch) {
  const auto& t = sets[i].seal_tags;
  for (const char* required : {"a", "b", "cv", "d", "s"}) {
    if (!t.contains(required)) return Fail(std::string("seal lacks ") + required + "=");
  }
  if (t.contains("h")) return Fail("seal has h=");
  if (!common::EqualsIgnoreAsciiCase(t.at("a"), "rsa-sha256"))
    return Fail("algorithm is not rsa-sha256");
  std::string data;
  for (size_t j = 0; j <= i; ++j) {
    data += RelaxedHeader(*sets[j].results);
    data += RelaxedHeader(*sets[j].signature);
    if (j < i) data += RelaxedHeader(*sets[j].seal);
  }
  const std::string own = WithoutSignature(*sets[i].seal);
  data += WithoutCrlf(RelaxedHeader(Field{own, sets[i].seal->name}));
  auto key = KeyFor(fetch, t.at("d"), t.at("s"));
  if (auto* check = std::get_if<Check>(&key)) return *check;
  return VerifyRsaSha256(std::get<common::EvpPkeyPtr>(key).get(), data, t.at("b"));
}

// "i=3" -> 3; 0 when not an instance number (RFC 8617 §4.2.1: 1 to 50, digits only).
uint32_t Instance(const std::map<std::string, std::string>& tags) {
  auto it = tags.find("i");
  if (it == tags.end() || it->second.size() > 3 || !AllDigits(it->second)) {
    return 0;
  }
  return static_cast<uint32_t>(std::stoul(it->second));
}

// Whether any header field's name starts with "ARC-": most mail has none, and is then not
// copied or parsed further.
bool HasArcField(std::string_view message) {
  size_t pos = 0;
  while (pos < message.size()) {
    if (message[pos] == '\n' || message.substr(pos, 2) == "\r\n") return false;  // the body
    if (message.size() - pos >= 4 && (message[pos] | 0x20) == 'a' &&
        (message[pos + 1] | 0x20) == 'r' && (message[pos + 2] | 0x20) == 'c' &&
        message[pos + 3] == '-') {
      return true;
    }
    size_t eol = message.find('\n', pos);
    if (eol == std::string_view::npos) return false;
    pos = eol + 1;
  }
  return false;
}

ArcOutcome Failed(std::string reason, std::vector<ArcSetResult> sets = {}) {
  return {"fail", Clip(reason), std::move(sets)};
}

}  // namespace

ArcOutcome VerifyArc(std::string_view message, const DkimKeyFetcher& fetch) {
  if (!HasArcField(message)) return {"none", "", {}};
  const Message m = Split(message);
  std::map<uint32_t, Set> by_instance;
  bool any = false;
  for (const Field& f : m.fields) {
    const bool seal = f.name == "arc-seal", signature = f.name == "arc-message-signature",
               results = f.name == "arc-authentication-results";
    if (!seal && !signature && !results) continue;
    any = true;
    // ARC-Authentication-Results is "i=N; authserv-id; results": its first element is the tag.
    std::string_view v = f.value();
    auto tags = ParseTags(results ? v.substr(0, std::min(v.find(';'), v.size())) : v);
    const uint32_t i = tags ? Instance(*tags) : 0;
    if (i == 0) return Failed(f.name + " has no valid instance (i=)");
    if (i > ArcOutcome::kMaxInstances) return Failed("more than 50 ARC sets");
    Set& set = by_instance[i];
    const Field*& slot = seal ? set.seal : signature ? set.signature : set.results;
    if (slot != nullptr)
      return Failed("two " + f.name + " fields for instance " + std::to_string(i));
    slot = &f;
    if (seal) set.seal_tags = std::move(*tags);
    if (signature) set.signature_tags = std::move(*tags);
  }
  if (!any) return {"none", "", {}};

  const uint32_t n = by_instance.rbegin()->first;
  std::vector<Set> sets;
  std::vector<ArcSetResult> out;
  for (uint32_t i = 1; i <= n; ++i) {
    auto it = by_instance.find(i);
    if (it == by_instance.end() || it->second.seal == nullptr || it->second.signature == nullptr ||
        it->second.results == nullptr) {
      return Failed("ARC set " + std::to_string(i) + " is incomplete");
    }
    const Set& s = it->second;
    auto get = [](const std::map<std::string, std::string>& t, const char* k) {
      auto f = t.find(k);
      return f == t.end() ? std::string() : Clip(f->second);
    };
    ArcSetResult r;
    r.instance = i;
    r.seal_domain = get(s.seal_tags, "d");
    r.seal_selector = get(s.seal_tags, "s");
    r.signature_domain = get(s.signature_tags, "d");
    r.signature_selector = get(s.signature_tags, "s");
    r.cv = get(s.seal_tags, "cv");
    std::string_view v = s.results->value();
    size_t semi = v.find(';');
    std::string rest = semi == std::string_view::npos ? "" : Unfold(v.substr(semi + 1));
    size_t id_end = std::min(rest.find(';'), rest.size());
    std::string_view id = Trim(std::string_view(rest).substr(0, id_end));
    r.authserv_id = Clip(id.substr(0, std::min(id.find(' '), id.size())));
    r.auth_results =
        id_end < rest.size() ? Clip(Trim(std::string_view(rest).substr(id_end + 1))) : "";
    out.push_back(std::move(r));
    sets.push_back(s);
  }

  // RFC 8617 §5.2 step 5's cv rules need no key: checked first (on the tag as written), so a
  // broken chain costs no lookup.
  for (uint32_t i = 1; i <= n; ++i) {
    auto it = sets[i - 1].seal_tags.find("cv");
    const std::string cv = it == sets[i - 1].seal_tags.end() ? "" : it->second;
    if (common::EqualsIgnoreAsciiCase(cv, "fail")) {
      return Failed("seal " + std::to_string(i) + " says the chain had failed", out);
    }
    if (!common::EqualsIgnoreAsciiCase(cv, i == 1 ? "none" : "pass")) {
      return Failed("seal " + std::to_string(i) + " has cv=" + cv, out);
    }
  }
  // Bounds for a chain anyone can build with keys of their own: each seal hashes every set
  // below it, and each distinct key is a lookup that may take the resolver's whole timeout.
  size_t arc_bytes = 0;
  std::set<std::pair<std::string, std::string>> keys;
  for (const Set& s : sets) {
    arc_bytes += s.seal->raw.size() + s.signature->raw.size() + s.results->raw.size();
    for (const auto* t : {&s.seal_tags, &s.signature_tags}) {
      auto d = t->find("d"), sel = t->find("s");
      if (d != t->end() && sel != t->end()) keys.emplace(Lower(d->second), Lower(sel->second));
    }
  }
  if (arc_bytes > kMaxArcBytes) {
    return Failed("the ARC header fields are over " + std::to_string(kMaxArcBytes / 1024) + " KiB",
                  out);
  }
  if (keys.size() > kMaxArcKeys) {
    return Failed("the ARC sets name more than " + std::to_string(kMaxArcKeys) + " keys", out);
  }
  Check signature = VerifyMessageSignature(m, sets[n - 1], fetch);
  out[n - 1].signature_result = signature.result;
  if (signature.result != "pass") {
    return {signature.result,
            Clip("message signature " + std::to_string(n) + ": " + signature.reason),
            std::move(out)};
  }
  for (uint32_t i = n; i >= 1; --i) {
    Check seal = VerifySeal(sets, i - 1, fetch);
    out[i - 1].seal_result = seal.result;
    if (seal.result != "pass") {
      return {seal.result, Clip("seal " + std::to_string(i) + ": " + seal.reason), std::move(out)};
    }
  }
  return {"pass", "", std::move(out)};
}

}  // namespace notary
