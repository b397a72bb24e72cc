// The names that identify where events come from: a cluster (bound to a collector's
// certificate) and a source (one apiserver / collector). Checked by the collector before it
// connects and by the aggregator in every hello.
#ifndef KUBETRAIL_COMMON_NAMES_H_
#define KUBETRAIL_COMMON_NAMES_H_

#include <string_view>

#include "absl/status/status.h"

namespace kubetrail {

// A cluster name: 1-253 characters of [A-Za-z0-9._-]. InvalidArgument naming `field`
// otherwise, e.g. `cluster "prod eu" has a character outside [A-Za-z0-9._-]`.
absl::Status CheckClusterName(std::string_view field, std::string_view value);
// A source name: 1-253 characters of [A-Za-z0-9._:-] (a host name, or host:port).
absl::Status CheckSourceName(std::string_view field, std::string_view value);

}  // namespace kubetrail

#endif  // KUBETRAIL_COMMON_NAMES_H_
