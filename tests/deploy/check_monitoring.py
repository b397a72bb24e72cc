#!/usr/bin/env python3
"""deploy_monitoring: the Prometheus rules pass `promtool check rules` and the unit tests in
alerts_test.yaml (`promtool test rules`), the Grafana dashboard is well-formed JSON, and
every metric the rules and the dashboard use is one that the real daemons export: a
kubetrail-aggregator --dev and a kubetrail-collector --dev shipping to it, on 127.0.0.1,
with a few events posted, are scraped and each referenced family looked up (and, where it
has series, the label names the expressions match on).
"""

import json
import os
import re
import shutil
import sys

sys.dont_write_bytecode = True  # no __pycache__ beside the sources
import deploytest as dt  # noqa: E402
from deploytest import deploy_path, load_yaml  # noqa: E402

ALERTS = deploy_path("monitoring", "kubetrail-alerts.yaml")
DASHBOARD = deploy_path("monitoring", "kubetrail-dashboard.json")
SCRAPE = deploy_path("monitoring", "prometheus-scrape.yaml")
ALERTS_TEST = os.path.join(dt.TESTS, "alerts_test.yaml")
# Series Prometheus makes itself for each target; the only names allowed besides ours.
PROMETHEUS_SERIES = {"up"}
# Labels Prometheus adds to every scraped series (prometheus-scrape.yaml adds pod and node).
TARGET_LABELS = {"job", "instance", "pod", "node"}
HISTOGRAM_SUFFIXES = ("_bucket", "_sum", "_count")


def promtool():
    path = shutil.which("promtool")
    if not path:
        raise AssertionError("promtool not found: apt-get install prometheus "
                             "(scripts/install-deps.sh installs it)")
    return path


def load_dashboard():
    with open(DASHBOARD, encoding="utf-8") as f:
        return json.load(f)


def rule_expressions():
    return [r["expr"] for g in load_yaml(ALERTS)["groups"] for r in g["rules"]]


def dashboard_expressions():
    d = load_dashboard()
    exprs = [t["expr"] for p in d["panels"] for t in p.get("targets", [])]
    for v in d["templating"]["list"]:
        if v["type"] == "query":
            exprs.append(v["query"]["query"])
    return exprs


def selectors(expr):
    """(metric name, {label names matched}) for each `name{...}` or bare kubetrail_ name."""
    out = []
    for m in re.finditer(r"\b([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(\{([^}]*)\})?", expr):
        name, body = m.group(1), m.group(3)
        if body is None and not name.startswith("kubetrail_"):
            continue  # a function, keyword, label name or template variable
        labels = set(re.findall(r"([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)", body or ""))
        out.append((name, labels))
    return out


