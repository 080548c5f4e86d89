// The scenario's faults (`faults.events`) on the netns testbed during `replay --target testbed`,
// at their times from the start of the replay (time 0 = the first arrival, as in the simulation):
//   - kill_pod: the pod's process (realpod; realproxy for the Service `ingress`) is SIGKILLed by
//     PID; with restart_after it is started again, same command line, same network namespace, and
//     the state file records the new PID (so `testbed down` stops it).
//   - kill_node: the node's uplink goes down (its pods are cut off: connections to them time out,
//     as with a dead machine) and the processes of its pods are SIGKILLed; with restart_after the
//     link comes up and the processes start again.
//   - slow_pod, link_latency: not emulated (realpod has no runtime control of its service time;
//     the kernel has no netem); the result's notes say so.
// What the simulation's Kubernetes does on its own (endpoints removed after failed readiness
// probes, a NotReady node's pods evicted) does not happen here: realproxy finds dead endpoints by
// connect failures and timeouts, kube-proxy's rules are not rewritten.
// When the replay ends, whatever is still down is brought back, so the testbed stays usable.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "cli/testbed/state.h"
#include "scenarios/proto/scenario.pb.h"

namespace ingresslab::replay {

class TestbedFaults {
 public:
  // The faults of `sc` against the testbed whose state file is `state_path`. Faults that cannot
  // be emulated add a line to *notes. nullptr and *error when a fault names a pod or node the
  // testbed does not have.
  static std::unique_ptr<TestbedFaults> plan(const scenario::Scenario& sc,
                                             const std::string& state_path,
                                             std::vector<std::string>* notes, std::string* error);
  ~TestbedFaults();

  // Runs the schedule on its own thread, `start_ns` (CLOCK_MONOTONIC) being time 0.
  void start(int64_t start_ns);
  // Stops the schedule and brings back what is still down. Joins the thread.
  void stop();
  // What was done, in order ("1.000 s: kill_pod coffee-svc-0: SIGKILL pid 1234").
  std::vector<std::string> log() const;
  bool restarted_ingress() const { return restarted_ingress_; }

  struct Action {
    int64_t at_ns = 0;
    enum class Kind { kKillPods, kRestorePods } kind = Kind::kKillPods;
    std::vector<std::string> pods;  // testbed pod names (state ProcessRecord::name)
    std::string node_netns;         // kill_node: the node whose uplink goes down / up
    std::string what;               // "kill_pod coffee-svc-0", for the log
  };

 private:
  TestbedFaults() = default;
  void run();
  void apply(const Action& a);
  void kill_pods(const Action& a);
  void restore_pods(const std::vector<std::string>& pods, const std::string& node_netns,
                    const std::string& what);
  void note(const std::string& line);

  std::string state_path_;
  std::vector<Action> actions_;  // by time
  int64_t start_ns_ = 0;
  std::thread thread_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::vector<std::string> log_;
  // Processes killed and not yet restarted: pod name -> its command line; nodes whose link is down.
  std::vector<std::pair<std::string, std::vector<std::string>>> down_;
  std::vector<std::string> nodes_down_;
  bool restarted_ingress_ = false;
};

}  // namespace ingresslab::replay
