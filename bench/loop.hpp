#pragma once
// A minimal single-threaded epoll loop with periodic timers. Level-triggered. Objects that
// register an fd must outlive their registration (the bench never frees them mid-run).

#include <cstdint>
#include <functional>
#include <vector>

namespace bench {

/// Something with an fd in the loop.
struct Io {
  virtual void on_io(std::uint32_t events) = 0;

 protected:
  ~Io() = default;
};

class Loop {
 public:
  Loop();
  ~Loop();
  Loop(const Loop&) = delete;
  Loop& operator=(const Loop&) = delete;

  void add(int fd, std::uint32_t events, Io* io);
  void mod(int fd, std::uint32_t events, Io* io);
  void del(int fd);

  /// Calls `fn` every `period_ns` (first call one period from now). Returns an id for cancel().
  int every(std::uint64_t period_ns, std::function<void()> fn);
  void cancel(int id);

  /// One epoll_wait (at most until the next timer or `max_wait_ms`), dispatch, timers.
  void run_once(int max_wait_ms = 100);
  /// Runs until `done()` is true or `timeout_s` passes; returns done().
  bool run_until(const std::function<bool()>& done, double timeout_s);
  /// Runs for `seconds`.
  void run_for(double seconds);

 private:
  struct Timer {
    int id;
    std::uint64_t period;
    std::uint64_t next;
    std::function<void()> fn;
  };
  void run_timers();

  int epfd_ = -1;
  int next_id_ = 1;
  std::vector<Timer> timers_;
};

}  // namespace bench
