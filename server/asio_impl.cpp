// Asio and Beast compiled once, in this translation unit (separate compilation keeps every other
// TU fast to build).
#include <boost/asio/impl/src.hpp>
#include <boost/asio/ssl/impl/src.hpp>
#include <boost/beast/src.hpp>
