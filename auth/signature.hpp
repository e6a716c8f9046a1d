#pragma once

/// \file
/// Channel, user sign-in and webhook signatures (protocol.md §4, §7.1, §10).
///
/// All signatures are HMAC-SHA256 keyed with the bytes of the app secret, written as lowercase
/// hex. Auth strings have the form "<app_key>:<hex>". Pure functions, callable from any thread.
/// Verification fails closed: it returns false on any mismatch and if OpenSSL fails.

#include <string>
#include <string_view>

namespace auth {

// ---------------------------------------------------------------------------------------------
// Channel subscriptions (private-, private-encrypted-, presence-)
// ---------------------------------------------------------------------------------------------

/// Returns the string a channel auth signs: "socket_id:channel", plus ":channel_data" only when
/// `channel_data` is non-empty. Used as given; nothing is trimmed or escaped.
[[nodiscard]] std::string channel_string_to_sign(std::string_view socket_id,
                                                 std::string_view channel,
                                                 std::string_view channel_data);

/// Returns the auth string "app_key:hex" an auth endpoint would produce for this subscription.
/// Pass `channel_data` only for presence channels. Throws `std::runtime_error` if OpenSSL fails.
[[nodiscard]] std::string sign_channel(std::string_view app_key, std::string_view secret,
                                       std::string_view socket_id, std::string_view channel,
                                       std::string_view channel_data = {});

/// Returns true if `auth` is exactly the expected "app_key:hex" for this subscription, compared
/// in constant time over the whole string (so a wrong key prefix fails too). The caller passes
/// the client's `channel_data` for presence channels and an empty view for every other channel
/// type (Sockudo ignores `channel_data` there). An empty `auth` returns false.
[[nodiscard]] bool verify_channel_auth(std::string_view app_key, std::string_view secret,
                                       std::string_view socket_id, std::string_view channel,
                                       std::string_view channel_data, std::string_view auth);

// ---------------------------------------------------------------------------------------------
// User sign-in (pusher:signin)
// ---------------------------------------------------------------------------------------------

/// Returns the string a sign-in auth signs: "socket_id::user::user_data" (exact bytes of
/// `user_data`, including any UTF-8).
[[nodiscard]] std::string user_string_to_sign(std::string_view socket_id,
                                              std::string_view user_data);

/// Returns the sign-in auth string "app_key:hex". Throws `std::runtime_error` if OpenSSL fails.
[[nodiscard]] std::string sign_user(std::string_view app_key, std::string_view secret,
                                    std::string_view socket_id, std::string_view user_data);

/// Returns true if `auth` is exactly the expected "app_key:hex" for this sign-in, compared in
/// constant time over the whole string. Stricter than Sockudo, which ignores the key part (the
/// Soketi behaviour; no correct client sends a wrong key). An empty `auth` returns false.
[[nodiscard]] bool verify_user_auth(std::string_view app_key, std::string_view secret,
                                    std::string_view socket_id, std::string_view user_data,
                                    std::string_view auth);

// ---------------------------------------------------------------------------------------------
// Webhooks and socket ids
// ---------------------------------------------------------------------------------------------

/// Returns the `X-Pusher-Signature` value: lowercase hex HMAC-SHA256 of the exact raw `body`.
/// Throws `std::runtime_error` if OpenSSL fails.
[[nodiscard]] std::string webhook_signature(std::string_view secret, std::string_view body);

/// Returns true if `socket_id` matches ^[0-9]+\.[0-9]+$ (ASCII digits only; leading zeros
/// allowed, as the regex allows them) and each part's value is in [0, 10000000000]: the FORMAT
/// rule of Pusher's libraries (test-vectors §7), for code that checks a socket id it is given.
/// The server itself names sockets only through protocol::SocketId::parse, which accepts the
/// canonical text alone (no leading zeros): "01.2" passes here but names no socket.
[[nodiscard]] bool is_valid_socket_id(std::string_view socket_id) noexcept;

}  // namespace auth
