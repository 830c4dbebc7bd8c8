#!/usr/bin/env python3
"""Generates mime/src/whatwg_tables.inc from the WHATWG Encoding Standard's data files.

Usage:
  mkdir -p /tmp/whatwg-encoding
  git --git-dir=<whatwg/encoding git dir> archive HEAD | tar -x -C /tmp/whatwg-encoding
  python3 mime/tools/gen_whatwg_tables.py /tmp/whatwg-encoding --commit <sha>

Reads encodings.json (names and labels) and the index-*.txt files (single-byte and multi-byte
indexes) from the directory given on the command line and writes the label table, the name
table and every index as constexpr arrays. --commit names the whatwg/encoding commit the files
come from; without it the script asks `git -C DIR rev-parse HEAD` and fails if that does not
work, so that every generated file says where its data came from.

The build never runs this script: the generated file is checked in. Python 3 standard library
only. The output depends on nothing but the input files and the commit id.
"""

import argparse
import json
import os
import subprocess
import sys

# Encoding name (as in encodings.json) -> C++ enumerator of mime::Encoding. The enum in
# mime/src/whatwg_encoding.h lists the encodings in this order, which is encodings.json's.
ENUMERATORS = {
    "UTF-8": "kUtf8",
    "IBM866": "kIbm866",
    "ISO-8859-2": "kIso8859_2",
    "ISO-8859-3": "kIso8859_3",
    "ISO-8859-4": "kIso8859_4",
    "ISO-8859-5": "kIso8859_5",
    "ISO-8859-6": "kIso8859_6",
    "ISO-8859-7": "kIso8859_7",
    "ISO-8859-8": "kIso8859_8",
    "ISO-8859-8-I": "kIso8859_8I",
    "ISO-8859-10": "kIso8859_10",
    "ISO-8859-13": "kIso8859_13",
    "ISO-8859-14": "kIso8859_14",
    "ISO-8859-15": "kIso8859_15",
    "ISO-8859-16": "kIso8859_16",
    "KOI8-R": "kKoi8R",
    "KOI8-U": "kKoi8U",
    "macintosh": "kMacintosh",
    "windows-874": "kWindows874",
    "windows-1250": "kWindows1250",
    "windows-1251": "kWindows1251",
    "windows-1252": "kWindows1252",
    "windows-1253": "kWindows1253",
    "windows-1254": "kWindows1254",
    "windows-1255": "kWindows1255",
    "windows-1256": "kWindows1256",
    "windows-1257": "kWindows1257",
    "windows-1258": "kWindows1258",
    "x-mac-cyrillic": "kXMacCyrillic",
    "GBK": "kGbk",
    "gb18030": "kGb18030",
    "Big5": "kBig5",
    "EUC-JP": "kEucJp",
    "ISO-2022-JP": "kIso2022Jp",
    "Shift_JIS": "kShiftJis",
    "EUC-KR": "kEucKr",
    "replacement": "kReplacement",
    "UTF-16BE": "kUtf16Be",
    "UTF-16LE": "kUtf16Le",
    "x-user-defined": "kXUserDefined",
}

# Encoding Standard §"Legacy single-byte encodings": ISO-8859-8-I shares ISO-8859-8's index.
SHARED_SINGLE_BYTE_INDEX = {"ISO-8859-8-I": "ISO-8859-8"}

# Lead bytes 0x81..0xFE times the trail-byte count gives one past the largest pointer.
MULTI_BYTE_LIMITS = {
    "gb18030": 126 * 190,
    "big5": 126 * 157,
    "jis0208": 60 * 188,  # Shift_JIS: 60 lead bytes of 188 trail bytes, past EUC-JP's 94x94
    "jis0212": 94 * 94,
    "euc-kr": 126 * 190,
    "iso-2022-jp-katakana": 63,
}

PER_LINE = 12


def fail(message):
    sys.exit("gen_whatwg_tables.py: " + message)


def read_index(directory, name):
    """Returns (identifier, date, {pointer: code point}) of index-<name>.txt (§Indexes)."""
    path = os.path.join(directory, "index-" + name + ".txt")
    identifier = date = ""
    entries = {}
    with open(path, encoding="utf-8") as f:
        for line in f.read().split("\n"):
            if line.startswith("# Identifier:"):
                identifier = line.split(":", 1)[1].strip()
            elif line.startswith("# Date:"):
                date = line.split(":", 1)[1].strip()
            if line == "" or line.startswith("#"):
                continue
            fields = line.split("\t")
            pointer = int(fields[0].strip(), 10)
            code_point = int(fields[1].strip(), 16)
            if pointer in entries:
                fail("%s: pointer %d listed twice" % (path, pointer))
            if not 0 < code_point <= 0x10FFFF or 0xD800 <= code_point <= 0xDFFF:
                fail("%s: pointer %d maps to U+%04X, not a scalar value" % (path, pointer, code_point))
            entries[pointer] = code_point
    if not identifier:
        fail(path + ": no '# Identifier:' line")
    return identifier, date, entries


