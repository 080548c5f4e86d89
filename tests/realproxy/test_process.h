// Child processes for the realproxy integration tests: started with fork/exec, stdout and stderr
// captured in files, stopped by PID (SIGTERM, then SIGKILL) when the handle goes away. A child
// also gets SIGKILL if the test process dies (PR_SET_PDEATHSIG), so no test leaves one behind.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ingresslab::realproxy::testing {

class ChildProcess {
 public:
  // Starts argv[0] with the arguments; stdout goes to `<log_prefix>.out`, stderr to
  // `<log_prefix>.err`. Fails the test (ADD_FAILURE) and returns a handle with pid -1 on error.
  ChildProcess(std::vector<std::string> argv, std::string log_prefix);
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }
  bool running();

  // The first stdout line starting with `prefix`, waiting for it up to `timeout`; nullopt if the
  // process exited or the time ran out.
  std::optional<std::string> wait_for_line(std::string_view prefix,
                                           std::chrono::milliseconds timeout);
  // Sends a signal to this child (by PID).
  void signal(int sig);
  // Waits for the exit; returns the exit code, 128+signal if killed, or nullopt on timeout.
  std::optional<int> wait_exit(std::chrono::milliseconds timeout);
  // Stops the child if it is running: SIGTERM, then SIGKILL after `grace`.
  void stop(std::chrono::milliseconds grace = std::chrono::milliseconds(3000));

  std::string stdout_text() const;
  std::string stderr_text() const;

 private:
  pid_t pid_ = -1;
  std::string out_path_, err_path_;
  std::optional<int> exit_code_;
};

// Runs a command to completion (at most `timeout`) and returns (exit code, stdout, stderr).
struct CommandResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};
CommandResult run_command(std::vector<std::string> argv, const std::string& log_prefix,
                          std::chrono::milliseconds timeout = std::chrono::milliseconds(10000));

// The port at the end of a "listening on 127.0.0.1:PORT ..." line (0 if none).
int port_of_line(std::string_view line);

std::string read_file(const std::string& path);
void write_file(const std::string& path, std::string_view text);

}  // namespace ingresslab::realproxy::testing
