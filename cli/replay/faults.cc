#include "cli/replay/faults.h"

#include <signal.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iterator>

#include "cli/testbed/exec.h"
#include "cli/testbed/plan.h"
#include "cli/testbed/testbed.h"
#include "engine/monotonic_clock.h"

namespace ingresslab::replay {
namespace {

int64_t ns_of(const google::protobuf::Duration& d) {
  return d.seconds() * 1'000'000'000 + d.nanos();
}

// argv of a running process from /proc/PID/cmdline (empty if it is gone).
std::vector<std::string> command_of(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/cmdline", std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::string> argv;
  std::string arg;
  for (const char c : bytes) {
    if (c == '\0') {
      argv.push_back(arg);
      arg.clear();
    } else {
      arg += c;
    }
  }
  if (!arg.empty()) argv.push_back(arg);
  return argv;
}

std::string seconds_text(int64_t ns) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f s", static_cast<double>(ns) * 1e-9);
  return buf;
}

}  // namespace

std::unique_ptr<TestbedFaults> TestbedFaults::plan(const scenario::Scenario& sc,
                                                   const std::string& state_path,
                                                   std::vector<std::string>* notes,
                                                   std::string* error) {
  std::unique_ptr<TestbedFaults> f(new TestbedFaults());
  f->state_path_ = state_path;
  if (sc.faults().events_size() == 0) return f;
  const std::optional<testbed::TestbedState> state = testbed::read_state_file(state_path, error);
  if (!state) return nullptr;
  std::optional<testbed::TestbedPlan> tb = testbed::plan_testbed(sc, std::nullopt, error);
  if (!tb) return nullptr;
  // `testbed up --instance X` names the namespaces "ilab-X-..." (the plan's are "ilab-...").
  const std::string client_suffix = "client";
  const std::string prefix =
      state->client_netns.ends_with(client_suffix)
          ? state->client_netns.substr(0, state->client_netns.size() - client_suffix.size())
          : std::string(testbed::kNamePrefix);
  for (testbed::NodePlan& n : tb->nodes)
    n.netns = prefix + n.netns.substr(std::string_view(testbed::kNamePrefix).size());
  const auto recorded = [&](const std::string& pod) {
    return std::any_of(state->pids.begin(), state->pids.end(),
                       [&](const testbed::ProcessRecord& p) { return p.name == pod; });
  };
  for (int i = 0; i < sc.faults().events_size(); ++i) {
    const scenario::Fault& fault = sc.faults().events(i);
    const std::string field = "faults.events[" + std::to_string(i) + "]";
    const int64_t at = ns_of(fault.at());
    Action kill;
    kill.at_ns = at;
    int64_t restart_ns = 0;
    if (fault.has_kill_pod()) {
      const scenario::PodFault& k = fault.kill_pod();
      const bool ingress = k.service() == "ingress";
      std::vector<std::string> pods;
      for (const testbed::PodPlan& p : tb->pods) {
        if (ingress ? p.ingress : (!p.ingress && p.service == k.service())) pods.push_back(p.name);
      }
      if (k.pod() >= pods.size()) {
        *error = field + ".kill_pod: " + (ingress ? "the ingress controller" : k.service()) +
                 " has " + std::to_string(pods.size()) + " pod(s) on the testbed, no pod " +
                 std::to_string(k.pod());
        return nullptr;
      }
      kill.pods = {pods[k.pod()]};
      kill.what = "kill_pod " + pods[k.pod()];
      restart_ns = ns_of(k.restart_after());
    } else if (fault.has_kill_node()) {
      const scenario::NodeFault& k = fault.kill_node();
      int node = -1;
      for (size_t n = 0; n < tb->nodes.size(); ++n) {
        if (tb->nodes[n].name == k.node()) node = static_cast<int>(n);
      }
      if (node < 0) {
        *error = field + ".kill_node: no node '" + k.node() + "' on the testbed";
        return nullptr;
      }
      for (const testbed::PodPlan& p : tb->pods) {
        if (p.node == node) kill.pods.push_back(p.name);
      }
      kill.node_netns = tb->nodes[static_cast<size_t>(node)].netns;
      kill.what = "kill_node " + k.node();
      restart_ns = ns_of(k.restart_after());
    } else {
      notes->push_back(field + (fault.has_slow_pod() ? " (slow_pod)" : " (link_latency)") +
                       " not emulated on the testbed: " +
                       (fault.has_slow_pod()
                            ? "realpod's service time cannot be changed while it runs"
                            : "this kernel has no netem to add latency"));
      continue;
    }
    for (const std::string& pod : kill.pods) {
      if (!recorded(pod)) {
        *error = field + ": the testbed has no process for pod " + pod +
                 " (was it brought up from another scenario?)";
        return nullptr;
      }
    }
    f->actions_.push_back(kill);
    if (restart_ns > 0) {
      Action restore = kill;
      restore.kind = Action::Kind::kRestorePods;
      restore.at_ns = at + restart_ns;
      restore.what = kill.what + " (restart)";
      f->actions_.push_back(restore);
    }
  }
  std::stable_sort(f->actions_.begin(), f->actions_.end(),
                   [](const Action& a, const Action& b) { return a.at_ns < b.at_ns; });
  if (!f->actions_.empty()) {
    notes->push_back(
        "faults injected on the testbed (kill_pod: SIGKILL, kill_node: uplink down + SIGKILL), "
        "without Kubernetes' reaction: no endpoint removal on failed readiness, no eviction; "
        "realproxy finds dead endpoints by connect failures and timeouts");
  }
  return f;
}

