// `ingresslab sweep FILE --set path=a..b:step [--set ...]`: simulate a grid of settings and print
// the curve of latency percentiles and utilisation against the swept value, with the knee.
#include <cmath>
#include <cstdio>
#include <iostream>

#include "cli/commands.h"
#include "cli/experiment.h"
#include "cli/proto/experiments.pb.h"
#include "cli/report_experiments.h"
#include "cli/report_text.h"

namespace ingresslab::cli {
namespace {

constexpr size_t kMaxPoints = 2000;

struct SweepArgs {
  std::string file;
  std::string variant;
  double knee_factor = 2.0;
  CommonArgs common;
};

std::string fmt(const char* format, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, format, v);
  return buf;
}

// "path=value;path=value" in axis order.
std::string point_label(const experiment::SweepResult& s, const experiment::SweepPoint& p) {
  std::string out;
  for (const auto& axis : s.axes())
    out += (out.empty() ? "" : ";") + axis.path() + "=" + p.settings().at(axis.path());
  return out;
}

std::string render_sweep_text(const experiment::SweepResult& s) {
  std::string out = "== sweep: " + s.scenario() + ", " + std::to_string(s.points_size()) +
                    " points x " + std::to_string(s.replications()) +
                    " replications (common random numbers, seed " + std::to_string(s.seed()) + ")" +
                    (s.partial() ? "  [PARTIAL]" : "") + "\n\n";
  char buf[512];
  for (const auto& axis : s.axes()) {
    std::snprintf(buf, sizeof buf, "  %-28s", axis.path().substr(0, 28).c_str());
    out += buf;
  }
  out += "   throughput   success    mean ms     p50 ms     p99 ms   p99.9 ms  bottleneck (util)\n";
  for (int i = 0; i < s.points_size(); ++i) {
    const auto& p = s.points(i);
    for (const auto& axis : s.axes()) {
      std::snprintf(buf, sizeof buf, "  %-28s", p.settings().at(axis.path()).c_str());
      out += buf;
    }
    const auto& e = p.result().end_to_end();
    const auto& l = e.latency_ms();
    std::string bottleneck = "-";
    for (const auto& h : p.result().hops()) {
      if (h.bottleneck()) bottleneck = h.name() + " (" + fmt("%.1f%%", h.utilization() * 100) + ")";
    }
    bool knee = false;
    for (const auto& k : s.knees())
      knee = knee || (k.found() && k.point() == i);
    std::snprintf(buf, sizeof buf, " %12.1f %8.3f%% %10.3f %10.3f %10.3f %10.3f  %s%s\n",
                  e.throughput_rps(), e.success_ratio() * 100, l.mean(), l.p50(), l.p99(), l.p999(),
                  bottleneck.c_str(), knee ? "   <- knee" : "");
    out += buf;
  }
  out += "\n  knee: first point whose p99 >= " + fmt("%g", s.knee_factor()) +
         " x the p99 of the first point of its line\n";
  for (const auto& k : s.knees()) {
    std::string line;
    for (const auto& [path, value] : k.line())
      line += (line.empty() ? "" : ", ") + path + "=" + value;
    out += "  " + (line.empty() ? std::string() : line + ": ");
    if (k.found()) {
      out += "knee at " + s.axes(0).path() + " = " + fmt("%g", k.x()) + " (p99 " +
             fmt("%.3f", k.p99_ms()) + " ms vs " + fmt("%.3f", k.baseline_p99_ms()) + " ms)\n";
    } else {
      out += "no knee in the range (p99 stays below " +
             fmt("%.3f", k.baseline_p99_ms() * s.knee_factor()) + " ms)\n";
    }
  }
  if (s.partial()) out += "\n  interrupted: results cover what finished\n";
  return out;
}

std::string csv_field(const std::string& v) {
  if (v.find_first_of(",\"\n") == std::string::npos) return v;
  std::string q = "\"";
  for (char c : v)
    q += c == '"' ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
}

// One row per (point, hop, metric): the run CSV with the point's settings as the variant.
std::string render_sweep_csv(const experiment::SweepResult& s) {
  std::string out = "variant,scope,name,metric,value\n";
  for (const auto& p : s.points()) {
    result::RunResult r = p.result();
    r.clear_variants();
    r.set_variant("");
    std::string rows = render_csv(r);
    rows.erase(0, rows.find('\n') + 1);  // header
    const std::string label = csv_field(point_label(s, p));
    for (size_t start = 0; start < rows.size();) {
      const size_t end = rows.find('\n', start);
      const std::string line = rows.substr(start, end - start);
      out += label + line.substr(line.find(',')) + "\n";
      start = end == std::string::npos ? rows.size() : end + 1;
    }
  }
  for (const auto& k : s.knees()) {
    std::string line;
    for (const auto& [path, value] : k.line())
      line += (line.empty() ? "" : ";") + path + "=" + value;
    out += csv_field(line.empty() ? "all" : line) + ",knee," + csv_field(s.axes(0).path()) + ",x," +
           (k.found() ? fmt("%.9g", k.x()) : std::string("")) + "\n";
  }
  return out;
}

int sweep(const SweepArgs& a) {
  CommonSettings settings;
  if (!check_common(a.common, "sweep", &settings)) return kExitUsage;
  if (!(a.knee_factor > 1)) {
    std::cerr << "ingresslab sweep: --knee-factor must be > 1\n";
    return kExitUsage;
  }
  const scenarios::LoadedScenario loaded = scenarios::load_scenario_file(a.file);
  if (!loaded.ok()) {
    std::cerr << loaded.diagnostics.to_string();
    return kExitUsage;
  }
  experiment::SweepResult s;
  s.set_kind("sweep");
  s.set_knee_factor(a.knee_factor);
  std::vector<Assignment> fixed;
  size_t points = 1;
  for (const Assignment& set : settings.sets) {
    std::vector<std::string> values;
    std::string error;
    if (!expand_values(set.second, &values, &error, kMaxPoints)) {
      std::cerr << "ingresslab sweep: --set " << set.first << ": " << error << "\n";
      return kExitUsage;
    }
    if (values.size() == 1) {
      fixed.push_back(set);
      continue;
    }
    auto* axis = s.add_axes();
    axis->set_path(set.first);
    for (const std::string& v : values)
      axis->add_values(v);
    points *= values.size();
    if (points > kMaxPoints) {
      std::cerr << "ingresslab sweep: the grid has more than " << kMaxPoints << " points\n";
      return kExitUsage;
    }
  }
  if (s.axes_size() == 0) {
    std::cerr << "ingresslab sweep: nothing to sweep: give at least one --set path=a..b:step or "
                 "path=v1,v2,...\n";
    return kExitUsage;
  }
  // The grid, first axis fastest.
  std::vector<Configuration> configurations;
  for (size_t index = 0; index < points; ++index) {
    size_t rest = index;
    std::vector<Assignment> assignments = fixed;
    experiment::SweepPoint point;
    for (const auto& axis : s.axes()) {
      const std::string& value = axis.values(static_cast<int>(rest % axis.values_size()));
      rest /= axis.values_size();
      assignments.emplace_back(axis.path(), value);
      (*point.mutable_settings())[axis.path()] = value;
    }
    const std::string& first = point.settings().at(s.axes(0).path());
    point.set_x(leading_number(first).value_or(static_cast<double>(index)));
    Configuration c;
    c.name = point_label(s, point);
    c.base_dir = loaded.base_dir;
    std::string error;
    if (!resolve_with(loaded, a.variant, assignments, &c.scenario, &error)) {
      std::cerr << error;
      return kExitUsage;
    }
    configurations.push_back(std::move(c));
    *s.add_points() = std::move(point);
  }
  const scenario::Scenario& first = configurations[0].scenario;
  const int replications = replications_of(a.common, first);
  const uint64_t seed = seed_of(a.common, first);
  s.set_scenario(first.name());
  s.set_replications(static_cast<uint32_t>(replications));
  s.set_seed(seed);
  s.set_command(recorded_command());
  s.set_scenario_text(read_text_file(a.file));
  ReplicatedRuns runs =
      simulate_replicated(configurations, replications, seed, threads_of(a.common, first),
                          settings.duration_s, "sweep");
  if (!runs.error.empty()) {
    std::cerr << "ingresslab sweep: " << runs.error << "\n";
    return kExitUsage;
  }
  // Points that never ran (Ctrl-C) are dropped; the rest are marked partial if incomplete.
  experiment::SweepResult kept = s;
  kept.clear_points();
  for (size_t i = 0; i < configurations.size(); ++i) {
    if (std::none_of(runs.runs[i].begin(), runs.runs[i].end(),
                     [](const auto& r) { return r.has_value(); }))
      continue;
    experiment::SweepPoint p = s.points(static_cast<int>(i));
    *p.mutable_result() = aggregate_replications(runs.runs[i], seed);
    *kept.add_points() = std::move(p);
  }
  kept.set_partial(runs.cancelled);
  if (kept.points_size() == 0) {
    std::cerr << "ingresslab sweep: interrupted before any point finished\n";
    return kExitUsage;
  }
  find_knees(&kept);
  const std::string text = a.common.format == "json"  ? to_json(kept)
                           : a.common.format == "csv" ? render_sweep_csv(kept)
                                                      : render_sweep_text(kept);
  if (!write_output(a.common.output, text, "sweep")) return kExitUsage;
  if (!a.common.report.empty()) {
    if (!write_output(a.common.report, render_sweep_html(kept), "sweep")) return kExitUsage;
    std::cerr << "report written to " << a.common.report << "\n";
  }
  if (kept.partial()) std::cerr << "interrupted: results are partial\n";
  return kExitOk;
}

}  // namespace

