#!/usr/bin/env python3
"""deploy_manifests: every YAML file under deploy/ parses, and the Kubernetes objects, the
kustomizations, the kube-apiserver files (kind config, kubeadm patches, webhook kubeconfig,
audit flags) have the shape Kubernetes and the tools require.

Kustomize is emulated (resources, configMapGenerator, patches, namespace, local-config)
rather than run, since Debian's kubectl is too old to rely on; when a kubectl with kustomize
is on PATH, its build of every overlay is compared with the emulation as well.
"""

import copy
import os
import re
import shutil
import subprocess
import sys
import unittest

sys.dont_write_bytecode = True  # no __pycache__ beside the sources
import deploytest as dt  # noqa: E402
from deploytest import deploy_path, load_yaml, load_yaml_all, rel  # noqa: E402

KUSTOMIZE_DIR = deploy_path("kubernetes")
DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
IMAGE = re.compile(r"^ghcr\.io/kubetrail/kubetrail-(aggregator|collector):0\.1\.0$")
LOCAL_CONFIG = "config.kubernetes.io/local-config"
# Kinds that live in no namespace.
CLUSTER_SCOPED = {"Namespace"}
# The kinds the manifests use, each with its own checks below; another kind fails the test
# until checks for it are added.
KNOWN_KINDS = {
    ("v1", "Namespace"), ("v1", "ServiceAccount"), ("v1", "Service"), ("v1", "Secret"),
    ("v1", "ConfigMap"), ("apps/v1", "StatefulSet"), ("apps/v1", "DaemonSet"),
    ("networking.k8s.io/v1", "NetworkPolicy"),
}
KUSTOMIZATION_KEYS = {"apiVersion", "kind", "namespace", "resources", "configMapGenerator",
                      "secretGenerator", "patches", "images", "labels", "generatorOptions"}


def kustomization_dirs():
    out = []
    for dirpath, dirnames, filenames in os.walk(KUSTOMIZE_DIR):
        dirnames.sort()
        if "kustomization.yaml" in filenames:
            out.append(dirpath)
    return out


def referenced_files():
    """{"resources", "generated", "patches"}: the files the kustomizations name."""
    out = {"resources": set(), "generated": set(), "patches": set()}
    for d in kustomization_dirs():
        k = load_yaml(os.path.join(d, "kustomization.yaml"))
        for r in k.get("resources", []):
            path = os.path.normpath(os.path.join(d, r))
            if os.path.isfile(path):
                out["resources"].add(path)
        for g in k.get("configMapGenerator", []):
            for entry in g.get("files", []):
                out["generated"].add(os.path.normpath(os.path.join(d, entry.split("=")[-1])))
        for p in k.get("patches", []):
            out["patches"].add(os.path.normpath(os.path.join(d, p["path"])))
    return out


def deep_merge(into, patch):
    """Strategic-merge-patch lite: maps merge, everything else is replaced."""
    for k, v in patch.items():
        if isinstance(v, dict) and isinstance(into.get(k), dict):
            deep_merge(into[k], v)
        else:
            into[k] = copy.deepcopy(v)


class Build:
    """What a kustomization produces: objects (with local-config ones kept aside) and the
    generated ConfigMaps as {name: {key: text}}."""

    def __init__(self):
        self.objects = []        # (object, source path)
        self.local_config = []   # (object, source path): documented, left out by kustomize
        self.configmaps = {}     # generated: name -> {key: text}

    def all_named(self, kind):
        return {o["metadata"]["name"]: o for o, _ in self.objects + self.local_config
                if o.get("kind") == kind}


