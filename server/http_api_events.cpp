// The HTTP API's publishing routes: POST /apps/{id}/events and /batch_events (protocol.md §9).
#include <simdjson.h>

#include <memory>
#include <span>

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

using Claim = IdempotencyCache::Claim;
/// One claim per key, nullopt where the cluster could not answer.
using ClaimsCallback = std::function<void(std::vector<std::optional<Claim>>)>;

/// Claims idempotency keys of the app through the adapter (this node's cache, or the
/// cluster's, docs/CLUSTER.md); `done` runs on the worker's thread.
void claim_keys(Worker& worker, std::size_t app_index, const std::vector<std::string>& keys,
                ClaimsCallback done) {
  Hub& hub = worker.hub();
  for (std::size_t i = 0; i < keys.size(); ++i) {
    hub.v2_counters().add(V2Counters::Kind::idem_publish, app_index);
  }
  using G = Gather<std::optional<Claim>>;
  auto g = std::make_shared<G>(
      worker, keys.size(), keys.size(),
      [&hub, app_index, done = std::move(done)](std::vector<std::optional<Claim>> claims) {
        for (const auto& c : claims) {
          if (c && c->state != Claim::State::fresh) {
            hub.v2_counters().add(V2Counters::Kind::idem_duplicate, app_index);
          }
        }
        done(std::move(claims));
      });
  for (std::size_t i = 0; i < keys.size(); ++i) {
    hub.adapter().claim_key(app_index, keys[i], [g, i](std::optional<Claim> c) {
      g->results[i] = std::move(c);
      G::arrive(g);
    });
  }
  G::arrive(g);
}

/// Sockudo's idempotency for a publish: the key (the body's `idempotency_key` when `body_key`
/// is given, else the `X-Idempotency-Key` header) is claimed before publishing; `go` publishes
/// and answers through the responder it is given, which keeps a 200 answer for the retries. A
/// retry gets the first answer, a retry while the first is unanswered 503 + Retry-After; `go`
/// is not called then. Without a key (or idempotency off) `go` runs at once.
template <class Go>
void with_idempotency(Worker& worker, AppRuntime& app, const Request& req,
                      const std::string* body_key, Responder respond, Go&& go) {
  Hub& hub = worker.hub();
  std::optional<std::string> key;
  if (hub.idempotency() != nullptr) {
    if (body_key != nullptr) {
      key = *body_key;
    } else if (auto h = req.find("X-Idempotency-Key"); h != req.end()) {
      key = std::string(h->value());
    }
  }
  if (!key) {
    go(std::move(respond));
    return;
  }
  if (auto bad = check_idempotency_key(hub, *key)) {  // the header (body keys: parse_event)
    respond(from_error(req, *bad));
    return;
  }
  const std::size_t app_index = app.index;
  claim_keys(worker, app_index, {*key},
             [&hub, app_index, to = ReplyTo(req), k = *key, respond = std::move(respond),
              go = std::forward<Go>(go)](std::vector<std::optional<Claim>> claims) mutable {
               std::optional<Claim>& claim = claims.front();
               if (!claim) {
                 respond(from_error(to, ApiError::cluster_unavailable));
                 return;
               }
               switch (claim->state) {
                 case Claim::State::answered:
                   respond(json_ok(to, std::move(claim->body)));
                   return;
                 case Claim::State::in_progress:
                   respond(from_error(to, ApiError::idempotency_in_progress));
                   return;
                 case Claim::State::fresh:
                   break;
               }
               go([&hub, app_index, k, inner = std::move(respond)](Response res) {
                 if (res.result() == http::status::ok) {
                   hub.adapter().complete_key(app_index, k, res.body());
                 } else {
                   hub.adapter().release_key(app_index, k);  // refused: a retry may publish
                 }
                 inner(std::move(res));
               });
             });
}

/// A PublishDone that continues on the worker's thread: `next(answer)` when the publish entered
/// the cluster, else 503 cluster_unavailable + Retry-After (nothing was delivered).
PublishDone when_published(Worker& worker, ReplyTo to, Responder answer,
                           std::function<void(Responder)> next) {
  auto state = std::make_shared<std::pair<Responder, std::function<void(Responder)>>>(
      std::move(answer), std::move(next));
  return [&worker, to, state](bool published) {
    on_worker(worker, [to, state, published] {
      if (!published) {
        state->first(from_error(to, ApiError::cluster_unavailable));
        return;
      }
      state->second(std::move(state->first));
    });
  };
}

/// Publishes `requests` and continues with `next(answer)`: at once when the adapter delivers
/// inline (no cluster numbering: nothing allocated for the wait), else once the cluster numbered
/// all of them (503 when it could not).
template <class Next>
void publish_then(Worker& worker, std::span<const PublishRequest* const> requests, ReplyTo to,
                  Responder answer, Next&& next) {
  Adapter& adapter = worker.hub().adapter();
  if (!adapter.sequences()) {
    for (const PublishRequest* r : requests) adapter.publish(*r, &worker, nullptr);
    next(std::move(answer));
    return;
  }
  PublishDone each = gather_results(
      requests.size(), when_published(worker, to, std::move(answer), std::forward<Next>(next)));
  for (const PublishRequest* r : requests) adapter.publish(*r, &worker, each);
}

