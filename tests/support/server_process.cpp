#include "tests/support/server_process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <stdexcept>

extern char** environ;

namespace test_support {
namespace {

// Environment variables the server's config loader lets override the file (config.hpp). They
// are removed from the child's environment so a developer's shell cannot change a test.
bool overrides_config(std::string_view entry) {
  static constexpr std::string_view names[] = {"HOST=", "PORT=", "ACTIVITY_TIMEOUT="};
  for (auto n : names) {
    if (entry.substr(0, n.size()) == n) return true;
  }
  return entry.substr(0, 8) == "SOCKUDO_";
}

std::optional<std::uint16_t> parse_port(std::string_view line) {
  std::size_t pos = 0;
  while (pos < line.size()) {
    std::size_t end = line.find(' ', pos);
    if (end == std::string_view::npos) end = line.size();
    std::string_view token = line.substr(pos, end - pos);
    if (token.substr(0, 5) == "port=") {
      unsigned long v = 0;
      std::string_view digits = token.substr(5);
      if (digits.empty()) return std::nullopt;
      for (char c : digits) {
        if (c < '0' || c > '9') return std::nullopt;
        v = v * 10 + static_cast<unsigned long>(c - '0');
        if (v > 65535) return std::nullopt;
      }
      return static_cast<std::uint16_t>(v);
    }
    pos = end + 1;
  }
  return std::nullopt;
}

bool echo_log() {
  const char* v = std::getenv("PUSHCORE_E2E_ECHO_LOG");
  return v != nullptr && *v != '\0' && std::string_view(v) != "0";
}

}  // namespace

std::string server_binary(const char* compiled_default) {
  if (const char* env = std::getenv("PUSHCORE_BIN"); env != nullptr && *env != '\0') return env;
  return compiled_default != nullptr ? compiled_default : "";
}

ServerProcess::ServerProcess(std::string binary, std::string config_json,
                             Clock::duration startup_timeout) {
  start(binary, config_json, startup_timeout);
}

ServerProcess::ServerProcess(std::string binary, const ServerConfig& config,
                             Clock::duration startup_timeout) {
  start(binary, config.to_json(), startup_timeout);
}

ServerProcess::~ServerProcess() {
  stop();
}

void ServerProcess::start(const std::string& binary, const std::string& config_json,
                          Clock::duration startup_timeout) {
  if (binary.empty()) throw std::runtime_error("server binary path is empty");

  // Write the config file.
  char path[] = "/tmp/pushcore-e2e-XXXXXX.json";
  const int cfd = ::mkstemps(path, 5);
  if (cfd < 0) throw std::runtime_error(std::string("mkstemps: ") + std::strerror(errno));
  config_path_ = path;
  std::size_t written = 0;
  while (written < config_json.size()) {
    const ssize_t n = ::write(cfd, config_json.data() + written, config_json.size() - written);
    if (n < 0) {
      if (errno == EINTR) continue;
      ::close(cfd);
      throw std::runtime_error(std::string("write config: ") + std::strerror(errno));
    }
    written += static_cast<std::size_t>(n);
  }
  ::close(cfd);

  // Everything the child needs is prepared before fork (only async-signal-safe calls after).
  std::vector<std::string> args = {binary, "--config", config_path_};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (char** e = environ; *e != nullptr; ++e) {
    if (!overrides_config(*e)) envp.push_back(*e);
  }
  envp.push_back(nullptr);

  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    throw std::runtime_error(std::string("pipe2: ") + std::strerror(errno));
  }
  const int devnull = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  const pid_t parent = ::getpid();

  pid_ = ::fork();
  if (pid_ < 0) {
    ::close(fds[0]);
    ::close(fds[1]);
    if (devnull >= 0) ::close(devnull);
    throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
  }
  if (pid_ == 0) {
    // Child: stdout and stderr go to the pipe; die with the test process (the parent thread,
    // strictly: create ServerProcess on a thread that outlives it).
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(126);
    if (devnull >= 0) ::dup2(devnull, 0);
    ::dup2(fds[1], 1);
    ::dup2(fds[1], 2);
    ::execve(argv[0], argv.data(), envp.data());
    static constexpr char msg[] = "msg=exec_failed\n";
    [[maybe_unused]] auto ignored = ::write(2, msg, sizeof msg - 1);
    ::_exit(127);
  }
  ::close(fds[1]);
  if (devnull >= 0) ::close(devnull);
  pidfd_ = static_cast<int>(::syscall(SYS_pidfd_open, pid_, 0));
  reader_ = std::thread([this, fd = fds[0]] { reader_loop(fd); });

  // Wait for the listening line.
  const Deadline deadline = Clock::now() + startup_timeout;
  std::optional<std::uint16_t> port;
  {
    std::unique_lock lock(mu_);
    std::size_t scanned = 0;
    cv_.wait_until(lock, deadline, [&] {
      for (; scanned < lines_.size(); ++scanned) {
        if (lines_[scanned].find("msg=listening") != std::string::npos) {
          port = parse_port(lines_[scanned]);
          return true;
        }
      }
      return eof_;
    });
  }
  if (!port || *port == 0) {
    const std::string tail = log_tail();
    stop();
    throw std::runtime_error("server `" + binary + "` did not log msg=listening with port=N" +
                             " (startup timeout or exit); log:\n" + tail);
  }
  port_ = *port;
}

