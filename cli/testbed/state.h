// The testbed's state file: everything `ingresslab testbed up` created (namespaces, links, rule
// sets, processes) and how to reach it (client namespace, entry URLs, realproxy admin URLs).
// `up` rewrites it after every object it creates, so `down` can remove a half-built testbed after
// a crash; `replay --target testbed` reads it to find the client namespace and the entries.
//
// File format (JSON, snake_case keys; see /tmp/testbed-contract.md and docs/testbed.md):
//   {"scenario": "/abs/cafe.yaml", "kube_proxy_mode": "iptables", "client_netns": "ilab-client",
//    "entries": [{"node": "node-1", "address": "172.31.250.11",
//                 "http_url": "http://172.31.250.11:30080", "https_url": "https://..."}],
//    "not_emulated": ["..."], "admin_urls": ["http://10.244.1.2:9901/metrics"],
//    "namespaces": ["ilab-fabric", ...], "links": [{"name": "ilab-n0", "netns": "ilab-fabric"}],
//    "pids": [{"pid": 1234, "start_time": 5678, "role": "realpod", "name": "coffee-0",
//              "netns": "ilab-p-coffee-0", "ip": "10.244.1.3", "port": 8080,
//              "node": "node-1"}],
//    "rules": {"ilab-node-1": ["iptables nat KUBE-*"]}, "work_dir": "/run/ingresslab/work",
//    "phase": "up"}
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ingresslab::testbed {

// Where clients send: a node address and the NodePort URLs on it.
struct EntryPoint {
  std::string node;
  std::string address;
  std::string http_url;
  std::string https_url;
};

// A network interface `up` created (deleted with its namespace; kept for `status` and checks).
struct LinkRecord {
  std::string name;
  std::string netns;
};

// A process `up` started. `start_time` is field 22 of /proc/PID/stat (clock ticks since boot):
// `down` signals the PID only while that still matches, so a recycled PID is never killed.
struct ProcessRecord {
  int pid = 0;
  uint64_t start_time = 0;
  std::string role;  // "realproxy" or "realpod"
  std::string name;  // pod name
  std::string netns;
  std::string ip;    // the pod's address ("" in state files of older versions)
  int port = 0;      // where realpod listens; realproxy's plain HTTP port
  std::string node;  // the node it runs on ("node-1")
};

struct TestbedState {
  std::string scenario;         // absolute path of the scenario file
  std::string kube_proxy_mode;  // "iptables" or "nftables"
  std::string client_netns;     // under /var/run/netns
  std::vector<EntryPoint> entries;
  std::vector<std::string> not_emulated;  // scenario settings not emulated, in words
  std::vector<std::string> admin_urls;    // realproxy /metrics URLs (reachable from client_netns)
  std::vector<std::string> namespaces;    // in creation order
  std::vector<LinkRecord> links;
  std::vector<ProcessRecord> pids;
  std::map<std::string, std::vector<std::string>> rules;  // netns -> rule sets loaded there
  std::string work_dir;  // generated configs, certificates and logs
  std::string phase;     // "creating" while `up` runs, "up" when done
};

// $INGRESSLAB_STATE_DIR if set and non-empty, else /run/ingresslab.
std::string default_state_dir();
// DIR/testbed.json.
std::string state_file_path(const std::string& state_dir);

std::string state_to_json(const TestbedState& state);
// Parses the JSON text; nullopt and *error (what is wrong, and where) on bad input.
std::optional<TestbedState> state_from_json(std::string_view json, std::string* error);

// Writes atomically (temporary file + rename), creating the directory. False and *error on failure.
bool write_state_file(const std::string& path, const TestbedState& state, std::string* error);
// Reads and parses the file; nullopt and *error when it is missing ("no testbed is up") or bad.
std::optional<TestbedState> read_state_file(const std::string& path, std::string* error);

}  // namespace ingresslab::testbed
