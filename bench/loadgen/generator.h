// -----------------------------------------------------------------------------
// File: generator.h
// -----------------------------------------------------------------------------
//
// A deterministic generator of realistic Kubernetes audit events (audit.k8s.io/v1), for
// load tests and benchmarks of the collector, aggregator and store.
//
// A Generator simulates one cluster (its version, namespaces, nodes, workloads and the
// identities that talk to its apiserver are derived from the seed) and emits the audit
// events its apiserver would log: controllers renewing leases and reconciling objects,
// kubelets heartbeating and syncing pod status, informers listing and watching, people
// running kubectl (get, logs, exec, apply, delete, sometimes forbidden), probes of
// /healthz and /readyz, failed authentications, impersonation, admission and server
// errors, and occasionally very large bodies (a ConfigMap holding a CA bundle, a big list).
//
// Example:
//
//   kubetrail::loadgen::Generator gen(/*seed=*/42, /*start_time_us=*/1793491200000000);
//   kubetrail::v1::Event event;
//   std::string line;
//   for (int i = 0; i < 1000; ++i) {
//     gen.Next(&event);
//     line.clear();
//     kubetrail::audit::AppendEventJson(event, &line);   // one apiserver log line
//   }
//
// Contract:
//
//   * Deterministic: the same (seed, start_time_us) gives the same sequence of events, on
//     every platform and standard library (all randomness comes from a PCG generator
//     through integer-only sampling; no std distributions, no floating point, no clock).
//   * Each request yields 1-3 events sharing one auditID, emitted consecutively and in stage
//     order: RequestReceived (for some requests; real policies often omit it), ResponseStarted
//     (long-running watch/exec/log requests, and failed authentications, which log only that
//     stage), ResponseComplete.
//   * requestReceivedTimestamp never decreases along the stream and strictly increases from
//     one request to the next (gaps average about 1 ms). stageTimestamp >= received; for
//     watches ResponseComplete lies minutes later, so stageTimestamp is not monotonic.
//   * auditIDs are random version-4 UUIDs, unique within a stream.
//   * Presence follows event.proto: optional scalars are set only when the apiserver would
//     write the key; present_fields bits are set for sourceIPs, annotations, groups and
//     extra when written. requestObject/responseObject hold compact JSON in exactly the
//     form Go's encoding/json writes (so decode -> encode reproduces the bytes).
//
// Thread safety: a Generator is not thread-safe; use one per thread (with distinct seeds
// for distinct streams).
#ifndef KUBETRAIL_BENCH_LOADGEN_GENERATOR_H_
#define KUBETRAIL_BENCH_LOADGEN_GENERATOR_H_

#include <cstdint>
#include <memory>

#include "kubetrail/v1/event.pb.h"

namespace kubetrail::loadgen {

class Generator {
 public:
  // `seed` selects the simulated cluster and the event stream. `start_time_us` is the
  // requestReceivedTimestamp of the first request, in microseconds since the Unix epoch.
  Generator(uint64_t seed, int64_t start_time_us);
  ~Generator();

  Generator(const Generator&) = delete;
  Generator& operator=(const Generator&) = delete;

  // Overwrites `*event` with the next event of the stream. Reusing one Event across calls
  // avoids most allocations.
  void Next(kubetrail::v1::Event* event);

  // Convenience overload returning a fresh Event.
  kubetrail::v1::Event Next();

  // Number of events returned so far.
  uint64_t events_generated() const;
  // Number of requests started so far (each request yields 1-3 events).
  uint64_t requests_generated() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace kubetrail::loadgen

#endif  // KUBETRAIL_BENCH_LOADGEN_GENERATOR_H_
