// The document walk of the config loader: the top-level keys and the server-wide sections
// (timeouts, send_queue, cache, channel/event/presence limits, http_api, cors, metrics, ssl,
// rate_limiter, adapter), dispatching `app_manager` and `webhooks` to their readers, then the
// precedence rules that need the whole document.

#include <algorithm>
#include <cstdint>
#include <utility>

#include "server/config_detail.hpp"

namespace server::config_detail {
namespace {

// Sockudo options that this server does not implement (every top-level field of Sockudo's
// ServerOptions that is not read here): accepted and named in the one "not supported" warning,
// so that a Sockudo config file loads unchanged.
constexpr std::string_view unsupported_top_level[] = {"ably_compat",
                                                      "ai_transport",
                                                      "annotations",
                                                      "cleanup",
                                                      "cluster_health",
                                                      "connection_recovery",
                                                      "database_pooling",
                                                      "delta_compression",
                                                      "echo_control",
                                                      "ephemeral",
                                                      "event_name_filtering",
                                                      "health_check_timeout_ms",
                                                      "history",
                                                      "idempotency",
                                                      "instance",
                                                      "logging",
                                                      "presence_history",
                                                      "push",
                                                      "push_rules",
                                                      "queue",
                                                      "server_role",
                                                      "tag_filtering",
                                                      "unix_socket",
                                                      "versioned_messages"};

// "/" or "" -> "" (no prefix); otherwise one leading "/" and no trailing "/".
std::string normalize_path_prefix(std::string prefix) {
  while (!prefix.empty() && prefix.back() == '/') {
    prefix.pop_back();
  }
  if (!prefix.empty() && prefix.front() != '/') {
    prefix.insert(prefix.begin(), '/');
  }
  return prefix;
}

// Walks the document once. Server-wide values go straight into config_; what depends on
// other keys (limits, cache TTL, log level, retries, apps) is kept aside and resolved at the end.
class Reader : FieldWalker {
 public:
  Reader(EnvLookup env, std::vector<std::string>& warnings) : FieldWalker(warnings), env_(env) {}

  Config read(dom::element root) {
    read_root(root);
    report_unsupported();
    resolve();
    return std::move(config_);
  }

 private:
  void read_root(dom::element root) {
    for_each_field(root, "", [this](std::string_view k, dom::element v, const std::string& p) {
      Config& c = config_;
      if (k == "host") {
        c.host = to_nonempty_string(v, p);
      } else if (k == "port") {
        c.port = to_port(v, p);
      } else if (k == "activity_timeout") {
        c.activity_timeout = to_seconds(v, p, 1);
      } else if (k == "pong_timeout") {
        c.pong_timeout = to_seconds(v, p, 1);
      } else if (k == "user_authentication_timeout") {
        c.user_authentication_timeout = to_seconds(v, p, 1);
      } else if (k == "handshake_timeout") {
        c.handshake_timeout = to_seconds(v, p, 1);
      } else if (k == "close_timeout") {
        c.close_timeout = to_seconds(v, p, 1);
      } else if (k == "shutdown_grace_period") {
        c.shutdown_grace = to_seconds(v, p, 0);
      } else if (k == "max_connections") {
        c.max_connections = to_uint(v, p);
      } else if (k == "workers") {
        c.workers = static_cast<std::uint32_t>(to_uint(v, p, 0, 4096));
      } else if (k == "websocket_max_payload_kb") {
        c.websocket_max_payload_kb = to_uint(v, p, 1, 1024 * 1024);
      } else if (k == "debug") {
        debug_ = to_bool(v, p);
      } else if (k == "mode") {
        (void)to_string(v, p);  // Sockudo's "production"/"development": no effect here
      } else if (k == "log_level") {
        log_level_ = read_log_level(v, p);
      } else if (k == "path_prefix") {
        c.path_prefix = normalize_path_prefix(to_string(v, p));
      } else if (k == "send_queue") {
        read_send_queue(v, p);
      } else if (k == "websocket") {
        read_websocket(v, p);
      } else if (k == "connection_recovery") {
        read_connection_recovery(v, p);
      } else if (k == "idempotency") {
        read_idempotency(v, p);
      } else if (k == "echo_control") {
        read_echo_control(v, p);
      } else if (k == "cache") {
        read_cache(v, p);
      } else if (k == "channel_limits") {
        read_channel_limits(v, p);
      } else if (k == "event_limits") {
        read_event_limits(v, p);
      } else if (k == "presence") {
        read_presence_limits(v, p);
      } else if (k == "http_api") {
        read_http_api(v, p);
      } else if (k == "cors") {
        read_cors(v, p);
      } else if (k == "metrics") {
        read_metrics(v, p);
      } else if (k == "app_manager") {
        read_app_manager(*this, v, p, apps_, c.app_manager);
      } else if (k == "database") {
        read_database(*this, v, p, c.app_manager);
      } else if (k == "webhooks") {
        read_webhook_settings(*this, v, p, config_.webhooks, webhook_retry_);
      } else if (k == "rate_limiter") {
        read_rate_limiter(v, p);
      } else if (k == "max_connections_per_ip") {
        c.ip_limits.max_connections_per_ip = to_uint(v, p);
      } else if (k == "ssl") {
        read_ssl(v, p);
      } else if (k == "adapter") {
        read_adapter(v, p);
      } else if (is_one_of(k, unsupported_top_level)) {
        warn_unsupported(p);
      } else {
        return false;
      }
      return true;
    });
  }

