// One hop in detail: its numbers, latency histogram, CDF (queueing vs total) and time series
// with the run's fault events marked.
#pragma once

#include <QtCharts/QChartView>
#include <QtWidgets/QComboBox>
#include <QtWidgets/QLabel>
#include <QtWidgets/QWidget>
#include <memory>

#include "scenarios/proto/result.pb.h"

namespace ingresslab::viz {

class HopPanel : public QWidget {
  Q_OBJECT

 public:
  explicit HopPanel(QWidget* parent = nullptr);

  // Shows the hops of `result` (null: none), keeping the selected hop when it still exists.
  void set_result(const result::RunResult* result);
  // Shows hop `name`; false when the result has no such hop.
  bool select_hop(const QString& name);
  QString current_hop() const;
  QChart* histogram_chart() const { return histogram_->chart(); }
  QChart* cdf_chart() const { return cdf_->chart(); }
  QChart* time_series_chart() const { return time_series_->chart(); }

 signals:
  void hop_changed(const QString& hop);

 private:
  void show_hop(int index);

  const result::RunResult* result_ = nullptr;
  QComboBox* hops_;
  QLabel* numbers_;
  QChartView* histogram_;
  QChartView* cdf_;
  QChartView* time_series_;
};

// Replaces the chart a view shows, deleting the old one.
void replace_chart(QChartView* view, std::unique_ptr<QChart> chart);

}  // namespace ingresslab::viz
