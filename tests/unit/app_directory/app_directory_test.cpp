#include "server/app_directory.hpp"

#include <doctest/doctest.h>

#include <condition_variable>
#include <map>
#include <mutex>

#include "server/hub.hpp"
#include "server/worker.hpp"

using namespace server;
using namespace std::chrono_literals;

namespace {

// What the scripted database holds and how it behaves; shared with the test thread.
struct FakeDb {
  std::mutex m;
  std::condition_variable cv;
  std::map<std::string, AppRow> rows;  // by id
  bool up = true;
  bool gate_closed = false;  // select_by waits while true
  std::vector<std::vector<std::string>> queries;

  void put(const std::string& id, const std::string& key, const std::string& secret,
           bool enabled = true, std::optional<std::string> max_connections = "0") {
    std::lock_guard lock(m);
    AppRow row(app_column_count);
    row[0] = id;
    row[1] = key;
    row[2] = secret;
    row[3] = std::move(max_connections);
    row[5] = enabled ? "t" : "f";
    row[7] = "100";
    rows[id] = row;
  }
  std::size_t query_count() {
    std::lock_guard lock(m);
    return queries.size();
  }
};

class FakeSource final : public AppSource {
 public:
  explicit FakeSource(FakeDb& db) : db_(db) {}
  std::string describe() const override { return "fake"; }
  void connect() override {
    std::lock_guard lock(db_.m);
    if (!db_.up) throw AppSourceError(true, "fake: down");
    connected_ = true;
  }
  bool connected() const override { return connected_; }
  void ensure_schema() override {}
  std::vector<AppRow> select_by(std::string_view column,
                                const std::vector<std::string>& values) override {
    std::unique_lock lock(db_.m);
    db_.cv.wait(lock, [&] { return !db_.gate_closed; });
    if (!db_.up) {
      connected_ = false;
      throw AppSourceError(true, "fake: connection lost");
    }
    db_.queries.push_back(values);
    std::vector<AppRow> out;
    for (const auto& [id, row] : db_.rows) {
      const std::string& v = column == "id" ? *row[0] : *row[1];
      if (std::find(values.begin(), values.end(), v) != values.end()) out.push_back(row);
    }
    return out;
  }

 private:
  FakeDb& db_;
  bool connected_ = false;
};

Config db_config(std::chrono::milliseconds lookup_timeout = 2000ms) {
  Config c;
  c.workers = 1;
  c.app_manager.driver = "postgres";
  c.app_manager.cache_ttl = 1s;
  c.app_manager.negative_ttl = 1s;
  c.app_manager.max_apps = 8;
  c.app_manager.lookup_timeout = lookup_timeout;
  return c;
}

struct Answer {
  bool immediate = false;
  bool answered = false;
  AppRuntime* app = nullptr;
};

// The test thread plays the worker: find_app, then runs the worker's io_context until answered.
Answer resolve(Hub& hub, AppLookup by, const std::string& value,
               std::chrono::milliseconds max = 3000ms) {
  Answer a;
  net::io_context& ioc = hub.workers().front()->ioc();
  if (const auto found = hub.find_app(by, value)) {
    a.immediate = a.answered = true;
    a.app = *found;
    return a;
  }
  hub.ask_database(by, value, ioc, [&a](AppRuntime* app) {
    a.answered = true;
    a.app = app;
  });
  const auto deadline = std::chrono::steady_clock::now() + max;
  while (!a.answered && std::chrono::steady_clock::now() < deadline) {
    ioc.restart();
    ioc.run_for(5ms);
  }
  return a;
}

}  // namespace

