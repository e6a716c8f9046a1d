#pragma once

/// Channel classification and channel/event name rules (protocol.md §3.1, §6).

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace protocol {

/// Prefix of the per-user channel that server-to-user events are published to (§7.3).
inline constexpr std::string_view server_to_user_prefix = "#server-to-user-";

/// Default maximum channel name length in bytes (Sockudo and Soketi: 200).
inline constexpr std::size_t default_max_channel_name_length = 200;
/// Default maximum event name length in bytes (200).
inline constexpr std::size_t default_max_event_name_length = 200;

/// What a channel name's prefix says about the channel. Classification is by prefix only
/// ([deviate] from Sockudo's "contains `cache-`" rule), checked in the table order of §3.1:
///
/// | prefix                      | is_private | is_presence | is_encrypted | is_cache |
/// is_server_to_user | | `private-encrypted-cache-`  | yes        |             | yes          |
/// yes      |                   | | `private-encrypted-`        | yes        |             | yes |
/// |                   | | `private-cache-`            | yes        |             |              |
/// yes      |                   | | `private-`                  | yes        |             | | | |
/// | `presence-cache-`           |            | yes         |              | yes      | | |
/// `presence-`                 |            | yes         |              |          | | | `cache-`
/// |            |             |              | yes      |                   | | `#server-to-user-`
/// |            |             |              |          | yes               | | anything else
/// (public)      |            |             |              |          |                   |
struct ChannelKind {
  bool is_private = false;         ///< `private-*`, including encrypted ones.
  bool is_presence = false;        ///< `presence-*`, including `presence-cache-*` ([deviate]).
  bool is_encrypted = false;       ///< `private-encrypted-*`.
  bool is_cache = false;           ///< `cache-*`, `private-cache-*`, `presence-cache-*`, ...
  bool is_server_to_user = false;  ///< `#server-to-user-*`.

  /// True for private, encrypted and presence channels: the subscribe needs a valid `auth`.
  [[nodiscard]] constexpr bool requires_auth() const noexcept { return is_private || is_presence; }

  /// True when clients may trigger `client-*` events here: private(-cache) and presence(-cache).
  /// Encrypted channels are excluded ([deviate] §6 rule 6), as are public/cache/user channels.
  [[nodiscard]] constexpr bool allows_client_events() const noexcept {
    return (is_private && !is_encrypted) || is_presence;
  }

  friend constexpr bool operator==(const ChannelKind&, const ChannelKind&) = default;
};

/// Classifies a channel by its prefix (table above). Does not validate the name.
[[nodiscard]] ChannelKind classify_channel(std::string_view name) noexcept;

/// Length of the type prefix of `name` (`private-`, `presence-cache-`, `#server-to-user-`, ...),
/// 0 for a public channel.
[[nodiscard]] std::size_t channel_type_prefix_length(std::string_view name) noexcept;

/// The channel namespace: the text before the first `:` in the part after the type prefix, or
/// an empty view when there is no `:` (§10.3 webhook filters). Returns a view into `name`.
[[nodiscard]] std::string_view channel_namespace(std::string_view name) noexcept;

/// Validates a channel name for subscribe, client events and the HTTP API (§3.1). Returns
/// `std::nullopt` when valid, else the full message for a 4300 (`error_codes::channel_error`)
/// error frame, checked in this order:
/// - empty: "Channel error: Channel name cannot be empty" ([deviate]: Sockudo accepts "")
/// - longer than `max_length` bytes: "Channel error: Channel name too long. Max length is N"
/// - a byte outside `A-Z a-z 0-9 _ - = @ , . ; :` (a `#` is allowed only as the first byte):
///   "Channel error: Channel name contains invalid characters: <name>"
/// - a `:` after the type prefix (V1 has no configured namespaces):
///   "Channel error: Unknown channel namespace '<ns>'"
[[nodiscard]] std::optional<std::string> validate_channel_name(std::string_view name,
                                                               std::size_t max_length);

/// Validates an event name's length. Returns `std::nullopt` when valid, else the full message
/// for a 4000 error frame: "Invalid event name: Event name is required" for an empty name,
/// "Invalid event name: Event name exceeds maximum length of N" when longer than `max_length`.
[[nodiscard]] std::optional<std::string> validate_event_name(std::string_view name,
                                                             std::size_t max_length);

}  // namespace protocol
