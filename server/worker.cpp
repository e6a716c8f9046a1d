#include "server/worker.hpp"

#include <sys/epoll.h>

#include <algorithm>
#include <cerrno>
#include <system_error>

#include "server/handshake.hpp"
#include "server/listener.hpp"
#include "server/ws_session.hpp"

namespace server {

namespace {
// Scratch read buffer shared by this worker's sessions: large enough to drain a busy socket in
// few syscalls. Sessions copy only an incomplete trailing frame out of it.
constexpr std::size_t scratch_bytes = 64 * 1024;
// Sweep period: the resolution of activity/pong/auth/close deadlines. Scanning even 20k
// sessions costs tens of microseconds, so 4 Hz is cheap and keeps tiny test timeouts precise.
constexpr auto sweep_interval = std::chrono::milliseconds(250);

// Readiness events carry a pointer with its kind in the low bits (every target is at least
// 8-byte aligned). Sessions are untagged: the hot path needs no masking.
enum Tag : std::uintptr_t { tag_session = 0, tag_listener = 1, tag_handshake = 2, tag_mask = 3 };
static_assert(alignof(WsSession) >= 4 && alignof(Handshake) >= 4 && alignof(Listener) >= 4);

void* tagged(void* p, Tag tag) noexcept {
  return reinterpret_cast<void*>(reinterpret_cast<std::uintptr_t>(p) | tag);
}

int make_epoll() {
  const int fd = ::epoll_create1(EPOLL_CLOEXEC);
  if (fd < 0) throw std::system_error(errno, std::generic_category(), "epoll_create1");
  return fd;
}
}  // namespace

Worker::Worker(Hub& hub, std::size_t index)
    : hub_(hub),
      index_(index),
      work_(net::make_work_guard(ioc_)),
      poll_fd_(ioc_, make_epoll()),
      sweep_timer_(ioc_),
      app_counters_(std::make_unique<AppCounters[]>(hub.app_capacity() + 1)),
      subs_(hub.app_capacity()),
      scratch_(scratch_bytes) {}

Worker::~Worker() {
  stop();
  join();
}

void Worker::adopt_connection(int fd, bool ipv6, std::string remote) {
  auto h = std::make_unique<Handshake>(*this, fd, ipv6, std::move(remote));
  Handshake* raw = h.get();
  raw->slot = handshakes_.size();
  handshakes_.push_back(std::move(h));
  raw->start();
}

void Worker::end_handshake(Handshake* h) {
  const std::size_t i = h->slot;
  if (i >= handshakes_.size() || handshakes_[i].get() != h) return;
  handshake_graveyard_.push_back(std::move(handshakes_[i]));
  if (i + 1 != handshakes_.size()) {
    handshakes_[i] = std::move(handshakes_.back());
    handshakes_[i]->slot = i;
  }
  handshakes_.pop_back();
  if (!reap_posted_) {
    reap_posted_ = true;
    net::post(ioc_, [this] { reap(); });
  }
}

void Worker::start() {
  thread_ = std::thread([this] {
    thread_id_ = std::this_thread::get_id();
    schedule_sweep();
    arm_poll();
    ioc_.run();
  });
}

void Worker::stop() {
  work_.reset();
  ioc_.stop();
}

void Worker::join() {
  if (thread_.joinable()) thread_.join();
}

channels::ConnId Worker::next_conn_id() noexcept {
  return (static_cast<channels::ConnId>(index_) << 48) | next_id_++;
}

void Worker::add_session(std::shared_ptr<WsSession> s) {
  const auto id = s->id();
  sessions_.emplace(id, std::move(s));
}

void Worker::remove_session(WsSession* s) {
  auto it = sessions_.find(s->id());
  if (it == sessions_.end()) return;
  graveyard_.push_back(std::move(it->second));
  sessions_.erase(it);
  if (!reap_posted_) {
    reap_posted_ = true;
    net::post(ioc_, [this] { reap(); });
  }
}

void Worker::reap() {
  // Harvested readiness events may still name a removed session: free it after their dispatch.
  if (dispatch_pending_) {
    net::post(ioc_, [this] { reap(); });
    return;
  }
  reap_posted_ = false;
  graveyard_.clear();
  handshake_graveyard_.clear();
}

WsSession* Worker::find_session(channels::ConnId id) const noexcept {
  auto it = sessions_.find(id);
  return it == sessions_.end() ? nullptr : it->second.get();
}

bool Worker::watch(int fd, WsTransport* s) noexcept {
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLOUT | EPOLLET;
  ev.data.ptr = s;
  return ::epoll_ctl(poll_fd_.native_handle(), EPOLL_CTL_ADD, fd, &ev) == 0;
}

bool Worker::rewatch(int fd, WsTransport* s) noexcept {
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLOUT | EPOLLET;
  ev.data.ptr = s;
  return ::epoll_ctl(poll_fd_.native_handle(), EPOLL_CTL_MOD, fd, &ev) == 0;
}

bool Worker::watch_handshake(int fd, Handshake* h) noexcept {
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLET;
  ev.data.ptr = tagged(h, tag_handshake);
  return ::epoll_ctl(poll_fd_.native_handle(), EPOLL_CTL_ADD, fd, &ev) == 0;
}

bool Worker::watch_listener(int fd, Listener* l) noexcept {
  epoll_event ev{};
  ev.events = EPOLLIN;  // level-triggered: a burst is accepted over several turns
  ev.data.ptr = tagged(l, tag_listener);
  return ::epoll_ctl(poll_fd_.native_handle(), EPOLL_CTL_ADD, fd, &ev) == 0;
}

void Worker::unwatch(int fd) noexcept {
  epoll_event ev{};
  (void)::epoll_ctl(poll_fd_.native_handle(), EPOLL_CTL_DEL, fd, &ev);
}

void Worker::arm_poll() {
  poll_fd_.async_wait(net::posix::stream_descriptor::wait_read,
                      [this](const boost::system::error_code& ec) {
                        if (ec) return;
                        poll_ready();
                      });
}

void Worker::poll_ready() {
  // Harvest now, dispatch in a posted handler: it then runs after every handler that other
  // threads posted before this harvest (e.g. a member_added decided before the subscribe that
  // this harvest returns), the order Asio's own reactor gives its completions.
  const int n =
      ::epoll_wait(poll_fd_.native_handle(), events_.data(), static_cast<int>(events_.size()), 0);
  if (n <= 0) {
    arm_poll();
    return;
  }
  dispatch_pending_ = true;
  net::post(ioc_, [this, n] {
    // Sessions closed since the harvest (or by an earlier event of the batch) are kept alive
    // in graveyard_ until dispatch_pending_ is clear and ignore their events.
    for (int i = 0; i < n; ++i) {
      const epoll_event& ev = events_[static_cast<std::size_t>(i)];
      const auto bits = reinterpret_cast<std::uintptr_t>(ev.data.ptr);
      void* target = reinterpret_cast<void*>(bits & ~std::uintptr_t{tag_mask});
      switch (bits & tag_mask) {
        case tag_session:
          static_cast<WsTransport*>(target)->on_io(ev.events);
          break;
        case tag_handshake:
          static_cast<Handshake*>(target)->on_io(ev.events);
          break;
        case tag_listener:
          static_cast<Listener*>(target)->on_ready();
          break;
        default:
          break;
      }
    }
    dispatch_pending_ = false;
    // Asio re-arms with EPOLL_CTL_MOD, which reports the set again at once if events are left.
    arm_poll();
  });
}

std::uint32_t Worker::index_add(std::size_t app_index, std::string_view channel, WsSession* s) {
  auto& map = subs_[app_index];
  auto it = map.find(channel);
  if (it == map.end()) it = map.emplace(std::string(channel), std::vector<WsSession*>{}).first;
  it->second.push_back(s);
  return static_cast<std::uint32_t>(it->second.size() - 1);
}

void Worker::index_remove(std::size_t app_index, std::string_view channel, WsSession* s,
                          std::uint32_t slot) {
  auto& map = subs_[app_index];
  auto it = map.find(channel);
  if (it == map.end()) return;
  auto& v = it->second;
  if (slot >= v.size() || v[slot] != s) {
    // Not where the session believes it is (never expected): fall back to a search.
    const auto pos = std::find(v.begin(), v.end(), s);
    if (pos == v.end()) return;
    slot = static_cast<std::uint32_t>(pos - v.begin());
  }
  // Swap-remove: the last subscriber takes the slot and learns its new position.
  if (slot + 1 != v.size()) {
    v[slot] = v.back();
    v[slot]->set_index_slot(channel, slot);
  }
  v.pop_back();
  if (v.empty()) map.erase(it);
}

std::size_t Worker::deliver(std::size_t app_index, std::string_view channel,
                            const DialectFrames& frame, channels::ConnId except) {
  auto& map = subs_[app_index];
  auto it = map.find(channel);
  if (it == map.end()) return 0;
  // Hot loop: a reference-count increment and a queue slot per subscriber, nothing else.
  std::size_t n = 0;
  if (!frame.v2) {
    // User events: the same bytes in both dialects.
    for (WsSession* s : it->second) {
      if (s->id() != except) {
        s->enqueue(frame.v1);
        ++n;
      }
    }
    return n;
  }
  for (WsSession* s : it->second) {
    if (s->id() != except) {
      // Being replayed (resume / rewind): held for after the replay, or already in its queue.
      if (s->replay_guarded() && frame.serial != 0 && s->intercept_live(channel, frame)) {
        continue;
      }
      // A member event its member list already showed (joined while the event was in flight).
      if (frame.member_decision != 0 && s->member_event_known(channel, frame.member_decision)) {
        continue;
      }
      s->enqueue(frame.for_dialect(s->v2()));
      ++n;
    }
  }
  return n;
}

void Worker::mark_dirty(std::shared_ptr<WsTransport> s) {
  dirty_.push_back(std::move(s));
  if (!flush_posted_) {
    flush_posted_ = true;
    net::post(ioc_, [this] { flush_dirty(); });
  }
}

void Worker::flush_dirty() {
  flush_posted_ = false;
  flushing_.swap(dirty_);
  for (auto& s : flushing_) {
    s->dirty = false;
    s->flush();
  }
  flushing_.clear();
}

void Worker::close_all_for_shutdown() {
  std::vector<WsSession*> all;
  all.reserve(sessions_.size());
  for (auto& [id, s] : sessions_) all.push_back(s.get());
  for (WsSession* s : all) s->close_with_error(WsError::shutting_down);
}

void Worker::close_app_sessions(std::size_t app_index, WsError why) {
  std::vector<WsSession*> victims;
  for (auto& [id, s] : sessions_) {
    if (s->app_index() == app_index) victims.push_back(s.get());
  }
  for (WsSession* s : victims) s->close_with_error(why);
}

void Worker::schedule_sweep() {
  sweep_timer_.expires_after(sweep_interval);
  sweep_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec) return;
    sweep();
    schedule_sweep();
  });
}

