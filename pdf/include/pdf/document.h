// Document: what a certificate says, as headings, paragraphs, label/value fields and tables,
// without any layout. RenderPdf lays it out on A4 pages with pango (so Korean, Chinese and
// Japanese text shape and wrap correctly) and writes it with cairo, which embeds the subset of
// each font it uses.
//
// Thread-safety: RenderPdf may run on several threads at once (pango's cairo font map is
// per thread).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/result.h"

namespace pdf {

struct Field {
  std::string label, value;
  bool mono = false;  // a hash or an identifier: monospaced, broken anywhere
};

struct Block {
  enum class Kind { kHeading, kParagraph, kNote, kFields, kTable };
  Kind kind = Kind::kParagraph;
  std::string text;           // kHeading, kParagraph, kNote
  std::vector<Field> fields;  // kFields
  // kTable: a header row (repeated on every page the table runs onto), each column's share
  // of the width (summing to 1) and which columns are monospaced. A SHA-256 in hex fits one
  // line of a monospaced column of at least 0.52.
  std::vector<std::string> columns;
  std::vector<double> widths;
  std::vector<bool> mono;
  std::vector<std::vector<std::string>> rows;

  static Block Text(Kind kind, std::string t) {
    Block b;
    b.kind = kind;
    b.text = std::move(t);
    return b;
  }
  static Block Heading(std::string t) { return Text(Kind::kHeading, std::move(t)); }
  static Block Paragraph(std::string t) { return Text(Kind::kParagraph, std::move(t)); }
  static Block Note(std::string t) { return Text(Kind::kNote, std::move(t)); }
  static Block Fields(std::vector<Field> f) {
    Block b;
    b.kind = Kind::kFields;
    b.fields = std::move(f);
    return b;
  }
};

struct Document {
  std::string lang = "en";  // BCP 47; chooses the CJK glyph forms (ko, zh, ja)
  std::string title;        // first line and the PDF's title
  std::string author;       // the PDF's author (the operator)
  std::string footer;       // on every page, before "N / M"
  int64_t created_us = 0;   // the PDF's creation date
  std::vector<Block> blocks;
};

// Limits: a document of at most kMaxRenderedBytes of text. Each value is UTF-8; invalid
// bytes are refused rather than shown as something else.
inline constexpr size_t kMaxDocumentTextBytes = 64 * 1024 * 1024;

// The PDF (version 1.5, as cairo writes it). Errors: kInvalidInput for text that is not
// UTF-8, a table whose rows or widths do not match its columns, or too much text; kInternal
// when cairo fails.
common::Result<std::string> RenderPdf(const Document& doc);

}  // namespace pdf
