// Compiles protocol/messages.hpp on its own to prove it is self-contained.
#include "protocol/messages.hpp"
