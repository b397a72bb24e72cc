#!/usr/bin/env python3
"""deploy_configs: deploy/certs/make-certs.sh and the daemons' config files under deploy/.

- make-certs.sh runs offline into a temporary directory, twice without changing a byte, and
  its certificates carry the identities the aggregator configs and its own snippet map
  (`openssl x509 -noout -subject -ext subjectAltName`); its Secret manifests fit the
  placeholders the workloads mount.
- The audit policies load (`kubetrail policy validate --strict`).
- Every config file the manifests and the systemd units use is accepted by its daemon: each
  collector config with the aggregator config it ships to (kind -> kind, member -> central,
  ...), with only the host paths and listen addresses rewritten to a temporary directory and
  127.0.0.1 port 0, and mTLS with make-certs.sh's certificates (the collectors check the
  aggregator's certificate against the name in their config). A webhook POST with the
  apiserver's certificate and the same events in the tailed audit log end up stored once,
  read back with the reader's CLI config; the admin certificate can ask for the status.
"""

import base64
import hashlib
import os
import re
import shutil
import stat
import sys
import tempfile

sys.dont_write_bytecode = True  # no __pycache__ beside the sources
import deploytest as dt  # noqa: E402
from deploytest import deploy_path, load_yaml  # noqa: E402

MAKE_CERTS = deploy_path("certs", "make-certs.sh")
BASE_POLICY = deploy_path("kubernetes", "base", "collector", "policy.yaml")
EVENTS = 20


def openssl(*args):
    r = dt.run(["openssl"] + list(args))
    if r.returncode != 0:
        raise AssertionError(f"openssl {' '.join(args)}: {r.stderr}")
    return r.stdout


def subject_and_sans(cert):
    """(CN, [SAN entries like 'DNS:x', 'IP Address:1.2.3.4'])."""
    out = openssl("x509", "-in", cert, "-noout", "-subject", "-ext", "subjectAltName")
    cn = re.search(r"CN\s*=\s*([^,\n]+)", out).group(1).strip()
    sans = []
    lines = out.splitlines()
    for i, line in enumerate(lines):
        if "Subject Alternative Name" in line:
            sans = [s.strip() for s in lines[i + 1].split(",")]
    return cn, sans


def verifies(ca, cert, purpose):
    r = dt.run(["openssl", "verify", "-purpose", purpose, "-CAfile", ca, cert])
    return r.returncode == 0


def tree_digest(root):
    out = {}
    for dirpath, _, files in os.walk(root):
        for f in files:
            p = os.path.join(dirpath, f)
            with open(p, "rb") as fh:
                out[os.path.relpath(p, root)] = (hashlib.sha256(fh.read()).hexdigest(),
                                                  os.stat(p).st_mtime_ns)
    return out


def collector_clusters():
    """Every cluster a deploy config names: the collectors' and those aggregators map."""
    clusters = {load_yaml(deploy_path(p))["cluster"] for p, _ in dt.COLLECTOR_CONFIGS.values()}
    for path in dt.AGGREGATOR_CONFIGS.values():
        for entry in load_yaml(deploy_path(path))["collectors"]:
            clusters.update(entry["clusters"])
    return sorted(clusters)


def aggregator_hosts():
    """Every host a collector config ships to (the aggregator's certificate must name it)."""
    hosts = set()
    for path, _ in dt.COLLECTOR_CONFIGS.values():
        c = load_yaml(deploy_path(path))
        for a in c["aggregators"]:
            hosts.add(c.get("tls", {}).get("server_name") or a.rsplit(":", 1)[0])
    return sorted(hosts)


def default_sans():
    """The names make-certs.sh puts in every aggregator certificate."""
    with open(MAKE_CERTS, encoding="utf-8") as f:
        text = f.read()
    return set(re.findall(r"DNS:([a-z0-9.-]+)", "".join(
        re.findall(r'agg_sans\+?="([^"]*)"', text))))


