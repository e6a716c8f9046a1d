// The HTTP API's channel routes: GET channels, a channel, its users (answered when the adapter
// answers: inline with the local adapter, from Redis in a cluster), and terminate_connections.
#include <atomic>
#include <chrono>
#include <memory>

#include "protocol/channel.hpp"
#include "protocol/json.hpp"
#include "server/http_api_routes.hpp"
#include "server/hub.hpp"

namespace server::http_api::detail {

void query_counts(Worker& worker, std::size_t app_index,
                  std::vector<std::optional<std::string>> names,
                  std::function<void(std::vector<ChannelCounts>)> done) {
  std::size_t asked = 0;
  for (const auto& n : names) asked += n.has_value() ? 1 : 0;
  using G = Gather<ChannelCounts>;
  auto g = std::make_shared<G>(worker, names.size(), asked, std::move(done));
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (!names[i]) continue;
    worker.hub().adapter().query_channel(app_index, *names[i], [g, i](ChannelCounts c) {
      g->results[i] = c;
      G::arrive(g);
    });
  }
  G::arrive(g);
}

// The adapter answers on its own thread (cluster) or inline (local); the response is built on
// the worker's thread in either case.

void get_channels(Worker& worker, AppRuntime& app, const Request& req,
                  const auth::QueryParams& params, Responder respond) {
  Hub& hub = worker.hub();
  const std::string* prefix_p = params.get("filter_by_prefix");
  std::string prefix = prefix_p ? *prefix_p : std::string();
  const std::string* info_p = params.get("info");
  const auto info = split_info(info_p ? std::string_view(*info_p) : std::string_view{});
  const bool want_users = has_token(info, "user_count");
  const bool want_subs = has_token(info, "subscription_count");
  const bool presence_prefix = prefix.rfind("presence-", 0) == 0;
  auto answer = [want_users, want_subs, presence_prefix, to = ReplyTo(req),
                 respond = std::move(respond)](const std::vector<Adapter::ChannelInfo>& channels) {
    if (want_users && !presence_prefix) {
      for (const auto& c : channels) {
        if (!protocol::classify_channel(c.name).is_presence) {
          respond(from_error(to, ApiError::user_count_needs_presence_prefix));
          return;
        }
      }
    }
    std::string body = "{\"channels\":{";
    bool first = true;
    for (const auto& c : channels) {
      if (!first) body.push_back(',');
      first = false;
      protocol::append_json_string(body, c.name);
      body.append(":{");
      bool f2 = true;
      if (want_users && protocol::classify_channel(c.name).is_presence) {
        body.append("\"user_count\":").append(std::to_string(c.user_count));
        f2 = false;
      }
      if (want_subs) {
        if (!f2) body.push_back(',');
        body.append("\"subscription_count\":").append(std::to_string(c.subscription_count));
      }
      body.push_back('}');
    }
    body.append("}}");
    respond(json_ok(to, std::move(body)));
  };
  hub.adapter().query_channels(
      app.index, prefix,
      [w = &worker, answer = std::move(answer)](std::vector<Adapter::ChannelInfo> channels) {
        on_worker(*w, [answer, channels = std::move(channels)] { answer(channels); });
      });
}

void get_channel(Worker& worker, AppRuntime& app, const Request& req,
                 const auth::QueryParams& params, const std::string& channel, Responder respond) {
  if (auto err =
          protocol::validate_channel_name(channel, app.app->limits.max_channel_name_length)) {
    respond(from_error(req, Refusal(ApiError::invalid_channel_name, *err)));
    return;
  }
  const std::string* info_p = params.get("info");
  const auto info = split_info(info_p ? std::string_view(*info_p) : std::string_view{});
  const auto kind = protocol::classify_channel(channel);
  const bool want_users = has_token(info, "user_count");
  const bool want_subs = has_token(info, "subscription_count");
  const bool want_cache = has_token(info, "cache") && kind.is_cache;
  if (want_users && !kind.is_presence) {
    respond(from_error(req, ApiError::user_count_needs_presence));
    return;
  }
  query_counts(
      worker, app.index, {channel},
      [w = &worker, a = &app, channel, want_users, want_subs, want_cache, to = ReplyTo(req),
       respond = std::move(respond)](std::vector<ChannelCounts> counts) {
        const ChannelCounts& c = counts.front();
        std::string body = "{\"occupied\":";
        body.append(c.subscription_count > 0 ? "true" : "false");
        if (want_subs) {
          body.append(",\"subscription_count\":").append(std::to_string(c.subscription_count));
        }
        if (want_users) body.append(",\"user_count\":").append(std::to_string(c.user_count));
        if (want_cache) {
          Hub& hub = w->hub();
          std::lock_guard lock(hub.state_mutex());
          const auto now = std::chrono::steady_clock::now();
          if (auto cached = hub.registry().cached(a->app->id, channel, now)) {
            const auto ttl =
                std::chrono::duration_cast<std::chrono::seconds>(cached->expires_at - now).count();
            body.append(",\"cache\":{\"data\":");
            protocol::append_json_string(body, cached->frame_json);
            body.append(",\"ttl\":").append(std::to_string(ttl)).append("}");
          }
        }
        body.push_back('}');
        respond(json_ok(to, std::move(body)));
      });
}

void get_users(Worker& worker, AppRuntime& app, const Request& req, const std::string& channel,
               Responder respond) {
  if (auto err =
          protocol::validate_channel_name(channel, app.app->limits.max_channel_name_length)) {
    respond(from_error(req, Refusal(ApiError::invalid_channel_name, *err)));
    return;
  }
  if (!protocol::classify_channel(channel).is_presence) {
    respond(from_error(req, ApiError::users_need_presence));
    return;
  }
  auto answer = [to = ReplyTo(req),
                 respond = std::move(respond)](const std::vector<PresenceUserId>& ids) {
    std::string body = "{\"users\":[";
    bool first = true;
    for (const auto& user : ids) {
      if (!first) body.push_back(',');
      first = false;
      body.append("{\"id\":");
      protocol::append_user_id(body, user.id, user.numeric);  // as signed (protocol §5.1)
      body.push_back('}');
    }
    body.append("]}");
    respond(json_ok(to, std::move(body)));
  };
  worker.hub().adapter().query_users(
      app.index, channel,
      [w = &worker, answer = std::move(answer)](std::vector<PresenceUserId> ids) {
        on_worker(*w, [answer, ids = std::move(ids)] { answer(ids); });
      });
}

Response post_terminate(Worker& worker, AppRuntime& app, const Request& req,
                        const std::string& user_id, WsError why) {
  Hub& hub = worker.hub();
  std::vector<channels::ConnId> conns;
  {
    std::lock_guard lock(hub.state_mutex());
    conns = hub.registry().user_connections(app.app->id, user_id);
  }
  hub.close_connections(conns, why);
  hub.adapter().terminate_user(app.index, user_id, why);  // the other nodes' connections
  return json_ok(req, "{\"ok\":true}");
}

}  // namespace server::http_api::detail
