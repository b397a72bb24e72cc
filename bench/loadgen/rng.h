// A small deterministic random number generator with portable sampling helpers.
//
// The load generator must produce byte-identical output for a seed on every platform and
// standard library. std::uniform_int_distribution and friends are not specified precisely
// enough for that (libstdc++ and libc++ give different streams), so every pick here is
// derived from raw 64-bit draws with integer arithmetic only: no floating point, no <random>
// distributions, no libm.
//
//   Rng rng(42);
//   uint64_t x = rng.Next();                 // raw 64 bits
//   int64_t ms = rng.Range(1, 500);          // uniform in [1, 500]
//   if (rng.Chance(2500)) { ... }            // true with probability 0.25%
//   constexpr Weighted<std::string_view> kVerbs[] = {{60, "get"}, {25, "list"}, {15, "watch"}};
//   std::string_view verb = Pick(rng, kVerbs);
//
// Thread safety: an Rng is a plain value; use one per thread.
#ifndef KUBETRAIL_BENCH_LOADGEN_RNG_H_
#define KUBETRAIL_BENCH_LOADGEN_RNG_H_

#include <cstddef>
#include <cstdint>
#include <span>

namespace kubetrail::loadgen {

// SplitMix64's finaliser: a bijective 64-bit mixer. Used to derive seeds and stable
// pseudo-random values (uids, suffixes) from names.
constexpr uint64_t Mix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// PCG-RXS-M-XS 64/64 (M. E. O'Neill, "PCG: A Family of Simple Fast Space-Efficient
// Statistically Good Algorithms for Random Number Generation", 2014, section 6.3.4).
// 64-bit state, 64-bit output, period 2^64. The output function is a bijection of the state,
// so no 64-bit value repeats within a period, which keeps random UUIDs unique.
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(Mix64(seed)) {}

  // The next raw 64-bit draw.
  uint64_t Next() {
    const uint64_t old = state_;
    state_ = old * 6364136223846793005ULL + 1442695040888963407ULL;
    const uint64_t word = ((old >> ((old >> 59u) + 5u)) ^ old) * 12605985483714917081ULL;
    return (word >> 43u) ^ word;
  }

  // Uniform in [0, n); n must be > 0. Unbiased: draws below 2^64 mod n are rejected, so every
  // residue is reached by the same number of draws.
  uint64_t Below(uint64_t n) {
    const uint64_t threshold = (0 - n) % n;
    for (;;) {
      const uint64_t r = Next();
      if (r >= threshold) return r % n;
    }
  }

  // Uniform in [lo, hi] (inclusive); requires lo <= hi.
  int64_t Range(int64_t lo, int64_t hi) {
    return lo + static_cast<int64_t>(Below(static_cast<uint64_t>(hi - lo) + 1));
  }

  // True with probability per_million / 1,000,000.
  bool Chance(uint32_t per_million) { return Below(1000000) < per_million; }

  // Uniform index into a container of `size` elements (size > 0).
  size_t Index(size_t size) { return static_cast<size_t>(Below(size)); }

 private:
  uint64_t state_;
};

// One entry of a weighted table: `value` is picked with probability weight / sum(weights).
template <typename T>
struct Weighted {
  uint32_t weight;
  T value;
};

// Picks one value of `table` (non-empty, positive total weight) in proportion to its weight.
template <typename T>
const T& Pick(Rng& rng, std::span<const Weighted<T>> table) {
  uint64_t total = 0;
  for (const Weighted<T>& entry : table) total += entry.weight;
  uint64_t r = rng.Below(total);
  for (const Weighted<T>& entry : table) {
    if (r < entry.weight) return entry.value;
    r -= entry.weight;
  }
  return table.back().value;  // unreachable: r < total
}

template <typename T, size_t N>
const T& Pick(Rng& rng, const Weighted<T> (&table)[N]) {
  return Pick(rng, std::span<const Weighted<T>>(table, N));
}

// A value range [lo, hi] with a weight, for piecewise-uniform distributions (latencies,
// gaps, sizes) that need no floating point.
struct Bucket {
  uint32_t weight;
  int64_t lo;
  int64_t hi;
};

// Picks a bucket by weight, then a uniform value inside it.
template <size_t N>
int64_t PickFromBuckets(Rng& rng, const Bucket (&buckets)[N]) {
  uint64_t total = 0;
  for (const Bucket& b : buckets) total += b.weight;
  uint64_t r = rng.Below(total);
  for (const Bucket& b : buckets) {
    if (r < b.weight) return rng.Range(b.lo, b.hi);
    r -= b.weight;
  }
  return buckets[N - 1].hi;  // unreachable: r < total
}

}  // namespace kubetrail::loadgen

#endif  // KUBETRAIL_BENCH_LOADGEN_RNG_H_