  static std::string read_log_level(dom::element v, std::string_view p) {
    const std::string level = to_string(v, p);
    if (iequals(level, "trace") || iequals(level, "debug")) {
      return "debug";
    }
    if (iequals(level, "info")) {
      return "info";
    }
    if (iequals(level, "warn") || iequals(level, "warning")) {
      return "warn";
    }
    if (iequals(level, "error")) {
      return "error";
    }
    fail_value(p, "one of \"debug\", \"info\", \"warn\", \"error\"", show(v));
  }

  // Sockudo's `rate_limiter`: the per-IP WebSocket connect rate and HTTP API request rate,
  // each with its `trust_hops` (this server keeps counters in memory, per node; `driver` and
  // `redis` are accepted and ignored).
  void read_rate_limiter(dom::element value, std::string_view path) {
    for_each_field(value, path, [this](std::string_view k, dom::element v, const std::string& p) {
      IpLimits& ip = config_.ip_limits;
      if (k == "enabled") {
        ip.rate_limit_enabled = to_bool(v, p);
      } else if (k == "websocket_rate_limit") {
        read_rate_limit(v, p, ip.connects_per_window, ip.connect_window, ip.ws_trust_hops);
      } else if (k == "api_rate_limit") {
        read_rate_limit(v, p, ip.api_requests_per_window, ip.api_window, ip.api_trust_hops);
      } else if (k == "driver" || k == "redis") {
        warn_unsupported(p);
      } else {
        return false;
      }
      return true;
    });
  }

  // One Sockudo `RateLimit` {max_requests, window_seconds, identifier, trust_hops}.
  void read_rate_limit(dom::element value, std::string_view path, std::uint64_t& max,
                       std::chrono::seconds& window, std::uint32_t& trust_hops) {
    for_each_field(value, path, [&](std::string_view k, dom::element v, const std::string& p) {
      if (k == "max_requests") {
        max = to_uint(v, p, 1);
      } else if (k == "window_seconds") {
        window = to_seconds(v, p, 1);
      } else if (k == "trust_hops") {
        trust_hops = static_cast<std::uint32_t>(to_uint(v, p, 0, UINT32_MAX));
      } else if (k == "identifier") {
        return true;  // Sockudo's key prefix; the client address is the identifier here
      } else {
        return false;
      }
      return true;
    });
  }

