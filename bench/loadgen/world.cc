#include "bench/loadgen/world.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "bench/loadgen/format.h"
#include "bench/loadgen/rng.h"

namespace kubetrail::loadgen {
namespace {

using ::kubetrail::v1::ExtraValue;
using ::kubetrail::v1::UserInfo;

constexpr ResourceType kResourceTypes[] = {
    {"pods", "", "v1", "Pod", true},
    {"configmaps", "", "v1", "ConfigMap", true},
    {"secrets", "", "v1", "Secret", true},
    {"services", "", "v1", "Service", true},
    {"endpoints", "", "v1", "Endpoints", true},
    {"events", "", "v1", "Event", true},
    {"serviceaccounts", "", "v1", "ServiceAccount", true},
    {"namespaces", "", "v1", "Namespace", false},
    {"nodes", "", "v1", "Node", false},
    {"persistentvolumeclaims", "", "v1", "PersistentVolumeClaim", true},
    {"deployments", "apps", "v1", "Deployment", true},
    {"replicasets", "apps", "v1", "ReplicaSet", true},
    {"statefulsets", "apps", "v1", "StatefulSet", true},
    {"daemonsets", "apps", "v1", "DaemonSet", true},
    {"leases", "coordination.k8s.io", "v1", "Lease", true},
    {"endpointslices", "discovery.k8s.io", "v1", "EndpointSlice", true},
    {"events", "events.k8s.io", "v1", "Event", true},
    {"jobs", "batch", "v1", "Job", true},
    {"cronjobs", "batch", "v1", "CronJob", true},
    {"ingresses", "networking.k8s.io", "v1", "Ingress", true},
    {"networkpolicies", "networking.k8s.io", "v1", "NetworkPolicy", true},
    {"roles", "rbac.authorization.k8s.io", "v1", "Role", true},
    {"rolebindings", "rbac.authorization.k8s.io", "v1", "RoleBinding", true},
    {"clusterroles", "rbac.authorization.k8s.io", "v1", "ClusterRole", false},
    {"clusterrolebindings", "rbac.authorization.k8s.io", "v1", "ClusterRoleBinding", false},
    {"subjectaccessreviews", "authorization.k8s.io", "v1", "SubjectAccessReview", false},
    {"tokenreviews", "authentication.k8s.io", "v1", "TokenReview", false},
    {"customresourcedefinitions", "apiextensions.k8s.io", "v1", "CustomResourceDefinition", false},
    {"horizontalpodautoscalers", "autoscaling", "v2", "HorizontalPodAutoscaler", true},
    {"pods", "metrics.k8s.io", "v1beta1", "PodMetrics", true},
    {"mutatingwebhookconfigurations", "admissionregistration.k8s.io", "v1",
     "MutatingWebhookConfiguration", false},
    {"certificates", "cert-manager.io", "v1", "Certificate", true},
    {"certificaterequests", "cert-manager.io", "v1", "CertificateRequest", true},
    {"applications", "argoproj.io", "v1alpha1", "Application", true},
    {"servicemonitors", "monitoring.coreos.com", "v1", "ServiceMonitor", true},
};
static_assert(sizeof(kResourceTypes) / sizeof(kResourceTypes[0]) ==
              static_cast<size_t>(Res::kCount));

// Application namespaces and the workloads that may run in them.
constexpr std::string_view kAppNamespaces[] = {
    "default", "payments",      "checkout", "catalog", "search",  "web",
    "auth",    "data-pipeline", "team-a",   "team-b",  "staging", "ml-serving",
};
constexpr std::string_view kAppNames[] = {
    "web",     "api",          "frontend",   "backend",    "worker",   "redis",  "postgres",
    "cart",    "orders",       "inventory",  "gateway",    "notifier", "cache",  "ingest",
    "indexer", "model-server", "auth-proxy", "search-api", "billing",  "ledger",
};

// In-cluster operators: namespace, service account (also the Deployment name), user agent,
// leader-election lease (namespace, name), field manager and what they reconcile.
struct OperatorDef {
  std::string_view ns;
  std::string_view sa;
  std::string_view user_agent;  // "{v}" and "{sha}" are not used: these are fixed builds
  std::string_view lease_ns;
  std::string_view lease_name;
  std::string_view manager;
  std::string_view image;
  Res resources[8];
  int resource_count;
};

constexpr OperatorDef kOperators[] = {
    {"cert-manager",
     "cert-manager",
     "cert-manager-controller/v1.16.2 (linux/amd64) "
     "cert-manager/c6d3a5b5d0b0eaa6f4d1a1a1e7a8a0f49c9f5ad4",
     "kube-system",
     "cert-manager-controller",
     "cert-manager-certificates-issuing",
     "quay.io/jetstack/cert-manager-controller:v1.16.2",
     {Res::kCertificates, Res::kCertificates, Res::kCertificateRequests, Res::kSecrets,
      Res::kIngresses, Res::kEvents},
     6},
    {"argocd",
     "argocd-application-controller",
     "argocd-application-controller/v2.13.2+dc43124 (linux/amd64) kubernetes/$Format",
     "",
     "",
     "argocd-controller",
     "quay.io/argoproj/argocd:v2.13.2",
     {Res::kApplications, Res::kApplications, Res::kDeployments, Res::kServices, Res::kConfigMaps,
      Res::kIngresses, Res::kStatefulSets, Res::kSecrets},
     8},
    {"monitoring",
     "prometheus-operator",
     "PrometheusOperator/0.78.2 (linux/amd64) kubernetes/$Format",
     "monitoring",
     "prometheus-operator-lock",
     "PrometheusOperator",
     "quay.io/prometheus-operator/prometheus-operator:v0.78.2",
     {Res::kServiceMonitors, Res::kServiceMonitors, Res::kStatefulSets, Res::kSecrets,
      Res::kConfigMaps, Res::kServices, Res::kEndpoints},
     7},
    {"monitoring",
     "kube-state-metrics",
     "kube-state-metrics/v2.14.0 (linux/amd64) kubernetes/$Format",
     "",
     "",
     "kube-state-metrics",
     "registry.k8s.io/kube-state-metrics/kube-state-metrics:v2.14.0",
     {Res::kPods, Res::kDeployments, Res::kNodes, Res::kReplicaSets, Res::kJobs,
      Res::kPersistentVolumeClaims, Res::kNamespaces, Res::kServices},
     8},
    {"ingress-nginx",
     "ingress-nginx",
     "nginx-ingress-controller/v1.12.0 (linux/amd64) ingress-nginx/ba7e1a86bd5d7d3e1b4d7d6e8e2f",
     "ingress-nginx",
     "ingress-nginx-leader",
     "nginx-ingress-controller",
     "registry.k8s.io/ingress-nginx/controller:v1.12.0",
     {Res::kIngresses, Res::kIngresses, Res::kEndpointSlices, Res::kServices, Res::kSecrets,
      Res::kConfigMaps, Res::kEvents},
     7},
    {"kube-system",
     "coredns",
     "coredns/1.11.3 (linux/amd64) kubernetes/$Format",
     "",
     "",
     "coredns",
     "registry.k8s.io/coredns/coredns:v1.11.3",
     {Res::kEndpointSlices, Res::kServices, Res::kNamespaces},
     3},
    {"logging",
     "fluent-bit",
     "fluent-bit/3.2.2",
     "",
     "",
     "fluent-bit",
     "cr.fluentbit.io/fluent/fluent-bit:3.2.2",
     {Res::kPods, Res::kPods, Res::kNamespaces},
     3},
    {"istio-system",
     "istiod",
     "pilot-discovery/1.24.2",
     "istio-system",
     "istio-leader",
     "pilot-discovery",
     "docker.io/istio/pilot:1.24.2",
     {Res::kConfigMaps, Res::kMutatingWebhookConfigurations, Res::kServices, Res::kEndpointSlices,
      Res::kPods, Res::kSecrets, Res::kNamespaces},
     7},
    {"ci",
     "deployer",
     "Helm/3.16.3",
     "",
     "",
     "helm",
     "ghcr.io/example/ci-runner:2024.11.1",
     {Res::kDeployments, Res::kDeployments, Res::kServices, Res::kConfigMaps, Res::kSecrets,
      Res::kIngresses, Res::kServiceAccounts, Res::kRoles},
     8},
    {"kube-system",
     "cluster-autoscaler",
     "cluster-autoscaler/v1.31.1 (linux/amd64) kubernetes/$Format",
     "kube-system",
     "cluster-autoscaler",
     "cluster-autoscaler",
     "registry.k8s.io/autoscaling/cluster-autoscaler:v1.31.1",
     {Res::kNodes, Res::kPods, Res::kConfigMaps, Res::kPersistentVolumeClaims},
     4},
};

// kube-controller-manager's controllers and what each one writes.
struct ControllerDef {
  std::string_view name;
  Res resources[4];
  int resource_count;
};

constexpr ControllerDef kControllers[] = {
    {"replicaset-controller", {Res::kPods, Res::kPods, Res::kReplicaSets}, 3},
    {"deployment-controller", {Res::kReplicaSets, Res::kDeployments}, 2},
    {"endpointslice-controller", {Res::kEndpointSlices, Res::kEndpointSlices, Res::kServices}, 3},
    {"endpointslicemirroring-controller", {Res::kEndpoints}, 1},
    {"generic-garbage-collector", {Res::kPods, Res::kReplicaSets, Res::kEvents}, 3},
    {"namespace-controller", {Res::kNamespaces, Res::kConfigMaps}, 2},
    {"daemon-set-controller", {Res::kDaemonSets, Res::kPods}, 2},
    {"statefulset-controller", {Res::kStatefulSets, Res::kPods, Res::kPersistentVolumeClaims}, 3},
    {"job-controller", {Res::kJobs, Res::kPods}, 2},
    {"cronjob-controller", {Res::kCronJobs, Res::kJobs}, 2},
    {"horizontal-pod-autoscaler", {Res::kHorizontalPodAutoscalers, Res::kDeployments}, 2},
    {"node-controller", {Res::kNodes, Res::kPods}, 2},
    {"pvc-protection-controller", {Res::kPersistentVolumeClaims, Res::kPods}, 2},
    {"resourcequota-controller", {Res::kPods, Res::kServices, Res::kConfigMaps}, 3},
    {"root-ca-cert-publisher", {Res::kConfigMaps}, 1},
    {"service-account-controller", {Res::kServiceAccounts}, 1},
    {"ttl-after-finished-controller", {Res::kJobs}, 1},
    {"disruption-controller", {Res::kPods, Res::kDeployments}, 2},
};

struct HumanDef {
  std::string_view username;
  std::string_view group;  // the IdP / certificate group (before system:authenticated)
  std::string_view user_agent;
  std::string_view ips[2];
  int ip_count;
  std::string_view reason;
  bool rbac_limited;
};

constexpr HumanDef kHumans[] = {
    {"alice@example.com",
     "platform-admins",
     "kubectl/v1.31.0 (linux/amd64) kubernetes/9edcffc",
     {"203.0.113.24"},
     1,
     R"(RBAC: allowed by ClusterRoleBinding "platform-admins" of ClusterRole "cluster-admin" to Group "platform-admins")",
     false},
    {"bob@example.com",
     "developers",
     "kubectl/v1.30.2 (darwin/arm64) kubernetes/3968350",
     {"198.51.100.7", "10.0.0.5"},
     2,
     R"(RBAC: allowed by ClusterRoleBinding "developers-view" of ClusterRole "view" to Group "developers")",
     true},
    {"carol@example.com",
     "sre",
     "k9s/v0.32.7 (darwin/arm64) kubernetes/$Format",
     {"2001:db8:85a3::8a2e:370:7334"},
     1,
     R"(RBAC: allowed by ClusterRoleBinding "sre-admin" of ClusterRole "admin" to Group "sre")",
     false},
    {"dave@example.com",
     "developers",
     "kubectl/v1.31.3 (windows/amd64) kubernetes/c83cbee",
     {"198.51.100.23", "10.0.0.5"},
     2,
     R"(RBAC: allowed by ClusterRoleBinding "developers-view" of ClusterRole "view" to Group "developers")",
     true},
    {"kubernetes-admin",
     "kubeadm:cluster-admins",
     "kubectl/v1.31.4 (linux/amd64) kubernetes/a78aa47",
     {"10.0.0.10"},
     1,
     R"(RBAC: allowed by ClusterRoleBinding "kubeadm:cluster-admins" of ClusterRole "cluster-admin" to Group "kubeadm:cluster-admins")",
     false},
    {"erin@example.com",
     "data-eng",
     "Lens/2024.11.261604-latest",
     {"203.0.113.77"},
     1,
     R"(RBAC: allowed by ClusterRoleBinding "data-eng-edit" of ClusterRole "edit" to Group "data-eng")",
     true},
};

constexpr std::string_view kKnownImages[] = {
    "docker.io/library/redis:7.4.1",
    "docker.io/library/postgres:16.6",
    "docker.io/library/nginx:1.27.3",
    "docker.io/library/rabbitmq:4.0.4-management",
};

constexpr Weighted<int> kPorts[] = {{5, 8080}, {2, 3000}, {2, 9090},
                                    {1, 5432}, {1, 6379}, {2, 8443}};

void SetGroups(UserInfo* user, std::initializer_list<std::string_view> groups) {
  for (std::string_view g : groups) user->add_groups(std::string(g));
  user->set_present_fields(user->present_fields() | kUserGroupsBit);
}

void AddExtra(UserInfo* user, std::string_view key, std::string value) {
  ExtraValue& v = (*user->mutable_extra())[std::string(key)];
  v.add_values(std::move(value));
  user->set_present_fields(user->present_fields() | kUserExtraBit);
}

std::string PodIp(size_t node, size_t n) { return StrCat("10.244.", node, ".", 2 + n); }

}  // namespace

const ResourceType& ResourceOf(Res res) { return kResourceTypes[static_cast<size_t>(res)]; }

std::string World::StableUid(std::string_view kind, std::string_view ns,
                             std::string_view name) const {
  const uint64_t h = HashName(StrCat(kind, "/", ns, "/", name), seed);
  std::string out;
  AppendUuid(h, Mix64(h ^ 0x5bd1e995u), &out);
  return out;
}

size_t World::FindNamespace(std::string_view name) const {
  for (size_t i = 0; i < namespaces.size(); ++i) {
    if (namespaces[i].name == name) return i;
  }
  return 0;
}

World::World(uint64_t seed_in, int64_t start_us) : seed(seed_in) {
  Rng rng(Mix64(seed ^ 0x776f726c64ULL));  // "world": independent of the event stream
  constexpr int64_t kDay = int64_t{86400} * 1000000;

  // Cluster version: one per seed, as for a real cluster.
  minor_version = static_cast<int>(rng.Range(30, 33));
  version = StrCat("v1.", minor_version, ".", rng.Range(0, 6));
  AppendHex(rng.Next(), 7, &git_sha);
  cluster_domain = "cluster.local";
  const int64_t cluster_created = start_us - rng.Range(200, 900) * kDay;

  // Namespaces: system, infrastructure, then applications.
  auto add_ns = [&](std::string_view name, std::string_view pss) {
    NamespaceInfo ns;
    ns.name = std::string(name);
    ns.uid = StableUid("Namespace", "", name);
    ns.pod_security = std::string(pss);
    ns.created_us = cluster_created + rng.Range(0, 100) * kDay;
    namespaces.push_back(std::move(ns));
  };
  for (std::string_view name : {"kube-system", "kube-public", "kube-node-lease"}) {
    add_ns(name, "privileged");
  }
  for (std::string_view name :
       {"cert-manager", "argocd", "monitoring", "ingress-nginx", "logging", "istio-system", "ci"}) {
    add_ns(name, "privileged");
  }
  for (std::string_view name : kAppNamespaces) {
    app_namespaces.push_back(namespaces.size());
    add_ns(name, rng.Chance(500000) ? "baseline" : "restricted");
  }

  // Nodes, named in one of the styles of the big providers (one style per cluster).
  const int style = static_cast<int>(rng.Below(4));
  const int node_count = static_cast<int>(rng.Range(6, 20));
  std::string pool_hash;
  AppendHex(rng.Next(), 8, &pool_hash);
  const std::string vmss = StrCat("aks-nodepool1-", 10000000 + rng.Below(89999999), "-vmss");
  for (int i = 0; i < node_count; ++i) {
    NodeInfo node;
    const int64_t third = 16 + rng.Range(0, 47);
    const int64_t fourth = rng.Range(2, 254);
    node.ip = StrCat("10.0.", third, ".", fourth);
    switch (style) {
      case 0:
        node.name = StrCat("ip-10-0-", third, "-", fourth, ".ec2.internal");
        node.provider_id = StrCat("aws:///us-east-1a/i-0", pool_hash, i);
        break;
      case 1: {
        node.name = StrCat("gke-prod-default-pool-", pool_hash, "-");
        AppendNameSuffix(rng.Next(), 4, &node.name);
        node.provider_id = StrCat("gce://acme-prod/us-central1-a/", node.name);
        break;
      }
      case 2: {
        node.name = StrCat(vmss, i < 10 ? "00000" : "0000", i);
        node.provider_id = StrCat(
            "azure:///subscriptions/0f3c1a2b/resourceGroups/mc_prod/providers/"
            "Microsoft.Compute/virtualMachineScaleSets/",
            vmss, "/virtualMachines/", i);
        break;
      }
      default:
        node.name = StrCat("worker-", i < 9 ? "0" : "", i + 1);
        node.provider_id = "";
        break;
    }
    node.uid = StableUid("Node", "", node.name);
    node.created_us = start_us - rng.Range(1, 120) * kDay;
    nodes.push_back(std::move(node));
  }
  const int cp_count = static_cast<int>(rng.Range(1, 3));
  for (int i = 0; i < cp_count; ++i) control_plane_ips.push_back(StrCat("10.0.0.", 10 + i));

  // Workloads and their pods.
  std::vector<size_t> node_pod_count(nodes.size(), 0);
  auto add_pods = [&](size_t app_index, int count, bool per_node) {
    AppInfo& app = apps[app_index];
    for (int i = 0; i < count; ++i) {
      PodInfo pod;
      pod.ns = app.ns;
      pod.app = app_index;
      pod.node = per_node ? static_cast<size_t>(i) : rng.Index(nodes.size());
      if (app.kind == Res::kStatefulSets) {
        pod.name = StrCat(app.name, "-", i);
      } else if (app.kind == Res::kDaemonSets) {
        pod.name = StrCat(app.name, "-");
        AppendNameSuffix(rng.Next(), 5, &pod.name);
      } else {
        pod.name = StrCat(app.name, "-", app.template_hash, "-");
        AppendNameSuffix(rng.Next(), 5, &pod.name);
      }
      pod.uid = StableUid("Pod", pod.ns, pod.name);
      pod.ip = PodIp(pod.node, node_pod_count[pod.node]++);
      pod.created_us = start_us - rng.Range(60, 30 * 86400) * 1000000;
      app.pods.push_back(pods.size());
      pods.push_back(std::move(pod));
    }
  };
  auto add_app = [&](std::string_view ns, std::string_view name, Res kind, std::string image,
                     int replicas, std::string_view sa) -> size_t {
    AppInfo app;
    app.ns = std::string(ns);
    app.name = std::string(name);
    app.kind = kind;
    app.image = std::move(image);
    app.container = std::string(name.size() > 12 ? name.substr(0, 12) : name);
    while (!app.container.empty() && app.container.back() == '-') app.container.pop_back();
    AppendNameSuffix(rng.Next(), 9 + static_cast<int>(rng.Below(2)), &app.template_hash);
    app.uid = StableUid(ResourceOf(kind).kind, ns, name);
    app.rs_uid = StableUid("ReplicaSet", ns, StrCat(name, "-", app.template_hash));
    app.service_account = sa.empty() ? "default" : std::string(sa);
    app.replicas = replicas;
    app.port = Pick(rng, kPorts);
    app.sidecar = rng.Chance(300000);
    app.created_us = start_us - rng.Range(2, 300) * kDay;
    apps.push_back(std::move(app));
    const size_t index = apps.size() - 1;
    if (kind == Res::kDaemonSets) {
      add_pods(index, static_cast<int>(nodes.size()), /*per_node=*/true);
    } else {
      add_pods(index, replicas, /*per_node=*/false);
    }
    return index;
  };

  std::vector<size_t> operator_apps;
  for (const OperatorDef& def : kOperators) {
    operator_apps.push_back(add_app(def.ns, def.sa, Res::kDeployments, std::string(def.image),
                                    static_cast<int>(rng.Range(1, 2)), def.sa));
  }
  const size_t kube_proxy_app =
      add_app("kube-system", "kube-proxy", Res::kDaemonSets,
              StrCat("registry.k8s.io/kube-proxy:", version), 0, "kube-proxy");
  add_app("monitoring", "node-exporter", Res::kDaemonSets,
          "quay.io/prometheus/node-exporter:v1.8.2", 0, "node-exporter");
  const size_t prometheus_app =
      add_app("monitoring", "prometheus-k8s", Res::kStatefulSets,
              "quay.io/prometheus/prometheus:v3.0.1", 2, "prometheus-k8s");
  const size_t metrics_server_app =
      add_app("kube-system", "metrics-server", Res::kDeployments,
              "registry.k8s.io/metrics-server/metrics-server:v0.7.2", 1, "metrics-server");

  for (size_t ns_index : app_namespaces) {
    const std::string ns = namespaces[ns_index].name;
    const int count = static_cast<int>(rng.Range(2, 5));
    for (int i = 0; i < count; ++i) {
      const std::string_view name = kAppNames[rng.Index(std::size(kAppNames))];
      bool duplicate = false;
      for (const AppInfo& a : apps) duplicate = duplicate || (a.ns == ns && a.name == name);
      if (duplicate) continue;
      std::string image;
      if (name == "redis") {
        image = std::string(kKnownImages[0]);
      } else if (name == "postgres") {
        image = std::string(kKnownImages[1]);
      } else if (name == "gateway" || name == "frontend") {
        image = std::string(kKnownImages[2]);
      } else {
        image = StrCat("registry.example.com/", ns, "/", name, ":", rng.Range(1, 4), ".",
                       rng.Range(0, 30), ".", rng.Range(0, 9));
      }
      const Res kind =
          (name == "redis" || name == "postgres") ? Res::kStatefulSets : Res::kDeployments;
      add_app(ns, name, kind, std::move(image), static_cast<int>(rng.Range(1, 4)),
              rng.Chance(400000) ? name : std::string_view());
    }
  }

  // --- Identities -------------------------------------------------------------------------
  const std::string kcm_ua_base =
      StrCat("kube-controller-manager/", version, " (linux/amd64) kubernetes/", git_sha);
  const bool bound_token_extras = minor_version >= 30;
  const std::string& cp_ip = control_plane_ips[0];

  auto service_account = [&](std::string_view ns, std::string_view name) {
    Identity id;
    id.kind = IdentityKind::kServiceAccount;
    id.home_ns = std::string(ns);
    UserInfo& user = id.user;
    user.set_username(StrCat("system:serviceaccount:", ns, ":", name));
    user.set_uid(StableUid("ServiceAccount", ns, name));
    SetGroups(&user, {"system:serviceaccounts"});
    user.add_groups(StrCat("system:serviceaccounts:", ns));
    user.add_groups("system:authenticated");
    id.reason = StrCat(R"(RBAC: allowed by ClusterRoleBinding ")", name, R"(" of ClusterRole ")",
                       name, R"(" to ServiceAccount ")", name, "/", ns, R"(")");
    return id;
  };
  // Extra of a token bound to a pod: pod name/uid, and on newer apiservers the token's JTI
  // and the node it was issued for. Keys are stored in a map; the encoder sorts them.
  auto bind_to_pod = [&](Identity* id, const PodInfo& pod) {
    UserInfo& user = id->user;
    if (bound_token_extras) {
      std::string jti = "JTI=";
      AppendUuid(rng.Next(), rng.Next(), &jti);
      AddExtra(&user, "authentication.kubernetes.io/credential-id", std::move(jti));
      AddExtra(&user, "authentication.kubernetes.io/node-name", nodes[pod.node].name);
      AddExtra(&user, "authentication.kubernetes.io/node-uid", nodes[pod.node].uid);
    }
    AddExtra(&user, "authentication.kubernetes.io/pod-name", pod.name);
    AddExtra(&user, "authentication.kubernetes.io/pod-uid", pod.uid);
    id->source_ips.push_back(pod.ip);
  };

