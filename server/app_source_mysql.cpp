// The MySQL / MariaDB driver of AppSource: MariaDB Connector/C, blocking API, one connection,
// used only by the AppDirectory's thread. Every statement is built as text (ids and keys are
// escaped with mysql_real_escape_string on this connection, whose character set is utf8mb4 and
// whose sql_mode has no NO_BACKSLASH_ESCAPES), so one round trip answers a whole batch.

#include <errmsg.h>
#include <mysql.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "server/app_source.hpp"

namespace server {
namespace {

constexpr std::uint16_t default_port = 3306;

// Server-side codes that also mean "this connection is unusable": shutdown in progress
// (ER_SERVER_SHUTDOWN), killed (MariaDB's ER_CONNECTION_KILLED), idle timeout (MySQL 8's
// ER_CLIENT_INTERACTION_TIMEOUT).
constexpr unsigned server_shutdown = 1053;
constexpr unsigned connection_killed = 1927;
constexpr unsigned client_interaction_timeout = 4031;

// Client-library errors (CR_*: 2000..2999) are about the link, not the query: server gone or
// lost, cannot connect, commands out of sync, out of memory... After one the handle is closed
// and the directory reconnects with backoff.
bool is_connection_error(unsigned code) {
  return (code >= CR_MIN_ERROR && code <= CR_MAX_ERROR) || code == server_shutdown ||
         code == connection_killed || code == client_interaction_timeout;
}

// ER_CANT_AGGREGATE_2COLLATIONS, _3COLLATIONS, _NCOLLATIONS and ER_INVALID_CHARACTER_STRING:
// the server cannot compare a column with a literal in another character set.
bool is_charset_mismatch(unsigned code) {
  return code == 1267 || code == 1270 || code == 1271 || code == 1300;
}

bool is_identifier_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

// The table name goes into SQL unescaped (quoted with backticks), so only plain identifiers
// are accepted, optionally qualified by a schema.
std::string quoted_table(const std::string& name) {
  const auto dot = name.find('.');
  const bool ok = !name.empty() && name.size() <= 128 &&
                  std::all_of(name.begin(), name.end(),
                              [](char c) { return is_identifier_char(c) || c == '.'; }) &&
                  (dot == std::string::npos || (dot != 0 && dot + 1 != name.size() &&
                                                name.find('.', dot + 1) == std::string::npos));
  if (!ok) {
    throw AppSourceError(false,
                         "database.mysql.table_name: expected letters, digits and _ (optionally "
                         "schema.table), got \"" +
                             name + "\"");
  }
  if (dot == std::string::npos) return "`" + name + "`";
  return "`" + name.substr(0, dot) + "`.`" + name.substr(dot + 1) + "`";
}

// `id`, `key`, ... in app_columns order (every name backticked: `key` is a reserved word).
std::string column_list() {
  std::string out;
  for (const auto& c : app_columns) {
    if (!out.empty()) out += ", ";
    out += '`';
    out += c.name;
    out += '`';
  }
  return out;
}

// Sockudo's MySQL schema (its mysql app manager creates the same table).
constexpr const char* create_columns =
    " (id VARCHAR(255) CHARACTER SET ascii COLLATE ascii_general_ci PRIMARY KEY,"
    " `key` VARCHAR(255) CHARACTER SET ascii COLLATE ascii_general_ci UNIQUE NOT NULL,"
    " secret VARCHAR(255) NOT NULL,"
    " max_connections INT UNSIGNED NOT NULL,"
    " enable_client_messages BOOLEAN NOT NULL DEFAULT FALSE,"
    " enabled BOOLEAN NOT NULL DEFAULT TRUE,"
    " max_backend_events_per_second INT UNSIGNED NULL,"
    " max_client_events_per_second INT UNSIGNED NOT NULL,"
    " max_read_requests_per_second INT UNSIGNED NULL,"
    " max_presence_members_per_channel INT UNSIGNED NULL,"
    " max_presence_member_size_in_kb INT UNSIGNED NULL,"
    " max_channel_name_length INT UNSIGNED NULL,"
    " max_event_channels_at_once INT UNSIGNED NULL,"
    " max_event_name_length INT UNSIGNED NULL,"
    " max_event_payload_in_kb INT UNSIGNED NULL,"
    " max_event_batch_size INT UNSIGNED NULL,"
    " enable_user_authentication BOOLEAN NULL,"
    " enable_watchlist_events BOOLEAN NULL,"
    " policy JSON NULL,"
    " webhooks JSON NULL,"
    " allowed_origins JSON NULL,"
    " channel_delta_compression JSON NULL,"
    " idempotency JSON NULL,"
    " connection_recovery JSON NULL,"
    " created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,"
    " updated_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP"
    ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci";

// Columns newer Sockudo versions added: a table created by an older one may lack them.
constexpr const char* added_columns[] = {
    "allowed_origins JSON NULL",
    "webhooks JSON NULL",
    "channel_delta_compression JSON NULL",
    "idempotency JSON NULL",
    "connection_recovery JSON NULL",
    "policy JSON NULL",
    "enable_watchlist_events BOOLEAN NULL",
};

class MysqlSource final : public AppSource {
 public:
  explicit MysqlSource(const DatabaseSettings& db)
      : db_(db), table_(quoted_table(db.table_name)), columns_(column_list()) {
    if (db_.port == 0) db_.port = default_port;
    if (db_.username.empty()) db_.username = "root";
  }
  ~MysqlSource() override { close(); }
  MysqlSource(const MysqlSource&) = delete;
  MysqlSource& operator=(const MysqlSource&) = delete;

