#include "viz/main_window.h"

#include <QtCore/QElapsedTimer>
#include <QtCore/QFile>
#include <QtCore/QFileInfo>
#include <QtCore/QMimeData>
#include <QtCore/QSettings>
#include <QtGui/QAction>
#include <QtGui/QDragEnterEvent>
#include <QtGui/QDropEvent>
#include <QtGui/QPainter>
#include <QtSvg/QSvgGenerator>
#include <QtWidgets/QApplication>
#include <QtWidgets/QDockWidget>
#include <QtWidgets/QFileDialog>
#include <QtWidgets/QHeaderView>
#include <QtWidgets/QMenuBar>
#include <QtWidgets/QMessageBox>
#include <QtWidgets/QSplitter>
#include <QtWidgets/QStatusBar>
#include <QtWidgets/QToolBar>
#include <QtWidgets/QVBoxLayout>
#include <fstream>
#include <sstream>

#include "cli/report_html.h"

namespace ingresslab::viz {
namespace {

constexpr int kMaxRecent = 8;
const char* const kOpenFilter =
    "Scenarios, results and traces (*.yaml *.yml *.json *.textproto *.txtpb *.pbtxt *.trace "
    "*.bin);;All files (*)";

QString fmt(double v) {
  return QString::number(v, 'f', 3);
}

}  // namespace

MainWindow::MainWindow(bool interactive, QWidget* parent)
    : QMainWindow(parent), interactive_(interactive) {
  setWindowTitle("ingresslab-viz");
  setAcceptDrops(true);

  tabs_ = new QTabWidget(this);
  // Topology tab: the graph and the hop table on the left, the selected hop on the right.
  auto* split = new QSplitter(Qt::Horizontal, tabs_);
  topology_split_ = split;
  topology_pane_ = new QWidget(split);
  auto* left = new QVBoxLayout(topology_pane_);
  left->setContentsMargins(0, 0, 0, 0);
  summary_ = new QLabel(topology_pane_);
  summary_->setWordWrap(true);
  summary_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  left->addWidget(summary_);
  topology_ = new TopologyView(topology_pane_);
  left->addWidget(topology_, 3);
  hop_table_ = new QTableWidget(topology_pane_);
  hop_table_->setEditTriggers(QAbstractItemView::NoEditTriggers);
  hop_table_->setSelectionBehavior(QAbstractItemView::SelectRows);
  hop_table_->setSelectionMode(QAbstractItemView::SingleSelection);
  hop_table_->verticalHeader()->setVisible(false);
  left->addWidget(hop_table_, 1);
  hop_panel_ = new HopPanel(split);
  split->addWidget(topology_pane_);
  split->addWidget(hop_panel_);
  split->setStretchFactor(0, 3);
  split->setStretchFactor(1, 2);
  split->setSizes({800, 520});
  tabs_->addTab(split, "Topology && hops");
  waterfall_ = new WaterfallView(tabs_);
  tabs_->addTab(waterfall_, "Tail waterfall");
  compare_ = new CompareView(tabs_);
  tabs_->addTab(compare_, "Compare");
  setCentralWidget(tabs_);

  auto* dock = new QDockWidget("What if", this);
  dock->setObjectName("what-if");
  what_if_ = new WhatIfPanel(dock);
  dock->setWidget(what_if_);
  addDockWidget(Qt::RightDockWidgetArea, dock);

  auto* toolbar = addToolBar("Run");
  toolbar->setObjectName("run-toolbar");
  toolbar->addWidget(new QLabel(" Run shown: ", toolbar));
  run_picker_ = new QComboBox(toolbar);
  run_picker_->setMinimumWidth(140);
  toolbar->addWidget(run_picker_);

  status_ = new QLabel("Open a scenario, a result (JSON) or a trace — or drop one here.", this);
  progress_ = new QProgressBar(this);
  progress_->setMaximumWidth(220);
  progress_->setVisible(false);
  cancel_ = new QPushButton("Cancel", this);
  cancel_->setVisible(false);
  statusBar()->addWidget(status_, 1);
  statusBar()->addPermanentWidget(progress_);
  statusBar()->addPermanentWidget(cancel_);

  build_menus();
  rerun_timer_.setSingleShot(true);
  rerun_timer_.setInterval(400);  // one run for a burst of spin-box clicks

  connect(&session_, &Session::result_changed, this, &MainWindow::refresh);
  connect(&session_, &Session::compare_changed, this,
          [this] { compare_->set_runs(session_.compare_runs()); });
  connect(&session_, &Session::progress, this, [this](int done, int total) {
    progress_->setRange(0, std::max(total, 1));
    progress_->setValue(done);
    progress_->setFormat(QString("replication %1/%2").arg(done).arg(total));
  });
  connect(&session_, &Session::running_changed, this, [this](bool running) {
    progress_->setVisible(running);
    cancel_->setVisible(running);
    if (running) status_->setText("Simulating…");
  });
  connect(&session_, &Session::run_failed, this,
          [this](const QString& error) { report_error("Run failed", error); });
  connect(cancel_, &QPushButton::clicked, &session_, &Session::cancel);
  connect(topology_, &TopologyView::hop_selected, this,
          [this](const QString& hop) { hop_panel_->select_hop(hop); });
  connect(hop_table_, &QTableWidget::itemSelectionChanged, this, [this] {
    const auto rows = hop_table_->selectionModel()->selectedRows();
    if (!rows.isEmpty()) hop_panel_->select_hop(hop_table_->item(rows[0].row(), 0)->text());
  });
  connect(run_picker_, &QComboBox::currentIndexChanged, this, [this](int index) {
    if (index >= 0) session_.set_shown_run(index);
  });
  connect(what_if_, &WhatIfPanel::changed, this, [this] {
    if (what_if_->auto_rerun()) rerun_timer_.start();
  });
  connect(what_if_, &WhatIfPanel::run_requested, this, &MainWindow::rerun_from_panel);
  connect(&rerun_timer_, &QTimer::timeout, this, &MainWindow::rerun_from_panel);
  refresh();
  resize(1500, 950);
}

void MainWindow::build_menus() {
  QMenu* file = menuBar()->addMenu("&File");
  file->addAction("&Open…", QKeySequence::Open, this, [this] {
    const QString path = QFileDialog::getOpenFileName(this, "Open", {}, kOpenFilter);
    if (!path.isEmpty()) open_file(path);
  });
  recent_menu_ = file->addMenu("Open &recent");
  rebuild_recent_menu();
  file->addAction("Attach &trace…", this, [this] {
    const QString path = QFileDialog::getOpenFileName(this, "Attach trace", {}, kOpenFilter);
    if (!path.isEmpty()) attach_trace(path);
  });
  file->addAction("&Compare with…", this, [this] {
    const QString path = QFileDialog::getOpenFileName(this, "Compare with", {}, kOpenFilter);
    if (!path.isEmpty()) open_compare(path);
  });
  file->addAction("&Pin current result for comparison", this,
                  [this] { session_.pin_for_compare(); });
  file->addSeparator();
  file->addAction("&Export view…", QKeySequence("Ctrl+E"), this, [this] {
    const QString path = QFileDialog::getSaveFileName(this, "Export view", "view.png",
                                                      "PNG image (*.png);;SVG drawing (*.svg)");
    QString error;
    if (!path.isEmpty() && !export_view(current_view(), path, &error))
      report_error("Export failed", error);
  });
  file->addAction("Save &report…", QKeySequence::Save, this, [this] {
    const QString path =
        QFileDialog::getSaveFileName(this, "Save HTML report", "report.html", "HTML (*.html)");
    QString error;
    if (!path.isEmpty() && !save_report(path, &error)) report_error("Report failed", error);
  });
  file->addSeparator();
  file->addAction("&Quit", QKeySequence::Quit, this, &QWidget::close);
  QMenu* run = menuBar()->addMenu("&Run");
  run->addAction("&Run again", QKeySequence("Ctrl+R"), this, &MainWindow::rerun_from_panel);
  run->addAction("&Cancel", QKeySequence("Esc"), &session_, &Session::cancel);
  QMenu* view = menuBar()->addMenu("&View");
  view->addAction("Zoom &in", QKeySequence::ZoomIn, this, [this] { topology_->zoom(1.25); });
  view->addAction("Zoom &out", QKeySequence::ZoomOut, this, [this] { topology_->zoom(0.8); });
  view->addAction("&Fit topology", QKeySequence("Ctrl+0"), this, [this] { topology_->fit(); });
  view->addSeparator();
  view->addAction("Layout: &Kamada-Kawai", this,
                  [this] { topology_->set_layout(LayoutAlgorithm::kKamadaKawai); });
  view->addAction("Layout: F&ruchterman-Reingold", this,
                  [this] { topology_->set_layout(LayoutAlgorithm::kFruchtermanReingold); });
}

bool MainWindow::open_file(const QString& path) {
  QString error;
  if (!session_.open(path, &error)) {
    report_error("Cannot open " + QFileInfo(path).fileName(), error);
    return false;
  }
  {
    QSignalBlocker block(what_if_);
    what_if_->set_scenario(session_.loaded());
    // The panel starts at the scenario's values; overrides in force stay in force.
    if (session_.duration_s()) what_if_->set_duration_s(*session_.duration_s());
    if (session_.replications()) what_if_->set_replications(*session_.replications());
  }
  status_->setText(session_.loaded() != nullptr ? "Simulating " + path + "…" : "Opened " + path);
  remember(path);
  setWindowTitle("ingresslab-viz — " + QFileInfo(path).fileName());
  return true;
}

bool MainWindow::open_compare(const QString& path) {
  QString error;
  if (!session_.open_compare(path, &error)) {
    report_error("Cannot compare with " + QFileInfo(path).fileName(), error);
    return false;
  }
  return true;
}

bool MainWindow::attach_trace(const QString& path) {
  QString error;
  if (!session_.attach_trace(path, &error)) {
    report_error("Cannot attach " + QFileInfo(path).fileName(), error);
    return false;
  }
  return true;
}

void MainWindow::set_run_overrides(std::optional<double> duration_s,
                                   std::optional<int> replications) {
  session_.set_duration_s(duration_s);
  session_.set_replications(replications);
  QSignalBlocker block(what_if_);
  if (duration_s) what_if_->set_duration_s(*duration_s);
  if (replications) what_if_->set_replications(*replications);
}

bool MainWindow::wait_until_idle(int timeout_ms) {
  QElapsedTimer timer;
  timer.start();
  while (session_.running() || rerun_timer_.isActive()) {
    if (timer.elapsed() > timeout_ms) return false;
    QApplication::processEvents(QEventLoop::AllEvents, 50);
  }
  QApplication::processEvents();
  return true;
}

void MainWindow::rerun_from_panel() {
  rerun_timer_.stop();
  if (session_.loaded() == nullptr) return;
  session_.set_variant(what_if_->variant());
  session_.set_duration_s(what_if_->duration_s());
  session_.set_replications(what_if_->replications());
  session_.rerun(what_if_->assignments());
}

void MainWindow::refresh() {
  const result::RunResult* r = session_.shown();
  {
    QSignalBlocker block(run_picker_);
    run_picker_->clear();
    for (const NamedRun& run : session_.runs())
      run_picker_->addItem(QString::fromStdString(run.name));
    run_picker_->setCurrentIndex(session_.shown_run());
    run_picker_->setEnabled(run_picker_->count() > 1);
  }
  topology_->set_data(r, session_.resolved());
  fill_hop_table(r);
  hop_panel_->set_result(r);
  waterfall_->set_trace(session_.trace());
  compare_->set_runs(session_.compare_runs());
  if (r == nullptr) {
    summary_->setText(session_.loaded() != nullptr ? "Not run yet." : "");
    return;
  }
  const auto& e = r->end_to_end();
  QString text = QString(
                     "<b>%1</b>%2 — end to end p50 %3 · p99 %4 · p99.9 %5 ms · %6 req/s · "
                     "success %7%")
                     .arg(QString::fromStdString(r->scenario()).toHtmlEscaped(),
                          r->variant().empty()
                              ? QString()
                              : " (" + QString::fromStdString(r->variant()).toHtmlEscaped() + ")",
                          fmt(e.latency_ms().p50()), fmt(e.latency_ms().p99()),
                          fmt(e.latency_ms().p999()), QString::number(e.throughput_rps(), 'f', 1),
                          QString::number(100 * e.success_ratio(), 'f', 2));
  if (r->run().partial()) text += " · <b>partial (canceled)</b>";
  if (!session_.assignments().empty()) {
    QStringList sets;
    for (const auto& [path, value] : session_.assignments())
      sets << QString::fromStdString(path + "=" + value).toHtmlEscaped();
    text += "<br>what-if: " + sets.join(", ");
  }
  summary_->setText(text);
  status_->setText(QString("%1 requests simulated in %2 s")
                       .arg(e.requests())
                       .arg(r->run().wall_seconds(), 0, 'f', 2));
}

void MainWindow::fill_hop_table(const result::RunResult* r) {
  QSignalBlocker block(hop_table_);
  hop_table_->clear();
  const QStringList headers{"hop",       "requests",      "p50 ms",          "p99 ms",
                            "p99.9 ms",  "queue mean ms", "service mean ms", "utilisation %",
                            "bottleneck"};
  hop_table_->setColumnCount(static_cast<int>(headers.size()));
  hop_table_->setHorizontalHeaderLabels(headers);
  hop_table_->setRowCount(r == nullptr ? 0 : r->hops_size());
  if (r == nullptr) return;
  for (int i = 0; i < r->hops_size(); ++i) {
    const result::Hop& h = r->hops(i);
    const QStringList cells{
        QString::fromStdString(h.name()),
        QString::number(h.requests()),
        fmt(h.latency_ms().p50()),
        fmt(h.latency_ms().p99()),
        fmt(h.latency_ms().p999()),
        fmt(h.queueing_ms().mean()),
        fmt(h.service_ms().mean()),
        h.has_utilization() ? QString::number(100 * h.utilization(), 'f', 1) : QString("—"),
        h.bottleneck() ? "yes" : ""};
    for (int c = 0; c < cells.size(); ++c) {
      auto* item = new QTableWidgetItem(cells[c]);
      if (c == 7 && h.has_utilization()) item->setBackground(utilization_color(h.utilization()));
      hop_table_->setItem(i, c, item);
    }
  }
  hop_table_->resizeColumnsToContents();
}

View MainWindow::current_view() const {
  switch (tabs_->currentIndex()) {
    case 1:
      return View::kWaterfall;
    case 2:
      return View::kCompare;
    default:
      return View::kTopology;
  }
}

bool MainWindow::show_view(View view, const QString& hop) {
  switch (view) {
    case View::kTopology:
      tabs_->setCurrentIndex(0);
      // Headless: the view drawn gets the room (a user keeps the splitter where they put it).
      if (!interactive_) topology_split_->setSizes({900, 420});
      return true;
    case View::kHop:
      tabs_->setCurrentIndex(0);
      if (!interactive_) topology_split_->setSizes({420, 900});
      return hop.isEmpty() || hop_panel_->select_hop(hop);
    case View::kWaterfall:
      tabs_->setCurrentIndex(1);
      return true;
    case View::kCompare:
      tabs_->setCurrentIndex(2);
      return true;
  }
  return false;
}

QWidget* MainWindow::view_widget(View view) const {
  switch (view) {
    case View::kTopology:
      return topology_pane_;
    case View::kHop:
      return hop_panel_;
    case View::kWaterfall:
      return waterfall_;
    case View::kCompare:
      return compare_;
  }
  return nullptr;
}

bool MainWindow::export_view(View view, const QString& path, QString* error) {
  QWidget* w = view_widget(view);
  if (path.endsWith(".svg", Qt::CaseInsensitive)) {
    QSvgGenerator svg;
    svg.setFileName(path);
    svg.setSize(w->size());
    svg.setViewBox(QRect(QPoint(0, 0), w->size()));
    svg.setTitle("ingresslab-viz");
    QPainter painter;
    if (!painter.begin(&svg)) {
      *error = path + ": cannot write the file";
      return false;
    }
    w->render(&painter);
    painter.end();
    if (!QFileInfo(path).isFile()) {
      *error = path + ": cannot write the file";
      return false;
    }
    return true;
  }
  if (!w->grab().save(path, "PNG")) {
    *error = path + ": cannot write the file";
    return false;
  }
  return true;
}

bool MainWindow::save_report(const QString& path, QString* error) {
  const result::RunResult* r = session_.result();
  if (r == nullptr) {
    *error = "nothing to report: no result yet";
    return false;
  }
  std::string scenario_text;
  std::string command = "ingresslab-viz " + session_.path().toStdString();
  if (const auto* loaded = session_.loaded()) {
    std::ifstream in(loaded->path, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    scenario_text = text.str();
    command = "ingresslab run " + loaded->path;
    if (!session_.variant().empty()) command += " --variant " + session_.variant();
    for (const auto& [p, v] : session_.assignments())
      command += " --set '" + p + "=" + v + "'";
  }
  const std::string html = cli::render_html(*r, scenario_text, command);
  QFile f(path);
  if (!f.open(QIODevice::WriteOnly | QIODevice::Truncate) ||
      f.write(html.data(), static_cast<qint64>(html.size())) != static_cast<qint64>(html.size())) {
    *error = path + ": cannot write the file";
    return false;
  }
  return true;
}

void MainWindow::report_error(const QString& title, const QString& message) {
  status_->setText(title);
  emit error_reported(message);
  if (interactive_) QMessageBox::critical(this, title, message);
}

void MainWindow::remember(const QString& path) {
  if (!interactive_) return;
  QSettings settings("ingresslab", "ingresslab-viz");
  QStringList recent = settings.value("recent").toStringList();
  const QString absolute = QFileInfo(path).absoluteFilePath();
  recent.removeAll(absolute);
  recent.prepend(absolute);
  while (recent.size() > kMaxRecent)
    recent.removeLast();
  settings.setValue("recent", recent);
  rebuild_recent_menu();
}

void MainWindow::rebuild_recent_menu() {
  recent_menu_->clear();
  if (!interactive_) return;
  const QStringList recent =
      QSettings("ingresslab", "ingresslab-viz").value("recent").toStringList();
  for (const QString& path : recent) {
    recent_menu_->addAction(path, this, [this, path] { open_file(path); });
  }
  recent_menu_->setEnabled(!recent.isEmpty());
}

void MainWindow::dragEnterEvent(QDragEnterEvent* event) {
  if (event->mimeData()->hasUrls()) event->acceptProposedAction();
}

void MainWindow::dropEvent(QDropEvent* event) {
  const auto urls = event->mimeData()->urls();
  if (urls.isEmpty() || !urls[0].isLocalFile()) return;
  // One file: open it; two: open the first and compare with the second.
  if (open_file(urls[0].toLocalFile()) && urls.size() > 1 && urls[1].isLocalFile())
    open_compare(urls[1].toLocalFile());
  event->acceptProposedAction();
}

}  // namespace ingresslab::viz
