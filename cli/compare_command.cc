// `ingresslab compare FILE [FILE...]`: the base and variants of one file, or the base scenarios
// of several files, simulated over the same replication seeds (common random numbers), side by
// side, with per-metric paired differences against the first (the baseline) and their 95% CIs.
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>
#include <set>

#include "cli/commands.h"
#include "cli/experiment.h"
#include "cli/proto/experiments.pb.h"
#include "cli/report_experiments.h"
#include "cli/report_text.h"

namespace ingresslab::cli {
namespace {

struct CompareArgs {
  std::vector<std::string> files;
  std::vector<std::string> variants;
  std::string baseline;
  CommonArgs common;
};

std::string fmt(const char* format, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, format, v);
  return buf;
}

// A metric's value as text: ms with 3 decimals, rates with 1, ratios as percentages.
std::string metric_text(const std::string& metric, double v) {
  if (metric == "success_ratio") return fmt("%.3f%%", v * 100);
  if (metric == "throughput_rps") return fmt("%.1f", v);
  return fmt("%.3f", v);
}

std::string signed_text(const std::string& metric, double v) {
  const std::string t = metric_text(metric, std::abs(v));
  return (v < 0 ? "-" : "+") + t;
}

std::string render_compare_text(const experiment::CompareResult& c) {
  std::string out = "== compare: " + std::to_string(c.order_size()) + " configurations, " +
                    std::to_string(c.replications()) +
                    " replications each (common random numbers, seed " + std::to_string(c.seed()) +
                    ")" + (c.partial() ? "  [PARTIAL]" : "") + "\n\n";
  char buf[256];
  std::snprintf(buf, sizeof buf, "  %-20s", "");
  out += buf;
  for (const std::string& name : c.order()) {
    std::snprintf(buf, sizeof buf, " %16s", name.substr(0, 16).c_str());
    out += buf;
  }
  out += "\n";
  for (const MetricSpec& m : compared_metrics()) {
    std::snprintf(buf, sizeof buf, "  %-20s", m.label);
    out += buf;
    for (const std::string& name : c.order()) {
      std::snprintf(buf, sizeof buf, " %16s",
                    metric_text(m.name, m.of(c.variants().at(name))).c_str());
      out += buf;
    }
    out += "\n";
  }
  std::snprintf(buf, sizeof buf, "  %-20s", "bottleneck hop");
  out += buf;
  for (const std::string& name : c.order()) {
    std::string hop = "-";
    for (const auto& h : c.variants().at(name).hops()) {
      if (h.bottleneck()) hop = h.name();
    }
    std::snprintf(buf, sizeof buf, " %16s", hop.substr(0, 16).c_str());
    out += buf;
  }
  out += "\n\n  differences vs " + c.order(0) +
         " (variant - baseline: mean of paired differences, 95% CI):\n";
  for (const auto& d : c.differences()) {
    const MetricSpec* spec = nullptr;
    for (const MetricSpec& m : compared_metrics()) {
      if (m.name == d.metric()) spec = &m;
    }
    std::string ci = "(no CI: 1 replication)";
    if (d.has_ci95()) {
      ci = "[" + signed_text(d.metric(), d.ci95().lower()) + ", " +
           signed_text(d.metric(), d.ci95().upper()) + "]";
    }
    std::string verdict =
        d.significant() ? "significant: " + d.better() + " better" : "not significant";
    std::snprintf(buf, sizeof buf, "  %-16s %-18s %12s -> %-12s %12s %-28s %7s  %s\n",
                  d.variant().substr(0, 16).c_str(), spec != nullptr ? spec->label : "",
                  metric_text(d.metric(), d.baseline_value()).c_str(),
                  metric_text(d.metric(), d.variant_value()).c_str(),
                  signed_text(d.metric(), d.difference()).c_str(), ci.c_str(),
                  fmt("%+.1f%%", d.relative() * 100).c_str(), verdict.c_str());
    out += buf;
  }
  if (c.partial()) out += "\n  interrupted: results cover the replications that finished\n";
  return out;
}

std::string render_compare_csv(const experiment::CompareResult& c) {
  std::string out = render_csv(compare_as_run_result(c));
  for (const auto& d : c.differences()) {
    auto row = [&](const std::string& metric, double v) {
      out += d.variant() + ",difference,vs_" + d.baseline() + "," + metric + "," + fmt("%.9g", v) +
             "\n";
    };
    row(d.metric(), d.difference());
    if (d.has_ci95()) {
      row(d.metric() + "_ci95_lower", d.ci95().lower());
      row(d.metric() + "_ci95_upper", d.ci95().upper());
    }
    row(d.metric() + "_significant", d.significant() ? 1 : 0);
  }
  return out;
}

int compare(const CompareArgs& a) {
  CommonSettings settings;
  if (!check_common(a.common, "compare", &settings)) return kExitUsage;
  std::vector<Configuration> configurations;
  std::vector<scenarios::LoadedScenario> loaded;
  for (const std::string& file : a.files) {
    loaded.push_back(scenarios::load_scenario_file(file));
    if (!loaded.back().ok()) {
      std::cerr << loaded.back().diagnostics.to_string();
      return kExitUsage;
    }
  }
  auto add = [&](const scenarios::LoadedScenario& l, const std::string& variant,
                 const std::string& name) -> bool {
    Configuration c;
    c.name = name;
    c.base_dir = l.base_dir;
    std::string error;
    if (!resolve_with(l, variant, settings.sets, &c.scenario, &error)) {
      std::cerr << error;
      return false;
    }
    configurations.push_back(std::move(c));
    return true;
  };
  if (loaded.size() == 1) {
    const auto& l = loaded[0];
    std::vector<std::string> wanted = a.variants;
    if (wanted.empty()) {
      wanted.push_back("base");
      for (const auto& v : l.scenario.variants())
        wanted.push_back(v.name());
    }
    for (const std::string& name : wanted) {
      bool known = name == "base";
      for (const auto& v : l.scenario.variants())
        known = known || v.name() == name;
      if (!known) {
        std::cerr << "ingresslab compare: --variant " << name << ": " << a.files[0]
                  << " has no such variant\n";
        return kExitUsage;
      }
      if (!add(l, name == "base" ? "" : name, name)) return kExitUsage;
    }
  } else {
    if (!a.variants.empty()) {
      std::cerr << "ingresslab compare: --variant works with one file; with several files each "
                   "file's base scenario is compared\n";
      return kExitUsage;
    }
    std::set<std::string> used;
    for (size_t i = 0; i < loaded.size(); ++i) {
      std::string name = loaded[i].scenario.name();
      if (name.empty() || used.count(name) > 0)
        name = std::filesystem::path(a.files[i]).stem().string();
      if (used.count(name) > 0) name += "#" + std::to_string(i + 1);
      used.insert(name);
      if (!add(loaded[i], "", name)) return kExitUsage;
    }
  }
  if (configurations.size() < 2) {
    std::cerr << "ingresslab compare: needs two or more configurations: give several files, or "
                 "one file with variants\n";
    return kExitUsage;
  }
  if (!a.baseline.empty()) {
    auto it = std::find_if(configurations.begin(), configurations.end(),
                           [&](const Configuration& c) { return c.name == a.baseline; });
    if (it == configurations.end()) {
      std::cerr << "ingresslab compare: --baseline " << a.baseline
                << ": not one of the compared configurations\n";
      return kExitUsage;
    }
    std::rotate(configurations.begin(), it, it + 1);
  }
  const scenario::Scenario& first = configurations[0].scenario;
  const int replications = replications_of(a.common, first);
  const uint64_t seed = seed_of(a.common, first);
  ReplicatedRuns runs =
      simulate_replicated(configurations, replications, seed, threads_of(a.common, first),
                          settings.duration_s, "compare");
  if (!runs.error.empty()) {
    std::cerr << "ingresslab compare: " << runs.error << "\n";
    return kExitUsage;
  }
  experiment::CompareResult c;
  c.set_kind("compare");
  c.set_replications(static_cast<uint32_t>(replications));
  c.set_seed(seed);
  c.set_partial(runs.cancelled);
  c.set_command(recorded_command());
  c.set_scenario_text(read_text_file(a.files[0]));
  for (size_t i = 0; i < configurations.size(); ++i) {
    if (std::none_of(runs.runs[i].begin(), runs.runs[i].end(),
                     [](const auto& r) { return r.has_value(); })) {
      std::cerr << "ingresslab compare: interrupted before " << configurations[i].name
                << " ran: nothing to compare\n";
      return kExitUsage;
    }
    c.add_order(configurations[i].name);
    result::RunResult r = aggregate_replications(runs.runs[i], seed);
    r.set_variant(configurations[i].name);
    (*c.mutable_variants())[configurations[i].name] = std::move(r);
  }
  std::vector<std::string> order(c.order().begin(), c.order().end());
  for (auto& d : paired_differences(order, runs.runs))
    *c.add_differences() = std::move(d);

  const std::string text = a.common.format == "json"  ? to_json(c)
                           : a.common.format == "csv" ? render_compare_csv(c)
                                                      : render_compare_text(c);
  if (!write_output(a.common.output, text, "compare")) return kExitUsage;
  if (!a.common.report.empty()) {
    if (!write_output(a.common.report, render_compare_html(c), "compare")) return kExitUsage;
    std::cerr << "report written to " << a.common.report << "\n";
  }
  if (c.partial()) std::cerr << "interrupted: results are partial\n";
  return kExitOk;
}

}  // namespace

