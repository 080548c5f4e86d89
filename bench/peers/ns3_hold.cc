// The hold model on ns-3.37's kernel, for a side-by-side comparison with BM_Hold
// (bench/peers/ns3_compare.sh). Same model, same delay generator and mean as
// bench/engine_bench.cc: N pending events, each run schedules one more after an exponential delay.
//
//   ns3_hold SCHEDULER N EVENTS     SCHEDULER: MapScheduler | HeapScheduler | CalendarScheduler |
//                                   PriorityQueueScheduler | ListScheduler
// Prints: `ns3 SCHEDULER N events_per_second`.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <string>

#include "ns3/nstime.h"
#include "ns3/object-factory.h"
#include "ns3/simulator.h"

namespace {

// xoshiro256++ seeded by SplitMix64: the same generator family as engine/random.h, so both
// kernels pay the same price for their delays.
struct Xoshiro {
  uint64_t s[4];
  explicit Xoshiro(uint64_t seed) {
    for (auto& w : s) {
      uint64_t z = (seed += 0x9e3779b97f4a7c15ULL);
      z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
      z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
      w = z ^ (z >> 31);
    }
  }
  static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t next() {
    const uint64_t result = rotl(s[0] + s[3], 23) + s[0];
    const uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
  }
  double open01() { return (static_cast<double>(next() >> 11) + 1.0) * 0x1.0p-53; }
};

constexpr double kMeanHoldNs = 1e6;
Xoshiro rng(1);
int64_t budget = 0;

int64_t Delay() {
  return static_cast<int64_t>(-kMeanHoldNs * std::log(rng.open01()));
}

void Fire() {
  ns3::Simulator::Schedule(ns3::NanoSeconds(Delay()), &Fire);
  if (--budget == 0) ns3::Simulator::Stop();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: %s SCHEDULER N EVENTS\n", argv[0]);
    return 2;
  }
  const std::string scheduler = argv[1];
  const int64_t n = std::atoll(argv[2]);
  const int64_t events = std::atoll(argv[3]);
  ns3::ObjectFactory factory;
  factory.SetTypeId("ns3::" + scheduler);
  ns3::Simulator::SetScheduler(factory);
  for (int64_t i = 0; i < n; ++i)
    ns3::Simulator::Schedule(ns3::NanoSeconds(Delay()), &Fire);
  budget = std::min<int64_t>(2 * n, 2'000'000);  // warm-up, as in BM_Hold
  ns3::Simulator::Run();
  budget = events;
  // CPU time of this process, as Google Benchmark's items_per_second uses for BM_Hold, so the
  // ratio holds even when other work shares the machine.
  timespec t0{}, t1{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t0);
  ns3::Simulator::Run();
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t1);
  const double seconds =
      static_cast<double>(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) * 1e-9;
  std::printf("ns3 %s %lld %.0f\n", scheduler.c_str(), static_cast<long long>(n),
              static_cast<double>(events) / seconds);
  ns3::Simulator::Destroy();
  return 0;
}
