// Result<T>: a value or an Error. A small subset of C++23 std::expected so that the
// migration is a rename. Expected failures (bad input, a database that is down) travel
// as values; programmer errors abort (see CHECK in check.h).
//
// Thread-safety: plain values; no shared state.
#pragma once

#include <cstdlib>
#include <string>
#include <utility>
#include <variant>

namespace common {

enum class ErrorCode {
  kInvalidInput,  // the caller's input is wrong; retrying it unchanged will not help
  kVerifyFailed,  // a signature, hash or proof did not check out
  kNotFound,
  kConflict,          // a uniqueness or ordering rule refused the change
  kPermissionDenied,  // the caller is known but may not do this (a missing scope)
  kTooLarge,          // the input is over a configured size limit
  kUnavailable,       // a dependency (database, network peer) is down: retry later
  kInternal,          // a bug or an unexpected state
};

const char* ErrorCodeName(ErrorCode code);

class Error {
 public:
  Error(ErrorCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Error InvalidInput(std::string m) { return {ErrorCode::kInvalidInput, std::move(m)}; }
  static Error VerifyFailed(std::string m) { return {ErrorCode::kVerifyFailed, std::move(m)}; }
  static Error NotFound(std::string m) { return {ErrorCode::kNotFound, std::move(m)}; }
  static Error Conflict(std::string m) { return {ErrorCode::kConflict, std::move(m)}; }
  static Error PermissionDenied(std::string m) {
    return {ErrorCode::kPermissionDenied, std::move(m)};
  }
  static Error TooLarge(std::string m) { return {ErrorCode::kTooLarge, std::move(m)}; }
  static Error Unavailable(std::string m) { return {ErrorCode::kUnavailable, std::move(m)}; }
  static Error Internal(std::string m) { return {ErrorCode::kInternal, std::move(m)}; }

  ErrorCode code() const { return code_; }
  const std::string& message() const { return message_; }
  std::string ToString() const { return std::string(ErrorCodeName(code_)) + ": " + message_; }

 private:
  ErrorCode code_;
  std::string message_;
};

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}      // NOLINT: implicit like std::expected
  Result(Error error) : v_(std::move(error)) {}  // NOLINT

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & {
    Check();
    return std::get<0>(v_);
  }
  const T& value() const& {
    Check();
    return std::get<0>(v_);
  }
  T&& value() && {
    Check();
    return std::get<0>(std::move(v_));
  }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  // REQUIRES: !ok()
  const Error& error() const {
    if (ok()) std::abort();
    return std::get<1>(v_);
  }

 private:
  void Check() const {
    if (!ok()) std::abort();  // reading the value of a failed result is a programmer error
  }
  std::variant<T, Error> v_;
};

// Result<void>: success carries nothing.
template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)), has_error_(true) {}  // NOLINT
  bool ok() const { return !has_error_; }
  explicit operator bool() const { return ok(); }
  const Error& error() const {
    if (ok()) std::abort();
    return error_;
  }

 private:
  Error error_{ErrorCode::kInternal, ""};
  bool has_error_ = false;
};

using Status = Result<void>;
inline Status Ok() { return {}; }

}  // namespace common

// Early returns of a failed Result, so that the success path reads straight down:
//
//   RETURN_IF_ERROR(store.Append(block));        // a Status or any Result<T>
//   ASSIGN_OR_RETURN(auto key, LoadKey(path));   // declares `key` from a Result<T>
//   ASSIGN_OR_RETURN(header_, ParseHeader(bytes));
//
// Both return the error as it is (the enclosing function returns a Result of any type).
// The expression is evaluated once. ASSIGN_OR_RETURN declares a hidden local, so use it at
// most once per line.
#define NOTARY_RESULT_CONCAT_INNER(a, b) a##b
#define NOTARY_RESULT_CONCAT(a, b) NOTARY_RESULT_CONCAT_INNER(a, b)

#define RETURN_IF_ERROR(expr)                                 \
  do {                                                        \
    if (auto notary_status_ = (expr); !notary_status_.ok()) { \
      return notary_status_.error();                          \
    }                                                         \
  } while (false)

#define ASSIGN_OR_RETURN(lhs, expr) \
  NOTARY_ASSIGN_OR_RETURN_IMPL(NOTARY_RESULT_CONCAT(notary_result_, __LINE__), lhs, expr)
#define NOTARY_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                                 \
  if (!tmp.ok()) return tmp.error();                 \
  lhs = std::move(tmp).value()
