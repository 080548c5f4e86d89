// normalize_scenario and validate_scenario: each check, with the exact field path it reports and
// a piece of its message; and that a valid scenario passes clean.
#include "scenarios/validate.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "scenarios/ingress_convert.h"
#include "scenarios/loader.h"
#include "scenarios/proto/options.pb.h"
#include "scenarios/yaml_reader.h"

namespace ingresslab::scenarios {
namespace {

namespace pb = google::protobuf;
using Assignments = std::vector<std::pair<std::string, std::string>>;

// A complete, valid scenario; tests change one thing at a time.
constexpr const char* kValid = R"(name: cafe
cluster:
  nodes:
    - {name: node, count: 3, cores: 8}
services:
  - name: coffee-svc
    ports: [{name: http, port: 80, target_port: 8080}]
    deployment: {replicas: 2}
    pod: {cpu_cores: 1, service_time: {lognormal: {mean: 5ms, p99: 40ms}}}
  - name: tea-svc
    ports: [{name: http, port: 80}]
    deployment: {replicas: 3}
routing:
  ingresses:
    - metadata: {name: cafe-ingress}
      spec:
        tls: [{hosts: [cafe.example.com], secretName: tls-secret}]
        rules:
          - host: cafe.example.com
            http:
              paths:
                - path: /tea
                  pathType: Prefix
                  backend: {service: {name: tea-svc, port: {number: 80}}}
                - path: /coffee
                  pathType: Prefix
                  backend: {service: {name: coffee-svc, port: {name: http}}}
workload:
  clients:
    - open_loop: {rate: 1000/s}
run: {duration: 30s, warmup: {fixed: 5s}}
)";

LoadedScenario load(const std::string& yaml) {
  LoadedScenario loaded = load_scenario_text(yaml, Format::kYaml, "test.yaml", ".");
  EXPECT_TRUE(loaded.ok()) << loaded.diagnostics.to_string();
  return loaded;
}

ResolvedScenario resolve(const std::string& yaml, const Assignments& set = {}) {
  return resolve_scenario(load(yaml), "", set);
}

// kValid with `from` replaced by `to` (which must occur exactly once).
std::string edit(const std::string& from, const std::string& to) {
  std::string text = kValid;
  const size_t at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  EXPECT_EQ(text.find(from, at + 1), std::string::npos) << from << " occurs twice";
  if (at != std::string::npos) text.replace(at, from.size(), to);
  return text;
}

const Diagnostic* find(const Diagnostics& d, const std::string& path, const std::string& text,
                       Diagnostic::Severity severity = Diagnostic::Severity::kError) {
  for (const Diagnostic& item : d.items()) {
    if (item.severity == severity && item.field_path == path &&
        item.message.find(text) != std::string::npos) {
      return &item;
    }
  }
  return nullptr;
}

#define EXPECT_DIAG(diagnostics, path, text)                                           \
  EXPECT_NE(find((diagnostics), (path), (text)), nullptr)                              \
      << "expected an error at " << (path) << " containing '" << (text) << "'; got:\n" \
      << (diagnostics).to_string()

#define EXPECT_WARNING(diagnostics, path, text)                                           \
  EXPECT_NE(find((diagnostics), (path), (text), Diagnostic::Severity::kWarning), nullptr) \
      << "expected a warning at " << (path) << " containing '" << (text) << "'; got:\n"   \
      << (diagnostics).to_string()

#define EXPECT_CLEAN(diagnostics) \
  EXPECT_TRUE((diagnostics).items().empty()) << (diagnostics).to_string()

// --- a valid scenario ----------------------------------------------------------------------------

TEST(ValidateTest, ValidScenarioHasNoDiagnostics) {
  const ResolvedScenario r = resolve(kValid);
  EXPECT_CLEAN(r.diagnostics);
  EXPECT_TRUE(r.ok());
}

TEST(ValidateTest, MinimalScenarioIsValid) {
  // Everything left to defaults but what has none: a Service, an Ingress, a client group.
  const ResolvedScenario r = resolve(R"(
services: [{name: web, ports: [{port: 80}]}]
routing:
  ingresses:
    - metadata: {name: web}
      spec: {defaultBackend: {service: {name: web, port: {number: 80}}}}
workload: {clients: [{closed_loop: {users: 10}}]}
)");
  EXPECT_CLEAN(r.diagnostics);
}

// --- normalize_scenario --------------------------------------------------------------------------

// entry.node_ports: in the NodePort range, and two different ports for one Service.
TEST(ValidateTest, NodePortsInRangeAndDistinct) {
  const ResolvedScenario same =
      resolve(kValid, {{"entry.node_ports.http", "31000"}, {"entry.node_ports.https", "31000"}});
  EXPECT_DIAG(same.diagnostics, "entry.node_ports.https", "must differ from entry.node_ports.http");
  const ResolvedScenario low = resolve(kValid, {{"entry.node_ports.http", "8080"}});
  EXPECT_DIAG(low.diagnostics, "entry.node_ports.http", "30000");
  const ResolvedScenario fine = resolve(kValid, {{"entry.node_ports.https", "32767"}});
  EXPECT_TRUE(fine.ok()) << fine.diagnostics.to_string();
  EXPECT_EQ(fine.scenario.entry().node_ports().http(), 30080u);  // the default
}

TEST(NormalizeTest, DefaultNodesAndZone) {
  const ResolvedScenario r = resolve(R"(
services: [{name: web, ports: [{port: 80}]}]
routing: {ingresses: [{metadata: {name: w}, spec: {defaultBackend: {service: {name: web, port: {number: 80}}}}}]}
workload: {clients: [{open_loop: {rate: 10}}]}
)");
  const auto& c = r.scenario.cluster();
  ASSERT_EQ(c.nodes_size(), 3);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(c.nodes(i).name(), "node-" + std::to_string(i + 1));
    EXPECT_EQ(c.nodes(i).cores(), 4);
    EXPECT_EQ(c.nodes(i).zone(), "zone-a");
  }
  ASSERT_EQ(c.zones_size(), 1);
  EXPECT_EQ(c.zones(0).name(), "zone-a");
  EXPECT_EQ(r.scenario.workload().clients(0).name(), "clients-0");
  EXPECT_EQ(r.scenario.workload().clients(0).zone(), "zone-a");
}

TEST(NormalizeTest, CountExpansionAndZones) {
  const ResolvedScenario r = resolve(edit("    - {name: node, count: 3, cores: 8}\n",
                                          "    - {name: a, count: 2, cores: 8, zone: east}\n"
                                          "    - {name: b, count: 1, cores: 8}\n"
                                          "    - {name: c, cores: 8, zone: west}\n"));
  EXPECT_TRUE(r.ok()) << r.diagnostics.to_string();
  const auto& c = r.scenario.cluster();
  std::vector<std::string> names, zones;
  for (const auto& n : c.nodes()) {
    names.push_back(n.name());
    zones.push_back(n.zone());
    EXPECT_FALSE(n.has_count()) << n.name();
  }
  EXPECT_EQ(names, (std::vector<std::string>{"a-1", "a-2", "b", "c"}));
  // Zones not listed: the ones nodes name, in order; a node without one gets the first.
  EXPECT_EQ(zones, (std::vector<std::string>{"east", "east", "east", "west"}));
  ASSERT_EQ(c.zones_size(), 2);
  EXPECT_EQ(c.zones(0).name(), "east");
  EXPECT_EQ(c.zones(1).name(), "west");
}

