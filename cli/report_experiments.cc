#include "cli/report_experiments.h"

#include <QtCharts/QChart>
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <set>

#include "cli/report_html.h"
#include "viz/charts.h"
#include "viz/offscreen.h"

namespace ingresslab::cli {
namespace {

std::string num(const char* format, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, format, v);
  return buf;
}

// A metric's value as the JSON value rounded: ms 3 decimals, rates 1, ratios as percentages.
std::string metric_html(const std::string& metric, double v) {
  if (metric.starts_with("success")) return html_percent(v, 3);
  if (metric.starts_with("throughput")) return html_rps(v);
  return html_ms(v);
}

std::string signed_metric(const std::string& metric, double v) {
  return (v < 0 ? "−" : "+") + metric_html(metric, std::abs(v));
}

const char* metric_label(const std::string& metric) {
  if (metric == "latency_mean_ms") return "mean (ms)";
  if (metric == "latency_p50_ms") return "p50 (ms)";
  if (metric == "latency_p90_ms") return "p90 (ms)";
  if (metric == "latency_p99_ms") return "p99 (ms)";
  if (metric == "latency_p999_ms") return "p99.9 (ms)";
  if (metric == "throughput_rps") return "throughput (req/s)";
  if (metric == "success_ratio") return "success";
  return "";
}

std::string settings_text(const google::protobuf::Map<std::string, std::string>& settings,
                          const std::vector<std::string>& order) {
  std::string out;
  for (const std::string& path : order) {
    auto it = settings.find(path);
    if (it == settings.end()) continue;
    out += (out.empty() ? "" : ", ") + path + "=" + it->second;
  }
  return out;
}

const result::Hop* bottleneck_hop(const result::RunResult& r) {
  for (const auto& h : r.hops()) {
    if (h.bottleneck()) return &h;
  }
  return nullptr;
}

std::string nav(const std::vector<std::pair<std::string, std::string>>& links) {
  std::string out = "<nav>";
  for (const auto& [id, text] : links)
    out += "<a href=\"#" + id + "\">" + text + "</a>";
  return out + "</nav>\n</header>\n";
}

// Latency percentiles and utilisation per hop against x, from a curve of run results.
struct Curve {
  std::vector<double> x;
  std::vector<const result::RunResult*> runs;
};

std::unique_ptr<QChart> latency_chart(const Curve& c, const std::string& x_title,
                                      const std::vector<viz::ReferenceLine>& vertical,
                                      const std::vector<viz::ReferenceLine>& horizontal) {
  viz::XyChartSpec spec;
  spec.title = "Latency against " + x_title;
  spec.x_title = x_title;
  spec.y_title = "end-to-end latency (ms)";
  struct Which {
    const char* name;
    double (*of)(const result::LatencyMs&);
  };
  const Which which[] = {
      {"p50", [](const result::LatencyMs& l) { return l.p50(); }},
      {"p99", [](const result::LatencyMs& l) { return l.p99(); }},
      {"p99.9", [](const result::LatencyMs& l) { return l.p999(); }},
      {"mean", [](const result::LatencyMs& l) { return l.mean(); }},
  };
  double lo = 1e300, hi = 0;
  for (const Which& w : which) {
    viz::XySeries s;
    s.name = w.name;
    s.dashed = std::string(w.name) == "mean";
    for (size_t i = 0; i < c.x.size(); ++i) {
      const double y = w.of(c.runs[i]->end_to_end().latency_ms());
      s.points.emplace_back(c.x[i], y);
      if (y > 0) {
        lo = std::min(lo, y);
        hi = std::max(hi, y);
      }
    }
    spec.series.push_back(std::move(s));
  }
  spec.log_y = hi > 0 && hi / lo > 50;
  spec.vertical = vertical;
  spec.horizontal = horizontal;
  return viz::xy_chart(spec);
}

std::unique_ptr<QChart> utilization_chart(const Curve& c, const std::string& x_title,
                                          const std::vector<viz::ReferenceLine>& vertical) {
  viz::XyChartSpec spec;
  spec.title = "Utilisation against " + x_title;
  spec.x_title = x_title;
  spec.y_title = "busy share of the hop's servers (%)";
  spec.y_max = 100;
  std::vector<std::string> hops;
  for (const auto* r : c.runs) {
    for (const auto& h : r->hops()) {
      if (h.has_utilization() && std::find(hops.begin(), hops.end(), h.name()) == hops.end())
        hops.push_back(h.name());
    }
  }
  for (const std::string& hop : hops) {
    viz::XySeries s;
    s.name = hop;
    for (size_t i = 0; i < c.x.size(); ++i) {
      for (const auto& h : c.runs[i]->hops()) {
        if (h.name() == hop && h.has_utilization())
          s.points.emplace_back(c.x[i], h.utilization() * 100);
      }
    }
    spec.series.push_back(std::move(s));
  }
  spec.vertical = vertical;
  return viz::xy_chart(spec);
}

// One row per point/candidate of run-level numbers.
std::string run_cells(const result::RunResult& r, const std::string& key) {
  const auto& e = r.end_to_end();
  const auto& l = e.latency_ms();
  const result::Hop* b = bottleneck_hop(r);
  auto cell = [&](const std::string& field, const std::string& text) {
    return "<td data-key=\"" + key + "." + field + "\">" + text + "</td>";
  };
  return cell("end_to_end.throughput_rps", html_rps(e.throughput_rps())) +
         cell("end_to_end.success_ratio", html_percent(e.success_ratio(), 3)) +
         cell("end_to_end.latency_ms.mean", html_ms(l.mean())) +
         cell("end_to_end.latency_ms.p50", html_ms(l.p50())) +
         cell("end_to_end.latency_ms.p99", html_ms(l.p99())) +
         cell("end_to_end.latency_ms.p999", html_ms(l.p999())) + "<td class=\"text\">" +
         (b != nullptr ? html_escape(b->name()) + " (" + html_percent(b->utilization(), 1) + ")"
                       : "—") +
         "</td>";
}

const char* kRunHeader =
    "<th>throughput (req/s)</th><th>success</th><th>mean (ms)</th><th>p50 (ms)</th>"
    "<th>p99 (ms)</th><th>p99.9 (ms)</th><th class=\"text\">bottleneck hop</th>";

}  // namespace

