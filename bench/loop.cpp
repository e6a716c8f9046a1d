#include "bench/loop.hpp"

#include <sys/epoll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

#include "bench/sysinfo.hpp"

namespace bench {

Loop::Loop() : epfd_(epoll_create1(EPOLL_CLOEXEC)) {
  if (epfd_ < 0) throw std::runtime_error(std::string("epoll_create1: ") + std::strerror(errno));
}

Loop::~Loop() {
  if (epfd_ >= 0) close(epfd_);
}

void Loop::add(int fd, std::uint32_t events, Io* io) {
  epoll_event ev{};
  ev.events = events;
  ev.data.ptr = io;
  if (epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev) != 0) {
    throw std::runtime_error(std::string("epoll_ctl add: ") + std::strerror(errno));
  }
}

void Loop::mod(int fd, std::uint32_t events, Io* io) {
  epoll_event ev{};
  ev.events = events;
  ev.data.ptr = io;
  epoll_ctl(epfd_, EPOLL_CTL_MOD, fd, &ev);
}

void Loop::del(int fd) {
  epoll_ctl(epfd_, EPOLL_CTL_DEL, fd, nullptr);
}

int Loop::every(std::uint64_t period_ns, std::function<void()> fn) {
  const int id = next_id_++;
  timers_.push_back(Timer{id, period_ns, mono_ns() + period_ns, std::move(fn)});
  return id;
}

void Loop::cancel(int id) {
  for (Timer& t : timers_) {
    if (t.id == id) t.fn = nullptr;  // removed after the current run_timers pass
  }
}

void Loop::run_timers() {
  const std::uint64_t now = mono_ns();
  // Index loop: a timer callback may add timers (push_back invalidates references).
  for (std::size_t i = 0; i < timers_.size(); ++i) {
    if (!timers_[i].fn || timers_[i].next > now) continue;
    timers_[i].next = now + timers_[i].period;
    auto fn = timers_[i].fn;  // copy: the callback may cancel itself
    fn();
  }
  timers_.erase(
      std::remove_if(timers_.begin(), timers_.end(), [](const Timer& t) { return !t.fn; }),
      timers_.end());
}

void Loop::run_once(int max_wait_ms) {
  int wait_ms = max_wait_ms;
  if (!timers_.empty()) {
    const std::uint64_t now = mono_ns();
    for (const Timer& t : timers_) {
      if (!t.fn) continue;
      const std::int64_t left = static_cast<std::int64_t>(t.next) - static_cast<std::int64_t>(now);
      const int ms = left <= 0 ? 0 : static_cast<int>((left + 999'999) / 1'000'000);
      wait_ms = std::min(wait_ms, ms);
    }
  }
  epoll_event events[512];
  const int n = epoll_wait(epfd_, events, 512, wait_ms);
  for (int i = 0; i < n; ++i) static_cast<Io*>(events[i].data.ptr)->on_io(events[i].events);
  run_timers();
}

bool Loop::run_until(const std::function<bool()>& done, double timeout_s) {
  const std::uint64_t deadline = mono_ns() + static_cast<std::uint64_t>(timeout_s * 1e9);
  while (!done()) {
    if (mono_ns() >= deadline) return done();
    run_once(20);
  }
  return true;
}

void Loop::run_for(double seconds) {
  const std::uint64_t deadline = mono_ns() + static_cast<std::uint64_t>(seconds * 1e9);
  while (mono_ns() < deadline) {
    const auto left_ms = static_cast<int>((deadline - mono_ns()) / 1'000'000);
    run_once(std::max(0, std::min(left_ms, 100)));
  }
}

}  // namespace bench
