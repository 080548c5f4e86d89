#include "viz/what_if_panel.h"

#include <QtWidgets/QFormLayout>
#include <QtWidgets/QHBoxLayout>
#include <QtWidgets/QLabel>
#include <QtWidgets/QPushButton>
#include <QtWidgets/QVBoxLayout>
#include <cmath>

namespace ingresslab::viz {
namespace {

std::string lower(std::string s) {
  for (char& c : s)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// Every value of an enum but *_UNSPECIFIED, as the lower-case names the loader accepts.
std::vector<std::string> enum_values(const google::protobuf::EnumDescriptor* e) {
  std::vector<std::string> values;
  for (int i = 0; i < e->value_count(); ++i) {
    if (e->value(i)->number() != 0) values.push_back(lower(e->value(i)->name()));
  }
  return values;
}

std::string enum_name(const google::protobuf::EnumDescriptor* e, int number) {
  const auto* v = e->FindValueByNumber(number);
  return v == nullptr ? "" : lower(v->name());
}

double seconds_of(const google::protobuf::Duration& d) {
  return static_cast<double>(d.seconds()) + d.nanos() * 1e-9;
}

}  // namespace

WhatIfPanel::WhatIfPanel(QWidget* parent) : QWidget(parent) {
  auto* layout = new QVBoxLayout(this);
  auto* top = new QFormLayout;
  variant_ = new QComboBox(this);
  top->addRow("Variant", variant_);
  duration_ = new QDoubleSpinBox(this);
  duration_->setRange(0.1, 86400);
  duration_->setDecimals(1);
  duration_->setSuffix(" s");
  duration_->setToolTip("measured simulated time per replication");
  top->addRow("Duration", duration_);
  replications_ = new QSpinBox(this);
  replications_->setRange(1, 1000);
  top->addRow("Replications", replications_);
  layout->addLayout(top);
  form_host_ = new QWidget(this);
  form_host_->setLayout(new QFormLayout);
  layout->addWidget(form_host_);
  auto* buttons = new QHBoxLayout;
  auto_rerun_ = new QCheckBox("re-run on change", this);
  auto_rerun_->setChecked(true);
  auto* run = new QPushButton("Run", this);
  buttons->addWidget(auto_rerun_);
  buttons->addWidget(run);
  layout->addLayout(buttons);
  layout->addStretch(1);
  connect(run, &QPushButton::clicked, this, &WhatIfPanel::run_requested);
  connect(variant_, &QComboBox::currentIndexChanged, this, [this] {
    if (updating_) return;
    reset_values();
    emit changed();
  });
  connect(duration_, &QDoubleSpinBox::valueChanged, this, [this] {
    if (!updating_) emit changed();
  });
  connect(replications_, &QSpinBox::valueChanged, this, [this] {
    if (!updating_) emit changed();
  });
  set_scenario(nullptr);
}

void WhatIfPanel::set_scenario(const scenarios::LoadedScenario* loaded) {
  loaded_ = loaded;
  updating_ = true;
  variant_->clear();
  if (loaded_ != nullptr) {
    variant_->addItem("base", "");
    for (const auto& v : loaded_->scenario.variants())
      variant_->addItem(QString::fromStdString(v.name()), QString::fromStdString(v.name()));
  }
  updating_ = false;
  setEnabled(loaded_ != nullptr);
  reset_values();
}

void WhatIfPanel::reset_values() {
  current_.Clear();
  if (loaded_ != nullptr) {
    const auto resolved = scenarios::resolve_scenario(*loaded_, variant(), {});
    if (resolved.ok()) current_ = resolved.scenario;
  }
  updating_ = true;
  duration_->setValue(seconds_of(current_.run().duration()));
  replications_->setValue(static_cast<int>(std::max<uint32_t>(1, current_.run().replications())));
  updating_ = false;
  rebuild();
}

void WhatIfPanel::rebuild() {
  updating_ = true;
  // A fresh form: the old controls go with their host.
  delete form_host_;
  form_host_ = new QWidget(this);
  auto* form = new QFormLayout(form_host_);
  static_cast<QVBoxLayout*>(layout())->insertWidget(1, form_host_);
  spins_.clear();
  rates_.clear();
  combos_.clear();
  if (loaded_ == nullptr) {
    form->addRow(new QLabel("Open a scenario to change it.", form_host_));
    updating_ = false;
    return;
  }
  const auto emit_changed = [this] {
    if (!updating_) emit changed();
  };
  const auto& clients = current_.workload().clients();
  for (int i = 0; i < clients.size(); ++i) {
    const auto& c = clients[i];
    if (!c.has_open_loop() || c.open_loop().process() == scenario::OpenLoop::REPLAY) continue;
    const double base = c.open_loop().rate();
    auto* box = new QDoubleSpinBox(form_host_);
    box->setRange(0.001, 1e8);
    box->setDecimals(1);
    box->setSuffix(" req/s");
    box->setValue(base);
    auto* slider = new QSlider(Qt::Horizontal, form_host_);
    slider->setRange(10, 400);  // percent of the scenario's rate
    slider->setValue(100);
    slider->setToolTip("rate as a share of the scenario's (10%–400%)");
    connect(slider, &QSlider::valueChanged, box,
            [box, base](int percent) { box->setValue(base * percent / 100.0); });
    connect(box, &QDoubleSpinBox::valueChanged, this, emit_changed);
    auto* row = new QWidget(form_host_);
    auto* row_layout = new QVBoxLayout(row);
    row_layout->setContentsMargins(0, 0, 0, 0);
    row_layout->addWidget(box);
    row_layout->addWidget(slider);
    form->addRow(QString("Rate: %1").arg(QString::fromStdString(c.name())), row);
    rates_.push_back({"workload.clients[" + std::to_string(i) + "].open_loop.rate", box, slider});
  }
  auto add_spin = [&](const std::string& path, const std::string& name, const QString& label,
                      int value) {
    auto* box = new QSpinBox(form_host_);
    box->setRange(name == "ingress" ? 1 : 0, 10000);
    box->setValue(value);
    connect(box, &QSpinBox::valueChanged, this, emit_changed);
    form->addRow(label, box);
    spins_.push_back({path, name, box});
  };
  if (current_.ingress().kind() != scenario::IngressController::DAEMONSET) {
    add_spin("ingress.replicas", "ingress", "Ingress replicas",
             static_cast<int>(current_.ingress().replicas()));
  }
  for (const auto& svc : current_.services()) {
    add_spin("services[" + svc.name() + "].deployment.replicas", svc.name(),
             QString("Replicas: %1").arg(QString::fromStdString(svc.name())),
             static_cast<int>(svc.deployment().replicas()));
  }
  auto add_combo = [&](const std::string& path, const QString& label,
                       const google::protobuf::EnumDescriptor* e, int value) {
    auto* box = new QComboBox(form_host_);
    for (const std::string& v : enum_values(e))
      box->addItem(QString::fromStdString(v), QString::fromStdString(v));
    box->setCurrentIndex(box->findData(QString::fromStdString(enum_name(e, value))));
    connect(box, &QComboBox::currentIndexChanged, this, emit_changed);
    form->addRow(label, box);
    combos_.push_back({path, box});
  };
  add_combo("ingress.load_balancing.algorithm", "LB algorithm",
            scenario::LoadBalancing::Algorithm_descriptor(),
            current_.ingress().load_balancing().algorithm());
  add_combo("cluster.kube_proxy.mode", "kube-proxy mode", scenario::KubeProxy::Mode_descriptor(),
            current_.cluster().kube_proxy().mode());
  add_combo("entry.external_traffic_policy", "externalTrafficPolicy",
            scenario::Entry::TrafficPolicy_descriptor(),
            current_.entry().external_traffic_policy());
  updating_ = false;
}

std::vector<std::pair<std::string, std::string>> WhatIfPanel::assignments() const {
  std::vector<std::pair<std::string, std::string>> out;
  for (const Rate& r : rates_) {
    // The path names the client group index; read its base rate back from it.
    const int index = std::stoi(r.path.substr(r.path.find('[') + 1));
    const double base = current_.workload().clients(index).open_loop().rate();
    if (std::abs(r.box->value() - base) > 1e-9 * std::max(1.0, base))
      out.emplace_back(r.path, QString::number(r.box->value(), 'f', 3).toStdString() + "/s");
  }
  for (const Spin& s : spins_) {
    int base = 0;
    if (s.name == "ingress") {
      base = static_cast<int>(current_.ingress().replicas());
    } else {
      for (const auto& svc : current_.services())
        if (svc.name() == s.name) base = static_cast<int>(svc.deployment().replicas());
    }
    if (s.box->value() != base) out.emplace_back(s.path, std::to_string(s.box->value()));
  }
  for (const Combo& c : combos_) {
    std::string base;
    if (c.path == "ingress.load_balancing.algorithm") {
      base = enum_name(scenario::LoadBalancing::Algorithm_descriptor(),
                       current_.ingress().load_balancing().algorithm());
    } else if (c.path == "cluster.kube_proxy.mode") {
      base =
          enum_name(scenario::KubeProxy::Mode_descriptor(), current_.cluster().kube_proxy().mode());
    } else {
      base = enum_name(scenario::Entry::TrafficPolicy_descriptor(),
                       current_.entry().external_traffic_policy());
    }
    const std::string value = c.box->currentData().toString().toStdString();
    if (value != base) out.emplace_back(c.path, value);
  }
  return out;
}

std::string WhatIfPanel::variant() const {
  return variant_->currentIndex() < 0 ? "" : variant_->currentData().toString().toStdString();
}

void WhatIfPanel::set_variant(const std::string& name) {
  const int index = variant_->findData(QString::fromStdString(name));
  if (index < 0 || index == variant_->currentIndex()) return;
  updating_ = true;
  variant_->setCurrentIndex(index);
  updating_ = false;
  reset_values();
}

std::optional<double> WhatIfPanel::duration_s() const {
  if (loaded_ == nullptr) return std::nullopt;
  const double base = seconds_of(current_.run().duration());
  if (std::abs(duration_->value() - base) < 0.05) return std::nullopt;
  return duration_->value();
}

std::optional<int> WhatIfPanel::replications() const {
  if (loaded_ == nullptr) return std::nullopt;
  if (replications_->value() == static_cast<int>(current_.run().replications()))
    return std::nullopt;
  return replications_->value();
}

QSpinBox* WhatIfPanel::replicas_box(const std::string& name) const {
  for (const Spin& s : spins_)
    if (s.name == name) return s.box;
  return nullptr;
}

QDoubleSpinBox* WhatIfPanel::rate_box(int index) const {
  const std::string path = "workload.clients[" + std::to_string(index) + "].open_loop.rate";
  for (const Rate& r : rates_)
    if (r.path == path) return r.box;
  return nullptr;
}

QComboBox* WhatIfPanel::combo(const std::string& path) const {
  for (const Combo& c : combos_)
    if (c.path == path) return c.box;
  return nullptr;
}

void WhatIfPanel::set_duration_s(double seconds) {
  duration_->setValue(seconds);
}

void WhatIfPanel::set_replications(int replications) {
  replications_->setValue(replications);
}

}  // namespace ingresslab::viz
