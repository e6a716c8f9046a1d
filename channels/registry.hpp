#pragma once
// channels::Registry: who is subscribed to what, presence members, cache-channel last events and
// signed-in users with their watchlists, for every app served by this process.
//
// Pure: no sockets, threads, clocks or logging. Times are passed in by the caller. Not
// thread-safe: the server wraps one Registry in a mutex (or gives it a single owning thread).
// Every call takes the app id first; apps are independent name spaces.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

namespace channels {

/// Server-internal connection id (one per WebSocket). The registry never dereferences it.
using ConnId = std::uint64_t;

/// Clock of every time the registry takes. The registry never reads it itself.
using Clock = std::chrono::steady_clock;
using TimePoint = Clock::time_point;

/// Outcome of `subscribe` / `join_presence`.
struct JoinResult {
  /// The connection was already in the channel. Nothing changed and every other flag is false.
  bool already_subscribed = false;
  /// The channel went from 0 to 1 subscribers (`channel_occupied` webhook).
  bool channel_occupied = false;
  /// Presence only: this is the user's first connection in the channel (`member_added`).
  bool member_added = false;
  /// Subscribers (sockets) of the channel after the call.
  std::size_t subscription_count = 0;
};

/// Outcome of leaving one channel (`unsubscribe`, `unsubscribe_all`).
struct LeaveResult {
  /// False: the connection was not in the channel and nothing changed at all.
  bool was_subscribed = false;
  /// The channel went to 0 subscribers and was erased (`channel_vacated` webhook).
  bool channel_vacated = false;
  /// Presence only: the leaving connection was its user's last one in the channel
  /// (`member_removed`).
  bool member_removed = false;
  /// Presence only: the member id the leaving connection joined with; empty otherwise.
  std::string user_id;
  /// Presence only: the member's id was signed as a JSON number (the form its first join gave,
  /// see `join_presence`), so `member_removed` echoes it as one.
  bool user_id_numeric = false;
  /// Subscribers (sockets) of the channel after the call.
  std::size_t subscription_count = 0;
};

/// One distinct presence member. Views into the registry: valid until its next mutating call.
struct MemberView {
  std::string_view user_id;
  std::string_view user_info;    ///< raw JSON text as given to the first join of this user
  bool user_id_numeric = false;  ///< the first join of this user signed its id as a JSON number
};

/// The last HTTP-published event of a cache channel (protocol §3.6).
struct CachedEvent {
  std::string frame_json;  ///< the complete frame, sent to new subscribers unchanged
  TimePoint expires_at;    ///< the event is gone at and after this instant
};

/// Outcome of `sign_in`.
struct SigninResult {
  /// The user went from 0 to 1 signed-in connections: tell its watchers "online".
  bool came_online = false;
  /// Set when this connection was signed in as a *different* user before (the identity was
  /// replaced). Not set for a first sign-in or for signing in again as the same user.
  std::optional<std::string> previous_user;
  /// `previous_user` lost its last signed-in connection: tell its watchers "offline".
  bool previous_went_offline = false;
};

/// Outcome of `sign_out`.
struct SignoutResult {
  /// The user the connection was signed in as; nullopt when it was not signed in (no-op).
  std::optional<std::string> user_id;
  /// That user lost its last signed-in connection: tell its watchers "offline".
  bool went_offline = false;
};

/// Sizes of one app's state, for metrics and tests. O(number of users) to compute.
struct AppStats {
  std::size_t channels = 0;               ///< occupied channels
  std::size_t connections = 0;            ///< connections with a subscription or a sign-in
  std::size_t subscriptions = 0;          ///< (connection, channel) pairs
  std::size_t presence_members = 0;       ///< (channel, user) pairs
  std::size_t signed_in_users = 0;        ///< users with at least one signed-in connection
  std::size_t signed_in_connections = 0;  ///< connections that are signed in
  std::size_t cached_events = 0;          ///< cache entries, including expired ones not purged
};

namespace detail {

/// Transparent string hash: lets maps keyed by std::string be searched with a string_view
/// without building a std::string.
struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept {
    return std::hash<std::string_view>{}(s);
  }
};

template <class Value>
using StringMap = std::unordered_map<std::string, Value, StringHash, std::equal_to<>>;

}  // namespace detail

