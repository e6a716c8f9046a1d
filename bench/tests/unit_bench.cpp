// Unit tests of the bench harness's pure parts: latency histogram, report merging, argument
// parsing, wire helpers (frames, fields, markers, HTTP responses, sequence tracking) and the
// summary of several runs.

#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <cmath>
#include <string>
#include <vector>

#include "bench/histogram.hpp"
#include "bench/options.hpp"
#include "bench/output.hpp"
#include "bench/report.hpp"
#include "bench/wire.hpp"

using namespace bench;

// ---- histogram ------------------------------------------------------------------------------

TEST_CASE("histogram: buckets cover every value with bounded relative error") {
  const std::uint64_t values[] = {
      0, 1, 127, 128, 129, 1000, 123456, 987654321, (1ULL << 40) + 12345, UINT64_MAX};
  for (std::uint64_t v : values) {
    const std::size_t b = Histogram::bucket_of(v);
    CHECK(b < Histogram::kBuckets);
    CHECK(Histogram::bucket_low(b) <= v);
    CHECK(Histogram::bucket_high(b) >= v);
    if (v >= 128) {
      const double width =
          static_cast<double>(Histogram::bucket_high(b) - Histogram::bucket_low(b));
      CHECK(width / static_cast<double>(v) <= 1.0 / 64);
    }
  }
  // Contiguous: each bucket starts right after the previous one.
  for (std::size_t i = 1; i < Histogram::kBuckets; ++i) {
    CHECK(Histogram::bucket_low(i) == Histogram::bucket_high(i - 1) + 1);
  }
}

