#include "server/webhooks.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/beast/http/verb.hpp>
#include <condition_variable>
#include <deque>
#include <exception>
#include <map>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include "auth/signature.hpp"
#include "server/clock.hpp"
#include "server/log.hpp"
#include "server/webhook_core.hpp"
#include "server/webhook_http.hpp"

namespace server {

namespace net = boost::asio;
namespace http = boost::beast::http;
using Clock = std::chrono::steady_clock;

namespace {

// Loss logging: at most one line per kind per this period; the line carries the count.
constexpr auto loss_log_period = std::chrono::seconds(10);
// Housekeeping: loss lines for drops seen by emit(), idle connection sweep.
constexpr auto housekeeping_period = std::chrono::seconds(1);
// Keep-alive connections unused for this long are closed (most servers close at 5-60 s).
constexpr auto max_idle = std::chrono::seconds(30);

enum class LossKind : std::size_t { queue_full, rejected, retries_exhausted, shutdown, count };

std::string_view loss_name(LossKind kind) {
  switch (kind) {
    case LossKind::queue_full:
      return "queue_full";
    case LossKind::rejected:
      return "rejected";
    case LossKind::retries_exhausted:
      return "retries_exhausted";
    case LossKind::shutdown:
      return "shutdown";
    case LossKind::count:
      break;
  }
  return "unknown";
}

// The URL for logs: scheme, host, port and path, without the query (it may carry tokens).
std::string loggable_url(const WebhookTarget& webhook) {
  std::string path = webhook.target.substr(0, webhook.target.find('?'));
  const bool v6 = webhook.host.find(':') != std::string::npos;
  return std::string(webhook.tls ? "https://" : "http://") + (v6 ? "[" : "") + webhook.host +
         (v6 ? "]" : "") + ":" + std::to_string(webhook.port) + path;
}

std::string host_header(const WebhookTarget& webhook) {
  const bool v6 = webhook.host.find(':') != std::string::npos;
  std::string host = v6 ? "[" + webhook.host + "]" : webhook.host;
  if (webhook.port != (webhook.tls ? 443 : 80)) {
    host += ":" + std::to_string(webhook.port);
  }
  return host;
}

}  // namespace

// ================================================================================================
// Impl: the inbox (any thread) and the sender (its own thread)
// ================================================================================================

struct Webhooks::Impl {
  // One body on its way to one webhook, across attempts.
  struct Request {
    std::size_t target = 0;
    std::shared_ptr<const WebhookRequest> http;
    std::size_t events = 0;
    std::size_t bytes = 0;
    std::uint64_t attempts = 0;
    Clock::time_point first_attempt{};
  };
  using RequestPtr = std::shared_ptr<Request>;

  struct InboxItem {
    std::size_t app_index = 0;
    WebhookEvent event;
    Clock::time_point when{};
    std::size_t bytes = 0;
  };

  struct LossLog {
    Clock::time_point last_line{};
    bool logged_once = false;
    std::uint64_t unlogged = 0;  // lost since the last line
    std::string app_id;
    std::string url;
    std::string reason;
  };

  explicit Impl(const Config& config)
      : config_(config),
        routing_(config_),
        scheduler_(routing_, config_.webhooks),
        work_(net::make_work_guard(ioc_)),
        client_(std::make_unique<WebhookHttpClient>(ioc_)),
        timer_(ioc_),
        housekeeping_(ioc_),
        ready_(routing_.targets().size()),
        in_flight_by_target_(routing_.targets().size(), 0) {
    const std::size_t targets = std::max<std::size_t>(1, routing_.targets().size());
    const auto max_in_flight = static_cast<std::size_t>(config_.webhooks.max_concurrent_requests);
    // Fair share: one broken URL cannot hold every in-flight slot while others have work.
    per_target_cap_ = std::max<std::size_t>(1, (max_in_flight + targets - 1) / targets);
  }

  // ---- any thread ------------------------------------------------------------------------------

