// Compiles protocol/ws_frame.hpp on its own to prove it is self-contained.
#include "protocol/ws_frame.hpp"
