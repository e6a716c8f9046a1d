// Compiles protocol/client_message.hpp on its own to prove it is self-contained.
#include "protocol/client_message.hpp"
