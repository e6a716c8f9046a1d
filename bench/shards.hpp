#pragma once
// The subscriber shards as the coordinator sees them: one in-process Engine (--procs 1) or P
// child processes, each running an Engine on its own loop, talking over a socketpair with one
// text line per message (commands down, STATUS / WINDOW / STOPPED / FINAL / CLOSED up).

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "bench/engine.hpp"
#include "bench/loop.hpp"
#include "bench/options.hpp"
#include "bench/report.hpp"

namespace bench {

class Shards {
 public:
  /// Forks the children when o.procs > 1 (call before anything else uses threads).
  Shards(const Options& o, Loop& loop);
  ~Shards();
  Shards(const Shards&) = delete;
  Shards& operator=(const Shards&) = delete;

  [[nodiscard]] std::size_t size() const noexcept { return n_; }

  /// Sends a command to every shard.
  void broadcast(const std::string& command);

  /// Latest STATUS of every shard, merged.
  [[nodiscard]] Report status() const;
  /// Published events received so far (live for in-process, last STATUS otherwise).
  [[nodiscard]] std::uint64_t delivered() const;

  /// Runs the loop until every shard has answered with `type` (or timeout); returns the merged
  /// answers and forgets them. `ok` is false on timeout or when a child died.
  Report collect(const std::string& type, double timeout_s, bool& ok);

  /// True when a child process exited unexpectedly.
  [[nodiscard]] bool broken() const noexcept { return broken_; }

  struct Child;
  void on_line(std::size_t shard, std::string_view line);
  void on_child_gone(std::size_t shard);

 private:
  const Options& o_;
  Loop& loop_;
  std::size_t n_ = 1;
  std::unique_ptr<Engine> local_;
  std::vector<std::unique_ptr<Child>> children_;
  std::vector<Report> status_;
  std::map<std::string, std::map<std::size_t, Report>> replies_;
  bool broken_ = false;
  bool closing_ = false;
};

}  // namespace bench
