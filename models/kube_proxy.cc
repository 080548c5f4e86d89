#include "models/kube_proxy.h"

namespace ingresslab::models {
namespace {

using engine::Duration;

Duration proto_duration(const google::protobuf::Duration& d) {
  return Duration::nanoseconds(d.seconds() * 1'000'000'000 + d.nanos());
}

// iptables: `-m statistic --mode random --probability 1/(n-i)` chains = uniform per connection.
class Iptables final : public KubeProxyMode {
 public:
  Iptables(Duration base, Duration per_rule, uint32_t rules)
      : base_(base), per_rule_(per_rule), rules_(rules) {}
  Duration first_packet_cost(engine::Rng& rng) const override {
    // The Service's position in KUBE-SERVICES, uniform over the chain.
    const uint64_t position = rules_ == 0 ? 0 : rng.below(rules_) + 1;
    return base_ + per_rule_ * static_cast<int64_t>(position);
  }
  size_t choose_endpoint(std::span<const EndpointLoad> c, uint64_t, engine::Rng& rng) override {
    return static_cast<size_t>(rng.below(c.size()));
  }

 private:
  Duration base_, per_rule_;
  uint32_t rules_;
};

// nftables: one verdict-map lookup, then `numgen random mod N` (uniform).
class Nftables final : public KubeProxyMode {
 public:
  explicit Nftables(Duration base) : base_(base) {}
  Duration first_packet_cost(engine::Rng&) const override { return base_; }
  size_t choose_endpoint(std::span<const EndpointLoad> c, uint64_t, engine::Rng& rng) override {
    return static_cast<size_t>(rng.below(c.size()));
  }

 private:
  Duration base_;
};

// IPVS: hash lookup; the scheduler picks the real server.
class Ipvs final : public KubeProxyMode {
 public:
  Ipvs(Duration base, scenario::KubeProxy::IpvsScheduler scheduler)
      : base_(base), scheduler_(scheduler) {}
  Duration first_packet_cost(engine::Rng&) const override { return base_; }
  size_t choose_endpoint(std::span<const EndpointLoad> c, uint64_t source_hash,
                         engine::Rng& rng) override {
    switch (scheduler_) {
      case scenario::KubeProxy::SH: {
        uint64_t s = source_hash;
        return static_cast<size_t>(engine::splitmix64_next(&s) % c.size());
      }
      case scenario::KubeProxy::LC:
      case scenario::KubeProxy::SED:
        // With equal weights, sed's (C+1)/U orders endpoints like lc's C.
        return least(c, rng);
      case scenario::KubeProxy::NQ: {
        for (size_t i = 0; i < c.size(); ++i) {
          if (c[i].active == 0) return i;  // an idle server, first in list order
        }
        return least(c, rng);
      }
      default: {  // rr
        const size_t i = next_ % c.size();
        ++next_;
        return i;
      }
    }
  }

 private:
  static size_t least(std::span<const EndpointLoad> c, engine::Rng&) {
    size_t best = 0;
    for (size_t i = 1; i < c.size(); ++i) {
      if (c[i].active < c[best].active) best = i;  // first of the least loaded, as IPVS does
    }
    return best;
  }
  Duration base_;
  scenario::KubeProxy::IpvsScheduler scheduler_;
  size_t next_ = 0;
};

}  // namespace

std::unique_ptr<KubeProxyMode> make_kube_proxy(const scenario::KubeProxy& config,
                                               uint32_t service_ports) {
  Duration base = kNatBaseCost;
  Duration per_rule = kIptablesPerRuleCost;
  if (config.has_first_packet_cost()) {
    if (config.first_packet_cost().has_base())
      base = proto_duration(config.first_packet_cost().base());
    if (config.first_packet_cost().has_per_rule()) {
      per_rule = proto_duration(config.first_packet_cost().per_rule());
    }
  }
  switch (config.mode()) {
    case scenario::KubeProxy::IPVS:
      return std::make_unique<Ipvs>(base, config.ipvs_scheduler());
    case scenario::KubeProxy::NFTABLES:
      return std::make_unique<Nftables>(base);
    default:
      return std::make_unique<Iptables>(base, per_rule, service_ports);
  }
}

}  // namespace ingresslab::models
