// The HTML report and the charts it draws (viz/charts.h), in process with offscreen Qt, on
// hand-made results whose every number is known.
#include <gtest/gtest.h>

#include <QtCharts/QBarSet>
#include <QtCharts/QHorizontalBarSeries>
#include <QtCharts/QHorizontalStackedBarSeries>
#include <QtCharts/QLineSeries>
#include <QtCharts/QLogValueAxis>
#include <QtCharts/QScatterSeries>
#include <QtGui/QImage>
#include <QtGui/QPainter>
#include <QtSvg/QSvgRenderer>
#include <memory>
#include <set>
#include <string>

#include "cli/report_html.h"
#include "viz/charts.h"
#include "viz/offscreen.h"

namespace ingresslab {
namespace {

using viz::NamedRun;
using viz::Percentile;

class QtEnvironment : public ::testing::Environment {
 public:
  void SetUp() override { app_ = std::make_unique<viz::OffscreenApplication>(); }
  void TearDown() override { app_.reset(); }

 private:
  std::unique_ptr<viz::OffscreenApplication> app_;
};
[[maybe_unused]] const auto* const kQt = ::testing::AddGlobalTestEnvironment(new QtEnvironment);

void set_latency(result::LatencyMs* l, double p50) {
  l->set_mean(p50 * 1.2);
  l->set_p50(p50);
  l->set_p90(p50 * 2);
  l->set_p99(p50 * 4);
  l->set_p999(p50 * 8);
  l->set_max(p50 * 10);
  l->set_count(1000);
}

void add_hop(result::RunResult* r, const std::string& name, double p50, double utilization,
             bool bottleneck = false) {
  auto* h = r->add_hops();
  h->set_name(name);
  set_latency(h->mutable_latency_ms(), p50);
  set_latency(h->mutable_queueing_ms(), p50 / 4);
  set_latency(h->mutable_service_ms(), p50 * 3 / 4);
  if (utilization >= 0) h->set_utilization(utilization);
  h->set_requests(1000);
  h->set_bottleneck(bottleneck);
}

// A complete result: latencies scale with `scale`, 5 one-second buckets with 6 errors in the third
// (over 2 replications), a 200-bucket histogram from 1 to ~100 ms.
result::RunResult make_result(double scale) {
  result::RunResult r;
  r.set_scenario("unit");
  auto* e = r.mutable_end_to_end();
  set_latency(e->mutable_latency_ms(), 5 * scale);
  e->mutable_latency_ms()->mutable_ci95_mean()->set_half_width(0.25);
  e->set_throughput_rps(1000.04);
  e->set_offered_rps(1001);
  e->set_success_ratio(0.999);
  e->set_requests(10000);
  e->set_succeeded(9990);
  add_hop(&r, "client_network", 1 * scale, -1);
  add_hop(&r, "ingress_proxy", 0.5 * scale, 0.3);
  add_hop(&r, "pod", 3 * scale, 0.7, true);
  auto* route = r.add_routes();
  route->set_host("shop.example.com");
  route->set_path("/api");
  route->set_service("api");
  set_latency(route->mutable_latency_ms(), 5 * scale);
  route->set_requests(10000);
  route->set_success_ratio(0.999);
  for (const char* name : {"ingress-0", "api-0", "api-1"}) {
    auto* c = r.add_components();
    c->set_name(name);
    c->set_kind(std::string(name).starts_with("ingress") ? "ingress_pod" : "pod");
    c->set_utilization(0.25 * scale);
    c->set_requests(5000);
  }
  for (int t = 0; t < 5; ++t) {
    auto* p = r.add_time_series();
    p->set_t(t);
    p->set_rps(1000 + t);
    p->set_errors(t == 2 ? 6 : 0);
  }
  double upper = 1;
  for (int b = 0; b < 200; ++b, upper *= 1.0233) {
    auto* bucket = r.add_latency_histogram();
    bucket->set_upper_ms(upper * scale);
    bucket->set_count(b < 100 ? 1 : 2);
  }
  r.mutable_run()->set_source("simulation");
  r.mutable_run()->set_replications(2);
  r.mutable_run()->set_duration_s(5);
  r.mutable_run()->set_seed(42);
  r.mutable_run()->add_notes("a note");
  return r;
}

// `base` plus variants: "slow" (latencies ×2) and "fast" (×0.5).
result::RunResult make_result_with_variants() {
  result::RunResult r = make_result(1);
  (*r.mutable_variants())["base"] = make_result(1);
  (*r.mutable_variants())["slow"] = make_result(2);
  (*r.mutable_variants())["fast"] = make_result(0.5);
  for (auto& [name, v] : *r.mutable_variants())
    v.set_variant(name == "base" ? "" : name);
  return r;
}

// Draws the SVG with Qt's own renderer; the number of distinct colours in the picture.
size_t colours_in_svg(const QString& svg) {
  QSvgRenderer renderer(svg.toUtf8());
  if (!renderer.isValid()) return 0;
  QImage image(renderer.viewBox().size(), QImage::Format_ARGB32);
  image.fill(Qt::white);
  QPainter painter(&image);
  renderer.render(&painter);
  painter.end();
  std::set<QRgb> colours;
  for (int y = 0; y < image.height(); y += 2) {
    for (int x = 0; x < image.width(); x += 2)
      colours.insert(image.pixel(x, y));
  }
  return colours.size();
}

size_t count_of(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1))
    ++n;
  return n;
}