/// The answer of a published /events request: {"ok":true}, or the channels' info.
void answer_event(Worker& worker, AppRuntime& app, const std::shared_ptr<EventItem>& shared,
                  ReplyTo to, Responder answer) {
  if (shared->info_raw.empty()) {
    answer(json_ok(to, "{\"ok\":true}"));
    return;
  }
  shared->info = split_info(shared->info_raw);
  std::vector<std::optional<std::string>> asked;
  for (const auto& ch : shared->request.channels) {
    asked.push_back(wants_counts(ch, shared->info) ? std::optional<std::string>(ch) : std::nullopt);
  }
  query_counts(worker, app.index, std::move(asked),
               [shared, to, answer = std::move(answer)](std::vector<ChannelCounts> counts) {
                 std::string body = "{\"channels\":{";
                 for (std::size_t i = 0; i < shared->request.channels.size(); ++i) {
                   const std::string& ch = shared->request.channels[i];
                   if (i > 0) body.push_back(',');
                   protocol::append_json_string(body, ch);
                   body.push_back(':');
                   append_channel_info(body, ch, shared->info, counts[i]);
                 }
                 body.append("}}");
                 answer(json_ok(to, std::move(body)));
               });
}

/// The `info` answer of a batch (an item's info is about its first channel).
void answer_batch_info(Worker& worker, AppRuntime& app,
                       const std::shared_ptr<std::vector<EventItem>>& items, ReplyTo to,
                       Responder respond) {
  // `info` views `info_raw` of the same item: the vector does not move any more.
  std::vector<std::optional<std::string>> asked;
  for (auto& item : *items) {
    item.info = split_info(item.info_raw);
    const std::string& ch = item.request.channels.front();
    asked.push_back(!item.info_raw.empty() && wants_counts(ch, item.info)
                        ? std::optional<std::string>(ch)
                        : std::nullopt);
  }
  query_counts(worker, app.index, std::move(asked),
               [items, to, respond = std::move(respond)](std::vector<ChannelCounts> counts) {
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

/// The items of a batch that passed its own key: rate, per-item keys, publish, answer.
void publish_batch(Worker& worker, AppRuntime& app, std::shared_ptr<std::vector<EventItem>> items,
                   ReplyTo to, Responder respond) {
  // A batch counts each of its events, all or nothing.
  if (auto limited =
          take_rate(worker, app, app.backend_events, app.app->limits.max_backend_events_per_second,
                    items->size(), AbuseKind::api_events_rate, to)) {
    respond(std::move(*limited));
    return;
  }
  // An item's own key (Sockudo): a retried item is skipped; its `batch` slot stays `{}`.
  std::vector<std::string> keys;
  std::vector<std::size_t> keyed;
  if (worker.hub().idempotency() != nullptr) {
    for (std::size_t i = 0; i < items->size(); ++i) {
      if ((*items)[i].idempotency_key) {
        keys.push_back(*(*items)[i].idempotency_key);
        keyed.push_back(i);
      }
    }
  }
  auto publish = [&worker, &app, items, to, keys, keyed,
                  respond = std::move(respond)](std::vector<std::optional<Claim>> claims) mutable {
    Hub& hub = worker.hub();
    std::vector<bool> skip(items->size(), false);
    for (std::size_t k = 0; k < keyed.size(); ++k) {
      // A cluster that cannot answer: published (at least once beats never).
      if (claims[k] && claims[k]->state != Claim::State::fresh) {
        skip[keyed[k]] = true;
      } else {
        hub.adapter().complete_key(app.index, keys[k], "{\"ok\":true}");
      }
    }
    bool any_info = false;
    std::vector<const PublishRequest*> requests;
    for (std::size_t i = 0; i < items->size(); ++i) {
      if (skip[i]) {
        (*items)[i].info_raw.clear();
      } else {
        requests.push_back(&(*items)[i].request);
        any_info = any_info || !(*items)[i].info_raw.empty();
      }
    }
    publish_then(worker, requests, to, std::move(respond),
                 [&worker, &app, items, to, any_info](Responder r) {
                   if (!any_info) {
                     r(json_ok(to, "{}"));
                     return;
                   }
                   answer_batch_info(worker, app, items, to, std::move(r));
                 });
  };
  if (keys.empty()) {
    publish({});
  } else {
    claim_keys(worker, app.index, keys, std::move(publish));
  }
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
  // Kept until the answer (a cluster answers later); `info` views its own `info_raw`, so it is
  // split in place when needed.
  auto shared = std::make_shared<EventItem>(std::move(item));
  const std::string* body_key = shared->idempotency_key ? &*shared->idempotency_key : nullptr;
  with_idempotency(worker, app, req, body_key, std::move(respond),
                   [&worker, &app, shared, to = ReplyTo(req)](Responder answer) {
                     if (auto limited = take_rate(worker, app, app.backend_events,
                                                  app.app->limits.max_backend_events_per_second, 1,
                                                  AbuseKind::api_events_rate, to)) {
                       answer(std::move(*limited));
                       return;
                     }
                     const PublishRequest* request = &shared->request;
                     publish_then(worker, {&request, 1}, to, std::move(answer),
                                  [&worker, &app, shared, to](Responder r) {
                                    answer_event(worker, app, shared, to, std::move(r));
                                  });
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
  with_idempotency(worker, app, req, nullptr, std::move(respond),
                   [&worker, &app, items, to = ReplyTo(req)](Responder answer) {
                     publish_batch(worker, app, items, to, std::move(answer));
                   });
}

}  // namespace server::http_api::detail
