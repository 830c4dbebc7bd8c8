// The template language of the bundle's texts (evidence/src/text_template.h): the rules the
// spec states, one by one.
#include "text_template.h"

#include <gtest/gtest.h>

namespace notary {
namespace {

using json = nlohmann::json;
using Kind = TextTemplate::Kind;

std::string Render(const std::string& t, const json& view, Kind kind = Kind::kHtml) {
  auto parsed = TextTemplate::Parse(t, kind);
  EXPECT_TRUE(parsed.ok()) << t;
  if (!parsed.ok()) return "";
  auto out = parsed->Render(view);
  EXPECT_TRUE(out.ok()) << t;
  return out.ok() ? *out : "";
}

TEST(TextTemplateTest, VariablesAreEscapedForTheirKind) {
  const json v = {{"x", "<a href='x'>&\"</a>"}};
  EXPECT_EQ(Render("[{{x}}]", v), "[&lt;a href=&#39;x&#39;&gt;&amp;&quot;&lt;/a&gt;]");
  EXPECT_EQ(Render("[{{&x}}]", v), "[<a href='x'>&\"</a>]");
  EXPECT_EQ(Render("[{{x}}]", v, Kind::kText), "[<a href='x'>&\"</a>]");
}

TEST(TextTemplateTest, ControlsBidiAndInvalidBytesAreNeutralised) {
  const json v = {{"x", "a\x1b[2Kb\tc\nd\x7f"}};
  EXPECT_EQ(Render("{{x}}", v), "a&#xFFFD;[2Kb\tc\nd&#xFFFD;");
  EXPECT_EQ(Render("{{x}}", v, Kind::kText), "a\xEF\xBF\xBD[2Kb\tc\nd\xEF\xBF\xBD");
  // "invoice" U+202E "fdp.exe": the override is shown, not obeyed.
  const json bidi = {{"x",
                      "invoice\xe2\x80\xae"
                      "fdp.exe"}};
  EXPECT_EQ(Render("{{x}}", bidi), "invoice[U+202E]fdp.exe");
  EXPECT_EQ(Render("{{x}}", json{{"x",
                                  "\xc2\x9b"
                                  "1m"}}),
            "&#xFFFD;1m");  // C1
  // nlohmann::json holds any bytes in a string it was given (not parsed).
  EXPECT_EQ(Render("{{x}}", json{{"x", std::string("\xff", 1)}}), "&#xFFFD;");
}

TEST(TextTemplateTest, SectionsIterateTestAndInvert) {
  const json v = {{"list", {{{"n", "1"}}, {{"n", "2"}}}},
                  {"yes", true},
                  {"no", false},
                  {"empty", ""},
                  {"obj", {{"k", "v"}}},
                  {"n", "outer"}};
  EXPECT_EQ(Render("{{#list}}<{{n}}>{{/list}}", v), "<1><2>");
  EXPECT_EQ(Render("{{#yes}}Y{{n}}{{/yes}}{{#no}}N{{/no}}{{^no}}n{{/no}}", v), "Youtern");
  EXPECT_EQ(Render("{{#empty}}E{{/empty}}{{^empty}}e{{/empty}}{{^missing}}m{{/missing}}", v), "em");
  EXPECT_EQ(Render("{{#obj}}{{k}}/{{n}}{{/obj}} {{obj.k}}", v), "v/outer v");
  EXPECT_EQ(Render("{{^list}}none{{/list}}{{#nothing}}x{{/nothing}}", v), "");
}

TEST(TextTemplateTest, ANewlineAfterASectionOrCommentTagIsDropped) {
  const json v = {{"on", true}};
  EXPECT_EQ(Render("a\n{{#on}}\nb\n{{/on}}\nc\n{{! note }}\nd", v), "a\nb\nc\nd");
}

TEST(TextTemplateTest, MalformedTemplatesAndNonStringVariablesAreErrors) {
  for (const char* bad :
       {"{{x", "{{#a}}", "{{/a}}", "{{#a}}{{/b}}", "{{X}}", "{{a..b}}", "{{}}", "{{ a }}"}) {
    EXPECT_FALSE(TextTemplate::Parse(bad, Kind::kHtml).ok()) << bad;
  }
  auto t = TextTemplate::Parse("{{n}}", Kind::kHtml);
  ASSERT_TRUE(t.ok());
  EXPECT_FALSE(t->Render(json{{"n", 5}}).ok());
  EXPECT_FALSE(t->Render(json::object()).ok());
}

}  // namespace
}  // namespace notary
