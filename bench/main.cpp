// pushcore-bench: load harness for Pusher-protocol-7 servers. See --help and bench/README.md.

#include <cstdio>
#include <exception>
#include <string>
#include <string_view>

#include "bench/coordinator.hpp"
#include "bench/io.hpp"
#include "bench/options.hpp"
#include "bench/output.hpp"

int main(int argc, char** argv) {
  if (argc >= 2 && std::string_view(argv[1]) == "summarize") {
    return bench::summarize_main(argc, argv);
  }
  bench::Options o;
  std::string error;
  switch (bench::parse_options(argc, argv, o, error)) {
    case bench::ParseStatus::help:
      std::fputs(bench::help_text().c_str(), stdout);
      return 0;
    case bench::ParseStatus::error:
      std::fprintf(stderr, "pushcore-bench: %s\n", error.c_str());
      return 2;
    case bench::ParseStatus::ok:
      break;
  }
  if (o.tls) bench::io::enable_tls();
  try {
    return bench::run_bench(o);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "pushcore-bench: %s\n", e.what());
    return 1;
  }
}
