#pragma once
// server::WebhookEvent, the value type shared by the webhook sender (webhooks.hpp) and its pure
// core (webhook_core.hpp), in its own header so that neither includes the other.

#include <cstdint>
#include <optional>
#include <string>

namespace server {

/// One event object of a webhook body. Serialised with the keys in this order: name, channel,
/// user_id, event, data, socket_id, subscription_count (absent optionals are omitted).
struct WebhookEvent {
  /// channel_occupied, channel_vacated, member_added, member_removed, client_event, cache_miss,
  /// subscription_count. Any other name is dropped.
  std::string name;
  std::string channel;
  std::optional<std::string> user_id;  ///< member_* and presence client_event
  /// `user_id` is a JSON number token (the member's signed type, protocol §5.1): written as that
  /// number. It does not change which user the event is about (`42` and `"42"` are one user).
  bool user_id_numeric = false;
  std::optional<std::string> event;  ///< client_event name
  /// client_event: RAW JSON of `data` exactly as the client sent it (object or string), written
  /// as-is. cache_miss: leave unset, the body then carries Sockudo's `"data":"{}"`.
  std::optional<std::string> data;
  std::optional<std::string> socket_id;  ///< client_event
  std::optional<std::uint64_t> subscription_count;
  std::int64_t time_ms = 0;  ///< unix ms when it happened
};

}  // namespace server
