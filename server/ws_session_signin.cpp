// WsSession, part 3: pusher:signin (§7.1) and the watchlist state it starts (§7.4).
#include <algorithm>
#include <span>

#include "auth/signature.hpp"
#include "protocol/client_message.hpp"
#include "protocol/messages.hpp"
#include "server/hub.hpp"
#include "server/worker.hpp"
#include "server/ws_session.hpp"

namespace server {

namespace {

// Sign-in bounds: Pusher documents a 100-entry watchlist; ids longer than a channel name could
// never be addressed through #server-to-user-<id> anyway.
constexpr std::size_t max_watchlist_size = 100;
constexpr std::size_t max_user_id_length = 200 - 16;

/// Each id once, in first-seen order (a repeated id would otherwise repeat in every frame).
void dedupe(std::vector<std::string>& ids) {
  std::vector<std::string> unique;
  for (auto& w : ids) {
    if (std::find(unique.begin(), unique.end(), w) == unique.end()) unique.push_back(std::move(w));
  }
  ids.swap(unique);
}

std::string watchlist_frame(const std::vector<std::string>& online,
                            const std::vector<std::string>& offline) {
  return protocol::watchlist_events(std::span<const std::string>(online),
                                    std::span<const std::string>(offline));
}

}  // namespace

void WsSession::handle_signin(std::string_view data_raw) {
  const App& app = *app_->app;
  auto sd = protocol::parse_signin_data(data_raw);
  if (!sd) {
    send_error(sd.code, sd.message);
    return;
  }
  if (!app.enable_user_authentication) {
    send_error(WsError::signin_disabled);
    return;
  }
  auto ud = protocol::parse_user_data(sd.value->user_data);
  if (!ud) {
    send_error(ud.code, ud.message);
    return;
  }
  if (!auth::verify_user_auth(app.key, app.secret, socket_id(), sd.value->user_data,
                              sd.value->auth)) {
    log_denied(AuthFailure::signin_invalid, "", "invalid signin signature");
    send_error(WsError::signin_invalid);
    return;
  }
  const std::string& uid = ud.value->id;
  if (uid.size() > max_user_id_length) {
    send_error(WsError::user_id_too_long, std::to_string(max_user_id_length));
    return;
  }
  std::vector<std::string>& watchlist = ud.value->watchlist;
  dedupe(watchlist);
  if (watchlist.size() > max_watchlist_size) {
    send_error(WsError::watchlist_too_long);
    return;
  }
  const bool watch = app.enable_watchlist_events;
  // A clustered adapter answers "online anywhere" later: the state follows in watchlist_ready().
  auto done = [wk = &worker_, id = id_, uid, ids = watchlist](std::optional<std::vector<bool>> on) {
    net::post(wk->ioc(), [wk, id, uid, ids, on = std::move(on)] {
      if (WsSession* s = wk->find_session(id)) s->watchlist_ready(uid, ids, on);
    });
  };
  bool pending = false;
  std::vector<std::string> online, offline;
  {
    std::lock_guard lock(hub_.state_mutex());
    auto& reg = hub_.registry();
    Adapter& adapter = hub_.adapter();
    const auto res = reg.sign_in(app.id, id_, uid, watch ? watchlist : std::vector<std::string>{});
    if (watch) {
      if (res.previous_user && res.previous_went_offline) {
        adapter.user_online_changed(app_->index, *res.previous_user, false);
      }
      if (res.came_online) adapter.user_online_changed(app_->index, uid, true);
      if (!watchlist.empty()) pending = adapter.users_online(app_->index, watchlist, done);
      if (!pending) {
        for (const auto& w : watchlist) (reg.is_online(app.id, w) ? online : offline).push_back(w);
      }
    }
  }
  user_id_ = std::make_unique<std::string>(uid);
  authorized_ = true;
  send_json(protocol::signin_success(sd.value->user_data));
  if (watch && !watchlist.empty() && !pending) send_json(watchlist_frame(online, offline));
}

void WsSession::watchlist_ready(const std::string& user_id, const std::vector<std::string>& ids,
                                const std::optional<std::vector<bool>>& online_flags) {
  if (!is_open() || this->user_id() != user_id) return;  // gone, or signed in again since
  std::vector<std::string> online, offline;
  if (online_flags) {
    for (std::size_t i = 0; i < ids.size(); ++i) {
      ((*online_flags)[i] ? online : offline).push_back(ids[i]);
    }
  } else {
    std::lock_guard lock(hub_.state_mutex());
    for (const auto& w : ids) {
      (hub_.registry().is_online(app_->app->id, w) ? online : offline).push_back(w);
    }
  }
  send_json(watchlist_frame(online, offline));
}

}  // namespace server