TEST(NormalizeTest, ListedZonesAndFirstZoneDefault) {
  const ResolvedScenario r = resolve(edit("  nodes:\n    - {name: node, count: 3, cores: 8}\n",
                                          "  zones: [{name: z1}, {name: z2}]\n"
                                          "  nodes:\n    - {name: node, count: 2, cores: 8}\n"
                                          "    - {name: other, cores: 8, zone: z2}\n"));
  EXPECT_TRUE(r.ok()) << r.diagnostics.to_string();
  EXPECT_EQ(r.scenario.cluster().nodes(0).zone(), "z1");
  EXPECT_EQ(r.scenario.cluster().nodes(2).zone(), "z2");
}

TEST(NormalizeTest, NameFromFileStem) {
  scenario::Scenario s;
  normalize_scenario(&s, "dir/sub/my-cafe.yaml");
  EXPECT_EQ(s.name(), "my-cafe");
  scenario::Scenario named;
  named.set_name("kept");
  normalize_scenario(&named, "dir/other.yaml");
  EXPECT_EQ(named.name(), "kept");
}

TEST(NormalizeTest, WorkersFromCpuCores) {
  EXPECT_EQ(resolve(kValid).scenario.ingress().workers(), 2u);  // cpu_cores default 2
  EXPECT_EQ(resolve(kValid, {{"ingress.cpu_cores", "2500m"}}).scenario.ingress().workers(), 3u);
  EXPECT_EQ(resolve(kValid, {{"ingress.cpu_cores", "500m"}}).scenario.ingress().workers(), 1u);
  EXPECT_EQ(resolve(kValid, {{"ingress.workers", "7"}}).scenario.ingress().workers(), 7u);
}

TEST(NormalizeTest, RetryConditionsDefault) {
  const auto on = [](const ResolvedScenario& r) {
    return std::vector<int>(r.scenario.ingress().retries().on().begin(),
                            r.scenario.ingress().retries().on().end());
  };
  EXPECT_TRUE(on(resolve(kValid)).empty());  // no retries, no conditions
  EXPECT_EQ(on(resolve(kValid, {{"ingress.retries.attempts", "2"}})),
            (std::vector<int>{scenario::Retries::CONNECT_FAILURE, scenario::Retries::TIMEOUT}));
  EXPECT_EQ(on(resolve(kValid,
                       {{"ingress.retries.attempts", "2"}, {"ingress.retries.on", "[http_503]"}})),
            (std::vector<int>{scenario::Retries::HTTP_503}));
}

TEST(NormalizeTest, TargetPortDefaultsToPort) {
  const ResolvedScenario r = resolve(kValid);
  EXPECT_EQ(r.scenario.services(0).ports(0).target_port(), 8080u);
  EXPECT_EQ(r.scenario.services(1).ports(0).target_port(), 80u);
}

TEST(NormalizeTest, DefaultMixOnePerRulePath) {
  const ResolvedScenario r = resolve(kValid);
  ASSERT_TRUE(r.ok()) << r.diagnostics.to_string();
  const auto& mix = r.scenario.workload().clients(0).mix();
  ASSERT_EQ(mix.size(), 2);
  EXPECT_EQ(mix[0].host(), "cafe.example.com");
  EXPECT_EQ(mix[0].path(), "/tea");
  EXPECT_EQ(mix[1].path(), "/coffee");
  for (const auto& rc : mix) {
    EXPECT_EQ(rc.method(), "GET");
    EXPECT_EQ(rc.weight(), 1);
  }
}

TEST(NormalizeTest, DefaultMixHostsForHostlessAndWildcardRules) {
  const ResolvedScenario r = resolve(R"(
services: [{name: web, ports: [{port: 80}]}]
routing:
  ingresses:
    - metadata: {name: a}
      spec:
        tls: [{hosts: [secure.example.org]}]
        rules:
          - http: {paths: [{path: /any, pathType: Exact, backend: {service: {name: web, port: {number: 80}}}}]}
          - host: "*.shop.example.com"
            http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}]}
    - metadata: {name: b}
      spec:
        rules:
          - http: {paths: [{path: /b, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}]}
workload: {clients: [{open_loop: {rate: 10}}]}
)");
  EXPECT_CLEAN(r.diagnostics);
  const auto& mix = r.scenario.workload().clients(0).mix();
  ASSERT_EQ(mix.size(), 3);
  EXPECT_EQ(mix[0].host(), "secure.example.org");  // the Ingress's TLS host, not "*"
  EXPECT_EQ(mix[0].path(), "/any");
  EXPECT_EQ(mix[1].host(), "www.shop.example.com");
  EXPECT_EQ(mix[2].host(), "example.com");
  EXPECT_EQ(mix[2].path(), "/b");
}

TEST(NormalizeTest, MixHostDefaultsToFirstIngressHost) {
  const ResolvedScenario r =
      resolve(edit("    - open_loop: {rate: 1000/s}\n",
                   "    - open_loop: {rate: 1000/s}\n      mix: [{path: /tea}, {path: /coffee, "
                   "host: other.example.com, weight: 2}]\n"));
  const auto& mix = r.scenario.workload().clients(0).mix();
  ASSERT_EQ(mix.size(), 2);
  EXPECT_EQ(mix[0].host(), "cafe.example.com");
  EXPECT_EQ(mix[1].host(), "other.example.com");
  // other.example.com has no rule: those requests will 404.
  EXPECT_WARNING(r.diagnostics, "workload.clients[0].mix[1]", "will get 404");
  EXPECT_TRUE(r.ok());
}

TEST(NormalizeTest, Idempotent) {
  for (const std::string& text : {std::string(kValid), edit("count: 3", "count: 4"),
                                  edit("- {name: node, count: 3, cores: 8}", "")}) {
    LoadedScenario loaded = load_scenario_text(text, Format::kYaml, "x.yaml", ".");
    scenario::Scenario once = loaded.scenario;
    apply_defaults(&once);
    normalize_scenario(&once, "x.yaml");
    scenario::Scenario twice = once;
    normalize_scenario(&twice, "x.yaml");
    std::string diff;
    pb::util::MessageDifferencer differencer;
    differencer.ReportDifferencesToString(&diff);
    EXPECT_TRUE(differencer.Compare(once, twice)) << diff;
  }
}

TEST(NormalizeTest, InvalidCountsStayForValidation) {
  const ResolvedScenario r = resolve(edit("count: 3", "count: 0"));
  EXPECT_DIAG(r.diagnostics, "cluster.nodes[0].count", "must be in [1, 10000] (got 0)");
  const ResolvedScenario big = resolve(edit("count: 3", "count: 4000000000"));
  EXPECT_DIAG(big.diagnostics, "cluster.nodes[0].count", "must be in [1, 10000]");
  // Many valid counts that add up to too many nodes.
  std::string nodes;
  for (int i = 0; i < 11; ++i)
    nodes += "    - {name: n" + std::to_string(i) + ", count: 10000}\n";
  const ResolvedScenario many = resolve(edit("    - {name: node, count: 3, cores: 8}\n", nodes));
  EXPECT_DIAG(many.diagnostics, "cluster.nodes[0].count", "more than 100000 nodes");
}

// --- (valid_range): every documented range is enforced ------------------------------------------

struct RangeField {
  const pb::FieldDescriptor* field;
  std::string path;  // from Scenario, with [0] for repeated fields
};

