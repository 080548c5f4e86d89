#include "scenarios/validate.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/duration.pb.h>
#include <google/protobuf/reflection.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string_view>
#include <utility>

#include "realproxy/routing/names.h"
#include "realproxy/routing/route_table.h"
#include "realproxy/routing/validation.h"
#include "scenarios/distribution.h"
#include "scenarios/ingress_convert.h"
#include "scenarios/placement.h"
#include "scenarios/proto/options.pb.h"
#include "scenarios/units.h"

namespace ingresslab::scenarios {
namespace {

namespace pb = google::protobuf;
using FD = pb::FieldDescriptor;
using scenario::Unit;

// Node.count expansion stops here: a typo (`count: 1000000` on many entries) must be an error,
// not an out-of-memory.
constexpr size_t kMaxNodes = 100'000;
constexpr int kDefaultNodeCount = 3;
constexpr double kDefaultNodeCores = 4;
constexpr const char* kDefaultZone = "zone-a";
constexpr const char* kIngressFaultTarget = "ingress";
// The controller may use at most this many workers (IngressController.workers valid_range).
constexpr double kMaxWorkers = 1024;
// Diagnostics shown per validate_scenario() call.
constexpr size_t kMaxDiagnostics = 200;

// ---------------------------------------------------------------------------------------------
// Formatting

double to_seconds(const pb::Duration& d) {
  return static_cast<double>(d.seconds()) + static_cast<double>(d.nanos()) * 1e-9;
}

std::string in_quotes(std::string_view s) {
  return "'" + std::string(s) + "'";
}

// "1 core", "2.5 cores".
std::string cores(double n) {
  return format_number(n) + (n == 1 ? " core" : " cores");
}

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// "a, b, c" (at most `limit` names, then "…").
std::string name_list(const std::vector<std::string>& names, size_t limit = 8) {
  std::string out;
  for (size_t i = 0; i < names.size() && i < limit; ++i)
    out += (i ? ", " : "") + names[i];
  if (names.size() > limit) out += ", …";
  return out;
}

std::string index_path(const std::string& base, int i) {
  return base + "[" + std::to_string(i) + "]";
}

// ---------------------------------------------------------------------------------------------
// (valid_range) strings: "> 0", ">= 1", "[0, 1]", "(0, 1]", "[1, 65535]", ">= min", "> mean",
// "> 0 (except REPLAY)".

struct ValidRange {
  bool has_lower = false;
  bool lower_open = false;  // '>' or '('
  double lower = 0;
  std::string lower_field;  // a sibling field instead of a number ("min", "mean")
  bool has_upper = false;
  bool upper_open = false;  // ')'
  double upper = 0;
  std::string except;  // the check does not apply when an enum field of the message has this value
};

std::string_view trim(std::string_view s) {
  while (!s.empty() && s.front() == ' ')
    s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ')
    s.remove_suffix(1);
  return s;
}

bool parse_bound(std::string_view text, double* value) {
  const Parsed p = parse_number(trim(text));
  *value = p.value;
  return p.ok();
}

std::optional<ValidRange> parse_valid_range(std::string_view text) {
  ValidRange r;
  text = trim(text);
  if (const size_t paren = text.find(" (");
      paren != std::string_view::npos && text.ends_with(')')) {
    std::string_view note = text.substr(paren + 2, text.size() - paren - 3);
    if (!note.starts_with("except ")) return std::nullopt;
    r.except = std::string(trim(note.substr(7)));
    text = trim(text.substr(0, paren));
  }
  if (text.starts_with(">=") || text.starts_with(">")) {
    r.has_lower = true;
    r.lower_open = !text.starts_with(">=");
    const std::string_view bound = trim(text.substr(r.lower_open ? 1 : 2));
    if (bound.empty()) return std::nullopt;
    if (std::isalpha(static_cast<unsigned char>(bound.front()))) {
      r.lower_field = std::string(bound);
    } else if (!parse_bound(bound, &r.lower)) {
      return std::nullopt;
    }
    return r;
  }
  if ((text.starts_with('[') || text.starts_with('(')) &&
      (text.ends_with(']') || text.ends_with(')'))) {
    const size_t comma = text.find(',');
    if (comma == std::string_view::npos) return std::nullopt;
    r.has_lower = r.has_upper = true;
    r.lower_open = text.front() == '(';
    r.upper_open = text.back() == ')';
    if (!parse_bound(text.substr(1, comma - 1), &r.lower) ||
        !parse_bound(text.substr(comma + 1, text.size() - comma - 2), &r.upper)) {
      return std::nullopt;
    }
    return r;
  }
  return std::nullopt;
}

// The value of a singular numeric field as a double.
std::optional<double> numeric_value(const pb::Message& m, const FD* f) {
  const pb::Reflection* r = m.GetReflection();
  switch (f->cpp_type()) {
    case FD::CPPTYPE_DOUBLE:
      return r->GetDouble(m, f);
    case FD::CPPTYPE_FLOAT:
      return r->GetFloat(m, f);
    case FD::CPPTYPE_INT32:
      return r->GetInt32(m, f);
    case FD::CPPTYPE_INT64:
      return static_cast<double>(r->GetInt64(m, f));
    case FD::CPPTYPE_UINT32:
      return r->GetUInt32(m, f);
    case FD::CPPTYPE_UINT64:
      return static_cast<double>(r->GetUInt64(m, f));
    default:
      return std::nullopt;
  }
}

Unit field_unit(const FD* f, Unit context) {
  const Unit u = f->options().GetExtension(scenario::unit);
  return u == scenario::FROM_CONTEXT ? context : u;
}

// Whether any enum field of `m` currently holds the value named `value_name`.
bool has_enum_value(const pb::Message& m, const std::string& value_name) {
  const pb::Descriptor* d = m.GetDescriptor();
  for (int i = 0; i < d->field_count(); ++i) {
    const FD* f = d->field(i);
    if (f->cpp_type() != FD::CPPTYPE_ENUM || f->is_repeated()) continue;
    if (m.GetReflection()->GetEnum(m, f)->name() == value_name) return true;
  }
  return false;
}

// Fields whose zero means "not given" rather than a value to range-check.
// Link.bandwidth: Network.node_bandwidth. IngressController.workers: ceil(cpu_cores), left at 0 by
// normalisation only when cpu_cores is itself invalid (reported there). ServicePort.target_port:
// the port, left at 0 only when the port is 0 (reported there).
bool zero_means_unset(const pb::Message& m, const FD* f) {
  const pb::Descriptor* d = m.GetDescriptor();
  if (d == scenario::Link::descriptor()) return f->name() == "bandwidth";
  if (d == scenario::IngressController::descriptor()) return f->name() == "workers";
  if (d == scenario::ServicePort::descriptor()) return f->name() == "target_port";
  return false;
}

// Whether the range of `f` applies to `m` at all (Lognormal: only the parameterisation in use;
// when neither or both are written, the distribution check says so instead).
bool range_applies(const pb::Message& m, const FD* f) {
  if (m.GetDescriptor() == scenario::Lognormal::descriptor()) {
    const LognormalForm form = lognormal_form(static_cast<const scenario::Lognormal&>(m));
    if (form.mean_p99 == form.mu_sigma) return false;
    const bool mean_p99_field = f->name() == "mean" || f->name() == "p99";
    return mean_p99_field ? form.mean_p99 : form.mu_sigma;
  }
  return true;
}

// ---------------------------------------------------------------------------------------------

// One validation run over one scenario: indexes of names first, then the generic schema checks
// (walk), then one check_* per part of the scenario.
class Validator {
 public:
  Validator(const scenario::Scenario& s, const SourceMap& map, Diagnostics* d)
      : s_(s), map_(map), d_(d) {}

