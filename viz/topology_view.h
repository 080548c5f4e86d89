// The topology as a zoomable, pannable graph: one item per vertex of viz/topology.h (clients,
// LB, nodes, ingress pods, Services, pods), coloured by utilisation, edges as wide as their
// traffic, zones as boxes. Hovering shows the numbers; selecting an item selects its hop.
#pragma once

#include <QtWidgets/QGraphicsView>
#include <vector>

#include "scenarios/proto/result.pb.h"
#include "scenarios/proto/scenario.pb.h"
#include "viz/topology.h"

namespace ingresslab::viz {

// Fill colour for a busy share: green (idle) through yellow to red (saturated); grey when the
// vertex has no servers.
QColor utilization_color(std::optional<double> utilization);

class TopologyView : public QGraphicsView {
  Q_OBJECT

 public:
  explicit TopologyView(QWidget* parent = nullptr);

  // Rebuilds the scene. `result` may be null (scenario not run yet); `resolved` may be null.
  void set_data(const result::RunResult* result, const scenario::Scenario* resolved);
  const Topology& topology() const { return topology_; }
  // The graphics item of each vertex (same order as topology().vertices).
  const std::vector<QGraphicsItem*>& vertex_items() const { return vertex_items_; }
  // Selects the vertex (and so its hop), as a click does. False when there is none by that name.
  bool select_vertex(const std::string& name);
  void zoom(double factor);
  // Fits the whole graph in the view again (and keeps it fitted on resize).
  void fit();
  // Lays the graph out again with `algorithm` (Kamada-Kawai by default).
  void set_layout(LayoutAlgorithm algorithm);

 signals:
  // The hop a selected vertex stands for (client_network, kube_proxy, ingress_proxy, ...).
  void hop_selected(const QString& hop);

 protected:
  void wheelEvent(QWheelEvent* event) override;
  // Until the user zooms, the whole graph fits the view.
  void resizeEvent(QResizeEvent* event) override;

 private:
  void selection_changed();

  QGraphicsScene scene_;
  Topology topology_;
  std::vector<QGraphicsItem*> vertex_items_;
  bool user_zoomed_ = false;
  LayoutAlgorithm layout_ = LayoutAlgorithm::kKamadaKawai;
  const result::RunResult* result_ = nullptr;
  const scenario::Scenario* resolved_ = nullptr;
};

}  // namespace ingresslab::viz