// Every field with a (valid_range) reachable from Scenario, with one path to it.
std::vector<RangeField> ranged_fields() {
  std::vector<RangeField> out;
  std::set<const pb::Descriptor*> visited;
  std::vector<std::pair<const pb::Descriptor*, std::string>> queue = {
      {scenario::Scenario::descriptor(), ""}};
  for (size_t q = 0; q < queue.size(); ++q) {
    const auto [d, path] = queue[q];
    if (!visited.insert(d).second) continue;
    for (int i = 0; i < d->field_count(); ++i) {
      const pb::FieldDescriptor* f = d->field(i);
      if (f->is_map()) continue;
      const std::string p =
          (path.empty() ? "" : path + ".") + f->name() + (f->is_repeated() ? "[0]" : "");
      if (f->options().HasExtension(scenario::valid_range)) out.push_back({f, p});
      if (f->message_type() != nullptr) queue.emplace_back(f->message_type(), p);
    }
  }
  return out;
}

// Walks `path` in `m`, creating messages and first list elements as needed; returns the message
// holding the last component.
pb::Message* reach(pb::Message* m, const std::string& path, const pb::FieldDescriptor** last) {
  size_t start = 0;
  for (;;) {
    const size_t dot = path.find('.', start);
    std::string part =
        path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    const bool indexed = part.ends_with("[0]");
    if (indexed) part.resize(part.size() - 3);
    const pb::FieldDescriptor* f = m->GetDescriptor()->FindFieldByName(part);
    if (dot == std::string::npos) {
      *last = f;
      return m;
    }
    const pb::Reflection* r = m->GetReflection();
    if (indexed) {
      m = r->FieldSize(*m, f) > 0 ? r->MutableRepeatedMessage(m, f, 0) : r->AddMessage(m, f);
    } else {
      m = r->MutableMessage(m, f);
    }
    start = dot + 1;
  }
}

void set_number(pb::Message* m, const pb::FieldDescriptor* f, double v) {
  const pb::Reflection* r = m->GetReflection();
  switch (f->cpp_type()) {
    case pb::FieldDescriptor::CPPTYPE_DOUBLE:
      r->SetDouble(m, f, v);
      break;
    case pb::FieldDescriptor::CPPTYPE_UINT32:
      r->SetUInt32(m, f, static_cast<uint32_t>(v));
      break;
    case pb::FieldDescriptor::CPPTYPE_UINT64:
      r->SetUInt64(m, f, static_cast<uint64_t>(v));
      break;
    case pb::FieldDescriptor::CPPTYPE_INT32:
      r->SetInt32(m, f, static_cast<int32_t>(v));
      break;
    default:
      FAIL() << "unexpected type of " << f->full_name();
  }
}

// Values that break the range `text` of a field of type `f` (none if the type cannot break it,
// like an unsigned `>= 0`).
std::vector<double> violations(const std::string& text, const pb::FieldDescriptor* f) {
  const bool is_unsigned = f->cpp_type() == pb::FieldDescriptor::CPPTYPE_UINT32 ||
                           f->cpp_type() == pb::FieldDescriptor::CPPTYPE_UINT64;
  std::vector<double> out;
  const auto add = [&](double v) {
    if (!(is_unsigned && v < 0)) out.push_back(v);
  };
  double lo = 0, hi = 0;
  char open = 0, close = 0;
  if (std::sscanf(text.c_str(), "%c%lf, %lf%c", &open, &lo, &hi, &close) == 4 &&
      (open == '[' || open == '(')) {
    add(open == '(' ? lo : lo - 1);
    add(close == ')' ? hi : hi + 1);
  } else if (std::sscanf(text.c_str(), ">= %lf", &lo) == 1) {
    add(lo - 1);
  } else if (std::sscanf(text.c_str(), "> %lf", &lo) == 1) {
    add(lo - 1);
    if (lo != 0) add(lo);
  } else {
    ADD_FAILURE() << "test cannot read valid_range '" << text << "' of " << f->full_name();
  }
  return out;
}

TEST(RangeTest, EveryDocumentedRangeIsEnforced) {
  const ResolvedScenario base = resolve(kValid);
  ASSERT_TRUE(base.ok()) << base.diagnostics.to_string();
  const std::vector<RangeField> fields = ranged_fields();
  ASSERT_GE(fields.size(), 40u);  // a guard against the walk finding nothing
  int checked = 0;
  std::set<std::string> covered;
  for (const RangeField& rf : fields) {
    const std::string text = rf.field->options().GetExtension(scenario::valid_range);
    std::vector<std::function<void(scenario::Scenario*, const pb::FieldDescriptor**)>> breakers;
    if (text.find("mean") != std::string::npos || text.find("min") != std::string::npos) {
      // Relative to a sibling: `p99 > mean`, `max >= min`.
      const std::string sibling = text.substr(text.find_first_of("mn"));
      breakers.push_back([&, sibling](scenario::Scenario* s, const pb::FieldDescriptor** f) {
        pb::Message* m = reach(s, rf.path, f);
        set_number(m, m->GetDescriptor()->FindFieldByName(sibling), 0.005);
        set_number(m, *f, 0.002);
      });
    } else {
      for (double v : violations(text.substr(0, text.find(" (")), rf.field)) {
        // Zero stands for "derive it" here: workers = ceil(cpu_cores), target_port = port.
        if (v == 0 && (rf.path == "ingress.workers" || rf.path.ends_with(".target_port"))) continue;
        breakers.push_back([&, v](scenario::Scenario* s, const pb::FieldDescriptor** f) {
          pb::Message* m = reach(s, rf.path, f);
          set_number(m, *f, v);
        });
      }
    }
    for (const auto& breaker : breakers) {
      scenario::Scenario s = base.scenario;
      const pb::FieldDescriptor* f = nullptr;
      breaker(&s, &f);
      if (rf.path.find("lognormal.sigma") != std::string::npos) {
        // The mu/sigma parameterisation is checked only when it is the one in use.
        auto* l = s.mutable_services(0)->mutable_pod()->mutable_service_time()->mutable_lognormal();
        l->set_mean(0);
        l->set_p99(0);
      }
      Diagnostics d;
      validate_scenario(s, SourceMap{}, &d);
      EXPECT_NE(find(d, rf.path, "must be "), nullptr)
          << rf.field->full_name() << " (" << text << ") at " << rf.path << ":\n"
          << d.to_string();
      ++checked;
      covered.insert(rf.field->full_name());
    }
  }
  // Only unsigned `>= 0` ranges cannot be broken.
  for (const RangeField& rf : fields) {
    const std::string text = rf.field->options().GetExtension(scenario::valid_range);
    if (!covered.count(rf.field->full_name())) {
      EXPECT_TRUE(text == ">= 0" && rf.field->cpp_type() != pb::FieldDescriptor::CPPTYPE_DOUBLE)
          << rf.field->full_name() << " (" << text << ") was not tested";
    }
  }
  EXPECT_GE(checked, 50);
}

TEST(RangeTest, MessagesUseUnits) {
  const ResolvedScenario r = resolve(kValid, {{"workload.clients[0].tls.share", "150%"},
                                              {"cluster.network.node_bandwidth", "-1Gbps"},
                                              {"services[0].ports[0].port", "70000"},
                                              {"workload.clients[0].open_loop.rate", "-5/s"}});
  EXPECT_DIAG(r.diagnostics, "workload.clients[0].tls.share", "must be in [0%, 100%] (got 150%)");
  EXPECT_DIAG(r.diagnostics, "cluster.network.node_bandwidth", "must be > 0 (got -1000000000bps)");
  EXPECT_DIAG(r.diagnostics, "services[0].ports[0].port", "must be in [1, 65535] (got 70000)");
  EXPECT_DIAG(r.diagnostics, "workload.clients[0].open_loop.rate", "must be > 0 (got -5/s)");
}