  void run() {
    index_cluster();
    walk(s_, "", scenario::UNIT_NONE);
    check_cluster();
    check_entry();
    check_ingress_controller();
    check_services();
    check_placements_fit();
    check_routing();
    check_workload();
    check_faults();
    check_run();
    check_variants();
    finish();
  }

  void run_variants() {
    check_variants();
    finish();
  }

 private:
  // --- reporting -------------------------------------------------------------------------------

  // Position from the source map; a field that was never written (a required list left out)
  // points at the start of the document rather than nowhere.
  void report(bool is_error, const std::string& path, std::string message) {
    if (is_error) ++errors_;
    // Node.count expansion renumbers nodes: name the node, as its index may not be the one written.
    if (path.starts_with("cluster.nodes[")) {
      const size_t index = std::strtoul(path.c_str() + 14, nullptr, 10);
      const auto& nodes = s_.cluster().nodes();
      if (index < static_cast<size_t>(nodes.size()) &&
          !nodes[static_cast<int>(index)].name().empty() &&
          message.find(in_quotes(nodes[static_cast<int>(index)].name())) == std::string::npos) {
        message += " (node " + in_quotes(nodes[static_cast<int>(index)].name()) + ")";
      }
    }
    if (++reported_ > kMaxDiagnostics) {  // counted, summarised by finish()
      suppressed_errors_ += is_error ? 1 : 0;
      return;
    }
    auto [file, pos] = map_.find(path);
    if (pos.line == 0) {
      auto [root_file, root_pos] = map_.find("");
      if (file.empty()) file = root_file;
      pos = root_pos;
    }
    if (is_error) {
      d_->error(std::move(file), pos, path, std::move(message));
    } else {
      d_->warning(std::move(file), pos, path, std::move(message));
    }
  }
  void error(const std::string& path, std::string message) {
    report(true, path, std::move(message));
  }
  void warning(const std::string& path, std::string message) {
    report(false, path, std::move(message));
  }

  // One problem repeated through YAML aliases can appear at thousands of paths; past this many,
  // the rest are only counted.
  void finish() {
    if (reported_ <= kMaxDiagnostics) return;
    auto [file, pos] = map_.find("");
    std::string message = std::to_string(reported_ - kMaxDiagnostics) +
                          " more problems not shown (the first " + std::to_string(kMaxDiagnostics) +
                          " are)";
    if (suppressed_errors_ > 0) {
      d_->error(file, pos, "", std::move(message));
    } else {
      d_->warning(file, pos, "", std::move(message));
    }
  }

  // --- indexes ---------------------------------------------------------------------------------

  void index_cluster() {
    const auto& nodes = s_.cluster().nodes();
    for (int i = 0; i < nodes.size(); ++i)
      node_index_.try_emplace(nodes[i].name(), i);
    for (const auto& z : s_.cluster().zones())
      zone_names_.insert(z.name());
    for (int i = 0; i < s_.services_size(); ++i) {
      const auto& svc = s_.services(i);
      service_index_.try_emplace({svc.namespace_(), svc.name()}, i);
    }
  }

  bool is_node(const std::string& name) const { return node_index_.count(name) > 0; }
  bool is_zone(const std::string& name) const { return zone_names_.count(name) > 0; }

  std::vector<std::string> node_names() const {
    std::vector<std::string> out;
    for (const auto& n : s_.cluster().nodes())
      out.push_back(n.name());
    return out;
  }

  std::string unknown_node(const std::string& name) const {
    return "no node named " + in_quotes(name) + " (nodes: " + name_list(node_names()) + ")";
  }

  // Reports every name of `names` (at `path`[i]) that is not a node.
  void check_node_refs(const pb::RepeatedPtrField<std::string>& names, const std::string& path) {
    std::set<std::string> seen;
    for (int i = 0; i < names.size(); ++i) {
      const std::string p = index_path(path, i);
      if (!is_node(names[i])) {
        error(p, unknown_node(names[i]));
      } else if (!seen.insert(names[i]).second) {
        warning(p, "node " + in_quotes(names[i]) + " is listed twice");
      }
    }
  }

  // --- generic checks: (valid_range), non-negative durations, distributions ---------------------

  void walk(const pb::Message& m, const std::string& path, Unit context) {
    const pb::Descriptor* d = m.GetDescriptor();
    const pb::Reflection* r = m.GetReflection();
    for (int i = 0; i < d->field_count(); ++i) {
      const FD* f = d->field(i);
      if (f->is_map()) continue;
      const Unit unit = field_unit(f, context);
      const Unit sub_context = unit == scenario::UNIT_NONE ? context : unit;
      const std::string fpath = path.empty() ? f->name() : path + "." + f->name();
      if (f->is_repeated()) {
        const int n = r->FieldSize(m, f);
        for (int k = 0; k < n; ++k) {
          if (f->cpp_type() == FD::CPPTYPE_MESSAGE) {
            visit_message(r->GetRepeatedMessage(m, f, k), index_path(fpath, k), sub_context);
          }
        }
        continue;
      }
      if (f->has_presence() && !r->HasField(m, f)) continue;
      if (f->cpp_type() == FD::CPPTYPE_MESSAGE) {
        visit_message(r->GetMessage(m, f), fpath, sub_context);
        continue;
      }
      if (f->options().HasExtension(scenario::valid_range)) check_range(m, f, fpath, unit);
    }
  }

  void visit_message(const pb::Message& m, const std::string& path, Unit context) {
    const pb::Descriptor* d = m.GetDescriptor();
    if (d == pb::Duration::descriptor()) {
      const double seconds = to_seconds(static_cast<const pb::Duration&>(m));
      if (seconds < 0) error(path, "must be >= 0 (got " + format_seconds(seconds) + ")");
      return;
    }
    if (d == scenario::Distribution::descriptor()) {
      // Ranges first; then the outermost distribution is built (which builds the ones nested in
      // a mixture), unless a range is broken somewhere inside it.
      const size_t before = errors_;
      ++distribution_depth_;
      walk(m, path, context);
      --distribution_depth_;
      if (distribution_depth_ == 0 && errors_ == before) {
        build_distribution(static_cast<const scenario::Distribution&>(m), path, context,
                           [this](const std::string& where, const std::string& message) {
                             error(where, message);
                           });
      }
      return;
    }
    walk(m, path, context);
  }

