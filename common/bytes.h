// Fixed-width and variable-length integer encodings for keys and values on disk (the store's
// FORMAT.md, the spool's FORMAT.md, the tailer's position): big-endian where byte order must be
// numeric order (keys), little-endian fixed64 and LEB128 varints elsewhere. Readers take a
// pointer to at least the encoded width; bounds are the caller's to check.
#ifndef KUBETRAIL_COMMON_BYTES_H_
#define KUBETRAIL_COMMON_BYTES_H_

#include <cstdint>
#include <string>

namespace kubetrail {

inline void PutBig32(uint32_t v, std::string* out) {
  const char b[4] = {static_cast<char>(v >> 24), static_cast<char>(v >> 16),
                     static_cast<char>(v >> 8), static_cast<char>(v)};
  out->append(b, 4);
}
inline void PutBig64(uint64_t v, std::string* out) {
  char b[8];
  for (int i = 0; i < 8; ++i) b[i] = static_cast<char>(v >> (56 - 8 * i));
  out->append(b, 8);
}
// The 8 big-endian bytes of `v`.
inline std::string Big64(uint64_t v) {
  std::string out;
  PutBig64(v, &out);
  return out;
}
inline uint32_t GetBig32(const char* p) {
  const auto* u = reinterpret_cast<const unsigned char*>(p);
  return (uint32_t{u[0]} << 24) | (uint32_t{u[1]} << 16) | (uint32_t{u[2]} << 8) | u[3];
}
inline uint64_t GetBig64(const char* p) { return (uint64_t{GetBig32(p)} << 32) | GetBig32(p + 4); }

inline void PutFixed32(uint32_t v, std::string* out) {
  const char b[4] = {static_cast<char>(v), static_cast<char>(v >> 8), static_cast<char>(v >> 16),
                     static_cast<char>(v >> 24)};
  out->append(b, 4);
}
inline uint32_t GetFixed32(const char* p) {
  const auto* u = reinterpret_cast<const unsigned char*>(p);
  return uint32_t{u[0]} | (uint32_t{u[1]} << 8) | (uint32_t{u[2]} << 16) | (uint32_t{u[3]} << 24);
}
inline void PutFixed64(uint64_t v, std::string* out) {
  char b[8];
  for (int i = 0; i < 8; ++i) b[i] = static_cast<char>(v >> (8 * i));
  out->append(b, 8);
}
inline uint64_t GetFixed64(const char* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

inline void PutVarint(uint64_t v, std::string* out) {
  char b[10];
  int n = 0;
  while (v >= 0x80) {
    b[n++] = static_cast<char>(v | 0x80);
    v >>= 7;
  }
  b[n++] = static_cast<char>(v);
  out->append(b, static_cast<size_t>(n));
}
// Reads a varint at *p (< end) and advances *p; false on truncation.
inline bool GetVarint(const char** p, const char* end, uint64_t* v) {
  uint64_t result = 0;
  for (int shift = 0; shift <= 63 && *p < end; shift += 7) {
    const auto byte = static_cast<unsigned char>(**p);
    ++*p;
    result |= uint64_t{byte & 0x7fu} << shift;
    if ((byte & 0x80) == 0) {
      *v = result;
      return true;
    }
  }
  return false;
}

}  // namespace kubetrail

#endif  // KUBETRAIL_COMMON_BYTES_H_
