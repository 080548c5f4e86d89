#include "viz/charts.h"

#include <QtCharts/QBarCategoryAxis>
#include <QtCharts/QBarSet>
#include <QtCharts/QHorizontalBarSeries>
#include <QtCharts/QHorizontalStackedBarSeries>
#include <QtCharts/QLegend>
#include <QtCharts/QLineSeries>
#include <QtCharts/QLogValueAxis>
#include <QtCharts/QScatterSeries>
#include <QtCharts/QValueAxis>
#include <QtCore/QBuffer>
#include <QtCore/QCoreApplication>
#include <QtGui/QPainter>
#include <QtSvg/QSvgGenerator>
#include <QtWidgets/QGraphicsScene>
#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <string_view>

namespace ingresslab::viz {
namespace {

constexpr int kChartWidth = 960;

QString qstr(const std::string& s) {
  return QString::fromStdString(s);
}

// Sizes in pixels, so an SVG looks the same whatever the screen's DPI was.
QFont font_of_size(int pixel_size, bool bold = false) {
  QFont f;
  f.setPixelSize(pixel_size);
  f.setBold(bold);
  return f;
}

// Names in first-seen order over every run (hops or components), so a run that lacks one still
// lines up with the others.
template <typename Items, typename NameOf>
std::vector<std::string> union_of_names(const std::vector<NamedRun>& runs, Items items,
                                        NameOf name_of) {
  std::vector<std::string> names;
  for (const NamedRun& run : runs) {
    for (const auto& item : items(*run.result)) {
      const std::string& name = name_of(item);
      if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
    }
  }
  return names;
}

// Removes `<g …>` elements with nothing inside (QSvgGenerator writes one per state change); they
// are a large share of its output.
std::string drop_empty_groups(std::string svg) {
  for (bool changed = true; changed;) {
    changed = false;
    std::string out;
    out.reserve(svg.size());
    size_t pos = 0;
    while (pos < svg.size()) {
      const size_t open = svg.find("<g", pos);
      if (open == std::string::npos) break;
      if (open + 2 < svg.size() &&
          std::string_view(" \n>").find(svg[open + 2]) == std::string_view::npos) {
        out.append(svg, pos, open + 2 - pos);  // another element whose name starts with g
        pos = open + 2;
        continue;
      }
      const size_t open_end = svg.find('>', open);
      if (open_end == std::string::npos) break;
      size_t next = svg.find_first_not_of(" \t\r\n", open_end + 1);
      if (svg[open_end - 1] != '/' && next != std::string::npos &&
          svg.compare(next, 4, "</g>") == 0) {
        out.append(svg, pos, open - pos);
        pos = svg.find_first_not_of(" \t\r\n", next + 4);
        if (pos == std::string::npos) pos = svg.size();
        changed = true;
      } else {
        out.append(svg, pos, open_end + 1 - pos);
        pos = open_end + 1;
      }
    }
    out.append(svg, std::min(pos, svg.size()), std::string::npos);
    svg = std::move(out);
  }
  return svg;
}

// QSvgGenerator draws a line series one segment at a time, each a <polyline> of two points on a
// line of its own; joins consecutive segments that continue each other into one polyline (a CDF
// shrinks about threefold, the drawing is the same).
std::string merge_polylines(const std::string& svg) {
  static const std::string kPrefix = "<polyline fill=\"none\" vector-effect=\"none\" points=\"";
  static const std::string kSuffix = " \" />";
  std::string out;
  out.reserve(svg.size());
  std::vector<std::string> points;  // of the polyline being joined
  auto flush = [&] {
    if (points.empty()) return;
    out += kPrefix;
    for (const std::string& p : points)
      out += p + " ";
    out += "\" />\n";
    points.clear();
  };
  size_t pos = 0;
  while (pos < svg.size()) {
    size_t end = svg.find('\n', pos);
    if (end == std::string::npos) end = svg.size();
    const std::string_view line(svg.data() + pos, end - pos);
    const bool segment = line.starts_with(kPrefix) && line.ends_with(kSuffix);
    if (!segment) {
      flush();
      out.append(line);
      if (end < svg.size()) out += '\n';
    } else {
      std::vector<std::string> these;
      std::string_view list =
          line.substr(kPrefix.size(), line.size() - kPrefix.size() - kSuffix.size());
      while (!list.empty()) {
        const size_t space = list.find(' ');
        these.emplace_back(list.substr(0, space));
        list = space == std::string_view::npos ? std::string_view() : list.substr(space + 1);
      }
      if (!points.empty() && !these.empty() && these.front() == points.back()) {
        points.insert(points.end(), these.begin() + 1, these.end());
      } else {
        flush();
        points = std::move(these);
      }
    }
    pos = end + 1;
  }
  flush();
  return out;
}

// The smallest of 1, 2, 5 × 10^k at least `raw` (raw > 0).
double nice_step(double raw) {
  if (!(raw > 0)) return 1;
  const double decade = std::pow(10.0, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 5.0}) {
    if (m * decade >= raw) return m * decade;
  }
  return 10 * decade;
}

}  // namespace