  void check_range(const pb::Message& m, const FD* f, const std::string& path, Unit unit) {
    const std::string text = f->options().GetExtension(scenario::valid_range);
    const std::optional<ValidRange> range = parse_valid_range(text);
    const std::optional<double> value = numeric_value(m, f);
    if (!range || !value) {
      error(path, "internal: cannot check valid_range '" + text + "' of " + f->full_name());
      return;
    }
    if (!range->except.empty() && has_enum_value(m, range->except)) return;
    if (*value == 0 && zero_means_unset(m, f)) return;
    if (!range_applies(m, f)) return;
    const double v = *value;
    const std::string got = format_value(v, unit);
    if (!range->lower_field.empty()) {
      const FD* other = m.GetDescriptor()->FindFieldByName(range->lower_field);
      const std::optional<double> bound =
          other != nullptr ? numeric_value(m, other) : std::optional<double>();
      if (!bound) {
        error(path, "internal: valid_range '" + text + "' names no numeric field");
        return;
      }
      const bool ok = range->lower_open ? v > *bound : v >= *bound;
      if (!ok) {
        error(path, "must be " + std::string(range->lower_open ? "> " : ">= ") +
                        range->lower_field + " (got " + got + (range->lower_open ? " <= " : " < ") +
                        format_value(*bound, unit) + ")");
      }
      return;
    }
    const bool lower_ok =
        !range->has_lower || (range->lower_open ? v > range->lower : v >= range->lower);
    const bool upper_ok =
        !range->has_upper || (range->upper_open ? v < range->upper : v <= range->upper);
    if (lower_ok && upper_ok && std::isfinite(v)) return;
    // Bounds of a ratio read better as percentages, like the values users write.
    const auto bound = [&](double b) {
      return unit == scenario::RATIO ? format_value(b, unit) : format_number(b);
    };
    std::string rule;
    if (range->has_upper) {
      rule = std::string(range->lower_open ? "(" : "[") + bound(range->lower) + ", " +
             bound(range->upper) + (range->upper_open ? ")" : "]");
      rule = "in " + rule;
    } else {
      rule = std::string(range->lower_open ? "> " : ">= ") + bound(range->lower);
    }
    error(path, "must be " + rule + " (got " + got + ")");
  }

  // --- cluster ---------------------------------------------------------------------------------

  void check_cluster() {
    const scenario::Cluster& c = s_.cluster();
    std::map<std::string, int> zones;
    for (int i = 0; i < c.zones_size(); ++i) {
      const std::string path = index_path("cluster.zones", i);
      const std::string& name = c.zones(i).name();
      if (name.empty()) {
        error(path + ".name", "required: every zone needs a name");
      } else if (auto [it, fresh] = zones.emplace(name, i); !fresh) {
        error(path + ".name", "duplicate zone name " + in_quotes(name) + " (also cluster.zones[" +
                                  std::to_string(it->second) + "])");
      }
    }
    std::map<std::string, int> nodes;
    for (int i = 0; i < c.nodes_size(); ++i) {
      const scenario::Node& node = c.nodes(i);
      const std::string path = index_path("cluster.nodes", i);
      if (node.name().empty()) {
        error(path + ".name", "required: every node needs a name");
      } else if (auto [it, fresh] = nodes.emplace(node.name(), i); !fresh) {
        error(path + ".name", "duplicate node name " + in_quotes(node.name()) +
                                  " (also cluster.nodes[" + std::to_string(it->second) + "])");
      }
      if (!node.zone().empty() && !is_zone(node.zone())) {
        std::vector<std::string> names;  // the message names the node (report())
        for (const auto& z : c.zones())
          names.push_back(z.name());
        error(path + ".zone",
              "no zone named " + in_quotes(node.zone()) + " (zones: " + name_list(names) + ")");
      }
      // Normalisation expands every valid `count`, unless the total would be too large.
      if (node.has_count() && node.count() >= 1 && node.count() <= 10000 && !node.name().empty()) {
        error(path + ".count",
              "expanding `count` would make more than " + std::to_string(kMaxNodes) + " nodes");
      }
    }
    for (int i = 0; i < c.network().links_size(); ++i) {
      const scenario::Link& link = c.network().links(i);
      const std::string path = index_path("cluster.network.links", i);
      check_endpoint(link.from(), path + ".from");
      check_endpoint(link.to(), path + ".to");
    }
  }

  // A link or link-latency fault endpoint: a node or zone name.
  void check_endpoint(const std::string& name, const std::string& path) {
    if (name.empty()) {
      error(path, "required: a node or zone name");
    } else if (!is_node(name) && !is_zone(name)) {
      std::vector<std::string> zones;
      for (const auto& z : s_.cluster().zones())
        zones.push_back(z.name());
      error(path, "no node or zone named " + in_quotes(name) +
                      " (nodes: " + name_list(node_names()) + "; zones: " + name_list(zones) + ")");
    }
  }

  // --- entry -----------------------------------------------------------------------------------

  void check_entry() {
    const scenario::Entry& e = s_.entry();
    check_node_refs(e.nodes(), "entry.nodes");
    if (e.kind() == scenario::Entry::HOST_NETWORK &&
        e.external_traffic_policy() == scenario::Entry::LOCAL) {
      warning("entry.external_traffic_policy",
              "has no effect with kind host_network: clients reach the ingress pods on their "
              "nodes directly, without a Service or kube-proxy in between");
    }
    if (e.kind() == scenario::Entry::LOAD_BALANCER &&
        to_seconds(e.load_balancer().health_check_interval()) <= 0) {
      error("entry.load_balancer.health_check_interval", "must be > 0");
    }
    if (e.node_ports().http() == e.node_ports().https()) {
      error("entry.node_ports.https", "must differ from entry.node_ports.http (both " +
                                          std::to_string(e.node_ports().http()) +
                                          "): one Service cannot use a NodePort twice");
    }
  }

  // --- ingress controller ----------------------------------------------------------------------

  void check_ingress_controller() {
    const scenario::IngressController& in = s_.ingress();
    check_node_refs(in.placement().nodes(), "ingress.placement.nodes");
    if (in.cpu_limit_cores() != 0 && in.cpu_limit_cores() < in.cpu_cores()) {
      error("ingress.cpu_limit_cores", "must be >= cpu_cores (" + format_number(in.cpu_cores()) +
                                           "), or 0 for no limit (got " +
                                           format_number(in.cpu_limit_cores()) +
                                           "): Kubernetes rejects a CPU limit below the request");
    }
    if (in.cpu_limit_cores() > 0 && to_seconds(in.cfs_period()) <= 0) {
      error("ingress.cfs_period", "must be > 0 when cpu_limit_cores is set");
    }
    if (in.workers() == 0 && in.cpu_cores() > kMaxWorkers) {
      error("ingress.workers",
            "defaults to ceil(cpu_cores) = " + format_number(std::ceil(in.cpu_cores())) +
                ", more than 1024: set workers explicitly");
    }
    const scenario::LoadBalancing& lb = in.load_balancing();
    if (lb.algorithm() == scenario::LoadBalancing::CONSISTENT_HASH &&
        (lb.hash_on() == scenario::LoadBalancing::HEADER ||
         lb.hash_on() == scenario::LoadBalancing::COOKIE) &&
        lb.hash_key().empty()) {
      error("ingress.load_balancing.hash_key",
            "required: the header or cookie name to hash on (hash_on is " +
                lower(scenario::LoadBalancing::HashOn_Name(lb.hash_on())) + ")");
    }
    if (lb.algorithm() == scenario::LoadBalancing::EWMA && to_seconds(lb.ewma_decay()) <= 0) {
      error("ingress.load_balancing.ewma_decay", "must be > 0 with algorithm ewma");
    }
    if (!in.ingress_class().empty() && s_.routing().ingress_classes_size() > 0) {
      bool found = false;
      for (const auto& c : s_.routing().ingress_classes()) {
        found = found || c.metadata().name() == in.ingress_class();
      }
      if (!found) {
        warning("ingress.ingress_class", "no IngressClass named " + in_quotes(in.ingress_class()) +
                                             " in routing.ingress_classes");
      }
    }
  }