  void read_send_queue(dom::element value, std::string_view path) {
    for_each_field(value, path, [this](std::string_view k, dom::element v, const std::string& p) {
      if (k == "max_bytes") {
        send_queue_max_bytes_ = to_uint(v, p, 1);
      } else if (k == "max_messages") {
        send_queue_max_messages_ = to_uint(v, p, 1);
      } else if (k == "socket_buffer_kb") {
        config_.send_socket_buffer_kb = to_uint(v, p, 0, 64 * 1024);
      } else {
        return false;
      }
      return true;
    });
  }

  // Sockudo's `websocket` buffer settings: max_messages / max_bytes are the per-connection
  // outbound buffer, this server's send_queue budget (send_queue.* wins when both are given).
  void read_websocket(dom::element value, std::string_view path) {
    for_each_field(value, path, [this](std::string_view k, dom::element v, const std::string& p) {
      if (k == "max_messages") {
        ws_max_messages_ = to_uint(v, p, 1);
      } else if (k == "max_bytes") {
        ws_max_bytes_ = to_uint(v, p, 1);
      } else if (k == "disconnect_on_buffer_full" || k == "max_message_size" ||
                 k == "max_frame_size" || k == "write_buffer_size" || k == "max_backpressure" ||
                 k == "auto_ping" || k == "ping_interval" || k == "idle_timeout" ||
                 k == "compression") {
        warn_unsupported(p);
      } else {
        return false;
      }
      return true;
    });
  }

  void read_connection_recovery(dom::element value, std::string_view path) {
    V2Settings& v2 = config_.v2;
    for_each_field(value, path, [&v2](std::string_view k, dom::element v, const std::string& p) {
      if (k == "enabled") {
        v2.recovery_enabled = to_bool(v, p);
      } else if (k == "buffer_ttl_seconds") {
        v2.recovery_buffer_ttl = to_seconds(v, p, 1);
      } else if (k == "max_buffer_size") {
        v2.recovery_max_buffer_size = to_uint(v, p, 1, 1'000'000);
      } else if (k == "max_memory_mb") {
        v2.recovery_max_bytes = to_uint(v, p, 1, 1'048'576) << 20;
      } else {
        return false;
      }
      return true;
    });
  }

  void read_idempotency(dom::element value, std::string_view path) {
    V2Settings& v2 = config_.v2;
    for_each_field(value, path, [&v2](std::string_view k, dom::element v, const std::string& p) {
      if (k == "enabled") {
        v2.idempotency_enabled = to_bool(v, p);
      } else if (k == "ttl_seconds") {
        v2.idempotency_ttl = to_seconds(v, p, 1);
      } else if (k == "max_key_length") {
        v2.idempotency_max_key_length = to_uint(v, p, 1, 4096);
      } else {
        return false;
      }
      return true;
    });
  }

  void read_echo_control(dom::element value, std::string_view path) {
    V2Settings& v2 = config_.v2;
    for_each_field(value, path, [&v2](std::string_view k, dom::element v, const std::string& p) {
      if (k == "enabled") {
        v2.echo_control_enabled = to_bool(v, p);
      } else if (k == "default_echo_messages") {
        v2.default_echo_messages = to_bool(v, p);
      } else {
        return false;
      }
      return true;
    });
  }

  void read_cache(dom::element value, std::string_view path) {
    for_each_field(value, path, [this](std::string_view k, dom::element v, const std::string& p) {
      if (k == "ttl") {
        cache_ttl_ = to_seconds(v, p, 0);
      } else if (k == "driver" || k == "redis" || k == "memory") {
        warn_unsupported(p);
      } else {
        return false;
      }
      return true;
    });
  }

  void read_channel_limits(dom::element value, std::string_view path) {
    for_each_field(value, path, [this](std::string_view k, dom::element v, const std::string& p) {
      if (k == "max_name_length") {
        server_limits_.max_channel_name_length = to_uint(v, p);
      } else if (k == "cache_ttl") {
        channel_cache_ttl_ = to_seconds(v, p, 0);
      } else {
        return false;
      }
      return true;
    });
  }