  void emit(std::size_t app_index, WebhookEvent&& event) {
    const auto type = webhook_event_type(event.name);
    if (!type || !routing_.wants(app_index, *type)) {
      return;
    }
    const std::size_t bytes = WebhookScheduler::approx_bytes(event);
    bool post = false;
    {
      const std::lock_guard lock(mutex_);
      if (!accepting_) {
        return;
      }
      const std::size_t depth = inbox_.size() + sender_events_.load(std::memory_order_relaxed);
      const std::size_t held = inbox_bytes_ + sender_bytes_.load(std::memory_order_relaxed);
      if (depth >= config_.webhooks.max_queue_size ||
          held + bytes > config_.webhooks.max_queue_bytes) {
        dropped_queue_full_.fetch_add(1, std::memory_order_relaxed);
        last_full_app_.store(app_index, std::memory_order_relaxed);
        return;
      }
      inbox_.push_back(InboxItem{app_index, std::move(event), Clock::now(), bytes});
      inbox_bytes_ += bytes;
      queued_.fetch_add(1, std::memory_order_relaxed);
      if (!wake_posted_) {
        wake_posted_ = true;
        post = true;
      }
    }
    if (post) {
      // One post per burst: the sender takes the whole inbox at once.
      net::post(ioc_, [this] { guarded([this] { on_wake(); }); });
    }
  }

  Stats stats() const {
    Stats s;
    s.queued = queued_.load(std::memory_order_relaxed);
    s.sent_events = sent_events_.load(std::memory_order_relaxed);
    s.sent_requests = sent_requests_.load(std::memory_order_relaxed);
    s.failed_requests = failed_requests_.load(std::memory_order_relaxed);
    s.retried_requests = retried_requests_.load(std::memory_order_relaxed);
    s.dropped_queue_full = dropped_queue_full_.load(std::memory_order_relaxed);
    s.dropped_retries_exhausted = dropped_given_up_.load(std::memory_order_relaxed);
    const std::lock_guard lock(mutex_);
    s.queue_depth = inbox_.size() + sender_events_.load(std::memory_order_relaxed);
    return s;
  }

  void start() {
    if (thread_.joinable() || stopped_) {
      return;
    }
    thread_ = std::thread([this] { run_thread(); });
  }

  void shutdown(std::chrono::milliseconds grace) {
    std::size_t never_sent = 0;
    {
      const std::lock_guard lock(mutex_);
      accepting_ = false;
      if (!thread_.joinable()) {
        // Never started: what waits in the inbox is lost (counted, not silent).
        never_sent = inbox_.size();
        inbox_.clear();
        inbox_bytes_ = 0;
      }
    }
    if (!thread_.joinable()) {
      dropped_given_up_.fetch_add(never_sent, std::memory_order_relaxed);
      stopped_ = true;
      return;
    }
    const auto deadline = Clock::now() + grace;
    net::post(ioc_, [this, deadline] { guarded([this, deadline] { begin_shutdown(deadline); }); });
    {
      std::unique_lock lock(done_mutex_);
      done_cv_.wait_until(lock, deadline, [this] { return drained_; });
    }
    // Whatever is left now is lost: count it on the sender thread, then stop it.
    net::post(ioc_, [this] { guarded([this] { abandon_remaining(); }); });
    work_.reset();
    {
      std::unique_lock lock(done_mutex_);
      done_cv_.wait_for(lock, std::chrono::milliseconds(200), [this] { return abandoned_; });
    }
    ioc_.stop();
    thread_.join();
    stopped_ = true;
  }

  // ---- sender thread ---------------------------------------------------------------------------

  void run_thread() {
    arm_housekeeping();
    // An exception escaping a handler must not end delivery for the process lifetime.
    for (;;) {
      try {
        ioc_.run();
        return;
      } catch (const std::exception& e) {
        log::error("webhook_sender_error", {{"error", e.what()}});
      }
    }
  }

  // Runs `fn`, logging instead of propagating an exception (bad_alloc, OpenSSL failure).
  template <typename Fn>
  void guarded(Fn&& fn) {
    try {
      fn();
    } catch (const std::exception& e) {
      log::error("webhook_sender_error", {{"error", e.what()}});
    }
  }

  void on_wake() {
    std::vector<InboxItem> items;
    {
      const std::lock_guard lock(mutex_);
      items.swap(inbox_);
      // Still held, now by the sender: keep emit()'s bound exact until publish_depth().
      sender_events_.fetch_add(items.size(), std::memory_order_relaxed);
      sender_bytes_.fetch_add(inbox_bytes_, std::memory_order_relaxed);
      inbox_bytes_ = 0;
      wake_posted_ = false;
    }
    for (InboxItem& item : items) {
      scheduler_.add(item.app_index, std::move(item.event), item.when);
    }
    pump();
  }