  // --- services --------------------------------------------------------------------------------

  void check_services() {
    std::map<std::pair<std::string, std::string>, int> seen;
    for (int i = 0; i < s_.services_size(); ++i) {
      const scenario::Service& svc = s_.services(i);
      const std::string path = index_path("services", i);
      if (svc.name().empty()) {
        error(path + ".name", "required: every Service needs a name");
      } else if (const std::string e = routing::dns1035_label_error(svc.name()); !e.empty()) {
        error(path + ".name", "invalid Service name " + in_quotes(svc.name()) + ": " + e);
      } else if (auto [it, fresh] = seen.try_emplace({svc.namespace_(), svc.name()}, i); !fresh) {
        error(path + ".name", "duplicate Service " + in_quotes(svc.name()) + " in namespace " +
                                  in_quotes(svc.namespace_()) + " (also services[" +
                                  std::to_string(it->second) + "])");
      }
      if (const std::string e = routing::dns1123_label_error(svc.namespace_()); !e.empty()) {
        error(path + ".namespace", "invalid namespace " + in_quotes(svc.namespace_()) + ": " + e);
      }
      std::map<std::string, int> port_names;
      std::map<uint32_t, int> port_numbers;
      for (int k = 0; k < svc.ports_size(); ++k) {
        const scenario::ServicePort& port = svc.ports(k);
        const std::string ppath = index_path(path + ".ports", k);
        if (port.name().empty()) {
          if (svc.ports_size() > 1) {
            error(ppath + ".name", "required: a Service with several ports must name each one");
          }
        } else if (const std::string e = routing::port_name_error(port.name()); !e.empty()) {
          error(ppath + ".name", "invalid port name " + in_quotes(port.name()) + ": " + e);
        } else if (auto [it, fresh] = port_names.emplace(port.name(), k); !fresh) {
          error(ppath + ".name", "duplicate port name " + in_quotes(port.name()) + " (also ports[" +
                                     std::to_string(it->second) + "])");
        }
        if (port.port() != 0) {
          if (auto [it, fresh] = port_numbers.emplace(port.port(), k); !fresh) {
            error(ppath + ".port", "duplicate port " + std::to_string(port.port()) +
                                       " (also ports[" + std::to_string(it->second) + "])");
          }
        }
      }
      check_node_refs(svc.deployment().placement().nodes(), path + ".deployment.placement.nodes");
    }
  }

  // --- placement -----------------------------------------------------------------------------
  // Which node each pod lands on, as Placement.Spread documents it; whether they fit.

  // Nodes of the ingress controller's pods.
  std::vector<int> ingress_pod_nodes() const {
    return place_ingress_pods(s_.ingress(), s_.cluster());
  }

  // Pods of the ingress controller, placeable or not: one per allowed node of a DaemonSet, else
  // `replicas`.
  uint32_t ingress_pod_count() const {
    const scenario::IngressController& in = s_.ingress();
    if (in.kind() == scenario::IngressController::DAEMONSET) {
      return static_cast<uint32_t>(place_daemonset(in.placement(), s_.cluster()).size());
    }
    return in.replicas();
  }

  struct PodGroup {
    std::string label;     // "ingress", "coffee-svc"
    std::string path;      // where a misfit is reported
    std::string cpu_path;  // where a pod too big for every node is reported
    double cpu_cores;
    const scenario::Placement* placement;
    std::vector<int> nodes;  // per pod
  };

  // Whether the pods can be placed at all: every node well-formed and expanded, every placement
  // naming only nodes. Otherwise the capacity check would only repeat those errors.
  bool placement_inputs_valid() const {
    const auto& nodes = s_.cluster().nodes();
    if (nodes.empty()) return false;
    for (const auto& n : nodes) {
      if (n.has_count() || n.name().empty() || !(n.cores() > 0) || !std::isfinite(n.cores())) {
        return false;
      }
    }
    const auto names_ok = [&](const scenario::Placement& p) {
      return std::all_of(p.nodes().begin(), p.nodes().end(),
                         [&](const std::string& name) { return is_node(name); });
    };
    if (!names_ok(s_.ingress().placement())) return false;
    return std::all_of(s_.services().begin(), s_.services().end(),
                       [&](const auto& svc) { return names_ok(svc.deployment().placement()); });
  }

  void check_placements_fit() {
    if (placement_inputs_valid()) check_capacity();
    check_entry_reachability();
  }

  void check_capacity() {
    const auto& nodes = s_.cluster().nodes();
    std::vector<PodGroup> groups;
    const scenario::IngressController& in = s_.ingress();
    const bool daemonset = in.kind() == scenario::IngressController::DAEMONSET;
    groups.push_back({"ingress", daemonset ? "ingress.cpu_cores" : "ingress.replicas",
                      "ingress.cpu_cores", in.cpu_cores(), &in.placement(), ingress_pod_nodes()});
    for (int i = 0; i < s_.services_size(); ++i) {
      const scenario::Service& svc = s_.services(i);
      const std::string path = index_path("services", i);
      groups.push_back({svc.name(), path + ".deployment.replicas", path + ".pod.cpu_cores",
                        svc.pod().cpu_cores(), &svc.deployment().placement(),
                        place_replicas(svc.deployment().replicas(), svc.deployment().placement(),
                                       s_.cluster())});
    }
    std::vector<double> used(static_cast<size_t>(nodes.size()), 0.0);
    // Per node: (group label, pods) in the order they were placed, for the message.
    std::vector<std::vector<std::pair<size_t, int>>> on_node(used.size());
    std::vector<bool> reported(used.size(), false);
    for (size_t g = 0; g < groups.size(); ++g) {
      const PodGroup& group = groups[g];
      if (group.nodes.empty() || !(group.cpu_cores > 0)) continue;
      // A pod bigger than every node it may use can never be scheduled.
      double largest = 0;
      std::string largest_name;
      for (int n : allowed_nodes(*group.placement, s_.cluster())) {
        if (nodes[n].cores() > largest) {
          largest = nodes[n].cores();
          largest_name = nodes[n].name();
        }
      }
      if (group.cpu_cores > largest + 1e-9) {
        error(group.cpu_path, "a pod requests " + cores(group.cpu_cores) +
                                  ", more than any node it may run on has (largest: " +
                                  in_quotes(largest_name) + " with " + cores(largest) + ")");
        continue;
      }
      std::map<int, int> pods_per_node;
      for (int n : group.nodes)
        ++pods_per_node[n];
      for (const auto& [n, count] : pods_per_node) {
        const auto node = static_cast<size_t>(n);
        used[node] += count * group.cpu_cores;
        on_node[node].emplace_back(g, count);
        if (used[node] > nodes[n].cores() + 1e-9 && !reported[node]) {
          reported[node] = true;
          std::string parts;
          for (const auto& [other, pods] : on_node[node]) {
            parts += (parts.empty() ? "" : ", ") + groups[other].label + " " +
                     std::to_string(pods) + " x " + format_number(groups[other].cpu_cores);
          }
          error(group.path, "the pods do not fit: node " + in_quotes(nodes[n].name()) +
                                " would need " + cores(used[node]) + " (" + parts + ") but has " +
                                format_number(nodes[n].cores()) +
                                "; add nodes or cores, or lower replicas or cpu_cores");
        }
      }
    }
  }

