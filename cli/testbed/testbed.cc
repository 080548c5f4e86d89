#include "cli/testbed/testbed.h"

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <future>
#include <ostream>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "cli/testbed/exec.h"
#include "scenarios/loader.h"

namespace ingresslab::testbed {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr const char* kBridge = "ilab-br0";
constexpr const char* kClientVeth = "ilab-c1";

bool netns_exists(const std::string& name) {
  return fs::exists("/var/run/netns/" + name);
}

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string format_bps(double bps) {
  std::ostringstream s;
  if (bps >= 1e9) {
    s << bps / 1e9 << "Gbps";
  } else if (bps >= 1e6) {
    s << bps / 1e6 << "Mbps";
  } else {
    s << bps << "bps";
  }
  return s.str();
}

std::string format_duration(const google::protobuf::Duration& d) {
  const int64_t ns = d.seconds() * 1'000'000'000 + d.nanos();
  if (ns % 1'000'000 == 0) return std::to_string(ns / 1'000'000) + "ms";
  if (ns % 1'000 == 0) return std::to_string(ns / 1'000) + "us";
  return std::to_string(ns) + "ns";
}

// Creates the objects of one testbed and records each in the state file first.
class Builder {
 public:
  Builder(TestbedState* state, std::string path) : state_(state), path_(std::move(path)) {}

  const std::string& error() const { return error_; }

  bool save() {
    std::string why;
    if (!write_state_file(path_, *state_, &why)) return fail(why);
    return true;
  }

  bool run_ok(const std::vector<std::string>& argv, const std::string& input = "") {
    const ExecResult r = run(argv, input);
    if (r.ok()) return true;
    std::string msg = r.err.empty() ? r.out : r.err;
    while (!msg.empty() && msg.back() == '\n')
      msg.pop_back();
    return fail(command_line(argv) + ": " + msg + " (exit " + std::to_string(r.exit_code) + ")");
  }

  // `ip -n NS args...` (NS empty: the current namespace).
  bool ip(const std::string& ns, std::vector<std::string> args) {
    std::vector<std::string> argv = {"ip"};
    if (!ns.empty()) argv.insert(argv.end(), {"-n", ns});
    argv.insert(argv.end(), args.begin(), args.end());
    return run_ok(argv);
  }

  bool add_netns(const std::string& name) {
    // Someone else's (or a leftover) namespace is never recorded, so `down` never deletes it.
    if (netns_exists(name)) {
      return fail("network namespace " + name +
                  " already exists (another testbed? give this one an --instance name, or "
                  "delete it with `ip netns del " +
                  name + "`)");
    }
    state_->namespaces.push_back(name);  // recorded before it exists: `down` skips missing ones
    if (!save()) return false;
    return ip("", {"netns", "add", name}) && ip(name, {"link", "set", "lo", "up"});
  }

  // A veth pair: `name` in namespace `ns`, its peer `peer` in `peer_ns`.
  bool add_veth(const std::string& ns, const std::string& name, const std::string& peer_ns,
                const std::string& peer) {
    state_->links.push_back({name, ns});
    state_->links.push_back({peer, peer_ns});
    if (!save()) return false;
    return ip(ns, {"link", "add", name, "type", "veth", "peer", "name", peer, "netns", peer_ns});
  }

  bool sysctl(const std::string& ns, const std::string& setting) {
    return run_ok({"ip", "netns", "exec", ns, "sysctl", "-qw", setting});
  }

  bool fail(const std::string& message) {
    if (error_.empty()) error_ = message;
    return false;
  }

 private:
  TestbedState* state_;
  std::string path_;
  std::string error_;
};

bool wait_for_log(const std::string& path, const std::string& needle, pid_t pid,
                  uint64_t start_time, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (read_text(path).find(needle) != std::string::npos) return true;
    int status = 0;
    waitpid(pid, &status, WNOHANG);  // reap it if it exited (it is our child)
    if (!process_alive(pid, start_time)) return false;
    std::this_thread::sleep_for(20ms);
  }
  return false;
}