void add_compare_command(CLI::App& app, int* exit_code) {
  auto* cmd = app.add_subcommand(
      "compare",
      "Compare configurations on the same traffic: the base and variants of one file, or the "
      "base scenarios of several files. Every configuration runs replication r with the same "
      "seed (common random numbers); differences against the first (the baseline) are the mean "
      "of paired per-replication differences with a 95% Student-t CI, significant when the CI "
      "excludes 0.\n\n"
      "Examples:\n  ingresslab compare scenarios/cafe.yaml\n"
      "  ingresslab compare scenarios/cafe.yaml --variant base --variant ipvs --replications 10\n"
      "  ingresslab compare a.yaml b.yaml --duration 20s --format json -o compare.json\n"
      "  ingresslab compare scenarios/cafe.yaml --report compare.html");
  auto args = std::make_shared<CompareArgs>();
  cmd->add_option("files", args->files, "scenario file(s)")->required();
  cmd->add_option("--variant", args->variants,
                  "compare only these (repeatable; 'base' is the base scenario; the first is the "
                  "baseline)");
  cmd->add_option("--baseline", args->baseline, "the configuration differences are taken against");
  add_common_options(cmd, &args->common);
  cmd->callback([args, exit_code] { *exit_code = compare(*args); });
}

}  // namespace ingresslab::cli
