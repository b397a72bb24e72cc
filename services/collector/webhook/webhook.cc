#include "services/collector/webhook/webhook.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string_view>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "audit/codec.h"
#include "audit/event_batch.h"
#include "common/httplib_runner.h"
#include "common/status_macros.h"
#include "common/strings.h"

namespace kubetrail::collector {
namespace {

constexpr char kTextType[] = "text/plain; charset=utf-8";
constexpr char kJsonType[] = "application/json";
// At most this many decode errors are quoted in a 400 body.
constexpr size_t kQuotedErrors = 5;
// A server thread keeps its body buffer up to this size between requests.
constexpr size_t kKeptBodyBytes = size_t{8} << 20;

// The status code a sink's error becomes.
int HttpCodeOf(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kOk:
      return 200;
    case absl::StatusCode::kResourceExhausted:
    case absl::StatusCode::kUnavailable:
      return 503;
    case absl::StatusCode::kInvalidArgument:
      return 400;
    default:
      return 500;
  }
}

absl::Status CheckReadable(const std::string& path, std::string_view what) {
  if (path.empty()) return absl::InvalidArgumentError(Cat("webhook: ", what, " is required"));
  if (::access(path.c_str(), R_OK) != 0) {
    return absl::InvalidArgumentError(
        Cat("webhook: cannot read ", what, " \"", path, "\": ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

}  // namespace

class WebhookServer::Impl {
 public:
  Impl(WebhookConfig config, WebhookSink sink, Registry* registry, Clock& clock)
      : config_(std::move(config)), sink_(std::move(sink)), clock_(clock) {
    if (registry != nullptr) {
      requests_ =
          &registry->AddCounter("kubetrail_collector_webhook_requests_total",
                                "Webhook requests answered, by HTTP status code.", {"code"});
      duration_ = &registry
                       ->AddHistogram("kubetrail_collector_webhook_request_duration_seconds",
                                      "Time from a webhook request's headers to its reply "
                                      "(reading, decoding and spooling the body).",
                                      ExponentialBuckets(0.0005, 2, 16))
                       .WithLabels();
    }
  }

  ~Impl() { Stop(); }

  absl::StatusOr<int> Start() {
    if (config_.path.empty() || config_.path.front() != '/') {
      return absl::InvalidArgumentError(
          Cat("webhook: path \"", config_.path, "\" must start with \"/\""));
    }
    if (config_.max_body_bytes == 0 || config_.max_event_bytes == 0 || config_.threads == 0) {
      return absl::InvalidArgumentError(
          "webhook: max_body_bytes, max_event_bytes and threads must be > 0");
    }
    if (config_.plaintext) {
      server_ = std::make_unique<httplib::Server>();
    } else {
      KT_RETURN_IF_ERROR(CheckReadable(config_.tls_cert_file, "TLS certificate file"));
      KT_RETURN_IF_ERROR(CheckReadable(config_.tls_key_file, "TLS key file"));
      if (!config_.client_ca_file.empty()) {
        KT_RETURN_IF_ERROR(CheckReadable(config_.client_ca_file, "client CA file"));
      }
      auto tls = std::make_unique<httplib::SSLServer>(
          config_.tls_cert_file.c_str(), config_.tls_key_file.c_str(),
          config_.client_ca_file.empty() ? nullptr : config_.client_ca_file.c_str());
      if (!tls->is_valid()) {
        return absl::InvalidArgumentError(Cat(
            "webhook: cannot use TLS certificate \"", config_.tls_cert_file, "\" with key \"",
            config_.tls_key_file, "\"",
            config_.client_ca_file.empty() ? std::string()
                                           : Cat(" and client CA \"", config_.client_ca_file, "\""),
            ": not PEM, or the key does not match the certificate"));
      }
      server_ = std::move(tls);
    }
    server_->set_payload_max_length(config_.max_body_bytes);
    // The apiserver's client gives up after 30 s per call.
    server_->set_read_timeout(30, 0);
    server_->set_write_timeout(30, 0);
    server_->Post(config_.path, [this](const httplib::Request& req, httplib::Response& res,
                                       const httplib::ContentReader& reader) {
      const absl::Time start = clock_.Now();
      Handle(req, res, reader);
      Observe(res.status, start);
    });
    auto not_allowed = [this](const httplib::Request&, httplib::Response& res) {
      res.status = 405;
      res.set_header("Allow", "POST");
      res.set_content("only POST is accepted here\n", kTextType);
      Observe(res.status, clock_.Now());
    };
    server_->Get(config_.path, not_allowed);
    server_->Put(config_.path, not_allowed);
    server_->Delete(config_.path, not_allowed);
    return runner_.Start(*server_, config_.listen, config_.threads);
  }

  void Stop() { runner_.Stop(); }

 private:
  void Observe(int code, absl::Time start) {
    if (requests_ == nullptr) return;
    requests_->WithLabels({std::to_string(code)}).Increment();
    duration_->Observe(absl::ToDoubleSeconds(clock_.Now() - start));
  }

  void Reply(httplib::Response& res, int code, std::string text) {
    res.status = code;
    if (code == 503) {
      res.set_header("Retry-After", std::to_string(std::max<int64_t>(
                                        1, absl::ToInt64Seconds(config_.retry_after))));
    }
    if (!text.empty() && text.back() != '\n') text.push_back('\n');
    res.set_content(text, kTextType);
  }

  void Handle(const httplib::Request& req, httplib::Response& res,
              const httplib::ContentReader& reader) {
    // One body buffer per server thread, reused: fresh memory for every body (400 events are
    // about 1.2 MB) would be faulted in again each time. One that grew large is let go after.
    thread_local std::string body;
    struct Release {
      ~Release() {
        if (body.capacity() > kKeptBodyBytes) std::string().swap(body);
      }
    } release;
    body.clear();
    // One allocation for the whole body when its length is known (plus the parser's padding).
    const uint64_t length = req.get_header_value<uint64_t>("Content-Length");
    if (length > 0 && length <= config_.max_body_bytes && !req.has_header("Content-Encoding")) {
      body.reserve(length + audit::kReadPadding);
    }
    bool too_big = false;
    const bool read = reader([&](const char* data, size_t n) {
      if (body.size() + n > config_.max_body_bytes) {
        too_big = true;
        return false;
      }
      body.append(data, n);
      return true;
    });
    if (too_big || res.status == 413) {
      Reply(res, 413,
            Cat("request body is larger than ", config_.max_body_bytes, " bytes",
                req.has_header("Content-Encoding") ? " (after decompression)" : ""));
      return;
    }
    if (!read) {
      // httplib has set the status for what it detected (415 unsupported encoding, 400 bad
      // framing); otherwise the connection broke mid-body.
      if (res.status < 400) res.status = 400;
      Reply(res, res.status, "cannot read the request body");
      return;
    }

    // Nothing to decode is a broken request, not an empty batch: the apiserver never posts
    // one, so answering 200 would hide a misconfigured client. (An EventList with no items
    // is a batch, and stays 200.)
    if (body.find_first_not_of(" \t\r\n") == std::string::npos) {
      Reply(res, 400, "empty body: expected an audit.k8s.io EventList or Event");
      return;
    }

    WebhookRequest request;
    request.peer = Cat(req.remote_addr, ":", req.remote_port);
    std::unique_ptr<Decoder> decoder = TakeDecoder();
    audit::EventBatch& batch = decoder->batch;
    audit::ReserveReadPadding(body);
    decoder->reader.Reset(body, body.capacity() - body.size());
    while (true) {
      absl::StatusOr<bool> more = batch.ReadNext(decoder->reader);
      if (!more.ok()) {
        request.errors.emplace_back(more.status().message());
        continue;
      }
      if (!*more) break;
    }
    request.events = batch.events();
    // The decoder (and so the events) goes back to the pool when this returns.
    struct Return {
      Impl* impl;
      std::unique_ptr<Decoder>& decoder;
      ~Return() { impl->ReturnDecoder(std::move(decoder)); }
    } give_back{this, decoder};
    if (request.events.empty() && !request.errors.empty()) {
      std::string text = "no event in the body could be decoded:";
      for (size_t i = 0; i < request.errors.size() && i < kQuotedErrors; ++i) {
        absl::StrAppend(&text, "\n", request.errors[i]);
      }
      if (request.errors.size() > kQuotedErrors) {
        absl::StrAppend(&text, "\n(", request.errors.size() - kQuotedErrors, " more)");
      }
      Reply(res, 400, std::move(text));
      // The sink still hears of them, to count them.
      sink_(request).IgnoreError();
      return;
    }
    const size_t accepted = request.events.size();
    const size_t rejected = request.errors.size();
    const absl::Status status = sink_(request);
    if (!status.ok()) {
      Reply(res, HttpCodeOf(status), std::string(status.message()));
      return;
    }
    res.status = 200;
    res.set_content(Cat("{\"accepted\":", accepted, ",\"rejected\":", rejected, "}\n"), kJsonType);
  }

  // A reader and the arena it decodes into, kept between bodies with their parsers and
  // buffers.
  struct Decoder {
    explicit Decoder(const audit::DecodeOptions& options) : reader(std::string_view(), options) {}
    audit::EventReader reader;
    audit::EventBatch batch;
  };
  std::unique_ptr<Decoder> TakeDecoder() {
    {
      absl::MutexLock lock(&decoders_mu_);
      if (!decoders_.empty()) {
        std::unique_ptr<Decoder> decoder = std::move(decoders_.back());
        decoders_.pop_back();
        return decoder;
      }
    }
    audit::DecodeOptions options;
    options.max_event_bytes = config_.max_event_bytes;
    return std::make_unique<Decoder>(options);
  }
  void ReturnDecoder(std::unique_ptr<Decoder> decoder) {
    decoder->batch.Clear();
    absl::MutexLock lock(&decoders_mu_);
    decoders_.push_back(std::move(decoder));
  }

  const WebhookConfig config_;
  const WebhookSink sink_;
  Clock& clock_;
  Family<Counter>* requests_ = nullptr;
  Histogram* duration_ = nullptr;
  std::unique_ptr<httplib::Server> server_;
  HttplibRunner runner_;

  absl::Mutex decoders_mu_;
  std::vector<std::unique_ptr<Decoder>> decoders_ ABSL_GUARDED_BY(decoders_mu_);
};

absl::StatusOr<std::unique_ptr<WebhookServer>> WebhookServer::Start(WebhookConfig config,
                                                                    WebhookSink sink,
                                                                    Registry* registry,
                                                                    Clock& clock) {
  if (!sink) return absl::InvalidArgumentError("webhook: a sink is required");
  auto impl = std::make_unique<Impl>(std::move(config), std::move(sink), registry, clock);
  KT_ASSIGN_OR_RETURN(const int port, impl->Start());
  auto server = std::unique_ptr<WebhookServer>(new WebhookServer(std::move(impl)));
  server->port_ = port;
  return server;
}

WebhookServer::WebhookServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
WebhookServer::~WebhookServer() { Stop(); }
int WebhookServer::port() const { return port_; }
void WebhookServer::Stop() { impl_->Stop(); }

}  // namespace kubetrail::collector
