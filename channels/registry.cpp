#include "channels/registry.hpp"

#include <algorithm>
#include <cassert>
#include <iterator>

namespace channels {

// ================================================================================================
// Low-level helpers
// ================================================================================================

const Registry::AppState* Registry::find_app(std::string_view app_id) const {
  const auto it = apps_.find(app_id);
  return it == apps_.end() ? nullptr : &it->second;
}

const Registry::Channel* Registry::find_channel(std::string_view app_id,
                                                std::string_view channel) const {
  const AppState* app = find_app(app_id);
  if (app == nullptr) {
    return nullptr;
  }
  const auto it = app->channels.find(channel);
  return it == app->channels.end() ? nullptr : &it->second;
}

Registry::AppMap::iterator Registry::app_for_write(std::string_view app_id) {
  auto it = apps_.find(app_id);
  if (it == apps_.end()) {
    it = apps_.emplace(std::string(app_id), AppState{}).first;
  }
  return it;
}

// An app with no state at all is dropped so that the map does not keep every app id ever seen.
void Registry::erase_app_if_empty(AppMap::iterator app) {
  if (app->second.empty()) {
    apps_.erase(app);
  }
}

void Registry::erase_conn_if_unused(AppState& app, ConnId conn) {
  const auto it = app.conns.find(conn);
  if (it != app.conns.end() && it->second.channels.empty() && it->second.user == nullptr) {
    app.conns.erase(it);
  }
}

// Adds one join on behalf of `conn`; `user_id` set means a presence join.
JoinResult Registry::join(std::string_view app_id, std::string_view channel_name, ConnId conn,
                          std::optional<std::string_view> user_id, std::string_view user_info,
                          bool user_id_numeric) {
  JoinResult result;
  const auto app_it = app_for_write(app_id);
  AppState& app = app_it->second;

  auto ch_it = app.channels.find(channel_name);
  if (ch_it != app.channels.end() && ch_it->second.subscribers.contains(conn)) {
    // Double subscribe: report it, change nothing (protocol §3.5).
    result.already_subscribed = true;
    result.subscription_count = ch_it->second.subscribers.size();
    return result;
  }
  if (ch_it == app.channels.end()) {
    ch_it = app.channels.emplace(std::string(channel_name), Channel{}).first;
    ch_it->second.name = ch_it->first;
    result.channel_occupied = true;
  }
  Channel& channel = ch_it->second;

  MemberEntry* member = nullptr;
  if (user_id) {
    auto m_it = channel.members.find(*user_id);
    if (m_it == channel.members.end()) {
      // First connection of this user: its user_info and id type are the ones kept (protocol
      // §5.1, §5.2); a later join with the other type of the same id is the same member.
      m_it = channel.members
                 .emplace(std::string(*user_id), Member{std::string(user_info), 0, user_id_numeric})
                 .first;
      result.member_added = true;
    }
    ++m_it->second.connections;
    member = &*m_it;
  }

  // Both halves of the pair, together.
  channel.subscribers.emplace(conn, member);
  auto& joined = app.conns[conn].channels;
  assert(std::find(joined.begin(), joined.end(), &channel) == joined.end() &&
         "connection index already had a channel the channel index did not");
  joined.push_back(&channel);

  result.subscription_count = channel.subscribers.size();
  return result;
}

// Removes `conn` from `channel` and erases the channel when it becomes empty. With
// `update_conn`, also removes the channel from the connection's index (unsubscribe_all clears
// that index itself, in one go). `channel` is dangling afterwards if `channel_vacated`.
LeaveResult Registry::leave(AppState& app, Channel& channel, ConnId conn, bool update_conn) {
  LeaveResult result;
  const auto sub = channel.subscribers.find(conn);
  if (sub == channel.subscribers.end()) {
    result.subscription_count = channel.subscribers.size();
    return result;
  }
  result.was_subscribed = true;

  if (MemberEntry* member = sub->second) {
    result.user_id = member->first;
    result.user_id_numeric = member->second.user_id_numeric;
    assert(member->second.connections > 0);
    if (--member->second.connections == 0) {
      // Last connection of this user in the channel (protocol §5.2).
      result.member_removed = true;
      channel.members.erase(channel.members.find(result.user_id));
    }
  }
  channel.subscribers.erase(sub);
  result.subscription_count = channel.subscribers.size();

  if (update_conn) {
    const auto conn_it = app.conns.find(conn);
    assert(conn_it != app.conns.end() && "channel index had a connection the conn index lacks");
    auto& joined = conn_it->second.channels;
    const auto pos = std::find(joined.begin(), joined.end(), &channel);
    assert(pos != joined.end() && "connection index lacked a channel the channel index had");
    if (pos != joined.end()) {
      *pos = joined.back();
      joined.pop_back();
    }
    if (conn_it->second.channels.empty() && conn_it->second.user == nullptr) {
      app.conns.erase(conn_it);
    }
  }

  if (channel.subscribers.empty()) {
    assert(channel.members.empty());
    result.channel_vacated = true;
    app.channels.erase(app.channels.find(channel.name));
  }
  return result;
}

void Registry::add_watchlist(AppState& app, User& user, const std::vector<std::string>& watchlist) {
  for (const std::string& watched : watchlist) {
    const auto it = user.watching.find(watched);
    if (it != user.watching.end()) {
      ++it->second;
      continue;
    }
    user.watching.emplace(watched, 1);
    auto w_it = app.watchers.find(watched);
    if (w_it == app.watchers.end()) {
      w_it = app.watchers.emplace(watched, std::unordered_set<User*>{}).first;
    }
    w_it->second.insert(&user);
  }
}

void Registry::remove_watchlist(AppState& app, User& user,
                                const std::vector<std::string>& watchlist) {
  for (const std::string& watched : watchlist) {
    const auto it = user.watching.find(watched);
    assert(it != user.watching.end() && it->second > 0);
    if (--it->second > 0) {
      continue;
    }
    user.watching.erase(it);
    const auto w_it = app.watchers.find(watched);
    assert(w_it != app.watchers.end());
    w_it->second.erase(&user);
    if (w_it->second.empty()) {
      app.watchers.erase(w_it);
    }
  }
}

// Drops the signed-in identity of `conn` (which must have one) and its watchlist contribution.
SignoutResult Registry::detach_user(AppState& app, ConnId conn_id, Conn& conn) {
  assert(conn.user != nullptr);
  User& user = *conn.user;
  SignoutResult result;
  result.user_id = std::string(user.id);

  remove_watchlist(app, user, conn.watchlist);
  conn.watchlist.clear();
  conn.user = nullptr;
  [[maybe_unused]] const auto erased = user.conns.erase(conn_id);
  assert(erased == 1 && "user index lacked a connection signed in as that user");

  if (user.conns.empty()) {
    assert(user.watching.empty());
    result.went_offline = true;
    app.users.erase(app.users.find(*result.user_id));
  }
  return result;
}

// ================================================================================================
// Subscriptions
// ================================================================================================

JoinResult Registry::subscribe(std::string_view app_id, std::string_view channel, ConnId conn) {
  return join(app_id, channel, conn, std::nullopt, {}, false);
}

JoinResult Registry::join_presence(std::string_view app_id, std::string_view channel, ConnId conn,
                                   std::string_view user_id, std::string_view user_info,
                                   bool user_id_numeric) {
  return join(app_id, channel, conn, user_id, user_info, user_id_numeric);
}

LeaveResult Registry::unsubscribe(std::string_view app_id, std::string_view channel, ConnId conn) {
  const auto app_it = apps_.find(app_id);
  if (app_it == apps_.end()) {
    return {};
  }
  const auto ch_it = app_it->second.channels.find(channel);
  if (ch_it == app_it->second.channels.end()) {
    return {};
  }
  LeaveResult result = leave(app_it->second, ch_it->second, conn, true);
  if (result.was_subscribed) {
    erase_app_if_empty(app_it);
  }
  return result;
}

std::vector<std::pair<std::string, LeaveResult>> Registry::unsubscribe_all(std::string_view app_id,
                                                                           ConnId conn) {
  std::vector<std::pair<std::string, LeaveResult>> results;
  const auto app_it = apps_.find(app_id);
  if (app_it == apps_.end()) {
    return results;
  }
  AppState& app = app_it->second;
  const auto conn_it = app.conns.find(conn);
  if (conn_it == app.conns.end()) {
    return results;
  }

  // Take the connection's half of the index; each channel's half is fixed in `leave`.
  std::vector<Channel*> joined;
  joined.swap(conn_it->second.channels);
  results.reserve(joined.size());
  for (Channel* channel : joined) {
    std::string name(channel->name);
    LeaveResult result = leave(app, *channel, conn, false);
    assert(result.was_subscribed && "connection index had a channel the channel index lacks");
    results.emplace_back(std::move(name), std::move(result));
  }

  if (conn_it->second.user == nullptr) {
    app.conns.erase(conn_it);
  }
  erase_app_if_empty(app_it);
  return results;
}

// ================================================================================================
// Subscription queries
// ================================================================================================

bool Registry::is_subscribed(std::string_view app_id, std::string_view channel, ConnId conn) const {
  const Channel* ch = find_channel(app_id, channel);
  return ch != nullptr && ch->subscribers.contains(conn);
}

std::size_t Registry::subscription_count(std::string_view app_id, std::string_view channel) const {
  const Channel* ch = find_channel(app_id, channel);
  return ch == nullptr ? 0 : ch->subscribers.size();
}

std::size_t Registry::user_count(std::string_view app_id, std::string_view channel) const {
  const Channel* ch = find_channel(app_id, channel);
  return ch == nullptr ? 0 : ch->members.size();
}

bool Registry::has_member(std::string_view app_id, std::string_view channel,
                          std::string_view user_id) const {
  const Channel* ch = find_channel(app_id, channel);
  return ch != nullptr && ch->members.contains(user_id);
}

std::vector<MemberView> Registry::members(std::string_view app_id, std::string_view channel) const {
  std::vector<MemberView> out;
  if (const Channel* ch = find_channel(app_id, channel)) {
    out.reserve(ch->members.size());
    for (const auto& [user_id, member] : ch->members) {
      out.push_back(MemberView{user_id, member.user_info, member.user_id_numeric});
    }
  }
  return out;
}

std::optional<std::string_view> Registry::member_id(std::string_view app_id,
                                                    std::string_view channel, ConnId conn) const {
  if (const auto m = member_of(app_id, channel, conn)) return m->user_id;
  return std::nullopt;
}

std::optional<MemberView> Registry::member_of(std::string_view app_id, std::string_view channel,
                                              ConnId conn) const {
  const Channel* ch = find_channel(app_id, channel);
  if (ch == nullptr) {
    return std::nullopt;
  }
  const auto it = ch->subscribers.find(conn);
  if (it == ch->subscribers.end() || it->second == nullptr) {
    return std::nullopt;
  }
  const MemberEntry& m = *it->second;
  return MemberView{m.first, m.second.user_info, m.second.user_id_numeric};
}

std::size_t Registry::channel_count_of(std::string_view app_id, ConnId conn) const {
  const AppState* app = find_app(app_id);
  if (app == nullptr) {
    return 0;
  }
  const auto it = app->conns.find(conn);
  return it == app->conns.end() ? 0 : it->second.channels.size();
}

std::vector<std::string> Registry::occupied_channels(std::string_view app_id,
                                                     std::string_view prefix) const {
  std::vector<std::string> out;
  if (const AppState* app = find_app(app_id)) {
    for (const auto& entry : app->channels) {
      if (entry.first.starts_with(prefix)) {
        out.push_back(entry.first);
      }
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<ConnId> Registry::subscribers(std::string_view app_id, std::string_view channel) const {
  std::vector<ConnId> out;
  if (const Channel* ch = find_channel(app_id, channel)) {
    out.reserve(ch->subscribers.size());
    for (const auto& entry : ch->subscribers) {
      out.push_back(entry.first);
    }
  }
  return out;
}

// ================================================================================================
// Cache channels
// ================================================================================================

void Registry::set_cached(std::string_view app_id, std::string_view channel, std::string frame_json,
                          TimePoint expires_at) {
  AppState& app = app_for_write(app_id)->second;
  const auto it = app.cache.find(channel);
  if (it == app.cache.end()) {
    app.cache.emplace(std::string(channel), CachedEvent{std::move(frame_json), expires_at});
  } else {
    it->second = CachedEvent{std::move(frame_json), expires_at};
  }
}

std::optional<CachedEvent> Registry::cached(std::string_view app_id, std::string_view channel,
                                            TimePoint now) const {
  const AppState* app = find_app(app_id);
  if (app == nullptr) {
    return std::nullopt;
  }
  const auto it = app->cache.find(channel);
  if (it == app->cache.end() || !(now < it->second.expires_at)) {
    return std::nullopt;
  }
  return it->second;
}

bool Registry::erase_cached(std::string_view app_id, std::string_view channel) {
  const auto app_it = apps_.find(app_id);
  if (app_it == apps_.end()) {
    return false;
  }
  const auto it = app_it->second.cache.find(channel);
  if (it == app_it->second.cache.end()) {
    return false;
  }
  app_it->second.cache.erase(it);
  erase_app_if_empty(app_it);
  return true;
}

std::size_t Registry::purge_expired(TimePoint now) {
  std::size_t purged = 0;
  for (auto app_it = apps_.begin(); app_it != apps_.end();) {
    purged += std::erase_if(app_it->second.cache,
                            [now](const auto& entry) { return !(now < entry.second.expires_at); });
    app_it = app_it->second.empty() ? apps_.erase(app_it) : std::next(app_it);
  }
  return purged;
}

// ================================================================================================
// Signed-in users and watchlists
// ================================================================================================

SigninResult Registry::sign_in(std::string_view app_id, ConnId conn_id, std::string_view user_id,
                               std::vector<std::string> watchlist) {
  std::sort(watchlist.begin(), watchlist.end());
  watchlist.erase(std::unique(watchlist.begin(), watchlist.end()), watchlist.end());

  SigninResult result;
  AppState& app = app_for_write(app_id)->second;
  Conn& conn = app.conns[conn_id];

  if (conn.user != nullptr && conn.user->id == user_id) {
    // Same user again: replace the watchlist only; the user was online already.
    remove_watchlist(app, *conn.user, conn.watchlist);
    conn.watchlist = std::move(watchlist);
    add_watchlist(app, *conn.user, conn.watchlist);
    return result;
  }
  if (conn.user != nullptr) {
    // A different user: the old identity goes first (protocol §7.1, "replaces").
    SignoutResult old = detach_user(app, conn_id, conn);
    result.previous_user = std::move(old.user_id);
    result.previous_went_offline = old.went_offline;
  }

  auto user_it = app.users.find(user_id);
  if (user_it == app.users.end()) {
    user_it = app.users.emplace(std::string(user_id), User{}).first;
    user_it->second.id = user_it->first;
  }
  User& user = user_it->second;
  result.came_online = user.conns.empty();
  user.conns.insert(conn_id);
  conn.user = &user;
  conn.watchlist = std::move(watchlist);
  add_watchlist(app, user, conn.watchlist);
  return result;
}

SignoutResult Registry::sign_out(std::string_view app_id, ConnId conn_id) {
  const auto app_it = apps_.find(app_id);
  if (app_it == apps_.end()) {
    return {};
  }
  AppState& app = app_it->second;
  const auto conn_it = app.conns.find(conn_id);
  if (conn_it == app.conns.end() || conn_it->second.user == nullptr) {
    return {};
  }
  SignoutResult result = detach_user(app, conn_id, conn_it->second);
  if (conn_it->second.channels.empty()) {
    app.conns.erase(conn_it);
  }
  erase_app_if_empty(app_it);
  return result;
}

std::optional<std::string_view> Registry::user_of(std::string_view app_id, ConnId conn) const {
  const AppState* app = find_app(app_id);
  if (app == nullptr) {
    return std::nullopt;
  }
  const auto it = app->conns.find(conn);
  if (it == app->conns.end() || it->second.user == nullptr) {
    return std::nullopt;
  }
  return it->second.user->id;
}

std::vector<ConnId> Registry::user_connections(std::string_view app_id,
                                               std::string_view user_id) const {
  std::vector<ConnId> out;
  if (const AppState* app = find_app(app_id)) {
    const auto it = app->users.find(user_id);
    if (it != app->users.end()) {
      out.assign(it->second.conns.begin(), it->second.conns.end());
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

bool Registry::is_online(std::string_view app_id, std::string_view user_id) const {
  const AppState* app = find_app(app_id);
  return app != nullptr && app->users.contains(user_id);
}

std::vector<ConnId> Registry::watcher_connections(std::string_view app_id,
                                                  std::string_view watched_user_id) const {
  std::vector<ConnId> out;
  if (const AppState* app = find_app(app_id)) {
    const auto it = app->watchers.find(watched_user_id);
    if (it != app->watchers.end()) {
      for (const User* watcher : it->second) {
        out.insert(out.end(), watcher->conns.begin(), watcher->conns.end());
      }
    }
  }
  // A connection has one user, so there are no duplicates to remove.
  std::sort(out.begin(), out.end());
  return out;
}

// ================================================================================================
// Introspection
// ================================================================================================

AppStats Registry::stats(std::string_view app_id) const {
  AppStats s;
  const AppState* app = find_app(app_id);
  if (app == nullptr) {
    return s;
  }
  s.channels = app->channels.size();
  s.connections = app->conns.size();
  for (const auto& entry : app->channels) {
    s.subscriptions += entry.second.subscribers.size();
    s.presence_members += entry.second.members.size();
  }
  s.signed_in_users = app->users.size();
  for (const auto& entry : app->users) {
    s.signed_in_connections += entry.second.conns.size();
  }
  s.cached_events = app->cache.size();
  return s;
}

std::string Registry::check_invariants() const {
  for (const auto& [app_id, app] : apps_) {
    if (app.empty()) {
      return "app " + app_id + ": empty app state kept";
    }
    std::string problem = check_app(app_id, app);
    if (!problem.empty()) {
      return problem;
    }
  }
  return {};
}

std::string Registry::check_app(std::string_view app_id, const AppState& app) {
  const std::string where = "app " + std::string(app_id) + ": ";

  // Channel -> connections, and presence member counts.
  for (const auto& [name, channel] : app.channels) {
    const std::string ch = where + "channel " + name + ": ";
    if (channel.name != name || channel.name.data() != name.data()) {
      return ch + "name view does not point at its key";
    }
    if (channel.subscribers.empty()) {
      return ch + "empty channel kept";
    }
    std::unordered_map<const MemberEntry*, std::size_t> refs;
    for (const auto& [conn, member] : channel.subscribers) {
      const auto conn_it = app.conns.find(conn);
      if (conn_it == app.conns.end() ||
          std::find(conn_it->second.channels.begin(), conn_it->second.channels.end(), &channel) ==
              conn_it->second.channels.end()) {
        return ch + "subscriber " + std::to_string(conn) + " lacks the channel in its index";
      }
      if (member != nullptr) {
        const auto m_it = channel.members.find(member->first);
        if (m_it == channel.members.end() || &*m_it != member) {
          return ch + "subscriber " + std::to_string(conn) + " points at a foreign member";
        }
        ++refs[member];
      }
    }
    if (refs.size() != channel.members.size()) {
      return ch + "member without a subscriber";
    }
    for (const auto& [member, count] : refs) {
      if (member->second.connections != count) {
        return ch + "member " + member->first + " count " +
               std::to_string(member->second.connections) + " != " + std::to_string(count);
      }
    }
  }

  // Connection -> channels and sign-in.
  for (const auto& [conn_id, conn] : app.conns) {
    const std::string cn = where + "conn " + std::to_string(conn_id) + ": ";
    if (conn.channels.empty() && conn.user == nullptr) {
      return cn + "unused connection kept";
    }
    for (const Channel* channel : conn.channels) {
      const auto ch_it = app.channels.find(channel->name);
      if (ch_it == app.channels.end() || &ch_it->second != channel) {
        return cn + "points at a channel that is not in the channel index";
      }
      if (!channel->subscribers.contains(conn_id)) {
        return cn + "channel " + ch_it->first + " lacks the connection";
      }
    }
    if (conn.user == nullptr) {
      if (!conn.watchlist.empty()) {
        return cn + "watchlist without a sign-in";
      }
      continue;
    }
    const auto user_it = app.users.find(conn.user->id);
    if (user_it == app.users.end() || &user_it->second != conn.user ||
        !conn.user->conns.contains(conn_id)) {
      return cn + "signed-in user does not list the connection";
    }
    if (!std::is_sorted(conn.watchlist.begin(), conn.watchlist.end()) ||
        std::adjacent_find(conn.watchlist.begin(), conn.watchlist.end()) != conn.watchlist.end()) {
      return cn + "watchlist not deduplicated";
    }
  }

  // User -> connections, and watchlist counts against the watcher index.
  for (const auto& [user_id, user] : app.users) {
    const std::string us = where + "user " + user_id + ": ";
    if (user.id.data() != user_id.data()) {
      return us + "id view does not point at its key";
    }
    if (user.conns.empty()) {
      return us + "offline user kept";
    }
    detail::StringMap<std::size_t> expected;
    for (const ConnId conn_id : user.conns) {
      const auto conn_it = app.conns.find(conn_id);
      if (conn_it == app.conns.end() || conn_it->second.user != &user) {
        return us + "connection " + std::to_string(conn_id) + " is not signed in as this user";
      }
      for (const std::string& watched : conn_it->second.watchlist) {
        ++expected[watched];
      }
    }
    if (expected != user.watching) {
      return us + "watch counts do not match the connections' watchlists";
    }
    for (const auto& entry : user.watching) {
      const auto w_it = app.watchers.find(entry.first);
      if (w_it == app.watchers.end() || !w_it->second.contains(const_cast<User*>(&user))) {
        return us + "watches " + entry.first + " but is not in its watcher set";
      }
    }
  }
  for (const auto& [watched, users] : app.watchers) {
    if (users.empty()) {
      return where + "empty watcher set for " + watched;
    }
    for (const User* user : users) {
      const auto user_it = app.users.find(user->id);
      if (user_it == app.users.end() || &user_it->second != user ||
          !user->watching.contains(watched)) {
        return where + "stale watcher of " + watched;
      }
    }
  }
  return {};
}

}  // namespace channels
