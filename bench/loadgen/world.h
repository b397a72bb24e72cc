// The simulated cluster behind the load generator: API resources, namespaces, nodes,
// workloads, pods and the identities that talk to the apiserver. Built once per seed, so
// every object is referred to consistently (the same pod always has the same uid, node and
// IP; a service account's token always names the same pod).
//
//   World world(/*seed=*/7, start_us);
//   const PodInfo& pod = world.pods[0];
//   const ResourceType& type = ResourceOf(Res::kPods);   // "pods", core group, v1, "Pod"
//
// Internal to the load generator; not a stable API.
#ifndef KUBETRAIL_BENCH_LOADGEN_WORLD_H_
#define KUBETRAIL_BENCH_LOADGEN_WORLD_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "kubetrail/v1/event.pb.h"

namespace kubetrail::loadgen {

// The API resources the generator uses. Index into kResourceTypes.
enum class Res : uint8_t {
  kPods,
  kConfigMaps,
  kSecrets,
  kServices,
  kEndpoints,
  kEvents,
  kServiceAccounts,
  kNamespaces,
  kNodes,
  kPersistentVolumeClaims,
  kDeployments,
  kReplicaSets,
  kStatefulSets,
  kDaemonSets,
  kLeases,
  kEndpointSlices,
  kEventsV1,  // events.k8s.io/v1
  kJobs,
  kCronJobs,
  kIngresses,
  kNetworkPolicies,
  kRoles,
  kRoleBindings,
  kClusterRoles,
  kClusterRoleBindings,
  kSubjectAccessReviews,
  kTokenReviews,
  kCustomResourceDefinitions,
  kHorizontalPodAutoscalers,
  kPodMetrics,  // metrics.k8s.io (aggregated API)
  kMutatingWebhookConfigurations,
  kCertificates,  // cert-manager.io CRD
  kCertificateRequests,
  kApplications,     // argoproj.io CRD
  kServiceMonitors,  // monitoring.coreos.com CRD
  kCount,
};

struct ResourceType {
  std::string_view resource;  // plural, as in URLs and objectRef.resource
  std::string_view group;     // "" for the core group
  std::string_view version;
  std::string_view kind;
  bool namespaced;
};

const ResourceType& ResourceOf(Res res);

// Bits of the present_fields masks of Event and UserInfo that the generator sets: bit N
// stands for field number N (see proto/kubetrail/v1/event.proto), for repeated and map fields
// written even when empty.
constexpr uint32_t PresenceBit(int field_number) { return uint32_t{1} << field_number; }
inline constexpr uint32_t kEventSourceIpsBit =
    PresenceBit(kubetrail::v1::Event::kSourceIpsFieldNumber);
inline constexpr uint32_t kEventAnnotationsBit =
    PresenceBit(kubetrail::v1::Event::kAnnotationsFieldNumber);
inline constexpr uint32_t kUserGroupsBit = PresenceBit(kubetrail::v1::UserInfo::kGroupsFieldNumber);
inline constexpr uint32_t kUserExtraBit = PresenceBit(kubetrail::v1::UserInfo::kExtraFieldNumber);

struct NodeInfo {
  std::string name;
  std::string ip;
  std::string uid;
  std::string provider_id;
  int64_t created_us = 0;
};

struct NamespaceInfo {
  std::string name;
  std::string uid;
  std::string pod_security;  // enforce level: privileged, baseline or restricted
  int64_t created_us = 0;
};

// A workload (Deployment, StatefulSet or DaemonSet) and what hangs off it.
struct AppInfo {
  std::string ns;
  std::string name;
  Res kind = Res::kDeployments;
  std::string image;
  std::string container;      // main container name
  std::string template_hash;  // pod-template-hash (Deployment's ReplicaSet suffix)
  std::string uid;            // the workload's uid
  std::string rs_uid;         // the current ReplicaSet's uid (Deployments)
  std::string service_account;
  int replicas = 1;
  int port = 8080;
  bool sidecar = false;  // has an istio-proxy sidecar
  int64_t created_us = 0;
  std::vector<size_t> pods;  // indices into World::pods
};

struct PodInfo {
  std::string name;
  std::string ns;
  std::string uid;
  std::string ip;
  size_t app = 0;   // index into World::apps
  size_t node = 0;  // index into World::nodes
  int64_t created_us = 0;
};

enum class IdentityKind : uint8_t {
  kServiceAccount,  // an operator / controller running in a pod (bound token)
  kControllerSA,    // kube-controller-manager's per-controller service accounts
  kNode,            // kubelet: system:node:<host>
  kControlPlane,    // system:kube-controller-manager, system:kube-scheduler, ...
  kHuman,           // people with kubectl and friends
  kAnonymous,       // system:anonymous
};

// Who sends requests, with everything the audit event says about them.
struct Identity {
  IdentityKind kind = IdentityKind::kServiceAccount;
  kubetrail::v1::UserInfo user;  // as the authenticator fills it (presence bits set)
  std::string user_agent;
  std::vector<std::string> source_ips;  // usually one; two when behind a proxy
  std::string reason;                   // authorization.k8s.io/reason for allowed requests
  std::string home_ns;                  // namespace of a service account ("" otherwise)
  std::string manager;                  // field manager written into managedFields
  std::string lease_ns;                 // leader-election lease ("" = none)
  std::string lease_name;
  std::vector<Res> resources;  // what it reconciles; repeated entries weigh more
  size_t node = 0;             // for kNode: index into World::nodes
  bool legacy_token = false;   // secret-based service-account token
  bool rbac_limited = false;   // humans without cluster-wide rights (get 403s)
  bool read_only = false;      // only gets, lists and watches (log shippers, exporters)
};

class World {
 public:
  World(uint64_t seed, int64_t start_us);

  uint64_t seed;
  int minor_version;           // Kubernetes 1.<minor>
  std::string version;         // "v1.31.4"
  std::string git_sha;         // 7 hex digits, as in user agents
  std::string cluster_domain;  // "cluster.local"

  std::vector<NamespaceInfo> namespaces;
  std::vector<size_t> app_namespaces;  // indices of namespaces that run workloads
  std::vector<NodeInfo> nodes;
  std::vector<std::string> control_plane_ips;
  std::vector<AppInfo> apps;
  std::vector<PodInfo> pods;

  std::vector<Identity> operators;    // service accounts of in-cluster operators
  std::vector<Identity> controllers;  // kube-system:<controller> service accounts
  std::vector<Identity> node_users;   // one per node
  std::vector<Identity> humans;
  Identity controller_manager;  // system:kube-controller-manager
  Identity scheduler;           // system:kube-scheduler
  Identity apiserver;           // system:apiserver (loopback)
  Identity aggregator;          // system:aggregator (no user agent)
  Identity anonymous;           // system:anonymous, from probes and scanners
  Identity prometheus;          // scrapes /metrics
  Identity metrics_server;      // creates SubjectAccessReviews / TokenReviews

  // A stable uid for an object, derived from its kind, namespace and name.
  std::string StableUid(std::string_view kind, std::string_view ns, std::string_view name) const;
  size_t FindNamespace(std::string_view name) const;
};

}  // namespace kubetrail::loadgen

#endif  // KUBETRAIL_BENCH_LOADGEN_WORLD_H_
