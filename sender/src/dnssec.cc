#include "sender/dnssec.h"

#include <ldns/ldns.h>

#include <cctype>
#include <map>
#include <memory>

namespace notary {

namespace {

// A chain has at most this many zones (the deepest names have far fewer labels with zone cuts).
constexpr int kMaxChainZones = 16;
// Bounds on what a hostile archive can make a verifier do: RRSIGs tried per RRset, keys per
// DNSKEY set (real zones have a handful of each), and signature verifications in all.
constexpr size_t kMaxSigsPerRrset = 8;
constexpr size_t kMaxKeysPerZone = 32;
constexpr int kMaxVerifications = 512;

struct PktFree {
  void operator()(ldns_pkt* p) const { ldns_pkt_free(p); }
};
struct ListFree {
  void operator()(ldns_rr_list* l) const { ldns_rr_list_deep_free(l); }
};
struct RrFree {
  void operator()(ldns_rr* r) const { ldns_rr_free(r); }
};
using List = std::unique_ptr<ldns_rr_list, ListFree>;

List NewList() { return List(ldns_rr_list_new()); }

// "acme.example" for the owner acme.example., "" for the root: lower case, no trailing dot.
std::string ZoneKey(std::string_view name) {
  std::string out;
  for (char c : name) out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  while (!out.empty() && out.back() == '.') out.pop_back();
  return out;
}

std::string DnameKey(const ldns_rdf* dname) {
  if (dname == nullptr) return "";
  char* text = ldns_rdf2str(dname);
  if (text == nullptr) return "";
  std::string out = ZoneKey(text);
  free(text);
  return out;
}

std::string ZoneName(const std::string& key) { return key.empty() ? "." : key; }

// The RRset of (owner, type) in the reply's answer section, and the RRSIGs over it (clones).
bool Extract(const DnsAnswer& answer, const std::string& owner, uint16_t type, List& rrset,
             List& sigs) {
  if (answer.outcome != LookupOutcome::kAnswer || answer.wire.empty()) return false;
  ldns_pkt* raw = nullptr;
  if (ldns_wire2pkt(&raw, reinterpret_cast<const uint8_t*>(answer.wire.data()),
                    answer.wire.size()) != LDNS_STATUS_OK) {
    return false;
  }
  std::unique_ptr<ldns_pkt, PktFree> pkt(raw);
  rrset = NewList();
  sigs = NewList();
  ldns_rr_list* rrs = ldns_pkt_answer(pkt.get());
  for (size_t i = 0; rrs != nullptr && i < ldns_rr_list_rr_count(rrs); ++i) {
    ldns_rr* rr = ldns_rr_list_rr(rrs, i);
    if (DnameKey(ldns_rr_owner(rr)) != owner) continue;
    if (ldns_rr_get_type(rr) == type) {
      ldns_rr_list_push_rr(rrset.get(), ldns_rr_clone(rr));
    } else if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_RRSIG &&
               ldns_rdf2rr_type(ldns_rr_rrsig_typecovered(rr)) == type) {
      ldns_rr_list_push_rr(sigs.get(), ldns_rr_clone(rr));
    }
  }
  return ldns_rr_list_rr_count(rrset.get()) > 0;
}

// The archived answer for (zone, type): one with records if there is one, else the first
// that failed or was empty, which says why the chain stops there.
const DnsAnswer* Find(const std::vector<DnsAnswer>& archive, const std::string& zone,
                      uint16_t type) {
  const DnsAnswer* other = nullptr;
  for (const DnsAnswer& a : archive) {
    if (a.qtype != type || ZoneKey(a.qname) != zone) continue;
    if (a.outcome == LookupOutcome::kAnswer) return &a;
    if (other == nullptr) other = &a;
  }
  return other;
}

bool SameRdata(const ldns_rr* a, const ldns_rr* b) {
  if (ldns_rr_rd_count(a) != ldns_rr_rd_count(b)) return false;
  for (size_t i = 0; i < ldns_rr_rd_count(a); ++i) {
    if (ldns_rdf_compare(ldns_rr_rdf(a, i), ldns_rr_rdf(b, i)) != 0) return false;
  }
  return true;
}

class Validator {
 public:
  Validator(const std::vector<DnsAnswer>& archive, const DnssecAnchors& anchors)
      : archive_(archive), anchors_(anchors) {
    for (const std::string& line : anchors.records) {
      ldns_rr* rr = nullptr;
      if (ldns_rr_new_frm_str(&rr, line.c_str(), 0, nullptr, nullptr) == LDNS_STATUS_OK) {
        anchor_rrs_.emplace_back(rr);
      }
    }
  }

