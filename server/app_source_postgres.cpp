// The PostgreSQL app source (libpq). Queries are sent asynchronously and awaited with poll()
// so that a hung server or network cannot hold the directory thread past the query timeout.

#include <libpq-fe.h>
#include <poll.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <string>
#include <thread>

#include "server/app_source.hpp"

namespace server {
namespace {

using Clock = std::chrono::steady_clock;

struct ResultDeleter {
  void operator()(PGresult* r) const noexcept { PQclear(r); }
};
using Result = std::unique_ptr<PGresult, ResultDeleter>;

// Letters, digits and '_' with at most one '.' (schema.table): the name goes into SQL text.
bool valid_table_name(std::string_view name) {
  if (name.empty() || name.size() > 128) return false;
  if (std::count(name.begin(), name.end(), '.') > 1) return false;
  if (name.front() == '.' || name.back() == '.') return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '.';
  });
}

// `{"a","b\"c"}`: a text[] literal for `= ANY($1)`.
std::string array_literal(const std::vector<std::string>& values) {
  std::string out = "{";
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i) out += ',';
    out += '"';
    for (const char c : values[i]) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  out += '}';
  return out;
}

std::string column_list() {
  std::string cols;
  for (const AppColumn& c : app_columns) {
    if (!cols.empty()) cols += ", ";
    cols += c.name;
  }
  return cols;
}

// libpq messages end with a newline; keep one line.
std::string one_line(const char* message) {
  std::string s = message ? message : "";
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  std::replace(s.begin(), s.end(), '\n', ' ');
  return s;
}

class PostgresSource final : public AppSource {
 public:
  explicit PostgresSource(const DatabaseSettings& db) : db_(db) {
    if (db_.port == 0) db_.port = 5432;
    if (db_.username.empty()) db_.username = "postgres";
    if (!valid_table_name(db_.table_name)) {
      throw AppSourceError(false, "database.postgres.table_name: expected letters, digits and _ "
                                  "(optionally schema.table), got \"" +
                                      db_.table_name + "\"");
    }
    select_ = "SELECT " + column_list() + " FROM " + db_.table_name + " WHERE ";
  }
  ~PostgresSource() override {
    stop_watching();
    close();
  }

  [[nodiscard]] std::string describe() const override {
    return "postgres " + db_.host + ":" + std::to_string(db_.port) + "/" + db_.database +
           ", table " + db_.table_name;
  }

  void connect() override {
    close();
    conn_ = open_connection();
  }

  [[nodiscard]] bool connected() const override {
    return conn_ != nullptr && PQstatus(conn_) == CONNECTION_OK;
  }

  void ensure_schema() override {
    // Sockudo's table, created only when missing (CREATE needs a privilege that a read-only
    // role on an existing table does not have).
    const Result exists = run("SELECT to_regclass($1) IS NOT NULL", {db_.table_name});
    if (std::string_view(PQgetvalue(exists.get(), 0, 0)) != "t") {
      run("CREATE TABLE IF NOT EXISTS " + db_.table_name +
              " ("
              "id VARCHAR(255) PRIMARY KEY, key VARCHAR(255) UNIQUE NOT NULL, "
              "secret VARCHAR(255) NOT NULL, max_connections INTEGER NOT NULL, "
              "enable_client_messages BOOLEAN NOT NULL DEFAULT FALSE, "
              "enabled BOOLEAN NOT NULL DEFAULT TRUE, max_backend_events_per_second INTEGER, "
              "max_client_events_per_second INTEGER NOT NULL, "
              "max_read_requests_per_second INTEGER, max_presence_members_per_channel INTEGER, "
              "max_presence_member_size_in_kb INTEGER, max_channel_name_length INTEGER, "
              "max_event_channels_at_once INTEGER, max_event_name_length INTEGER, "
              "max_event_payload_in_kb INTEGER, max_event_batch_size INTEGER, "
              "enable_user_authentication BOOLEAN, enable_watchlist_events BOOLEAN, "
              "policy JSONB, webhooks JSONB, allowed_origins JSONB, "
              "channel_delta_compression JSONB, idempotency JSONB, connection_recovery JSONB, "
              "created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP, "
              "updated_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP)",
          {});
    }
    // Columns newer Sockudo versions added; an older table gets them when we may alter it.
    for (const char* col : {"allowed_origins", "webhooks", "channel_delta_compression",
                            "idempotency", "connection_recovery", "policy"}) {
      try {
        run("ALTER TABLE " + db_.table_name + " ADD COLUMN IF NOT EXISTS " + col + " JSONB", {});
      } catch (const AppSourceError& e) {
        if (e.connection) throw;
      }
    }
    try {
      run("SELECT " + column_list() + " FROM " + db_.table_name + " LIMIT 0", {});
    } catch (const AppSourceError& e) {
      if (e.connection) throw;
      throw AppSourceError(false, "table " + db_.table_name + ": " + e.what());
    }
  }