std::unique_ptr<QChart> make_chart(const QString& title, ChartLook look) {
  auto chart = std::make_unique<QChart>();
  chart->setTheme(QChart::ChartThemeLight);
  chart->setAnimationOptions(QChart::NoAnimation);
  chart->setBackgroundRoundness(0);
  chart->setDropShadowEnabled(false);
  chart->setBackgroundBrush(Qt::white);
  chart->setTitle(title);
  chart->setTitleFont(font_of_size(look.text_px + 4, true));
  chart->setMargins(QMargins(8, 4, 8, 4));
  chart->legend()->setAlignment(Qt::AlignBottom);
  chart->legend()->setFont(font_of_size(look.text_px));
  return chart;
}

void style_axis(QAbstractAxis* axis, const QString& title, ChartLook look) {
  axis->setTitleText(title);
  axis->setTitleFont(font_of_size(look.text_px));
  axis->setLabelsFont(font_of_size(look.text_px));
  axis->setGridLineColor(QColor(0xdd, 0xdd, 0xdd));
  axis->setMinorGridLineColor(QColor(0xf0, 0xf0, 0xf0));
}

std::vector<NamedRun> runs_of(const result::RunResult& result) {
  std::vector<NamedRun> runs;
  if (result.variants().empty()) {
    runs.push_back({result.variant().empty() ? "base" : result.variant(), &result});
    return runs;
  }
  std::map<std::string, const result::RunResult*> by_name;
  for (const auto& [name, variant] : result.variants())
    by_name.emplace(name, &variant);
  if (auto base = by_name.find("base"); base != by_name.end()) {
    runs.push_back({base->first, base->second});
    by_name.erase(base);
  }
  for (const auto& [name, variant] : by_name)
    runs.push_back({name, variant});
  return runs;
}

const char* percentile_label(Percentile p) {
  switch (p) {
    case Percentile::kP50:
      return "p50";
    case Percentile::kP99:
      return "p99";
    case Percentile::kP999:
      return "p99.9";
  }
  return "?";
}

double percentile_ms(const result::LatencyMs& latency, Percentile p) {
  switch (p) {
    case Percentile::kP50:
      return latency.p50();
    case Percentile::kP99:
      return latency.p99();
    case Percentile::kP999:
      return latency.p999();
  }
  return 0;
}

QColor series_color(size_t index) {
  static constexpr QRgb kTableau10[] = {0x4e79a7, 0xf28e2b, 0xe15759, 0x76b7b2, 0x59a14f,
                                        0xedc948, 0xb07aa1, 0xff9da7, 0x9c755f, 0xbab0ac};
  return QColor::fromRgb(kTableau10[index % std::size(kTableau10)]);
}

