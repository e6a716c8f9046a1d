#pragma once
// Abuse and rate-limit accounting: one counter per kind (`pushcore_abuse_total{kind=...}`) and
// a log line at most once per burst. A burst is the events of one kind on one worker within
// one second: the first event logs (with what happened), the rest only count, and the next
// line reports how many were suppressed. So a flood costs one relaxed increment per event.
// Threading: AbuseLog belongs to one worker (note() on that thread only); counters are relaxed
// atomics read by the metrics endpoint.

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>

#include "server/log.hpp"

namespace server {

/// What was refused (the `kind` label). Never renumbered; add new kinds before count_.
enum class AbuseKind : std::uint8_t {
  message_too_big,    ///< inbound WebSocket message over websocket_max_payload_kb (1009)
  protocol_error,     ///< RFC 6455 violation: RSV bits, opcode, control frame rules (1002)
  unmasked_frame,     ///< client frame without a mask (1002)
  bad_fragmentation,  ///< continuation without a start, data frame inside a message (1002)
  invalid_utf8,       ///< text message that is not UTF-8 (1007)
  channel_limit,      ///< subscribe beyond max_channels_per_connection (4300)
  message_rate,       ///< inbound messages over the app's message_rate_limit (4301)
  header_too_large,   ///< HTTP request line + headers over 16 KiB (431)
  body_too_large,     ///< HTTP body over http_api.request_limit_in_mb (413)
  request_timeout,    ///< HTTP request not complete within handshake_timeout (slowloris)
  malformed_request,  ///< unparseable HTTP request (400)
  ip_connect_rate,    ///< WebSocket connects from one IP over rate_limiter (429)
  ip_connections,     ///< open connections from one IP over max_connections_per_ip (4100)
  ip_table_full,      ///< per-IP table full: a connect was allowed untracked
  api_events_rate,    ///< HTTP API events over max_backend_events_per_second (429)
  api_reads_rate,     ///< HTTP API queries over max_read_requests_per_second (429)
  ip_api_rate,        ///< HTTP API requests from one address over rate_limiter.api_rate_limit
  count_
};

/// The label value of `kind`.
[[nodiscard]] constexpr std::string_view abuse_name(AbuseKind kind) noexcept {
  constexpr std::array<std::string_view, static_cast<std::size_t>(AbuseKind::count_)> names{
      "message_too_big", "protocol_error",  "unmasked_frame",    "bad_fragmentation",
      "invalid_utf8",    "channel_limit",   "message_rate",      "header_too_large",
      "body_too_large",  "request_timeout", "malformed_request", "ip_connect_rate",
      "ip_connections",  "ip_table_full",   "api_events_rate",   "api_reads_rate",
      "ip_api_rate"};
  return names[static_cast<std::size_t>(kind)];
}

class AbuseLog {
 public:
  using Clock = std::chrono::steady_clock;

  /// Counts one event of `kind`; logs `msg=abuse kind=... <fields>` unless this worker already
  /// logged this kind within the last second. Owning worker thread only.
  void note(AbuseKind kind, std::initializer_list<log::Field> fields = {}) {
    const auto k = static_cast<std::size_t>(kind);
    counts_[k].fetch_add(1, std::memory_order_relaxed);
    const auto now = Clock::now();
    if (logged_once_[k] && now - last_log_[k] < std::chrono::seconds(1)) {
      ++suppressed_[k];
      return;
    }
    logged_once_[k] = true;
    last_log_[k] = now;
    std::string line_fields;
    for (const auto& [key, value] : fields) {
      line_fields.append(key).push_back('=');
      line_fields.append(value).push_back(' ');
    }
    if (!line_fields.empty()) line_fields.pop_back();
    log::warn("abuse", {{"kind", std::string(abuse_name(kind))},
                        {"detail", line_fields},
                        {"suppressed", std::to_string(suppressed_[k])}});
    suppressed_[k] = 0;
  }

  /// Events of `kind` on this worker so far. Any thread.
  [[nodiscard]] std::uint64_t count(AbuseKind kind) const noexcept {
    return counts_[static_cast<std::size_t>(kind)].load(std::memory_order_relaxed);
  }

 private:
  static constexpr std::size_t n_ = static_cast<std::size_t>(AbuseKind::count_);
  std::array<std::atomic<std::uint64_t>, n_> counts_{};
  std::array<Clock::time_point, n_> last_log_{};
  std::array<std::uint64_t, n_> suppressed_{};
  std::array<bool, n_> logged_once_{};
};

}  // namespace server
