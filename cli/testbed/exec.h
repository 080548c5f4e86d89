// Running the system tools the testbed drives (ip, tc, iptables-restore, nft, openssl) and the
// long-lived processes it starts inside network namespaces.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace ingresslab::testbed {

struct ExecResult {
  int exit_code = -1;  // 128 + signal if killed; -1 if it could not be started
  std::string out;
  std::string err;
  bool ok() const { return exit_code == 0; }
};

// Runs argv[0] (looked up in PATH) with `input` on stdin and waits for it; stdout and stderr are
// captured. Never throws.
ExecResult run(const std::vector<std::string>& argv, const std::string& input = "");

// "ip -n ns link add ..." as one string, for error messages.
std::string command_line(const std::vector<std::string>& argv);

// Starts `argv` (argv[0] an absolute path) inside the network namespace /var/run/netns/<netns>,
// in its own session (it outlives the caller), with stdout/stderr appended to `log_path` and
// stdin from /dev/null. Returns the PID, or nullopt and *error.
std::optional<pid_t> spawn_in_netns(const std::string& netns, const std::vector<std::string>& argv,
                                    const std::string& log_path, std::string* error);

// Field 22 of /proc/PID/stat (start time in clock ticks since boot); 0 if the process is gone.
uint64_t process_start_time(pid_t pid);

// True if `pid` exists, is not a zombie, and (when start_time != 0) started at `start_time`.
bool process_alive(pid_t pid, uint64_t start_time);

// Enters /var/run/netns/<name> for the calling thread (setns CLONE_NEWNET). False and *error.
bool enter_netns(const std::string& name, std::string* error);

}  // namespace ingresslab::testbed