  [[nodiscard]] std::string describe() const override {
    return "mysql " + where() + ", table " + db_.table_name;
  }

  void connect() override {
    close();
    // mysql_init would initialise the library lazily, which is not thread-safe; do it once.
    static std::once_flag library_once;
    std::call_once(library_once, [] { mysql_library_init(0, nullptr, nullptr); });
    conn_ = mysql_init(nullptr);
    if (conn_ == nullptr) throw AppSourceError(true, "mysql " + where() + ": out of memory");

    const unsigned connect_timeout =
        static_cast<unsigned>(std::max<std::chrono::seconds::rep>(1, db_.connect_timeout.count()));
    // Read and write timeouts bound every query (whole seconds: the library's unit).
    const auto ms = db_.query_timeout.count();
    const unsigned io_timeout = static_cast<unsigned>(std::max<decltype(ms)>(1, (ms + 999) / 1000));
    const my_bool no_reconnect = 0;  // a silent reconnect would hide the outage from connected()
    // Always TCP to host:port: the library would take "localhost" as its default unix socket.
    const unsigned protocol = MYSQL_PROTOCOL_TCP;
    mysql_optionsv(conn_, MYSQL_OPT_CONNECT_TIMEOUT, &connect_timeout);
    mysql_optionsv(conn_, MYSQL_OPT_READ_TIMEOUT, &io_timeout);
    mysql_optionsv(conn_, MYSQL_OPT_WRITE_TIMEOUT, &io_timeout);
    mysql_optionsv(conn_, MYSQL_OPT_RECONNECT, &no_reconnect);
    mysql_optionsv(conn_, MYSQL_OPT_PROTOCOL, &protocol);
    mysql_optionsv(conn_, MYSQL_SET_CHARSET_NAME, "utf8mb4");
    set_tls_options();

    if (mysql_real_connect(conn_, db_.host.c_str(), db_.username.c_str(), db_.password.c_str(),
                           db_.database.c_str(), db_.port, nullptr, 0) == nullptr) {
      const std::string message = "mysql " + where() + ": " + mysql_error(conn_);
      close();
      throw AppSourceError(true, message);
    }
    // MYSQL_OPT_SSL_ENFORCE alone does not refuse a server without TLS (Connector/C 3.3 then
    // goes on in plain text): check that the session really is encrypted.
    if (tls_required() && mysql_get_ssl_cipher(conn_) == nullptr) {
      close();
      throw AppSourceError(true, "mysql " + where() + ": ssl_mode " + db_.ssl_mode +
                                     ", but the server did not start TLS");
    }
    // With NO_BACKSLASH_ESCAPES a backslash would be an ordinary character inside quotes; the
    // escaping below assumes the default meaning, so make sure of it for this session.
    if (mysql_query(
            conn_,
            "SET SESSION sql_mode = REPLACE(@@SESSION.sql_mode, 'NO_BACKSLASH_ESCAPES', '')") !=
        0) {
      const std::string message = "mysql " + where() + ": " + mysql_error(conn_);
      close();
      throw AppSourceError(true, message);
    }
  }

