// Starting a child process for the fixtures (RunSubprocess, BackgroundProcess): one place
// for the environment, the argument arrays and the signal state the child starts with.
// Internal to kubetrail::testing.
#ifndef KUBETRAIL_TESTS_TESTING_SPAWN_H_
#define KUBETRAIL_TESTS_TESTING_SPAWN_H_

#include <spawn.h>
#include <sys/types.h>

#include <string>
#include <vector>

namespace kubetrail::testing::internal {

// posix_spawn of argv[0] (a path) with `actions` (the caller's stdio plumbing), the parent's
// environment plus `env_additions` ("NAME=value", replacing same-named entries), SIGPIPE at
// its default action and no signal blocked, whatever the test process did to its own.
// Returns 0 and sets `*pid`, or posix_spawn's error number.
int Spawn(const std::vector<std::string>& argv, const std::vector<std::string>& env_additions,
          const posix_spawn_file_actions_t& actions, pid_t* pid);

}  // namespace kubetrail::testing::internal

#endif  // KUBETRAIL_TESTS_TESTING_SPAWN_H_
