#include "server/webhook_http.hpp"  // self-contained: this TU includes nothing else
