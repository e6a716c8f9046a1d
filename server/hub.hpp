#pragma once
// The node: configuration, apps, workers, and the shared truth (channels::Registry) behind one
// mutex. Everything that is global lives here; everything per-connection lives in WsSession,
// everything per-thread in Worker.

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "channels/registry.hpp"
#include "protocol/socket_id.hpp"
#include "server/adapter.hpp"
#include "server/app_directory.hpp"
#include "server/broadcast_latency.hpp"
#include "server/config.hpp"
#include "server/errors.hpp"
#include "server/idempotency.hpp"
#include "server/rate_limit.hpp"
#include "server/replay_buffer.hpp"
#include "server/send_queue.hpp"
#include "server/webhooks.hpp"

namespace server {

class Worker;

/// The current settings of one app: a pointer to an immutable App snapshot, replaced as a whole
/// by a reload (SIGHUP). Replaced snapshots stay alive until the Hub goes, so a reference taken
/// from `->` or `*` stays valid (a reader sees the old or the new settings, never a mix).
class AppRef {
 public:
  AppRef& operator=(const App* app) noexcept {
    ptr_.store(app, std::memory_order_release);
    return *this;
  }
  const App* operator->() const noexcept { return ptr_.load(std::memory_order_acquire); }
  const App& operator*() const noexcept { return *ptr_.load(std::memory_order_acquire); }
  [[nodiscard]] const App* get() const noexcept { return ptr_.load(std::memory_order_acquire); }

 private:
  std::atomic<const App*> ptr_{nullptr};
};

/// Per-app runtime state, stable for the life of the process (one slot per app id ever seen).
/// `index` is a compact key in per-worker indexes (slots of removed apps are not reused).
struct AppRuntime {
  AppRef app;
  std::size_t index = 0;
  std::atomic<std::uint64_t> connections{0};
  /// This app's connections on the cluster's other live nodes, as of the Redis adapter's last
  /// heartbeat (0 alone, or while Redis is unreachable): max_connections counts both.
  std::atomic<std::uint64_t> remote_connections{0};
  WindowLimiter backend_events;  ///< max_backend_events_per_second, shared by all workers
  WindowLimiter read_requests;   ///< max_read_requests_per_second, shared by all workers
  /// Removed from the config by a reload: lookups no longer find it, its sockets are closed.
  std::atomic<bool> removed{false};
};

/// What Hub::reload changed (for the log line and tests).
struct ReloadResult {
  std::vector<std::string> added, updated, removed, disabled;
  std::vector<std::string> not_applied;  ///< node-level settings that need a restart
};

/// Transparent hash so unordered containers keyed by std::string can be searched with a view.
struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept {
    return std::hash<std::string_view>{}(s);
  }
};

class Hub final : public AppSlots {
 public:
  /// `app_source`: with a database app manager, the source to read apps from (tests inject
  /// one); null = the driver's own (make_app_source).
  explicit Hub(Config config, std::unique_ptr<AppSource> app_source = nullptr);
  ~Hub() override;
  Hub(const Hub&) = delete;
  Hub& operator=(const Hub&) = delete;

  [[nodiscard]] const Config& config() const noexcept { return config_; }

  /// App lookup in memory; nullptr when unknown (or removed by a reload). Any thread.
  [[nodiscard]] AppRuntime* app_by_key(std::string_view key) noexcept;
  [[nodiscard]] AppRuntime* app_by_id(std::string_view id) noexcept override;
  /// The lookup for a connect or an API request, from memory: the app, or nullptr for an
  /// unknown one, when memory knows (config-file apps, cached database apps, fresh negative
  /// entries); nullopt when only the database can tell: then call ask_database. Any thread.
  [[nodiscard]] std::optional<AppRuntime*> find_app(AppLookup by, std::string_view value);
  /// After find_app said nullopt: `done` runs later on `ioc` with the answer (app_directory.hpp).
  void ask_database(AppLookup by, std::string_view value, net::io_context& ioc,
                    AppDirectory::Done done);
  /// The database app manager; null with the array driver.
  [[nodiscard]] AppDirectory* directory() noexcept { return directory_.get(); }

