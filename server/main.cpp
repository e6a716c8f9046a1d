// pushcore: a Pusher Channels protocol 7 server (Sockudo-compatible).
//   pushcore [--config FILE] [--host HOST] [--port PORT]
// Without --config: config/config.toml, else config/config.json, else the embedded default.

#include <chrono>
#include <csignal>
#include <cctype>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <iostream>
#include <string>
#include <thread>

#include "server/config.hpp"
#include "server/hub.hpp"
#include "server/listener.hpp"
#include "server/log.hpp"
#include "server/metrics.hpp"
#include "server/net.hpp"
#include "server/oneshot_http.hpp"
#include "server/redis_adapter.hpp"
#include "server/tls.hpp"
#include "server/worker.hpp"

namespace {

void usage() {
  std::puts(
      "usage: pushcore [--config FILE] [--host HOST] [--port PORT]\n"
      "  --config FILE  TOML (*.toml) or JSON config in Sockudo's shape (default, as\n"
      "                 Sockudo: config/config.toml, else config/config.json, else the\n"
      "                 embedded config, app app-id / app-key / app-secret on 127.0.0.1:6001)\n"
      "  --host HOST    override the listen address\n"
      "  --port PORT    override the listen port (0 = any free port)\n"
      "Environment overrides: Sockudo's variables (and Soketi's SOKETI_* aliases), see\n"
      "README \"Environment variables\".\n"
      "Signals: SIGTERM/SIGINT drain and exit; SIGHUP reloads the apps from --config.");
}

std::string join_ids(const std::vector<std::string>& ids) {
  std::string out;
  for (const auto& id : ids) out.append(out.empty() ? "" : ",").append(id);
  return out.empty() ? "-" : out;
}

// SIGHUP: re-reads the config file and applies its apps (list, secrets, limits, features).
// An invalid file is rejected with one log line and the running config stays.
void reload_apps(server::Hub& hub, const std::string& path, const std::string& host_override,
                 const std::string& port_override) {
  using namespace server;
  if (AppDirectory* dir = hub.directory()) {
    // Apps come from the database: SIGHUP re-reads the cached ones now instead of at the TTL.
    dir->refresh_soon();
    log::info("reload", {{"apps", "database: " + dir->describe()}, {"refresh", "now"}});
    return;
  }
  if (path.empty()) {
    log::warn("reload_ignored", {{"reason", "no --config file (embedded default config)"}});
    return;
  }
  std::vector<std::string> warnings;
  Config fresh;
  try {
    fresh = load_config_file(path, process_env, warnings);
  } catch (const std::exception& e) {
    log::error("reload_rejected",
               {{"config", path}, {"error", e.what()}, {"kept", "previous configuration"}});
    return;
  }
  // Command-line overrides still hold.
  if (!host_override.empty()) fresh.host = hub.config().host;
  if (!port_override.empty()) fresh.port = hub.config().port;
  const ReloadResult r = hub.reload(fresh);
  log::info("reload", {{"config", path},
                       {"apps_added", join_ids(r.added)},
                       {"apps_updated", join_ids(r.updated)},
                       {"apps_removed", join_ids(r.removed)},
                       {"apps_disabled", join_ids(r.disabled)}});
  if (!r.not_applied.empty()) {
    log::warn("reload_not_applied",
              {{"settings", join_ids(r.not_applied)}, {"reason", "node-level, needs a restart"}});
  }
}

}  // namespace

