#include "cli/report_text.h"

#include <google/protobuf/util/json_util.h>

#include <cstdio>
#include <map>

namespace ingresslab::cli {
namespace {

std::string fmt(const char* format, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, format, v);
  return buf;
}

std::string ms(double v) {
  return v >= 100 ? fmt("%.1f", v) : v >= 1 ? fmt("%.2f", v) : fmt("%.3f", v);
}

void latency_row(std::string& out, const std::string& name, const result::LatencyMs& l,
                 const std::string& extra) {
  char buf[256];
  std::string ci = "";
  if (l.has_ci95_mean() && l.ci95_mean().half_width() > 0)
    ci = "±" + ms(l.ci95_mean().half_width());
  std::snprintf(buf, sizeof buf, "  %-20s %9s %-9s %9s %9s %9s %9s %s\n", name.c_str(),
                ms(l.mean()).c_str(), ci.c_str(), ms(l.p50()).c_str(), ms(l.p90()).c_str(),
                ms(l.p99()).c_str(), ms(l.p999()).c_str(), extra.c_str());
  out += buf;
}

void render_one(std::string& out, const result::RunResult& r, const std::string& title) {
  const auto& e = r.end_to_end();
  out += title + "\n";
  char buf[512];
  std::snprintf(buf, sizeof buf,
                "  throughput %.1f req/s (offered %.1f/s)   success %.3f%%   requests %llu   "
                "replications %u x %.0fs\n\n",
                e.throughput_rps(), e.offered_rps(), e.success_ratio() * 100,
                static_cast<unsigned long long>(e.requests()), r.run().replications(),
                r.run().duration_s());
  out += buf;
  out += "  latency (ms)            mean  95% CI         p50       p90       p99     p99.9\n";
  latency_row(out, "end to end", e.latency_ms(), "");
  for (const auto& h : r.hops()) {
    std::string extra;
    if (h.has_utilization()) extra = "util " + fmt("%.1f%%", h.utilization() * 100);
    if (h.bottleneck()) extra += "  <- bottleneck";
    latency_row(out, h.name(), h.latency_ms(), extra);
    if (h.queueing_ms().mean() > 0 && h.service_ms().mean() > 0) {
      latency_row(out, "  queueing", h.queueing_ms(), "");
      latency_row(out, "  service", h.service_ms(), "");
    }
  }
  if (r.routes_size() > 0) {
    out += "\n  routes                                  requests  success     mean      p99\n";
    for (const auto& rt : r.routes()) {
      std::snprintf(buf, sizeof buf, "  %-38s %9llu  %6.2f%% %8s %8s\n",
                    (rt.host() + rt.path() + " -> " + rt.service()).c_str(),
                    static_cast<unsigned long long>(rt.requests()), rt.success_ratio() * 100,
                    ms(rt.latency_ms().mean()).c_str(), ms(rt.latency_ms().p99()).c_str());
      out += buf;
    }
  }
  const auto& err = r.errors();
  std::snprintf(
      buf, sizeof buf,
      "\n  errors: timeout %llu  refused %llu  503 %llu  no route %llu  upstream timeout %llu\n",
      static_cast<unsigned long long>(err.timeout()),
      static_cast<unsigned long long>(err.refused()),
      static_cast<unsigned long long>(err.http_503()),
      static_cast<unsigned long long>(err.no_route()),
      static_cast<unsigned long long>(err.upstream_timeout()));
  out += buf;
  const auto& c = r.connections();
  std::snprintf(buf, sizeof buf,
                "  connections: client %llu  TLS full %llu  resumed %llu  NAT first packets %llu  "
                "upstream opened %llu  reused %llu\n",
                static_cast<unsigned long long>(c.client_connections()),
                static_cast<unsigned long long>(c.tls_full_handshakes()),
                static_cast<unsigned long long>(c.tls_resumed_handshakes()),
                static_cast<unsigned long long>(c.nat_first_packets()),
                static_cast<unsigned long long>(c.upstream_connections_opened()),
                static_cast<unsigned long long>(c.upstream_requests_on_reused_connections()));
  out += buf;
  if (c.retries() > 0 || c.has_client_retries()) {
    std::snprintf(buf, sizeof buf, "  retries: proxy %llu  client %llu\n",
                  static_cast<unsigned long long>(c.retries()),
                  static_cast<unsigned long long>(c.client_retries()));
    out += buf;
  }
  if (r.cross_zone().bytes() > 0) {
    std::snprintf(buf, sizeof buf, "  cross-zone: %.1f MiB (cost %.4f)\n",
                  r.cross_zone().bytes() / 1048576.0, r.cross_zone().cost());
    out += buf;
  }
  out += "\n  components              kind          node          util   queue   requests\n";
  for (const auto& comp : r.components()) {
    std::snprintf(buf, sizeof buf, "  %-22s %-13s %-12s %5.1f%% %7.2f %10llu\n",
                  comp.name().c_str(), comp.kind().c_str(), comp.node().c_str(),
                  comp.utilization() * 100, comp.mean_queue_length(),
                  static_cast<unsigned long long>(comp.requests()));
    out += buf;
  }
  for (const auto& note : r.run().notes())
    out += "  note: " + note + "\n";
  out += "\n";
}

}  // namespace