  /// Database apps (the directory thread): installs `app` in a new slot or applies it to its
  /// slot like a reload does (key, secret, limits, features; newly disabled: sockets closed
  /// with 4003). nullptr when no slot is left (app_manager.max_apps).
  AppRuntime* upsert_app(const App& app) override;
  /// Removes a database app (deleted row): lookups stop finding it, its sockets close with 4001.
  void remove_app(std::string_view id) override;
  /// The ids of the apps in use (not removed). Any thread.
  [[nodiscard]] std::vector<std::string> database_app_ids() const override;
  [[nodiscard]] AppRuntime& app_at(std::size_t index) noexcept { return *apps_[index]; }
  /// App slots in use (removed apps included). Grows on reload, up to app_capacity().
  [[nodiscard]] std::size_t app_count() const noexcept {
    return app_count_.load(std::memory_order_acquire);
  }
  /// Fixed number of app slots (per-worker arrays are sized for it); the counters slot
  /// `app_capacity()` is for sockets with no valid app.
  [[nodiscard]] std::size_t app_capacity() const noexcept { return app_capacity_; }

  /// Applies the apps of `fresh` (SIGHUP): apps are matched by id; changed settings (secret,
  /// key, limits, features, origins) apply to new requests and subscriptions; removed apps'
  /// sockets are closed with 4001, newly disabled apps' with 4003; new apps get new slots
  /// while slots are left. Node-level settings are not applied (listed in the result). Call
  /// from one thread at a time (the main thread).
  ReloadResult reload(const Config& fresh);

  [[nodiscard]] std::vector<std::unique_ptr<Worker>>& workers() noexcept { return workers_; }
  [[nodiscard]] Worker& worker_for(channels::ConnId id) noexcept;

  /// Node-wide connection accounting (max_connections). Any thread.
  std::atomic<std::uint64_t> connections{0};
  /// Per-IP connect rate and concurrent connection limits. Any thread.
  [[nodiscard]] IpLimiter& ip_limiter() noexcept { return *ip_limiter_; }
  /// HTTP API requests per client address (rate_limiter.api_rate_limit when rate_limiter is
  /// enabled; otherwise !enabled()). A connect-rate-only IpLimiter: on_connect() counts one
  /// request and never takes a concurrent slot. Any thread.
  [[nodiscard]] IpLimiter& api_limiter() noexcept { return *api_limiter_; }
  /// True once graceful shutdown began: new upgrades are answered 503.
  std::atomic<bool> draining{false};
  /// True while the Hub is being destroyed: sessions freed with their io_context must not touch
  /// shared state any more.
  std::atomic<bool> tearing_down{false};

  // ---- shared truth ------------------------------------------------------------------------
  /// Guards registry() and the socket-id map. Never held while doing I/O; while holding it,
  /// code may only enqueue frames (enqueue never tears a session down synchronously).
  [[nodiscard]] std::mutex& state_mutex() noexcept { return state_mutex_; }
  [[nodiscard]] channels::Registry& registry() noexcept { return registry_; }
  /// Presence member decisions made so far on this node (member_added / member_removed fanned
  /// out by the local adapter). Caller must hold state_mutex. A joiner notes the value when it
  /// reads its member list; `next_member_decision` numbers a new member event.
  [[nodiscard]] std::uint64_t member_decisions() const noexcept { return member_decisions_; }
  std::uint64_t next_member_decision() noexcept { return ++member_decisions_; }

  /// Registers a new connection and returns its unique pusher socket id. Locks state_mutex.
  protocol::SocketId register_socket(channels::ConnId id);
  /// Forgets a socket id. Locks state_mutex.
  void unregister_socket(const protocol::SocketId& socket_id);
  /// Looks a socket id (text, as a client or backend sent it) up. Caller must hold state_mutex.
  [[nodiscard]] std::optional<channels::ConnId> conn_of_socket_locked(std::string_view sid) const;