  // Moves what is due into requests, starts requests while slots are free, re-arms the timer.
  void pump() {
    const Clock::time_point now = Clock::now();
    std::vector<WebhookBatch> batches;
    if (shutting_down_) {
      scheduler_.flush_all(batches);
    } else {
      scheduler_.poll(now, batches);
    }
    for (WebhookBatch& batch : batches) {
      enqueue(std::move(batch));
    }
    while (!retry_wait_.empty() && retry_wait_.begin()->first <= now) {
      RequestPtr request = std::move(retry_wait_.begin()->second);
      retry_wait_.erase(retry_wait_.begin());
      ready_[request->target].push_back(std::move(request));
    }
    start_ready();
    publish_depth();
    arm_timer();
    check_drained();
  }

  void enqueue(WebhookBatch&& batch) {
    const WebhookRouting::Target& target = routing_.targets()[batch.target];
    const WebhookTarget& webhook = *target.webhook;
    auto message = std::make_shared<WebhookRequest>(http::verb::post, webhook.target, 11);
    message->set(http::field::host, host_header(webhook));
    message->set(http::field::user_agent, "pushcore-webhooks");
    for (const auto& [name, value] : webhook.headers) {
      message->set(name, value);
    }
    message->set(http::field::content_type, "application/json");
    message->set("X-Pusher-Key", target.app->key);
    message->set("X-Pusher-Signature", auth::webhook_signature(target.app->secret, batch.body));
    message->keep_alive(true);
    message->body() = std::move(batch.body);
    message->prepare_payload();

    auto request = std::make_shared<Request>();
    request->target = batch.target;
    request->events = batch.events;
    request->bytes = message->body().size() + 256;
    request->http = std::move(message);
    requests_events_ += request->events;
    requests_bytes_ += request->bytes;
    ready_[batch.target].push_back(std::move(request));
  }

  // Starts waiting requests round-robin over the webhooks, within the global and per-URL caps.
  void start_ready() {
    const std::size_t targets = ready_.size();
    const auto max_in_flight = static_cast<std::size_t>(config_.webhooks.max_concurrent_requests);
    bool progress = true;
    while (in_flight_ < max_in_flight && progress) {
      progress = false;
      for (std::size_t i = 0; i < targets && in_flight_ < max_in_flight; ++i) {
        const std::size_t t = (next_target_ + i) % targets;
        if (ready_[t].empty() || in_flight_by_target_[t] >= per_target_cap_) {
          continue;
        }
        RequestPtr request = std::move(ready_[t].front());
        ready_[t].pop_front();
        send(std::move(request));
        progress = true;
      }
      next_target_ = targets == 0 ? 0 : (next_target_ + 1) % targets;
    }
  }

  void send(RequestPtr request) {
    const WebhookRouting::Target& target = routing_.targets()[request->target];
    const WebhookTarget& webhook = *target.webhook;
    const Clock::time_point now = Clock::now();
    if (request->attempts == 0) {
      request->first_attempt = now;
    }
    ++request->attempts;
    ++in_flight_;
    ++in_flight_by_target_[request->target];
    const WebhookOrigin origin{webhook.tls, webhook.host, webhook.port};
    const auto timeout = webhook.request_timeout.value_or(config_.webhooks.request_timeout);
    client_->send(origin, request->http, timeout, [this, request](const WebhookHttpResult& result) {
      guarded([&] { on_result(request, result); });
    });
  }

  void on_result(const RequestPtr& request, const WebhookHttpResult& result) {
    if (abandoning_) {
      return;  // already counted as lost; the thread stops next
    }
    --in_flight_;
    --in_flight_by_target_[request->target];
    const WebhookOutcome outcome = classify_webhook_status(result.status);
    if (outcome == WebhookOutcome::delivered) {
      sent_requests_.fetch_add(1, std::memory_order_relaxed);
      sent_events_.fetch_add(request->events, std::memory_order_relaxed);
      release(*request);
    } else {
      failed_requests_.fetch_add(1, std::memory_order_relaxed);
      retry_or_give_up(request, result, outcome);
    }
    pump();
  }

