#include "bench/loadgen/generator.h"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "bench/loadgen/format.h"
#include "bench/loadgen/json_writer.h"
#include "bench/loadgen/objects.h"
#include "bench/loadgen/rng.h"
#include "bench/loadgen/world.h"
#include "kubetrail/v1/event.pb.h"

namespace kubetrail::loadgen {
namespace {

using ::kubetrail::v1::Event;
using ::kubetrail::v1::UserInfo;

constexpr int64_t kMs = 1000;
constexpr int64_t kSec = 1000000;

enum class Level : uint8_t { kMetadata, kRequest, kRequestResponse };

std::string_view LevelName(Level level) {
  switch (level) {
    case Level::kMetadata:
      return "Metadata";
    case Level::kRequest:
      return "Request";
    case Level::kRequestResponse:
      return "RequestResponse";
  }
  return "Metadata";
}

enum class Stage : uint8_t { kRequestReceived, kResponseStarted, kResponseComplete, kPanic };

std::string_view StageName(Stage stage) {
  switch (stage) {
    case Stage::kRequestReceived:
      return "RequestReceived";
    case Stage::kResponseStarted:
      return "ResponseStarted";
    case Stage::kResponseComplete:
      return "ResponseComplete";
    case Stage::kPanic:
      return "Panic";
  }
  return "ResponseComplete";
}

// Gap between two requests (µs): mean about 1.1 ms, bursty.
constexpr Bucket kGaps[] = {{30, 1, 200}, {35, 200, 1000}, {25, 1000, 2500}, {10, 2500, 6000}};

// Latency of ordinary requests (µs): median about 3.5 ms, a tail into seconds.
constexpr Bucket kLatencies[] = {{15, 300, 1500},   {35, 1500, 3500},   {30, 3500, 8000},
                                 {14, 8000, 30000}, {5, 30000, 400000}, {1, 400000, 3000000}};

// What the next request is about. Weights are per 1000 requests.
enum class Scenario : uint8_t {
  kLeaderElection,
  kNodeLease,
  kNodeStatus,
  kPodStatus,
  kKubeletReads,
  kReconcile,
  kInformerWatch,
  kInformerList,
  kEvents,
  kSchedulerBind,
  kHuman,
  kNonResource,
  kFailedAuth,
  kImpersonation,
  kAccessReview,
  kBigObject,
  kMetricsApi,
  kWorkloadChurn,
};

constexpr Weighted<Scenario> kScenarios[] = {
    {95, Scenario::kLeaderElection}, {55, Scenario::kNodeLease},    {12, Scenario::kNodeStatus},
    {25, Scenario::kPodStatus},      {55, Scenario::kKubeletReads}, {210, Scenario::kReconcile},
    {32, Scenario::kInformerWatch},  {40, Scenario::kInformerList}, {45, Scenario::kEvents},
    {15, Scenario::kSchedulerBind},  {45, Scenario::kHuman},        {40, Scenario::kNonResource},
    {4, Scenario::kFailedAuth},      {3, Scenario::kImpersonation}, {20, Scenario::kAccessReview},
    {3, Scenario::kBigObject},       {8, Scenario::kMetricsApi},    {40, Scenario::kWorkloadChurn},
};

constexpr std::string_view kDiscoveryReason =
    R"(RBAC: allowed by ClusterRoleBinding "system:discovery" of ClusterRole "system:discovery" to Group "system:authenticated")";
constexpr std::string_view kPublicInfoReason =
    R"(RBAC: allowed by ClusterRoleBinding "system:public-info-viewer" of ClusterRole "system:public-info-viewer" to Group "system:authenticated")";

// Per-layer latency annotations besides total and etcd; the first two only on writes (reads
// pass no admission).
constexpr std::string_view kLatencyKeys[] = {
    "apiserver.latency.k8s.io/mutating-admission",
    "apiserver.latency.k8s.io/validating-admission",
    "apiserver.latency.k8s.io/apf-queue-wait",
    "apiserver.latency.k8s.io/decode-response-object",
    "apiserver.latency.k8s.io/response-write",
    "apiserver.latency.k8s.io/serialize-response-object",
    "apiserver.latency.k8s.io/transform-response-object",
};

// A 2.3 KB user agent, as written by a patched kubectl that put its stack trace there.
std::string LongUserAgent(const std::string& version) {
  std::string ua = StrCat("kubectl/", version, " (linux/amd64) kubernetes/b143093 stacktrace=[");
  constexpr std::string_view kFrames[] = {
      "k8s.io/client-go/rest.(*Request).Do():staging/src/k8s.io/client-go/rest/request.go:1148",
      "k8s.io/client-go/discovery.(*DiscoveryClient).ServerGroups():staging/src/k8s.io/client-go/"
      "discovery/discovery_client.go:232",
      "k8s.io/client-go/discovery/cached/disk.(*CachedDiscoveryClient).ServerGroups():staging/src/"
      "k8s.io/client-go/discovery/cached/disk/cached_discovery.go:118",
      "k8s.io/client-go/discovery.ServerGroupsAndResources():staging/src/k8s.io/client-go/"
      "discovery/discovery_client.go:401",
      "k8s.io/client-go/restmapper.GetAPIGroupResources():staging/src/k8s.io/client-go/restmapper/"
      "discovery.go:148",
      "k8s.io/client-go/restmapper.(*DeferredDiscoveryRESTMapper).getDelegate():staging/src/k8s.io/"
      "client-go/restmapper/discovery.go:202",
      "k8s.io/client-go/restmapper.(*DeferredDiscoveryRESTMapper).RESTMapping():staging/src/k8s.io/"
      "client-go/restmapper/discovery.go:292",
      "k8s.io/cli-runtime/pkg/resource.(*mapper).infoForData():staging/src/k8s.io/cli-runtime/pkg/"
      "resource/mapper.go:53",
      "k8s.io/cli-runtime/pkg/resource.(*StreamVisitor).Visit():staging/src/k8s.io/cli-runtime/pkg/"
      "resource/visitor.go:585",
      "k8s.io/cli-runtime/pkg/resource.FileVisitor.Visit():staging/src/k8s.io/cli-runtime/pkg/"
      "resource/visitor.go:544",
      "k8s.io/kubectl/pkg/cmd/apply.(*ApplyOptions).Run():staging/src/k8s.io/kubectl/pkg/cmd/apply/"
      "apply.go:496",
      "k8s.io/kubectl/pkg/cmd/apply.NewCmdApply.func1():staging/src/k8s.io/kubectl/pkg/cmd/apply/"
      "apply.go:205",
      "github.com/spf13/cobra.(*Command).execute():vendor/github.com/spf13/cobra/command.go:985",
      "github.com/spf13/cobra.(*Command).ExecuteC():vendor/github.com/spf13/cobra/command.go:1117",
      "k8s.io/kubectl/pkg/cmd/util.CheckErr():staging/src/k8s.io/kubectl/pkg/cmd/util/"
      "helpers.go:116",
      "k8s.io/kubectl/pkg/cmd/util.checkErr():staging/src/k8s.io/kubectl/pkg/cmd/util/"
      "helpers.go:146",
      "k8s.io/cli-runtime/pkg/resource.(*Builder).Do():staging/src/k8s.io/cli-runtime/pkg/resource/"
      "builder.go:1205",
      "k8s.io/cli-runtime/pkg/resource.(*Builder).visitorResult():staging/src/k8s.io/cli-runtime/"
      "pkg/resource/builder.go:1010",
      "k8s.io/component-base/cli.run():staging/src/k8s.io/component-base/cli/run.go:146",
      "k8s.io/component-base/cli.RunNoErrOutput():staging/src/k8s.io/component-base/cli/run.go:84",
      "main.main():cmd/kubectl/kubectl.go:25",
  };
  for (size_t i = 0; i < std::size(kFrames); ++i) {
    if (i > 0) ua.push_back(';');
    ua.append(kFrames[i]);
  }
  ua.push_back(']');
  return ua;
}

// The failure a response carries, as meta/v1 Status fields.
struct Failure {
  std::string status;  // "Failure" ("" when the apiserver wrote no Status body)
  std::string message;
  std::string reason;
  std::string details;  // compact JSON ("" = absent)
};

}  // namespace

// --------------------------------------------------------------------------------------------

class Generator::Impl {
 public:
  Impl(uint64_t seed, int64_t start_us);

  void Next(Event* out);

  uint64_t events() const { return events_; }
  uint64_t requests() const { return requests_; }

 private:
  // Everything one request needs; scenarios fill it, Finish() turns it into the event.
  struct Req {
    const Identity* id = nullptr;
    std::string verb;
    Target target;
    std::string path;   // non-resource requests: the URL path (objectRef is then absent)
    std::string query;  // without '?', '&' raw (the encoder escapes it)
    Level level = Level::kMetadata;
    int code = 200;
    bool long_running = false;
    int64_t latency_us = -1;  // -1: an ordinary latency
    int64_t started_us = 0;   // ResponseStarted offset for long-running requests
    int started_code = 200;
    bool failed_auth = false;
    std::string auth_message;
    bool no_authz = false;  // no authorization annotations (429 from APF, ...)
    bool forbid = false;    // authorization denied (403 with decision forbid)
    std::string reason;     // authorization reason; empty -> identity's reason
    bool reason_set = false;
    bool bodies_done = false;     // the scenario wrote request/response objects itself
    bool success_status = false;  // the response is a Status "Success" (copied into
                                  // responseStatus)
    int64_t old_rv = 0;           // resourceVersion an update body carries
    std::string user_agent;       // overrides the identity's
    const Identity* impersonated = nullptr;
    const std::vector<std::string>* source_ips = nullptr;  // overrides the identity's
    std::vector<std::pair<std::string, std::string>> annotations;
  };

  void StartRequest();
  void Finish(Req& r);
  void EmitStage(Stage stage, Event* out);

  // Scenarios.
  void LeaderElection(Req& r);
  void NodeLease(Req& r);
  void NodeStatus(Req& r);
  void PodStatus(Req& r);
  void KubeletReads(Req& r);
  void Reconcile(Req& r);
  void InformerWatch(Req& r);
  void InformerList(Req& r);
  void Events(Req& r);
  void SchedulerBind(Req& r);
  void Human(Req& r);
  void NonResource(Req& r);
  void FailedAuth(Req& r);
  void Impersonation(Req& r);
  void AccessReview(Req& r);
  void BigObject(Req& r);
  void MetricsApi(Req& r);
  void WorkloadChurn(Req& r);