// The last `n` lines of `text`.
std::string last_lines(const std::string& text, int n) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    lines.push_back(line);
  std::string out;
  for (size_t i = lines.size() > static_cast<size_t>(n) ? lines.size() - n : 0; i < lines.size();
       ++i) {
    out += lines[i] + "\n";
  }
  return out;
}

// Generates a self-signed certificate for `hosts` with the openssl command.
bool make_certificate(Builder& b, const TestbedPlan::TlsSecret& secret, const std::string& cert,
                      const std::string& key) {
  std::string san;
  for (const auto& h : secret.hosts)
    san += (san.empty() ? "DNS:" : ",DNS:") + h;
  const std::string cn = secret.hosts.empty() ? secret.name : secret.hosts.front();
  std::vector<std::string> argv = {"openssl", "req",       "-x509",   "-nodes", "-days", "7",
                                   "-subj",   "/CN=" + cn, "-keyout", key,      "-out",  cert};
  if (secret.rsa) {
    argv.insert(argv.end(), {"-newkey", "rsa:2048"});
  } else {
    argv.insert(argv.end(), {"-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"});
  }
  if (!san.empty()) argv.insert(argv.end(), {"-addext", "subjectAltName=" + san});
  return b.run_ok(argv);
}

std::string rules_summary(const TestbedPlan& plan) {
  std::string what = plan.mode == KubeProxyMode::kNftables
                         ? "nftables: table ip kube-proxy"
                         : "iptables: filter and nat KUBE-* chains";
  return what + " (" + std::to_string(plan.services.size()) + " Service ports, " +
         std::to_string(plan.filler_services) + " of them filler)";
}

