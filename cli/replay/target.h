// Where `ingresslab replay` sends: URLs (http or https) as socket addresses, and a tiny blocking
// HTTP GET used to scrape realproxy's /metrics before and after a run.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "cli/replay/loadgen.h"

namespace ingresslab::replay {

struct ParsedUrl {
  bool https = false;
  std::string host;  // without brackets for IPv6
  int port = 0;
  std::string path = "/";
};

// "http://host[:port][/path]" or https; nullopt and *error otherwise.
std::optional<ParsedUrl> parse_url(const std::string& url, std::string* error);

// Resolves host:port (numeric or a name) to a socket address. False and *error on failure.
bool resolve(const std::string& host, int port, sockaddr_storage* addr, socklen_t* len,
             std::string* error);

// Fills an entry from one URL (its http or https address, by scheme).
bool entry_from_url(const std::string& url, Entry* entry, std::string* error);

// GET `url` (plain http only) with a deadline; the body on a 200, nullopt and *error otherwise.
std::optional<std::string> http_get(const std::string& url, std::chrono::milliseconds timeout,
                                    std::string* error);

}  // namespace ingresslab::replay