class CertsFixture:
    """make-certs.sh's output for every cluster of the deploy configs, made once."""
    _dir = None

    @classmethod
    def get(cls):
        if cls._dir is None:
            cls._dir = tempfile.mkdtemp(prefix="kubetrail-certs-")
            extra = []
            for h in aggregator_hosts():
                if h not in default_sans():
                    extra += ["--aggregator-name", h]
            r = dt.run(["bash", MAKE_CERTS] + extra + [cls._dir] + collector_clusters())
            if r.returncode != 0:
                raise AssertionError(f"make-certs.sh failed: {r.stdout}{r.stderr}")
            cls.args = extra
        return cls._dir

    @classmethod
    def cleanup(cls):
        if cls._dir:
            shutil.rmtree(cls._dir, True)


def tearDownModule():
    CertsFixture.cleanup()


class CertificatesTest(dt.TempDirTestCase):

    def test_make_certs_runs_twice_without_changes(self):
        certs = CertsFixture.get()
        before = tree_digest(certs)
        r = dt.run(["bash", MAKE_CERTS] + CertsFixture.args + [certs] + collector_clusters())
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertNotIn("issued", r.stdout)
        self.assertEqual(tree_digest(certs), before, "a second run changed files")

    def test_make_certs_adds_a_cluster_and_keeps_the_rest(self):
        out = os.path.join(self.tmp, "certs")
        shutil.copytree(CertsFixture.get(), out)
        before = tree_digest(out)
        r = dt.run(["bash", MAKE_CERTS] + CertsFixture.args + [out, "extra"])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.count("issued"), 3, r.stdout)  # collector, webhook, apiserver
        after = tree_digest(out)
        for f, digest in before.items():
            if f != "aggregator-config-snippet.yaml":
                self.assertEqual(after[f], digest, f"{f} changed when a cluster was added")
        snippet = load_yaml(os.path.join(out, "aggregator-config-snippet.yaml"))
        self.assertEqual([e["identity"] for e in snippet["collectors"]],
                         sorted(f"collector.{c}" for c in collector_clusters() + ["extra"]))
        # A broken certificate is issued again, alone.
        with open(os.path.join(out, "clusters", "extra", "collector", "collector.pem"), "w") as f:
            f.write("garbage\n")
        r = dt.run(["bash", MAKE_CERTS] + CertsFixture.args + [out, "extra"])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.count("issued"), 1, r.stdout)
        self.assertIn("clusters/extra/collector/collector.pem", r.stdout)
        # Usage errors.
        r = dt.run(["bash", MAKE_CERTS, out, "Not_A_DNS_Name"])
        self.assertEqual(r.returncode, 1)
        self.assertIn("Not_A_DNS_Name", r.stderr)
        r = dt.run(["bash", MAKE_CERTS])
        self.assertEqual(r.returncode, 2)
        self.assertIn("OUTDIR", r.stderr)

    def test_identities_match_the_aggregator_configs(self):
        certs = CertsFixture.get()
        snippet = load_yaml(os.path.join(certs, "aggregator-config-snippet.yaml"))
        ca = os.path.join(certs, "ca.pem")
        mapped = {}
        for entry in snippet["collectors"]:
            (cluster,) = entry["clusters"]
            mapped[entry["identity"]] = cluster
            cert = os.path.join(certs, "clusters", cluster, "collector", "collector.pem")
            with self.subTest(identity=entry["identity"]):
                cn, sans = subject_and_sans(cert)
                self.assertEqual(cn, entry["identity"])
                self.assertEqual(sans, [f"DNS:{entry['identity']}"])
                self.assertTrue(verifies(ca, cert, "sslclient"))
                self.assertFalse(verifies(ca, cert, "sslserver"), "a client certificate only")
        self.assertEqual(sorted(mapped.values()), collector_clusters())
        # Each deploy aggregator config maps exactly these identities to these clusters, and
        # the collector configs that ship to it name one of them.
        for name, path in dt.AGGREGATOR_CONFIGS.items():
            with self.subTest(aggregator_config=name):
                config = load_yaml(deploy_path(path))
                for entry in config["collectors"]:
                    self.assertEqual(mapped.get(entry["identity"]), entry["clusters"][0])
                    self.assertEqual(len(entry["clusters"]), 1)
                self.assertEqual(config["query"]["identities"], snippet["query"]["identities"])
                self.assertEqual(config["admins"], snippet["admins"])
                if path.startswith("kubernetes/"):
                    self.assertEqual(config["tls"], snippet["tls"])
                shipped = [load_yaml(deploy_path(p))["cluster"]
                           for p, agg in dt.COLLECTOR_CONFIGS.values() if agg == name]
                for cluster in shipped:
                    self.assertIn({"identity": f"collector.{cluster}", "clusters": [cluster]},
                                  config["collectors"])
        for client in ("reader", "admin"):
            cn, _ = subject_and_sans(os.path.join(certs, "clients", client, "client.pem"))
            self.assertEqual(cn, f"kubetrail-{client}")
        self.assertIn("kubetrail-reader", snippet["query"]["identities"])
        self.assertIn("kubetrail-admin", snippet["admins"])

    def test_server_certificates_name_what_clients_dial(self):
        certs = CertsFixture.get()
        cert = os.path.join(certs, "aggregator", "server.pem")
        _, sans = subject_and_sans(cert)
        self.assertTrue(verifies(os.path.join(certs, "ca.pem"), cert, "sslserver"))
        for host in aggregator_hosts() + ["kubetrail-aggregator.kubetrail.svc"]:
            self.assertIn(f"DNS:{host}", sans)
        reader = load_yaml(os.path.join(certs, "clients", "reader", "config.yaml"))
        self.assertIn(f"DNS:{reader['contexts'][0]['tls-server-name']}", sans)
        kubeconfig = load_yaml(deploy_path("kube-apiserver", "webhook-kubeconfig.yaml"))
        host = re.match(r"https://([^:/]+)", kubeconfig["clusters"][0]["cluster"]["server"])[1]
        for cluster in collector_clusters():
            with self.subTest(cluster=cluster):
                d = os.path.join(certs, "clusters", cluster)
                webhook = os.path.join(d, "collector", "webhook.pem")
                _, sans = subject_and_sans(webhook)
                self.assertIn(f"IP Address:{host}", sans)
                # The apiserver verifies the webhook with apiserver/ca.pem; the webhook
                # verifies the apiserver with webhook-client-ca.pem.
                self.assertTrue(verifies(os.path.join(d, "apiserver", "ca.pem"), webhook,
                                         "sslserver"))
                apiserver = os.path.join(d, "apiserver", "apiserver.pem")
                self.assertTrue(verifies(os.path.join(d, "collector", "webhook-client-ca.pem"),
                                         apiserver, "sslclient"))
                # Nothing signed by the kubetrail CA may post to a webhook, and no other
                # cluster's apiserver either.
                collector = os.path.join(d, "collector", "collector.pem")
                self.assertFalse(verifies(os.path.join(d, "collector", "webhook-client-ca.pem"),
                                          collector, "sslclient"))
                for other in collector_clusters():
                    if other != cluster:
                        self.assertFalse(verifies(
                            os.path.join(d, "collector", "webhook-client-ca.pem"),
                            os.path.join(certs, "clusters", other, "apiserver", "apiserver.pem"),
                            "sslclient"))

    def test_private_keys_are_private(self):
        certs = CertsFixture.get()
        keys = []
        for dirpath, _, files in os.walk(certs):
            for f in files:
                if f.endswith("-key.pem"):
                    keys.append(os.path.join(dirpath, f))
                    mode = stat.S_IMODE(os.stat(keys[-1]).st_mode)
                    self.assertEqual(mode, 0o600, f)
        self.assertGreater(len(keys), 10)

    def test_generated_secrets_fit_the_placeholders(self):
        certs = CertsFixture.get()
        placeholders = {}
        for part in ("aggregator", "collector"):
            s = load_yaml(deploy_path("kubernetes", "base", part, "secret.yaml"))
            placeholders[s["metadata"]["name"]] = set(s["stringData"])
        generated = [("kubetrail-aggregator-tls.yaml", os.path.join(certs, "aggregator"))]
        generated += [(f"kubetrail-collector-tls-{c}.yaml",
                       os.path.join(certs, "clusters", c, "collector"))
                      for c in collector_clusters()]
        for file, source in generated:
            with self.subTest(secret=file):
                s = load_yaml(os.path.join(certs, "kubernetes", file))
                self.assertEqual((s["apiVersion"], s["kind"]), ("v1", "Secret"))
                self.assertEqual(s["metadata"]["namespace"], "kubetrail")
                self.assertEqual(set(s["data"]), placeholders[s["metadata"]["name"]])
                for key, value in s["data"].items():
                    with open(os.path.join(source, key), "rb") as f:
                        self.assertEqual(base64.b64decode(value), f.read(), key)