  // Helpers.
  const AppInfo& UserApp();
  const AppInfo& AppOfKind(Res kind);
  const PodInfo& PodAmong(const std::vector<size_t>& pods);
  const PodInfo& PodOf(const AppInfo& app) { return PodAmong(app.pods); }
  size_t Kubelet(Req& r);
  void AimAtPod(Req& r, const PodInfo& pod);
  template <typename RequestBody>
  void PatchBodies(Req& r, RequestBody&& request_body);
  void Discovery(Req& r, std::span<const std::string_view> paths);
  const Identity& Operator();
  const Identity& Controller(std::string_view name);
  void Aim(Req& r, Res res, bool named, const AppInfo* app = nullptr);
  void WatchQuery(Req& r, std::string_view field_selector, std::string_view label_selector);
  void ListQuery(Req& r, bool informer);
  Level PolicyLevel(Res res, std::string_view verb);
  int PickCode(std::string_view verb);
  Failure FailureFor(const Req& r) const;
  void AppendFailureJson(const Failure& f, int code, bool with_kind, std::string* out) const;
  void AppendUri(const Req& r, std::string* out) const;
  void AddLatencyAnnotations(int64_t latency_us, bool write, Event* e);
  void DefaultBodies(Req& r, Event* e);

  Rng rng_;
  World world_;
  ObjectBuilder objects_;
  int64_t now_us_;
  std::string long_user_agent_;
  std::vector<std::vector<size_t>> pods_by_node_;
  std::vector<size_t> user_apps_;  // apps in application namespaces

