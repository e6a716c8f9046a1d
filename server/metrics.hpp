#pragma once
// Prometheus text endpoint on its own listener (metrics.host:metrics.port, GET /metrics), and
// GET /usage there too (the main port's body, server/http_api.hpp usage_json; Soketi's place).
// Sockudo's metric names (prefix sockudo_, labels app_id and port) so existing dashboards work,
// plus pushcore_* extras. Counters live per worker and are summed here at scrape time, so the
// delivery path never locks or allocates for metrics.

#include <cstdint>
#include <memory>
#include <string>

#include "server/net.hpp"
#include "server/oneshot_http.hpp"

namespace server {

class Hub;

/// Renders the whole exposition text. Any thread (locks the state mutex briefly for gauges).
[[nodiscard]] std::string render_metrics(Hub& hub, std::uint16_t port);

class MetricsServer {
 public:
  /// Binds host:port on `ioc` (throws on failure). `ws_port` is the main port (the `port` label).
  MetricsServer(Hub& hub, net::io_context& ioc, const std::string& host, std::uint16_t port,
                std::uint16_t ws_port);
  [[nodiscard]] std::uint16_t port() const noexcept { return http_.port(); }
  void start();
  void stop();

 private:
  OneShotHttpServer http_;
};

}  // namespace server
