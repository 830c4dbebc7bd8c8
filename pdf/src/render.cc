// RenderPdf: A4 pages, 15 mm margins, one column. Each paragraph, field and cell is one pango
// layout wrapped to its width; a block that does not fit what is left of the page starts the
// next one (a table row at a time, with the header again). Pages are drawn in a second pass
// once their number is known, so the footer can say "N / M".
#include <cairo-pdf.h>
#include <glib.h>
#include <pango/pangocairo.h>

#include <algorithm>
#include <cmath>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/deleter.h"
#include "common/time.h"
#include "pdf/document.h"

namespace pdf {
namespace {

constexpr double kPageWidth = 595.276;  // A4 in points
constexpr double kPageHeight = 841.890;
constexpr double kMargin = 42.52;  // 15 mm
constexpr double kBodyWidth = kPageWidth - 2 * kMargin;
constexpr double kFooterHeight = 18;
constexpr double kBottom = kPageHeight - kMargin - kFooterHeight;
constexpr double kCellPad = 2.5;
constexpr double kLabelShare = 0.3;

using LayoutPtr = std::unique_ptr<PangoLayout, common::Deleter<g_object_unref>>;
using FontPtr = std::unique_ptr<PangoFontDescription, common::Deleter<pango_font_description_free>>;

// The sans face by language: Noto Sans CJK has every script a certificate shows, and its
// regional variant picks the glyph forms a reader of that language expects. Other languages
// set their text in DejaVu Sans, with Noto Sans CJK for the characters it lacks (a Korean
// file name, a Chinese subject): embedding a subset of the 19 MB CJK face was 30 % of a
// certificate's CPU (docs/benchmarks.md), spent on a certificate without one CJK character.
std::string SansFamily(const std::string& lang) {
  const std::string l = lang.substr(0, 2);
  if (l == "zh") return "Noto Sans CJK SC";
  if (l == "ja") return "Noto Sans CJK JP";
  if (l == "ko") return "Noto Sans CJK KR";
  return "DejaVu Sans, Noto Sans CJK KR";
}

struct Style {
  FontPtr title, heading, body, bold, note, mono, mono_table, footer;
};

FontPtr Font(const std::string& family, double size, bool bold) {
  FontPtr f{pango_font_description_new()};
  pango_font_description_set_family(f.get(), family.c_str());
  pango_font_description_set_absolute_size(f.get(), size * PANGO_SCALE);
  pango_font_description_set_weight(f.get(), bold ? PANGO_WEIGHT_BOLD : PANGO_WEIGHT_NORMAL);
  return f;
}

// A piece of text laid out to measure it: the layout and what made it.
struct Cell {
  LayoutPtr layout;
  std::string_view text;  // the document's, or a split paragraph's line kept in `parts_`
  PangoFontDescription* font = nullptr;
  double width = 0;
  bool break_anywhere = false;
};

// One placed piece of text, without its layout: the layouts of a long table would take
// hundreds of megabytes, so the second pass makes each again to draw it.
struct Placed {
  std::string_view text;
  PangoFontDescription* font = nullptr;
  double width = 0;
  bool break_anywhere = false;
  double x = 0, y = 0;
};
struct Rule {
  double x0, x1, y, width;
};
struct Page {
  std::vector<Placed> texts;
  std::vector<Rule> rules;
};

class Layouter {
 public:
  Layouter(cairo_t* cr, const Document& doc) : cr_(cr), doc_(doc) {
    const std::string sans = SansFamily(doc.lang);
    style_.title = Font(sans, 15, true);
    style_.heading = Font(sans, 11.5, true);
    style_.body = Font(sans, 9, false);
    style_.bold = Font(sans, 9, true);
    style_.note = Font(sans, 8, false);
    style_.mono = Font("DejaVu Sans Mono", 7.5, false);
    // Small enough that a SHA-256 in hex fits half the width on one line.
    style_.mono_table = Font("DejaVu Sans Mono", 6.5, false);
    style_.footer = Font(sans, 7.5, false);
    language_ = pango_language_from_string(doc.lang.c_str());
    NewPage();
  }

  void Title(const std::string& text) {
    Text(text, style_.title.get(), kMargin, kBodyWidth, 8);
    Line(kMargin, kMargin + kBodyWidth, 1.2);
    y_ += 6;
  }

  void Heading(const std::string& text) {
    Cell l = Make(text, style_.heading.get(), kBodyWidth, false);
    const double h = Height(l);
    // A heading never ends a page: it keeps the height of a line or two after it.
    if (y_ + 8 + h + 60 > kBottom) NewPage();
    y_ += 8;
    Put(std::move(l), kMargin, h);
    Line(kMargin, kMargin + kBodyWidth, 0.6);
    y_ += 3;
  }

  void Paragraph(const std::string& text, bool note) {
    Text(text, note ? style_.note.get() : style_.body.get(), kMargin, kBodyWidth, 4);
  }

