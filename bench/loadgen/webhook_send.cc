#include "bench/loadgen/webhook_send.h"

#include <zlib.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <map>
#include <memory>
#include <string_view>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/synchronization/mutex.h"
#include "audit/codec.h"
#include "common/strings.h"
#include "httplib.h"

namespace kubetrail::loadgen {
namespace {

using SteadyClock = std::chrono::steady_clock;

struct Target {
  bool tls = false;
  std::string host;
  int port = 0;
  std::string path;
};

absl::StatusOr<Target> ParseUrl(std::string_view url) {
  Target t;
  std::string_view rest;
  if (url.substr(0, 7) == "http://") {
    rest = url.substr(7);
  } else if (url.substr(0, 8) == "https://") {
    rest = url.substr(8);
    t.tls = true;
  } else {
    return absl::InvalidArgumentError(Cat("want http(s)://HOST:PORT/PATH, got \"", url, "\""));
  }
  const size_t slash = rest.find('/');
  const std::string_view authority = rest.substr(0, slash);
  t.path = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
  const size_t colon = authority.rfind(':');
  int port = 0;
  if (colon == std::string_view::npos || colon == 0 ||
      !absl::SimpleAtoi(ToAbsl(authority.substr(colon + 1)), &port) || port <= 0 || port > 65535) {
    return absl::InvalidArgumentError(Cat("want HOST:PORT in \"", url, "\""));
  }
  t.host = std::string(authority.substr(0, colon));
  if (t.host.size() > 2 && t.host.front() == '[') t.host = t.host.substr(1, t.host.size() - 2);
  t.port = port;
  return t;
}

std::string Gzip(const std::string& data) {
  z_stream zs = {};
  deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
  std::string out(deflateBound(&zs, data.size()) + 64, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  deflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

// Replies no retry can cure.
bool Permanent(int code) {
  return code == 400 || code == 404 || code == 405 || code == 413 || code == 415;
}

struct Body {
  std::string data;
  size_t events = 0;
};

std::unique_ptr<httplib::Client> MakeClient(const Target& t, const WebhookSendOptions& o) {
  const std::string base =
      Cat(t.tls ? "https://" : "http://",
          t.host.find(':') != std::string::npos ? Cat("[", t.host, "]") : t.host, ":", t.port);
  std::unique_ptr<httplib::Client> client =
      o.cert_file.empty() ? std::make_unique<httplib::Client>(base)
                          : std::make_unique<httplib::Client>(base, o.cert_file, o.key_file);
  client->set_keep_alive(true);
  client->set_connection_timeout(5, 0);
  client->set_read_timeout(30, 0);
  client->set_write_timeout(30, 0);
  if (t.tls) {
    if (o.ca_file.empty()) {
      client->enable_server_certificate_verification(false);
    } else {
      client->set_ca_cert_path(o.ca_file.c_str());
      client->enable_server_certificate_verification(true);
    }
  }
  return client;
}

}  // namespace

WebhookSendResult SendWebhook(const WebhookSendOptions& options,
                              const std::vector<kubetrail::v1::Event>& events) {
  WebhookSendResult result;
  result.events = events.size();
  result.connections = std::max(1, options.connections);
  absl::StatusOr<Target> target = ParseUrl(options.url);
  if (!target.ok()) {
    result.status = target.status();
    return result;
  }
  std::vector<Body> bodies;
  const size_t per = std::max<size_t>(1, options.batch_events);
  for (size_t i = 0; i < events.size(); i += per) {
    std::vector<const kubetrail::v1::Event*> items;
    for (size_t j = i; j < std::min(events.size(), i + per); ++j) items.push_back(&events[j]);
    Body& body = bodies.emplace_back();
    audit::AppendEventListJson(items, &body.data);
    if (options.gzip) body.data = Gzip(body.data);
    body.events = items.size();
  }
  result.posts = bodies.size();

  absl::Mutex mu;
  std::map<int, uint64_t> codes;
  std::vector<double> latencies_ms;
  std::atomic<uint64_t> attempts{0}, accepted{0}, failed{0};
  absl::Status first_error;
  const SteadyClock::time_point start = SteadyClock::now();
  const SteadyClock::time_point deadline = options.timeout == absl::InfiniteDuration()
                                               ? SteadyClock::time_point::max()
                                               : start + absl::ToChronoNanoseconds(options.timeout);
  // Rate: batch k (over all connections) starts no earlier than its share of the time.
  std::atomic<uint64_t> next_slot{0};
  std::vector<std::thread> workers;
  for (int c = 0; c < result.connections; ++c) {
    workers.emplace_back([&, c] {
      std::unique_ptr<httplib::Client> client = MakeClient(*target, options);
      httplib::Headers headers;
      if (options.gzip) headers.emplace("Content-Encoding", "gzip");
      for (size_t b = static_cast<size_t>(c); b < bodies.size();
           b += static_cast<size_t>(result.connections)) {
        if (options.rate > 0) {
          const uint64_t slot = next_slot.fetch_add(bodies[b].events);
          const auto due = start + std::chrono::nanoseconds(static_cast<int64_t>(
                                       static_cast<double>(slot) / options.rate * 1e9));
          std::this_thread::sleep_until(due);
        }
        absl::Duration delay = options.retry_initial;
        while (true) {
          const SteadyClock::time_point sent = SteadyClock::now();
          httplib::Result res =
              client->Post(target->path, headers, bodies[b].data, "application/json");
          attempts.fetch_add(1);
          const int code = res ? res->status : 0;
          {
            absl::MutexLock lock(&mu);
            ++codes[code];
            if (code >= 200 && code < 300) {
              latencies_ms.push_back(
                  std::chrono::duration<double, std::milli>(SteadyClock::now() - sent).count());
            }
          }
          if (code >= 200 && code < 300) {
            accepted.fetch_add(bodies[b].events);
            break;
          }
          const std::string why =
              res ? Cat("HTTP ", code, ": ", res->body) : Cat(httplib::to_string(res.error()));
          if (Permanent(code) || SteadyClock::now() + absl::ToChronoNanoseconds(delay) > deadline) {
            failed.fetch_add(bodies[b].events);
            absl::MutexLock lock(&mu);
            if (first_error.ok()) {
              first_error = absl::UnavailableError(Cat("batch ", b, " not accepted: ", why));
            }
            break;
          }
          std::this_thread::sleep_for(absl::ToChronoNanoseconds(delay));
          delay = std::min(delay * 2, options.retry_max);
          if (!res) client = MakeClient(*target, options);  // a fresh connection
        }
      }
    });
  }
  for (std::thread& w : workers) w.join();
  result.elapsed = absl::FromChrono(SteadyClock::now() - start);
  result.attempts = attempts.load();
  result.accepted = accepted.load();
  result.failed = failed.load();
  result.codes.assign(codes.begin(), codes.end());
  std::sort(latencies_ms.begin(), latencies_ms.end());
  auto pct = [&](double p) {
    if (latencies_ms.empty()) return 0.0;
    const size_t i = std::min(latencies_ms.size() - 1,
                              static_cast<size_t>(p * static_cast<double>(latencies_ms.size())));
    return latencies_ms[i];
  };
  result.p50_ms = pct(0.50);
  result.p99_ms = pct(0.99);
  result.status = first_error;
  return result;
}

std::string FormatWebhookSummaryJson(const WebhookSendResult& r) {
  const double seconds = absl::ToDoubleSeconds(r.elapsed);
  const double rate = seconds > 0 ? static_cast<double>(r.accepted) / seconds : 0;
  char numbers[160];
  std::snprintf(numbers, sizeof(numbers),
                "\"events_per_s\":%.1f,\"seconds\":%.3f,\"p50_ms\":%.3f,\"p99_ms\":%.3f", rate,
                seconds, r.p50_ms, r.p99_ms);
  std::string codes;
  for (const auto& [code, n] : r.codes) {
    if (!codes.empty()) codes += ",";
    codes += Cat("\"", code, "\":", n);
  }
  return Cat("{\"events\":", r.events, ",\"posts\":", r.posts, ",\"attempts\":", r.attempts,
             ",\"accepted\":", r.accepted, ",\"failed\":", r.failed, ",", numbers,
             ",\"connections\":", r.connections, ",\"codes\":{", codes, "}}");
}

}  // namespace kubetrail::loadgen
