#include "viz/topology_view.h"

#include <QtGui/QPainter>
#include <QtGui/QResizeEvent>
#include <QtGui/QWheelEvent>
#include <QtWidgets/QGraphicsItem>
#include <QtWidgets/QGraphicsRectItem>
#include <QtWidgets/QGraphicsSimpleTextItem>
#include <QtWidgets/QStyleOptionGraphicsItem>
#include <algorithm>
#include <cmath>

namespace ingresslab::viz {
namespace {

constexpr double kItemWidth = 112;
constexpr double kItemHeight = 38;

QString ms(double v) {
  return QString::number(v, 'f', v < 1 ? 3 : 2) + " ms";
}

QString percent(double share) {
  return QString::number(100 * share, 'f', 1) + "%";
}

QString tooltip_of(const TopologyVertex& v, const result::RunResult* r) {
  QString text = QString("<b>%1</b> (%2)")
                     .arg(QString::fromStdString(v.name).toHtmlEscaped(), vertex_kind_name(v.kind));
  if (!v.zone.empty()) text += "<br>zone " + QString::fromStdString(v.zone).toHtmlEscaped();
  if (!v.node.empty() && v.kind != VertexKind::kNode)
    text += ", node " + QString::fromStdString(v.node).toHtmlEscaped();
  if (v.utilization) text += "<br>utilisation " + percent(*v.utilization);
  if (v.requests > 0) text += QString("<br>requests %1").arg(v.requests);
  if (r != nullptr && v.component >= 0 && v.component < r->components_size()) {
    text += QString("<br>mean queue length %1")
                .arg(r->components(v.component).mean_queue_length(), 0, 'f', 3);
  }
  const result::Hop* hop = r == nullptr ? nullptr : find_hop(*r, v.hop);
  if (hop == nullptr) {
    if (r != nullptr) text += "<br><i>hop " + QString::fromStdString(v.hop) + ": not observed</i>";
    return text;
  }
  text += QString("<hr>hop <b>%1</b> (all instances): %2 requests")
              .arg(QString::fromStdString(hop->name()).toHtmlEscaped(),
                   QString::number(hop->requests()));
  const auto& l = hop->latency_ms();
  text += QString("<br>latency p50 %1 · p99 %2 · p99.9 %3 · mean %4")
              .arg(ms(l.p50()), ms(l.p99()), ms(l.p999()), ms(l.mean()));
  text += QString("<br>queueing mean %1 · p99 %2; service mean %3")
              .arg(ms(hop->queueing_ms().mean()), ms(hop->queueing_ms().p99()),
                   ms(hop->service_ms().mean()));
  if (hop->has_utilization()) text += "<br>hop utilisation " + percent(hop->utilization());
  if (hop->bottleneck()) text += "<br><b>bottleneck</b>";
  return text;
}

// One vertex: a shape by kind, filled by utilisation, with its name.
class VertexItem : public QGraphicsItem {
 public:
  VertexItem(const TopologyVertex& v, int index) : v_(v) {
    setFlags(ItemIsSelectable);
    setAcceptHoverEvents(true);
    setData(0, index);
    setData(1, QString::fromStdString(v.hop));
    setZValue(2);
  }
  QRectF boundingRect() const override {
    return QRectF(-kItemWidth / 2 - 3, -kItemHeight / 2 - 3, kItemWidth + 6, kItemHeight + 6);
  }
  void paint(QPainter* p, const QStyleOptionGraphicsItem*, QWidget*) override {
    p->setRenderHint(QPainter::Antialiasing);
    const QRectF r(-kItemWidth / 2, -kItemHeight / 2, kItemWidth, kItemHeight);
    QPen pen(isSelected() ? QColor(0x10, 0x40, 0xc0) : QColor(0x44, 0x44, 0x44),
             isSelected() ? 3.5 : (hover_ ? 2.5 : 1.2));
    p->setPen(pen);
    p->setBrush(utilization_color(v_.utilization));
    switch (v_.kind) {
      case VertexKind::kClients:
      case VertexKind::kService:
        p->drawEllipse(r);
        break;
      case VertexKind::kLoadBalancer: {
        const QPolygonF diamond({QPointF(r.left(), 0), QPointF(0, r.top()), QPointF(r.right(), 0),
                                 QPointF(0, r.bottom())});
        p->drawPolygon(diamond);
        break;
      }
      case VertexKind::kNode:
        p->drawRect(r);
        break;
      case VertexKind::kIngressPod:
      case VertexKind::kPod:
        p->drawRoundedRect(r, 8, 8);
        break;
    }
    QFont f = p->font();
    f.setPixelSize(11);
    p->setFont(f);
    p->setPen(Qt::black);
    QString label = QString::fromStdString(v_.name);
    if (v_.utilization) label += "\n" + percent(*v_.utilization);
    p->drawText(r, Qt::AlignCenter, label);
  }

 protected:
  void hoverEnterEvent(QGraphicsSceneHoverEvent*) override {
    hover_ = true;
    update();
  }
  void hoverLeaveEvent(QGraphicsSceneHoverEvent*) override {
    hover_ = false;
    update();
  }

