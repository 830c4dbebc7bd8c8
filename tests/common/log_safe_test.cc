#include <gtest/gtest.h>

#include <string>

#include "common/utf8.h"

namespace common {
namespace {

TEST(LogSafeTest, KeepsOneTokenOfAKeyValueLine) {
  EXPECT_EQ(LogSafe("ok.host"), "ok.host");
  // Nothing that could end the token, fake a key, or break out of quotes or the line.
  EXPECT_EQ(LogSafe("a b\r\n=\"\\", 64), "a\\x20b\\x0d\\x0a\\x3d\\x22\\x5c");
  EXPECT_EQ(LogSafe("x event=forged"), "x\\x20event\\x3dforged");
  // Terminal escapes and non-ASCII bytes, byte by byte.
  EXPECT_EQ(LogSafe("\x1b[31m"), "\\x1b[31m");
  EXPECT_EQ(LogSafe("\xea\xb3\x84"), "\\xea\\xb3\\x84");
  EXPECT_EQ(LogSafe(std::string("a\0b", 3)), "a\\x00b");
}

TEST(LogSafeTest, CutsAtMaxInputBytes) {
  EXPECT_EQ(LogSafe(std::string(100, 'x'), 10), std::string(10, 'x') + "...");
  EXPECT_EQ(LogSafe(std::string(10, 'x'), 10), std::string(10, 'x'));
  EXPECT_EQ(LogSafe("  ", 1), "\\x20...");
}

}  // namespace
}  // namespace common
