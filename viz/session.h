// What the visualizer has open — a scenario, a result, a trace, a result to compare against —
// and the simulation runs in the background. The windows only show a Session; it holds no
// widgets, so the headless mode and the tests drive it the same way.
#pragma once

#include <QtCore/QFutureWatcher>
#include <QtCore/QObject>
#include <QtCore/QString>
#include <QtCore/QTemporaryDir>
#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "scenarios/loader.h"
#include "scenarios/proto/result.pb.h"
#include "viz/charts.h"
#include "viz/trace_summary.h"

namespace ingresslab::viz {

// One simulation to run: the scenario, a variant, `--set`-style assignments and overrides.
struct RunRequest {
  std::shared_ptr<const scenarios::LoadedScenario> loaded;
  std::string variant;  // empty = base
  std::vector<std::pair<std::string, std::string>> assignments;
  std::optional<double> duration_s;
  std::optional<int> replications;
  // Where the span trace goes (for the waterfall and, until models fill them, hop histograms);
  // empty = no trace.
  std::string trace_path;
};

struct RunOutcome {
  result::RunResult result;
  scenario::Scenario resolved;
  std::optional<TraceSummary> trace;
  std::string error;  // non-empty: nothing to show (says why)
  bool canceled = false;
};

// Resolves and simulates `request` (blocking; called on a worker thread). Fills hop histograms
// that the result lacks from the trace. `cancel` and `on_progress` as in models::SimulateOptions.
RunOutcome run_scenario(const RunRequest& request, const std::atomic<bool>* cancel,
                        std::function<void(int, int)> on_progress);

class Session : public QObject {
  Q_OBJECT

 public:
  explicit Session(QObject* parent = nullptr);
  // Cancels a run in progress and waits for it.
  ~Session() override;

  // Opens a scenario (and starts running it), a RunResult JSON or a span trace. On failure
  // returns false, sets *error (file, line, field where known) and keeps what was open.
  bool open(const QString& path, QString* error);
  // Adds a span trace to the open result (waterfall; hop histograms the result lacks).
  bool attach_trace(const QString& path, QString* error);
  // Opens a second result to compare with (a RunResult JSON or trace; a scenario is run with the
  // current overrides in the background).
  bool open_compare(const QString& path, QString* error);
  // Keeps the result shown now as the comparison baseline ("pinned").
  void pin_for_compare();

  // Runs the open scenario again with the fixed assignments, then `assignments` (the what-if
  // settings), in the background.
  // A run in progress is canceled first. Returns false when no scenario is open.
  bool rerun(std::vector<std::pair<std::string, std::string>> assignments);
  void set_variant(const std::string& variant) { variant_ = variant; }
  // Assignments applied before the what-if ones on every run of the open scenario (the
  // command line's --set); kept until another scenario is opened.
  void set_fixed_assignments(std::vector<std::pair<std::string, std::string>> assignments) {
    fixed_assignments_ = std::move(assignments);
  }
  void set_duration_s(std::optional<double> d) { duration_s_ = d; }
  void set_replications(std::optional<int> r) { replications_ = r; }
  std::optional<double> duration_s() const { return duration_s_; }
  std::optional<int> replications() const { return replications_; }
  void cancel();
  bool running() const { return running_; }

  // The open scenario file (null for a result or trace), and the resolved scenario of the last
  // run (or the base, before any run).
  const scenarios::LoadedScenario* loaded() const { return loaded_.get(); }
  const scenario::Scenario* resolved() const { return has_resolved_ ? &resolved_ : nullptr; }
  const std::vector<std::pair<std::string, std::string>>& assignments() const {
    return assignments_;
  }
  const std::string& variant() const { return variant_; }
  // The result (with variants when it was saved with them), or null.
  const result::RunResult* result() const { return has_result_ ? &result_ : nullptr; }
  // Runs of the result (base and variants); the shown one; null when none.
  std::vector<NamedRun> runs() const;
  const result::RunResult* shown() const;
  void set_shown_run(int index);
  int shown_run() const { return shown_run_; }
  // The trace of the shown result, or null.
  const TraceSummary* trace() const { return trace_ ? &*trace_ : nullptr; }
  // Runs to overlay in the compare view: compare file or pinned result vs the shown one, else
  // the variants of the result. Fewer than two: nothing to compare.
  std::vector<NamedRun> compare_runs() const;
  // The file the result came from ("" for a run).
  const QString& path() const { return path_; }

 signals:
  void progress(int done, int total);
  void running_changed(bool running);
  // A new result (or trace) is shown.
  void result_changed();
  void compare_changed();
  // A background run failed; the previous result stays.
  void run_failed(const QString& error);

 private:
  bool start(RunRequest request, bool for_compare);
  void finished();

  std::shared_ptr<const scenarios::LoadedScenario> loaded_;
  std::vector<std::pair<std::string, std::string>> assignments_;
  std::vector<std::pair<std::string, std::string>> fixed_assignments_;
  std::string variant_;
  std::optional<double> duration_s_;
  std::optional<int> replications_;
  scenario::Scenario resolved_;
  bool has_resolved_ = false;
  result::RunResult result_;
  bool has_result_ = false;
  int shown_run_ = 0;
  std::optional<TraceSummary> trace_;
  QString path_;
  result::RunResult compare_;
  std::string compare_name_;
  bool has_compare_ = false;

  QTemporaryDir temp_dir_;
  int run_counter_ = 0;
  // Bumped whenever what the main views show is replaced; a run shows its result only if
  // nothing replaced it while it ran.
  uint64_t generation_ = 0;
  uint64_t running_generation_ = 0;
  std::shared_ptr<std::atomic<bool>> cancel_;
  QFutureWatcher<RunOutcome> watcher_;
  bool running_ = false;
  bool running_for_compare_ = false;
  // Runs asked for while another ran, started when it ends: a newer main run replaces a
  // running main run (which is canceled); a compare run waits.
  std::optional<RunRequest> queued_main_;
  std::optional<RunRequest> queued_compare_;
};

}  // namespace ingresslab::viz
