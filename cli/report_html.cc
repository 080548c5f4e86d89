#include "cli/report_html.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "viz/charts.h"

#ifndef INGRESSLAB_VERSION
#define INGRESSLAB_VERSION "0.0.0"
#endif

namespace ingresslab::cli {
namespace {

using viz::NamedRun;

// ---- formatting: one rule per kind of number, used everywhere in the report ----

// printf of one double, any length.
std::string printf_string(const char* format, double v) {
  const int size = std::snprintf(nullptr, 0, format, v);
  std::string out(static_cast<size_t>(std::max(size, 0)), '\0');
  std::snprintf(out.data(), out.size() + 1, format, v);
  return out;
}
// Latency in ms, 3 decimals (1 µs): the JSON value rounded.
std::string ms(double v) {
  return printf_string("%.3f", v);
}
// Requests per second, 1 decimal.
std::string rps(double v) {
  return printf_string("%.1f", v);
}
// A ratio in [0, 1] as a percentage with `decimals` decimals.
std::string percent(double ratio, int decimals) {
  const int size = std::snprintf(nullptr, 0, "%.*f%%", decimals, ratio * 100);
  std::string out(static_cast<size_t>(std::max(size, 0)), '\0');
  std::snprintf(out.data(), out.size() + 1, "%.*f%%", decimals, ratio * 100);
  return out;
}
std::string count(uint64_t v) {
  return std::to_string(v);
}

std::string escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

// ---- charts ----

// Replaces the value of attribute `name` in an element's opening tag `tag`.
void set_attribute(std::string& tag, const std::string& name, const std::string& value) {
  const std::string key = " " + name + "=\"";
  const size_t at = tag.find(key);
  if (at == std::string::npos) {
    tag += key + value + "\"";
    return;
  }
  const size_t value_start = at + key.size();
  const size_t value_end = tag.find('"', value_start);
  tag.replace(value_start, value_end - value_start, value);
}

// The chart as an <svg> element for inline use: no XML declaration, pixel size, accessible name.
std::string inline_svg(QChart* chart, const std::string& label) {
  const QSize size = chart->preferredSize().toSize();
  std::string svg = viz::render_svg(chart, size).toStdString();
  const size_t start = svg.find("<svg");
  if (start == std::string::npos) return "";
  svg.erase(0, start);
  const size_t root_end = svg.find('>');
  std::string root = svg.substr(0, root_end);
  set_attribute(root, "width", std::to_string(size.width()));
  set_attribute(root, "height", std::to_string(size.height()));
  root += " class=\"chart\" role=\"img\" aria-label=\"" + escape(label) + "\"";
  svg.replace(0, root_end, root);
  return svg;
}

void figure(std::string& out, std::unique_ptr<QChart> chart, const std::string& label,
            const std::string& caption) {
  out += "<figure class=\"chart\">\n" + inline_svg(chart.get(), label) + "\n<figcaption>" +
         caption + "</figcaption>\n</figure>\n";
}

// ---- facts derived from a result ----

const result::Hop* bottleneck_of(const result::RunResult& r) {
  for (const auto& h : r.hops()) {
    if (h.bottleneck()) return &h;
  }
  return nullptr;
}

const result::Hop* slowest_hop_at_p99(const result::RunResult& r) {
  const result::Hop* slowest = nullptr;
  for (const auto& h : r.hops()) {
    if (slowest == nullptr || h.latency_ms().p99() > slowest->latency_ms().p99()) slowest = &h;
  }
  return slowest;
}

std::string bottleneck_text(const result::RunResult& r) {
  const result::Hop* b = bottleneck_of(r);
  if (b == nullptr) return "none measured";
  return escape(b->name()) + " (" + percent(b->utilization(), 1) + " busy)";
}

bool has_histogram(const std::vector<NamedRun>& runs) {
  return std::any_of(runs.begin(), runs.end(),
                     [](const NamedRun& r) { return r.result->latency_histogram_size() > 0; });
}
bool has_hops(const std::vector<NamedRun>& runs) {
  return std::any_of(runs.begin(), runs.end(),
                     [](const NamedRun& r) { return r.result->hops_size() > 0; });
}
bool has_components(const std::vector<NamedRun>& runs) {
  return std::any_of(runs.begin(), runs.end(),
                     [](const NamedRun& r) { return r.result->components_size() > 0; });
}
bool has_time_series(const std::vector<NamedRun>& runs) {
  return std::any_of(runs.begin(), runs.end(),
                     [](const NamedRun& r) { return r.result->time_series_size() > 0; });
}

// ---- sections ----

constexpr const char* kStyle = R"css(
:root { --fg:#1f2328; --muted:#59636e; --line:#d8dee4; --soft:#f6f8fa; --accent:#4e79a7;
        --warn:#9a6700; --warn-bg:#fff8c5; --best:#dafbe1; }
* { box-sizing: border-box; }
body { margin: 0; color: var(--fg); background: #fff;
       font: 15px/1.5 system-ui, -apple-system, "Segoe UI", "DejaVu Sans", Arial, sans-serif; }
main { max-width: 1080px; margin: 0 auto; padding: 24px 20px 64px; }
h1 { font-size: 26px; margin: 0 0 4px; }
h2 { font-size: 20px; margin: 40px 0 12px; padding-bottom: 4px; border-bottom: 1px solid var(--line); }
h3 { font-size: 16px; margin: 24px 0 8px; }
p.sub, .muted { color: var(--muted); }
p.sub { margin: 0 0 16px; }
nav { font-size: 14px; margin: 8px 0 0; }
nav a { color: var(--accent); margin-right: 12px; text-decoration: none; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(125px, 1fr)); gap: 10px;
         margin: 16px 0; }
.card { border: 1px solid var(--line); border-radius: 8px; padding: 10px 14px; background: var(--soft); }
.card .label { font-size: 13px; color: var(--muted); }
.card .value { font-size: 21px; font-weight: 600; font-variant-numeric: tabular-nums; }
.card .unit { font-size: 13px; color: var(--muted); }
.card.wide { grid-column: span 2; }
.banner { border: 1px solid var(--warn); background: var(--warn-bg); color: var(--warn);
          border-radius: 8px; padding: 8px 14px; margin: 12px 0; }
table { border-collapse: collapse; margin: 8px 0 16px; font-size: 13.5px; width: 100%; }
table.compact { width: auto; }
th, td { padding: 4px 8px; border-bottom: 1px solid var(--line); text-align: right; white-space: nowrap; }
th { background: var(--soft); font-weight: 600; white-space: normal; vertical-align: bottom; }
th:first-child, td:first-child, td.text, th.text { text-align: left; }
td { font-variant-numeric: tabular-nums; }
tr.bottleneck td:first-child::after { content: "  ◀ bottleneck"; color: #e15759; font-weight: 600; }
tr.best td { background: var(--best); }
.table-wrap { overflow-x: auto; }
figure.chart { margin: 16px 0 28px; }
svg.chart { max-width: 100%; height: auto; display: block; border: 1px solid var(--line); border-radius: 6px; }
svg.chart text { font-family: "DejaVu Sans", Verdana, "Bitstream Vera Sans", Arial, sans-serif; }
figcaption { font-size: 13px; color: var(--muted); margin-top: 6px; }
details { border: 1px solid var(--line); border-radius: 6px; padding: 6px 12px; margin: 8px 0; }
details > summary { cursor: pointer; font-weight: 600; }
pre { background: var(--soft); border-radius: 6px; padding: 10px 12px; overflow-x: auto; font-size: 13px;
      font-family: ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace; white-space: pre; }
ul.notes li { margin: 2px 0; }
footer { margin-top: 48px; font-size: 12px; color: var(--muted); }
@media print { details { border: none; } h2 { break-after: avoid; }
               figure.chart { break-inside: avoid; } }
)css";

void card(std::string& out, const std::string& label, const std::string& key,
          const std::string& value, const std::string& unit, bool wide = false) {
  out += std::string("<div class=\"card") + (wide ? " wide" : "") + "\"><div class=\"label\">" +
         label + "</div><div class=\"value\"" +
         (key.empty() ? std::string() : " data-key=\"" + key + "\"") + ">" + value +
         "</div><div class=\"unit\">" + unit + "</div></div>\n";
}

void headline(std::string& out, const result::RunResult& r) {
  const auto& e = r.end_to_end();
  const auto& l = e.latency_ms();
  out += "<div class=\"cards\">\n";
  std::string throughput_unit = "req/s succeeded · offered " + rps(e.offered_rps());
  if (e.has_ci95_throughput_rps() && e.ci95_throughput_rps().half_width() > 0) {
    throughput_unit += " · ±" + rps(e.ci95_throughput_rps().half_width()) + " (95% CI)";
  }
  card(out, "Throughput", "end_to_end.throughput_rps", rps(e.throughput_rps()), throughput_unit);
  card(out, "Success", "end_to_end.success_ratio", percent(e.success_ratio(), 3),
       count(e.succeeded()) + " of " + count(e.requests()) + " requests");
  std::string mean_unit = "ms mean";
  if (l.has_ci95_mean() && l.ci95_mean().half_width() > 0) {
    mean_unit += " ±" + ms(l.ci95_mean().half_width()) + " (95% CI)";
  }
  card(out, "Mean", "end_to_end.latency_ms.mean", ms(l.mean()), mean_unit);
  card(out, "p50", "end_to_end.latency_ms.p50", ms(l.p50()), "ms end to end");
  card(out, "p99", "end_to_end.latency_ms.p99", ms(l.p99()), "ms end to end");
  card(out, "p99.9", "end_to_end.latency_ms.p999", ms(l.p999()), "ms end to end");
  const result::Hop* b = bottleneck_of(r);
  card(out, "Bottleneck hop", "bottleneck", b != nullptr ? escape(b->name()) : "none",
       b != nullptr ? percent(b->utilization(), 1) + " busy (highest utilisation)"
                    : "no hop with servers measured");
  out += "</div>\n";
  if (const result::Hop* slowest = slowest_hop_at_p99(r); slowest != nullptr) {
    out += "<p>The hop with the largest p99 of its own is <b>" + escape(slowest->name()) +
           "</b>: " + ms(slowest->latency_ms().p99()) + " ms (queueing p99 " +
           ms(slowest->queueing_ms().p99()) + " ms, service p99 " +
           ms(slowest->service_ms().p99()) + " ms), against " + ms(l.p99()) +
           " ms end to end.</p>\n";
  }
}

void comparison(std::string& out, const std::vector<NamedRun>& runs, bool paired_cis_follow) {
  // Compare p99 as printed, so a tie on screen is a tie here.
  auto shown = [](double v) { return std::stod(ms(v)); };
  double best_p99 = std::numeric_limits<double>::infinity();
  double max_success = 0;
  for (const NamedRun& run : runs) {
    const auto& e = run.result->end_to_end();
    best_p99 = std::min(best_p99, shown(e.latency_ms().p99()));
    max_success = std::max(max_success, e.success_ratio());
  }
  std::vector<std::string> best;
  double best_success = 1;
  for (const NamedRun& run : runs) {
    const auto& e = run.result->end_to_end();
    if (shown(e.latency_ms().p99()) == best_p99) {
      best.push_back(run.name);
      best_success = std::min(best_success, e.success_ratio());
    }
  }
  const NamedRun* base = &runs.front();
  out +=
      "<h2 id=\"variants\">Variants compared</h2>\n<div class=\"table-wrap\"><table>\n"
      "<tr><th>variant</th><th>throughput (req/s)</th><th>success</th><th>mean (ms)</th>"
      "<th>p50 (ms)</th><th>p99 (ms)</th><th>p99.9 (ms)</th><th>p99 vs " +
      escape(base->name) + " (ms)</th><th class=\"text\">bottleneck</th></tr>\n";
  for (const NamedRun& run : runs) {
    const auto& e = run.result->end_to_end();
    const auto& l = e.latency_ms();
    const bool is_best = std::find(best.begin(), best.end(), run.name) != best.end();
    const double delta = shown(l.p99()) - shown(base->result->end_to_end().latency_ms().p99());
    out += std::string("<tr") + (is_best ? " class=\"best\"" : "") + "><td>" + escape(run.name) +
           (is_best ? " ★" : "") + "</td><td>" + rps(e.throughput_rps()) + "</td><td>" +
           percent(e.success_ratio(), 3) + "</td><td>" + ms(l.mean()) + "</td><td>" + ms(l.p50()) +
           "</td><td data-key=\"variants." + escape(run.name) + ".end_to_end.latency_ms.p99\">" +
           ms(l.p99()) + "</td><td>" + ms(l.p999()) + "</td><td>" +
           (&run == base             ? "—"
            : std::abs(delta) < 5e-4 ? "0.000"
                                     : (delta > 0 ? "+" : "") + ms(delta)) +
           "</td><td class=\"text\">" + bottleneck_text(*run.result) + "</td></tr>\n";
  }
  out += "</table></div>\n<p>";
  std::string names;
  for (size_t i = 0; i < best.size(); ++i) {
    names +=
        (i > 0 ? (i + 1 == best.size() ? " and " : ", ") : "") + ("<b>" + escape(best[i]) + "</b>");
  }
  if (best.size() == runs.size()) {
    out += "All variants tie on p99 (" + ms(best_p99) + " ms).";
  } else {
    out += (best.size() == 1 ? "Best on p99: " : "Best on p99 (tied): ") + names + " (" +
           ms(best_p99) + " ms).";
  }
  if (best.size() == 1 && best_success < max_success) {
    out += " Note: its success ratio (" + percent(best_success, 3) +
           ") is below the best variant's (" + percent(max_success, 3) +
           "); failed requests are not in the latency figures.";
  }
  out += paired_cis_follow
             ? " The differences below say which of them are significant.</p>\n"
             : " p99 has no confidence interval here; run more replications before trusting a "
               "small difference.</p>\n";
}

void charts(std::string& out, const std::vector<NamedRun>& runs) {
  out += "<h2 id=\"charts\">Charts</h2>\n";
  if (has_histogram(runs)) {
    figure(out, viz::latency_cdf_chart(runs), "End-to-end latency CDF",
           "Share of requests completed within a latency (log scale), from the end-to-end latency "
           "histogram over every replication.");
  } else {
    out += "<p class=\"muted\">No latency histogram in this result: no CDF.</p>\n";
  }
  if (has_hops(runs)) {
    figure(out,
           viz::hop_breakdown_chart(
               runs, {viz::Percentile::kP50, viz::Percentile::kP99, viz::Percentile::kP999}),
           "Per-hop latency breakdown at p50, p99 and p99.9",
           "Each segment is one hop's own percentile, so a bar is the sum of per-hop percentiles — "
           "it shows which hop makes the tail; it is not the end-to-end percentile (hops rarely "
           "peak on the same request).");
  } else {
    out += "<p class=\"muted\">No per-hop measurements in this result.</p>\n";
  }
  if (has_components(runs)) {
    figure(out, viz::component_utilization_chart(runs), "Utilisation per component",
           "Busy share of each component's servers (CPU cores, pod workers) over the measured "
           "time.");
  } else {
    out += "<p class=\"muted\">No components in this result: no utilisation chart.</p>\n";
  }
  if (has_time_series(runs)) {
    figure(out, viz::throughput_errors_chart(runs), "Throughput and errors over time",
           "Successful requests/s (solid, left axis) and errors/s (dashed, right axis) per time "
           "bucket, per replication on average, after warm-up.");
  } else {
    out += "<p class=\"muted\">No time series in this result.</p>\n";
  }
}

std::string heading_for(const NamedRun& run, bool several) {
  return several ? "<h3>" + escape(run.name) + "</h3>\n" : "";
}

void hop_table(std::string& out, const std::vector<NamedRun>& runs) {
  out +=
      "<h2 id=\"hops\">Per-hop latency</h2>\n<p class=\"muted\">latency = queueing + service, "
      "in ms, over every request that passed the hop. Utilisation only for hops with servers "
      "(CPU cores, pod workers); network hops are pure delays.</p>\n";
  for (const NamedRun& run : runs) {
    out += heading_for(run, runs.size() > 1);
    out +=
        "<div class=\"table-wrap\"><table>\n<tr><th>hop</th><th>requests</th><th>utilisation</th>"
        "<th>mean</th><th>p50</th><th>p99</th><th>p99.9</th><th>queueing mean</th>"
        "<th>queueing p99</th><th>service mean</th><th>service p99</th>"
        "<th>queueing share of mean</th></tr>\n";
    for (const auto& h : run.result->hops()) {
      const auto& l = h.latency_ms();
      out += std::string("<tr") + (h.bottleneck() ? " class=\"bottleneck\"" : "") + "><td>" +
             escape(h.name()) + "</td><td>" + count(h.requests()) + "</td><td>" +
             (h.has_utilization() ? percent(h.utilization(), 1) : "—") + "</td><td>" +
             ms(l.mean()) + "</td><td>" + ms(l.p50()) + "</td><td>" + ms(l.p99()) + "</td><td>" +
             ms(l.p999()) + "</td><td>" + ms(h.queueing_ms().mean()) + "</td><td>" +
             ms(h.queueing_ms().p99()) + "</td><td>" + ms(h.service_ms().mean()) + "</td><td>" +
             ms(h.service_ms().p99()) + "</td><td>" +
             (l.mean() > 0 ? percent(h.queueing_ms().mean() / l.mean(), 1) : "—") + "</td></tr>\n";
    }
    const auto& e = run.result->end_to_end().latency_ms();
    out += "<tr><th class=\"text\">end to end</th><th>" + count(e.count()) + "</th><th></th><th>" +
           ms(e.mean()) + "</th><th>" + ms(e.p50()) + "</th><th>" + ms(e.p99()) + "</th><th>" +
           ms(e.p999()) + "</th><th colspan=\"5\"></th></tr>\n</table></div>\n";
  }
}

void route_table(std::string& out, const std::vector<NamedRun>& runs) {
  out += "<h2 id=\"routes\">Routes</h2>\n";
  for (const NamedRun& run : runs) {
    out += heading_for(run, runs.size() > 1);
    if (run.result->routes_size() == 0) {
      out += "<p class=\"muted\">No routes in this result.</p>\n";
      continue;
    }
    out +=
        "<div class=\"table-wrap\"><table>\n<tr><th>host</th><th class=\"text\">path</th>"
        "<th class=\"text\">service</th><th>requests</th><th>success</th><th>mean (ms)</th>"
        "<th>p50 (ms)</th><th>p99 (ms)</th><th>p99.9 (ms)</th></tr>\n";
    for (const auto& rt : run.result->routes()) {
      const auto& l = rt.latency_ms();
      out += "<tr><td>" + escape(rt.host().empty() ? "*" : rt.host()) + "</td><td class=\"text\">" +
             escape(rt.path()) + "</td><td class=\"text\">" + escape(rt.service()) + "</td><td>" +
             count(rt.requests()) + "</td><td>" + percent(rt.success_ratio(), 3) + "</td><td>" +
             ms(l.mean()) + "</td><td>" + ms(l.p50()) + "</td><td>" + ms(l.p99()) + "</td><td>" +
             ms(l.p999()) + "</td></tr>\n";
    }
    out += "</table></div>\n";
  }
}

void component_table(std::string& out, const std::vector<NamedRun>& runs) {
  if (!has_components(runs)) return;
  out += "<h2 id=\"components\">Components</h2>\n";
  for (const NamedRun& run : runs) {
    // With variants the lists repeat; the chart above compares them, the first table stays open.
    if (runs.size() > 1) {
      out += std::string("<details") + (&run == &runs.front() ? " open" : "") + "><summary>" +
             escape(run.name) + " (" + std::to_string(run.result->components_size()) +
             " components)</summary>\n";
    }
    out +=
        "<div class=\"table-wrap\"><table>\n<tr><th>component</th><th class=\"text\">kind</th>"
        "<th class=\"text\">node</th><th class=\"text\">zone</th><th>utilisation</th>"
        "<th>mean queue length</th><th>requests</th></tr>\n";
    for (const auto& c : run.result->components()) {
      out += "<tr><td>" + escape(c.name()) + "</td><td class=\"text\">" + escape(c.kind()) +
             "</td><td class=\"text\">" + escape(c.node()) + "</td><td class=\"text\">" +
             escape(c.zone()) + "</td><td>" + percent(c.utilization(), 1) + "</td><td>" +
             printf_string("%.3f", c.mean_queue_length()) + "</td><td>" + count(c.requests()) +
             "</td></tr>\n";
    }
    out += "</table></div>\n";
    if (runs.size() > 1) out += "</details>\n";
  }
}

// A table with one row per metric and one column per run.
template <typename Value>
void metric_rows(std::string& out, const std::vector<NamedRun>& runs, const std::string& metric,
                 const std::string& meaning, Value value) {
  out += "<tr><td>" + metric + "</td>";
  for (const NamedRun& run : runs)
    out += "<td>" + value(*run.result) + "</td>";
  out += "<td class=\"text muted\">" + meaning + "</td></tr>\n";
}

void runs_header(std::string& out, const std::vector<NamedRun>& runs, const std::string& first) {
  out += "<div class=\"table-wrap\"><table class=\"compact\">\n<tr><th>" + first + "</th>";
  for (const NamedRun& run : runs)
    out += "<th>" + escape(run.name) + "</th>";
  out += "<th class=\"text\"></th></tr>\n";
}

void error_table(std::string& out, const std::vector<NamedRun>& runs) {
  out += "<h2 id=\"errors\">Errors by cause</h2>\n";
  runs_header(out, runs, "cause");
  using R = result::RunResult;
  metric_rows(out, runs, "timeout", "client gave up (workload timeout)",
              [](const R& r) { return count(r.errors().timeout()); });
  metric_rows(out, runs, "refused",
              "connection refused or reset (no endpoint, node down, ETP Local)",
              [](const R& r) { return count(r.errors().refused()); });
  metric_rows(out, runs, "http_503", "pod queue full or no ready endpoint",
              [](const R& r) { return count(r.errors().http_503()); });
  metric_rows(out, runs, "no_route", "no Ingress rule matched (404)",
              [](const R& r) { return count(r.errors().no_route()); });
  metric_rows(out, runs, "upstream_timeout", "upstream connect / first-byte timeout (504)",
              [](const R& r) { return count(r.errors().upstream_timeout()); });
  metric_rows(out, runs, "<b>failed</b>", "completed requests that did not succeed",
              [](const R& r) {
                const auto& e = r.end_to_end();
                return "<b>" + count(e.requests() - std::min(e.requests(), e.succeeded())) + "</b>";
              });
  metric_rows(out, runs, "requests", "completed requests",
              [](const R& r) { return count(r.end_to_end().requests()); });
  out += "</table></div>\n";

  out += "<h3>Connections</h3>\n";
  runs_header(out, runs, "count");
  metric_rows(out, runs, "client connections", "",
              [](const R& r) { return count(r.connections().client_connections()); });
  metric_rows(out, runs, "TLS full handshakes", "",
              [](const R& r) { return count(r.connections().tls_full_handshakes()); });
  metric_rows(out, runs, "TLS resumed handshakes", "",
              [](const R& r) { return count(r.connections().tls_resumed_handshakes()); });
  metric_rows(out, runs, "NAT first packets", "new connections through kube-proxy's rules",
              [](const R& r) { return count(r.connections().nat_first_packets()); });
  metric_rows(out, runs, "upstream connections opened", "",
              [](const R& r) { return count(r.connections().upstream_connections_opened()); });
  metric_rows(out, runs, "upstream requests on reused connections", "", [](const R& r) {
    return count(r.connections().upstream_requests_on_reused_connections());
  });
  metric_rows(out, runs, "retries", "by the proxy, to another endpoint",
              [](const R& r) { return count(r.connections().retries()); });
  metric_rows(out, runs, "client retries", "new attempts by clients after a timeout or 5xx",
              [](const R& r) { return count(r.connections().client_retries()); });
  metric_rows(out, runs, "forwarded to another node",
              "externalTrafficPolicy Cluster: extra hop + SNAT",
              [](const R& r) { return count(r.connections().forwarded_to_other_node()); });
  metric_rows(out, runs, "cross-zone bytes", "",
              [](const R& r) { return count(r.cross_zone().bytes()); });
  metric_rows(out, runs, "cross-zone cost", "",
              [](const R& r) { return printf_string("%.4f", r.cross_zone().cost()); });
  out += "</table></div>\n";
}

void notes(std::string& out, const std::vector<NamedRun>& runs) {
  out += "<h2 id=\"notes\">Run notes</h2>\n";
  runs_header(out, runs, "run");
  using R = result::RunResult;
  metric_rows(out, runs, "source", "", [](const R& r) { return escape(r.run().source()); });
  metric_rows(out, runs, "replications", "",
              [](const R& r) { return std::to_string(r.run().replications()); });
  metric_rows(out, runs, "measured time per replication (s)", "",
              [](const R& r) { return printf_string("%.3f", r.run().duration_s()); });
  metric_rows(out, runs, "warm-up (s)", "", [](const R& r) {
    return r.run().warmup_s() < 0 ? std::string("MSER-5")
                                  : printf_string("%.3f", r.run().warmup_s());
  });
  metric_rows(out, runs, "seed", "", [](const R& r) { return count(r.run().seed()); });
  metric_rows(out, runs, "events", "", [](const R& r) { return count(r.run().events()); });
  metric_rows(out, runs, "wall time (s)", "",
              [](const R& r) { return printf_string("%.3f", r.run().wall_seconds()); });
  out += "</table></div>\n";
  // Each note once, with the runs it applies to when that is not all of them.
  std::vector<std::pair<std::string, std::vector<std::string>>> unique;
  for (const NamedRun& run : runs) {
    for (const std::string& note : run.result->run().notes()) {
      auto it = std::find_if(unique.begin(), unique.end(),
                             [&](const auto& u) { return u.first == note; });
      if (it == unique.end()) {
        unique.push_back({note, {run.name}});
      } else {
        it->second.push_back(run.name);
      }
    }
  }
  if (unique.empty()) {
    out += "<p class=\"muted\">No notes: the run honoured every setting.</p>\n";
    return;
  }
  out += "<ul class=\"notes\">\n";
  for (const auto& [note, names] : unique) {
    out += "<li>" + escape(note);
    if (names.size() < runs.size()) {
      std::string list;
      for (const std::string& n : names)
        list += (list.empty() ? "" : ", ") + escape(n);
      out += " <span class=\"muted\">(" + list + ")</span>";
    }
    out += "</li>\n";
  }
  out += "</ul>\n";
}

}  // namespace

std::string html_escape(std::string_view text) {
  return escape(text);
}
std::string html_ms(double v) {
  return ms(v);
}
std::string html_rps(double v) {
  return rps(v);
}
std::string html_percent(double ratio, int decimals) {
  return percent(ratio, decimals);
}
std::string html_figure(std::unique_ptr<QChart> chart, const std::string& label,
                        const std::string& caption) {
  std::string out;
  figure(out, std::move(chart), label, caption);
  return out;
}
std::string html_run_charts(const result::RunResult& result) {
  std::string out;
  charts(out, viz::runs_of(result));
  return out;
}

std::string html_head(const std::string& title) {
  std::string out;
  out +=
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
      "<meta name=\"generator\" content=\"ingresslab " INGRESSLAB_VERSION "\">\n<title>" +
      escape(title) + " — ingresslab report</title>\n<style>" + kStyle +
      "</style>\n</head>\n<body>\n<main>\n";
  return out;
}

std::string html_page_end(const std::string& scenario_yaml_text, const std::string& command_line) {
  std::string out;
  out += "<h2 id=\"scenario\">Scenario</h2>\n";
  if (scenario_yaml_text.empty()) {
    out += "<p class=\"muted\">The scenario text was not available.</p>\n";
  } else {
    const size_t lines =
        static_cast<size_t>(std::count(scenario_yaml_text.begin(), scenario_yaml_text.end(), '\n') +
                            (scenario_yaml_text.back() == '\n' ? 0 : 1));
    out += "<details>\n<summary>The scenario file as run (" + std::to_string(lines) +
           " lines)</summary>\n<pre><code>" + escape(scenario_yaml_text) +
           "</code></pre>\n</details>\n";
  }
  out += "<h2 id=\"reproduce\">Reproduce</h2>\n<pre><code>" + escape(command_line) +
         "</code></pre>\n<p class=\"muted\">A simulation is deterministic: the same scenario "
         "file, seed and options give the same numbers. Files the scenario references (Kubernetes "
         "manifests, cost profiles) are not embedded here.</p>\n";
  out += "<footer>Generated by ingresslab " INGRESSLAB_VERSION
         ". Latencies in ms (3 decimals), rates in requests/s; every value is the --format json "
         "value rounded.</footer>\n</main>\n</body>\n</html>\n";
  return out;
}

std::string render_html(const result::RunResult& result, const std::string& scenario_yaml_text,
                        const std::string& command_line, const std::string& extra_summary_html) {
  const std::vector<NamedRun> runs = viz::runs_of(result);
  const bool several = runs.size() > 1;
  const result::RunResult& lead = *runs.front().result;
  std::string title = result.scenario().empty() ? "scenario" : result.scenario();
  if (!several && !result.variant().empty()) title += " [" + result.variant() + "]";

  std::string out;
  out.reserve(1 << 20);
  out += html_head(title);

  // Summary and headline numbers.
  const auto& info = lead.run();
  out += "<header>\n<h1>" + escape(title) + "</h1>\n<p class=\"sub\">" + escape(info.source()) +
         " · " + std::to_string(info.replications()) + " replication" +
         (info.replications() == 1 ? "" : "s") + " × " + printf_string("%g", info.duration_s()) +
         " s measured" +
         (info.warmup_s() < 0 ? std::string(" (MSER-5 warm-up)")
                              : " after " + printf_string("%g", info.warmup_s()) + " s warm-up") +
         " · seed " + count(info.seed()) +
         (several ? " · " + std::to_string(runs.size()) + " variants" : std::string()) + "</p>\n";
  out +=
      "<nav><a href=\"#summary\">Summary</a>" +
      std::string(several ? "<a href=\"#variants\">Variants</a>" : "") +
      "<a href=\"#charts\">Charts</a><a href=\"#hops\">Hops</a><a href=\"#routes\">Routes</a>"
      "<a href=\"#errors\">Errors</a><a href=\"#notes\">Notes</a>"
      "<a href=\"#scenario\">Scenario</a><a href=\"#reproduce\">Reproduce</a></nav>\n</header>\n";
  for (const NamedRun& run : runs) {
    if (run.result->run().partial()) {
      out += "<div class=\"banner\">" + escape(run.name) +
             ": the run was interrupted — these results cover only the replications that "
             "finished.</div>\n";
    }
  }
  out += "<h2 id=\"summary\">Summary" +
         (several ? " — " + escape(runs.front().name) : std::string()) + "</h2>\n";
  headline(out, lead);
  if (several) comparison(out, runs, !extra_summary_html.empty());
  out += extra_summary_html;

  charts(out, runs);
  hop_table(out, runs);
  route_table(out, runs);
  component_table(out, runs);
  error_table(out, runs);
  notes(out, runs);

  out += html_page_end(scenario_yaml_text, command_line);
  return out;
}

}  // namespace ingresslab::cli