  void retry_or_give_up(const RequestPtr& request, const WebhookHttpResult& result,
                        WebhookOutcome outcome) {
    const WebhookRouting::Target& target = routing_.targets()[request->target];
    const Clock::time_point now = Clock::now();
    if (outcome == WebhookOutcome::retryable) {
      const WebhookRetry& policy = target.webhook->retry.value_or(config_.webhooks.retry);
      const auto elapsed =
          std::chrono::duration_cast<std::chrono::milliseconds>(now - request->first_attempt);
      const auto delay = next_webhook_retry_delay(policy, request->attempts, elapsed);
      if (delay && !(shutting_down_ && now + *delay > shutdown_deadline_)) {
        retried_requests_.fetch_add(1, std::memory_order_relaxed);
        log::debug("webhook_retry", {{"app_id", target.app->id},
                                     {"url", loggable_url(*target.webhook)},
                                     {"attempt", std::to_string(request->attempts)},
                                     {"reason", result.describe()}});
        retry_wait_.emplace(now + *delay, request);
        return;
      }
    }
    const LossKind kind = outcome == WebhookOutcome::rejected ? LossKind::rejected
                          : shutting_down_                    ? LossKind::shutdown
                                                              : LossKind::retries_exhausted;
    lose(*request, kind, result.describe());
  }

  void release(const Request& request) {
    requests_events_ -= request.events;
    requests_bytes_ -= request.bytes;
  }

  void lose(const Request& request, LossKind kind, std::string reason) {
    dropped_given_up_.fetch_add(request.events, std::memory_order_relaxed);
    const WebhookRouting::Target& target = routing_.targets()[request.target];
    note_loss(kind, request.events, target.app->id, loggable_url(*target.webhook),
              std::move(reason));
    release(request);
  }

  // Logs the first loss of a kind at once, then at most one summary line per period.
  void note_loss(LossKind kind, std::uint64_t events, std::string app_id, std::string url,
                 std::string reason) {
    LossLog& l = losses_[static_cast<std::size_t>(kind)];
    l.unlogged += events;
    l.app_id = std::move(app_id);
    l.url = std::move(url);
    l.reason = std::move(reason);
    flush_loss_log(kind, Clock::now());
  }

  void flush_loss_log(LossKind kind, Clock::time_point now) {
    LossLog& l = losses_[static_cast<std::size_t>(kind)];
    if (l.unlogged == 0 || (l.logged_once && now - l.last_line < loss_log_period)) {
      return;
    }
    std::initializer_list<log::Field> fields = {
        {"kind", std::string(loss_name(kind))},
        {"events", std::to_string(l.unlogged)},
        {"app_id", l.app_id},
        {"url", l.url},
        {"reason", l.reason},
        {"dropped_queue_full", std::to_string(dropped_queue_full_.load())},
        {"dropped_retries_exhausted", std::to_string(dropped_given_up_.load())}};
    log::warn("webhook_dropped", fields);
    l.unlogged = 0;
    l.logged_once = true;
    l.last_line = now;
  }

  void arm_housekeeping() {
    housekeeping_.expires_after(housekeeping_period);
    housekeeping_.async_wait([this](boost::system::error_code ec) {
      if (ec) {
        return;
      }
      guarded([this] { on_housekeeping(); });
      arm_housekeeping();
    });
  }

  // Queue-full drops happen in emit() on worker threads; they are logged from this thread.
  void collect_queue_full() {
    const std::uint64_t full = dropped_queue_full_.load(std::memory_order_relaxed);
    if (full <= queue_full_seen_) {
      return;
    }
    LossLog& l = losses_[static_cast<std::size_t>(LossKind::queue_full)];
    l.unlogged += full - queue_full_seen_;
    const std::size_t app = last_full_app_.load(std::memory_order_relaxed);
    l.app_id = app < config_.apps.size() ? config_.apps[app].id : std::string();
    l.url.clear();
    l.reason = "webhooks.max_queue_size or max_queue_bytes reached";
    queue_full_seen_ = full;
  }

  void on_housekeeping() {
    const Clock::time_point now = Clock::now();
    collect_queue_full();
    for (std::size_t k = 0; k < static_cast<std::size_t>(LossKind::count); ++k) {
      flush_loss_log(static_cast<LossKind>(k), now);
    }
    client_->sweep_idle(now, max_idle);
  }