TEST_CASE("histogram: quantiles, min, max, mean") {
  Histogram h;
  CHECK(h.quantile(0.5) == 0);
  for (std::uint64_t v = 1; v <= 1000; ++v) h.record(v * 1000);  // 1 us .. 1 ms
  CHECK(h.count() == 1000);
  CHECK(h.min() == 1000);
  CHECK(h.max() == 1'000'000);
  CHECK(h.mean() == doctest::Approx(500500.0));
  CHECK(static_cast<double>(h.quantile(0.5)) == doctest::Approx(500'000).epsilon(0.01));
  CHECK(static_cast<double>(h.quantile(0.99)) == doctest::Approx(990'000).epsilon(0.01));
  CHECK(static_cast<double>(h.quantile(0.999)) == doctest::Approx(999'000).epsilon(0.01));
  CHECK(h.quantile(1.0) == h.max());
  CHECK(h.quantile(0.0) == h.min());
}

TEST_CASE("histogram: exact small values and a single sample") {
  Histogram h;
  h.record(42);
  CHECK(h.quantile(0.5) == 42);
  CHECK(h.quantile(0.999) == 42);
  h.record_n(7, 3);
  CHECK(h.count() == 4);
  CHECK(h.quantile(0.5) == 7);
}

TEST_CASE("histogram: merge equals recording everything in one") {
  Histogram a, b, all;
  for (std::uint64_t v = 0; v < 5000; ++v) {
    const std::uint64_t x = v * v * 13 + 5;
    (v % 3 ? a : b).record(x);
    all.record(x);
  }
  a.merge(b);
  CHECK(a.count() == all.count());
  CHECK(a.min() == all.min());
  CHECK(a.max() == all.max());
  for (double q : {0.1, 0.5, 0.9, 0.99, 0.999}) CHECK(a.quantile(q) == all.quantile(q));
  Histogram empty;
  a.merge(empty);
  CHECK(a.count() == all.count());
}

TEST_CASE("histogram: serialize round trip and malformed input") {
  Histogram h;
  for (std::uint64_t v : {5, 5, 1000, 77777, 123456789}) h.record(v);
  const std::string s = h.serialize();
  CHECK(s.find(' ') == std::string::npos);
  auto back = Histogram::parse(s);
  REQUIRE(back);
  CHECK(back->count() == h.count());
  CHECK(back->min() == h.min());
  CHECK(back->max() == h.max());
  CHECK(back->quantile(0.5) == h.quantile(0.5));
  CHECK(back->serialize() == s);
  CHECK(Histogram::parse(Histogram{}.serialize()));
  CHECK_FALSE(Histogram::parse(""));
  CHECK_FALSE(Histogram::parse("2,1,1,2;1:1"));      // counts don't add up
  CHECK_FALSE(Histogram::parse("1,1,1,1;99999:1"));  // bucket out of range
  CHECK_FALSE(Histogram::parse("1,1,1,1;1:x"));
}

// ---- report ---------------------------------------------------------------------------------

TEST_CASE("report: merge sums, keeps max/min by suffix, merges histograms") {
  Report a, b;
  a.add("deliveries", 10);
  a.set_max("t_all_ready_max", 100);
  a.set_min("t_connect_min", 50);
  a.hist("lat").record(1000);
  b.add("deliveries", 5);
  b.add("losses", 0);
  b.set_max("t_all_ready_max", 300);
  b.set_min("t_connect_min", 20);
  b.hist("lat").record(3000);
  a.merge(b);
  CHECK(a.get("deliveries") == 15);
  CHECK(a.get("losses") == 0);
  CHECK(a.get("t_all_ready_max") == 300);
  CHECK(a.get("t_connect_min") == 20);
  CHECK(a.get("absent") == 0);
  CHECK(a.hist("lat").count() == 2);
  // Merging into an empty report copies _min keys instead of taking min with 0.
  Report empty;
  empty.merge(a);
  CHECK(empty.get("t_connect_min") == 20);
}

TEST_CASE("report: one-line serialization round trip") {
  Report r;
  r.add("jl.0", 12);
  r.add("jl.3", -4);
  r.hist("cycle").record(12345);
  const std::string line = r.serialize();
  CHECK(line.find('\n') == std::string::npos);
  auto back = Report::parse(line);
  REQUIRE(back);
  CHECK(back->get("jl.0") == 12);
  CHECK(back->get("jl.3") == -4);
  CHECK(back->hist("cycle").count() == 1);
  CHECK(Report::parse("")->counters.empty());
  CHECK_FALSE(Report::parse("novalue"));
  CHECK_FALSE(Report::parse("k=12x"));
  CHECK_FALSE(Report::parse("h.lat=garbage"));
}

// ---- options --------------------------------------------------------------------------------

namespace {
ParseStatus parse(std::vector<const char*> args, Options& o, std::string& err) {
  args.insert(args.begin(), "pushcore-bench");
  return parse_options(static_cast<int>(args.size()), args.data(), o, err);
}
}  // namespace

TEST_CASE("options: defaults and a full fanout command") {
  Options o;
  std::string err;
  REQUIRE(parse({"fanout"}, o, err) == ParseStatus::ok);
  CHECK(o.scenario == Scenario::fanout);
  CHECK(o.subscribers == 1000);
  CHECK(o.port == 6001);
  CHECK(o.src_addrs == 1);
  CHECK(o.inflight == 32);
  Options p;
  REQUIRE(parse({"fanout",  "-n",     "15000",        "-c", "10",        "--channel-type",
                 "private", "--max",  "--inflight",   "16", "--payload", "100",
                 "--port",  "6101",   "--server-pid", "42", "--json",    "out.jsonl",
                 "--label", "soketi", "--procs",      "2",  "-d",        "7.5"},
                p, err) == ParseStatus::ok);
  CHECK(p.subscribers == 15000);
  CHECK(p.channels == 10);
  CHECK(p.channel_type == ChannelType::private_);
  CHECK(p.max);
  CHECK(p.inflight == 16);
  CHECK(p.port == 6101);
  CHECK(p.server_pid == 42);
  CHECK(p.json_path == "out.jsonl");
  CHECK(p.label == "soketi");
  CHECK(p.procs == 2);
  CHECK(p.src_addrs == 1);
  CHECK(p.duration == doctest::Approx(7.5));
  CHECK(p.argv.size() == 25);
}

TEST_CASE("options: every scenario name parses; help; errors name the problem") {
  std::string err;
  for (const char* s : {"fanout", "connect", "churn", "presence", "client-events", "slow"}) {
    Options o;
    CHECK(parse({s}, o, err) == ParseStatus::ok);
    CHECK(scenario_name(o.scenario) == s);
  }
  Options o;
  CHECK(parse({"--help"}, o, err) == ParseStatus::help);
  CHECK(parse({"fanout", "-h"}, o, err) == ParseStatus::help);
  CHECK(help_text().find("client-events") != std::string::npos);

  CHECK(parse({}, o, err) == ParseStatus::error);
  CHECK(parse({"nope"}, o, err) == ParseStatus::error);
  CHECK(err.find("nope") != std::string::npos);
  CHECK(parse({"fanout", "--port"}, o, err) == ParseStatus::error);
  CHECK(err.find("needs a value") != std::string::npos);
  CHECK(parse({"fanout", "--port", "70000"}, o, err) == ParseStatus::error);
  CHECK(parse({"fanout", "-n", "0"}, o, err) == ParseStatus::error);
  CHECK(parse({"fanout", "-n", "12k"}, o, err) == ParseStatus::error);
  CHECK(parse({"fanout", "--rate", "-5"}, o, err) == ParseStatus::error);
  CHECK(parse({"fanout", "--channel-type", "secret"}, o, err) == ParseStatus::error);
  CHECK(parse({"fanout", "--bogus", "1"}, o, err) == ParseStatus::error);
  CHECK(err.find("unknown option '--bogus'") != std::string::npos);
  CHECK(parse({"fanout", "--bogus"}, o, err) == ParseStatus::error);
  CHECK(err.find("unknown option") != std::string::npos);
  CHECK(parse({"fanout", "-n", "5", "-c", "10"}, o, err) == ParseStatus::error);
  CHECK(parse({"slow", "--max"}, o, err) == ParseStatus::error);
  CHECK(parse({"fanout", "-n", "2", "--procs", "3"}, o, err) == ParseStatus::error);
  CHECK(parse({"client-events", "--channel-type", "public"}, o, err) == ParseStatus::error);
}

TEST_CASE("options: scenario-implied channel types") {
  std::string err;
  Options ce;
  REQUIRE(parse({"client-events"}, ce, err) == ParseStatus::ok);
  CHECK(ce.channel_type == ChannelType::private_);
  Options pr;
  REQUIRE(parse({"presence", "-c", "5"}, pr, err) == ParseStatus::ok);
  CHECK(pr.channel_type == ChannelType::presence);
}

TEST_CASE("options: shell_join quotes what needs quoting; channel names") {
  CHECK(shell_join({"a", "b-c", "x=1"}) == "a b-c x=1");
  CHECK(shell_join({"a b", "it's", ""}) == "'a b' 'it'\\''s' ''");
  CHECK(channel_name(ChannelType::public_, 7, 3) == "b7-3");
  CHECK(channel_name(ChannelType::private_, 7, 3) == "private-b7-3");
  CHECK(channel_name(ChannelType::presence, 7, 3) == "presence-b7-3");
}

// ---- wire -----------------------------------------------------------------------------------

TEST_CASE("wire: server frames of every length form, partial input, masked rejected") {
  for (std::size_t len : {0u, 5u, 125u, 126u, 300u, 65535u, 70000u}) {
    std::string payload(len, 'a');
    std::string f;
    f.push_back(static_cast<char>(0x81));
    if (len < 126) {
      f.push_back(static_cast<char>(len));
    } else if (len < 65536) {
      f.push_back(126);
      f.push_back(static_cast<char>(len >> 8));
      f.push_back(static_cast<char>(len & 0xff));
    } else {
      f.push_back(127);
      for (int i = 7; i >= 0; --i) f.push_back(static_cast<char>((len >> (8 * i)) & 0xff));
    }
    f += payload;
    WsFrame fr;
    CHECK(parse_server_frame(f, fr) == static_cast<long>(f.size()));
    CHECK(fr.opcode == 1);
    CHECK(fr.fin);
    CHECK(fr.payload.size() == len);
    CHECK(parse_server_frame(std::string_view(f).substr(0, f.size() - 1), fr) ==
          (len == 0 ? 0 : 0));
  }
  WsFrame fr;
  const char masked[] = {static_cast<char>(0x81), static_cast<char>(0x80 | 1), 1, 2, 3, 4, 'x'};
  CHECK(parse_server_frame(std::string_view(masked, sizeof masked), fr) == -1);
  const char close[] = {static_cast<char>(0x88), 2, 0x10, 0x04};
  CHECK(parse_server_frame(std::string_view(close, sizeof close), fr) == 4);
  CHECK(close_code(fr.payload) == 4100);
  CHECK(close_code("") == 1005);
}

TEST_CASE("wire: event names, string fields, socket ids, error codes") {
  const std::string est =
      R"({"event":"pusher:connection_established","data":"{\"socket_id\":\"123.456\",\"activity_timeout\":120}"})";
  CHECK(event_name(est) == "pusher:connection_established");
  CHECK(socket_id_of(est) == "123.456");
  const std::string del = R"({"event":"bench","channel":"b1-0","data":"B17.99.xxxx"})";
  CHECK(event_name(del) == "bench");
  CHECK(string_field(del, "channel") == "b1-0");
  CHECK(string_field(del, "data") == "B17.99.xxxx");
  CHECK(string_field(del, "missing").empty());
  CHECK(string_field_tail(del, "data") == "B17.99.xxxx\"}");
  CHECK(string_field_tail(del, "data", 30) == "B17.99.xxxx\"}");
  CHECK(string_field_tail(del, "missing").empty());
  // Other key orders and spacing (Soketi, other servers).
  const std::string other = R"({"channel": "c", "event" : "x-y", "data":"d\"q"})";
  CHECK(event_name(other) == "x-y");
  CHECK(string_field(other, "data") == "d\\\"q");
  const std::string err =
      R"({"event":"pusher:error","data":{"code":4009,"message":"Authentication error"}})";
  CHECK(error_code_of(err) == 4009);
  CHECK(error_code_of(del) == 0);
}

TEST_CASE("wire: markers round trip and pad to size") {
  const std::uint64_t nums[3] = {12, 345, 6789};
  const std::string m = make_marker('E', nums, 3, 100);
  CHECK(m.size() == 100);
  Marker out;
  REQUIRE(parse_marker(m, out));
  CHECK(out.kind == 'E');
  CHECK(out.count == 3);
  CHECK(out.v[0] == 12);
  CHECK(out.v[1] == 345);
  CHECK(out.v[2] == 6789);
  const std::string b = make_marker('B', nums, 2, 1);
  CHECK(b == "B12.345.");
  REQUIRE(parse_marker(b, out));
  CHECK(out.count == 2);
  CHECK_FALSE(parse_marker("hello", out));
  CHECK_FALSE(parse_marker("B12", out));  // unterminated number
  CHECK_FALSE(parse_marker("", out));
}

TEST_CASE("wire: message builders produce the Pusher shapes") {
  CHECK(subscribe_json("c", "", "") == R"({"event":"pusher:subscribe","data":{"channel":"c"}})");
  CHECK(
      subscribe_json("presence-x", "k:s", R"({"user_id":"1"})") ==
      R"({"event":"pusher:subscribe","data":{"auth":"k:s","channel_data":"{\"user_id\":\"1\"}","channel":"presence-x"}})");
  CHECK(unsubscribe_json("c") == R"({"event":"pusher:unsubscribe","data":{"channel":"c"}})");
  CHECK(client_event_json("client-a", "private-c", "E1.") ==
        R"({"event":"client-a","channel":"private-c","data":"E1."})");
  CHECK(publish_body("bench", "c", "B1.2.") == R"({"name":"bench","channel":"c","data":"B1.2."})");
  CHECK(json_escape("a\"b\\c\n\x01") == "a\\\"b\\\\c\\n\\u0001");
  CHECK(json_escape("\r\t\x1f/\xc3\xa9") == "\\r\\t\\u001f/\xc3\xa9");  // protocol's rules
}

TEST_CASE("wire: HTTP responses (keep-alive, close, chunked, partial, 101)") {
  HttpResponse r;
  const std::string ok =
      "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n"
      "{\"ok\":true}";
  CHECK(parse_http_response(ok, r) == static_cast<long>(ok.size()));
  CHECK(r.status == 200);
  CHECK_FALSE(r.close);
  CHECK(r.body == "{\"ok\":true}");
  CHECK(parse_http_response(std::string_view(ok).substr(0, ok.size() - 1), r) == 0);
  CHECK(parse_http_response(std::string_view(ok).substr(0, 20), r) == 0);
  // Two pipelined responses: only the first is consumed.
  CHECK(parse_http_response(ok + ok, r) == static_cast<long>(ok.size()));

  const std::string closing = "HTTP/1.1 200 OK\r\nconnection: Close\r\ncontent-length: 2\r\n\r\n{}";
  CHECK(parse_http_response(closing, r) == static_cast<long>(closing.size()));
  CHECK(r.close);

  const std::string chunked =
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n{\"a\"\r\n3\r\n:1}\r\n0\r\n\r\n";
  CHECK(parse_http_response(chunked, r) == static_cast<long>(chunked.size()));
  CHECK(r.body == "{\"a\"");
  CHECK(parse_http_response(std::string_view(chunked).substr(0, chunked.size() - 2), r) == 0);

  const std::string up = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n\x81\x02{}";
  const long k = parse_http_response(up, r);
  CHECK(r.status == 101);
  CHECK(k == static_cast<long>(up.size() - 4));

  const std::string http10 = "HTTP/1.0 401 Unauthorized\r\nContent-Length: 0\r\n\r\n";
  CHECK(parse_http_response(http10, r) == static_cast<long>(http10.size()));
  CHECK(r.status == 401);
  CHECK(r.close);

  CHECK(parse_http_response("garbage\r\n\r\n", r) == -1);
  const std::string until_close = "HTTP/1.1 200 OK\r\n\r\nbody";
  CHECK(parse_http_response(until_close, r) == 0);
  CHECK(r.close);
}

TEST_CASE("wire: sequence tracking counts fresh, duplicate, reordered and stale") {
  std::vector<std::uint64_t> bits(256 / 64, 0);
  SeqState st;
  auto obs = [&](std::uint64_t s) { return seq_observe(st, bits.data(), 256, s); };
  CHECK(obs(1) == SeqResult::fresh);
  CHECK(obs(2) == SeqResult::fresh);
  CHECK(obs(2) == SeqResult::duplicate);
  CHECK(obs(5) == SeqResult::fresh);  // 3 and 4 missing for now
  CHECK(obs(4) == SeqResult::fresh);  // reordered, not a duplicate
  CHECK(obs(4) == SeqResult::duplicate);
  CHECK(st.unique == 4);
  CHECK(st.dups == 2);
  CHECK(obs(1000) == SeqResult::fresh);  // jump wider than the window clears it
  CHECK(obs(999) == SeqResult::fresh);
  CHECK(obs(5) == SeqResult::stale);
  CHECK(obs(0) == SeqResult::stale);
  CHECK(st.stale == 2);
  CHECK(st.hi == 1000);
  // A slot reused after wrap-around is not mistaken for a duplicate.
  CHECK(obs(1000 + 256) == SeqResult::fresh);
  CHECK(obs(1000 + 255) == SeqResult::fresh);
}

// ---- summary --------------------------------------------------------------------------------

TEST_CASE("output: JSON line parses back; median; summarize prints medians and ratios") {
  CHECK(median({}) == 0);
  CHECK(median({3}) == 3);
  CHECK(median({5, 1, 3}) == 3);
  CHECK(median({4, 1, 3, 2}) == doctest::Approx(2.5));

  std::string text;
  const double cpu_a[3] = {0.5, 0.7, 0.6};
  const double cpu_b[3] = {12, 11, 14};
  for (int i = 0; i < 3; ++i) {
    for (int side = 0; side < 2; ++side) {
      Result r;
      r.scenario = "fanout";
      r.label = side == 0 ? "pushcore" : "soketi";
      r.command = "pushcore-bench fanout 'x y'";
      r.info = {{"cpu_model", "AMD \"EPYC\""}};
      r.set("server_cpu_us_per_delivery", side == 0 ? cpu_a[i] : cpu_b[i]);
      r.set("losses", 0);
      r.notes.push_back("ok");
      text += to_json_line(r) + "\n";
    }
  }
  text += "not json\n";
  std::size_t skipped = 0;
  const auto runs = parse_run_lines(text, skipped);
  CHECK(skipped == 1);
  REQUIRE(runs.size() == 6);
  CHECK(runs[0].label == "pushcore");
  CHECK(runs[1].metrics.at("server_cpu_us_per_delivery") == doctest::Approx(12));
  const std::string s = summarize(runs, "");
  CHECK(s.find("== fanout (pushcore: 3 runs, soketi: 3 runs)") != std::string::npos);
  CHECK(s.find("0.6 (0.5-0.7)") != std::string::npos);
  CHECK(s.find("12 (11-14)") != std::string::npos);
  CHECK(s.find("20.00") != std::string::npos);  // 12 / 0.6
  const std::string s2 = summarize(runs, "soketi");
  CHECK(s2.find("0.05") != std::string::npos);  // 0.6 / 12
  const std::string s3 = summarize(runs, "", {"losses", "absent"});
  CHECK(s3.find("losses") != std::string::npos);
  CHECK(s3.find("server_cpu_us_per_delivery") == std::string::npos);
}
