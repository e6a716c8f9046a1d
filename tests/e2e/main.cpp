// doctest runner for the e2e layer. SIGPIPE is ignored so a write to a socket the server has
// closed fails with EPIPE instead of killing the test process.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <csignal>

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);
  doctest::Context context(argc, argv);
  return context.run();
}