  for (size_t i = 0; i < std::size(kOperators); ++i) {
    const OperatorDef& def = kOperators[i];
    Identity id = service_account(def.ns, def.sa);
    id.user_agent = std::string(def.user_agent);
    id.lease_ns = std::string(def.lease_ns);
    id.lease_name = std::string(def.lease_name);
    id.manager = std::string(def.manager);
    id.resources.assign(def.resources, def.resources + def.resource_count);
    const AppInfo& app = apps[operator_apps[i]];
    id.read_only = def.sa == "kube-state-metrics" || def.sa == "coredns" || def.sa == "fluent-bit";
    if (def.sa == "deployer") {
      // CI still uses a long-lived, secret-based token: no pod binding, no extra.
      id.legacy_token = true;
      id.source_ips.push_back("198.51.100.200");
    } else {
      bind_to_pod(&id, pods[app.pods[0]]);
    }
    operators.push_back(std::move(id));
  }
  {
    Identity id = service_account("kube-system", "kube-proxy");
    id.user_agent = StrCat("kube-proxy/", version, " (linux/amd64) kubernetes/", git_sha);
    id.reason =
        R"(RBAC: allowed by ClusterRoleBinding "kubeadm:node-proxier" of ClusterRole "system:node-proxier" to ServiceAccount "kube-proxy/kube-system")";
    id.manager = "kube-proxy";
    id.read_only = true;
    id.resources = {Res::kEndpointSlices, Res::kServices, Res::kNodes};
    bind_to_pod(&id, pods[apps[kube_proxy_app].pods[0]]);
    operators.push_back(std::move(id));
  }

