#include "server/webhook_core.hpp"  // self-contained: this TU includes nothing else