/// The per-app subscription registry.
///
/// Indexes come in pairs: channel -> subscribers and connection -> channels are updated together
/// (checked by `check_invariants`), so leaving everything on disconnect costs time proportional
/// to that connection's channels. A channel with no subscribers is erased at once. Presence
/// members are keyed by user id with a per-user connection count, and the member id is stored
/// per (connection, channel), so one socket may be in two presence channels as two users.
///
/// The registry does not classify channel names: the caller uses `join_presence` for presence
/// channels and `subscribe` for everything else. Mixing both on one channel is allowed;
/// `subscribe`d connections then count as subscribers but not as members.
///
/// Views returned by const functions point into the registry and stay valid until the next
/// mutating call.
class Registry {
 public:
  Registry() = default;
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;
  Registry(Registry&&) noexcept = default;
  Registry& operator=(Registry&&) noexcept = default;
  ~Registry() = default;

  // ---- Subscriptions ------------------------------------------------------------------------

  /// Adds `conn` to a non-presence channel. If it is already subscribed, returns
  /// `already_subscribed` and changes nothing. Never fails; the caller enforces limits
  /// (see `channel_count_of`) before calling.
  JoinResult subscribe(std::string_view app_id, std::string_view channel, ConnId conn);

  /// Adds `conn` to a presence channel as member `user_id`. The user's first connection in the
  /// channel stores `user_info` (raw JSON) and `user_id_numeric` (the id was signed as a JSON
  /// number, protocol §5.1) and reports `member_added`; later connections of the same user do
  /// not overwrite either. Identity is the id's text whatever its type: `42` and `"42"` are one
  /// member, shown in the form of its first join. If `conn` is already in the channel (as any
  /// user), returns `already_subscribed` and changes nothing. Member-count and size limits are
  /// the caller's.
  JoinResult join_presence(std::string_view app_id, std::string_view channel, ConnId conn,
                           std::string_view user_id, std::string_view user_info,
                           bool user_id_numeric = false);

  /// Removes `conn` from the channel. When it was not subscribed this is a pure no-op
  /// (`was_subscribed == false`, no member or vacated flags).
  LeaveResult unsubscribe(std::string_view app_id, std::string_view channel, ConnId conn);

  /// Removes `conn` from every channel of `app_id` (disconnect), in time proportional to its
  /// channel count. Returns one (channel, result) pair per channel left, in unspecified order.
  /// Does not sign the connection out: on disconnect call `sign_out` as well.
  std::vector<std::pair<std::string, LeaveResult>> unsubscribe_all(std::string_view app_id,
                                                                   ConnId conn);

  // ---- Subscription queries ------------------------------------------------------------------

  /// True when `conn` is subscribed to the channel (through either join function).
  [[nodiscard]] bool is_subscribed(std::string_view app_id, std::string_view channel,
                                   ConnId conn) const;

  /// Subscribers (sockets) of the channel; 0 for an unknown channel.
  [[nodiscard]] std::size_t subscription_count(std::string_view app_id,
                                               std::string_view channel) const;

  /// Distinct presence users in the channel; 0 for an unknown or non-presence channel.
  [[nodiscard]] std::size_t user_count(std::string_view app_id, std::string_view channel) const;

  /// True when `user_id` has at least one connection in the presence channel.
  [[nodiscard]] bool has_member(std::string_view app_id, std::string_view channel,
                                std::string_view user_id) const;

  /// Distinct presence members of the channel, each with its kept `user_info` and id type, in
  /// unspecified order. Empty for an unknown or non-presence channel.
  [[nodiscard]] std::vector<MemberView> members(std::string_view app_id,
                                                std::string_view channel) const;