std::string render_text(const result::RunResult& r) {
  std::string out;
  if (r.variants_size() == 0) {
    render_one(out, r,
               "== " + r.scenario() + (r.variant().empty() ? "" : " [" + r.variant() + "]"));
    return out;
  }
  std::map<std::string, const result::RunResult*> ordered;
  for (const auto& [name, v] : r.variants())
    ordered.emplace(name, &v);
  for (const auto& [name, v] : ordered)
    render_one(out, *v, "== " + r.scenario() + " [" + name + "]");
  return out;
}

std::string render_csv(const result::RunResult& r) {
  std::string out = "variant,scope,name,metric,value\n";
  auto one = [&](const std::string& variant, const result::RunResult& x) {
    auto row = [&](const std::string& scope, const std::string& name, const std::string& metric,
                   double v) {
      out += variant + "," + scope + "," + name + "," + metric + "," + fmt("%.9g", v) + "\n";
    };
    auto lat = [&](const std::string& scope, const std::string& name, const result::LatencyMs& l) {
      row(scope, name, "latency_mean_ms", l.mean());
      row(scope, name, "latency_p50_ms", l.p50());
      row(scope, name, "latency_p90_ms", l.p90());
      row(scope, name, "latency_p99_ms", l.p99());
      row(scope, name, "latency_p999_ms", l.p999());
    };
    lat("end_to_end", "end_to_end", x.end_to_end().latency_ms());
    row("end_to_end", "end_to_end", "throughput_rps", x.end_to_end().throughput_rps());
    row("end_to_end", "end_to_end", "success_ratio", x.end_to_end().success_ratio());
    for (const auto& h : x.hops()) {
      lat("hop", h.name(), h.latency_ms());
      row("hop", h.name(), "queueing_mean_ms", h.queueing_ms().mean());
      row("hop", h.name(), "service_mean_ms", h.service_ms().mean());
      if (h.has_utilization()) row("hop", h.name(), "utilization", h.utilization());
    }
    for (const auto& c : x.components())
      row("component", c.name(), "utilization", c.utilization());
  };
  if (r.variants_size() == 0) {
    one(r.variant().empty() ? "base" : r.variant(), r);
  } else {
    std::map<std::string, const result::RunResult*> ordered;
    for (const auto& [name, v] : r.variants())
      ordered.emplace(name, &v);
    for (const auto& [name, v] : ordered)
      one(name, *v);
  }
  return out;
}

std::string render_json(const result::RunResult& r) {
  std::string json;
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  options.always_print_primitive_fields = true;
  options.add_whitespace = true;
  (void)google::protobuf::util::MessageToJsonString(r, &json, options);
  return json;
}

}  // namespace ingresslab::cli
