// The per-app part of the config loader: `app_manager` and each app object (id, key, secret,
// enabled, limits, features, allowed origins, webhooks, in `policy.*` or Sockudo's flat keys),
// and how an app's settings are resolved against the server-wide defaults.

#include <algorithm>
#include <utility>

#include "server/config_detail.hpp"
#include "server/errors.hpp"

namespace server::config_detail {
namespace {

// Sockudo app options this server does not implement (flat app keys, `policy` sections,
// `policy.channels` keys): accepted and named in the one "not supported" warning.
constexpr std::string_view unsupported_app_keys[] = {
    "annotations_enabled", "channel_delta_compression", "channel_namespaces",
    "connection_recovery", "enable_delta_compression",  "idempotency"};
constexpr std::string_view unsupported_policy_keys[] = {"connection_recovery", "history",
                                                        "idempotency", "presence_history"};
constexpr std::string_view unsupported_channels_keys[] = {
    "annotations_enabled", "channel_delta_compression", "channel_namespaces"};

// Sockudo's `message_rate_limit`: a number (messages per second) or the object
// {enabled, max_attempts, decay_seconds, terminate_on_limit} with Sockudo's defaults (enabled
// false, 60 attempts, 60 s, no termination). Disabled, or max_attempts 0, means no limit.
void read_message_rate_limit(FieldWalker& walker, dom::element value, std::string_view path,
                             LimitsIn& out) {
  if (value.type() != dom::element_type::OBJECT) {
    if (value.type() == dom::element_type::ARRAY || value.type() == dom::element_type::BOOL) {
      fail_value(path,
                 "a number or an object {enabled, max_attempts, decay_seconds, "
                 "terminate_on_limit}",
                 show(value));
    }
    out.message_rate_limit = to_uint(value, path);
    out.message_rate_window_seconds = 1;
    out.message_rate_terminate = false;
    return;
  }
  bool enabled = false;
  std::uint64_t max_attempts = 60;
  std::uint64_t decay_seconds = 60;
  bool terminate = false;
  walker.for_each_field(value, path, [&](std::string_view k, dom::element v, const std::string& p) {
    if (k == "enabled") {
      enabled = to_bool(v, p);
    } else if (k == "max_attempts") {
      max_attempts = to_uint(v, p, 0, 0xffffffffu);
    } else if (k == "decay_seconds") {
      decay_seconds = to_uint(v, p, 1, 1'000'000'000);
    } else if (k == "terminate_on_limit") {
      terminate = to_bool(v, p);
    } else {
      return false;
    }
    return true;
  });
  out.message_rate_limit = enabled ? max_attempts : 0;
  out.message_rate_window_seconds = decay_seconds;
  out.message_rate_terminate = terminate;
}

// The close code for an app over max_connections: Sockudo's 4004 (pusher-js stops) or Soketi's
// 4100 (pusher-js backs off and retries).
int to_quota_close_code(dom::element value, std::string_view path) {
  constexpr std::uint64_t over_quota = code_of(WsError::app_over_quota);
  constexpr std::uint64_t over_capacity = code_of(WsError::over_capacity);
  const std::uint64_t code = to_uint(value, path);
  if (code != over_quota && code != over_capacity) {
    fail_value(path, std::to_string(over_quota) + " or " + std::to_string(over_capacity),
               show(value));
  }
  return static_cast<int>(code);
}

// Reads one per-app limit key (shared by `policy.limits` and the flat app keys). Returns false
// for a key that is not a limit.
bool read_limit(FieldWalker& walker, std::string_view key, dom::element value,
                std::string_view path, LimitsIn& out) {
  const auto whole_limit = [&](std::optional<std::uint64_t>& field) {
    field = to_uint(value, path);
  };
  if (key == "max_connections") {
    whole_limit(out.max_connections);
  } else if (key == "max_client_events_per_second") {
    whole_limit(out.max_client_events_per_second);
  } else if (key == "client_event_decay_seconds" || key == "decay_seconds") {
    out.client_event_decay_seconds = to_uint(value, path, 1);
  } else if (key == "max_presence_members_per_channel") {
    whole_limit(out.max_presence_members_per_channel);
  } else if (key == "max_presence_member_size_in_kb") {
    out.max_presence_member_size_in_kb = to_number(value, path);
  } else if (key == "max_channel_name_length") {
    whole_limit(out.max_channel_name_length);
  } else if (key == "max_event_name_length") {
    whole_limit(out.max_event_name_length);
  } else if (key == "max_event_payload_in_kb") {
    out.max_event_payload_in_kb = to_number(value, path);
  } else if (key == "max_event_channels_at_once") {
    whole_limit(out.max_event_channels_at_once);
  } else if (key == "max_event_batch_size") {
    whole_limit(out.max_event_batch_size);
  } else if (key == "max_channels_per_connection") {
    whole_limit(out.max_channels_per_connection);
  } else if (key == "quota_close_code") {
    out.quota_close_code = to_quota_close_code(value, path);
  } else if (key == "max_backend_events_per_second") {
    whole_limit(out.max_backend_events_per_second);
  } else if (key == "max_read_requests_per_second") {
    whole_limit(out.max_read_requests_per_second);
  } else if (key == "message_rate_limit") {
    read_message_rate_limit(walker, value, path, out);
  } else if (key == "terminate_on_limit") {
    out.terminate_on_client_event_limit = to_bool(value, path);
  } else {
    return false;
  }
  return true;
}

bool read_feature(std::string_view key, dom::element value, std::string_view path,
                  FeaturesIn& out) {
  if (key == "enable_client_messages") {
    out.enable_client_messages = to_bool(value, path);
  } else if (key == "enable_user_authentication") {
    out.enable_user_authentication = to_bool(value, path);
  } else if (key == "enable_watchlist_events") {
    out.enable_watchlist_events = to_bool(value, path);
  } else {
    return false;
  }
  return true;
}

void read_policy(FieldWalker& walker, dom::element value, std::string_view path, AppIn& in) {
  walker.for_each_field(value, path, [&](std::string_view k, dom::element v, const std::string& p) {
    if (k == "limits") {
      walker.for_each_field(v, p, [&](std::string_view k2, dom::element v2, const std::string& p2) {
        return read_limit(walker, k2, v2, p2, in.policy_limits);
      });
    } else if (k == "features") {
      walker.for_each_field(v, p, [&](std::string_view k2, dom::element v2, const std::string& p2) {
        return read_feature(k2, v2, p2, in.policy_features);
      });
    } else if (k == "channels") {
      walker.for_each_field(v, p, [&](std::string_view k2, dom::element v2, const std::string& p2) {
        if (k2 == "allowed_origins") {
          in.policy_origins = to_string_list(v2, p2);
        } else if (is_one_of(k2, unsupported_channels_keys)) {
          walker.warn_unsupported(p2);
        } else {
          return false;
        }
        return true;
      });
    } else if (k == "webhooks") {
      in.policy_webhooks = read_webhook_list(walker, v, p);
    } else if (is_one_of(k, unsupported_policy_keys)) {
      walker.warn_unsupported(p);
    } else {
      return false;
    }
    return true;
  });
}

AppIn read_app(FieldWalker& walker, dom::element value, std::string path) {
  AppIn in;
  in.path = std::move(path);
  walker.for_each_field(
      value, in.path, [&](std::string_view k, dom::element v, const std::string& p) {
        if (k == "id") {
          // Pusher app ids are often numeric; accept 12345 as "12345".
          in.app.id = v.type() == dom::element_type::STRING ? to_string(v, p)
                                                            : std::to_string(to_uint(v, p));
        } else if (k == "key") {
          in.app.key = to_string(v, p);
        } else if (k == "secret") {
          in.app.secret = to_string(v, p);
        } else if (k == "enabled") {
          in.app.enabled = to_bool(v, p);
        } else if (k == "allowed_origins") {
          in.flat_origins = to_string_list(v, p);
        } else if (k == "policy") {
          read_policy(walker, v, p, in);
        } else if (read_limit(walker, k, v, p, in.flat_limits) ||
                   read_feature(k, v, p, in.flat_features)) {
          // flat Sockudo-style alias, read above
        } else if (k == "webhooks") {
          in.flat_webhooks = read_webhook_list(walker, v, p);
        } else if (is_one_of(k, unsupported_app_keys)) {
          walker.warn_unsupported(p);
        } else {
          return false;
        }
        return true;
      });
  return in;
}

void read_apps(FieldWalker& walker, dom::element value, const std::string& path,
               std::vector<AppIn>& apps) {
  if (value.type() != dom::element_type::ARRAY) {
    fail_value(path, "an array of apps", show(value));
  }
  std::size_t index = 0;
  for (const dom::element item : dom::array(value)) {
    apps.push_back(read_app(walker, item, index_path(path, index)));
    ++index;
  }
}

}  // namespace

void LimitsIn::apply_to(AppLimits& out) const {
  const auto set = [](auto& field, const auto& value) {
    if (value) {
      field = *value;
    }
  };
  set(out.max_connections, max_connections);
  set(out.max_client_events_per_second, max_client_events_per_second);
  set(out.client_event_decay_seconds, client_event_decay_seconds);
  set(out.max_presence_members_per_channel, max_presence_members_per_channel);
  set(out.max_presence_member_size_in_kb, max_presence_member_size_in_kb);
  set(out.max_channel_name_length, max_channel_name_length);
  set(out.max_event_name_length, max_event_name_length);
  set(out.max_event_payload_in_kb, max_event_payload_in_kb);
  set(out.max_event_channels_at_once, max_event_channels_at_once);
  set(out.max_event_batch_size, max_event_batch_size);
  set(out.max_channels_per_connection, max_channels_per_connection);
  set(out.max_backend_events_per_second, max_backend_events_per_second);
  set(out.max_read_requests_per_second, max_read_requests_per_second);
  set(out.terminate_on_client_event_limit, terminate_on_client_event_limit);
  set(out.message_rate_limit, message_rate_limit);
  set(out.message_rate_window_seconds, message_rate_window_seconds);
  set(out.message_rate_terminate, message_rate_terminate);
}

void FeaturesIn::apply_to(App& out) const {
  if (enable_client_messages) {
    out.enable_client_messages = *enable_client_messages;
  }
  if (enable_user_authentication) {
    out.enable_user_authentication = *enable_user_authentication;
  }
  if (enable_watchlist_events) {
    out.enable_watchlist_events = *enable_watchlist_events;
  }
}

std::optional<std::string> app_manager_driver_name(std::string_view name) {
  const std::string_view d = trim(name);
  if (iequals(d, "array") || iequals(d, "memory")) return "array";
  // Sockudo's names: "pgsql" (also "postgres", "postgresql"), "mysql".
  if (iequals(d, "pgsql") || iequals(d, "postgres") || iequals(d, "postgresql")) {
    return "postgres";
  }
  if (iequals(d, "mysql") || iequals(d, "mariadb")) return "mysql";
  return std::nullopt;
}

void read_app_manager(FieldWalker& walker, dom::element value, std::string_view path,
                      std::vector<AppIn>& apps, AppManagerSettings& out) {
  walker.for_each_field(value, path, [&](std::string_view k, dom::element v, const std::string& p) {
    if (k == "driver") {
      const auto driver = app_manager_driver_name(to_string(v, p));
      if (!driver) fail_value(p, app_manager_drivers_text, show(v));
      out.driver = *driver;
    } else if (k == "array") {
      walker.for_each_field(v, p, [&](std::string_view k2, dom::element v2, const std::string& p2) {
        if (k2 != "apps") {
          return false;
        }
        read_apps(walker, v2, p2, apps);
        return true;
      });
    } else if (k == "cache") {
      walker.for_each_field(v, p, [&](std::string_view k2, dom::element v2, const std::string& p2) {
        if (k2 == "ttl") {
          out.cache_ttl = to_seconds(v2, p2, 1);
        } else if (k2 == "negative_ttl") {
          out.negative_ttl = to_seconds(v2, p2, 1);
        } else if (k2 == "enabled") {
          // Database apps are always served from memory (never a query per connection).
          if (!to_bool(v2, p2)) walker.warn_unsupported(p2);
        } else {
          return false;
        }
        return true;
      });
    } else if (k == "max_apps") {
      out.max_apps = static_cast<std::size_t>(to_uint(v, p, 1, 1'000'000));
    } else if (k == "lookup_timeout_ms") {
      out.lookup_timeout = to_millis(v, p, 10, 60'000);
    } else if (k == "scylladb") {
      walker.warn_unsupported(p);
    } else {
      return false;
    }
    return true;
  });
}

bool is_table_name(std::string_view name) {
  const auto dot = name.find('.');
  const bool one_dot =
      dot == std::string_view::npos ||
      (dot != 0 && dot + 1 != name.size() && name.find('.', dot + 1) == std::string_view::npos);
  return !name.empty() && name.size() <= 128 && one_dot &&
         std::all_of(name.begin(), name.end(), [](char c) {
           return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '.';
         });
}

std::string to_table_name(dom::element value, std::string_view path) {
  std::string name = to_string(value, path);
  if (!is_table_name(name)) fail_value(path, table_name_text, show(value));
  return name;
}

void read_database(FieldWalker& walker, dom::element value, std::string_view path,
                   AppManagerSettings& out) {
  walker.for_each_field(value, path, [&](std::string_view k, dom::element v, const std::string& p) {
    DatabaseSettings* db = k == "postgres" ? &out.postgres : k == "mysql" ? &out.mysql : nullptr;
    if (db == nullptr) {
      if (k == "redis" || k == "dynamodb" || k == "surrealdb" || k == "scylladb") {
        walker.warn_unsupported(p);
        return true;
      }
      return false;
    }
    walker.for_each_field(v, p, [&](std::string_view k2, dom::element v2, const std::string& p2) {
      if (k2 == "host") {
        db->host = to_nonempty_string(v2, p2);
      } else if (k2 == "port") {
        db->port = to_port(v2, p2);
      } else if (k2 == "username") {
        db->username = to_string(v2, p2);
      } else if (k2 == "password") {
        db->password = to_string(v2, p2);
      } else if (k2 == "database") {
        db->database = to_nonempty_string(v2, p2);
      } else if (k2 == "table_name") {
        db->table_name = to_table_name(v2, p2);
      } else if (k2 == "cache_ttl") {
        db->cache_ttl = to_seconds(v2, p2, 1);
      } else if (k2 == "connect_timeout_seconds") {
        db->connect_timeout = to_seconds(v2, p2, 1);
      } else if (k2 == "query_timeout_ms") {
        db->query_timeout = to_millis(v2, p2, 10, 600'000);
      } else if (k2 == "ssl_mode") {
        db->ssl_mode = to_string(v2, p2);
        constexpr std::string_view modes[] = {"",        "disable",   "allow",      "prefer",
                                              "require", "verify-ca", "verify-full"};
        if (!is_one_of(db->ssl_mode, modes)) {
          fail_value(p2, "disable, allow, prefer, require, verify-ca or verify-full", show(v2));
        }
      } else if (k2 == "ssl_ca_path") {
        db->ssl_ca_path = to_string(v2, p2);
      } else if (k2 == "ssl_cert_path") {
        db->ssl_cert_path = to_string(v2, p2);
      } else if (k2 == "ssl_key_path") {
        db->ssl_key_path = to_string(v2, p2);
      } else if (k2 == "notify_channel" && db == &out.postgres) {
        db->notify_channel = to_string(v2, p2);
        if (!db->notify_channel.empty() &&
            (!is_table_name(db->notify_channel) || db->notify_channel.find('.') != std::string::npos)) {
          fail_value(p2, "letters, digits and _", show(v2));
        }
      } else if (k2 == "connection_pool_size" || k2 == "pool_min" || k2 == "pool_max" ||
                 k2 == "cache_cleanup_interval" || k2 == "cache_max_capacity") {
        // Sockudo's pool and cache sizing: one connection and the app slots here.
        walker.warn_unsupported(p2);
      } else {
        return false;
      }
      return true;
    });
    return true;
  });
}

App resolve_app(AppIn& in, const AppLimits& defaults, const WebhookRetry& global_retry) {
  App app = std::move(in.app);
  if (in.policy_webhooks) {
    app.webhooks = resolve_webhooks(*in.policy_webhooks, global_retry);
  } else if (in.flat_webhooks) {
    app.webhooks = resolve_webhooks(*in.flat_webhooks, global_retry);
  }
  app.limits = defaults;
  in.flat_limits.apply_to(app.limits);
  in.policy_limits.apply_to(app.limits);
  if (in.flat_limits.quota_close_code) {
    app.quota_close_code = *in.flat_limits.quota_close_code;
  }
  if (in.policy_limits.quota_close_code) {
    app.quota_close_code = *in.policy_limits.quota_close_code;
  }
  in.flat_features.apply_to(app);
  in.policy_features.apply_to(app);
  if (in.flat_origins) {
    app.allowed_origins = std::move(*in.flat_origins);
  }
  if (in.policy_origins) {
    app.allowed_origins = std::move(*in.policy_origins);
  }
  return app;
}

}  // namespace server::config_detail

namespace server {

App parse_app_json(std::string_view json, const Config& base, std::string_view path,
                   std::vector<std::string>& warnings) {
  using namespace config_detail;
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (const auto error = parser.parse(json.data(), json.size()).get(root)) {
    fail(path, std::string("invalid JSON: ") + simdjson::error_message(error));
  }
  if (root.type() != dom::element_type::OBJECT) fail_value(path, "an object", show(root));
  FieldWalker walker(warnings);
  AppIn in = read_app(walker, root, std::string(path));
  walker.report_unsupported();
  App app = resolve_app(in, base.default_limits, base.webhooks.retry);
  const std::pair<const char*, const std::string*> required[] = {
      {"id", &app.id}, {"key", &app.key}, {"secret", &app.secret}};
  for (const auto& [name, field] : required) {
    if (field->empty()) fail(join_path(path, name), "required, a non-empty string");
  }
  return app;
}

}  // namespace server
