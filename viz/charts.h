// Charts of a RunResult, built with Qt Charts. One implementation serves the HTML report (rendered
// offscreen to SVG by render_svg) and the visualizer (shown in a QChartView).
//
// Pure: no files, no command line, no global state. Every builder returns a new chart the caller
// owns, with a preferred size set (QGraphicsWidget::preferredSize) that suits a static rendering.
// REQUIRES for every function here: a QApplication exists (QChart is a QGraphicsWidget; see
// viz/offscreen.h for one that needs no display).
#pragma once

#include <QtCharts/QAbstractAxis>
#include <QtCharts/QChart>
#include <QtCore/QSize>
#include <QtCore/QString>
#include <QtGui/QColor>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "scenarios/proto/result.pb.h"

namespace ingresslab::viz {

// One run to draw, under the name the legend and the category labels show.
struct NamedRun {
  std::string name;
  // Not owned; must stay valid while a chart is being built (charts copy what they draw).
  const result::RunResult* result = nullptr;
};

// The runs of a result in drawing order: the result itself (named after its variant, or "base")
// when it has no variants; otherwise every entry of `variants`, "base" first, then by name.
// The returned pointers point into `result`.
std::vector<NamedRun> runs_of(const result::RunResult& result);

// The per-hop percentiles a breakdown can show.
enum class Percentile { kP50, kP99, kP999 };
// "p50", "p99", "p99.9".
const char* percentile_label(Percentile p);
// The percentile of a latency distribution, in ms.
double percentile_ms(const result::LatencyMs& latency, Percentile p);

// The house look every chart shares (white, square, no shadow, no animation, legend at the
// bottom), with text sizes in pixels so an SVG looks the same whatever the screen's DPI was.
// `text_px` sizes legend and axis text; the title is 4 px larger. Builders in other files (the
// visualizer's hop charts) start from these so every chart looks alike.
struct ChartLook {
  int text_px = 12;
};
std::unique_ptr<QChart> make_chart(const QString& title, ChartLook look = {});
void style_axis(QAbstractAxis* axis, const QString& title, ChartLook look = {});

// The colour of the i-th series (variants, hops): a 10-colour qualitative palette (Tableau 10),
// repeating after 10. Charts use it so a variant has the same colour in every chart.
QColor series_color(size_t index);

// End-to-end latency CDF, one line per run, from latency_histogram: x = latency in ms on a log
// axis (whole decades), y = share of requests at most that slow. Runs without a histogram are
// skipped.
std::unique_ptr<QChart> latency_cdf_chart(const std::vector<NamedRun>& runs);

// Where the latency goes: horizontal stacked bars, one bar per (percentile, run) — grouped by
// percentile, in the order given — and one series (colour) per hop in path order. A segment is
// that hop's own percentile, so a bar is the sum of per-hop percentiles (an upper-bound-like
// picture of the tail, not the end-to-end percentile). A hop a run did not observe adds nothing.
std::unique_ptr<QChart> hop_breakdown_chart(const std::vector<NamedRun>& runs,
                                            const std::vector<Percentile>& percentiles);

// Utilisation (busy share, %) per component (ingress pods, pods, nodes): horizontal bars, one
// category per component in result order, one bar set per run. Empty when no run has components.
std::unique_ptr<QChart> component_utilization_chart(const std::vector<NamedRun>& runs);

// Over the measured period, from time_series: successful requests/s per run (solid, left axis)
// and errors/s per run (dashed, right axis; a bucket's errors over all replications divided by
// bucket width × replications, the same per-replication rate as rps).
std::unique_ptr<QChart> throughput_errors_chart(const std::vector<NamedRun>& runs);

// A line chart of y against x (sweep and plan curves: latency or utilisation against load).
struct XySeries {
  std::string name;
  std::vector<std::pair<double, double>> points;  // (x, y), in x order
  bool dashed = false;
  bool markers = true;  // a dot on every point
};
// A reference line across the plot: vertical at x (a knee, the target rate) or horizontal at y
// (an SLO), drawn dashed in grey and named in the legend.
struct ReferenceLine {
  std::string name;
  double value = 0;
};
struct XyChartSpec {
  std::string title;
  std::string x_title;
  std::string y_title;
  std::vector<XySeries> series;
  std::vector<ReferenceLine> vertical;
  std::vector<ReferenceLine> horizontal;
  bool log_y = false;           // log axis (whole decades); points with y <= 0 are left out
  double y_min = 0;             // lower end of a linear y axis
  std::optional<double> y_max;  // upper end of a linear y axis (default: the data's, rounded)
};
// Colours: series in palette order (series_color), reference lines grey.
std::unique_ptr<QChart> xy_chart(const XyChartSpec& spec);

// The chart drawn into an SVG document of `size` pixels (user units); returns its text (UTF-8
// XML, starting with "<?xml"), compacted: QSvgGenerator's empty groups dropped and line segments
// that continue each other joined into one polyline. The chart is resized to `size`, briefly
// added to a private scene and removed again, so it is still the caller's afterwards.
// REQUIRES: chart != nullptr and not in a scene (not shown by a QChartView); size is non-empty.
QString render_svg(QChart* chart, QSize size);

}  // namespace ingresslab::viz
