// kubetrail-client-example — a small program on the kubetrail C++ client library: who did
// one verb (by default: delete) in the last hours, and who did it most.
//
//   kubetrail-client-example --dev --server 127.0.0.1:7443 --since 24h --verb delete
//   (and --cluster NAME to look at one cluster)
//
// Prints one line per matching event (time, cluster, user, verb, resource, namespace/name,
// code), oldest first, then `N events` and the top users as `user count` lines. Exit 0 on
// success, 1 when a call fails (one line on stderr), 2 for a bad argument.
//
// Built in-tree (build/bin) and, by the package test, as a separate project against an
// installed kubetrail (`find_package(kubetrail)`): see CMakeLists.txt beside this file.
#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "kubetrail/client.h"
#include "kubetrail/filter.h"

namespace {

int Usage(std::string_view message) {
  std::cerr << "kubetrail-client-example: " << message << "\n"
            << "usage: kubetrail-client-example [--dev] [--server HOST:PORT] [--ca FILE] "
               "[--token TOKEN] [--since DURATION] [--verb VERB] [--cluster NAME]\n";
  return 2;
}

int Fail(const kubetrail::ClientOptions& options, const absl::Status& status) {
  std::cerr << "kubetrail-client-example: " << options.server << ": " << status << "\n";
  return 1;
}

// "2026-11-27T10:00:00Z": the event's time to the second.
std::string FormatTime(int64_t micros) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", absl::FromUnixMicros(micros),
                          absl::UTCTimeZone());
}

}  // namespace

int main(int argc, char** argv) {
  kubetrail::ClientOptions options;
  kubetrail::FilterFlags flags;
  flags.since = "24h";
  std::string verb = "delete";
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    const bool has_value = i + 1 < argc;
    if (arg == "--dev") {
      options.plaintext = true;
    } else if (arg == "--server" && has_value) {
      options.server = argv[++i];
    } else if (arg == "--ca" && has_value) {
      options.ca_file = argv[++i];
    } else if (arg == "--token" && has_value) {
      options.token = argv[++i];
    } else if (arg == "--since" && has_value) {
      flags.since = argv[++i];
    } else if (arg == "--verb" && has_value) {
      verb = argv[++i];
    } else if (arg == "--cluster" && has_value) {
      flags.clusters.push_back(argv[++i]);
    } else {
      return Usage("unknown or incomplete argument " + std::string(arg));
    }
  }
  flags.verbs = {verb};
  absl::StatusOr<kubetrail::v1::Filter> filter = kubetrail::BuildFilter(flags, absl::Now());
  if (!filter.ok()) return Usage(std::string(filter.status().message()));
  absl::StatusOr<kubetrail::Client> client = kubetrail::Client::Connect(options);
  if (!client.ok()) return Fail(options, client.status());

  // Every matching event, fetched in pages of 1000 behind the iterator.
  kubetrail::SearchIterator it = client->Search(*filter);
  while (it.Next()) {
    const kubetrail::v1::StoredEvent& stored = it.event();
    const kubetrail::v1::Event& event = stored.event().event();
    const kubetrail::v1::ObjectReference& ref = event.object_ref();
    std::cout << FormatTime(stored.time_us()) << " " << stored.event().envelope().cluster()
              << " " << event.user().username() << " " << event.verb() << " " << ref.resource()
              << (ref.subresource().empty() ? "" : "/") << ref.subresource() << " "
              << (ref.namespace_().empty() ? "" : ref.namespace_() + "/") << ref.name() << " "
              << (event.response_status().has_code()
                      ? std::to_string(event.response_status().code())
                      : "-")
              << "\n";
  }
  if (!it.status().ok()) return Fail(options, it.status());
  std::cout << it.returned() << " events\n";

  absl::StatusOr<std::vector<kubetrail::v1::KeyCount>> top =
      client->Top(*filter, kubetrail::v1::DIMENSION_USER, 5);
  if (!top.ok()) return Fail(options, top.status());
  for (const kubetrail::v1::KeyCount& entry : *top) {
    std::cout << entry.key() << " " << entry.count() << "\n";
  }
  return 0;
}
