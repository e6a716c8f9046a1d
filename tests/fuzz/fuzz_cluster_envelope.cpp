// libFuzzer target: the envelopes of the Redis bus (server/cluster_codec.*) as a node reads them,
// including the payloads of numbered messages and positions (Protocol V2 across the cluster).
// Every decoded envelope must encode back to the same bytes; parsed payloads must view the input.

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "server/cluster_codec.hpp"

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  using namespace server::cluster;
  if (auto e = decode(in)) check(encode(*e) == in);
  if (auto m = parse_sequenced(in)) {
    check(m->serial > 0 && !m->stream_id.empty() && !m->message_id.empty() && !m->json.empty());
    check(m->json.data() + m->json.size() == in.data() + in.size());
  }
  if (auto p = parse_position(in)) check(!p->stream_id.empty());
  return 0;
}
