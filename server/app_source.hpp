#pragma once
// Where the database app managers read apps from (docs/APP_MANAGERS.md): one relational table
// with Sockudo's schema (`applications`: id, key, secret, limit columns, feature columns and the
// JSON columns policy / webhooks / allowed_origins ...). An AppSource is a blocking client of one
// database connection, used only by the AppDirectory's own thread (never by a worker).
//
// Drivers: app_source_postgres.cpp (libpq), app_source_mysql.cpp (MariaDB Connector/C; MySQL
// and MariaDB servers).

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "server/config.hpp"

namespace server {

/// How a cell of the table is turned into the app's JSON (app_row_to_json).
enum class ColumnKind : unsigned char { text, integer, boolean, json };

struct AppColumn {
  std::string_view name;
  ColumnKind kind;
};

/// The columns read, in this order, by every driver (Sockudo's pg/mysql app managers read the
/// same ones). A row is one cell per column.
inline constexpr AppColumn app_columns[] = {
    {"id", ColumnKind::text},
    {"key", ColumnKind::text},
    {"secret", ColumnKind::text},
    {"max_connections", ColumnKind::integer},
    {"enable_client_messages", ColumnKind::boolean},
    {"enabled", ColumnKind::boolean},
    {"max_backend_events_per_second", ColumnKind::integer},
    {"max_client_events_per_second", ColumnKind::integer},
    {"max_read_requests_per_second", ColumnKind::integer},
    {"max_presence_members_per_channel", ColumnKind::integer},
    {"max_presence_member_size_in_kb", ColumnKind::integer},
    {"max_channel_name_length", ColumnKind::integer},
    {"max_event_channels_at_once", ColumnKind::integer},
    {"max_event_name_length", ColumnKind::integer},
    {"max_event_payload_in_kb", ColumnKind::integer},
    {"max_event_batch_size", ColumnKind::integer},
    {"enable_user_authentication", ColumnKind::boolean},
    {"enable_watchlist_events", ColumnKind::boolean},
    {"policy", ColumnKind::json},
    {"webhooks", ColumnKind::json},
    {"allowed_origins", ColumnKind::json},
    {"channel_delta_compression", ColumnKind::json},
    {"idempotency", ColumnKind::json},
    {"connection_recovery", ColumnKind::json},
};
inline constexpr std::size_t app_column_count = sizeof(app_columns) / sizeof(app_columns[0]);

/// One row: the cells as the database's text form, in app_columns order; nullopt is SQL NULL.
/// Booleans may be "t"/"f" (PostgreSQL), "1"/"0" (MySQL) or "true"/"false".
using AppRow = std::vector<std::optional<std::string>>;

/// A failed database operation. `connection` is true when the connection is gone or could not
/// be made (the directory reconnects with backoff); false for a query the server refused
/// (schema, permissions). The message never contains the password.
class AppSourceError : public std::runtime_error {
 public:
  AppSourceError(bool connection_lost, const std::string& message)
      : std::runtime_error(message), connection(connection_lost) {}
  bool connection;
};

class AppSource {
 public:
  virtual ~AppSource() = default;

  /// "postgres 127.0.0.1:5432/sockudo, table applications" (no credentials), for log lines.
  [[nodiscard]] virtual std::string describe() const = 0;
  /// (Re)connects, bounded by the settings' connect timeout. Throws AppSourceError.
  virtual void connect() = 0;
  [[nodiscard]] virtual bool connected() const = 0;
  /// Creates the table when it does not exist (Sockudo's schema), adds the JSON columns an older
  /// Sockudo table may lack (when permitted), then checks that every column of app_columns can be
  /// read. Throws AppSourceError naming what is wrong.
  virtual void ensure_schema() = 0;
  /// The rows whose `column` ("id" or "key") equals one of `values` (at most
  /// max_values_per_query), each query bounded by the settings' query timeout. Throws
  /// AppSourceError; after a connection error connected() is false.
  virtual std::vector<AppRow> select_by(std::string_view column,
                                        const std::vector<std::string>& values) = 0;

  static constexpr std::size_t max_values_per_query = 500;

  /// Change notifications, where the database has them (PostgreSQL LISTEN on
  /// database.postgres.notify_channel): `changed` is called from the source's own thread with
  /// the payload (an app id), or with "" when notifications may have been missed (after a
  /// reconnect). Default: none. Called once, after connect() succeeded.
  virtual void watch(std::function<void(std::string)> changed) { (void)changed; }
  /// Stops the watch thread (before the receiver of `changed` goes away). Idempotent.
  virtual void stop_watching() {}
};

/// The driver for settings.driver ("postgres" or "mysql").
std::unique_ptr<AppSource> make_app_source(const AppManagerSettings& settings);
std::unique_ptr<AppSource> make_postgres_source(const DatabaseSettings& db);
std::unique_ptr<AppSource> make_mysql_source(const DatabaseSettings& db);

/// The row as the JSON of one app in Sockudo's shape (flat keys for the columns, `policy`,
/// `webhooks`, `allowed_origins` as stored; NULL cells left out), for the config loader's app
/// reader. Returns "" and sets `error` ("column max_connections: not an integer: ...") when a
/// cell cannot be converted.
std::string app_row_to_json(const AppRow& row, std::string& error);

}  // namespace server