TEST_CASE("app_row_to_json: columns as Sockudo's app keys, NULLs left out") {
  AppRow row(app_column_count);
  row[0] = "42";
  row[1] = "k\"ey";
  row[2] = "s";
  row[3] = "10";
  row[4] = "1";      // MySQL boolean
  row[5] = "t";      // PostgreSQL boolean
  row[18] = R"({"limits":{"max_connections":3}})";
  std::string error;
  CHECK(app_row_to_json(row, error) ==
        R"({"id":"42","key":"k\"ey","secret":"s","max_connections":10,"enable_client_messages":true,"enabled":true,"policy":{"limits":{"max_connections":3}}})");
  row[3] = "-1";
  CHECK(app_row_to_json(row, error).empty());
  CHECK(error == "column max_connections: expected a non-negative integer");
  row[3] = "1";
  row[5] = "maybe";
  CHECK(app_row_to_json(row, error).empty());
  CHECK(error == "column enabled: expected a boolean");
  CHECK(app_row_to_json(AppRow(3), error).empty());
}

TEST_CASE("app directory: cached apps, negative entries, coalesced and batched lookups") {
  FakeDb db;
  db.put("1", "k1", "s1");
  Hub hub(db_config(), std::make_unique<FakeSource>(db));
  AppDirectory& dir = *hub.directory();
  dir.open();
  dir.start();

  Answer a = resolve(hub, AppLookup::key, "k1");
  REQUIRE(a.answered);
  CHECK_FALSE(a.immediate);
  REQUIRE(a.app != nullptr);
  CHECK(a.app->app->secret == "s1");
  // Now in memory: by key and by id, no query.
  const std::size_t q = db.query_count();
  CHECK(resolve(hub, AppLookup::key, "k1").immediate);
  CHECK(resolve(hub, AppLookup::id, "1").app == a.app);
  CHECK(db.query_count() == q);
  CHECK(dir.stats().hits.load() == 2);

  // Unknown: refused, then answered from the negative entry without a query.
  Answer u = resolve(hub, AppLookup::key, "nope");
  CHECK(u.answered);
  CHECK(u.app == nullptr);
  const std::size_t q2 = db.query_count();
  CHECK(resolve(hub, AppLookup::key, "nope").immediate);
  CHECK(db.query_count() == q2);
  CHECK(dir.stats().negative.load() == 1);
  // An overlong key is never asked for.
  CHECK(resolve(hub, AppLookup::key, std::string(300, 'x')).immediate);
  CHECK(db.query_count() == q2);

  // While the thread is busy, 30 lookups of one key and 5 other keys wait; then one query
  // carries each distinct key once.
  {
    std::lock_guard lock(db.m);
    db.gate_closed = true;
  }
  db.put("2", "k2", "s2");
  net::io_context& ioc = hub.workers().front()->ioc();
  int answered = 0;
  AppRuntime* k2_app = nullptr;
  auto count = [&](AppRuntime* app) {
    ++answered;
    if (app != nullptr) k2_app = app;
  };
  hub.ask_database(AppLookup::key, "blocker", ioc, [&](AppRuntime*) { ++answered; });
  std::this_thread::sleep_for(50ms);  // the thread now waits in select_by("blocker")
  for (int i = 0; i < 30; ++i) hub.ask_database(AppLookup::key, "k2", ioc, count);
  for (int i = 0; i < 5; ++i) {
    hub.ask_database(AppLookup::key, "other" + std::to_string(i), ioc,
                     [&](AppRuntime*) { ++answered; });
  }
  {
    std::lock_guard lock(db.m);
    db.gate_closed = false;
  }
  db.cv.notify_all();
  const auto deadline = std::chrono::steady_clock::now() + 3s;
  while (answered < 36 && std::chrono::steady_clock::now() < deadline) {
    ioc.restart();
    ioc.run_for(5ms);
  }
  CHECK(answered == 36);
  REQUIRE(k2_app != nullptr);
  CHECK(k2_app->app->key == "k2");
  {
    std::lock_guard lock(db.m);
    REQUIRE(db.queries.size() >= 2);
    const auto& batch = db.queries.back();
    CHECK(batch.size() == 6);  // k2 once and other0..4
    CHECK(std::count(batch.begin(), batch.end(), "k2") == 1);
  }
  dir.stop();
}

