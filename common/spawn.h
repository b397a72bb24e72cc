// Starting a child process: one place for the environment, the argument arrays and the signal
// state the child starts with. Used by the test fixtures (RunSubprocess, BackgroundProcess)
// and by `kubetrail-bench collector`, which runs the real daemons.
#ifndef KUBETRAIL_COMMON_SPAWN_H_
#define KUBETRAIL_COMMON_SPAWN_H_

#include <spawn.h>
#include <sys/types.h>

#include <string>
#include <vector>

namespace kubetrail {

// posix_spawn of argv[0] (a path) with `actions` (the caller's stdio plumbing), the parent's
// environment plus `env_additions` ("NAME=value", replacing same-named entries), SIGPIPE at
// its default action and no signal blocked, whatever the calling process did to its own.
// Returns 0 and sets `*pid`, or posix_spawn's error number.
int Spawn(const std::vector<std::string>& argv, const std::vector<std::string>& env_additions,
          const posix_spawn_file_actions_t& actions, pid_t* pid);

}  // namespace kubetrail

#endif  // KUBETRAIL_COMMON_SPAWN_H_