  std::vector<AppRow> select_by(std::string_view column,
                                const std::vector<std::string>& values) override {
    if (column != "id" && column != "key") throw std::invalid_argument("select_by: column");
    if (values.empty()) return {};
    const Result res =
        run(select_ + std::string(column) + " = ANY($1::text[])", {array_literal(values)});
    std::vector<AppRow> rows;
    const int n = PQntuples(res.get());
    rows.reserve(static_cast<std::size_t>(n));
    for (int r = 0; r < n; ++r) {
      AppRow row(app_column_count);
      for (std::size_t c = 0; c < app_column_count; ++c) {
        const int ci = static_cast<int>(c);
        if (!PQgetisnull(res.get(), r, ci)) {
          row[c].emplace(PQgetvalue(res.get(), r, ci),
                         static_cast<std::size_t>(PQgetlength(res.get(), r, ci)));
        }
      }
      rows.push_back(std::move(row));
    }
    return rows;
  }

  void watch(std::function<void(std::string)> changed) override {
    if (db_.notify_channel.empty() || watcher_.joinable()) return;
    watcher_ = std::thread([this, changed = std::move(changed)] { watch_loop(changed); });
  }

  void stop_watching() override {
    stop_watch_.store(true);
    if (watcher_.joinable()) watcher_.join();
  }

 private:
  // A connection with the settings (non-blocking after the handshake); throws AppSourceError.
  PGconn* open_connection() const {
    const std::string port = std::to_string(db_.port);
    const std::string timeout = std::to_string(std::max<long long>(1, db_.connect_timeout.count()));
    const std::string user_timeout = std::to_string(db_.query_timeout.count());
    // statement_timeout: the server gives up on a slow query too.
    const std::string options = "-c statement_timeout=" + std::to_string(db_.query_timeout.count());
    std::vector<const char*> keys = {"host",    "port",     "user",
                                     "dbname",  "password", "connect_timeout",
                                     "options", "application_name", "tcp_user_timeout"};
    std::vector<const char*> values = {db_.host.c_str(),     port.c_str(),
                                       db_.username.c_str(), db_.database.c_str(),
                                       db_.password.c_str(), timeout.c_str(),
                                       options.c_str(),      "pushcore",
                                       user_timeout.c_str()};
    const auto add = [&](const char* k, const std::string& v) {
      if (v.empty()) return;
      keys.push_back(k);
      values.push_back(v.c_str());
    };
    add("sslmode", db_.ssl_mode);
    add("sslrootcert", db_.ssl_ca_path);
    add("sslcert", db_.ssl_cert_path);
    add("sslkey", db_.ssl_key_path);
    keys.push_back(nullptr);
    values.push_back(nullptr);
    PGconn* conn = PQconnectdbParams(keys.data(), values.data(), 0);
    if (conn == nullptr || PQstatus(conn) != CONNECTION_OK) {
      const std::string why = conn ? one_line(PQerrorMessage(conn)) : "out of memory";
      if (conn != nullptr) PQfinish(conn);
      throw AppSourceError(true, "postgres " + db_.host + ":" + port + "/" + db_.database + ": " +
                                     why);
    }
    PQsetnonblocking(conn, 1);
    // Server notices ("column ... already exists, skipping") are not worth a line on stderr.
    PQsetNoticeProcessor(conn, [](void*, const char*) {}, nullptr);
    return conn;
  }

