#include "cli/experiment.h"

#include "cli/commands.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <sstream>

#include <google/protobuf/util/json_util.h>

#include "engine/replications.h"
#include "engine/statistics.h"
#include "models/simulate.h"
#include "scenarios/yaml_reader.h"

namespace ingresslab::cli {
namespace {

std::atomic<bool> g_interrupted{false};
std::atomic<bool> g_abandon{false};
// First Ctrl-C: finish the replications in progress; the second: abandon them too.
extern "C" void on_sigint(int) {
  if (g_interrupted.exchange(true)) {
    g_abandon.store(true);
    return;
  }
  static const char kMessage[] =
      "\ninterrupted: finishing the replications in progress (Ctrl-C again to stop them now)\n";
  const ssize_t ignored = write(STDERR_FILENO, kMessage, sizeof kMessage - 1);
  (void)ignored;
}

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

std::string format_number(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.12g", v);
  return buf;
}

std::string& command_storage() {
  static std::string command;
  return command;
}

}  // namespace

bool parse_assignment(const std::string& text, const std::string& flag, Assignment* out,
                      std::string* error) {
  const size_t eq = text.find('=');
  if (eq == std::string::npos || eq == 0) {
    *error = flag + " " + text + ": expected path=value";
    return false;
  }
  *out = {text.substr(0, eq), text.substr(eq + 1)};
  return true;
}

bool parse_set_flags(const std::vector<std::string>& sets, const std::string& who,
                     std::vector<Assignment>* out) {
  for (const std::string& s : sets) {
    Assignment assignment;
    std::string error;
    if (!parse_assignment(s, "--set", &assignment, &error)) {
      std::cerr << who << ": " << error << "\n";
      return false;
    }
    out->push_back(assignment);
  }
  return true;
}

std::optional<double> leading_number(const std::string& value) {
  const char* begin = value.c_str();
  char* end = nullptr;
  const double v = std::strtod(begin, &end);
  if (end == begin || !std::isfinite(v)) return std::nullopt;
  return v;
}

namespace {

// A number and the rest of the text ("20ms" -> 20, "ms"); false if it does not start with one.
bool split_number(const std::string& text, double* number, std::string* suffix) {
  const char* begin = text.c_str();
  char* end = nullptr;
  *number = std::strtod(begin, &end);
  if (end == begin || !std::isfinite(*number)) return false;
  // strtod reads "1e3" but also hex and inf; accept plain decimal only.
  const std::string head(begin, static_cast<const char*>(end));
  if (head.find_first_not_of("0123456789.+-eE") != std::string::npos) return false;
  *suffix = std::string(end);
  return true;
}

}  // namespace

bool expand_values(const std::string& text, std::vector<std::string>* out, std::string* error,
                   size_t max_values) {
  out->clear();
  const size_t dots = text.find("..");
  if (dots == std::string::npos) {
    std::stringstream list(text);
    for (std::string item; std::getline(list, item, ',');) {
      if (item.empty()) {
        *error = "'" + text + "': empty value in a comma list";
        return false;
      }
      out->push_back(item);
    }
    if (out->empty()) {
      *error = "empty value";
      return false;
    }
    if (out->size() > max_values) {
      *error = "'" + text + "': more than " + std::to_string(max_values) + " values";
      return false;
    }
    return true;
  }
  const std::string from_text = text.substr(0, dots);
  std::string to_text = text.substr(dots + 2);
  std::string step_text;
  if (const size_t colon = to_text.find(':'); colon != std::string::npos) {
    step_text = to_text.substr(colon + 1);
    to_text = to_text.substr(0, colon);
  }
  double from = 0, to = 0, step = 1;
  std::string from_unit, to_unit, step_unit;
  const std::string form = "expected a range a..b[:step], e.g. 1000..20000:1000";
  if (!split_number(from_text, &from, &from_unit) || !split_number(to_text, &to, &to_unit) ||
      (!step_text.empty() && !split_number(step_text, &step, &step_unit))) {
    *error = "'" + text + "': " + form;
    return false;
  }
  // The unit written once applies to all; written twice it must agree.
  std::string unit = !to_unit.empty() ? to_unit : from_unit;
  for (const std::string* u : {&from_unit, &to_unit, &step_unit}) {
    if (!u->empty() && *u != unit) {
      *error = "'" + text + "': the bounds and step must use the same unit ('" + *u + "' vs '" +
               unit + "')";
      return false;
    }
  }
  if (!(step > 0)) {
    *error = "'" + text + "': the step must be > 0";
    return false;
  }
  if (to < from) {
    *error = "'" + text + "': the end is below the start";
    return false;
  }
  const double n = std::floor((to - from) / step + 1e-9) + 1;
  if (n > static_cast<double>(max_values)) {
    *error =
        "'" + text + "': " + format_number(n) + " values, more than " + std::to_string(max_values);
    return false;
  }
  for (int i = 0; i < static_cast<int>(n); ++i) {
    // Computed from the start each time, rounded to the step's precision: no drift.
    double v = from + step * i;
    v = std::round(v * 1e9) / 1e9;
    out->push_back(format_number(v) + unit);
  }
  return true;
}

double total_open_loop_rate(const scenario::Scenario& resolved, bool* has_closed_loop) {
  double total = 0;
  if (has_closed_loop != nullptr) *has_closed_loop = false;
  for (const auto& g : resolved.workload().clients()) {
    if (g.has_open_loop()) {
      total += g.open_loop().rate();
    } else if (has_closed_loop != nullptr) {
      *has_closed_loop = true;
    }
  }
  return total;
}

bool resolve_with(const scenarios::LoadedScenario& loaded, const std::string& variant,
                  const std::vector<Assignment>& assignments, scenario::Scenario* out,
                  std::string* error) {
  std::vector<Assignment> direct;
  std::optional<std::string> total_rate;
  for (const Assignment& a : assignments) {
    if (a.first == kTotalRatePath) {
      total_rate = a.second;
    } else {
      direct.push_back(a);
    }
  }
  scenarios::ResolvedScenario resolved = scenarios::resolve_scenario(loaded, variant, direct);
  if (!resolved.ok()) {
    *error = resolved.diagnostics.to_string();
    return false;
  }
  if (total_rate) {
    // Parse the rate with the scenario's own units: assign to a scratch client group.
    scenario::Scenario scratch;
    scratch.mutable_workload()->add_clients();
    if (std::string e = scenarios::assign_field_path(&scratch, "workload.clients[0].open_loop.rate",
                                                     *total_rate);
        !e.empty()) {
      *error = std::string(kTotalRatePath) + "=" + *total_rate + ": " + e + "\n";
      return false;
    }
    const double target = scratch.workload().clients(0).open_loop().rate();
    bool closed = false;
    const double current = total_open_loop_rate(resolved.scenario, &closed);
    if (closed) {
      *error = std::string(kTotalRatePath) + ": the scenario has closed-loop client groups; " +
               "set their users instead\n";
      return false;
    }
    if (!(current > 0) || !(target > 0)) {
      *error = std::string(kTotalRatePath) + "=" + *total_rate +
               ": needs open-loop client groups with a rate and a value > 0\n";
      return false;
    }
    // Scale each group, then resolve again so validation sees the final scenario.
    std::vector<Assignment> with_rates = direct;
    const auto& clients = resolved.scenario.workload().clients();
    for (int i = 0; i < clients.size(); ++i) {
      with_rates.emplace_back(
          "workload.clients[" + std::to_string(i) + "].open_loop.rate",
          format_number(clients[i].open_loop().rate() * target / current) + "/s");
    }
    resolved = scenarios::resolve_scenario(loaded, variant, with_rates);
    if (!resolved.ok()) {
      *error = resolved.diagnostics.to_string();
      return false;
    }
  }
  *out = std::move(resolved.scenario);
  return true;
}

const std::atomic<bool>* interrupt_flag() {
  static const bool installed = [] {
    std::signal(SIGINT, on_sigint);
    return true;
  }();
  (void)installed;
  return &g_interrupted;
}

bool interrupted() {
  return g_interrupted.load();
}

const std::atomic<bool>* abandon_flag() {
  (void)interrupt_flag();
  return &g_abandon;
}

Progress::Progress(std::string label, int total)
    : label_(std::move(label)), total_(total), started_(now_s()), tty_(isatty(STDERR_FILENO)) {}

void Progress::update(int done) {
  const double elapsed = now_s() - started_;
  if (elapsed < 1.0 || total_ <= 0) return;
  const double eta = done > 0 ? elapsed * (total_ - done) / done : 0;
  if (tty_) {
    constexpr int kWidth = 30;
    const int filled = done * kWidth / total_;
    std::string bar(static_cast<size_t>(filled), '#');
    bar.append(static_cast<size_t>(kWidth - filled), '-');
    std::fprintf(stderr, "\r%s [%s] %d/%d  %.0fs elapsed, ETA %.0fs   ", label_.c_str(),
                 bar.c_str(), done, total_, elapsed, eta);
    shown_ = true;
  } else if (last_line_ < 0 || elapsed - last_line_ >= 2.0 || done == total_) {
    std::fprintf(stderr, "%s: %d/%d done (%.1fs elapsed, ETA %.0fs)\n", label_.c_str(), done,
                 total_, elapsed, eta);
    last_line_ = elapsed;
  }
  std::fflush(stderr);
}

void Progress::finish() {
  if (finished_) return;
  finished_ = true;
  if (tty_ && shown_) std::fprintf(stderr, "\n");
}

uint64_t replication_seed(uint64_t seed, int replication) {
  // SplitMix64 of (seed, replication): unrelated streams per replication, same for every
  // configuration.
  uint64_t z = seed + 0x9E3779B97F4A7C15ULL * (static_cast<uint64_t>(replication) + 1);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

ReplicatedRuns simulate_replicated(const std::vector<Configuration>& configurations,
                                   int replications, uint64_t seed, int threads,
                                   std::optional<double> duration_s, const std::string& label) {
  ReplicatedRuns out;
  const int n = static_cast<int>(configurations.size());
  out.runs.assign(configurations.size(),
                  std::vector<std::optional<result::RunResult>>(static_cast<size_t>(replications)));
  if (n == 0 || replications <= 0) return out;
  Progress progress(label, n * replications);
  engine::ReplicationOptions ro;
  ro.replications = n * replications;
  ro.threads = threads;
  ro.cancel = interrupt_flag();
  ro.on_progress = [&](int done, int) { progress.update(done); };
  std::mutex error_mutex;
  // Task t: replication t / n of configuration t % n, so every configuration advances together
  // and a cancelled run still has pairs.
  auto results = engine::run_replications<std::optional<result::RunResult>>(
      ro, [&](int task) -> std::optional<result::RunResult> {
        const Configuration& c = configurations[static_cast<size_t>(task % n)];
        models::SimulateOptions options;
        options.replications = 1;
        options.threads = 1;
        options.seed = replication_seed(seed, task / n);
        options.duration_s = duration_s;
        options.cancel = interrupt_flag();
        options.abandon = abandon_flag();
        models::SimulateOutput sim = models::simulate(c.scenario, c.base_dir, options);
        if (!sim.ok()) {
          std::lock_guard lock(error_mutex);
          if (out.error.empty()) out.error = c.name + ": " + sim.error;
          return std::nullopt;
        }
        return std::move(sim.result);
      });
  progress.finish();
  for (int task = 0; task < n * replications; ++task) {
    auto& slot = results[static_cast<size_t>(task)];
    if (slot && *slot) {
      out.runs[static_cast<size_t>(task % n)][static_cast<size_t>(task / n)] = std::move(**slot);
    } else if (!slot) {
      out.cancelled = true;
    }
  }
  if (interrupted()) out.cancelled = true;
  if (out.cancelled && out.error.find("cancelled") != std::string::npos) out.error.clear();
  return out;
}

MeanCi mean_ci(const std::vector<double>& values) {
  MeanCi r;
  r.n = values.size();
  if (values.empty()) return r;
  if (values.size() == 1) {
    r.mean = r.lower = r.upper = values[0];
    return r;
  }
  const engine::ConfidenceInterval ci = engine::student_t_ci(values, 0.95);
  r.mean = ci.mean;
  r.half_width = ci.half_width;
  r.lower = ci.lower;
  r.upper = ci.upper;
  return r;
}

namespace {

void set_interval(const MeanCi& ci, result::Interval* out) {
  out->set_lower(ci.lower);
  out->set_upper(ci.upper);
  out->set_half_width(ci.half_width);
}

double mean_of(const std::vector<double>& v) {
  double s = 0;
  for (double x : v)
    s += x;
  return v.empty() ? 0 : s / static_cast<double>(v.size());
}

// Averages the percentiles of `items`, pools the mean by count; max of max; count summed.
void average_latency(const std::vector<const result::LatencyMs*>& items, result::LatencyMs* out,
                     bool with_ci) {
  std::vector<double> p50, p90, p99, p999, means;
  double weighted = 0, max = 0;
  uint64_t count = 0;
  for (const result::LatencyMs* l : items) {
    p50.push_back(l->p50());
    p90.push_back(l->p90());
    p99.push_back(l->p99());
    p999.push_back(l->p999());
    if (l->count() > 0) means.push_back(l->mean());
    weighted += l->mean() * static_cast<double>(l->count());
    count += l->count();
    max = std::max(max, l->max());
  }
  out->Clear();
  out->set_p50(mean_of(p50));
  out->set_p90(mean_of(p90));
  out->set_p99(mean_of(p99));
  out->set_p999(mean_of(p999));
  out->set_mean(count > 0 ? weighted / static_cast<double>(count) : mean_of(means));
  out->set_max(max);
  out->set_count(count);
  if (with_ci && means.size() >= 2) set_interval(mean_ci(means), out->mutable_ci95_mean());
}

void merge_histogram(
    const std::vector<const google::protobuf::RepeatedPtrField<result::HistogramBucket>*>& parts,
    google::protobuf::RepeatedPtrField<result::HistogramBucket>* out) {
  std::map<double, uint64_t> buckets;
  for (const auto* part : parts) {
    for (const auto& b : *part)
      buckets[b.upper_ms()] += b.count();
  }
  out->Clear();
  for (const auto& [upper, c] : buckets) {
    auto* b = out->Add();
    b->set_upper_ms(upper);
    b->set_count(c);
  }
}

}  // namespace

result::RunResult aggregate_replications(const std::vector<std::optional<result::RunResult>>& runs,
                                         uint64_t seed) {
  std::vector<const result::RunResult*> reps;
  for (const auto& r : runs) {
    if (r) reps.push_back(&*r);
  }
  result::RunResult out;
  if (reps.empty()) return out;
  out = *reps.front();
  const size_t n = reps.size();

  // End to end.
  {
    std::vector<const result::LatencyMs*> lat;
    std::vector<double> throughput, offered;
    uint64_t requests = 0, succeeded = 0;
    for (const auto* r : reps) {
      lat.push_back(&r->end_to_end().latency_ms());
      throughput.push_back(r->end_to_end().throughput_rps());
      offered.push_back(r->end_to_end().offered_rps());
      requests += r->end_to_end().requests();
      succeeded += r->end_to_end().succeeded();
    }
    auto* e = out.mutable_end_to_end();
    average_latency(lat, e->mutable_latency_ms(), true);
    const MeanCi t = mean_ci(throughput);
    e->set_throughput_rps(t.mean);
    e->clear_ci95_throughput_rps();
    if (n >= 2) set_interval(t, e->mutable_ci95_throughput_rps());
    e->set_offered_rps(mean_of(offered));
    e->set_requests(requests);
    e->set_succeeded(succeeded);
    e->set_success_ratio(
        requests > 0 ? static_cast<double>(succeeded) / static_cast<double>(requests) : 0);
  }
  // Hops, by name (a hop a replication did not observe is skipped for it).
  {
    int bottleneck = -1;
    double worst = -1;
    for (int h = 0; h < out.hops_size(); ++h) {
      auto* hop = out.mutable_hops(h);
      std::vector<const result::LatencyMs*> lat, queue, service;
      std::vector<const google::protobuf::RepeatedPtrField<result::HistogramBucket>*> hist, qhist;
      std::vector<double> util;
      uint64_t requests = 0;
      for (const auto* r : reps) {
        for (const auto& other : r->hops()) {
          if (other.name() != hop->name()) continue;
          lat.push_back(&other.latency_ms());
          queue.push_back(&other.queueing_ms());
          service.push_back(&other.service_ms());
          hist.push_back(&other.histogram());
          qhist.push_back(&other.queueing_histogram());
          if (other.has_utilization()) util.push_back(other.utilization());
          requests += other.requests();
        }
      }
      result::LatencyMs l, q, s;
      average_latency(lat, &l, false);
      average_latency(queue, &q, false);
      average_latency(service, &s, false);
      *hop->mutable_latency_ms() = l;
      *hop->mutable_queueing_ms() = q;
      *hop->mutable_service_ms() = s;
      merge_histogram(hist, hop->mutable_histogram());
      merge_histogram(qhist, hop->mutable_queueing_histogram());
      hop->set_requests(requests);
      hop->set_bottleneck(false);
      if (!util.empty()) {
        hop->set_utilization(mean_of(util));
        if (hop->utilization() > worst) {
          worst = hop->utilization();
          bottleneck = h;
        }
      }
      hop->clear_time_series();  // per replication only
    }
    if (bottleneck >= 0) out.mutable_hops(bottleneck)->set_bottleneck(true);
  }
  // Routes and components, by position (the same configuration has the same ones).
  for (int i = 0; i < out.routes_size(); ++i) {
    std::vector<const result::LatencyMs*> lat;
    uint64_t requests = 0;
    double succeeded = 0;
    for (const auto* r : reps) {
      if (i >= r->routes_size()) continue;
      const auto& rt = r->routes(i);
      lat.push_back(&rt.latency_ms());
      requests += rt.requests();
      succeeded += rt.success_ratio() * static_cast<double>(rt.requests());
    }
    auto* route = out.mutable_routes(i);
    average_latency(lat, route->mutable_latency_ms(), false);
    route->set_requests(requests);
    route->set_success_ratio(requests > 0 ? succeeded / static_cast<double>(requests) : 0);
  }
  for (int i = 0; i < out.components_size(); ++i) {
    std::vector<double> util, queue;
    uint64_t requests = 0;
    for (const auto* r : reps) {
      if (i >= r->components_size()) continue;
      util.push_back(r->components(i).utilization());
      queue.push_back(r->components(i).mean_queue_length());
      requests += r->components(i).requests();
    }
    auto* c = out.mutable_components(i);
    c->set_utilization(mean_of(util));
    c->set_mean_queue_length(mean_of(queue));
    c->set_requests(requests);
  }
  // Counts.
  {
    result::Errors errors;
    result::Connections conn;
    result::CrossZone zone;
    for (const auto* r : reps) {
      const auto& e = r->errors();
      errors.set_timeout(errors.timeout() + e.timeout());
      errors.set_refused(errors.refused() + e.refused());
      errors.set_http_503(errors.http_503() + e.http_503());
      errors.set_no_route(errors.no_route() + e.no_route());
      errors.set_upstream_timeout(errors.upstream_timeout() + e.upstream_timeout());
      const auto& c = r->connections();
      conn.set_client_connections(conn.client_connections() + c.client_connections());
      conn.set_tls_full_handshakes(conn.tls_full_handshakes() + c.tls_full_handshakes());
      conn.set_tls_resumed_handshakes(conn.tls_resumed_handshakes() + c.tls_resumed_handshakes());
      conn.set_nat_first_packets(conn.nat_first_packets() + c.nat_first_packets());
      conn.set_upstream_connections_opened(conn.upstream_connections_opened() +
                                           c.upstream_connections_opened());
      conn.set_upstream_requests_on_reused_connections(
          conn.upstream_requests_on_reused_connections() +
          c.upstream_requests_on_reused_connections());
      conn.set_retries(conn.retries() + c.retries());
      if (c.has_client_retries())
        conn.set_client_retries(conn.client_retries() + c.client_retries());
      conn.set_forwarded_to_other_node(conn.forwarded_to_other_node() +
                                       c.forwarded_to_other_node());
      zone.set_bytes(zone.bytes() + r->cross_zone().bytes());
      zone.set_cost(zone.cost() + r->cross_zone().cost());
    }
    *out.mutable_errors() = errors;
    *out.mutable_connections() = conn;
    *out.mutable_cross_zone() = zone;
  }
  // Time series by bucket: rates and percentiles averaged, errors summed.
  for (int b = 0; b < out.time_series_size(); ++b) {
    std::vector<double> rps, p50, p99;
    uint64_t errors = 0;
    for (const auto* r : reps) {
      if (b >= r->time_series_size()) continue;
      const auto& p = r->time_series(b);
      rps.push_back(p.rps());
      p50.push_back(p.p50_ms());
      p99.push_back(p.p99_ms());
      errors += p.errors();
    }
    auto* p = out.mutable_time_series(b);
    p->set_rps(mean_of(rps));
    p->set_p50_ms(mean_of(p50));
    p->set_p99_ms(mean_of(p99));
    p->set_errors(errors);
  }
  {
    std::vector<const google::protobuf::RepeatedPtrField<result::HistogramBucket>*> parts;
    for (const auto* r : reps)
      parts.push_back(&r->latency_histogram());
    merge_histogram(parts, out.mutable_latency_histogram());
  }
  auto* info = out.mutable_run();
  uint64_t events = 0;
  double wall = 0;
  for (const auto* r : reps) {
    events += r->run().events();
    wall += r->run().wall_seconds();
  }
  info->set_replications(static_cast<uint32_t>(n));
  info->set_seed(seed);
  info->set_events(events);
  info->set_wall_seconds(wall);
  info->set_partial(n < runs.size() ||
                    std::any_of(reps.begin(), reps.end(),
                                [](const result::RunResult* r) { return r->run().partial(); }));
  return out;
}

const std::vector<MetricSpec>& compared_metrics() {
  static const std::vector<MetricSpec> metrics = {
      {"latency_mean_ms", "mean (ms)", false,
       [](const result::RunResult& r) { return r.end_to_end().latency_ms().mean(); }},
      {"latency_p50_ms", "p50 (ms)", false,
       [](const result::RunResult& r) { return r.end_to_end().latency_ms().p50(); }},
      {"latency_p99_ms", "p99 (ms)", false,
       [](const result::RunResult& r) { return r.end_to_end().latency_ms().p99(); }},
      {"latency_p999_ms", "p99.9 (ms)", false,
       [](const result::RunResult& r) { return r.end_to_end().latency_ms().p999(); }},
      {"throughput_rps", "throughput (req/s)", true,
       [](const result::RunResult& r) { return r.end_to_end().throughput_rps(); }},
      {"success_ratio", "success", true,
       [](const result::RunResult& r) { return r.end_to_end().success_ratio(); }},
  };
  return metrics;
}

std::optional<double> parse_duration_flag(const std::string& who, const std::string& flag,
                                          const std::string& text, bool positive) {
  scenario::Scenario scratch;
  if (std::string e = scenarios::assign_field_path(&scratch, "run.duration", text); !e.empty()) {
    std::cerr << who << ": " << flag << " " << text << ": " << e << "\n";
    return std::nullopt;
  }
  const double s = static_cast<double>(scratch.run().duration().seconds()) +
                   scratch.run().duration().nanos() * 1e-9;
  if (s < 0 || (positive && s == 0)) {
    std::cerr << who << ": " << flag << " must be " << (positive ? "> 0" : ">= 0") << "\n";
    return std::nullopt;
  }
  return s;
}

std::string shell_quote(const std::string& arg) {
  const bool plain = !arg.empty() && arg.find_first_not_of(
                                         "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                         "0123456789_-./:=@%+,") == std::string::npos;
  if (plain) return arg;
  std::string quoted = "'";
  for (char c : arg) {
    quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  }
  return quoted + "'";
}

std::string reproduce_command(int argc, const char* const* argv) {
  std::string cmd = "ingresslab";
  for (int i = 1; i < argc; ++i)
    cmd += " " + shell_quote(argv[i]);
  std::error_code ec;
  const std::filesystem::path cwd = std::filesystem::current_path(ec);
  return ec ? cmd : "cd " + shell_quote(cwd.string()) + "\n" + cmd;
}

void set_reproduce_command(int argc, const char* const* argv) {
  command_storage() = reproduce_command(argc, argv);
}

const std::string& recorded_command() {
  return command_storage();
}

std::string read_text_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

bool write_output(const std::string& path, const std::string& text, const std::string& command) {
  if (path.empty() || path == "-") {
    std::cout << text;
    std::cout.flush();
    return true;
  }
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f << text;
  f.close();
  if (!f) {
    std::cerr << "ingresslab " << command << ": cannot write " << path << "\n";
    return false;
  }
  return true;
}

std::string output_path_problem(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::is_directory(path, ec)) return "is a directory";
  fs::path dir = fs::path(path).parent_path();
  if (dir.empty()) dir = ".";
  if (!fs::is_directory(dir, ec)) return "directory " + dir.string() + " does not exist";
  if (access(dir.c_str(), W_OK) != 0) return "directory " + dir.string() + " is not writable";
  return "";
}

void add_common_options(CLI::App* cmd, CommonArgs* a) {
  cmd->add_option("--seed", a->seed, "random seed (default: the first scenario's run.seed)");
  cmd->add_option("--replications", a->replications,
                  "independent replications per configuration (default: run.replications)")
      ->check(CLI::Range(1, 1000));
  cmd->add_option("--threads", a->threads, "threads (0 = one per core; default: run.threads)")
      ->check(CLI::Range(0, 1024));
  cmd->add_option("--duration", a->duration,
                  "measured simulated time per replication, e.g. 10s (default: run.duration)");
  cmd->add_option("--set", a->sets,
                  "override a field for every configuration: path=value (repeatable); "
                  "workload.rps=N scales the open-loop rates to N req/s in total");
  cmd->add_option("--format", a->format, "text, json or csv")
      ->check(CLI::IsMember({"text", "json", "csv"}));
  cmd->add_option("-o,--output", a->output, "write the result to this file (default: stdout)");
  cmd->add_option("--report", a->report, "also write a self-contained HTML report to this file");
}

bool check_common(const CommonArgs& a, const std::string& command, CommonSettings* out) {
  const std::string who = "ingresslab " + command + ": ";
  (void)interrupt_flag();  // Ctrl-C from here on marks results partial instead of killing

  if (!parse_set_flags(a.sets, "ingresslab " + command, &out->sets)) return false;
  if (!a.duration.empty()) {
    out->duration_s = parse_duration_flag("ingresslab " + command, "--duration", a.duration, true);
    if (!out->duration_s) return false;
  }
  for (const auto& [flag, path] :
       {std::pair<std::string, std::string>{"--report", a.report}, {"-o", a.output}}) {
    if (path.empty() || path == "-") continue;
    if (std::string problem = output_path_problem(path); !problem.empty()) {
      std::cerr << who << flag << " " << path << ": " << problem << "\n";
      return false;
    }
  }
  return true;
}

int replications_of(const CommonArgs& a, const scenario::Scenario& s) {
  return a.replications.value_or(static_cast<int>(s.run().replications()));
}
uint64_t seed_of(const CommonArgs& a, const scenario::Scenario& s) {
  return a.seed.value_or(s.run().seed());
}
int threads_of(const CommonArgs& a, const scenario::Scenario& s) {
  return a.threads.value_or(static_cast<int>(s.run().threads()));
}

std::string to_json(const google::protobuf::Message& message) {
  std::string json;
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  options.always_print_primitive_fields = true;
  options.add_whitespace = true;
  (void)google::protobuf::util::MessageToJsonString(message, &json, options);
  return json;
}

// The differences of every variant against `order[0]`, from per-replication pairs.
std::vector<experiment::MetricDifference> paired_differences(
    const std::vector<std::string>& order,
    const std::vector<std::vector<std::optional<result::RunResult>>>& runs) {
  std::vector<experiment::MetricDifference> out;
  for (size_t v = 1; v < order.size(); ++v) {
    for (const MetricSpec& m : compared_metrics()) {
      std::vector<double> base, other, diff;
      for (size_t r = 0; r < runs[0].size(); ++r) {
        if (!runs[0][r] || !runs[v][r]) continue;
        base.push_back(m.of(*runs[0][r]));
        other.push_back(m.of(*runs[v][r]));
        diff.push_back(other.back() - base.back());
      }
      experiment::MetricDifference d;
      d.set_metric(m.name);
      d.set_variant(order[v]);
      d.set_baseline(order[0]);
      d.set_higher_is_better(m.higher_is_better);
      d.set_pairs(static_cast<uint32_t>(diff.size()));
      const MeanCi ci = mean_ci(diff);
      d.set_variant_value(mean_ci(other).mean);
      d.set_baseline_value(mean_ci(base).mean);
      d.set_difference(ci.mean);
      d.set_relative(d.baseline_value() != 0 ? ci.mean / d.baseline_value() : 0);
      if (diff.size() >= 2) {
        d.mutable_ci95()->set_lower(ci.lower);
        d.mutable_ci95()->set_upper(ci.upper);
        d.mutable_ci95()->set_half_width(ci.half_width);
        d.set_significant(ci.lower > 0 || ci.upper < 0);
      }
      if (d.significant()) {
        const bool variant_higher = ci.mean > 0;
        d.set_better(variant_higher == m.higher_is_better ? order[v] : order[0]);
      }
      out.push_back(d);
    }
  }
  return out;
}

// The knee along each line of the grid (docs/cli.md).
void find_knees(experiment::SweepResult* s) {
  const int n = s->points_size();
  std::vector<bool> done(static_cast<size_t>(n), false);
  for (int i = 0; i < n; ++i) {
    if (done[static_cast<size_t>(i)]) continue;
    // The points of i's line: same values of every axis but the first, in grid order.
    experiment::Knee knee;
    for (int a = 1; a < s->axes_size(); ++a) {
      const std::string& path = s->axes(a).path();
      (*knee.mutable_line())[path] = s->points(i).settings().at(path);
    }
    std::vector<int> members;
    for (int j = i; j < n; ++j) {
      bool same = true;
      for (const auto& [path, value] : knee.line())
        same = same && s->points(j).settings().at(path) == value;
      if (same) {
        members.push_back(j);
        done[static_cast<size_t>(j)] = true;
      }
    }
    const double base = s->points(members[0]).result().end_to_end().latency_ms().p99();
    knee.set_baseline_p99_ms(base);
    knee.set_point(-1);
    for (size_t m = 1; m < members.size(); ++m) {
      const auto& p = s->points(members[m]);
      const double p99 = p.result().end_to_end().latency_ms().p99();
      if (base > 0 && p99 >= s->knee_factor() * base) {
        knee.set_found(true);
        knee.set_x(p.x());
        knee.set_point(members[m]);
        knee.set_p99_ms(p99);
        break;
      }
    }
    *s->add_knees() = std::move(knee);
  }
}

}  // namespace ingresslab::cli
