// Compiles protocol/json.hpp on its own to prove it is self-contained.
#include "protocol/json.hpp"