  Event pending_;  // the request's last-stage event
  Stage stages_[3] = {};
  int stage_count_ = 0;
  int stage_next_ = 0;
  int64_t started_at_us_ = 0;
  int started_code_ = 200;
  uint64_t events_ = 0;
  uint64_t requests_ = 0;
};

Generator::Impl::Impl(uint64_t seed, int64_t start_us)
    : rng_(seed),
      world_(seed, start_us),
      objects_(world_, &rng_),
      now_us_(start_us),
      long_user_agent_(LongUserAgent(world_.version)) {
  pods_by_node_.resize(world_.nodes.size());
  for (size_t i = 0; i < world_.pods.size(); ++i) pods_by_node_[world_.pods[i].node].push_back(i);
  for (size_t i = 0; i < world_.apps.size(); ++i) {
    for (size_t ns : world_.app_namespaces) {
      if (world_.namespaces[ns].name == world_.apps[i].ns) user_apps_.push_back(i);
    }
  }
}

void Generator::Impl::Next(Event* out) {
  if (stage_next_ >= stage_count_) StartRequest();
  const Stage stage = stages_[stage_next_++];
  ++events_;
  if (stage_next_ == stage_count_) {
    // The last stage is the event as built; hand it over without copying.
    out->Swap(&pending_);
    return;
  }
  EmitStage(stage, out);
}

// An earlier stage of the pending request: a copy of the final event without what the
// apiserver only knows later.
void Generator::Impl::EmitStage(Stage stage, Event* out) {
  // Keep the (possibly large) bodies out of the copy.
  std::string request_object;
  std::string response_object;
  const bool has_request = pending_.has_request_object();
  const bool has_response = pending_.has_response_object();
  if (has_request) request_object.swap(*pending_.mutable_request_object());
  if (has_response) response_object.swap(*pending_.mutable_response_object());
  pending_.clear_request_object();
  pending_.clear_response_object();
  out->CopyFrom(pending_);
  if (has_request) pending_.mutable_request_object()->swap(request_object);
  if (has_response) pending_.mutable_response_object()->swap(response_object);

  out->set_stage(std::string(StageName(stage)));
  if (stage == Stage::kRequestReceived) {
    // Emitted before authorization, impersonation and body decoding.
    out->set_stage_timestamp_us(out->request_received_timestamp_us());
    out->clear_response_status();
    out->clear_annotations();
    out->set_present_fields(out->present_fields() & ~kEventAnnotationsBit);
    out->clear_impersonated_user();
    if (out->has_object_ref()) {
      auto* ref = out->mutable_object_ref();
      ref->clear_uid();
      ref->clear_resource_version();
      if (out->verb() == "create" && !ref->has_subresource()) ref->clear_name();
    }
    return;
  }
  // ResponseStarted of a long-running request: headers written, nothing else known yet.
  out->set_stage_timestamp_us(started_at_us_);
  auto* status = out->mutable_response_status();
  status->Clear();
  status->set_metadata("{}");
  status->set_code(started_code_);
  auto* annotations = out->mutable_annotations();
  for (auto it = annotations->begin(); it != annotations->end();) {
    if (it->first.starts_with("apiserver.latency.k8s.io/")) {
      it = annotations->erase(it);
    } else {
      ++it;
    }
  }
}

void Generator::Impl::StartRequest() {
  ++requests_;
  pending_.Clear();
  // The first request starts exactly at start_us; later ones follow at random gaps.
  if (requests_ > 1) now_us_ += PickFromBuckets(rng_, kGaps);
  objects_.set_now(now_us_);
  Req r;
  switch (Pick(rng_, kScenarios)) {
    case Scenario::kLeaderElection:
      LeaderElection(r);
      break;
    case Scenario::kNodeLease:
      NodeLease(r);
      break;
    case Scenario::kNodeStatus:
      NodeStatus(r);
      break;
    case Scenario::kPodStatus:
      PodStatus(r);
      break;
    case Scenario::kKubeletReads:
      KubeletReads(r);
      break;
    case Scenario::kReconcile:
      Reconcile(r);
      break;
    case Scenario::kInformerWatch:
      InformerWatch(r);
      break;
    case Scenario::kInformerList:
      InformerList(r);
      break;
    case Scenario::kEvents:
      Events(r);
      break;
    case Scenario::kSchedulerBind:
      SchedulerBind(r);
      break;
    case Scenario::kHuman:
      Human(r);
      break;
    case Scenario::kNonResource:
      NonResource(r);
      break;
    case Scenario::kFailedAuth:
      FailedAuth(r);
      break;
    case Scenario::kImpersonation:
      Impersonation(r);
      break;
    case Scenario::kAccessReview:
      AccessReview(r);
      break;
    case Scenario::kBigObject:
      BigObject(r);
      break;
    case Scenario::kMetricsApi:
      MetricsApi(r);
      break;
    case Scenario::kWorkloadChurn:
      WorkloadChurn(r);
      break;
  }
  Finish(r);
}

// --- Helpers ----------------------------------------------------------------------------

const AppInfo& Generator::Impl::UserApp() {
  return world_.apps[user_apps_[rng_.Index(user_apps_.size())]];
}

const AppInfo& Generator::Impl::AppOfKind(Res kind) {
  for (int tries = 0; tries < 64; ++tries) {
    const AppInfo& app = world_.apps[rng_.Index(world_.apps.size())];
    if (app.kind == kind) return app;
  }
  for (const AppInfo& app : world_.apps) {
    if (app.kind == kind) return app;
  }
  return world_.apps[0];
}

// One of `pods` (indices into world_.pods); any pod when it is empty.
const PodInfo& Generator::Impl::PodAmong(const std::vector<size_t>& pods) {
  if (pods.empty()) return world_.pods[rng_.Index(world_.pods.size())];
  return world_.pods[pods[rng_.Index(pods.size())]];
}

// Makes a random node's kubelet (system:node:<host>) the requester; returns the node's index.
size_t Generator::Impl::Kubelet(Req& r) {
  const size_t n = rng_.Index(world_.node_users.size());
  r.id = &world_.node_users[n];
  return n;
}

// Points `r.target` at `pod`.
void Generator::Impl::AimAtPod(Req& r, const PodInfo& pod) {
  r.target.res = Res::kPods;
  r.target.ns = pod.ns;
  r.target.name = pod.name;
  r.target.pod = &pod;
}

// The bodies of a patch that the scenario writes itself (r.target set): the patch document
// from `request_body(out)` at level Request and above; when the patch succeeded (200), the
// object takes the next resourceVersion and, at RequestResponse, is the response body.
template <typename RequestBody>
void Generator::Impl::PatchBodies(Req& r, RequestBody&& request_body) {
  r.bodies_done = true;
  if (r.level != Level::kMetadata) request_body(pending_.mutable_request_object());
  if (r.code != 200) return;
  const int64_t rv = objects_.NextResourceVersion();
  if (r.level == Level::kRequestResponse) {
    objects_.Object(r.target, Form::kStored, rv, pending_.mutable_response_object());
  }
}

// A discovery GET of one of `paths` (kubectl and controllers before they get to work).
void Generator::Impl::Discovery(Req& r, std::span<const std::string_view> paths) {
  r.path = std::string(paths[rng_.Index(paths.size())]);
  r.query = "timeout=32s";
  r.reason = std::string(r.path == "/version" ? kPublicInfoReason : kDiscoveryReason);
  r.reason_set = true;
}

const Identity& Generator::Impl::Operator() {
  return world_.operators[rng_.Index(world_.operators.size())];
}

const Identity& Generator::Impl::Controller(std::string_view name) {
  for (const Identity& id : world_.controllers) {
    if (id.user.username().ends_with(name)) return id;
  }
  return world_.controllers[0];
}

// Points `r.target` at an object (or collection) of `res`: picks the namespace and a name
// that follows the conventions real controllers use.
void Generator::Impl::Aim(Req& r, Res res, bool named, const AppInfo* app_hint) {
  Target& t = r.target;
  t.res = res;
  const ResourceType& type = ResourceOf(res);
  const AppInfo* app = app_hint;
  if (app == nullptr) {
    switch (res) {
      case Res::kDeployments:
      case Res::kStatefulSets:
      case Res::kDaemonSets:
        app = &AppOfKind(res);
        break;
      case Res::kReplicaSets:
        app = &AppOfKind(Res::kDeployments);
        break;
      default:
        app = rng_.Chance(800000) ? &UserApp() : &world_.apps[rng_.Index(world_.apps.size())];
        break;
    }
  }
  t.app = app;
  t.pod = &PodOf(*app);
  t.ns = type.namespaced ? app->ns : "";
  t.name.clear();
  if (!named) return;
  switch (res) {
    case Res::kPods:
    case Res::kPodMetrics:
      t.name = t.pod->name;
      break;
    case Res::kReplicaSets:
      t.name = StrCat(app->name, "-", app->template_hash);
      break;
    case Res::kConfigMaps: {
      const uint64_t v = rng_.Below(10);
      t.name = v < 6 ? StrCat(app->name, "-config")
               : v < 9
                   ? std::string("kube-root-ca.crt")
                   : (app->sidecar ? std::string("istio-ca-root-cert") : StrCat(app->name, "-env"));
      break;
    }
    case Res::kSecrets: {
      const uint64_t v = rng_.Below(4);
      t.name = v == 0   ? StrCat(app->name, "-tls")
               : v == 1 ? StrCat("sh.helm.release.v1.", app->name, ".v", rng_.Range(1, 40))
               : v == 2 ? StrCat(app->name, "-credentials")
                        : StrCat(app->name, "-dockercfg");
      break;
    }
    case Res::kEndpointSlices:
      t.name = StrCat(app->name, "-");
      AppendNameSuffix(HashName(app->uid, 21), 5, &t.name);
      break;
    case Res::kEvents:
    case Res::kEventsV1:
      t.name = StrCat(t.pod->name, ".");
      AppendHex(rng_.Next(), 16, &t.name);
      break;
    case Res::kPersistentVolumeClaims:
      t.name = StrCat("data-", app->name, "-0");
      break;
    case Res::kJobs:
      t.name = StrCat(app->name, "-migrate-", 29000000 + rng_.Below(900000));
      break;
    case Res::kCronJobs:
      t.name = StrCat(app->name, "-cleanup");
      break;
    case Res::kCertificates:
      t.name = StrCat(app->name, "-tls");
      break;
    case Res::kCertificateRequests:
      t.name = StrCat(app->name, "-tls-", rng_.Range(1, 9));
      break;
    case Res::kApplications:
      t.ns = "argocd";
      t.name = StrCat(app->ns, "-", app->name);
      break;
    case Res::kServiceAccounts:
      t.name = app->service_account;
      break;
    case Res::kNetworkPolicies:
      t.name =
          rng_.Chance(300000) ? std::string("default-deny-ingress") : StrCat("allow-", app->name);
      break;
    case Res::kNodes: {
      const size_t n = rng_.Index(world_.nodes.size());
      t.node = &world_.nodes[n];
      t.name = t.node->name;
      break;
    }
    case Res::kNamespaces: {
      const NamespaceInfo& ns = world_.namespaces[rng_.Index(world_.namespaces.size())];
      t.namespace_info = &ns;
      t.name = ns.name;
      break;
    }
    case Res::kClusterRoles:
    case Res::kClusterRoleBindings:
      t.name = rng_.Chance(500000) ? StrCat("system:controller:", app->name)
                                   : StrCat(app->name, "-", app->ns);
      break;
    case Res::kCustomResourceDefinitions: {
      constexpr std::string_view kCrds[] = {
          "certificates.cert-manager.io", "applications.argoproj.io",
          "servicemonitors.monitoring.coreos.com", "prometheuses.monitoring.coreos.com"};
      t.name = std::string(kCrds[rng_.Index(std::size(kCrds))]);
      break;
    }
    case Res::kMutatingWebhookConfigurations:
      t.name = rng_.Chance(700000) ? "istio-sidecar-injector" : "cert-manager-webhook";
      break;
    case Res::kSubjectAccessReviews:
    case Res::kTokenReviews:
      break;
    default:
      t.name = app->name;
      break;
  }
}

// client-go reflector watch: sorted query keys, a random timeout in [5m, 10m).
void Generator::Impl::WatchQuery(Req& r, std::string_view field_selector,
                                 std::string_view label_selector) {
  const int64_t timeout = rng_.Range(300, 599);
  const bool watch_list = world_.minor_version >= 32 && rng_.Chance(150000);
  std::string& q = r.query;
  q = "allowWatchBookmarks=true";
  if (!field_selector.empty()) StrAppend(&q, "&fieldSelector=", field_selector);
  if (!label_selector.empty()) StrAppend(&q, "&labelSelector=", label_selector);
  if (watch_list) {
    q.append("&resourceVersionMatch=NotOlderThan&sendInitialEvents=true");
  } else {
    StrAppend(&q, "&resourceVersion=", objects_.OlderResourceVersion());
  }
  StrAppend(&q, "&timeout=", timeout / 60, "m", timeout % 60, "s&timeoutSeconds=", timeout,
            "&watch=true");
  r.long_running = true;
  r.started_us = PickFromBuckets(rng_, kLatencies);
  r.started_code = 200;
  r.latency_us = timeout * kSec + rng_.Range(0, 900 * kMs);
}

void Generator::Impl::ListQuery(Req& r, bool informer) {
  if (informer) {
    r.query = "limit=500&resourceVersion=0";
  } else if (rng_.Chance(300000) && r.target.app != nullptr) {
    r.query = StrCat("labelSelector=app%3D", r.target.app->name, "&limit=500");
  } else {
    r.query = "limit=500";
  }
}

// A typical audit policy: reads mostly at Metadata, writes often with bodies, secrets and
// token reviews never with bodies.
Level Generator::Impl::PolicyLevel(Res res, std::string_view verb) {
  static constexpr Weighted<Level> kReads[] = {
      {30, Level::kMetadata}, {5, Level::kRequest}, {65, Level::kRequestResponse}};
  static constexpr Weighted<Level> kWrites[] = {
      {20, Level::kMetadata}, {15, Level::kRequest}, {65, Level::kRequestResponse}};
  static constexpr Weighted<Level> kNoisy[] = {
      {15, Level::kMetadata}, {10, Level::kRequest}, {75, Level::kRequestResponse}};
  // Pods are the bulkiest common objects: many policies keep their writes at Request level.
  static constexpr Weighted<Level> kPodReads[] = {
      {50, Level::kMetadata}, {5, Level::kRequest}, {45, Level::kRequestResponse}};
  static constexpr Weighted<Level> kPodWrites[] = {
      {30, Level::kMetadata}, {50, Level::kRequest}, {20, Level::kRequestResponse}};
  if (res == Res::kSecrets || res == Res::kTokenReviews) return Level::kMetadata;
  if (res == Res::kEvents || res == Res::kEventsV1 || res == Res::kLeases) {
    return Pick(rng_, kNoisy);
  }
  const bool read = verb == "get" || verb == "list" || verb == "watch";
  if (res == Res::kPods || res == Res::kNodes) return Pick(rng_, read ? kPodReads : kPodWrites);
  return Pick(rng_, read ? kReads : kWrites);
}

int Generator::Impl::PickCode(std::string_view verb) {
  static constexpr Weighted<int> kGet[] = {{8870, 200}, {1000, 404}, {60, 403},
                                           {30, 429},   {25, 500},   {15, 503}};
  static constexpr Weighted<int> kList[] = {{9800, 200}, {120, 403}, {50, 429}, {30, 500}};
  static constexpr Weighted<int> kCreate[] = {{9250, 201}, {400, 409}, {150, 422}, {80, 403},
                                              {50, 500},   {40, 429},  {30, 404}};
  static constexpr Weighted<int> kUpdate[] = {
      {9500, 200}, {400, 409}, {40, 422}, {40, 404}, {20, 500}};
  static constexpr Weighted<int> kPatch[] = {
      {9600, 200}, {200, 404}, {100, 422}, {50, 409}, {50, 403}};
  static constexpr Weighted<int> kDelete[] = {{9200, 200}, {700, 404}, {100, 403}};
  if (verb == "get") return Pick(rng_, kGet);
  if (verb == "list" || verb == "deletecollection") return Pick(rng_, kList);
  if (verb == "create") return Pick(rng_, kCreate);
  if (verb == "update") return Pick(rng_, kUpdate);
  if (verb == "patch") return Pick(rng_, kPatch);
  if (verb == "delete") return Pick(rng_, kDelete);
  return 200;
}

// --- Scenarios --------------------------------------------------------------------------

// Leader election: the holder renews (get + update) every few seconds, others poll.
void Generator::Impl::LeaderElection(Req& r) {
  const uint64_t who = rng_.Below(10);
  const Identity* id;
  if (who < 3) {
    id = &world_.controller_manager;
  } else if (who < 5) {
    id = &world_.scheduler;
  } else if (who < 6) {
    id = &world_.apiserver;
  } else {
    // Operators with a lease.
    id = &world_.controller_manager;
    for (int tries = 0; tries < 8; ++tries) {
      const Identity& op = Operator();
      if (!op.lease_name.empty()) {
        id = &op;
        break;
      }
    }
  }
  r.id = id;
  r.verb = rng_.Chance(550000) ? "update" : "get";
  r.target.res = Res::kLeases;
  r.target.ns = id->lease_ns;
  r.target.name = id->lease_name;
  // holderIdentity: "<host>_<uuid>" for leader election, "<lease>_<uuid>" for the
  // apiserver's identity lease.
  r.target.holder = StrCat(id == &world_.apiserver ? id->lease_name : world_.nodes[0].name, "_");
  AppendUuid(HashName(id->lease_name, world_.seed), HashName(id->lease_name, 99), &r.target.holder);
  if (id == &world_.apiserver) {
    r.query = "timeout=10s";
  } else {
    r.query = "timeout=5s";
    if (id->kind == IdentityKind::kServiceAccount) {
      r.user_agent = StrCat(id->user_agent, "/leader-election");
    }
  }
  if (id == &world_.controller_manager || id == &world_.scheduler) {
    if (rng_.Chance(500000)) {
      const std::string who_name =
          id == &world_.scheduler ? "kube-scheduler" : "kube-controller-manager";
      r.reason = StrCat(R"(RBAC: allowed by RoleBinding "system::leader-locking-)", who_name,
                        R"(/kube-system" of Role "system::leader-locking-)", who_name,
                        R"(" to User "system:)", who_name, R"(")");
      r.reason_set = true;
    }
    if (id == &world_.scheduler)
      r.user_agent =
          StrCat(id->user_agent.substr(0, id->user_agent.rfind('/')), "/leader-election");
  } else if (id->kind == IdentityKind::kServiceAccount && id->lease_ns == id->home_ns) {
    const std::string sa = id->user.username().substr(id->user.username().rfind(':') + 1);
    r.reason = StrCat(R"(RBAC: allowed by RoleBinding ")", sa, "-leader-election/", id->home_ns,
                      R"(" of Role ")", sa, R"(-leader-election" to ServiceAccount ")", sa, "/",
                      id->home_ns, R"(")");
    r.reason_set = true;
  }
  r.level = PolicyLevel(Res::kLeases, r.verb);
  r.code = r.verb == "update" && rng_.Chance(8000) ? 409 : 200;
}