int build(const TestbedPlan& plan, const scenario::Scenario& sc, const UpOptions& options,
          const KernelFeatures& kernel, TestbedState* state, const std::string& path,
          std::ostream& out, std::ostream& err) {
  Builder b(state, path);
  const std::string prefix = netns_prefix(options.instance);
  const std::string fabric_netns = prefix + "fabric";
  const std::string client_netns = state->client_netns;
  const auto failed = [&]() {
    err << "ingresslab testbed up: " << b.error() << "\n";
    return 1;
  };
  const auto& net = sc.cluster().network();
  std::error_code ec;
  fs::remove_all(state->work_dir, ec);
  fs::create_directories(state->work_dir + "/ingress", ec);
  fs::create_directories(state->work_dir + "/logs", ec);
  if (ec) {
    err << "ingresslab testbed up: cannot create " << state->work_dir << ": " << ec.message()
        << "\n";
    return 1;
  }

  // The fabric: a bridge in its own namespace (nothing in the host's namespace).
  if (!b.add_netns(fabric_netns)) return failed();
  state->links.push_back({kBridge, fabric_netns});
  if (!b.save() || !b.ip(fabric_netns, {"link", "add", kBridge, "type", "bridge"}) ||
      !b.ip(fabric_netns, {"link", "set", kBridge, "up"})) {
    return failed();
  }

  // Nodes.
  const bool shape = plan.node_bandwidth_bps > 0 && kernel.tbf;
  for (const auto& node : plan.nodes) {
    if (!b.add_netns(node.netns) ||
        !b.add_veth(fabric_netns, node.fabric_veth, node.netns, "eth0") ||
        !b.ip(fabric_netns, {"link", "set", node.fabric_veth, "master", kBridge, "up"}) ||
        !b.ip(node.netns, {"addr", "add", node.address + "/24", "dev", "eth0"}) ||
        !b.ip(node.netns, {"link", "set", "eth0", "up"}) ||
        !b.sysctl(node.netns, "net.ipv4.ip_forward=1")) {
      return failed();
    }
  }
  // Bandwidth: each node's egress (per-link HTB classes), and its bridge port (traffic into it).
  for (size_t i = 0; shape && i < plan.nodes.size(); ++i) {
    for (const auto& command : node_egress_shaping(plan, static_cast<int>(i))) {
      if (!b.run_ok(command)) return failed();
    }
    if (!b.run_ok(tbf_command(fabric_netns, plan.nodes[i].fabric_veth, plan.node_bandwidth_bps))) {
      return failed();
    }
  }

  // The client, on the bridge; routes to the pod CIDRs (realproxy's admin listeners).
  if (!b.add_netns(client_netns) || !b.add_veth(fabric_netns, kClientVeth, client_netns, "eth0") ||
      !b.ip(fabric_netns, {"link", "set", kClientVeth, "master", kBridge, "up"}) ||
      !b.ip(client_netns, {"addr", "add", std::string(kClientAddress) + "/24", "dev", "eth0"}) ||
      !b.ip(client_netns, {"link", "set", "eth0", "up"})) {
    return failed();
  }
  for (const auto& node : plan.nodes) {
    if (!b.ip(client_netns, {"route", "add", node.pod_cidr, "via", node.address})) return failed();
  }
  if (kernel.netem) {
    // One-way delays: client -> edge on the client's interface; into every node on its bridge
    // port (netem's own `rate` keeps that port's bandwidth limit). A failure here is reported as
    // not emulated rather than failing `up` (netem is probed, not exercised, on our machines).
    const std::string client_delay = format_duration(net.client_latency());
    const std::string node_delay = format_duration(net.same_zone_latency());
    std::vector<std::vector<std::string>> netem = {{"tc", "-n", client_netns, "qdisc", "add", "dev",
                                                    "eth0", "root", "netem", "delay",
                                                    client_delay}};
    for (const auto& node : plan.nodes) {
      std::vector<std::string> argv = {"tc",      "-n",    fabric_netns,     "qdisc",
                                       "replace", "dev",   node.fabric_veth, "root",
                                       "netem",   "delay", node_delay};
      if (shape) {
        argv.insert(argv.end(),
                    {"rate", std::to_string(std::llround(plan.node_bandwidth_bps)) + "bit"});
      }
      netem.push_back(argv);
    }
    for (const auto& argv : netem) {
      const ExecResult r = run(argv);
      if (!r.ok()) {
        state->not_emulated.push_back("latency: " + command_line(argv) + " failed: " + r.err);
        break;
      }
    }
  }

  // Pods: a namespace each, a veth into the node, a /32 route on the node.
  for (const auto& pod : plan.pods) {
    const NodePlan& node = plan.nodes[pod.node];
    if (!b.add_netns(pod.netns) || !b.add_veth(node.netns, pod.node_veth, pod.netns, "eth0") ||
        !b.ip(node.netns, {"addr", "add", node.gateway + "/32", "dev", pod.node_veth}) ||
        !b.ip(node.netns, {"link", "set", pod.node_veth, "up"}) ||
        !b.ip(node.netns, {"route", "add", pod.ip + "/32", "dev", pod.node_veth}) ||
        !b.ip(pod.netns, {"addr", "add", pod.ip + "/32", "dev", "eth0"}) ||
        !b.ip(pod.netns, {"link", "set", "eth0", "up"}) ||
        !b.ip(pod.netns, {"route", "add", node.gateway, "dev", "eth0", "scope", "link"}) ||
        !b.ip(pod.netns, {"route", "add", "default", "via", node.gateway})) {
      return failed();
    }
  }
  // Pod CIDRs of the other nodes, over the bridge.
  for (size_t i = 0; i < plan.nodes.size(); ++i) {
    for (size_t j = 0; j < plan.nodes.size(); ++j) {
      if (i != j && !b.ip(plan.nodes[i].netns,
                          {"route", "add", plan.nodes[j].pod_cidr, "via", plan.nodes[j].address})) {
        return failed();
      }
    }
  }

  // kube-proxy on every node, loaded in parallel (big rule tables take seconds per node).
  std::vector<std::future<ExecResult>> loads;
  for (const auto& node : plan.nodes) {
    state->rules[node.netns] = {rules_summary(plan)};
    if (!b.save()) return failed();
    NodeRulesInput input{node.name, kClusterCidr, plan.services};
    const bool nft = plan.mode == KubeProxyMode::kNftables;
    std::vector<std::string> argv = {"ip", "netns", "exec", node.netns};
    if (nft) {
      argv.insert(argv.end(), {"nft", "-f", "-"});
    } else {
      argv.push_back("iptables-restore");
    }
    loads.push_back(std::async(std::launch::async, [argv, nft, input = std::move(input)]() {
      return run(argv, nft ? nftables_rules(input) : iptables_rules(input));
    }));
  }
  for (size_t i = 0; i < loads.size(); ++i) {
    const ExecResult r = loads[i].get();
    if (!r.ok()) {
      b.fail("loading kube-proxy's rules into " + plan.nodes[i].netns + ": " + r.err);
    }
  }
  if (!b.error().empty()) return failed();

  // realproxy's configuration: the manifests plus a Secret per TLS secret, with a certificate.
  const std::string config_dir = state->work_dir + "/ingress";
  std::string manifests = plan.manifests;
  for (const auto& secret : plan.tls_secrets) {
    const std::string base = config_dir + "/" + secret.namespace_name + "-" + secret.name;
    if (!make_certificate(b, secret, base + ".crt", base + ".key")) return failed();
    manifests += "---\napiVersion: v1\nkind: Secret\ntype: kubernetes.io/tls\nmetadata:\n  name: " +
                 secret.name + "\n  namespace: " + secret.namespace_name +
                 "\n  annotations:\n    realproxy.ingresslab/tls-cert-file: \"" + base +
                 ".crt\"\n    realproxy.ingresslab/tls-key-file: \"" + base + ".key\"\n";
  }
  {
    std::ofstream f(config_dir + "/manifests.yaml");
    f << manifests;
    if (!f) return b.fail("cannot write " + config_dir + "/manifests.yaml"), failed();
  }

  // One session-ticket key for all ingress pods (plan.h shared_ticket_key).
  const std::string ticket_key = state->work_dir + "/ticket.key";
  if (plan.shared_ticket_key) {
    std::random_device random;
    std::string key;
    for (int i = 0; i < 80; ++i)
      key += static_cast<char>(random() & 0xff);
    std::ofstream f(ticket_key, std::ios::binary | std::ios::trunc);
    f << key;
    if (!f) return b.fail("cannot write " + ticket_key), failed();
    f.close();
    ::chmod(ticket_key.c_str(), 0600);
  }

  // Processes: backends first, then the ingress proxies.
  const auto start = [&](const PodPlan& pod, std::vector<std::string> argv,
                         const std::string& ready_marker) -> bool {
    const std::string log = state->work_dir + "/logs/" + pod.name + ".log";
    std::string why;
    const auto pid = spawn_in_netns(pod.netns, argv, log, &why);
    if (!pid) return b.fail(pod.name + ": " + why);
    state->pids.push_back({*pid, process_start_time(*pid), pod.ingress ? "realproxy" : "realpod",
                           pod.name, pod.netns, pod.ip, pod.ingress ? 80 : pod.port,
                           plan.nodes[pod.node].name});
    if (!b.save()) return false;
    if (!wait_for_log(log, ready_marker, *pid, state->pids.back().start_time, 10s)) {
      return b.fail(pod.name + " did not start (" + command_line(argv) + "); its log ends with:\n" +
                    last_lines(read_text(log), 5));
    }
    return true;
  };
  for (const auto& pod : plan.pods) {
    if (pod.ingress) continue;
    std::vector<std::string> argv = {options.realpod_binary, "--listen",
                                     pod.ip + ":" + std::to_string(pod.port), "--name", pod.name};
    argv.insert(argv.end(), pod.realpod_args.begin(), pod.realpod_args.end());
    if (!start(pod, argv, "listening on")) return failed();
  }
  for (const auto& pod : plan.pods) {
    if (!pod.ingress) continue;
    std::vector<std::string> argv = {
        options.realproxy_binary, "serve", "--config", config_dir, "--listen", pod.ip + ":80"};
    if (plan.https) argv.insert(argv.end(), {"--tls-listen", pod.ip + ":443"});
    argv.insert(argv.end(),
                {"--admin", pod.ip + ":" + std::to_string(kAdminPort), "--drain-timeout", "1s"});
    if (plan.shared_ticket_key) argv.insert(argv.end(), {"--session-ticket-key", ticket_key});
    argv.insert(argv.end(), plan.realproxy_args.begin(), plan.realproxy_args.end());
    if (!start(pod, argv, "(admin)")) return failed();
    state->admin_urls.push_back("http://" + pod.ip + ":" + std::to_string(kAdminPort) + "/metrics");
  }

  for (int i : plan.entry_nodes) {
    const NodePlan& node = plan.nodes[i];
    state->entries.push_back(
        {node.name, node.address,
         "http://" + node.address + ":" + std::to_string(plan.http_node_port),
         plan.https ? "https://" + node.address + ":" + std::to_string(plan.https_node_port) : ""});
  }
  state->phase = "up";
  if (!b.save()) return failed();

  out << "testbed up: " << plan.nodes.size() << " nodes, " << plan.pods.size() << " pods ("
      << std::count_if(plan.pods.begin(), plan.pods.end(),
                       [](const PodPlan& p) { return p.ingress; })
      << " realproxy), kube-proxy " << mode_name(plan.mode) << " with " << plan.services.size()
      << " Service ports";
  if (plan.filler_services > 0) out << " (" << plan.filler_services << " filler)";
  out << "\n  client namespace: " << state->client_netns << "\n  entries:\n";
  for (const auto& e : state->entries) {
    out << "    " << e.node << "  " << e.http_url << (e.https_url.empty() ? "" : "  ")
        << e.https_url << "\n";
  }
  out << "  realproxy admin:\n";
  for (const auto& a : state->admin_urls)
    out << "    " << a << "\n";
  if (shape) {
    out << "  bandwidth: " << format_bps(plan.node_bandwidth_bps) << " per node (tc)";
    for (const auto& l : plan.links) {
      out << "; " << plan.nodes[l.a].name << " <-> " << plan.nodes[l.b].name << " "
          << format_bps(l.bandwidth_bps) << " (htb)";
    }
    out << "\n";
  }
  out << "  not emulated:\n";
  for (const auto& n : state->not_emulated)
    out << "    - " << n << "\n";
  out << "  state: " << path << "\n";
  return 0;
}

