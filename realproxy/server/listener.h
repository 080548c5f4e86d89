// Listening TCP sockets for realproxy and realpod: one per worker thread, all bound to the same
// address with SO_REUSEPORT, so the kernel spreads new connections over the workers.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace ingresslab::realproxy {

struct Listeners {
  std::vector<int> fds;  // non-blocking, listening; owned by the caller
  std::string bound;     // the address actually bound ("127.0.0.1:34567"): port 0 resolved
};

// Opens `count` (>= 1) sockets listening on `address` ("127.0.0.1:8080", "[::1]:8080",
// "localhost:0"). Port 0 picks a free port once; every socket shares it. On failure returns false
// with a message in *error (and closes what it opened).
bool open_listeners(std::string_view address, int count, Listeners* out, std::string* error);

}  // namespace ingresslab::realproxy
