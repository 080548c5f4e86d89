// What-if controls: workload rate, replica counts, LB algorithm, kube-proxy mode and
// externalTrafficPolicy, as `--set`-style assignments on the open scenario (scenarios/loader.h),
// plus the variant and the run length. The panel only produces assignments; the Session runs.
#pragma once

#include <QtWidgets/QCheckBox>
#include <QtWidgets/QComboBox>
#include <QtWidgets/QDoubleSpinBox>
#include <QtWidgets/QSlider>
#include <QtWidgets/QSpinBox>
#include <QtWidgets/QWidget>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "scenarios/loader.h"

namespace ingresslab::viz {

class WhatIfPanel : public QWidget {
  Q_OBJECT

 public:
  explicit WhatIfPanel(QWidget* parent = nullptr);

  // Builds the controls for `loaded` (null: disabled), set to the values of its base scenario.
  void set_scenario(const scenarios::LoadedScenario* loaded);
  // The settings that differ from the selected variant's own values, as path=value assignments.
  std::vector<std::pair<std::string, std::string>> assignments() const;
  std::string variant() const;
  // Selects a variant (and resets the controls to its values) without emitting changed().
  void set_variant(const std::string& name);
  // Measured simulated seconds and replications per run (what-if runs are short by default).
  std::optional<double> duration_s() const;
  std::optional<int> replications() const;
  bool auto_rerun() const { return auto_rerun_->isChecked(); }

  // The controls, by what they set (for tests and scripting): the replicas of Service `name`
  // ("ingress" for the ingress controller), the rate of client group `index`.
  QSpinBox* replicas_box(const std::string& name) const;
  QDoubleSpinBox* rate_box(int index) const;
  QComboBox* combo(const std::string& path) const;
  void set_duration_s(double seconds);
  void set_replications(int replications);

 signals:
  // A setting changed (emitted once per user change).
  void changed();
  // The user asked for a run (the Run button).
  void run_requested();

 private:
  void rebuild();
  void reset_values();

  const scenarios::LoadedScenario* loaded_ = nullptr;
  scenario::Scenario current_;  // the selected variant, resolved
  QComboBox* variant_;
  QWidget* form_host_;
  QDoubleSpinBox* duration_;
  QSpinBox* replications_;
  QCheckBox* auto_rerun_;
  struct Spin {
    std::string path;
    std::string name;
    QSpinBox* box;
  };
  struct Rate {
    std::string path;
    QDoubleSpinBox* box;
    QSlider* slider;
  };
  struct Combo {
    std::string path;
    QComboBox* box;
  };
  std::vector<Spin> spins_;
  std::vector<Rate> rates_;
  std::vector<Combo> combos_;
  bool updating_ = false;
};

}  // namespace ingresslab::viz