TEST(RangeTest, ReplayNeedsNoRateButACsv) {
  const ResolvedScenario ok = resolve(
      edit("open_loop: {rate: 1000/s}", "open_loop: {process: replay, replay: {csv: log.csv}}"));
  EXPECT_CLEAN(ok.diagnostics);
  const ResolvedScenario missing =
      resolve(edit("open_loop: {rate: 1000/s}", "open_loop: {process: replay}"));
  EXPECT_DIAG(missing.diagnostics, "workload.clients[0].open_loop.replay.csv", "required");
  const ResolvedScenario poisson = resolve(edit("open_loop: {rate: 1000/s}", "open_loop: {}"));
  EXPECT_DIAG(poisson.diagnostics, "workload.clients[0].open_loop.rate", "must be > 0 (got 0/s)");
}

// A number written as 0 is kept: the fields with a non-zero default track presence.
TEST(RangeTest, WrittenZeroIsKeptNotReplacedByTheDefault) {
  // cores: 0 is a range error, not the default of 4 cores.
  const ResolvedScenario cores = resolve(edit("count: 3, cores: 8", "count: 3, cores: 0"));
  EXPECT_DIAG(cores.diagnostics, "cluster.nodes[0].cores", "must be > 0 (got 0)");
  EXPECT_DIAG(resolve(kValid, {{"ingress.cpu_cores", "0"}}).diagnostics, "ingress.cpu_cores",
              "must be > 0 (got 0)");
  // share: 0% is valid (no connection uses TLS), as are a zero cross-zone price and ejection cap.
  const ResolvedScenario zeros = resolve(
      edit("open_loop: {rate: 1000/s}", "open_loop: {rate: 1000/s}\n      tls: {share: 0%}"),
      {{"cluster.network.cross_zone_cost_per_gib", "0"},
       {"ingress.outlier_detection.max_ejection_percent", "0%"}});
  EXPECT_CLEAN(zeros.diagnostics);
  EXPECT_EQ(zeros.scenario.workload().clients(0).tls().share(), 0.0);
  EXPECT_EQ(zeros.scenario.workload().clients(0).tls().resumption_ratio(), 0.5);  // left out
  EXPECT_EQ(zeros.scenario.cluster().network().cross_zone_cost_per_gib(), 0.0);
  EXPECT_EQ(zeros.scenario.ingress().outlier_detection().max_ejection_percent(), 0.0);
  // Left out, they take their defaults.
  const ResolvedScenario base = resolve(kValid);
  EXPECT_EQ(base.scenario.workload().clients(0).tls().share(), 1.0);
  EXPECT_EQ(base.scenario.ingress().cpu_cores(), 2.0);
  EXPECT_EQ(base.scenario.ingress().outlier_detection().max_ejection_percent(), 0.5);
}

// The schema rule behind it: a plain proto3 number cannot tell 0 from "not written", so every
// number (or bool) with a non-zero (default_value) must be `optional`.
TEST(RangeTest, EveryNonZeroDefaultFieldTracksPresence) {
  const pb::FileDescriptor* file = scenario::Scenario::descriptor()->file();
  std::vector<const pb::Descriptor*> messages;
  for (int i = 0; i < file->message_type_count(); ++i)
    messages.push_back(file->message_type(i));
  int checked = 0;
  for (size_t m = 0; m < messages.size(); ++m) {
    for (int i = 0; i < messages[m]->nested_type_count(); ++i)
      messages.push_back(messages[m]->nested_type(i));
    for (int i = 0; i < messages[m]->field_count(); ++i) {
      const pb::FieldDescriptor* f = messages[m]->field(i);
      if (f->is_repeated() || !f->options().HasExtension(scenario::default_value)) continue;
      const std::string value = f->options().GetExtension(scenario::default_value);
      const auto type = f->cpp_type();
      if (type == pb::FieldDescriptor::CPPTYPE_MESSAGE ||
          type == pb::FieldDescriptor::CPPTYPE_ENUM ||
          type == pb::FieldDescriptor::CPPTYPE_STRING || value == "0" || value == "false") {
        continue;
      }
      EXPECT_TRUE(f->has_presence())
          << f->full_name() << " (default " << value << ") must be `optional` in scenario.proto";
      ++checked;
    }
  }
  EXPECT_GE(checked, 20);
}

TEST(RangeTest, NegativeDurations) {
  const ResolvedScenario r = resolve(kValid, {{"cluster.network.same_zone_latency", "-5ms"}});
  EXPECT_DIAG(r.diagnostics, "cluster.network.same_zone_latency", "must be >= 0 (got -5ms)");
}

// --- names ---------------------------------------------------------------------------------------

TEST(NamesTest, DuplicateNodesZonesServicesClients) {
  const ResolvedScenario r = resolve(R"(
cluster:
  zones: [{name: z}, {name: z}]
  nodes: [{name: n, zone: z}, {name: n, zone: z}, {name: m, count: 2}, {name: m-2}]
services:
  - {name: web, ports: [{port: 80}]}
  - {name: web, ports: [{port: 80}]}
  - {name: web, namespace: other, ports: [{port: 80}]}
routing:
  ingresses: [{metadata: {name: w}, spec: {defaultBackend: {service: {name: web, port: {number: 80}}}}}]
workload:
  clients: [{name: c, open_loop: {rate: 1}}, {name: c, open_loop: {rate: 1}}]
)");
  EXPECT_DIAG(r.diagnostics, "cluster.zones[1].name", "duplicate zone name 'z'");
  EXPECT_DIAG(r.diagnostics, "cluster.nodes[1].name", "duplicate node name 'n'");
  // m x2 expands to m-1, m-2, which collides with the node written as m-2.
  EXPECT_DIAG(r.diagnostics, "cluster.nodes[4].name", "duplicate node name 'm-2'");
  EXPECT_DIAG(r.diagnostics, "services[1].name", "duplicate Service 'web' in namespace 'default'");
  EXPECT_EQ(find(r.diagnostics, "services[2].name", "duplicate"), nullptr);  // other namespace
  EXPECT_DIAG(r.diagnostics, "workload.clients[1].name", "duplicate client group name 'c'");
}

TEST(NamesTest, RequiredAndInvalidNames) {
  const ResolvedScenario r =
      resolve(kValid, {{"services[0].name", "Coffee_Svc"}, {"cluster.nodes[0].name", "\"\""}});
  EXPECT_DIAG(r.diagnostics, "services[0].name", "invalid Service name 'Coffee_Svc'");
  EXPECT_DIAG(r.diagnostics, "cluster.nodes[0].name", "required");
}

TEST(NamesTest, Variants) {
  // Checked as the file is loaded: resolve_scenario() drops the variants.
  const LoadedScenario loaded = load_scenario_text(std::string(kValid) + R"(variants:
  - {name: ipvs, set: {cluster.kube_proxy.mode: ipvs}}
  - {name: ipvs, set: {cluster.kube_proxy.mode: nftables}}
  - {set: {ingress.replicas: "3"}}
)",
                                                   Format::kYaml, "test.yaml", ".");
  EXPECT_FALSE(loaded.ok());
  const Diagnostics& d = loaded.diagnostics;
  EXPECT_DIAG(d, "variants[1].name", "duplicate variant name 'ipvs'");
  EXPECT_DIAG(d, "variants[2].name", "required");
  EXPECT_EQ(d.items()[0].position.line, 34);  // where variants[1] is written
}

TEST(NamesTest, PortsOfAService) {
  const ResolvedScenario r =
      resolve(edit("    ports: [{name: http, port: 80}]\n",
                   "    ports: [{name: http, port: 80}, {port: 81}, {name: http, port: 80}]\n"));
  EXPECT_DIAG(r.diagnostics, "services[1].ports[1].name", "several ports must name each one");
  EXPECT_DIAG(r.diagnostics, "services[1].ports[2].name", "duplicate port name 'http'");
  EXPECT_DIAG(r.diagnostics, "services[1].ports[2].port", "duplicate port 80");
}

