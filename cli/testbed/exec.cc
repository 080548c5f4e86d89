#include "cli/testbed/exec.h"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace ingresslab::testbed {
namespace {

std::vector<char*> c_argv(const std::vector<std::string>& argv) {
  std::vector<char*> out;
  for (const auto& a : argv)
    out.push_back(const_cast<char*>(a.c_str()));
  out.push_back(nullptr);
  return out;
}

std::string netns_path(const std::string& name) {
  return "/var/run/netns/" + name;
}

}  // namespace

std::string command_line(const std::vector<std::string>& argv) {
  std::string out;
  for (const auto& a : argv) {
    if (!out.empty()) out += ' ';
    out += a.find_first_of(" \"'") == std::string::npos ? a : "'" + a + "'";
  }
  return out;
}

ExecResult run(const std::vector<std::string>& argv, const std::string& input) {
  ExecResult result;
  int in_pipe[2], out_pipe[2], err_pipe[2];
  if (pipe2(in_pipe, O_CLOEXEC) != 0) {
    result.err = std::strerror(errno);
    return result;
  }
  if (pipe2(out_pipe, O_CLOEXEC) != 0 || pipe2(err_pipe, O_CLOEXEC) != 0) {
    result.err = std::strerror(errno);
    return result;
  }
  const auto args = c_argv(argv);
  // Built before fork: the child of a multi-threaded parent may only call async-signal-safe
  // functions (no allocation) until it execs.
  const std::string exec_failed = "cannot run " + argv[0] + "\n";
  const pid_t pid = fork();
  if (pid < 0) {
    result.err = std::string("fork: ") + std::strerror(errno);
    return result;
  }
  if (pid == 0) {
    dup2(in_pipe[0], 0);
    dup2(out_pipe[1], 1);
    dup2(err_pipe[1], 2);
    execvp(args[0], args.data());
    (void)!write(2, exec_failed.data(), exec_failed.size());
    _exit(127);
  }
  close(in_pipe[0]);
  close(out_pipe[1]);
  close(err_pipe[1]);
  // Feed stdin and drain stdout/stderr together so that no pipe fills up.
  size_t written = 0;
  int in_fd = in_pipe[1];
  if (input.empty()) {
    close(in_fd);
    in_fd = -1;
  } else {
    fcntl(in_fd, F_SETFL, O_NONBLOCK);
  }
  int fds[2] = {out_pipe[0], err_pipe[0]};
  std::string* sinks[2] = {&result.out, &result.err};
  int open_outputs = 2;
  char buffer[65536];
  signal(SIGPIPE, SIG_IGN);
  while (open_outputs > 0 || in_fd >= 0) {
    pollfd p[3];
    int n = 0;
    for (int i = 0; i < 2; ++i) {
      if (fds[i] >= 0) p[n++] = {fds[i], POLLIN, 0};
    }
    if (in_fd >= 0) p[n++] = {in_fd, POLLOUT, 0};
    if (poll(p, n, -1) < 0 && errno != EINTR) break;
    for (int k = 0; k < n; ++k) {
      if (p[k].revents == 0) continue;
      if (p[k].fd == in_fd) {
        const ssize_t w = write(in_fd, input.data() + written, input.size() - written);
        if (w > 0) written += static_cast<size_t>(w);
        if (w < 0 && errno != EAGAIN) written = input.size();
        if (written >= input.size()) {
          close(in_fd);
          in_fd = -1;
        }
        continue;
      }
      for (int i = 0; i < 2; ++i) {
        if (p[k].fd != fds[i]) continue;
        const ssize_t r = read(fds[i], buffer, sizeof buffer);
        if (r > 0) {
          sinks[i]->append(buffer, static_cast<size_t>(r));
        } else if (r == 0 || errno != EINTR) {
          close(fds[i]);
          fds[i] = -1;
          --open_outputs;
        }
      }
    }
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

std::optional<pid_t> spawn_in_netns(const std::string& netns, const std::vector<std::string>& argv,
                                    const std::string& log_path, std::string* error) {
  const int ns_fd = open(netns_path(netns).c_str(), O_RDONLY | O_CLOEXEC);
  if (ns_fd < 0) {
    *error = "cannot open " + netns_path(netns) + ": " + std::strerror(errno);
    return std::nullopt;
  }
  const int log_fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0) {
    *error = "cannot open " + log_path + ": " + std::strerror(errno);
    close(ns_fd);
    return std::nullopt;
  }
  // Reports exec failures from the child: the pipe closes on a successful exec (O_CLOEXEC).
  int status_pipe[2];
  if (pipe2(status_pipe, O_CLOEXEC) != 0) {
    *error = std::string("pipe: ") + std::strerror(errno);
    close(ns_fd);
    close(log_fd);
    return std::nullopt;
  }
  const auto args = c_argv(argv);
  const pid_t pid = fork();
  if (pid < 0) {
    *error = std::string("fork: ") + std::strerror(errno);
    close(ns_fd);
    close(log_fd);
    return std::nullopt;
  }
  if (pid == 0) {
    std::string msg;
    if (setns(ns_fd, CLONE_NEWNET) != 0) {
      msg = "setns " + netns + ": " + std::strerror(errno);
    } else {
      setsid();
      signal(SIGPIPE, SIG_DFL);
      const int null_fd = open("/dev/null", O_RDONLY);
      dup2(null_fd, 0);
      dup2(log_fd, 1);
      dup2(log_fd, 2);
      execv(args[0], args.data());
      msg = std::string("exec ") + argv[0] + ": " + std::strerror(errno);
    }
    (void)!write(status_pipe[1], msg.data(), msg.size());
    _exit(127);
  }
  close(ns_fd);
  close(log_fd);
  close(status_pipe[1]);
  char buffer[512];
  const ssize_t r = read(status_pipe[0], buffer, sizeof buffer);
  close(status_pipe[0]);
  if (r > 0) {
    *error = std::string(buffer, static_cast<size_t>(r));
    waitpid(pid, nullptr, 0);
    return std::nullopt;
  }
  return pid;
}

uint64_t process_start_time(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // The command name (field 2) may contain spaces and parentheses: parse after the last ')'.
  const size_t close_paren = text.rfind(')');
  if (close_paren == std::string::npos) return 0;
  std::istringstream fields(text.substr(close_paren + 2));
  std::string field;
  char state = 0;
  fields >> state;  // field 3
  for (int i = 4; i <= 22; ++i) {
    if (!(fields >> field)) return 0;
  }
  if (state == 'Z' || state == 'X') return 0;
  return std::stoull(field);
}

bool process_alive(pid_t pid, uint64_t start_time) {
  if (pid <= 1) return false;
  const uint64_t now = process_start_time(pid);
  if (now == 0) return false;
  return start_time == 0 || now == start_time;
}

bool enter_netns(const std::string& name, std::string* error) {
  const int fd = open(netns_path(name).c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    *error = "cannot open " + netns_path(name) + ": " + std::strerror(errno);
    return false;
  }
  const bool ok = setns(fd, CLONE_NEWNET) == 0;
  if (!ok) *error = "setns " + name + ": " + std::strerror(errno);
  close(fd);
  return ok;
}

}  // namespace ingresslab::testbed