  void Fields(const std::vector<Field>& fields) {
    const double label_w = kBodyWidth * kLabelShare;
    for (const Field& f : fields) {
      Cell label = Make(f.label, style_.bold.get(), label_w - 2 * kCellPad, false);
      Cell value = Make(f.value, f.mono ? style_.mono.get() : style_.body.get(),
                        kBodyWidth - label_w - 2 * kCellPad, f.mono);
      std::vector<Cell> cells;
      cells.push_back(std::move(label));
      cells.push_back(std::move(value));
      Row(std::move(cells), {0, label_w});
    }
    y_ += 4;
  }

  void Table(const Block& b) {
    std::vector<double> xs;
    double x = 0;
    for (double w : b.widths) {
      xs.push_back(x);
      x += w * kBodyWidth;
    }
    auto header = [&] {
      std::vector<Cell> cells;
      for (size_t i = 0; i < b.columns.size(); ++i) {
        cells.push_back(
            Make(b.columns[i], style_.bold.get(), b.widths[i] * kBodyWidth - 2 * kCellPad, false));
      }
      Row(std::move(cells), xs);
    };
    header();
    for (const auto& row : b.rows) {
      std::vector<Cell> cells;
      for (size_t i = 0; i < row.size(); ++i) {
        const bool mono = i < b.mono.size() && b.mono[i];
        cells.push_back(Make(row[i], mono ? style_.mono_table.get() : style_.body.get(),
                             b.widths[i] * kBodyWidth - 2 * kCellPad, mono));
      }
      if (y_ + RowHeight(cells) > kBottom) {
        NewPage();
        header();
      }
      Row(std::move(cells), xs);
    }
    y_ += 4;
  }

  // Draws every page with its footer; the surface's pages follow.
  void Draw() {
    const size_t total = pages_.size();
    for (size_t i = 0; i < total; ++i) {
      Page& p = pages_[i];
      cairo_set_source_rgb(cr_, 0.07, 0.07, 0.07);
      for (const Rule& r : p.rules) {
        cairo_set_line_width(cr_, r.width);
        cairo_move_to(cr_, r.x0, r.y);
        cairo_line_to(cr_, r.x1, r.y);
        cairo_stroke(cr_);
      }
      for (const Placed& t : p.texts) {
        Cell c = Make(t.text, t.font, t.width, t.break_anywhere);
        cairo_move_to(cr_, t.x, t.y);
        pango_cairo_show_layout(cr_, c.layout.get());
      }
      const std::string footer = doc_.footer + (doc_.footer.empty() ? "" : "   ") +
                                 std::to_string(i + 1) + " / " + std::to_string(total);
      Cell f = Make(footer, style_.footer.get(), kBodyWidth, false);
      cairo_move_to(cr_, kMargin, kPageHeight - kMargin - Height(f));
      pango_cairo_show_layout(cr_, f.layout.get());
      cairo_show_page(cr_);
    }
  }

 private:
  Cell Make(std::string_view text, PangoFontDescription* font, double width, bool break_anywhere) {
    LayoutPtr l{pango_cairo_create_layout(cr_)};
    pango_context_set_language(pango_layout_get_context(l.get()), language_);
    pango_layout_set_font_description(l.get(), font);
    pango_layout_set_width(l.get(), static_cast<int>(width * PANGO_SCALE));
    pango_layout_set_wrap(l.get(), break_anywhere ? PANGO_WRAP_CHAR : PANGO_WRAP_WORD_CHAR);
    pango_layout_set_text(l.get(), text.data(), static_cast<int>(text.size()));
    return Cell{std::move(l), text, font, width, break_anywhere};
  }

  static double Height(const Cell& c) {
    int w = 0, h = 0;
    pango_layout_get_size(c.layout.get(), &w, &h);
    return static_cast<double>(h) / PANGO_SCALE;
  }

  static double RowHeight(const std::vector<Cell>& cells) {
    double h = 0;
    for (const auto& c : cells) h = std::max(h, Height(c));
    return h + 2 * kCellPad;
  }

  void Text(const std::string& text, PangoFontDescription* font, double x, double width,
            double after) {
    // A paragraph longer than a page is split by lines, each placed as its own layout.
    Cell l = Make(text, font, width, false);
    const double h = Height(l);
    if (y_ + h <= kBottom || h <= kBottom - kMargin) {
      if (y_ + h > kBottom) NewPage();
      Put(std::move(l), x, h);
    } else {
      PangoLayoutIter* it = pango_layout_get_iter(l.layout.get());
      do {
        PangoLayoutLine* line = pango_layout_iter_get_line_readonly(it);
        parts_.push_back(
            text.substr(static_cast<size_t>(line->start_index), static_cast<size_t>(line->length)));
        Cell one = Make(parts_.back(), font, width, false);
        const double lh = Height(one);
        if (y_ + lh > kBottom) NewPage();
        Put(std::move(one), x, lh);
      } while (pango_layout_iter_next_line(it));
      pango_layout_iter_free(it);
    }
    y_ += after;
  }