// --- references ----------------------------------------------------------------------------------

TEST(ReferencesTest, NodesAndZones) {
  const ResolvedScenario r =
      resolve(edit("  nodes:\n    - {name: node, count: 3, cores: 8}\n",
                   "  zones: [{name: z1}]\n"
                   "  nodes:\n    - {name: node, count: 3, cores: 8, zone: z9}\n"
                   "  network:\n    links: [{from: node-1, to: z1, latency: 1ms}, {from: nope, to: "
                   "node-2}]\n"),
              {{"entry.nodes", "[node-1, node-7]"},
               {"ingress.placement.nodes", "[ghost]"},
               {"services[0].deployment.placement.nodes", "[node-2, phantom]"},
               {"workload.clients[0].zone", "mars"}});
  EXPECT_DIAG(r.diagnostics, "cluster.nodes[0].zone", "no zone named 'z9' (zones: z1)");
  EXPECT_DIAG(r.diagnostics, "cluster.network.links[1].from", "no node or zone named 'nope'");
  EXPECT_EQ(find(r.diagnostics, "cluster.network.links[0].to", ""), nullptr);
  EXPECT_DIAG(r.diagnostics, "entry.nodes[1]", "no node named 'node-7'");
  EXPECT_DIAG(r.diagnostics, "ingress.placement.nodes[0]", "no node named 'ghost'");
  EXPECT_DIAG(r.diagnostics, "services[0].deployment.placement.nodes[1]",
              "no node named 'phantom' (nodes: node-1, node-2, node-3)");
  EXPECT_DIAG(r.diagnostics, "workload.clients[0].zone", "no zone named 'mars'");
}

TEST(ReferencesTest, Faults) {
  const ResolvedScenario r = resolve(std::string(kValid) + R"(faults:
  events:
    - {at: 10s, kill_pod: {service: coffee-svc, pod: 1}}
    - {at: 10s, kill_pod: {service: coffee-svc, pod: 2}}
    - {at: 10s, slow_pod: {service: milk-svc, pod: 0, factor: 2}}
    - {at: 10s, kill_pod: {service: ingress, pod: 2}}
    - {at: 10s, kill_node: {node: node-9}}
    - {at: 10s, link_latency: {from: node-1, to: moon, added: 1ms}}
    - {at: 10s}
    - {at: 1h, kill_pod: {service: default/tea-svc, pod: 2}}
)");
  EXPECT_EQ(find(r.diagnostics, "faults.events[0].kill_pod.pod", ""), nullptr);
  EXPECT_DIAG(r.diagnostics, "faults.events[1].kill_pod.pod",
              "no pod 2: Service 'coffee-svc' has 2 pods");
  EXPECT_DIAG(r.diagnostics, "faults.events[2].slow_pod.service", "no Service named 'milk-svc'");
  EXPECT_DIAG(r.diagnostics, "faults.events[3].kill_pod.pod", "the ingress controller has 2 pods");
  EXPECT_DIAG(r.diagnostics, "faults.events[4].kill_node.node", "no node named 'node-9'");
  EXPECT_DIAG(r.diagnostics, "faults.events[5].link_latency.to", "no node or zone named 'moon'");
  EXPECT_DIAG(r.diagnostics, "faults.events[6]", "set one of kill_pod");
  EXPECT_WARNING(r.diagnostics, "faults.events[7].at", "after the end of the run (35s)");
  EXPECT_EQ(find(r.diagnostics, "faults.events[7].kill_pod.pod", ""), nullptr);
}

TEST(ReferencesTest, IngressBackendToMissingService) {
  const ResolvedScenario r =
      resolve(edit("name: tea-svc, port: {number: 80}", "name: milk-svc, port: {number: 80}"));
  const Diagnostic* d =
      find(r.diagnostics, "routing.ingresses[0].spec.rules[0].http.paths[0].backend.service.name",
           "no Service named 'milk-svc' in namespace 'default' (Services: coffee-svc, tea-svc)");
  ASSERT_NE(d, nullptr) << r.diagnostics.to_string();
  EXPECT_EQ(d->position.line, 24);  // the `backend:` line of that path
}

TEST(ReferencesTest, IngressBackendPorts) {
  const ResolvedScenario r =
      resolve(edit("name: tea-svc, port: {number: 80}", "name: tea-svc, port: {number: 8080}"),
              {{"services[0].ports[0].name", "web"}});
  EXPECT_DIAG(r.diagnostics,
              "routing.ingresses[0].spec.rules[0].http.paths[0].backend.service.port.number",
              "Service 'tea-svc' has no port 8080 (its ports: 80 (http))");
  EXPECT_DIAG(r.diagnostics,
              "routing.ingresses[0].spec.rules[0].http.paths[1].backend.service.port.name",
              "Service 'coffee-svc' has no port named 'http' (its ports: 80 (web))");
}

TEST(ReferencesTest, IngressBackendInAnotherNamespace) {
  const ResolvedScenario r = resolve(kValid, {{"services[1].namespace", "shop"}});
  EXPECT_DIAG(r.diagnostics,
              "routing.ingresses[0].spec.rules[0].http.paths[0].backend.service.name",
              "there is one in namespace 'shop'");
}

TEST(ReferencesTest, IngressOfAnotherClassOnlyWarns) {
  const ResolvedScenario r =
      resolve(edit("      spec:\n        tls:",
                   "      spec:\n        ingressClassName: other\n        tls:"),
              {{"ingress.ingress_class", "nginx"},
               {"routing.ingresses[0].spec.rules[0].http.paths[0].backend.service.name", "gone"}});
  EXPECT_WARNING(r.diagnostics,
                 "routing.ingresses[0].spec.rules[0].http.paths[0].backend.service.name",
                 "not served by this controller");
  EXPECT_WARNING(r.diagnostics, "ingress.ingress_class", "no Ingress object is of class 'nginx'");
}

// --- distributions -------------------------------------------------------------------------------

TEST(DistributionTest, LognormalP99MustExceedMean) {
  const ResolvedScenario r = resolve(edit("{mean: 5ms, p99: 40ms}", "{mean: 5ms, p99: 2ms}"));
  EXPECT_DIAG(r.diagnostics, "services[0].pod.service_time.lognormal.p99",
              "must be > mean (got 2ms <= 5ms)");
  EXPECT_EQ(r.diagnostics.error_count(), 1u) << r.diagnostics.to_string();
}

TEST(DistributionTest, LognormalP99AtMost15TimesMean) {
  const ResolvedScenario r = resolve(edit("{mean: 5ms, p99: 40ms}", "{mean: 5ms, p99: 100ms}"));
  EXPECT_DIAG(r.diagnostics, "services[0].pod.service_time.lognormal.p99",
              "must be <= 14.9685 x mean (got 100ms = 20 x 5ms)");
}

TEST(DistributionTest, LognormalParameterisations) {
  EXPECT_CLEAN(resolve(edit("{mean: 5ms, p99: 40ms}", "{mu: -5, sigma: 0.5}")).diagnostics);
  EXPECT_DIAG(
      resolve(edit("{mean: 5ms, p99: 40ms}", "{mean: 5ms, p99: 40ms, sigma: 1}")).diagnostics,
      "services[0].pod.service_time.lognormal", "not both");
  EXPECT_DIAG(resolve(edit("{mean: 5ms, p99: 40ms}", "{}")).diagnostics,
              "services[0].pod.service_time.lognormal", "give mean and p99");
  EXPECT_DIAG(resolve(edit("{mean: 5ms, p99: 40ms}", "{mu: 1, sigma: -1}")).diagnostics,
              "services[0].pod.service_time.lognormal.sigma", "must be > 0 (got -1)");
}

