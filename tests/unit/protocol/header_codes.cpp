// Compiles protocol/codes.hpp on its own to prove it is self-contained.
#include "protocol/codes.hpp"