  [[nodiscard]] bool connected() const override { return conn_ != nullptr; }

  void ensure_schema() override {
    require_connection();
    // Errors of CREATE and ALTER are not fatal (no privilege, an existing table, MySQL without
    // ADD COLUMN IF NOT EXISTS): the probe below decides whether the table can be read.
    std::string create_error;
    if (!execute("CREATE TABLE IF NOT EXISTS " + table_ + create_columns)) {
      create_error = mysql_error(conn_);
    }
    for (const char* column : added_columns) {
      execute("ALTER TABLE " + table_ + " ADD COLUMN IF NOT EXISTS " + column);
    }
    if (!execute("SELECT " + columns_ + " FROM " + table_ + " LIMIT 0")) {
      std::string message = "table " + db_.table_name + ": " + mysql_error(conn_);
      if (!create_error.empty()) message += " (CREATE TABLE: " + create_error + ")";
      throw AppSourceError(false, message);
    }
  }

  std::vector<AppRow> select_by(std::string_view column,
                                const std::vector<std::string>& values) override {
    if (column != "id" && column != "key") {
      throw std::invalid_argument("select_by: column must be id or key");
    }
    if (values.size() > max_values_per_query) {
      throw std::invalid_argument("select_by: too many values");
    }
    if (values.empty()) return {};
    require_connection();

    // Sockudo's id and key columns are CHARACTER SET ascii: comparing one with a value that has
    // a byte >= 0x80 fails the whole statement ("Illegal mix of collations"). Such values go in
    // a query of their own, so that one odd key from a client cannot fail a batch, and that
    // error there means "no such row" (a table with utf8mb4 columns answers it normally).
    std::vector<std::string_view> ascii;
    std::vector<std::string_view> other;
    for (const std::string& v : values) {
      const bool plain = std::all_of(v.begin(), v.end(),
                                     [](char c) { return static_cast<unsigned char>(c) < 0x80; });
      (plain ? ascii : other).push_back(v);
    }
    std::vector<AppRow> rows;
    if (!ascii.empty()) query_rows(column, ascii, false, rows);
    if (!other.empty()) query_rows(column, other, true, rows);
    return rows;
  }

 private:
  [[nodiscard]] std::string where() const {
    return db_.host + ":" + std::to_string(db_.port) + "/" + db_.database;
  }

  void close() noexcept {
    if (conn_ != nullptr) mysql_close(conn_);
    conn_ = nullptr;
  }

  void require_connection() const {
    if (conn_ == nullptr) throw AppSourceError(true, "mysql: not connected");
  }

  // TLS follows libpq's sslmode words: require = encrypted, verify-ca / verify-full = encrypted
  // and the server's certificate checked (the library checks chain and host name together).
  [[nodiscard]] bool tls_verify() const {
    return db_.ssl_mode == "verify-ca" || db_.ssl_mode == "verify-full";
  }
  [[nodiscard]] bool tls_required() const { return tls_verify() || db_.ssl_mode == "require"; }

