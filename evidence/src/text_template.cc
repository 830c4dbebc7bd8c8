#include "text_template.h"

#include <cstdio>

#include "common/printable.h"

namespace notary {
namespace {

using json = nlohmann::json;
using Node = TextTemplate::Node;

bool ValidName(std::string_view n) {
  if (n.empty()) return false;
  bool segment_start = true;
  for (char c : n) {
    if (c == '.') {
      if (segment_start) return false;
      segment_start = true;
      continue;
    }
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
    segment_start = false;
  }
  return !segment_start;
}

// The value `name` names in `stack` (innermost last), or nullptr.
const json* Lookup(const std::vector<const json*>& stack, std::string_view name) {
  const size_t dot = name.find('.');
  const std::string first(name.substr(0, dot));
  const json* found = nullptr;
  for (auto it = stack.rbegin(); it != stack.rend() && found == nullptr; ++it) {
    if ((*it)->is_object()) {
      auto f = (*it)->find(first);
      if (f != (*it)->end()) found = &*f;
    }
  }
  size_t pos = dot;
  while (found != nullptr && pos != std::string_view::npos) {
    const size_t next = name.find('.', pos + 1);
    const std::string seg(
        name.substr(pos + 1, next == std::string_view::npos ? next : next - pos - 1));
    if (!found->is_object()) return nullptr;
    auto f = found->find(seg);
    found = f == found->end() ? nullptr : &*f;
    pos = next;
  }
  return found;
}

bool Truthy(const json* v) {
  if (v == nullptr || v->is_null()) return false;
  if (v->is_boolean()) return v->get<bool>();
  if (v->is_string()) return !v->get_ref<const std::string&>().empty();
  if (v->is_array()) return !v->empty();
  return true;  // objects, numbers
}

common::Status RenderNodes(const std::vector<Node>& nodes, std::vector<const json*>& stack,
                           TextTemplate::Kind kind, std::string& out) {
  for (const Node& n : nodes) {
    switch (n.type) {
      case Node::Type::kText:
        out += n.text;
        break;
      case Node::Type::kVar:
      case Node::Type::kRaw: {
        const json* v = Lookup(stack, n.text);
        if (v == nullptr || !v->is_string()) {
          return common::Error::Internal("template variable " + n.text + " is not a string");
        }
        const std::string& s = v->get_ref<const std::string&>();
        out += n.type == Node::Type::kRaw ? s : EscapeForTemplate(s, kind);
        break;
      }
      case Node::Type::kSection: {
        const json* v = Lookup(stack, n.text);
        if (!Truthy(v)) break;
        if (v->is_array()) {
          for (const json& item : *v) {
            stack.push_back(&item);
            auto st = RenderNodes(n.children, stack, kind, out);
            stack.pop_back();
            RETURN_IF_ERROR(st);
          }
        } else {
          const bool push = v->is_object();
          if (push) stack.push_back(v);
          auto st = RenderNodes(n.children, stack, kind, out);
          if (push) stack.pop_back();
          RETURN_IF_ERROR(st);
        }
        break;
      }
      case Node::Type::kInverted:
        if (!Truthy(Lookup(stack, n.text))) {
          RETURN_IF_ERROR(RenderNodes(n.children, stack, kind, out));
        }
        break;
    }
  }
  return common::Ok();
}

}  // namespace

std::string EscapeForTemplate(std::string_view value, TextTemplate::Kind kind) {
  // Decoding through TerminalSafe's rules would escape differently; decode here directly.
  std::string out;
  out.reserve(value.size());
  const bool html = kind == TextTemplate::Kind::kHtml;
  const char* replacement = html ? "&#xFFFD;" : "\xEF\xBF\xBD";
  size_t i = 0;
  while (i < value.size()) {
    const auto c = static_cast<uint8_t>(value[i]);
    if (c < 0x80) {
      ++i;
      if (html && c == '&') {
        out += "&amp;";
      } else if (html && c == '<') {
        out += "&lt;";
      } else if (html && c == '>') {
        out += "&gt;";
      } else if (html && c == '"') {
        out += "&quot;";
      } else if (html && c == '\'') {
        out += "&#39;";
      } else if ((c < 0x20 && c != '\t' && c != '\n') || c == 0x7F) {
        out += replacement;
      } else {
        out.push_back(static_cast<char>(c));
      }
      continue;
    }
    size_t len = 0;
    uint32_t cp = 0;
    if ((c & 0xE0) == 0xC0) {
      len = 2;
      cp = c & 0x1Fu;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3;
      cp = c & 0x0Fu;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4;
      cp = c & 0x07u;
    }
    bool ok = len != 0 && i + len <= value.size();
    for (size_t k = 1; ok && k < len; ++k) {
      const auto cc = static_cast<uint8_t>(value[i + k]);
      ok = (cc & 0xC0) == 0x80;
      cp = (cp << 6) | (cc & 0x3Fu);
    }
    ok = ok && !((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) ||
                 (len == 4 && cp < 0x10000) || (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF);
    if (!ok) {
      out += replacement;
      ++i;
      continue;
    }
    if (cp <= 0x9F) {
      out += replacement;  // C1 controls
    } else if (common::IsBidiControl(cp)) {
      char buf[16];
      std::snprintf(buf, sizeof buf, "[U+%04X]", static_cast<unsigned>(cp));
      out += buf;
    } else {
      out.append(value.substr(i, len));
    }
    i += len;
  }
  return out;
}

common::Result<TextTemplate> TextTemplate::Parse(std::string_view text, Kind kind) {
  // An explicit stack of open sections.
  std::vector<std::vector<Node>> open(1);
  std::vector<std::string> names;
  size_t pos = 0;
  while (pos < text.size()) {
    const size_t tag = text.find("{{", pos);
    if (tag == std::string_view::npos) {
      open.back().push_back({Node::Type::kText, std::string(text.substr(pos)), {}});
      break;
    }
    if (tag > pos)
      open.back().push_back({Node::Type::kText, std::string(text.substr(pos, tag - pos)), {}});
    const size_t end = text.find("}}", tag + 2);
    if (end == std::string_view::npos) return common::Error::InvalidInput("template: unclosed tag");
    std::string_view body = text.substr(tag + 2, end - tag - 2);
    pos = end + 2;
    const char sigil = body.empty() ? '\0' : body.front();
    const bool block_tag = sigil == '#' || sigil == '^' || sigil == '/' || sigil == '!';
    if (block_tag && pos < text.size() && text[pos] == '\n') ++pos;  // the whitespace rule
    if (sigil == '!') continue;
    std::string_view name =
        (sigil == '#' || sigil == '^' || sigil == '/' || sigil == '&') ? body.substr(1) : body;
    if (!ValidName(name)) {
      return common::Error::InvalidInput("template: bad tag {{" + std::string(body) + "}}");
    }
    if (sigil == '#' || sigil == '^') {
      open.emplace_back();
      names.emplace_back(std::string(1, sigil) + std::string(name));
    } else if (sigil == '/') {
      if (names.empty() || names.back().substr(1) != name) {
        return common::Error::InvalidInput("template: unexpected {{/" + std::string(name) + "}}");
      }
      Node section{names.back()[0] == '#' ? Node::Type::kSection : Node::Type::kInverted,
                   std::string(name), std::move(open.back())};
      open.pop_back();
      names.pop_back();
      open.back().push_back(std::move(section));
    } else {
      open.back().push_back(
          {sigil == '&' ? Node::Type::kRaw : Node::Type::kVar, std::string(name), {}});
    }
  }
  if (!names.empty())
    return common::Error::InvalidInput("template: unclosed section " + names.back());
  return TextTemplate(std::move(open.back()), kind);
}

common::Result<std::string> TextTemplate::Render(const json& view) const {
  std::string out;
  std::vector<const json*> stack{&view};
  RETURN_IF_ERROR(RenderNodes(nodes_, stack, kind_, out));
  return out;
}

}  // namespace notary
