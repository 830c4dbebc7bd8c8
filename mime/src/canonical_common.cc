// Helpers shared by the canonical-form versions; see canonical_common.h.
#include "canonical_common.h"

#include <unordered_set>

#include "gmime_support.h"
#include "text_normalise.h"

namespace mime::internal {
namespace {

// Bounds the warnings list: each distinct description appears once, with a count.
constexpr size_t kMaxDistinctWarnings = 64;

std::string Safe(const char* s) { return s == nullptr ? std::string() : std::string(s); }

// `seen` holds the addresses already in `addrs`: a header of 150,000 mailboxes must not cost
// a linear search per mailbox.
void AddAddresses(GMimeParserOptions* options, const char* raw, std::vector<std::string>* display,
                  std::vector<std::string>* addrs, std::unordered_set<std::string>* seen) {
  if (raw == nullptr) return;
  GCharPtr unfolded{g_mime_utils_header_unfold(raw)};
  GPtr<InternetAddressList> list{internet_address_list_parse(options, unfolded.get())};
  if (!list) return;
  // Groups are flattened with an explicit stack of lists.
  std::vector<InternetAddressList*> lists_left{list.get()};
  while (!lists_left.empty()) {
    InternetAddressList* l = lists_left.back();
    lists_left.pop_back();
    const int n = internet_address_list_length(l);
    for (int i = 0; i < n; ++i) {
      InternetAddress* ia = internet_address_list_get_address(l, i);  // transfer none
      if (INTERNET_ADDRESS_IS_GROUP(ia)) {
        InternetAddressList* members =
            internet_address_group_get_members(INTERNET_ADDRESS_GROUP(ia));
        if (members != nullptr) lists_left.push_back(members);
        continue;
      }
      if (!INTERNET_ADDRESS_IS_MAILBOX(ia)) continue;
      if (display != nullptr) {
        GCharPtr s{internet_address_to_string(ia, nullptr, FALSE)};
        if (s) display->push_back(CollapseWhitespace(s.get()));
      }
      std::string addr =
          AsciiLower(Safe(internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(ia))));
      if (!addr.empty() && seen->insert(addr).second) addrs->push_back(std::move(addr));
    }
  }
}

std::string StripAngles(std::string_view s) {
  if (s.size() >= 2 && s.front() == '<' && s.back() == '>') s = s.substr(1, s.size() - 2);
  return std::string(s);
}

}  // namespace

void Warnings::Add(std::string_view what, uint64_t times) {
  if (times == 0) return;
  for (auto& [text, count] : entries_) {
    if (text == what) {
      count += times;
      return;
    }
  }
  if (entries_.size() < kMaxDistinctWarnings) entries_.emplace_back(std::string(what), times);
}

std::vector<std::string> Warnings::Render() const {
  std::vector<std::string> out;
  out.reserve(entries_.size());
  for (const auto& [text, count] : entries_) {
    out.push_back(count == 1 ? text : text + " (x" + std::to_string(count) + ")");
  }
  return out;
}

bool StartsWithMboxFromLine(std::string_view raw) {
  if (!raw.starts_with("From ")) return false;
  size_t i = 5;
  while (i < raw.size() && (raw[i] == ' ' || raw[i] == '\t')) ++i;
  return i >= raw.size() || raw[i] != ':';
}

std::string AsciiLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

void AppendField(std::string& out, std::string_view s) {
  out += std::to_string(s.size());
  out += ':';
  out += s;
}

void AppendRecord(std::string& out, std::string_view tag,
                  std::initializer_list<std::string_view> fields) {
  out += tag;
  for (std::string_view f : fields) {
    out += ' ';
    AppendField(out, f);
  }
  out += '\n';
}

void FillMetadata(GMimeParserOptions* options, const std::vector<MetadataField>& fields,
                  Canonical* out, Warnings* warnings) {
  Metadata& md = out->metadata;
  auto first = [&](std::string_view name) -> const CanonicalHeader* {
    for (const auto& h : out->headers) {
      if (h.name == name) return &h;
    }
    return nullptr;
  };
  if (const auto* h = first("from")) md.from = h->value;
  if (const auto* h = first("sender")) md.sender = h->value;
  if (const auto* h = first("reply-to")) md.reply_to = h->value;
  if (const auto* h = first("subject")) md.subject = h->value;
  if (const auto* h = first("date")) {
    md.date = h->value;
    DateTimePtr dt{g_mime_utils_header_decode_date(h->value.c_str())};
    if (dt) {
      md.date_utc_unix = g_date_time_to_unix(dt.get());
    } else {
      warnings->Add("Date header could not be parsed");
    }
  } else {
    warnings->Add("no Date header");
  }
  if (first("from") == nullptr) warnings->Add("no From header");
  if (const auto* h = first("message-id")) {
    GCharPtr id{g_mime_utils_decode_message_id(h->value.c_str())};
    md.message_id = id ? std::string(id.get()) : StripAngles(h->value);
  }
  if (const auto* h = first("in-reply-to")) {
    GCharPtr id{g_mime_utils_decode_message_id(h->value.c_str())};
    md.in_reply_to = id ? std::string(id.get()) : StripAngles(h->value);
  }

  std::unordered_set<std::string> seen;
  for (const MetadataField& f : fields) {
    if (f.name == "to") {
      AddAddresses(options, f.raw, &md.to, &md.addresses, &seen);
    } else if (f.name == "cc") {
      AddAddresses(options, f.raw, &md.cc, &md.addresses, &seen);
    } else if (f.name == "from" || f.name == "sender" || f.name == "reply-to" || f.name == "bcc") {
      AddAddresses(options, f.raw, nullptr, &md.addresses, &seen);
    }
  }
}

}  // namespace mime::internal
