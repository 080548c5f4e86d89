// `ingresslab plan FILE --target-rps N --slo p99=50ms [--vary path=a..b] ...`: capacity planning.
// Every combination of the --vary values is a candidate; the analytic model (models/analytic.h)
// prunes those that cannot meet the SLOs; the cheapest of the rest are simulated at the target
// rate until the cheapest meeting every SLO (and runner-ups) is found; then its headroom is
// searched by bisection on the rate with simulation.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <limits>
#include <thread>

#include "cli/commands.h"
#include "cli/experiment.h"
#include "cli/proto/experiments.pb.h"
#include "cli/report_experiments.h"
#include "cli/report_text.h"
#include "models/analytic.h"
#include "scenarios/yaml_reader.h"

namespace ingresslab::cli {
namespace {

constexpr size_t kMaxCandidates = 20000;

struct PlanArgs {
  std::string file;
  std::string variant;
  std::string target_rps;
  std::vector<std::string> slos;
  std::vector<std::string> varies;
  std::vector<std::string> costs;
  int runner_ups = 3;
  double headroom_tolerance = 0.02;
  CommonArgs common;
};

std::string fmt(const char* format, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, format, v);
  return buf;
}

// Parses `value` as the field at `path` of a scratch scenario would (units included).
bool parse_as(const std::string& path, const std::string& value, scenario::Scenario* scratch,
              std::string* error) {
  *error = scenarios::assign_field_path(scratch, path, value);
  return error->empty();
}

bool parse_slo(const std::string& text, experiment::Slo* out, std::string* error) {
  Assignment a;
  if (!parse_assignment(text, "--slo", &a, error)) return false;
  std::string metric = a.first;
  if (metric == "p99.9") metric = "p999";
  out->set_text(text);
  out->set_metric(metric);
  scenario::Scenario scratch;
  if (metric == "success") {
    scratch.mutable_workload()->add_clients();
    if (!parse_as("workload.clients[0].tls.share", a.second, &scratch, error)) {
      *error = "--slo " + text + ": " + *error + " (a ratio such as 99.9% or 0.999)";
      return false;
    }
    out->set_target(scratch.workload().clients(0).tls().share());
    return true;
  }
  if (metric != "mean" && metric != "p50" && metric != "p90" && metric != "p99" &&
      metric != "p999") {
    *error = "--slo " + text + ": unknown metric '" + a.first +
             "' (expected p50, p90, p99, p99.9, mean or success)";
    return false;
  }
  if (!parse_as("run.duration", a.second, &scratch, error)) {
    *error = "--slo " + text + ": " + *error + " (a latency such as 50ms)";
    return false;
  }
  const double s = static_cast<double>(scratch.run().duration().seconds()) +
                   scratch.run().duration().nanos() * 1e-9;
  if (!(s > 0)) {
    *error = "--slo " + text + ": the latency must be > 0";
    return false;
  }
  out->set_target(s * 1e3);
  return true;
}

double slo_value(const experiment::Slo& slo, const result::RunResult& r) {
  const auto& l = r.end_to_end().latency_ms();
  if (slo.metric() == "success") return r.end_to_end().success_ratio();
  if (slo.metric() == "mean") return l.mean();
  if (slo.metric() == "p50") return l.p50();
  if (slo.metric() == "p90") return l.p90();
  if (slo.metric() == "p999") return l.p999();
  return l.p99();
}

// The SLOs `r` misses, in words ("" = meets all).
std::string violations(const experiment::PlanResult& plan, const result::RunResult& r) {
  std::string out;
  for (const auto& slo : plan.slos()) {
    const double v = slo_value(slo, r);
    const bool ok = slo.metric() == "success" ? v >= slo.target() : v <= slo.target();
    if (ok) continue;
    out += (out.empty() ? "" : "; ") + slo.metric() + " " +
           (slo.metric() == "success" ? fmt("%.3f%%", v * 100) : fmt("%.3f ms", v)) + " misses " +
           slo.text();
  }
  return out;
}

struct Prices {
  double node = 0, core = 0, lb = 0;
  std::string currency = "USD";
};

void set_cost(const scenario::Scenario& s, const Prices& prices, experiment::PlanCandidate* c) {
  uint32_t nodes = 0;
  for (const auto& n : s.cluster().nodes())
    nodes += n.has_count() ? n.count() : 1;
  uint32_t ingress_pods = s.ingress().replicas();
  if (s.ingress().kind() == scenario::IngressController::DAEMONSET) {
    ingress_pods = s.ingress().placement().nodes_size() > 0
                       ? static_cast<uint32_t>(s.ingress().placement().nodes_size())
                       : nodes;
  }
  double cores = ingress_pods * s.ingress().cpu_cores();
  for (const auto& svc : s.services())
    cores += svc.deployment().replicas() * svc.pod().cpu_cores();
  const uint32_t lbs = s.entry().kind() == scenario::Entry::LOAD_BALANCER ? 1 : 0;
  c->set_nodes(nodes);
  c->set_cores(cores);
  c->set_load_balancers(lbs);
  c->set_cost_per_hour(nodes * prices.node + cores * prices.core + lbs * prices.lb);
}

std::string settings_text(const experiment::PlanCandidate& c,
                          const std::vector<std::string>& paths) {
  std::string out;
  for (const std::string& p : paths)
    out += (out.empty() ? "" : ", ") + p + "=" + c.settings().at(p);
  return out;
}

std::string render_plan_text(const experiment::PlanResult& p,
                             const std::vector<std::string>& paths) {
  std::string slos;
  for (const auto& s : p.slos())
    slos += (slos.empty() ? "" : ", ") + s.text();
  std::string out = "== plan: " + p.scenario() + " at " + fmt("%.1f", p.target_rps()) +
                    " req/s, SLOs " + slos + (p.partial() ? "  [PARTIAL]" : "") + "\n";
  out += "  " + std::to_string(p.candidates_size()) +
         " candidates: " + std::to_string(p.infeasible()) + " infeasible, " +
         std::to_string(p.pruned()) + " pruned by the analytic model, " +
         std::to_string(p.simulated()) + " simulated (" + std::to_string(p.replications()) +
         " replications each, seed " + std::to_string(p.seed()) + ")\n\n";
  if (p.best() < 0) {
    out += "  NO candidate meets every SLO at the target rate\n";
  } else {
    const auto& b = p.candidates(p.best());
    const auto& e = b.result().end_to_end();
    out += "  recommended: " + settings_text(b, paths) + "\n";
    out += "    cost " + fmt("%.4f", b.cost_per_hour()) + " " + p.currency() + "/h (" +
           std::to_string(b.nodes()) + " nodes, " + fmt("%g", b.cores()) + " cores, " +
           std::to_string(b.load_balancers()) + " LB)\n";
    out += "    at the target: p99 " + fmt("%.3f", e.latency_ms().p99()) + " ms, p99.9 " +
           fmt("%.3f", e.latency_ms().p999()) + " ms, mean " + fmt("%.3f", e.latency_ms().mean()) +
           " ms, success " + fmt("%.3f%%", e.success_ratio() * 100) + ", throughput " +
           fmt("%.1f", e.throughput_rps()) + " req/s\n";
    out += "    headroom: meets the SLOs up to " + fmt("%.1f", p.headroom_rps()) + " req/s (" +
           fmt("%.2f", p.headroom_ratio()) + "x the target, within " +
           fmt("%.0f%%", p.headroom_tolerance() * 100) + ")\n";
    out += "    bottleneck hop: " + p.bottleneck_hop() +
           "; analytic bottleneck station: " + p.bottleneck_station() + "\n";
    if (p.runner_ups_size() > 0) {
      out += "  runner-ups:\n";
      for (int i : p.runner_ups()) {
        const auto& c = p.candidates(i);
        out += "    " + settings_text(c, paths) + "   cost " + fmt("%.4f", c.cost_per_hour()) +
               "/h, p99 " + fmt("%.3f", c.result().end_to_end().latency_ms().p99()) + " ms\n";
      }
    }
  }
  out += "\n  candidates (cheapest first):\n";
  char buf[512];
  for (int i = 0; i < p.candidates_size(); ++i) {
    const auto& c = p.candidates(i);
    std::string sim = "";
    if (c.has_result()) {
      sim = "p99 " + fmt("%.3f", c.result().end_to_end().latency_ms().p99()) + " ms, success " +
            fmt("%.3f%%", c.result().end_to_end().success_ratio() * 100);
    }
    std::snprintf(buf, sizeof buf, "  %s %-40s %10.4f  util %6s  %-13s %s%s%s\n",
                  i == p.best() ? "*" : " ", settings_text(c, paths).c_str(), c.cost_per_hour(),
                  c.analytic_ok() ? fmt("%.1f%%", c.analytic_max_utilization() * 100).c_str() : "-",
                  c.status().c_str(), sim.c_str(), c.reason().empty() || sim.empty() ? "" : "  ",
                  c.reason().c_str());
    out += buf;
  }
  return out;
}

std::string render_plan_csv(const experiment::PlanResult& p,
                            const std::vector<std::string>& paths) {
  std::string out = "variant,scope,name,metric,value\n";
  for (int i = 0; i < p.candidates_size(); ++i) {
    const auto& c = p.candidates(i);
    std::string label;
    for (const std::string& path : paths)
      label += (label.empty() ? "" : ";") + path + "=" + c.settings().at(path);
    if (label.find_first_of(",\"") != std::string::npos) label = "\"" + label + "\"";
    out += label + ",candidate,plan,cost_per_hour," + fmt("%.9g", c.cost_per_hour()) + "\n";
    out += label + ",candidate,plan,best," + (i == p.best() ? "1" : "0") + "\n";
    if (c.analytic_ok()) {
      out += label + ",candidate,analytic,max_utilization," +
             fmt("%.9g", c.analytic_max_utilization()) + "\n";
      out +=
          label + ",candidate,analytic,latency_mean_ms," + fmt("%.9g", c.analytic_mean_ms()) + "\n";
    }
    if (!c.has_result()) continue;
    result::RunResult r = c.result();
    std::string rows = render_csv(r);
    rows.erase(0, rows.find('\n') + 1);
    for (size_t start = 0; start < rows.size();) {
      const size_t end = rows.find('\n', start);
      const std::string line = rows.substr(start, end - start);
      out += label + line.substr(line.find(',')) + "\n";
      start = end == std::string::npos ? rows.size() : end + 1;
    }
  }
  if (p.best() >= 0)
    out += "best,plan,headroom,headroom_rps," + fmt("%.9g", p.headroom_rps()) + "\n";
  return out;
}

int plan(const PlanArgs& a) {
  const std::string who = "ingresslab plan: ";
  CommonSettings settings;
  if (!check_common(a.common, "plan", &settings)) return kExitUsage;
  experiment::PlanResult p;
  p.set_kind("plan");
  // Target rate, with the scenario's rate units.
  {
    scenario::Scenario scratch;
    scratch.mutable_workload()->add_clients();
    std::string error;
    if (!parse_as("workload.clients[0].open_loop.rate", a.target_rps, &scratch, &error)) {
      std::cerr << who << "--target-rps " << a.target_rps << ": " << error << "\n";
      return kExitUsage;
    }
    p.set_target_rps(scratch.workload().clients(0).open_loop().rate());
    if (!(p.target_rps() > 0)) {
      std::cerr << who << "--target-rps must be > 0\n";
      return kExitUsage;
    }
  }
  if (a.slos.empty()) {
    std::cerr << who << "give at least one --slo, e.g. --slo p99=50ms\n";
    return kExitUsage;
  }
  for (const std::string& text : a.slos) {
    std::string error;
    if (!parse_slo(text, p.add_slos(), &error)) {
      std::cerr << who << error << "\n";
      return kExitUsage;
    }
  }
  if (a.runner_ups < 0 || !(a.headroom_tolerance > 0 && a.headroom_tolerance < 1)) {
    std::cerr << who << "--runner-ups must be >= 0 and --headroom-tolerance in (0, 1)\n";
    return kExitUsage;
  }
  const scenarios::LoadedScenario loaded = scenarios::load_scenario_file(a.file);
  if (!loaded.ok()) {
    std::cerr << loaded.diagnostics.to_string();
    return kExitUsage;
  }
  // Axes.
  std::vector<std::pair<std::string, std::vector<std::string>>> axes;
  size_t total = 1;
  for (const std::string& text : a.varies) {
    Assignment v;
    std::string error;
    if (!parse_assignment(text, "--vary", &v, &error) ||
        !expand_values(v.second, &axes.emplace_back(v.first, std::vector<std::string>{}).second,
                       &error, kMaxCandidates)) {
      std::cerr << who << (error.starts_with("--vary") ? "" : "--vary " + v.first + ": ") << error
                << "\n";
      return kExitUsage;
    }
    total *= axes.back().second.size();
    if (total > kMaxCandidates) {
      std::cerr << who << "more than " << kMaxCandidates << " candidates\n";
      return kExitUsage;
    }
  }
  std::vector<std::string> paths;
  for (const auto& [path, values] : axes)
    paths.push_back(path);
  // Every path and value must be assignable on its own (else a typo would only show up as
  // "infeasible" candidates).
  for (const auto& [path, values] : axes) {
    for (const std::string& value : values) {
      if (path == kTotalRatePath) continue;
      scenario::Scenario copy = loaded.scenario;
      if (std::string e = scenarios::assign_field_path(&copy, path, value); !e.empty()) {
        std::cerr << who << "--vary " << path << "=" << value << ": " << e << "\n";
        return kExitUsage;
      }
    }
  }
  // Base (for prices and run settings) at the target rate.
  const std::string rate = fmt("%.9g", p.target_rps()) + "/s";
  std::vector<Assignment> base_sets = settings.sets;
  base_sets.emplace_back(kTotalRatePath, rate);
  scenario::Scenario base;
  {
    std::string error;
    if (!resolve_with(loaded, a.variant, base_sets, &base, &error)) {
      std::cerr << error;
      return kExitUsage;
    }
  }
  Prices prices;
  prices.node = base.costs().node_per_hour();
  prices.core = base.costs().core_per_hour();
  prices.lb = base.costs().load_balancer_per_hour();
  if (!base.costs().currency().empty()) prices.currency = base.costs().currency();
  for (const std::string& text : a.costs) {
    Assignment c;
    std::string error;
    if (!parse_assignment(text, "--cost", &c, &error)) {
      std::cerr << who << error << "\n";
      return kExitUsage;
    }
    char* end = nullptr;
    const double v = std::strtod(c.second.c_str(), &end);
    if (end == c.second.c_str() || *end != '\0' || !(v >= 0) || !std::isfinite(v)) {
      std::cerr << who << "--cost " << text << ": the price must be a number >= 0\n";
      return kExitUsage;
    }
    if (c.first == "node") {
      prices.node = v;
    } else if (c.first == "core") {
      prices.core = v;
    } else if (c.first == "lb") {
      prices.lb = v;
    } else {
      std::cerr << who << "--cost " << text << ": unknown item '" << c.first
                << "' (expected node, core or lb)\n";
      return kExitUsage;
    }
  }
  p.set_currency(prices.currency);
  p.set_node_per_hour(prices.node);
  p.set_core_per_hour(prices.core);
  p.set_load_balancer_per_hour(prices.lb);

  // Candidates: resolve, cost, analytic verdict.
  struct Candidate {
    experiment::PlanCandidate c;
    Configuration config;
    std::vector<Assignment> assignments;  // without the rate
    std::vector<double> order_key;
  };
  std::vector<Candidate> candidates;
  candidates.reserve(total);
  for (size_t index = 0; index < total; ++index) {
    Candidate cand;
    size_t rest = index;
    cand.assignments = settings.sets;
    for (const auto& [path, values] : axes) {
      const std::string& value = values[rest % values.size()];
      rest /= values.size();
      cand.assignments.emplace_back(path, value);
      (*cand.c.mutable_settings())[path] = value;
      cand.order_key.push_back(leading_number(value).value_or(0));
    }
    std::vector<Assignment> with_rate = cand.assignments;
    with_rate.emplace_back(kTotalRatePath, rate);
    std::string error;
    if (!resolve_with(loaded, a.variant, with_rate, &cand.config.scenario, &error)) {
      // The paths and values are valid (checked above): this combination is not a valid
      // scenario, e.g. its pods do not fit on the nodes.
      cand.c.set_status("infeasible");
      cand.c.set_reason(error.substr(0, error.find('\n')));
      candidates.push_back(std::move(cand));
      continue;
    }
    cand.config.base_dir = loaded.base_dir;
    cand.config.name = settings_text(cand.c, paths);
    set_cost(cand.config.scenario, prices, &cand.c);
    const models::AnalyticResult r = models::analyze(cand.config.scenario, loaded.base_dir);
    cand.c.set_status("candidate");
    if (r.ok()) {
      cand.c.set_analytic_ok(true);
      cand.c.set_analytic_max_utilization(r.max_offered_load);
      cand.c.set_analytic_mean_ms(r.mean_response_s * 1e3);
      if (r.bottleneck >= 0)
        cand.c.set_analytic_bottleneck(r.stations[static_cast<size_t>(r.bottleneck)].name);
      if (!r.stable || r.max_offered_load >= 1) {
        cand.c.set_status("pruned");
        cand.c.set_reason("analytic: " + cand.c.analytic_bottleneck() + " offered load " +
                          fmt("%.1f%%", r.max_offered_load * 100) + " (>= 100%: unstable)");
      } else {
        for (const auto& slo : p.slos()) {
          if (slo.metric() == "success" || slo.metric() == "p50") continue;
          if (r.mean_response_s * 1e3 > slo.target()) {
            cand.c.set_status("pruned");
            cand.c.set_reason("analytic: mean latency " + fmt("%.3f", r.mean_response_s * 1e3) +
                              " ms already above " + slo.text());
            break;
          }
        }
      }
    } else {
      cand.c.set_reason("analytic model not applicable: " + r.error);
    }
    candidates.push_back(std::move(cand));
  }
  std::stable_sort(candidates.begin(), candidates.end(),
                   [](const Candidate& x, const Candidate& y) {
                     const bool x_bad = x.c.status() == "infeasible";
                     const bool y_bad = y.c.status() == "infeasible";
                     if (x_bad != y_bad) return y_bad;
                     if (x.c.cost_per_hour() != y.c.cost_per_hour())
                       return x.c.cost_per_hour() < y.c.cost_per_hour();
                     return x.order_key < y.order_key;
                   });
  const int replications = replications_of(a.common, base);
  const uint64_t seed = seed_of(a.common, base);
  const int threads = threads_of(a.common, base);
  p.set_scenario(base.name());
  p.set_replications(static_cast<uint32_t>(replications));
  p.set_seed(seed);
  p.set_command(recorded_command());
  p.set_scenario_text(read_text_file(a.file));
  p.set_best(-1);

  // Simulate the cheapest unpruned candidates, a batch at a time (one per thread), until the
  // best and the runner-ups are known.
  std::vector<size_t> open;
  for (size_t i = 0; i < candidates.size(); ++i) {
    if (candidates[i].c.status() == "candidate") open.push_back(i);
  }
  const size_t batch = static_cast<size_t>(
      std::max(2, threads > 0 ? threads : static_cast<int>(std::thread::hardware_concurrency())));
  std::vector<int> meeting;
  size_t next = 0;
  bool partial = false;
  while (next < open.size() && static_cast<int>(meeting.size()) < 1 + a.runner_ups &&
         !interrupted()) {
    std::vector<Configuration> configs;
    std::vector<size_t> which;
    for (; next < open.size() && configs.size() < batch; ++next) {
      configs.push_back(candidates[open[next]].config);
      which.push_back(open[next]);
    }
    ReplicatedRuns runs = simulate_replicated(
        configs, replications, seed, threads, settings.duration_s,
        "plan: " + std::to_string(next) + "/" + std::to_string(open.size()) + " candidates");
    if (!runs.error.empty()) {
      std::cerr << who << runs.error << "\n";
      return kExitUsage;
    }
    partial = partial || runs.cancelled;
    for (size_t k = 0; k < which.size(); ++k) {
      if (std::none_of(runs.runs[k].begin(), runs.runs[k].end(),
                       [](const auto& r) { return r.has_value(); }))
        continue;
      auto& c = candidates[which[k]].c;
      *c.mutable_result() = aggregate_replications(runs.runs[k], seed);
      p.set_simulated(p.simulated() + 1);
      const std::string missed = violations(p, c.result());
      c.set_status(missed.empty() ? "meets" : "fails");
      c.set_reason(missed);
      if (missed.empty()) meeting.push_back(static_cast<int>(which[k]));
    }
  }
  std::sort(meeting.begin(), meeting.end());
  for (auto& cand : candidates) {
    if (cand.c.status() == "candidate") {
      cand.c.set_status("not_simulated");
      if (cand.c.reason().empty()) {
        cand.c.set_reason(meeting.empty() ? "interrupted" : "a cheaper candidate meets the SLOs");
      }
    }
    if (cand.c.status() == "pruned") p.set_pruned(p.pruned() + 1);
    if (cand.c.status() == "infeasible") p.set_infeasible(p.infeasible() + 1);
  }
  if (!meeting.empty()) {
    p.set_best(meeting[0]);
    for (size_t i = 1; i < meeting.size() && static_cast<int>(i) <= a.runner_ups; ++i)
      p.add_runner_ups(meeting[i]);
  }

  // Headroom of the best: bisection on the offered rate between the target (meets) and a rate
  // that misses (the analytic saturation rate, else doubling).
  if (p.best() >= 0 && !interrupted()) {
    Candidate& best = candidates[static_cast<size_t>(p.best())];
    for (const auto& h : best.c.result().hops()) {
      if (h.bottleneck())
        p.set_bottleneck_hop(h.name() + " (" + fmt("%.1f%%", h.utilization() * 100) + " busy)");
    }
    p.set_bottleneck_station(best.c.analytic_bottleneck());
    std::vector<std::pair<double, result::RunResult>> probes = {{p.target_rps(), best.c.result()}};
    auto probe = [&](double rps, bool* meets) -> bool {
      std::vector<Assignment> with_rate = best.assignments;
      with_rate.emplace_back(kTotalRatePath, fmt("%.9g", rps) + "/s");
      Configuration c = best.config;
      std::string error;
      if (!resolve_with(loaded, a.variant, with_rate, &c.scenario, &error)) {
        std::cerr << error;
        return false;
      }
      ReplicatedRuns runs =
          simulate_replicated({c}, replications, seed, threads, settings.duration_s,
                              "plan: headroom at " + fmt("%.0f", rps) + " req/s");
      if (!runs.error.empty() || runs.cancelled) return false;
      result::RunResult r = aggregate_replications(runs.runs[0], seed);
      *meets = violations(p, r).empty();
      probes.emplace_back(rps, std::move(r));
      return true;
    };
    double lo = p.target_rps();
    double hi = 0;
    const models::AnalyticResult ar = models::analyze(best.config.scenario, loaded.base_dir);
    double guess = ar.ok() && std::isfinite(ar.saturation_rps) && ar.saturation_rps > lo * 1.01
                       ? ar.saturation_rps
                       : lo * 2;
    bool ok = true;
    for (int i = 0; i < 6 && ok; ++i) {
      bool meets = false;
      ok = probe(guess, &meets);
      if (!ok) break;
      if (!meets) {
        hi = guess;
        break;
      }
      lo = guess;
      guess *= 2;
    }
    for (int i = 0; i < 12 && ok && hi > 0 && (hi - lo) / lo > a.headroom_tolerance; ++i) {
      const double mid = (lo + hi) / 2;
      bool meets = false;
      ok = probe(mid, &meets);
      if (!ok) break;
      (meets ? lo : hi) = mid;
    }
    if (!ok) partial = true;
    p.set_headroom_rps(lo);
    p.set_headroom_ratio(lo / p.target_rps());
    p.set_headroom_tolerance(a.headroom_tolerance);
    std::sort(probes.begin(), probes.end(),
              [](const auto& x, const auto& y) { return x.first < y.first; });
    for (auto& [rps, r] : probes) {
      auto* point = p.add_load_curve();
      point->set_x(rps);
      (*point->mutable_settings())[kTotalRatePath] = fmt("%.9g", rps);
      *point->mutable_result() = std::move(r);
    }
  }
  p.set_partial(partial || interrupted());
  for (auto& cand : candidates)
    *p.add_candidates() = std::move(cand.c);
  const std::string text = a.common.format == "json"  ? to_json(p)
                           : a.common.format == "csv" ? render_plan_csv(p, paths)
                                                      : render_plan_text(p, paths);
  if (!write_output(a.common.output, text, "plan")) return kExitUsage;
  if (!a.common.report.empty()) {
    if (!write_output(a.common.report, render_plan_html(p), "plan")) return kExitUsage;
    std::cerr << "report written to " << a.common.report << "\n";
  }
  if (p.partial()) std::cerr << "interrupted: results are partial\n";
  if (p.best() < 0) {
    std::cerr << who << "no candidate meets every SLO at " << fmt("%.1f", p.target_rps())
              << " req/s\n";
    return kExitSloNotMet;
  }
  return kExitOk;
}

}  // namespace

