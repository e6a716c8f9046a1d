// pushcore-floor: the measurement floor of issue 6 ("epoll, one send() per frame"), so the
// fixed-rate target (≤ 1.10× the floor) is compared in the same sitting on the same machine.
//
// NOT a server: no authentication, no limits, no presence, no webhooks, one thread. It speaks
// just enough of the Pusher protocol for `pushcore-bench fanout`: the WebSocket upgrade,
// pusher:connection_established, pusher:subscribe → subscription_succeeded, pusher:ping →
// pong, and POST /apps/{id}/events (the signature is not checked), fanned out as one Pusher
// frame built once per channel and one send() per subscriber. Everything else closes the
// connection.
//
//   pushcore-floor [--port N]   (127.0.0.1; default 6401)

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <simdjson.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "auth/crypto.hpp"
#include "protocol/json.hpp"
#include "protocol/ws_frame.hpp"

namespace {

constexpr std::size_t max_buffered = 1 << 20;

struct Conn {
  int fd = -1;
  bool ws = false;
  std::string in;   // unparsed input
  std::string out;  // output the kernel did not take yet
  std::vector<std::string> channels;
};

class Floor {
 public:
  explicit Floor(std::uint16_t port) {
    ep_ = ::epoll_create1(EPOLL_CLOEXEC);
    lfd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    const int one = 1;
    ::setsockopt(lfd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    ::setsockopt(lfd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(lfd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        ::listen(lfd_, SOMAXCONN) != 0) {
      std::perror("pushcore-floor: bind/listen");
      std::exit(1);
    }
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.ptr = nullptr;
    ::epoll_ctl(ep_, EPOLL_CTL_ADD, lfd_, &ev);
  }

  void run() {
    std::vector<epoll_event> evs(256);
    for (;;) {
      const int n = ::epoll_wait(ep_, evs.data(), static_cast<int>(evs.size()), -1);
      for (int i = 0; i < n; ++i) {
        auto* c = static_cast<Conn*>(evs[static_cast<std::size_t>(i)].data.ptr);
        if (c == nullptr) {
          accept_all();
        } else if (evs[static_cast<std::size_t>(i)].events & EPOLLOUT && !c->out.empty()) {
          write_out(*c);
        } else {
          read_conn(*c);
        }
      }
      for (Conn* c : doomed_) drop(c);
      doomed_.clear();
    }
  }

 private:
  void accept_all() {
    for (;;) {
      const int fd = ::accept4(lfd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) return;
      auto c = std::make_unique<Conn>();
      c->fd = fd;
      epoll_event ev{};
      ev.events = EPOLLIN;
      ev.data.ptr = c.get();
      ::epoll_ctl(ep_, EPOLL_CTL_ADD, fd, &ev);
      conns_.emplace(c.get(), std::move(c));
    }
  }

  void close_later(Conn& c) {
    if (c.fd < 0) return;
    ::close(c.fd);
    c.fd = -1;
    doomed_.push_back(&c);
  }

  void drop(Conn* c) {
    for (const auto& ch : c->channels) {
      auto& v = subs_[ch];
      for (auto& s : v) {
        if (s == c) {
          s = v.back();
          v.pop_back();
          break;
        }
      }
    }
    conns_.erase(c);
  }

  void send_bytes(Conn& c, std::string_view bytes) {
    if (c.fd < 0) return;
    if (!c.out.empty()) {
      if (c.out.size() + bytes.size() > max_buffered)
        close_later(c);
      else
        c.out.append(bytes);
      return;
    }
    const ssize_t n = ::send(c.fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n == static_cast<ssize_t>(bytes.size())) return;
    if (n < 0 && errno != EAGAIN) {
      close_later(c);
      return;
    }
    c.out.assign(bytes.substr(n < 0 ? 0 : static_cast<std::size_t>(n)));
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLOUT;
    ev.data.ptr = &c;
    ::epoll_ctl(ep_, EPOLL_CTL_MOD, c.fd, &ev);
  }

  void write_out(Conn& c) {
    const ssize_t n = ::send(c.fd, c.out.data(), c.out.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno != EAGAIN) close_later(c);
      return;
    }
    c.out.erase(0, static_cast<std::size_t>(n));
    if (c.out.empty()) {
      epoll_event ev{};
      ev.events = EPOLLIN;
      ev.data.ptr = &c;
      ::epoll_ctl(ep_, EPOLL_CTL_MOD, c.fd, &ev);
    }
  }

  void read_conn(Conn& c) {
    char buf[65536];
    const ssize_t n = ::recv(c.fd, buf, sizeof buf, 0);
    if (n <= 0) {
      if (n < 0 && errno == EAGAIN) return;
      close_later(c);
      return;
    }
    c.in.append(buf, static_cast<std::size_t>(n));
    if (c.in.size() > max_buffered) {
      close_later(c);
      return;
    }
    while (c.fd >= 0 && (c.ws ? ws_step(c) : http_step(c))) {
    }
  }

  // ---- HTTP: the upgrade, or a publish ------------------------------------------------------
  bool http_step(Conn& c) {
    const auto end = c.in.find("\r\n\r\n");
    if (end == std::string::npos) return false;
    const std::string_view head(c.in.data(), end + 4);
    const auto field = [&](std::string_view name) -> std::string_view {
      std::size_t pos = 0;
      while ((pos = head.find("\r\n", pos)) != std::string_view::npos) {
        pos += 2;
        if (head.size() - pos > name.size() &&
            strncasecmp(head.data() + pos, name.data(), name.size()) == 0 &&
            head[pos + name.size()] == ':') {
          std::size_t v = pos + name.size() + 1;
          while (v < head.size() && head[v] == ' ') ++v;
          return head.substr(v, head.find("\r\n", v) - v);
        }
      }
      return {};
    };
    if (head.substr(0, 9) == "GET /app/") {
      std::string res =
          "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
          "Sec-WebSocket-Accept: " +
          auth::websocket_accept_key(field("Sec-WebSocket-Key")) + "\r\n\r\n";
      const std::string sid = "1." + std::to_string(++next_id_);
      res += protocol::make_frame(
          protocol::Opcode::text,
          R"({"event":"pusher:connection_established","data":"{\"socket_id\":\")" + sid +
              R"(\",\"activity_timeout\":120}"})");
      c.in.erase(0, end + 4);
      c.ws = true;
      send_bytes(c, res);
      return true;
    }
    const std::string_view cl = field("Content-Length");
    const std::size_t body_len =
        cl.empty() ? 0 : std::strtoull(std::string(cl).c_str(), nullptr, 10);
    if (c.in.size() < end + 4 + body_len) return false;
    const bool is_publish = head.substr(0, 11) == "POST /apps/";
    const std::string body = c.in.substr(end + 4, body_len);
    c.in.erase(0, end + 4 + body_len);  // `head` is invalid from here
    if (!is_publish || !publish(body)) {
      send_bytes(c, "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
      return true;
    }
    send_bytes(c,
               "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}");
    return true;
  }

  bool publish(const std::string& body) {
    simdjson::padded_string padded(body);
    simdjson::dom::element doc;
    if (json_.parse(padded).get(doc)) return false;
    std::string_view name, data;
    if (doc["name"].get(name) || doc["data"].get(data)) return false;
    std::vector<std::string> channels;
    std::string_view one;
    simdjson::dom::array many;
    if (!doc["channel"].get(one)) channels.emplace_back(one);
    if (!doc["channels"].get(many)) {
      for (auto v : many) {
        std::string_view s;
        if (!v.get(s)) channels.emplace_back(s);
      }
    }
    for (const auto& ch : channels) {
      std::string json = "{\"event\":";
      protocol::append_json_string(json, name);
      json += ",\"channel\":";
      protocol::append_json_string(json, ch);
      json += ",\"data\":";
      protocol::append_json_string(json, data);
      json += '}';
      const std::string frame = protocol::make_frame(protocol::Opcode::text, json);
      auto it = subs_.find(ch);
      if (it == subs_.end()) continue;
      for (Conn* s : it->second) send_bytes(*s, frame);  // one send() per frame
    }
    return true;
  }

  // ---- WebSocket ----------------------------------------------------------------------------
  bool ws_step(Conn& c) {
    protocol::FrameHeader h{};
    const auto bytes = std::span<const std::uint8_t>(
        reinterpret_cast<const std::uint8_t*>(c.in.data()), c.in.size());
    const auto err = protocol::parse_frame_header(bytes, max_buffered, h);
    if (err == protocol::FrameError::need_more) return false;
    if (err != protocol::FrameError::none) {
      close_later(c);
      return false;
    }
    const std::size_t total = h.header_length + static_cast<std::size_t>(h.payload_length);
    if (c.in.size() < total) return false;
    auto* p = reinterpret_cast<std::uint8_t*>(c.in.data() + h.header_length);
    protocol::unmask({p, static_cast<std::size_t>(h.payload_length)}, h.mask);
    const std::string msg(reinterpret_cast<const char*>(p),
                          static_cast<std::size_t>(h.payload_length));
    c.in.erase(0, total);
    if (h.opcode == protocol::Opcode::close) {
      close_later(c);
      return false;
    }
    if (h.opcode == protocol::Opcode::text) on_message(c, msg);
    return true;
  }

  void on_message(Conn& c, const std::string& msg) {
    simdjson::padded_string padded(msg);
    simdjson::dom::element doc;
    std::string_view event;
    if (json_.parse(padded).get(doc) || doc["event"].get(event)) return;
    if (event == "pusher:ping") {
      send_bytes(
          c, protocol::make_frame(protocol::Opcode::text, R"({"event":"pusher:pong","data":{}})"));
      return;
    }
    if (event != "pusher:subscribe") return;
    std::string_view channel;
    if (doc["data"]["channel"].get(channel)) return;
    const std::string ch(channel);
    c.channels.push_back(ch);
    subs_[ch].push_back(&c);
    std::string json = R"({"event":"pusher_internal:subscription_succeeded","channel":)";
    protocol::append_json_string(json, ch);
    json += R"(,"data":"{}"})";
    send_bytes(c, protocol::make_frame(protocol::Opcode::text, json));
  }

  int ep_ = -1;
  int lfd_ = -1;
  std::uint64_t next_id_ = 0;
  simdjson::dom::parser json_;
  std::unordered_map<Conn*, std::unique_ptr<Conn>> conns_;
  std::unordered_map<std::string, std::vector<Conn*>> subs_;
  std::vector<Conn*> doomed_;
};

}  // namespace

int main(int argc, char** argv) {
  std::uint16_t port = 6401;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    if ((a == "--port" || a == "-p") && i + 1 < argc) {
      port = static_cast<std::uint16_t>(std::atoi(argv[++i]));
    } else {
      std::fprintf(stderr,
                   "usage: pushcore-floor [--port N]   (a measurement floor, not a server)\n");
      return 2;
    }
  }
  std::signal(SIGPIPE, SIG_IGN);
  Floor floor(port);
  std::fprintf(stderr, "pushcore-floor: listening on 127.0.0.1:%u\n", port);
  floor.run();
}
