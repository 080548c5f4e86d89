// Internal to realproxy/routing: an immutable open-addressing hash table from (scope, string) to a
// 32-bit index, built once by the compiler and probed without allocating by the matcher.
//
// `scope` lets one table hold several key spaces (exact hosts vs wildcard suffixes; the children
// of different trie nodes). Keys live in one contiguous arena; a slot is 24 bytes. The load factor
// is at most 1/2, so a probe sequence is short; the table is built from configuration, never from
// request data, so request keys cannot lengthen probe chains.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace ingresslab::routing::detail {

inline constexpr uint32_t kNoIndex = UINT32_MAX;

constexpr char ascii_lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
}

// ASCII-lowercases the 8 bytes packed in `word` at once (bytes >= 0x80 are left alone): a byte
// gets 0x20 added iff it is in 'A'..'Z'. Same result as ascii_lower on each byte.
constexpr uint64_t ascii_lower_word(uint64_t word) {
  constexpr uint64_t kHigh = 0x8080808080808080ULL;
  const uint64_t low7 = word & ~kHigh;
  const uint64_t above_z = low7 + 0x2525252525252525ULL;      // 0x80 set iff byte > 'Z'
  const uint64_t from_a = low7 + 0x3f3f3f3f3f3f3f3fULL;       // 0x80 set iff byte >= 'A'
  const uint64_t upper = (from_a ^ above_z) & ~word & kHigh;  // ASCII and in 'A'..'Z'
  return word | (upper >> 2);
}

// The next min(8, remaining) bytes of `p` as a word, zero-padded.
inline uint64_t load_word(const char* p, size_t remaining) noexcept {
  uint64_t word = 0;
  if (remaining >= 8) {
    std::memcpy(&word, p, 8);  // a fixed-size copy compiles to one load
  } else {
    for (size_t i = 0; i < remaining; ++i) {
      word |= static_cast<uint64_t>(static_cast<uint8_t>(p[i])) << (8 * i);
    }
  }
  return word;
}

// Hash of (scope, key), eight bytes at a time (ASCII-lowercased if kFoldCase), finished with the
// MurmurHash3 fmix64 finalizer so that the low bits used for the slot index are well mixed. Not
// stable across machines (word loads are native-endian): tables are built and probed in one
// process.
template <bool kFoldCase>
uint64_t hash_key(uint32_t scope, std::string_view key) noexcept {
  uint64_t h = 0xcbf29ce484222325ULL ^ (static_cast<uint64_t>(scope) * 0x9e3779b97f4a7c15ULL) ^
               (static_cast<uint64_t>(key.size()) * 0xc2b2ae3d27d4eb4fULL);
  for (size_t i = 0; i < key.size(); i += 8) {
    uint64_t word = load_word(key.data() + i, key.size() - i);
    if constexpr (kFoldCase) word = ascii_lower_word(word);
    h = (h ^ word) * 0x100000001b3ULL;
    h ^= h >> 29;
  }
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ULL;
  h ^= h >> 33;
  return h;
}

class FlatStringMap {
 public:
  struct Entry {
    uint32_t scope;
    std::string key;
    uint32_t value;  // REQUIRES: != kNoIndex
  };

  FlatStringMap() = default;

  // REQUIRES: (scope, key) pairs are unique; keys that will be looked up with kFoldCase must be
  // lowercase. Throws std::length_error if the keys do not fit 32-bit offsets.
  explicit FlatStringMap(const std::vector<Entry>& entries);

  // The value stored for (scope, key), or kNoIndex. With kFoldCase, `key` is compared
  // ASCII-case-insensitively (stored keys are lowercase). Does not allocate.
  template <bool kFoldCase>
  uint32_t find(uint32_t scope, std::string_view key) const noexcept {
    if (slots_.empty()) return kNoIndex;
    const uint64_t hash = hash_key<kFoldCase>(scope, key);
    for (size_t i = hash & mask_;; i = (i + 1) & mask_) {
      const Slot& slot = slots_[i];
      if (slot.value == kNoIndex) return kNoIndex;
      if (slot.hash == hash && slot.scope == scope && slot.key_length == key.size() &&
          equal<kFoldCase>(std::string_view(keys_).substr(slot.key_offset, slot.key_length), key)) {
        return slot.value;
      }
    }
  }

  size_t size() const noexcept { return size_; }

 private:
  struct Slot {
    uint64_t hash = 0;
    uint32_t scope = 0;
    uint32_t key_offset = 0;
    uint32_t key_length = 0;
    uint32_t value = kNoIndex;
  };

  template <bool kFoldCase>
  static bool equal(std::string_view stored, std::string_view key) noexcept {
    if constexpr (!kFoldCase) {
      return stored == key;
    } else {
      for (size_t i = 0; i < key.size(); i += 8) {
        const size_t remaining = key.size() - i;
        if (load_word(stored.data() + i, remaining) !=
            ascii_lower_word(load_word(key.data() + i, remaining))) {
          return false;
        }
      }
      return true;
    }
  }

  std::vector<Slot> slots_;
  std::string keys_;
  size_t mask_ = 0;
  size_t size_ = 0;
};

inline FlatStringMap::FlatStringMap(const std::vector<Entry>& entries) : size_(entries.size()) {
  if (entries.empty()) return;
  size_t capacity = 8;
  while (capacity < 2 * entries.size())
    capacity *= 2;
  slots_.resize(capacity);
  mask_ = capacity - 1;
  size_t key_bytes = 0;
  for (const Entry& entry : entries)
    key_bytes += entry.key.size();
  if (key_bytes > UINT32_MAX) throw std::length_error("route table keys exceed 4 GiB");
  keys_.reserve(key_bytes);
  for (const Entry& entry : entries) {
    // Keys are hashed the same way whether or not they will be looked up case-folded: stored keys
    // for case-folded lookups are lowercase, on which folding is the identity.
    const uint64_t hash = hash_key<false>(entry.scope, entry.key);
    size_t i = hash & mask_;
    while (slots_[i].value != kNoIndex)
      i = (i + 1) & mask_;
    slots_[i] = Slot{hash, entry.scope, static_cast<uint32_t>(keys_.size()),
                     static_cast<uint32_t>(entry.key.size()), entry.value};
    keys_ += entry.key;
  }
}

}  // namespace ingresslab::routing::detail
