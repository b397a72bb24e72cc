// kubetrail-loadgen --send: ships events to an aggregator over the ingest protocol, exactly as
// a collector does (kubetrail::shipper), over K concurrent streams, and measures the rate.
//
//   SendOptions options;
//   options.shipper.target = "127.0.0.1:7443";
//   options.shipper.cluster = "bench";
//   options.shipper.source = "loadgen";
//   SendResult result = SendEvents(options, std::move(events));
//   std::puts(FormatSummaryJson(result).c_str());
//
// kubetrail::loadgen_send, used by kubetrail-loadgen --send and `kubetrail-bench aggregator`;
// internal to bench/, not a library contract.
#ifndef KUBETRAIL_BENCH_LOADGEN_SEND_H_
#define KUBETRAIL_BENCH_LOADGEN_SEND_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "kubetrail/v1/event.pb.h"
#include "services/collector/shipper/shipper.h"

namespace kubetrail::loadgen {

struct SendOptions {
  // Target, credentials, cluster and source; every stream gets a copy (and so a connection
  // of its own).
  collector::ShipperConfig shipper;
  // Concurrent streams, each its own Shipper; batches go to them round-robin. Default: 1.
  int streams = 1;
  // Events per batch, at most. Default: 400.
  size_t batch_events = 400;
  // Serialized bytes per batch, at most (a bigger event travels alone): below gRPC's default
  // 4 MiB message limit, which an aggregator may keep. Default: 3 MiB.
  size_t max_batch_bytes = size_t{3} << 20;
  // Total rate limit in events per second over all streams; 0: as fast as acks allow.
  double rate = 0;
  // Give up when not everything is acknowledged after this long. Default: never.
  absl::Duration timeout = absl::InfiniteDuration();
};

struct SendResult {
  // Summed over the streams.
  collector::ShipperStats stats;
  // From the first Submit until every stream's last ack (or its error).
  absl::Duration elapsed;
  int streams = 0;
  // OK when every batch was acknowledged; otherwise the first error, naming its stream.
  absl::Status status;
  // The first few rejections, as "auditID: reason".
  std::vector<std::string> rejections;
};

// Splits `events` into batches (see batch_events and max_batch_bytes; empty envelopes: the
// aggregator fills in cluster and source from the hello; receive_time_us 0: the aggregator's
// receive time), deals them round-robin to `options.streams` shippers (each numbering its own
// batches 1, 2, 3, ...), submits them, and waits for every ack. The clock starts at the first
// Submit: preparing the batches and the connections is not measured.
SendResult SendEvents(const SendOptions& options, std::vector<kubetrail::v1::Event> events);

// {"sent":N,"acked":N,"stored":N,"duplicates":N,"expired":N,"rejected":N,"events_per_s":X,
//  "seconds":S,"streams":K,"reconnects":R} — one line, no newline.
std::string FormatSummaryJson(const SendResult& result);

}  // namespace kubetrail::loadgen

#endif  // KUBETRAIL_BENCH_LOADGEN_SEND_H_
