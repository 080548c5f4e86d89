#include "cli/replay/replay.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <thread>

#include "cli/replay/faults.h"
#include "cli/replay/loadgen.h"
#include "cli/replay/prometheus.h"
#include "cli/replay/target.h"
#include "cli/testbed/exec.h"
#include "cli/testbed/state.h"
#include "engine/random.h"
#include "models/arrivals.h"
#include "models/chain.h"
#include "models/simulate.h"

namespace ingresslab::replay {
namespace {

double seconds_of(const google::protobuf::Duration& d) {
  return static_cast<double>(d.seconds()) + d.nanos() * 1e-9;
}

// Largest schedule built in memory (16 bytes a request).
constexpr size_t kMaxArrivals = 50'000'000;

// The same summary a simulation writes (models/simulate.cc), from the generator's histogram.
// From a Prometheus histogram in seconds.
void fill_latency(const PromHistogram& h, result::LatencyMs* out) {
  out->set_count(static_cast<uint64_t>(std::llround(h.count)));
  if (h.count <= 0) return;
  out->set_mean(h.mean() * 1e3);
  out->set_p50(h.quantile(0.5) * 1e3);
  out->set_p90(h.quantile(0.9) * 1e3);
  out->set_p99(h.quantile(0.99) * 1e3);
  out->set_p999(h.quantile(0.999) * 1e3);
  // The largest observation is not in a histogram: the upper bound of the highest bucket used.
  double max = 0;
  double prev = 0;
  for (const auto& [bound, cum] : h.buckets) {
    if (cum > prev && !std::isinf(bound)) max = bound;
    prev = cum;
  }
  out->set_max(max * 1e3);
}

// Every admin URL's scrape, or nullopt for one that failed (its error in *errors).
std::vector<std::optional<std::vector<Sample>>> scrape_all(const std::vector<std::string>& urls,
                                                           std::vector<std::string>* errors) {
  std::vector<std::optional<std::vector<Sample>>> out;
  for (const std::string& url : urls) {
    std::string error;
    const std::optional<std::string> body = http_get(url, std::chrono::milliseconds(2000), &error);
    if (!body) {
      errors->push_back(error);
      out.emplace_back(std::nullopt);
    } else {
      out.emplace_back(parse_prometheus(*body));
    }
  }
  return out;
}

// The phase histogram summed over the instances scraped both times: after - before.
std::optional<PromHistogram> phase_delta(
    const std::vector<std::optional<std::vector<Sample>>>& before,
    const std::vector<std::optional<std::vector<Sample>>>& after, const std::string& phase) {
  std::optional<PromHistogram> total;
  for (size_t i = 0; i < before.size() && i < after.size(); ++i) {
    if (!before[i] || !after[i]) continue;
    const auto b = find_histogram(*before[i], "realproxy_request_phase_seconds", "phase", phase);
    const auto a = find_histogram(*after[i], "realproxy_request_phase_seconds", "phase", phase);
    if (!a) continue;
    const PromHistogram d = b ? a->minus(*b) : *a;
    if (!total) {
      total = d;
    } else {
      total->add(d);
    }
  }
  return total;
}

// Sum of two independent phases: the mean adds exactly; the quantiles of the sum are approximated
// by the sum of the quantiles (an upper bound for the upper quantiles). Bucket counts of `a`.
void fill_sum(const PromHistogram& a, const PromHistogram& b, result::LatencyMs* out) {
  out->set_count(static_cast<uint64_t>(std::llround(a.count)));
  if (a.count <= 0) return;
  out->set_mean((a.mean() + b.mean()) * 1e3);
  out->set_p50((a.quantile(0.5) + b.quantile(0.5)) * 1e3);
  out->set_p90((a.quantile(0.9) + b.quantile(0.9)) * 1e3);
  out->set_p99((a.quantile(0.99) + b.quantile(0.99)) * 1e3);
  out->set_p999((a.quantile(0.999) + b.quantile(0.999)) * 1e3);
}

}  // namespace

ReplayOutput replay(const scenario::Scenario& scenario, const std::string& base_dir,
                    const ReplayOptions& options) {
  ReplayOutput out;
  const auto started = std::chrono::steady_clock::now();
  models::ChainSpec spec;
  if (std::string e = models::prepare_chain_spec(scenario, base_dir, &spec); !e.empty()) {
    out.error = e;
    return out;
  }
  const scenario::Scenario& sc = spec.scenario;
  std::vector<std::string> notes;

  // --- Target ---------------------------------------------------------------------------------
  LoadPlan plan;
  std::unique_ptr<TestbedFaults> faults;  // the scenario's faults, on the testbed
  std::vector<std::string> metrics_urls = options.metrics_urls;
  bool url_target = false;
  bool url_https = false;
  if (options.target == "testbed") {
    const std::string dir =
        options.state_dir.empty() ? testbed::default_state_dir() : options.state_dir;
    const std::string path = testbed::state_file_path(dir);
    std::string error;
    const std::optional<testbed::TestbedState> state = testbed::read_state_file(path, &error);
    if (!state) {
      out.error = "--target testbed: " + error;
      return out;
    }
    if (state->phase != "up") {
      out.error = "--target testbed: " + path + ": the testbed is not up (phase '" + state->phase +
                  "'); run `ingresslab testbed up FILE` first";
      return out;
    }
    if (sc.faults().events_size() > 0) {
      std::string fault_error;
      faults = TestbedFaults::plan(sc, path, &notes, &fault_error);
      if (!faults) {
        out.error = "--target testbed: " + fault_error;
        return out;
      }
    }
    if (state->entries.empty()) {
      out.error = "--target testbed: " + path + ": the state file lists no entries";
      return out;
    }
    if (!state->client_netns.empty() && !testbed::enter_netns(state->client_netns, &error)) {
      out.error = "--target testbed: " + error;
      return out;
    }
    for (const testbed::EntryPoint& ep : state->entries) {
      Entry e;
      e.name = ep.node.empty() ? ep.address : ep.node;
      if (!ep.http_url.empty() && !entry_from_url(ep.http_url, &e, &error)) {
        out.error = "--target testbed: entry " + e.name + ": " + error;
        return out;
      }
      if (!ep.https_url.empty() && !entry_from_url(ep.https_url, &e, &error)) {
        out.error = "--target testbed: entry " + e.name + ": " + error;
        return out;
      }
      plan.entries.push_back(std::move(e));
    }
    for (const std::string& s : state->not_emulated)
      notes.push_back("not emulated: " + s);
    metrics_urls.insert(metrics_urls.end(), state->admin_urls.begin(), state->admin_urls.end());
    notes.push_back("target: testbed (" + state->kube_proxy_mode + " kube-proxy, " +
                    std::to_string(state->entries.size()) + " entry nodes, client netns " +
                    state->client_netns + ")");
  } else {
    std::string error;
    const std::optional<ParsedUrl> u = parse_url(options.target, &error);
    if (!u) {
      out.error = "--target: " + error + " (give `testbed` or a URL)";
      return out;
    }
    Entry e;
    if (!entry_from_url(options.target, &e, &error)) {
      out.error = "--target: " + error;
      return out;
    }
    url_target = true;
    url_https = u->https;
    plan.entries.push_back(std::move(e));
    notes.push_back("target: " + options.target);
    if (sc.faults().events_size() > 0) {
      notes.push_back(
          "faults.events not injected: only --target testbed injects the scenario's "
          "faults (the target is a URL)");
    }
  }
  const scenario::Entry& entry = sc.entry();
  plan.single_entry = entry.node_selection() == scenario::Entry::SINGLE_NODE;

  // --- Workload -------------------------------------------------------------------------------
  plan.route_count = spec.routes.size();
  double total_rate = 0;
  for (const models::GroupSpec& g : spec.groups) {
    if (g.config->has_closed_loop()) {
      out.error = "workload.clients[" + g.name +
                  "]: closed-loop clients cannot be replayed open-loop; give the group an "
                  "open_loop rate";
      return out;
    }
    total_rate += g.config->open_loop().rate();
  }
  const double rate_scale = options.rps && total_rate > 0 ? *options.rps / total_rate : 1.0;
  if (options.rps && *options.rps <= 0) {
    out.error = "--rps must be > 0";
    return out;
  }
  const double duration_s = options.duration_s.value_or(seconds_of(sc.run().duration()));
  double warmup_s = 0;
  if (options.warmup_s) {
    warmup_s = *options.warmup_s;
  } else if (sc.run().warmup().has_fixed()) {
    warmup_s = seconds_of(sc.run().warmup().fixed());
  } else if (sc.run().warmup().has_mser5()) {
    notes.push_back("run.warmup mser5 is not applied to a replay: no warm-up (use --warmup)");
  }
  if (duration_s <= 0 || warmup_s < 0) {
    out.error = "duration must be > 0 and warm-up >= 0";
    return out;
  }
  plan.warmup_ns = static_cast<int64_t>(warmup_s * 1e9);
  plan.duration_ns = static_cast<int64_t>(duration_s * 1e9);
  plan.seed = options.seed.value_or(sc.run().seed());
  plan.bucket_ns = sc.outputs().time_series_bucket().seconds() * 1'000'000'000 +
                   sc.outputs().time_series_bucket().nanos();
  if (plan.bucket_ns <= 0) plan.bucket_ns = 1'000'000'000;
  plan.threads = options.threads;
  plan.max_connections = options.max_connections;
  const int64_t end_ns = plan.warmup_ns + plan.duration_ns;
  int64_t max_timeout_ns = 0;
  double rpc_sum = 0, resumption_sum = 0, tls_groups = 0;
  bool retries = false;
  uint32_t max_streams = UINT32_MAX;
  for (size_t gi = 0; gi < spec.groups.size(); ++gi) {
    const models::GroupSpec& g = spec.groups[gi];
    const scenario::ClientGroup& cfg = *g.config;
    const uint32_t first_class = static_cast<uint32_t>(plan.classes.size());
    for (const models::RequestClassSpec& c : g.classes) {
      plan.classes.push_back(
          {c.method.empty() ? "GET" : c.method, c.host, c.path.empty() ? "/" : c.path, c.route});
    }
    scenario::OpenLoop open_loop = cfg.open_loop();
    open_loop.set_rate(open_loop.rate() * rate_scale);
    std::string error;
    std::unique_ptr<models::ArrivalProcess> process =
        models::make_arrival_process(open_loop, g.replay.get(), &error);
    if (!process) {
      out.error = "workload.clients[" + g.name + "]: " + error;
      return out;
    }
    if (options.rps && open_loop.process() == scenario::OpenLoop::REPLAY) {
      notes.push_back("workload.clients[" + g.name +
                      "]: --rps does not rescale a replayed CSV (use open_loop.replay.speed)");
    }
    engine::Rng rng = engine::Rng::for_stream(plan.seed, 0, "replay.arrivals." + g.name);
    engine::Rng mix_rng = engine::Rng::for_stream(plan.seed, 0, "replay.mix." + g.name);
    const double tls_share = cfg.tls().share();
    const bool group_http2 = cfg.connections().http() == scenario::IngressController::HTTP2;
    if (group_http2) {
      max_streams = std::min(max_streams, cfg.connections().max_concurrent_streams());
    }
    // As the simulation does (models/chain.cc): the first gap from 0; at each arrival, its class
    // key (a replayed row's) is asked before the next gap.
    int64_t t = 0;
    engine::Duration gap = process->next_gap(engine::Time::zero(), rng);
    while (gap != engine::Duration::max()) {
      t += gap.ns();
      if (t >= end_ns) break;
      if (plan.arrivals.size() >= kMaxArrivals) {
        out.error = "the schedule has more than " + std::to_string(kMaxArrivals) +
                    " requests: lower --rps or --duration";
        return out;
      }
      const uint32_t key = process->arrival_key();
      gap = process->next_gap(engine::Time::from_ns(t), rng);
      Arrival a;
      a.t_ns = t;
      if (key != models::ReplayTrace::kFromMix && key < g.replay_class.size()) {
        a.cls = first_class + g.replay_class[key];
      } else {
        const double u = mix_rng.uniform01();
        const size_t k = static_cast<size_t>(
            std::lower_bound(g.class_cdf.begin(), g.class_cdf.end(), u) - g.class_cdf.begin());
        a.cls = first_class + static_cast<uint32_t>(std::min(k, g.class_cdf.size() - 1));
      }
      const double size = g.request_size ? g.request_size->sample(mix_rng) : 0;
      a.body_bytes = static_cast<uint32_t>(std::clamp(size, 0.0, 64.0 * 1024 * 1024));
      a.tls = url_target ? url_https : mix_rng.uniform01() < tls_share;
      a.http2 = group_http2;
      plan.arrivals.push_back(a);
    }
    const int64_t timeout = cfg.timeout().seconds() * 1'000'000'000 + cfg.timeout().nanos();
    max_timeout_ns = std::max(max_timeout_ns, timeout);
    rpc_sum += cfg.connections().requests_per_connection();
    if (tls_share > 0) {
      resumption_sum += cfg.tls().resumption_ratio();
      ++tls_groups;
    }
    retries |= cfg.retries() > 0;
    if (url_target && ((url_https && tls_share < 1) || (!url_https && tls_share > 0))) {
      notes.push_back("workload.clients[" + g.name + "].tls.share " +
                      std::to_string(static_cast<int>(std::lround(tls_share * 100))) +
                      "% not honoured: every connection uses the --target URL's scheme (" +
                      (url_https ? "https" : "http") + ")");
    }
  }
  std::stable_sort(plan.arrivals.begin(), plan.arrivals.end(),
                   [](const Arrival& a, const Arrival& b) { return a.t_ns < b.t_ns; });
  // One connection policy for the whole replay: the groups' mean.
  plan.requests_per_connection =
      std::max<uint32_t>(1, static_cast<uint32_t>(std::lround(rpc_sum / spec.groups.size())));
  plan.resumption_ratio = tls_groups > 0 ? resumption_sum / tls_groups : 0;
  plan.timeout_ns = max_timeout_ns;
  plan.drain_ns = static_cast<int64_t>(options.drain_s * 1e9);
  if (max_timeout_ns > 0) plan.drain_ns = std::min(plan.drain_ns, max_timeout_ns);
  if (spec.groups.size() > 1) {
    notes.push_back("client groups share one connection policy (" +
                    std::to_string(plan.requests_per_connection) + " requests per connection)");
  }
  if (max_streams != UINT32_MAX) plan.max_concurrent_streams = std::max<uint32_t>(1, max_streams);
  if (retries) notes.push_back("client retries (workload.clients[].retries) not emulated");
  // Entries without an address for the scheme a request needs.
  for (const Entry& e : plan.entries) {
    bool needs_tls = false, needs_plain = false;
    for (const Arrival& a : plan.arrivals) {
      (a.tls ? needs_tls : needs_plain) = true;
      if (needs_tls && needs_plain) break;
    }
    if ((needs_tls && e.https_addr_len == 0) || (needs_plain && e.http_addr_len == 0)) {
      out.error = "target " + e.name + " has no " + (needs_tls ? "https" : "http") +
                  " address, but the workload sends " + (needs_tls ? "TLS" : "plain HTTP") +
                  " requests";
      return out;
    }
  }

  // --- Run ------------------------------------------------------------------------------------
  // The proxies' counters are read when the warm-up ends and after the run, so the proxy hops
  // cover (about) the measured requests. The scraping thread shares this thread's namespace.
  std::vector<std::string> scrape_errors;
  std::vector<std::optional<std::vector<Sample>>> before;
  std::thread scraper([&] {
    std::this_thread::sleep_for(std::chrono::nanoseconds(plan.warmup_ns + 50'000'000));
    before = scrape_all(metrics_urls, &scrape_errors);
  });
  LoadStats stats;
  if (faults) plan.on_start = [&faults](int64_t start_ns) { faults->start(start_ns); };
  const std::string load_error = run_load(plan, &stats);
  scraper.join();
  if (faults) {
    faults->stop();
    for (const std::string& line : faults->log())
      notes.push_back("fault: " + line);
    if (faults->restarted_ingress()) {
      notes.push_back(
          "an ingress pod restarted during the run: its /metrics counters started again, so the "
          "proxy hops cover only what the other pods (and it, after its restart) served");
    }
  }
  if (!load_error.empty()) {
    out.error = load_error;
    return out;
  }
  const auto after = scrape_all(metrics_urls, &scrape_errors);
  for (const std::string& e : scrape_errors) {
    out.warnings.push_back("realproxy metrics: " + e + " (proxy hops left out)");
  }

  // --- Result ---------------------------------------------------------------------------------
  result::RunResult& rr = out.result;
  rr.set_scenario(sc.name());
  const double window_s = duration_s;
  auto* e2e = rr.mutable_end_to_end();
  models::fill_latency_ms(stats.end_to_end, e2e->mutable_latency_ms());
  e2e->set_requests(stats.completed);
  e2e->set_succeeded(stats.succeeded);
  e2e->set_throughput_rps(static_cast<double>(stats.succeeded) / window_s);
  e2e->set_offered_rps(static_cast<double>(stats.offered) / window_s);
  e2e->set_success_ratio(stats.completed > 0 ? static_cast<double>(stats.succeeded) /
                                                   static_cast<double>(stats.completed)
                                             : 0);
  // Hops: TLS from the client's side (round trips + the proxy's work, as the model's hop).
  if (stats.tls_handshake.count() > 0) {
    auto* hop = rr.add_hops();
    hop->set_name("ingress_tls");
    models::fill_latency_ms(stats.tls_handshake, hop->mutable_latency_ms());
    hop->set_requests(stats.tls_handshake.count());
  }
  // The proxy's own breakdown.
  const auto parse = phase_delta(before, after, "header_parse");
  const auto route = phase_delta(before, after, "route");
  const auto connect = phase_delta(before, after, "upstream_connect");
  const auto first_byte = phase_delta(before, after, "upstream_first_byte");
  bool proxy_hops = false;
  if (parse && route && parse->count > 0) {
    auto* hop = rr.add_hops();
    hop->set_name("ingress_proxy");
    fill_sum(*parse, *route, hop->mutable_latency_ms());
    hop->set_requests(static_cast<uint64_t>(std::llround(parse->count)));
    proxy_hops = true;
  }
  if (connect && connect->count > 0) {
    auto* hop = rr.add_hops();
    hop->set_name("upstream_connect");
    fill_latency(*connect, hop->mutable_latency_ms());
    hop->set_requests(static_cast<uint64_t>(std::llround(connect->count)));
    proxy_hops = true;
  }
  if (first_byte && first_byte->count > 0) {
    auto* hop = rr.add_hops();
    hop->set_name("pod");
    fill_latency(*first_byte, hop->mutable_latency_ms());
    hop->set_requests(static_cast<uint64_t>(std::llround(first_byte->count)));
    proxy_hops = true;
  }
  if (proxy_hops) {
    notes.push_back(
        "proxy hops from realproxy's /metrics (realproxy_request_phase_seconds, read at the end "
        "of the warm-up and after the run): ingress_proxy = header_parse + "
        "route (quantiles summed: an upper bound), upstream_connect = every request's endpoint "
        "choice + pooled or new connection, pod = upstream first byte (includes the pod network "
        "both ways); quantiles interpolated in Prometheus buckets");
  } else if (!metrics_urls.empty() && scrape_errors.empty()) {
    out.warnings.push_back(
        "realproxy metrics: no realproxy_request_phase_seconds histograms (proxy hops left out)");
  }
  for (size_t i = 0; i < spec.routes.size(); ++i) {
    auto* r = rr.add_routes();
    r->set_host(spec.routes[i].host);
    r->set_path(spec.routes[i].path);
    r->set_service(spec.routes[i].service);
    const RouteCounters& rc = stats.routes[i];
    models::fill_latency_ms(rc.latency, r->mutable_latency_ms());
    r->set_requests(rc.requests);
    r->set_success_ratio(
        rc.requests > 0 ? static_cast<double>(rc.succeeded) / static_cast<double>(rc.requests) : 0);
  }
  auto* errors = rr.mutable_errors();
  errors->set_timeout(stats.errors[kErrTimeout]);
  errors->set_refused(stats.errors[kErrRefused]);
  errors->set_http_503(stats.errors[kErr503]);
  errors->set_no_route(stats.errors[kErrNoRoute]);
  errors->set_upstream_timeout(stats.errors[kErr504]);
  if (stats.errors[kErrOtherStatus] > 0) {
    notes.push_back(std::to_string(stats.errors[kErrOtherStatus]) +
                    " failed requests with another HTTP status (not in errors by cause)");
  }
  if (stats.errors[kErrProtocol] > 0) {
    notes.push_back(std::to_string(stats.errors[kErrProtocol]) +
                    " failed requests with a malformed answer or a TLS failure (not in errors "
                    "by cause)");
  }
  auto* conn = rr.mutable_connections();
  conn->set_client_connections(stats.connections);
  conn->set_tls_full_handshakes(stats.tls_full);
  conn->set_tls_resumed_handshakes(stats.tls_resumed);
  const double bucket_s = static_cast<double>(plan.bucket_ns) * 1e-9;
  for (size_t b = 0; b < stats.series.size(); ++b) {
    const TimeBucket& tb = stats.series[b];
    auto* p = rr.add_time_series();
    p->set_t(static_cast<double>(b) * bucket_s);
    p->set_rps(static_cast<double>(tb.succeeded) / bucket_s);
    if (tb.latency.count() > 0) {
      p->set_p50_ms(static_cast<double>(tb.latency.quantile(0.5)) * 1e-6);
      p->set_p99_ms(static_cast<double>(tb.latency.quantile(0.99)) * 1e-6);
    }
    p->set_errors(tb.errors);
  }
  stats.end_to_end.for_each_bucket([&](const engine::LatencyHistogram::Bucket& b) {
    auto* hb = rr.add_latency_histogram();
    hb->set_upper_ms(static_cast<double>(b.upper_ns) * 1e-6);
    hb->set_count(b.count);
  });

  // The generator's own health.
  const double cpu_share = stats.wall_seconds > 0 ? stats.cpu_seconds / stats.wall_seconds : 0;
  const double lag_p99_ms = static_cast<double>(stats.send_lag.quantile(0.99)) * 1e-6;
  char buf[512];
  std::snprintf(buf, sizeof buf,
                "load generator: %d thread(s), %.2f CPU cores busy (%.0f%% of its threads), "
                "send lag p50 %.3f ms p99 %.3f ms, %llu connections opened, at most %llu open "
                "(limit %d)",
                plan.threads, cpu_share, 100.0 * cpu_share / plan.threads,
                static_cast<double>(stats.send_lag.quantile(0.5)) * 1e-6, lag_p99_ms,
                static_cast<unsigned long long>(stats.connections),
                static_cast<unsigned long long>(stats.peak_open), plan.max_connections);
  notes.push_back(buf);
  if (cpu_share / plan.threads > 0.85) {
    out.warnings.push_back(std::string("the load generator is saturated (") + buf +
                           "): add --threads, or its own delay inflates the latencies");
  } else if (lag_p99_ms > 5) {
    out.warnings.push_back(std::string("the load generator fell behind its schedule (") + buf +
                           "); latencies still count from the intended send times");
  }
  if (stats.connection_waits > 0) {
    out.warnings.push_back(std::to_string(stats.connection_waits) +
                           " requests waited for a free connection (the limit of " +
                           std::to_string(plan.max_connections) +
                           " was reached); that wait is in their latency: raise --connections");
  }
  if (stats.tls_resumption_offered > 0 && stats.tls_resumed < stats.tls_resumption_offered) {
    notes.push_back("TLS: " + std::to_string(stats.tls_resumption_offered) +
                    " connections offered a session, " + std::to_string(stats.tls_resumed) +
                    " resumed");
  }
  if (stats.unfinished > 0) {
    notes.push_back(std::to_string(stats.unfinished) +
                    " measured requests were still in flight when the drain period ended (not "
                    "counted)");
  }
  for (const std::string& e : stats.first_errors)
    notes.push_back("error seen: " + e);

  auto* info = rr.mutable_run();
  info->set_source("replay");
  info->set_replications(1);
  info->set_seed(plan.seed);
  info->set_duration_s(duration_s);
  info->set_warmup_s(warmup_s);
  info->set_events(stats.offered);
  info->set_wall_seconds(
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  for (const std::string& n : notes)
    info->add_notes(n);
  return out;
}

}  // namespace ingresslab::replay
