// The visualizer's main window: File menu (open, recent files, drag and drop, attach trace,
// compare, export, save report), the topology with the hop table and the selected hop's charts,
// the tail waterfall, the side-by-side comparison, and the what-if panel. Runs go through a
// Session in the background; a progress bar and Cancel sit in the status bar.
#pragma once

#include <QtCore/QTimer>
#include <QtWidgets/QComboBox>
#include <QtWidgets/QLabel>
#include <QtWidgets/QMainWindow>
#include <QtWidgets/QProgressBar>
#include <QtWidgets/QPushButton>
#include <QtWidgets/QTabWidget>
#include <QtWidgets/QTableWidget>
#include <optional>

#include "viz/hop_panel.h"
#include "viz/result_views.h"
#include "viz/session.h"
#include "viz/topology_view.h"
#include "viz/what_if_panel.h"

class QMenu;
class QSplitter;

namespace ingresslab::viz {

enum class View { kTopology, kHop, kWaterfall, kCompare };

class MainWindow : public QMainWindow {
  Q_OBJECT

 public:
  // `interactive`: errors open a dialog and opened files go to the recent list; otherwise
  // errors are only reported through error_reported (headless mode, tests).
  explicit MainWindow(bool interactive = true, QWidget* parent = nullptr);

  // Opens a scenario (and runs it), a result or a trace. Reports and returns false on error.
  bool open_file(const QString& path);
  bool open_compare(const QString& path);
  bool attach_trace(const QString& path);
  // Overrides for every run from now on (the what-if panel shows them).
  void set_run_overrides(std::optional<double> duration_s, std::optional<int> replications);
  // Processes events until no run is in progress; false on timeout.
  bool wait_until_idle(int timeout_ms);

  // Shows a view (switches tab; for kHop, selects `hop`). False when the hop does not exist.
  bool show_view(View view, const QString& hop = {});
  // The widget that holds a view (what a screenshot or an export draws).
  QWidget* view_widget(View view) const;
  // Writes the view as PNG (or SVG when the path ends in .svg). False with *error on failure.
  bool export_view(View view, const QString& path, QString* error);
  // Writes the HTML report of the shown result (the CLI's report renderer).
  bool save_report(const QString& path, QString* error);

  Session* session() { return &session_; }
  TopologyView* topology_view() const { return topology_; }
  HopPanel* hop_panel() const { return hop_panel_; }
  WaterfallView* waterfall_view() const { return waterfall_; }
  CompareView* compare_view() const { return compare_; }
  WhatIfPanel* what_if() const { return what_if_; }
  QTableWidget* hop_table() const { return hop_table_; }

 signals:
  void error_reported(const QString& message);

 protected:
  void dragEnterEvent(QDragEnterEvent* event) override;
  void dropEvent(QDropEvent* event) override;

 private:
  void build_menus();
  void refresh();
  void fill_hop_table(const result::RunResult* r);
  void report_error(const QString& title, const QString& message);
  void remember(const QString& path);
  void rebuild_recent_menu();
  void rerun_from_panel();
  View current_view() const;

  bool interactive_;
  Session session_;
  QTabWidget* tabs_;
  QSplitter* topology_split_;
  QWidget* topology_pane_;
  TopologyView* topology_;
  QTableWidget* hop_table_;
  QLabel* summary_;
  HopPanel* hop_panel_;
  WaterfallView* waterfall_;
  CompareView* compare_;
  WhatIfPanel* what_if_;
  QComboBox* run_picker_;
  QLabel* status_;
  QProgressBar* progress_;
  QPushButton* cancel_;
  QMenu* recent_menu_ = nullptr;
  QTimer rerun_timer_;
};

}  // namespace ingresslab::viz
