// scenarios/placement.h: the spread rules Placement documents, which validation and the models
// share.
#include "scenarios/placement.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

namespace ingresslab::scenarios {
namespace {

using Ints = std::vector<int>;

// A normalised cluster: nodes named and zoned in order; `zones` listed as given.
scenario::Cluster cluster(const std::vector<std::pair<std::string, std::string>>& nodes,
                          const std::vector<std::string>& zones = {}) {
  scenario::Cluster c;
  for (const auto& z : zones)
    c.add_zones()->set_name(z);
  for (const auto& [name, zone] : nodes) {
    scenario::Node* n = c.add_nodes();
    n->set_name(name);
    n->set_zone(zone);
    n->set_cores(4);
  }
  return c;
}

scenario::Placement placement(scenario::Placement::Spread spread,
                              const std::vector<std::string>& nodes = {}) {
  scenario::Placement p;
  p.set_spread(spread);
  for (const auto& n : nodes)
    p.add_nodes(n);
  return p;
}

const scenario::Cluster kThree = cluster({{"a", "z1"}, {"b", "z1"}, {"c", "z2"}});

TEST(PlacementTest, AllowedNodesAreListedOnesInOrderOrElseAll) {
  EXPECT_EQ(allowed_nodes(placement(scenario::Placement::ROUND_ROBIN), kThree), (Ints{0, 1, 2}));
  // Written order; repeats and unknown names skipped.
  EXPECT_EQ(
      allowed_nodes(placement(scenario::Placement::ROUND_ROBIN, {"c", "x", "a", "c"}), kThree),
      (Ints{2, 0}));
  EXPECT_TRUE(allowed_nodes(placement(scenario::Placement::ROUND_ROBIN, {"x"}), kThree).empty());
}

TEST(PlacementTest, RoundRobinIsTheDefault) {
  EXPECT_EQ(place_replicas(5, placement(scenario::Placement::ROUND_ROBIN), kThree),
            (Ints{0, 1, 2, 0, 1}));
  EXPECT_EQ(place_replicas(5, placement(scenario::Placement::SPREAD_UNSPECIFIED), kThree),
            (Ints{0, 1, 2, 0, 1}));
  EXPECT_EQ(place_replicas(3, placement(scenario::Placement::ROUND_ROBIN, {"c", "a"}), kThree),
            (Ints{2, 0, 2}));
  EXPECT_TRUE(place_replicas(0, placement(scenario::Placement::ROUND_ROBIN), kThree).empty());
}

TEST(PlacementTest, PackedPutsEveryPodOnTheFirstAllowedNode) {
  EXPECT_EQ(place_replicas(3, placement(scenario::Placement::PACKED), kThree), (Ints{0, 0, 0}));
  EXPECT_EQ(place_replicas(2, placement(scenario::Placement::PACKED, {"b", "a"}), kThree),
            (Ints{1, 1}));
}

TEST(PlacementTest, ZoneBalancedAlternatesZonesThenNodesWithinAZone) {
  // z1 = {a, b}, z2 = {c}: zones alternate, and a zone's nodes take turns.
  EXPECT_EQ(place_replicas(6, placement(scenario::Placement::ZONE_BALANCED), kThree),
            (Ints{0, 2, 1, 2, 0, 2}));
  // Zones in the order of cluster.zones, not of the nodes.
  const scenario::Cluster listed = cluster({{"a", "z1"}, {"b", "z1"}, {"c", "z2"}}, {"z2", "z1"});
  EXPECT_EQ(place_replicas(4, placement(scenario::Placement::ZONE_BALANCED), listed),
            (Ints{2, 0, 2, 1}));
  // Only zones with an allowed node count.
  EXPECT_EQ(place_replicas(3, placement(scenario::Placement::ZONE_BALANCED, {"a", "b"}), kThree),
            (Ints{0, 1, 0}));
}

TEST(PlacementTest, DaemonSetRunsOnePodPerAllowedNodeInClusterOrder) {
  EXPECT_EQ(place_daemonset(placement(scenario::Placement::PACKED), kThree), (Ints{0, 1, 2}));
  EXPECT_EQ(place_daemonset(placement(scenario::Placement::ZONE_BALANCED, {"c", "a", "c"}), kThree),
            (Ints{0, 2}));
  // A lopsided zone split still covers every allowed node.
  const scenario::Cluster lopsided =
      cluster({{"a", "z1"}, {"b", "z2"}, {"c", "z2"}, {"d", "z2"}, {"e", "z2"}});
  EXPECT_EQ(place_daemonset(placement(scenario::Placement::ZONE_BALANCED), lopsided),
            (Ints{0, 1, 2, 3, 4}));
}

TEST(PlacementTest, IngressPodsByKind) {
  scenario::IngressController ingress;
  ingress.set_replicas(4);
  ingress.mutable_placement()->set_spread(scenario::Placement::ROUND_ROBIN);
  EXPECT_EQ(place_ingress_pods(ingress, kThree), (Ints{0, 1, 2, 0}));
  ingress.set_kind(scenario::IngressController::DAEMONSET);
  ingress.mutable_placement()->add_nodes("b");
  EXPECT_EQ(place_ingress_pods(ingress, kThree), (Ints{1}));
}

TEST(PlacementTest, NothingIsPlacedWithoutNodesOrBeyondTheReplicaRange) {
  EXPECT_TRUE(place_replicas(3, placement(scenario::Placement::ROUND_ROBIN), cluster({})).empty());
  EXPECT_TRUE(
      place_replicas(3, placement(scenario::Placement::ZONE_BALANCED, {"x"}), kThree).empty());
  EXPECT_TRUE(
      place_replicas(kMaxPlacedReplicas + 1, placement(scenario::Placement::ROUND_ROBIN), kThree)
          .empty());
  EXPECT_EQ(
      place_replicas(kMaxPlacedReplicas, placement(scenario::Placement::PACKED), kThree).size(),
      kMaxPlacedReplicas);
}

}  // namespace
}  // namespace ingresslab::scenarios
