#include "server/app_directory.hpp"

#include <algorithm>

#include "server/log.hpp"

namespace server {

using Clock = std::chrono::steady_clock;

/// One caller waiting for a lookup. `fired` and `timer` are touched only on `ioc`'s thread.
struct AppDirectory::Waiter {
  Waiter(net::io_context& io, Done d) : ioc(io), done(std::move(d)), timer(io) {}
  net::io_context& ioc;
  Done done;
  net::steady_timer timer;
  bool fired = false;
};

AppDirectory::AppDirectory(AppSlots& slots, const Config& base, std::unique_ptr<AppSource> source)
    : slots_(slots), base_(base), settings_(base.app_manager), source_(std::move(source)) {
  description_ = source_->describe();
}

AppDirectory::~AppDirectory() { stop(); }

void AppDirectory::open() {
  source_->connect();
  source_->ensure_schema();
  up_.store(true);
}

void AppDirectory::start() {
  next_refresh_ = Clock::now() + settings_.ttl();
  thread_ = std::thread([this] { run(); });
  source_->watch([this](std::string id) { note_changed(std::move(id)); });
}

void AppDirectory::stop() {
  source_->stop_watching();  // no note_changed() after this
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  fail_all_pending();
}

void AppDirectory::note_changed(std::string id) {
  {
    std::lock_guard lock(mutex_);
    // A new row's key may sit in the negative cache: forget the unknowns (cheap, bounded).
    unknown_[0].clear();
    unknown_[1].clear();
    if (id.empty() || changed_.size() >= max_pending) {
      refresh_requested_ = true;
      changed_.clear();
    } else {
      changed_.push_back(std::move(id));
    }
  }
  wake_.notify_one();
}

void AppDirectory::refresh_soon() {
  {
    std::lock_guard lock(mutex_);
    refresh_requested_ = true;
  }
  wake_.notify_one();
}

bool AppDirectory::known_unknown(AppLookup by, std::string_view value) {
  std::lock_guard lock(mutex_);
  auto& map = unknown_[static_cast<int>(by)];
  const auto it = map.find(std::string(value));
  if (it == map.end()) return false;
  if (it->second > Clock::now()) return true;
  map.erase(it);
  return false;
}

void AppDirectory::answer(const std::shared_ptr<Waiter>& w, AppRuntime* app) {
  net::post(w->ioc, [w, app] {
    if (w->fired) return;
    w->fired = true;
    w->timer.cancel();
    w->done(app);
  });
}

void AppDirectory::lookup(AppLookup by, std::string_view value, net::io_context& ioc, Done done) {
  auto w = std::make_shared<Waiter>(ioc, std::move(done));
  bool queued = false;
  {
    std::lock_guard lock(mutex_);
    const int k = static_cast<int>(by);
    if (!stop_ && up_.load(std::memory_order_relaxed)) {
      auto it = pending_[k].find(std::string(value));
      if (it != pending_[k].end()) {
        it->second.waiters.push_back(w);
        queued = true;
      } else if (pending_[k].size() < max_pending) {
        pending_[k][std::string(value)].waiters.push_back(w);
        order_[k].emplace_back(value);
        queued = true;
      }
    }
  }
  if (!queued) {
    // Database down (or too many distinct lookups queued): refused like an unknown app.
    stats_.refused.fetch_add(1, std::memory_order_relaxed);
    answer(w, nullptr);
    return;
  }
  stats_.misses.fetch_add(1, std::memory_order_relaxed);
  wake_.notify_one();
  // The caller's bound: answered "unknown" when the database is slower than lookup_timeout.
  net::post(ioc, [this, w] {
    if (w->fired) return;
    w->timer.expires_after(settings_.lookup_timeout);
    w->timer.async_wait([this, w](const boost::system::error_code& ec) {
      if (ec || w->fired) return;
      w->fired = true;
      stats_.timeouts.fetch_add(1, std::memory_order_relaxed);
      w->done(nullptr);
    });
  });
}

void AppDirectory::fail_all_pending() {
  std::vector<std::shared_ptr<Waiter>> all;
  {
    std::lock_guard lock(mutex_);
    for (int k = 0; k < 2; ++k) {
      for (auto& [value, p] : pending_[k]) {
        for (auto& w : p.waiters) all.push_back(std::move(w));
      }
      pending_[k].clear();
      order_[k].clear();
    }
  }
  for (const auto& w : all) answer(w, nullptr);
}

void AppDirectory::remember_unknown(AppLookup by, const std::string& value) {
  auto& map = unknown_[static_cast<int>(by)];  // caller holds mutex_
  if (map.size() >= max_unknown) {
    const auto now = Clock::now();
    std::erase_if(map, [now](const auto& e) { return e.second <= now; });
    if (map.size() >= max_unknown) map.clear();  // a flood of distinct keys: start over
  }
  map[value] = Clock::now() + settings_.negative();
}

template <class F>
auto AppDirectory::timed_query(F&& f) {
  const auto t0 = Clock::now();
  stats_.queries.fetch_add(1, std::memory_order_relaxed);
  auto result = f();
  const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  std::size_t b = 0;
  while (b < AppDirectoryStats::bucket_count && secs > AppDirectoryStats::query_buckets[b]) ++b;
  stats_.query_le[b].fetch_add(1, std::memory_order_relaxed);
  stats_.query_micros_sum.fetch_add(static_cast<std::uint64_t>(secs * 1e6),
                                    std::memory_order_relaxed);
  return result;
}

void AppDirectory::note_error(const AppSourceError& e, std::string_view during) {
  stats_.errors.fetch_add(1, std::memory_order_relaxed);
  if (e.connection) {
    if (up_.exchange(false)) {
      log::error("app_manager_unavailable",
                 {{"database", description_}, {"during", std::string(during)},
                  {"error", e.what()}});
    }
    next_connect_ = Clock::now() + backoff_;
  } else {
    log::error("app_manager_query_failed",
               {{"database", description_}, {"during", std::string(during)}, {"error", e.what()}});
  }
}

void AppDirectory::ensure_connected() {
  if (source_->connected()) return;
  up_.store(false);
  if (Clock::now() < next_connect_) return;
  try {
    stats_.queries.fetch_add(1, std::memory_order_relaxed);
    source_->connect();
    backoff_ = std::chrono::milliseconds{100};
    up_.store(true);
    log::info("app_manager_reconnected", {{"database", description_}});
    // Rows may have changed while we could not look: re-read the cached apps soon.
    next_refresh_ = std::min(next_refresh_, Clock::now());
  } catch (const AppSourceError& e) {
    stats_.errors.fetch_add(1, std::memory_order_relaxed);
    backoff_ = std::min(backoff_ * 2, std::chrono::milliseconds{5000});
    next_connect_ = Clock::now() + backoff_;
    log::debug("app_manager_connect_failed", {{"database", description_}, {"error", e.what()}});
  }
}

AppRuntime* AppDirectory::apply_row(const AppRow& row) {
  std::string error;
  std::string json = app_row_to_json(row, error);
  const std::string id = row.empty() || !row[0] ? std::string() : *row[0];
  const std::string path = "app_manager: app " + (id.empty() ? std::string("?") : id);
  if (json.empty()) {
    stats_.bad_rows.fetch_add(1, std::memory_order_relaxed);
    log::warn("app_manager_bad_row", {{"app_id", id}, {"error", error}});
    return nullptr;
  }
  auto it = row_json_.find(id);
  if (it != row_json_.end() && it->second == json) {
    // Unchanged since it was applied: the slot is current.
    return slots_.app_by_id(id);
  }
  std::vector<std::string> warnings;
  App app;
  try {
    app = parse_app_json(json, base_, path, warnings);
  } catch (const ConfigError& e) {
    stats_.bad_rows.fetch_add(1, std::memory_order_relaxed);
    log::warn("app_manager_bad_row", {{"app_id", id}, {"error", e.what()}});
    return nullptr;
  }
  for (const std::string& w : warnings) log::warn("app_manager_row_warning", {{"warning", w}});
  AppRuntime* rt = slots_.upsert_app(app);
  if (rt == nullptr) {
    log::error("app_manager_no_slot",
               {{"app_id", id},
                {"max_apps", std::to_string(settings_.max_apps)},
                {"hint", "raise app_manager.max_apps"}});
    return nullptr;
  }
  row_json_[id] = std::move(json);
  return rt;
}

void AppDirectory::answer_batch(AppLookup by, std::vector<std::string> values) {
  const int k = static_cast<int>(by);
  std::vector<AppRow> rows;
  try {
    rows = timed_query(
        [&] { return source_->select_by(by == AppLookup::key ? "key" : "id", values); });
  } catch (const AppSourceError& e) {
    note_error(e, by == AppLookup::key ? "lookup by key" : "lookup by id");
    std::vector<std::shared_ptr<Waiter>> waiters;
    {
      std::lock_guard lock(mutex_);
      for (const std::string& v : values) {
        auto it = pending_[k].find(v);
        if (it == pending_[k].end()) continue;
        for (auto& w : it->second.waiters) waiters.push_back(std::move(w));
        pending_[k].erase(it);
      }
    }
    stats_.refused.fetch_add(waiters.size(), std::memory_order_relaxed);
    for (const auto& w : waiters) answer(w, nullptr);
    return;
  }
  std::unordered_map<std::string, AppRuntime*> found;
  for (const AppRow& row : rows) {
    AppRuntime* rt = apply_row(row);
    const std::size_t col = by == AppLookup::key ? 1 : 0;
    if (row.size() > col && row[col]) found[*row[col]] = rt;
  }
  for (const std::string& v : values) {
    std::vector<std::shared_ptr<Waiter>> waiters;
    AppRuntime* rt = nullptr;
    {
      std::lock_guard lock(mutex_);
      auto it = pending_[k].find(v);
      if (it != pending_[k].end()) {
        waiters = std::move(it->second.waiters);
        pending_[k].erase(it);
      }
      const auto f = found.find(v);
      if (f != found.end() && f->second != nullptr) {
        rt = f->second;
      } else {
        remember_unknown(by, v);  // no row, or a row that is not a valid app (logged)
      }
    }
    for (const auto& w : waiters) answer(w, rt);
  }
}

void AppDirectory::refresh(const std::vector<std::string>& ids) {
  // Re-read by id: changes apply, missing rows are deleted apps.
  std::vector<std::string> seen;
  for (std::size_t i = 0; i < ids.size(); i += AppSource::max_values_per_query) {
    const std::vector<std::string> chunk(
        ids.begin() + static_cast<std::ptrdiff_t>(i),
        ids.begin() + static_cast<std::ptrdiff_t>(
                          std::min(ids.size(), i + AppSource::max_values_per_query)));
    std::vector<AppRow> rows;
    try {
      rows = timed_query([&] { return source_->select_by("id", chunk); });
    } catch (const AppSourceError& e) {
      note_error(e, "refresh");
      return;  // nothing is removed on a failed read
    }
    for (const AppRow& row : rows) {
      if (apply_row(row) != nullptr && row[0]) seen.push_back(*row[0]);
    }
  }
  std::sort(seen.begin(), seen.end());
  for (const std::string& id : ids) {
    if (std::binary_search(seen.begin(), seen.end(), id)) continue;
    // Deleted (or no longer a valid app): its sockets close with 4001.
    log::info("app_manager_app_removed", {{"app_id", id}});
    slots_.remove_app(id);
    row_json_.erase(id);
  }
}

void AppDirectory::run() {
  std::unique_lock lock(mutex_);
  while (!stop_) {
    const auto now = Clock::now();
    if (refresh_requested_) {
      refresh_requested_ = false;
      next_refresh_ = now;
    }
    const bool work = !order_[0].empty() || !order_[1].empty() || !changed_.empty();
    if (!work && now < next_refresh_ && (source_->connected() || now < next_connect_)) {
      auto until = next_refresh_;
      if (!source_->connected()) until = std::min(until, next_connect_);
      wake_.wait_until(lock, until);
      continue;
    }
    lock.unlock();
    ensure_connected();
    if (!source_->connected()) {
      fail_all_pending();
      // One line per burst of refusals (at most every 10 s), never one per connection.
      const std::uint64_t refused = stats_.refused.load(std::memory_order_relaxed);
      if (refused != refused_at_log_ &&
          Clock::now() - last_refusal_log_ > std::chrono::seconds{10}) {
        log::warn("app_manager_refusing_unknown_keys",
                  {{"database", description_},
                   {"refused", std::to_string(refused - refused_at_log_)},
                   {"reason", "database unreachable; cached apps keep working"}});
        last_refusal_log_ = Clock::now();
        refused_at_log_ = refused;
      }
      lock.lock();
      if (!stop_) wake_.wait_until(lock, next_connect_);
      continue;
    }
    // One batch per kind: every queued value up to the per-query limit.
    for (int k = 0; k < 2; ++k) {
      std::vector<std::string> batch;
      {
        std::lock_guard guard(mutex_);
        while (!order_[k].empty() && batch.size() < AppSource::max_values_per_query) {
          batch.push_back(std::move(order_[k].front()));
          order_[k].pop_front();
        }
      }
      if (!batch.empty()) answer_batch(static_cast<AppLookup>(k), std::move(batch));
    }
    if (Clock::now() >= next_refresh_ && source_->connected()) {
      next_refresh_ = Clock::now() + settings_.ttl();
      refresh(slots_.database_app_ids());  // every database app in use
    }
    // Notified changes (LISTEN/NOTIFY): only the apps in memory; others load on first use.
    std::vector<std::string> changed;
    {
      std::lock_guard guard(mutex_);
      changed.swap(changed_);
    }
    std::sort(changed.begin(), changed.end());
    changed.erase(std::unique(changed.begin(), changed.end()), changed.end());
    std::erase_if(changed, [this](const std::string& id) { return slots_.app_by_id(id) == nullptr; });
    if (!changed.empty() && source_->connected()) refresh(changed);
    lock.lock();
  }
}

}  // namespace server