void add_plan_command(CLI::App& app, int* exit_code) {
  auto* cmd = app.add_subcommand(
      "plan",
      "Capacity planning: the cheapest configuration (every combination of the --vary values) "
      "that meets every SLO at the target rate, its headroom (the highest rate still meeting "
      "them), its bottleneck hop, and runner-ups. The analytic model prunes candidates that are "
      "unstable (a station >= 100% busy) or whose mean latency already exceeds a latency SLO; "
      "the cheapest of the rest are confirmed by simulation. Cost per hour = nodes x node price "
      "+ requested cores (ingress and backend pods) x core price + cloud LBs x LB price, prices "
      "from the scenario's `costs` or --cost. Exit 1 if no candidate meets the SLOs.\n\n"
      "Examples:\n"
      "  ingresslab plan scenarios/cafe.yaml --target-rps 4000 --slo p99=50ms --slo "
      "success=99.9% --vary ingress.replicas=1..4 --vary "
      "services[coffee-svc].deployment.replicas=1..8 --cost core=0.04\n"
      "  ingresslab plan scenarios/theory/mmc.yaml --target-rps 3200 --slo p99=10ms --vary "
      "services[backend].pod.concurrency=1..8 --report plan.html");
  auto args = std::make_shared<PlanArgs>();
  cmd->add_option("file", args->file, "scenario file")->required();
  cmd->add_option("--variant", args->variant, "plan this variant (default: the base scenario)");
  cmd->add_option("--target-rps", args->target_rps,
                  "total offered rate to plan for (requests/s), e.g. 4000 or 4k/s")
      ->required();
  cmd->add_option("--slo", args->slos,
                  "an objective (repeatable): p50|p90|p99|p99.9|mean=LATENCY (at most), "
                  "success=RATIO (at least), e.g. p99=50ms, success=99.9%")
      ->required();
  cmd->add_option("--vary", args->varies,
                  "a field to choose (repeatable): path=a..b[:step] or path=v1,v2,...");
  cmd->add_option("--cost", args->costs,
                  "a price per hour (repeatable): node=X, core=X or lb=X (default: the "
                  "scenario's costs)");
  cmd->add_option("--runner-ups", args->runner_ups,
                  "how many more candidates meeting the SLOs to find and report (default 3)");
  cmd->add_option("--headroom-tolerance", args->headroom_tolerance,
                  "relative precision of the headroom search (default 0.02)");
  add_common_options(cmd, &args->common);
  cmd->callback([args, exit_code] { *exit_code = plan(*args); });
}

}  // namespace ingresslab::cli