TestbedFaults::~TestbedFaults() {
  stop();
}

void TestbedFaults::start(int64_t start_ns) {
  if (actions_.empty() || thread_.joinable()) return;
  start_ns_ = start_ns;
  thread_ = std::thread([this] { run(); });
}

void TestbedFaults::run() {
  for (const Action& a : actions_) {
    std::unique_lock lock(mu_);
    const auto wait_ns = std::chrono::nanoseconds(
        std::max<int64_t>(0, start_ns_ + a.at_ns - engine::monotonic_ns()));
    if (cv_.wait_for(lock, wait_ns, [this] { return stopping_; })) return;
    lock.unlock();
    apply(a);
  }
}

void TestbedFaults::apply(const Action& a) {
  if (a.kind == Action::Kind::kKillPods) {
    kill_pods(a);
  } else {
    restore_pods(a.pods, a.node_netns, a.what);
  }
}

void TestbedFaults::note(const std::string& line) {
  std::lock_guard lock(mu_);
  log_.push_back(seconds_text(engine::monotonic_ns() - start_ns_) + ": " + line);
}

void TestbedFaults::kill_pods(const Action& a) {
  std::string error;
  const std::optional<testbed::TestbedState> state = testbed::read_state_file(state_path_, &error);
  if (!state) {
    note(a.what + ": cannot read the testbed state: " + error);
    return;
  }
  if (!a.node_netns.empty()) {
    const testbed::ExecResult r =
        testbed::run({"ip", "-n", a.node_netns, "link", "set", "eth0", "down"});
    note(a.what + ": " + a.node_netns + " eth0 " + (r.ok() ? "down" : "not taken down: " + r.err));
    if (r.ok()) {
      std::lock_guard lock(mu_);
      nodes_down_.push_back(a.node_netns);
    }
  }
  for (const std::string& pod : a.pods) {
    for (const testbed::ProcessRecord& p : state->pids) {
      if (p.name != pod || !testbed::process_alive(p.pid, p.start_time)) continue;
      std::vector<std::string> argv = command_of(p.pid);
      if (argv.empty() || kill(p.pid, SIGKILL) != 0) {
        note(a.what + ": " + pod + " (pid " + std::to_string(p.pid) + ") could not be killed");
        continue;
      }
      note(a.what + ": SIGKILL " + p.role + " " + pod + " (pid " + std::to_string(p.pid) + ")");
      std::lock_guard lock(mu_);
      down_.emplace_back(pod, std::move(argv));
    }
  }
}

void TestbedFaults::restore_pods(const std::vector<std::string>& pods,
                                 const std::string& node_netns, const std::string& what) {
  if (!node_netns.empty()) {
    bool was_down = false;
    {
      std::lock_guard lock(mu_);
      const auto it = std::find(nodes_down_.begin(), nodes_down_.end(), node_netns);
      if (it != nodes_down_.end()) {
        nodes_down_.erase(it);
        was_down = true;
      }
    }
    if (was_down) {
      const testbed::ExecResult r =
          testbed::run({"ip", "-n", node_netns, "link", "set", "eth0", "up"});
      note(what + ": " + node_netns + " eth0 " + (r.ok() ? "up" : "not brought up: " + r.err));
    }
  }
  std::string error;
  std::optional<testbed::TestbedState> state = testbed::read_state_file(state_path_, &error);
  if (!state) {
    note(what + ": cannot read the testbed state: " + error);
    return;
  }
  bool changed = false;
  for (const std::string& pod : pods) {
    std::vector<std::string> argv;
    {
      std::lock_guard lock(mu_);
      const auto it =
          std::find_if(down_.begin(), down_.end(), [&](const auto& d) { return d.first == pod; });
      if (it == down_.end()) continue;
      argv = std::move(it->second);
      down_.erase(it);
    }
    for (testbed::ProcessRecord& p : state->pids) {
      if (p.name != pod) continue;
      const std::string log = state->work_dir + "/logs/" + pod + ".log";
      const std::optional<pid_t> pid = testbed::spawn_in_netns(p.netns, argv, log, &error);
      if (!pid) {
        note(what + ": " + pod + " not restarted: " + error);
        break;
      }
      // Recorded at once: `testbed down` must find the new process by its PID.
      p.pid = *pid;
      p.start_time = testbed::process_start_time(*pid);
      changed = true;
      if (p.role == "realproxy") restarted_ingress_ = true;
      note(what + ": started " + p.role + " " + pod + " again (pid " + std::to_string(*pid) + ")");
      break;
    }
  }
  if (changed && !testbed::write_state_file(state_path_, *state, &error)) {
    note(what + ": the new PIDs could not be recorded: " + error);
  }
}

void TestbedFaults::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  // Bring back what is still down.
  std::vector<std::string> pods, nodes;
  {
    std::lock_guard lock(mu_);
    for (const auto& d : down_)
      pods.push_back(d.first);
    nodes = nodes_down_;
  }
  for (const std::string& n : nodes)
    restore_pods({}, n, "end of the replay");
  if (!pods.empty()) restore_pods(pods, "", "end of the replay");
}

std::vector<std::string> TestbedFaults::log() const {
  std::lock_guard lock(mu_);
  return log_;
}

}  // namespace ingresslab::replay
