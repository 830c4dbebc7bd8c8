// The MIME structure parser of canonical form version 2; see mime_parser.h.
#include "mime_parser.h"

#include <cstring>
#include <functional>
#include <optional>
#include <unordered_map>
#include <utility>

#include "common/ascii.h"
#include "common/check.h"
#include "mime/canonical.h"

namespace mime::internal {
namespace {

constexpr size_t kNone = static_cast<size_t>(-1);

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

class Scanner {
 public:
  Scanner(std::string_view m, ParameterStats* param_stats, HeaderStats* header_stats,
          Warnings* warnings)
      : m_(m), param_stats_(param_stats), header_stats_(header_stats), warnings_(warnings) {}

  MimeTree Run() {
    const size_t n = m_.size();
    size_t pos = 0;
    while (pos < n && !tree_.too_many_parts) {
      if (active_.empty() && state_ != State::kHeaders) break;  // nothing can end this entity
      const void* hit = std::memchr(m_.data() + pos, '\n', n - pos);
      size_t line_end = n;
      size_t next = n;
      if (hit != nullptr) {
        const size_t nl = static_cast<size_t>(static_cast<const char*>(hit) - m_.data());
        line_end = nl > pos && m_[nl - 1] == '\r' ? nl - 1 : nl;
        next = nl + 1;
      }
      const std::string_view line = m_.substr(pos, line_end - pos);
      if (!active_.empty() && line.starts_with("--") && Delimiter(line, pos, next)) {
        pos = next;
        continue;
      }
      if (state_ != State::kHeaders) {
        pos = next;
        continue;
      }
      switch (ClassifyHeaderLine(line, after_field_)) {
        case HeaderLine::kField:
        case HeaderLine::kContinuation:
          after_field_ = true;
          pos = next;
          break;
        case HeaderLine::kEmpty:
          EndHeaders(pos, next);
          pos = next;
          break;
        case HeaderLine::kOther:
          // The line is the body's first line: it is looked at again in the new state (it may
          // be the first delimiter of a multipart whose headers it ends).
          warnings_->Add("a line that is not a header field ended a header block");
          EndHeaders(pos, pos);
          break;
      }
    }
    if (!tree_.too_many_parts) {
      EndEntity(n);
      PopTo(0);
    }
    return std::move(tree_);
  }

 private:
  enum class State { kHeaders, kLeafBody, kIgnore };

  struct Level {
    std::string boundary;
    std::string position;
    bool digest = false;
    size_t children = 0;
    bool closed = false;  // after the close delimiter: the rest is epilogue
  };

  // A line starting with "--": the delimiter or close delimiter of the outermost open
  // multipart it belongs to, if any (§V2.5). Acts on it and returns true; else false.
  bool Delimiter(std::string_view line, size_t line_begin, size_t next) {
    std::string_view rest = line.substr(2);
    while (!rest.empty() && (rest.back() == ' ' || rest.back() == '\t')) rest.remove_suffix(1);
    size_t level = kNone;
    bool close = false;
    if (auto it = active_.find(rest); it != active_.end()) level = it->second.front();
    if (rest.ends_with("--")) {
      auto it = active_.find(rest.substr(0, rest.size() - 2));
      if (it != active_.end() && it->second.front() < level) {
        level = it->second.front();
        close = true;
      }
    }
    if (level == kNone) return false;
    // The CRLF before the delimiter line belongs to the delimiter.
    EndEntity(line_begin);
    PopTo(level + 1);
    if (tree_.too_many_parts) return true;
    Level& lv = levels_[level];
    if (close) {
      lv.closed = true;
      Deregister(level);
      state_ = State::kIgnore;
      return true;
    }
    ++lv.children;
    position_ = lv.position.empty() ? std::to_string(lv.children)
                                    : lv.position + "." + std::to_string(lv.children);
    entity_begin_ = next;
    after_field_ = false;
    state_ = State::kHeaders;
    return true;
  }

  // The current entity ends: at the end of the input (line_begin == size), or where a
  // delimiter line starts at `line_begin`, without the CRLF before it (§V2.5).
  void EndEntity(size_t line_begin) {
    auto end_of = [&](size_t begin) {
      if (line_begin == m_.size()) return line_begin;
      return line_begin >= begin + 2 ? line_begin - 2 : begin;
    };
    if (state_ == State::kHeaders) {
      const size_t end = end_of(entity_begin_);
      EndHeaders(end, end);
    } else if (state_ == State::kLeafBody) {
      MimeNode& leaf = tree_.nodes[leaf_];
      leaf.body_end = end_of(leaf.body_begin);
    }
    state_ = State::kIgnore;
  }

  // Closes the open multiparts at `depth` and deeper (levels_[depth..]).
  void PopTo(size_t depth) {
    while (levels_.size() > depth) {
      if (!levels_.back().closed) {
        warnings_->Add("multipart without close delimiter (ends with its enclosing part)");
        Deregister(levels_.size() - 1);
      }
      if (levels_.back().children == 0) warnings_->Add("multipart without parts");
      levels_.pop_back();
    }
  }