  void arm_timer() {
    std::optional<Clock::time_point> next = scheduler_.next_deadline();
    if (!retry_wait_.empty() && (!next || retry_wait_.begin()->first < *next)) {
      next = retry_wait_.begin()->first;
    }
    if (!next || (timer_armed_ && timer_due_ <= *next)) {
      return;
    }
    timer_armed_ = true;
    timer_due_ = *next;
    timer_.expires_at(*next);
    timer_.async_wait([this](boost::system::error_code ec) {
      if (ec) {
        return;  // re-armed earlier; the newer wait takes over
      }
      timer_armed_ = false;
      guarded([this] { pump(); });
    });
  }

  void publish_depth() {
    std::size_t events = scheduler_.held_events() + requests_events_;
    std::size_t bytes = scheduler_.held_bytes() + requests_bytes_;
    sender_events_.store(events, std::memory_order_relaxed);
    sender_bytes_.store(bytes, std::memory_order_relaxed);
  }

  void begin_shutdown(Clock::time_point deadline) {
    shutting_down_ = true;
    shutdown_deadline_ = deadline;
    on_wake();  // takes the last inbox items; pump() flushes delayed events and batches
    // Waiting retries due after the deadline are lost; earlier ones stay scheduled.
    for (auto it = retry_wait_.begin(); it != retry_wait_.end();) {
      if (it->first > deadline) {
        lose(*it->second, LossKind::shutdown, "shutdown grace period ended");
        it = retry_wait_.erase(it);
      } else {
        ++it;
      }
    }
    publish_depth();
    check_drained();
  }

  bool idle() const {
    if (in_flight_ != 0 || !retry_wait_.empty() || scheduler_.held_events() != 0) {
      return false;
    }
    return std::all_of(ready_.begin(), ready_.end(), [](const auto& q) { return q.empty(); });
  }

  void check_drained() {
    if (!shutting_down_ || !idle()) {
      return;
    }
    {
      const std::lock_guard lock(done_mutex_);
      drained_ = true;
    }
    done_cv_.notify_all();
  }

  void abandon_remaining() {
    abandoning_ = true;
    std::vector<WebhookBatch> batches;
    scheduler_.flush_all(batches);
    for (WebhookBatch& batch : batches) {
      enqueue(std::move(batch));
    }
    for (auto& queue : ready_) {
      for (const RequestPtr& request : queue) {
        lose(*request, LossKind::shutdown, "shutdown grace period ended");
      }
      queue.clear();
    }
    for (const auto& [due, request] : retry_wait_) {
      lose(*request, LossKind::shutdown, "shutdown grace period ended");
    }
    retry_wait_.clear();
    if (in_flight_ != 0) {
      // In-flight requests are abandoned with the io_context; their completions never run.
      const std::size_t events = requests_events_;
      dropped_given_up_.fetch_add(events, std::memory_order_relaxed);
      note_loss(LossKind::shutdown, events, "", "", "in flight when the grace period ended");
    }
    collect_queue_full();
    for (std::size_t k = 0; k < static_cast<std::size_t>(LossKind::count); ++k) {
      LossLog& l = losses_[static_cast<std::size_t>(k)];
      l.logged_once = false;  // final summary regardless of the period
      flush_loss_log(static_cast<LossKind>(k), Clock::now());
    }
    client_->close_idle();
    {
      const std::lock_guard lock(done_mutex_);
      abandoned_ = true;
    }
    done_cv_.notify_all();
  }

  // Immutable after construction (read by emit() on any thread).
  const Config config_;
  const WebhookRouting routing_;

  // Sender thread only.
  WebhookScheduler scheduler_;
  net::io_context ioc_;  // before everything that uses it, so it is destroyed after them
  net::executor_work_guard<net::io_context::executor_type> work_;
  std::unique_ptr<WebhookHttpClient> client_;
  net::steady_timer timer_;
  net::steady_timer housekeeping_;
  bool timer_armed_ = false;
  Clock::time_point timer_due_{};
  std::vector<std::deque<RequestPtr>> ready_;  // per target, waiting for a slot
  std::multimap<Clock::time_point, RequestPtr> retry_wait_;
  std::vector<std::size_t> in_flight_by_target_;
  std::size_t in_flight_ = 0;
  std::size_t per_target_cap_ = 1;
  std::size_t next_target_ = 0;
  std::size_t requests_events_ = 0;  // events in ready_, retry_wait_ and in flight
  std::size_t requests_bytes_ = 0;
  bool shutting_down_ = false;
  bool abandoning_ = false;  // the grace period ended: completions are ignored from now on
  Clock::time_point shutdown_deadline_{};
  std::array<LossLog, static_cast<std::size_t>(LossKind::count)> losses_{};
  std::uint64_t queue_full_seen_ = 0;