// ---- runs_of ----

TEST(ChartsTest, RunsOfPutsBaseFirstThenVariantsByName) {
  const result::RunResult r = make_result_with_variants();
  const std::vector<NamedRun> runs = viz::runs_of(r);
  ASSERT_EQ(runs.size(), 3u);
  EXPECT_EQ(runs[0].name, "base");
  EXPECT_EQ(runs[1].name, "fast");
  EXPECT_EQ(runs[2].name, "slow");
  EXPECT_EQ(runs[2].result, &r.variants().at("slow"));
}

TEST(ChartsTest, RunsOfASingleRunIsNamedAfterItsVariant) {
  result::RunResult r = make_result(1);
  EXPECT_EQ(viz::runs_of(r).at(0).name, "base");
  r.set_variant("ipvs");
  ASSERT_EQ(viz::runs_of(r).size(), 1u);
  EXPECT_EQ(viz::runs_of(r)[0].name, "ipvs");
}

// ---- the charts' data ----

TEST(ChartsTest, CdfHasOneLinePerRunOnALogAxisEndingAtOne) {
  const result::RunResult r = make_result_with_variants();
  auto chart = viz::latency_cdf_chart(viz::runs_of(r));
  ASSERT_EQ(chart->series().size(), 3);
  for (QAbstractSeries* s : chart->series()) {
    auto* line = qobject_cast<QLineSeries*>(s);
    ASSERT_NE(line, nullptr);
    ASSERT_EQ(line->count(), 200);
    EXPECT_DOUBLE_EQ(line->at(199).y(), 1.0);
    EXPECT_NEAR(line->at(99).y(), 100.0 / 300.0, 1e-12);
  }
  auto* x = qobject_cast<QLogValueAxis*>(chart->axes(Qt::Horizontal).at(0));
  ASSERT_NE(x, nullptr);
  // Whole decades around 0.5 ms … ~200 ms.
  EXPECT_DOUBLE_EQ(x->min(), 0.1);
  EXPECT_DOUBLE_EQ(x->max(), 1000);
}