result::RunResult compare_as_run_result(const experiment::CompareResult& c) {
  result::RunResult combined;
  if (c.order_size() == 0) return combined;
  combined = c.variants().at(c.order(0));
  combined.set_variant("");
  combined.clear_variants();
  for (const auto& [name, r] : c.variants())
    (*combined.mutable_variants())[name] = r;
  return combined;
}

std::string render_compare_html(const experiment::CompareResult& c) {
  viz::OffscreenApplication qt;
  std::string extra =
      "<h2 id=\"differences\">Differences against " + html_escape(c.order(0)) +
      "</h2>\n<p class=\"muted\">Every configuration ran replication r with the same seed "
      "(common random numbers, seed " +
      std::to_string(c.seed()) + ", " + std::to_string(c.replications()) +
      " replications). A difference is the mean over replications of (variant − " +
      html_escape(c.order(0)) +
      ") with its 95% Student-t interval; it is significant when the interval excludes 0. "
      "Latency percentiles are per-replication percentiles averaged.</p>\n"
      "<div class=\"table-wrap\"><table>\n<tr><th>variant</th><th class=\"text\">metric</th><th>" +
      html_escape(c.order(0)) +
      "</th><th>variant</th><th>difference</th><th>95% CI</th><th>relative</th>"
      "<th class=\"text\">verdict</th></tr>\n";
  std::map<std::string, int> wins;
  for (const auto& d : c.differences()) {
    const std::string key = "differences." + d.variant() + "." + d.metric();
    std::string ci = "—";
    if (d.has_ci95()) {
      ci = "[" + signed_metric(d.metric(), d.ci95().lower()) + ", " +
           signed_metric(d.metric(), d.ci95().upper()) + "]";
    }
    if (d.significant()) ++wins[d.better()];
    extra += std::string("<tr") + (d.significant() ? " class=\"best\"" : "") + "><td>" +
             html_escape(d.variant()) + "</td><td class=\"text\">" + metric_label(d.metric()) +
             "</td><td>" + metric_html(d.metric(), d.baseline_value()) + "</td><td>" +
             metric_html(d.metric(), d.variant_value()) + "</td><td data-key=\"" + key + "\">" +
             signed_metric(d.metric(), d.difference()) + "</td><td>" + ci + "</td><td>" +
             num("%+.1f%%", d.relative() * 100) + "</td><td class=\"text\" data-key=\"" + key +
             ".verdict\">" +
             (d.significant() ? "significant: <b>" + html_escape(d.better()) + "</b> better"
                              : std::string("not significant")) +
             "</td></tr>\n";
  }
  extra += "</table></div>\n<p>";
  if (wins.empty()) {
    extra +=
        "No difference is significant at 95%: on this traffic the configurations cannot be "
        "told apart (run more replications or longer to resolve smaller effects).";
  } else {
    std::string list;
    for (const auto& [name, n] : wins)
      list += (list.empty() ? "" : "; ") + ("<b>" + html_escape(name) + "</b> better on " +
                                            std::to_string(n) + " metric" + (n == 1 ? "" : "s"));
    extra += "Significant differences: " + list + ".";
  }
  extra += "</p>\n";
  if (c.partial()) {
    extra =
        "<div class=\"banner\">Interrupted: these results cover only the replications that "
        "finished.</div>\n" +
        extra;
  }
  return render_html(compare_as_run_result(c), c.scenario_text(), c.command(), extra);
}