// The PIDs (other than our own) of the processes whose network namespace is one of `names`.
std::vector<pid_t> processes_in(const std::vector<std::string>& names) {
  std::set<ino_t> inodes;
  for (const auto& name : names) {
    struct stat st;
    if (name.rfind(kNamePrefix, 0) == 0 && stat(("/var/run/netns/" + name).c_str(), &st) == 0) {
      inodes.insert(st.st_ino);
    }
  }
  std::vector<pid_t> pids;
  if (inodes.empty()) return pids;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/proc", ec)) {
    const std::string pid_text = entry.path().filename().string();
    if (pid_text.empty() || !std::all_of(pid_text.begin(), pid_text.end(), ::isdigit)) continue;
    const pid_t pid = std::stoi(pid_text);
    struct stat st;
    if (pid == getpid() || stat(("/proc/" + pid_text + "/ns/net").c_str(), &st) != 0) continue;
    if (inodes.count(st.st_ino) && process_alive(pid, 0)) pids.push_back(pid);
  }
  return pids;
}

}  // namespace

std::string netns_prefix(const std::string& instance) {
  return instance.empty() ? kNamePrefix : kNamePrefix + instance + "-";
}

KernelFeatures probe_kernel() {
  KernelFeatures k;
  k.ip_vs = fs::exists("/proc/net/ip_vs") || fs::exists("/sys/module/ip_vs");
  // netem and tbf: try them on the loopback of a scratch namespace.
  const ExecResult netem =
      run({"unshare", "--net", "tc", "qdisc", "add", "dev", "lo", "root", "netem", "delay", "1ms"});
  k.netem = netem.ok();
  const ExecResult tbf = run({"unshare", "--net", "tc", "qdisc", "add", "dev", "lo", "root", "tbf",
                              "rate", "1gbit", "burst", "256k", "latency", "50ms"});
  k.tbf = tbf.ok();
  return k;
}

