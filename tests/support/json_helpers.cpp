#include "tests/support/json_helpers.hpp"

#include <stdexcept>

namespace test_support {

std::string json_quote(std::string_view s) {
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  out.reserve(s.size() + 2);
  out += '"';
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      default:
        if (u < 0x20) {
          out += "\\u00";
          out += hex[u >> 4];
          out += hex[u & 0xf];
        } else {
          out += c;
        }
    }
  }
  out += '"';
  return out;
}

std::string subscribe_frame(std::string_view channel, std::string_view auth,
                            std::string_view channel_data) {
  std::string out = R"({"event":"pusher:subscribe","data":{)";
  if (!auth.empty()) out += "\"auth\":" + json_quote(auth) + ",";
  if (!channel_data.empty()) out += "\"channel_data\":" + json_quote(channel_data) + ",";
  out += "\"channel\":" + json_quote(channel) + "}}";
  return out;
}

std::string unsubscribe_frame(std::string_view channel) {
  return R"({"event":"pusher:unsubscribe","data":{"channel":)" + json_quote(channel) + "}}";
}

std::string ping_frame() {
  return R"({"event":"pusher:ping","data":{}})";
}

std::string pong_frame() {
  return R"({"event":"pusher:pong","data":{}})";
}

std::string client_event_frame(std::string_view event, std::string_view channel,
                               std::string_view data_json) {
  std::string out =
      "{\"event\":" + json_quote(event) + ",\"channel\":" + json_quote(channel) + ",\"data\":";
  out += data_json;
  out += '}';
  return out;
}

JsonDoc::JsonDoc(std::string_view text) : parser_(std::make_unique<simdjson::dom::parser>()) {
  auto result = parser_->parse(simdjson::padded_string(text));
  if (result.error()) {
    throw std::runtime_error("invalid JSON (" +
                             std::string(simdjson::error_message(result.error())) +
                             "): " + std::string(text));
  }
  root_ = result.value_unsafe();
}

std::string to_json(simdjson::dom::element e) {
  return simdjson::minify(e);
}

Frame parse_frame(std::string_view text) {
  JsonDoc doc(text);
  simdjson::dom::object obj;
  if (doc.root().get_object().get(obj)) {
    throw std::runtime_error("frame is not a JSON object: " + std::string(text));
  }
  Frame f;
  bool has_event = false;
  for (auto field : obj) {
    const std::string key(field.key);
    f.keys.push_back(key);
    if (key == "event") {
      std::string_view ev;
      if (field.value.get_string().get(ev)) {
        throw std::runtime_error("frame `event` is not a string: " + std::string(text));
      }
      f.event = std::string(ev);
      has_event = true;
    } else if (key == "channel") {
      std::string_view ch;
      if (field.value.get_string().get(ch)) {
        throw std::runtime_error("frame `channel` is not a string: " + std::string(text));
      }
      f.channel = std::string(ch);
    } else if (key == "data") {
      f.has_data = true;
      std::string_view s;
      if (!field.value.get_string().get(s)) {
        f.data_is_string = true;
        f.data = std::string(s);
      } else {
        f.data = to_json(field.value);
      }
    } else if (key == "user_id") {
      std::string_view uid;
      if (field.value.get_string().get(uid)) {
        throw std::runtime_error("frame `user_id` is not a string: " + std::string(text));
      }
      f.user_id = std::string(uid);
    }
  }
  if (!has_event) throw std::runtime_error("frame has no `event`: " + std::string(text));
  return f;
}

std::string event_of(std::string_view text) {
  return parse_frame(text).event;
}

std::optional<std::string> channel_of(std::string_view text) {
  return parse_frame(text).channel;
}

std::string data_of(std::string_view text) {
  return parse_frame(text).data;
}

ErrorData error_of(std::string_view text) {
  JsonDoc doc(text);
  std::string_view ev;
  if (doc.root()["event"].get_string().get(ev) || ev != "pusher:error") {
    throw std::runtime_error("not a pusher:error frame: " + std::string(text));
  }
  simdjson::dom::object data;
  if (doc.root()["data"].get_object().get(data)) {
    throw std::runtime_error("pusher:error data is not an object: " + std::string(text));
  }
  ErrorData out;
  std::string_view message;
  if (data["code"].get_int64().get(out.code) || data["message"].get_string().get(message)) {
    throw std::runtime_error("pusher:error data lacks integer code / string message: " +
                             std::string(text));
  }
  out.message = std::string(message);
  return out;
}

PresenceData parse_presence(std::string_view data) {
  JsonDoc doc(data);
  simdjson::dom::object presence;
  if (doc.root()["presence"].get_object().get(presence)) {
    throw std::runtime_error("no presence object in: " + std::string(data));
  }
  PresenceData out;
  simdjson::dom::array ids;
  simdjson::dom::object hash;
  if (presence["ids"].get_array().get(ids) || presence["hash"].get_object().get(hash) ||
      presence["count"].get_int64().get(out.count)) {
    throw std::runtime_error("presence lacks ids/hash/count: " + std::string(data));
  }
  for (auto id : ids) {
    std::string_view s;
    if (id.is_number()) {
      // Numeric presence ids (protocol §5.1): kept as their JSON text.
      out.ids.push_back(to_json(id));
      out.numeric_ids.push_back(out.ids.back());
    } else if (id.get_string().get(s)) {
      throw std::runtime_error("presence id is neither a string nor a number: " +
                               std::string(data));
    } else {
      out.ids.emplace_back(s);
    }
  }
  for (auto field : hash) out.hash.emplace(std::string(field.key), to_json(field.value));
  return out;
}

std::string socket_id_of(std::string_view text) {
  const Frame f = parse_frame(text);
  if (f.event != "pusher:connection_established" || !f.data_is_string) {
    throw std::runtime_error("not a connection_established frame: " + std::string(text));
  }
  JsonDoc doc(f.data);
  std::string_view id;
  if (doc.root()["socket_id"].get_string().get(id)) {
    throw std::runtime_error("connection_established without socket_id: " + std::string(text));
  }
  return std::string(id);
}

bool is_valid_socket_id(std::string_view id) {
  const auto dot = id.find('.');
  if (dot == std::string_view::npos) return false;
  auto part_ok = [](std::string_view p) {
    if (p.empty() || p.size() > 11) return false;
    if (p.size() > 1 && p[0] == '0') return false;
    std::uint64_t v = 0;
    for (char c : p) {
      if (c < '0' || c > '9') return false;
      v = v * 10 + static_cast<std::uint64_t>(c - '0');
    }
    return v <= 10'000'000'000ULL;
  };
  return part_ok(id.substr(0, dot)) && part_ok(id.substr(dot + 1));
}

}  // namespace test_support
