#include "protocol/channel.hpp"

#include <array>
#include <cstdint>

namespace protocol {

namespace {

struct PrefixRow {
  std::string_view prefix;
  ChannelKind kind;
};

// §3.1 table, in the order it must be checked (longest of each family first).
constexpr std::array<PrefixRow, 8> prefix_table{{
    {"private-encrypted-cache-", {.is_private = true, .is_encrypted = true, .is_cache = true}},
    {"private-encrypted-", {.is_private = true, .is_encrypted = true}},
    {"private-cache-", {.is_private = true, .is_cache = true}},
    {"private-", {.is_private = true}},
    {"presence-cache-", {.is_presence = true, .is_cache = true}},
    {"presence-", {.is_presence = true}},
    {"cache-", {.is_cache = true}},
    {server_to_user_prefix, {.is_server_to_user = true}},
}};

const PrefixRow* find_prefix(std::string_view name) noexcept {
  for (const auto& row : prefix_table) {
    if (name.starts_with(row.prefix)) return &row;
  }
  return nullptr;
}

// Pusher's character set plus ':' (rejected later as an unknown namespace). '#' is handled
// separately because it is allowed only as the first byte.
constexpr std::array<bool, 256> make_allowed_table() {
  std::array<bool, 256> t{};
  for (int c = 'a'; c <= 'z'; ++c) t[static_cast<std::size_t>(c)] = true;
  for (int c = 'A'; c <= 'Z'; ++c) t[static_cast<std::size_t>(c)] = true;
  for (int c = '0'; c <= '9'; ++c) t[static_cast<std::size_t>(c)] = true;
  for (char c : std::string_view("_-=@,.;:")) t[static_cast<std::uint8_t>(c)] = true;
  return t;
}

constexpr std::array<bool, 256> allowed_table = make_allowed_table();

}  // namespace

ChannelKind classify_channel(std::string_view name) noexcept {
  const PrefixRow* row = find_prefix(name);
  return row != nullptr ? row->kind : ChannelKind{};
}

std::size_t channel_type_prefix_length(std::string_view name) noexcept {
  const PrefixRow* row = find_prefix(name);
  return row != nullptr ? row->prefix.size() : 0;
}

std::string_view channel_namespace(std::string_view name) noexcept {
  const std::string_view logical = name.substr(channel_type_prefix_length(name));
  const std::size_t colon = logical.find(':');
  return colon == std::string_view::npos ? std::string_view{} : logical.substr(0, colon);
}

std::optional<std::string> validate_channel_name(std::string_view name, std::size_t max_length) {
  if (name.empty()) return std::string("Channel error: Channel name cannot be empty");
  if (name.size() > max_length) {
    return "Channel error: Channel name too long. Max length is " + std::to_string(max_length);
  }
  bool has_colon = false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    const auto c = static_cast<std::uint8_t>(name[i]);
    if (allowed_table[c] || (c == '#' && i == 0)) {
      has_colon |= (c == ':');
      continue;
    }
    return "Channel error: Channel name contains invalid characters: " + std::string(name);
  }
  if (has_colon) {
    // No type prefix contains ':', so the colon is in the logical part. V1 has no configured
    // namespaces, so every namespace is unknown.
    return "Channel error: Unknown channel namespace '" + std::string(channel_namespace(name)) +
           "'";
  }
  return std::nullopt;
}

std::optional<std::string> validate_event_name(std::string_view name, std::size_t max_length) {
  if (name.empty()) return std::string("Invalid event name: Event name is required");
  if (name.size() > max_length) {
    return "Invalid event name: Event name exceeds maximum length of " + std::to_string(max_length);
  }
  return std::nullopt;
}

}  // namespace protocol