int testbed_up(const UpOptions& options, std::ostream& out, std::ostream& err) {
  const auto& inst = options.instance;
  if (inst.size() > 12 || !std::all_of(inst.begin(), inst.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
      })) {
    err << "ingresslab testbed up: --instance " << inst << ": use 1 to 12 of [a-z0-9]\n";
    return 2;
  }
  if (geteuid() != 0) {
    err << "ingresslab testbed up: needs root (CAP_NET_ADMIN and CAP_SYS_ADMIN) to create network "
           "namespaces and kube-proxy rules; run it as root (e.g. with sudo)\n";
    return 2;
  }
  const std::string state_dir = options.state_dir.empty() ? default_state_dir() : options.state_dir;
  const std::string path = state_file_path(state_dir);
  if (fs::exists(path)) {
    if (!options.force) {
      err << "ingresslab testbed up: a testbed is already up (" << path
          << "); run `ingresslab testbed down` first, or pass --force to recreate it\n";
      return 2;
    }
    if (testbed_down(state_dir, out, err) != 0) return 1;
  }
  for (const auto& binary : {options.realproxy_binary, options.realpod_binary}) {
    if (access(binary.c_str(), X_OK) != 0) {
      err << "ingresslab testbed up: " << binary
          << " is missing or not executable (build the realproxy and realpod targets)\n";
      return 2;
    }
  }

  const scenarios::LoadedScenario loaded = scenarios::load_scenario_file(options.scenario_path);
  if (!loaded.ok()) {
    err << loaded.diagnostics.to_string();
    return 2;
  }
  const scenarios::ResolvedScenario resolved =
      scenarios::resolve_scenario(loaded, options.variant, {});
  if (!resolved.ok()) {
    err << resolved.diagnostics.to_string();
    return 2;
  }
  std::string error;
  auto plan = plan_testbed(resolved.scenario, options.mode, &error);
  if (!plan) {
    err << "ingresslab testbed up: " << options.scenario_path << ": " << error << "\n";
    return 2;
  }
  const std::string prefix = netns_prefix(options.instance);
  for (auto& node : plan->nodes)
    node.netns = prefix + node.netns.substr(5);
  for (auto& pod : plan->pods)
    pod.netns = prefix + pod.netns.substr(5);
  const KernelFeatures kernel = probe_kernel();
  if (plan->mode == KubeProxyMode::kIpvs) {
    err << "ingresslab testbed up: kube-proxy mode ipvs"
        << (options.mode ? " (--kube-proxy)" : " (cluster.kube_proxy.mode)")
        << " needs the kernel's IPVS (ip_vs)"
        << (kernel.ip_vs ? ", which the testbed does not program yet"
                         : ", which this kernel does not have (no /proc/net/ip_vs)")
        << "; use --kube-proxy iptables or --kube-proxy nftables\n";
    return 2;
  }

  TestbedState state;
  std::error_code ec;
  state.scenario = fs::absolute(options.scenario_path, ec).lexically_normal().string();
  state.kube_proxy_mode = mode_name(plan->mode);
  state.client_netns = prefix + "client";
  state.work_dir = state_dir + "/work";
  state.phase = "creating";
  state.not_emulated = plan->not_emulated;
  const auto& net = resolved.scenario.cluster().network();
  if (!kernel.netem) {
    state.not_emulated.insert(
        state.not_emulated.begin(),
        "cluster.network latencies (same_node " + format_duration(net.same_node_latency()) +
            ", same_zone " + format_duration(net.same_zone_latency()) + ", cross_zone " +
            format_duration(net.cross_zone_latency()) + ", client " +
            format_duration(net.client_latency()) +
            "): this kernel has no tc netem (sch_netem), so links add no delay");
  } else {
    state.not_emulated.insert(
        state.not_emulated.begin(),
        "cluster.network.same_node_latency and cross_zone_latency: netem adds client_latency "
        "on the client and same_zone_latency into every node only");
  }
  if (!kernel.tbf && plan->node_bandwidth_bps > 0) {
    state.not_emulated.push_back("cluster.network.node_bandwidth " +
                                 format_bps(plan->node_bandwidth_bps) +
                                 ": this kernel has no tc tbf");
  }
  const int code = build(*plan, resolved.scenario, options, kernel, &state, path, out, err);
  if (code != 0) {
    err << "ingresslab testbed up: removing what was created\n";
    std::ostringstream ignored;
    if (testbed_down(state_dir, ignored, err) != 0) {
      err << "ingresslab testbed up: some objects are left; see `ingresslab testbed status`\n";
    }
  }
  return code;
}