void Generator::Impl::NodeLease(Req& r) {
  const size_t n = Kubelet(r);
  r.verb = "update";
  r.target.res = Res::kLeases;
  r.target.ns = "kube-node-lease";
  r.target.name = world_.nodes[n].name;
  r.target.node = &world_.nodes[n];
  r.target.holder = world_.nodes[n].name;
  r.query = "timeout=10s";
  r.level = PolicyLevel(Res::kLeases, r.verb);
  r.code = rng_.Chance(3000) ? 409 : 200;
}

void Generator::Impl::NodeStatus(Req& r) {
  const size_t n = Kubelet(r);
  r.verb = "patch";
  r.target.res = Res::kNodes;
  r.target.name = world_.nodes[n].name;
  r.target.node = &world_.nodes[n];
  r.target.subresource = "status";
  r.query = "timeout=10s";
  static constexpr Weighted<Level> kLevels[] = {
      {70, Level::kMetadata}, {15, Level::kRequest}, {15, Level::kRequestResponse}};
  r.level = Pick(rng_, kLevels);
  r.code = 200;
  PatchBodies(r, [&](std::string* body) { objects_.NodeStatusPatch(world_.nodes[n], body); });
}

void Generator::Impl::PodStatus(Req& r) {
  const PodInfo& pod = PodAmong(pods_by_node_[Kubelet(r)]);
  r.verb = "patch";
  AimAtPod(r, pod);
  r.target.app = &world_.apps[pod.app];
  r.target.subresource = "status";
  r.level = PolicyLevel(Res::kPods, "patch");
  r.code = rng_.Chance(5000) ? 404 : 200;
  PatchBodies(r, [&](std::string* body) { objects_.PodStatusPatch(pod, body); });
}

// The kubelet fetching what its pods need, under the Node authorizer.
void Generator::Impl::KubeletReads(Req& r) {
  const size_t n = Kubelet(r);
  const PodInfo& pod = PodAmong(pods_by_node_[n]);
  const AppInfo& app = world_.apps[pod.app];
  const uint64_t v = rng_.Below(100);
  r.level = Level::kMetadata;
  if (v < 22) {
    // Watch of one ConfigMap/Secret: the apiserver takes the name from the field selector.
    const bool secret = rng_.Chance(400000);
    r.verb = "watch";
    r.target.res = secret ? Res::kSecrets : Res::kConfigMaps;
    r.target.ns = pod.ns;
    r.target.name = secret ? StrCat(app.name, "-credentials")
                           : (rng_.Chance(500000) ? std::string("kube-root-ca.crt")
                                                  : StrCat(app.name, "-config"));
    WatchQuery(r, StrCat("metadata.name%3D", r.target.name), "");
  } else if (v < 40) {
    r.verb = "get";
    r.target.res = rng_.Chance(500000) ? Res::kSecrets : Res::kConfigMaps;
    r.target.ns = pod.ns;
    r.target.name = r.target.res == Res::kSecrets ? StrCat(app.name, "-credentials")
                                                  : StrCat(app.name, "-config");
    r.code = rng_.Chance(20000) ? 404 : 200;
  } else if (v < 58) {
    r.verb = "get";
    r.target.res = Res::kNodes;
    r.target.name = world_.nodes[n].name;
    r.target.node = &world_.nodes[n];
    r.query = "resourceVersion=0&timeout=10s";
  } else if (v < 78) {
    r.verb = "get";
    AimAtPod(r, pod);
    r.code = rng_.Chance(30000) ? 404 : 200;
  } else if (v < 84) {
    r.verb = "watch";
    r.target.res = Res::kPods;
    WatchQuery(r, StrCat("spec.nodeName%3D", world_.nodes[n].name), "");
  } else {
    // TokenRequest for a projected service-account token.
    r.verb = "create";
    r.target.res = Res::kServiceAccounts;
    r.target.ns = pod.ns;
    r.target.name = app.service_account;
    r.target.subresource = "token";
    r.code = 201;
    r.bodies_done = true;
  }
  if (r.verb == "get") r.level = PolicyLevel(r.target.res, r.verb);
}

// Controllers and operators reconciling the objects they own.
void Generator::Impl::Reconcile(Req& r) {
  static constexpr Weighted<std::string_view> kVerbs[] = {
      {360, "get"},   {60, "list"},    {60, "watch"},  {220, "update"},
      {140, "patch"}, {120, "create"}, {70, "delete"}, {4, "deletecollection"}};
  const Identity& id =
      rng_.Chance(550000) ? Operator() : world_.controllers[rng_.Index(world_.controllers.size())];
  r.id = &id;
  const Res res = id.resources[rng_.Index(id.resources.size())];
  std::string_view verb = Pick(rng_, kVerbs);
  if (res == Res::kEvents) verb = rng_.Chance(700000) ? "create" : "patch";
  if (verb == "deletecollection" && !id.user.username().ends_with("namespace-controller")) {
    verb = "delete";
  }
  const bool read = verb == "get" || verb == "list" || verb == "watch";
  if (!read && (id.read_only || res == Res::kNamespaces)) verb = "get";
  if (res == Res::kNodes && (verb == "create" || verb == "delete")) verb = "get";
  r.verb = std::string(verb);
  const bool collection = verb == "list" || verb == "watch" || verb == "deletecollection";
  const bool generated_name = verb == "create" && res == Res::kPods;
  Aim(r, res, !collection && !generated_name);
  if (verb == "update" && rng_.Chance(250000) &&
      (res == Res::kDeployments || res == Res::kReplicaSets || res == Res::kStatefulSets ||
       res == Res::kDaemonSets || res == Res::kJobs || res == Res::kCertificates ||
       res == Res::kApplications)) {
    r.target.subresource = "status";
  }
  if (verb == "list") {
    if (rng_.Chance(600000) && ResourceOf(res).namespaced) r.target.ns.clear();
    ListQuery(r, /*informer=*/true);
  } else if (verb == "watch") {
    if (rng_.Chance(700000) && ResourceOf(res).namespaced) r.target.ns.clear();
    WatchQuery(r, "", "");
  }
  if (res == Res::kApplications && verb == "patch" && rng_.Chance(500000)) {
    r.query = "fieldManager=argocd-controller&force=true";
  }
  r.level = PolicyLevel(res, verb);
  r.code = PickCode(verb);
}

void Generator::Impl::InformerWatch(Req& r) {
  static constexpr Res kCommon[] = {Res::kPods,
                                    Res::kNodes,
                                    Res::kNamespaces,
                                    Res::kConfigMaps,
                                    Res::kServices,
                                    Res::kEndpointSlices,
                                    Res::kSecrets,
                                    Res::kDeployments,
                                    Res::kReplicaSets,
                                    Res::kLeases,
                                    Res::kCustomResourceDefinitions,
                                    Res::kPersistentVolumeClaims};
  const uint64_t who = rng_.Below(10);
  const Identity* id;
  Res res;
  if (who < 4) {
    id = &Operator();
    res = id->resources[rng_.Index(id->resources.size())];
  } else if (who < 7) {
    id = &world_.controllers[rng_.Index(world_.controllers.size())];
    res = id->resources[rng_.Index(id->resources.size())];
  } else if (who < 8) {
    id = &world_.node_users[rng_.Index(world_.node_users.size())];
    res = rng_.Chance(500000) ? Res::kServices : Res::kNodes;
  } else {
    id = rng_.Chance(500000) ? &world_.apiserver : &world_.scheduler;
    res = kCommon[rng_.Index(std::size(kCommon))];
  }
  r.id = id;
  r.verb = "watch";
  Aim(r, res, false);
  if (rng_.Chance(700000)) r.target.ns.clear();
  if (res == Res::kNodes && id->kind == IdentityKind::kNode) {
    r.target.name = world_.nodes[id->node].name;
    WatchQuery(r, StrCat("metadata.name%3D", r.target.name), "");
  } else {
    WatchQuery(r, "", "");
  }
  static constexpr Weighted<Level> kLevels[] = {
      {85, Level::kMetadata}, {5, Level::kRequest}, {10, Level::kRequestResponse}};
  r.level = Pick(rng_, kLevels);
  r.code = rng_.Chance(2000) ? 403 : 200;
  if (r.code == 403) r.long_running = false;
}

void Generator::Impl::InformerList(Req& r) {
  const uint64_t who = rng_.Below(10);
  const Identity* id = who < 5   ? &Operator()
                       : who < 9 ? &world_.controllers[rng_.Index(world_.controllers.size())]
                                 : &world_.apiserver;
  r.id = id;
  r.verb = "list";
  const Res res =
      id->resources.empty() ? Res::kPods : id->resources[rng_.Index(id->resources.size())];
  Aim(r, res, false);
  if (rng_.Chance(500000) && ResourceOf(res).namespaced) r.target.ns.clear();
  ListQuery(r, /*informer=*/rng_.Chance(700000));
  r.level = PolicyLevel(res, "list");
  r.code = PickCode("list");
}

void Generator::Impl::Events(Req& r) {
  const uint64_t who = rng_.Below(10);
  const PodInfo& pod = world_.pods[rng_.Index(world_.pods.size())];
  Res res = Res::kEvents;
  if (who < 5) {
    r.id = &world_.node_users[pod.node];
  } else if (who < 8) {
    r.id = &world_.controllers[rng_.Index(world_.controllers.size())];
  } else {
    r.id = &world_.scheduler;
    res = Res::kEventsV1;
  }
  r.target.res = res;
  r.target.ns = pod.ns;
  r.target.pod = &pod;
  r.target.app = &world_.apps[pod.app];
  r.target.name = StrCat(pod.name, ".");
  AppendHex(rng_.Next(), 16, &r.target.name);
  r.level = PolicyLevel(res, "create");
  if (res == Res::kEvents && rng_.Chance(250000)) {
    r.verb = "patch";
    r.code = rng_.Chance(20000) ? 404 : 200;
    PatchBodies(r, [&](std::string* body) { objects_.EventPatch(body); });
  } else {
    r.verb = "create";
    r.code = rng_.Chance(5000) ? 409 : 201;
  }
}