 private:
  TopologyVertex v_;
  bool hover_ = false;
};

}  // namespace

QColor utilization_color(std::optional<double> utilization) {
  if (!utilization) return QColor(0xe4, 0xe4, 0xe4);
  const double u = std::clamp(*utilization, 0.0, 1.0);
  // Hue 120 (green) at 0 to 0 (red) at 1, light enough for black text.
  return QColor::fromHsvF(static_cast<float>((1 - u) * 120.0 / 360.0), 0.55f, 0.97f);
}

TopologyView::TopologyView(QWidget* parent) : QGraphicsView(parent) {
  setScene(&scene_);
  setRenderHint(QPainter::Antialiasing);
  setDragMode(QGraphicsView::ScrollHandDrag);
  setTransformationAnchor(QGraphicsView::AnchorUnderMouse);
  setBackgroundBrush(Qt::white);
  connect(&scene_, &QGraphicsScene::selectionChanged, this, &TopologyView::selection_changed);
}

void TopologyView::set_layout(LayoutAlgorithm algorithm) {
  layout_ = algorithm;
  set_data(result_, resolved_);
}

void TopologyView::set_data(const result::RunResult* result, const scenario::Scenario* resolved) {
  result_ = result;
  resolved_ = resolved;
  scene_.clear();
  vertex_items_.clear();
  if (result == nullptr && resolved == nullptr) {
    topology_ = {};
    return;
  }
  const result::RunResult empty;
  topology_ = build_topology(result != nullptr ? *result : empty, resolved);
  const double n = static_cast<double>(topology_.vertices.size());
  // Room for the items without leaving them tiny once fitted: grows with the square root of
  // the count.
  const double width = 160.0 * std::sqrt(n) + 200;
  const double height = 0.6 * width;
  layout_topology(&topology_, layout_, width, height, kItemWidth, kItemHeight);

  // Zones: a box around their members.
  static const QColor kZoneFill[] = {QColor(0xee, 0xf3, 0xfb), QColor(0xfb, 0xf1, 0xe8),
                                     QColor(0xee, 0xf8, 0xee), QColor(0xf6, 0xee, 0xf8)};
  for (size_t z = 0; z < topology_.zones.size(); ++z) {
    QRectF box;
    for (const TopologyVertex& v : topology_.vertices) {
      if (v.zone != topology_.zones[z]) continue;
      const QRectF r(v.x - kItemWidth / 2 - 14, v.y - kItemHeight / 2 - 26, kItemWidth + 28,
                     kItemHeight + 40);
      box = box.isNull() ? r : box.united(r);
    }
    if (box.isNull()) continue;
    auto* rect = scene_.addRect(box, QPen(QColor(0x99, 0xaa, 0xcc), 1, Qt::DashLine),
                                kZoneFill[z % std::size(kZoneFill)]);
    rect->setZValue(0);
    auto* label = scene_.addSimpleText("zone " + QString::fromStdString(topology_.zones[z]));
    label->setPos(box.topLeft() + QPointF(6, 3));
    label->setBrush(QColor(0x44, 0x55, 0x77));
    label->setZValue(0.5);
  }
  for (const TopologyEdge& e : topology_.edges) {
    const TopologyVertex& a = topology_.vertices[static_cast<size_t>(e.from)];
    const TopologyVertex& b = topology_.vertices[static_cast<size_t>(e.to)];
    QPen pen(QColor(0x55, 0x66, 0x88, 150), 1 + 14 * std::clamp(e.traffic_share, 0.0, 1.0));
    pen.setCapStyle(Qt::RoundCap);
    auto* line = scene_.addLine(a.x, a.y, b.x, b.y, pen);
    line->setZValue(1);
    line->setToolTip(QString("%1 → %2: ~%3 of the traffic")
                         .arg(QString::fromStdString(a.name), QString::fromStdString(b.name),
                              percent(e.traffic_share)));
  }
  for (size_t i = 0; i < topology_.vertices.size(); ++i) {
    const TopologyVertex& v = topology_.vertices[i];
    auto* item = new VertexItem(v, static_cast<int>(i));
    item->setPos(v.x, v.y);
    item->setToolTip(tooltip_of(v, result));
    scene_.addItem(item);
    vertex_items_.push_back(item);
  }
  // Legend: the utilisation colour scale.
  const QRectF bounds = scene_.itemsBoundingRect();
  const double lx = bounds.left(), ly = bounds.bottom() + 16;
  auto* title = scene_.addSimpleText("utilisation:");
  title->setPos(lx, ly);
  for (int i = 0; i <= 10; ++i) {
    auto* swatch =
        scene_.addRect(lx + 80 + i * 22, ly, 22, 14, Qt::NoPen, utilization_color(i / 10.0));
    swatch->setToolTip(percent(i / 10.0));
  }
  auto* scale = scene_.addSimpleText(
      "0% → 100%      grey: no servers (a delay)   "
      "edge width: share of traffic");
  scale->setPos(lx + 80 + 11 * 22 + 10, ly);
  scene_.setSceneRect(scene_.itemsBoundingRect().adjusted(-20, -20, 20, 20));
  if (!user_zoomed_) fitInView(scene_.sceneRect(), Qt::KeepAspectRatio);
}

void TopologyView::resizeEvent(QResizeEvent* event) {
  QGraphicsView::resizeEvent(event);
  if (!user_zoomed_) fitInView(scene_.sceneRect(), Qt::KeepAspectRatio);
}

bool TopologyView::select_vertex(const std::string& name) {
  for (size_t i = 0; i < topology_.vertices.size(); ++i) {
    if (topology_.vertices[i].name != name) continue;
    scene_.clearSelection();
    vertex_items_[i]->setSelected(true);
    return true;
  }
  return false;
}

void TopologyView::zoom(double factor) {
  user_zoomed_ = true;
  scale(factor, factor);
}

void TopologyView::fit() {
  user_zoomed_ = false;
  fitInView(scene_.sceneRect(), Qt::KeepAspectRatio);
}

void TopologyView::wheelEvent(QWheelEvent* event) {
  zoom(std::pow(1.0015, event->angleDelta().y()));
  event->accept();
}

void TopologyView::selection_changed() {
  const auto selected = scene_.selectedItems();
  if (selected.isEmpty()) return;
  emit hop_selected(selected.front()->data(1).toString());
}

}  // namespace ingresslab::viz
