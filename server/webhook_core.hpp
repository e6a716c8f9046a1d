#pragma once
// The pure part of the webhook sender: event serialisation, channel filters, routing to the
// configured webhooks, the vacate delay with its cancel rule, batching, and the retry policy.
// No sockets, no threads, no clock reads: every time is a parameter, so all of it is testable
// with a fake clock. Used by one thread at a time (the sender thread), except WebhookRouting,
// which is immutable after construction and safe from any thread.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <regex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "server/config.hpp"
#include "server/webhook_event.hpp"

namespace server {

// ================================================================================================
// Event types and serialisation
// ================================================================================================

enum class WebhookEventType : std::uint8_t {
  channel_occupied,
  channel_vacated,
  member_added,
  member_removed,
  client_event,
  cache_miss,
  subscription_count,
};
inline constexpr std::size_t webhook_event_type_count = 7;

/// The type named `name`, or nullopt for a name this server does not produce.
[[nodiscard]] std::optional<WebhookEventType> webhook_event_type(std::string_view name) noexcept;

/// Appends the event object: {"name":..,"channel":..[,"user_id"][,"event"][,"data"]
/// [,"socket_id"][,"subscription_count"]}. Strings are JSON-escaped; `data` is written raw
/// (an empty `data` is written as null). A cache_miss without data gets `"data":"{}"`.
void append_webhook_event_json(std::string& out, const WebhookEvent& event);

/// {"time_ms":<time_ms>,"events":[<event objects, already serialised>]}
[[nodiscard]] std::string webhook_body(std::int64_t time_ms,
                                       const std::vector<std::string_view>& event_objects);

// ================================================================================================
// Filters and routing
// ================================================================================================

/// The namespace of a channel: the text before the first ':' once the type prefix
/// (private-encrypted-, private-, presence-, and their cache- forms) is removed; "" when the
/// name has no ':'.
[[nodiscard]] std::string_view channel_namespace(std::string_view channel) noexcept;

/// One webhook's `filter`, with the pattern compiled once.
class WebhookChannelFilter {
 public:
  explicit WebhookChannelFilter(const WebhookFilter& filter);
  /// True when every configured condition holds for `channel` (an invalid pattern never holds).
  [[nodiscard]] bool matches(std::string_view channel) const;

 private:
  WebhookFilter config_;
  std::optional<std::regex> pattern_;
};

/// The webhooks of every app, with their event type masks and compiled filters. Immutable.
class WebhookRouting {
 public:
  struct Target {
    std::size_t app_index = 0;
    const App* app = nullptr;                ///< points into the Config this was built from
    const WebhookTarget* webhook = nullptr;  ///< same
    std::uint32_t types = 0;                 ///< bit (1 << WebhookEventType) per wanted type
    WebhookChannelFilter filter;
  };

  /// `config` must outlive this object (targets point into it).
  explicit WebhookRouting(const Config& config);

  /// Any webhook of the app wants `type` (with the vacate pairs linked, see Webhooks::wants).
  [[nodiscard]] bool wants(std::size_t app_index, WebhookEventType type) const noexcept;
  [[nodiscard]] const std::vector<Target>& targets() const noexcept { return targets_; }
  /// Indexes into targets() of the app's webhooks.
  [[nodiscard]] const std::vector<std::size_t>& targets_of(std::size_t app_index) const noexcept;

