#pragma once
// Webhooks (protocol.md §10, docs/WEBHOOKS.md): events produced by the sessions are handed to
// `Webhooks::emit`, which only appends them to a bounded in-memory queue. One dedicated sender
// thread (its own io_context) holds channel_vacated / member_removed back for the vacate delay,
// filters and batches per webhook URL, signs each body with the app secret, and POSTs it over
// HTTP/1.1 (keep-alive, http:// and https://) with a per-request timeout and retries with
// exponential backoff. No webhook endpoint, however slow or broken, can block a worker or grow
// memory past `webhooks.max_queue_size` / `max_queue_bytes`: what does not fit is dropped,
// counted in `stats()` and logged (at most one line per kind every 10 s).

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "server/config.hpp"
#include "server/webhook_event.hpp"

namespace server {

/// The webhook sender of one node. Construct once, `start()` once, `shutdown()` once.
class Webhooks {
 public:
  /// Reads each app's webhook config (the Config is copied). Starts no thread.
  explicit Webhooks(const Config& config);
  /// Stops the sender thread if it still runs (as `shutdown(0ms)`).
  ~Webhooks();
  Webhooks(const Webhooks&) = delete;
  Webhooks& operator=(const Webhooks&) = delete;

  /// Starts ONE dedicated sender thread running its own io_context. Events emitted before
  /// start() wait in the queue. Calling it twice does nothing.
  void start();

  /// Queues one event of app `app_index` (its position in Config::apps). Thread-safe, never
  /// blocks (one short internal mutex), never throws; may be called while holding other locks.
  /// Events no webhook of that app wants are discarded at once (not counted as lost). When the
  /// queue is full the event is dropped and counted in `dropped_queue_full`. After shutdown()
  /// began, events are discarded.
  void emit(std::size_t app_index, WebhookEvent event) noexcept;
  /// The channel events (channel_occupied, channel_vacated, member_added, member_removed,
  /// subscription_count, cache_miss): builds the event, stamped now, when some webhook of the
  /// app wants `name`, and emits it. Any thread, any lock.
  void channel_event(std::size_t app_index, std::string_view name, std::string_view channel,
                     std::optional<std::string_view> user_id = std::nullopt,
                     std::optional<std::uint64_t> subscription_count = std::nullopt) noexcept;
  /// member_added / member_removed about `user_id`, written as a JSON number when
  /// `user_id_numeric` (the member's signed type, protocol §5.1). Otherwise as channel_event.
  void member_event(std::size_t app_index, std::string_view name, std::string_view channel,
                    std::string_view user_id, bool user_id_numeric) noexcept;

  /// True when some webhook of the app has `event_name` in its event_types. The vacate pairs are
  /// linked: channel_occupied and channel_vacated (member_added and member_removed) both answer
  /// true when either is configured, because a quick re-occupy / re-join must cancel the
  /// pending vacated / removed event and be suppressed itself. Any thread; lock-free.
  [[nodiscard]] bool wants(std::size_t app_index, std::string_view event_name) const noexcept;

  /// Graceful shutdown: stops accepting events, sends delayed events at once, flushes every
  /// batch, and keeps delivering (retries included) until nothing is left or `grace` has
  /// passed; then stops and joins the thread. What is still undelivered then is counted in
  /// `dropped_retries_exhausted` and logged. Blocks the caller for at most about `grace`.
  /// Idempotent; safe without start().
  void shutdown(std::chrono::milliseconds grace);

  struct Stats {
    std::uint64_t queued = 0;              ///< events accepted by emit()
    std::uint64_t sent_events = 0;         ///< events delivered (2xx), counted per webhook URL
    std::uint64_t sent_requests = 0;       ///< requests answered 2xx
    std::uint64_t failed_requests = 0;     ///< attempts that failed (error, timeout, non-2xx)
    std::uint64_t retried_requests = 0;    ///< retries scheduled after a failed attempt
    std::uint64_t dropped_queue_full = 0;  ///< events lost: queue (count or bytes) was full
    /// Events lost after a permanent rejection (non-retryable status), exhausted retries, or
    /// left undelivered when the shutdown grace period ended (per webhook URL).
    std::uint64_t dropped_retries_exhausted = 0;
    std::size_t queue_depth = 0;  ///< events held now: queued, delayed, batched, being sent
  };
  /// A snapshot of the counters (for the Prometheus endpoint). Any thread.
  [[nodiscard]] Stats stats() const;

 private:
  // channel_event and member_event: builds the event when some webhook wants it, and emits it.
  void build_and_emit(std::size_t app_index, std::string_view name, std::string_view channel,
                      std::optional<std::string_view> user_id, bool user_id_numeric,
                      std::optional<std::uint64_t> subscription_count) noexcept;

  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace server