  void Row(std::vector<Cell> cells, const std::vector<double>& xs) {
    const double h = RowHeight(cells);
    if (y_ + h > kBottom) NewPage();
    for (size_t i = 0; i < cells.size(); ++i) {
      Place(std::move(cells[i]), kMargin + xs[i] + kCellPad, y_ + kCellPad);
    }
    y_ += h;
    page().rules.push_back({kMargin, kMargin + kBodyWidth, y_, 0.3});
  }

  void Put(Cell l, double x, double h) {
    Place(std::move(l), x, y_);
    y_ += h;
  }
  void Place(Cell c, double x, double y) {
    page().texts.push_back({c.text, c.font, c.width, c.break_anywhere, x, y});
  }
  void Line(double x0, double x1, double width) {
    y_ += 1.5;
    page().rules.push_back({x0, x1, y_, width});
    y_ += 1.5;
  }
  void NewPage() {
    pages_.emplace_back();
    y_ = kMargin;
  }
  Page& page() { return pages_.back(); }

  cairo_t* cr_;
  const Document& doc_;
  Style style_;
  PangoLanguage* language_ = nullptr;
  std::vector<Page> pages_;
  std::deque<std::string> parts_;  // lines of paragraphs split over pages (stable addresses)
  double y_ = kMargin;
};

cairo_status_t Append(void* closure, const unsigned char* data, unsigned int length) {
  static_cast<std::string*>(closure)->append(reinterpret_cast<const char*>(data), length);
  return CAIRO_STATUS_SUCCESS;
}

common::Status CheckText(const std::string& s, size_t& total) {
  total += s.size();
  if (total > kMaxDocumentTextBytes) return common::Error::TooLarge("the document's text");
  if (!g_utf8_validate(s.data(), static_cast<gssize>(s.size()), nullptr)) {
    return common::Error::InvalidInput("text that is not UTF-8");
  }
  return common::Status();
}

common::Status CheckDocument(const Document& doc) {
  size_t total = 0;
  for (const std::string* s : {&doc.title, &doc.author, &doc.footer, &doc.lang}) {
    RETURN_IF_ERROR(CheckText(*s, total));
  }
  for (const Block& b : doc.blocks) {
    RETURN_IF_ERROR(CheckText(b.text, total));
    for (const Field& f : b.fields) {
      RETURN_IF_ERROR(CheckText(f.label, total));
      RETURN_IF_ERROR(CheckText(f.value, total));
    }
    if (b.kind != Block::Kind::kTable) continue;
    if (b.columns.empty() || b.widths.size() != b.columns.size()) {
      return common::Error::InvalidInput("a table's widths do not match its columns");
    }
    for (const std::string& c : b.columns) RETURN_IF_ERROR(CheckText(c, total));
    for (const auto& row : b.rows) {
      if (row.size() != b.columns.size()) {
        return common::Error::InvalidInput("a table row does not match its columns");
      }
      for (const std::string& c : row) RETURN_IF_ERROR(CheckText(c, total));
    }
  }
  return common::Status();
}

}  // namespace

common::Result<std::string> RenderPdf(const Document& doc) {
  RETURN_IF_ERROR(CheckDocument(doc));
  std::string out;
  cairo_surface_t* surface =
      cairo_pdf_surface_create_for_stream(Append, &out, kPageWidth, kPageHeight);
  cairo_pdf_surface_restrict_to_version(surface, CAIRO_PDF_VERSION_1_5);
  cairo_pdf_surface_set_metadata(surface, CAIRO_PDF_METADATA_TITLE, doc.title.c_str());
  cairo_pdf_surface_set_metadata(surface, CAIRO_PDF_METADATA_AUTHOR, doc.author.c_str());
  // ISO 8601, as cairo asks (MakeArchival writes the Info dictionary again).
  const std::string created = common::FormatRfc3339Micros(doc.created_us).substr(0, 19) + "Z";
  cairo_pdf_surface_set_metadata(surface, CAIRO_PDF_METADATA_CREATE_DATE, created.c_str());
  cairo_t* cr = cairo_create(surface);
  {
    Layouter l(cr, doc);
    l.Title(doc.title);
    for (const Block& b : doc.blocks) {
      switch (b.kind) {
        case Block::Kind::kHeading:
          l.Heading(b.text);
          break;
        case Block::Kind::kParagraph:
        case Block::Kind::kNote:
          l.Paragraph(b.text, b.kind == Block::Kind::kNote);
          break;
        case Block::Kind::kFields:
          l.Fields(b.fields);
          break;
        case Block::Kind::kTable:
          l.Table(b);
          break;
      }
    }
    l.Draw();
  }
  const cairo_status_t drawn = cairo_status(cr);
  cairo_destroy(cr);
  cairo_surface_finish(surface);
  const cairo_status_t finished = cairo_surface_status(surface);
  cairo_surface_destroy(surface);
  if (drawn != CAIRO_STATUS_SUCCESS || finished != CAIRO_STATUS_SUCCESS) {
    return common::Error::Internal(
        std::string("cairo: ") +
        cairo_status_to_string(drawn != CAIRO_STATUS_SUCCESS ? drawn : finished));
  }
  return out;
}

}  // namespace pdf
