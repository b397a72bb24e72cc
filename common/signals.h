// Signals of a long-lived kubetrail daemon (kubetrail-aggregator, kubetrail-collector): SIGHUP
// reloads, SIGTERM and SIGINT shut down, taken synchronously by the main thread with sigwait,
// so that nothing runs in a signal handler.
//
//   int main(...) {
//     ... parse flags ...
//     BlockDaemonSignals();            // before any thread starts
//     ... start the daemon, print the ready line ...
//     const std::string_view why = WaitForShutdownSignal([&] { daemon->Reload(...); });
//     ... shut down ...
//   }
#ifndef KUBETRAIL_COMMON_SIGNALS_H_
#define KUBETRAIL_COMMON_SIGNALS_H_

#include <functional>
#include <string_view>

namespace kubetrail {

// Blocks SIGHUP, SIGTERM and SIGINT in the calling thread, and so in every thread it starts
// afterwards, and ignores SIGPIPE (a peer that hangs up mid-write — TLS writes raise it — gives
// EPIPE instead of killing the process). Call it from main before any thread starts.
void BlockDaemonSignals();

// Waits for the blocked signals on the calling thread: each SIGHUP runs `on_reload` (on this
// thread); SIGTERM or SIGINT returns "SIGTERM" / "SIGINT".
std::string_view WaitForShutdownSignal(const std::function<void()>& on_reload);

}  // namespace kubetrail

#endif  // KUBETRAIL_COMMON_SIGNALS_H_