 private:
  std::vector<Target> targets_;
  std::vector<std::vector<std::size_t>> by_app_;
  std::vector<std::uint32_t> app_masks_;
};

// ================================================================================================
// Retry policy
// ================================================================================================

enum class WebhookOutcome {
  delivered,  ///< 2xx
  retryable,  ///< network error, timeout, 5xx, 408, 409, 425, 429
  rejected,   ///< any other status: permanent failure, never retried
};

/// The outcome of an HTTP status (0 = no response: network error or timeout).
[[nodiscard]] WebhookOutcome classify_webhook_status(unsigned status) noexcept;

/// The wait before the next attempt after `attempts_made` failed attempts (>= 1) whose first one
/// started `elapsed` ago, or nullopt when the policy gives up: retries disabled, max_attempts
/// reached, or the next attempt would start after max_elapsed_time. The wait is
/// initial_interval * 2^(attempts_made - 1), capped at max_interval.
[[nodiscard]] std::optional<std::chrono::milliseconds> next_webhook_retry_delay(
    const WebhookRetry& policy, std::uint64_t attempts_made, std::chrono::milliseconds elapsed);

// ================================================================================================
// Scheduler: vacate delay, cancel rule, batching
// ================================================================================================

/// One request body ready to be signed and sent to `targets()[target]`.
struct WebhookBatch {
  std::size_t target = 0;
  std::string body;
  std::size_t events = 0;
  std::int64_t time_ms = 0;  ///< the earliest event's
};

/// Turns emitted events into request bodies, given the time as a parameter.
///
/// - channel_vacated / member_removed are held for `vacate_delay`. A channel_occupied for the same
///   (app, channel), or a member_added for the same (app, channel, user_id), emitted before it
///   fires cancels it and is itself suppressed: the receiver never sees the channel empty or the
///   member leave. A second vacated/removed for a key already pending is dropped.
/// - Each remaining event goes to every webhook of its app whose event_types and filter accept it.
/// - With batching on, a webhook's events are collected for `batching_duration` from the first
///   one and sent together, at most `max_batch_size` per body (a full batch is sent at once).
///   With batching off, each event is one body.
class WebhookScheduler {
 public:
  using Clock = std::chrono::steady_clock;
  using TimePoint = Clock::time_point;

  /// `routing` must outlive the scheduler.
  WebhookScheduler(const WebhookRouting& routing, const WebhookSettings& settings);

  /// Takes one event emitted at `now`. Unknown names and unwanted events are discarded.
  void add(std::size_t app_index, WebhookEvent event, TimePoint now);

  /// Fires the delayed events due at `now`, closes the batches whose window ended, and appends
  /// every body ready to send to `out`.
  void poll(TimePoint now, std::vector<WebhookBatch>& out);

  /// Fires every delayed event and closes every batch at once (shutdown), appending to `out`.
  void flush_all(std::vector<WebhookBatch>& out);

  /// When poll() next has something to do; nullopt when nothing is held.
  [[nodiscard]] std::optional<TimePoint> next_deadline() const;

  /// Events held (delayed, plus batched copies per webhook) and their approximate bytes.
  [[nodiscard]] std::size_t held_events() const noexcept { return held_events_; }
  [[nodiscard]] std::size_t held_bytes() const noexcept { return held_bytes_; }
  /// Events suppressed by the cancel rule (each cancelled pair counts 2).
  [[nodiscard]] std::uint64_t suppressed() const noexcept { return suppressed_; }

  /// Approximate memory of an event (its strings plus a fixed overhead).
  [[nodiscard]] static std::size_t approx_bytes(const WebhookEvent& event) noexcept;

 private:
  struct Item {  // one serialised event, shared by the batches of several webhooks
    std::string json;
    std::int64_t time_ms = 0;
  };
  struct Pending {
    WebhookEvent event;
    std::size_t app_index = 0;
    std::uint64_t seq = 0;
    std::size_t bytes = 0;
  };
  struct DueEntry {
    TimePoint due;
    std::string key;
    std::uint64_t seq = 0;
  };
  struct OpenBatch {
    std::vector<std::shared_ptr<const Item>> items;
    TimePoint deadline{};
    std::size_t bytes = 0;
  };

  void route(std::size_t app_index, const WebhookEvent& event, TimePoint now);
  void close_batch(std::size_t target);
  void fire_pending(const DueEntry& entry, TimePoint now);
  void drop_stale_entries();

  const WebhookRouting& routing_;
  WebhookSettings settings_;
  std::unordered_map<std::string, Pending> pending_;  // key: kind|app|channel[|user_id]
  std::deque<DueEntry> due_;        // FIFO: the delay is constant, so due times are non-decreasing
  std::vector<OpenBatch> batches_;  // per target
  std::vector<WebhookBatch> ready_;
  std::size_t held_events_ = 0;
  std::size_t held_bytes_ = 0;
  std::uint64_t seq_ = 0;
  std::uint64_t suppressed_ = 0;
  std::size_t stale_ = 0;  // cancelled entries still in due_
};

}  // namespace server
