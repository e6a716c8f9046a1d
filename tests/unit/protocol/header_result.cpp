// Compiles protocol/result.hpp on its own to prove it is self-contained.
#include "protocol/result.hpp"
