#include "common/memo.h"

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

namespace {

TEST(MemoTest, KeysSeparateArgumentListsThatConcatenateAlike) {
  // ("ab", "c") and ("a", "bc") concatenate to the same bytes; their keys differ.
  EXPECT_NE(common::MemoKey().Add("ab").Add("c").Finish(),
            common::MemoKey().Add("a").Add("bc").Finish());
  EXPECT_EQ(common::MemoKey().Add("a").Add("bc").Finish(),
            common::MemoKey().Add("a").Add("bc").Finish());
  EXPECT_NE(common::MemoKey().Add("").Finish(), common::MemoKey().Finish());
}

TEST(MemoTest, GivesBackWhatWasPutAndForgetsWhenFull) {
  common::Memo<std::string> memo(2);
  const auto k = [](const char* s) { return common::MemoKey().Add(s).Finish(); };
  EXPECT_FALSE(memo.Find(k("a")).has_value());
  memo.Put(k("a"), "A");
  memo.Put(k("b"), "B");
  EXPECT_EQ(memo.Find(k("a")), "A");
  EXPECT_EQ(memo.Find(k("b")), "B");
  memo.Put(k("c"), "C");  // full: starts again with this one
  EXPECT_FALSE(memo.Find(k("a")).has_value());
  EXPECT_EQ(memo.Find(k("c")), "C");
}

TEST(MemoTest, ManyThreadsPutAndFindTheirOwnAnswers) {
  common::Memo<int> memo(64);
  std::vector<std::thread> threads;
  std::vector<int> wrong(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&memo, &wrong, t] {
      for (int i = 0; i < 2000; ++i) {
        const auto key = common::MemoKey().Add(std::to_string(t * 100000 + i % 50)).Finish();
        memo.Put(key, t * 100000 + i % 50);
        auto got = memo.Find(key);
        if (got && *got != t * 100000 + i % 50) ++wrong[static_cast<size_t>(t)];
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int w : wrong) EXPECT_EQ(w, 0);
}

}  // namespace
