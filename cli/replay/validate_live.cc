#include "cli/replay/validate_live.h"

#include <cmath>
#include <cstdio>
#include <map>
#include <optional>

namespace ingresslab::replay {
namespace {

// Mean time per end-to-end request spent in `names` (ms), or nullopt if the result has none.
std::optional<double> per_request_ms(const result::RunResult& r,
                                     const std::vector<std::string>& names) {
  const double requests = static_cast<double>(r.end_to_end().requests());
  if (requests <= 0) return std::nullopt;
  double total = 0;
  bool any = false;
  for (const auto& hop : r.hops()) {
    for (const std::string& n : names) {
      if (hop.name() != n) continue;
      total += hop.latency_ms().mean() * static_cast<double>(hop.requests());
      any = true;
    }
  }
  if (!any) return std::nullopt;
  return total / requests;
}

std::string format(double v) {
  char buf[32];
  if (std::isnan(v)) return "-";
  if (std::fabs(v) >= 1000) {
    std::snprintf(buf, sizeof buf, "%.0f", v);
  } else if (std::fabs(v) >= 10) {
    std::snprintf(buf, sizeof buf, "%.2f", v);
  } else {
    std::snprintf(buf, sizeof buf, "%.3f", v);
  }
  return buf;
}

}  // namespace

double LiveRow::relative_error() const {
  return live == 0 ? std::nan("") : (sim - live) / live;
}

std::vector<LiveRow> compare_live(const result::RunResult& sim, const result::RunResult& live) {
  std::vector<LiveRow> rows;
  const auto& s = sim.end_to_end();
  const auto& l = live.end_to_end();
  rows.push_back({"p50 (ms)", s.latency_ms().p50(), l.latency_ms().p50()});
  rows.push_back({"p90 (ms)", s.latency_ms().p90(), l.latency_ms().p90()});
  rows.push_back({"p99 (ms)", s.latency_ms().p99(), l.latency_ms().p99()});
  rows.push_back({"mean (ms)", s.latency_ms().mean(), l.latency_ms().mean()});
  rows.push_back({"throughput (req/s)", s.throughput_rps(), l.throughput_rps()});
  rows.push_back({"success ratio", s.success_ratio(), l.success_ratio()});
  const std::vector<
      std::pair<std::string, std::pair<std::vector<std::string>, std::vector<std::string>>>>
      hops = {
          {"ingress_tls", {{"ingress_tls"}, {"ingress_tls"}}},
          {"ingress_proxy", {{"ingress_proxy"}, {"ingress_proxy"}}},
          {"upstream_connect", {{"upstream_connect"}, {"upstream_connect"}}},
          {"pod (+ pod_network)", {{"pod", "pod_network"}, {"pod"}}},
      };
  for (const auto& [label, names] : hops) {
    const auto a = per_request_ms(sim, names.first);
    const auto b = per_request_ms(live, names.second);
    if (a && b) rows.push_back({"hop " + label + " (ms/request)", *a, *b});
  }
  return rows;
}

std::string render_live_text(const std::string& title, const std::vector<LiveLevel>& levels,
                             const std::vector<std::string>& notes) {
  std::string out = title + "\n";
  for (const LiveLevel& level : levels) {
    char head[160];
    std::snprintf(head, sizeof head, "\nload %.0f%% of saturation: %.0f req/s offered\n",
                  level.share * 100, level.offered_rps);
    out += head;
    char line[160];
    std::snprintf(line, sizeof line, "  %-36s %12s %12s %10s\n", "", "simulated", "measured",
                  "sim error");
    out += line;
    for (const LiveRow& r : level.rows) {
      const double e = r.relative_error();
      std::string err = "-";
      if (!std::isnan(e)) {
        char b[32];
        std::snprintf(b, sizeof b, "%+.1f%%", e * 100);
        err = b;
      }
      std::snprintf(line, sizeof line, "  %-36s %12s %12s %10s\n", r.metric.c_str(),
                    format(r.sim).c_str(), format(r.live).c_str(), err.c_str());
      out += line;
    }
  }
  if (!notes.empty()) {
    out += "\n";
    for (const std::string& n : notes)
      out += "note: " + n + "\n";
  }
  return out;
}

std::string render_live_csv(const std::vector<LiveLevel>& levels) {
  std::string out = "load_share,offered_rps,metric,sim,live,relative_error\n";
  for (const LiveLevel& level : levels) {
    for (const LiveRow& r : level.rows) {
      char line[256];
      std::snprintf(line, sizeof line, "%.2f,%.1f,\"%s\",%.6g,%.6g,%.6g\n", level.share,
                    level.offered_rps, r.metric.c_str(), r.sim, r.live, r.relative_error());
      out += line;
    }
  }
  return out;
}

}  // namespace ingresslab::replay
