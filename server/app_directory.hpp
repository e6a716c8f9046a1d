#pragma once
// The database app managers' cache and thread (docs/APP_MANAGERS.md). Apps read from the
// database live in the Hub's app slots like config-file apps, so a lookup that finds one never
// leaves memory; what the Hub cannot answer from memory comes here:
//
//   - an unknown key or id is first checked against the negative cache (answered "unknown" at
//     once while fresh: a flood of bad keys is not a flood of queries);
//   - otherwise the lookup is queued (identical lookups share one query, the queue is bounded)
//     and the directory thread asks the database, batching queued values into one query; the
//     answer is posted to the caller's io_context, and a caller that waited lookup_timeout is
//     answered "unknown" by its own timer.
//   - every cache ttl the thread re-reads every database app in use: changed rows are applied
//     like a SIGHUP reload, disabled apps' sockets close with 4003, deleted apps' with 4001.
//   - the database down: cached apps keep working, new keys are refused (one log line per
//     burst), the thread reconnects with backoff, available() is false (`/up` says DEGRADED).
//
// Only the directory thread touches the AppSource. Any thread may call lookup().

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "server/app_source.hpp"
#include "server/config.hpp"
#include "server/net.hpp"

namespace server {

struct AppRuntime;

enum class AppLookup : unsigned char { key, id };

/// Where the directory keeps the apps it reads: the Hub's app slots (server/hub.hpp), behind
/// this interface so that the directory does not depend on the Hub.
class AppSlots {
 public:
  virtual ~AppSlots() = default;
  /// Installs `app` or applies it to its slot (matched by id); nullptr when no slot is left.
  virtual AppRuntime* upsert_app(const App& app) = 0;
  /// Forgets a deleted app; its sockets close with 4001.
  virtual void remove_app(std::string_view id) = 0;
  [[nodiscard]] virtual AppRuntime* app_by_id(std::string_view id) noexcept = 0;
  /// The ids of the apps in use (not removed).
  [[nodiscard]] virtual std::vector<std::string> database_app_ids() const = 0;
};

/// Counters for the metrics (pushcore_app_manager_*). Relaxed atomics, any thread.
struct AppDirectoryStats {
  std::atomic<std::uint64_t> hits{0};        ///< answered from the cached apps
  std::atomic<std::uint64_t> negative{0};    ///< answered "unknown" by the negative cache
  std::atomic<std::uint64_t> misses{0};      ///< had to ask the database
  std::atomic<std::uint64_t> refused{0};     ///< misses refused: database down, queue full
  std::atomic<std::uint64_t> timeouts{0};    ///< callers answered by their lookup_timeout
  std::atomic<std::uint64_t> queries{0};     ///< statements sent (lookups and refreshes)
  std::atomic<std::uint64_t> errors{0};      ///< failed connects and queries
  std::atomic<std::uint64_t> bad_rows{0};    ///< rows that are not a valid app (logged)
  /// Query latency histogram (seconds): counts per bucket of query_buckets, plus the sum.
  static constexpr double query_buckets[] = {0.0005, 0.001, 0.0025, 0.005, 0.01,
                                             0.025,  0.05,  0.1,    0.25,  1.0};
  static constexpr std::size_t bucket_count = sizeof(query_buckets) / sizeof(double);
  std::atomic<std::uint64_t> query_le[bucket_count + 1]{};  ///< last one: +Inf
  std::atomic<std::uint64_t> query_micros_sum{0};
};

class AppDirectory {
 public:
  using Done = std::function<void(AppRuntime*)>;

  /// `base`: the server config rows are resolved against (default limits, webhook retry); it
  /// must outlive the directory, like `slots`.
  AppDirectory(AppSlots& slots, const Config& base, std::unique_ptr<AppSource> source);
  ~AppDirectory();
  AppDirectory(const AppDirectory&) = delete;
  AppDirectory& operator=(const AppDirectory&) = delete;

  /// Start-up (main thread, before the thread runs): connects and checks the table. Throws
  /// AppSourceError, whose message main prints naming the settings.
  void open();
  /// Starts the directory thread (after open()).
  void start();
  /// Stops and joins the thread; queued lookups are answered "unknown". Idempotent.
  void stop();
  /// Re-reads the cached apps now (SIGHUP) instead of at the next TTL.
  void refresh_soon();

  /// True when the last lookup already found `value` unknown and that answer is fresh.
  [[nodiscard]] bool known_unknown(AppLookup by, std::string_view value);
  /// Queues a database lookup; `done` runs on `ioc` exactly once: with the app, or nullptr when
  /// it is unknown, the database cannot be asked, or lookup_timeout passed. Any thread.
  void lookup(AppLookup by, std::string_view value, net::io_context& ioc, Done done);

  /// False while the database is unreachable.
  [[nodiscard]] bool available() const noexcept { return up_.load(std::memory_order_relaxed); }
  [[nodiscard]] AppDirectoryStats& stats() noexcept { return stats_; }
  [[nodiscard]] std::string describe() const { return description_; }

 private:
  struct Waiter;
  struct Pending {
    std::vector<std::shared_ptr<Waiter>> waiters;
  };

  void run();
  void answer_batch(AppLookup by, std::vector<std::string> values);
  /// Re-reads `ids` (apps in memory): changed rows applied, missing ones removed.
  void refresh(const std::vector<std::string>& ids);
  /// A change notification from the source (its thread): `id` re-read soon; "" = everything.
  void note_changed(std::string id);
  /// Applies one row; returns the app's slot or nullptr (bad row, no slot left).
  AppRuntime* apply_row(const AppRow& row);
  void ensure_connected();
  void note_error(const AppSourceError& e, std::string_view during);
  void fail_all_pending();
  void remember_unknown(AppLookup by, const std::string& value);
  static void answer(const std::shared_ptr<Waiter>& w, AppRuntime* app);
  template <class F>
  auto timed_query(F&& f);

  AppSlots& slots_;
  const Config& base_;
  AppManagerSettings settings_;
  std::unique_ptr<AppSource> source_;
  std::string description_;
  AppDirectoryStats stats_;
  std::atomic<bool> up_{false};

  std::mutex mutex_;  ///< guards everything below up to `stop_`
  std::condition_variable wake_;
  std::unordered_map<std::string, Pending> pending_[2];  ///< by AppLookup
  std::deque<std::string> order_[2];                     ///< FIFO of pending_ keys
  std::unordered_map<std::string, std::chrono::steady_clock::time_point> unknown_[2];
  bool stop_ = false;
  bool refresh_requested_ = false;
  std::vector<std::string> changed_;  ///< ids notified as changed, not re-read yet

  // Directory thread only.
  std::unordered_map<std::string, std::string> row_json_;  ///< app id -> its row as last applied
  std::chrono::steady_clock::time_point next_refresh_;
  std::chrono::steady_clock::time_point next_connect_;
  std::chrono::milliseconds backoff_{100};
  std::chrono::steady_clock::time_point last_refusal_log_{};
  std::uint64_t refused_at_log_ = 0;
  std::thread thread_;

  static constexpr std::size_t max_pending = 10'000;   ///< distinct values queued
  static constexpr std::size_t max_unknown = 100'000;  ///< negative cache entries per kind
};

}  // namespace server