void Generator::Impl::SchedulerBind(Req& r) {
  r.id = &world_.scheduler;
  const PodInfo& pod = world_.pods[rng_.Index(world_.pods.size())];
  r.verb = "create";
  AimAtPod(r, pod);
  r.target.subresource = "binding";
  static constexpr Weighted<Level> kLevels[] = {
      {30, Level::kMetadata}, {50, Level::kRequest}, {20, Level::kRequestResponse}};
  r.level = Pick(rng_, kLevels);
  r.code = rng_.Chance(10000) ? 409 : 201;
  r.bodies_done = true;
  r.success_status = true;
  if (r.level != Level::kMetadata) {
    objects_.Binding(pod, world_.nodes[pod.node], pending_.mutable_request_object());
  }
  if (r.level == Level::kRequestResponse) {
    if (r.code == 201) {
      JsonWriter w(pending_.mutable_response_object());
      w.BeginObject()
          .Str("kind", "Status")
          .Str("apiVersion", "v1")
          .Empty("metadata")
          .Str("status", "Success")
          .Num("code", 201)
          .EndObject();
    }
  }
}

// People with kubectl, k9s, Lens: reads, logs, exec, apply, scale, delete, and 403s.
void Generator::Impl::Human(Req& r) {
  const Identity& id = world_.humans[rng_.Index(world_.humans.size())];
  r.id = &id;
  if (rng_.Chance(10000)) r.user_agent = long_user_agent_;
  const AppInfo& app = UserApp();
  const uint64_t v = rng_.Below(100);
  bool write = false;
  if (v < 18) {
    // kubectl get pods: a Table.
    r.verb = "list";
    Aim(r, Res::kPods, false, &app);
    ListQuery(r, false);
    r.level = PolicyLevel(Res::kPods, "list");
    r.code = 200;
    r.bodies_done = true;
    if (r.level == Level::kRequestResponse) {
      objects_.PodTable(app.ns, 25, pending_.mutable_response_object());
    }
  } else if (v < 38) {
    static constexpr Res kKinds[] = {Res::kPods,       Res::kDeployments, Res::kServices,
                                     Res::kConfigMaps, Res::kSecrets,     Res::kIngresses,
                                     Res::kNodes,      Res::kNamespaces};
    r.verb = "get";
    const Res res = kKinds[rng_.Index(std::size(kKinds))];
    Aim(r, res, true, res == Res::kDeployments ? nullptr : &app);
    r.level = PolicyLevel(res, "get");
    r.code = PickCode("get");
    if (id.rbac_limited && (res == Res::kSecrets || (res == Res::kNodes && rng_.Chance(500000)))) {
      r.code = 403;
    }
  } else if (v < 43) {
    r.verb = "list";
    Aim(r, Res::kEvents, false, &app);
    r.query = "fieldSelector=involvedObject.name%3D" + app.name + "&limit=500";
    r.level = PolicyLevel(Res::kEvents, "list");
  } else if (v < 54) {
    // kubectl logs [-f]: long-running.
    r.verb = "get";
    Aim(r, Res::kPods, true, &app);
    r.target.subresource = "log";
    const bool follow = rng_.Chance(500000);
    r.query = StrCat("container=", app.container, follow ? "&follow=true" : "",
                     "&tailLines=", rng_.Chance(500000) ? 100 : 20);
    r.long_running = true;
    r.started_us = rng_.Range(2 * kMs, 40 * kMs);
    r.started_code = 200;
    r.latency_us = follow ? rng_.Range(5 * kSec, 1200 * kSec) : rng_.Range(20 * kMs, 400 * kMs);
    r.level = PolicyLevel(Res::kPods, "get");
  } else if (v < 60) {
    // kubectl exec / port-forward: protocol upgrade, 101 at both stages.
    r.verb = "create";
    Aim(r, Res::kPods, true, &app);
    if (rng_.Chance(200000)) {
      r.target.subresource = "portforward";
      r.query = StrCat("ports=", app.port);
    } else {
      r.target.subresource = "exec";
      r.query =
          rng_.Chance(500000)
              ? StrCat("command=%2Fbin%2Fsh&container=", app.container,
                       "&stdin=true&stdout=true&tty=true")
              : StrCat("command=cat&command=%2Fetc%2Fapp%2Fconfig.yaml&container=", app.container,
                       "&stderr=true&stdout=true");
    }
    r.long_running = true;
    r.started_us = rng_.Range(30 * kMs, 300 * kMs);
    r.started_code = 101;
    r.latency_us = rng_.Range(800 * kMs, 1800 * kSec);
    r.code = 101;
    r.level = rng_.Chance(500000) ? Level::kMetadata : Level::kRequestResponse;
    r.bodies_done = true;  // upgraded connections carry no objects
    if (id.rbac_limited && rng_.Chance(300000)) {
      r.code = 403;
      r.long_running = false;
      r.latency_us = -1;
    }
  } else if (v < 70) {
    // kubectl apply (client-side): a strategic merge patch with last-applied-configuration.
    r.verb = "patch";
    Aim(r, rng_.Chance(500000) ? Res::kDeployments : Res::kConfigMaps, true,
        rng_.Chance(500000) ? nullptr : &app);
    r.query = "fieldManager=kubectl-client-side-apply&fieldValidation=Strict";
    r.level = PolicyLevel(r.target.res, "patch");
    r.code = PickCode("patch");
    write = true;
  } else if (v < 75) {
    r.verb = "create";
    static constexpr Res kKinds[] = {Res::kConfigMaps, Res::kDeployments, Res::kJobs, Res::kSecrets,
                                     Res::kServices};
    const Res res = kKinds[rng_.Index(std::size(kKinds))];
    Aim(r, res, true, res == Res::kDeployments ? nullptr : &app);
    r.query = "fieldManager=kubectl-create&fieldValidation=Strict";
    r.level = PolicyLevel(res, "create");
    r.code = PickCode("create");
    write = true;
  } else if (v < 81) {
    r.verb = "delete";
    Aim(r, rng_.Chance(700000) ? Res::kPods : Res::kConfigMaps, true, &app);
    r.level = PolicyLevel(r.target.res, "delete");
    r.code = PickCode("delete");
    write = true;
  } else if (v < 88) {
    // kubectl scale / rollout restart / label.
    r.verb = "patch";
    const AppInfo& deployment = AppOfKind(Res::kDeployments);
    Aim(r, Res::kDeployments, true, &deployment);
    const uint64_t what = rng_.Below(3);
    if (what == 0) {
      r.target.subresource = "scale";
      r.query = "fieldManager=kubectl-scale";
    } else {
      r.query = what == 1 ? "fieldManager=kubectl-rollout&fieldValidation=Strict"
                          : "fieldManager=kubectl-label&fieldValidation=Strict";
    }
    r.level = PolicyLevel(Res::kDeployments, "patch");
    r.code = PickCode("patch");
    write = true;
  } else {
    // Discovery before every kubectl command.
    r.verb = "get";
    static constexpr std::string_view kPaths[] = {"/api", "/apis", "/version", "/openapi/v3",
                                                  "/apis/apps/v1"};
    Discovery(r, kPaths);
    r.level = Level::kMetadata;
  }
  if (write && id.rbac_limited) {
    const bool own = r.target.ns == "team-a" || r.target.ns == "team-b" ||
                     r.target.ns == "staging" || r.target.ns == "default";
    if (own) {
      r.reason = StrCat(R"(RBAC: allowed by RoleBinding "developers-edit/)", r.target.ns,
                        R"(" of ClusterRole "edit" to Group ")", id.user.groups(0), R"(")");
      r.reason_set = true;
    } else if (r.code < 400) {
      r.code = 403;
    }
  }
}

void Generator::Impl::NonResource(Req& r) {
  const uint64_t v = rng_.Below(100);
  r.verb = "get";
  r.level = Level::kMetadata;
  if (v < 42) {
    // Health probes from the kubelet and load balancers, anonymously.
    static constexpr std::string_view kPaths[] = {"/livez", "/readyz", "/healthz"};
    r.id = &world_.anonymous;
    r.path = std::string(kPaths[rng_.Index(std::size(kPaths))]);
    if (rng_.Chance(50000)) r.query = "verbose";
    r.code = rng_.Chance(2000) ? 500 : 200;
    r.latency_us = rng_.Range(150, 2500);
  } else if (v < 56) {
    r.id = &world_.prometheus;
    r.path = "/metrics";
    r.latency_us = rng_.Range(15 * kMs, 140 * kMs);
  } else if (v < 63) {
    // The aggregator refreshing OpenAPI with an ETag: mostly 304 Not Modified.
    r.id = &world_.aggregator;
    r.path = "/openapi/v2";
    r.code = rng_.Chance(700000) ? 304 : 200;
  } else if (v < 68) {
    r.id = &Operator();
    r.path = "/openapi/v3/apis/apps/v1";
    r.query = "hash=";
    for (int i = 0; i < 8; ++i) AppendHex(rng_.Next(), 16, &r.query);
    r.reason = std::string(kDiscoveryReason);
    r.reason_set = true;
  } else if (v < 97) {
    // Discovery by controllers.
    static constexpr std::string_view kPaths[] = {"/api",
                                                  "/apis",
                                                  "/apis/apps/v1",
                                                  "/apis/metrics.k8s.io/v1beta1",
                                                  "/apis/cert-manager.io/v1",
                                                  "/version"};
    r.id = rng_.Chance(500000) ? &Operator()
                               : &world_.controllers[rng_.Index(world_.controllers.size())];
    Discovery(r, kPaths);
    if (r.path == "/apis/metrics.k8s.io/v1beta1" && rng_.Chance(50000)) r.code = 503;
  } else {
    // Scanners poking anonymously: HEAD / and friends are forbidden.
    static const std::vector<std::string> kScanners[] = {{"45.148.10.242"},
                                                         {"193.142.146.35", "10.0.0.5"}};
    r.id = &world_.anonymous;
    r.source_ips = &kScanners[rng_.Below(2)];
    r.user_agent = rng_.Chance(500000) ? "Mozilla/5.0 zgrab/0.x" : "curl/8.5.0";
    r.path = rng_.Chance(500000) ? "/" : "/api/v1/namespaces/kube-system/secrets";
    r.verb = r.path == "/" ? "head" : "list";
    if (r.path != "/") {
      r.path.clear();
      r.target.res = Res::kSecrets;
      r.target.ns = "kube-system";
    }
    r.code = 403;
    r.forbid = true;
  }
}

