// `ingresslab testbed` for real (label live: needs root). A small scenario (2 nodes, 1 ingress
// pod on node-1, coffee-svc with 3 pods, tea-svc with 2) is brought up; requests from the client
// namespace to node:NodePort must reach every pod of the routed Service (realpod's x-pod header)
// in iptables and nftables mode; externalTrafficPolicy Local must keep NodePort traffic on the
// node (node-2, without an ingress pod, drops it; node-1 preserves the client's address, as the
// Kubernetes docs specify) while Cluster SNATs it; `down` must leave no namespace, process, link
// or rule behind, also after `up` was killed half-way.
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <set>
#include <sstream>
#include <thread>

#include "cli/testbed/exec.h"
#include "cli/testbed/testbed.h"

namespace ingresslab::testbed {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

struct Reply {
  bool ok = false;
  std::string pod;  // x-pod
  std::string body;
  std::string error;
};

class TestbedLive : public ::testing::Test {
 public:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root (network namespaces)";
    char pattern[] = "/tmp/ilab-live-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    state_dir_ = pattern;
    instance_ = "t" + std::to_string(getpid() % 100000);
    root_ruleset_before_ = root_ruleset();
  }
  void TearDown() override {
    if (state_dir_.empty()) return;
    std::ostringstream out, err;
    EXPECT_EQ(testbed_down(state_dir_, out, err), 0) << err.str();
    expect_nothing_left();
    std::error_code ec;
    fs::remove_all(state_dir_, ec);
  }

  UpOptions options(const std::string& variant, const std::string& file = "small.yaml") const {
    UpOptions o;
    o.scenario_path = std::string(INGRESSLAB_TESTBED_DATA) + "/" + file;
    o.variant = variant;
    o.state_dir = state_dir_;
    o.instance = instance_;
    o.realproxy_binary = REALPROXY_BIN;
    o.realpod_binary = REALPOD_BIN;
    return o;
  }

  TestbedState up(const std::string& variant, const std::string& file = "small.yaml") {
    std::ostringstream out, err;
    const int code = testbed_up(options(variant, file), out, err);
    EXPECT_EQ(code, 0) << err.str();
    std::string error;
    auto state = read_state_file(state_file_path(state_dir_), &error);
    EXPECT_TRUE(state) << error;
    return state ? *state : TestbedState{};
  }

  // GET url with Host: cafe.example.com from the client namespace (curl, HTTP or HTTPS).
  Reply get(const TestbedState& s, const std::string& url, const std::string& path,
            const std::string& timeout = "5") {
    std::vector<std::string> argv = {"ip",   "netns", "exec", s.client_netns,
                                     "curl", "-sS",   "-m",   timeout,
                                     "-D",   "-",     "-H",   "Host: cafe.example.com"};
    std::string target = url + path;
    if (url.rfind("https://", 0) == 0) {
      // SNI and Host cafe.example.com, connecting to the node address (self-signed: -k).
      const std::string hostport = url.substr(8);
      const std::string port = hostport.substr(hostport.find(':') + 1);
      argv.insert(argv.end(),
                  {"-k", "--resolve",
                   "cafe.example.com:" + port + ":" + hostport.substr(0, hostport.find(':'))});
      target = "https://cafe.example.com:" + port + path;
    }
    argv.push_back(target);
    const ExecResult r = run(argv);
    Reply reply;
    reply.ok = r.ok() && r.out.rfind("HTTP/", 0) == 0 && r.out.find(" 200") != std::string::npos;
    reply.error = r.err;
    reply.body = r.out;
    const size_t h = r.out.find("x-pod: ");
    if (h != std::string::npos) {
      reply.pod = r.out.substr(h + 7, r.out.find_first_of("\r\n", h) - h - 7);
    }
    return reply;
  }

  // The pods that answered `n` requests for `path` through `url`; every request must succeed.
  std::set<std::string> pods_reached(const TestbedState& s, const std::string& url,
                                     const std::string& path, int n) {
    std::set<std::string> pods;
    for (int i = 0; i < n; ++i) {
      const Reply r = get(s, url, path);
      EXPECT_TRUE(r.ok) << url << path << ": " << r.error << r.body;
      if (r.ok) pods.insert(r.pod);
    }
    return pods;
  }

  static std::string root_ruleset() { return run({"nft", "list", "ruleset"}).out; }

