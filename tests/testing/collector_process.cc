#include "tests/testing/collector_process.h"

#include <algorithm>
#include <fstream>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "tests/testing/paths.h"
#include "tests/testing/subprocess.h"

namespace kubetrail::testing {

RunningCollector StartCollector(std::vector<std::string> args,
                                const BackgroundProcessOptions& options) {
  std::vector<std::string> argv = {BinDir() + "/kubetrail-collector"};
  argv.insert(argv.end(), args.begin(), args.end());
  RunningCollector r;
  auto process = BackgroundProcess::Start(argv, options);
  EXPECT_TRUE(process.ok()) << process.status();
  if (!process.ok()) return r;
  r.process = std::move(*process);
  absl::StatusOr<std::string> line = r.process->WaitForLine("running cluster=", absl::Seconds(60));
  EXPECT_TRUE(line.ok()) << line.status();
  if (!line.ok()) return r;
  // "kubetrail-collector: running cluster=... webhook=http://127.0.0.1:PORT/audit/webhook
  // http=127.0.0.1:PORT tail=N aggregators=..."
  for (absl::string_view word : absl::StrSplit(*line, ' ')) {
    if (absl::ConsumePrefix(&word, "webhook=")) {
      r.webhook_url = std::string(word);
      absl::string_view rest = word.substr(word.find("://") + 3);
      rest = rest.substr(0, rest.find('/'));
      EXPECT_TRUE(absl::SimpleAtoi(rest.substr(rest.rfind(':') + 1), &r.webhook_port));
    } else if (absl::ConsumePrefix(&word, "http=")) {
      EXPECT_TRUE(absl::SimpleAtoi(word.substr(word.rfind(':') + 1), &r.http_port));
    }
  }
  return r;
}

std::set<std::string> ExpectedIds(const std::string& file) {
  std::set<std::string> ids;
  std::ifstream in(file);
  std::string line;
  while (std::getline(in, line)) {
    auto field = [&](const std::string& key) {
      const size_t at = line.find("\"" + key + "\":\"");
      if (at == std::string::npos) return std::string();
      const size_t begin = at + key.size() + 4;
      return line.substr(begin, line.find('"', begin) - begin);
    };
    ids.insert(field("auditID") + "/" + field("stage"));
  }
  return ids;
}

std::set<std::string> Generate(const std::string& path, int count, int seed) {
  auto r = RunSubprocess({BinDir() + "/kubetrail-loadgen", "--count", std::to_string(count),
                          "--seed", std::to_string(seed), "--output", path});
  EXPECT_TRUE(r.ok() && r->exit_code == 0) << (r.ok() ? r->stderr_data : r.status().ToString());
  return ExpectedIds(path);
}

std::set<std::string> AwaitStored(const RunningAggregator& agg, size_t want) {
  std::set<std::string> ids;
  for (int i = 0; i < 900; ++i) {
    ids = StoredIds(agg.channel);
    if (ids.size() >= want) break;
    absl::SleepFor(absl::Milliseconds(100));
  }
  return ids;
}

std::string Metrics(int port) {
  httplib::Client http("127.0.0.1", port);
  auto res = http.Get("/metrics");
  return res ? res->body : std::string();
}

double Sample(const std::string& exposition, const std::string& series) {
  for (absl::string_view line : absl::StrSplit(exposition, '\n')) {
    if (absl::ConsumePrefix(&line, series) && absl::ConsumePrefix(&line, " ")) {
      double v = 0;
      if (absl::SimpleAtod(line, &v)) return v;
    }
  }
  return -1;
}

std::vector<std::string> CollectorDevArgs(const std::vector<std::string>& aggregators,
                                          const std::string& spool) {
  std::vector<std::string> args = {"--dev", "--cluster", "prod", "--source", "apiserver-1"};
  for (const std::string& aggregator : aggregators) {
    args.push_back("--aggregator");
    args.push_back(aggregator);
  }
  return With(std::move(args), {"--spool-dir", spool, "--http-listen", "127.0.0.1:0",
                                "--batch-wait", "100ms", "--drain-timeout", "20s"});
}

std::vector<std::string> CollectorDevArgs(const RunningAggregator& agg, const std::string& spool) {
  return CollectorDevArgs({absl::StrCat("127.0.0.1:", agg.port)}, spool);
}

std::vector<std::string> With(std::vector<std::string> args, std::vector<std::string> more) {
  args.insert(args.end(), more.begin(), more.end());
  return args;
}

std::vector<std::string> SetFlag(std::vector<std::string> args, const std::string& flag,
                                 const std::string& value) {
  auto it = std::find(args.begin(), args.end(), flag);
  if (it == args.end()) return With(std::move(args), {flag, value});
  if (it + 1 == args.end()) {
    args.push_back(value);
  } else {
    *(it + 1) = value;
  }
  return args;
}

}  // namespace kubetrail::testing