  /// The member id `conn` joined the presence channel with; nullopt when it is not in the
  /// channel or joined it through `subscribe`.
  [[nodiscard]] std::optional<std::string_view> member_id(std::string_view app_id,
                                                          std::string_view channel,
                                                          ConnId conn) const;

  /// The member `conn` is in the presence channel as (shared by every connection of that user:
  /// its id, kept `user_info` and id type); nullopt as for `member_id`.
  [[nodiscard]] std::optional<MemberView> member_of(std::string_view app_id,
                                                    std::string_view channel, ConnId conn) const;

  /// Number of channels `conn` is subscribed to in `app_id` (for the per-connection cap).
  [[nodiscard]] std::size_t channel_count_of(std::string_view app_id, ConnId conn) const;

  /// Names of the occupied channels of `app_id` that start with `prefix` ("" = all), sorted.
  /// O(channels of the app).
  [[nodiscard]] std::vector<std::string> occupied_channels(std::string_view app_id,
                                                           std::string_view prefix) const;

  /// The channel's subscribers, in unspecified order (allocates one vector per call).
  [[nodiscard]] std::vector<ConnId> subscribers(std::string_view app_id,
                                                std::string_view channel) const;

  /// Calls `fn(ConnId)` for every subscriber of the channel, in unspecified order, without
  /// allocating. `fn` must not modify the registry.
  template <class Fn>
  void for_each_subscriber(std::string_view app_id, std::string_view channel, Fn&& fn) const {
    if (const Channel* ch = find_channel(app_id, channel)) {
      for (const auto& entry : ch->subscribers) {
        fn(entry.first);
      }
    }
  }

  // ---- Cache channels (protocol §3.6) ---------------------------------------------------------

  /// Stores `frame_json` as the channel's last event until `expires_at`, replacing any earlier
  /// one. Independent of subscriptions: the entry outlives a vacated channel.
  void set_cached(std::string_view app_id, std::string_view channel, std::string frame_json,
                  TimePoint expires_at);

  /// The channel's cached event if one exists and `now < expires_at`; nullopt otherwise.
  /// Expired entries are not erased here (const); `purge_expired` reclaims them.
  [[nodiscard]] std::optional<CachedEvent> cached(std::string_view app_id, std::string_view channel,
                                                  TimePoint now) const;

  /// Erases the channel's cached event, if any. Returns true when one was erased.
  bool erase_cached(std::string_view app_id, std::string_view channel);

  /// Erases every cached event (all apps) with `expires_at <= now`; returns how many. Call it
  /// periodically: without it, entries of channels never read again stay in memory.
  std::size_t purge_expired(TimePoint now);

  // ---- Signed-in users and watchlists (protocol §7) -------------------------------------------

  /// Signs `conn` in as `user_id` with `watchlist` (user ids; duplicates are ignored).
  /// - First sign-in: the user's connection index gains `conn`; `came_online` when it is the
  ///   user's first signed-in connection.
  /// - Again as the same user: only the watchlist is replaced; no online event.
  /// - As a different user: the old identity is dropped first (`previous_user`, and
  ///   `previous_went_offline` when that was its last connection), then the new one is added.
  SigninResult sign_in(std::string_view app_id, ConnId conn, std::string_view user_id,
                       std::vector<std::string> watchlist);

  /// Drops the sign-in of `conn` (disconnect). No-op (`user_id == nullopt`) when not signed in.
  SignoutResult sign_out(std::string_view app_id, ConnId conn);

  /// The user `conn` is signed in as (sign-in only, never a presence member id).
  [[nodiscard]] std::optional<std::string_view> user_of(std::string_view app_id, ConnId conn) const;

  /// Signed-in connections of `user_id`, ascending. Empty when the user is offline.
  [[nodiscard]] std::vector<ConnId> user_connections(std::string_view app_id,
                                                     std::string_view user_id) const;

  /// True when `user_id` has at least one signed-in connection.
  [[nodiscard]] bool is_online(std::string_view app_id, std::string_view user_id) const;