  void expect_nothing_left() {
    const std::string prefix = netns_prefix(instance_);
    const ExecResult ns = run({"ip", "netns", "list"});
    EXPECT_EQ(ns.out.find(prefix), std::string::npos) << ns.out;
    EXPECT_EQ(run({"ip", "-o", "link", "show"}).out.find("ilab-"), std::string::npos);
    EXPECT_EQ(root_ruleset(), root_ruleset_before_) << "the host's rules changed";
    for (pid_t pid : pids_)
      EXPECT_FALSE(process_alive(pid, 0)) << "pid " << pid;
    EXPECT_FALSE(fs::exists(state_file_path(state_dir_)));
  }

  void remember_pids(const TestbedState& s) {
    for (const auto& p : s.pids)
      pids_.push_back(p.pid);
  }

  std::string state_dir_;
  std::string instance_;
  std::string root_ruleset_before_;
  std::vector<pid_t> pids_;
};

const std::set<std::string> kCoffee = {"coffee-svc-0", "coffee-svc-1", "coffee-svc-2"};
const std::set<std::string> kTea = {"tea-svc-0", "tea-svc-1"};
constexpr const char* kClientIp = "172.31.250.2";

void check_every_pod_reached(TestbedLive* t, const TestbedState& s) {
  ASSERT_EQ(s.entries.size(), 2u);
  for (const auto& e : s.entries) {
    EXPECT_EQ(t->pods_reached(s, e.http_url, "/coffee", 9), kCoffee) << e.node;
    EXPECT_EQ(t->pods_reached(s, e.http_url, "/tea", 6), kTea) << e.node;
    const Reply tls = t->get(s, e.https_url, "/tea");
    EXPECT_TRUE(tls.ok) << e.https_url << ": " << tls.error;
    EXPECT_TRUE(kTea.count(tls.pod)) << tls.pod;
  }
}

TEST_F(TestbedLive, IptablesNodePortsReachEveryPodOfTheRoutedService) {
  const TestbedState s = up("");
  remember_pids(s);
  EXPECT_EQ(s.kube_proxy_mode, "iptables");
  EXPECT_EQ(s.pids.size(), 6u);
  EXPECT_FALSE(s.not_emulated.empty());
  check_every_pod_reached(this, s);
  // The node's nat table is kube-proxy's: KUBE-SERVICES with the 20 filler Services.
  const std::string node = netns_prefix(instance_) + "node-1";
  const ExecResult save = run({"ip", "netns", "exec", node, "iptables-save", "-t", "nat"});
  // (iptables-nft stores the probability as a 32-bit fraction: 0.33333333349 when read back.)
  EXPECT_NE(save.out.find("-m statistic --mode random --probability 0.333333333"),
            std::string::npos);
  EXPECT_GE(std::count(save.out.begin(), save.out.end(), '\n'), 100);
  // Cluster policy: NodePort traffic is SNATed, so realproxy does not see the client's address.
  const Reply r = get(s, s.entries[1].http_url, "/coffee");
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(r.body.find(std::string("x-forwarded-for: ") + kClientIp), std::string::npos) << r.body;
  std::ostringstream out, err;
  EXPECT_EQ(testbed_status(state_dir_, out, err), 0) << out.str();
  // A second `up` is refused while this one is up.
  std::ostringstream out2, err2;
  EXPECT_EQ(testbed_up(options(""), out2, err2), 2);
  EXPECT_NE(err2.str().find("already up"), std::string::npos) << err2.str();
}

TEST_F(TestbedLive, NftablesNodePortsReachEveryPodOfTheRoutedService) {
  const TestbedState s = up("nftables");
  remember_pids(s);
  EXPECT_EQ(s.kube_proxy_mode, "nftables");
  check_every_pod_reached(this, s);
  const std::string node = netns_prefix(instance_) + "node-2";
  const ExecResult table =
      run({"ip", "netns", "exec", node, "nft", "list", "table", "ip", "kube-proxy"});
  EXPECT_NE(table.out.find("numgen random mod 3 vmap"), std::string::npos) << table.out;
}

TEST_F(TestbedLive, LocalPolicyKeepsNodePortTrafficOnTheNode) {
  for (const auto mode : {KubeProxyMode::kIptables, KubeProxyMode::kNftables}) {
    SCOPED_TRACE(mode_name(mode));
    std::ostringstream out, err;
    UpOptions o = options("local");
    o.mode = mode;
    ASSERT_EQ(testbed_up(o, out, err), 0) << err.str();
    std::string error;
    const auto s = read_state_file(state_file_path(state_dir_), &error);
    ASSERT_TRUE(s) << error;
    remember_pids(*s);
    ASSERT_EQ(s->entries.size(), 2u);
    // node-1 runs the ingress pod: served, and the client's own address reaches the proxy.
    const Reply on_node = get(*s, s->entries[0].http_url, "/coffee");
    ASSERT_TRUE(on_node.ok) << on_node.error;
    EXPECT_NE(on_node.body.find(std::string("x-forwarded-for: ") + kClientIp), std::string::npos)
        << on_node.body;
    // node-2 has no local ingress endpoint: its NodePort drops the connection.
    const Reply off_node = get(*s, s->entries[1].http_url, "/coffee", "2");
    EXPECT_FALSE(off_node.ok) << off_node.body;
    EXPECT_EQ(testbed_down(state_dir_, out, err), 0) << err.str();
    expect_nothing_left();
  }
}