TEST_CASE("app directory: rows changed, disabled and deleted apply within the TTL") {
  FakeDb db;
  db.put("1", "k1", "s1");
  db.put("2", "k2", "s2");
  Hub hub(db_config(), std::make_unique<FakeSource>(db));
  AppDirectory& dir = *hub.directory();
  dir.open();
  dir.start();
  AppRuntime* one = resolve(hub, AppLookup::key, "k1").app;
  AppRuntime* two = resolve(hub, AppLookup::key, "k2").app;
  REQUIRE(one != nullptr);
  REQUIRE(two != nullptr);
  db.put("1", "k1-new", "s1-new");  // a new key and secret
  db.put("2", "k2", "s2", /*enabled=*/false);
  const auto deadline = std::chrono::steady_clock::now() + 4s;
  while (std::chrono::steady_clock::now() < deadline &&
         (one->app->secret != "s1-new" || two->app->enabled)) {
    std::this_thread::sleep_for(20ms);
  }
  CHECK(one->app->secret == "s1-new");
  CHECK(hub.app_by_key("k1") == nullptr);
  CHECK(hub.app_by_key("k1-new") == one);  // the same slot
  CHECK_FALSE(two->app->enabled);
  {
    std::lock_guard lock(db.m);
    db.rows.erase("1");
  }
  const auto deadline2 = std::chrono::steady_clock::now() + 4s;
  while (std::chrono::steady_clock::now() < deadline2 && !one->removed.load()) {
    std::this_thread::sleep_for(20ms);
  }
  CHECK(one->removed.load());
  CHECK(hub.app_by_id("1") == nullptr);
  // A bad row is not served (and counted).
  db.put("3", "k3", "s3", true, "lots");
  CHECK(resolve(hub, AppLookup::key, "k3").app == nullptr);
  CHECK(dir.stats().bad_rows.load() >= 1);
  dir.stop();
}

TEST_CASE("app directory: database down, cached apps stay, unknown keys refused at once") {
  FakeDb db;
  db.put("1", "k1", "s1");
  Hub hub(db_config(), std::make_unique<FakeSource>(db));
  AppDirectory& dir = *hub.directory();
  dir.open();
  dir.start();
  REQUIRE(resolve(hub, AppLookup::key, "k1").app != nullptr);
  {
    std::lock_guard lock(db.m);
    db.up = false;
  }
  // The next query notices; then new keys are refused without waiting.
  (void)resolve(hub, AppLookup::key, "probe");
  const auto deadline = std::chrono::steady_clock::now() + 3s;
  while (dir.available() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(10ms);
  }
  CHECK_FALSE(dir.available());
  const Answer refused = resolve(hub, AppLookup::key, "new-key");
  CHECK(refused.answered);
  CHECK(refused.app == nullptr);
  CHECK(resolve(hub, AppLookup::key, "k1").immediate);  // the cached app
  CHECK(dir.stats().refused.load() >= 1);
  // Not remembered as unknown: served once the database is back.
  db.put("9", "new-key", "s9");
  {
    std::lock_guard lock(db.m);
    db.up = true;
  }
  const auto deadline2 = std::chrono::steady_clock::now() + 6s;
  while (!dir.available() && std::chrono::steady_clock::now() < deadline2) {
    std::this_thread::sleep_for(10ms);
  }
  CHECK(dir.available());
  CHECK(resolve(hub, AppLookup::key, "new-key").app != nullptr);
  dir.stop();
}

TEST_CASE("app directory: a slow database answers the caller 'unknown' at lookup_timeout") {
  FakeDb db;
  Hub hub(db_config(100ms), std::make_unique<FakeSource>(db));
  AppDirectory& dir = *hub.directory();
  dir.open();
  dir.start();
  {
    std::lock_guard lock(db.m);
    db.gate_closed = true;
  }
  const auto t0 = std::chrono::steady_clock::now();
  const Answer a = resolve(hub, AppLookup::key, "k1");
  const auto waited = std::chrono::steady_clock::now() - t0;
  CHECK(a.answered);
  CHECK(a.app == nullptr);
  CHECK(waited < 2s);  // bounded by the timer, not by the database
  CHECK(dir.stats().timeouts.load() == 1);
  {
    std::lock_guard lock(db.m);
    db.gate_closed = false;
  }
  db.cv.notify_all();
  dir.stop();
}
