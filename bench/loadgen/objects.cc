#include "bench/loadgen/objects.h"

#include <algorithm>
#include <cassert>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "bench/loadgen/format.h"
#include "bench/loadgen/json_writer.h"
#include "bench/loadgen/rng.h"
#include "bench/loadgen/world.h"

namespace kubetrail::loadgen {
namespace {

using KV = std::pair<std::string_view, std::string_view>;
constexpr int64_t kSecond = 1000000;
constexpr int64_t kDay = 86400 * kSecond;

// Writes `"key":{...}` with the entries sorted by key, as Go marshals a map.
void SortedMap(JsonWriter& w, std::string_view key, KV* kvs, size_t n) {
  std::sort(kvs, kvs + n, [](const KV& a, const KV& b) { return a.first < b.first; });
  w.Obj(key);
  for (size_t i = 0; i < n; ++i) w.Str(kvs[i].first, kvs[i].second);
  w.EndObject();
}

std::string_view ApiVersionOf(Res res, std::string* storage) {
  const ResourceType& t = ResourceOf(res);
  if (t.group.empty()) return t.version;
  *storage = StrCat(t.group, "/", t.version);
  return *storage;
}

// Certificate authorities, for CA bundles; a few with non-ASCII names, as in real trust
// stores (the encoder must keep them as raw UTF-8).
constexpr std::string_view kCaNames[] = {
    "ISRG Root X1",
    "DigiCert Global Root G2",
    "NetLock Arany (Class Gold) Főtanúsítvány",
    "TÜBİTAK Kamu SM SSL Kök Sertifikası - Sürüm 1",
    "GlobalSign Root CA - R6",
    "Microsec e-Szigno Root CA 2009",
    "AC RAIZ FNMT-RCM",
    "Certigna Root CA",
    "Hongkong Post Root CA 3",
    "Security Communication RootCA2",
    "Autoridad de Certificacion Firmaprofesional CIF A62634068",
    "T-TeleSec GlobalRoot Class 3",
    "D-TRUST Root Class 3 CA 2 2009",
    "SZAFIR ROOT CA2",
    "certSIGN ROOT CA G2",
    "Amazon Root CA 1",
    "Baltimore CyberTrust Root",
    "COMODO RSA Certification Authority",
};

constexpr std::string_view kEventReasons[][2] = {
    {"Pulled", "Container image \"{image}\" already present on machine"},
    {"Created", "Created container {container}"},
    {"Started", "Started container {container}"},
    {"Killing", "Stopping container {container}"},
    {"Unhealthy",
     "Readiness probe failed: Get \"http://{ip}:8080/readyz\": context deadline exceeded "
     "(Client.Timeout exceeded while awaiting headers)"},
    {"BackOff", "Back-off restarting failed container {container} in pod {pod}"},
    {"Scheduled", "Successfully assigned {ns}/{pod} to {node}"},
    {"SuccessfulCreate", "Created pod: {pod}"},
};

std::string Expand(std::string_view text, std::string_view image, std::string_view container,
                   std::string_view pod, std::string_view ns, std::string_view node,
                   std::string_view ip) {
  std::string out;
  out.reserve(text.size() + 64);
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '{') {
      out.push_back(text[i]);
      continue;
    }
    const size_t end = text.find('}', i);
    const std::string_view key = text.substr(i + 1, end - i - 1);
    if (key == "image") out.append(image);
    if (key == "container") out.append(container);
    if (key == "pod") out.append(pod);
    if (key == "ns") out.append(ns);
    if (key == "node") out.append(node);
    if (key == "ip") out.append(ip);
    i = end;
  }
  return out;
}

// Appends `words` 16-digit hex words derived from `text` (HashName(text, 1), HashName(text,
// 2), ...): digests and ids that stay the same for the same object.
void AppendHashHex(std::string_view text, int words, std::string* out) {
  for (int k = 1; k <= words; ++k) AppendHex(HashName(text, static_cast<uint64_t>(k)), 16, out);
}

// An image's repo digest: "<image without its tag>@sha256:<64 hex digits>".
std::string ImageDigest(std::string_view image) {
  std::string digest = StrCat(image.substr(0, image.rfind(':')), "@sha256:");
  AppendHashHex(image, 4, &digest);
  return digest;
}

// Opens `"key":{"kind":"Pod","namespace":...,"name":...,"uid":...`, an ObjectReference to
// `pod` (targetRef, involvedObject, regarding); the caller adds fields and closes it.
JsonWriter& OpenPodRef(JsonWriter& w, std::string_view key, const PodInfo& pod) {
  return w.Obj(key)
      .Str("kind", "Pod")
      .Str("namespace", pod.ns)
      .Str("name", pod.name)
      .Str("uid", pod.uid);
}

struct EnvDef {
  std::string_view name;
  std::string_view value;     // plain value ("" with a ref)
  std::string_view ref_kind;  // "", "field", "secret", "resource"
};

constexpr EnvDef kEnv[] = {
    {"LOG_LEVEL", "info", ""},
    {"POD_NAME", "metadata.name", "field"},
    {"ENVIRONMENT", "production", ""},
    {"OTEL_EXPORTER_OTLP_ENDPOINT", "http://otel-collector.monitoring.svc.cluster.local:4317", ""},
    {"DB_PASSWORD", "password", "secret"},
    {"POD_NAMESPACE", "metadata.namespace", "field"},
    {"FEATURE_FLAGS", "checkout-v2=true&new-search=false&beta<ui>=off", ""},
    {"GOMAXPROCS", "limits.cpu", "resource"},
    {"DATABASE_URL", "postgres://app@postgres:5432/app?sslmode=require", ""},
    {"JAVA_TOOL_OPTIONS", "-XX:MaxRAMPercentage=75.0 -XX:+UseG1GC -Dfile.encoding=UTF-8", ""},
    {"REDIS_ADDR", "redis-master:6379", ""},
    {"HOST_IP", "status.hostIP", "field"},
    {"SENTRY_DSN", "https://3f0c2a9e4b1d4c7a@o123456.ingest.sentry.io/4505", ""},
    {"TZ", "UTC", ""},
};

}  // namespace

// ObjectMeta fields to write. Everything is a view: the caller keeps the strings alive until
// WriteMeta has run (temporaries are rejected at compile time for labels and annotations).
struct ObjectBuilder::Meta {
  std::string_view name;
  std::string_view generate_name;
  std::string_view ns;
  std::string_view uid;
  int64_t rv = 0;
  int64_t generation = 0;
  int64_t created_us = 0;
  int64_t deletion_us = 0;
  KV labels[8];
  size_t label_count = 0;
  KV annotations[6];
  size_t annotation_count = 0;
  std::string_view owner_api_version;
  std::string_view owner_kind;
  std::string_view owner_name;
  std::string_view owner_uid;
  std::string_view finalizer;
  void Label(std::string_view k, std::string_view v) {
    assert(label_count < std::size(labels));
    labels[label_count++] = {k, v};
  }
  void Annotate(std::string_view k, std::string_view v) {
    assert(annotation_count < std::size(annotations));
    annotations[annotation_count++] = {k, v};
  }
  template <typename T>
  requires std::same_as<T, std::string>
  void Label(std::string_view, T&&) = delete;  // a temporary would dangle
  template <typename T>
  requires std::same_as<T, std::string>
  void Annotate(std::string_view, T&&) = delete;
};