  // Verifies `rrset` with one of `sigs` at `when`; on success `chain` tells how. When it does
  // not, `unconfirmed` tells whether that is for want of data (a chain lookup that failed at
  // reception, a record not archived) or a bound of this validation, rather than a
  // contradiction (a signature or key that does not match).
  bool VerifyRrset(const ldns_rr_list* rrset, const ldns_rr_list* sigs, time_t when, int depth,
                   std::string& chain, std::string& why, bool& unconfirmed) {
    if (ldns_rr_list_rr_count(sigs) == 0) {
      why = "no RRSIG over the records";
      return false;
    }
    if (ldns_rr_list_rr_count(sigs) > kMaxSigsPerRrset) unconfirmed = true;
    for (size_t i = 0; i < ldns_rr_list_rr_count(sigs) && i < kMaxSigsPerRrset; ++i) {
      const ldns_rr* sig = ldns_rr_list_rr(sigs, i);
      const std::string signer = DnameKey(ldns_rr_rrsig_signame(sig));
      const ZoneKeys* keys = TrustedKeys(signer, depth + 1);
      if (keys->keys == nullptr) {
        why = keys->why;
        unconfirmed = unconfirmed || keys->unconfirmed;
        continue;
      }
      if (!Spend(why)) {
        unconfirmed = true;
        return false;
      }
      ldns_status st = ldns_verify_rrsig_keylist_time(rrset, sig, keys->keys.get(), when, nullptr);
      if (st == LDNS_STATUS_OK) {
        chain = keys->chain;
        return true;
      }
      why = "the RRSIG by " + ZoneName(signer) + " does not verify: " + ldns_get_errorstr_by_id(st);
    }
    return false;
  }

 private:
  // A zone's DNSKEY set once validated (keys null when it did not, with why), and how.
  struct ZoneKeys {
    List keys;
    std::string chain, why;
    bool unconfirmed = false;  // for want of data or a bound (VerifyRrset)
  };

  // A record the notary must have archived is missing: its omission, unless the archive was
  // full (sender/evaluate.h), which a sender's many lookups can cause.
  bool Full() const { return archive_.size() >= kMaxDnsAnswers; }

  bool Spend(std::string& why) {
    if (++verifications_ > kMaxVerifications) {
      why = "more than " + std::to_string(kMaxVerifications) + " signatures to check";
      return false;
    }
    return true;
  }

  // Memoised per zone: each zone is validated once however many RRSIGs name it, so a hostile
  // archive cannot make the walk exponential; a zone met again on its own path (a loop) fails.
  const ZoneKeys* TrustedKeys(const std::string& zone, int depth) {
    if (auto it = zones_.find(zone); it != zones_.end()) return &it->second;
    ZoneKeys& out = zones_[zone];
    out.why = "the chain loops back to " + ZoneName(zone);
    if (depth > kMaxChainZones) {
      out.why = "the chain is longer than " + std::to_string(kMaxChainZones) + " zones";
      out.unconfirmed = true;
      return &out;
    }
    out.keys = Validate(zone, depth, out.chain, out.why, out.unconfirmed);
    return &out;
  }