  // ---- fan-out -----------------------------------------------------------------------------
  /// The adapter: where publishes go (local workers now, Redis later). Any thread.
  [[nodiscard]] Adapter& adapter() noexcept { return *adapter_; }
  /// Webhook sender (thread-safe emit, never blocks).
  [[nodiscard]] Webhooks& webhooks() noexcept { return *webhooks_; }
  /// Protocol V2 message identity and replay buffers; null unless connection_recovery is
  /// enabled. Any thread.
  [[nodiscard]] ReplayBuffer* replay() noexcept { return replay_.get(); }
  /// Resumes and idempotent publishes, for the metrics. Any thread.
  [[nodiscard]] V2Counters& v2_counters() noexcept { return v2_counters_; }
  /// Idempotency keys of HTTP publishes; null when idempotency is disabled. Any thread.
  [[nodiscard]] IdempotencyCache* idempotency() noexcept { return idempotency_.get(); }
  /// sockudo_broadcast_latency_ms (server/broadcast_latency.hpp). Any thread.
  [[nodiscard]] BroadcastLatency& broadcast_latency() noexcept { return *broadcast_latency_; }

  /// Delivers one encoded frame to every local subscriber of (app, channel) except `except`
  /// (0 = none): one post per worker, inline for the calling worker (`caller`, may be null).
  /// Any thread; may be called while holding state_mutex (it only posts and enqueues).
  /// `track` (API publishes): each worker reports its recipient count to it, and the last one
  /// records the broadcast latency.
  void fan_out(std::size_t app_index, std::string_view channel, const DialectFrames& frame,
               channels::ConnId except, Worker* caller,
               std::shared_ptr<BroadcastTrack> track = nullptr);

  /// Delivers a frame to specific connections (server-to-user, watchlists). Any thread.
  void send_to_connections(const std::vector<channels::ConnId>& conns, const DialectFrames& frame,
                           Worker* caller);

  /// Closes specific connections with an error frame + close code. Any thread.
  void close_connections(const std::vector<channels::ConnId>& conns, WsError why);

 private:
  struct Close {
    std::size_t index;
    WsError why;
  };
  /// The slot of `app` after applying it (matched by id, or a removed slot with its id), or a
  /// new slot from `next`; nullptr when none is left. Fills `closes` for a newly disabled app
  /// and `out` (when given) with what changed. Caller holds apps_mutex_ exclusively and
  /// publishes app_count_ = next.
  AppRuntime* upsert_locked(const App& app, std::size_t& next, std::vector<Close>& closes,
                            ReloadResult* out);
  void post_closes(const std::vector<Close>& closes);

  Config config_;
  std::size_t app_capacity_ = 0;
  std::unique_ptr<std::unique_ptr<AppRuntime>[]> apps_;  ///< app_capacity_ slots
  std::atomic<std::size_t> app_count_{0};
  std::vector<std::unique_ptr<const App>> snapshots_;  ///< App versions made by reloads
  mutable std::shared_mutex apps_mutex_;               ///< guards by_key_ / by_id_
  std::unordered_map<std::string, std::size_t, StringHash, std::equal_to<>> by_key_;
  std::unordered_map<std::string, std::size_t, StringHash, std::equal_to<>> by_id_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::unique_ptr<Adapter> adapter_;
  std::unique_ptr<Webhooks> webhooks_;
  std::unique_ptr<BroadcastLatency> broadcast_latency_;
  std::unique_ptr<ReplayBuffer> replay_;
  std::unique_ptr<IdempotencyCache> idempotency_;
  V2Counters v2_counters_;
  std::unique_ptr<IpLimiter> ip_limiter_;
  std::unique_ptr<IpLimiter> api_limiter_;
  std::unique_ptr<AppDirectory> directory_;  ///< database app manager, or null

  std::mutex state_mutex_;
  channels::Registry registry_;
  std::uint64_t member_decisions_ = 0;  ///< guarded by state_mutex_
  std::unordered_map<protocol::SocketId, channels::ConnId, protocol::SocketIdHash> sockets_;
};

}  // namespace server
