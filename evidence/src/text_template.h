// A small, fully specified template language for the bundle's texts for people
// (certificate.html, VERIFY.md), so that any verifier can re-render them from evidence.json
// and compare byte for byte (docs/evidence-bundle.md, "Rendering"). It is a subset of
// Mustache with one whitespace rule:
//   {{name}}      the string `name`, escaped for the template's kind
//   {{&name}}     the string `name`, as it is (labels that hold markup)
//   {{#name}}…{{/name}}  list: once per element (the element is the context); true or a
//                 non-empty string or an object: once; false, "", null, absent, []: not at all
//   {{^name}}…{{/name}}  the opposite: once when the section above would not render
//   {{! text }}   a comment
// A name is [a-z0-9_] segments joined by "."; the first segment is looked up in the innermost
// context that has it, then outward; the rest inside that value. A newline directly after a
// section or comment tag is not output. A variable that is not a string is an error (a bug
// in the template or the view, never input).
//
// Escaping, kHtml: & < > " ' become &amp; &lt; &gt; &quot; &#39;; kText: none. Both: a C0
// control other than TAB and LF, DEL or a C1 control becomes U+FFFD (kHtml: &#xFFFD;), and a
// Unicode bidirectional control becomes the visible "[U+202E]" (common::IsBidiControl).
// Bytes that are not UTF-8 become U+FFFD the same way.
//
// Pure. Thread-safety: a parsed Template may be rendered from many threads.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace notary {

class TextTemplate {
 public:
  enum class Kind { kHtml, kText };

  // kInvalidInput for a malformed template (unclosed tag or section, bad name).
  static common::Result<TextTemplate> Parse(std::string_view text, Kind kind);

  // kInternal when a variable names a value that is not a string.
  common::Result<std::string> Render(const nlohmann::json& view) const;

  struct Node {
    enum class Type { kText, kVar, kRaw, kSection, kInverted } type = Type::kText;
    std::string text;            // kText: the text; otherwise the name
    std::vector<Node> children;  // sections
  };

 private:
  TextTemplate(std::vector<Node> nodes, Kind kind) : nodes_(std::move(nodes)), kind_(kind) {}
  std::vector<Node> nodes_;
  Kind kind_;
};

// The escaping of one value (exposed for tests and the spec's vectors).
std::string EscapeForTemplate(std::string_view value, TextTemplate::Kind kind);

}  // namespace notary