class MonitoringTest(dt.TempDirTestCase):

    def test_promtool_check_rules(self):
        r = dt.run([promtool(), "check", "rules", ALERTS])
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("SUCCESS", r.stdout)

    def test_promtool_unit_tests(self):
        r = dt.run([promtool(), "test", "rules", ALERTS_TEST], cwd=dt.TESTS)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        # The unit tests cover at least these alerts.
        tested = {t["alertname"] for c in load_yaml(ALERTS_TEST)["tests"]
                  for t in c["alert_rule_test"]}
        self.assertLessEqual({"KubetrailCollectorSilent", "KubetrailClusterSilent",
                              "KubetrailCollectorSpoolGrowing"}, tested)

    def test_rules_are_labelled_and_documented(self):
        names = set()
        for g in load_yaml(ALERTS)["groups"]:
            for r in g["rules"]:
                with self.subTest(alert=r.get("alert")):
                    self.assertRegex(r["alert"], r"^Kubetrail[A-Za-z]+$")
                    self.assertNotIn(r["alert"], names)
                    names.add(r["alert"])
                    self.assertIn(r["labels"]["severity"], ("warning", "critical"))
                    self.assertTrue(r["annotations"]["summary"])
                    self.assertTrue(r["annotations"]["description"])

    def test_scrape_jobs_match_the_rules(self):
        jobs = {j["job_name"] for j in load_yaml(SCRAPE)["scrape_configs"]}
        used = set()
        for e in rule_expressions():
            used |= set(re.findall(r'job="([^"]+)"', e))
        self.assertEqual(used, jobs)
        self.assertEqual(jobs, {"kubetrail-aggregator", "kubetrail-collector"})

    def test_dashboard_is_well_formed(self):
        d = load_dashboard()
        for key in ("title", "uid", "panels", "templating", "schemaVersion"):
            self.assertIn(key, d)
        ids = [p["id"] for p in d["panels"]]
        self.assertEqual(len(ids), len(set(ids)), "panel ids must be unique")
        variables = {v["name"] for v in d["templating"]["list"]}
        self.assertIn("datasource", variables)
        for p in d["panels"]:
            with self.subTest(panel=p["title"]):
                g = p["gridPos"]
                self.assertTrue(0 <= g["x"] and g["x"] + g["w"] <= 24)
                if p["type"] == "row":
                    continue
                self.assertEqual(p["datasource"]["uid"], "${datasource}")
                self.assertTrue(p["targets"])
                for t in p["targets"]:
                    self.assertTrue(t["expr"].strip())
                    for var in re.findall(r"\$([a-z_]+)", t["expr"]):
                        self.assertTrue(var in variables or var.startswith("__"), var)

    def test_every_metric_used_is_exported(self):
        text = self.scrape_both_daemons()
        families = dt.metric_families(text)
        labels = dt.series_labels(text)
        used = {}
        for source, exprs in (("rules", rule_expressions()),
                              ("dashboard", dashboard_expressions())):
            for e in exprs:
                for name, matched in selectors(e):
                    used.setdefault(name, set()).update(matched)
                    with self.subTest(source=source, metric=name):
                        if not name.startswith("kubetrail_"):
                            self.assertIn(name, PROMETHEUS_SERIES)
                            continue
                        family = name
                        if name not in families:
                            for suffix in HISTOGRAM_SUFFIXES:
                                if name.endswith(suffix):
                                    family = name[:-len(suffix)]
                        self.assertTrue(family in families, f"{name} is not exported")
                        if family != name:
                            self.assertEqual(families[family], "histogram", name)
        # Label names matched on exist on the series (when the family has any).
        for name, matched in used.items():
            if name in labels:
                with self.subTest(metric=name, labels=sorted(matched)):
                    self.assertLessEqual(matched - TARGET_LABELS, labels[name])
        # Most of what the daemons export is on the dashboard.
        shown = {n for n in used if n in families}
        shown |= {n[:-len(s)] for n in used for s in HISTOGRAM_SUFFIXES if n.endswith(s)}
        missing = sorted(set(f for f in families if f.startswith("kubetrail_")) - shown)
        self.assertEqual(missing, [], "exported but neither alerted on nor on the dashboard")

    def scrape_both_daemons(self):
        agg, a = dt.start_aggregator(self.tmp, [
            "--dev", "--listen", "127.0.0.1:0", "--http-listen", "127.0.0.1:0",
            "--data-dir", os.path.join(self.tmp, "agg"), "--drain-timeout", "5s"])
        self.addCleanup(agg.kill)
        # A tailed log too, so that the tailer's families are exported.
        audit_log = os.path.join(self.tmp, "audit.log")
        open(audit_log, "w").close()
        collector, c = dt.start_collector(self.tmp, [
            "--dev", "--cluster", "dev", "--source", "node-1", "--tail", audit_log,
            "--aggregator", f"127.0.0.1:{a['grpc']}", "--spool-dir",
            os.path.join(self.tmp, "spool"), "--webhook-listen", "127.0.0.1:0",
            "--http-listen", "127.0.0.1:0", "--batch-wait", "100ms", "--drain-timeout", "5s"])
        self.addCleanup(collector.kill)
        events = os.path.join(self.tmp, "events.jsonl")
        r = dt.run([dt.bin_path("kubetrail-loadgen"), "--count", "20", "--seed", "7",
                    "--output", events])
        self.assertEqual(r.returncode, 0, r.stderr)
        r = dt.run([dt.bin_path("kubetrail-loadgen"), "--send", c["webhook"], "--timeout", "30",
                    events])
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        dt.wait_until(lambda: 'kubetrail_ingest_stored_events_total{cluster="dev"} 20'
                      in dt.scrape(a["http"]), 30, "20 events stored")
        # A query, so that the query families have series too.
        r = dt.run([dt.bin_path("kubetrail"), "--dev", "--server", f"127.0.0.1:{a['grpc']}",
                    "count"])
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        text = dt.scrape(a["http"]) + dt.scrape(c["http"])
        self.assertEqual(collector.stop(), 0, collector.stderr())
        self.assertEqual(agg.stop(), 0, agg.stderr())
        return text


if __name__ == "__main__":
    dt.main()
