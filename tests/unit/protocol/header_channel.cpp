// Compiles protocol/channel.hpp on its own to prove it is self-contained.
#include "protocol/channel.hpp"
