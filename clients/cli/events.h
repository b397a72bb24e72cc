// `kubetrail get`, `tail` and `export`: the verbs that write stored events other than
// `query` (query.h), through the C++ client library and output.h.
//
//   GetOptions get{.audit_id = "7e1d…", .format = EventFormat::kTable};
//   int code = RunGet(get, client, std::cout, std::cerr);
//
//   TailControl control;                          // Stop() from a signal thread ends the tail
//   TailOptions tail;
//   tail.filter = *BuildFilter(flags, absl::Now());
//   code = RunTail(tail, client, &control, std::cout, std::cerr);
//
// Exit codes: exit_codes.h; a failed call is reported by ReportRpcError.
#ifndef KUBETRAIL_CLIENTS_CLI_EVENTS_H_
#define KUBETRAIL_CLIENTS_CLI_EVENTS_H_

#include <cstdint>
#include <ostream>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "clients/cli/output.h"
#include "kubetrail/client.h"
#include "kubetrail/v1/query.pb.h"

namespace kubetrail::cli {

struct GetOptions {
  std::string audit_id;
  EventFormat format = EventFormat::kTable;
  OutputOptions output;
};

// `kubetrail get AUDIT_ID`: every stored stage of the request, merged into one description
// (tables) or as events (json, jsonl, yaml). NOT_FOUND is one line and exit 1.
int RunGet(const GetOptions& options, const kubetrail::Client& client, std::ostream& out,
           std::ostream& err);

struct TailOptions {
  // With from_us set (--since/--from), the tail first writes the stored events from then on
  // (a Search), then continues live from exactly where that search ended. Without it, it
  // starts with events stored after the call. to_us must not be set.
  kubetrail::v1::Filter filter;
  EventFormat format = EventFormat::kTable;
  OutputOptions output;
  // Wait between attempts when the aggregator is unavailable (restarting). Default: 1 s.
  absl::Duration retry = absl::Seconds(1);
};

// Ends a running tail from another thread (a signal handler's thread, a test).
class TailControl {
 public:
  // Ends RunTail: it returns kExitOk after writing what it received.
  void Stop();
  bool stopped();
  // For RunTail: the stream being read, so that Stop() can cancel it; null between streams.
  // Returns false (and attaches nothing) once stopped.
  bool Attach(kubetrail::FollowStream* stream);

 private:
  absl::Mutex mu_;
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
  kubetrail::FollowStream* stream_ ABSL_GUARDED_BY(mu_) = nullptr;
};

// `kubetrail tail`: the matching events as the aggregator stores them, in ingest order, until
// control->Stop() (exit 0). When the aggregator goes away (UNAVAILABLE) the tail says so once
// on `err` and resumes after the last event it saw when it is back, so nothing is missed or
// repeated; any other error ends it (exit 1, or 2 for INVALID_ARGUMENT).
int RunTail(const TailOptions& options, const kubetrail::Client& client, TailControl* control,
            std::ostream& out, std::ostream& err);

struct ExportOptions {
  kubetrail::v1::Filter filter;
  // Where to write: a file (with a checkpoint beside it, `PATH.checkpoint`) or, when empty,
  // standard output (`out`).
  std::string output_path;
  // Continue an interrupted export into output_path from its checkpoint: the filter is the
  // checkpoint's (filter is then ignored), the file is cut back to the last checkpointed
  // event and the export goes on after it.
  bool resume = false;
  // Continue after this cursor (printed when an export to standard output was interrupted);
  // the filter must be the same (absolute times).
  std::string cursor;
  // Events per page (Search call), 1-100000. Default: 5000.
  int page_size = 5000;
  // Progress lines on `err` at most this often; zero: none. Default: 5 s.
  absl::Duration progress_every = absl::Seconds(5);
};

// `kubetrail export`: every matching event, oldest first, as audit.k8s.io/v1 JSON lines
// exactly as kube-apiserver writes them, page by page from one snapshot of the store. With a
// file, after each page the file is synced and the checkpoint (cursor, bytes, events, filter)
// replaced atomically; a finished export removes its checkpoint. Progress on `err`:
// `kubetrail export: N of M events (P%), X MiB` and a last summary line. When interrupted
// (an error), says how to resume. Exit codes as for query.
int RunExport(const ExportOptions& options, const kubetrail::Client& client, std::ostream& out,
              std::ostream& err);

}  // namespace kubetrail::cli

#endif  // KUBETRAIL_CLIENTS_CLI_EVENTS_H_