  void read_event_limits(dom::element value, std::string_view path) {
    for_each_field(value, path, [this](std::string_view k, dom::element v, const std::string& p) {
      if (k == "max_channels_at_once") {
        server_limits_.max_event_channels_at_once = to_uint(v, p);
      } else if (k == "max_name_length") {
        server_limits_.max_event_name_length = to_uint(v, p);
      } else if (k == "max_payload_in_kb") {
        server_limits_.max_event_payload_in_kb = to_number(v, p);
      } else if (k == "max_batch_size") {
        server_limits_.max_event_batch_size = to_uint(v, p);
      } else {
        return false;
      }
      return true;
    });
  }

  void read_presence_limits(dom::element value, std::string_view path) {
    for_each_field(value, path, [this](std::string_view k, dom::element v, const std::string& p) {
      if (k == "max_members_per_channel") {
        server_limits_.max_presence_members_per_channel = to_uint(v, p);
      } else if (k == "max_member_size_in_kb") {
        server_limits_.max_presence_member_size_in_kb = to_number(v, p);
      } else if (k == "update_rate_limit_per_member_per_second" ||
                 k == "ungraceful_timeout_seconds" || k == "v2_ungraceful_timeout_seconds") {
        warn_unsupported(p);
      } else {
        return false;
      }
      return true;
    });
  }

  void read_http_api(dom::element value, std::string_view path) {
    for_each_field(value, path, [this](std::string_view k, dom::element v, const std::string& p) {
      if (k == "request_limit_in_mb") {
        // Fractions allowed (0.5 = 512 KiB); Config::http_request_limit_bytes rounds down.
        const double mb = to_number(v, p);
        if (!(mb >= 0.001) || mb > 4096) {
          fail_value(p, "a number of MB in 0.001..4096", show(v));
        }
        config_.http_request_limit_mb = mb;
      } else if (k == "accept_traffic") {
        warn_unsupported(p);
      } else {
        return false;
      }
      return true;
    });
  }

  void read_cors(dom::element value, std::string_view path) {
    for_each_field(value, path, [this](std::string_view k, dom::element v, const std::string& p) {
      if (k == "origin") {
        std::vector<std::string> origins = to_string_list(v, p);
        if (origins.empty()) {
          origins.emplace_back("*");
        }
        const bool any = std::find(origins.begin(), origins.end(), "*") != origins.end();
        config_.cors_origin = any ? "*" : origins.front();
        config_.cors_origins = std::move(origins);
      } else if (k == "credentials") {
        config_.cors_credentials = to_bool(v, p);
      } else if (k == "methods" || k == "allowed_headers") {
        std::vector<std::string> tokens = to_string_list(v, p);
        for (const auto& t : tokens) {
          if (!is_http_token(t)) fail_value(p, "a list of HTTP tokens", show(v));
        }
        (k == "methods" ? config_.cors_methods : config_.cors_allowed_headers) = std::move(tokens);
      } else {
        return false;
      }
      return true;
    });
  }

  void read_ssl(dom::element value, std::string_view path) {
    for_each_field(value, path, [this](std::string_view k, dom::element v, const std::string& p) {
      SslConfig& ssl = config_.ssl;
      if (k == "enabled") {
        ssl.enabled = to_bool(v, p);
      } else if (k == "cert_path") {
        ssl.cert_path = to_string(v, p);
      } else if (k == "key_path") {
        ssl.key_path = to_string(v, p);
      } else if (k == "ca_path") {
        ssl.ca_path = to_string(v, p);
      } else if (k == "passphrase") {
        ssl.passphrase = to_string(v, p);
      } else if (k == "redirect_http") {
        ssl.redirect_http = to_bool(v, p);
      } else if (k == "http_port") {
        ssl.http_port = to_port(v, p);
      } else {
        return false;
      }
      return true;
    });
  }