  // The LISTEN connection (its own thread): each notification's payload goes to `changed`; after
  // a reconnect "" (notifications may have been missed meanwhile). Backoff 100 ms .. 5 s.
  void watch_loop(const std::function<void(std::string)>& changed) {
    PGconn* conn = nullptr;
    auto backoff = std::chrono::milliseconds{100};
    bool first = true;
    while (!stop_watch_.load()) {
      if (conn == nullptr) {
        try {
          conn = open_connection();
          // Quoted: the channel matches pg_notify('<channel>', ...) exactly (checked at load:
          // letters, digits and _).
          const std::string listen = "LISTEN \"" + db_.notify_channel + "\"";
          PQclear(PQexec(conn, listen.c_str()));  // blocking is fine: its own connection
          if (PQstatus(conn) != CONNECTION_OK) throw AppSourceError(true, "LISTEN failed");
          backoff = std::chrono::milliseconds{100};
          if (!first) changed("");
          first = false;
        } catch (const AppSourceError&) {
          if (conn != nullptr) PQfinish(conn);
          conn = nullptr;
          for (auto slept = std::chrono::milliseconds{0}; slept < backoff && !stop_watch_.load();
               slept += std::chrono::milliseconds{50}) {
            std::this_thread::sleep_for(std::chrono::milliseconds{50});
          }
          backoff = std::min(backoff * 2, std::chrono::milliseconds{5000});
          continue;
        }
      }
      pollfd p{PQsocket(conn), POLLIN, 0};
      const int rc = ::poll(&p, 1, 200);  // wakes up to look at stop_watch_
      if (rc < 0 && errno != EINTR) continue;
      if (rc > 0 && (!PQconsumeInput(conn) || PQstatus(conn) != CONNECTION_OK)) {
        PQfinish(conn);
        conn = nullptr;
        continue;
      }
      while (PGnotify* n = PQnotifies(conn)) {
        changed(n->extra ? std::string(n->extra) : std::string());
        PQfreemem(n);
      }
    }
    if (conn != nullptr) PQfinish(conn);
  }

  void close() noexcept {
    if (conn_ != nullptr) PQfinish(conn_);
    conn_ = nullptr;
  }

  [[noreturn]] void lost(const std::string& why) {
    close();
    throw AppSourceError(true, "postgres: " + why);
  }

  // Waits until the socket is ready for `events` or the deadline passes.
  bool wait(short events, Clock::time_point deadline) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) return false;
    pollfd p{PQsocket(conn_), events, 0};
    const int rc = ::poll(&p, 1, static_cast<int>(left));
    return rc > 0 || (rc < 0 && errno == EINTR);
  }

  // One statement with text parameters, its single result returned; throws AppSourceError.
  Result run(const std::string& sql, const std::vector<std::string>& params) {
    if (!connected()) lost("not connected");
    const auto deadline = Clock::now() + db_.query_timeout;
    std::vector<const char*> values;
    for (const std::string& p : params) values.push_back(p.c_str());
    if (!PQsendQueryParams(conn_, sql.c_str(), static_cast<int>(values.size()), nullptr,
                           values.data(), nullptr, nullptr, 0)) {
      lost(one_line(PQerrorMessage(conn_)));
    }
    while (true) {  // flush the request
      const int f = PQflush(conn_);
      if (f == 0) break;
      if (f < 0 || !wait(POLLOUT, deadline)) lost("query timed out or failed while sending");
    }
    Result result;
    std::string error;
    while (true) {
      while (PQisBusy(conn_)) {
        if (!wait(POLLIN, deadline)) {
          lost("query timed out after " + std::to_string(db_.query_timeout.count()) + " ms");
        }
        if (!PQconsumeInput(conn_)) lost(one_line(PQerrorMessage(conn_)));
      }
      PGresult* r = PQgetResult(conn_);
      if (r == nullptr) break;
      Result one(r);
      const ExecStatusType st = PQresultStatus(r);
      if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK && error.empty()) {
        error = one_line(PQresultErrorMessage(r));
      }
      if (!result) result = std::move(one);
    }
    if (PQstatus(conn_) != CONNECTION_OK) lost(error.empty() ? "connection lost" : error);
    if (!error.empty()) throw AppSourceError(false, error);
    if (!result) throw AppSourceError(false, "no result");
    return result;
  }

  DatabaseSettings db_;
  std::string select_;
  PGconn* conn_ = nullptr;
  std::thread watcher_;
  std::atomic<bool> stop_watch_{false};
};

}  // namespace

std::unique_ptr<AppSource> make_postgres_source(const DatabaseSettings& db) {
  return std::make_unique<PostgresSource>(db);
}

std::unique_ptr<AppSource> make_app_source(const AppManagerSettings& settings) {
  if (settings.driver == "mysql") return make_mysql_source(settings.mysql);
  return make_postgres_source(settings.postgres);
}

}  // namespace server