  // The inbox: any thread, under mutex_.
  mutable std::mutex mutex_;
  std::vector<InboxItem> inbox_;
  std::size_t inbox_bytes_ = 0;
  bool wake_posted_ = false;
  bool accepting_ = true;

  // Published by the sender thread for emit()'s bound.
  std::atomic<std::size_t> sender_events_{0};
  std::atomic<std::size_t> sender_bytes_{0};

  // Counters (any thread reads).
  std::atomic<std::uint64_t> queued_{0};
  std::atomic<std::uint64_t> sent_events_{0};
  std::atomic<std::uint64_t> sent_requests_{0};
  std::atomic<std::uint64_t> failed_requests_{0};
  std::atomic<std::uint64_t> retried_requests_{0};
  std::atomic<std::uint64_t> dropped_queue_full_{0};
  std::atomic<std::uint64_t> dropped_given_up_{0};
  std::atomic<std::size_t> last_full_app_{0};  // app of the latest queue-full drop (for the log)

  // Shutdown handshake between the caller and the sender thread.
  std::mutex done_mutex_;
  std::condition_variable done_cv_;
  bool drained_ = false;
  bool abandoned_ = false;

  // Owner thread only (start/shutdown).
  std::thread thread_;
  bool stopped_ = false;
};

// ================================================================================================
// Public API
// ================================================================================================

Webhooks::Webhooks(const Config& config) : impl_(std::make_unique<Impl>(config)) {}

Webhooks::~Webhooks() {
  if (impl_) {
    impl_->shutdown(std::chrono::milliseconds(0));
  }
}

void Webhooks::start() {
  impl_->start();
}

void Webhooks::emit(std::size_t app_index, WebhookEvent event) noexcept {
  try {
    impl_->emit(app_index, std::move(event));
  } catch (...) {
    // Out of memory while queueing: the event is lost, but never silently.
    impl_->dropped_queue_full_.fetch_add(1, std::memory_order_relaxed);
  }
}

void Webhooks::channel_event(std::size_t app_index, std::string_view name, std::string_view channel,
                             std::optional<std::string_view> user_id,
                             std::optional<std::uint64_t> subscription_count) noexcept {
  build_and_emit(app_index, name, channel, user_id, false, subscription_count);
}

void Webhooks::member_event(std::size_t app_index, std::string_view name, std::string_view channel,
                            std::string_view user_id, bool user_id_numeric) noexcept {
  build_and_emit(app_index, name, channel, user_id, user_id_numeric, std::nullopt);
}

void Webhooks::build_and_emit(std::size_t app_index, std::string_view name,
                              std::string_view channel, std::optional<std::string_view> user_id,
                              bool user_id_numeric,
                              std::optional<std::uint64_t> subscription_count) noexcept {
  if (!wants(app_index, name)) return;
  try {
    WebhookEvent ev;
    ev.name = std::string(name);
    ev.channel = std::string(channel);
    if (user_id) ev.user_id = std::string(*user_id);
    ev.user_id_numeric = user_id && user_id_numeric;
    ev.subscription_count = subscription_count;
    ev.time_ms = unix_ms();
    emit(app_index, std::move(ev));
  } catch (...) {
    impl_->dropped_queue_full_.fetch_add(1, std::memory_order_relaxed);
  }
}

bool Webhooks::wants(std::size_t app_index, std::string_view event_name) const noexcept {
  const auto type = webhook_event_type(event_name);
  return type && impl_->routing_.wants(app_index, *type);
}

void Webhooks::shutdown(std::chrono::milliseconds grace) {
  impl_->shutdown(grace);
}

Webhooks::Stats Webhooks::stats() const {
  return impl_->stats();
}

}  // namespace server