  void read_metrics(dom::element value, std::string_view path) {
    for_each_field(value, path, [this](std::string_view k, dom::element v, const std::string& p) {
      if (k == "enabled") {
        config_.metrics_enabled = to_bool(v, p);
      } else if (k == "host") {
        config_.metrics_host = to_nonempty_string(v, p);
      } else if (k == "port") {
        config_.metrics_port = to_port(v, p);
      } else if (k == "driver") {
        if (!iequals(to_string(v, p), "prometheus")) {
          fail_value(p, "\"prometheus\"", show(v));
        }
      } else if (k == "prometheus") {
        for_each_field(v, p, [this](std::string_view k2, dom::element v2, const std::string& p2) {
          if (k2 != "prefix") return false;
          config_.metrics_prefix = to_string(v2, p2);
          if (!is_metric_prefix(config_.metrics_prefix)) {
            fail_value(p2, "a Prometheus metric name prefix ([a-zA-Z_:][a-zA-Z0-9_:]*)", show(v2));
          }
          return true;
        });
      } else if (k == "tcp_exporter") {
        warn_unsupported(p);
      } else {
        return false;
      }
      return true;
    });
  }

  // `adapter.redis.tls` / `adapter.cluster.tls`: Sockudo's RedisTlsOptions.
  void read_redis_tls(dom::element value, std::string_view path, RedisTlsSettings& t) {
    for_each_field(value, path, [&](std::string_view k, dom::element v, const std::string& p) {
      if (v.is_null()) return true;  // Sockudo's Option fields may be written as null
      if (k == "enabled") {
        t.enabled = to_bool(v, p);
      } else if (k == "accept_invalid_certs" || k == "acceptInvalidCerts") {
        t.accept_invalid_certs = to_bool(v, p);
      } else if (k == "ca_path") {
        t.ca_path = to_string(v, p);
      } else if (k == "client_cert_path") {
        t.client_cert_path = to_string(v, p);
      } else if (k == "client_key_path") {
        t.client_key_path = to_string(v, p);
      } else {
        return false;
      }
      return true;
    });
  }