TEST(ChartsTest, CdfOfOneRunMarksItsPercentiles) {
  const result::RunResult r = make_result(1);
  auto chart = viz::latency_cdf_chart(viz::runs_of(r));
  ASSERT_EQ(chart->series().size(), 4);  // the curve, p50, p99, p99.9
  auto* p99 = qobject_cast<QScatterSeries*>(chart->series().at(2));
  ASSERT_NE(p99, nullptr);
  EXPECT_EQ(p99->name(), "p99 20.000 ms");
  EXPECT_DOUBLE_EQ(p99->at(0).x(), 20.0);
  EXPECT_DOUBLE_EQ(p99->at(0).y(), 0.99);
}

TEST(ChartsTest, HopBreakdownStacksEachHopsOwnPercentile) {
  result::RunResult r = make_result_with_variants();
  // A hop only one run saw still gets a series; the others add nothing for it.
  add_hop(&(*r.mutable_variants())["slow"], "kube_proxy", 0.1, -1);
  const std::vector<NamedRun> runs = viz::runs_of(r);
  auto chart = viz::hop_breakdown_chart(runs, {Percentile::kP50, Percentile::kP99});
  ASSERT_EQ(chart->series().size(), 1);
  auto* series = qobject_cast<QHorizontalStackedBarSeries*>(chart->series().at(0));
  ASSERT_NE(series, nullptr);
  const QList<QBarSet*> sets = series->barSets();
  ASSERT_EQ(sets.size(), 4);  // client_network, ingress_proxy, pod, kube_proxy
  EXPECT_EQ(sets[2]->label(), "pod");
  EXPECT_EQ(sets[3]->label(), "kube_proxy");
  // Rows bottom-up: p99·slow, p99·fast, p99·base, p50·slow, p50·fast, p50·base.
  ASSERT_EQ(sets[2]->count(), 6);
  EXPECT_DOUBLE_EQ(sets[2]->at(5), 3.0);        // p50 of pod in base
  EXPECT_DOUBLE_EQ(sets[2]->at(0), 3 * 2 * 4);  // p99 of pod in slow
  EXPECT_DOUBLE_EQ(sets[3]->at(5), 0);          // base has no kube_proxy hop
  EXPECT_DOUBLE_EQ(sets[3]->at(3), 0.1);        // p50 of kube_proxy in slow
}

TEST(ChartsTest, UtilizationIsPercentPerComponentPerRun) {
  const result::RunResult r = make_result_with_variants();
  auto chart = viz::component_utilization_chart(viz::runs_of(r));
  auto* series = qobject_cast<QHorizontalBarSeries*>(chart->series().at(0));
  ASSERT_NE(series, nullptr);
  ASSERT_EQ(series->barSets().size(), 3);
  EXPECT_EQ(series->barSets()[1]->label(), "fast");
  ASSERT_EQ(series->barSets()[1]->count(), 3);
  EXPECT_DOUBLE_EQ(series->barSets()[1]->at(0), 12.5);  // 0.25 × 0.5 → 12.5 %
  EXPECT_DOUBLE_EQ(series->barSets()[2]->at(0), 50);
}

TEST(ChartsTest, ThroughputAndErrorsAreRatesPerReplication) {
  const result::RunResult r = make_result(1);
  auto chart = viz::throughput_errors_chart(viz::runs_of(r));
  ASSERT_EQ(chart->series().size(), 2);
  auto* rps = qobject_cast<QLineSeries*>(chart->series().at(0));
  auto* errors = qobject_cast<QLineSeries*>(chart->series().at(1));
  ASSERT_EQ(rps->count(), 5);
  EXPECT_DOUBLE_EQ(rps->at(2).x(), 2.5);  // bucket middles
  EXPECT_DOUBLE_EQ(rps->at(2).y(), 1002);
  EXPECT_DOUBLE_EQ(errors->at(2).y(), 3);  // 6 errors / 1 s / 2 replications
  EXPECT_DOUBLE_EQ(errors->at(1).y(), 0);
}

// ---- SVG ----

