"""Shared helpers of the deploy/ tests (tests/deploy/README.md).

Paths come from the environment CTest sets (tests/deploy/CMakeLists.txt):
KUBETRAIL_SOURCE_DIR (the checkout; default: two levels above this file) and
KUBETRAIL_BIN_DIR (the built binaries). Daemons listen on 127.0.0.1 port 0 and are read
back from their ready lines, with a temporary directory per test.
"""

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.request

SKIP = 77  # CTest's SKIP_RETURN_CODE for these tests

try:
    import yaml
except ImportError:  # pragma: no cover - depends on the machine
    print("SKIP: python3-yaml is not installed (Debian: apt-get install python3-yaml)")
    sys.exit(SKIP)

SOURCE_DIR = os.path.abspath(
    os.environ.get("KUBETRAIL_SOURCE_DIR")
    or os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
DEPLOY = os.path.join(SOURCE_DIR, "deploy")
TESTS = os.path.join(SOURCE_DIR, "tests", "deploy")


def deploy_path(*parts):
    return os.path.join(DEPLOY, *parts)


def rel(path):
    """`path` relative to the checkout, for messages."""
    return os.path.relpath(path, SOURCE_DIR)


def bin_path(name):
    """The built binary `name`; the test fails (not skips) when it is missing."""
    bin_dir = os.environ.get("KUBETRAIL_BIN_DIR")
    if not bin_dir:
        raise unittest.SkipTest("KUBETRAIL_BIN_DIR is not set (ctest sets it)")
    path = os.path.join(bin_dir, name)
    if not os.access(path, os.X_OK):
        raise AssertionError(f"{path} is missing: build it first (cmake --build BUILD)")
    return path


def yaml_files(root=DEPLOY):
    """Every *.yaml / *.yml file under `root`, sorted."""
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for f in sorted(filenames):
            if f.endswith((".yaml", ".yml")):
                out.append(os.path.join(dirpath, f))
    return out


def load_yaml(path):
    with open(path, encoding="utf-8") as f:
        return yaml.safe_load(f)


def load_yaml_all(path):
    with open(path, encoding="utf-8") as f:
        return [d for d in yaml.safe_load_all(f) if d is not None]


def audit_flags():
    """deploy/kube-apiserver/audit-flags.txt as an ordered list of (name, value)."""
    flags = []
    with open(deploy_path("kube-apiserver", "audit-flags.txt"), encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if line.startswith("--"):
                name, _, value = line[2:].partition("=")
                flags.append((name, value))
    return flags


# The daemons' config files in deploy/, and which aggregator config each collector config
# ships to (the pairs the configs test runs end to end).
AGGREGATOR_CONFIGS = {
    "base": "kubernetes/base/aggregator/aggregator.yaml",
    "kind": "kubernetes/overlays/kind/aggregator.yaml",
    "central": "kubernetes/overlays/central/aggregator.yaml",
    "systemd": "systemd/aggregator.yaml",
}
COLLECTOR_CONFIGS = {
    "base": ("kubernetes/base/collector/collector.yaml", "base"),
    "kind": ("kubernetes/overlays/kind/collector.yaml", "kind"),
    "member": ("kubernetes/overlays/member/collector.yaml", "central"),
    "systemd": ("systemd/collector.yaml", "systemd"),
}


class Daemon:
    """A kubetrail daemon started in the background; its stdout is read line by line.

    `wait_ready(marker)` returns the first stdout line containing `marker`. stderr goes to a
    file kept for failure messages. `stop()` sends SIGTERM and returns the exit code.
    """

    def __init__(self, argv, workdir, name):
        self.argv = argv
        self.name = name
        self.stderr_path = os.path.join(workdir, f"{name}.stderr")
        self._stderr = open(self.stderr_path, "wb")
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=self._stderr,
                                     stdin=subprocess.DEVNULL, text=True)
        self._lines = []
        self._cv = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        for line in self.proc.stdout:
            with self._cv:
                self._lines.append(line.rstrip("\n"))
                self._cv.notify_all()
        with self._cv:
            self._lines.append(None)  # EOF
            self._cv.notify_all()

    def stderr(self):
        if not self._stderr.closed:
            self._stderr.flush()
        with open(self.stderr_path, encoding="utf-8", errors="replace") as f:
            return f.read()

    def wait_ready(self, marker, timeout=30):
        deadline = time.monotonic() + timeout
        with self._cv:
            while True:
                for line in self._lines:
                    if line is None:
                        self.proc.wait()
                        raise AssertionError(
                            f"{self.name} exited with {self.proc.returncode} before "
                            f"'{marker}': {' '.join(self.argv)}\n{self.stderr()}")
                    if marker in line:
                        return line
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"{self.name}: no '{marker}' within {timeout} s\n"
                                         f"{self.stderr()}")
                self._cv.wait(left)

    def stop(self, timeout=30):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError(f"{self.name} did not stop within {timeout} s of SIGTERM")
        self._close()
        return self.proc.returncode

    def _close(self):
        self._reader.join(5)
        self.proc.stdout.close()
        self._stderr.close()

    def kill(self):
        """SIGKILL if still running (a cleanup after a failure); idempotent."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._close()


def ready_addresses(line):
    """{'grpc': port, 'http': port, 'webhook': url} from a daemon's ready line."""
    out = {}
    for word in line.split():
        key, sep, value = word.partition("=")
        if not sep:
            continue
        if key in ("grpc", "http"):
            out[key] = int(value.rsplit(":", 1)[1])
        elif key == "webhook":
            out[key] = value
    return out


