// The environment side of the config loader: the process environment, `${VAR}` /
// `${VAR:-default}` interpolation of the raw text (before JSON parsing), and the env overrides
// applied after the document is read (HOST, PORT, ACTIVITY_TIMEOUT, SOCKUDO_MAX_CONNECTIONS,
// SSL_*, ADAPTER_DRIVER, REDIS_URL, SOCKUDO_DEFAULT_APP_ID/KEY/SECRET).

#include <cstdlib>
#include <utility>

#include "server/config_detail.hpp"

namespace server {
namespace {

bool valid_env_name(std::string_view name) {
  if (name.empty() || (name[0] >= '0' && name[0] <= '9')) {
    return false;
  }
  for (const char c : name) {
    const bool ok =
        (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
    if (!ok) {
      return false;
    }
  }
  return true;
}

}  // namespace

std::optional<std::string> process_env(std::string_view name) {
  const std::string key(name);
  if (const char* value = std::getenv(key.c_str())) {
    return std::string(value);
  }
  return std::nullopt;
}

std::string interpolate_env(std::string_view text, EnvLookup env) {
  std::string out;
  out.reserve(text.size());
  std::size_t i = 0;
  bool no_close_left = false;  // no '}' after some "${": none after any later one either
  while (i < text.size()) {
    // Copy up to the next '$' in one piece (linear in the input, also for hostile files).
    const std::size_t dollar = text.find('$', i);
    if (dollar == std::string_view::npos) {
      out.append(text.substr(i));
      break;
    }
    out.append(text.substr(i, dollar - i));
    i = dollar;
    if (text.substr(i, 3) == "$${") {
      out += "${";  // escape: a literal "${"
      i += 3;
      continue;
    }
    if (text.substr(i, 2) == "${" && !no_close_left) {
      const std::size_t close = text.find('}', i + 2);
      if (close == std::string_view::npos) no_close_left = true;
      if (close != std::string_view::npos) {
        const std::string_view inner = text.substr(i + 2, close - i - 2);
        const std::size_t sep = inner.find(":-");
        const std::string_view name = inner.substr(0, sep);
        if (valid_env_name(name)) {
          std::optional<std::string> value;
          if (env != nullptr) {
            value = env(name);
          }
          if (sep == std::string_view::npos) {
            if (!value) {
              throw ConfigError("${" + std::string(name) + "}: environment variable " +
                                std::string(name) + " is not set (write ${" + std::string(name) +
                                ":-default} to give a fallback)");
            }
            out += *value;
          } else if (value && !value->empty()) {
            out += *value;
          } else {
            out += inner.substr(sep + 2);
          }
          i = close + 1;
          continue;
        }
      }
    }
    out += '$';
    ++i;
  }
  return out;
}

namespace config_detail {
namespace {

std::optional<std::string> lookup(EnvLookup env, std::string_view name) {
  if (env == nullptr) {
    return std::nullopt;
  }
  auto value = env(name);
  if (value && value->empty()) {
    return std::nullopt;  // an empty variable counts as unset
  }
  return value;
}

// An env value parsed like a JSON numeric string, with the variable as the "path".
std::uint64_t env_uint(std::string_view name, const std::string& text, std::uint64_t min,
                       std::uint64_t max) {
  const auto value = parse_uint_text(text);
  if (!value) {
    fail_value(name, "a non-negative integer", in_quotes(text));
  }
  if (*value < min || *value > max) {
    fail_value(name, range_text(min, max), in_quotes(text));
  }
  return *value;
}

}  // namespace

void apply_env_overrides(Config& config, EnvLookup env) {
  if (auto host = lookup(env, "HOST")) {
    config.host = std::move(*host);
  }
  if (const auto port = lookup(env, "PORT")) {
    config.port = static_cast<std::uint16_t>(env_uint("PORT", *port, 0, 65535));
  }
  if (const auto timeout = lookup(env, "ACTIVITY_TIMEOUT")) {
    config.activity_timeout = std::chrono::seconds(
        static_cast<std::int64_t>(env_uint("ACTIVITY_TIMEOUT", *timeout, 1, 1'000'000'000)));
  }
  if (const auto max = lookup(env, "SOCKUDO_MAX_CONNECTIONS")) {
    config.max_connections = env_uint("SOCKUDO_MAX_CONNECTIONS", *max, 0, u64_max);
  }
  // TLS (the `ssl` section).
  if (const auto enabled = lookup(env, "SSL_ENABLED")) {
    if (iequals(trim(*enabled), "true") || trim(*enabled) == "1") {
      config.ssl.enabled = true;
    } else if (iequals(trim(*enabled), "false") || trim(*enabled) == "0") {
      config.ssl.enabled = false;
    } else {
      fail_value("SSL_ENABLED", "true or false", in_quotes(*enabled));
    }
  }
  if (auto v = lookup(env, "SSL_CERT_PATH")) config.ssl.cert_path = std::move(*v);
  if (auto v = lookup(env, "SSL_KEY_PATH")) config.ssl.key_path = std::move(*v);
  if (auto v = lookup(env, "SSL_CA_PATH")) config.ssl.ca_path = std::move(*v);
  if (auto v = lookup(env, "SSL_PASSPHRASE")) config.ssl.passphrase = std::move(*v);
  if (const auto driver = lookup(env, "ADAPTER_DRIVER")) {
    if (iequals(*driver, "local") || iequals(*driver, "redis")) {
      config.adapter.driver = iequals(*driver, "redis") ? "redis" : "local";
    } else {
      fail("ADAPTER_DRIVER", "expected \"local\" or \"redis\", got " + in_quotes(*driver));
    }
  }
  if (auto url = lookup(env, "REDIS_URL")) {
    try {
      (void)parse_redis_url(*url);
    } catch (const ConfigError& e) {
      fail("REDIS_URL", e.what());
    }
    config.adapter.redis_url = std::move(*url);
  }

  auto id = lookup(env, "SOCKUDO_DEFAULT_APP_ID");
  auto key = lookup(env, "SOCKUDO_DEFAULT_APP_KEY");
  auto secret = lookup(env, "SOCKUDO_DEFAULT_APP_SECRET");
  if (!id && !key && !secret) {
    return;
  }
  if (config.apps.empty()) {
    config.apps.push_back(make_default_app(config.default_limits));
  }
  App& first = config.apps.front();
  if (id) {
    first.id = std::move(*id);
  }
  if (key) {
    first.key = std::move(*key);
  }
  if (secret) {
    first.secret = std::move(*secret);
  }
}

}  // namespace config_detail
}  // namespace server
