// Random numbers for the simulator: xoshiro256++ with named, reproducible substreams.
//
// Every component that needs randomness owns one `Rng`, obtained with
// `Rng::for_stream(scenario_seed, replication, "component.purpose")`. The stream depends only on
// those three values (never on the platform, the standard library, the order in which streams are
// created or on other streams), so:
//   - a run is bit-for-bit reproducible on every machine;
//   - two variants of a scenario that name their streams alike draw the same numbers
//     (common random numbers), so `compare` sees differences due to the change, not to noise;
//   - replications are independent.
//
// The generator is xoshiro256++ 1.0 (D. Blackman, S. Vigna, "Scrambled linear pseudorandom number
// generators", 2021; reference code https://prng.di.unimi.it/xoshiro256plusplus.c), seeded through
// SplitMix64 as its authors recommend. It is not cryptographic.
//
// Thread-safety: an Rng is a plain 32-byte value with no shared state. Distinct Rng objects may be
// used from distinct threads; one object must not be used from two threads at once.
#pragma once

#include <array>
#include <cstdint>
#include <limits>
#include <string_view>

namespace ingresslab::engine {

// 64-bit FNV-1a hash of `bytes` (offset basis 0xcbf29ce484222325, prime 0x100000001b3). Stable
// across platforms and releases, unlike std::hash; used to turn stream names into seeds.
constexpr uint64_t fnv1a64(std::string_view bytes) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (const char c : bytes) {
    h ^= static_cast<uint8_t>(c);
    h *= 0x100000001b3ULL;
  }
  return h;
}

// The SplitMix64 output function (Steele, Lea, Flood 2014): a bijective 64-bit mixer.
// Returns the next output of the SplitMix64 generator whose state is `*state` and advances it.
constexpr uint64_t splitmix64_next(uint64_t* state) {
  uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

class Rng {
 public:
  using result_type = uint64_t;
  using State = std::array<uint64_t, 4>;

  // Seeds the state with four consecutive outputs of SplitMix64 started at `seed`. Every seed,
  // including 0, gives a valid (not all-zero) state.
  explicit Rng(uint64_t seed);

  // The generator for stream `stream_name` of replication `replication` of a scenario whose seed
  // is `scenario_seed`. The same triple yields the same sequence on every machine; changing any
  // element yields an unrelated sequence. The derivation (FNV-1a of the name, mixed with the seed
  // and the replication through SplitMix64) is part of the result format: changing it changes
  // every simulated number, so tests pin it.
  static Rng for_stream(uint64_t scenario_seed, uint64_t replication, std::string_view stream_name);

  // A generator with exactly this internal state (for reference vectors and checkpoints).
  // REQUIRES: state is not all zero (the all-zero state is a fixed point of xoshiro).
  static Rng from_state(const State& state);

  // The current internal state; `from_state(state())` continues the same sequence.
  const State& state() const { return s_; }

  // Next raw 64-bit output; all 2^64 values are possible.
  uint64_t next_u64() {
    const uint64_t result = rotl(s_[0] + s_[3], 23) + s_[0];
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }

  // Uniform double in [0, 1): the top 53 bits of one output, times 2^-53. Never returns 1.
  double uniform01() { return to_uniform01(next_u64()); }

  // Uniform double in (0, 1]: never returns 0, so log(uniform_open01()) is always finite.
  double uniform_open01() { return to_uniform_open01(next_u64()); }

  // Uniform integer in [0, n), exactly unbiased (Lemire, "Fast random integer generation in an
  // interval", 2019: multiply-shift with rejection). Consumes one output, rarely more.
  // below(0) returns 0 (and below(1) returns 0).
  uint64_t below(uint64_t n) {
    uint64_t x = next_u64();
    uint64_t low;
    uint64_t high = mul_128(x, n, &low);
    if (low < n) {
      const uint64_t threshold = (0 - n) % n;  // 2^64 mod n; never evaluated for n == 0
      while (low < threshold) {
        x = next_u64();
        high = mul_128(x, n, &low);
      }
    }
    return high;
  }

  // Advances the state by 2^128 steps (the reference jump polynomial). Calling jump() k times on
  // copies of one generator gives 2^128 non-overlapping subsequences of length 2^128 each.
  void jump();

  // Advances the state by 2^192 steps (the reference long-jump polynomial).
  void long_jump();

  // std::uniform_random_bit_generator.
  static constexpr result_type min() { return 0; }
  static constexpr result_type max() { return std::numeric_limits<result_type>::max(); }
  result_type operator()() { return next_u64(); }

  // The mappings from one 64-bit output to the doubles returned by uniform01() and
  // uniform_open01(); exposed so their range can be checked at the extremes.
  static constexpr double to_uniform01(uint64_t bits) {
    return static_cast<double>(bits >> 11) * 0x1.0p-53;
  }
  static constexpr double to_uniform_open01(uint64_t bits) {
    return static_cast<double>((bits >> 11) + 1) * 0x1.0p-53;
  }

 private:
  Rng() = default;

  static constexpr uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

  // Returns the high 64 bits of the 128-bit product a*b; stores the low 64 bits in *low.
  static uint64_t mul_128(uint64_t a, uint64_t b, uint64_t* low) {
#if defined(__SIZEOF_INT128__)
    __extension__ typedef unsigned __int128 U128;  // __extension__: no -Wpedantic warning
    const U128 p = static_cast<U128>(a) * b;
    *low = static_cast<uint64_t>(p);
    return static_cast<uint64_t>(p >> 64);
#else
    const uint64_t a_lo = a & 0xffffffffULL, a_hi = a >> 32;
    const uint64_t b_lo = b & 0xffffffffULL, b_hi = b >> 32;
    const uint64_t ll = a_lo * b_lo, lh = a_lo * b_hi, hl = a_hi * b_lo, hh = a_hi * b_hi;
    const uint64_t mid = (ll >> 32) + (lh & 0xffffffffULL) + (hl & 0xffffffffULL);
    *low = (mid << 32) | (ll & 0xffffffffULL);
    return hh + (lh >> 32) + (hl >> 32) + (mid >> 32);
#endif
  }

  void apply_jump(const std::array<uint64_t, 4>& polynomial);

  State s_{};
};

}  // namespace ingresslab::engine