  for (const ControllerDef& def : kControllers) {
    Identity id = service_account("kube-system", def.name);
    id.kind = IdentityKind::kControllerSA;
    id.user_agent = StrCat(kcm_ua_base, "/system:serviceaccount:kube-system:", def.name);
    id.reason = StrCat(R"(RBAC: allowed by ClusterRoleBinding "system:controller:)", def.name,
                       R"(" of ClusterRole "system:controller:)", def.name,
                       R"(" to ServiceAccount ")", def.name, R"(/kube-system")");
    id.manager = "kube-controller-manager";
    id.resources.assign(def.resources, def.resources + def.resource_count);
    if (bound_token_extras) {
      std::string jti = "JTI=";
      AppendUuid(rng.Next(), rng.Next(), &jti);
      AddExtra(&id.user, "authentication.kubernetes.io/credential-id", std::move(jti));
    }
    id.source_ips.push_back(cp_ip);
    controllers.push_back(std::move(id));
  }

  for (size_t i = 0; i < nodes.size(); ++i) {
    Identity id;
    id.kind = IdentityKind::kNode;
    id.node = i;
    id.user.set_username(StrCat("system:node:", nodes[i].name));
    SetGroups(&id.user, {"system:nodes", "system:authenticated"});
    if (minor_version >= 32) {
      // Client-certificate users carry the certificate's fingerprint on newer apiservers.
      std::string fp = "X509SHA256=";
      for (int k = 0; k < 4; ++k) AppendHex(rng.Next(), 16, &fp);
      AddExtra(&id.user, "authentication.kubernetes.io/credential-id", std::move(fp));
    }
    id.user_agent = StrCat("kubelet/", version, " (linux/amd64) kubernetes/", git_sha);
    id.source_ips.push_back(nodes[i].ip);
    id.reason = "";  // decided by the Node authorizer
    id.manager = "kubelet";
    node_users.push_back(std::move(id));
  }

  for (const HumanDef& def : kHumans) {
    Identity id;
    id.kind = IdentityKind::kHuman;
    id.user.set_username(std::string(def.username));
    SetGroups(&id.user, {def.group, "system:authenticated"});
    id.user_agent = std::string(def.user_agent);
    for (int k = 0; k < def.ip_count; ++k) id.source_ips.emplace_back(def.ips[k]);
    id.reason = std::string(def.reason);
    id.rbac_limited = def.rbac_limited;
    id.manager = "kubectl-client-side-apply";
    humans.push_back(std::move(id));
  }

  controller_manager.kind = IdentityKind::kControlPlane;
  controller_manager.user.set_username("system:kube-controller-manager");
  SetGroups(&controller_manager.user, {"system:authenticated"});
  controller_manager.user_agent = StrCat(kcm_ua_base, "/leader-election");
  controller_manager.source_ips.push_back(cp_ip);
  controller_manager.reason =
      R"(RBAC: allowed by ClusterRoleBinding "system:kube-controller-manager" of ClusterRole "system:kube-controller-manager" to User "system:kube-controller-manager")";
  controller_manager.manager = "kube-controller-manager";
  controller_manager.lease_ns = "kube-system";
  controller_manager.lease_name = "kube-controller-manager";

  scheduler.kind = IdentityKind::kControlPlane;
  scheduler.user.set_username("system:kube-scheduler");
  SetGroups(&scheduler.user, {"system:authenticated"});
  scheduler.user_agent =
      StrCat("kube-scheduler/", version, " (linux/amd64) kubernetes/", git_sha, "/scheduler");
  scheduler.source_ips.push_back(cp_ip);
  scheduler.reason =
      R"(RBAC: allowed by ClusterRoleBinding "system:kube-scheduler" of ClusterRole "system:kube-scheduler" to User "system:kube-scheduler")";
  scheduler.manager = "kube-scheduler";
  scheduler.lease_ns = "kube-system";
  scheduler.lease_name = "kube-scheduler";

  apiserver.kind = IdentityKind::kControlPlane;
  apiserver.user.set_username("system:apiserver");
  apiserver.user.set_uid(StableUid("User", "", "system:apiserver"));
  SetGroups(&apiserver.user, {"system:authenticated", "system:masters"});
  apiserver.user_agent = StrCat("kube-apiserver/", version, " (linux/amd64) kubernetes/", git_sha);
  apiserver.source_ips.push_back("::1");
  apiserver.reason = "";  // system:masters is allowed before RBAC is asked
  apiserver.manager = "kube-apiserver";
  apiserver.lease_ns = "kube-system";
  apiserver.lease_name = StrCat("apiserver-");
  AppendNameSuffix(rng.Next(), 12, &apiserver.lease_name);

  aggregator.kind = IdentityKind::kControlPlane;
  aggregator.user.set_username("system:aggregator");
  SetGroups(&aggregator.user, {"system:authenticated"});
  aggregator.source_ips.push_back(cp_ip);
  aggregator.reason =
      R"(RBAC: allowed by ClusterRoleBinding "system:discovery" of ClusterRole "system:discovery" to Group "system:authenticated")";

  anonymous.kind = IdentityKind::kAnonymous;
  anonymous.user.set_username("system:anonymous");
  SetGroups(&anonymous.user, {"system:unauthenticated"});
  anonymous.user_agent = StrCat("kube-probe/1.", minor_version);
  anonymous.source_ips.push_back(cp_ip);
  anonymous.reason =
      R"(RBAC: allowed by ClusterRoleBinding "system:public-info-viewer" of ClusterRole "system:public-info-viewer" to Group "system:unauthenticated")";

  prometheus = service_account("monitoring", "prometheus-k8s");
  prometheus.user_agent = "Prometheus/3.0.1";
  bind_to_pod(&prometheus, pods[apps[prometheus_app].pods[0]]);
  prometheus.resources = {Res::kPods, Res::kEndpoints, Res::kServices, Res::kEndpointSlices};

  metrics_server = service_account("kube-system", "metrics-server");
  metrics_server.user_agent = "metrics-server/v0.7.2 (linux/amd64) kubernetes/$Format";
  metrics_server.reason =
      R"(RBAC: allowed by ClusterRoleBinding "metrics-server:system:auth-delegator" of ClusterRole "system:auth-delegator" to ServiceAccount "metrics-server/kube-system")";
  bind_to_pod(&metrics_server, pods[apps[metrics_server_app].pods[0]]);
}

}  // namespace kubetrail::loadgen
