// The tail waterfall (p50 / p99 / p99.9 requests from the trace) and the side-by-side view of
// two or more runs (CDFs and per-hop bars overlaid, and a table of differences).
#pragma once

#include <QtCharts/QChartView>
#include <QtWidgets/QLabel>
#include <QtWidgets/QTableWidget>
#include <QtWidgets/QWidget>
#include <vector>

#include "viz/charts.h"
#include "viz/trace_summary.h"

namespace ingresslab::viz {

class WaterfallView : public QWidget {
  Q_OBJECT

 public:
  explicit WaterfallView(QWidget* parent = nullptr);
  // Shows the percentile requests of `trace` (null: says there is no trace).
  void set_trace(const TraceSummary* trace);
  // The charts shown (one per percentile request).
  int chart_count() const;

 private:
  QLabel* message_;
  std::vector<QChartView*> views_;
};

class CompareView : public QWidget {
  Q_OBJECT

 public:
  explicit CompareView(QWidget* parent = nullptr);
  // Overlays `runs` (the first is the baseline); fewer than two shows how to get a comparison.
  void set_runs(const std::vector<NamedRun>& runs);
  QTableWidget* table() const { return table_; }

 private:
  QLabel* message_;
  QChartView* cdf_;
  QChartView* bars_;
  QTableWidget* table_;
};

}  // namespace ingresslab::viz