  // Entry nodes that cannot take traffic.
  void check_entry_reachability() {
    const auto& nodes = s_.cluster().nodes();
    const scenario::Entry& e = s_.entry();
    const std::vector<int> ingress_nodes = ingress_pod_nodes();
    const std::set<int> with_ingress(ingress_nodes.begin(), ingress_nodes.end());
    const bool local_only = e.kind() == scenario::Entry::HOST_NETWORK ||
                            (e.kind() == scenario::Entry::NODE_PORT &&
                             e.external_traffic_policy() == scenario::Entry::LOCAL);
    if (local_only && e.nodes_size() == 0 && e.kind() == scenario::Entry::NODE_PORT &&
        !with_ingress.empty()) {
      std::vector<std::string> idle;
      for (int n = 0; n < nodes.size(); ++n) {
        if (!with_ingress.count(n)) idle.push_back(nodes[n].name());
      }
      if (!idle.empty()) {
        warning("entry.external_traffic_policy",
                "nodes " + name_list(idle) +
                    " run no ingress pod: with policy local, the connections clients send to "
                    "them fail (list the nodes that take traffic in entry.nodes)");
      }
    }
    if (local_only) {
      for (int i = 0; i < e.nodes_size(); ++i) {
        auto it = node_index_.find(e.nodes(i));
        if (it != node_index_.end() && !with_ingress.count(it->second)) {
          warning(
              index_path("entry.nodes", i),
              "node " + in_quotes(e.nodes(i)) + " runs no ingress pod: with " +
                  (e.kind() == scenario::Entry::HOST_NETWORK ? "host_network"
                                                             : "external_traffic_policy local") +
                  " the connections clients send to it fail");
        }
      }
    }
  }

  // --- routing ---------------------------------------------------------------------------------

  const scenario::Service* find_service(const std::string& ns, const std::string& name) const {
    auto it = service_index_.find({ns, name});
    return it == service_index_.end() ? nullptr : &s_.services(it->second);
  }

  // An Ingress backend's Service and port must exist (same namespace as the Ingress).
  void check_backend(const scenario::IngressBackend& b, const std::string& path,
                     const std::string& ns, bool served) {
    if (!b.has_service() || b.service().name().empty()) return;  // validation reports it
    const auto report_ref = [&](const std::string& where, std::string message) {
      if (served) {
        error(where, std::move(message));
      } else {
        warning(where, std::move(message) + " (the Ingress is not served by this controller)");
      }
    };
    const scenario::IngressServiceBackend& ref = b.service();
    const scenario::Service* svc = find_service(ns, ref.name());
    if (svc == nullptr) {
      std::vector<std::string> same_ns;
      std::string elsewhere;
      for (const auto& other : s_.services()) {
        if (other.namespace_() == ns) same_ns.push_back(other.name());
        if (other.name() == ref.name() && elsewhere.empty()) elsewhere = other.namespace_();
      }
      std::string message =
          "no Service named " + in_quotes(ref.name()) + " in namespace " + in_quotes(ns);
      if (!elsewhere.empty()) {
        message += " (there is one in namespace " + in_quotes(elsewhere) +
                   "; an Ingress can only route to Services in its own namespace)";
      } else if (same_ns.empty()) {
        message += " (the scenario defines no Services there)";
      } else {
        message += " (Services: " + name_list(same_ns) + ")";
      }
      report_ref(path + ".service.name", std::move(message));
      return;
    }
    const scenario::ServiceBackendPort& port = ref.port();
    if (port.number() == 0 && port.name().empty()) return;  // validation reports it
    std::vector<std::string> ports;
    for (const auto& p : svc->ports()) {
      ports.push_back(std::to_string(p.port()) + (p.name().empty() ? "" : " (" + p.name() + ")"));
    }
    const std::string has =
        ports.empty() ? " (it lists no ports)" : " (its ports: " + name_list(ports) + ")";
    if (port.number() != 0) {
      const bool found = std::any_of(svc->ports().begin(), svc->ports().end(),
                                     [&](const auto& p) { return p.port() == port.number(); });
      if (!found) {
        report_ref(path + ".service.port.number", "Service " + in_quotes(ref.name()) +
                                                      " has no port " +
                                                      std::to_string(port.number()) + has);
      }
    } else {
      const bool found = std::any_of(svc->ports().begin(), svc->ports().end(),
                                     [&](const auto& p) { return p.name() == port.name(); });
      if (!found) {
        report_ref(path + ".service.port.name", "Service " + in_quotes(ref.name()) +
                                                    " has no port named " + in_quotes(port.name()) +
                                                    has);
      }
    }
  }

