// Compiles protocol/http_head.hpp on its own to prove it is self-contained.
#include "protocol/http_head.hpp"