  // `adapter`: {driver, redis {url, prefix, requests_timeout (ms, Sockudo's name) or
  // request_timeout_ms, heartbeat_interval_ms, node_timeout_ms}}.
  void read_adapter(dom::element value, std::string_view path) {
    AdapterSettings& a = config_.adapter;
    for_each_field(value, path, [&](std::string_view k, dom::element v, const std::string& p) {
      if (k == "driver") {
        const std::string driver = to_string(v, p);
        if (iequals(driver, "local")) {
          a.driver = "local";
        } else if (iequals(driver, "redis")) {
          a.driver = "redis";
        } else if (iequals(driver, "redis-cluster") || iequals(driver, "redis_cluster")) {
          a.driver = "redis-cluster";
        } else {
          fail_value(p, "\"local\", \"redis\" or \"redis-cluster\"", show(v));
        }
      } else if (k == "redis") {
        for_each_field(v, p, [&](std::string_view k2, dom::element v2, const std::string& p2) {
          if (k2 == "url") {
            a.redis_url = to_nonempty_string(v2, p2);
            try {
              (void)parse_redis_url(a.redis_url);
            } catch (const ConfigError& e) {
              fail(p2, e.what());
            }
          } else if (k2 == "prefix") {
            a.redis_prefix = to_nonempty_string(v2, p2);
          } else if (k2 == "requests_timeout" || k2 == "request_timeout_ms") {
            a.request_timeout = to_millis(v2, p2, 10, 600'000);
          } else if (k2 == "heartbeat_interval_ms") {
            a.heartbeat_interval = to_millis(v2, p2, 50, 600'000);
          } else if (k2 == "node_timeout_ms") {
            a.node_timeout = to_millis(v2, p2, 100, 3'600'000);
          } else if (k2 == "tls") {
            read_redis_tls(v2, p2, a.redis_tls);
          } else if (k2 == "redis_pub_options" || k2 == "redis_sub_options" ||
                     k2 == "cluster_mode" || k2 == "sentinels") {
            warn_unsupported(p2);
          } else {
            return false;
          }
          return true;
        });
      } else if (k == "cluster") {
        // Sockudo's RedisClusterAdapterConfig: nodes, prefix, request_timeout_ms, tls.
        for_each_field(v, p, [&](std::string_view k2, dom::element v2, const std::string& p2) {
          if (k2 == "nodes") {
            a.cluster_nodes = to_string_list(v2, p2);
            for (const std::string& n : a.cluster_nodes) {
              try {
                (void)parse_cluster_seed(n);
              } catch (const ConfigError& e) {
                fail(p2, e.what());
              }
            }
          } else if (k2 == "prefix") {
            a.cluster_prefix = to_nonempty_string(v2, p2);
          } else if (k2 == "request_timeout_ms" || k2 == "requests_timeout") {
            a.cluster_request_timeout = to_millis(v2, p2, 10, 600'000);
          } else if (k2 == "tls") {
            read_redis_tls(v2, p2, a.cluster_tls);
          } else if (k2 == "use_sharded_pubsub" || k2 == "use_connection_manager") {
            // Channel traffic is always sharded (docs/CLUSTER.md); the connection manager is
            // Sockudo's client library detail.
            (void)to_bool(v2, p2);
          } else {
            return false;
          }
          return true;
        });
      } else if (k == "nats" || k == "buffer_multiplier_per_cpu" || k == "enable_socket_counting" ||
                 k == "pulsar" || k == "rabbitmq" || k == "google_pubsub" || k == "kafka" ||
                 k == "iggy" || k == "cluster_health" || k == "aggregate_counts" ||
                 k == "fast_presence_transitions" || k == "fallback_to_local") {
        warn_unsupported(p);
      } else {
        return false;
      }
      return true;
    });
    if (a.node_timeout <= a.heartbeat_interval) {
      fail(join_path(path, "redis.node_timeout_ms"), "must be greater than heartbeat_interval_ms");
    }
  }

  // Precedence, lowest first: AppLimits defaults < server-level sections < flat app keys <
  // policy.*. cache.ttl wins over Sockudo's channel_limits.cache_ttl.
  void resolve() {
    apply_env_limits(server_limits_, env_);  // env overrides the server-level sections
    server_limits_.apply_to(config_.default_limits);
    if (const auto bytes = send_queue_max_bytes_ ? send_queue_max_bytes_ : ws_max_bytes_) {
      config_.send_queue_max_bytes = *bytes;
    }
    if (const auto messages =
            send_queue_max_messages_ ? send_queue_max_messages_ : ws_max_messages_) {
      config_.send_queue_max_messages = *messages;
    }
    if (channel_cache_ttl_) {
      config_.cache_ttl = *channel_cache_ttl_;
    }
    if (cache_ttl_) {
      config_.cache_ttl = *cache_ttl_;
    }
    if (log_level_) {
      config_.log_level = *log_level_;
    } else if (debug_) {
      config_.log_level = "debug";
    }
    if (webhook_retry_) {
      webhook_retry_->apply_to(config_.webhooks.retry);
    }
    for (AppIn& in : apps_) {
      config_.apps.push_back(resolve_app(in, config_.default_limits, config_.webhooks.retry));
    }
  }

  EnvLookup env_;
  Config config_;
  LimitsIn server_limits_;
  std::optional<std::chrono::seconds> cache_ttl_;
  std::optional<std::chrono::seconds> channel_cache_ttl_;
  std::optional<std::string> log_level_;
  std::optional<RetryIn> webhook_retry_;
  std::optional<std::uint64_t> send_queue_max_bytes_;
  std::optional<std::uint64_t> send_queue_max_messages_;
  std::optional<std::uint64_t> ws_max_bytes_;     ///< Sockudo's websocket.max_bytes
  std::optional<std::uint64_t> ws_max_messages_;  ///< Sockudo's websocket.max_messages
  bool debug_ = false;
  std::vector<AppIn> apps_;
};

}  // namespace

Config read_document(dom::element root, EnvLookup env, std::vector<std::string>& warnings) {
  return Reader(env, warnings).read(root);
}

}  // namespace server::config_detail
