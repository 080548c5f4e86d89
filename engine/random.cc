#include "engine/random.h"

#include <cassert>

namespace ingresslab::engine {

namespace {

// Domain-separation constants, so that e.g. (seed=a, replication=b) and (seed=b, replication=a)
// do not collide. Arbitrary odd 64-bit values; fixed forever (they shape every stream).
constexpr uint64_t kSeedSalt = 0x6a09e667f3bcc909ULL;         // frac(sqrt(2))
constexpr uint64_t kReplicationSalt = 0xbb67ae8584caa73bULL;  // frac(sqrt(3))
constexpr uint64_t kNameSalt = 0x3c6ef372fe94f82bULL;         // frac(sqrt(5))

// One SplitMix64 output for the state `x`: a bijection of 64-bit values.
constexpr uint64_t mix64(uint64_t x) {
  return splitmix64_next(&x);
}

// From the reference implementation (https://prng.di.unimi.it/xoshiro256plusplus.c).
constexpr std::array<uint64_t, 4> kJump = {0x180ec6d33cfd0abaULL, 0xd5a61266f0c9392cULL,
                                           0xa9582618e03fc9aaULL, 0x39abdc4529b1661cULL};
constexpr std::array<uint64_t, 4> kLongJump = {0x76e15d3efefdcbbfULL, 0xc5004e441c522fb3ULL,
                                               0x77710069854ee241ULL, 0x39109bb02acbe635ULL};

}  // namespace

Rng::Rng(uint64_t seed) {
  // SplitMix64 is a bijection of its counter, so the four outputs are distinct and at most one of
  // them is zero: the state is never all zero.
  uint64_t sm = seed;
  for (uint64_t& word : s_)
    word = splitmix64_next(&sm);
}

Rng Rng::for_stream(uint64_t scenario_seed, uint64_t replication, std::string_view stream_name) {
  // Each step is a bijection of the previous key for a fixed new input, so streams that differ in
  // exactly one of (seed, replication, name hash) always get different keys; the final key seeds
  // the state through SplitMix64 like Rng(seed).
  uint64_t key = mix64(scenario_seed ^ kSeedSalt);
  key = mix64(key ^ mix64(replication ^ kReplicationSalt));
  key = mix64(key ^ mix64(fnv1a64(stream_name) ^ kNameSalt));
  return Rng(key);
}

Rng Rng::from_state(const State& state) {
  assert((state[0] | state[1] | state[2] | state[3]) != 0 && "xoshiro state must not be all zero");
  Rng rng;
  rng.s_ = state;
  return rng;
}

void Rng::apply_jump(const std::array<uint64_t, 4>& polynomial) {
  State acc{};
  for (const uint64_t word : polynomial) {
    for (int b = 0; b < 64; ++b) {
      if (word & (uint64_t{1} << b)) {
        for (int i = 0; i < 4; ++i)
          acc[i] ^= s_[i];
      }
      next_u64();
    }
  }
  s_ = acc;
}

void Rng::jump() {
  apply_jump(kJump);
}

void Rng::long_jump() {
  apply_jump(kLongJump);
}

}  // namespace ingresslab::engine