  void check_routing() {
    const scenario::Routing& r = s_.routing();
    if (r.ingresses_size() == 0) {
      error("routing.ingresses",
            "no Ingress objects (write them under routing.ingresses or import them with "
            "routing.manifests): every request would get 404");
    }
    const routing::CompileOptions options = compile_options_for(s_);
    std::vector<routing::IngressObject> objects;
    std::vector<bool> usable;
    bool all_valid = true;
    std::map<routing::ObjectRef, int> by_ref;
    for (int i = 0; i < r.ingresses_size(); ++i) {
      const scenario::Ingress& ing = r.ingresses(i);
      const std::string path = index_path("routing.ingresses", i);
      const size_t errors_before = errors_;
      if (!ing.kind().empty() && ing.kind() != "Ingress") {
        error(path + ".kind", "must be Ingress (got " + in_quotes(ing.kind()) + ")");
      }
      if (!ing.api_version().empty() && ing.api_version() != "networking.k8s.io/v1") {
        error(path + ".api_version", "must be networking.k8s.io/v1 (got " +
                                         in_quotes(ing.api_version()) +
                                         "; older Ingress versions have a different schema)");
      }
      std::vector<routing::Diagnostic> found;
      routing::IngressObject object = to_ingress_object(ing, static_cast<size_t>(i), &found);
      routing::validate_ingress(object, &found);
      for (const routing::Diagnostic& d : found) {
        report(d.severity == routing::Severity::kError,
               scenario_field_path(static_cast<size_t>(i), d.field), d.message);
      }
      const bool served = is_served(object, options);
      const std::string ns(routing::effective_namespace(object));
      if (ing.spec().has_default_backend()) {
        check_backend(ing.spec().default_backend(), path + ".spec.default_backend", ns, served);
      }
      for (int j = 0; j < ing.spec().rules_size(); ++j) {
        const auto& rule = ing.spec().rules(j);
        for (int k = 0; k < rule.http().paths_size(); ++k) {
          check_backend(rule.http().paths(k).backend(),
                        scenario_field_path(
                            static_cast<size_t>(i),
                            routing::path_field(static_cast<size_t>(j), static_cast<size_t>(k))) +
                            ".backend",
                        ns, served);
        }
      }
      if (!ing.spec().ingress_class_name().empty() && r.ingress_classes_size() > 0) {
        bool known = false;
        for (const auto& c : r.ingress_classes()) {
          known = known || c.metadata().name() == ing.spec().ingress_class_name();
        }
        if (!known) {
          warning(path + ".spec.ingress_class_name",
                  "no IngressClass named " + in_quotes(ing.spec().ingress_class_name()) +
                      " in routing.ingress_classes");
        }
      }
      bool ok = errors_ == errors_before;
      const routing::ObjectRef ref = routing::object_ref(object);
      if (!ref.name.empty()) {
        if (auto [it, fresh] = by_ref.try_emplace(ref, i); !fresh) {
          error(path + ".metadata.name", "duplicate Ingress " + in_quotes(ref.to_string()) +
                                             " (also routing.ingresses[" +
                                             std::to_string(it->second) + "])");
          ok = false;
        }
      }
      all_valid = all_valid && ok;
      if (ok) objects.push_back(std::move(object));
    }
    // Cross-object findings (conflicting paths, shadowed paths, ignored default backends) come
    // from the compiler, as warnings; only valid, distinct objects are given to it.
    const routing::CompileResult compiled = routing::compile(objects, options);
    for (const routing::Diagnostic& d : compiled.diagnostics) {
      auto it = by_ref.find(d.object);
      const std::string path = it == by_ref.end()
                                   ? std::string("routing.ingresses")
                                   : scenario_field_path(static_cast<size_t>(it->second), d.field);
      report(d.severity == routing::Severity::kError, path, d.message);
    }
    size_t served = 0;
    for (const auto& object : objects)
      served += is_served(object, options) ? 1 : 0;
    if (options.ingress_class && served == 0 && all_valid && r.ingresses_size() > 0) {
      warning("ingress.ingress_class",
              "no Ingress object is of class " + in_quotes(*options.ingress_class) +
                  (options.accept_ingresses_without_class
                       ? ""
                       : " (nor without a class, as " + in_quotes(*options.ingress_class) +
                             " is not the default class)") +
                  ": every request will get 404");
    }
    if (all_valid && served > 0) route_table_ = compiled.table;
    check_ingress_classes();
  }

  void check_ingress_classes() {
    const scenario::Routing& r = s_.routing();
    std::map<std::string, int> names;
    int first_default = -1;
    for (int i = 0; i < r.ingress_classes_size(); ++i) {
      const scenario::IngressClass& c = r.ingress_classes(i);
      const std::string path = index_path("routing.ingress_classes", i);
      if (!c.kind().empty() && c.kind() != "IngressClass") {
        error(path + ".kind", "must be IngressClass (got " + in_quotes(c.kind()) + ")");
      }
      if (c.metadata().name().empty()) {
        error(path + ".metadata.name", "required: every IngressClass needs a name");
      } else if (const std::string e = routing::dns1123_subdomain_error(c.metadata().name());
                 !e.empty()) {
        error(path + ".metadata.name",
              "invalid IngressClass name " + in_quotes(c.metadata().name()) + ": " + e);
      } else if (auto [it, fresh] = names.emplace(c.metadata().name(), i); !fresh) {
        error(path + ".metadata.name", "duplicate IngressClass " + in_quotes(c.metadata().name()) +
                                           " (also routing.ingress_classes[" +
                                           std::to_string(it->second) + "])");
      }
      if (is_default_ingress_class(c)) {
        if (first_default < 0) {
          first_default = i;
        } else {
          error(path + ".metadata.annotations[" + std::string(kDefaultIngressClassAnnotation) + "]",
                "more than one IngressClass is marked as default (also routing.ingress_classes[" +
                    std::to_string(first_default) +
                    "]): Kubernetes then refuses Ingresses without a class");
        }
      }
    }
  }

  // --- workload --------------------------------------------------------------------------------

  void check_workload() {
    const scenario::Workload& w = s_.workload();
    if (w.clients_size() == 0) {
      error("workload.clients",
            "at least one client group is required (e.g. clients: [{open_loop: {rate: 1000/s}}]): "
            "nothing to simulate");
    }
    std::map<std::string, int> names;
    for (int i = 0; i < w.clients_size(); ++i) {
      const scenario::ClientGroup& g = w.clients(i);
      const std::string path = index_path("workload.clients", i);
      if (g.name().empty()) {
        error(path + ".name", "required: every client group needs a name");
      } else if (auto [it, fresh] = names.emplace(g.name(), i); !fresh) {
        error(path + ".name", "duplicate client group name " + in_quotes(g.name()) +
                                  " (also workload.clients[" + std::to_string(it->second) + "])");
      }
      if (!g.zone().empty() && !is_zone(g.zone())) {
        error(path + ".zone", "no zone named " + in_quotes(g.zone()));
      }
      switch (g.load_case()) {
        case scenario::ClientGroup::LOAD_NOT_SET:
          error(path, "set open_loop (a request rate) or closed_loop (a number of users)");
          break;
        case scenario::ClientGroup::kOpenLoop:
          check_open_loop(g.open_loop(), path + ".open_loop");
          break;
        case scenario::ClientGroup::kClosedLoop:
          break;  // users and think_time: ranges and distributions
      }
      for (int m = 0; m < g.mix_size(); ++m) {
        const scenario::RequestClass& rc = g.mix(m);
        const std::string mpath = index_path(path + ".mix", m);
        if (!rc.path().starts_with('/')) {
          error(mpath + ".path", "must start with '/' (got " + in_quotes(rc.path()) + ")");
          continue;
        }
        if (rc.method().empty()) error(mpath + ".method", "required: an HTTP method such as GET");
        if (route_table_ != nullptr && !route_table_->match(rc.host(), rc.path()).found()) {
          warning(mpath, "no Ingress rule matches host " + in_quotes(rc.host()) + " path " +
                             in_quotes(rc.path()) + ": these requests will get 404");
        }
      }
    }
  }

