// The visualizer in-process, offscreen: the trace summary against the trace it read, file kinds,
// the topology against the scenario and result it shows, and the main window driven as a user
// would (open, run in the background, select a hop, change a what-if setting, cancel).
#include <fcntl.h>
#include <google/protobuf/io/zero_copy_stream_impl.h>
#include <google/protobuf/util/delimited_message_util.h>
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <QtCharts/QAreaSeries>
#include <QtCharts/QLineSeries>
#include <QtCore/QElapsedTimer>
#include <QtCore/QFile>
#include <QtCore/QMimeData>
#include <QtCore/QTemporaryDir>
#include <QtCore/QTimer>
#include <QtCore/QUrl>
#include <QtGui/QDropEvent>
#include <QtWidgets/QApplication>
#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <memory>

#include "models/simulate.h"
#include "scenarios/loader.h"
#include "viz/inputs.h"
#include "viz/main_window.h"
#include "viz/offscreen.h"
#include "viz/topology.h"
#include "viz/trace_summary.h"

namespace ingresslab::viz {
namespace {

const std::string kShop = INGRESSLAB_VIZ_TEST_DATA "/shop.yaml";

class QtEnvironment : public ::testing::Environment {
 public:
  void SetUp() override { app_ = std::make_unique<OffscreenApplication>(); }
  void TearDown() override { app_.reset(); }

