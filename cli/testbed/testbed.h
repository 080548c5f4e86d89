// `ingresslab testbed up|down|status`: builds the netns "cluster" of a scenario (see plan.h for
// the layout and docs/testbed.md), tears it down, and reports on it. Every object is recorded in
// the state file (state.h) before or right after it is created, so `down` also cleans up after a
// crash in the middle of `up`.
#pragma once

#include <iosfwd>
#include <optional>
#include <string>

#include "cli/testbed/plan.h"
#include "cli/testbed/state.h"

namespace ingresslab::testbed {

struct UpOptions {
  std::string scenario_path;
  std::string variant;                // one of the scenario's variants; empty = the base scenario
  std::optional<KubeProxyMode> mode;  // overrides cluster.kube_proxy.mode
  std::string state_dir;              // default_state_dir() when empty
  bool force = false;                 // tear down a testbed that is already up first
  // Tag in every namespace name ("ilab-<instance>-node-1"), so that several testbeds (e.g. tests
  // running at the same time) do not collide. 1-12 of [a-z0-9]; empty = "ilab-node-1".
  std::string instance;
  std::string realproxy_binary;  // paths of the binaries the pods run
  std::string realpod_binary;
};

// What the kernel offers the testbed (probed in a scratch network namespace).
struct KernelFeatures {
  bool netem = false;
  bool tbf = false;
  bool ip_vs = false;
};
KernelFeatures probe_kernel();

// Exit codes as the CLI uses them: 0 ok, 1 failed while building (everything created is torn
// down again), 2 usage or input error (not root, bad scenario, already up, ipvs without ip_vs).
int testbed_up(const UpOptions& options, std::ostream& out, std::ostream& err);
// Removes everything the state file records: kills the processes (by PID, checking their start
// time), deletes the namespaces, verifies that nothing is left, removes the state file.
// 0 when nothing is left (also when no testbed was up), 1 if something could not be removed.
int testbed_down(const std::string& state_dir, std::ostream& out, std::ostream& err);
// Prints what is up: mode, entries, namespaces (present or not), processes (alive or not).
// 0 when everything recorded is present and alive, 1 when something is missing or dead, 3 when no
// testbed is up.
int testbed_status(const std::string& state_dir, std::ostream& out, std::ostream& err);

// The prefix of every namespace and interface name the testbed creates.
inline constexpr const char* kNamePrefix = "ilab-";
// "ilab-" or "ilab-<instance>-": the prefix of the namespaces of one testbed.
std::string netns_prefix(const std::string& instance);

}  // namespace ingresslab::testbed