std::unique_ptr<QChart> latency_cdf_chart(const std::vector<NamedRun>& runs) {
  auto chart = make_chart("End-to-end latency CDF");
  double min_ms = std::numeric_limits<double>::infinity();
  double max_ms = 0;
  std::vector<QLineSeries*> series;
  for (size_t i = 0; i < runs.size(); ++i) {
    const auto& buckets = runs[i].result->latency_histogram();
    uint64_t total = 0;
    for (const auto& b : buckets)
      total += b.count();
    if (total == 0) continue;
    auto* line = new QLineSeries;
    line->setName(qstr(runs[i].name));
    line->setPen(QPen(series_color(i), 2));
    uint64_t cumulative = 0;
    for (const auto& b : buckets) {
      cumulative += b.count();
      if (b.upper_ms() <= 0) continue;  // a log axis cannot show it
      line->append(b.upper_ms(), static_cast<double>(cumulative) / static_cast<double>(total));
      min_ms = std::min(min_ms, b.upper_ms());
      max_ms = std::max(max_ms, b.upper_ms());
    }
    chart->addSeries(line);
    series.push_back(line);
  }
  auto* x = new QLogValueAxis;
  x->setBase(10);
  x->setLabelFormat("%g");
  x->setMinorTickCount(-1);  // 8 minor lines per decade: 2, 3, … 9
  style_axis(x, "latency (ms, log scale)");
  if (series.empty()) {
    x->setRange(1, 10);
  } else {
    // Whole decades, so every major label is a power of ten.
    const double lo = std::pow(10.0, std::floor(std::log10(min_ms)));
    double hi = std::pow(10.0, std::ceil(std::log10(max_ms)));
    if (hi <= lo) hi = lo * 10;
    x->setRange(lo, hi);
  }
  auto* y = new QValueAxis;
  y->setRange(0, 1);
  y->setTickCount(11);
  y->setLabelFormat("%.1f");
  style_axis(y, "share of requests ≤ latency");
  chart->addAxis(x, Qt::AlignBottom);
  chart->addAxis(y, Qt::AlignLeft);
  for (QLineSeries* line : series) {
    line->attachAxis(x);
    line->attachAxis(y);
  }
  // One run: mark its end-to-end percentiles on the curve, values in the legend.
  if (runs.size() == 1 && !series.empty()) {
    const result::LatencyMs& e2e = runs[0].result->end_to_end().latency_ms();
    const struct {
      Percentile p;
      double share;
      QScatterSeries::MarkerShape shape;
    } marks[] = {{Percentile::kP50, 0.5, QScatterSeries::MarkerShapeCircle},
                 {Percentile::kP99, 0.99, QScatterSeries::MarkerShapeRectangle},
                 {Percentile::kP999, 0.999, QScatterSeries::MarkerShapeTriangle}};
    for (const auto& mark : marks) {
      const double value_ms = percentile_ms(e2e, mark.p);
      if (value_ms <= 0) continue;
      auto* point = new QScatterSeries;
      point->setName(
          QString("%1 %2 ms").arg(percentile_label(mark.p)).arg(QString::number(value_ms, 'f', 3)));
      point->setMarkerShape(mark.shape);
      point->setMarkerSize(11);
      point->setColor(QColor(0x33, 0x33, 0x33));
      point->setBorderColor(Qt::white);
      point->append(value_ms, mark.share);
      chart->addSeries(point);
      point->attachAxis(x);
      point->attachAxis(y);
    }
    series[0]->setName("CDF");
  }
  chart->legend()->setVisible(true);
  chart->setPreferredSize(kChartWidth, 420);
  return chart;
}