void add_sweep_command(CLI::App& app, int* exit_code) {
  auto* cmd = app.add_subcommand(
      "sweep",
      "Simulate a grid of settings and print latency percentiles and utilisation against the "
      "swept value, with the knee: the first point whose p99 is at least --knee-factor (2) times "
      "the p99 of the first point. Each --set with a range (a..b:step, inclusive) or a list "
      "(v1,v2,...) is an axis, the first varying fastest; a --set with one value applies to every "
      "point. All points share the replication seeds (common random numbers).\n\n"
      "Examples:\n"
      "  ingresslab sweep scenarios/cafe.yaml --set workload.rps=1000..8000:1000\n"
      "  ingresslab sweep scenarios/theory/mm1.yaml --set workload.clients[0].open_loop.rate="
      "100..900:100 --duration 20s --replications 3\n"
      "  ingresslab sweep scenarios/cafe.yaml --set workload.rps=1000..6000:1000 --set "
      "ingress.replicas=2,4 --report sweep.html");
  auto args = std::make_shared<SweepArgs>();
  cmd->add_option("file", args->file, "scenario file")->required();
  cmd->add_option("--variant", args->variant, "sweep this variant (default: the base scenario)");
  cmd->add_option("--knee-factor", args->knee_factor,
                  "the knee is where p99 reaches this multiple of the first point's (default 2)");
  add_common_options(cmd, &args->common);
  cmd->callback([args, exit_code] { *exit_code = sweep(*args); });
}

}  // namespace ingresslab::cli
