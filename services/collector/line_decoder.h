// LineDecoder: decodes a chunk of audit log lines (JSON lines) into Events on two threads, the
// caller's and a helper of its own, and returns them in line order — the log tailer's decode
// step, which is otherwise the slowest stage of tail → spool.
//
//   LineDecoder decoder(options);
//   audit::ReserveReadPadding(chunk.data);
//   DecodedLines out = decoder.Decode(chunk.data, chunk.data.capacity() - chunk.data.size());
//   // out.events in line order; out.errors: one "line N: ..." message per undecodable line
//
// A chunk is cut at the line boundary nearest its middle; the helper decodes the second half
// while the caller decodes the first. Small chunks are decoded on the caller alone. Line
// numbers in messages count from the chunk's first line, as a single reader would.
//
// Thread safety: one Decode at a time per decoder (the tailer's thread owns it).
#ifndef KUBETRAIL_SERVICES_COLLECTOR_LINE_DECODER_H_
#define KUBETRAIL_SERVICES_COLLECTOR_LINE_DECODER_H_

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "audit/codec.h"
#include "kubetrail/v1/event.pb.h"

namespace kubetrail::collector {

struct DecodedLines {
  std::vector<kubetrail::v1::Event> events;
  std::vector<std::string> errors;
};

class LineDecoder {
 public:
  // Chunks smaller than this are decoded on the caller's thread alone.
  static constexpr size_t kMinSplitBytes = size_t{64} << 10;

  explicit LineDecoder(audit::DecodeOptions options);
  ~LineDecoder();  // stops the helper
  LineDecoder(const LineDecoder&) = delete;
  LineDecoder& operator=(const LineDecoder&) = delete;

  // Decodes every line of `data`; `readable_after` bytes past its end may be read (see
  // audit::EventReader).
  DecodedLines Decode(std::string_view data, size_t readable_after);

 private:
  class Helper;
  audit::EventReader reader_;
  std::unique_ptr<Helper> helper_;
};

}  // namespace kubetrail::collector

#endif  // KUBETRAIL_SERVICES_COLLECTOR_LINE_DECODER_H_
