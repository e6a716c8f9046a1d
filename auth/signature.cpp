#include "auth/signature.hpp"

#include <cstdint>
#include <optional>

#include "auth/crypto.hpp"

namespace auth {
namespace {

// Largest value of either part of a socket id (protocol.md §1.4).
constexpr std::uint64_t max_socket_id_part = 10'000'000'000ULL;

std::string make_auth_string(std::string_view app_key, std::string_view hex) {
  std::string auth;
  auth.reserve(app_key.size() + 1 + hex.size());
  auth += app_key;
  auth += ':';
  auth += hex;
  return auth;
}

// Rebuilds "app_key:hex" for `string_to_sign` and compares it with `auth` in constant time.
// Fails closed: an empty `auth` or an OpenSSL failure returns false.
bool verify_auth_string(std::string_view app_key, std::string_view secret,
                        std::string_view string_to_sign, std::string_view auth) {
  if (auth.empty()) return false;
  const std::optional<std::string> hex = try_hmac_sha256_hex(secret, string_to_sign);
  if (!hex) return false;
  return constant_time_equal(make_auth_string(app_key, *hex), auth);
}

// True if `part` is one or more ASCII digits with a value of at most max_socket_id_part.
bool is_socket_id_part(std::string_view part) noexcept {
  if (part.empty()) return false;
  std::uint64_t value = 0;
  for (const char c : part) {
    if (c < '0' || c > '9') return false;
    value = value * 10 + static_cast<std::uint64_t>(c - '0');
    // Stop before the value can overflow; leading zeros keep it small and are fine.
    if (value > max_socket_id_part) return false;
  }
  return true;
}

}  // namespace

std::string channel_string_to_sign(std::string_view socket_id, std::string_view channel,
                                   std::string_view channel_data) {
  std::string out;
  out.reserve(socket_id.size() + channel.size() + channel_data.size() + 2);
  out += socket_id;
  out += ':';
  out += channel;
  if (!channel_data.empty()) {
    out += ':';
    out += channel_data;
  }
  return out;
}

std::string sign_channel(std::string_view app_key, std::string_view secret,
                         std::string_view socket_id, std::string_view channel,
                         std::string_view channel_data) {
  return make_auth_string(
      app_key, hmac_sha256_hex(secret, channel_string_to_sign(socket_id, channel, channel_data)));
}

bool verify_channel_auth(std::string_view app_key, std::string_view secret,
                         std::string_view socket_id, std::string_view channel,
                         std::string_view channel_data, std::string_view auth) {
  return verify_auth_string(app_key, secret,
                            channel_string_to_sign(socket_id, channel, channel_data), auth);
}

std::string user_string_to_sign(std::string_view socket_id, std::string_view user_data) {
  static constexpr std::string_view separator = "::user::";
  std::string out;
  out.reserve(socket_id.size() + separator.size() + user_data.size());
  out += socket_id;
  out += separator;
  out += user_data;
  return out;
}

std::string sign_user(std::string_view app_key, std::string_view secret, std::string_view socket_id,
                      std::string_view user_data) {
  return make_auth_string(app_key,
                          hmac_sha256_hex(secret, user_string_to_sign(socket_id, user_data)));
}

bool verify_user_auth(std::string_view app_key, std::string_view secret, std::string_view socket_id,
                      std::string_view user_data, std::string_view auth) {
  return verify_auth_string(app_key, secret, user_string_to_sign(socket_id, user_data), auth);
}

std::string webhook_signature(std::string_view secret, std::string_view body) {
  return hmac_sha256_hex(secret, body);
}

bool is_valid_socket_id(std::string_view socket_id) noexcept {
  const std::size_t dot = socket_id.find('.');
  if (dot == std::string_view::npos) return false;
  // A second '.' lands in the second part and fails the digit check there.
  return is_socket_id_part(socket_id.substr(0, dot)) &&
         is_socket_id_part(socket_id.substr(dot + 1));
}

}  // namespace auth