TEST(DistributionTest, Hyperexponential) {
  const std::string base = "{lognormal: {mean: 5ms, p99: 40ms}}";
  EXPECT_CLEAN(resolve(edit(base,
                            "{hyperexponential: {phases: [{probability: 90%, mean: 1ms}, "
                            "{probability: 0.1, mean: 50ms}]}}"))
                   .diagnostics);
  const ResolvedScenario r =
      resolve(edit(base,
                   "{hyperexponential: {phases: [{probability: 0.5, mean: 1ms}, "
                   "{probability: 0.45, mean: 50ms}]}}"));
  EXPECT_DIAG(r.diagnostics, "services[0].pod.service_time.hyperexponential.phases",
              "probabilities must sum to 1 (got 95%)");
  EXPECT_DIAG(resolve(edit(base, "{hyperexponential: {phases: [{probability: 0, mean: 1ms}]}}"))
                  .diagnostics,
              "services[0].pod.service_time.hyperexponential.phases[0].probability",
              "must be in (0%, 100%]");
  EXPECT_DIAG(resolve(edit(base, "{hyperexponential: {}}")).diagnostics,
              "services[0].pod.service_time.hyperexponential.phases", "at least one phase");
}

TEST(DistributionTest, MixtureAndEmpirical) {
  const std::string base = "{lognormal: {mean: 5ms, p99: 40ms}}";
  EXPECT_CLEAN(resolve(edit(base,
                            "{mixture: {components: [{weight: 3, distribution: 1ms}, "
                            "{weight: 1, distribution: {exponential: {mean: 20ms}}}]}}"))
                   .diagnostics);
  EXPECT_DIAG(
      resolve(edit(base, "{mixture: {components: [{weight: 0, distribution: 1ms}]}}")).diagnostics,
      "services[0].pod.service_time.mixture.components[0].weight", "must be > 0 (got 0)");
  EXPECT_DIAG(resolve(edit(base, "{mixture: {components: [{weight: 1}]}}")).diagnostics,
              "services[0].pod.service_time.mixture.components[0].distribution", "required");
  EXPECT_DIAG(resolve(edit(base,
                           "{mixture: {components: [{weight: 1, distribution: {exponential: "
                           "{mean: -1ms}}}]}}"))
                  .diagnostics,
              "services[0].pod.service_time.mixture.components[0].distribution.exponential.mean",
              "must be > 0 (got -1ms)");
  EXPECT_CLEAN(
      resolve(edit(base, "{empirical: {edges: [0, 1ms, 5ms], counts: [10, 1]}}")).diagnostics);
  EXPECT_DIAG(
      resolve(edit(base, "{empirical: {edges: [0, 5ms, 1ms], counts: [10, 1]}}")).diagnostics,
      "services[0].pod.service_time.empirical.edges", "strictly increasing");
  EXPECT_DIAG(
      resolve(edit(base, "{empirical: {edges: [0, 1ms, 5ms], counts: [10, -1]}}")).diagnostics,
      "services[0].pod.service_time.empirical.counts", "must be >= 0");
  EXPECT_DIAG(resolve(edit(base, "{empirical: {samples: [1ms], csv: x.csv}}")).diagnostics,
              "services[0].pod.service_time.empirical", "exactly one of");
  EXPECT_DIAG(resolve(edit(base, "{empirical: {samples: [1ms, -2ms]}}")).diagnostics,
              "services[0].pod.service_time.empirical.samples[1]", "must be >= 0 (got -2ms)");
}

TEST(DistributionTest, KindAndNegativeConstants) {
  const std::string base = "{lognormal: {mean: 5ms, p99: 40ms}}";
  EXPECT_DIAG(resolve(edit(base, "{}")).diagnostics, "services[0].pod.service_time",
              "a distribution needs exactly one kind");
  EXPECT_DIAG(resolve(edit(base, "-3ms")).diagnostics, "services[0].pod.service_time.constant",
              "must be >= 0 (got -3ms)");
  EXPECT_DIAG(
      resolve(kValid, {{"services[1].pod.response_size", "{uniform: {min: 2KiB, max: 1KiB}}"}})
          .diagnostics,
      "services[1].pod.response_size.uniform.max", "must be >= min (got 1KiB < 2KiB)");
  EXPECT_DIAG(
      resolve(kValid, {{"services[1].pod.service_time", "{erlang: {mean: 1ms}}"}}).diagnostics,
      "services[1].pod.service_time.erlang.k", "must be >= 1 (got 0)");
}

// --- workload ------------------------------------------------------------------------------------

TEST(WorkloadTest, ClientGroups) {
  EXPECT_DIAG(
      resolve(edit("workload:\n  clients:\n    - open_loop: {rate: 1000/s}\n", "")).diagnostics,
      "workload.clients", "at least one client group");
  EXPECT_DIAG(resolve(edit("- open_loop: {rate: 1000/s}", "- name: idle")).diagnostics,
              "workload.clients[0]", "set open_loop (a request rate) or closed_loop");
  EXPECT_DIAG(resolve(edit("- open_loop: {rate: 1000/s}", "- closed_loop: {}")).diagnostics,
              "workload.clients[0].closed_loop.users", "must be in [1, 10000000] (got 0)");
  EXPECT_DIAG(resolve(kValid, {{"workload.clients[0].mix", "[{path: tea}]"}}).diagnostics,
              "workload.clients[0].mix[0].path", "must start with '/'");
}

TEST(WorkloadTest, OnOffAndDiurnal) {
  EXPECT_CLEAN(
      resolve(edit("open_loop: {rate: 1000/s}", "open_loop: {rate: 1000/s, process: on_off}"))
          .diagnostics);
  const ResolvedScenario r =
      resolve(edit("open_loop: {rate: 1000/s}",
                   "open_loop: {rate: 1000/s, process: diurnal, diurnal: {period: 1h, "
                   "points: [{at: 0s, factor: 1}, {at: 0s, factor: 2}, {at: 2h, factor: 1}]}}"));
  EXPECT_DIAG(r.diagnostics, "workload.clients[0].open_loop.diurnal.points[1].at",
              "after the previous point");
  EXPECT_DIAG(r.diagnostics, "workload.clients[0].open_loop.diurnal.points[2].at",
              "must be < period");
  EXPECT_DIAG(
      resolve(edit("open_loop: {rate: 1000/s}", "open_loop: {rate: 1000/s, process: diurnal}"))
          .diagnostics,
      "workload.clients[0].open_loop.diurnal.points", "required");
}

// --- placement and ingress controller -----------------------------------------------------------

TEST(PlacementTest, PodBiggerThanEveryNode) {
  const ResolvedScenario r = resolve(kValid, {{"services[0].pod.cpu_cores", "9"}});
  EXPECT_DIAG(r.diagnostics, "services[0].pod.cpu_cores",
              "a pod requests 9 cores, more than any node it may run on has (largest: 'node-1' "
              "with 8 cores)");
}