std::string render_sweep_html(const experiment::SweepResult& s) {
  viz::OffscreenApplication qt;
  std::vector<std::string> paths;
  for (const auto& a : s.axes())
    paths.push_back(a.path());
  const std::string x_title = paths.empty() ? "value" : paths[0];
  std::string out = html_head("sweep " + s.scenario());
  out += "<header>\n<h1>" + html_escape(s.scenario()) + " — sweep of " + html_escape(x_title) +
         "</h1>\n<p class=\"sub\">" + std::to_string(s.points_size()) + " points · " +
         std::to_string(s.replications()) + " replications each (common random numbers, seed " +
         std::to_string(s.seed()) + ")</p>\n" +
         nav({{"summary", "Summary"},
              {"charts", "Charts"},
              {"points", "Points"},
              {"scenario", "Scenario"},
              {"reproduce", "Reproduce"}});
  if (s.partial()) {
    out += "<div class=\"banner\">Interrupted: points or replications are missing.</div>\n";
  }
  out +=
      "<h2 id=\"summary\">Summary</h2>\n<p class=\"muted\">The knee is the first point of a "
      "line (the first swept field varying, the others fixed) whose p99 is at least " +
      num("%g", s.knee_factor()) +
      " × the p99 of the line's first point: where p99 leaves the flat region.</p>\n<ul>\n";
  std::vector<viz::ReferenceLine> knees;
  for (int k = 0; k < s.knees_size(); ++k) {
    const auto& knee = s.knees(k);
    std::vector<std::string> others(paths.begin() + (paths.empty() ? 0 : 1), paths.end());
    const std::string line = settings_text(knee.line(), others);
    out += "<li>" + (line.empty() ? std::string() : html_escape(line) + ": ");
    if (knee.found()) {
      out += "knee at <b data-key=\"knees." + std::to_string(k) + ".x\">" + num("%g", knee.x()) +
             "</b> (" + html_escape(x_title) + "): p99 " + html_ms(knee.p99_ms()) + " ms against " +
             html_ms(knee.baseline_p99_ms()) + " ms at the first point";
      knees.push_back({"knee" + (line.empty() ? "" : " (" + line + ")"), knee.x()});
    } else {
      out += "no knee: p99 stays below " + num("%g", s.knee_factor()) + " × " +
             html_ms(knee.baseline_p99_ms()) + " ms over the whole range";
    }
    out += "</li>\n";
  }
  out += "</ul>\n<h2 id=\"charts\">Charts</h2>\n";
  // One curve per line of the grid; the first line's is charted in full, others by p99.
  std::map<std::string, Curve> lines;
  std::vector<std::string> line_order;
  for (const auto& p : s.points()) {
    std::vector<std::string> others(paths.begin() + (paths.empty() ? 0 : 1), paths.end());
    const std::string key = settings_text(p.settings(), others);
    if (lines.count(key) == 0) line_order.push_back(key);
    lines[key].x.push_back(p.x());
    lines[key].runs.push_back(&p.result());
  }
  for (const std::string& key : line_order) {
    const Curve& c = lines[key];
    const std::string suffix = key.empty() ? "" : " (" + key + ")";
    out += html_figure(latency_chart(c, x_title, knees, {}), "Latency against " + x_title + suffix,
                       "End-to-end latency percentiles at each swept value" + html_escape(suffix) +
                           "; the dashed vertical line marks the knee. Log scale when the "
                           "latencies span more than 50×.");
    out += html_figure(
        utilization_chart(c, x_title, knees), "Utilisation against " + x_title + suffix,
        "Busy share of each hop with servers (ingress workers, pods)" + html_escape(suffix) + ".");
  }
  out += "<h2 id=\"points\">Points</h2>\n<div class=\"table-wrap\"><table>\n<tr>";
  for (const std::string& path : paths)
    out += "<th class=\"text\">" + html_escape(path) + "</th>";
  out += std::string(kRunHeader) + "</tr>\n";
  for (int i = 0; i < s.points_size(); ++i) {
    const auto& p = s.points(i);
    bool is_knee = false;
    for (const auto& knee : s.knees())
      is_knee = is_knee || (knee.found() && knee.point() == i);
    out += std::string("<tr") + (is_knee ? " class=\"best\"" : "") + ">";
    for (const std::string& path : paths) {
      auto it = p.settings().find(path);
      out += "<td class=\"text\">" + html_escape(it == p.settings().end() ? "" : it->second) +
             (is_knee && path == paths[0] ? " ◀ knee" : "") + "</td>";
    }
    out += run_cells(p.result(), "points." + std::to_string(i) + ".result") + "</tr>\n";
  }
  out += "</table></div>\n";
  out += html_page_end(s.scenario_text(), s.command());
  return out;
}

