// Result and its early-return helpers (common/result.h).
#include "common/result.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>

namespace common {
namespace {

Result<int> Half(int n) {
  if (n % 2 != 0) return Error::InvalidInput("odd");
  return n / 2;
}

Status EvenOnly(int n, int* calls) {
  ++*calls;
  if (n % 2 != 0) return Error::InvalidInput("odd " + std::to_string(n));
  return Ok();
}

Result<int> Quarter(int n) {
  ASSIGN_OR_RETURN(int half, Half(n));
  ASSIGN_OR_RETURN(half, Half(half));  // assigns an existing variable too
  return half;
}

Result<std::string> Checked(int n, int* calls) {
  RETURN_IF_ERROR(EvenOnly(n, calls));
  RETURN_IF_ERROR(Half(n));  // any Result<T> works as a status
  return std::string("even");
}

TEST(ResultTest, AssignOrReturnGivesTheValueOrTheFirstError) {
  ASSERT_TRUE(Quarter(8).ok());
  EXPECT_EQ(*Quarter(8), 2);
  auto odd = Quarter(6);  // 6 -> 3 -> odd
  ASSERT_FALSE(odd.ok());
  EXPECT_EQ(odd.error().code(), ErrorCode::kInvalidInput);
  EXPECT_EQ(odd.error().message(), "odd");
}

TEST(ResultTest, ReturnIfErrorPassesTheErrorOnAndEvaluatesOnce) {
  int calls = 0;
  auto bad = Checked(3, &calls);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message(), "odd 3");
  EXPECT_EQ(calls, 1);
  auto good = Checked(4, &calls);
  ASSERT_TRUE(good.ok());
  EXPECT_EQ(*good, "even");
  EXPECT_EQ(calls, 2);
}

TEST(ResultTest, AssignOrReturnMovesMoveOnlyValues) {
  auto make = []() -> Result<std::unique_ptr<int>> { return std::make_unique<int>(7); };
  auto use = [&]() -> Result<int> {
    ASSIGN_OR_RETURN(auto p, make());
    return *p;
  };
  EXPECT_EQ(*use(), 7);
}

}  // namespace
}  // namespace common
