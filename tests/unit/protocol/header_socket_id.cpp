// Compiles protocol/socket_id.hpp on its own to prove it is self-contained.
#include "protocol/socket_id.hpp"
