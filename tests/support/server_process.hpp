#pragma once
// Runs the real server binary for one test: writes the config to a temp file, fork/execs
// `<binary> --config FILE` with stdout+stderr piped, waits (bounded) for the `msg=listening`
// log line and parses `port=<N>` from it. A background thread keeps collecting log lines so a
// test can wait for / assert on them. The destructor stops the process (SIGTERM, then SIGKILL
// after 10 s) and removes the temp file.

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "tests/support/deadline.hpp"
#include "tests/support/test_config.hpp"

namespace test_support {

/// The server binary: $PUSHCORE_BIN if set, else the PUSHCORE_BIN compile definition of the
/// test executable (passed in by the caller; the support library does not know it).
[[nodiscard]] std::string server_binary(const char* compiled_default);

class ServerProcess {
 public:
  /// Starts `binary --config <tmp file holding config_json>`. Throws std::runtime_error (with
  /// the collected log) if the process exits or does not log `msg=listening ... port=N` within
  /// `startup_timeout`.
  ServerProcess(std::string binary, std::string config_json,
                Clock::duration startup_timeout = std::chrono::seconds(10));
  ServerProcess(std::string binary, const ServerConfig& config,
                Clock::duration startup_timeout = std::chrono::seconds(10));
  /// SIGTERM, wait up to 10 s, then SIGKILL; joins the log reader; removes the config file. If
  /// the process ended abnormally (killed by a signal other than SIGTERM/SIGKILL sent here, or a
  /// non-zero exit), prints the log tail to stderr.
  ~ServerProcess();
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  [[nodiscard]] std::uint16_t port() const noexcept { return port_; }
  [[nodiscard]] pid_t pid() const noexcept { return pid_; }

  /// Sends `sig` to the process (no-op once it has been reaped).
  void send_signal(int sig);

  /// Waits until the process exits or `deadline` passes. Returns the raw wait status
  /// (WIFEXITED/WEXITSTATUS...) or nullopt on timeout. Once reaped, returns the same status.
  std::optional<int> wait_exit(Deadline deadline);

  /// Waits for a log line (collected since start) containing `needle`, searching from line
  /// index `from`. Returns the line, or nullopt at the deadline.
  std::optional<std::string> wait_for_log(std::string_view needle, Deadline deadline,
                                          std::size_t from = 0);

  /// Number of log lines collected so far (use as `from` to wait only for newer lines).
  [[nodiscard]] std::size_t log_count() const;
  /// Snapshot of all collected log lines.
  [[nodiscard]] std::vector<std::string> log_lines() const;
  /// The last `n` log lines joined with newlines (for failure messages).
  [[nodiscard]] std::string log_tail(std::size_t n = 40) const;

 private:
  void start(const std::string& binary, const std::string& config_json,
             Clock::duration startup_timeout);
  void reader_loop(int fd);
  void stop();

  std::string config_path_;
  pid_t pid_ = -1;
  int pidfd_ = -1;
  std::uint16_t port_ = 0;
  std::optional<int> status_;
  bool signalled_by_us_ = false;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::string> lines_;
  bool eof_ = false;
  std::thread reader_;
};

}  // namespace test_support
