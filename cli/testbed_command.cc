// `ingresslab testbed up|down|status`: the scenario's data path for real, in network namespaces
// (cli/testbed/, docs/testbed.md).
#include <unistd.h>

#include <filesystem>
#include <iostream>

#include "cli/commands.h"
#include "cli/testbed/testbed.h"

namespace ingresslab::cli {
namespace {

// The directory of the running ingresslab binary: realproxy and realpod are built next to it.
std::string own_directory() {
  std::error_code ec;
  const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? "." : exe.parent_path().string();
}

}  // namespace

void add_testbed_command(CLI::App& app, int* exit_code) {
  CLI::App* testbed = app.add_subcommand(
      "testbed",
      "Run the scenario's data path for real: network namespaces as nodes and pods, kube-proxy's "
      "rules, realproxy as the ingress and realpod as the backends (needs root)");
  testbed->require_subcommand(1);

  struct Args {
    std::string file;
    std::string kube_proxy;
    std::string variant;
    std::string instance;
    std::string state_dir;
    bool force = false;
    std::string realproxy, realpod;
  };
  auto args = std::make_shared<Args>();

  CLI::App* up = testbed->add_subcommand("up", "Build the testbed of a scenario");
  up->add_option("FILE", args->file, "scenario file")->required();
  up->add_option("--kube-proxy", args->kube_proxy,
                 "kube-proxy mode: iptables, nftables or ipvs (default: "
                 "cluster.kube_proxy.mode)");
  up->add_option("--variant", args->variant, "build this variant of the scenario");
  up->add_option("--instance", args->instance,
                 "tag for the namespace names (ilab-TAG-node-1), to run several testbeds");
  up->add_option("--state-dir", args->state_dir,
                 "state directory (default: $INGRESSLAB_STATE_DIR or /run/ingresslab)");
  up->add_flag("--force", args->force, "tear down a testbed that is already up, then build");
  up->add_option("--realproxy", args->realproxy,
                 "realproxy binary (default: next to this ingresslab binary)");
  up->add_option("--realpod", args->realpod,
                 "realpod binary (default: next to this ingresslab binary)");
  up->callback([args, exit_code]() {
    testbed::UpOptions options;
    options.scenario_path = args->file;
    options.variant = args->variant;
    options.instance = args->instance;
    options.state_dir = args->state_dir;
    options.force = args->force;
    if (!args->kube_proxy.empty()) {
      options.mode = testbed::parse_mode(args->kube_proxy);
      if (!options.mode) {
        std::cerr << "ingresslab testbed up: --kube-proxy " << args->kube_proxy
                  << ": must be iptables, nftables or ipvs\n";
        *exit_code = kExitUsage;
        return;
      }
    }
    const std::string dir = own_directory();
    options.realproxy_binary = args->realproxy.empty() ? dir + "/realproxy" : args->realproxy;
    options.realpod_binary = args->realpod.empty() ? dir + "/realpod" : args->realpod;
    *exit_code = testbed::testbed_up(options, std::cout, std::cerr);
  });

  // `down` and `status` take the scenario file optionally (the state file says what is up).
  CLI::App* down = testbed->add_subcommand("down", "Remove everything the testbed created");
  down->add_option("FILE", args->file, "scenario file (optional; the state file is used)");
  down->add_option("--state-dir", args->state_dir, "state directory");
  down->callback([args, exit_code]() {
    *exit_code = testbed::testbed_down(args->state_dir, std::cout, std::cerr);
  });

  CLI::App* status = testbed->add_subcommand(
      "status", "Show what is up (exit 0 healthy, 1 something dead or missing, 3 nothing up)");
  status->add_option("FILE", args->file, "scenario file (optional; the state file is used)");
  status->add_option("--state-dir", args->state_dir, "state directory");
  status->callback([args, exit_code]() {
    *exit_code = testbed::testbed_status(args->state_dir, std::cout, std::cerr);
  });
}

}  // namespace ingresslab::cli
