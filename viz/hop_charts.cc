#include "viz/hop_charts.h"

#include <QtCharts/QAreaSeries>
#include <QtCharts/QBarCategoryAxis>
#include <QtCharts/QBarSet>
#include <QtCharts/QHorizontalBarSeries>
#include <QtCharts/QHorizontalStackedBarSeries>
#include <QtCharts/QLegend>
#include <QtCharts/QLegendMarker>
#include <QtCharts/QLineSeries>
#include <QtCharts/QLogValueAxis>
#include <QtCharts/QScatterSeries>
#include <QtCharts/QValueAxis>
#include <QtGui/QFont>
#include <algorithm>
#include <cmath>
#include <limits>
#include <map>

namespace ingresslab::viz {
namespace {

constexpr int kBinsPerDecade = 10;
// Histogram buckets that end at or below 1 ns hold zeros (a log axis cannot show them); the
// margin absorbs the rounding of 1e-6 through JSON.
constexpr double kZeroMs = 1.5e-6;

QString qstr(const std::string& s) {
  return QString::fromStdString(s);
}

// Hop charts are shown several at a time in the visualizer's panels: slightly smaller text.
constexpr ChartLook kLook{11};

uint64_t total_of(const google::protobuf::RepeatedPtrField<result::HistogramBucket>& buckets) {
  uint64_t total = 0;
  for (const auto& b : buckets)
    total += b.count();
  return total;
}

// A log axis over whole decades covering [lo, hi] (ms).
QLogValueAxis* log_ms_axis(double lo, double hi) {
  auto* x = new QLogValueAxis;
  x->setBase(10);
  x->setLabelFormat("%g");
  x->setMinorTickCount(-1);
  style_axis(x, "latency (ms, log scale)", kLook);
  if (!(lo > 0) || !(hi >= lo)) {
    x->setRange(0.001, 10);
  } else {
    const double a = std::pow(10.0, std::floor(std::log10(lo)));
    double b = std::pow(10.0, std::ceil(std::log10(hi)));
    if (b <= a) b = a * 10;
    x->setRange(a, b);
  }
  return x;
}

// Shares of requests per log bin; returns the share of zeros through *zero_share.
std::map<int, double> log_bins(const google::protobuf::RepeatedPtrField<result::HistogramBucket>& h,
                               double* zero_share) {
  std::map<int, double> bins;
  *zero_share = 0;
  const uint64_t total = total_of(h);
  if (total == 0) return bins;
  for (const auto& b : h) {
    if (b.count() == 0) continue;
    const double share = static_cast<double>(b.count()) / static_cast<double>(total);
    if (b.upper_ms() <= kZeroMs) {
      *zero_share += share;
      continue;
    }
    // A bucket belongs to the bin of its upper edge (just below it, so 1.0 falls in [0.79, 1)).
    const int bin =
        static_cast<int>(std::floor(std::log10(b.upper_ms() * (1 - 1e-9)) * kBinsPerDecade));
    bins[bin] += share;
  }
  return bins;
}

QAreaSeries* step_area(const std::map<int, double>& bins, const QString& name, QColor color) {
  auto* upper = new QLineSeries;
  for (const auto& [bin, share] : bins) {
    const double x0 = std::pow(10.0, static_cast<double>(bin) / kBinsPerDecade);
    const double x1 = std::pow(10.0, static_cast<double>(bin + 1) / kBinsPerDecade);
    upper->append(x0, 0);
    upper->append(x0, share);
    upper->append(x1, share);
    upper->append(x1, 0);
  }
  auto* area = new QAreaSeries(upper);
  area->setName(name);
  QColor fill = color;
  fill.setAlpha(120);
  area->setBrush(fill);
  area->setPen(QPen(color, 1.5));
  return area;
}

void bounds_of(const google::protobuf::RepeatedPtrField<result::HistogramBucket>& h, double* lo,
               double* hi) {
  for (const auto& b : h) {
    if (b.upper_ms() <= kZeroMs || b.count() == 0) continue;
    *lo = std::min(*lo, b.upper_ms());
    *hi = std::max(*hi, b.upper_ms());
  }
}

}  // namespace

std::unique_ptr<QChart> hop_histogram_chart(const result::Hop& hop) {
  auto chart = make_chart(QString("%1: latency histogram").arg(qstr(hop.name())), kLook);
  double lo = std::numeric_limits<double>::infinity(), hi = 0;
  bounds_of(hop.histogram(), &lo, &hi);
  bounds_of(hop.queueing_histogram(), &lo, &hi);
  // Bins start one bin below the smallest value.
  lo /= std::pow(10.0, 1.0 / kBinsPerDecade);
  auto* x = log_ms_axis(lo, hi);
  auto* y = new QValueAxis;
  style_axis(y, "share of requests", kLook);
  y->setLabelFormat("%.2f");
  double top = 0;
  std::vector<QAreaSeries*> series;
  double zero_latency = 0, zero_queueing = 0;
  const auto latency_bins = log_bins(hop.histogram(), &zero_latency);
  const auto queueing_bins = log_bins(hop.queueing_histogram(), &zero_queueing);
  if (!latency_bins.empty())
    series.push_back(step_area(latency_bins, "latency (queueing + service)", series_color(0)));
  if (!queueing_bins.empty() || total_of(hop.queueing_histogram()) > 0) {
    series.push_back(step_area(
        queueing_bins,
        QString("queueing (%1% of requests did not wait)").arg(100 * zero_queueing, 0, 'f', 1),
        series_color(1)));
  }
  for (const auto& bins : {latency_bins, queueing_bins})
    for (const auto& [bin, share] : bins)
      top = std::max(top, share);
  y->setRange(0, top > 0 ? top * 1.1 : 1);
  chart->addAxis(x, Qt::AlignBottom);
  chart->addAxis(y, Qt::AlignLeft);
  for (QAreaSeries* s : series) {
    chart->addSeries(s);
    s->attachAxis(x);
    s->attachAxis(y);
  }
  if (series.empty()) chart->setTitle(chart->title() + " — no histogram in this result");
  chart->setPreferredSize(640, 320);
  return chart;
}

std::unique_ptr<QChart> hop_cdf_chart(const result::Hop& hop) {
  auto chart = make_chart(QString("%1: CDF, queueing vs total").arg(qstr(hop.name())), kLook);
  double lo = std::numeric_limits<double>::infinity(), hi = 0;
  bounds_of(hop.histogram(), &lo, &hi);
  bounds_of(hop.queueing_histogram(), &lo, &hi);
  auto* x = log_ms_axis(lo, hi);
  auto* y = new QValueAxis;
  y->setRange(0, 1);
  y->setTickCount(6);
  y->setLabelFormat("%.1f");
  style_axis(y, "share ≤ latency", kLook);
  chart->addAxis(x, Qt::AlignBottom);
  chart->addAxis(y, Qt::AlignLeft);
  const struct {
    const google::protobuf::RepeatedPtrField<result::HistogramBucket>* buckets;
    const char* name;
  } curves[] = {{&hop.histogram(), "latency (queueing + service)"},
                {&hop.queueing_histogram(), "queueing"}};
  int drawn = 0;
  for (size_t i = 0; i < std::size(curves); ++i) {
    const uint64_t total = total_of(*curves[i].buckets);
    if (total == 0) continue;
    auto* line = new QLineSeries;
    line->setName(curves[i].name);
    line->setPen(QPen(series_color(i), 2));
    uint64_t cumulative = 0;
    for (const auto& b : *curves[i].buckets) {
      cumulative += b.count();
      if (b.upper_ms() <= kZeroMs) continue;
      line->append(b.upper_ms(), static_cast<double>(cumulative) / static_cast<double>(total));
    }
    if (line->count() == 0) {  // all zeros: a flat line at 1 across the axis
      line->append(x->min(), 1);
      line->append(x->max(), 1);
    }
    chart->addSeries(line);
    line->attachAxis(x);
    line->attachAxis(y);
    ++drawn;
  }
  if (drawn == 0) chart->setTitle(chart->title() + " — no histogram in this result");
  chart->setPreferredSize(640, 320);
  return chart;
}

std::unique_ptr<QChart> hop_time_series_chart(const result::Hop& hop,
                                              const std::vector<result::Event>& events) {
  auto chart = make_chart(QString("%1 over the run").arg(qstr(hop.name())), kLook);
  const auto& points = hop.time_series();
  double t_min = 0, t_max = 1, latency_max = 0, rps_max = 0;
  bool has_utilization = false;
  if (!points.empty()) {
    t_min = points[0].t();
    t_max = points[points.size() - 1].t();
    if (points.size() > 1) t_max += points[1].t() - points[0].t();
  }
  auto* p50 = new QLineSeries;
  p50->setName("p50 (ms)");
  p50->setPen(QPen(series_color(0), 2));
  auto* p99 = new QLineSeries;
  p99->setName("p99 (ms)");
  p99->setPen(QPen(series_color(2), 2));
  auto* rps = new QLineSeries;
  rps->setName("requests/s");
  rps->setPen(QPen(series_color(4), 1.5, Qt::DotLine));
  auto* utilization = new QLineSeries;
  utilization->setName("utilisation (%)");
  utilization->setPen(QPen(series_color(1), 1.5, Qt::DashDotLine));
  // A point stands for its bucket: drawn at the bucket's middle.
  const double half_bucket =
      points.size() > 1 ? (points[1].t() - points[0].t()) / 2 : (t_max - t_min) / 2;
  for (const auto& p : points) {
    const double t = p.t() + half_bucket;
    p50->append(t, p.p50_ms());
    p99->append(t, p.p99_ms());
    rps->append(t, p.rps());
    latency_max = std::max({latency_max, p.p50_ms(), p.p99_ms()});
    rps_max = std::max(rps_max, p.rps());
    if (p.has_utilization()) {
      has_utilization = true;
      utilization->append(t, 100 * p.utilization());
    }
  }
  auto* x = new QValueAxis;
  x->setRange(t_min, t_max);
  x->setLabelFormat("%g");
  style_axis(x, "time (s, measured period)", kLook);
  auto* y = new QValueAxis;
  y->setRange(0, latency_max > 0 ? latency_max * 1.15 : 1);
  style_axis(y, "latency (ms)", kLook);
  auto* y_rps = new QValueAxis;
  y_rps->setRange(0, rps_max > 0 ? rps_max * 1.15 : 1);
  y_rps->setLabelFormat("%.0f");
  style_axis(y_rps, "requests/s", kLook);
  chart->addAxis(x, Qt::AlignBottom);
  chart->addAxis(y, Qt::AlignLeft);
  chart->addAxis(y_rps, Qt::AlignRight);
  for (QLineSeries* s : {p50, p99}) {
    chart->addSeries(s);
    s->attachAxis(x);
    s->attachAxis(y);
  }
  chart->addSeries(rps);
  rps->attachAxis(x);
  rps->attachAxis(y_rps);
  if (has_utilization) {
    auto* y_util = new QValueAxis;
    y_util->setRange(0, 100);
    y_util->setLabelFormat("%.0f");
    style_axis(y_util, "utilisation (%)", kLook);
    chart->addAxis(y_util, Qt::AlignRight);
    chart->addSeries(utilization);
    utilization->attachAxis(x);
    utilization->attachAxis(y_util);
  } else {
    delete utilization;
  }
  // Fault events: a dashed vertical line each, labelled at the top; one legend entry for all.
  bool first_event = true;
  int label_row = 0;  // labels of nearby events at staggered heights
  for (const result::Event& e : events) {
    if (e.t() < t_min || e.t() > t_max) continue;
    auto* line = new QLineSeries;
    line->setName("events");
    line->setPen(QPen(QColor(0x88, 0x22, 0x22), 1.5, Qt::DashLine));
    line->append(e.t(), 0);
    line->append(e.t(), y->max());
    auto* label = new QScatterSeries;
    label->setMarkerSize(6);
    label->setColor(QColor(0x88, 0x22, 0x22));
    label->append(e.t(), y->max() * (0.95 - 0.12 * (label_row++ % 4)));
    label->setPointLabelsFormat(qstr(e.kind() + (e.target().empty() ? "" : " " + e.target())));
    label->setPointLabelsVisible(true);
    QFont label_font;
    label_font.setPixelSize(10);
    label->setPointLabelsFont(label_font);
    label->setPointLabelsClipping(false);
    for (QXYSeries* s : std::initializer_list<QXYSeries*>{line, label}) {
      chart->addSeries(s);
      s->attachAxis(x);
      s->attachAxis(y);
    }
    for (QLegendMarker* m : chart->legend()->markers(label))
      m->setVisible(false);
    if (!first_event) {
      for (QLegendMarker* m : chart->legend()->markers(line))
        m->setVisible(false);
    }
    first_event = false;
  }
  if (points.empty()) chart->setTitle(chart->title() + " — no time series in this result");
  chart->setPreferredSize(640, 320);
  return chart;
}

std::unique_ptr<QChart> waterfall_chart(const PercentileSpan& request) {
  const result::Span& span = request.span;
  const double total_ms = static_cast<double>(span.end_ns() - span.start_ns()) / 1e6;
  auto chart = make_chart(QString("%1 request: %2 ms end to end — where the time goes")
                              .arg(qstr(request.label))
                              .arg(total_ms, 0, 'f', 3),
                          kLook);
  auto* offset = new QBarSet("start");
  offset->setColor(Qt::transparent);
  offset->setBorderColor(Qt::transparent);
  auto* queueing = new QBarSet("queueing");
  queueing->setColor(series_color(2));
  auto* service = new QBarSet("service");
  service->setColor(series_color(0));
  QStringList categories;
  // Qt draws the first category at the bottom: add in reverse so the path reads top-down.
  double start_ms = 0;
  std::vector<std::tuple<QString, double, double, double>> rows;
  for (const auto& hop : span.hops()) {
    const double q = static_cast<double>(hop.queue_ns()) / 1e6;
    const double s = static_cast<double>(hop.service_ns()) / 1e6;
    rows.emplace_back(qstr(hop.hop()), start_ms, q, s);
    start_ms += q + s;
  }
  for (auto it = rows.rbegin(); it != rows.rend(); ++it) {
    const auto& [name, start, q, s] = *it;
    categories << QString("%1  %2 ms").arg(name).arg(q + s, 0, 'f', 3);
    *offset << start;
    *queueing << q;
    *service << s;
  }
  auto* series = new QHorizontalStackedBarSeries;
  series->append(offset);
  series->append(queueing);
  series->append(service);
  series->setBarWidth(0.7);
  chart->addSeries(series);
  auto* y = new QBarCategoryAxis;
  y->append(categories);
  style_axis(y, "", kLook);
  auto* x = new QValueAxis;
  x->setRange(0, std::max(start_ms, 1e-3) * 1.02);
  x->applyNiceNumbers();
  x->setLabelFormat("%g");
  style_axis(x, "ms since the request was sent", kLook);
  chart->addAxis(y, Qt::AlignLeft);
  chart->addAxis(x, Qt::AlignBottom);
  series->attachAxis(x);
  series->attachAxis(y);
  for (QLegendMarker* m : chart->legend()->markers(series)) {
    if (m->label() == "start") m->setVisible(false);
  }
  chart->setPreferredSize(640, 60 + 28 * std::max<int>(1, span.hops_size()));
  return chart;
}

std::unique_ptr<QChart> hop_percentile_bars_chart(const std::vector<NamedRun>& runs,
                                                  Percentile percentile) {
  auto chart = make_chart(QString("Per-hop %1 latency").arg(percentile_label(percentile)), kLook);
  std::vector<std::string> hops;
  for (const NamedRun& run : runs) {
    for (const auto& h : run.result->hops())
      if (std::find(hops.begin(), hops.end(), h.name()) == hops.end()) hops.push_back(h.name());
  }
  std::reverse(hops.begin(), hops.end());  // first hop at the top
  QStringList categories;
  for (const std::string& h : hops)
    categories << qstr(h);
  auto* series = new QHorizontalBarSeries;
  double top = 0;
  // Qt stacks bar sets bottom-up within a category: add in reverse so the first run is on top.
  for (size_t i = runs.size(); i-- > 0;) {
    auto* set = new QBarSet(qstr(runs[i].name));
    set->setColor(series_color(i));
    for (const std::string& h : hops) {
      double v = 0;
      for (const auto& hop : runs[i].result->hops())
        if (hop.name() == h) v = percentile_ms(hop.latency_ms(), percentile);
      *set << v;
      top = std::max(top, v);
    }
    series->append(set);
  }
  chart->addSeries(series);
  auto* y = new QBarCategoryAxis;
  y->append(categories);
  style_axis(y, "", kLook);
  auto* x = new QValueAxis;
  x->setRange(0, top > 0 ? top * 1.1 : 1);
  x->applyNiceNumbers();
  x->setLabelFormat("%g");
  style_axis(x, QString("%1 (ms)").arg(percentile_label(percentile)), kLook);
  chart->addAxis(y, Qt::AlignLeft);
  chart->addAxis(x, Qt::AlignBottom);
  series->attachAxis(x);
  series->attachAxis(y);
  chart->setPreferredSize(
      640, 80 + 26 * static_cast<int>(hops.size() * std::max<size_t>(runs.size(), 1)));
  return chart;
}

}  // namespace ingresslab::viz