def build(test, directory, seen=()):
    """Emulates `kustomize build directory`, asserting as it goes."""
    path = os.path.join(directory, "kustomization.yaml")
    test.assertTrue(os.path.isfile(path), f"{rel(directory)} has no kustomization.yaml")
    k = load_yaml(path)
    test.assertEqual(k.get("apiVersion"), "kustomize.config.k8s.io/v1beta1", rel(path))
    test.assertEqual(k.get("kind"), "Kustomization", rel(path))
    test.assertFalse(set(k) - KUSTOMIZATION_KEYS, f"{rel(path)}: unknown keys")
    test.assertNotIn(directory, seen, f"{rel(path)}: resource cycle")
    out = Build()
    for r in k.get("resources", []):
        target = os.path.normpath(os.path.join(directory, r))
        if os.path.isdir(target):
            sub = build(test, target, seen + (directory,))
            out.objects += sub.objects
            out.local_config += sub.local_config
            for name, data in sub.configmaps.items():
                test.assertNotIn(name, out.configmaps, f"{rel(path)}: ConfigMap {name} twice")
                out.configmaps[name] = data
        else:
            test.assertTrue(os.path.isfile(target), f"{rel(path)}: resource {r} does not exist")
            for doc in load_yaml_all(target):
                annotations = (doc.get("metadata") or {}).get("annotations") or {}
                if annotations.get(LOCAL_CONFIG) == "true":
                    out.local_config.append((doc, target))
                else:
                    out.objects.append((doc, target))
    for g in k.get("configMapGenerator", []):
        name, behavior = g["name"], g.get("behavior", "create")
        data = {}
        for entry in g.get("files", []):
            key, _, file = entry.rpartition("=") if "=" in entry else (None, None, entry)
            file_path = os.path.join(directory, file)
            test.assertTrue(os.path.isfile(file_path),
                            f"{rel(path)}: configMapGenerator {name}: {file} does not exist")
            with open(file_path, encoding="utf-8") as f:
                data[key or os.path.basename(file)] = f.read()
        test.assertTrue(data, f"{rel(path)}: configMapGenerator {name} has no files")
        if behavior == "create":
            test.assertNotIn(name, out.configmaps, f"{rel(path)}: {name} already exists")
            out.configmaps[name] = data
        elif behavior == "merge":
            test.assertIn(name, out.configmaps, f"{rel(path)}: merge into missing {name}")
            out.configmaps[name].update(data)
        elif behavior == "replace":
            test.assertIn(name, out.configmaps, f"{rel(path)}: replace of missing {name}")
            out.configmaps[name] = data
        else:
            test.fail(f"{rel(path)}: configMapGenerator {name}: behavior {behavior}")
    test.assertFalse(k.get("secretGenerator"), f"{rel(path)}: certificates are not generated "
                     "by kustomize (make-certs.sh writes the Secrets)")
    for p in k.get("patches", []):
        patch_path = os.path.join(directory, p["path"])
        test.assertTrue(os.path.isfile(patch_path), f"{rel(path)}: patch {p['path']} missing")
        patch = load_yaml(patch_path)
        matches = [o for o, _ in out.objects if o.get("kind") == patch.get("kind")
                   and o["metadata"]["name"] == patch["metadata"]["name"]]
        test.assertEqual(len(matches), 1, f"{rel(patch_path)} matches no single object")
        deep_merge(matches[0], patch)
    namespace = k.get("namespace")
    if namespace:
        for o, src in out.objects + out.local_config:
            if o.get("kind") in CLUSTER_SCOPED:
                continue
            md = o.setdefault("metadata", {})
            test.assertIn(md.get("namespace", namespace), (namespace,),
                          f"{rel(src)}: {o['kind']} {md.get('name')} in another namespace")
            md["namespace"] = namespace
    return out


def pod_spec_of(o):
    return o["spec"]["template"]["spec"]


def labels_match(selector, labels):
    return all(labels.get(k) == v for k, v in selector.items())