void Worker::sweep() {
  const auto now = std::chrono::steady_clock::now();
  // Worker 0 also reclaims expired cache-channel events, about once a minute.
  if (index_ == 0 && ++sweeps_ % 240 == 0) {
    std::lock_guard lock(hub_.state_mutex());
    (void)hub_.registry().purge_expired(now);
  }
  // ... and expired replay-buffer messages (connection recovery), every ~5 s.
  if (index_ == 0 && sweeps_ % 20 == 0 && hub_.replay() != nullptr) {
    hub_.replay()->prune([this](std::size_t app_index, std::string_view channel) {
      std::lock_guard lock(hub_.state_mutex());
      return hub_.registry().subscription_count(hub_.app_at(app_index).app->id, channel) > 0;
    });
  }
  // Sessions may leave the table during on_sweep (close): iterate over a snapshot. A removed
  // session stays alive in graveyard_ until this handler returns.
  std::vector<WsSession*> snapshot;
  snapshot.reserve(sessions_.size());
  for (auto& [id, s] : sessions_) snapshot.push_back(s.get());
  for (WsSession* s : snapshot) s->on_sweep(now);
  // Handshake deadlines. A closed one leaves the table by swapping the last entry into its
  // slot, which this backwards walk has already visited.
  for (std::size_t i = handshakes_.size(); i-- > 0;) {
    if (i < handshakes_.size()) handshakes_[i]->on_sweep(now);
  }
}

}  // namespace server