  // The DNSKEY set of `zone`, validated from an anchor: its own RRSIG by a key that an anchor
  // or a validated DS names.
  List Validate(const std::string& zone, int depth, std::string& chain, std::string& why,
                bool& unconfirmed) {
    const DnsAnswer* dnskey = Find(archive_, zone, kDnsTypeDnskey);
    List keys, key_sigs;
    if (dnskey == nullptr || dnskey->outcome == LookupOutcome::kTemperror) {
      why = dnskey == nullptr ? "the archive has no DNSKEY records of " + ZoneName(zone)
                              : "the DNSKEY lookup of " + ZoneName(zone) +
                                    " failed at reception (" + dnskey->why + ")";
      unconfirmed = dnskey != nullptr || Full();
      return nullptr;
    }
    if (!Extract(*dnskey, zone, kDnsTypeDnskey, keys, key_sigs)) {
      why = "the archive has no DNSKEY records of " + ZoneName(zone);
      return nullptr;
    }
    if (ldns_rr_list_rr_count(keys.get()) > kMaxKeysPerZone) {
      why = "more than " + std::to_string(kMaxKeysPerZone) + " DNSKEY records in " + ZoneName(zone);
      unconfirmed = true;
      return nullptr;
    }
    const time_t when = static_cast<time_t>(dnskey->looked_up_at_us / 1000000);
    List entry = NewList();
    if (anchors_.Covers(zone)) {
      for (size_t k = 0; k < ldns_rr_list_rr_count(keys.get()); ++k) {
        const ldns_rr* key = ldns_rr_list_rr(keys.get(), k);
        for (const auto& a : anchor_rrs_) {
          if (DnameKey(ldns_rr_owner(a.get())) != zone) continue;
          const bool match = ldns_rr_get_type(a.get()) == LDNS_RR_TYPE_DNSKEY
                                 ? SameRdata(a.get(), key)
                                 : ldns_rr_compare_ds(a.get(), key);
          if (match) {
            ldns_rr_list_push_rr(entry.get(), ldns_rr_clone(key));
            break;
          }
        }
      }
      chain = ZoneName(zone) + " (trust anchor)";
    } else {
      const DnsAnswer* ds = Find(archive_, zone, kDnsTypeDs);
      List ds_set, ds_sigs;
      if (ds == nullptr || ds->outcome == LookupOutcome::kTemperror) {
        why = ds == nullptr
                  ? "the archive has no DS records of " + ZoneName(zone) +
                        " and no trust anchor covers it"
                  : "the DS lookup of " + ZoneName(zone) + " failed at reception (" + ds->why + ")";
        unconfirmed = ds != nullptr || Full();
        return nullptr;
      }
      if (!Extract(*ds, zone, kDnsTypeDs, ds_set, ds_sigs)) {
        why =
            "the archive has no DS records of " + ZoneName(zone) + " and no trust anchor covers it";
        return nullptr;
      }
      std::string parent_chain;
      if (!VerifyRrset(ds_set.get(), ds_sigs.get(),
                       static_cast<time_t>(ds->looked_up_at_us / 1000000), depth, parent_chain, why,
                       unconfirmed)) {
        why = "DS of " + ZoneName(zone) + ": " + why;
        return nullptr;
      }
      for (size_t k = 0; k < ldns_rr_list_rr_count(keys.get()); ++k) {
        const ldns_rr* key = ldns_rr_list_rr(keys.get(), k);
        for (size_t d = 0; d < ldns_rr_list_rr_count(ds_set.get()) && d < kMaxKeysPerZone; ++d) {
          if (ldns_rr_compare_ds(ldns_rr_list_rr(ds_set.get(), d), key)) {
            ldns_rr_list_push_rr(entry.get(), ldns_rr_clone(key));
            break;
          }
        }
      }
      chain = ZoneName(zone) + " <- " + parent_chain;
    }
    if (ldns_rr_list_rr_count(entry.get()) == 0) {
      why = "no DNSKEY of " + ZoneName(zone) + " matches " +
            (anchors_.Covers(zone) ? "the trust anchor" : "its DS records");
      return nullptr;
    }
    if (ldns_rr_list_rr_count(key_sigs.get()) > kMaxSigsPerRrset) unconfirmed = true;
    for (size_t i = 0; i < ldns_rr_list_rr_count(key_sigs.get()) && i < kMaxSigsPerRrset; ++i) {
      if (!Spend(why)) {
        unconfirmed = true;
        return nullptr;
      }
      if (ldns_verify_rrsig_keylist_time(keys.get(), ldns_rr_list_rr(key_sigs.get(), i),
                                         entry.get(), when, nullptr) == LDNS_STATUS_OK) {
        return keys;
      }
    }
    why = "the DNSKEY records of " + ZoneName(zone) + " are not signed by a trusted key";
    return nullptr;
  }

  const std::vector<DnsAnswer>& archive_;
  const DnssecAnchors& anchors_;
  std::vector<std::unique_ptr<ldns_rr, RrFree>> anchor_rrs_;
  std::map<std::string, ZoneKeys> zones_;
  int verifications_ = 0;
};

}  // namespace

