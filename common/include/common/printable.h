// Text from strangers shown to people: terminals (notary-verify, notaryctl) and pages.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace common {

// Unicode's bidirectional formatting characters (UAX #9): U+061C, U+200E, U+200F,
// U+202A-U+202E and U+2066-U+2069. Shown unmarked they reorder the text around them, so a file
// name "invoice" U+202E "fdp.exe" reads as "invoiceexe.pdf".
bool IsBidiControl(uint32_t code_point);

// Text as a terminal may print it: valid UTF-8 is kept (Korean and Chinese names stay
// readable), while every C0 and C1 control character, DEL, bidirectional control and byte that
// is not part of valid UTF-8 is written as an escape (\x1b, \u{202e}, \xff), and a backslash as
// \\. Nothing printed can then move the cursor, recolour the screen, or reorder a line.
std::string TerminalSafe(std::string_view text);

}  // namespace common
