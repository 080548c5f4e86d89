// Google Benchmark suite for realproxy/routing: the cost of RouteTable::match as the number of
// hosts (1, 10, 100, 1000) and of paths per host (1, 10, 100) grows, plus compile cost and SNI
// lookup. These are the numbers `realproxy calibrate` and the proxy cost model care about
// ("route" cost vs rule count).
//
// Run: build/bin/routing_bench --benchmark_filter=BM_Match
#include <benchmark/benchmark.h>

#include <cstdint>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "realproxy/routing/route_table.h"

namespace {

using namespace ingresslab::routing;

std::string host_name(int64_t i) {
  return "host" + std::to_string(i) + ".example.com";
}

// `hosts` Ingress objects, one per host, each with `paths` rules: "/svc<j>/api" alternately
// Prefix and Exact, plus a "/" Prefix catch-all, and one TLS entry for the host.
std::vector<IngressObject> make_objects(int64_t hosts, int64_t paths) {
  std::vector<IngressObject> objects;
  objects.reserve(static_cast<size_t>(hosts));
  for (int64_t h = 0; h < hosts; ++h) {
    IngressObject object;
    object.namespace_ = "bench";
    object.name = "ing" + std::to_string(h);
    object.creation_timestamp = h;
    IngressRule rule{host_name(h), HttpIngressRuleValue{}};
    rule.http->paths.push_back(
        HttpIngressPath{"/", PathType::kPrefix, IngressBackend{ServiceBackend{"root", 80}, {}}});
    for (int64_t p = 0; p < paths; ++p) {
      const PathType type = p % 2 == 0 ? PathType::kPrefix : PathType::kExact;
      rule.http->paths.push_back(
          HttpIngressPath{"/svc" + std::to_string(p) + "/api", type,
                          IngressBackend{ServiceBackend{"svc" + std::to_string(p), 8080}, {}}});
    }
    object.rules.push_back(std::move(rule));
    object.tls.push_back(IngressTls{{host_name(h)}, "cert" + std::to_string(h)});
    objects.push_back(std::move(object));
  }
  return objects;
}

struct Request {
  std::string host;
  std::string path;
};

// Requests spread uniformly over hosts and paths: Host headers with a port, paths below a rule
// (Prefix hits), exactly a rule (Exact hits) and with a query string.
std::vector<Request> make_requests(int64_t hosts, int64_t paths) {
  std::mt19937_64 rng(42);
  std::uniform_int_distribution<int64_t> pick_host(0, hosts - 1);
  std::uniform_int_distribution<int64_t> pick_path(0, paths - 1);
  std::vector<Request> requests;
  for (int i = 0; i < 4096; ++i) {
    const int64_t p = pick_path(rng);
    std::string path = "/svc" + std::to_string(p) + "/api";
    if (p % 2 == 0) path += "/v1/items/12345";
    if (i % 4 == 0) path += "?page=2&sort=name";
    requests.push_back(Request{host_name(pick_host(rng)) + ":443", std::move(path)});
  }
  return requests;
}

void BM_Match(benchmark::State& state) {
  const int64_t hosts = state.range(0);
  const int64_t paths = state.range(1);
  const CompileResult compiled = compile(make_objects(hosts, paths), {});
  const RouteTable& table = *compiled.table;
  const std::vector<Request> requests = make_requests(hosts, paths);
  size_t i = 0;
  for (auto _ : state) {
    const Request& request = requests[i++ & (requests.size() - 1)];
    MatchResult match = table.match(request.host, request.path);
    benchmark::DoNotOptimize(match);
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["routes"] = static_cast<double>(table.routes().size());
}
BENCHMARK(BM_Match)->ArgsProduct({{1, 10, 100, 1000}, {1, 10, 100}})->ArgNames({"hosts", "paths"});

// Unknown host: the hash lookup misses, then the default backend answers.
void BM_MatchUnknownHost(benchmark::State& state) {
  std::vector<IngressObject> objects = make_objects(state.range(0), 10);
  objects[0].default_backend = IngressBackend{ServiceBackend{"default", 80}, {}};
  const CompileResult compiled = compile(objects, {});
  for (auto _ : state) {
    MatchResult match = compiled.table->match("unknown.example.org", "/svc1/api");
    benchmark::DoNotOptimize(match);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_MatchUnknownHost)->Arg(1)->Arg(1000)->ArgName("hosts");

void BM_TlsForSni(benchmark::State& state) {
  const int64_t hosts = state.range(0);
  const CompileResult compiled = compile(make_objects(hosts, 1), {});
  std::vector<std::string> names;
  for (int64_t h = 0; h < 1024; ++h)
    names.push_back(host_name(h % hosts));
  size_t i = 0;
  for (auto _ : state) {
    const TlsEntry* entry = compiled.table->tls_for_sni(names[i++ & 1023]);
    benchmark::DoNotOptimize(entry);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_TlsForSni)->Arg(1)->Arg(1000)->ArgName("hosts");

// Building a table (what a hot reload costs), per route.
void BM_Compile(benchmark::State& state) {
  const std::vector<IngressObject> objects = make_objects(state.range(0), state.range(1));
  for (auto _ : state) {
    CompileResult compiled = compile(objects, {});
    benchmark::DoNotOptimize(compiled);
  }
  state.SetItemsProcessed(state.iterations() * state.range(0) * (state.range(1) + 1));
}
BENCHMARK(BM_Compile)
    ->ArgsProduct({{10, 1000}, {10, 100}})
    ->ArgNames({"hosts", "paths"})
    ->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