TEST_F(TestbedLive, LinkBandwidthIsShapedWithHtb) {
  // link.yaml: node-1 <-> node-2 at 8 Mbit/s; far-svc's pod is on node-2, the ingress on node-1.
  const TestbedState s = up("", "link.yaml");
  remember_pids(s);
  ASSERT_EQ(s.entries.size(), 1u);
  const auto timed_get = [&](const std::string& path, double* seconds) {
    const ExecResult r =
        run({"ip", "netns", "exec", s.client_netns, "curl", "-sS", "-m", "20", "-o", "/dev/null",
             "-w", "%{http_code} %{size_download} %{time_total}", "-H", "Host: files.example.com",
             s.entries[0].http_url + path});
    std::istringstream in(r.out);
    int code = 0;
    long bytes = 0;
    in >> code >> bytes >> *seconds;
    EXPECT_EQ(code, 200) << r.out << r.err;
    EXPECT_EQ(bytes, 1L << 20);
  };
  double far = 0, near = 0;
  timed_get("/far", &far);
  timed_get("/near", &near);
  // 1 MiB over 8 Mbit/s takes at least 1.049 s (a lower bound: a busy machine only adds to it).
  EXPECT_GE(far, 0.95 * (8.0 * (1 << 20)) / 8e6) << "near took " << near;
  const ExecResult classes =
      run({"tc", "-n", netns_prefix(instance_) + "node-2", "class", "show", "dev", "eth0"});
  EXPECT_NE(classes.out.find("rate 8Mbit"), std::string::npos) << classes.out;
}

TEST_F(TestbedLive, DownRemovesEverythingAfterUpWasKilledHalfWay) {
  // `up` in a child process, killed (SIGKILL: no cleanup of its own) while it builds.
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    std::ostringstream out, err;
    _exit(testbed_up(options(""), out, err));
  }
  std::string error;
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  bool has_process = false;
  while (!has_process && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(10ms);
    if (auto s = read_state_file(state_file_path(state_dir_), &error)) {
      has_process = !s->pids.empty();
    }
  }
  kill(child, SIGKILL);
  waitpid(child, nullptr, 0);
  ASSERT_TRUE(has_process) << "up never started a process";
  const auto s = read_state_file(state_file_path(state_dir_), &error);
  ASSERT_TRUE(s) << error;
  EXPECT_EQ(s->phase, "creating");
  remember_pids(*s);
  for (const auto& ns : s->namespaces) {
    EXPECT_TRUE(fs::exists("/var/run/netns/" + ns)) << ns;
  }
  // A process `up` started but had no time to record: `down` finds it by its namespace.
  const auto stray = spawn_in_netns(s->namespaces.back(), {"/bin/sleep", "600"},
                                    state_dir_ + "/stray.log", &error);
  ASSERT_TRUE(stray) << error;
  pids_.push_back(*stray);
  // TearDown runs `down` and checks that nothing is left.
}

TEST_F(TestbedLive, UpLeavesANamespaceItDidNotCreateAlone) {
  const std::string foreign = netns_prefix(instance_) + "client";
  ASSERT_TRUE(run({"ip", "netns", "add", foreign}).ok());
  std::ostringstream out, err;
  EXPECT_EQ(testbed_up(options(""), out, err), 1);
  EXPECT_NE(err.str().find(foreign + " already exists"), std::string::npos) << err.str();
  EXPECT_TRUE(fs::exists("/var/run/netns/" + foreign));
  EXPECT_TRUE(run({"ip", "netns", "del", foreign}).ok());
}

TEST_F(TestbedLive, FailedUpRemovesWhatItCreated) {
  UpOptions o = options("");
  o.realproxy_binary = "/bin/false";  // the ingress pod exits at once
  std::ostringstream out, err;
  EXPECT_EQ(testbed_up(o, out, err), 1);
  EXPECT_NE(err.str().find("did not start"), std::string::npos) << err.str();
  expect_nothing_left();
}

}  // namespace
}  // namespace ingresslab::testbed
