// The webhook sections of the config loader: top-level `webhooks` (the sender's batching, queue
// bounds, timeouts and retry policy) and each app's webhook list (url, event_types, headers,
// filter, per-webhook timeout and retry), with the checks on header names and filter regexes.

#include <regex>
#include <utility>

#include "server/config_detail.hpp"

namespace server {

bool WebhookFilter::pattern_numbers_bounded(std::string_view pattern) noexcept {
  const auto digits_at = [&](std::size_t i) {
    std::size_t n = 0;
    while (i + n < pattern.size() && pattern[i + n] >= '0' && pattern[i + n] <= '9') ++n;
    return n;
  };
  bool in_braces = false;
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    const char c = pattern[i];
    if (c == '\\') {
      if (digits_at(i + 1) > max_pattern_number_digits) return false;
      ++i;  // the escaped character
    } else if (c == '{' || (c == ',' && in_braces)) {
      in_braces = true;
      if (digits_at(i + 1) > max_pattern_number_digits) return false;
    } else if (c == '}') {
      in_braces = false;
    }
  }
  return true;
}

namespace config_detail {
namespace {

// Webhook event types this server produces (protocol.md §10.2).
constexpr std::string_view webhook_event_types[] = {
    "channel_occupied", "channel_vacated", "member_added",      "member_removed",
    "client_event",     "cache_miss",      "subscription_count"};
// Headers the sender sets itself: a configured value would break the signature check or HTTP.
constexpr std::string_view reserved_webhook_headers[] = {
    "content-type", "content-length", "x-pusher-key",     "x-pusher-signature",
    "host",         "connection",     "transfer-encoding"};

// RFC 9110 token characters (header field names).
bool is_token(std::string_view text) {
  if (text.empty()) {
    return false;
  }
  constexpr std::string_view extra = "!#$%&'*+-.^_`|~";
  for (const char c : text) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    extra.find(c) != std::string_view::npos;
    if (!ok) {
      return false;
    }
  }
  return true;
}

RetryIn read_retry(FieldWalker& walker, dom::element value, std::string_view path) {
  RetryIn r;
  walker.for_each_field(value, path, [&](std::string_view k, dom::element v, const std::string& p) {
    if (k == "enabled") {
      r.enabled = to_bool(v, p);
    } else if (k == "max_attempts") {
      r.max_attempts = to_uint(v, p);
    } else if (k == "initial_interval_ms" || k == "initial_backoff_ms") {  // Sockudo: *_backoff_ms
      r.initial_interval = to_millis(v, p, 1, 3'600'000);
    } else if (k == "max_interval_ms" || k == "max_backoff_ms") {
      r.max_interval = to_millis(v, p, 1, 3'600'000);
    } else if (k == "max_elapsed_time_ms") {
      r.max_elapsed_time = to_millis(v, p, 0, 86'400'000);
    } else {
      return false;
    }
    return true;
  });
  return r;
}

// `headers`: an object of string values. Sockudo's nested {"headers": {...}} form is accepted.
std::vector<std::pair<std::string, std::string>> read_webhook_headers(FieldWalker& walker,
                                                                      dom::element value,
                                                                      const std::string& path) {
  if (value.type() == dom::element_type::OBJECT) {
    dom::element inner;
    const dom::object object(value);
    if (object.size() == 1 && !object["headers"].get(inner) &&
        inner.type() == dom::element_type::OBJECT) {
      return read_webhook_headers(walker, inner, join_path(path, "headers"));
    }
  }
  std::vector<std::pair<std::string, std::string>> out;
  walker.for_each_field(value, path, [&](std::string_view k, dom::element v, const std::string& p) {
    std::string text;
    if (v.type() == dom::element_type::STRING) {
      text = std::string(v.get_string().value_unsafe());
    } else if (v.is_number()) {
      text = simdjson::minify(v);
    } else {
      fail_value(p, "a string", show(v));
    }
    if (!is_token(k)) {
      fail(p, "invalid HTTP header name");
    }
    if (text.find_first_of(std::string_view("\r\n\0", 3)) != std::string::npos) {
      fail(p, "header value contains CR, LF or NUL");
    }
    std::string lower(k);
    for (char& c : lower) {
      c = (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
    }
    if (is_one_of(lower, reserved_webhook_headers)) {
      walker.warn(p + ": header set by the server, ignored");
      return true;
    }
    out.emplace_back(std::string(k), std::move(text));
    return true;
  });
  return out;
}

void read_webhook_filter(FieldWalker& walker, dom::element value, std::string_view path,
                         WebhookFilter& out) {
  walker.for_each_field(value, path, [&](std::string_view k, dom::element v, const std::string& p) {
    if (k == "channel_prefix" || k == "channel_name_starts_with") {
      out.channel_prefix = to_string(v, p);
    } else if (k == "channel_suffix" || k == "channel_name_ends_with") {
      out.channel_suffix = to_string(v, p);
    } else if (k == "channel_pattern") {
      out.channel_pattern = to_string(v, p);
      if (out.channel_pattern.size() > WebhookFilter::max_pattern_length) {
        fail(p, "a regular expression of at most " +
                    std::to_string(WebhookFilter::max_pattern_length) + " characters");
      }
      if (!WebhookFilter::pattern_numbers_bounded(out.channel_pattern)) {
        fail(p, "a regular expression whose back-references and {m,n} counts have at most " +
                    std::to_string(WebhookFilter::max_pattern_number_digits) + " digits");
      }
      try {
        const std::regex compiled(out.channel_pattern, std::regex::ECMAScript);
        out.pattern_valid = true;
      } catch (const std::regex_error&) {
        out.pattern_valid = false;
        walker.warn(p + ": invalid regular expression, this filter matches no channel");
      }
    } else if (k == "channel_namespace") {
      out.channel_namespaces.push_back(to_string(v, p));
    } else if (k == "channel_namespaces") {
      for (std::string& ns : to_string_list(v, p)) {
        out.channel_namespaces.push_back(std::move(ns));
      }
    } else {
      return false;
    }
    return true;
  });
}

std::optional<WebhookIn> read_webhook(FieldWalker& walker, dom::element value,
                                      const std::string& path) {
  WebhookIn in;
  bool has_url = false;
  bool has_lambda = false;
  walker.for_each_field(value, path, [&](std::string_view k, dom::element v, const std::string& p) {
    if (k == "url") {
      const std::string url = to_string(v, p);
      if (const std::string problem = parse_webhook_url(url, in.target); !problem.empty()) {
        fail(p, "invalid webhook URL " + in_quotes(url) + ": " + problem);
      }
      has_url = true;
    } else if (k == "event_types") {
      in.target.event_types = to_string_list(v, p);
      for (const std::string& type : in.target.event_types) {
        if (!is_one_of(type, webhook_event_types)) {
          walker.warn(p + ": unknown webhook event type " + in_quotes(type) + ", never sent");
        }
      }
    } else if (k == "headers") {
      in.target.headers = read_webhook_headers(walker, v, p);
    } else if (k == "filter") {
      read_webhook_filter(walker, v, p, in.target.filter);
    } else if (k == "request_timeout_ms") {
      in.target.request_timeout = to_millis(v, p, 1, 3'600'000);
    } else if (k == "retry") {
      in.retry = read_retry(walker, v, p);
    } else if (k == "lambda_function" || k == "lambda") {
      has_lambda = true;
      walker.warn_unsupported(p);
    } else {
      return false;
    }
    return true;
  });
  if (!has_url) {
    if (has_lambda) {
      walker.warn(path + ": webhook without `url` (AWS Lambda only), skipped");
      return std::nullopt;
    }
    fail(join_path(path, "url"), "required, an http:// or https:// URL");
  }
  if (in.target.event_types.empty()) {
    walker.warn(join_path(path, "event_types") + ": no event types, this webhook receives nothing");
  }
  return in;
}

}  // namespace

void RetryIn::apply_to(WebhookRetry& out) const {
  if (enabled) {
    out.enabled = *enabled;
  }
  if (max_attempts) {
    out.max_attempts = *max_attempts;
  }
  if (initial_interval) {
    out.initial_interval = *initial_interval;
  }
  if (max_interval) {
    out.max_interval = *max_interval;
  }
  if (max_elapsed_time) {
    out.max_elapsed_time = *max_elapsed_time;
  }
}

void read_webhook_settings(FieldWalker& walker, dom::element value, std::string_view path,
                           WebhookSettings& w, std::optional<RetryIn>& retry) {
  walker.for_each_field(value, path, [&](std::string_view k, dom::element v, const std::string& p) {
    if (k == "batching") {
      walker.for_each_field(v, p, [&](std::string_view k2, dom::element v2, const std::string& p2) {
        if (k2 == "enabled") {
          w.batching_enabled = to_bool(v2, p2);
        } else if (k2 == "duration") {
          w.batching_duration = to_millis(v2, p2, 0, 60'000);
        } else if (k2 == "max_batch_size" || k2 == "size") {  // Sockudo's name: size
          w.max_batch_size = to_uint(v2, p2, 1, 10'000);
        } else {
          return false;
        }
        return true;
      });
    } else if (k == "max_queue_size") {
      w.max_queue_size = to_uint(v, p, 1, 100'000'000);
    } else if (k == "max_queue_bytes") {
      w.max_queue_bytes = to_uint(v, p, 1024);
    } else if (k == "max_concurrent_requests") {
      w.max_concurrent_requests = to_uint(v, p, 1, 10'000);
    } else if (k == "request_timeout_ms") {
      w.request_timeout = to_millis(v, p, 1, 3'600'000);
    } else if (k == "vacate_delay_ms") {
      w.vacate_delay = to_millis(v, p, 0, 3'600'000);
    } else if (k == "retry") {
      retry = read_retry(walker, v, p);
    } else {
      return false;
    }
    return true;
  });
}

std::vector<WebhookIn> read_webhook_list(FieldWalker& walker, dom::element value,
                                         const std::string& path) {
  if (value.type() != dom::element_type::ARRAY) {
    fail_value(path, "an array of webhooks", show(value));
  }
  std::vector<WebhookIn> out;
  std::size_t index = 0;
  for (const dom::element item : dom::array(value)) {
    if (auto webhook = read_webhook(walker, item, index_path(path, index))) {
      out.push_back(std::move(*webhook));
    }
    ++index;
  }
  return out;
}

std::vector<WebhookTarget> resolve_webhooks(std::vector<WebhookIn>& list,
                                            const WebhookRetry& global_retry) {
  std::vector<WebhookTarget> out;
  for (WebhookIn& in : list) {
    if (in.retry) {
      WebhookRetry retry = global_retry;
      in.retry->apply_to(retry);
      in.target.retry = retry;
    }
    out.push_back(std::move(in.target));
  }
  return out;
}

}  // namespace config_detail
}  // namespace server