class ManifestTest(unittest.TestCase):

    def test_every_yaml_file_parses(self):
        files = dt.yaml_files()
        self.assertGreater(len(files), 20)
        for path in files:
            with self.subTest(file=rel(path)):
                docs = load_yaml_all(path)
                self.assertTrue(docs, "empty")
                for d in docs:
                    self.assertIsInstance(d, dict)

    def objects_in_files(self):
        """(object, path) for every document of every file a kustomization lists in
        `resources` (the other YAML files there are configs, policies and patches)."""
        out = []
        for path in sorted(referenced_files()["resources"]):
            for d in load_yaml_all(path):
                out.append((d, path))
        return out

    def test_every_file_under_kubernetes_is_used(self):
        used = set().union(*referenced_files().values())
        for path in dt.yaml_files(KUSTOMIZE_DIR):
            if os.path.basename(path) != "kustomization.yaml":
                self.assertTrue(path in used, f"{rel(path)} is in no kustomization")

    def test_every_object_has_the_required_fields(self):
        objects = self.objects_in_files()
        self.assertGreater(len(objects), 10)
        for o, path in objects:
            name = (o.get("metadata") or {}).get("name")
            with self.subTest(file=rel(path), kind=o.get("kind"), name=name):
                self.assertIn((o["apiVersion"], o["kind"]), KNOWN_KINDS)
                self.assertIsInstance(name, str)
                self.assertRegex(name, DNS1123_SUBDOMAIN)
                self.assertLessEqual(len(name), 63 if o["kind"] in ("Service", "Namespace")
                                     else 253)
                for key, value in (o["metadata"].get("labels") or {}).items():
                    self.assertIsInstance(value, str, f"label {key}")
                for key, value in (o["metadata"].get("annotations") or {}).items():
                    self.assertIsInstance(value, str, f"annotation {key}")
                getattr(self, "check_" + o["kind"])(o)

    # --- per kind ------------------------------------------------------------------------
    def check_Namespace(self, o):
        self.assertRegex(o["metadata"]["name"], DNS1123_LABEL)

    def check_ServiceAccount(self, o):
        self.assertIs(o.get("automountServiceAccountToken"), False,
                      "the daemons call no Kubernetes API: mount no token")

    def check_Secret(self, o):
        self.assertIn(o.get("type", "Opaque"), ("Opaque",))
        data = o.get("data") or o.get("stringData")
        self.assertTrue(data, "a Secret needs data or stringData")
        for key, value in data.items():
            self.assertRegex(key, r"^[-._a-zA-Z0-9]+$")
            self.assertIsInstance(value, str)
            # Placeholders only: a repository never holds a key.
            self.assertNotIn("PRIVATE KEY", value)
            self.assertTrue(value.startswith("PLACEHOLDER"), f"{key}: not a placeholder")
        self.assertEqual(o["metadata"].get("annotations", {}).get(LOCAL_CONFIG), "true",
                         "a placeholder Secret must never be applied (local-config)")

    def check_ConfigMap(self, o):
        self.assertTrue(o.get("data") or o.get("binaryData"), "a ConfigMap needs data")

    def check_Service(self, o):
        spec = o["spec"]
        self.assertTrue(spec.get("selector"), "selector")
        ports = spec.get("ports") or []
        self.assertTrue(ports, "a Service needs ports")
        names = [p.get("name") for p in ports]
        if len(ports) > 1:
            self.assertTrue(all(names), "several ports must all be named")
            self.assertEqual(len(set(names)), len(names), "duplicate port names")
        for p in ports:
            self.assertIsInstance(p.get("port"), int)
            self.assertTrue(1 <= p["port"] <= 65535)
            self.assertIn(p.get("protocol", "TCP"), ("TCP", "UDP", "SCTP"))
        self.assertIn(spec.get("type", "ClusterIP"), ("ClusterIP", "LoadBalancer", "NodePort"))

    def check_NetworkPolicy(self, o):
        spec = o["spec"]
        self.assertIn("podSelector", spec, "podSelector is required ({} for all pods)")
        self.assertIsInstance(spec["podSelector"], dict)
        for t in spec.get("policyTypes", []):
            self.assertIn(t, ("Ingress", "Egress"))
        for rule in spec.get("ingress", []) + spec.get("egress", []):
            for p in rule.get("ports", []):
                self.assertIn(p.get("protocol", "TCP"), ("TCP", "UDP", "SCTP"))

    def check_workload(self, o):
        spec = o["spec"]
        selector = spec.get("selector", {}).get("matchLabels")
        self.assertTrue(selector, "spec.selector.matchLabels")
        template_labels = spec["template"]["metadata"]["labels"]
        self.assertTrue(labels_match(selector, template_labels),
                        "spec.selector must match the template's labels")
        pod = pod_spec_of(o)
        containers = pod.get("containers") or []
        self.assertTrue(containers)
        volumes = {v["name"]: v for v in pod.get("volumes", [])}
        self.assertEqual(len(volumes), len(pod.get("volumes", [])), "duplicate volume names")
        claims = {t["metadata"]["name"] for t in spec.get("volumeClaimTemplates", [])}
        for c in containers:
            self.assertRegex(c.get("name", ""), DNS1123_LABEL)
            self.assertRegex(c.get("image", ""), IMAGE)
            self.assertIn(c.get("imagePullPolicy"), ("IfNotPresent", "Always"))
            port_names = {p["name"] for p in c.get("ports", [])}
            for p in c.get("ports", []):
                self.assertIsInstance(p["containerPort"], int)
                self.assertLessEqual(len(p["name"]), 15)
            env = {e["name"] for e in c.get("env", [])}
            for arg in c.get("args", []) + c.get("command", []):
                for var in re.findall(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)", arg):
                    self.assertIn(var, env, f"{arg}: $({var}) is not in env")
            mount_paths = set()
            for m in c.get("volumeMounts", []):
                self.assertTrue(m["name"] in volumes or m["name"] in claims,
                                f"volumeMount {m['name']}: no such volume or claim template")
                self.assertNotIn(m["mountPath"], mount_paths)
                mount_paths.add(m["mountPath"])
            for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
                if probe in c:
                    port = c[probe]["httpGet"]["port"]
                    if isinstance(port, str):
                        self.assertIn(port, port_names, f"{probe} port {port}")
            sc = c.get("securityContext", {})
            self.assertIs(sc.get("allowPrivilegeEscalation"), False)
            self.assertIs(sc.get("readOnlyRootFilesystem"), True)
            self.assertEqual(sc.get("capabilities", {}).get("drop"), ["ALL"])
            self.assertIn("memory", c.get("resources", {}).get("limits", {}))
        for v in volumes.values():
            sources = [k for k in v if k != "name"]
            self.assertEqual(len(sources), 1, f"volume {v['name']}: one source")
            if "hostPath" in v:
                self.assertTrue(v["hostPath"]["path"].startswith("/"))
        self.assertEqual(pod.get("securityContext", {}).get("seccompProfile", {}).get("type"),
                         "RuntimeDefault")
        self.assertIs(pod.get("automountServiceAccountToken"), False)

    def check_StatefulSet(self, o):
        self.check_workload(o)
        self.assertTrue(o["spec"].get("serviceName"), "serviceName")
        self.assertEqual(o["spec"].get("replicas", 1), 1, "one store: one replica")
        pod = pod_spec_of(o)
        volumes = {v["name"] for v in pod.get("volumes", [])}
        templates = o["spec"].get("volumeClaimTemplates") or []
        self.assertTrue(templates, "the store needs a PersistentVolumeClaim")
        for t in templates:
            self.assertRegex(t["metadata"]["name"], DNS1123_LABEL)
            self.assertNotIn(t["metadata"]["name"], volumes)
            self.assertTrue(t["spec"]["accessModes"])
            self.assertRegex(str(t["spec"]["resources"]["requests"]["storage"]),
                             r"^[0-9]+(Ki|Mi|Gi|Ti)$")
        claims = {t["metadata"]["name"] for t in templates}
        for c in pod["containers"]:
            for m in c.get("volumeMounts", []):
                self.assertTrue(m["name"] in volumes or m["name"] in claims)
        sc = pod.get("securityContext", {})
        self.assertIs(sc.get("runAsNonRoot"), True)

    def check_DaemonSet(self, o):
        self.check_workload(o)
        pod = pod_spec_of(o)
        self.assertIs(pod.get("hostNetwork"), True, "the apiserver posts to the node's loopback")
        self.assertEqual(pod.get("dnsPolicy"), "ClusterFirstWithHostNet")
        self.assertIn("node-role.kubernetes.io/control-plane", pod.get("nodeSelector", {}))
        self.assertTrue(any(t.get("key") == "node-role.kubernetes.io/control-plane"
                            for t in pod.get("tolerations", [])))

    # --- kustomizations ------------------------------------------------------------------
    def test_kustomizations(self):
        dirs = kustomization_dirs()
        self.assertGreaterEqual(len(dirs), 6)
        for d in dirs:
            with self.subTest(kustomization=rel(d)):
                b = build(self, d)
                self.check_build(b)

    def check_build(self, b):
        kinds = [(o["kind"], o["metadata"]["name"]) for o, _ in b.objects]
        self.assertEqual(len(kinds), len(set(kinds)), "an object is there twice")
        services = b.all_named("Service")
        secrets = b.all_named("Secret")
        configmaps = dict(b.configmaps)
        configmaps.update({n: o.get("data", {}) for n, o in b.all_named("ConfigMap").items()})
        service_accounts = b.all_named("ServiceAccount")
        workloads = [o for o, _ in b.objects if o["kind"] in ("StatefulSet", "DaemonSet")]
        for w in workloads:
            pod = pod_spec_of(w)
            self.assertIn(pod.get("serviceAccountName"), service_accounts,
                          f"{w['kind']} {w['metadata']['name']}: serviceAccountName")
            for v in pod.get("volumes", []):
                if "configMap" in v:
                    self.assertIn(v["configMap"]["name"], sorted(configmaps),
                                  f"volume {v['name']}: ConfigMap not in the kustomization")
                if "secret" in v:
                    self.assertIn(v["secret"]["secretName"], sorted(secrets),
                                  f"volume {v['name']}: Secret not in the kustomization")
            self.check_config_paths(w, configmaps, secrets)
            if w["kind"] == "StatefulSet":
                svc = services.get(w["spec"]["serviceName"])
                self.assertIsNotNone(svc, "serviceName names no Service of the kustomization")
                self.assertEqual(svc["spec"].get("clusterIP"), "None",
                                 "the governing Service is headless")
        for s in services.values():
            selected = [w for w in workloads
                        if labels_match(s["spec"]["selector"],
                                        w["spec"]["template"]["metadata"]["labels"])]
            self.assertTrue(selected, f"Service {s['metadata']['name']} selects no pod")
            for p in s["spec"]["ports"]:
                target = p.get("targetPort", p["port"])
                if isinstance(target, str):
                    names = {cp["name"] for w in selected for c in pod_spec_of(w)["containers"]
                             for cp in c.get("ports", [])}
                    self.assertIn(target, names, f"Service {s['metadata']['name']} targetPort")
        for np in b.all_named("NetworkPolicy").values():
            sel = np["spec"]["podSelector"].get("matchLabels", {})
            selected = [w for w in workloads
                        if labels_match(sel, w["spec"]["template"]["metadata"]["labels"])]
            if sel:
                self.assertTrue(selected, f"NetworkPolicy {np['metadata']['name']} selects no pod")
            names = {cp["name"] for w in selected for c in pod_spec_of(w)["containers"]
                     for cp in c.get("ports", [])}
            for rule in np["spec"].get("ingress", []):
                for p in rule.get("ports", []):
                    if isinstance(p.get("port"), str):
                        self.assertIn(p["port"], names)

    def check_config_paths(self, w, configmaps, secrets):
        """The daemon's --config file is a key of the mounted ConfigMap, and every file the
        config names lies in a mounted volume (a key of a ConfigMap/Secret, or a hostPath or
        claim)."""
        pod = pod_spec_of(w)
        volumes = {v["name"]: v for v in pod.get("volumes", [])}
        claims = {t["metadata"]["name"] for t in w["spec"].get("volumeClaimTemplates", [])}
        for c in pod["containers"]:
            mounts = c.get("volumeMounts", [])

            def locate(path, want_file=True):
                """The mount `path` lies in, checking that a file is a key of its ConfigMap
                or Secret; fails when no volume holds it."""
                for m in mounts:
                    if not path.startswith(m["mountPath"] + "/") and path != m["mountPath"]:
                        continue
                    inner = path[len(m["mountPath"]) + 1:]
                    v = volumes.get(m["name"], {})
                    if "configMap" in v and want_file:
                        self.assertIn(inner, sorted(configmaps[v["configMap"]["name"]]),
                                      f"{path}: no such key in the ConfigMap")
                    if "secret" in v and want_file:
                        secret = secrets[v["secret"]["secretName"]]
                        keys = set(secret.get("data") or {}) | set(secret.get("stringData") or {})
                        self.assertIn(inner, keys, f"{path}: no such key in the Secret")
                    return m, v
                self.fail(f"{w['kind']} {w['metadata']['name']}: {path} is in no volume")

            config_args = [a for a in c.get("args", []) if a.startswith("--config=")]
            self.assertEqual(len(config_args), 1, "one --config=FILE")
            config_path = config_args[0].split("=", 1)[1]
            _, v = locate(config_path)
            config_text = configmaps[v["configMap"]["name"]][config_path.rsplit("/", 1)[1]]
            files, dirs, writable = config_file_paths(dt.yaml.safe_load(config_text))
            for f in files:
                locate(f)
            for d in dirs:
                m, v = locate(d, want_file=False)
                self.assertTrue(m["name"] in claims or "hostPath" in v,
                                f"{d}: must be on the node or a volume claim")
                self.assertEqual(m.get("readOnly", False), d not in writable,
                                 f"{d}: read-only unless the daemon writes there")

    # --- the kube-apiserver side ---------------------------------------------------------
    def test_audit_flags(self):
        flags = dt.audit_flags()
        names = [n for n, _ in flags]
        self.assertEqual(len(names), len(set(names)), "a flag twice")
        f = dict(flags)
        for n in names:
            self.assertTrue(n.startswith("audit-"), n)
        self.assertEqual(f["audit-webhook-mode"], "batch")
        self.assertEqual(f["audit-log-format"], "json")
        self.assertIn(f["audit-log-mode"], ("batch", "blocking", "blocking-strict"))
        for key in ("audit-webhook-batch-buffer-size", "audit-webhook-batch-max-size",
                    "audit-webhook-batch-throttle-qps", "audit-webhook-batch-throttle-burst"):
            self.assertGreater(float(f[key]), 0, key)
        self.assertEqual(f["audit-webhook-batch-throttle-enable"], "true")
        # Truncation validation (semantics §7.2) and the same on both backends, so that one
        # event that arrives both ways is one event.
        for backend in ("log", "webhook"):
            self.assertGreaterEqual(int(f[f"audit-{backend}-truncate-max-batch-size"]),
                                    int(f[f"audit-{backend}-truncate-max-event-size"]))
        for suffix in ("truncate-enabled", "truncate-max-event-size", "truncate-max-batch-size"):
            self.assertEqual(f[f"audit-log-{suffix}"], f[f"audit-webhook-{suffix}"], suffix)
        # Events the apiserver keeps are never too big for the collector.
        for name, (path, _) in dt.COLLECTOR_CONFIGS.items():
            c = load_yaml(deploy_path(path))
            limit = c.get("webhook", {}).get("max_event_bytes", 4 << 20)
            self.assertLessEqual(int(f["audit-webhook-truncate-max-event-size"]), limit, name)
        # The policy and kubeconfig paths are where the other files say.
        self.assertEqual(f["audit-policy-file"], "/etc/kubernetes/audit/policy.yaml")
        self.assertEqual(f["audit-webhook-config-file"],
                         "/etc/kubernetes/audit/webhook-kubeconfig.yaml")
        for name, (path, _) in dt.COLLECTOR_CONFIGS.items():
            c = load_yaml(deploy_path(path))
            self.assertIn(f["audit-log-path"], c.get("tail", []), f"{name} tails the log")

    def host_paths_needed(self):
        """Directories the apiserver must see: those of the flags' files and the kubeconfig's
        certificates."""
        f = dict(dt.audit_flags())
        kubeconfig = load_yaml(deploy_path("kube-apiserver", "webhook-kubeconfig.yaml"))
        user = kubeconfig["users"][0]["user"]
        cluster = kubeconfig["clusters"][0]["cluster"]
        paths = [f["audit-policy-file"], f["audit-webhook-config-file"], f["audit-log-path"],
                 cluster["certificate-authority"], user["client-certificate"], user["client-key"]]
        return paths, os.path.dirname(f["audit-log-path"])

    def check_extra_volumes(self, volumes, where):
        paths, log_dir = self.host_paths_needed()
        for v in volumes:
            self.assertRegex(v["name"], DNS1123_LABEL)
            self.assertEqual(v["hostPath"], v["mountPath"], f"{where}: {v['name']}")
            self.assertIn(v.get("pathType"), ("DirectoryOrCreate", "Directory", "File"))
        for p in paths:
            covering = [v for v in volumes if p.startswith(v["mountPath"] + "/")]
            self.assertTrue(covering, f"{where}: {p} is in no extraVolume")
            self.assertEqual(covering[0].get("readOnly", False),
                             not p.startswith(log_dir + "/"),
                             f"{where}: {covering[0]['name']}: read-only except the log")

    def test_kubeadm_v1beta4(self):
        c = load_yaml(deploy_path("kube-apiserver", "kubeadm", "cluster-configuration.yaml"))
        self.assertEqual(c["apiVersion"], "kubeadm.k8s.io/v1beta4")
        self.assertEqual(c["kind"], "ClusterConfiguration")
        args = c["apiServer"]["extraArgs"]
        self.assertIsInstance(args, list, "v1beta4 extraArgs are a list of {name, value}")
        for a in args:
            self.assertEqual(set(a), {"name", "value"})
            self.assertIsInstance(a["value"], str)
        self.assertEqual([(a["name"], a["value"]) for a in args], dt.audit_flags())
        self.check_extra_volumes(c["apiServer"]["extraVolumes"], "kubeadm v1beta4")

    def test_kubeadm_v1beta3(self):
        c = load_yaml(deploy_path("kube-apiserver", "kubeadm",
                                  "cluster-configuration-v1beta3.yaml"))
        self.assertEqual(c["apiVersion"], "kubeadm.k8s.io/v1beta3")
        self.assertEqual(c["kind"], "ClusterConfiguration")
        args = c["apiServer"]["extraArgs"]
        self.assertIsInstance(args, dict, "v1beta3 extraArgs are a map")
        for v in args.values():
            self.assertIsInstance(v, str)
        self.assertEqual(list(args.items()), dt.audit_flags())
        self.check_extra_volumes(c["apiServer"]["extraVolumes"], "kubeadm v1beta3")

    def test_kind_cluster(self):
        c = load_yaml(deploy_path("kube-apiserver", "kind", "kind-cluster.yaml"))
        self.assertEqual(c["kind"], "Cluster")
        self.assertEqual(c["apiVersion"], "kind.x-k8s.io/v1alpha4")
        self.assertEqual(c["name"], "kind", "the cluster name in the kind overlay's config")
        control_planes = [n for n in c["nodes"] if n["role"] == "control-plane"]
        self.assertEqual(len(control_planes), 1)
        node = control_planes[0]
        patches = [dt.yaml.safe_load(p) for p in node["kubeadmConfigPatches"]]
        cluster_configs = [p for p in patches if p.get("kind") == "ClusterConfiguration"]
        self.assertEqual(len(cluster_configs), 1)
        cc = cluster_configs[0]
        self.assertNotIn("apiVersion", cc, "unversioned: kind applies it to its kubeadm version")
        self.assertEqual(list(cc["apiServer"]["extraArgs"].items()), dt.audit_flags())
        self.check_extra_volumes(cc["apiServer"]["extraVolumes"], "kind")
        # Every file the apiserver reads is mounted into the node from the checkout (run from
        # its root) or from make-certs.sh's output for the cluster "kind".
        paths, log_dir = self.host_paths_needed()
        mounts = node["extraMounts"]
        for p in paths:
            if p.startswith(log_dir + "/"):
                continue  # written inside the node
            covering = [m for m in mounts if p == m["containerPath"]
                        or p.startswith(m["containerPath"] + "/")]
            self.assertEqual(len(covering), 1, f"{p} is mounted into the kind node once")
            m = covering[0]
            self.assertIs(m.get("readOnly"), True)
            if m["hostPath"].startswith("deploy/"):
                self.assertTrue(os.path.isfile(os.path.join(dt.SOURCE_DIR, m["hostPath"])),
                                m["hostPath"])
            else:
                self.assertEqual(m["hostPath"], "kubetrail-certs/clusters/kind/apiserver",
                                 "make-certs.sh kubetrail-certs kind: the apiserver's directory")
        for m in mounts:
            if m["containerPath"] == "/etc/kubernetes/audit/policy.yaml":
                self.assertEqual(m["hostPath"], "deploy/kube-apiserver/audit-policy.yaml")
            if m["containerPath"] == "/etc/kubernetes/audit/webhook-kubeconfig.yaml":
                self.assertEqual(m["hostPath"], "deploy/kube-apiserver/webhook-kubeconfig.yaml")
        kind_collector = load_yaml(deploy_path(dt.COLLECTOR_CONFIGS["kind"][0]))
        self.assertEqual(kind_collector["cluster"], "kind")

    def test_webhook_kubeconfig(self):
        k = load_yaml(deploy_path("kube-apiserver", "webhook-kubeconfig.yaml"))
        self.assertEqual(k["apiVersion"], "v1")
        self.assertEqual(k["kind"], "Config")
        contexts = {c["name"]: c["context"] for c in k["contexts"]}
        clusters = {c["name"]: c["cluster"] for c in k["clusters"]}
        users = {u["name"]: u["user"] for u in k["users"]}
        ctx = contexts[k["current-context"]]
        cluster, user = clusters[ctx["cluster"]], users[ctx["user"]]
        self.assertNotIn("insecure-skip-tls-verify", cluster)
        # The server is every Kubernetes collector config's webhook (listen + path), HTTPS.
        m = re.match(r"^https://(127\.0\.0\.1:\d+)(/.*)$", cluster["server"])
        self.assertTrue(m, cluster["server"])
        for name, (path, _) in dt.COLLECTOR_CONFIGS.items():
            w = load_yaml(deploy_path(path))["webhook"]
            self.assertEqual(w["listen"], m.group(1), name)
            self.assertEqual(w.get("path", "/audit/webhook"), m.group(2), name)
            self.assertTrue(w["tls"]["client_ca_file"], f"{name}: the webhook checks the client")
        # The files make-certs.sh puts in clusters/CLUSTER/apiserver/.
        self.assertEqual(
            sorted(os.path.basename(p) for p in (cluster["certificate-authority"],
                                                 user["client-certificate"], user["client-key"])),
            ["apiserver-key.pem", "apiserver.pem", "ca.pem"])
        for p in (cluster["certificate-authority"], user["client-certificate"],
                  user["client-key"]):
            self.assertTrue(p.startswith("/etc/kubernetes/kubetrail/"), p)

    def test_overlay_configs_differ_from_the_base_only_where_they_must(self):
        """Overlay and systemd configs are full copies of the base's: only the cluster, where
        it ships, who may write and host-specific paths differ."""
        allowed = {"cluster", "aggregators", "collectors", "tls", "webhook", "http_listen",
                   "policy_file", "spool", "ship", "store", "limits", "query_threads",
                   "follow_heartbeat"}
        overlay_allowed = {"cluster", "aggregators", "collectors"}
        base_agg = load_yaml(deploy_path(dt.AGGREGATOR_CONFIGS["base"]))
        base_col = load_yaml(deploy_path(dt.COLLECTOR_CONFIGS["base"][0]))
        pairs = [(n, load_yaml(deploy_path(p)), base_agg) for n, p in
                 dt.AGGREGATOR_CONFIGS.items() if n != "base"]
        pairs += [(n, load_yaml(deploy_path(p)), base_col) for n, (p, _) in
                  dt.COLLECTOR_CONFIGS.items() if n != "base"]
        for name, config, base in pairs:
            with self.subTest(config=name):
                differ = {k for k in set(config) | set(base) if config.get(k) != base.get(k)}
                self.assertLessEqual(differ, allowed if name == "systemd" else overlay_allowed)

    def test_kubectl_kustomize_agrees_when_available(self):
        kubectl = shutil.which("kubectl")
        if not kubectl:
            self.skipTest("no kubectl on PATH")
        overlays = sorted(d for d in kustomization_dirs() if "/overlays/" in d)
        for d in overlays:
            with self.subTest(overlay=rel(d)):
                r = subprocess.run([kubectl, "kustomize", d], capture_output=True, text=True)
                if r.returncode != 0 and "unknown command" in r.stderr:
                    self.skipTest("this kubectl has no kustomize")
                self.assertEqual(r.returncode, 0, r.stderr)
                got = sorted((o["kind"], re.sub(r"-[a-z0-9]{10}$", "", o["metadata"]["name"])
                              if o["kind"] == "ConfigMap" else o["metadata"]["name"])
                             for o in dt.yaml.safe_load_all(r.stdout) if o)
                want = build(self, d)
                want = sorted([(o["kind"], o["metadata"]["name"]) for o, _ in want.objects]
                              + [("ConfigMap", n) for n in want.configmaps])
                self.assertEqual(got, want)


def config_file_paths(config):
    """(files, directories, writable directories) an aggregator or collector config names."""
    files, dirs, writable = [], [], []
    for section in (config.get("tls") or {}, (config.get("webhook") or {}).get("tls") or {}):
        files += [v for v in section.values() if isinstance(v, str) and v.startswith("/")]
    if config.get("policy_file"):
        files.append(config["policy_file"])
    dirs += [os.path.dirname(t) for t in config.get("tail", [])]
    for d in ((config.get("spool") or {}).get("dir"), config.get("data_dir")):
        if d:
            dirs.append(d)
            writable.append(d)
    return files, dirs, writable


if __name__ == "__main__":
    dt.main()