std::unique_ptr<QChart> hop_breakdown_chart(const std::vector<NamedRun>& runs,
                                            const std::vector<Percentile>& percentiles) {
  auto chart = make_chart("Per-hop latency at each percentile (sum of per-hop percentiles)");
  const std::vector<std::string> hops = union_of_names(
      runs, [](const result::RunResult& r) -> const auto& { return r.hops(); },
      [](const result::Hop& h) -> const std::string& { return h.name(); });
  struct Row {
    Percentile percentile;
    const NamedRun* run;
  };
  std::vector<Row> rows;
  for (Percentile p : percentiles) {
    for (const NamedRun& run : runs)
      rows.push_back({p, &run});
  }
  // Qt draws the first category at the bottom; reverse so the chart reads top-down as listed.
  std::reverse(rows.begin(), rows.end());
  QStringList categories;
  for (const Row& row : rows) {
    QString label = percentile_label(row.percentile);
    if (runs.size() > 1) label += " · " + qstr(row.run->name);
    categories << label;
  }
  auto* series = new QHorizontalStackedBarSeries;
  series->setBarWidth(0.7);
  for (size_t h = 0; h < hops.size(); ++h) {
    auto* set = new QBarSet(qstr(hops[h]));
    set->setColor(series_color(h));
    set->setBorderColor(Qt::white);
    for (const Row& row : rows) {
      double value = 0;
      for (const auto& hop : row.run->result->hops()) {
        if (hop.name() == hops[h]) value = percentile_ms(hop.latency_ms(), row.percentile);
      }
      set->append(value);
    }
    series->append(set);
  }
  chart->addSeries(series);
  auto* y = new QBarCategoryAxis;
  y->append(categories);
  style_axis(y, "");
  y->setGridLineVisible(false);
  auto* x = new QValueAxis;
  x->setMin(0);
  x->setLabelFormat("%g");
  style_axis(x, "ms");
  chart->addAxis(y, Qt::AlignLeft);
  chart->addAxis(x, Qt::AlignBottom);
  series->attachAxis(y);
  series->attachAxis(x);
  x->setMin(0);
  x->applyNiceNumbers();
  chart->legend()->setAlignment(Qt::AlignRight);
  const int bars_height = 110 + 34 * static_cast<int>(rows.size());
  const int legend_height = 80 + 22 * static_cast<int>(hops.size());
  chart->setPreferredSize(kChartWidth, std::max(bars_height, legend_height));
  return chart;
}

std::unique_ptr<QChart> component_utilization_chart(const std::vector<NamedRun>& runs) {
  auto chart = make_chart("Utilisation per component");
  const std::vector<std::string> components = union_of_names(
      runs, [](const result::RunResult& r) -> const auto& { return r.components(); },
      [](const result::Component& c) -> const std::string& { return c.name(); });
  std::vector<std::string> bottom_up(components.rbegin(), components.rend());
  auto* series = new QHorizontalBarSeries;
  series->setBarWidth(0.8);
  double max_percent = 100;
  for (size_t i = 0; i < runs.size(); ++i) {
    auto* set = new QBarSet(qstr(runs[i].name));
    set->setColor(series_color(i));
    set->setBorderColor(series_color(i));
    for (const std::string& name : bottom_up) {
      double percent = 0;
      for (const auto& c : runs[i].result->components()) {
        if (c.name() == name) percent = c.utilization() * 100;
      }
      max_percent = std::max(max_percent, percent);
      set->append(percent);
    }
    series->append(set);
  }
  chart->addSeries(series);
  auto* y = new QBarCategoryAxis;
  for (const std::string& name : bottom_up)
    y->append(qstr(name));
  style_axis(y, "");
  y->setGridLineVisible(false);
  auto* x = new QValueAxis;
  x->setRange(0, std::ceil(max_percent / 10) * 10);
  x->setTickCount(11);
  x->setLabelFormat("%.0f");
  style_axis(x, "busy share (%)");
  chart->addAxis(y, Qt::AlignLeft);
  chart->addAxis(x, Qt::AlignBottom);
  series->attachAxis(y);
  series->attachAxis(x);
  chart->legend()->setVisible(runs.size() > 1);
  const int per_category = std::max(22, 12 * static_cast<int>(runs.size()) + 8);
  chart->setPreferredSize(
      kChartWidth, 120 + per_category * std::max<int>(1, static_cast<int>(components.size())));
  return chart;
}