int testbed_down(const std::string& state_dir_in, std::ostream& out, std::ostream& err) {
  const std::string state_dir = state_dir_in.empty() ? default_state_dir() : state_dir_in;
  const std::string path = state_file_path(state_dir);
  if (!fs::exists(path)) {
    out << "testbed down: no testbed is up (no " << path << ")\n";
    return 0;
  }
  if (geteuid() != 0) {
    err << "ingresslab testbed down: needs root to delete network namespaces\n";
    return 2;
  }
  std::string error;
  const auto state = read_state_file(path, &error);
  if (!state) {
    err << "ingresslab testbed down: " << error << "\n";
    return 2;
  }

  // Processes: SIGTERM, up to 3 s to exit, then SIGKILL. A PID is signalled only while its start
  // time matches the recorded one (never a recycled PID).
  int killed = 0;
  const auto alive = [&](const ProcessRecord& p) {
    int status = 0;
    waitpid(p.pid, &status, WNOHANG);  // reap it if it is our own child (a failed `up`)
    return process_alive(p.pid, p.start_time);
  };
  for (const auto& p : state->pids) {
    if (alive(p) && kill(p.pid, SIGTERM) == 0) ++killed;
  }
  const auto deadline = std::chrono::steady_clock::now() + 3s;
  const auto any_alive = [&]() {
    return std::any_of(state->pids.begin(), state->pids.end(), alive);
  };
  while (any_alive() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(20ms);
  }
  for (const auto& p : state->pids) {
    if (alive(p)) kill(p.pid, SIGKILL);
  }
  const auto kill_deadline = std::chrono::steady_clock::now() + 2s;
  while (any_alive() && std::chrono::steady_clock::now() < kill_deadline) {
    std::this_thread::sleep_for(20ms);
  }

  // Any other process still inside one of the namespaces (e.g. started by an `up` that was killed
  // before it could record the PID): found through /proc/PID/ns/net, killed by PID.
  const auto strays = processes_in(state->namespaces);
  for (pid_t pid : strays) {
    if (kill(pid, SIGKILL) == 0) ++killed;
  }
  const auto stray_deadline = std::chrono::steady_clock::now() + 2s;
  while (!processes_in(state->namespaces).empty() &&
         std::chrono::steady_clock::now() < stray_deadline) {
    for (pid_t pid : strays)
      waitpid(pid, nullptr, WNOHANG);
    std::this_thread::sleep_for(20ms);
  }

  // Namespaces, newest first (their interfaces and rules go with them).
  int deleted = 0;
  for (auto it = state->namespaces.rbegin(); it != state->namespaces.rend(); ++it) {
    if (it->rfind(kNamePrefix, 0) != 0) {
      err << "ingresslab testbed down: skipping namespace \"" << *it
          << "\" (not an ilab- name; the state file was edited?)\n";
      continue;
    }
    if (!netns_exists(*it)) continue;
    const ExecResult r = run({"ip", "netns", "del", *it});
    if (r.ok()) {
      ++deleted;
    } else {
      err << "ingresslab testbed down: ip netns del " << *it << ": " << r.err;
    }
  }

  // Verify.
  std::vector<std::string> left;
  for (const auto& p : state->pids) {
    if (alive(p)) left.push_back("process " + std::to_string(p.pid) + " (" + p.name + ")");
  }
  for (const auto& ns : state->namespaces) {
    if (netns_exists(ns)) left.push_back("namespace " + ns);
  }
  for (pid_t pid : strays) {
    if (process_alive(pid, 0)) left.push_back("process " + std::to_string(pid));
  }
  const ExecResult links = run({"ip", "-o", "link", "show"});
  for (const auto& l : state->links) {
    if (l.name != "eth0" && links.out.find(" " + l.name + ":") != std::string::npos) {
      left.push_back("link " + l.name + " in the host namespace");
    }
  }
  if (!left.empty()) {
    err << "ingresslab testbed down: still present:\n";
    for (const auto& l : left)
      err << "  " << l << "\n";
    return 1;
  }
  std::error_code ec;
  if (!state->work_dir.empty() && fs::path(state->work_dir).filename() == "work") {
    fs::remove_all(state->work_dir, ec);
  }
  fs::remove(path, ec);
  out << "testbed down: stopped " << killed << " processes, deleted " << deleted
      << " namespaces; nothing left\n";
  return 0;
}