  /// Connections to notify when `watched_user_id` goes online or offline, ascending.
  ///
  /// A watchlist belongs to the *user*: user U watches W when the watchlist of at least one of
  /// U's signed-in connections contains W. The result is every signed-in connection of every
  /// user watching W, including U's connections whose own sign-in listed no watchlist. A user
  /// that lists itself is its own watcher.
  [[nodiscard]] std::vector<ConnId> watcher_connections(std::string_view app_id,
                                                        std::string_view watched_user_id) const;

  // ---- Introspection ---------------------------------------------------------------------------

  /// Sizes of one app's state (all zero for an unknown app).
  [[nodiscard]] AppStats stats(std::string_view app_id) const;

  /// Checks that the paired indexes agree (channel <-> connection, member counts, user <->
  /// connection, watchlist counts <-> watcher index) and that nothing empty is kept. Returns ""
  /// when consistent, else a description of the first violation. O(total state): for tests and
  /// debug checks, not for the hot path.
  [[nodiscard]] std::string check_invariants() const;

 private:
  struct Member {
    std::string user_info;
    std::size_t connections = 0;   ///< this user's connections in the channel, >= 1
    bool user_id_numeric = false;  ///< as signed by the user's first join
  };
  using MemberMap = detail::StringMap<Member>;
  using MemberEntry = MemberMap::value_type;

  struct Channel {
    std::string_view name;  ///< view of this channel's key in AppState::channels (stable node)
    /// Subscriber -> its presence member entry in `members` (nullptr: joined via subscribe).
    /// Points into this channel's own `members` map; nodes do not move on rehash.
    std::unordered_map<ConnId, MemberEntry*> subscribers;
    MemberMap members;
  };

  struct User;

  struct Conn {
    /// Non-owning: nodes of AppState::channels. A small vector, not a set: most connections
    /// are in one or a few channels, and a set costs ~150 bytes more per connection.
    std::vector<Channel*> channels;
    User* user = nullptr;                ///< signed-in identity (node of AppState::users)
    std::vector<std::string> watchlist;  ///< deduplicated; counted in user->watching
  };

  struct User {
    std::string_view id;               ///< view of this user's key in AppState::users
    std::unordered_set<ConnId> conns;  ///< signed-in connections, never empty
    /// Watched user id -> how many of this user's connections list it (>= 1).
    detail::StringMap<std::size_t> watching;
  };

  struct AppState {
    detail::StringMap<Channel> channels;
    std::unordered_map<ConnId, Conn> conns;
    detail::StringMap<User> users;
    /// Watched user id -> users watching it (non-owning: nodes of `users`), never empty.
    detail::StringMap<std::unordered_set<User*>> watchers;
    detail::StringMap<CachedEvent> cache;

    [[nodiscard]] bool empty() const {
      return channels.empty() && conns.empty() && users.empty() && watchers.empty() &&
             cache.empty();
    }
  };
  using AppMap = detail::StringMap<AppState>;

  [[nodiscard]] const AppState* find_app(std::string_view app_id) const;
  [[nodiscard]] const Channel* find_channel(std::string_view app_id,
                                            std::string_view channel) const;
  AppMap::iterator app_for_write(std::string_view app_id);
  void erase_app_if_empty(AppMap::iterator app);

  JoinResult join(std::string_view app_id, std::string_view channel, ConnId conn,
                  std::optional<std::string_view> user_id, std::string_view user_info,
                  bool user_id_numeric);
  static LeaveResult leave(AppState& app, Channel& channel, ConnId conn, bool update_conn);
  static void erase_conn_if_unused(AppState& app, ConnId conn);
  static SignoutResult detach_user(AppState& app, ConnId conn_id, Conn& conn);
  static void add_watchlist(AppState& app, User& user, const std::vector<std::string>& watchlist);
  static void remove_watchlist(AppState& app, User& user,
                               const std::vector<std::string>& watchlist);
  static std::string check_app(std::string_view app_id, const AppState& app);

  AppMap apps_;
};

}  // namespace channels
