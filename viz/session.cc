#include "viz/session.h"

#include <QtConcurrent/QtConcurrentRun>
#include <QtCore/QFileInfo>
#include <cstdio>

#include "models/simulate.h"
#include "viz/inputs.h"

namespace ingresslab::viz {

RunOutcome run_scenario(const RunRequest& request, const std::atomic<bool>* cancel,
                        std::function<void(int, int)> on_progress) {
  RunOutcome out;
  const scenarios::ResolvedScenario resolved =
      scenarios::resolve_scenario(*request.loaded, request.variant, request.assignments);
  if (!resolved.ok()) {
    out.error = resolved.diagnostics.to_string();
    return out;
  }
  out.resolved = resolved.scenario;
  models::SimulateOptions options;
  options.duration_s = request.duration_s;
  options.replications = request.replications;
  options.cancel = cancel;
  options.abandon = cancel;  // Cancel means now, not after the replication in progress
  options.on_progress = std::move(on_progress);
  options.trace_path = request.trace_path;
  models::SimulateOutput sim =
      models::simulate(resolved.scenario, request.loaded->base_dir, options);
  if (!sim.ok()) {
    out.canceled = cancel != nullptr && cancel->load();
    out.error = request.loaded->path + ": " + sim.error;
    return out;
  }
  out.canceled = cancel != nullptr && cancel->load();
  out.result = std::move(sim.result);
  out.result.set_variant(request.variant);
  if (out.canceled) out.result.mutable_run()->set_partial(true);
  if (!request.trace_path.empty()) {
    TraceSummary trace;
    std::string error;
    if (summarize_trace(request.trace_path, &trace, &error)) {
      fill_missing_hop_histograms(trace, &out.result);
      out.trace = std::move(trace);
    }
    std::remove(request.trace_path.c_str());
  }
  return out;
}

Session::Session(QObject* parent) : QObject(parent) {
  connect(&watcher_, &QFutureWatcher<RunOutcome>::finished, this, &Session::finished);
}

Session::~Session() {
  if (cancel_) cancel_->store(true);
  queued_main_.reset();
  queued_compare_.reset();
  watcher_.waitForFinished();
}

bool Session::open(const QString& path, QString* error) {
  const std::string p = path.toStdString();
  InputKind kind;
  std::string e;
  if (!classify_input(p, &kind, &e)) {
    *error = QString::fromStdString(e);
    return false;
  }
  if (kind == InputKind::kScenario) {
    auto loaded = std::make_shared<scenarios::LoadedScenario>(scenarios::load_scenario_file(p));
    if (!loaded->ok()) {
      *error = QString::fromStdString(loaded->diagnostics.to_string());
      return false;
    }
    const scenarios::ResolvedScenario base = scenarios::resolve_scenario(*loaded, "", {});
    if (!base.ok()) {
      *error = QString::fromStdString(base.diagnostics.to_string());
      return false;
    }
    cancel();
    queued_main_.reset();
    loaded_ = std::move(loaded);
    resolved_ = base.scenario;
    has_resolved_ = true;
    assignments_.clear();
    fixed_assignments_.clear();
    variant_.clear();
    has_result_ = false;
    trace_.reset();
    path_ = path;
    emit result_changed();
    return start({loaded_, variant_, assignments_, duration_s_, replications_, ""}, false);
  }
  if (kind == InputKind::kResult) {
    result::RunResult r;
    if (!read_result_json(p, &r, &e)) {
      *error = QString::fromStdString(e);
      return false;
    }
    cancel();
    queued_main_.reset();
    loaded_.reset();
    ++generation_;
    has_resolved_ = false;
    result_ = std::move(r);
    has_result_ = true;
    shown_run_ = 0;
    trace_.reset();
    path_ = path;
    emit result_changed();
    return true;
  }
  TraceSummary trace;
  if (!summarize_trace(p, &trace, &e)) {
    *error = QString::fromStdString(e);
    return false;
  }
  cancel();
  queued_main_.reset();
  loaded_.reset();
  ++generation_;
  has_resolved_ = false;
  result_ = result_from_trace(trace, QFileInfo(path).completeBaseName().toStdString());
  has_result_ = true;
  shown_run_ = 0;
  trace_ = std::move(trace);
  path_ = path;
  emit result_changed();
  return true;
}

bool Session::attach_trace(const QString& path, QString* error) {
  if (!has_result_) {
    *error = "open a result before attaching its trace";
    return false;
  }
  TraceSummary trace;
  std::string e;
  if (!summarize_trace(path.toStdString(), &trace, &e)) {
    *error = QString::fromStdString(e);
    return false;
  }
  fill_missing_hop_histograms(trace, &result_);
  for (auto& [name, variant] : *result_.mutable_variants())
    fill_missing_hop_histograms(trace, &variant);
  trace_ = std::move(trace);
  emit result_changed();
  return true;
}

bool Session::open_compare(const QString& path, QString* error) {
  const std::string p = path.toStdString();
  InputKind kind;
  std::string e;
  if (!classify_input(p, &kind, &e)) {
    *error = QString::fromStdString(e);
    return false;
  }
  const std::string name = QFileInfo(path).completeBaseName().toStdString();
  if (kind == InputKind::kResult) {
    result::RunResult r;
    if (!read_result_json(p, &r, &e)) {
      *error = QString::fromStdString(e);
      return false;
    }
    // A result saved with variants: compare against its first run.
    if (!r.variants().empty()) {
      const result::RunResult first = *runs_of(r).front().result;
      r = first;
    }
    compare_ = std::move(r);
  } else if (kind == InputKind::kTrace) {
    TraceSummary trace;
    if (!summarize_trace(p, &trace, &e)) {
      *error = QString::fromStdString(e);
      return false;
    }
    compare_ = result_from_trace(trace, name);
  } else {
    auto loaded = std::make_shared<scenarios::LoadedScenario>(scenarios::load_scenario_file(p));
    if (!loaded->ok()) {
      *error = QString::fromStdString(loaded->diagnostics.to_string());
      return false;
    }
    compare_name_ = name;
    return start({loaded, "", {}, duration_s_, replications_, ""}, true);
  }
  compare_name_ = name;
  has_compare_ = true;
  emit compare_changed();
  return true;
}

void Session::pin_for_compare() {
  const result::RunResult* r = shown();
  if (r == nullptr) return;
  compare_ = *r;
  compare_name_ = "pinned";
  has_compare_ = true;
  emit compare_changed();
}

bool Session::rerun(std::vector<std::pair<std::string, std::string>> assignments) {
  if (!loaded_) return false;
  assignments_ = fixed_assignments_;
  assignments_.insert(assignments_.end(), assignments.begin(), assignments.end());
  return start({loaded_, variant_, assignments_, duration_s_, replications_, ""}, false);
}

bool Session::start(RunRequest request, bool for_compare) {
  if (running_) {
    if (for_compare) {
      queued_compare_ = std::move(request);
    } else {
      // Let a main run stop at its next replication; this one replaces it.
      if (!running_for_compare_) cancel_->store(true);
      queued_main_ = std::move(request);
    }
    return true;
  }
  if (!for_compare && temp_dir_.isValid()) {
    request.trace_path =
        temp_dir_.filePath(QString("run-%1.trace").arg(++run_counter_)).toStdString();
  }
  cancel_ = std::make_shared<std::atomic<bool>>(false);
  if (!for_compare) running_generation_ = ++generation_;
  running_ = true;
  running_for_compare_ = for_compare;
  emit running_changed(true);
  emit progress(0, 1);
  auto cancel = cancel_;
  QPointer<Session> self(this);
  auto on_progress = [self](int done, int total) {
    // Called on a worker thread; the signal is sent from the session's thread.
    QMetaObject::invokeMethod(
        self.data(),
        [self, done, total] {
          if (self) emit self->progress(done, total);
        },
        Qt::QueuedConnection);
  };
  watcher_.setFuture(QtConcurrent::run([request = std::move(request), cancel, on_progress] {
    return run_scenario(request, cancel.get(), on_progress);
  }));
  return true;
}

void Session::cancel() {
  if (running_ && cancel_) cancel_->store(true);
}

void Session::finished() {
  RunOutcome out = watcher_.result();
  running_ = false;
  const bool for_compare = running_for_compare_;
  // A main run superseded (by a newer run or an opened file) is not shown.
  const bool replaced =
      !for_compare && (running_generation_ != generation_ || queued_main_.has_value());
  if (queued_main_) {
    RunRequest next = std::move(*queued_main_);
    queued_main_.reset();
    start(std::move(next), false);
  } else if (queued_compare_) {
    RunRequest next = std::move(*queued_compare_);
    queued_compare_.reset();
    start(std::move(next), true);
  } else {
    emit running_changed(false);
  }
  if (!out.error.empty()) {
    if (!replaced && !out.canceled) emit run_failed(QString::fromStdString(out.error));
    return;
  }
  // A run replaced by a newer one is not shown; a run the user canceled is (marked partial),
  // unless it finished nothing.
  if (replaced || (out.canceled && out.result.end_to_end().requests() == 0)) return;
  if (for_compare) {
    compare_ = std::move(out.result);
    has_compare_ = true;
    emit compare_changed();
    return;
  }
  result_ = std::move(out.result);
  has_result_ = true;
  shown_run_ = 0;
  resolved_ = std::move(out.resolved);
  has_resolved_ = true;
  trace_ = std::move(out.trace);
  emit result_changed();
}

std::vector<NamedRun> Session::runs() const {
  if (!has_result_) return {};
  return runs_of(result_);
}

const result::RunResult* Session::shown() const {
  const std::vector<NamedRun> all = runs();
  if (all.empty()) return nullptr;
  const size_t i = static_cast<size_t>(std::clamp(shown_run_, 0, static_cast<int>(all.size()) - 1));
  return all[i].result;
}

void Session::set_shown_run(int index) {
  if (index == shown_run_) return;
  shown_run_ = index;
  emit result_changed();
}

std::vector<NamedRun> Session::compare_runs() const {
  const result::RunResult* r = shown();
  if (r == nullptr) return {};
  if (has_compare_) {
    const std::vector<NamedRun> all = runs();
    std::string name =
        all[static_cast<size_t>(std::clamp(shown_run_, 0, static_cast<int>(all.size()) - 1))].name;
    if (loaded_ && !assignments_.empty()) name += " + what-if";
    if (name == compare_name_) name += " (current)";
    return {{compare_name_, &compare_}, {name, r}};
  }
  return runs();
}

}  // namespace ingresslab::viz
