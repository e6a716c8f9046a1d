#include "protocol/origin.hpp"

#include <algorithm>
#include <cctype>

namespace protocol {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// Strips "scheme://" if present.
std::string_view host_part(std::string_view origin) {
  const auto pos = origin.find("://");
  return pos == std::string_view::npos ? origin : origin.substr(pos + 3);
}

bool match_one(std::string_view pattern, std::string_view origin) {
  const bool pattern_has_scheme = pattern.find("://") != std::string_view::npos;
  const std::string_view subject = pattern_has_scheme ? origin : host_part(origin);
  std::string_view pat = pattern;
  if (!pattern_has_scheme && pat.substr(0, 2) == "*.") {
    const std::string_view base = pat.substr(2);
    return subject == base || ends_with(subject, std::string(".") + std::string(base));
  }
  if (pattern_has_scheme) {
    const auto scheme_end = pat.find("://") + 3;
    if (pat.substr(scheme_end, 2) == "*.") {
      const std::string_view scheme = pat.substr(0, scheme_end);
      const std::string_view base = pat.substr(scheme_end + 2);
      if (subject.substr(0, scheme.size()) != scheme) return false;
      const std::string_view host = subject.substr(scheme.size());
      return host == base || ends_with(host, std::string(".") + std::string(base));
    }
  }
  const auto star = pat.find('*');
  if (star == std::string_view::npos) return subject == pat;
  const std::string_view prefix = pat.substr(0, star);
  const std::string_view suffix = pat.substr(star + 1);
  return subject.size() >= prefix.size() + suffix.size() &&
         subject.substr(0, prefix.size()) == prefix && ends_with(subject, suffix);
}

}  // namespace

bool origin_allowed(const std::vector<std::string>& patterns, std::string_view origin) {
  if (patterns.empty()) return true;
  const std::string o = lower(origin);
  for (const auto& p : patterns) {
    const std::string lp = lower(p);
    if (lp == "*" || lp == "any") return true;
    if (o.empty()) continue;
    if (match_one(lp, o)) return true;
  }
  return false;
}

}  // namespace protocol
