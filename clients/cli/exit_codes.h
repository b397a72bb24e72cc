// The exit codes every kubetrail verb uses, so scripts can tell "bad input or I/O" from
// "bad command line". Frozen: scripts depend on them.
#ifndef KUBETRAIL_CLIENTS_CLI_EXIT_CODES_H_
#define KUBETRAIL_CLIENTS_CLI_EXIT_CODES_H_

namespace kubetrail::cli {

// The verb did what was asked (with --skip-invalid: possibly skipping bad events).
inline constexpr int kExitOk = 0;
// The verb failed: invalid input, an unreadable file, an unwritable output, a server error.
inline constexpr int kExitFailure = 1;
// The command line was wrong (unknown verb or flag, bad flag value); nothing was done.
inline constexpr int kExitUsage = 2;

}  // namespace kubetrail::cli

#endif  // KUBETRAIL_CLIENTS_CLI_EXIT_CODES_H_