std::string render_plan_html(const experiment::PlanResult& p) {
  viz::OffscreenApplication qt;
  std::vector<std::string> paths;
  if (p.candidates_size() > 0) {
    for (const auto& [path, value] : p.candidates(0).settings())
      paths.push_back(path);
    std::sort(paths.begin(), paths.end());
  }
  std::string slos;
  for (const auto& slo : p.slos())
    slos += (slos.empty() ? "" : ", ") + slo.text();
  std::string out = html_head("plan " + p.scenario());
  out += "<header>\n<h1>" + html_escape(p.scenario()) + " — capacity plan</h1>\n<p class=\"sub\">" +
         "target " + html_rps(p.target_rps()) + " req/s · SLOs " + html_escape(slos) + " · " +
         std::to_string(p.candidates_size()) + " candidates, " + std::to_string(p.infeasible()) +
         " infeasible, " + std::to_string(p.pruned()) + " pruned by the analytic model, " +
         std::to_string(p.simulated()) + " simulated × " + std::to_string(p.replications()) +
         " replications</p>\n" +
         nav({{"summary", "Recommendation"},
              {"charts", "Charts"},
              {"candidates", "Candidates"},
              {"scenario", "Scenario"},
              {"reproduce", "Reproduce"}});
  if (p.partial()) {
    out +=
        "<div class=\"banner\">Interrupted: not every candidate was simulated; the answer may "
        "not be the cheapest.</div>\n";
  }
  out += "<h2 id=\"summary\">Recommendation</h2>\n";
  if (p.best() < 0) {
    out += "<div class=\"banner\" data-key=\"best\">No candidate meets every SLO at " +
           html_rps(p.target_rps()) + " req/s.</div>\n";
  } else {
    const auto& best = p.candidates(p.best());
    out += "<p data-key=\"best.settings\"><b>" +
           html_escape(settings_text(best.settings(), paths)) + "</b></p>\n<div class=\"cards\">\n";
    auto card = [&](const std::string& label, const std::string& key, const std::string& value,
                    const std::string& unit) {
      out += "<div class=\"card\"><div class=\"label\">" + label +
             "</div><div class=\"value\" data-key=\"" + key + "\">" + value +
             "</div><div class=\"unit\">" + unit + "</div></div>\n";
    };
    card("Cost", "best.cost_per_hour", num("%.4f", best.cost_per_hour()),
         html_escape(p.currency()) + " per hour");
    card("p99", "best.result.end_to_end.latency_ms.p99",
         html_ms(best.result().end_to_end().latency_ms().p99()), "ms at the target rate");
    card("Success", "best.result.end_to_end.success_ratio",
         html_percent(best.result().end_to_end().success_ratio(), 3), "at the target rate");
    card("Headroom", "headroom_rps", html_rps(p.headroom_rps()),
         "req/s still meeting the SLOs (" + num("%.2f", p.headroom_ratio()) + "× target)");
    card("Bottleneck hop", "bottleneck_hop", html_escape(p.bottleneck_hop()),
         "analytic: " + html_escape(p.bottleneck_station()));
    out += "</div>\n";
    if (p.runner_ups_size() > 0) {
      out += "<p>Runner-ups: ";
      for (int i = 0; i < p.runner_ups_size(); ++i) {
        const auto& c = p.candidates(p.runner_ups(i));
        out += std::string(i > 0 ? "; " : "") + html_escape(settings_text(c.settings(), paths)) +
               " (" + num("%.4f", c.cost_per_hour()) + " " + html_escape(p.currency()) +
               "/h, p99 " + html_ms(c.result().end_to_end().latency_ms().p99()) + " ms)";
      }
      out += ".</p>\n";
    }
  }
  out += "<h2 id=\"charts\">Charts</h2>\n";
  if (p.load_curve_size() > 0) {
    Curve c;
    for (const auto& point : p.load_curve()) {
      c.x.push_back(point.x());
      c.runs.push_back(&point.result());
    }
    std::vector<viz::ReferenceLine> vertical = {{"target rate", p.target_rps()}};
    if (p.headroom_rps() > 0) vertical.push_back({"headroom", p.headroom_rps()});
    std::vector<viz::ReferenceLine> horizontal;
    for (const auto& slo : p.slos()) {
      if (slo.metric() != "success") horizontal.push_back({"SLO " + slo.text(), slo.target()});
    }
    out += html_figure(latency_chart(c, "offered load (req/s)", vertical, horizontal),
                       "Latency of the recommended configuration against load",
                       "The rates the headroom search simulated; the dash-dot line is the SLO, "
                       "the dashed lines the target rate and the headroom.");
    out += html_figure(utilization_chart(c, "offered load (req/s)", vertical),
                       "Utilisation of the recommended configuration against load",
                       "Busy share of each hop with servers at each rate.");
  }
  if (p.best() >= 0) out += html_run_charts(p.candidates(p.best()).result());
  out +=
      "<h2 id=\"candidates\">Candidates</h2>\n<p class=\"muted\">Cheapest first. Pruned: the "
      "analytic model (open queueing network) says a station is at or over 100% busy, or its "
      "mean latency already exceeds a latency SLO. Simulated candidates are confirmed at the "
      "target rate.</p>\n<div class=\"table-wrap\"><table>\n<tr>";
  for (const std::string& path : paths)
    out += "<th class=\"text\">" + html_escape(path) + "</th>";
  out +=
      "<th>cost/h</th><th>analytic max util</th><th>analytic mean (ms)</th>"
      "<th class=\"text\">status</th>" +
      std::string(kRunHeader) + "<th class=\"text\">why</th></tr>\n";
  for (int i = 0; i < p.candidates_size(); ++i) {
    const auto& c = p.candidates(i);
    out += std::string("<tr") + (i == p.best() ? " class=\"best\"" : "") + ">";
    for (const std::string& path : paths) {
      auto it = c.settings().find(path);
      out +=
          "<td class=\"text\">" + html_escape(it == c.settings().end() ? "" : it->second) + "</td>";
    }
    out += "<td>" + num("%.4f", c.cost_per_hour()) + "</td><td>" +
           (c.analytic_ok() ? html_percent(c.analytic_max_utilization(), 1) : "—") + "</td><td>" +
           (c.analytic_ok() && std::isfinite(c.analytic_mean_ms()) ? html_ms(c.analytic_mean_ms())
                                                                   : "—") +
           "</td><td class=\"text\" data-key=\"candidates." + std::to_string(i) + ".status\">" +
           html_escape(c.status()) + "</td>";
    if (c.has_result()) {
      out += run_cells(c.result(), "candidates." + std::to_string(i) + ".result");
    } else {
      out += "<td colspan=\"7\"></td>";
    }
    out += "<td class=\"text\">" + html_escape(c.reason()) + "</td></tr>\n";
  }
  out += "</table></div>\n";
  out += html_page_end(p.scenario_text(), p.command());
  return out;
}

}  // namespace ingresslab::cli