int testbed_status(const std::string& state_dir_in, std::ostream& out, std::ostream& err) {
  const std::string state_dir = state_dir_in.empty() ? default_state_dir() : state_dir_in;
  const std::string path = state_file_path(state_dir);
  if (!fs::exists(path)) {
    out << "no testbed is up (no " << path << ")\n";
    return 3;
  }
  std::string error;
  const auto state = read_state_file(path, &error);
  if (!state) {
    err << "ingresslab testbed status: " << error << "\n";
    return 2;
  }
  int problems = 0;
  out << "testbed " << (state->phase == "up" ? "up" : "incomplete (phase " + state->phase + ")")
      << ": " << state->scenario << "\n  kube-proxy: " << state->kube_proxy_mode
      << "\n  client namespace: " << state->client_netns << "\n  entries:\n";
  if (state->phase != "up") ++problems;
  for (const auto& e : state->entries) {
    out << "    " << e.node << "  " << e.http_url << "  " << e.https_url << "\n";
  }
  out << "  processes:\n";
  for (const auto& p : state->pids) {
    const bool alive = process_alive(p.pid, p.start_time);
    if (!alive) ++problems;
    out << "    " << p.pid << "  " << (alive ? "alive" : "DEAD ") << "  " << p.role << " " << p.name
        << "  (" << p.netns << ")\n";
  }
  out << "  namespaces:\n";
  for (const auto& ns : state->namespaces) {
    const bool present = netns_exists(ns);
    if (!present) ++problems;
    const auto rules = state->rules.find(ns);
    out << "    " << ns << (present ? "" : "  MISSING")
        << (rules != state->rules.end() && !rules->second.empty() ? "  " + rules->second.front()
                                                                  : "")
        << "\n";
  }
  out << "  not emulated:\n";
  for (const auto& n : state->not_emulated)
    out << "    - " << n << "\n";
  return problems == 0 ? 0 : 1;
}

}  // namespace ingresslab::testbed