  void set_tls_options() {
    const std::string& mode = db_.ssl_mode;
    const bool verify = tls_verify();
    const bool enforce = tls_required();
    if (mode == "disable") return;
    if (!enforce && db_.ssl_ca_path.empty() && db_.ssl_cert_path.empty()) return;
    const auto path = [](const std::string& p) { return p.empty() ? nullptr : p.c_str(); };
    mysql_optionsv(conn_, MYSQL_OPT_SSL_KEY, path(db_.ssl_key_path));
    mysql_optionsv(conn_, MYSQL_OPT_SSL_CERT, path(db_.ssl_cert_path));
    mysql_optionsv(conn_, MYSQL_OPT_SSL_CA, path(db_.ssl_ca_path));
    if (enforce) {
      const my_bool on = 1;
      mysql_optionsv(conn_, MYSQL_OPT_SSL_ENFORCE, &on);
    }
    // Explicit either way: newer libraries verify by default, which "require" must not do.
    const my_bool check = verify ? 1 : 0;
    mysql_optionsv(conn_, MYSQL_OPT_SSL_VERIFY_SERVER_CERT, &check);
  }

  // Runs a statement and discards any result. False when the server refused it (the error is
  // still readable with mysql_error); throws when the connection is gone.
  bool execute(const std::string& sql) {
    if (mysql_real_query(conn_, sql.data(), sql.size()) == 0) {
      if (MYSQL_RES* result = mysql_store_result(conn_)) {
        mysql_free_result(result);
        return true;
      }
      if (mysql_field_count(conn_) == 0) return true;  // no result set expected
    }
    if (is_connection_error(mysql_errno(conn_))) fail("");
    return false;
  }

  [[noreturn]] void fail(const std::string& what) {
    const unsigned code = mysql_errno(conn_);
    const std::string error = mysql_error(conn_);
    if (is_connection_error(code)) {
      close();
      throw AppSourceError(true, "mysql: " + error);
    }
    throw AppSourceError(false, what + error);
  }

  // SELECT ... WHERE `column` IN (values), the rows appended to `rows`. With
  // `charset_mismatch_is_empty`, a server that cannot compare the column with the values (the
  // column's character set cannot hold them) is taken as no match.
  void query_rows(std::string_view column, const std::vector<std::string_view>& values,
                  bool charset_mismatch_is_empty, std::vector<AppRow>& rows) {
    std::string sql = "SELECT " + columns_ + " FROM " + table_ + " WHERE `";
    sql += column;
    sql += "` IN (";
    std::string escaped;
    for (std::size_t i = 0; i < values.size(); ++i) {
      const std::string_view v = values[i];
      // Worst case every byte becomes two, plus the terminator the library writes.
      escaped.resize(v.size() * 2 + 1);
      const unsigned long n = mysql_real_escape_string(conn_, escaped.data(), v.data(), v.size());
      if (i != 0) sql += ',';
      sql += '\'';
      sql.append(escaped.data(), n);
      sql += '\'';
    }
    sql += ')';

    if (mysql_real_query(conn_, sql.data(), sql.size()) != 0) {
      if (charset_mismatch_is_empty && is_charset_mismatch(mysql_errno(conn_))) return;
      fail("mysql query: ");
    }
    MYSQL_RES* result = mysql_store_result(conn_);
    if (result == nullptr) fail("mysql query: ");  // a SELECT always has a result set
    const unsigned fields = mysql_num_fields(result);
    if (fields != app_column_count) {
      mysql_free_result(result);
      throw AppSourceError(false, "mysql query: expected " + std::to_string(app_column_count) +
                                      " columns, got " + std::to_string(fields));
    }
    while (MYSQL_ROW row = mysql_fetch_row(result)) {
      const unsigned long* lengths = mysql_fetch_lengths(result);
      AppRow& out = rows.emplace_back();
      out.reserve(app_column_count);
      for (std::size_t i = 0; i < app_column_count; ++i) {
        if (row[i] == nullptr) {
          out.emplace_back(std::nullopt);
        } else {
          out.emplace_back(std::string(row[i], lengths[i]));
        }
      }
    }
    mysql_free_result(result);
  }

  DatabaseSettings db_;
  std::string table_;    // quoted for SQL
  std::string columns_;  // the select list
  MYSQL* conn_ = nullptr;
};

}  // namespace

std::unique_ptr<AppSource> make_mysql_source(const DatabaseSettings& db) {
  return std::make_unique<MysqlSource>(db);
}

}  // namespace server