TEST(ChartsTest, EveryChartRendersToAValidNonBlankSvg) {
  const result::RunResult r = make_result_with_variants();
  const std::vector<NamedRun> runs = viz::runs_of(r);
  std::vector<std::unique_ptr<QChart>> charts;
  charts.push_back(viz::latency_cdf_chart(runs));
  charts.push_back(viz::hop_breakdown_chart(runs, {Percentile::kP50, Percentile::kP999}));
  charts.push_back(viz::component_utilization_chart(runs));
  charts.push_back(viz::throughput_errors_chart(runs));
  for (auto& chart : charts) {
    SCOPED_TRACE(chart->title().toStdString());
    const QString svg = viz::render_svg(chart.get(), chart->preferredSize().toSize());
    EXPECT_TRUE(svg.startsWith("<?xml"));
    EXPECT_TRUE(svg.contains("<text"));
    EXPECT_GT(colours_in_svg(svg), 5u);
    EXPECT_EQ(chart->scene(), nullptr) << "the chart is the caller's again";
  }
}

TEST(ChartsTest, SvgJoinsLineSegmentsIntoPolylines) {
  const result::RunResult r = make_result(1);
  auto chart = viz::latency_cdf_chart(viz::runs_of(r));
  const std::string svg = viz::render_svg(chart.get(), QSize(960, 420)).toStdString();
  // 199 segments of the curve; joined, the whole SVG has a few dozen polylines (grid, ticks).
  EXPECT_LT(count_of(svg, "<polyline"), 80u);
  EXPECT_EQ(count_of(svg, "<g"), count_of(svg, "</g>"));
}

TEST(ChartsTest, EmptyResultStillDraws) {
  const result::RunResult empty;
  const std::vector<NamedRun> runs = viz::runs_of(empty);
  std::vector<std::unique_ptr<QChart>> charts;
  charts.push_back(viz::latency_cdf_chart(runs));
  charts.push_back(viz::hop_breakdown_chart(runs, {Percentile::kP99}));
  charts.push_back(viz::component_utilization_chart(runs));
  charts.push_back(viz::throughput_errors_chart(runs));
  for (auto& chart : charts) {
    const QString svg = viz::render_svg(chart.get(), chart->preferredSize().toSize());
    EXPECT_GT(colours_in_svg(svg), 1u);
  }
}

// ---- the HTML ----

TEST(ReportHtmlTest, EscapesEverythingFromTheResultAndTheScenario) {
  result::RunResult r = make_result(1);
  r.set_scenario("<script>alert(1)</script>");
  r.mutable_routes(0)->set_host("a.example.com\"><img src=x>");
  r.mutable_run()->add_notes("note with <b>tags</b> & ampersand");
  const std::string html =
      cli::render_html(r, "name: x\n# </pre><script>bad()</script>\n", "ingresslab run 'a&b.yaml'");
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("<img"), std::string::npos);
  EXPECT_NE(html.find("&lt;script&gt;alert(1)&lt;/script&gt;"), std::string::npos);
  EXPECT_NE(html.find("note with &lt;b&gt;tags&lt;/b&gt; &amp; ampersand"), std::string::npos);
  EXPECT_NE(html.find("# &lt;/pre&gt;&lt;script&gt;bad()"), std::string::npos);
  EXPECT_NE(html.find("ingresslab run &#39;a&amp;b.yaml&#39;"), std::string::npos);
}

TEST(ReportHtmlTest, EscapesVariantNamesInTablesAndCharts) {
  result::RunResult r = make_result_with_variants();
  (*r.mutable_variants())["<evil>&"] = make_result(3);
  const std::string html = cli::render_html(r, "", "");
  EXPECT_EQ(html.find("<evil>"), std::string::npos);
  EXPECT_NE(html.find("&lt;evil&gt;&amp;"), std::string::npos);
}

