// A unique_ptr deleter that calls a C library's free function: Deleter<PQclear>,
// Deleter<EVP_PKEY_free>.
#pragma once

namespace common {

template <auto Fn>
struct Deleter {
  template <class T>
  void operator()(T* p) const {
    Fn(p);
  }
};

}  // namespace common