void ServerProcess::reader_loop(int fd) {
  const bool echo = echo_log();
  std::string partial;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    partial.append(buf, static_cast<std::size_t>(n));
    std::size_t start = 0;
    std::vector<std::string> complete;
    for (std::size_t nl; (nl = partial.find('\n', start)) != std::string::npos; start = nl + 1) {
      complete.emplace_back(partial, start, nl - start);
    }
    partial.erase(0, start);
    if (!complete.empty()) {
      if (echo) {
        for (const auto& l : complete) std::cerr << "[server " << pid_ << "] " << l << '\n';
      }
      std::lock_guard lock(mu_);
      for (auto& l : complete) lines_.push_back(std::move(l));
      cv_.notify_all();
    }
  }
  ::close(fd);
  std::lock_guard lock(mu_);
  if (!partial.empty()) lines_.push_back(std::move(partial));
  eof_ = true;
  cv_.notify_all();
}

void ServerProcess::send_signal(int sig) {
  if (pid_ > 0 && !status_) {
    if (sig == SIGTERM || sig == SIGKILL || sig == SIGINT) signalled_by_us_ = true;
    ::kill(pid_, sig);
  }
}

std::optional<int> ServerProcess::wait_exit(Deadline deadline) {
  if (status_) return status_;
  if (pid_ <= 0) return std::nullopt;
  for (;;) {
    int st = 0;
    const pid_t r = ::waitpid(pid_, &st, WNOHANG);
    if (r == pid_) {
      status_ = st;
      return status_;
    }
    if (r < 0 && errno != EINTR) return std::nullopt;
    const auto now = Clock::now();
    if (now >= deadline) return std::nullopt;
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now).count() + 1;
    if (pidfd_ >= 0) {
      // The pidfd becomes readable when the process exits.
      pollfd p{pidfd_, POLLIN, 0};
      ::poll(&p, 1, static_cast<int>(left));
    } else {
      // Old kernel without pidfd_open: poll the child state every 10 ms.
      ::poll(nullptr, 0, static_cast<int>(std::min<long long>(left, 10)));
    }
  }
}

std::optional<std::string> ServerProcess::wait_for_log(std::string_view needle, Deadline deadline,
                                                       std::size_t from) {
  std::unique_lock lock(mu_);
  std::optional<std::string> found;
  std::size_t scanned = from;
  cv_.wait_until(lock, deadline, [&] {
    for (; scanned < lines_.size(); ++scanned) {
      if (lines_[scanned].find(needle) != std::string::npos) {
        found = lines_[scanned];
        return true;
      }
    }
    return eof_;
  });
  return found;
}

std::size_t ServerProcess::log_count() const {
  std::lock_guard lock(mu_);
  return lines_.size();
}

std::vector<std::string> ServerProcess::log_lines() const {
  std::lock_guard lock(mu_);
  return lines_;
}

std::string ServerProcess::log_tail(std::size_t n) const {
  std::lock_guard lock(mu_);
  std::string out;
  const std::size_t first = lines_.size() > n ? lines_.size() - n : 0;
  for (std::size_t i = first; i < lines_.size(); ++i) out += lines_[i] + '\n';
  return out;
}

void ServerProcess::stop() {
  if (pid_ > 0 && !status_) {
    send_signal(SIGTERM);
    if (!wait_exit(Clock::now() + std::chrono::seconds(10))) {
      std::cerr << "[ServerProcess] pid " << pid_ << " ignored SIGTERM for 10 s; SIGKILL\n";
      send_signal(SIGKILL);
      int st = 0;
      while (::waitpid(pid_, &st, 0) < 0 && errno == EINTR) {
      }
      status_ = st;
    }
  }
  if (reader_.joinable()) reader_.join();
  if (pidfd_ >= 0) {
    ::close(pidfd_);
    pidfd_ = -1;
  }
  if (!config_path_.empty()) {
    ::unlink(config_path_.c_str());
    config_path_.clear();
  }
  if (status_) {
    const int st = *status_;
    const bool crashed = WIFSIGNALED(st) &&
                         !(signalled_by_us_ && (WTERMSIG(st) == SIGTERM ||
                                                WTERMSIG(st) == SIGKILL || WTERMSIG(st) == SIGINT));
    const bool failed = WIFEXITED(st) && WEXITSTATUS(st) != 0;
    if (crashed || failed) {
      std::cerr << "[ServerProcess] pid " << pid_ << " ended abnormally ("
                << (crashed ? "signal " + std::to_string(WTERMSIG(st))
                            : "exit " + std::to_string(WEXITSTATUS(st)))
                << "); log tail:\n"
                << log_tail();
    }
  }
  pid_ = -1;
}

}  // namespace test_support
