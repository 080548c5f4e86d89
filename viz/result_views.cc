#include "viz/result_views.h"

#include <QtWidgets/QHBoxLayout>
#include <QtWidgets/QHeaderView>
#include <QtWidgets/QSplitter>
#include <QtWidgets/QVBoxLayout>
#include <cmath>

#include "viz/hop_charts.h"
#include "viz/hop_panel.h"

namespace ingresslab::viz {

WaterfallView::WaterfallView(QWidget* parent) : QWidget(parent) {
  auto* layout = new QVBoxLayout(this);
  message_ = new QLabel(this);
  message_->setWordWrap(true);
  layout->addWidget(message_);
  for (int i = 0; i < 3; ++i) {
    auto* view = new QChartView(new QChart, this);
    view->setRenderHint(QPainter::Antialiasing);
    view->setMinimumSize(280, 160);
    layout->addWidget(view, 1);
    views_.push_back(view);
  }
  set_trace(nullptr);
}

void WaterfallView::set_trace(const TraceSummary* trace) {
  const size_t n = trace == nullptr ? 0 : trace->tail.size();
  if (trace == nullptr) {
    message_->setText(
        "No trace: the waterfall needs the per-request spans. Run a scenario here, or open a "
        "result and attach its trace (File → Attach trace; `ingresslab run --trace FILE`).");
  } else if (n == 0) {
    message_->setText("The trace has no successful request.");
  } else {
    message_->setText(QString("Where the tail comes from: the requests at the end-to-end p50, "
                              "p99 and p99.9 of %1 successful requests, hop by hop (queueing "
                              "dark, service light).")
                          .arg(trace->succeeded));
  }
  for (size_t i = 0; i < views_.size(); ++i) {
    if (i < n) {
      replace_chart(views_[i], waterfall_chart(trace->tail[i]));
      views_[i]->show();
    } else {
      replace_chart(views_[i], std::make_unique<QChart>());
      views_[i]->hide();
    }
  }
}

int WaterfallView::chart_count() const {
  int count = 0;
  for (const QChartView* v : views_)
    count += v->chart() != nullptr && !v->chart()->series().isEmpty() ? 1 : 0;
  return count;
}

CompareView::CompareView(QWidget* parent) : QWidget(parent) {
  auto* layout = new QVBoxLayout(this);
  message_ = new QLabel(this);
  message_->setWordWrap(true);
  layout->addWidget(message_);
  auto* charts = new QHBoxLayout;
  cdf_ = new QChartView(new QChart, this);
  bars_ = new QChartView(new QChart, this);
  for (QChartView* v : {cdf_, bars_}) {
    v->setRenderHint(QPainter::Antialiasing);
    v->setMinimumSize(280, 240);
    charts->addWidget(v, 1);
  }
  layout->addLayout(charts, 3);
  table_ = new QTableWidget(this);
  table_->setEditTriggers(QAbstractItemView::NoEditTriggers);
  table_->verticalHeader()->setVisible(false);
  layout->addWidget(table_, 2);
  set_runs({});
}

void CompareView::set_runs(const std::vector<NamedRun>& runs) {
  table_->clear();
  table_->setRowCount(0);
  table_->setColumnCount(0);
  if (runs.size() < 2) {
    message_->setText(
        "Nothing to compare: open a second result (File → Compare with…), pin the current "
        "result and change a what-if setting, or open a result saved with variants.");
    replace_chart(cdf_, std::make_unique<QChart>());
    replace_chart(bars_, std::make_unique<QChart>());
    return;
  }
  message_->setText(
      QString("Baseline: %1. Δ = run − baseline.").arg(QString::fromStdString(runs[0].name)));
  replace_chart(cdf_, latency_cdf_chart(runs));
  replace_chart(bars_, hop_percentile_bars_chart(runs, Percentile::kP99));

  // Rows: end-to-end numbers, then each hop's p99. Columns: metric, each run, and for every run
  // after the first its difference to the baseline.
  struct Row {
    QString metric;
    std::vector<std::optional<double>> values;
  };
  std::vector<Row> rows;
  auto e2e = [&](const QString& name, auto get) {
    Row row{name, {}};
    for (const NamedRun& r : runs)
      row.values.push_back(get(*r.result));
    rows.push_back(std::move(row));
  };
  e2e("end-to-end p50 (ms)", [](const result::RunResult& r) -> std::optional<double> {
    return r.end_to_end().latency_ms().p50();
  });
  e2e("end-to-end p99 (ms)", [](const result::RunResult& r) -> std::optional<double> {
    return r.end_to_end().latency_ms().p99();
  });
  e2e("end-to-end p99.9 (ms)", [](const result::RunResult& r) -> std::optional<double> {
    return r.end_to_end().latency_ms().p999();
  });
  e2e("end-to-end mean (ms)", [](const result::RunResult& r) -> std::optional<double> {
    return r.end_to_end().latency_ms().mean();
  });
  e2e("throughput (req/s)", [](const result::RunResult& r) -> std::optional<double> {
    return r.end_to_end().throughput_rps();
  });
  e2e("success ratio (%)", [](const result::RunResult& r) -> std::optional<double> {
    return 100 * r.end_to_end().success_ratio();
  });
  std::vector<std::string> hops;
  for (const NamedRun& r : runs)
    for (const auto& h : r.result->hops())
      if (std::find(hops.begin(), hops.end(), h.name()) == hops.end()) hops.push_back(h.name());
  for (const std::string& h : hops) {
    Row row{QString("%1 p99 (ms)").arg(QString::fromStdString(h)), {}};
    for (const NamedRun& r : runs) {
      std::optional<double> v;
      for (const auto& hop : r.result->hops())
        if (hop.name() == h) v = hop.latency_ms().p99();
      row.values.push_back(v);
    }
    rows.push_back(std::move(row));
  }
  QStringList headers{"metric"};
  for (const NamedRun& r : runs)
    headers << QString::fromStdString(r.name);
  for (size_t i = 1; i < runs.size(); ++i)
    headers << QString("Δ %1").arg(QString::fromStdString(runs[i].name))
            << QString("Δ%% %1").arg(QString::fromStdString(runs[i].name)).replace("%%", "%");
  table_->setColumnCount(static_cast<int>(headers.size()));
  table_->setHorizontalHeaderLabels(headers);
  table_->setRowCount(static_cast<int>(rows.size()));
  for (size_t r = 0; r < rows.size(); ++r) {
    const Row& row = rows[r];
    int col = 0;
    table_->setItem(static_cast<int>(r), col++, new QTableWidgetItem(row.metric));
    for (const auto& v : row.values) {
      table_->setItem(static_cast<int>(r), col++,
                      new QTableWidgetItem(v ? QString::number(*v, 'f', 3) : "—"));
    }
    for (size_t i = 1; i < row.values.size(); ++i) {
      const auto& base = row.values[0];
      const auto& v = row.values[i];
      QString delta = "—", relative = "—";
      if (base && v) {
        delta = QString::asprintf("%+.3f", *v - *base);
        if (std::abs(*base) > 1e-12)
          relative = QString::asprintf("%+.1f%%", 100 * (*v - *base) / *base);
      }
      auto* d = new QTableWidgetItem(delta);
      auto* p = new QTableWidgetItem(relative);
      table_->setItem(static_cast<int>(r), col++, d);
      table_->setItem(static_cast<int>(r), col++, p);
    }
  }
  table_->resizeColumnsToContents();
}

}  // namespace ingresslab::viz
