// Kubernetes object bodies for requestObject / responseObject: compact JSON in Go's form,
// with the field order of the Go structs, managedFields, labels, annotations, uids and
// resourceVersions, so that sizes and shapes resemble what a real apiserver logs.
//
//   ObjectBuilder objects(world, &rng);
//   objects.set_now(now_us);
//   std::string body;
//   objects.Object(target, Form::kStored, &body);   // e.g. {"kind":"Pod","apiVersion":"v1",...}
//
// Internal to the load generator; not a stable API. Not thread-safe (shares the caller's Rng).
#ifndef KUBETRAIL_BENCH_LOADGEN_OBJECTS_H_
#define KUBETRAIL_BENCH_LOADGEN_OBJECTS_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "bench/loadgen/json_writer.h"
#include "bench/loadgen/rng.h"
#include "bench/loadgen/world.h"

namespace kubetrail::loadgen {

// Which rendition of an object to write.
enum class Form {
  kRequest,   // as a client sends it on create/update: no uid/resourceVersion/managedFields
              // on create ("creationTimestamp":null), empty status
  kStored,    // as the server returns it: full metadata, managedFields, status
  kListItem,  // kStored without kind/apiVersion, as an item of a List
};

// The object a request is about. Pointers refer into the World and may be null when they
// do not apply.
struct Target {
  Res res = Res::kPods;
  std::string ns;           // "" for cluster-scoped objects and all-namespaces collections
  std::string name;         // "" for collections
  std::string subresource;  // "status", "log", "exec", ...
  const PodInfo* pod = nullptr;
  const AppInfo* app = nullptr;
  const NodeInfo* node = nullptr;
  const NamespaceInfo* namespace_info = nullptr;
  std::string holder;      // lease holder identity
  bool ca_bundle = false;  // a ConfigMap that carries a whole CA bundle
  bool fresh = false;      // just created (a pod not yet scheduled, a new object)
  bool deleting = false;   // carries a deletionTimestamp (graceful delete in progress)
};

class ObjectBuilder {
 public:
  ObjectBuilder(const World& world, Rng* rng);

  // The time used for timestamps inside objects (managedFields times, renewTime, ...).
  void set_now(int64_t now_us) { now_us_ = now_us; }
  // The cluster's resourceVersion counter: every write takes the next value.
  int64_t NextResourceVersion() { return ++resource_version_; }
  int64_t resource_version() const { return resource_version_; }
  // A plausible resourceVersion of an object last written some time ago.
  int64_t OlderResourceVersion();

  // Appends `target`'s object (for kStored/kListItem: the object as stored, with
  // `resource_version` as its metadata.resourceVersion; 0 picks an older one).
  void Object(const Target& target, Form form, int64_t resource_version, std::string* out);

  // Appends a List (e.g. a PodList) of up to `count` objects of `target.res`, taken from
  // `target.ns` (all namespaces when empty).
  void List(const Target& target, int count, std::string* out);

  // Appends the meta.k8s.io/v1 Table kubectl asks for on `kubectl get pods`.
  void PodTable(std::string_view ns, int count, std::string* out);

  // Request bodies.
  void DeleteOptions(const Target& target, std::string* out);
  void MergePatch(const Target& target, std::string* out);       // kubectl edit/label/scale
  void NodeStatusPatch(const NodeInfo& node, std::string* out);  // kubelet heartbeat
  void PodStatusPatch(const PodInfo& pod, std::string* out);     // kubelet status sync
  void EventPatch(std::string* out);                             // event count bump
  void Binding(const PodInfo& pod, const NodeInfo& node, std::string* out);
  void SubjectAccessReview(const Identity& subject, const Target& about, bool response,
                           std::string* out);
  // Responses.
  void SuccessStatus(const Target& target, std::string* out);  // delete of most kinds

 private:
  struct Meta;
  void WriteMeta(JsonWriter& w, const Meta& meta, Form form);
  // What every object builder starts with: opens the object, writes kind and apiVersion
  // (not for kListItem) and metadata (WriteMeta); for the stored forms, the managedFields
  // array around the entries `managed_fields()` writes; closes metadata. The caller writes
  // the rest (spec, status, ...) and closes the object.
  template <typename ManagedFields>
  void Head(JsonWriter& w, std::string_view kind, std::string_view api_version, const Meta& meta,
            Form form, ManagedFields&& managed_fields);
  void Pod(const PodInfo& pod, Form form, int64_t rv, bool fresh, std::string* out);
  void Workload(const AppInfo& app, Res kind, Form form, int64_t rv, std::string* out);
  void ConfigMap(const Target& t, Form form, int64_t rv, std::string* out);
  void Lease(const Target& t, Form form, int64_t rv, std::string* out);
  void Event(const Target& t, Form form, int64_t rv, std::string* out);
  void Service(const AppInfo& app, Form form, int64_t rv, std::string* out);
  void EndpointSlice(const AppInfo& app, Form form, int64_t rv, std::string* out);
  void Node(const NodeInfo& node, Form form, int64_t rv, std::string* out);
  void Namespace(const NamespaceInfo& ns, Form form, int64_t rv, std::string* out);
  void Generic(const Target& t, Form form, int64_t rv, std::string* out);
  // The JSON of a pod spec (a template's when `pod` is null) and of the managedFields
  // entry for a pod template's fields; cached.
  const std::string& PodSpec(const AppInfo& app, const PodInfo* pod, bool scheduled);
  const std::string& PodSpecFields(const AppInfo& app);
  void LastApplied(const Target& t, std::string* out);
  void RandomHex(int digits, std::string* out);
  void TimeField(JsonWriter& w, std::string_view key, int64_t micros, bool with_micros);
  void ManagedBegin(JsonWriter& w, std::string_view manager, std::string_view operation,
                    std::string_view api_version, int64_t time_us);
  void ManagedEnd(JsonWriter& w, std::string_view subresource);
  void CaBundle(int certs, std::string* out);

  const World& world_;
  Rng* rng_;
  int64_t now_us_ = 0;
  int64_t resource_version_;
  std::string scratch_;      // reused for CA bundles
  std::string base64_pool_;  // random text certificates are cut from
  std::unordered_map<uint64_t, std::string> spec_cache_;
  std::vector<std::string> fields_cache_;
};

}  // namespace kubetrail::loadgen

#endif  // KUBETRAIL_BENCH_LOADGEN_OBJECTS_H_