std::unique_ptr<QChart> throughput_errors_chart(const std::vector<NamedRun>& runs) {
  auto chart = make_chart("Throughput and errors over time");
  auto* x = new QValueAxis;
  auto* rps_axis = new QValueAxis;
  auto* errors_axis = new QValueAxis;
  style_axis(x, "time since the end of warm-up (s)");
  style_axis(rps_axis, "successful requests/s");
  style_axis(errors_axis, "errors/s (dashed)");
  x->setLabelFormat("%g");
  rps_axis->setLabelFormat("%g");
  errors_axis->setLabelFormat("%g");
  errors_axis->setGridLineVisible(false);
  chart->addAxis(x, Qt::AlignBottom);
  chart->addAxis(rps_axis, Qt::AlignLeft);
  chart->addAxis(errors_axis, Qt::AlignRight);
  double end_s = 0;
  double max_rps = 0;
  double max_errors = 0;
  const bool several = runs.size() > 1;
  for (size_t i = 0; i < runs.size(); ++i) {
    const result::RunResult& r = *runs[i].result;
    const auto& points = r.time_series();
    if (points.empty()) continue;
    const double width_s = points.size() > 1 ? points[1].t() - points[0].t() : r.run().duration_s();
    const double replications = std::max<uint32_t>(1, r.run().replications());
    auto* rps = new QLineSeries;
    auto* errors = new QLineSeries;
    rps->setName(several ? qstr(runs[i].name) + " req/s" : QString("successful req/s"));
    errors->setName(several ? qstr(runs[i].name) + " errors/s" : QString("errors/s"));
    rps->setPen(QPen(series_color(i), 2));
    // One run: errors in red; several: each run keeps its colour, errors dashed.
    QPen dashed(several ? series_color(i) : series_color(2), 2, Qt::DashLine);
    errors->setPen(dashed);
    for (const auto& p : points) {
      // Each point stands for its bucket; draw it at the bucket's middle.
      const double mid_s = p.t() + width_s / 2;
      const double errors_per_s =
          width_s > 0 ? static_cast<double>(p.errors()) / width_s / replications : 0;
      rps->append(mid_s, p.rps());
      errors->append(mid_s, errors_per_s);
      max_rps = std::max(max_rps, p.rps());
      max_errors = std::max(max_errors, errors_per_s);
      end_s = std::max(end_s, p.t() + width_s);
    }
    chart->addSeries(rps);
    chart->addSeries(errors);
    rps->attachAxis(x);
    rps->attachAxis(rps_axis);
    errors->attachAxis(x);
    errors->attachAxis(errors_axis);
  }
  x->setRange(0, end_s > 0 ? end_s : 1);
  // Ticks on round seconds (1, 2, 5 × 10^k), about eight of them, from 0.
  x->setTickType(QValueAxis::TicksDynamic);
  x->setTickAnchor(0);
  x->setTickInterval(nice_step(x->max() / 8));
  rps_axis->setRange(0, max_rps > 0 ? max_rps * 1.1 : 1);
  rps_axis->applyNiceNumbers();
  errors_axis->setRange(0, max_errors > 0 ? max_errors * 1.1 : 1);
  errors_axis->applyNiceNumbers();
  chart->setPreferredSize(kChartWidth, 380);
  return chart;
}