// A request whose credentials failed: empty user, one ResponseStarted event with 401.
void Generator::Impl::FailedAuth(Req& r) {
  r.failed_auth = true;
  r.no_authz = true;
  r.code = 401;
  const uint64_t v = rng_.Below(3);
  static const Identity kNobody;
  r.id = &kNobody;
  if (v == 0) {
    // An operator with an expired token (its pod's IP, its user agent).
    const Identity& op = Operator();
    r.id = &op;
    r.auth_message = "Authentication failed, attempted: bearer";
    r.verb = "get";
    Aim(r, op.resources[0], true);
  } else if (v == 1) {
    r.user_agent = "python-requests/2.32.3";
    r.auth_message = "Authentication failed, attempted: bearer";
    r.verb = "list";
    Aim(r, Res::kSecrets, false);
    r.target.ns.clear();
  } else {
    r.user_agent = StrCat("kubectl/v1.29.3 (linux/amd64) kubernetes/6813625");
    r.auth_message = "Authentication failed, attempted: x509";
    r.verb = "get";
    r.path = "/version";
    r.query = "timeout=32s";
  }
  r.level = rng_.Chance(500000) ? Level::kMetadata : Level::kRequestResponse;
  r.latency_us = rng_.Range(80, 2000);
}

void Generator::Impl::Impersonation(Req& r) {
  const Identity& admin = world_.humans[rng_.Chance(500000) ? 0 : 4];
  r.id = &admin;
  const bool as_sa = rng_.Chance(600000);
  const Identity& subject = as_sa ? Operator() : world_.humans[1];
  r.impersonated = &subject;
  const uint64_t v = rng_.Below(3);
  if (v == 0) {
    r.verb = "list";
    Aim(r, Res::kPods, false, &UserApp());
    ListQuery(r, false);
    r.code = 200;
  } else if (v == 1) {
    r.verb = "get";
    Aim(r, Res::kSecrets, true, &UserApp());
    r.code = 403;
  } else {
    r.verb = "create";
    Aim(r, Res::kConfigMaps, true, &UserApp());
    r.query = "fieldManager=kubectl-create&fieldValidation=Strict";
    r.code = rng_.Chance(500000) ? 201 : 403;
  }
  if (r.code < 400) {
    r.reason = subject.reason;
    r.reason_set = true;
  }
  r.level = PolicyLevel(r.target.res, r.verb);
}

void Generator::Impl::AccessReview(Req& r) {
  const bool token = rng_.Chance(300000);
  const bool metrics = rng_.Chance(500000);
  r.id = metrics ? &world_.metrics_server : &world_.prometheus;
  if (!metrics) {
    r.reason =
        R"(RBAC: allowed by ClusterRoleBinding "prometheus-k8s-auth-delegator" of ClusterRole "system:auth-delegator" to ServiceAccount "prometheus-k8s/monitoring")";
    r.reason_set = true;
  }
  r.verb = "create";
  r.target.res = token ? Res::kTokenReviews : Res::kSubjectAccessReviews;
  r.query = "timeout=10s";
  r.code = 201;
  if (token) {
    r.level = Level::kMetadata;
    return;
  }
  static constexpr Weighted<Level> kLevels[] = {
      {20, Level::kMetadata}, {10, Level::kRequest}, {70, Level::kRequestResponse}};
  r.level = Pick(rng_, kLevels);
  r.bodies_done = true;
  const Identity& subject = rng_.Chance(500000) ? Operator() : world_.prometheus;
  Req about;
  Aim(about, rng_.Chance(500000) ? Res::kPods : Res::kNodes, rng_.Chance(300000));
  if (r.level != Level::kMetadata) {
    objects_.SubjectAccessReview(subject, about.target, false, pending_.mutable_request_object());
  }
  if (r.level == Level::kRequestResponse) {
    objects_.SubjectAccessReview(subject, about.target, true, pending_.mutable_response_object());
  }
}

// The rare big ones: a ConfigMap holding a whole CA bundle, or a large list.
void Generator::Impl::BigObject(Req& r) {
  r.level = Level::kRequestResponse;
  r.code = 200;
  if (rng_.Chance(650000)) {
    r.id = &Operator();
    r.verb = "get";
    Aim(r, Res::kConfigMaps, true);
    r.target.name = rng_.Chance(500000) ? "trusted-ca-bundle" : "ca-certificates";
    r.target.ca_bundle = true;
    return;
  }
  r.id = rng_.Chance(500000) ? &world_.humans[0] : &Operator();
  r.verb = "list";
  static constexpr Res kKinds[] = {Res::kPods, Res::kNodes, Res::kDeployments};
  const Res res = kKinds[rng_.Index(std::size(kKinds))];
  Aim(r, res, false);
  r.target.ns.clear();
  r.query = "limit=500";
  r.bodies_done = true;
  objects_.List(r.target, static_cast<int>(rng_.Range(20, 120)),
                pending_.mutable_response_object());
}

void Generator::Impl::MetricsApi(Req& r) {
  r.id = &Controller("horizontal-pod-autoscaler");
  const AppInfo& app = UserApp();
  r.verb = "list";
  r.target.res = Res::kPodMetrics;
  r.target.ns = app.ns;
  r.target.app = &app;
  r.query = StrCat("labelSelector=app%3D", app.name);
  r.level = Level::kMetadata;
  r.code = rng_.Chance(50000) ? 503 : 200;
}

// Controllers creating and deleting pods, scaling ReplicaSets, creating Jobs.
void Generator::Impl::WorkloadChurn(Req& r) {
  const uint64_t v = rng_.Below(100);
  if (v < 35) {
    // ReplicaSet controller creates a pod with generateName: no name in objectRef.
    r.id = &Controller("replicaset-controller");
    const AppInfo& app = AppOfKind(Res::kDeployments);
    r.verb = "create";
    Aim(r, Res::kPods, false, &app);
    r.target.fresh = true;
    r.level = PolicyLevel(Res::kPods, "create");
    r.code = PickCode("create");
    if (r.code == 409) r.code = 201;
    const NamespaceInfo& ns = world_.namespaces[world_.FindNamespace(app.ns)];
    const bool versioned = rng_.Chance(300000);
    r.annotations.emplace_back(
        "pod-security.kubernetes.io/enforce-policy",
        StrCat(ns.pod_security, ":",
               versioned ? StrCat("v1.", world_.minor_version) : std::string("latest")));
    if (ns.pod_security == "restricted" && rng_.Chance(100000)) {
      r.code = 403;
      r.annotations.emplace_back(
          "pod-security.kubernetes.io/audit-violations",
          StrCat(
              R"(would violate PodSecurity "restricted:latest": allowPrivilegeEscalation != false (container ")",
              app.container,
              R"(" must set securityContext.allowPrivilegeEscalation=false), unrestricted capabilities (container ")",
              app.container,
              R"(" must set securityContext.capabilities.drop=["ALL"]), runAsNonRoot != true (pod or container ")",
              app.container, R"(" must set securityContext.runAsNonRoot=true))"));
    } else if (ns.pod_security == "baseline" && rng_.Chance(200000)) {
      r.annotations.emplace_back(
          "pod-security.kubernetes.io/audit-violations",
          StrCat(
              R"(would violate PodSecurity "restricted:latest": seccompProfile (pod or container ")",
              app.container,
              R"(" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost"))"));
    }
    if (app.sidecar && r.code == 201) {
      r.annotations.emplace_back(
          "mutation.webhook.admission.k8s.io/round_0_index_0",
          R"({"configuration":"istio-sidecar-injector","webhook":"namespace.sidecar-injector.istio.io","mutated":true})");
      if (r.level != Level::kMetadata) {
        r.annotations.emplace_back(
            "patch.webhook.admission.k8s.io/round_0_index_0",
            R"({"configuration":"istio-sidecar-injector","webhook":"namespace.sidecar-injector.istio.io","patch":[{"op":"add","path":"/spec/containers/1","value":{"name":"istio-proxy","image":"docker.io/istio/proxyv2:1.24.2"}},{"op":"add","path":"/metadata/labels/security.istio.io~1tlsMode","value":"istio"}],"patchType":"JSONPatch"})");
      }
    }
  } else if (v < 55) {
    r.id = &Controller(rng_.Chance(500000) ? "replicaset-controller" : "generic-garbage-collector");
    r.verb = "delete";
    Aim(r, Res::kPods, true, &AppOfKind(Res::kDeployments));
    r.target.deleting = true;
    r.level = PolicyLevel(Res::kPods, "delete");
    r.code = rng_.Chance(50000) ? 404 : 200;
  } else if (v < 70) {
    r.id = &Controller("deployment-controller");
    r.verb = "update";
    Aim(r, rng_.Chance(500000) ? Res::kReplicaSets : Res::kDeployments, true);
    if (r.target.res == Res::kDeployments) r.target.subresource = "status";
    r.level = PolicyLevel(r.target.res, "update");
    r.code = PickCode("update");
  } else if (v < 80) {
    r.id = &Controller("endpointslice-controller");
    r.verb = "update";
    Aim(r, Res::kEndpointSlices, true);
    r.level = PolicyLevel(Res::kEndpointSlices, "update");
    r.code = PickCode("update");
  } else if (v < 88) {
    r.id = &Controller("cronjob-controller");
    r.verb = "create";
    Aim(r, Res::kJobs, true);
    r.level = PolicyLevel(Res::kJobs, "create");
    r.code = rng_.Chance(30000) ? 409 : 201;
  } else if (v < 96) {
    r.id = &Controller("job-controller");
    r.verb = "update";
    Aim(r, Res::kJobs, true);
    r.target.subresource = "status";
    r.level = PolicyLevel(Res::kJobs, "update");
    r.code = PickCode("update");
  } else {
    // Namespace deletion sweeps collections.
    r.id = &Controller("namespace-controller");
    r.verb = "deletecollection";
    static constexpr Res kKinds[] = {Res::kPods, Res::kConfigMaps, Res::kReplicaSets,
                                     Res::kEndpointSlices, Res::kServiceAccounts};
    Aim(r, kKinds[rng_.Index(std::size(kKinds))], false);
    r.level = PolicyLevel(r.target.res, "deletecollection");
    r.code = 200;
  }
}