TEST(PlacementTest, ReplicasThatDoNotFit) {
  // 3 nodes x 8 cores; ingress 2 x 2 on node-1, node-2; coffee 2 x 1; tea 30 x 1 round robin.
  const ResolvedScenario r = resolve(kValid, {{"services[1].deployment.replicas", "30"}});
  EXPECT_DIAG(
      r.diagnostics, "services[1].deployment.replicas",
      "the pods do not fit: node 'node-1' would need 13 cores (ingress 1 x 2, coffee-svc 1 x 1, "
      "tea-svc 10 x 1) but has 8");
  // PACKED puts every pod on the first node.
  const ResolvedScenario packed =
      resolve(kValid, {{"services[0].deployment.replicas", "7"},
                       {"services[0].deployment.placement.spread", "packed"}});
  EXPECT_DIAG(packed.diagnostics, "services[0].deployment.replicas",
              "node 'node-1' would need 9 cores");
  // A DaemonSet runs one pod per node.
  const ResolvedScenario daemonset =
      resolve(kValid, {{"ingress.kind", "daemonset"}, {"ingress.cpu_cores", "7"}});
  EXPECT_DIAG(daemonset.diagnostics, "services[1].deployment.replicas",
              "node 'node-1' would need 9 cores (ingress 1 x 7, coffee-svc 1 x 1, tea-svc 1 x 1)");
}

TEST(PlacementTest, ZoneBalanced) {
  const ResolvedScenario r = resolve(
      edit("    - {name: node, count: 3, cores: 8}\n",
           "    - {name: a, count: 2, cores: 2, zone: za}\n    - {name: b, cores: 3, zone: zb}\n"),
      {{"services[1].deployment.placement.spread", "zone_balanced"},
       {"services[1].deployment.replicas", "4"},
       {"ingress.replicas", "1"},
       {"ingress.cpu_cores", "1"},
       {"services[0].deployment.replicas", "1"}});
  // Pods 0,2 -> za (a-1, a-2), pods 1,3 -> zb (b): b needs 2 of 3 cores; a-1 ingress+coffee+tea=3.
  EXPECT_DIAG(r.diagnostics, "services[1].deployment.replicas", "node 'a-1' would need 3 cores");
  EXPECT_EQ(r.diagnostics.error_count(), 1u) << r.diagnostics.to_string();
}

TEST(IngressControllerTest, CpuLimitBelowRequest) {
  EXPECT_DIAG(resolve(kValid, {{"ingress.cpu_limit_cores", "1500m"}}).diagnostics,
              "ingress.cpu_limit_cores", "must be >= cpu_cores (2), or 0 for no limit (got 1.5)");
  EXPECT_CLEAN(resolve(kValid, {{"ingress.cpu_limit_cores", "2"}}).diagnostics);
}

TEST(IngressControllerTest, HashKeyAndEntryWarnings) {
  EXPECT_DIAG(resolve(kValid, {{"ingress.load_balancing.algorithm", "consistent_hash"},
                               {"ingress.load_balancing.hash_on", "header"}})
                  .diagnostics,
              "ingress.load_balancing.hash_key", "required");
  const ResolvedScenario r = resolve(kValid, {{"entry.kind", "host_network"},
                                              {"entry.external_traffic_policy", "local"},
                                              {"entry.nodes", "[node-3]"}});
  EXPECT_WARNING(r.diagnostics, "entry.external_traffic_policy",
                 "has no effect with kind host_network");
  EXPECT_WARNING(r.diagnostics, "entry.nodes[0]", "node 'node-3' runs no ingress pod");
  EXPECT_TRUE(r.ok());
}

TEST(RunTest, DurationAndWarmup) {
  EXPECT_DIAG(resolve(edit("warmup: {fixed: 5s}", "warmup: {fixed: 30s}")).diagnostics,
              "run.warmup.fixed", "must be < run.duration (got 30s >= 30s)");
  EXPECT_DIAG(resolve(edit("duration: 30s", "duration: 0s")).diagnostics, "run.duration",
              "must be > 0 (got 0s)");
}

// --- Ingress objects, through the routing validator ---------------------------------------------

constexpr const char* kPath0 = "routing.ingresses[0].spec.rules[0].http.paths[0]";

TEST(IngressTest, PathTypeRequired) {
  const ResolvedScenario r =
      resolve(edit("path: /tea\n                  pathType: Prefix\n", "path: /tea\n"));
  const Diagnostic* d =
      find(r.diagnostics, std::string(kPath0) + ".path_type", "pathType must be specified");
  ASSERT_NE(d, nullptr) << r.diagnostics.to_string();
  EXPECT_EQ(d->position.line, 22);  // the path entry (pathType itself is not written)
}

TEST(IngressTest, UnknownPathType) {
  EXPECT_DIAG(resolve(edit("pathType: Prefix\n                  backend: {service: {name: tea-svc",
                           "pathType: prefix\n                  backend: {service: {name: tea-svc"))
                  .diagnostics,
              std::string(kPath0) + ".path_type", "Unsupported value: \"prefix\"");
}

TEST(IngressTest, HostsAndPaths) {
  const ResolvedScenario r =
      resolve(kValid, {{"routing.ingresses[0].spec.rules[0].host", "\"*\""},
                       {"routing.ingresses[0].spec.rules[0].http.paths[0].path", "/a//b"},
                       {"routing.ingresses[0].spec.rules[0].http.paths[1].path", "coffee"}});
  EXPECT_DIAG(r.diagnostics, "routing.ingresses[0].spec.rules[0].host", "Invalid value: \"*\"");
  EXPECT_DIAG(r.diagnostics, std::string(kPath0) + ".path", "must not contain '//'");
  EXPECT_DIAG(r.diagnostics, "routing.ingresses[0].spec.rules[0].http.paths[1].path",
              "must be an absolute path");
}

TEST(IngressTest, ObjectLevelProblems) {
  const ResolvedScenario r = resolve(
      kValid,
      {{"routing.ingresses[0].metadata.creation_timestamp", "yesterday"},
       {"routing.ingresses[0].spec.rules[0].http.paths[1].backend.service.port.number", "80"},
       {"routing.ingresses[0].spec.tls[0].secret_name", "Bad_Secret"},
       {"routing.ingresses[0].kind", "Service"}});
  EXPECT_DIAG(r.diagnostics, "routing.ingresses[0].metadata.creation_timestamp",
              "must be an RFC 3339 time");
  EXPECT_DIAG(r.diagnostics,
              "routing.ingresses[0].spec.rules[0].http.paths[1].backend.service.port",
              "cannot set both port name & port number");
  EXPECT_DIAG(r.diagnostics, "routing.ingresses[0].spec.tls[0].secret_name",
              "Invalid value: \"Bad_Secret\"");
  EXPECT_DIAG(r.diagnostics, "routing.ingresses[0].kind", "must be Ingress");
  // All at once.
  EXPECT_GE(r.diagnostics.error_count(), 4u);
}