int main(int argc, char** argv) {
  using namespace server;
  std::string config_path, host_override, port_override;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&](const char* what) -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "pushcore: %s needs a value\n", what);
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--config" || a == "-c") {
      config_path = next("--config");
    } else if (a == "--host") {
      host_override = next("--host");
    } else if (a == "--port" || a == "-p") {
      port_override = next("--port");
    } else if (a == "--help" || a == "-h") {
      usage();
      return 0;
    } else if (a == "--version") {
      std::puts("pushcore 0.1.0");
      return 0;
    } else {
      std::fprintf(stderr, "pushcore: unknown argument %s (see --help)\n", a.c_str());
      return 2;
    }
  }

  // No --config: Sockudo's default files, TOML first, relative to the working directory.
  if (config_path.empty()) {
    for (const char* candidate : {"config/config.toml", "config/config.json"}) {
      std::error_code ec;
      if (std::filesystem::is_regular_file(candidate, ec)) {
        config_path = candidate;
        break;
      }
    }
  }

  Config cfg;
  std::vector<std::string> warnings;
  try {
    cfg = config_path.empty() ? default_config(process_env, warnings)
                              : load_config_file(config_path, process_env, warnings);
    if (!host_override.empty()) cfg.host = host_override;
    if (!port_override.empty()) {
      const long p = std::strtol(port_override.c_str(), nullptr, 10);
      if (p < 0 || p > 65535) throw ConfigError("--port: expected 0..65535");
      cfg.port = static_cast<std::uint16_t>(p);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "pushcore: configuration error: %s\n", e.what());
    return 2;
  }
  log::set_level(cfg.log_level);

  // TLS on the main port: certificate and key are loaded now, so bad paths fail at start.
  std::unique_ptr<TlsContext> tls;
  if (cfg.ssl.enabled) {
    try {
      tls = std::make_unique<TlsContext>(cfg.ssl);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "pushcore: TLS configuration error: %s\n", e.what());
      return 2;
    }
  }

  // Redis credentials, TLS or a database refused are a configuration error (an unreachable
  // Redis is not: the node starts, serves local clients and retries, docs/CLUSTER.md).
  if (cfg.adapter.driver == "redis" || cfg.adapter.driver == "redis-cluster") {
    if (auto bad = redis_startup_error(cfg.adapter)) {
      std::fprintf(stderr, "pushcore: configuration error: %s\n", bad->c_str());
      return 2;
    }
  }

  Hub hub(cfg);
  // A database app manager: bad credentials, an unreachable database or a table without
  // Sockudo's columns stop start-up naming the settings (docs/APP_MANAGERS.md).
  if (AppDirectory* dir = hub.directory()) {
    try {
      dir->open();
    } catch (const std::exception& e) {
      const std::string& d = hub.config().app_manager.driver;
      const std::string section = d == "mysql" ? "mysql" : "postgres";
      std::string upper = section;
      for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      std::fprintf(stderr,
                   "pushcore: configuration error: app_manager.driver \"%s\": database.%s "
                   "(DATABASE_%s_*): %s\n",
                   d.c_str(), section.c_str(), upper.c_str(), e.what());
      return 2;
    }
  }
  std::unique_ptr<Listener> listener;
  try {
    listener = std::make_unique<Listener>(hub, hub.config().host, hub.config().port, tls.get());
  } catch (const std::exception& e) {
    log::error("listen_failed", {{"host", hub.config().host},
                                 {"port", std::to_string(hub.config().port)},
                                 {"error", e.what()}});
    return 1;
  }

  // First log line: where we listen and which app to use. The embedded default's secret is the
  // public "app-secret" placeholder; configured secrets (also from the environment, e.g.
  // SOKETI_DEFAULT_APP_SECRET) are never logged.
  const bool embedded = hub.config().embedded_default;
  const std::string base_url = (tls ? "wss://" : "ws://") + hub.config().host + ":" +
                               std::to_string(listener->port()) + "/app/";
  if (const AppDirectory* dir = hub.directory()) {
    log::info("listening", {{"host", hub.config().host},
                            {"port", std::to_string(listener->port())},
                            {"tls", tls ? "on" : "off"},
                            {"url", base_url + "{key}"},
                            {"workers", std::to_string(hub.workers().size())},
                            {"config", embedded ? std::string("embedded-default") : config_path},
                            {"apps", "database: " + dir->describe()},
                            {"cache_ttl_s", std::to_string(hub.config().app_manager.ttl().count())}});
  } else {
    const App& first = hub.config().apps.front();
    const bool placeholder_secret = embedded && first.secret == "app-secret";
    log::info("listening",
              {{"host", hub.config().host},
               {"port", std::to_string(listener->port())},
               {"tls", tls ? "on" : "off"},
               {"url", base_url + first.key},
               {"workers", std::to_string(hub.workers().size())},
               {"config", embedded ? std::string("embedded-default") : config_path},
               {"apps", std::to_string(hub.config().apps.size())},
               {"app_id", first.id},
               {"app_key", first.key},
               {"app_secret", placeholder_secret ? first.secret : std::string("(configured)")}});
  }
  for (const auto& w : warnings) log::warn("config_warning", {{"detail", w}});

  std::unique_ptr<MetricsServer> metrics;
  if (hub.config().metrics_enabled) {
    try {
      metrics = std::make_unique<MetricsServer>(hub, hub.workers().front()->ioc(),
                                                hub.config().metrics_host,
                                                hub.config().metrics_port, listener->port());
      log::info("metrics_listening",
                {{"host", hub.config().metrics_host}, {"port", std::to_string(metrics->port())}});
    } catch (const std::exception& e) {
      // Metrics are an aid, not a reason to refuse service.
      log::warn("metrics_listen_failed",
                {{"port", std::to_string(hub.config().metrics_port)}, {"error", e.what()}});
    }
  }
  std::unique_ptr<OneShotHttpServer> redirect;
  if (tls && hub.config().ssl.redirect_http) {
    try {
      const std::uint16_t https_port = listener->port();
      redirect = std::make_unique<OneShotHttpServer>(
          hub.workers().front()->ioc(), hub.config().host, hub.config().ssl.http_port,
          [https_port](const OneShotHttpServer::Request& req, OneShotHttpServer::Response& res) {
            res.result(http::status::permanent_redirect);
            res.set(http::field::location,
                    https_location(req[http::field::host], req.target(), https_port));
          });
      log::info("http_redirect_listening", {{"host", hub.config().host},
                                            {"port", std::to_string(redirect->port())},
                                            {"https_port", std::to_string(https_port)}});
    } catch (const std::exception& e) {
      // As Sockudo: the redirect is a convenience; the TLS port serves without it.
      log::warn("http_redirect_listen_failed",
                {{"port", std::to_string(hub.config().ssl.http_port)}, {"error", e.what()}});
    }
  }
  hub.webhooks().start();
  for (auto& w : hub.workers()) w->start();
  if (AppDirectory* dir = hub.directory()) dir->start();
  listener->start();
  if (metrics) metrics->start();
  if (redirect) redirect->start();

  // Graceful shutdown on SIGINT/SIGTERM: refuse new upgrades (503), close every socket with
  // 4200, wait for them to go (bounded by shutdown_grace), then stop the workers.
  net::io_context main_ioc;
  net::signal_set signals(main_ioc, SIGINT, SIGTERM);
  std::signal(SIGPIPE, SIG_IGN);
  // SIGHUP: reload the apps from the config file (see reload_apps).
  net::signal_set hup(main_ioc, SIGHUP);
  std::function<void()> wait_hup = [&] {
    hup.async_wait([&](const boost::system::error_code& ec, int) {
      if (ec) return;
      reload_apps(hub, config_path, host_override, port_override);
      wait_hup();
    });
  };
  wait_hup();
  signals.async_wait([&](const boost::system::error_code&, int sig) {
    log::info("shutdown", {{"signal", std::to_string(sig)}});
    hup.cancel();
    hub.draining.store(true);
    listener->stop();
    if (metrics) metrics->stop();
    if (redirect) redirect->stop();
    for (auto& w : hub.workers()) {
      net::post(w->ioc(), [wp = w.get()] { wp->close_all_for_shutdown(); });
    }
  });
  main_ioc.run();

  const auto deadline = std::chrono::steady_clock::now() + hub.config().shutdown_grace;
  for (;;) {
    std::size_t live = 0;
    for (auto& w : hub.workers())
      live += w->counters().connections_opened.load() - w->counters().connections_closed.load();
    if (live == 0 || std::chrono::steady_clock::now() >= deadline) {
      log::info("stopped", {{"open_connections", std::to_string(live)}});
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  for (auto& w : hub.workers()) w->stop();
  for (auto& w : hub.workers()) w->join();
  // Sessions are gone; give queued webhooks (incl. the vacated/removed events they produced)
  // what is left of the grace period.
  const auto left = deadline - std::chrono::steady_clock::now();
  hub.webhooks().shutdown(std::max(std::chrono::milliseconds(500),
                                   std::chrono::duration_cast<std::chrono::milliseconds>(left)));
  return 0;
}
