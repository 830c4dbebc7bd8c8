// Differences between two canonical results, for `notary-verify --eml`.
#include <map>
#include <string>
#include <vector>

#include "common/bytes.h"
#include "mime/canonical.h"

namespace mime {
namespace {

constexpr size_t kMaxShownValue = 200;

std::string Quote(std::string_view v) {
  std::string out = "\"";
  if (v.size() > kMaxShownValue) {
    out += v.substr(0, kMaxShownValue);
    out += "...";
  } else {
    out += v;
  }
  out += '"';
  return out;
}

std::string Describe(const Part& p) {
  std::string out = "part " + p.position + " (" + p.content_type;
  if (!p.filename.empty()) out += ", " + Quote(p.filename);
  return out + ")";
}

// name -> values in message order.
std::map<std::string, std::vector<std::string>> GroupHeaders(const Canonical& c) {
  std::map<std::string, std::vector<std::string>> out;
  for (const auto& h : c.headers) out[h.name].push_back(h.value);
  return out;
}

void CompareHeaders(const Canonical& a, const Canonical& b, std::vector<std::string>* out) {
  const auto ha = GroupHeaders(a);
  const auto hb = GroupHeaders(b);
  for (const std::string& name : CanonicalHeaderNames()) {
    const auto ia = ha.find(name);
    const auto ib = hb.find(name);
    const std::vector<std::string> empty;
    const auto& va = ia == ha.end() ? empty : ia->second;
    const auto& vb = ib == hb.end() ? empty : ib->second;
    if (va == vb) continue;
    if (va.empty()) {
      out->push_back("header " + name + ": only in the other message: " + Quote(vb.front()));
    } else if (vb.empty()) {
      out->push_back("header " + name + ": only in the notarised message: " + Quote(va.front()));
    } else if (va.size() != vb.size()) {
      out->push_back("header " + name + ": appears " + std::to_string(va.size()) +
                     " time(s) in the notarised message, " + std::to_string(vb.size()) +
                     " in the other");
    } else {
      for (size_t i = 0; i < va.size(); ++i) {
        if (va[i] == vb[i]) continue;
        out->push_back("header " + name + " differs: notarised " + Quote(va[i]) + ", other " +
                       Quote(vb[i]));
      }
    }
  }
}

const Part* FindByContent(const std::vector<Part>& parts, const common::Hash& digest) {
  for (const Part& p : parts) {
    if (p.content_sha256 == digest) return &p;
  }
  return nullptr;
}

void CompareParts(const Canonical& a, const Canonical& b, std::vector<std::string>* out) {
  std::map<std::string, const Part*> pb;
  for (const Part& p : b.parts) pb[p.position] = &p;
  std::map<std::string, const Part*> pa;
  for (const Part& p : a.parts) pa[p.position] = &p;

  for (const Part& p : a.parts) {
    const auto it = pb.find(p.position);
    if (it == pb.end()) {
      const Part* moved = FindByContent(b.parts, p.content_sha256);
      out->push_back(Describe(p) + ": missing from the other message" +
                     (moved ? "; same content found there as part " + moved->position : ""));
      continue;
    }
    const Part& q = *it->second;
    if (p.content_type != q.content_type) {
      out->push_back(Describe(p) + ": content type differs, other has " + q.content_type);
    }
    if (p.filename != q.filename) {
      out->push_back(Describe(p) + ": file name differs, other has " + Quote(q.filename));
    }
    if (p.disposition != q.disposition) {
      out->push_back(Describe(p) + ": disposition differs, notarised " + Quote(p.disposition) +
                     ", other " + Quote(q.disposition));
    }
    if (p.content_sha256 != q.content_sha256 || p.normalised_text != q.normalised_text) {
      const Part* moved = FindByContent(b.parts, p.content_sha256);
      std::string line = Describe(p) + ": content differs (notarised sha256 " +
                         common::ToHex(p.sha256) + ", other " + common::ToHex(q.sha256) + ")";
      if (moved != nullptr)
        line += "; notarised content found in the other as part " + moved->position;
      out->push_back(std::move(line));
    }
  }
  for (const Part& q : b.parts) {
    if (pa.count(q.position) == 0) out->push_back(Describe(q) + ": only in the other message");
  }
}

void CompareStructure(const Canonical& a, const Canonical& b, std::vector<std::string>* out) {
  std::map<std::string, std::string> mb;
  for (const auto& m : b.multiparts) mb[m.position] = m.content_type;
  std::map<std::string, std::string> ma;
  for (const auto& m : a.multiparts) ma[m.position] = m.content_type;
  if (ma == mb) return;
  for (const auto& [pos, type] : ma) {
    const auto it = mb.find(pos);
    const std::string where = pos.empty() ? "top-level body" : "container " + pos;
    if (it == mb.end()) {
      out->push_back(where + " (" + type + "): not a multipart in the other message");
    } else if (it->second != type) {
      out->push_back(where + ": notarised " + type + ", other " + it->second);
    }
  }
  for (const auto& [pos, type] : mb) {
    if (ma.count(pos) == 0) {
      const std::string where = pos.empty() ? "top-level body" : "container " + pos;
      out->push_back(where + " (" + type + "): only a multipart in the other message");
    }
  }
}

}  // namespace

std::vector<std::string> Differences(const Canonical& notarised, const Canonical& other) {
  std::vector<std::string> out;
  if (notarised.canon_version != other.canon_version) {
    out.push_back("canonical form versions differ: " + std::to_string(notarised.canon_version) +
                  " vs " + std::to_string(other.canon_version));
  }
  if (notarised.canonical_sha256 == other.canonical_sha256) return out;
  CompareHeaders(notarised, other, &out);
  CompareStructure(notarised, other, &out);
  CompareParts(notarised, other, &out);
  if (out.empty()) {
    // Same headers and parts but different forms: an unparsed record or the part order.
    out.push_back("canonical forms differ in structure or part order");
  }
  return out;
}

}  // namespace mime
