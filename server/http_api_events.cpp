// The HTTP API's publishing routes: POST /apps/{id}/events and /batch_events (protocol.md §9).
#include <simdjson.h>

#include <memory>

#include "protocol/channel.hpp"
#include "protocol/json.hpp"
#include "protocol/socket_id.hpp"
#include "server/http_api_routes.hpp"
#include "server/http_response.hpp"
#include "server/hub.hpp"

namespace server::http_api::detail {

namespace {

/// One validated event of /events or /batch_events, ready to publish.
struct EventItem {
  PublishRequest request;
  std::optional<std::string> idempotency_key;  ///< the item's `idempotency_key`, if a string
  std::vector<std::string_view> info;
  std::string info_raw;
};

/// Sockudo's rules for an idempotency key: not empty, at most idempotency.max_key_length.
std::optional<Refusal> check_idempotency_key(Hub& hub, std::string_view key) {
  if (key.empty()) return ApiError::idempotency_key_empty;
  const std::uint64_t max = hub.config().v2.idempotency_max_key_length;
  if (key.size() > max) return Refusal(ApiError::idempotency_key_too_long, std::to_string(max));
  return std::nullopt;
}

std::optional<Refusal> parse_event(Hub& hub, AppRuntime& app, simdjson::dom::element obj,
                                   EventItem& out) {
  const AppLimits& lim = app.app->limits;
  if (!obj.is_object()) return ApiError::event_not_object;
  std::string_view name;
  if (obj["name"].get(name) != simdjson::SUCCESS) {
    return ApiError::event_name_missing;
  }
  if (name.size() > lim.max_event_name_length) {
    return Refusal(ApiError::event_name_too_long, std::to_string(lim.max_event_name_length));
  }
  out.request.app_index = app.index;
  out.request.event = std::string(name);
  simdjson::dom::element data;
  if (obj["data"].get(data) != simdjson::SUCCESS) {
    out.request.data = "null";
  } else if (data.is_string()) {
    out.request.data = std::string(data.get_string().value());
  } else {
    out.request.data = simdjson::minify(data);
  }
  simdjson::dom::array channels;
  std::string_view channel;
  if (obj["channels"].get(channels) == simdjson::SUCCESS) {
    for (auto c : channels) {
      std::string_view s;
      if (c.get(s) != simdjson::SUCCESS) {
        return ApiError::channel_not_string;
      }
      out.request.channels.emplace_back(s);
    }
  } else if (obj["channel"].get(channel) == simdjson::SUCCESS) {
    out.request.channels.emplace_back(channel);
  }
  if (out.request.channels.empty()) {
    return ApiError::channel_missing;
  }
  if (out.request.channels.size() > lim.max_event_channels_at_once) {
    return Refusal(ApiError::too_many_channels,
                   std::to_string(out.request.channels.size()) + ") exceeds limit (" +
                       std::to_string(lim.max_event_channels_at_once) + ")");
  }
  for (const auto& ch : out.request.channels) {
    if (auto err = protocol::validate_channel_name(ch, lim.max_channel_name_length)) {
      return Refusal(ApiError::invalid_channel_name, *err);
    }
    if (protocol::classify_channel(ch).is_encrypted && out.request.channels.size() > 1) {
      return ApiError::encrypted_multi_channel;
    }
  }
  const auto max_bytes = static_cast<std::uint64_t>(lim.max_event_payload_in_kb * 1024.0);
  if (out.request.data.size() > max_bytes) {
    return Refusal(ApiError::event_data_too_large, std::to_string(out.request.data.size()) +
                                                       " bytes) exceeds limit (" +
                                                       std::to_string(max_bytes) + " bytes)");
  }
  std::string_view socket_id;
  // Only a canonical id can name a socket (protocol::SocketId::parse, the rule every lookup
  // uses); any other text excludes nobody.
  if (obj["socket_id"].get(socket_id) == simdjson::SUCCESS &&
      protocol::SocketId::parse(socket_id).has_value()) {
    out.request.except_socket_id = std::string(socket_id);  // other nodes resolve it themselves
    std::lock_guard lock(hub.state_mutex());
    if (auto conn = hub.conn_of_socket_locked(socket_id)) out.request.except = *conn;
  }
  std::string_view info;
  if (obj["info"].get(info) == simdjson::SUCCESS) {
    out.info_raw = std::string(info);
  }
  std::string_view key;
  if (hub.idempotency() != nullptr && obj["idempotency_key"].get(key) == simdjson::SUCCESS) {
    if (auto bad = check_idempotency_key(hub, key)) return bad;
    out.idempotency_key = std::string(key);
  }
  return std::nullopt;
}

/// Whether an event's info asks for counts of `channel` (what append_channel_info prints).
bool wants_counts(std::string_view channel, const std::vector<std::string_view>& info) {
  return (has_token(info, "user_count") && protocol::classify_channel(channel).is_presence) ||
         has_token(info, "subscription_count");
}

// {"<ch>":{"user_count":N,"subscription_count":N}} entries for an event's info request.
void append_channel_info(std::string& out, std::string_view channel,
                         const std::vector<std::string_view>& info, const ChannelCounts& counts) {
  out.push_back('{');
  bool first = true;
  if (has_token(info, "user_count") && protocol::classify_channel(channel).is_presence) {
    out.append("\"user_count\":").append(std::to_string(counts.user_count));
    first = false;
  }
  if (has_token(info, "subscription_count")) {
    if (!first) out.push_back(',');
    out.append("\"subscription_count\":").append(std::to_string(counts.subscription_count));
  }
  out.push_back('}');
}

simdjson::dom::parser& json_parser() {
  thread_local simdjson::dom::parser parser;
  return parser;
}

/// Sockudo's idempotency for a publish: the key (the body's `idempotency_key` when `body_key`
/// is given, else the `X-Idempotency-Key` header) is claimed before publishing. Returns true when
/// the request is answered here (a retry: the first answer; or a refusal), with `respond`
/// untouched otherwise but wrapped so that the first answer is kept for the retries.
bool idempotent(Hub& hub, AppRuntime& app, const Request& req,
                std::optional<std::string_view> body_key, Responder& respond) {
  IdempotencyCache* cache = hub.idempotency();
  if (cache == nullptr) return false;
  std::optional<std::string> key;
  if (body_key) {
    key = std::string(*body_key);
  } else if (auto h = req.find("X-Idempotency-Key"); h != req.end()) {
    key = std::string(h->value());
  }
  if (!key) return false;
  if (auto bad = check_idempotency_key(hub, *key)) {  // the header (body keys: parse_event)
    respond(from_error(req, *bad));
    return true;
  }
  const std::string& app_id = app.app->id;
  auto claim = cache->claim(app_id, *key);
  hub.v2_counters().add(V2Counters::Kind::idem_publish, app.index);
  switch (claim.state) {
    case IdempotencyCache::Claim::State::answered:
      hub.v2_counters().add(V2Counters::Kind::idem_duplicate, app.index);
      respond(json_ok(req, std::move(claim.body)));
      return true;
    case IdempotencyCache::Claim::State::in_progress: {
      Response res = from_error(req, ApiError::idempotency_in_progress);
      res.set(http::field::retry_after, "1");
      respond(std::move(res));
      return true;
    }
    case IdempotencyCache::Claim::State::fresh:
      break;
  }
  respond = [cache, app_id, k = std::move(*key), inner = std::move(respond)](Response res) {
    if (res.result() == http::status::ok) {
      cache->complete(app_id, k, res.body());
    } else {
      cache->release(app_id, k);  // refused: a retry may still publish
    }
    inner(std::move(res));
  };
  return false;
}

}  // namespace

void post_events(Worker& worker, AppRuntime& app, const Request& req, Responder respond) {
  Hub& hub = worker.hub();
  simdjson::dom::element root;
  if (json_parser().parse(req.body()).get(root) != simdjson::SUCCESS) {
    respond(from_error(req, ApiError::body_not_json));
    return;
  }
  EventItem item;
  if (auto err = parse_event(hub, app, root, item)) {
    respond(from_error(req, *err));
    return;
  }
  if (idempotent(hub, app, req,
                 item.idempotency_key ? std::optional<std::string_view>(*item.idempotency_key)
                                      : std::nullopt,
                 respond)) {
    return;
  }
  if (auto limited =
          take_rate(worker, app, app.backend_events, app.app->limits.max_backend_events_per_second,
                    1, AbuseKind::api_events_rate, req)) {
    respond(std::move(*limited));
    return;
  }
  hub.adapter().publish(item.request, &worker);
  if (item.info_raw.empty()) {
    respond(json_ok(req, "{\"ok\":true}"));
    return;
  }
  // Kept until the answer; `info` views its own `info_raw`, so it is split in place.
  auto shared = std::make_shared<EventItem>(std::move(item));
  shared->info = split_info(shared->info_raw);
  std::vector<std::optional<std::string>> asked;
  for (const auto& ch : shared->request.channels) {
    asked.push_back(wants_counts(ch, shared->info) ? std::optional<std::string>(ch) : std::nullopt);
  }
  query_counts(
      worker, app.index, std::move(asked),
      [shared, to = ReplyTo(req), respond = std::move(respond)](std::vector<ChannelCounts> counts) {
        std::string body = "{\"channels\":{";
        for (std::size_t i = 0; i < shared->request.channels.size(); ++i) {
          const std::string& ch = shared->request.channels[i];
          if (i > 0) body.push_back(',');
          protocol::append_json_string(body, ch);
          body.push_back(':');
          append_channel_info(body, ch, shared->info, counts[i]);
        }
        body.append("}}");
        respond(json_ok(to, std::move(body)));
      });
}

void post_batch_events(Worker& worker, AppRuntime& app, const Request& req, Responder respond) {
  Hub& hub = worker.hub();
  simdjson::dom::element root;
  simdjson::dom::array batch;
  if (json_parser().parse(req.body()).get(root) != simdjson::SUCCESS) {
    respond(from_error(req, ApiError::body_not_json));
    return;
  }
  if (root["batch"].get(batch) != simdjson::SUCCESS) {
    respond(from_error(req, ApiError::batch_missing));
    return;
  }
  const std::size_t n = batch.size();
  const std::uint64_t max = app.app->limits.max_event_batch_size;
  if (n > max) {
    respond(from_error(
        req, Refusal(ApiError::batch_too_large,
                     std::to_string(n) + ") exceeds limit (" + std::to_string(max) + ")")));
    return;
  }
  // Validate every item first, then publish: a bad item fails the request with nothing sent.
  auto items = std::make_shared<std::vector<EventItem>>();
  items->reserve(std::min<std::size_t>(n, max));
  for (auto el : batch) {
    if (auto err = parse_event(hub, app, el, items->emplace_back())) {
      respond(from_error(req, *err));
      return;
    }
  }
  // Sockudo: a batch's own key is the X-Idempotency-Key header.
  if (idempotent(hub, app, req, std::nullopt, respond)) return;
  // A batch counts each of its events, all or nothing.
  if (auto limited =
          take_rate(worker, app, app.backend_events, app.app->limits.max_backend_events_per_second,
                    items->size(), AbuseKind::api_events_rate, req)) {
    respond(std::move(*limited));
    return;
  }
  bool any_info = false;
  IdempotencyCache* keys = hub.idempotency();
  for (auto& item : *items) {
    // An item's own key (Sockudo): a retried item is skipped; its `batch` slot stays `{}`.
    if (keys != nullptr && item.idempotency_key) {
      hub.v2_counters().add(V2Counters::Kind::idem_publish, app.index);
      if (keys->claim(app.app->id, *item.idempotency_key).state !=
          IdempotencyCache::Claim::State::fresh) {
        hub.v2_counters().add(V2Counters::Kind::idem_duplicate, app.index);
        item.info_raw.clear();
        continue;
      }
      keys->complete(app.app->id, *item.idempotency_key, "{\"ok\":true}");
    }
    hub.adapter().publish(item.request, &worker);
    any_info = any_info || !item.info_raw.empty();
  }
  if (!any_info) {
    respond(json_ok(req, "{}"));
    return;
  }
  // An item's info is about its first channel. (`info` views `info_raw` of the same item: the
  // vector does not move any more.)
  std::vector<std::optional<std::string>> asked;
  for (auto& item : *items) {
    item.info = split_info(item.info_raw);
    const std::string& ch = item.request.channels.front();
    asked.push_back(!item.info_raw.empty() && wants_counts(ch, item.info)
                        ? std::optional<std::string>(ch)
                        : std::nullopt);
  }
  query_counts(
      worker, app.index, std::move(asked),
      [items, to = ReplyTo(req), respond = std::move(respond)](std::vector<ChannelCounts> counts) {
        std::string body = "{\"batch\":[";
        for (std::size_t k = 0; k < items->size(); ++k) {
          const EventItem& item = (*items)[k];
          if (k > 0) body.push_back(',');
          if (item.info_raw.empty()) {
            body.append("{}");
          } else {
            append_channel_info(body, item.request.channels.front(), item.info, counts[k]);
          }
        }
        body.append("]}");
        respond(json_ok(to, std::move(body)));
      });
}

}  // namespace server::http_api::detail
