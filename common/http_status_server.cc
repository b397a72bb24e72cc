#include "common/http_status_server.h"

#include <string>
#include <utility>

#include "common/httplib_runner.h"

namespace kubetrail {
namespace {

constexpr char kMetricsContentType[] = "text/plain; version=0.0.4; charset=utf-8";
constexpr char kTextContentType[] = "text/plain; charset=utf-8";
// Request threads: scrapes and probes are rare and cheap.
constexpr size_t kRequestThreads = 2;
// An idle keep-alive connection holds a request thread this long, and so bounds how long
// Stop() waits for one.
constexpr time_t kKeepAliveTimeoutSeconds = 1;

}  // namespace

class HttpStatusServer::Impl {
 public:
  explicit Impl(Options options) : options_(std::move(options)) {
    server_.set_keep_alive_timeout(kKeepAliveTimeoutSeconds);
    server_.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
      res.set_content(options_.registry != nullptr ? options_.registry->Expose() : std::string(),
                      kMetricsContentType);
    });
    server_.Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
      res.set_content("ok", kTextContentType);
    });
    server_.Get("/readyz", [this](const httplib::Request&, httplib::Response& res) {
      const absl::Status ready = options_.readiness ? options_.readiness() : absl::OkStatus();
      if (ready.ok()) {
        res.set_content("ready", kTextContentType);
        return;
      }
      res.status = 503;
      res.set_content(ready.message().empty() ? ready.ToString() : std::string(ready.message()),
                      kTextContentType);
    });
  }

  ~Impl() { Stop(); }

  // Binds and serves; returns the bound port.
  absl::StatusOr<int> Start() {
    return runner_.Start(server_, options_.listen, kRequestThreads);
  }

  void Stop() { runner_.Stop(); }

 private:
  // Constant after construction.
  const Options options_;

  // Internally synchronised; configured before the runner starts it.
  httplib::Server server_;
  HttplibRunner runner_;
};

absl::StatusOr<std::unique_ptr<HttpStatusServer>> HttpStatusServer::Start(Options options) {
  auto impl = std::make_unique<Impl>(std::move(options));
  absl::StatusOr<int> port = impl->Start();
  if (!port.ok()) return port.status();
  return std::unique_ptr<HttpStatusServer>(new HttpStatusServer(std::move(impl), *port));
}

HttpStatusServer::HttpStatusServer(std::unique_ptr<Impl> impl, int port)
    : impl_(std::move(impl)), port_(port) {}

HttpStatusServer::~HttpStatusServer() { Stop(); }

void HttpStatusServer::Stop() { impl_->Stop(); }

}  // namespace kubetrail
