#include "server/webhooks.hpp"  // self-contained: this TU includes nothing else