  void check_open_loop(const scenario::OpenLoop& o, const std::string& path) {
    switch (o.process()) {
      case scenario::OpenLoop::REPLAY:
        if (o.replay().csv().empty()) {
          error(path + ".replay.csv", "required with process replay: the CSV of arrivals");
        }
        break;
      case scenario::OpenLoop::ON_OFF:
        if (to_seconds(o.on_off().mean_on()) <= 0) {
          error(path + ".on_off.mean_on", "must be > 0 with process on_off");
        }
        if (to_seconds(o.on_off().mean_off()) <= 0) {
          error(path + ".on_off.mean_off", "must be > 0 with process on_off");
        }
        break;
      case scenario::OpenLoop::DIURNAL: {
        const scenario::Diurnal& d = o.diurnal();
        const double period = to_seconds(d.period());
        if (period <= 0) error(path + ".diurnal.period", "must be > 0 with process diurnal");
        if (d.points_size() == 0) {
          error(path + ".diurnal.points", "required with process diurnal: the rate profile");
        }
        double previous = -1;
        bool any_positive = false;
        for (int i = 0; i < d.points_size(); ++i) {
          const double at = to_seconds(d.points(i).at());
          const std::string ppath = index_path(path + ".diurnal.points", i);
          if (at <= previous) {
            error(ppath + ".at", "must be after the previous point (got " + format_seconds(at) +
                                     " <= " + format_seconds(previous) + ")");
          } else if (period > 0 && at >= period) {
            error(ppath + ".at", "must be < period (got " + format_seconds(at) +
                                     " >= " + format_seconds(period) + ")");
          }
          previous = at;
          any_positive = any_positive || d.points(i).factor() > 0;
        }
        if (d.points_size() > 0 && !any_positive) {
          error(path + ".diurnal.points", "every factor is 0: at least one must be > 0");
        }
        break;
      }
      default:
        break;
    }
  }

  // --- faults ----------------------------------------------------------------------------------

  // A fault's pod target: `ingress` or a Service name (or namespace/name), and a pod index.
  void check_pod_target(const std::string& service, uint32_t pod, const std::string& path) {
    uint32_t replicas = 0;
    std::string what;
    if (service == kIngressFaultTarget) {
      replicas = ingress_pod_count();
      what = "the ingress controller";
    } else {
      const scenario::Service* svc = nullptr;
      if (const size_t slash = service.find('/'); slash != std::string::npos) {
        svc = find_service(service.substr(0, slash), service.substr(slash + 1));
      } else {
        for (const auto& candidate : s_.services()) {
          if (candidate.name() == service) {
            svc = &candidate;
            break;
          }
        }
      }
      if (svc == nullptr) {
        std::vector<std::string> names{kIngressFaultTarget};
        for (const auto& candidate : s_.services())
          names.push_back(candidate.name());
        error(path + ".service", service.empty() ? "required: a Service name, or `ingress`"
                                                 : "no Service named " + in_quotes(service) +
                                                       " (targets: " + name_list(names) + ")");
        return;
      }
      replicas = svc->deployment().replicas();
      what = "Service " + in_quotes(svc->name());
    }
    if (pod >= replicas) {
      error(path + ".pod", "no pod " + std::to_string(pod) + ": " + what + " has " +
                               std::to_string(replicas) + " pod" + (replicas == 1 ? "" : "s") +
                               " (indexes are 0-based)");
    }
  }

  void check_faults() {
    const double end = to_seconds(s_.run().duration()) +
                       (s_.run().warmup().has_fixed() ? to_seconds(s_.run().warmup().fixed()) : 0);
    for (int i = 0; i < s_.faults().events_size(); ++i) {
      const scenario::Fault& f = s_.faults().events(i);
      const std::string path = index_path("faults.events", i);
      switch (f.kind_case()) {
        case scenario::Fault::KIND_NOT_SET:
          error(path, "set one of kill_pod, slow_pod, kill_node, link_latency");
          break;
        case scenario::Fault::kKillPod:
          check_pod_target(f.kill_pod().service(), f.kill_pod().pod(), path + ".kill_pod");
          break;
        case scenario::Fault::kSlowPod:
          check_pod_target(f.slow_pod().service(), f.slow_pod().pod(), path + ".slow_pod");
          break;
        case scenario::Fault::kKillNode:
          if (!is_node(f.kill_node().node())) {
            error(path + ".kill_node.node", f.kill_node().node().empty()
                                                ? "required: the node to kill"
                                                : unknown_node(f.kill_node().node()));
          }
          break;
        case scenario::Fault::kLinkLatency:
          check_endpoint(f.link_latency().from(), path + ".link_latency.from");
          check_endpoint(f.link_latency().to(), path + ".link_latency.to");
          break;
      }
      if (end > 0 && to_seconds(f.at()) > end) {
        warning(path + ".at",
                "after the end of the run (" + format_seconds(end) + "): the fault never happens");
      }
    }
  }

  // --- run, outputs, variants ------------------------------------------------------------------

  void check_run() {
    const scenario::Run& run = s_.run();
    const double duration = to_seconds(run.duration());
    if (duration <= 0) error("run.duration", "must be > 0 (got " + format_seconds(duration) + ")");
    if (run.warmup().has_fixed()) {
      const double warmup = to_seconds(run.warmup().fixed());
      if (duration > 0 && warmup >= duration) {
        error("run.warmup.fixed", "must be < run.duration (got " + format_seconds(warmup) + " >= " +
                                      format_seconds(duration) + "): nothing would be measured");
      }
    }
    if (to_seconds(s_.outputs().time_series_bucket()) <= 0) {
      error("outputs.time_series_bucket", "must be > 0");
    }
  }

  void check_variants() {
    std::map<std::string, int> names;
    for (int i = 0; i < s_.variants_size(); ++i) {
      const std::string path = index_path("variants", i) + ".name";
      const std::string& name = s_.variants(i).name();
      if (name.empty()) {
        error(path, "required: every variant needs a name");
      } else if (auto [it, fresh] = names.emplace(name, i); !fresh) {
        error(path, "duplicate variant name " + in_quotes(name) + " (also variants[" +
                        std::to_string(it->second) + "])");
      }
    }
  }

  const scenario::Scenario& s_;
  const SourceMap& map_;
  Diagnostics* d_;
  int distribution_depth_ = 0;  // Distributions being walked (mixtures nest them)
  size_t errors_ = 0;           // errors found, shown or not
  size_t reported_ = 0;         // diagnostics found, shown or not
  size_t suppressed_errors_ = 0;
  std::map<std::string, int> node_index_;
  std::set<std::string> zone_names_;
  std::map<std::pair<std::string, std::string>, int> service_index_;
  std::shared_ptr<const routing::RouteTable> route_table_;
};

// ---------------------------------------------------------------------------------------------
// Normalisation

void normalize_cluster(scenario::Cluster* c) {
  if (c->nodes_size() == 0) {
    for (int i = 1; i <= kDefaultNodeCount; ++i) {
      scenario::Node* n = c->add_nodes();
      n->set_name("node-" + std::to_string(i));
      n->set_cores(kDefaultNodeCores);
    }
  }
  // Node.count expansion; out-of-range counts (and unnamed entries) stay as written for
  // validation to report.
  bool expand = false;
  size_t total = 0;
  for (const auto& n : c->nodes()) {
    const bool expandable =
        n.has_count() && n.count() >= 1 && n.count() <= 10000 && !n.name().empty();
    expand = expand || n.has_count();
    total += expandable ? n.count() : 1;
  }
  if (expand) {
    pb::RepeatedPtrField<scenario::Node> expanded;
    for (const auto& n : c->nodes()) {
      const bool expandable = n.has_count() && n.count() >= 1 && n.count() <= 10000 &&
                              !n.name().empty() && total <= kMaxNodes;
      if (!expandable) {
        *expanded.Add() = n;
        continue;
      }
      if (n.count() == 1) {
        scenario::Node* copy = expanded.Add();
        *copy = n;
        copy->clear_count();
        continue;
      }
      for (uint32_t k = 1; k <= n.count(); ++k) {
        scenario::Node* copy = expanded.Add();
        *copy = n;
        copy->clear_count();
        copy->set_name(n.name() + "-" + std::to_string(k));
      }
    }
    c->mutable_nodes()->Swap(&expanded);
  }
  // Zones: when none are listed, the ones nodes name (in order), or the default zone.
  if (c->zones_size() == 0) {
    std::set<std::string> seen;
    for (const auto& n : c->nodes()) {
      if (!n.zone().empty() && seen.insert(n.zone()).second) c->add_zones()->set_name(n.zone());
    }
    if (c->zones_size() == 0) c->add_zones()->set_name(kDefaultZone);
  }
  for (auto& n : *c->mutable_nodes()) {
    if (n.zone().empty()) n.set_zone(c->zones(0).name());
  }
}

// Whether `host` would be routed by a rule host (exact, or one-label wildcard).
bool claimed_by(const std::string& host, const std::string& rule_host) {
  if (rule_host.empty()) return false;
  if (rule_host.starts_with("*.")) {
    const size_t dot = host.find('.');
    return dot != std::string::npos && host.substr(dot) == rule_host.substr(1);
  }
  return lower(host) == lower(rule_host);
}

// Host headers for the default request mix.
class MixHosts {
 public:
  explicit MixHosts(const std::vector<routing::IngressObject>& served) : served_(served) {
    for (const auto& o : served) {
      for (const auto& rule : o.rules)
        rule_hosts_.push_back(rule.host);
    }
  }