TEST(IngressTest, DuplicatesAndConflicts) {
  const ResolvedScenario r = resolve(edit("workload:\n", R"(    - metadata: {name: cafe-ingress}
      spec: {defaultBackend: {service: {name: tea-svc, port: {number: 80}}}}
    - metadata: {name: more}
      spec:
        rules:
          - host: cafe.example.com
            http: {paths: [{path: /tea, pathType: Prefix, backend: {service: {name: coffee-svc, port: {number: 80}}}}]}
workload:
)"));
  EXPECT_DIAG(r.diagnostics, "routing.ingresses[1].metadata.name",
              "duplicate Ingress 'default/cafe-ingress'");
  // The conflicting path of the newer object is a warning from the route compiler.
  EXPECT_WARNING(r.diagnostics, "routing.ingresses[2].spec.rules[0].http.paths[0]",
                 "this path has no effect");
}

TEST(IngressTest, NoIngressAtAll) {
  const ResolvedScenario r = resolve(R"(
services: [{name: web, ports: [{port: 80}]}]
workload: {clients: [{open_loop: {rate: 10}}]}
)");
  EXPECT_DIAG(r.diagnostics, "routing.ingresses", "no Ingress objects");
  EXPECT_GT(r.diagnostics.items()[0].position.line, 0);  // the start of the document
}

TEST(IngressTest, IngressClasses) {
  const ResolvedScenario r = resolve(edit("workload:\n", R"(  ingress_classes:
    - metadata: {name: nginx, annotations: {ingressclass.kubernetes.io/is-default-class: "true"}}
    - metadata: {name: other, annotations: {ingressclass.kubernetes.io/is-default-class: "true"}}
    - metadata: {name: nginx}
workload:
)"));
  EXPECT_DIAG(r.diagnostics,
              "routing.ingress_classes[1].metadata.annotations[ingressclass.kubernetes.io/"
              "is-default-class]",
              "more than one IngressClass is marked as default");
  EXPECT_DIAG(r.diagnostics, "routing.ingress_classes[2].metadata.name",
              "duplicate IngressClass 'nginx'");
}

TEST(IngressTest, DefaultClassIsServed) {
  // The controller serves class nginx; the Ingress has no class, and nginx is the default.
  const ResolvedScenario r = resolve(edit("workload:\n", R"(  ingress_classes:
    - metadata: {name: nginx, annotations: {ingressclass.kubernetes.io/is-default-class: "true"}}
workload:
)"),
                                     {{"ingress.ingress_class", "nginx"}});
  EXPECT_CLEAN(r.diagnostics);
  const routing::CompileOptions options = compile_options_for(r.scenario);
  ASSERT_TRUE(options.ingress_class.has_value());
  EXPECT_TRUE(options.accept_ingresses_without_class);
}

// --- ingress_convert -----------------------------------------------------------------------------

TEST(IngressConvertTest, Fields) {
  const ResolvedScenario r = resolve(kValid, {{"routing.ingresses[0].metadata.creation_timestamp",
                                               "2024-05-01T14:00:00.5+02:00"}});
  ASSERT_TRUE(r.ok()) << r.diagnostics.to_string();
  std::vector<routing::Diagnostic> problems;
  const routing::IngressObject o =
      to_ingress_object(r.scenario.routing().ingresses(0), 7, &problems);
  EXPECT_TRUE(problems.empty());
  EXPECT_EQ(o.name, "cafe-ingress");
  EXPECT_EQ(o.namespace_, "default");
  EXPECT_EQ(o.creation_timestamp, 1714564800);  // 2024-05-01T12:00:00Z
  EXPECT_FALSE(o.ingress_class_name.has_value());
  ASSERT_EQ(o.rules.size(), 1u);
  ASSERT_TRUE(o.rules[0].http.has_value());
  ASSERT_EQ(o.rules[0].http->paths.size(), 2u);
  EXPECT_EQ(o.rules[0].http->paths[0].path_type, routing::PathType::kPrefix);
  EXPECT_EQ(o.rules[0].http->paths[0].backend.service->port, routing::ServicePort(int32_t{80}));
  EXPECT_EQ(o.rules[0].http->paths[1].backend.service->port,
            routing::ServicePort(std::string("http")));
  ASSERT_EQ(o.tls.size(), 1u);
  EXPECT_EQ(o.tls[0].secret_name, "tls-secret");
  // Without a timestamp: file order.
  scenario::Ingress undated = r.scenario.routing().ingresses(0);
  undated.mutable_metadata()->clear_creation_timestamp();
  EXPECT_EQ(to_ingress_object(undated, 7, nullptr).creation_timestamp, 7);
}

TEST(IngressConvertTest, LegacyClassAnnotation) {
  scenario::Ingress ing;
  ing.mutable_metadata()->set_name("x");
  (*ing.mutable_metadata()->mutable_annotations())["kubernetes.io/ingress.class"] = "nginx";
  std::vector<routing::Diagnostic> problems;
  EXPECT_EQ(to_ingress_object(ing, 0, &problems).ingress_class_name,
            std::optional<std::string>("nginx"));
  EXPECT_TRUE(problems.empty());
  ing.mutable_spec()->set_ingress_class_name("haproxy");
  to_ingress_object(ing, 0, &problems);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].field, "metadata.annotations[kubernetes.io/ingress.class]");
}

TEST(IngressConvertTest, FieldPaths) {
  EXPECT_EQ(scenario_field_path(2, "spec.rules[0].http.paths[1].pathType"),
            "routing.ingresses[2].spec.rules[0].http.paths[1].path_type");
  EXPECT_EQ(scenario_field_path(0, "spec.defaultBackend.service.port.number"),
            "routing.ingresses[0].spec.default_backend.service.port.number");
  EXPECT_EQ(scenario_field_path(1, "metadata.annotations[kubernetes.io/ingress.Class]"),
            "routing.ingresses[1].metadata.annotations[kubernetes.io/ingress.Class]");
}

TEST(IngressConvertTest, Rfc3339) {
  int64_t t = 0;
  EXPECT_TRUE(parse_rfc3339("1970-01-01T00:00:00Z", &t));
  EXPECT_EQ(t, 0);
  EXPECT_TRUE(parse_rfc3339("2000-02-29T23:59:59-01:00", &t));
  EXPECT_EQ(t, 951872399);  // 2000-03-01T00:59:59Z
  for (const char* bad : {"", "2024-02-30T00:00:00Z", "2023-02-29T00:00:00Z",
                          "2024-01-01 00:00:00Z", "2024-01-01T00:00:00", "2024-01-01T00:00:00Zjunk",
                          "2024-1-01T00:00:00Z", "2024-01-01T24:00:00Z", "2024-01-01T00:00:00.Z"}) {
    EXPECT_FALSE(parse_rfc3339(bad, &t)) << bad;
  }
}

// --- positions and completeness -----------------------------------------------------------------

TEST(DiagnosticsTest, EveryProblemReportedWithItsLine) {
  const ResolvedScenario r = resolve(edit("count: 3, cores: 8", "count: 3, cores: -8"));
  ASSERT_FALSE(r.ok());
  const Diagnostic* d = find(r.diagnostics, "cluster.nodes[0].cores", "must be > 0 (got -8)");
  ASSERT_NE(d, nullptr) << r.diagnostics.to_string();
  EXPECT_EQ(d->position.line, 4);
  EXPECT_EQ(d->file, "test.yaml");
  EXPECT_NE(d->to_string().find("test.yaml:4:"), std::string::npos) << d->to_string();
}

TEST(DiagnosticsTest, ManyProblemsAtOnce) {
  const ResolvedScenario r =
      resolve(kValid, {{"services[0].pod.cpu_cores", "-1"},
                       {"workload.clients[0].tls.resumption_ratio", "2"},
                       {"ingress.replicas", "0"},
                       {"run.replications", "0"},
                       {"routing.ingresses[0].spec.rules[0].host", "\"*\""}});
  EXPECT_DIAG(r.diagnostics, "services[0].pod.cpu_cores", "must be > 0");
  EXPECT_DIAG(r.diagnostics, "workload.clients[0].tls.resumption_ratio", "must be in [0%, 100%]");
  EXPECT_DIAG(r.diagnostics, "ingress.replicas", "must be in [1, 10000] (got 0)");
  EXPECT_DIAG(r.diagnostics, "run.replications", "must be in [1, 1000] (got 0)");
  EXPECT_DIAG(r.diagnostics, "routing.ingresses[0].spec.rules[0].host", "Invalid value");
}

}  // namespace
}  // namespace ingresslab::scenarios