class ConfigsTest(dt.TempDirTestCase):

    def test_audit_policies_load(self):
        for policy in (deploy_path("kube-apiserver", "audit-policy.yaml"), BASE_POLICY):
            r = dt.run([dt.bin_path("kubetrail"), "policy", "validate", "--strict", policy])
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            self.assertIn(": ok (", r.stdout)

    def test_the_snippet_is_a_valid_aggregator_config(self):
        certs = CertsFixture.get()
        config = load_yaml(os.path.join(certs, "aggregator-config-snippet.yaml"))
        config.update(listen="127.0.0.1:0", data_dir=os.path.join(self.tmp, "agg"))
        config["tls"] = {k: os.path.join(certs, "aggregator", os.path.basename(v))
                         for k, v in config["tls"].items()}
        path = self.write_yaml("snippet.yaml", config)
        agg, _ = dt.start_aggregator(self.tmp, ["--config", path])
        self.addCleanup(agg.kill)
        self.assertEqual(agg.stop(), 0, agg.stderr())

    def test_a_bad_config_exits_2(self):
        """The check above is meaningful: a config the daemon does not accept exits 2."""
        path = self.write_yaml("bad.yaml", {"cluster": "x", "spool": {"dir": self.tmp},
                                            "webhok": {}})
        r = dt.run([dt.bin_path("kubetrail-collector"), "--config", path], timeout=30)
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("webhok", r.stderr)

    def write_yaml(self, name, data):
        path = os.path.join(self.tmp, name)
        with open(path, "w", encoding="utf-8") as f:
            dt.yaml.safe_dump(data, f)
        return path

    def assert_no_host_path_left(self, config, name):
        text = dt.yaml.safe_dump(config)
        for prefix in ("/etc/", "/var/", "/run/"):
            self.assertNotIn(prefix, text, f"{name}: a path was not rewritten")

    def aggregator_config(self, name):
        certs = CertsFixture.get()
        config = load_yaml(deploy_path(dt.AGGREGATOR_CONFIGS[name]))
        config["listen"] = "127.0.0.1:0"
        config["http_listen"] = "127.0.0.1:0"
        config["data_dir"] = os.path.join(self.tmp, "agg")
        config["tls"] = {k: os.path.join(certs, "aggregator", os.path.basename(v))
                         for k, v in config["tls"].items()}
        self.assert_no_host_path_left(config, name)
        return self.write_yaml("aggregator.yaml", config)

    def collector_config(self, name, aggregator_port, log):
        certs = CertsFixture.get()
        path, _ = dt.COLLECTOR_CONFIGS[name]
        config = load_yaml(deploy_path(path))
        tls_dir = os.path.join(certs, "clusters", config["cluster"], "collector")
        # The aggregator is dialled at 127.0.0.1 but must show the name the config dials.
        (target,) = config["aggregators"][:1]
        config["tls"].setdefault("server_name", target.rsplit(":", 1)[0])
        config["aggregators"] = [f"127.0.0.1:{aggregator_port}"]
        for key in ("ca_file", "cert_file", "key_file"):
            config["tls"][key] = os.path.join(tls_dir, os.path.basename(config["tls"][key]))
        webhook = config["webhook"]
        webhook["listen"] = "127.0.0.1:0"
        webhook["tls"] = {k: os.path.join(tls_dir, os.path.basename(v))
                          for k, v in webhook["tls"].items()}
        self.assertEqual(len(config["tail"]), 1)
        config["tail"] = [log]
        self.assertIn(os.path.basename(config["policy_file"]),
                      ("policy.yaml", "collector-policy.yaml"))
        config["policy_file"] = BASE_POLICY
        config["spool"]["dir"] = os.path.join(self.tmp, "spool")
        config["http_listen"] = "127.0.0.1:0"
        config["source"] = "node-1"  # the DaemonSet passes --source=NODE_NAME
        self.assert_no_host_path_left(config, name)
        return self.write_yaml("collector.yaml", config), config["cluster"]

    def run_pair(self, collector_name):
        """The collector config `collector_name` shipping to the aggregator config it names."""
        certs = CertsFixture.get()
        _, aggregator_name = dt.COLLECTOR_CONFIGS[collector_name]
        agg, a = dt.start_aggregator(self.tmp, ["--config", self.aggregator_config(aggregator_name)])
        self.addCleanup(agg.kill)
        events = os.path.join(self.tmp, "events.jsonl")
        r = dt.run([dt.bin_path("kubetrail-loadgen"), "--count", str(EVENTS), "--seed", "5",
                    "--output", events])
        self.assertEqual(r.returncode, 0, r.stderr)
        # The apiserver's audit log holds the same events as its webhook batches.
        log = os.path.join(self.tmp, "audit", "audit.log")
        os.makedirs(os.path.dirname(log))
        shutil.copy(events, log)
        config, cluster = self.collector_config(collector_name, a["grpc"], log)
        collector, c = dt.start_collector(self.tmp, ["--config", config])
        self.addCleanup(collector.kill)
        self.assertTrue(c["webhook"].startswith("https://127.0.0.1:"), c["webhook"])

        apiserver = os.path.join(certs, "clusters", cluster, "apiserver")
        r = dt.run([dt.bin_path("kubetrail-loadgen"), "--send", c["webhook"],
                    "--tls-ca", os.path.join(apiserver, "ca.pem"),
                    "--tls-cert", os.path.join(apiserver, "apiserver.pem"),
                    "--tls-key", os.path.join(apiserver, "apiserver-key.pem"),
                    "--timeout", "30", events])
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn(f'"accepted":{EVENTS}', r.stdout)

        def both_sources_in():
            m = dt.scrape(a["http"])
            stored = re.search(rf'kubetrail_ingest_stored_events_total{{cluster="{cluster}"}} (\d+)', m)
            dup = re.search(rf'kubetrail_ingest_duplicate_events_total{{cluster="{cluster}"}} (\d+)', m)
            return stored and dup and int(stored[1]) + int(dup[1]) >= 2 * EVENTS
        dt.wait_until(both_sources_in, 30, f"{2 * EVENTS} events (webhook and log) at the aggregator")

        metrics = dt.scrape(a["http"])
        self.assertIn(f'kubetrail_ingest_stored_events_total{{cluster="{cluster}"}} {EVENTS}\n',
                      metrics, "each event is stored once")
        self.assertIn(f'kubetrail_collector_last_seen_timestamp_seconds{{cluster="{cluster}",'
                      f'source="node-1"}}', metrics)

        env = dict(os.environ, KUBETRAIL_CONFIG=os.path.join(certs, "clients", "reader",
                                                             "config.yaml"))
        r = dt.run([dt.bin_path("kubetrail"), "--server", f"127.0.0.1:{a['grpc']}", "query",
                    "--cluster", cluster, "--all", "-o", "jsonl"], env=env, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(len(r.stdout.splitlines()), EVENTS)
        env["KUBETRAIL_CONFIG"] = os.path.join(certs, "clients", "admin", "config.yaml")
        r = dt.run([dt.bin_path("kubetrail"), "--server", f"127.0.0.1:{a['grpc']}", "status"],
                   env=env, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(cluster, r.stdout)

        self.assertEqual(collector.stop(), 0, collector.stderr())
        self.assertEqual(agg.stop(), 0, agg.stderr())


def _add_pair_test(name):
    def test(self):
        self.run_pair(name)
    path, aggregator = dt.COLLECTOR_CONFIGS[name]
    test.__doc__ = f"deploy/{path} shipping to deploy/{dt.AGGREGATOR_CONFIGS[aggregator]}"
    setattr(ConfigsTest, f"test_end_to_end_{name}", test)


for _name in dt.COLLECTOR_CONFIGS:
    _add_pair_test(_name)


if __name__ == "__main__":
    dt.main()