// --- Assembly -------------------------------------------------------------------------

void Generator::Impl::AppendUri(const Req& r, std::string* out) const {
  if (!r.path.empty()) {
    out->append(r.path);
  } else {
    const Target& t = r.target;
    const ResourceType& type = ResourceOf(t.res);
    if (type.group.empty()) {
      StrAppend(out, "/api/", type.version);
    } else {
      StrAppend(out, "/apis/", type.group, "/", type.version);
    }
    if (type.namespaced && !t.ns.empty()) StrAppend(out, "/namespaces/", t.ns);
    StrAppend(out, "/", type.resource);
    // A watch or list names no object in its path (kubelet watches use a field selector).
    const bool collection = r.verb == "list" || r.verb == "watch" || r.verb == "deletecollection" ||
                            (r.verb == "create" && t.subresource.empty());
    if (!t.name.empty() && !collection) StrAppend(out, "/", t.name);
    if (!t.subresource.empty()) StrAppend(out, "/", t.subresource);
  }
  if (!r.query.empty()) StrAppend(out, "?", r.query);
}

Failure Generator::Impl::FailureFor(const Req& r) const {
  Failure f;
  const Target& t = r.target;
  const ResourceType& type = ResourceOf(t.res);
  const std::string qualified =
      type.group.empty() ? std::string(type.resource) : StrCat(type.resource, ".", type.group);
  const bool named =
      !t.name.empty() && r.verb != "list" && r.verb != "watch" && r.verb != "deletecollection";
  auto details = [&](std::string_view kind, std::string_view causes) {
    std::string out;
    JsonWriter w(&out);
    w.BeginObject();
    if (named) w.Str("name", t.name);
    if (!type.group.empty()) w.Str("group", type.group);
    w.Str("kind", kind);
    if (!causes.empty()) w.Key("causes").Raw(causes);
    w.EndObject();
    return out;
  };
  // The causes of a 422: one invalid field.
  auto invalid_value = [](std::string_view message, std::string_view field) {
    std::string out;
    JsonWriter w(&out);
    w.BeginArray()
        .BeginObject()
        .Str("reason", "FieldValueInvalid")
        .Str("message", message)
        .Str("field", field)
        .EndObject()
        .EndArray();
    return out;
  };
  switch (r.code) {
    case 403: {
      f.status = "Failure";
      f.reason = "Forbidden";
      const Identity* who = r.impersonated != nullptr ? r.impersonated : r.id;
      if (!r.path.empty()) {
        f.message = StrCat("forbidden: User \"", who->user.username(), "\" cannot ", r.verb,
                           " path \"", r.path, "\"");
        f.details = "{}";
        break;
      }
      // The authorizer does not know the name of an object being created.
      const bool with_name = named && r.verb != "create";
      const std::string resource = t.subresource.empty()
                                       ? std::string(type.resource)
                                       : StrCat(type.resource, "/", t.subresource);
      f.message = StrCat(qualified, with_name ? StrCat(" \"", t.name, "\"") : "",
                         " is forbidden: User \"", who->user.username(), "\" cannot ", r.verb,
                         " resource \"", resource, "\" in API group \"", type.group, "\"",
                         t.ns.empty() ? std::string(" at the cluster scope")
                                      : StrCat(" in the namespace \"", t.ns, "\""));
      // Pod Security admission rejections name the violated policy instead.
      for (const auto& [key, value] : r.annotations) {
        if (key == "pod-security.kubernetes.io/audit-violations") {
          f.message = StrCat("pods \"", t.pod != nullptr ? t.pod->name : t.name,
                             "\" is forbidden: violates PodSecurity \"restricted:latest\"",
                             value.substr(value.find("\": ") + 1));
        }
      }
      f.details = details(type.resource, "");
      break;
    }
    case 404:
      f.status = "Failure";
      f.reason = "NotFound";
      if (r.verb == "create") {
        // Creating in a namespace that does not exist (any more).
        f.message = StrCat("namespaces \"", t.ns, "\" not found");
        f.details = StrCat(R"({"name":")", t.ns, R"(","kind":"namespaces"})");
        break;
      }
      f.message = StrCat(qualified, " \"", t.name, "\" not found");
      f.details = details(type.resource, "");
      break;
    case 409:
      f.status = "Failure";
      if (r.verb == "create") {
        f.reason = "AlreadyExists";
        f.message = StrCat(qualified, " \"", t.name, "\" already exists");
      } else {
        f.reason = "Conflict";
        f.message = StrCat("Operation cannot be fulfilled on ", qualified, " \"", t.name,
                           "\": the object has been modified; please apply your changes "
                           "to the latest version and try again");
      }
      f.details = details(type.resource, "");
      break;
    case 422: {
      f.status = "Failure";
      f.reason = "Invalid";
      const std::string kind =
          type.group.empty() ? std::string(type.kind) : StrCat(type.kind, ".", type.group);
      if (t.res == Res::kConfigMaps || t.res == Res::kSecrets) {
        constexpr std::string_view kMsg =
            R"(Invalid value: "Config_Main": a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+'))";
        f.message = StrCat(kind, " \"", t.name, "\" is invalid: data[Config_Main]: ", kMsg);
        f.details = details(type.kind, invalid_value(kMsg, "data[Config_Main]"));
      } else if (t.res != Res::kDeployments && t.res != Res::kStatefulSets &&
                 t.res != Res::kDaemonSets && t.res != Res::kReplicaSets && t.res != Res::kJobs &&
                 t.res != Res::kPods) {
        constexpr std::string_view kMsg =
            R"(Invalid value: "-canary": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]'))";
        f.message = StrCat(kind, " \"", t.name, "\" is invalid: metadata.labels: ", kMsg);
        f.details = details(type.kind, invalid_value(kMsg, "metadata.labels"));
      } else {
        f.message = StrCat(kind, " \"", t.name,
                           "\" is invalid: spec.template.spec.containers[0].image: Required value");
        f.details = details(
            type.kind,
            R"([{"reason":"FieldValueRequired","message":"Required value","field":"spec.template.spec.containers[0].image"}])");
      }
      break;
    }
    case 500:
      f.status = "Failure";
      f.reason = "InternalError";
      if (!r.path.empty()) {
        f.status.clear();
        f.reason.clear();
        break;  // a failing health check writes plain text: code only
      }
      if (r.verb == "get" || r.verb == "list" || r.verb == "watch") {
        f.message = "Internal error occurred: etcdserver: request timed out";
        f.details = R"({"causes":[{"message":"etcdserver: request timed out"}]})";
        break;
      }
      f.message = StrCat(
          "Internal error occurred: failed calling webhook \"validate.kyverno.svc-fail\": failed "
          "to "
          "call webhook: Post \"https://kyverno-svc.kyverno.svc:443/validate/fail?timeout=10s\": "
          "context deadline exceeded");
      f.details =
          R"({"causes":[{"message":"failed calling webhook \"validate.kyverno.svc-fail\": failed to call webhook: Post \"https://kyverno-svc.kyverno.svc:443/validate/fail?timeout=10s\": context deadline exceeded"}]})";
      // The URL's '&'-free, but Go would escape '<', '>' and '&': none here.
      break;
    case 503:
      f.status = "Failure";
      f.reason = "ServiceUnavailable";
      f.message = "the server is currently unable to handle the request";
      f.details =
          R"({"causes":[{"reason":"UnexpectedServerResponse","message":"service unavailable"}]})";
      if (!r.path.empty()) f.details = "{}";
      break;
    default:
      break;  // 429 from priority-and-fairness writes plain text: code only
  }
  return f;
}

void Generator::Impl::AppendFailureJson(const Failure& f, int code, bool with_kind,
                                        std::string* out) const {
  JsonWriter w(out);
  w.BeginObject();
  if (with_kind) w.Str("kind", "Status").Str("apiVersion", "v1");
  w.Empty("metadata");
  if (!f.status.empty()) w.Str("status", f.status);
  if (!f.message.empty()) w.Str("message", f.message);
  if (!f.reason.empty()) w.Str("reason", f.reason);
  if (!f.details.empty()) w.Key("details").Raw(f.details);
  w.Num("code", code);
  w.EndObject();
}

// Written by recent apiservers when a request took more than 500 ms: the total and a few
// layers, as Go durations ("3.23366ms", "10m42.197682357s").
void Generator::Impl::AddLatencyAnnotations(int64_t latency_us, bool write, Event* e) {
  auto* annotations = e->mutable_annotations();
  const int64_t total_ns = latency_us * 1000 + rng_.Range(0, 999);
  std::string value;
  AppendGoDuration(total_ns, &value);
  (*annotations)["apiserver.latency.k8s.io/total"] = value;
  value.clear();
  AppendGoDuration(rng_.Range(150000, 4000000), &value);
  (*annotations)["apiserver.latency.k8s.io/etcd"] = value;
  const uint64_t extra = rng_.Below(4);
  const size_t first_key = write ? 0 : 2;
  for (uint64_t i = 0; i < extra; ++i) {
    value.clear();
    AppendGoDuration(rng_.Range(800, 40000000), &value);
    const size_t key = first_key + rng_.Index(std::size(kLatencyKeys) - first_key);
    (*annotations)[std::string(kLatencyKeys[key])] = value;
  }
}