 private:
  std::unique_ptr<OffscreenApplication> app_;
};
[[maybe_unused]] ::testing::Environment* const kQt =
    ::testing::AddGlobalTestEnvironment(new QtEnvironment);

struct Simulated {
  scenario::Scenario resolved;
  result::RunResult result;
};

Simulated simulate_shop(const std::string& trace_path = "",
                        std::vector<std::pair<std::string, std::string>> sets = {}) {
  const auto loaded = scenarios::load_scenario_file(kShop);
  EXPECT_TRUE(loaded.ok()) << loaded.diagnostics.to_string();
  const auto resolved = scenarios::resolve_scenario(loaded, "", sets);
  EXPECT_TRUE(resolved.ok()) << resolved.diagnostics.to_string();
  models::SimulateOptions options;
  options.trace_path = trace_path;
  const models::SimulateOutput out = models::simulate(resolved.scenario, loaded.base_dir, options);
  EXPECT_TRUE(out.ok()) << out.error;
  return {resolved.scenario, out.result};
}

std::vector<result::Span> read_spans(const std::string& path) {
  std::vector<result::Span> spans;
  const int fd = ::open(path.c_str(), O_RDONLY);
  EXPECT_GE(fd, 0);
  google::protobuf::io::FileInputStream in(fd);
  for (;;) {
    result::Span span;
    bool clean_eof = false;
    if (!google::protobuf::util::ParseDelimitedFromZeroCopyStream(&span, &in, &clean_eof)) break;
    spans.push_back(std::move(span));
  }
  ::close(fd);
  return spans;
}

TEST(TraceSummary, PercentileRequestsAreTheNearestRanksAndHopHistogramsCountEveryHop) {
  QTemporaryDir dir;
  const std::string trace = dir.filePath("shop.trace").toStdString();
  const Simulated sim = simulate_shop(trace);
  TraceSummary summary;
  std::string error;
  ASSERT_TRUE(summarize_trace(trace, &summary, &error)) << error;
  EXPECT_EQ(summary.spans, sim.result.end_to_end().requests());
  EXPECT_EQ(summary.succeeded, sim.result.end_to_end().succeeded());

  // Independently from the spans: sorted latencies of the successful requests, and how many
  // successful requests passed each hop.
  std::vector<int64_t> latencies;
  std::map<std::string, uint64_t> per_hop;
  for (const result::Span& s : read_spans(trace)) {
    if (s.status() != "ok") continue;
    latencies.push_back(s.end_ns() - s.start_ns());
    for (const auto& h : s.hops())
      ++per_hop[h.hop()];
  }
  std::sort(latencies.begin(), latencies.end());
  ASSERT_EQ(summary.tail.size(), 3u);
  const double quantiles[] = {0.5, 0.99, 0.999};
  for (size_t i = 0; i < 3; ++i) {
    const auto& t = summary.tail[i];
    EXPECT_DOUBLE_EQ(t.quantile, quantiles[i]);
    const auto rank = static_cast<size_t>(std::ceil(quantiles[i] * latencies.size()));
    EXPECT_EQ(t.span.end_ns() - t.span.start_ns(), latencies[rank - 1]) << t.label;
    EXPECT_EQ(t.span.status(), "ok");
  }
  ASSERT_EQ(summary.hops.size(), per_hop.size());
  for (const result::Hop& hop : summary.hops) {
    uint64_t total = 0;
    for (const auto& b : hop.histogram())
      total += b.count();
    EXPECT_EQ(total, per_hop[hop.name()]) << hop.name();
    uint64_t queued = 0;
    for (const auto& b : hop.queueing_histogram())
      queued += b.count();
    EXPECT_EQ(queued, per_hop[hop.name()]) << hop.name();
  }

  // The fallback fills only what a result lacks.
  result::RunResult without = sim.result;
  for (auto& hop : *without.mutable_hops()) {
    hop.clear_histogram();
    hop.clear_queueing_histogram();
  }
  fill_missing_hop_histograms(summary, &without);
  for (const auto& hop : without.hops()) {
    EXPECT_FALSE(hop.histogram().empty()) << hop.name();
    EXPECT_FALSE(hop.queueing_histogram().empty()) << hop.name();
  }
}

TEST(TraceSummary, NotATraceIsAnErrorNamingTheFile) {
  TraceSummary summary;
  std::string error;
  EXPECT_FALSE(summarize_trace(kShop, &summary, &error));
  EXPECT_NE(error.find("shop.yaml"), std::string::npos) << error;
  EXPECT_FALSE(summarize_trace("/nonexistent/x.trace", &summary, &error));
  EXPECT_NE(error.find("/nonexistent/x.trace"), std::string::npos) << error;
}

TEST(Inputs, ScenarioResultAndTraceAreToldApart) {
  QTemporaryDir dir;
  const std::string trace = dir.filePath("t.trace").toStdString();
  const Simulated sim = simulate_shop(trace);
  std::string json;
  ASSERT_TRUE(google::protobuf::util::MessageToJsonString(sim.result, &json).ok());
  const std::string result_path = dir.filePath("r.json").toStdString();
  std::ofstream(result_path) << json;
  const std::string scenario_json = dir.filePath("s.json").toStdString();
  std::ofstream(scenario_json) << R"({"name": "x", "services": []})";
  const std::string broken = dir.filePath("broken.json").toStdString();
  std::ofstream(broken) << R"({"end_to_end": 5})";

  InputKind kind;
  std::string error;
  ASSERT_TRUE(classify_input(kShop, &kind, &error)) << error;
  EXPECT_EQ(kind, InputKind::kScenario);
  ASSERT_TRUE(classify_input(result_path, &kind, &error)) << error;
  EXPECT_EQ(kind, InputKind::kResult);
  ASSERT_TRUE(classify_input(scenario_json, &kind, &error)) << error;
  EXPECT_EQ(kind, InputKind::kScenario);
  ASSERT_TRUE(classify_input(trace, &kind, &error)) << error;
  EXPECT_EQ(kind, InputKind::kTrace);
  EXPECT_FALSE(classify_input(dir.filePath("missing.json").toStdString(), &kind, &error));
  EXPECT_NE(error.find("missing.json"), std::string::npos) << error;

  result::RunResult read;
  ASSERT_TRUE(read_result_json(result_path, &read, &error)) << error;
  EXPECT_EQ(read.end_to_end().requests(), sim.result.end_to_end().requests());
  EXPECT_FALSE(read_result_json(broken, &read, &error));
  EXPECT_NE(error.find("broken.json"), std::string::npos) << error;
}

TEST(Topology, OneVertexPerComponentAndTrafficSharesAddUp) {
  const Simulated sim = simulate_shop();
  Topology t = build_topology(sim.result, &sim.resolved);
  std::map<std::string, int> count;
  for (const auto& v : t.vertices)
    ++count[v.name];
  for (const auto& c : sim.result.components()) {
    EXPECT_EQ(count[c.name()], 1) << c.name();
  }
  auto of_kind = [&](VertexKind k) {
    return std::count_if(t.vertices.begin(), t.vertices.end(),
                         [&](const TopologyVertex& v) { return v.kind == k; });
  };
  EXPECT_EQ(of_kind(VertexKind::kNode), sim.resolved.cluster().nodes_size());
  EXPECT_EQ(of_kind(VertexKind::kService), sim.resolved.services_size());
  EXPECT_EQ(of_kind(VertexKind::kClients), 1);
  EXPECT_EQ(of_kind(VertexKind::kIngressPod), sim.resolved.ingress().replicas());
  EXPECT_EQ(t.zones, (std::vector<std::string>{"zone-a", "zone-b"}));
  // Every request leaves the clients, crosses one node -> ingress edge and reaches one pod.
  auto share_from = [&](VertexKind from, VertexKind to) {
    double sum = 0;
    for (const auto& e : t.edges) {
      if (t.vertices[static_cast<size_t>(e.from)].kind == from &&
          t.vertices[static_cast<size_t>(e.to)].kind == to)
        sum += e.traffic_share;
    }
    return sum;
  };
  EXPECT_NEAR(share_from(VertexKind::kClients, VertexKind::kNode), 1.0, 1e-9);
  EXPECT_NEAR(share_from(VertexKind::kNode, VertexKind::kIngressPod), 1.0, 1e-9);
  EXPECT_NEAR(share_from(VertexKind::kService, VertexKind::kPod), 1.0, 1e-9);
  // Pods carry their component's utilisation.
  for (const auto& v : t.vertices) {
    if (v.component < 0) continue;
    ASSERT_TRUE(v.utilization.has_value()) << v.name;
    EXPECT_DOUBLE_EQ(*v.utilization, sim.result.components(v.component).utilization());
  }

  // Layout: deterministic, and no two items overlap.
  constexpr double kW = 100, kH = 30;
  layout_topology(&t, LayoutAlgorithm::kKamadaKawai, 800, 500, kW, kH);
  Topology again = t;
  layout_topology(&again, LayoutAlgorithm::kKamadaKawai, 800, 500, kW, kH);
  for (size_t i = 0; i < t.vertices.size(); ++i) {
    EXPECT_EQ(t.vertices[i].x, again.vertices[i].x);
    EXPECT_EQ(t.vertices[i].y, again.vertices[i].y);
    for (size_t j = i + 1; j < t.vertices.size(); ++j) {
      const bool apart = std::abs(t.vertices[i].x - t.vertices[j].x) >= kW ||
                         std::abs(t.vertices[i].y - t.vertices[j].y) >= kH;
      EXPECT_TRUE(apart) << t.vertices[i].name << " overlaps " << t.vertices[j].name;
    }
  }
  layout_topology(&again, LayoutAlgorithm::kFruchtermanReingold, 800, 500, kW, kH);
  for (const auto& v : again.vertices) {
    EXPECT_TRUE(std::isfinite(v.x) && std::isfinite(v.y)) << v.name;
  }
}

// The main window with short runs (the scenario's 3 s would do too; 2 s keeps it quick).
std::unique_ptr<MainWindow> open_shop(double duration_s = 2, int replications = 2) {
  auto w = std::make_unique<MainWindow>(/*interactive=*/false);
  w->set_run_overrides(duration_s, replications);
  EXPECT_TRUE(w->open_file(QString::fromStdString(kShop)));
  EXPECT_TRUE(w->wait_until_idle(60000));
  return w;
}

TEST(MainWindow, OpensAScenarioRunsItAndDrawsOneItemPerComponent) {
  auto w = open_shop();
  const result::RunResult* r = w->session()->shown();
  ASSERT_NE(r, nullptr);
  EXPECT_GT(r->end_to_end().succeeded(), 0u);
  const Topology& t = w->topology_view()->topology();
  EXPECT_EQ(w->topology_view()->vertex_items().size(), t.vertices.size());
  // clients + 3 nodes + 1 Service + every component (2 ingress pods, 1 pod).
  EXPECT_EQ(t.vertices.size(), 1u + 3u + 1u + static_cast<size_t>(r->components_size()));
  for (const auto& c : r->components()) {
    EXPECT_EQ(std::count_if(t.vertices.begin(), t.vertices.end(),
                            [&](const TopologyVertex& v) { return v.name == c.name(); }),
              1)
        << c.name();
  }
  EXPECT_EQ(w->hop_table()->rowCount(), r->hops_size());
  // The trace of the run feeds the waterfall: p50, p99, p99.9.
  ASSERT_NE(w->session()->trace(), nullptr);
  EXPECT_EQ(w->waterfall_view()->chart_count(), 3);
}

TEST(MainWindow, SelectingAHopFillsItsHistogramCdfAndTimeSeries) {
  auto w = open_shop();
  ASSERT_TRUE(w->topology_view()->select_vertex("api-0"));
  EXPECT_EQ(w->hop_panel()->current_hop(), "pod");
  // The histogram's bins are shares of the hop's requests: they add up to 1.
  const auto series = w->hop_panel()->histogram_chart()->series();
  ASSERT_FALSE(series.isEmpty());
  auto* area = qobject_cast<QAreaSeries*>(series.front());
  ASSERT_NE(area, nullptr);
  const auto points = area->upperSeries()->points();
  ASSERT_GT(points.size(), 4);
  double total = 0;
  for (qsizetype i = 1; i < points.size(); i += 4)
    total += points[i].y();
  EXPECT_NEAR(total, 1.0, 1e-6);
  EXPECT_FALSE(w->hop_panel()->cdf_chart()->series().isEmpty());
  // The time series marks the run's fault events (when the result has any).
  const result::RunResult* r = w->session()->shown();
  bool has_events_series = false;
  for (QAbstractSeries* s : w->hop_panel()->time_series_chart()->series())
    has_events_series = has_events_series || s->name() == "events";
  EXPECT_EQ(has_events_series, r->events_size() > 0);

  // Selecting another vertex selects its hop.
  ASSERT_TRUE(w->topology_view()->select_vertex("ingress-0"));
  EXPECT_EQ(w->hop_panel()->current_hop(), "ingress_proxy");
}

TEST(MainWindow, MoreReplicasInTheWhatIfPanelRerunsAndLowersP99) {
  auto w = open_shop();
  const double p99_one_pod = w->session()->shown()->end_to_end().latency_ms().p99();
  w->session()->pin_for_compare();  // the baseline of the side-by-side view
  QSpinBox* replicas = w->what_if()->replicas_box("api");
  ASSERT_NE(replicas, nullptr);
  EXPECT_EQ(replicas->value(), 1);
  replicas->setValue(3);  // as a user would: the panel reruns by itself
  ASSERT_TRUE(w->wait_until_idle(60000));
  ASSERT_NE(w->session()->resolved(), nullptr);
  EXPECT_EQ(w->session()->resolved()->services(0).deployment().replicas(), 3u);
  const auto& sets = w->session()->assignments();
  ASSERT_EQ(sets.size(), 1u);
  EXPECT_EQ(sets[0].first, "services[api].deployment.replicas");
  EXPECT_EQ(sets[0].second, "3");
  // rho 0.8 on one pod's 2 workers vs 0.27 on three pods: the tail is much shorter.
  const double p99_three_pods = w->session()->shown()->end_to_end().latency_ms().p99();
  EXPECT_LT(p99_three_pods, 0.5 * p99_one_pod)
      << "one pod " << p99_one_pod << " ms, three pods " << p99_three_pods << " ms";
  // Every view shows the new run: three pods in the topology.
  const auto& t = w->topology_view()->topology();
  EXPECT_EQ(std::count_if(t.vertices.begin(), t.vertices.end(),
                          [](const TopologyVertex& v) { return v.kind == VertexKind::kPod; }),
            3);
  // Side by side: the pinned one-pod run is the baseline; the p99 row shows the drop.
  ASSERT_EQ(w->session()->compare_runs().size(), 2u);
  QTableWidget* table = w->compare_view()->table();
  ASSERT_GE(table->columnCount(), 5);  // metric, baseline, what-if, delta, delta %
  int p99_row = -1;
  for (int row = 0; row < table->rowCount(); ++row)
    if (table->item(row, 0)->text() == "end-to-end p99 (ms)") p99_row = row;
  ASSERT_GE(p99_row, 0);
  EXPECT_NEAR(table->item(p99_row, 1)->text().toDouble(), p99_one_pod, 1e-3);
  EXPECT_NEAR(table->item(p99_row, 2)->text().toDouble(), p99_three_pods, 1e-3);
  EXPECT_NEAR(table->item(p99_row, 3)->text().toDouble(), p99_three_pods - p99_one_pod, 2e-3);
}

TEST(MainWindow, TheUiKeepsRespondingWhileARunGoesAndCancelStopsIt) {
  // Many long replications: minutes of work if not canceled.
  auto w = std::make_unique<MainWindow>(/*interactive=*/false);
  w->set_run_overrides(20, 500);
  ASSERT_TRUE(w->open_file(QString::fromStdString(kShop)));
  ASSERT_TRUE(w->session()->running());
  int ticks = 0;
  QTimer timer;
  QObject::connect(&timer, &QTimer::timeout, [&] { ++ticks; });
  timer.start(10);
  // The UI thread keeps handling events (timers here) while the simulation runs: several ticks
  // arrive long before the run could end (it needs minutes of CPU).
  QElapsedTimer elapsed;
  elapsed.start();
  while (ticks < 5 && elapsed.elapsed() < 20000)
    QApplication::processEvents(QEventLoop::AllEvents, 20);
  EXPECT_GE(ticks, 5);
  EXPECT_TRUE(w->session()->running());
  w->session()->cancel();
  EXPECT_TRUE(w->wait_until_idle(20000));
  EXPECT_FALSE(w->session()->running());
}

TEST(MainWindow, DroppingAFileOpensIt) {
  MainWindow w(/*interactive=*/false);
  w.set_run_overrides(1, 1);
  QMimeData mime;
  mime.setUrls({QUrl::fromLocalFile(QString::fromStdString(kShop))});
  // As Qt delivers a drag from another application: enter, then drop.
  QDragEnterEvent enter(QPoint(20, 20), Qt::CopyAction, &mime, Qt::LeftButton, Qt::NoModifier);
  QApplication::sendEvent(&w, &enter);
  EXPECT_TRUE(enter.isAccepted());
  QDropEvent drop(QPointF(20, 20), Qt::CopyAction, &mime, Qt::LeftButton, Qt::NoModifier);
  QApplication::sendEvent(&w, &drop);
  ASSERT_NE(w.session()->loaded(), nullptr);
  EXPECT_EQ(w.session()->loaded()->path, kShop);
  ASSERT_TRUE(w.wait_until_idle(60000));
  EXPECT_NE(w.session()->shown(), nullptr);
}

TEST(MainWindow, SaveReportWritesTheClisHtmlReport) {
  auto w = open_shop(1, 1);
  QTemporaryDir dir;
  const QString path = dir.filePath("report.html");
  QString error;
  ASSERT_TRUE(w->save_report(path, &error)) << error.toStdString();
  QFile f(path);
  ASSERT_TRUE(f.open(QIODevice::ReadOnly));
  const QString html = QString::fromUtf8(f.readAll());
  EXPECT_TRUE(html.startsWith("<!DOCTYPE html>", Qt::CaseInsensitive))
      << html.left(80).toStdString();
  EXPECT_TRUE(html.contains("viz-shop"));
  EXPECT_TRUE(html.contains("<svg"));  // the charts
  EXPECT_FALSE(w->save_report("/nonexistent/dir/report.html", &error));
  EXPECT_TRUE(error.contains("/nonexistent/dir/report.html"));
}

TEST(MainWindow, ABadFileIsReportedAndKeepsWhatWasOpen) {
  auto w = open_shop();
  QString reported;
  QObject::connect(w.get(), &MainWindow::error_reported, [&](const QString& e) { reported = e; });
  EXPECT_FALSE(w->open_file("/nonexistent/scenario.yaml"));
  EXPECT_TRUE(reported.contains("/nonexistent/scenario.yaml")) << reported.toStdString();
  EXPECT_NE(w->session()->shown(), nullptr);
}

}  // namespace
}  // namespace ingresslab::viz