bool DnssecAnchors::Covers(std::string_view zone) const {
  const std::string key = ZoneKey(zone);
  for (const std::string& z : zones) {
    if (z == key) return true;
  }
  return false;
}

common::Result<DnssecAnchors> ParseDnssecAnchors(std::string_view text) {
  DnssecAnchors out;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    std::string line(text.substr(pos, nl == std::string_view::npos ? text.size() - pos : nl - pos));
    pos = nl == std::string_view::npos ? text.size() : nl + 1;
    if (size_t semi = line.find(';'); semi != std::string::npos) line.resize(semi);
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    ldns_rr* raw = nullptr;
    if (ldns_rr_new_frm_str(&raw, line.c_str(), 0, nullptr, nullptr) != LDNS_STATUS_OK) {
      return common::Error::InvalidInput("trust anchor: not a DNS record: " + line.substr(0, 80));
    }
    std::unique_ptr<ldns_rr, RrFree> rr(raw);
    if (ldns_rr_get_type(rr.get()) != LDNS_RR_TYPE_DNSKEY &&
        ldns_rr_get_type(rr.get()) != LDNS_RR_TYPE_DS) {
      return common::Error::InvalidInput("trust anchor: only DNSKEY and DS records: " +
                                         line.substr(0, 80));
    }
    out.records.push_back(line);
    const std::string zone = DnameKey(ldns_rr_owner(rr.get()));
    if (!out.Covers(zone)) out.zones.push_back(zone);
  }
  if (out.records.empty()) return common::Error::InvalidInput("trust anchor: no record");
  return out;
}

SignerZone AnswerSigner(const DnsAnswer& answer) {
  List rrset, sigs;
  SignerZone out;
  if (!Extract(answer, ZoneKey(answer.qname), answer.qtype, rrset, sigs)) return out;
  if (ldns_rr_list_rr_count(sigs.get()) == 0) return out;
  out.found = true;
  out.zone = DnameKey(ldns_rr_rrsig_signame(ldns_rr_list_rr(sigs.get(), 0)));
  return out;
}

void FetchDnssecChain(const DnsAnswer& answer, const DnssecAnchors& anchors,
                      const DnsLookup& lookup) {
  SignerZone signer = AnswerSigner(answer);
  if (!signer.found) return;
  std::string zone = signer.zone;
  for (int i = 0; i < kMaxChainZones; ++i) {
    (void)lookup(ZoneName(zone), kDnsTypeDnskey);
    if (anchors.Covers(zone)) return;
    const DnsAnswer ds = lookup(ZoneName(zone), kDnsTypeDs);
    SignerZone parent = AnswerSigner(ds);
    // The DS set is signed by the parent zone, strictly above; anything else ends the walk.
    if (!parent.found || parent.zone == zone || parent.zone.size() >= zone.size()) return;
    zone = parent.zone;
  }
}

namespace {

DnssecValidation ValidateWith(Validator& v, const DnsAnswer& answer) {
  DnssecValidation out;
  List rrset, sigs;
  if (!Extract(answer, ZoneKey(answer.qname), answer.qtype, rrset, sigs)) {
    out.why = "the reply holds no records for its question";
    return out;
  }
  out.validated =
      v.VerifyRrset(rrset.get(), sigs.get(), static_cast<time_t>(answer.looked_up_at_us / 1000000),
                    0, out.chain, out.why, out.unconfirmed);
  if (out.validated) {
    out.why.clear();
    out.unconfirmed = false;
  }
  return out;
}

}  // namespace

DnssecValidation ValidateArchivedAnswer(const DnsAnswer& answer,
                                        const std::vector<DnsAnswer>& archive,
                                        const DnssecAnchors& anchors) {
  Validator v(archive, anchors);
  return ValidateWith(v, answer);
}

std::vector<DnssecValidation> ValidateArchivedAnswers(const std::vector<const DnsAnswer*>& answers,
                                                      const std::vector<DnsAnswer>& archive,
                                                      const DnssecAnchors& anchors) {
  Validator v(archive, anchors);
  std::vector<DnssecValidation> out;
  out.reserve(answers.size());
  for (const DnsAnswer* a : answers) out.push_back(ValidateWith(v, *a));
  return out;
}

}  // namespace notary