ObjectBuilder::ObjectBuilder(const World& world, Rng* rng)
    : world_(world),
      rng_(rng),
      resource_version_(static_cast<int64_t>(rng->Range(2000000, 90000000))),
      fields_cache_(world.apps.size()) {
  // Random base64 text that certificates in CA bundles are cut from (see CaBundle).
  static constexpr char kBase64[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  Rng pool_rng(Mix64(world.seed ^ 0x6365727473ULL));
  base64_pool_.resize(size_t{1} << 16);
  for (size_t i = 0; i < base64_pool_.size(); i += 10) {
    uint64_t bits = pool_rng.Next();
    for (size_t k = 0; k < 10 && i + k < base64_pool_.size(); ++k, bits >>= 6) {
      base64_pool_[i + k] = kBase64[bits & 63];
    }
  }
}

int64_t ObjectBuilder::OlderResourceVersion() {
  return resource_version_ - static_cast<int64_t>(rng_->Below(1000000));
}

void ObjectBuilder::RandomHex(int digits, std::string* out) {
  while (digits > 0) {
    const int n = digits < 16 ? digits : 16;
    AppendHex(rng_->Next(), n, out);
    digits -= n;
  }
}

void ObjectBuilder::TimeField(JsonWriter& w, std::string_view key, int64_t micros,
                              bool with_micros) {
  w.Key(key);
  std::string* out = w.BeginRawValue();
  out->push_back('"');
  AppendRfc3339(micros, with_micros, out);
  out->push_back('"');
}

void ObjectBuilder::ManagedBegin(JsonWriter& w, std::string_view manager,
                                 std::string_view operation, std::string_view api_version,
                                 int64_t time_us) {
  w.BeginObject()
      .Str("manager", manager)
      .Str("operation", operation)
      .Str("apiVersion", api_version);
  TimeField(w, "time", time_us, false);
  w.Str("fieldsType", "FieldsV1").Obj("fieldsV1");
}

void ObjectBuilder::ManagedEnd(JsonWriter& w, std::string_view subresource) {
  w.EndObject();
  if (!subresource.empty()) w.Str("subresource", subresource);
  w.EndObject();
}

// ObjectMeta in Go field order, up to and including finalizers; the caller writes
// managedFields (stored forms only) and closes the object.
void ObjectBuilder::WriteMeta(JsonWriter& w, const Meta& m, Form form) {
  w.Obj("metadata");
  if (!m.name.empty()) w.Str("name", m.name);
  if (!m.generate_name.empty()) w.Str("generateName", m.generate_name);
  if (!m.ns.empty()) w.Str("namespace", m.ns);
  if (form == Form::kRequest) {
    w.Key("creationTimestamp").Null();
  } else {
    w.Str("uid", m.uid);
    w.Key("resourceVersion");
    std::string* out = w.BeginRawValue();
    out->push_back('"');
    AppendInt(m.rv, out);
    out->push_back('"');
    if (m.generation > 0) w.Num("generation", m.generation);
    TimeField(w, "creationTimestamp", m.created_us, false);
    if (m.deletion_us > 0) {
      TimeField(w, "deletionTimestamp", m.deletion_us, false);
      w.Num("deletionGracePeriodSeconds", 30);
    }
  }
  if (m.label_count > 0) {
    KV labels[8];
    std::copy(m.labels, m.labels + m.label_count, labels);
    SortedMap(w, "labels", labels, m.label_count);
  }
  if (m.annotation_count > 0) {
    KV annotations[6];
    std::copy(m.annotations, m.annotations + m.annotation_count, annotations);
    SortedMap(w, "annotations", annotations, m.annotation_count);
  }
  if (!m.owner_kind.empty()) {
    w.Arr("ownerReferences")
        .BeginObject()
        .Str("apiVersion", m.owner_api_version)
        .Str("kind", m.owner_kind)
        .Str("name", m.owner_name)
        .Str("uid", m.owner_uid)
        .Flag("controller", true)
        .Flag("blockOwnerDeletion", true)
        .EndObject()
        .EndArray();
  }
  if (!m.finalizer.empty()) w.Arr("finalizers").String(m.finalizer).EndArray();
}

template <typename ManagedFields>
void ObjectBuilder::Head(JsonWriter& w, std::string_view kind, std::string_view api_version,
                         const Meta& m, Form form, ManagedFields&& managed_fields) {
  w.BeginObject();
  if (form != Form::kListItem) w.Str("kind", kind).Str("apiVersion", api_version);
  WriteMeta(w, m, form);
  if (form != Form::kRequest) {
    w.Arr("managedFields");
    managed_fields();
    w.EndArray();
  }
  w.EndObject();  // metadata
}

void ObjectBuilder::Object(const Target& t, Form form, int64_t rv, std::string* out) {
  if (rv == 0) rv = OlderResourceVersion();
  switch (t.res) {
    case Res::kPods:
      if (t.pod != nullptr) return Pod(*t.pod, form, rv, t.fresh, out);
      break;
    case Res::kDeployments:
    case Res::kReplicaSets:
    case Res::kStatefulSets:
    case Res::kDaemonSets:
      if (t.app != nullptr) return Workload(*t.app, t.res, form, rv, out);
      break;
    case Res::kConfigMaps:
      return ConfigMap(t, form, rv, out);
    case Res::kLeases:
      return Lease(t, form, rv, out);
    case Res::kEvents:
    case Res::kEventsV1:
      return Event(t, form, rv, out);
    case Res::kServices:
      if (t.app != nullptr) return Service(*t.app, form, rv, out);
      break;
    case Res::kEndpointSlices:
      if (t.app != nullptr) return EndpointSlice(*t.app, form, rv, out);
      break;
    case Res::kNodes:
      if (t.node != nullptr) return Node(*t.node, form, rv, out);
      break;
    case Res::kNamespaces:
      if (t.namespace_info != nullptr) return Namespace(*t.namespace_info, form, rv, out);
      break;
    default:
      break;
  }
  Generic(t, form, rv, out);
}

// --- Pods -------------------------------------------------------------------------------

const std::string& ObjectBuilder::PodSpec(const AppInfo& app, const PodInfo* pod, bool scheduled) {
  // A pod's spec depends only on its workload, the pod and whether it is scheduled: build it
  // once and reuse the bytes.
  const uint64_t cache_key =
      (static_cast<uint64_t>(&app - world_.apps.data()) << 33) |
      ((pod == nullptr ? 0 : static_cast<uint64_t>(pod - world_.pods.data()) + 1) << 1) |
      (scheduled ? 1 : 0);
  std::string& cached = spec_cache_[cache_key];
  if (!cached.empty()) return cached;
  JsonWriter w(&cached);
  const uint64_t h = HashName(app.name, world_.seed ^ HashName(app.ns, 1));
  const size_t env_count = 2 + h % 9;
  const bool probes = (h >> 8) % 4 != 0;
  const bool restricted = (h >> 12) % 3 != 0;
  std::string access_volume;
  if (pod != nullptr) {
    access_volume = "kube-api-access-";
    AppendNameSuffix(HashName(pod->uid, 7), 5, &access_volume);
  }
  const std::string config_name = StrCat(app.name, "-config");

  w.BeginObject();
  w.Arr("volumes");
  w.BeginObject()
      .Str("name", "config")
      .Obj("configMap")
      .Str("name", config_name)
      .Num("defaultMode", 420)
      .EndObject()
      .EndObject();
  if (app.sidecar) {
    w.BeginObject()
        .Str("name", "istio-envoy")
        .Obj("emptyDir")
        .Str("medium", "Memory")
        .EndObject()
        .EndObject();
  }
  if (pod != nullptr) {
    w.BeginObject().Str("name", access_volume).Obj("projected").Arr("sources");
    w.BeginObject()
        .Obj("serviceAccountToken")
        .Num("expirationSeconds", 3607)
        .Str("path", "token")
        .EndObject()
        .EndObject();
    w.BeginObject()
        .Obj("configMap")
        .Str("name", "kube-root-ca.crt")
        .Arr("items")
        .BeginObject()
        .Str("key", "ca.crt")
        .Str("path", "ca.crt")
        .EndObject()
        .EndArray()
        .EndObject()
        .EndObject();
    w.BeginObject()
        .Obj("downwardAPI")
        .Arr("items")
        .BeginObject()
        .Str("path", "namespace")
        .Obj("fieldRef")
        .Str("apiVersion", "v1")
        .Str("fieldPath", "metadata.namespace")
        .EndObject()
        .EndObject()
        .EndArray()
        .EndObject()
        .EndObject();
    w.EndArray().Num("defaultMode", 420).EndObject().EndObject();
  }
  w.EndArray();

  w.Arr("containers");
  w.BeginObject().Str("name", app.container).Str("image", app.image);
  if ((h >> 16) % 2 == 0) {
    w.Arr("args").String(StrCat("--port=", app.port)).String("--log-format=json").EndArray();
  }
  w.Arr("ports")
      .BeginObject()
      .Str("name", "http")
      .Num("containerPort", app.port)
      .Str("protocol", "TCP")
      .EndObject()
      .EndArray();
  w.Arr("env");
  for (size_t i = 0; i < env_count && i < std::size(kEnv); ++i) {
    const EnvDef& e = kEnv[(i + h) % std::size(kEnv)];
    w.BeginObject().Str("name", e.name);
    if (e.ref_kind.empty()) {
      w.Str("value", e.value);
    } else if (e.ref_kind == "field") {
      w.Obj("valueFrom")
          .Obj("fieldRef")
          .Str("apiVersion", "v1")
          .Str("fieldPath", e.value)
          .EndObject()
          .EndObject();
    } else if (e.ref_kind == "secret") {
      w.Obj("valueFrom")
          .Obj("secretKeyRef")
          .Str("name", StrCat(app.name, "-credentials"))
          .Str("key", e.value)
          .EndObject()
          .EndObject();
    } else {
      w.Obj("valueFrom")
          .Obj("resourceFieldRef")
          .Str("containerName", app.container)
          .Str("resource", e.value)
          .Str("divisor", "0")
          .EndObject()
          .EndObject();
    }
    w.EndObject();
  }
  w.EndArray();
  w.Obj("resources")
      .Obj("limits")
      .Str("memory", (h >> 20) % 2 ? "512Mi" : "1Gi")
      .EndObject()
      .Obj("requests")
      .Str("cpu", (h >> 22) % 2 ? "100m" : "250m")
      .Str("memory", (h >> 20) % 2 ? "256Mi" : "512Mi")
      .EndObject()
      .EndObject();
  w.Arr("volumeMounts");
  w.BeginObject()
      .Str("name", "config")
      .Flag("readOnly", true)
      .Str("mountPath", "/etc/app")
      .EndObject();
  if (pod != nullptr) {
    w.BeginObject()
        .Str("name", access_volume)
        .Flag("readOnly", true)
        .Str("mountPath", "/var/run/secrets/kubernetes.io/serviceaccount")
        .EndObject();
  }
  w.EndArray();
  if (probes) {
    for (std::string_view probe : {"livenessProbe", "readinessProbe"}) {
      w.Obj(probe)
          .Obj("httpGet")
          .Str("path", probe == "livenessProbe" ? "/healthz" : "/readyz")
          .Num("port", app.port)
          .Str("scheme", "HTTP")
          .EndObject()
          .Num("initialDelaySeconds", 5)
          .Num("timeoutSeconds", 1)
          .Num("periodSeconds", 10)
          .Num("successThreshold", 1)
          .Num("failureThreshold", 3)
          .EndObject();
    }
  }
  w.Str("terminationMessagePath", "/dev/termination-log")
      .Str("terminationMessagePolicy", "File")
      .Str("imagePullPolicy", "IfNotPresent");
  if (restricted) {
    w.Obj("securityContext")
        .Obj("capabilities")
        .Arr("drop")
        .String("ALL")
        .EndArray()
        .EndObject()
        .Flag("runAsNonRoot", true)
        .Flag("readOnlyRootFilesystem", true)
        .Flag("allowPrivilegeEscalation", false)
        .Obj("seccompProfile")
        .Str("type", "RuntimeDefault")
        .EndObject()
        .EndObject();
  }
  w.EndObject();
  if (app.sidecar) {
    w.BeginObject().Str("name", "istio-proxy").Str("image", "docker.io/istio/proxyv2:1.24.2");
    w.Arr("args");
    for (std::string_view a : {"proxy", "sidecar", "--domain", "$(POD_NAMESPACE).svc.cluster.local",
                               "--proxyLogLevel=warning", "--proxyComponentLogLevel=misc:error",
                               "--log_output_level=default:info"}) {
      w.String(a);
    }
    w.EndArray();
    w.Arr("ports")
        .BeginObject()
        .Str("name", "http-envoy-prom")
        .Num("containerPort", 15090)
        .Str("protocol", "TCP")
        .EndObject()
        .EndArray();
    w.Arr("env");
    for (std::string_view n :
         {"PILOT_CERT_PROVIDER", "CA_ADDR", "ISTIO_META_CLUSTER_ID", "ISTIO_META_MESH_ID",
          "TRUST_DOMAIN", "ISTIO_META_WORKLOAD_NAME", "ISTIO_META_OWNER"}) {
      w.BeginObject().Str("name", n);
      if (n == "CA_ADDR") {
        w.Str("value", "istiod.istio-system.svc:15012");
      } else if (n == "ISTIO_META_OWNER") {
        w.Str("value",
              StrCat("kubernetes://apis/apps/v1/namespaces/", app.ns, "/deployments/", app.name));
      } else if (n == "ISTIO_META_WORKLOAD_NAME") {
        w.Str("value", app.name);
      } else {
        w.Str("value", n == "PILOT_CERT_PROVIDER" ? "istiod" : world_.cluster_domain);
      }
      w.EndObject();
    }
    w.EndArray();
    w.Obj("resources")
        .Obj("limits")
        .Str("cpu", "2")
        .Str("memory", "1Gi")
        .EndObject()
        .Obj("requests")
        .Str("cpu", "100m")
        .Str("memory", "128Mi")
        .EndObject()
        .EndObject();
    w.Str("terminationMessagePath", "/dev/termination-log")
        .Str("terminationMessagePolicy", "File")
        .Str("imagePullPolicy", "IfNotPresent");
    w.EndObject();
  }
  w.EndArray();

  w.Str("restartPolicy", "Always")
      .Num("terminationGracePeriodSeconds", 30)
      .Str("dnsPolicy", "ClusterFirst")
      .Str("serviceAccountName", app.service_account);
  if (pod != nullptr) {
    w.Str("serviceAccount", app.service_account);
    if (scheduled) w.Str("nodeName", world_.nodes[pod->node].name);
  }
  if (restricted) {
    w.Obj("securityContext").Num("runAsUser", 10001).Num("fsGroup", 10001).EndObject();
  } else {
    w.Empty("securityContext");
  }
  w.Str("schedulerName", "default-scheduler");
  if (pod != nullptr) {
    w.Arr("tolerations");
    for (std::string_view key :
         {"node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"}) {
      w.BeginObject()
          .Str("key", key)
          .Str("operator", "Exists")
          .Str("effect", "NoExecute")
          .Num("tolerationSeconds", 300)
          .EndObject();
    }
    w.EndArray();
    w.Num("priority", 0);
  }
  w.Flag("enableServiceLinks", true);
  if (pod != nullptr) w.Str("preemptionPolicy", "PreemptLowerPriority");
  w.EndObject();
  return cached;
}

// The managedFields entry of whoever owns a pod template's fields.
const std::string& ObjectBuilder::PodSpecFields(const AppInfo& app) {
  std::string& cached = fields_cache_[static_cast<size_t>(&app - world_.apps.data())];
  if (!cached.empty()) return cached;
  JsonWriter w(&cached);
  w.BeginObject();
  w.Obj("f:containers");
  w.Obj(StrCat("k:{\"name\":\"", app.container, "\"}"));
  w.Empty(".").Empty("f:env").Empty("f:image").Empty("f:imagePullPolicy").Empty("f:name");
  w.Obj("f:ports")
      .Empty(".")
      .Obj(StrCat("k:{\"containerPort\":", app.port, ",\"protocol\":\"TCP\"}"))
      .Empty(".")
      .Empty("f:containerPort")
      .Empty("f:name")
      .Empty("f:protocol")
      .EndObject()
      .EndObject();
  w.Obj("f:resources")
      .Empty(".")
      .Obj("f:limits")
      .Empty(".")
      .Empty("f:memory")
      .EndObject()
      .Obj("f:requests")
      .Empty(".")
      .Empty("f:cpu")
      .Empty("f:memory")
      .EndObject()
      .EndObject();
  w.Empty("f:terminationMessagePath").Empty("f:terminationMessagePolicy");
  w.Obj("f:volumeMounts")
      .Empty(".")
      .Obj("k:{\"mountPath\":\"/etc/app\"}")
      .Empty(".")
      .Empty("f:mountPath")
      .Empty("f:name")
      .Empty("f:readOnly")
      .EndObject()
      .EndObject();
  w.EndObject().EndObject();
  w.Empty("f:dnsPolicy")
      .Empty("f:enableServiceLinks")
      .Empty("f:restartPolicy")
      .Empty("f:schedulerName")
      .Empty("f:securityContext")
      .Empty("f:serviceAccount")
      .Empty("f:serviceAccountName")
      .Empty("f:terminationGracePeriodSeconds");
  w.Obj("f:volumes")
      .Empty(".")
      .Obj("k:{\"name\":\"config\"}")
      .Empty(".")
      .Obj("f:configMap")
      .Empty(".")
      .Empty("f:defaultMode")
      .Empty("f:name")
      .EndObject()
      .Empty("f:name")
      .EndObject()
      .EndObject();
  w.EndObject();
  return cached;
}

void ObjectBuilder::Pod(const PodInfo& pod, Form form, int64_t rv, bool just_created,
                        std::string* out) {
  const AppInfo& app = world_.apps[pod.app];
  const NodeInfo& node = world_.nodes[pod.node];
  const bool fresh = just_created || form == Form::kRequest;
  Meta m;
  std::string generate_name;
  std::string owner_name;
  std::string owner_uid_storage;
  const bool deployment = app.kind == Res::kDeployments;
  if (deployment || app.kind == Res::kDaemonSets) {
    generate_name =
        deployment ? StrCat(app.name, "-", app.template_hash, "-") : StrCat(app.name, "-");
    m.generate_name = generate_name;
  }
  // A controller's create request names no pod: the server generates the name.
  if (!(form == Form::kRequest && !generate_name.empty())) m.name = pod.name;
  m.ns = pod.ns;
  m.uid = pod.uid;
  m.rv = rv;
  m.created_us = pod.created_us;
  m.Label("app", app.name);
  std::string revision_hash;
  if (deployment) {
    m.Label("pod-template-hash", app.template_hash);
    owner_name = StrCat(app.name, "-", app.template_hash);
    m.owner_kind = "ReplicaSet";
    m.owner_uid = app.rs_uid;
  } else {
    revision_hash = StrCat(app.name, "-");
    AppendNameSuffix(HashName(app.uid, 3), 10, &revision_hash);
    m.Label("controller-revision-hash", revision_hash);
    owner_name = app.name;
    m.owner_kind = ResourceOf(app.kind).kind;
    m.owner_uid = app.uid;
    if (app.kind == Res::kStatefulSets) {
      m.Label("statefulset.kubernetes.io/pod-name", pod.name);
    } else {
      m.Label("pod-template-generation", "3");
    }
  }
  m.owner_api_version = "apps/v1";
  m.owner_name = owner_name;
  const std::string port_text = StrCat(app.port);
  if (app.port == 9090 || app.port == 8080) {
    m.Annotate("prometheus.io/port", port_text);
    m.Annotate("prometheus.io/scrape", "true");
  }
  std::string sidecar_status;
  if (app.sidecar) {
    m.Label("security.istio.io/tlsMode", "istio");
    m.Label("service.istio.io/canonical-name", app.name);
    // JSON inside an annotation value, as istio writes it.
    sidecar_status =
        R"({"initContainers":["istio-init"],"containers":["istio-proxy"],"volumes":["workload-socket","credential-socket","workload-certs","istio-envoy","istio-data","istio-podinfo","istio-token","istiod-ca-cert"],"imagePullSecrets":null,"revision":"default"})";
    m.Annotate("sidecar.istio.io/status", sidecar_status);
  }
  JsonWriter w(out);
  Head(w, "Pod", "v1", m, form, [&] {
    const int64_t t = pod.created_us;
    ManagedBegin(w, "kube-controller-manager", "Update", "v1", t);
    w.Obj("f:metadata");
    if (!generate_name.empty()) w.Empty("f:generateName");
    w.Obj("f:labels").Empty(".").Empty("f:app").EndObject();
    w.Obj("f:ownerReferences")
        .Empty(".")
        .Empty(StrCat("k:{\"uid\":\"", m.owner_uid, "\"}"))
        .EndObject();
    w.EndObject();
    w.Key("f:spec").Raw(PodSpecFields(app));
    ManagedEnd(w, "");
    if (!fresh) {
      ManagedBegin(w, "kubelet", "Update", "v1", t + 4 * kSecond);
      w.Obj("f:status");
      w.Obj("f:conditions");
      for (std::string_view type :
           {"ContainersReady", "Initialized", "PodReadyToStartContainers", "Ready"}) {
        w.Obj(StrCat("k:{\"type\":\"", type, "\"}"))
            .Empty(".")
            .Empty("f:lastProbeTime")
            .Empty("f:lastTransitionTime")
            .Empty("f:status")
            .Empty("f:type")
            .EndObject();
      }
      w.EndObject();
      w.Empty("f:containerStatuses")
          .Empty("f:hostIP")
          .Empty("f:hostIPs")
          .Empty("f:phase")
          .Empty("f:podIP");
      w.Obj("f:podIPs")
          .Empty(".")
          .Obj(StrCat("k:{\"ip\":\"", pod.ip, "\"}"))
          .Empty(".")
          .Empty("f:ip")
          .EndObject()
          .EndObject();
      w.Empty("f:startTime");
      w.EndObject();
      ManagedEnd(w, "status");
    }
  });

  w.Key("spec").Raw(PodSpec(app, form == Form::kRequest ? nullptr : &pod, /*scheduled=*/!fresh));

  if (form == Form::kRequest) {
    w.Empty("status");
  } else if (fresh) {
    w.Obj("status").Str("phase", "Pending").Str("qosClass", "Burstable").EndObject();
  } else {
    const int64_t started = pod.created_us + 3 * kSecond;
    w.Obj("status").Str("phase", "Running").Arr("conditions");
    for (std::string_view type :
         {"PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled"}) {
      w.BeginObject().Str("type", type).Str("status", "True").Key("lastProbeTime").Null();
      TimeField(w, "lastTransitionTime", started, false);
      w.EndObject();
    }
    w.EndArray();
    w.Str("hostIP", node.ip).Arr("hostIPs").BeginObject().Str("ip", node.ip).EndObject().EndArray();
    w.Str("podIP", pod.ip).Arr("podIPs").BeginObject().Str("ip", pod.ip).EndObject().EndArray();
    TimeField(w, "startTime", pod.created_us, false);
    w.Arr("containerStatuses");
    w.BeginObject().Str("name", app.container).Obj("state").Obj("running");
    TimeField(w, "startedAt", started, false);
    w.EndObject()
        .EndObject()
        .Empty("lastState")
        .Flag("ready", true)
        .Num("restartCount", 0)
        .Str("image", app.image);
    w.Str("imageID", ImageDigest(app.image));
    std::string container_id = "containerd://";
    AppendHashHex(pod.uid, 4, &container_id);
    w.Str("containerID", container_id).Flag("started", true);
    if (world_.minor_version >= 31) {
      w.Arr("volumeMounts")
          .BeginObject()
          .Str("name", "config")
          .Str("mountPath", "/etc/app")
          .Flag("readOnly", true)
          .Str("recursiveReadOnly", "Disabled")
          .EndObject()
          .EndArray();
    }
    w.EndObject().EndArray().Str("qosClass", "Burstable").EndObject();
  }
  w.EndObject();
}

// --- Workloads ----------------------------------------------------------------------------

void ObjectBuilder::LastApplied(const Target& t, std::string* out) {
  // kubectl marshals the manifest from a map, so its keys are sorted.
  const AppInfo& app = *t.app;
  JsonWriter w(out);
  w.BeginObject().Str("apiVersion", "apps/v1").Str("kind", ResourceOf(t.res).kind);
  w.Obj("metadata")
      .Empty("annotations")
      .Obj("labels")
      .Str("app", app.name)
      .EndObject()
      .Str("name", app.name)
      .Str("namespace", app.ns)
      .EndObject();
  w.Obj("spec")
      .Num("replicas", app.replicas)
      .Obj("selector")
      .Obj("matchLabels")
      .Str("app", app.name)
      .EndObject()
      .EndObject();
  w.Obj("template").Obj("metadata").Obj("labels").Str("app", app.name).EndObject().EndObject();
  w.Obj("spec")
      .Arr("containers")
      .BeginObject()
      .Str("image", app.image)
      .Str("name", app.container)
      .Arr("ports")
      .BeginObject()
      .Num("containerPort", app.port)
      .Str("name", "http")
      .EndObject()
      .EndArray()
      .EndObject()
      .EndArray()
      .EndObject();
  w.EndObject().EndObject().EndObject();
  out->push_back('\n');
}

void ObjectBuilder::Workload(const AppInfo& app, Res kind, Form form, int64_t rv,
                             std::string* out) {
  Meta m;
  std::string rs_name;
  const bool rs = kind == Res::kReplicaSets;
  if (rs) {
    rs_name = StrCat(app.name, "-", app.template_hash);
    m.name = rs_name;
    m.uid = app.rs_uid;
    m.owner_api_version = "apps/v1";
    m.owner_kind = "Deployment";
    m.owner_name = app.name;
    m.owner_uid = app.uid;
  } else {
    m.name = app.name;
    m.uid = app.uid;
  }
  m.ns = app.ns;
  m.rv = rv;
  const int64_t generation = 1 + static_cast<int64_t>(HashName(app.uid, 9) % 12);
  m.generation = generation;
  m.created_us = app.created_us;
  m.Label("app", app.name);
  if (rs) m.Label("pod-template-hash", app.template_hash);
  const std::string revision = StrCat(generation);
  const std::string desired_replicas = StrCat(app.replicas);
  const std::string max_replicas = StrCat(app.replicas + 1);
  std::string last_applied;
  const bool helm = HashName(app.name, 5) % 2 == 0;
  if (kind == Res::kDeployments || rs) m.Annotate("deployment.kubernetes.io/revision", revision);
  if (rs) {
    m.Annotate("deployment.kubernetes.io/desired-replicas", desired_replicas);
    m.Annotate("deployment.kubernetes.io/max-replicas", max_replicas);
  } else if (helm) {
    m.Label("app.kubernetes.io/managed-by", "Helm");
    m.Annotate("meta.helm.sh/release-name", app.name);
    m.Annotate("meta.helm.sh/release-namespace", app.ns);
  } else {
    Target t;
    t.res = kind;
    t.app = &app;
    LastApplied(t, &last_applied);
    m.Annotate("kubectl.kubernetes.io/last-applied-configuration", last_applied);
  }
  JsonWriter w(out);
  Head(w, ResourceOf(kind).kind, "apps/v1", m, form, [&] {
    ManagedBegin(w, rs ? "kube-controller-manager" : (helm ? "helm" : "kubectl-client-side-apply"),
                 "Update", "apps/v1", app.created_us);
    w.Obj("f:metadata");
    if (!rs && !helm) {
      w.Obj("f:annotations")
          .Empty(".")
          .Empty("f:kubectl.kubernetes.io/last-applied-configuration")
          .EndObject();
    }
    w.Obj("f:labels").Empty(".").Empty("f:app").EndObject().EndObject();
    w.Obj("f:spec")
        .Empty("f:replicas")
        .Empty("f:selector")
        .Obj("f:template")
        .Obj("f:metadata")
        .Obj("f:labels")
        .Empty(".")
        .Empty("f:app")
        .EndObject()
        .EndObject()
        .Key("f:spec")
        .Raw(PodSpecFields(app));
    w.EndObject().EndObject();
    ManagedEnd(w, "");
    ManagedBegin(w, "kube-controller-manager", "Update", "apps/v1", now_us_ - 3600 * kSecond);
    w.Obj("f:status")
        .Empty("f:availableReplicas")
        .Empty("f:observedGeneration")
        .Empty("f:readyReplicas")
        .Empty("f:replicas")
        .EndObject();
    ManagedEnd(w, "status");
  });

  w.Obj("spec");
  if (kind != Res::kDaemonSets) w.Num("replicas", app.replicas);
  w.Obj("selector").Obj("matchLabels").Str("app", app.name);
  if (rs) w.Str("pod-template-hash", app.template_hash);
  w.EndObject().EndObject();
  w.Obj("template")
      .Obj("metadata")
      .Key("creationTimestamp")
      .Null()
      .Obj("labels")
      .Str("app", app.name);
  if (rs) w.Str("pod-template-hash", app.template_hash);
  w.EndObject().EndObject();
  w.Key("spec").Raw(PodSpec(app, nullptr, /*scheduled=*/false));
  w.EndObject();
  if (kind == Res::kDeployments) {
    w.Obj("strategy")
        .Str("type", "RollingUpdate")
        .Obj("rollingUpdate")
        .Str("maxUnavailable", "25%")
        .Str("maxSurge", "25%")
        .EndObject()
        .EndObject()
        .Num("revisionHistoryLimit", 10)
        .Num("progressDeadlineSeconds", 600);
  } else if (kind == Res::kStatefulSets) {
    w.Str("serviceName", app.name)
        .Str("podManagementPolicy", "OrderedReady")
        .Obj("updateStrategy")
        .Str("type", "RollingUpdate")
        .Obj("rollingUpdate")
        .Num("partition", 0)
        .EndObject()
        .EndObject()
        .Num("revisionHistoryLimit", 10)
        .Obj("persistentVolumeClaimRetentionPolicy")
        .Str("whenDeleted", "Retain")
        .Str("whenScaled", "Retain")
        .EndObject();
  } else if (kind == Res::kDaemonSets) {
    w.Obj("updateStrategy")
        .Str("type", "RollingUpdate")
        .Obj("rollingUpdate")
        .Num("maxUnavailable", 1)
        .Num("maxSurge", 0)
        .EndObject()
        .EndObject()
        .Num("revisionHistoryLimit", 10);
  }
  w.EndObject();

  if (form == Form::kRequest) {
    w.Empty("status");
  } else {
    const int n = kind == Res::kDaemonSets ? static_cast<int>(world_.nodes.size()) : app.replicas;
    w.Obj("status");
    if (kind == Res::kDaemonSets) {
      w.Num("currentNumberScheduled", n)
          .Num("numberMisscheduled", 0)
          .Num("desiredNumberScheduled", n)
          .Num("numberReady", n)
          .Num("observedGeneration", generation)
          .Num("updatedNumberScheduled", n)
          .Num("numberAvailable", n);
    } else {
      w.Num("observedGeneration", generation).Num("replicas", n);
      if (kind == Res::kDeployments) w.Num("updatedReplicas", n);
      w.Num("readyReplicas", n).Num("availableReplicas", n);
    }
    if (kind == Res::kDeployments) {
      w.Arr("conditions");
      const int64_t t = now_us_ - static_cast<int64_t>(HashName(app.uid, 11) % 30) * kDay;
      w.BeginObject().Str("type", "Available").Str("status", "True");
      TimeField(w, "lastUpdateTime", t, false);
      TimeField(w, "lastTransitionTime", t, false);
      w.Str("reason", "MinimumReplicasAvailable")
          .Str("message", "Deployment has minimum availability.")
          .EndObject();
      w.BeginObject().Str("type", "Progressing").Str("status", "True");
      TimeField(w, "lastUpdateTime", t, false);
      TimeField(w, "lastTransitionTime", app.created_us, false);
      w.Str("reason", "NewReplicaSetAvailable")
          .Str("message", StrCat("ReplicaSet \"", app.name, "-", app.template_hash,
                                 "\" has successfully progressed."))
          .EndObject();
      w.EndArray();
    }
    w.EndObject();
  }
  w.EndObject();
}

// --- ConfigMaps -----------------------------------------------------------------------------

void ObjectBuilder::CaBundle(int certs, std::string* out) {
  // Each certificate is 14-30 lines of 64 base64 characters cut from a random place of a
  // fixed random pool: as varied as real certificates for compression and parsing, and cheap.
  const size_t pool = base64_pool_.size();
  for (int c = 0; c < certs; ++c) {
    out->append("# ");
    out->append(kCaNames[rng_->Index(std::size(kCaNames))]);
    out->append("\n-----BEGIN CERTIFICATE-----\nMII");
    const int lines = static_cast<int>(rng_->Range(14, 30));
    size_t pos = rng_->Index(pool - 64);
    size_t width = 61;  // the first line continues "MII"
    for (int line = 0; line < lines; ++line) {
      out->append(base64_pool_, pos, width);
      out->push_back('\n');
      pos = (pos + 67) % (pool - 64);
      width = 64;
    }
    out->append("-----END CERTIFICATE-----\n");
  }
}

void ObjectBuilder::ConfigMap(const Target& t, Form form, int64_t rv, std::string* out) {
  Meta m;
  m.name = t.name;
  m.ns = t.ns;
  const std::string uid = world_.StableUid("ConfigMap", t.ns, t.name);
  m.uid = uid;
  m.rv = rv;
  m.created_us = now_us_ - static_cast<int64_t>(HashName(uid, 1) % 200) * kDay - 3600 * kSecond;
  const bool root_ca = t.name == "kube-root-ca.crt" || t.name == "istio-ca-root-cert";
  if (t.ca_bundle) {
    m.Label("app.kubernetes.io/managed-by", "trust-manager");
    m.Label("trust.cert-manager.io/bundle", "true");
  } else if (!root_ca && t.app != nullptr) {
    m.Label("app", t.app->name);
    m.Label("app.kubernetes.io/part-of", t.app->ns);
  }
  if (root_ca)
    m.Annotate("kubernetes.io/description",
               "Contains a CA bundle that can be used to verify the kube-apiserver when using "
               "internal endpoints such as the internal service IP or kubernetes.default.svc. No "
               "other usage is guaranteed across distributions of Kubernetes clusters.");
  JsonWriter w(out);
  Head(w, "ConfigMap", "v1", m, form, [&] {
    ManagedBegin(w, root_ca ? "kube-controller-manager" : (t.ca_bundle ? "trust-manager" : "helm"),
                 "Update", "v1", m.created_us);
    w.Obj("f:data").Empty(".");
    if (t.ca_bundle) {
      w.Empty("f:ca-bundle.crt");
    } else if (root_ca) {
      w.Empty("f:ca.crt");
    } else {
      w.Empty("f:LOG_LEVEL").Empty("f:config.yaml");
    }
    w.EndObject();
    ManagedEnd(w, "");
  });
  w.Obj("data");
  if (t.ca_bundle || root_ca) {
    scratch_.clear();
    // Bundles range from a private CA chain to a whole public trust store (~230 KB).
    static constexpr Bucket kCertCounts[] = {{50, 8, 40}, {35, 40, 100}, {15, 100, 150}};
    CaBundle(t.ca_bundle ? static_cast<int>(PickFromBuckets(*rng_, kCertCounts)) : 1, &scratch_);
    w.Str(t.ca_bundle ? "ca-bundle.crt" : "ca.crt", scratch_);
  } else {
    const std::string_view app = t.app != nullptr ? std::string_view(t.app->name) : t.name;
    w.Str("LOG_LEVEL", "info");
    w.Str("config.yaml",
          StrCat("server:\n  port: ", t.app != nullptr ? t.app->port : 8080,
                 "\n  gracefulShutdown: 20s\nservice:\n  name: ", app,
                 "\n  upstreams:\n    - http://", app, "-backend.", t.ns,
                 ".svc.cluster.local:8080\n    - http://auth.auth.svc.cluster.local:8080\n"
                 "features:\n  newCheckout: ",
                 (HashName(app, 2) & 1) ? "true" : "false",
                 "\n  rateLimit: 250\nlogging:\n  format: json\n  level: info\n"));
  }
  w.EndObject();
  w.EndObject();
}

// --- Leases ---------------------------------------------------------------------------------

void ObjectBuilder::Lease(const Target& t, Form form, int64_t rv, std::string* out) {
  const bool node_lease = t.ns == "kube-node-lease";
  Meta m;
  m.name = t.name;
  m.ns = t.ns;
  const std::string uid = world_.StableUid("Lease", t.ns, t.name);
  m.uid = uid;
  m.rv = rv;
  m.created_us = node_lease && t.node != nullptr ? t.node->created_us : now_us_ - 40 * kDay;
  if (node_lease && t.node != nullptr) {
    m.owner_api_version = "v1";
    m.owner_kind = "Node";
    m.owner_name = t.node->name;
    m.owner_uid = t.node->uid;
  }
  JsonWriter w(out);
  Head(w, "Lease", "coordination.k8s.io/v1", m, form, [&] {
    ManagedBegin(w,
                 node_lease ? "kubelet"
                            : std::string_view(t.holder.empty() ? "kube-controller-manager"
                                                                : "leader-election"),
                 "Update", "coordination.k8s.io/v1", now_us_ - 2 * kSecond);
    if (node_lease) {
      w.Obj("f:metadata")
          .Obj("f:ownerReferences")
          .Empty(".")
          .Empty(StrCat("k:{\"uid\":\"", m.owner_uid, "\"}"))
          .EndObject()
          .EndObject();
    }
    w.Obj("f:spec");
    if (!node_lease) w.Empty("f:acquireTime");
    w.Empty("f:holderIdentity").Empty("f:leaseDurationSeconds");
    if (!node_lease) w.Empty("f:leaseTransitions");
    w.Empty("f:renewTime").EndObject();
    ManagedEnd(w, "");
  });
  w.Obj("spec").Str("holderIdentity", t.holder).Num("leaseDurationSeconds", node_lease ? 40 : 15);
  if (!node_lease) TimeField(w, "acquireTime", now_us_ - 3 * kDay + 12345, true);
  TimeField(w, "renewTime", now_us_ - static_cast<int64_t>(rng_->Below(2000000)), true);
  if (!node_lease) w.Num("leaseTransitions", static_cast<int64_t>(HashName(uid, 1) % 9));
  w.EndObject();
  w.EndObject();
}

// --- Events ---------------------------------------------------------------------------------

void ObjectBuilder::Event(const Target& t, Form form, int64_t rv, std::string* out) {
  const PodInfo* pod = t.pod != nullptr ? t.pod : &world_.pods[0];
  const AppInfo& app = world_.apps[pod->app];
  const NodeInfo& node = world_.nodes[pod->node];
  const bool v1 = t.res == Res::kEventsV1;
  const auto& reason =
      v1 ? kEventReasons[6] : kEventReasons[rng_->Index(std::size(kEventReasons) - 2)];
  const std::string message =
      Expand(reason[1], app.image, app.container, pod->name, pod->ns, node.name, pod->ip);
  Meta m;
  m.name = t.name;
  m.ns = t.ns;
  const std::string uid = world_.StableUid("Event", t.ns, t.name);
  m.uid = uid;
  m.rv = rv;
  m.created_us = now_us_ - static_cast<int64_t>(rng_->Below(600)) * kSecond;
  JsonWriter w(out);
  Head(w, "Event", v1 ? "events.k8s.io/v1" : "v1", m, form, [&] {
    ManagedBegin(w, v1 ? "kube-scheduler" : "kubelet", "Update", v1 ? "events.k8s.io/v1" : "v1",
                 m.created_us);
    if (v1) {
      w.Empty("f:action")
          .Empty("f:eventTime")
          .Empty("f:note")
          .Empty("f:reason")
          .Obj("f:regarding")
          .Empty("f:kind")
          .Empty("f:name")
          .Empty("f:namespace")
          .Empty("f:uid")
          .EndObject()
          .Empty("f:reportingController")
          .Empty("f:reportingInstance")
          .Empty("f:type");
    } else {
      w.Empty("f:count")
          .Obj("f:involvedObject")
          .Empty("f:apiVersion")
          .Empty("f:fieldPath")
          .Empty("f:kind")
          .Empty("f:name")
          .Empty("f:namespace")
          .Empty("f:resourceVersion")
          .Empty("f:uid")
          .EndObject()
          .Empty("f:lastTimestamp")
          .Empty("f:message")
          .Empty("f:reason")
          .Empty("f:reportingComponent")
          .Empty("f:reportingInstance")
          .Obj("f:source")
          .Empty("f:component")
          .Empty("f:host")
          .EndObject()
          .Empty("f:type");
    }
    ManagedEnd(w, "");
  });
  if (v1) {
    TimeField(w, "eventTime", m.created_us + 123456, true);
    w.Str("reportingController", "default-scheduler")
        .Str("reportingInstance", StrCat("default-scheduler-", world_.nodes[0].name))
        .Str("action", "Binding")
        .Str("reason", reason[0]);
    OpenPodRef(w, "regarding", *pod)
        .Str("apiVersion", "v1")
        .Str("resourceVersion", StrCat(OlderResourceVersion()))
        .EndObject();
    w.Str("note", message)
        .Str("type", "Normal")
        .Key("deprecatedFirstTimestamp")
        .Null()
        .Key("deprecatedLastTimestamp")
        .Null();
  } else {
    OpenPodRef(w, "involvedObject", *pod)
        .Str("apiVersion", "v1")
        .Str("resourceVersion", StrCat(OlderResourceVersion()))
        .Str("fieldPath", StrCat("spec.containers{", app.container, "}"))
        .EndObject();
    w.Str("reason", reason[0]).Str("message", message);
    w.Obj("source").Str("component", "kubelet").Str("host", node.name).EndObject();
    TimeField(w, "firstTimestamp", m.created_us, false);
    TimeField(w, "lastTimestamp", now_us_, false);
    w.Num("count", 1 + static_cast<int64_t>(rng_->Below(3)))
        .Str("type", reason[0] == "Unhealthy" || reason[0] == "BackOff" ? "Warning" : "Normal")
        .Key("eventTime")
        .Null()
        .Str("reportingComponent", "kubelet")
        .Str("reportingInstance", node.name);
  }
  w.EndObject();
}

// --- Services and endpoints ---------------------------------------------------------------

void ObjectBuilder::Service(const AppInfo& app, Form form, int64_t rv, std::string* out) {
  Meta m;
  m.name = app.name;
  m.ns = app.ns;
  const std::string uid = world_.StableUid("Service", app.ns, app.name);
  m.uid = uid;
  m.rv = rv;
  m.created_us = app.created_us;
  m.Label("app", app.name);
  JsonWriter w(out);
  Head(w, "Service", "v1", m, form, [&] {
    ManagedBegin(w, "helm", "Update", "v1", app.created_us);
    w.Obj("f:metadata")
        .Obj("f:labels")
        .Empty(".")
        .Empty("f:app")
        .EndObject()
        .EndObject()
        .Obj("f:spec")
        .Empty("f:internalTrafficPolicy")
        .Obj("f:ports")
        .Empty(".")
        .Obj("k:{\"port\":80,\"protocol\":\"TCP\"}")
        .Empty(".")
        .Empty("f:name")
        .Empty("f:port")
        .Empty("f:protocol")
        .Empty("f:targetPort")
        .EndObject()
        .EndObject()
        .Obj("f:selector")
        .Empty(".")
        .Empty("f:app")
        .EndObject()
        .Empty("f:sessionAffinity")
        .Empty("f:type")
        .EndObject();
    ManagedEnd(w, "");
  });
  const uint64_t h = HashName(uid, 4);
  const std::string ip = StrCat("10.96.", (h >> 8) % 256, ".", h % 254 + 1);
  w.Obj("spec")
      .Arr("ports")
      .BeginObject()
      .Str("name", "http")
      .Str("protocol", "TCP")
      .Num("port", 80)
      .Num("targetPort", app.port)
      .EndObject()
      .EndArray()
      .Obj("selector")
      .Str("app", app.name)
      .EndObject();
  if (form != Form::kRequest) {
    w.Str("clusterIP", ip).Arr("clusterIPs").String(ip).EndArray();
  }
  w.Str("type", "ClusterIP").Str("sessionAffinity", "None");
  if (form != Form::kRequest) {
    w.Arr("ipFamilies").String("IPv4").EndArray().Str("ipFamilyPolicy", "SingleStack");
  }
  w.Str("internalTrafficPolicy", "Cluster").EndObject();
  w.Obj("status").Empty("loadBalancer").EndObject();
  w.EndObject();
}

void ObjectBuilder::EndpointSlice(const AppInfo& app, Form form, int64_t rv, std::string* out) {
  Meta m;
  std::string name = StrCat(app.name, "-");
  AppendNameSuffix(HashName(app.uid, 21), 5, &name);
  const std::string generate_name = StrCat(app.name, "-");
  m.name = name;
  m.generate_name = generate_name;
  m.ns = app.ns;
  const std::string uid = world_.StableUid("EndpointSlice", app.ns, name);
  m.uid = uid;
  m.rv = rv;
  m.generation = 1 + static_cast<int64_t>(rng_->Below(40));
  m.created_us = app.created_us;
  m.Label("endpointslice.kubernetes.io/managed-by", "endpointslice-controller.k8s.io");
  m.Label("kubernetes.io/service-name", app.name);
  m.Label("app", app.name);
  std::string trigger;
  AppendRfc3339(now_us_ - 2 * kSecond, false, &trigger);
  m.Annotate("endpoints.kubernetes.io/last-change-trigger-time", trigger);
  const std::string service_uid = world_.StableUid("Service", app.ns, app.name);
  m.owner_api_version = "v1";
  m.owner_kind = "Service";
  m.owner_name = app.name;
  m.owner_uid = service_uid;
  JsonWriter w(out);
  Head(w, "EndpointSlice", "discovery.k8s.io/v1", m, form, [&] {
    ManagedBegin(w, "endpointslice-controller.k8s.io", "Update", "discovery.k8s.io/v1",
                 now_us_ - 2 * kSecond);
    w.Empty("f:addressType")
        .Empty("f:endpoints")
        .Obj("f:metadata")
        .Obj("f:annotations")
        .Empty(".")
        .Empty("f:endpoints.kubernetes.io/last-change-trigger-time")
        .EndObject()
        .Obj("f:generateName")
        .EndObject()
        .Obj("f:labels")
        .Empty(".")
        .Empty("f:app")
        .Empty("f:endpointslice.kubernetes.io/managed-by")
        .Empty("f:kubernetes.io/service-name")
        .EndObject()
        .Obj("f:ownerReferences")
        .Empty(".")
        .Empty(StrCat("k:{\"uid\":\"", service_uid, "\"}"))
        .EndObject()
        .EndObject()
        .Empty("f:ports");
    ManagedEnd(w, "");
  });
  w.Str("addressType", "IPv4").Arr("endpoints");
  for (size_t index : app.pods) {
    const PodInfo& pod = world_.pods[index];
    w.BeginObject()
        .Arr("addresses")
        .String(pod.ip)
        .EndArray()
        .Obj("conditions")
        .Flag("ready", true)
        .Flag("serving", true)
        .Flag("terminating", false)
        .EndObject();
    OpenPodRef(w, "targetRef", pod)
        .EndObject()
        .Str("nodeName", world_.nodes[pod.node].name)
        .Str("zone", "us-east-1a")
        .EndObject();
  }
  w.EndArray();
  w.Arr("ports")
      .BeginObject()
      .Str("name", "http")
      .Str("protocol", "TCP")
      .Num("port", app.port)
      .EndObject()
      .EndArray();
  w.EndObject();
}

// --- Nodes and namespaces ----------------------------------------------------------------

void ObjectBuilder::Node(const NodeInfo& node, Form form, int64_t rv, std::string* out) {
  Meta m;
  m.name = node.name;
  m.uid = node.uid;
  m.rv = rv;
  m.created_us = node.created_us;
  m.Label("beta.kubernetes.io/arch", "amd64");
  m.Label("beta.kubernetes.io/os", "linux");
  m.Label("kubernetes.io/hostname", node.name);
  m.Label("node.kubernetes.io/instance-type", "m6i.2xlarge");
  m.Label("topology.kubernetes.io/region", "us-east-1");
  m.Label("topology.kubernetes.io/zone", "us-east-1a");
  m.Annotate("node.alpha.kubernetes.io/ttl", "0");
  m.Annotate("volumes.kubernetes.io/controller-managed-attach-detach", "true");
  JsonWriter w(out);
  Head(w, "Node", "v1", m, form, [&] {
    ManagedBegin(w, "kubelet", "Update", "v1", node.created_us);
    w.Obj("f:metadata")
        .Obj("f:annotations")
        .Empty(".")
        .Empty("f:volumes.kubernetes.io/controller-managed-attach-detach")
        .EndObject()
        .Obj("f:labels")
        .Empty(".")
        .Empty("f:beta.kubernetes.io/arch")
        .Empty("f:beta.kubernetes.io/os")
        .Empty("f:kubernetes.io/hostname")
        .EndObject()
        .EndObject()
        .Obj("f:spec")
        .Empty("f:providerID")
        .EndObject();
    ManagedEnd(w, "");
    ManagedBegin(w, "kubelet", "Update", "v1", now_us_ - 10 * kSecond);
    w.Obj("f:status").Obj("f:conditions");
    for (std::string_view type : {"DiskPressure", "MemoryPressure", "PIDPressure", "Ready"}) {
      w.Obj(StrCat("k:{\"type\":\"", type, "\"}"))
          .Empty("f:lastHeartbeatTime")
          .Empty("f:lastTransitionTime")
          .Empty("f:message")
          .Empty("f:reason")
          .Empty("f:status")
          .EndObject();
    }
    w.EndObject().Empty("f:images").Empty("f:nodeInfo").EndObject();
    ManagedEnd(w, "status");
  });
  const size_t index = static_cast<size_t>(&node - world_.nodes.data());
  const std::string cidr = StrCat("10.244.", index, ".0/24");
  w.Obj("spec").Str("podCIDR", cidr).Arr("podCIDRs").String(cidr).EndArray();
  if (!node.provider_id.empty()) w.Str("providerID", node.provider_id);
  w.EndObject();
  w.Obj("status");
  w.Obj("capacity")
      .Str("cpu", "8")
      .Str("ephemeral-storage", "104845292Ki")
      .Str("hugepages-1Gi", "0")
      .Str("hugepages-2Mi", "0")
      .Str("memory", "32386520Ki")
      .Str("pods", "110")
      .EndObject();
  w.Obj("allocatable")
      .Str("cpu", "7910m")
      .Str("ephemeral-storage", "95551679124")
      .Str("hugepages-1Gi", "0")
      .Str("hugepages-2Mi", "0")
      .Str("memory", "31369688Ki")
      .Str("pods", "110")
      .EndObject();
  w.Arr("conditions");
  struct Cond {
    std::string_view type, status, reason, message;
  };
  constexpr Cond kConds[] = {
      {"MemoryPressure", "False", "KubeletHasSufficientMemory",
       "kubelet has sufficient memory available"},
      {"DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"},
      {"PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"},
      {"Ready", "True", "KubeletReady", "kubelet is posting ready status"},
  };
  for (const Cond& c : kConds) {
    w.BeginObject().Str("type", c.type).Str("status", c.status);
    TimeField(w, "lastHeartbeatTime", now_us_ - 5 * kSecond, false);
    TimeField(w, "lastTransitionTime", node.created_us, false);
    w.Str("reason", c.reason).Str("message", c.message).EndObject();
  }
  w.EndArray();
  w.Arr("addresses")
      .BeginObject()
      .Str("type", "InternalIP")
      .Str("address", node.ip)
      .EndObject()
      .BeginObject()
      .Str("type", "Hostname")
      .Str("address", node.name)
      .EndObject()
      .EndArray();
  w.Obj("daemonEndpoints").Obj("kubeletEndpoint").Num("Port", 10250).EndObject().EndObject();
  w.Obj("nodeInfo");
  std::string id;
  AppendHashHex(node.uid, 2, &id);
  w.Str("machineID", id)
      .Str("systemUUID", world_.StableUid("system", "", node.name))
      .Str("bootID", world_.StableUid("boot", "", node.name))
      .Str("kernelVersion", "6.1.119-129.201.amzn2023.x86_64")
      .Str("osImage", "Amazon Linux 2023.6.20241212")
      .Str("containerRuntimeVersion", "containerd://1.7.23")
      .Str("kubeletVersion", world_.version)
      .Str("kubeProxyVersion", world_.version)
      .Str("operatingSystem", "linux")
      .Str("architecture", "amd64")
      .EndObject();
  // The image list dominates a node's size.
  w.Arr("images");
  const size_t images = 15 + HashName(node.name, 8) % 35;
  for (size_t i = 0; i < images; ++i) {
    const AppInfo& app = world_.apps[(i * 7 + index) % world_.apps.size()];
    w.BeginObject()
        .Arr("names")
        .String(ImageDigest(app.image))
        .String(app.image)
        .EndArray()
        .Num("sizeBytes", static_cast<int64_t>(5000000 + HashName(app.image, 5) % 400000000))
        .EndObject();
  }
  w.EndArray();
  if (world_.minor_version >= 31) {
    w.Obj("features").Flag("supplementalGroupsPolicy", true).EndObject();
    w.Arr("runtimeHandlers")
        .BeginObject()
        .Str("name", "runc")
        .Obj("features")
        .Flag("recursiveReadOnlyMounts", true)
        .Flag("userNamespaces", true)
        .EndObject()
        .EndObject()
        .EndArray();
  }
  w.EndObject();
  w.EndObject();
}

void ObjectBuilder::Namespace(const NamespaceInfo& ns, Form form, int64_t rv, std::string* out) {
  Meta m;
  m.name = ns.name;
  m.uid = ns.uid;
  m.rv = rv;
  m.created_us = ns.created_us;
  m.Label("kubernetes.io/metadata.name", ns.name);
  if (ns.pod_security != "privileged") {
    m.Label("pod-security.kubernetes.io/enforce", ns.pod_security);
    m.Label("pod-security.kubernetes.io/warn", "restricted");
  }
  JsonWriter w(out);
  Head(w, "Namespace", "v1", m, form, [&] {
    ManagedBegin(w, "kubectl-create", "Update", "v1", ns.created_us);
    w.Obj("f:metadata")
        .Obj("f:labels")
        .Empty(".")
        .Empty("f:kubernetes.io/metadata.name")
        .EndObject()
        .EndObject();
    ManagedEnd(w, "");
  });
  w.Obj("spec").Arr("finalizers").String("kubernetes").EndArray().EndObject();
  w.Obj("status").Str("phase", "Active").EndObject();
  w.EndObject();
}

// --- Everything else ------------------------------------------------------------------------

void ObjectBuilder::Generic(const Target& t, Form form, int64_t rv, std::string* out) {
  const ResourceType& type = ResourceOf(t.res);
  std::string api_version_storage;
  const std::string_view api_version = ApiVersionOf(t.res, &api_version_storage);
  const std::string_view app_name =
      t.app != nullptr ? std::string_view(t.app->name) : std::string_view(t.name);
  Meta m;
  m.name = t.name;
  m.ns = t.ns;
  const std::string uid = world_.StableUid(type.kind, t.ns, t.name);
  m.uid = uid;
  m.rv = rv;
  m.generation = t.res == Res::kSecrets || t.res == Res::kConfigMaps
                     ? 0
                     : 1 + static_cast<int64_t>(HashName(uid, 2) % 5);
  m.created_us = now_us_ - static_cast<int64_t>(HashName(uid, 1) % 300) * kDay - kDay;
  m.Label("app.kubernetes.io/name", app_name);
  m.Label("app.kubernetes.io/instance", app_name);
  m.Label("app.kubernetes.io/managed-by", "Helm");
  m.Annotate("meta.helm.sh/release-name", app_name);
  if (!t.ns.empty()) m.Annotate("meta.helm.sh/release-namespace", t.ns);
  if (t.deleting) m.deletion_us = now_us_;
  if (t.res == Res::kCertificates || t.res == Res::kApplications) {
    m.finalizer = t.res == Res::kApplications ? "resources-finalizer.argocd.argoproj.io" : "";
  }
  JsonWriter w(out);
  Head(w, type.kind, api_version, m, form, [&] {
    ManagedBegin(w, "helm", "Update", api_version, m.created_us);
    w.Obj("f:metadata")
        .Obj("f:annotations")
        .Empty(".")
        .Empty("f:meta.helm.sh/release-name")
        .Empty("f:meta.helm.sh/release-namespace")
        .EndObject()
        .Obj("f:labels")
        .Empty(".")
        .Empty("f:app.kubernetes.io/instance")
        .Empty("f:app.kubernetes.io/managed-by")
        .Empty("f:app.kubernetes.io/name")
        .EndObject()
        .EndObject();
    w.Empty("f:spec");
    ManagedEnd(w, "");
    if (t.res == Res::kCertificates || t.res == Res::kApplications || t.res == Res::kJobs ||
        t.res == Res::kHorizontalPodAutoscalers) {
      ManagedBegin(
          w,
          t.res == Res::kApplications ? "argocd-application-controller" : "kube-controller-manager",
          "Update", api_version, now_us_ - 600 * kSecond);
      w.Obj("f:status").Empty(".").Empty("f:conditions").EndObject();
      ManagedEnd(w, "status");
    }
  });

  const std::string host = StrCat(app_name, ".", t.ns.empty() ? "example" : t.ns, ".example.com");
  switch (t.res) {
    case Res::kSecrets:
      w.Obj("data")
          .Str("tls.crt", "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUM=")
          .Str("tls.key", "LS0tLS1CRUdJTiBQUklWQVRFIEtFWS0tLS0tCk1JSUU=")
          .EndObject()
          .Str("type", "kubernetes.io/tls");
      break;
    case Res::kServiceAccounts:
      w.Flag("automountServiceAccountToken", false);
      break;
    case Res::kEndpoints:
      w.Arr("subsets").BeginObject().Arr("addresses");
      if (t.app != nullptr) {
        for (size_t index : t.app->pods) {
          const PodInfo& pod = world_.pods[index];
          w.BeginObject().Str("ip", pod.ip).Str("nodeName", world_.nodes[pod.node].name);
          OpenPodRef(w, "targetRef", pod).EndObject().EndObject();
        }
      }
      w.EndArray()
          .Arr("ports")
          .BeginObject()
          .Str("name", "http")
          .Num("port", 8080)
          .Str("protocol", "TCP")
          .EndObject()
          .EndArray()
          .EndObject()
          .EndArray();
      break;
    case Res::kIngresses:
      w.Obj("spec")
          .Str("ingressClassName", "nginx")
          .Arr("tls")
          .BeginObject()
          .Arr("hosts")
          .String(host)
          .EndArray()
          .Str("secretName", StrCat(app_name, "-tls"))
          .EndObject()
          .EndArray()
          .Arr("rules")
          .BeginObject()
          .Str("host", host)
          .Obj("http")
          .Arr("paths")
          .BeginObject()
          .Str("path", "/")
          .Str("pathType", "Prefix")
          .Obj("backend")
          .Obj("service")
          .Str("name", app_name)
          .Obj("port")
          .Num("number", 80)
          .EndObject()
          .EndObject()
          .EndObject()
          .EndObject()
          .EndArray()
          .EndObject()
          .EndObject()
          .EndArray()
          .EndObject();
      w.Obj("status")
          .Obj("loadBalancer")
          .Arr("ingress")
          .BeginObject()
          .Str("hostname", "a1b2c3d4e5f6-1234567890.us-east-1.elb.amazonaws.com")
          .EndObject()
          .EndArray()
          .EndObject()
          .EndObject();
      break;
    case Res::kCertificates:
      w.Obj("spec")
          .Arr("dnsNames")
          .String(host)
          .EndArray()
          .Obj("issuerRef")
          .Str("group", "cert-manager.io")
          .Str("kind", "ClusterIssuer")
          .Str("name", "letsencrypt-prod")
          .EndObject()
          .Obj("privateKey")
          .Str("rotationPolicy", "Always")
          .EndObject()
          .Str("secretName", StrCat(app_name, "-tls"))
          .EndObject();
      w.Obj("status").Arr("conditions").BeginObject();
      TimeField(w, "lastTransitionTime", m.created_us, false);
      w.Str("message", "Certificate is up to date and has not expired")
          .Num("observedGeneration", 1)
          .Str("reason", "Ready")
          .Str("status", "True")
          .Str("type", "Ready")
          .EndObject()
          .EndArray();
      TimeField(w, "notAfter", now_us_ + 60 * kDay, false);
      TimeField(w, "notBefore", now_us_ - 30 * kDay, false);
      TimeField(w, "renewalTime", now_us_ + 30 * kDay, false);
      w.Num("revision", 4).EndObject();
      break;
    case Res::kApplications: {
      std::string revision;
      AppendHex(HashName(app_name, 1), 16, &revision);
      AppendHex(HashName(app_name, 2), 16, &revision);
      AppendHex(HashName(app_name, 3), 8, &revision);
      w.Obj("spec")
          .Str("project", "default")
          .Obj("source")
          .Str("repoURL", "https://github.com/example/deployments.git")
          .Str("path", StrCat("apps/", app_name))
          .Str("targetRevision", "HEAD")
          .EndObject()
          .Obj("destination")
          .Str("server", "https://kubernetes.default.svc")
          .Str("namespace", app_name)
          .EndObject()
          .Obj("syncPolicy")
          .Obj("automated")
          .Flag("prune", true)
          .Flag("selfHeal", true)
          .EndObject()
          .EndObject()
          .EndObject();
      w.Obj("status").Arr("resources");
      for (std::string_view kind : {"Service", "Deployment", "ConfigMap", "Ingress"}) {
        w.BeginObject();
        if (kind == "Deployment") w.Str("group", "apps");
        if (kind == "Ingress") w.Str("group", "networking.k8s.io");
        w.Str("version", "v1")
            .Str("kind", kind)
            .Str("namespace", app_name)
            .Str("name", app_name)
            .Str("status", "Synced")
            .Obj("health")
            .Str("status", "Healthy")
            .EndObject()
            .EndObject();
      }
      w.EndArray()
          .Obj("sync")
          .Str("status", "Synced")
          .Str("revision", revision)
          .EndObject()
          .Obj("health")
          .Str("status", "Healthy")
          .EndObject();
      TimeField(w, "reconciledAt", now_us_ - 90 * kSecond, false);
      w.Str("sourceType", "Helm").EndObject();
      break;
    }
    case Res::kServiceMonitors:
      w.Obj("spec")
          .Arr("endpoints")
          .BeginObject()
          .Str("interval", "30s")
          .Str("path", "/metrics")
          .Str("port", "http")
          .EndObject()
          .EndArray()
          .Obj("namespaceSelector")
          .Arr("matchNames")
          .String(t.ns)
          .EndArray()
          .EndObject()
          .Obj("selector")
          .Obj("matchLabels")
          .Str("app", app_name)
          .EndObject()
          .EndObject()
          .EndObject();
      break;
    case Res::kJobs:
      w.Obj("spec")
          .Num("parallelism", 1)
          .Num("completions", 1)
          .Num("backoffLimit", 6)
          .Obj("selector")
          .Obj("matchLabels")
          .Str("batch.kubernetes.io/controller-uid", uid)
          .EndObject()
          .EndObject()
          .Flag("manualSelector", false)
          .Obj("template")
          .Obj("metadata")
          .Key("creationTimestamp")
          .Null()
          .Obj("labels")
          .Str("job-name", t.name)
          .EndObject()
          .EndObject()
          .Obj("spec")
          .Arr("containers")
          .BeginObject()
          .Str("name", "job")
          .Str("image", "registry.example.com/tools/migrate:2.4.1")
          .Arr("args")
          .String("migrate")
          .String("--to=latest")
          .EndArray()
          .Empty("resources")
          .EndObject()
          .EndArray()
          .Str("restartPolicy", "Never")
          .EndObject()
          .EndObject()
          .Str("completionMode", "NonIndexed")
          .Flag("suspend", false)
          .EndObject();
      w.Obj("status").Num("active", 1);
      TimeField(w, "startTime", now_us_ - 20 * kSecond, false);
      w.Num("ready", 1)
          .Num("terminating", 0)
          .Obj("uncountedTerminatedPods")
          .EndObject()
          .EndObject();
      break;
    case Res::kHorizontalPodAutoscalers:
      w.Obj("spec")
          .Obj("scaleTargetRef")
          .Str("kind", "Deployment")
          .Str("name", app_name)
          .Str("apiVersion", "apps/v1")
          .EndObject()
          .Num("minReplicas", 2)
          .Num("maxReplicas", 10)
          .Arr("metrics")
          .BeginObject()
          .Str("type", "Resource")
          .Obj("resource")
          .Str("name", "cpu")
          .Obj("target")
          .Str("type", "Utilization")
          .Num("averageUtilization", 70)
          .EndObject()
          .EndObject()
          .EndObject()
          .EndArray()
          .EndObject();
      w.Obj("status").Num("currentReplicas", 3).Num("desiredReplicas", 3).EndObject();
      break;
    case Res::kRoles:
    case Res::kClusterRoles:
      w.Arr("rules")
          .BeginObject()
          .Arr("apiGroups")
          .String("")
          .String("apps")
          .EndArray()
          .Arr("resources")
          .String("pods")
          .String("deployments")
          .String("configmaps")
          .EndArray()
          .Arr("verbs")
          .String("get")
          .String("list")
          .String("watch")
          .String("update")
          .String("patch")
          .EndArray()
          .EndObject()
          .EndArray();
      break;
    case Res::kRoleBindings:
    case Res::kClusterRoleBindings:
      w.Arr("subjects")
          .BeginObject()
          .Str("kind", "ServiceAccount")
          .Str("name", app_name)
          .Str("namespace", t.ns.empty() ? "default" : t.ns)
          .EndObject()
          .EndArray()
          .Obj("roleRef")
          .Str("apiGroup", "rbac.authorization.k8s.io")
          .Str("kind", t.res == Res::kRoleBindings ? "Role" : "ClusterRole")
          .Str("name", app_name)
          .EndObject();
      break;
    case Res::kPersistentVolumeClaims:
      w.Obj("spec")
          .Arr("accessModes")
          .String("ReadWriteOnce")
          .EndArray()
          .Obj("resources")
          .Obj("requests")
          .Str("storage", "20Gi")
          .EndObject()
          .EndObject()
          .Str("volumeName", StrCat("pvc-", uid))
          .Str("storageClassName", "gp3")
          .Str("volumeMode", "Filesystem")
          .EndObject();
      w.Obj("status")
          .Str("phase", "Bound")
          .Arr("accessModes")
          .String("ReadWriteOnce")
          .EndArray()
          .Obj("capacity")
          .Str("storage", "20Gi")
          .EndObject()
          .EndObject();
      break;
    default:
      w.Obj("spec").Str("owner", app_name).Num("replicas", 1).EndObject();
      break;
  }
  w.EndObject();
}

// --- Lists and tables ------------------------------------------------------------------

void ObjectBuilder::List(const Target& t, int count, std::string* out) {
  const ResourceType& type = ResourceOf(t.res);
  std::string api_version_storage;
  JsonWriter w(out);
  w.BeginObject()
      .Str("kind", StrCat(type.kind, "List"))
      .Str("apiVersion", ApiVersionOf(t.res, &api_version_storage));
  w.Obj("metadata").Str("resourceVersion", StrCat(resource_version_)).EndObject();
  w.Arr("items");
  int written = 0;
  auto item = [&](const Target& it) {
    std::string* o = w.BeginRawValue();
    Object(it, Form::kListItem, 0, o);
    ++written;
  };
  Target it;
  it.res = t.res;
  switch (t.res) {
    case Res::kPods:
      for (const PodInfo& pod : world_.pods) {
        if (written >= count) break;
        if (!t.ns.empty() && pod.ns != t.ns) continue;
        it.ns = pod.ns;
        it.name = pod.name;
        it.pod = &pod;
        item(it);
      }
      break;
    case Res::kNodes:
      for (const NodeInfo& node : world_.nodes) {
        if (written >= count) break;
        it.name = node.name;
        it.node = &node;
        item(it);
      }
      break;
    case Res::kNamespaces:
      for (const NamespaceInfo& ns : world_.namespaces) {
        if (written >= count) break;
        it.name = ns.name;
        it.namespace_info = &ns;
        item(it);
      }
      break;
    default:
      for (const AppInfo& app : world_.apps) {
        if (written >= count) break;
        if (!t.ns.empty() && app.ns != t.ns) continue;
        const bool workload =
            t.res == Res::kDeployments || t.res == Res::kStatefulSets || t.res == Res::kDaemonSets;
        if (workload && app.kind != t.res) continue;
        it.ns = type.namespaced ? app.ns : "";
        it.app = &app;
        it.pod = app.pods.empty() ? nullptr : &world_.pods[app.pods[0]];
        if (t.res == Res::kConfigMaps) {
          it.name = StrCat(app.name, "-config");
        } else if (t.res == Res::kReplicaSets) {
          it.name = StrCat(app.name, "-", app.template_hash);
        } else if (t.res == Res::kEvents || t.res == Res::kEventsV1) {
          it.name = StrCat(it.pod != nullptr ? it.pod->name : app.name, ".");
          RandomHex(16, &it.name);
        } else {
          it.name = app.name;
        }
        item(it);
      }
      break;
  }
  w.EndArray().EndObject();
}

void ObjectBuilder::PodTable(std::string_view ns, int count, std::string* out) {
  struct Column {
    std::string_view name, type, format, description;
    int priority;
  };
  constexpr Column kColumns[] = {
      {"Name", "string", "name",
       "Name must be unique within a namespace. Is required when creating resources, although some "
       "resources may allow a client to request the generation of an appropriate name "
       "automatically. Name is primarily intended for creation idempotence and configuration "
       "definition. Cannot be updated. More info: "
       "https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names",
       0},
      {"Ready", "string", "", "The aggregate readiness state of this pod for accepting traffic.",
       0},
      {"Status", "string", "", "The aggregate status of the containers in this pod.", 0},
      {"Restarts", "string", "",
       "The number of times the containers in this pod have been restarted and when the last "
       "container in this pod has restarted.",
       0},
      {"Age", "string", "",
       "CreationTimestamp is a timestamp representing the server time when this object was "
       "created. It is not guaranteed to be set in happens-before order across separate "
       "operations. Clients may not set this value. It is represented in RFC3339 form and is in "
       "UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: "
       "https://git.k8s.io/community/contributors/devel/sig-architecture/"
       "api-conventions.md#metadata",
       0},
      {"IP", "string", "", "The IP address assigned to the pod", 1},
      {"Node", "string", "", "The name of the node where the Pod is deployed into.", 1},
      {"Nominated Node", "string", "",
       "The name of the node where the Pod is nominated to be deployed into.", 1},
      {"Readiness Gates", "string", "", "The readiness gates of the pod", 1},
  };
  JsonWriter w(out);
  w.BeginObject().Str("kind", "Table").Str("apiVersion", "meta.k8s.io/v1");
  w.Obj("metadata").Str("resourceVersion", StrCat(resource_version_)).EndObject();
  w.Arr("columnDefinitions");
  for (const Column& c : kColumns) {
    w.BeginObject()
        .Str("name", c.name)
        .Str("type", c.type)
        .Str("format", c.format)
        .Str("description", c.description)
        .Num("priority", c.priority)
        .EndObject();
  }
  w.EndArray().Arr("rows");
  int written = 0;
  for (const PodInfo& pod : world_.pods) {
    if (written >= count) break;
    if (pod.ns != ns) continue;
    ++written;
    const int64_t age_days = (now_us_ - pod.created_us) / kDay;
    w.BeginObject()
        .Arr("cells")
        .String(pod.name)
        .String("1/1")
        .String("Running")
        .Int(0)
        .String(age_days > 0 ? StrCat(age_days, "d") : "5h")
        .String(pod.ip)
        .String(world_.nodes[pod.node].name)
        .String("<none>")
        .String("<none>")
        .EndArray();
    w.Obj("object").Str("kind", "PartialObjectMetadata").Str("apiVersion", "meta.k8s.io/v1");
    Meta m;
    m.name = pod.name;
    m.ns = pod.ns;
    m.uid = pod.uid;
    m.rv = OlderResourceVersion();
    m.created_us = pod.created_us;
    m.Label("app", world_.apps[pod.app].name);
    WriteMeta(w, m, Form::kStored);
    w.EndObject();  // metadata
    w.EndObject().EndObject();
  }
  w.EndArray().EndObject();
}

// --- Request documents ----------------------------------------------------------------------

void ObjectBuilder::DeleteOptions(const Target& t, std::string* out) {
  JsonWriter w(out);
  w.BeginObject().Str("kind", "DeleteOptions").Str("apiVersion", "v1");
  // Preconditions only make sense for one named object.
  const uint64_t variant = t.name.empty() ? 2 * rng_->Below(2) : rng_->Below(3);
  if (variant == 0) w.Num("gracePeriodSeconds", 0);
  if (variant == 1) {
    const std::string uid = t.res == Res::kPods && t.pod != nullptr
                                ? t.pod->uid
                                : world_.StableUid(ResourceOf(t.res).kind, t.ns, t.name);
    w.Obj("preconditions").Str("uid", uid).EndObject();
  }
  w.Str("propagationPolicy", variant == 2 ? "Foreground" : "Background");
  w.EndObject();
}

void ObjectBuilder::MergePatch(const Target& t, std::string* out) {
  JsonWriter w(out);
  const uint64_t variant = rng_->Below(6);
  switch (variant) {
    case 0:
      w.BeginObject()
          .Obj("metadata")
          .Obj("labels")
          .Str("tier", "frontend")
          .EndObject()
          .EndObject()
          .EndObject();
      break;
    case 1:
      w.BeginObject().Obj("spec").Num("replicas", rng_->Range(0, 6)).EndObject().EndObject();
      break;
    case 2: {
      w.BeginObject().Obj("spec").Obj("template").Obj("metadata").Obj("annotations");
      TimeField(w, "kubectl.kubernetes.io/restartedAt", now_us_, false);
      w.EndObject().EndObject().EndObject().EndObject().EndObject();
      break;
    }
    case 3:
      w.BeginObject()
          .Obj("metadata")
          .Obj("annotations")
          .Str("note", "rollback after incident #4521 <see runbook> & postmortem")
          .EndObject()
          .EndObject()
          .EndObject();
      break;
    case 4:
      if (t.app != nullptr) {
        w.BeginObject()
            .Obj("spec")
            .Obj("template")
            .Obj("spec")
            .Arr("containers")
            .BeginObject()
            .Str("image", StrCat(t.app->image, "-hotfix1"))
            .Str("name", t.app->container)
            .EndObject()
            .EndArray()
            .EndObject()
            .EndObject()
            .EndObject()
            .EndObject();
        break;
      }
      [[fallthrough]];
    default: {
      // kubectl apply (client-side): a strategic merge patch carrying the new
      // last-applied-configuration, JSON inside JSON.
      std::string applied;
      if (t.app != nullptr) {
        Target d = t;
        d.res = Res::kDeployments;
        LastApplied(d, &applied);
      } else {
        applied = StrCat("{\"apiVersion\":\"v1\",\"kind\":\"", ResourceOf(t.res).kind,
                         "\",\"metadata\":{\"annotations\":{},\"name\":\"", t.name,
                         "\",\"namespace\":\"", t.ns, "\"}}\n");
      }
      w.BeginObject()
          .Obj("metadata")
          .Obj("annotations")
          .Str("kubectl.kubernetes.io/last-applied-configuration", applied)
          .EndObject()
          .EndObject()
          .EndObject();
      break;
    }
  }
}

void ObjectBuilder::NodeStatusPatch(const NodeInfo& node, std::string* out) {
  (void)node;
  JsonWriter w(out);
  constexpr std::string_view kTypes[] = {"MemoryPressure", "DiskPressure", "PIDPressure", "Ready"};
  w.BeginObject().Obj("status").Arr("$setElementOrder/conditions");
  for (std::string_view type : kTypes) w.BeginObject().Str("type", type).EndObject();
  w.EndArray().Arr("conditions");
  for (std::string_view type : kTypes) {
    w.BeginObject();
    TimeField(w, "lastHeartbeatTime", now_us_, false);
    w.Str("type", type).EndObject();
  }
  w.EndArray().EndObject().EndObject();
}

void ObjectBuilder::PodStatusPatch(const PodInfo& pod, std::string* out) {
  const AppInfo& app = world_.apps[pod.app];
  JsonWriter w(out);
  w.BeginObject()
      .Obj("metadata")
      .Str("uid", pod.uid)
      .EndObject()
      .Obj("status")
      .Arr("$setElementOrder/conditions");
  for (std::string_view type :
       {"PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled"}) {
    w.BeginObject().Str("type", type).EndObject();
  }
  w.EndArray().Arr("conditions");
  const bool ready = rng_->Below(4) != 0;
  for (std::string_view type : {"Ready", "ContainersReady"}) {
    w.BeginObject();
    TimeField(w, "lastTransitionTime", now_us_, false);
    if (!ready) {
      w.Str("message", StrCat("containers with unready status: [", app.container, "]"))
          .Str("reason", "ContainersNotReady");
    }
    w.Str("status", ready ? "True" : "False").Str("type", type).EndObject();
  }
  w.EndArray().Arr("containerStatuses").BeginObject();
  std::string container_id = "containerd://";
  RandomHex(64, &container_id);
  w.Str("containerID", container_id).Str("image", app.image);
  std::string digest = StrCat(app.image.substr(0, app.image.rfind(':')), "@sha256:");
  RandomHex(64, &digest);
  w.Str("imageID", digest).Obj("lastState").Obj("terminated");
  w.Str("containerID", container_id).Num("exitCode", 137);
  TimeField(w, "finishedAt", now_us_ - 3 * kSecond, false);
  w.Str("reason", "OOMKilled");
  TimeField(w, "startedAt", now_us_ - 3600 * kSecond, false);
  w.EndObject()
      .EndObject()
      .Str("name", app.container)
      .Flag("ready", ready)
      .Num("restartCount", 1 + static_cast<int64_t>(rng_->Below(5)))
      .Flag("started", true)
      .Obj("state")
      .Obj("running");
  TimeField(w, "startedAt", now_us_ - kSecond, false);
  w.EndObject().EndObject().EndObject().EndArray().EndObject().EndObject();
}

void ObjectBuilder::EventPatch(std::string* out) {
  JsonWriter w(out);
  w.BeginObject().Num("count", 2 + static_cast<int64_t>(rng_->Below(40)));
  TimeField(w, "lastTimestamp", now_us_, false);
  w.EndObject();
}

void ObjectBuilder::Binding(const PodInfo& pod, const NodeInfo& node, std::string* out) {
  JsonWriter w(out);
  w.BeginObject()
      .Str("kind", "Binding")
      .Str("apiVersion", "v1")
      .Obj("metadata")
      .Str("name", pod.name)
      .Str("namespace", pod.ns)
      .Str("uid", pod.uid)
      .Key("creationTimestamp")
      .Null()
      .EndObject()
      .Obj("target")
      .Str("kind", "Node")
      .Str("name", node.name)
      .EndObject()
      .EndObject();
}

void ObjectBuilder::SubjectAccessReview(const Identity& subject, const Target& about, bool response,
                                        std::string* out) {
  const ResourceType& type = ResourceOf(about.res);
  JsonWriter w(out);
  w.BeginObject().Str("kind", "SubjectAccessReview").Str("apiVersion", "authorization.k8s.io/v1");
  w.Obj("metadata").Key("creationTimestamp").Null().EndObject();
  w.Obj("spec").Obj("resourceAttributes");
  if (!about.ns.empty()) w.Str("namespace", about.ns);
  w.Str("verb", about.name.empty() ? "list" : "get")
      .Str("group", type.group)
      .Str("version", type.version)
      .Str("resource", type.resource);
  if (!about.name.empty()) w.Str("name", about.name);
  w.EndObject();
  w.Str("user", subject.user.username()).Arr("groups");
  for (const std::string& g : subject.user.groups()) w.String(g);
  w.EndArray();
  if (subject.user.extra_size() > 0) {
    // Go sorts map keys; the proto map has no order, so sort here.
    std::vector<std::string_view> keys;
    for (const auto& [k, v] : subject.user.extra()) keys.push_back(k);
    std::sort(keys.begin(), keys.end());
    w.Obj("extra");
    for (std::string_view k : keys) {
      w.Arr(k);
      for (const std::string& v : subject.user.extra().at(std::string(k)).values()) w.String(v);
      w.EndArray();
    }
    w.EndObject();
  }
  if (subject.user.has_uid()) w.Str("uid", subject.user.uid());
  w.EndObject();
  w.Obj("status").Flag("allowed", response);
  if (response) w.Str("reason", subject.reason);
  w.EndObject();
  w.EndObject();
}

void ObjectBuilder::SuccessStatus(const Target& t, std::string* out) {
  const ResourceType& type = ResourceOf(t.res);
  JsonWriter w(out);
  w.BeginObject()
      .Str("kind", "Status")
      .Str("apiVersion", "v1")
      .Empty("metadata")
      .Str("status", "Success")
      .Obj("details")
      .Str("name", t.name);
  if (!type.group.empty()) w.Str("group", type.group);
  w.Str("kind", type.resource)
      .Str("uid", t.res == Res::kPods && t.pod != nullptr
                      ? t.pod->uid
                      : world_.StableUid(type.kind, t.ns, t.name))
      .EndObject()
      .EndObject();
}

}  // namespace kubetrail::loadgen