TEST(ReportHtmlTest, HeadlineNumbersAreFormattedJsonValues) {
  const result::RunResult r = make_result(1);
  const std::string html = cli::render_html(r, "name: unit\n", "ingresslab run unit.yaml");
  EXPECT_NE(html.find("data-key=\"end_to_end.latency_ms.p99\">20.000<"), std::string::npos);
  EXPECT_NE(html.find("data-key=\"end_to_end.latency_ms.p50\">5.000<"), std::string::npos);
  EXPECT_NE(html.find("data-key=\"end_to_end.latency_ms.p999\">40.000<"), std::string::npos);
  EXPECT_NE(html.find("data-key=\"end_to_end.throughput_rps\">1000.0<"), std::string::npos);
  EXPECT_NE(html.find("data-key=\"end_to_end.success_ratio\">99.900%<"), std::string::npos);
  EXPECT_NE(html.find("data-key=\"bottleneck\">pod<"), std::string::npos);
  EXPECT_EQ(count_of(html, "<figure class=\"chart\">"), 4u);
  EXPECT_EQ(count_of(html, "<svg"), 4u);
  // The order a reader needs: headline, charts, tables, notes, scenario, reproduce.
  const size_t summary = html.find("id=\"summary\"");
  const size_t charts = html.find("id=\"charts\"");
  const size_t hops = html.find("id=\"hops\"");
  const size_t scenario = html.find("id=\"scenario\"");
  const size_t reproduce = html.find("id=\"reproduce\"");
  EXPECT_LT(summary, charts);
  EXPECT_LT(charts, hops);
  EXPECT_LT(hops, scenario);
  EXPECT_LT(scenario, reproduce);
  EXPECT_NE(html.find("<details>\n<summary>The scenario file"), std::string::npos);
}

TEST(ReportHtmlTest, VariantsAreComparedAndTheBestOnP99Marked) {
  const result::RunResult r = make_result_with_variants();
  const std::string html = cli::render_html(r, "", "");
  EXPECT_NE(html.find("id=\"variants\""), std::string::npos);
  EXPECT_NE(html.find("<tr class=\"best\"><td>fast ★</td>"), std::string::npos);
  EXPECT_EQ(count_of(html, "class=\"best\""), 1u);
  EXPECT_NE(html.find("Best on p99: <b>fast</b> (10.000 ms)"), std::string::npos);
  EXPECT_NE(html.find("data-key=\"variants.slow.end_to_end.latency_ms.p99\">40.000<"),
            std::string::npos);
}

TEST(ReportHtmlTest, EqualP99sAreATie) {
  result::RunResult r = make_result(1);
  (*r.mutable_variants())["base"] = make_result(1);
  (*r.mutable_variants())["same"] = make_result(1);
  (*r.mutable_variants())["worse"] = make_result(2);
  std::string html = cli::render_html(r, "", "");
  EXPECT_NE(html.find("Best on p99 (tied): <b>base</b> and <b>same</b> (20.000 ms)."),
            std::string::npos);
  EXPECT_NE(html.find("<td>+20.000</td>"), std::string::npos);  // worse vs base
  r.mutable_variants()->erase("worse");
  html = cli::render_html(r, "", "");
  EXPECT_NE(html.find("All variants tie on p99 (20.000 ms)."), std::string::npos);
  EXPECT_NE(html.find("<td>0.000</td>"), std::string::npos);
}

TEST(ReportHtmlTest, BestOnP99WithFewerSuccessesIsFlagged) {
  result::RunResult r = make_result_with_variants();
  (*r.mutable_variants())["fast"].mutable_end_to_end()->set_success_ratio(0.9);
  const std::string html = cli::render_html(r, "", "");
  EXPECT_NE(html.find("its success ratio (90.000%) is below"), std::string::npos);
}

TEST(ReportHtmlTest, MissingDataIsSaidNotDrawn) {
  const std::string html = cli::render_html(result::RunResult(), "", "");
  EXPECT_EQ(count_of(html, "<svg"), 0u);
  EXPECT_NE(html.find("No latency histogram"), std::string::npos);
  EXPECT_NE(html.find("The scenario text was not available"), std::string::npos);
}

}  // namespace
}  // namespace ingresslab
