// The config loader's front door: parse_config runs the stages in order (interpolation, JSON
// parse, the document walk, env overrides, the default app, final checks); parse_config_toml
// converts TOML to JSON after interpolation and runs the same stages; load_config_file reads a
// file and picks the format by extension; default_config loads the embedded default. Also the
// checks that need the finished Config (required and unique app ids and keys, ssl files).

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <utility>

#include "server/config_detail.hpp"

namespace server {
namespace config_detail {
namespace {

// The configuration used when no --config is given. Env overrides still apply.
constexpr std::string_view embedded_default_json = R"({
  "host": "127.0.0.1",
  "port": 6001,
  "app_manager": {
    "driver": "array",
    "array": {
      "apps": [
        {
          "id": "app-id",
          "key": "app-key",
          "secret": "app-secret",
          "enabled": true,
          "policy": {
            "features": {"enable_client_messages": true, "enable_user_authentication": false}
          }
        }
      ]
    }
  }
})";

// Apps need a non-empty id, key and secret; ids and keys are unique.
void validate_apps(const Config& config) {
  for (std::size_t i = 0; i < config.apps.size(); ++i) {
    const App& app = config.apps[i];
    const std::string path = index_path("app_manager.array.apps", i);
    const std::pair<const char*, const std::string*> required[] = {
        {"id", &app.id}, {"key", &app.key}, {"secret", &app.secret}};
    for (const auto& [name, field] : required) {
      if (field->empty()) {
        fail(join_path(path, name), "required, a non-empty string");
      }
    }
    for (std::size_t j = 0; j < i; ++j) {
      const std::string other = "apps[" + std::to_string(j) + "]";
      if (config.apps[j].id == app.id) {
        fail(join_path(path, "id"),
             "duplicate app id " + in_quotes(app.id) + " (also " + other + ")");
      }
      if (config.apps[j].key == app.key) {
        fail(join_path(path, "key"),
             "duplicate app key " + in_quotes(app.key) + " (also " + other + ")");
      }
    }
  }
}

}  // namespace

App make_default_app(const AppLimits& limits) {
  App app;
  app.id = "app-id";
  app.key = "app-key";
  app.secret = "app-secret";
  app.enabled = true;
  app.limits = limits;
  app.enable_client_messages = true;
  app.enable_user_authentication = false;
  return app;
}

}  // namespace config_detail

namespace {

// The pipeline after interpolation: JSON parse, the document walk, env overrides, the default
// app, the final checks.
Config parse_interpolated(const std::string& json_text, EnvLookup env,
                          std::vector<std::string>& warnings) {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (const auto error = parser.parse(json_text).get(root)) {
    throw ConfigError(std::string("config: invalid JSON (after ${VAR} interpolation): ") +
                      simdjson::error_message(error));
  }

  Config config = config_detail::read_document(root, env, warnings);
  config_detail::apply_env_overrides(config, env);
  if (config.app_manager.uses_database()) {
    // Apps come from the database only: no file apps, and never the default app (its secret
    // is public).
    if (!config.apps.empty()) {
      warnings.push_back("app_manager.array.apps: ignored, app_manager.driver is \"" +
                         config.app_manager.driver + "\" (apps come from the database)");
      config.apps.clear();
    }
  } else {
    if (config.apps.empty()) {
      config.apps.push_back(config_detail::make_default_app(config.default_limits));
    }
    config_detail::validate_apps(config);
  }
  if (config.ssl.enabled && (config.ssl.cert_path.empty() || config.ssl.key_path.empty())) {
    config_detail::fail("ssl", "enabled needs cert_path and key_path");
  }
  return config;
}

// True if `path` ends in ".toml", in any case.
bool has_toml_extension(std::string_view path) {
  constexpr std::string_view ext = ".toml";
  return path.size() >= ext.size() &&
         config_detail::iequals(path.substr(path.size() - ext.size()), ext);
}

}  // namespace

Config parse_config(std::string_view json_text, EnvLookup env, std::vector<std::string>& warnings) {
  return parse_interpolated(interpolate_env(json_text, env), env, warnings);
}

Config parse_config_toml(std::string_view toml_text, EnvLookup env,
                         std::vector<std::string>& warnings) {
  // The JSON text is not interpolated again: a literal "${" (written "$${") stays literal.
  return parse_interpolated(config_detail::toml_to_json(interpolate_env(toml_text, env)), env,
                            warnings);
}

ConfigFormat config_format_of(std::string_view path) {
  return has_toml_extension(path) ? ConfigFormat::toml : ConfigFormat::json;
}

Config load_config_file(const std::string& path, EnvLookup env,
                        std::vector<std::string>& warnings) {
  std::ifstream file(path, std::ios::binary);
  if (!file) {
    throw ConfigError(path + ": cannot read config file: " + std::strerror(errno));
  }
  std::ostringstream content;
  content << file.rdbuf();
  if (file.bad()) {
    throw ConfigError(path + ": cannot read config file");
  }
  if (config_format_of(path) == ConfigFormat::toml) {
    return parse_config_toml(content.str(), env, warnings);
  }
  return parse_config(content.str(), env, warnings);
}

Config default_config(EnvLookup env, std::vector<std::string>& warnings) {
  Config config = parse_config(config_detail::embedded_default_json, env, warnings);
  config.embedded_default = true;
  return config;
}

}  // namespace server
