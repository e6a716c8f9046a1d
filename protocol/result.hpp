#pragma once

/// Value-or-error return type used by every fallible function of `protocol/`.

#include <optional>
#include <string>
#include <utility>

namespace protocol {

/// A protocol failure: a Pusher error code (4000, 4009, 4300, ...; see codes.hpp) and the full
/// message text that goes into the `pusher:error` frame.
struct Error {
  int code = 0;         ///< Pusher error code, e.g. `error_codes::invalid_message_format`.
  std::string message;  ///< Complete message, e.g. "Invalid message format: Missing channel field".
};

/// Either a value or an error (code + message). Converts implicitly from `T` and from `Error`
/// (on purpose, like `std::expected`), so functions can `return value;` or
/// `return Error{4000, "..."};`. Test it with `if (result)`.
template <class T>
struct [[nodiscard]] Result {
  std::optional<T> value;  ///< Set on success.
  int code = 0;            ///< Error code when `value` is empty; 0 on success.
  std::string message;     ///< Error message when `value` is empty; empty on success.

  Result() = default;
  // NOLINTNEXTLINE(google-explicit-constructor): implicit by design, see above.
  Result(T v) : value(std::move(v)) {}
  // NOLINTNEXTLINE(google-explicit-constructor): implicit by design, see above.
  Result(Error e) : code(e.code), message(std::move(e.message)) {}

  /// True when the result holds a value.
  explicit operator bool() const noexcept { return value.has_value(); }
  /// True when the result holds a value.
  [[nodiscard]] bool ok() const noexcept { return value.has_value(); }

  /// Access the value. Precondition: `ok()`.
  T& operator*() & noexcept { return *value; }
  /// Access the value. Precondition: `ok()`.
  const T& operator*() const& noexcept { return *value; }
  /// Access the value. Precondition: `ok()`.
  T* operator->() noexcept { return &*value; }
  /// Access the value. Precondition: `ok()`.
  const T* operator->() const noexcept { return &*value; }
};

}  // namespace protocol
