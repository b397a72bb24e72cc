#include "common/spawn.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <string_view>

extern char** environ;

namespace kubetrail {
namespace {

// The parent's environment with `extra` ("NAME=value") added, replacing same-named entries.
std::vector<std::string> ChildEnvironment(const std::vector<std::string>& extra) {
  auto name_of = [](std::string_view entry) { return entry.substr(0, entry.find('=')); };
  std::vector<std::string> env;
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    const std::string_view name = name_of(*entry);
    const bool replaced = std::any_of(extra.begin(), extra.end(),
                                      [&](const std::string& e) { return name_of(e) == name; });
    if (!replaced) env.emplace_back(*entry);
  }
  env.insert(env.end(), extra.begin(), extra.end());
  return env;
}

// NULL-terminated pointers into `strings`, which must outlive the result.
std::vector<char*> CStrings(std::vector<std::string>& strings) {
  std::vector<char*> pointers;
  pointers.reserve(strings.size() + 1);
  for (std::string& s : strings) pointers.push_back(s.data());
  pointers.push_back(nullptr);
  return pointers;
}

}  // namespace

int Spawn(const std::vector<std::string>& argv, const std::vector<std::string>& env_additions,
          const posix_spawn_file_actions_t& actions, pid_t* pid) {
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t default_signals;
  sigemptyset(&default_signals);
  sigaddset(&default_signals, SIGPIPE);
  posix_spawnattr_setsigdefault(&attr, &default_signals);
  sigset_t no_signals;
  sigemptyset(&no_signals);
  posix_spawnattr_setsigmask(&attr, &no_signals);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);

  std::vector<std::string> args = argv;
  std::vector<std::string> env = ChildEnvironment(env_additions);
  std::vector<char*> c_args = CStrings(args);
  std::vector<char*> c_env = CStrings(env);
  const int error = posix_spawn(pid, argv[0].c_str(), &actions, &attr, c_args.data(), c_env.data());
  posix_spawnattr_destroy(&attr);
  return error;
}

}  // namespace kubetrail
