#include "models/simulate.h"

#include <google/protobuf/io/tokenizer.h>
#include <google/protobuf/text_format.h>
#include <google/protobuf/util/delimited_message_util.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <limits>
#include <sstream>

#include "engine/replications.h"
#include "engine/statistics.h"
#include "engine/warmup.h"
#include "models/chain.h"

extern const unsigned char kDefaultCostProfile[];
extern const std::size_t kDefaultCostProfileSize;

namespace ingresslab::models {
namespace {

using engine::Duration;

int64_t ns_of(const google::protobuf::Duration& d) {
  return d.seconds() * 1'000'000'000 + d.nanos();
}

void fill_ci(const std::vector<double>& per_replication, double scale, result::Interval* out) {
  if (per_replication.size() < 2) return;
  const engine::ConfidenceInterval ci = engine::student_t_ci(per_replication, 0.95);
  out->set_lower(ci.lower * scale);
  out->set_upper(ci.upper * scale);
  out->set_half_width(ci.half_width * scale);
}

// Upper edges (ns) of one log-spaced grid of at most kHopHistogramBuckets buckets that covers
// every value of `histograms`: a first bucket [0, 1 ns) when there are zeros, then geometric
// steps from the smallest non-zero bucket to the largest. One grid for every hop, so hops can be
// compared bucket for bucket.
constexpr size_t kHopHistogramBuckets = 64;

std::vector<int64_t> shared_histogram_edges(
    const std::vector<const engine::LatencyHistogram*>& histograms) {
  bool zeros = false;
  int64_t lo = std::numeric_limits<int64_t>::max(), hi = 0;
  for (const auto* h : histograms) {
    h->for_each_bucket([&](const engine::LatencyHistogram::Bucket& b) {
      if (b.lower_ns == 0) {
        zeros = true;
        return;
      }
      lo = std::min(lo, b.upper_ns);
      hi = std::max(hi, b.upper_ns);
    });
  }
  std::vector<int64_t> edges;
  if (zeros) edges.push_back(1);
  if (hi == 0) return edges;
  const size_t steps = kHopHistogramBuckets - edges.size();
  const double ratio = std::pow(static_cast<double>(hi) / static_cast<double>(lo),
                                1.0 / static_cast<double>(steps - 1));
  for (size_t i = 0; i < steps; ++i) {
    const auto edge =
        i + 1 == steps
            ? hi
            : static_cast<int64_t>(std::llround(static_cast<double>(lo) * std::pow(ratio, i)));
    if (edges.empty() || edge > edges.back()) edges.push_back(edge);
  }
  return edges;
}

// `h` on the grid `edges`: each engine bucket is counted in the first grid bucket whose upper
// edge is >= its own upper bound (every grid bucket is listed, empty ones too).
void fill_grid_histogram(const engine::LatencyHistogram& h, const std::vector<int64_t>& edges,
                         google::protobuf::RepeatedPtrField<result::HistogramBucket>* out) {
  std::vector<uint64_t> counts(edges.size(), 0);
  h.for_each_bucket([&](const engine::LatencyHistogram::Bucket& b) {
    const auto it = std::lower_bound(edges.begin(), edges.end(), b.upper_ns);
    counts[static_cast<size_t>(
        std::min(it - edges.begin(), static_cast<std::ptrdiff_t>(edges.size()) - 1))] += b.count;
  });
  for (size_t i = 0; i < edges.size(); ++i) {
    auto* bucket = out->Add();
    bucket->set_upper_ms(static_cast<double>(edges[i]) * 1e-6);
    bucket->set_count(counts[i]);
  }
}

}  // namespace

bool load_cost_profile(const scenario::Scenario& scenario, const std::string& base_dir,
                       profile::CostProfile* out, std::string* error) {
  std::string text;
  std::string name = "built-in default profile";
  if (!scenario.ingress().cost_profile().empty()) {
    name = scenario.ingress().cost_profile();
    std::string path = name;
    if (!path.empty() && path[0] != '/') path = base_dir + "/" + path;
    std::ifstream in(path, std::ios::binary);
    if (!in) {
      *error = "ingress.cost_profile: cannot read '" + path + "'";
      return false;
    }
    std::ostringstream buffer;
    buffer << in.rdbuf();
    text = buffer.str();
  } else {
    text.assign(reinterpret_cast<const char*>(kDefaultCostProfile), kDefaultCostProfileSize);
  }
  struct Collector : google::protobuf::io::ErrorCollector {
    std::string first;
    void AddError(int line, int column, const std::string& message) override {
      if (first.empty())
        first = std::to_string(line + 1) + ":" + std::to_string(column + 1) + ": " + message;
    }
  } collector;
  google::protobuf::TextFormat::Parser parser;
  parser.RecordErrorsTo(&collector);
  if (!parser.ParseFromString(text, out)) {
    *error = "ingress.cost_profile: " + name + ":" + collector.first;
    return false;
  }
  return true;
}

std::string prepare_chain_spec(const scenario::Scenario& scenario, const std::string& base_dir,
                               ChainSpec* spec) {
  profile::CostProfile costs;
  std::string error;
  if (!load_cost_profile(scenario, base_dir, &costs, &error)) return error;
  return build_chain_spec(scenario, costs, base_dir, spec);
}

SimulateOutput simulate(const scenario::Scenario& scenario, const std::string& base_dir,
                        const SimulateOptions& options) {
  SimulateOutput out;
  const auto started = std::chrono::steady_clock::now();
  ChainSpec spec;
  if (std::string e = prepare_chain_spec(scenario, base_dir, &spec); !e.empty()) {
    out.error = e;
    return out;
  }
  const profile::CostProfile& costs = spec.costs;
  const std::string trace_path =
      options.trace_path.empty() ? scenario.outputs().trace() : options.trace_path;
  std::ofstream trace_file;
  if (!trace_path.empty()) {
    trace_file.open(trace_path, std::ios::binary | std::ios::trunc);
    if (!trace_file) {
      out.error = "cannot write the trace file '" + trace_path + "'";
      return out;
    }
    spec.trace_every = std::max<uint32_t>(1, scenario.outputs().trace_sample_every());
  }
  const auto& run = scenario.run();
  const int replications = options.replications.value_or(static_cast<int>(run.replications()));
  const uint64_t seed = options.seed.value_or(run.seed());
  const Duration duration = options.duration_s ? Duration::from_seconds(*options.duration_s)
                                               : Duration::nanoseconds(ns_of(run.duration()));
  const bool mser = run.warmup().has_mser5() && run.warmup().mser5();
  const Duration fixed_warmup =
      Duration::nanoseconds(run.warmup().has_fixed() ? ns_of(run.warmup().fixed()) : 0);

  spec.abandon = options.abandon;
  engine::ReplicationOptions ro;
  ro.replications = replications;
  ro.threads = options.threads.value_or(static_cast<int>(run.threads()));
  ro.cancel = options.cancel;
  ro.on_progress = options.on_progress;
  auto results = engine::run_replications<ReplicationStats>(ro, [&](int r) {
    if (!mser) return run_replication(spec, seed, r, fixed_warmup, duration);
    // MSER-5 on the per-bucket mean latency of a pilot run picks the warm-up; the replication
    // is then rerun with it (same seed: the same trajectory, measured from the new point).
    ReplicationStats pilot = run_replication(spec, seed, r, Duration::zero(), duration);
    const size_t cut = engine::mser5_truncation(pilot.bucket_mean_latency_s);
    const Duration warm = Duration::nanoseconds(static_cast<int64_t>(cut) *
                                                ns_of(scenario.outputs().time_series_bucket()));
    return run_replication(spec, seed, r, warm, duration - warm);
  });

  // Merge the replications.
  result::RunResult& rr = out.result;
  rr.set_scenario(scenario.name());
  ReplicationStats total;
  total.routes.resize(spec.routes.size());
  std::vector<double> means, throughputs;
  int finished = 0;
  double window_s = 0;
  std::vector<ComponentStats> components;
  std::vector<std::vector<TimeBucket>> series;
  for (auto& opt : results) {
    if (!opt) continue;
    ReplicationStats& s = *opt;
    ++finished;
    window_s += s.window_s;
    total.end_to_end.merge(s.end_to_end);
    if (s.end_to_end_s.count() > 0) means.push_back(s.end_to_end_s.mean());
    throughputs.push_back(s.window_s > 0 ? static_cast<double>(s.succeeded) / s.window_s : 0);
    total.offered += s.offered;
    total.completed += s.completed;
    total.succeeded += s.succeeded;
    total.unfinished += s.unfinished;
    total.events += s.events;
    for (int h = 0; h < kHopCount; ++h) {
      auto& d = total.hops[static_cast<size_t>(h)];
      const auto& src = s.hops[static_cast<size_t>(h)];
      d.latency.merge(src.latency);
      d.queueing.merge(src.queueing);
      d.service.merge(src.service);
      d.requests += src.requests;
      d.busy_seconds += src.busy_seconds;
      d.server_seconds += src.server_seconds;
      if (d.series.size() < src.series.size()) d.series.resize(src.series.size());
      for (size_t b = 0; b < src.series.size(); ++b) {
        d.series[b].requests += src.series[b].requests;
        d.series[b].latency.merge(src.series[b].latency);
        d.series[b].busy_seconds += src.series[b].busy_seconds;
        d.series[b].server_seconds += src.series[b].server_seconds;
      }
    }
    // The timeline of the first replication that finished.
    if (finished == 1) rr.mutable_events()->Add(s.timeline.begin(), s.timeline.end());
    for (size_t i = 0; i < s.routes.size(); ++i) {
      total.routes[i].latency.merge(s.routes[i].latency);
      total.routes[i].requests += s.routes[i].requests;
      total.routes[i].succeeded += s.routes[i].succeeded;
    }
    if (components.empty()) {
      components = s.components;
    } else {
      for (size_t i = 0; i < components.size() && i < s.components.size(); ++i) {
        components[i].busy_seconds += s.components[i].busy_seconds;
        components[i].capacity_seconds += s.components[i].capacity_seconds;
        components[i].queue_area += s.components[i].queue_area;
        components[i].requests += s.components[i].requests;
      }
    }
    auto& e = total.errors;
    e.timeout += s.errors.timeout;
    e.refused += s.errors.refused;
    e.http_503 += s.errors.http_503;
    e.no_route += s.errors.no_route;
    e.upstream_timeout += s.errors.upstream_timeout;
    auto& c = total.connections;
    c.client += s.connections.client;
    c.tls_full += s.connections.tls_full;
    c.tls_resumed += s.connections.tls_resumed;
    c.nat_first_packets += s.connections.nat_first_packets;
    c.upstream_opened += s.connections.upstream_opened;
    c.upstream_reused += s.connections.upstream_reused;
    c.retries += s.connections.retries;
    c.client_retries += s.connections.client_retries;
    c.forwarded += s.connections.forwarded;
    total.cross_zone_bytes += s.cross_zone_bytes;
    for (const auto& span : s.spans) {
      if (!google::protobuf::util::SerializeDelimitedToOstream(span, &trace_file)) {
        out.error = "cannot write the trace file '" + trace_path + "'";
        return out;
      }
    }
    if (total.time_series.size() < s.time_series.size())
      total.time_series.resize(s.time_series.size());
    for (size_t b = 0; b < s.time_series.size(); ++b) {
      total.time_series[b].completed += s.time_series[b].completed;
      total.time_series[b].errors += s.time_series[b].errors;
      total.time_series[b].latency.merge(s.time_series[b].latency);
    }
  }
  if (finished == 0) {
    out.error = "no replication finished (cancelled)";
    return out;
  }

  auto* e2e = rr.mutable_end_to_end();
  fill_latency_ms(total.end_to_end, e2e->mutable_latency_ms());
  fill_ci(means, 1e3, e2e->mutable_latency_ms()->mutable_ci95_mean());
  e2e->set_requests(total.completed);
  e2e->set_succeeded(total.succeeded);
  e2e->set_throughput_rps(window_s > 0 ? static_cast<double>(total.succeeded) / window_s : 0);
  e2e->set_offered_rps(window_s > 0 ? static_cast<double>(total.offered) / window_s : 0);
  e2e->set_success_ratio(total.completed > 0 ? static_cast<double>(total.succeeded) /
                                                   static_cast<double>(total.completed)
                                             : 0);
  fill_ci(throughputs, 1.0, e2e->mutable_ci95_throughput_rps());

  const double bucket_s =
      static_cast<double>(ns_of(scenario.outputs().time_series_bucket())) * 1e-9;
  std::vector<const engine::LatencyHistogram*> hop_histograms;
  for (const HopStats& hs : total.hops) {
    hop_histograms.push_back(&hs.latency);
    hop_histograms.push_back(&hs.queueing);
  }
  const std::vector<int64_t> hop_edges = shared_histogram_edges(hop_histograms);
  int bottleneck = -1;
  double worst = -1;
  for (int h = 0; h < kHopCount; ++h) {
    const HopStats& hs = total.hops[static_cast<size_t>(h)];
    if (hs.requests == 0) continue;
    auto* hop = rr.add_hops();
    hop->set_name(hop_name(static_cast<Hop>(h)));
    fill_latency_ms(hs.latency, hop->mutable_latency_ms());
    fill_latency_ms(hs.queueing, hop->mutable_queueing_ms());
    fill_latency_ms(hs.service, hop->mutable_service_ms());
    hop->set_requests(hs.requests);
    fill_grid_histogram(hs.latency, hop_edges, hop->mutable_histogram());
    fill_grid_histogram(hs.queueing, hop_edges, hop->mutable_queueing_histogram());
    for (size_t b = 0; b < hs.series.size(); ++b) {
      const HopTimeBucket& hb = hs.series[b];
      auto* p = hop->add_time_series();
      p->set_t(static_cast<double>(b) * bucket_s);
      p->set_rps(static_cast<double>(hb.requests) / bucket_s / finished);
      if (hb.latency.count() > 0) {
        p->set_p50_ms(static_cast<double>(hb.latency.quantile(0.5)) * 1e-6);
        p->set_p99_ms(static_cast<double>(hb.latency.quantile(0.99)) * 1e-6);
      }
      if (hb.server_seconds > 0) p->set_utilization(hb.busy_seconds / hb.server_seconds);
    }
    if (hs.server_seconds > 0) {
      const double u = hs.busy_seconds / hs.server_seconds;
      hop->set_utilization(u);
      if (u > worst) {
        worst = u;
        bottleneck = rr.hops_size() - 1;
      }
    }
  }
  if (bottleneck >= 0) rr.mutable_hops(bottleneck)->set_bottleneck(true);

  for (size_t i = 0; i < spec.routes.size(); ++i) {
    auto* route = rr.add_routes();
    route->set_host(spec.routes[i].host);
    route->set_path(spec.routes[i].path);
    route->set_service(spec.routes[i].service);
    fill_latency_ms(total.routes[i].latency, route->mutable_latency_ms());
    route->set_requests(total.routes[i].requests);
    route->set_success_ratio(total.routes[i].requests > 0
                                 ? static_cast<double>(total.routes[i].succeeded) /
                                       static_cast<double>(total.routes[i].requests)
                                 : 0);
  }
  for (const auto& c : components) {
    auto* comp = rr.add_components();
    comp->set_name(c.name);
    comp->set_kind(c.kind);
    comp->set_node(c.node);
    comp->set_zone(c.zone);
    comp->set_utilization(c.capacity_seconds > 0 ? c.busy_seconds / c.capacity_seconds : 0);
    comp->set_mean_queue_length(window_s > 0 ? c.queue_area / window_s : 0);
    comp->set_requests(c.requests);
  }
  auto* err = rr.mutable_errors();
  err->set_timeout(total.errors.timeout);
  err->set_refused(total.errors.refused);
  err->set_http_503(total.errors.http_503);
  err->set_no_route(total.errors.no_route);
  err->set_upstream_timeout(total.errors.upstream_timeout);
  auto* conn = rr.mutable_connections();
  conn->set_client_connections(total.connections.client);
  conn->set_tls_full_handshakes(total.connections.tls_full);
  conn->set_tls_resumed_handshakes(total.connections.tls_resumed);
  conn->set_nat_first_packets(total.connections.nat_first_packets);
  conn->set_upstream_connections_opened(total.connections.upstream_opened);
  conn->set_upstream_requests_on_reused_connections(total.connections.upstream_reused);
  conn->set_retries(total.connections.retries);
  conn->set_forwarded_to_other_node(total.connections.forwarded);
  for (const auto& g : scenario.workload().clients()) {
    if (g.retries() > 0) {
      conn->set_client_retries(total.connections.client_retries);
      break;
    }
  }
  rr.mutable_cross_zone()->set_bytes(total.cross_zone_bytes);
  rr.mutable_cross_zone()->set_cost(static_cast<double>(total.cross_zone_bytes) /
                                    (1024.0 * 1024 * 1024) *
                                    scenario.cluster().network().cross_zone_cost_per_gib());
  for (size_t b = 0; b < total.time_series.size(); ++b) {
    const TimeBucket& tb = total.time_series[b];
    auto* p = rr.add_time_series();
    p->set_t(static_cast<double>(b) * bucket_s);
    p->set_rps(static_cast<double>(tb.completed - tb.errors) / bucket_s / finished);
    if (tb.latency.count() > 0) {
      p->set_p50_ms(static_cast<double>(tb.latency.quantile(0.5)) * 1e-6);
      p->set_p99_ms(static_cast<double>(tb.latency.quantile(0.99)) * 1e-6);
    }
    p->set_errors(tb.errors);
  }
  total.end_to_end.for_each_bucket([&](const engine::LatencyHistogram::Bucket& b) {
    auto* hb = rr.add_latency_histogram();
    hb->set_upper_ms(static_cast<double>(b.upper_ns) * 1e-6);
    hb->set_count(b.count);
  });

  auto* info = rr.mutable_run();
  info->set_source("simulation");
  info->set_replications(static_cast<uint32_t>(finished));
  info->set_seed(seed);
  info->set_duration_s(window_s / finished);
  info->set_warmup_s(mser ? -1 : fixed_warmup.to_seconds());
  info->set_events(total.events);
  info->set_wall_seconds(
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  info->set_partial(finished < replications);
  if (total.unfinished > 0) {
    info->add_notes(
        std::to_string(total.unfinished) +
        " measured requests were still in flight when the drain period ended (not counted)");
  }
  info->add_notes("cost profile: " + costs.source());
  if (scenario.ingress().outlier_detection().consecutive_failures() > 0 &&
      scenario.ingress().upstream_mode() == scenario::IngressController::CLUSTER_IP) {
    info->add_notes(
        "outlier detection does not apply with upstream_mode cluster_ip (the proxy sees one "
        "upstream, the ClusterIP)");
  }
  return out;
}

void fill_latency_ms(const engine::LatencyHistogram& h, result::LatencyMs* out) {
  out->set_count(h.count());
  if (h.count() == 0) return;
  out->set_mean(h.mean() * 1e-6);
  out->set_p50(static_cast<double>(h.quantile(0.5)) * 1e-6);
  out->set_p90(static_cast<double>(h.quantile(0.9)) * 1e-6);
  out->set_p99(static_cast<double>(h.quantile(0.99)) * 1e-6);
  out->set_p999(static_cast<double>(h.quantile(0.999)) * 1e-6);
  out->set_max(static_cast<double>(h.max()) * 1e-6);
}

}  // namespace ingresslab::models
