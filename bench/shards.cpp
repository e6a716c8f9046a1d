#include "bench/shards.hpp"

#include <signal.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <stdexcept>

namespace bench {

namespace {

bool write_all(int fd, std::string_view s) {
  while (!s.empty()) {
    const ssize_t n = ::write(fd, s.data(), s.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) {
        usleep(100);
        continue;
      }
      return false;
    }
    s.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

/// Reads lines from an fd and hands each to a callback.
struct LineReader final : Io {
  int fd = -1;
  std::string buf;
  std::function<void(std::string_view)> on_line;
  std::function<void()> on_eof;
  void on_io(std::uint32_t) override {
    char tmp[65536];
    const ssize_t n = ::read(fd, tmp, sizeof tmp);
    if (n <= 0) {
      if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
      on_eof();
      return;
    }
    buf.append(tmp, static_cast<std::size_t>(n));
    std::size_t start = 0;
    for (;;) {
      const std::size_t nl = buf.find('\n', start);
      if (nl == std::string::npos) break;
      on_line(std::string_view(buf).substr(start, nl - start));
      start = nl + 1;
    }
    buf.erase(0, start);
  }
};

/// A child process: its own loop and engine; exits after CLOSE or when the parent goes away.
[[noreturn]] void run_child(const Options& o, std::uint32_t shard, std::uint32_t shards, int fd) {
  int code = 0;
  try {
    Loop loop;
    bool done = false;
    Engine engine(o, loop, shard, shards, [&](const std::string& line) {
      if (!write_all(fd, line + "\n")) done = true;
      if (line == "CLOSED") done = true;
    });
    LineReader reader;
    reader.fd = fd;
    reader.on_line = [&](std::string_view cmd) { engine.handle(cmd); };
    reader.on_eof = [&] { done = true; };
    loop.add(fd, EPOLLIN, &reader);
    while (!done) loop.run_once(100);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "pushcore-bench shard %u: %s\n", shard, e.what());
    code = 1;
  }
  std::fflush(stderr);
  _exit(code);
}

}  // namespace

struct Shards::Child {
  pid_t pid = -1;
  LineReader reader;
  bool alive = true;
};

Shards::Shards(const Options& o, Loop& loop) : o_(o), loop_(loop), n_(o.procs) {
  status_.resize(n_);
  if (n_ == 1) {
    local_ = std::make_unique<Engine>(o_, loop_, 0, 1,
                                      [this](const std::string& line) { on_line(0, line); });
    return;
  }
  std::fflush(stdout);
  std::fflush(stderr);
  for (std::size_t i = 0; i < n_; ++i) {
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
      throw std::runtime_error(std::string("socketpair: ") + std::strerror(errno));
    }
    const pid_t pid = fork();
    if (pid < 0) throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
    if (pid == 0) {
      ::close(sv[0]);
      // Earlier children's sockets are the parent's business.
      for (auto& c : children_) ::close(c->reader.fd);
      run_child(o_, static_cast<std::uint32_t>(i), static_cast<std::uint32_t>(n_), sv[1]);
    }
    ::close(sv[1]);
    auto child = std::make_unique<Child>();
    child->pid = pid;
    child->reader.fd = sv[0];
    child->reader.on_line = [this, i](std::string_view line) { on_line(i, line); };
    child->reader.on_eof = [this, i] { on_child_gone(i); };
    loop_.add(sv[0], EPOLLIN, &child->reader);
    children_.push_back(std::move(child));
  }
}

Shards::~Shards() {
  for (auto& c : children_) {
    if (c->reader.fd >= 0) {
      loop_.del(c->reader.fd);
      ::close(c->reader.fd);
    }
    if (c->pid > 0) {
      int st = 0;
      // Children exit after CLOSE or when their socket closes; reap them.
      for (int i = 0; i < 200 && waitpid(c->pid, &st, WNOHANG) == 0; ++i) usleep(10000);
      if (waitpid(c->pid, &st, WNOHANG) == 0) {
        kill(c->pid, SIGKILL);
        waitpid(c->pid, &st, 0);
      }
    }
  }
}

void Shards::broadcast(const std::string& command) {
  if (command == "CLOSE") closing_ = true;
  if (local_) {
    local_->handle(command);
    return;
  }
  for (auto& c : children_) {
    if (c->alive) write_all(c->reader.fd, command + "\n");
  }
}

void Shards::on_line(std::size_t shard, std::string_view line) {
  const std::size_t sp = line.find(' ');
  const std::string type(line.substr(0, sp));
  auto r = Report::parse(sp == std::string_view::npos ? "" : line.substr(sp + 1));
  if (!r) {
    std::fprintf(stderr, "pushcore-bench: malformed line from shard %zu\n", shard);
    return;
  }
  if (type == "STATUS") {
    status_[shard] = std::move(*r);
  } else {
    replies_[type][shard] = std::move(*r);
  }
}

void Shards::on_child_gone(std::size_t shard) {
  Child& c = *children_[shard];
  if (!c.alive) return;
  c.alive = false;
  loop_.del(c.reader.fd);
  if (!closing_) {
    broken_ = true;
    std::fprintf(stderr, "pushcore-bench: shard %zu (pid %d) exited unexpectedly\n", shard,
                 static_cast<int>(c.pid));
  }
}

Report Shards::status() const {
  Report merged;
  for (const Report& r : status_) merged.merge(r);
  return merged;
}

std::uint64_t Shards::delivered() const {
  if (local_) return local_->delivered();
  return static_cast<std::uint64_t>(status().get("delivered"));
}

Report Shards::collect(const std::string& type, double timeout_s, bool& ok) {
  ok = loop_.run_until([&] { return broken_ || replies_[type].size() == n_; }, timeout_s) &&
       !broken_;
  Report merged;
  for (auto& [shard, r] : replies_[type]) merged.merge(r);
  replies_.erase(type);
  return merged;
}

}  // namespace bench