def hex_values(values):
    return ["0x%04X" % v if v else "0" for v in values]


def array_lines(items, first_pointer=None, per_line=PER_LINE):
    """Items per_line to a line; with first_pointer, a comment gives each line's first pointer."""
    lines = []
    for i in range(0, len(items), per_line):
        line = "  " + ",".join(items[i:i + per_line]) + ","
        if first_pointer is not None:
            line += "  // " + str(first_pointer + i)
        lines.append(line)
    return lines


def cpp_identifier(name):
    return "".join(part[:1].upper() + part[1:].lower() for part in
                   name.replace("_", "-").split("-"))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("directory", help="a folder with encodings.json and index-*.txt")
    parser.add_argument("--commit", help="the whatwg/encoding commit the files come from")
    here = os.path.dirname(os.path.abspath(__file__))
    parser.add_argument("--out", default=os.path.join(here, "..", "src", "whatwg_tables.inc"))
    args = parser.parse_args()

    commit = args.commit
    if not commit:
        try:
            commit = subprocess.run(["git", "-C", args.directory, "rev-parse", "HEAD"],
                                    check=True, capture_output=True, text=True).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            fail("not a git checkout; say which whatwg/encoding commit with --commit")
    if len(commit) != 40 or any(c not in "0123456789abcdef" for c in commit):
        fail("--commit wants a full 40-digit lower-case commit id, not %r" % commit)

    with open(os.path.join(args.directory, "encodings.json"), encoding="utf-8") as f:
        groups = json.load(f)

    encodings = []  # (name, enumerator, heading), in the standard's order
    labels = []  # (label, enumerator)
    for group in groups:
        for encoding in group["encodings"]:
            name = encoding["name"]
            if name not in ENUMERATORS:
                fail("encodings.json has an encoding this script does not know: " + name)
            encodings.append((name, ENUMERATORS[name], group["heading"]))
            for label in encoding["labels"]:
                if label != label.lower() or not label.isascii() or label != label.strip():
                    fail("label %r is not lower-case ASCII without surrounding space" % label)
                labels.append((label, ENUMERATORS[name]))
    if [e[1] for e in encodings] != list(ENUMERATORS.values()):
        fail("encodings.json lists the encodings in another order than ENUMERATORS")
    if len({label for label, _ in labels}) != len(labels):
        fail("a label is listed twice")
    labels.sort(key=lambda item: item[0].encode("ascii"))

    out = []
    identifiers = []
    emit = out.append

    # Labels and names.
    emit("// Encoding Standard §4.2 \"Names and labels\": every label, sorted by byte value for")
    emit("// binary search, with its encoding.")
    emit("struct LabelEntry {")
    emit("  std::string_view label;")
    emit("  Encoding encoding;")
    emit("};")
    emit("inline constexpr LabelEntry kLabels[%d] = {" % len(labels))
    for label, enumerator in labels:
        emit("    {\"%s\", Encoding::%s}," % (label, enumerator))
    emit("};")
    emit("inline constexpr size_t kLongestLabel = %d;" % max(len(l) for l, _ in labels))
    emit("")
    emit("// Each encoding's name, in the order of the Encoding enum.")
    emit("struct NameEntry {")
    emit("  Encoding encoding;")
    emit("  std::string_view name;")
    emit("};")
    emit("inline constexpr NameEntry kNames[%d] = {" % len(encodings))
    for name, enumerator, _ in encodings:
        emit("    {Encoding::%s, \"%s\"}," % (enumerator, name))
    emit("};")
    emit("")

    # Single-byte indexes.
    emit("// Encoding Standard §9 \"Legacy single-byte encodings\": index single-byte, the code")
    emit("// point for byte 0x80 + pointer; 0 where the index has no entry.")
    single_byte = []
    for name, enumerator, heading in encodings:
        if heading != "Legacy single-byte encodings" or name in SHARED_SINGLE_BYTE_INDEX:
            continue
        identifier, date, entries = read_index(args.directory, name.lower())
        identifiers.append((name.lower(), identifier, date))
        if max(entries) > 127:
            fail("index-%s.txt has a pointer past 127" % name.lower())
        if max(entries.values()) > 0xFFFF:
            fail("index-%s.txt maps outside the BMP" % name.lower())
        array = "kIndex" + cpp_identifier(name)
        single_byte.append((enumerator, array))
        emit("inline constexpr uint16_t %s[128] = {" % array)
        out.extend(array_lines(hex_values([entries.get(p, 0) for p in range(128)]), 0))
        emit("};")
    emit("")
    emit("// The index single-byte of `e`, or nullptr when `e` is not a single-byte encoding.")
    emit("constexpr const uint16_t* SingleByteIndex(Encoding e) {")
    emit("  switch (e) {")
    for enumerator, array in single_byte:
        emit("    case Encoding::%s:" % enumerator)
        for shared, owner in SHARED_SINGLE_BYTE_INDEX.items():
            if ENUMERATORS[owner] == enumerator:
                emit("    case Encoding::%s:" % ENUMERATORS[shared])
        emit("      return %s;" % array)
    emit("    default:")
    emit("      return nullptr;")
    emit("  }")
    emit("}")
    emit("")

    # gb18030 ranges.
    identifier, date, ranges = read_index(args.directory, "gb18030-ranges")
    identifiers.append(("gb18030-ranges", identifier, date))
    pointers = sorted(ranges)
    code_points = [ranges[p] for p in pointers]
    if pointers[0] != 0 or code_points != sorted(code_points):
        fail("index-gb18030-ranges.txt is not a sorted table starting at pointer 0")
    emit("// Encoding Standard §5 \"Indexes\": index gb18030 ranges, as (pointer, code point)")
    emit("// pairs sorted by pointer; see \"index gb18030 ranges code point\".")
    emit("inline constexpr uint32_t kGb18030RangesPointer[%d] = {" % len(pointers))
    out.extend(array_lines([str(p) for p in pointers]))
    emit("};")
    emit("inline constexpr uint32_t kGb18030RangesCodePoint[%d] = {" % len(pointers))
    out.extend(array_lines(["0x%04X" % c for c in code_points]))
    emit("};")
    emit("")

    # Multi-byte indexes: the code point for pointer kIndexXFirst + i is kIndexX[i]; 0 = none.
    for name in ["gb18030", "big5", "jis0208", "jis0212", "euc-kr", "iso-2022-jp-katakana"]:
        identifier, date, entries = read_index(args.directory, name)
        identifiers.append((name, identifier, date))
        first, last = min(entries), max(entries)
        if last >= MULTI_BYTE_LIMITS[name]:
            fail("index-%s.txt has pointer %d, beyond what its decoder can form" % (name, last))
        array = "kIndex" + cpp_identifier(name)
        values = [entries.get(p, 0) for p in range(first, last + 1)]
        astral = [v > 0xFFFF for v in values]
        if any(astral) and name != "big5":
            fail("index-%s.txt maps outside the BMP; only Big5 is expected to" % name)
        if any(v > 0xFFFF and v >> 16 != 2 for v in values):
            fail("index-big5.txt maps outside planes 0 and 2")
        emit("// index %s: pointers %d to %d." % (name, first, last))
        if any(astral):
            emit("// Code points above U+FFFF (all in plane 2) keep their low 16 bits here; the bit")
            emit("// for pointer p in %sPlane2 says to add 0x20000." % array)
        emit("inline constexpr size_t %sFirst = %d;" % (array, first))
        emit("inline constexpr uint16_t %s[%d] = {" % (array, len(values)))
        out.extend(array_lines(hex_values([v & 0xFFFF for v in values]), first))
        emit("};")
        if any(astral):
            words = []
            for i in range(0, len(values), 32):
                word = 0
                for bit, is_astral in enumerate(astral[i:i + 32]):
                    word |= is_astral << bit
                words.append("0x%08X" % word if word else "0")
            emit("// Bit (p - %sFirst) %% 32 of word (p - %sFirst) / 32." % (array, array))
            emit("inline constexpr uint32_t %sPlane2[%d] = {" % (array, len(words)))
            out.extend(array_lines(words, per_line=8))
            emit("};")
        emit("")

    header = [
        "// GENERATED FILE: do not edit. Regenerate with mime/tools/gen_whatwg_tables.py.",
        "//",
        "// The label table and the indexes of the WHATWG Encoding Standard",
        "// (https://encoding.spec.whatwg.org/), from https://github.com/whatwg/encoding",
        "// commit %s:" % commit,
        "// encodings.json and these index files (their Identifier and Date lines):",
    ]
    for name, identifier, date in identifiers:
        header.append("//   index-%s.txt %s %s" % (name, identifier[:16], date))
    header += [
        "// Included once, by whatwg_encoding.cc.",
        "#pragma once",
        "",
        "#include <cstddef>",
        "#include <cstdint>",
        "#include <string_view>",
        "",
        "#include \"whatwg_encoding.h\"",
        "",
        "namespace mime::whatwg_data {",
        "",
    ]
    text = "\n".join(header + out + ["}  // namespace mime::whatwg_data", ""])
    with open(args.out, "w", encoding="utf-8", newline="\n") as f:
        f.write(text)


if __name__ == "__main__":
    main()