  // A Host header routed by a rule with host `rule_host` of `object`.
  std::string for_rule(const routing::IngressObject& object, const std::string& rule_host) const {
    if (rule_host.starts_with("*.")) {
      const std::string suffix = rule_host.substr(1);
      for (const char* label : {"www", "any", "wildcard-match"}) {
        const std::string candidate = label + suffix;
        if (!exact_rule_host(candidate)) return candidate;
      }
      return "www" + suffix;
    }
    if (!rule_host.empty()) return rule_host;
    // A host-less rule matches any Host header no rule host claims: prefer the Ingress's TLS
    // host (what its clients would send), else example.com.
    std::vector<std::string> candidates;
    for (const auto& tls : object.tls) {
      for (const auto& h : tls.hosts)
        candidates.push_back(concrete(h));
    }
    for (const char* fallback : {"example.com", "www.example.com", "any.example.invalid"}) {
      candidates.emplace_back(fallback);
    }
    for (const std::string& candidate : candidates) {
      const bool claimed =
          std::any_of(rule_hosts_.begin(), rule_hosts_.end(),
                      [&](const std::string& h) { return claimed_by(candidate, h); });
      if (!claimed) return candidate;
    }
    return "example.com";
  }

  // RequestClass.host's default: the first Ingress host.
  std::string first_host() const {
    for (const auto& o : served_) {
      for (const auto& rule : o.rules) {
        if (!rule.host.empty()) return concrete(rule.host);
      }
    }
    for (const auto& o : served_) {
      for (const auto& tls : o.tls) {
        if (!tls.hosts.empty()) return concrete(tls.hosts.front());
      }
    }
    return "example.com";
  }

 private:
  bool exact_rule_host(const std::string& host) const {
    return std::any_of(rule_hosts_.begin(), rule_hosts_.end(), [&](const std::string& h) {
      return !h.starts_with("*.") && claimed_by(host, h);
    });
  }
  std::string concrete(const std::string& host) const {
    return host.starts_with("*.") ? for_rule(routing::IngressObject{}, host) : host;
  }

  const std::vector<routing::IngressObject>& served_;
  std::vector<std::string> rule_hosts_;
};

void normalize_workload(scenario::Scenario* s) {
  const routing::CompileOptions options = compile_options_for(*s);
  std::vector<routing::IngressObject> served;
  for (auto& object : to_ingress_objects(s->routing(), nullptr)) {
    if (is_served(object, options)) served.push_back(std::move(object));
  }
  const MixHosts hosts(served);
  const std::string first_zone = s->cluster().zones_size() > 0 ? s->cluster().zones(0).name() : "";
  auto* clients = s->mutable_workload()->mutable_clients();
  for (int i = 0; i < clients->size(); ++i) {
    scenario::ClientGroup& g = (*clients)[i];
    if (g.name().empty()) g.set_name("clients-" + std::to_string(i));
    if (g.zone().empty()) g.set_zone(first_zone);
    if (g.mix_size() == 0) {
      std::set<std::pair<std::string, std::string>> seen;
      const auto add = [&](const std::string& host, const std::string& path) {
        if (!seen.emplace(host, path).second) return;
        scenario::RequestClass* rc = g.add_mix();
        rc->set_host(host);
        rc->set_path(path);
        rc->set_method("GET");
        rc->set_weight(1);
      };
      for (const auto& object : served) {
        for (const auto& rule : object.rules) {
          if (!rule.http) continue;
          for (const auto& p : rule.http->paths) {
            // An invalid (relative) path is the Ingress's error, not the mix's.
            if (!p.path.empty() && !p.path.starts_with('/')) continue;
            add(hosts.for_rule(object, rule.host), p.path.empty() ? "/" : p.path);
          }
        }
      }
      if (g.mix_size() == 0) add(hosts.first_host(), "/");
    }
    for (auto& rc : *g.mutable_mix()) {
      if (rc.host().empty()) rc.set_host(hosts.first_host());
    }
  }
}

}  // namespace

void normalize_scenario(scenario::Scenario* s, const std::string& file_path) {
  if (s->name().empty()) {
    std::string stem = std::filesystem::path(file_path).stem().string();
    s->set_name(stem.empty() ? "scenario" : stem);
  }
  normalize_cluster(s->mutable_cluster());

  scenario::IngressController* in = s->mutable_ingress();
  if (in->workers() == 0 && in->cpu_cores() > 0 && in->cpu_cores() <= kMaxWorkers) {
    in->set_workers(static_cast<uint32_t>(std::ceil(in->cpu_cores())));
  }
  scenario::Retries* retries = in->mutable_retries();
  if (retries->attempts() > 0 && retries->on_size() == 0) {
    retries->add_on(scenario::Retries::CONNECT_FAILURE);
    retries->add_on(scenario::Retries::TIMEOUT);
  }
  // As in Kubernetes, a Service port's targetPort defaults to its port.
  for (auto& svc : *s->mutable_services()) {
    for (auto& port : *svc.mutable_ports()) {
      if (port.target_port() == 0 && port.port() <= 65535) port.set_target_port(port.port());
    }
  }
  normalize_workload(s);
}

void validate_scenario(const scenario::Scenario& scenario, const SourceMap& source_map,
                       Diagnostics* diagnostics) {
  Validator(scenario, source_map, diagnostics).run();
}

void validate_variants(const scenario::Scenario& scenario, const SourceMap& source_map,
                       Diagnostics* diagnostics) {
  Validator(scenario, source_map, diagnostics).run_variants();
}

}  // namespace ingresslab::scenarios