std::unique_ptr<QChart> xy_chart(const XyChartSpec& spec) {
  auto chart = make_chart(qstr(spec.title));
  auto* x = new QValueAxis;
  style_axis(x, qstr(spec.x_title));
  x->setLabelFormat("%g");
  chart->addAxis(x, Qt::AlignBottom);
  QAbstractAxis* y = nullptr;
  QLogValueAxis* log_y = nullptr;
  QValueAxis* lin_y = nullptr;
  if (spec.log_y) {
    log_y = new QLogValueAxis;
    log_y->setBase(10);
    log_y->setLabelFormat("%g");
    log_y->setMinorTickCount(-1);
    y = log_y;
  } else {
    lin_y = new QValueAxis;
    lin_y->setLabelFormat("%g");
    y = lin_y;
  }
  style_axis(y, qstr(spec.y_title));
  chart->addAxis(y, Qt::AlignLeft);
  double x_min = std::numeric_limits<double>::infinity();
  double x_max = -x_min;
  double y_lo = std::numeric_limits<double>::infinity();
  double y_hi = -y_lo;
  auto extend = [&](double px, double py) {
    x_min = std::min(x_min, px);
    x_max = std::max(x_max, px);
    y_lo = std::min(y_lo, py);
    y_hi = std::max(y_hi, py);
  };
  for (size_t i = 0; i < spec.series.size(); ++i) {
    const XySeries& s = spec.series[i];
    auto* line = new QLineSeries;
    line->setName(qstr(s.name));
    line->setPen(QPen(series_color(i), 2, s.dashed ? Qt::DashLine : Qt::SolidLine));
    line->setPointsVisible(s.markers);
    for (const auto& [px, py] : s.points) {
      if (!std::isfinite(px) || !std::isfinite(py) || (spec.log_y && py <= 0)) continue;
      line->append(px, py);
      extend(px, py);
    }
    chart->addSeries(line);
    line->attachAxis(x);
    line->attachAxis(y);
  }
  if (!std::isfinite(x_min)) {
    x_min = 0;
    x_max = 1;
  }
  for (const ReferenceLine& v : spec.vertical) {
    x_min = std::min(x_min, v.value);
    x_max = std::max(x_max, v.value);
  }
  if (!std::isfinite(y_lo)) {
    y_lo = spec.log_y ? 1 : 0;
    y_hi = 1;
  }
  for (const ReferenceLine& h : spec.horizontal) {
    if (spec.log_y && h.value <= 0) continue;
    y_lo = std::min(y_lo, h.value);
    y_hi = std::max(y_hi, h.value);
  }
  double axis_lo = 0, axis_hi = 1;
  if (spec.log_y) {
    axis_lo = std::pow(10, std::floor(std::log10(y_lo)));
    axis_hi = std::pow(10, std::ceil(std::log10(y_hi)));
    if (axis_hi <= axis_lo) axis_hi = axis_lo * 10;
    log_y->setRange(axis_lo, axis_hi);
  } else {
    axis_lo = spec.y_min;
    axis_hi = spec.y_max.value_or(y_hi > axis_lo ? y_hi * 1.08 : axis_lo + 1);
    lin_y->setRange(axis_lo, axis_hi);
    if (!spec.y_max) lin_y->applyNiceNumbers();
    axis_lo = lin_y->min();
    axis_hi = lin_y->max();
  }
  if (x_max <= x_min) x_max = x_min + 1;
  x->setRange(x_min, x_max);
  x->applyNiceNumbers();
  const QColor grey(0x59, 0x63, 0x6e);
  for (const ReferenceLine& v : spec.vertical) {
    auto* line = new QLineSeries;
    line->setName(qstr(v.name));
    line->setPen(QPen(grey, 1.5, Qt::DashLine));
    line->append(v.value, axis_lo);
    line->append(v.value, axis_hi);
    chart->addSeries(line);
    line->attachAxis(x);
    line->attachAxis(y);
  }
  for (const ReferenceLine& h : spec.horizontal) {
    if (spec.log_y && h.value <= 0) continue;
    auto* line = new QLineSeries;
    line->setName(qstr(h.name));
    line->setPen(QPen(QColor(0xe1, 0x57, 0x59), 1.5, Qt::DashDotLine));
    line->append(x->min(), h.value);
    line->append(x->max(), h.value);
    chart->addSeries(line);
    line->attachAxis(x);
    line->attachAxis(y);
  }
  chart->setPreferredSize(kChartWidth, 400);
  return chart;
}

QString render_svg(QChart* chart, QSize size) {
  QGraphicsScene scene;
  scene.setSceneRect(QRectF(QPointF(0, 0), QSizeF(size)));
  scene.addItem(chart);
  chart->setGeometry(QRectF(QPointF(0, 0), QSizeF(size)));
  // The chart lays out its axes, legend and plot area on a posted LayoutRequest.
  QCoreApplication::sendPostedEvents();
  QCoreApplication::processEvents();
  QBuffer buffer;
  buffer.open(QIODevice::WriteOnly);
  QSvgGenerator generator;
  generator.setOutputDevice(&buffer);
  generator.setSize(size);
  generator.setViewBox(QRect(QPoint(0, 0), size));
  generator.setTitle(chart->title());
  {
    QPainter painter(&generator);
    painter.setRenderHint(QPainter::Antialiasing);
    painter.setRenderHint(QPainter::TextAntialiasing);
    scene.render(&painter, QRectF(QPointF(0, 0), QSizeF(size)),
                 QRectF(QPointF(0, 0), QSizeF(size)));
  }
  scene.removeItem(chart);
  const std::string svg = buffer.data().toStdString();
  return QString::fromStdString(drop_empty_groups(merge_polylines(svg)));
}

}  // namespace ingresslab::viz