  void Deregister(size_t level) {
    auto it = active_.find(std::string_view(levels_[level].boundary));
    CHECK(it != active_.end() && it->second.back() == level);  // every open level is in it
    it->second.pop_back();
    if (it->second.empty()) active_.erase(it);
  }

  // The header block [entity_begin_, header_end) is complete; the body starts at body_begin.
  void EndHeaders(size_t header_end, size_t body_begin) {
    std::vector<HeaderField> fields =
        SplitHeaderBlock(m_.substr(entity_begin_, header_end - entity_begin_), header_stats_);
    const bool top = levels_.empty() && tree_.nodes.empty();
    const bool in_digest = !levels_.empty() && levels_.back().digest;
    const HeaderField* content_type = nullptr;
    const HeaderField* disposition = nullptr;
    const HeaderField* transfer_encoding = nullptr;
    for (const HeaderField& f : fields) {
      if (content_type == nullptr && common::EqualsIgnoreAsciiCase(f.name, "content-type")) {
        content_type = &f;
      } else if (disposition == nullptr &&
                 common::EqualsIgnoreAsciiCase(f.name, "content-disposition")) {
        disposition = &f;
      } else if (transfer_encoding == nullptr &&
                 common::EqualsIgnoreAsciiCase(f.name, "content-transfer-encoding")) {
        transfer_encoding = &f;
      }
    }
    MimeNode node;
    node.position = top ? std::string() : position_;
    bool defaulted = content_type == nullptr;
    if (content_type != nullptr) {
      ContentType ct = ParseContentType(content_type->value, param_stats_);
      if (ct.valid) {
        node.type = std::move(ct.type);
        node.subtype = std::move(ct.subtype);
        node.params = std::move(ct.params);
      } else {
        // RFC 2045 §5.2: the default is also assumed for an invalid Content-Type.
        warnings_->Add("invalid Content-Type, assumed text/plain; charset=us-ascii");
        defaulted = true;
      }
    }
    if (defaulted) {
      if (content_type == nullptr && in_digest) {
        // RFC 2046 §5.1.5: in a digest the default is message/rfc822.
        node.type = "message";
        node.subtype = "rfc822";
      } else {
        node.type = "text";
        node.subtype = "plain";
        Parameter charset;
        charset.base = "charset";
        charset.value = "us-ascii";
        node.params.push_back(std::move(charset));
      }
    }
    if (disposition != nullptr) {
      node.has_disposition = true;
      node.disposition = disposition->value;
    }
    if (transfer_encoding != nullptr) node.transfer_encoding = transfer_encoding->value;
    if (top) tree_.headers = std::move(fields);

    if (node.type == "multipart") {
      std::optional<std::string> boundary =
          GetParameter(node.params, "boundary", nullptr, param_stats_);
      if (boundary) {
        // RFC 2046 §5.1.1: a boundary does not end in white space.
        while (!boundary->empty() && (boundary->back() == ' ' || boundary->back() == '\t')) {
          boundary->pop_back();
        }
      }
      if (!boundary || boundary->empty()) {
        warnings_->Add("multipart without boundary parameter, kept as one part");
      } else if (levels_.size() >= kMaxMultipartDepth) {
        warnings_->Add("multipart nested deeper than 100 levels, kept as one part");
      } else {
        Level lv;
        lv.boundary = std::move(*boundary);
        lv.position = node.position;
        lv.digest = node.subtype == "digest";
        levels_.push_back(std::move(lv));
        active_[levels_.back().boundary].push_back(levels_.size() - 1);
        node.multipart = true;
        tree_.nodes.push_back(std::move(node));
        state_ = State::kIgnore;  // the preamble
        return;
      }
    }
    if (top) node.position = "1";
    if (++tree_.leaves > kMaxParts) {
      tree_.too_many_parts = true;
      return;
    }
    node.body_begin = body_begin;
    node.body_end = body_begin;
    leaf_ = tree_.nodes.size();
    tree_.nodes.push_back(std::move(node));
    state_ = State::kLeafBody;
  }

  std::string_view m_;
  ParameterStats* param_stats_;
  HeaderStats* header_stats_;
  Warnings* warnings_;
  MimeTree tree_;

  std::vector<Level> levels_;
  // Open boundaries -> the levels using them, outermost first.
  std::unordered_map<std::string, std::vector<size_t>, StringHash, std::equal_to<>> active_;

  State state_ = State::kHeaders;
  size_t entity_begin_ = 0;  // the current entity's first byte
  std::string position_;     // the current entity's position (not for the top level)
  bool after_field_ = false;
  size_t leaf_ = kNone;  // the leaf whose body is being read
};

}  // namespace

MimeTree ParseMime(std::string_view prepared, ParameterStats* param_stats,
                   HeaderStats* header_stats, Warnings* warnings) {
  return Scanner(prepared, param_stats, header_stats, warnings).Run();
}

}  // namespace mime::internal