// Request/response objects for a request whose scenario did not write them: what the
// apiserver logs for each verb at Request/RequestResponse level.
void Generator::Impl::DefaultBodies(Req& r, Event* e) {
  const bool success = r.code < 300 || r.code == 304;
  const bool want_request = r.level != Level::kMetadata;
  const bool want_response = r.level == Level::kRequestResponse;
  const std::string& verb = r.verb;
  const bool write = verb == "create" || verb == "update" || verb == "patch" || verb == "delete" ||
                     verb == "deletecollection";
  const int64_t old_rv = r.old_rv;
  const int64_t new_rv = write && success ? objects_.NextResourceVersion() : 0;
  if (!r.path.empty() || verb == "watch") return;
  if (r.target.res == Res::kSubjectAccessReviews || r.target.res == Res::kTokenReviews) return;
  if (r.target.res == Res::kServiceAccounts && r.target.subresource == "token") return;
  if (r.target.subresource == "log") return;

  if (want_request) {
    if (verb == "create") {
      objects_.Object(r.target, Form::kRequest, 0, e->mutable_request_object());
    } else if (verb == "update") {
      objects_.Object(r.target, Form::kStored, old_rv, e->mutable_request_object());
    } else if (verb == "patch") {
      objects_.MergePatch(r.target, e->mutable_request_object());
    } else if (verb == "delete" || verb == "deletecollection") {
      if (rng_.Chance(700000)) objects_.DeleteOptions(r.target, e->mutable_request_object());
    }
  }
  if (!want_response) return;
  if (!success) {
    if (r.code == 429) return;
    Failure f = FailureFor(r);
    if (f.status.empty()) return;
    AppendFailureJson(f, r.code, /*with_kind=*/true, e->mutable_response_object());
    return;
  }
  if (verb == "get" || verb == "create" || verb == "update" || verb == "patch") {
    Target t = r.target;
    if (verb == "create") t.fresh = true;
    objects_.Object(t, Form::kStored, verb == "get" ? old_rv : new_rv,
                    e->mutable_response_object());
  } else if (verb == "delete") {
    if (r.target.res == Res::kPods) {
      objects_.Object(r.target, Form::kStored, new_rv, e->mutable_response_object());
    } else {
      objects_.SuccessStatus(r.target, e->mutable_response_object());
    }
  } else if (verb == "list") {
    if (r.target.res == Res::kPodMetrics) return;
    objects_.List(r.target, static_cast<int>(rng_.Range(1, 4)), e->mutable_response_object());
  } else if (verb == "deletecollection") {
    objects_.List(r.target, static_cast<int>(rng_.Range(0, 4)), e->mutable_response_object());
  }
}

void Generator::Impl::Finish(Req& r) {
  Event& e = pending_;
  const int64_t received = now_us_;
  r.old_rv = objects_.OlderResourceVersion();
  e.set_level(std::string(LevelName(r.level)));
  std::string* audit_id = e.mutable_audit_id();
  AppendUuid(rng_.Next(), rng_.Next(), audit_id);
  std::string* uri = e.mutable_request_uri();
  AppendUri(r, uri);
  e.set_verb(r.verb);

  // Who.
  if (r.failed_auth) {
    e.mutable_user();  // present but empty: "user":{}
  } else {
    e.mutable_user()->CopyFrom(r.id->user);
  }
  if (r.impersonated != nullptr) {
    // The impersonation filter records the requested identity; for service accounts it
    // adds their groups, and always system:authenticated.
    UserInfo* imp = e.mutable_impersonated_user();
    imp->set_username(r.impersonated->user.username());
    for (const std::string& g : r.impersonated->user.groups()) imp->add_groups(g);
    imp->set_present_fields(kUserGroupsBit);
  }
  static const std::vector<std::string> kScannerIps = {"45.148.10.242"};
  const std::vector<std::string>* ips = r.source_ips != nullptr ? r.source_ips : &r.id->source_ips;
  if (ips->empty()) ips = &kScannerIps;
  for (const std::string& ip : *ips) e.add_source_ips(ip);
  e.set_present_fields(e.present_fields() | kEventSourceIpsBit);
  const std::string& ua = r.user_agent.empty() ? r.id->user_agent : r.user_agent;
  if (!ua.empty()) e.set_user_agent(ua);

  // What.
  if (r.path.empty()) {
    const Target& t = r.target;
    const ResourceType& type = ResourceOf(t.res);
    auto* ref = e.mutable_object_ref();
    ref->set_resource(std::string(type.resource));
    // Namespace objects are addressed as /api/v1/namespaces/<name>: the apiserver's
    // request info treats the name as the namespace too.
    if (t.res == Res::kNamespaces && !t.name.empty() && r.verb != "list" && r.verb != "watch") {
      ref->set_namespace_(t.name);
    } else if (!t.ns.empty()) {
      ref->set_namespace_(t.ns);
    }
    const bool list_like = r.verb == "list" || r.verb == "deletecollection";
    const bool watch_named =
        r.verb == "watch" && r.query.find("fieldSelector=metadata.name") != std::string::npos;
    // Requests rejected before the handler decoded the body (authentication, flow control,
    // authorization) lack what objectRef takes from the body: a created object's name, an
    // updated object's uid and resourceVersion.
    const bool admission_denied = !r.annotations.empty();
    const bool rejected_early =
        r.failed_auth || r.code == 429 || (r.code == 403 && !admission_denied);
    const bool create_named = r.verb == "create" && !t.fresh && !rejected_early &&
                              r.target.res != Res::kSubjectAccessReviews &&
                              r.target.res != Res::kTokenReviews;
    if (!t.name.empty() && !list_like && (r.verb != "watch" || watch_named) &&
        (r.verb != "create" || create_named || !t.subresource.empty())) {
      ref->set_name(t.name);
    }
    if (r.verb == "update" && r.code != 404 && !t.name.empty() && !rejected_early) {
      ref->set_uid(t.pod != nullptr && t.res == Res::kPods
                       ? t.pod->uid
                       : world_.StableUid(type.kind, t.ns, t.name));
      ref->set_resource_version(StrCat(r.old_rv));
    }
    if (!type.group.empty()) ref->set_api_group(std::string(type.group));
    ref->set_api_version(std::string(type.version));
    if (!t.subresource.empty()) ref->set_subresource(t.subresource);
  }

  // Outcome.
  auto* status = e.mutable_response_status();
  status->set_metadata("{}");
  if (r.failed_auth) {
    status->set_message(r.auth_message);
  } else if (r.code >= 400) {
    const Failure f = FailureFor(r);
    if (!f.status.empty()) status->set_status(f.status);
    if (!f.message.empty()) status->set_message(f.message);
    if (!f.reason.empty()) status->set_reason(f.reason);
    if (!f.details.empty()) status->set_details(f.details);
  } else if (r.success_status) {
    status->set_status("Success");
  } else if (r.verb == "delete" && r.target.res != Res::kPods) {
    // A delete answered with a Status body: its fields are copied into responseStatus.
    status->set_status("Success");
    std::string details;
    JsonWriter w(&details);
    const ResourceType& type = ResourceOf(r.target.res);
    w.BeginObject().Str("name", r.target.name);
    if (!type.group.empty()) w.Str("group", type.group);
    w.Str("kind", type.resource)
        .Str("uid", world_.StableUid(type.kind, r.target.ns, r.target.name))
        .EndObject();
    status->set_details(details);
  }
  status->set_code(r.code);

  // Bodies.
  if (!r.bodies_done && !r.failed_auth) DefaultBodies(r, &e);
  if (r.code == 403 || r.code == 401 || r.code == 429) {
    // Rejected before the handler ran: no request body was read.
    e.clear_request_object();
  }

  // When. A long-running request that failed (a forbidden watch) ends at once.
  if (r.code >= 400 && r.latency_us > 60 * kSec) r.latency_us = -1;
  int64_t latency = r.latency_us >= 0 ? r.latency_us : PickFromBuckets(rng_, kLatencies);
  Stage final_stage = Stage::kResponseComplete;
  if (!r.failed_auth && rng_.Chance(40)) {
    // An apiserver panic (very rare): logged as a Panic stage with a 500.
    final_stage = Stage::kPanic;
    status->Clear();
    status->set_metadata("{}");
    status->set_status("Failure");
    status->set_message(
        "APIServer panic'd: runtime error: invalid memory address or nil pointer dereference");
    status->set_reason("InternalError");
    status->set_code(500);
    e.clear_response_object();
    r.long_running = false;
    latency = rng_.Range(kMs, 50 * kMs);
  }
  e.set_request_received_timestamp_us(received);
  e.set_stage_timestamp_us(received + latency);

  // Annotations (not on a failed authentication, nor on a 429 from flow control, which
  // rejects the request before authorization runs).
  if (r.code == 429) r.no_authz = true;
  bool any_annotation = false;
  auto* annotations = e.mutable_annotations();
  if (!r.no_authz) {
    const bool forbid = r.forbid || (r.code == 403 && r.annotations.empty());
    (*annotations)["authorization.k8s.io/decision"] = forbid ? "forbid" : "allow";
    (*annotations)["authorization.k8s.io/reason"] =
        forbid ? std::string() : (r.reason_set ? r.reason : r.id->reason);
    any_annotation = true;
  }
  for (auto& [key, value] : r.annotations) {
    (*annotations)[key] = value;
    any_annotation = true;
  }
  if (r.id->legacy_token && !r.failed_auth) {
    (*annotations)["authentication.k8s.io/legacy-token"] = r.id->user.username();
    any_annotation = true;
  }
  if (latency > 500 * kMs && final_stage != Stage::kPanic && !r.failed_auth) {
    const bool write = r.verb != "get" && r.verb != "list" && r.verb != "watch";
    AddLatencyAnnotations(latency, write, &e);
    any_annotation = true;
  }
  if (any_annotation) e.set_present_fields(e.present_fields() | kEventAnnotationsBit);

  // Stages.
  stage_count_ = 0;
  stage_next_ = 0;
  if (r.failed_auth) {
    stages_[stage_count_++] = Stage::kResponseStarted;
    e.set_stage(std::string(StageName(Stage::kResponseStarted)));
    return;
  }
  if (rng_.Chance(80000)) stages_[stage_count_++] = Stage::kRequestReceived;
  if (r.long_running && r.code < 400) {
    stages_[stage_count_++] = Stage::kResponseStarted;
    started_at_us_ = received + (r.started_us < latency ? r.started_us : latency);
    started_code_ = r.started_code;
  }
  stages_[stage_count_++] = final_stage;
  e.set_stage(std::string(StageName(final_stage)));
}

// --------------------------------------------------------------------------------------------

Generator::Generator(uint64_t seed, int64_t start_time_us)
    : impl_(std::make_unique<Impl>(seed, start_time_us)) {}

Generator::~Generator() = default;

void Generator::Next(kubetrail::v1::Event* event) { impl_->Next(event); }

kubetrail::v1::Event Generator::Next() {
  kubetrail::v1::Event event;
  impl_->Next(&event);
  return event;
}

uint64_t Generator::events_generated() const { return impl_->events(); }
uint64_t Generator::requests_generated() const { return impl_->requests(); }

}  // namespace kubetrail::loadgen
