// CHECK(cond): for programmer errors only ("can't happen"), never for conditions that
// input can trigger. Logs the location and aborts.
#pragma once

#include <cstdio>
#include <cstdlib>

#define CHECK(cond)                                                                   \
  do {                                                                                \
    if (!(cond)) {                                                                    \
      std::fprintf(stderr, "CHECK failed: %s at %s:%d\n", #cond, __FILE__, __LINE__); \
      std::abort();                                                                   \
    }                                                                                 \
  } while (0)
