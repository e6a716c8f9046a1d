// Compiles protocol/forwarded.hpp on its own to prove it is self-contained.
#include "protocol/forwarded.hpp"
