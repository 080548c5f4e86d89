#include "viz/hop_panel.h"

#include <QtWidgets/QHBoxLayout>
#include <QtWidgets/QVBoxLayout>
#include <vector>

#include "viz/hop_charts.h"
#include "viz/topology.h"

namespace ingresslab::viz {
namespace {

QString ms(double v) {
  return QString::number(v, 'f', 3);
}

QChartView* new_chart_view(QWidget* parent) {
  auto* view = new QChartView(parent);
  view->setRenderHint(QPainter::Antialiasing);
  view->setMinimumSize(280, 200);
  view->setChart(new QChart);
  return view;
}

}  // namespace

void replace_chart(QChartView* view, std::unique_ptr<QChart> chart) {
  QChart* old = view->chart();
  view->setChart(chart.release());
  delete old;
}

HopPanel::HopPanel(QWidget* parent) : QWidget(parent) {
  auto* layout = new QVBoxLayout(this);
  auto* top = new QHBoxLayout;
  top->addWidget(new QLabel("Hop:", this));
  hops_ = new QComboBox(this);
  hops_->setMinimumWidth(180);
  top->addWidget(hops_);
  numbers_ = new QLabel(this);
  numbers_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  numbers_->setWordWrap(true);
  top->addWidget(numbers_, 1);
  layout->addLayout(top);
  histogram_ = new_chart_view(this);
  cdf_ = new_chart_view(this);
  time_series_ = new_chart_view(this);
  layout->addWidget(histogram_, 1);
  layout->addWidget(cdf_, 1);
  layout->addWidget(time_series_, 1);
  connect(hops_, &QComboBox::currentIndexChanged, this, &HopPanel::show_hop);
}

void HopPanel::set_result(const result::RunResult* result) {
  const QString keep = current_hop();
  result_ = result;
  {
    QSignalBlocker block(hops_);
    hops_->clear();
    if (result != nullptr) {
      for (const auto& hop : result->hops())
        hops_->addItem(QString::fromStdString(hop.name()));
    }
  }
  int index = hops_->findText(keep);
  if (index < 0) index = hops_->count() > 0 ? 0 : -1;
  {
    QSignalBlocker block(hops_);
    hops_->setCurrentIndex(index);
  }
  show_hop(index);
}

bool HopPanel::select_hop(const QString& name) {
  const int index = hops_->findText(name);
  if (index < 0) return false;
  if (index == hops_->currentIndex()) {
    show_hop(index);
  } else {
    hops_->setCurrentIndex(index);  // show_hop through the signal
  }
  return true;
}

QString HopPanel::current_hop() const {
  return hops_->currentText();
}

void HopPanel::show_hop(int index) {
  if (result_ == nullptr || index < 0 || index >= result_->hops_size()) {
    numbers_->setText(result_ == nullptr ? "no result yet" : "no hops in this result");
    replace_chart(histogram_, std::make_unique<QChart>());
    replace_chart(cdf_, std::make_unique<QChart>());
    replace_chart(time_series_, std::make_unique<QChart>());
    return;
  }
  const result::Hop& hop = result_->hops(index);
  QString text = QString("%1 requests · p50 %2 · p99 %3 · p99.9 %4 ms · queueing mean %5 ms")
                     .arg(hop.requests())
                     .arg(ms(hop.latency_ms().p50()), ms(hop.latency_ms().p99()),
                          ms(hop.latency_ms().p999()), ms(hop.queueing_ms().mean()));
  if (hop.has_utilization())
    text += QString(" · utilisation %1%").arg(100 * hop.utilization(), 0, 'f', 1);
  if (hop.bottleneck()) text += " · bottleneck";
  numbers_->setText(text);
  replace_chart(histogram_, hop_histogram_chart(hop));
  replace_chart(cdf_, hop_cdf_chart(hop));
  const std::vector<result::Event> events(result_->events().begin(), result_->events().end());
  replace_chart(time_series_, hop_time_series_chart(hop, events));
  emit hop_changed(QString::fromStdString(hop.name()));
}

}  // namespace ingresslab::viz