def start_aggregator(workdir, args, name="aggregator"):
    """Starts kubetrail-aggregator with `args`; returns (daemon, {'grpc': port, 'http': port})."""
    d = Daemon([bin_path("kubetrail-aggregator")] + args, workdir, name)
    try:
        return d, ready_addresses(d.wait_ready("serving grpc="))
    except BaseException:
        d.kill()
        raise


def start_collector(workdir, args, name="collector"):
    """Starts kubetrail-collector with `args`; returns (daemon, addresses incl. 'webhook')."""
    d = Daemon([bin_path("kubetrail-collector")] + args, workdir, name)
    try:
        return d, ready_addresses(d.wait_ready("running cluster="))
    except BaseException:
        d.kill()
        raise


def scrape(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
        return r.read().decode()


def metric_families(text):
    """{family: type} from the '# TYPE' lines of a Prometheus text exposition."""
    out = {}
    for line in text.splitlines():
        m = re.match(r"# TYPE (\S+) (\S+)", line)
        if m:
            out[m.group(1)] = m.group(2)
    return out


def series_labels(text):
    """{metric name as exposed: set of label names seen} from the sample lines."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.match(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([^}]*)\})?\s", line)
        if not m:
            continue
        names = set(re.findall(r"([a-zA-Z_][a-zA-Z0-9_]*)=\"", m.group(3) or ""))
        out.setdefault(m.group(1), set()).update(names)
    return out


def wait_until(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.1)


def run(argv, **kwargs):
    """subprocess.run with text output captured; never raises on a non-zero exit."""
    return subprocess.run(argv, capture_output=True, text=True, stdin=subprocess.DEVNULL,
                          **kwargs)


class TempDirTestCase(unittest.TestCase):
    """A TestCase with self.tmp, a fresh temporary directory removed afterwards."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="kubetrail-deploy-")
        self.addCleanup(shutil.rmtree, self.tmp, True)


def main():
    """Runs the calling module's tests; exit 0, 1 on failure, 77 when all were skipped."""
    program = unittest.main(exit=False, verbosity=2)
    result = program.result
    if not result.wasSuccessful():
        sys.exit(1)
    if result.testsRun and len(result.skipped) == result.testsRun:
        sys.exit(SKIP)
    sys.exit(0)
