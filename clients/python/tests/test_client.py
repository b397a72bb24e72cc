"""Tests of the kubetrail Python client: packaging, and every call against a real aggregator.

ctest runs this file (test ``python_client_test``) with Debian's python3 in two stages:

1. Packaging: a venv in a temporary directory (``--system-site-packages``, for Debian's
   grpcio, protobuf, setuptools and pip), into which ``pip install --no-build-isolation
   --no-deps --no-index`` installs a copy of ``clients/python``; that build runs protoc and
   grpc_python_plugin on the repository's protos. A missing prerequisite is a failure with a
   message naming the Debian package, never a skip.
2. The unittest cases below, run by the venv's python, so they import the installed package
   (one case checks that it is the installed copy, with its generated stubs):

   * pure functions: durations, times, MicroTime formatting, filter building;
   * a real ``kubetrail-aggregator --dev`` on 127.0.0.1 (port 0, a private data dir), loaded
     by ``kubetrail-loadgen --send`` with generated events for clusters c1 and c2 (different
     seeds, ten days and half an hour ago) and a few hand-written edge-case events (JSON
     nulls, empty lists and objects, unknown keys, v1beta1, Go escaping, a time before 1970).
     search / get / count / top / histogram / follow / stats are checked against results
     computed here, independently, from the same files: ``json.loads`` of each line, filtered
     in Python. Returned events must equal those dicts exactly, key order included;
   * retention and legal holds through an aggregator of their own whose retention runs every
     second: settings and holds round-trip, and retention removes old events unless held;
   * the shared corpus of real audit events, when present (``$KUBETRAIL_CORPUS_DIR`` or
     ``../shared/corpus`` beside the checkout; skipped, saying so, when not), through a second
     aggregator;
   * errors: an unreachable server, values the server refuses, values the client refuses.

Environment: ``KUBETRAIL_BIN_DIR`` (required: kubetrail-aggregator, kubetrail-loadgen and
kubetrail live there), ``KUBETRAIL_SOURCE_DIR`` (default: this file's checkout),
``PROTOC`` / ``GRPC_PYTHON_PLUGIN`` (passed to the build).
"""

from __future__ import annotations

import collections
import datetime as dt
import hashlib
import importlib.util
import json
import os
import pathlib
import pickle
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
from typing import Any, Callable, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple

# Set in the environment of the second stage (the venv's python running the test cases).
_STAGE_VARIABLE = "KUBETRAIL_PYTHON_CLIENT_TEST_STAGE"
_SOURCE_DIR = pathlib.Path(
    os.environ.get("KUBETRAIL_SOURCE_DIR") or pathlib.Path(__file__).resolve().parents[3])
_PACKAGE_DIR = _SOURCE_DIR / "clients" / "python"

# ------------------------------------------------------------------------------------------
# Stage 1: packaging.
# ------------------------------------------------------------------------------------------


def _missing_prerequisites() -> List[str]:
    """What the packaging stage needs and this machine lacks, each with its Debian package."""
    missing = []
    for module, package in (("venv", "python3-venv"), ("grpc", "python3-grpcio"),
                            ("google.protobuf", "python3-protobuf"),
                            ("setuptools", "python3-setuptools"), ("wheel", "python3-wheel"),
                            ("pip", "python3-pip")):
        try:
            found = importlib.util.find_spec(module) is not None  # found, not imported
        except ImportError:  # a missing parent package ("google")
            found = False
        if not found:
            missing.append(f"Python module {module} (Debian package {package})")
    for variable, tool, package in (("PROTOC", "protoc", "protobuf-compiler"),
                                    ("GRPC_PYTHON_PLUGIN", "grpc_python_plugin",
                                     "protobuf-compiler-grpc")):
        if not (os.environ.get(variable) or shutil.which(tool)):
            missing.append(f"{tool} on PATH (Debian package {package})")
    bin_dir = os.environ.get("KUBETRAIL_BIN_DIR")
    if not bin_dir:
        missing.append("KUBETRAIL_BIN_DIR (the build's bin directory; ctest sets it)")
    else:
        for binary in ("kubetrail-aggregator", "kubetrail-loadgen", "kubetrail"):
            if not os.access(os.path.join(bin_dir, binary), os.X_OK):
                missing.append(f"{bin_dir}/{binary} (build it first)")
    return missing


def _run_packaging_stage() -> int:
    """Installs clients/python into a fresh venv, then runs this file's tests with it."""
    missing = _missing_prerequisites()
    if missing:
        print(f"FAIL: {sys.executable} lacks what this test needs (scripts/install-deps.sh "
              "installs it):\n  " + "\n  ".join(missing), file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory(prefix="kubetrail-python-test-") as tmp:
        # A copy, so the in-tree build's build/ and *.egg-info never land in the checkout.
        source = pathlib.Path(tmp, "src")
        shutil.copytree(_PACKAGE_DIR, source, ignore=shutil.ignore_patterns(
            "build", "dist", "*.egg-info", "__pycache__", "*_pb2.py", "*_pb2.pyi",
            "*_pb2_grpc.py"))
        venv = pathlib.Path(tmp, "venv")
        # --without-pip: Debian's pip, visible through --system-site-packages, installs into
        # the venv just as well, and ensurepip would add about 9 s.
        steps = [
            [sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", str(venv)],
            [str(venv / "bin" / "python"), "-m", "pip", "install", "--no-build-isolation",
             "--no-deps", "--no-index", "--disable-pip-version-check", "--quiet", str(source)],
        ]
        env = dict(os.environ, KUBETRAIL_PROTO_DIR=str(_SOURCE_DIR / "proto"))
        for step in steps:
            started = time.monotonic()
            result = subprocess.run(step, env=env, capture_output=True, text=True,
                                    timeout=240, check=False)
            print(f"packaging: {' '.join(step[-4:])}: exit {result.returncode} "
                  f"({time.monotonic() - started:.1f} s)", file=sys.stderr)
            if result.returncode != 0:
                print(f"FAIL: {' '.join(step)}\n{result.stdout}{result.stderr}", file=sys.stderr)
                return 1
        tests = subprocess.run(
            [str(venv / "bin" / "python"), str(pathlib.Path(__file__).resolve()), *sys.argv[1:]],
            env=dict(os.environ, **{_STAGE_VARIABLE: str(venv)}), check=False)
        return tests.returncode


# ------------------------------------------------------------------------------------------
# Stage 2: the test cases (run with the venv's python).
# ------------------------------------------------------------------------------------------

if os.environ.get(_STAGE_VARIABLE):
    import kubetrail
    from kubetrail import filters as kt_filters
    from kubetrail import microtime as kt_microtime

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
_HOUR_US = 3600 * 10**6
_DAY_US = 24 * _HOUR_US


def _micros(text: str) -> int:
    """Microseconds since the epoch of a MicroTime string, through the standard library (an
    independent check of the client's own parser and formatter)."""
    return (dt.datetime.fromisoformat(text.replace("Z", "+00:00")) - _EPOCH) // dt.timedelta(
        microseconds=1)


def _rfc3339(micros: int) -> str:
    """MicroTime text through the standard library (strftime's %Y does not pad years < 1000)."""
    d = _EPOCH + dt.timedelta(microseconds=micros)
    return (f"{d.year:04d}-{d.month:02d}-{d.day:02d}T{d.hour:02d}:{d.minute:02d}:"
            f"{d.second:02d}.{d.microsecond:06d}Z")


def _dump(event: Any) -> str:
    """A dict as JSON text that keeps key order: equal texts mean equal dicts, same order."""
    return json.dumps(event, ensure_ascii=False)


def _dumps(events: Iterable[Any]) -> List[str]:
    return sorted(_dump(e) for e in events)


class Record:
    """One event loaded into the aggregator, as the tests know it."""

    def __init__(self, cluster: str, line: str) -> None:
        self.cluster = cluster
        self.event: Dict[str, Any] = json.loads(line)
        stamp = (self.event.get("requestReceivedTimestamp")
                 or self.event.get("stageTimestamp"))
        assert stamp, f"test events carry a timestamp: {line[:200]}"
        self.time_us = _micros(stamp)

    def get(self, *path: str) -> Any:
        """The value at a path of keys, "" where the event lacks it (as the server compares)."""
        value: Any = self.event
        for key in path:
            if not isinstance(value, dict) or value.get(key) is None:
                return ""
            value = value[key]
        return value


def _matches_pattern(patterns: Sequence[str], value: str) -> bool:
    """The user filter: exact, or a prefix before a trailing '*' ("*" alone: non-empty)."""
    for p in patterns:
        if p.endswith("*"):
            if value.startswith(p[:-1]) and (p != "*" or value):
                return True
        elif value == p:
            return True
    return False


def _matches_resource(patterns: Sequence[str], r: Record) -> bool:
    """The resource filter of storage/filter.h: RESOURCE[.GROUP][/SUB], '*' for any resource
    or subresource; without '/', no subresource."""
    resource, group, sub = (r.get("objectRef", "resource"), r.get("objectRef", "apiGroup"),
                            r.get("objectRef", "subresource"))
    for p in patterns:
        left, slash, right = p.partition("/")
        want_sub = right if slash else ""
        if want_sub != "*" and want_sub != sub:
            continue
        if left != "*":
            want_resource, dot, want_group = left.partition(".")
            if want_resource != resource or (dot and want_group != group):
                continue
        return True
    return False


def _matches_code(patterns: Sequence[str], r: Record) -> bool:
    code = r.event.get("responseStatus", {}).get("code")
    if code is None:
        return False
    for p in patterns:
        low = int(p[0]) * 100 if p.endswith("xx") else int(p)
        high = low + 99 if p.endswith("xx") else low
        if low <= code <= high:
            return True
    return False


def expected(records: Iterable[Record], *, cluster: Sequence[str] = (),
             user: Sequence[str] = (), impersonated_user: Sequence[str] = (),
             group: Sequence[str] = (), verb: Sequence[str] = (),
             namespace: Sequence[str] = (), resource: Sequence[str] = (),
             api_group: Sequence[str] = (), name: Sequence[str] = (),
             code: Sequence[str] = (), stage: Sequence[str] = (), level: Sequence[str] = (),
             audit_id: Sequence[str] = (), source_ip: Sequence[str] = (),
             user_agent: str = "", from_us: Optional[int] = None,
             to_us: Optional[int] = None) -> List[Record]:
    """The records a filter selects, computed from the events themselves."""
    out = []
    for r in records:
        if from_us is not None and r.time_us < from_us:
            continue
        if to_us is not None and r.time_us >= to_us:
            continue
        checks = [
            (cluster, lambda: r.cluster in cluster),
            (user, lambda: _matches_pattern(user, r.get("user", "username"))),
            (impersonated_user,
             lambda: _matches_pattern(impersonated_user, r.get("impersonatedUser", "username"))),
            (group, lambda: any(g in group for g in r.get("user", "groups") or [])),
            (verb, lambda: r.get("verb") in verb),
            (namespace, lambda: r.get("objectRef", "namespace") in namespace),
            (resource, lambda: _matches_resource(resource, r)),
            (api_group, lambda: r.get("objectRef", "apiGroup") in api_group),
            (name, lambda: r.get("objectRef", "name") in name),
            (code, lambda: _matches_code(code, r)),
            (stage, lambda: r.get("stage") in stage),
            (level, lambda: r.get("level") in level),
            (audit_id, lambda: r.get("auditID") in audit_id),
            (source_ip, lambda: any(ip in source_ip for ip in r.get("sourceIPs") or [])),
            (user_agent, lambda: user_agent in r.get("userAgent")),
        ]
        if all(not given or check() for given, check in checks):
            out.append(r)
    return out


def _top(keys: Iterable[str], limit: int) -> List[Tuple[str, int]]:
    """Top-N as the server orders it: most frequent first, ties by key."""
    counts = collections.Counter(keys)
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]


def _resource_key(r: Record) -> str:
    key = r.get("objectRef", "resource")
    if r.get("objectRef", "apiGroup"):
        key += "." + r.get("objectRef", "apiGroup")
    if r.get("objectRef", "subresource"):
        key += "/" + r.get("objectRef", "subresource")
    return key


class Aggregator:
    """A ``kubetrail-aggregator`` (``--dev`` unless other ``args`` are given) on 127.0.0.1:0
    with a private data dir, for one test module, class or case. Its output is collected by a
    thread (and shown when it does not start); :meth:`stop` ends it (SIGTERM, then SIGKILL)
    and is safe to call twice."""

    def __init__(self, bin_dir: str, data_dir: str, args: Sequence[str] = ("--dev",)) -> None:
        self.output: List[str] = []
        self._ready = threading.Event()
        self.process = subprocess.Popen(
            [os.path.join(bin_dir, "kubetrail-aggregator"), *args, "--listen", "127.0.0.1:0",
             "--data-dir", data_dir, "--drain-timeout", "5s"],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True)
        self.port = 0
        self._drainer = threading.Thread(target=self._drain, daemon=True)
        self._drainer.start()
        if not self._ready.wait(60) or not self.port:
            self.stop()
            raise AssertionError("kubetrail-aggregator did not print its ready line within "
                                 "60 s:\n" + "".join(self.output))

    def _drain(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.output.append(line)
            # "kubetrail-aggregator: serving grpc=127.0.0.1:PORT (dev: ...)"
            m = re.search(r"serving grpc=127\.0\.0\.1:(\d+)", line)
            if m and not self._ready.is_set():
                self.port = int(m.group(1))
                self._ready.set()
        self._ready.set()  # exited: stop waiting

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self._drainer.join(10)  # it reads until the pipe's end
        if self.process.stdout is not None and not self._drainer.is_alive():
            self.process.stdout.close()


def _run(argv: Sequence[str], timeout: float = 120) -> str:
    """Runs a helper binary; its stdout, or AssertionError with its output."""
    result = subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout,
                            check=False)
    if result.returncode != 0:
        raise AssertionError(f"{' '.join(argv)}: exit {result.returncode}\n"
                             f"{result.stdout[-2000:]}{result.stderr[-2000:]}")
    return result.stdout


def _send(bin_dir: str, address: str, cluster: str, path: str) -> Dict[str, Any]:
    """kubetrail-loadgen --send FILE as `cluster`; its summary, checked: nothing rejected."""
    summary = json.loads(_run([os.path.join(bin_dir, "kubetrail-loadgen"), "--send",
                               f"grpc://{address}", "--cluster", cluster, "--timeout", "60",
                               path]).strip().splitlines()[-1])
    if summary.get("rejected") != 0 or summary.get("acked") != summary.get("sent"):
        raise AssertionError(f"kubetrail-loadgen --send {path}: {summary}")
    return summary


def _edge_lines(now_us: int) -> List[str]:
    """Hand-written events the generator never makes: every presence rule of event.proto."""
    five_days_ago = _rfc3339(now_us - 5 * _DAY_US)[:19] + "+02:00"
    return [
        # JSON nulls, empty and unsorted maps, unknown keys at three levels, Go's escaping
        # (<, >, &, U+2028), non-ASCII, number text kept in raw objects, nanoseconds and an
        # offset, a time before 1970.
        json.dumps({
            "kind": "Event", "apiVersion": "audit.k8s.io/v1", "level": "Metadata",
            "auditID": "edge-1", "stage": "ResponseComplete", "verb": None,
            "user": {"username": "a<b>&c", "groups": None,
                     "extra": {"z": None, "a": ["x", "\u2028y"]}, "zz": 1},
            "sourceIPs": [], "objectRef": {"resource": "pods", "namespace": None, "q": [1]},
            "responseStatus": {"metadata": {}, "code": 403, "details": {"x": 1.5}},
            "requestObject": None,
            "requestReceivedTimestamp": "1969-12-31T23:59:59.5Z",
            "stageTimestamp": "2026-11-27T10:00:00.123456789+02:00",
            "annotations": {"b": "1", "a": "é😀"}, "zzz": {"k": "v"},
        }, ensure_ascii=False).replace('"q": [1]', '"q": [1, 2.50, 1E5]'),
        # v1beta1: mapped to v1, `metadata` and `timestamp` kept as unknown keys, the
        # timestamps set from `timestamp`; impersonation, authenticationMetadata.
        json.dumps({
            "kind": "Event", "apiVersion": "audit.k8s.io/v1beta1",
            "metadata": {"creationTimestamp": None}, "level": "Request",
            "timestamp": five_days_ago, "auditID": "edge-2", "stage": "RequestReceived",
            "user": {"username": "alice", "groups": []},
            "impersonatedUser": {"username": "bob", "uid": ""},
            "authenticationMetadata": {"impersonationConstraint": "x", "other": True},
            "annotations": {},
        }),
    ]


class _Fixture:
    """The aggregator shared by the test cases of ClientTest, and what was loaded into it."""

    bin_dir = ""
    tmp = ""
    aggregator: Optional[Aggregator] = None
    # RetentionTest's: started with the module, since its first retention run comes about
    # 10 s after start (services/aggregator/server.cc), which the other cases then cover.
    retention_aggregator: Optional[Aggregator] = None
    now_us = 0
    records: List[Record] = []
    started = 0.0


def setUpModule() -> None:  # noqa: N802 (unittest's name)
    if not os.environ.get(_STAGE_VARIABLE):
        return
    started = time.monotonic()
    f = _Fixture
    f.bin_dir = os.environ["KUBETRAIL_BIN_DIR"]
    tmp = tempfile.TemporaryDirectory(prefix="kubetrail-python-client-")
    unittest.addModuleCleanup(tmp.cleanup)
    f.tmp = tmp.name
    f.now_us = time.time_ns() // 1000
    f.aggregator = Aggregator(f.bin_dir, os.path.join(f.tmp, "data"))
    unittest.addModuleCleanup(f.aggregator.stop)
    f.retention_aggregator = Aggregator(f.bin_dir, os.path.join(f.tmp, "retention-data"),
                                        ("--dev", "--retention-interval", "1s"))
    unittest.addModuleCleanup(f.retention_aggregator.stop)
    loadgen = os.path.join(f.bin_dir, "kubetrail-loadgen")
    # c1 ten days ago, c2 half an hour ago: "since 2h" and "now-11d".."now-9d" split them
    # far from any event (3,000 events span about 3 s).
    files = {}
    for cluster, seed, start_us in (("c1", 1, f.now_us - 10 * _DAY_US),
                                    ("c2", 2, f.now_us - _HOUR_US // 2)):
        path = os.path.join(f.tmp, f"{cluster}.jsonl")
        _run([loadgen, "-n", "3000", "-s", str(seed), "--start", _rfc3339(start_us)[:19] + "Z",
              "-o", path])
        files[cluster] = path
    edge_input = os.path.join(f.tmp, "edge-input.jsonl")
    with open(edge_input, "w", encoding="utf-8") as out:
        out.write("\n".join(_edge_lines(f.now_us)) + "\n")
    # What kube-apiserver would have written for the edge events: `kubetrail convert`.
    files["edge"] = os.path.join(f.tmp, "edge.jsonl")
    with open(files["edge"], "w", encoding="utf-8") as out:
        out.write(_run([os.path.join(f.bin_dir, "kubetrail"), "convert", edge_input]))
    records = []
    for cluster, path in files.items():
        summary = _send(f.bin_dir, f.aggregator.address, cluster, path)
        with open(path, encoding="utf-8") as lines:
            loaded = [Record(cluster, line) for line in lines if line.strip()]
        if summary["stored"] != len(loaded):
            raise AssertionError(f"{cluster}: stored {summary}, expected {len(loaded)}")
        records += loaded
    f.records = records
    print(f"\nfixture: {len(records)} events loaded in {time.monotonic() - started:.1f} s",
          file=sys.stderr)


class PureFunctionsTest(unittest.TestCase):
    """Durations, times and MicroTime, without a server."""

    def test_installed_package_has_generated_stubs(self) -> None:
        # The package under test is the venv's copy, built with its stubs: not the checkout.
        venv = os.environ[_STAGE_VARIABLE]
        self.assertTrue(pathlib.Path(kubetrail.__file__).resolve().is_relative_to(
            pathlib.Path(venv).resolve()), kubetrail.__file__)
        from kubetrail.v1 import admin_pb2_grpc, event_pb2, query_pb2, query_pb2_grpc
        self.assertEqual(query_pb2.Filter.DESCRIPTOR.full_name, "kubetrail.v1.Filter")
        self.assertIn("present_fields", event_pb2.Event.DESCRIPTOR.fields_by_name)
        self.assertTrue(hasattr(query_pb2_grpc, "QueryStub"))
        self.assertTrue(hasattr(admin_pb2_grpc, "AdminStub"))
        self.assertEqual(list(_PACKAGE_DIR.glob("kubetrail/v1/*_pb2*.py")), [],
                         "generated files in the checkout")

    def test_since(self) -> None:
        parse = kt_filters.parse_since
        self.assertEqual(parse("2h"), 2 * _HOUR_US)
        self.assertEqual(parse("90m"), 90 * 60 * 10**6)
        self.assertEqual(parse("7d"), 7 * _DAY_US)
        self.assertEqual(parse("1d12h"), 36 * _HOUR_US)
        self.assertEqual(parse("1.5h30m"), 2 * _HOUR_US)
        self.assertEqual(parse("1500ms"), 1_500_000)
        self.assertEqual(parse(dt.timedelta(minutes=3)), 180 * 10**6)
        for bad in ("", "2", "h", "-2h", "+2h", "0s", "2x", "2h-", "d", "1dd", "2 h", "inf"):
            with self.subTest(bad=bad), self.assertRaisesRegex(ValueError, "^since: "):
                parse(bad)
        with self.assertRaisesRegex(ValueError, "^since: "):
            parse(dt.timedelta(0))
        with self.assertRaises(TypeError):
            parse(3600)  # type: ignore[arg-type]

    def test_keep(self) -> None:
        parse = kt_filters.parse_keep
        for forever in (None, 0, "0", dt.timedelta(0)):
            with self.subTest(keep=forever):
                self.assertEqual(parse(forever), 0)
        self.assertEqual(parse("400d"), 400 * _DAY_US)
        self.assertEqual(parse("1d12h"), 36 * _HOUR_US)
        self.assertEqual(parse("2160h"), 90 * _DAY_US)
        self.assertEqual(parse(dt.timedelta(hours=36)), 36 * _HOUR_US)
        self.assertEqual(parse("1us"), 1)
        for bad in ("", "00", "0s", "-1d", "2x", "500ns", "200000000d",
                    dt.timedelta(microseconds=-1)):
            with self.subTest(bad=bad), self.assertRaisesRegex(ValueError, "^keep: "):
                parse(bad)
        for bad_type in (3600, 1.5, True, b"1d"):
            with self.subTest(bad=bad_type), self.assertRaisesRegex(TypeError, "^keep: "):
                parse(bad_type)  # type: ignore[arg-type]

    def test_times(self) -> None:
        now = _micros("2026-11-27T10:00:00Z")
        parse = kt_filters.parse_time
        for text in ("2026-11-27T10:00:00Z", "2026-11-27T10:00:00.5+01:00",
                     "2026-11-27t10:00:00.123456789z", "2024-02-29T23:59:59.999999-07:30",
                     "1969-12-31T23:59:59.000001Z", "0001-01-01T00:00:00Z"):
            with self.subTest(text=text):
                reference = dt.datetime.fromisoformat(
                    re.sub(r"(\.\d{6})\d+", r"\1", text.upper().replace("Z", "+00:00")))
                self.assertEqual(parse(text, now, "from_"),
                                 (reference - _EPOCH) // dt.timedelta(microseconds=1))
        self.assertEqual(parse("2026-11-27", now, "to"), now - 10 * _HOUR_US)
        self.assertEqual(parse(dt.date(2026, 11, 27), now, "to"), now - 10 * _HOUR_US)
        self.assertEqual(parse("now", now, "to"), now)
        self.assertEqual(parse("now-2h", now, "to"), now - 2 * _HOUR_US)
        self.assertEqual(parse(dt.datetime(2026, 11, 27, 11, tzinfo=dt.timezone(
            dt.timedelta(hours=1))), now, "to"), now)
        self.assertEqual(kt_microtime.parse_rfc3339("0000-03-01T00:00:00Z"),
                         -62162035200 * 10**6)
        for bad in ("yesterday", "2026-13-01T00:00:00Z", "2026-02-29T00:00:00Z",
                    "2026-11-27T24:00:00Z", "2026-11-27T10:00:60Z", "2026-11-27T10:00:00",
                    "2026-11-27T10:00:00.Z", "2026-11-27T10:00:00.1234567890Z",
                    "2026-11-27T10:00:00+24:00", "2026-11-27 10:00:00Z", "now-", "now-x",
                    "２０２６-11-27"):
            with self.subTest(bad=bad), self.assertRaisesRegex(ValueError, "^from_: "):
                parse(bad, now, "from_")
        with self.assertRaisesRegex(ValueError, "^from_: naive datetime"):
            parse(dt.datetime(2026, 11, 27), now, "from_")

    def test_micro_time_format(self) -> None:
        fmt = kt_microtime.format_micro_time
        self.assertEqual(fmt(0), "1970-01-01T00:00:00.000000Z")
        self.assertEqual(fmt(-500_000), "1969-12-31T23:59:59.500000Z")
        self.assertEqual(fmt(-1), "1969-12-31T23:59:59.999999Z")
        self.assertEqual(fmt(-62162035200 * 10**6), "0000-03-01T00:00:00.000000Z")
        # Year 0 is a leap year: 366 days before 0000-03-01 is -0001-03-01.
        self.assertEqual(fmt(-62162035200 * 10**6 - _DAY_US * 366), "-0001-03-01T00:00:00.000000Z")
        self.assertEqual(fmt(253402300800 * 10**6), "10000-01-01T00:00:00.000000Z")
        # Against the standard library, over years 1-9999 in irregular steps.
        step = 7_777_777_777_777_777
        for micros in range(-62135596800 * 10**6, 253402300799 * 10**6, step):
            with self.subTest(micros=micros):
                self.assertEqual(fmt(micros), _rfc3339(micros))
                self.assertEqual(kt_microtime.parse_rfc3339(fmt(micros)), micros)

    def test_build_filter(self) -> None:
        now = _micros("2026-11-27T10:00:00Z")
        build = kt_filters.build_filter
        self.assertEqual(build({}, now), {})
        self.assertEqual(build({"since": "2h", "user": "alice", "code": [403, "5xx"],
                                "namespace": "", "verb": ("get", "list"),
                                "user_agent": "kubectl,v1", "name": None}, now),
                         {"from_us": now - 2 * _HOUR_US, "users": ["alice"],
                          "codes": ["403", "5xx"], "namespaces": [""],
                          "verbs": ["get", "list"], "user_agent_substring": "kubectl,v1"})
        self.assertEqual(build({"from_": "now-2h", "to": "now"}, now),
                         {"from_us": now - 2 * _HOUR_US, "to_us": now})
        for filters, pattern in (({"since": "2h", "from_": "now-1h"}, "^since: "),
                                 ({"from_": "now", "to": "now-1h"}, "^to "),
                                 ({"from_": "now", "to": "now"}, "^to "),
                                 ({"user": []}, "^user: empty"),
                                 ({"verb": set()}, "^verb: empty")):
            with self.subTest(filters=filters), self.assertRaisesRegex(ValueError, pattern):
                build(filters, now)
        for filters in ({"users": "alice"}, {"user": b"alice"}, {"user": [1]},
                        {"verb": True}, {"user_agent": ["a"]}, {"cluster": {"a": 1}}):
            with self.subTest(filters=filters), self.assertRaises(TypeError):
                build(filters, now)

    def test_error_pickles_and_reads_like_the_cli(self) -> None:
        error = kubetrail.errors.make_error("127.0.0.1:7443", "NOT_FOUND", "no\nsuch id")
        self.assertIsInstance(error, kubetrail.NotFound)
        self.assertEqual(str(error), "127.0.0.1:7443: NOT_FOUND: no such id")
        copy = pickle.loads(pickle.dumps(error))
        self.assertEqual((type(copy), copy.server, copy.code, copy.message),
                         (kubetrail.NotFound, error.server, error.code, error.message))

    def test_client_options(self) -> None:
        with self.assertRaisesRegex(ValueError, "dev"):
            kubetrail.Client("127.0.0.1:1", dev=True, ca="ca.pem")
        with self.assertRaisesRegex(ValueError, "cert and key"):
            kubetrail.Client("127.0.0.1:1", cert="c.pem")
        with self.assertRaisesRegex(ValueError, "token"):
            kubetrail.Client("127.0.0.1:1", dev=True, token="a b")
        with self.assertRaisesRegex(ValueError, "timeout"):
            kubetrail.Client("127.0.0.1:1", dev=True, timeout=0)
        with self.assertRaisesRegex(ValueError, "server"):
            kubetrail.Client("", dev=True)
        with self.assertRaises(OSError):
            kubetrail.Client("127.0.0.1:1", ca=os.path.join(tempfile.gettempdir(),
                                                            "kubetrail-no-such-ca.pem"))


class ClientTest(unittest.TestCase):
    """Every call against the shared aggregator, checked against the loaded files."""

    client: "kubetrail.Client"

    @classmethod
    def setUpClass(cls) -> None:
        assert _Fixture.aggregator is not None
        cls.client = kubetrail.Client(_Fixture.aggregator.address, dev=True, timeout=30)
        cls.addClassCleanup(cls.client.close)

    @property
    def records(self) -> List[Record]:
        return _Fixture.records

    def assertSameEvents(self, got: Sequence[Any], want: Sequence[Record]) -> None:
        """Equal as multisets of dicts, key order included (not necessarily in order)."""
        self.assertEqual(len(got), len(want))
        got_texts, want_texts = _dumps(got), _dumps(r.event for r in want)
        if got_texts != want_texts:
            extra = sorted(set(got_texts) - set(want_texts))[:2]
            missing = sorted(set(want_texts) - set(got_texts))[:2]
            self.fail(f"events differ; unexpected: {extra}; missing: {missing}")

    def assertTimeOrdered(self, events: Sequence[Dict[str, Any]], reverse: bool = False) -> None:
        times = [_micros(e.get("requestReceivedTimestamp") or e["stageTimestamp"])
                 for e in events]
        self.assertEqual(times, sorted(times, reverse=reverse))

    def test_search_returns_every_event_exactly_in_time_order(self) -> None:
        got = list(self.client.search(page_size=700))  # several pages through the cursor
        self.assertSameEvents(got, self.records)
        self.assertTimeOrdered(got)
        # The edge events, one by one, and what their dicts must look like whatever
        # `kubetrail convert` says: key order, nulls, empty lists, sorted maps, MicroTime.
        for r in self.records:
            if r.cluster == "edge":
                self.assertEqual(_dump(self.client.get(r.event["auditID"])), _dump([r.event]))
        edge1 = self.client.get("edge-1")[0]
        self.assertEqual(list(edge1), [
            "kind", "apiVersion", "level", "auditID", "stage", "verb", "user", "sourceIPs",
            "objectRef", "responseStatus", "requestObject", "requestReceivedTimestamp",
            "stageTimestamp", "annotations", "zzz"])
        self.assertEqual(edge1["user"], {"username": "a<b>&c", "groups": None,
                                         "extra": {"a": ["x", "\u2028y"], "z": None}, "zz": 1})
        self.assertEqual(list(edge1["user"]["extra"]), ["a", "z"])
        self.assertEqual(list(edge1["responseStatus"]), ["metadata", "details", "code"])
        self.assertEqual(edge1["objectRef"], {"resource": "pods", "namespace": None,
                                              "q": [1, 2.5, 100000.0]})
        self.assertEqual((edge1["verb"], edge1["sourceIPs"], edge1["requestObject"]),
                         (None, [], None))
        self.assertEqual(edge1["requestReceivedTimestamp"], "1969-12-31T23:59:59.500000Z")
        self.assertEqual(edge1["stageTimestamp"], "2026-11-27T08:00:00.123456Z")
        self.assertEqual(list(edge1["annotations"].items()), [("a", "é😀"), ("b", "1")])
        edge2 = self.client.get("edge-2")[0]
        self.assertEqual(edge2["apiVersion"], "audit.k8s.io/v1")
        self.assertEqual(list(edge2)[-2:], ["metadata", "timestamp"])
        self.assertEqual(edge2["authenticationMetadata"],
                         {"impersonationConstraint": "x", "other": True})
        self.assertEqual((edge2["annotations"], edge2["user"]["groups"]), ({}, []))

    def test_audit_id_filter_with_an_id_not_stored(self) -> None:
        # A filter alternative that matches nothing narrows nothing: the other ids' events
        # come back, and count is theirs (this once failed the whole call with NOT_FOUND).
        audit_id = self.records[0].event["auditID"]
        want = expected(self.records, audit_id=[audit_id])
        self.assertEqual(self.client.count(audit_id=[audit_id, "no-such-id"]), len(want))
        self.assertSameEvents(list(self.client.search(audit_id=[audit_id, "no-such-id"])), want)

    def test_search_descending_with_limit(self) -> None:
        got = list(self.client.search(order="desc", limit=250, page_size=100))
        self.assertEqual(len(got), 250)
        self.assertTimeOrdered(got, reverse=True)
        newest = sorted((r.time_us for r in self.records), reverse=True)[:250]
        self.assertEqual(sorted((_micros(e.get("requestReceivedTimestamp")
                                         or e["stageTimestamp"]) for e in got), reverse=True),
                         newest)
        all_texts = {_dump(r.event) for r in self.records}
        self.assertTrue(all(_dump(e) in all_texts for e in got))
        self.assertEqual(len(list(self.client.search(cluster="c1", limit=1))), 1)

    def test_search_page_and_envelope(self) -> None:
        page = self.client.search_page(cluster="c2", limit=40, envelope=True)
        self.assertEqual(len(page.events), 40)
        self.assertTrue(page.more)
        self.assertTrue(page.cursor)
        second = self.client.search_page(cluster="c2", limit=40, cursor=page.cursor,
                                         envelope=True)
        both = page.events + second.events
        self.assertEqual(both, list(self.client.search(cluster="c2", limit=80, envelope=True)))
        c2 = {_dump(r.event) for r in self.records if r.cluster == "c2"}
        sequences = set()
        for e in both:
            self.assertEqual(list(e), ["cluster", "source", "event", "receive_time", "sequence"])
            self.assertEqual((e["cluster"], e["source"]), ("c2", "loadgen"))
            self.assertIn(_dump(e["event"]), c2)
            self.assertRegex(e["receive_time"],
                             r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")
            self.assertGreaterEqual(_micros(e["receive_time"]), _Fixture.now_us)
            self.assertLessEqual(_micros(e["receive_time"]), time.time_ns() // 1000)
            self.assertIsInstance(e["sequence"], int)
            sequences.add(e["sequence"])
        self.assertEqual(len(sequences), 80)

    def test_filters_select_what_python_selects(self) -> None:
        c1 = [r for r in self.records if r.cluster == "c1"]
        top_user = _top((r.get("user", "username") for r in c1), 1)[0][0]
        some_ip = c1[7].get("sourceIPs")[0]
        some_name = next(r.get("objectRef", "name") for r in c1 if r.get("objectRef", "name"))
        ids = [c1[3].event["auditID"], c1[1234].event["auditID"]]
        t0, t1 = c1[1000].time_us, c1[1000].time_us + 700_000
        now = time.time_ns() // 1000
        cases: List[Tuple[Dict[str, Any], Dict[str, Any]]] = [
            ({"cluster": "c1"}, {"cluster": ["c1"]}),
            ({"cluster": ["c2", "edge"]}, {"cluster": ["c2", "edge"]}),
            ({"user": top_user}, {"user": [top_user]}),
            ({"user": "system:serviceaccount:kube-system:*"},
             {"user": ["system:serviceaccount:kube-system:*"]}),
            ({"impersonated_user": "*"}, {"impersonated_user": ["*"]}),
            ({"group": "system:masters"}, {"group": ["system:masters"]}),
            ({"verb": ["get", "list"], "cluster": "c2"},
             {"verb": ["get", "list"], "cluster": ["c2"]}),
            ({"namespace": "kube-system"}, {"namespace": ["kube-system"]}),
            ({"namespace": "", "cluster": "c1"}, {"namespace": [""], "cluster": ["c1"]}),
            ({"resource": "pods"}, {"resource": ["pods"]}),
            ({"resource": ["pods/*", "*/status"]}, {"resource": ["pods/*", "*/status"]}),
            ({"resource": "leases.coordination.k8s.io"},
             {"resource": ["leases.coordination.k8s.io"]}),
            ({"api_group": ""}, {"api_group": [""]}),
            ({"name": some_name}, {"name": [some_name]}),
            ({"code": "4xx"}, {"code": ["4xx"]}),
            ({"code": 403}, {"code": ["403"]}),
            ({"code": ["401", "5xx"], "cluster": "c2"}, {"code": ["401", "5xx"],
                                                         "cluster": ["c2"]}),
            ({"stage": "RequestReceived"}, {"stage": ["RequestReceived"]}),
            ({"level": "Metadata"}, {"level": ["Metadata"]}),
            ({"audit_id": ids}, {"audit_id": ids}),
            ({"source_ip": some_ip}, {"source_ip": [some_ip]}),
            ({"user_agent": "kubelet/"}, {"user_agent": "kubelet/"}),
            ({"since": "2h"}, {"from_us": now - 2 * _HOUR_US}),
            ({"since": dt.timedelta(days=11)}, {"from_us": now - 11 * _DAY_US}),
            ({"from_": "now-11d", "to": "now-9d"},
             {"from_us": now - 11 * _DAY_US, "to_us": now - 9 * _DAY_US}),
            ({"from_": _rfc3339(t0), "to": _EPOCH + dt.timedelta(microseconds=t1),
              "cluster": "c1"}, {"from_us": t0, "to_us": t1, "cluster": ["c1"]}),
            ({"to": "1970-01-01"}, {"to_us": 0}),
            ({"cluster": "c2", "verb": "get", "code": "2xx", "user": "system:*",
              "stage": "ResponseComplete"},
             {"cluster": ["c2"], "verb": ["get"], "code": ["2xx"], "user": ["system:*"],
              "stage": ["ResponseComplete"]}),
        ]
        for kwargs, python in cases:
            with self.subTest(filters=kwargs):
                want = expected(self.records, **python)
                self.assertGreater(len(want), 0, "a case that selects nothing proves little")
                self.assertLess(len(want), len(self.records), "nor one that selects all")
                self.assertEqual(self.client.count(**kwargs), len(want))
                if len(want) <= 1500:
                    got = list(self.client.search(**kwargs))
                    self.assertSameEvents(got, want)
                else:
                    # Big selections: the first 500, each one expected (search() of everything
                    # is checked whole elsewhere); keeps the test quick.
                    got = list(self.client.search(limit=500, **kwargs))
                    self.assertEqual(len(got), 500)
                    want_texts = {_dump(r.event) for r in want}
                    self.assertTrue(all(_dump(e) in want_texts for e in got))
                self.assertTimeOrdered(got)

    def test_get(self) -> None:
        by_id = collections.defaultdict(list)
        for r in self.records:
            by_id[r.event["auditID"]].append(r)
        audit_id, stages = next((k, v) for k, v in by_id.items() if len(v) == 3)
        got = self.client.get(audit_id)
        self.assertSameEvents(got, stages)
        self.assertTimeOrdered(got)
        enveloped = self.client.get(audit_id, envelope=True)
        self.assertEqual([e["event"] for e in enveloped], got)
        self.assertEqual({e["cluster"] for e in enveloped}, {stages[0].cluster})
        with self.assertRaises(kubetrail.NotFound) as raised:
            self.client.get("no-such-audit-id")
        self.assertEqual(raised.exception.code, "NOT_FOUND")
        self.assertTrue(str(raised.exception).startswith(_Fixture.aggregator.address + ": "))
        with self.assertRaisesRegex(ValueError, "audit_id"):
            self.client.get("")

    def test_count_and_top(self) -> None:
        self.assertEqual(self.client.count(), len(self.records))
        self.assertEqual(self.client.count(cluster="c1"), 3000)
        self.assertEqual(self.client.count(cluster="nope"), 0)
        c1 = [r for r in self.records if r.cluster == "c1"]
        c2 = [r for r in self.records if r.cluster == "c2"]
        self.assertEqual(self.client.top("user", limit=5, cluster="c1"),
                         _top((r.get("user", "username") for r in c1), 5))
        self.assertEqual(self.client.top("verb", limit=10000),
                         _top((r.get("verb") for r in self.records), 10000))
        self.assertEqual(self.client.top("code", limit=10000, cluster="c2"),
                         _top((str(r.event.get("responseStatus", {}).get("code", ""))
                               for r in c2), 10000))
        self.assertEqual(self.client.top("resource", limit=20, cluster="c2"),
                         _top((_resource_key(r) for r in c2), 20))
        self.assertEqual(self.client.top("namespace", limit=3, code="2xx"),
                         _top((r.get("objectRef", "namespace")
                               for r in expected(self.records, code=["2xx"])), 3))
        self.assertEqual(dict(self.client.top("cluster")),
                         dict(collections.Counter(r.cluster for r in self.records)))
        self.assertEqual(self.client.top("user", cluster="nope"), [])
        with self.assertRaisesRegex(ValueError, "^dimension: "):
            self.client.top("colour")
        with self.assertRaisesRegex(ValueError, "^limit: "):
            self.client.top("user", limit=0)

    def assertHistogram(self, got: Sequence[Any], records: Sequence[Record], width: int,
                        split: Optional[Callable[[Record], str]]) -> None:
        buckets: Dict[int, List[Record]] = collections.defaultdict(list)
        for r in records:
            buckets[r.time_us - r.time_us % width].append(r)
        self.assertEqual([((b.start - _EPOCH) // dt.timedelta(microseconds=1), b.count)
                          for b in got], sorted((k, len(v)) for k, v in buckets.items()))
        for bucket in got:
            self.assertEqual(bucket.start.tzinfo, dt.timezone.utc)
            start = (bucket.start - _EPOCH) // dt.timedelta(microseconds=1)
            if split is None:
                self.assertEqual(bucket.split, [])
                continue
            self.assertEqual(dict(bucket.split),
                             dict(collections.Counter(split(r) for r in buckets[start])))
            counts = [c for _, c in bucket.split]
            self.assertEqual(counts, sorted(counts, reverse=True))

    def test_histogram(self) -> None:
        now = time.time_ns() // 1000
        window = expected(self.records, from_us=now - 11 * _DAY_US)
        self.assertHistogram(self.client.histogram(by="hour", split="cluster", since="11d"),
                             window, _HOUR_US, lambda r: r.cluster)
        self.assertHistogram(self.client.histogram(by="day", since="11d"), window, _DAY_US,
                             None)
        c2 = expected(self.records, cluster=["c2"])
        self.assertHistogram(self.client.histogram(by="minute", split="verb", cluster="c2",
                                                   from_="now-1h", to="now"),
                             c2, 60 * 10**6, lambda r: r.get("verb"))
        self.assertEqual(self.client.histogram(since="1h", cluster="nope"), [])
        with self.assertRaisesRegex(ValueError, "time range"):
            self.client.histogram(cluster="c1")
        with self.assertRaisesRegex(ValueError, "^by: "):
            self.client.histogram(by="week", since="1d")
        with self.assertRaises(kubetrail.InvalidArgument):
            self.client.histogram(by="minute", from_="1970-01-01")  # too many buckets

    def test_stats(self) -> None:
        stats = self.client.stats()
        self.assertEqual(stats["events"], len(self.records))
        self.assertEqual(stats["events_per_cluster"],
                         dict(collections.Counter(r.cluster for r in self.records)))
        self.assertGreaterEqual(stats["last_sequence"], stats["events"])
        self.assertGreater(stats["disk_bytes"], 0)
        self.assertTrue(stats["disk_bytes_by_part"])

    def test_zz_follow(self) -> None:
        # Named to run last: it loads cluster c3, which the other cases do not expect.
        c3_path = os.path.join(_Fixture.tmp, "c3.jsonl")
        _run([os.path.join(_Fixture.bin_dir, "kubetrail-loadgen"), "-n", "300", "-s", "3",
              "--start", _rfc3339(time.time_ns() // 1000 - 60 * 10**6)[:19] + "Z",
              "-o", c3_path])
        with open(c3_path, encoding="utf-8") as lines:
            c3 = [Record("c3", line) for line in lines if line.strip()]
        page = self.client.search_page(cluster="c3")
        self.assertEqual(page.events, [])
        self.assertFalse(page.more)
        last_sequence = self.client.stats()["last_sequence"]
        # Both start points are fixed now, so the order of what follows cannot race.
        with self.client.follow(cluster="c3", after_sequence=last_sequence, envelope=True,
                                duration=60) as live, \
                self.client.follow(cluster="c3", cursor=page.cursor, duration=60) as continued:
            sender = subprocess.Popen(
                [os.path.join(_Fixture.bin_dir, "kubetrail-loadgen"), "--send",
                 f"grpc://{_Fixture.aggregator.address}", "--cluster", "c3", "--batch", "50",
                 "--timeout", "60", c3_path],
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            self.addCleanup(lambda: sender.poll() is None and sender.kill())
            got_live = self._take(live, len(c3))
            got_continued = self._take(continued, len(c3))
            output, _ = sender.communicate(timeout=60)
            self.assertEqual(sender.returncode, 0, output)
            self.assertEqual(live.last_sequence, got_live[-1]["sequence"])
        _Fixture.records = self.records + c3
        self.assertSameEvents([e["event"] for e in got_live], c3)
        self.assertEqual({e["cluster"] for e in got_live}, {"c3"})
        sequences = [e["sequence"] for e in got_live]
        self.assertEqual(sequences, sorted(set(sequences)))  # ingest order, no repeat
        self.assertGreater(sequences[0], last_sequence)
        self.assertEqual(got_continued, [e["event"] for e in got_live])
        # Resuming after the 150th event gives the rest, in the same order.
        with self.client.follow(cluster="c3", after_sequence=sequences[149], envelope=True,
                                duration=60) as resumed:
            self.assertEqual(self._take(resumed, 150), got_live[150:])
        # A follow closed before its first next() cancels its call; one closed while another
        # thread waits in next() ends that iteration.
        self.client.follow(cluster="nope").close()
        waiting = self.client.follow(cluster="nope")
        threading.Timer(0.5, waiting.close).start()
        started = time.monotonic()
        self.assertEqual(list(waiting), [])
        self.assertLess(time.monotonic() - started, 10)
        # A bounded follow with nothing to say ends quietly when its duration is over.
        started = time.monotonic()
        self.assertEqual(list(self.client.follow(cluster="nope", duration=1.0)), [])
        self.assertLess(time.monotonic() - started, 10)
        with self.assertRaisesRegex(ValueError, "after_sequence and cursor"):
            self.client.follow(after_sequence=1, cursor=page.cursor)
        with self.assertRaises(kubetrail.InvalidArgument):
            next(self.client.follow(code="4x", duration=10))

    def _take(self, events: Iterator[Dict[str, Any]], n: int) -> List[Dict[str, Any]]:
        """The next n events of a follow (which ends by its duration if fewer come)."""
        got = []
        for event in events:
            got.append(event)
            if len(got) == n:
                break
        self.assertEqual(len(got), n, "the follow ended early")
        return got

    def test_server_refusals(self) -> None:
        for kwargs in ({"code": "4x"}, {"code": "600x"}, {"resource": "pods/a/b"},
                       {"verb": ""}):
            with self.subTest(filters=kwargs):
                with self.assertRaises(kubetrail.InvalidArgument) as raised:
                    self.client.count(**kwargs)
                self.assertEqual(raised.exception.code, "INVALID_ARGUMENT")
                self.assertIn(_Fixture.aggregator.address, str(raised.exception))
                with self.assertRaises(kubetrail.InvalidArgument):
                    list(self.client.search(**kwargs))
        self.assertIn("codes", str(self._raised(lambda: self.client.count(code="4x"))))

    def _raised(self, call: Callable[[], Any]) -> BaseException:
        with self.assertRaises(kubetrail.Error) as raised:
            call()
        return raised.exception

    def test_client_refusals(self) -> None:
        # Raised by the call itself (not at the first next()), naming the parameter.
        for kwargs, pattern in (({"since": "2x"}, "^since: "),
                                ({"since": "-2h"}, "^since: "),
                                ({"from_": "yesterday"}, "^from_: "),
                                ({"to": dt.datetime(2026, 1, 1)}, "^to: naive"),
                                ({"since": "1h", "to": "now"}, "^since: "),
                                ({"from_": "now", "to": "now-1h"}, "^to "),
                                ({"order": "up"}, "^order: "),
                                ({"page_size": 0}, "^page_size: "),
                                ({"page_size": 100_001}, "^page_size: "),
                                ({"limit": 0}, "^limit: "),
                                ({"user": []}, "^user: ")):
            with self.subTest(kwargs=kwargs), self.assertRaisesRegex(ValueError, pattern):
                self.client.search(**kwargs)
        with self.assertRaisesRegex(ValueError, "^since: "):
            self.client.count(since="soon")
        with self.assertRaisesRegex(TypeError, "unknown filter users"):
            self.client.count(users="alice")


class ErrorsTest(unittest.TestCase):
    """Failures that need no loaded aggregator."""

    def test_unreachable_server_fails_fast(self) -> None:
        with socket.socket() as s:  # a port nobody listens on (closed again at once)
            s.bind(("127.0.0.1", 0))
            address = f"127.0.0.1:{s.getsockname()[1]}"
        with kubetrail.Client(address, dev=True, timeout=3) as client:
            for call in (client.count, client.stats, client.retention, client.holds,
                         lambda: list(client.search()), lambda: client.get("x"),
                         lambda: next(client.follow())):
                started = time.monotonic()
                with self.assertRaises(kubetrail.Error) as raised:
                    call()
                self.assertLess(time.monotonic() - started, 5)
                self.assertIn(raised.exception.code, ("UNAVAILABLE", "DEADLINE_EXCEEDED"))
                self.assertTrue(str(raised.exception).startswith(address + ": "),
                                str(raised.exception))


class RetentionTest(unittest.TestCase):
    """Retention settings and legal holds, through an aggregator of their own whose retention
    runs every second (``--retention-interval 1s``; the first run comes about 10 s after its
    start, in setUpModule). Cluster r1 holds four days of events, r2 one old day; clusters
    named ``api*`` have no events."""

    client: "kubetrail.Client"
    # r1: "held" ten days ago (under a hold), "some_held" eight days ago (a hold covers one
    # user's events in one namespace), "old" six days ago (no hold), "new" an hour ago.
    r1: Dict[str, List[Record]]
    r2: List[Record]

    @classmethod
    def setUpClass(cls) -> None:
        aggregator = _Fixture.retention_aggregator
        assert aggregator is not None
        cls.client = kubetrail.Client(aggregator.address, dev=True, timeout=30)
        cls.addClassCleanup(cls.client.close)
        now = time.time_ns() // 1000
        loaded: Dict[str, List[Record]] = {}
        for name, cluster, seed, start_us in (("held", "r1", 11, now - 10 * _DAY_US),
                                              ("some_held", "r1", 12, now - 8 * _DAY_US),
                                              ("old", "r1", 13, now - 6 * _DAY_US),
                                              ("new", "r1", 14, now - _HOUR_US),
                                              ("r2", "r2", 15, now - 10 * _DAY_US)):
            path = os.path.join(_Fixture.tmp, f"retention-{name}.jsonl")
            _run([os.path.join(_Fixture.bin_dir, "kubetrail-loadgen"), "-n", "200", "-s",
                  str(seed), "--start", _rfc3339(start_us)[:19] + "Z", "-o", path])
            summary = _send(_Fixture.bin_dir, aggregator.address, cluster, path)
            with open(path, encoding="utf-8") as lines:
                loaded[name] = [Record(cluster, line) for line in lines if line.strip()]
            if summary["stored"] != len(loaded[name]):
                raise AssertionError(f"{name}: stored {summary}, expected {len(loaded[name])}")
        cls.r2 = loaded.pop("r2")
        cls.r1 = loaded

    def _raises(self, error: type, pattern: str, call: Callable[[], Any]) -> None:
        """`call` raises `error` (a kubetrail.Error subclass or ValueError / TypeError) whose
        message matches `pattern`; a kubetrail.Error also names the aggregator."""
        with self.assertRaisesRegex(error, pattern) as raised:
            call()
        if isinstance(raised.exception, kubetrail.Error):
            self.assertTrue(str(raised.exception).startswith(self.client.server + ": "))

    def _await_run(self, cluster: str, old: int) -> int:
        """The events of `cluster` once a retention run has changed their number from `old`
        (one run removes what it removes in one write, so the first change is the run's
        result), as stats() and count() say. Waits on stats(), whose per-cluster numbers the
        store updates after that write."""
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            events = self.client.stats()["events_per_cluster"].get(cluster, 0)
            if events != old:
                self.assertEqual(self.client.count(cluster=cluster), events)
                return events
            time.sleep(0.1)
        self.fail(f"no retention run changed the {old} events of {cluster} within 30 s")

    def _clear_retention(self) -> None:
        for cluster in self.client.retention():
            self.client.set_retention(cluster, None)

    def _release(self, hold_ids: Sequence[str]) -> None:
        """Releases those of `hold_ids` still placed."""
        placed = {h["id"] for h in self.client.holds()}
        for hold_id in hold_ids:
            if hold_id in placed:
                self.client.release_hold(hold_id)

    def assertStored(self, cluster: str, want: Sequence[Record]) -> None:
        got = list(self.client.search(cluster=cluster))
        self.assertEqual(_dumps(got), _dumps(r.event for r in want))

    def test_holds_round_trip_and_release(self) -> None:
        before = self.client.holds()
        utc = dt.timezone.utc
        started = dt.datetime.now(utc) - dt.timedelta(seconds=1)
        month_ago = (started - dt.timedelta(days=30)).date()
        # Times in any form search takes: an aware datetime in another zone, RFC 3339 with an
        # offset and a fraction, a date, "now".
        first = self.client.place_hold(
            "api", dt.datetime(2026, 3, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=1))),
            "2026-03-08T12:00:00.5+02:00", reason="case 4711: asked by legal, ünïcode",
            user="alice", namespace="prod")
        second = self.client.place_hold("api", month_ago, "now")
        ended = dt.datetime.now(utc) + dt.timedelta(seconds=1)
        self.addCleanup(self._release, [first["id"], second["id"]])
        self.assertEqual(first, {
            "id": first["id"], "cluster": "api", "from": dt.datetime(2026, 3, 1, tzinfo=utc),
            "to": dt.datetime(2026, 3, 8, 10, 0, 0, 500_000, tzinfo=utc), "user": "alice",
            "namespace": "prod", "reason": "case 4711: asked by legal, ünïcode",
            "created": first["created"]})
        self.assertEqual(list(first), ["id", "cluster", "from", "to", "user", "namespace",
                                       "reason", "created"])
        self.assertEqual((second["cluster"], second["from"], second["user"],
                          second["namespace"], second["reason"]),
                         ("api", dt.datetime.combine(month_ago, dt.time(), utc), None, None,
                          ""))
        self.assertLessEqual(started, second["to"])
        self.assertLessEqual(second["to"], ended)
        # Ids "hold-N", numbered in order; the creation time is the aggregator's now, in UTC.
        numbers = []
        for hold in (first, second):
            self.assertRegex(hold["id"], r"^hold-[0-9]+$")
            numbers.append(int(hold["id"][5:]))
            self.assertEqual(hold["created"].tzinfo, utc)
            self.assertTrue(started <= hold["created"] <= ended, hold["created"])
        self.assertLess(numbers[0], numbers[1])
        self.assertLessEqual(first["created"], second["created"])
        self.assertEqual(self.client.holds(), before + [first, second])

        # Released, a hold is gone from the list; releasing it again is NOT_FOUND.
        self.assertIsNone(self.client.release_hold(first["id"]))
        self.assertEqual(self.client.holds(), before + [second])
        with self.assertRaises(kubetrail.NotFound) as raised:
            self.client.release_hold(first["id"])
        self.assertEqual(raised.exception.code, "NOT_FOUND")
        self.assertIn(f'no legal hold "{first["id"]}"', raised.exception.message)
        self._raises(kubetrail.NotFound, "hold-999999", lambda: self.client.release_hold(
            "hold-999999"))
        self.client.release_hold(second["id"])
        self.assertEqual(self.client.holds(), before)
        # Numbers are never reused.
        third = self.client.place_hold("api", "2026-01-01", "2026-01-02")
        self.addCleanup(self.client.release_hold, third["id"])
        self.assertGreater(int(third["id"][5:]), numbers[1])

    def test_retention_settings_round_trip(self) -> None:
        self.assertEqual(self.client.retention(), {})
        self.addCleanup(self._clear_retention)
        day = dt.timedelta(days=1)
        # Far longer than any event here is old, so the runs meanwhile remove nothing.
        self.assertEqual(self.client.set_retention("api-b", "1d12h"),
                         {"api-b": dt.timedelta(hours=36)})
        self.assertEqual(self.client.set_retention("*", 400 * day),
                         {"*": 400 * day, "api-b": 1.5 * day})
        settings = self.client.set_retention("api-a", "2160h")
        self.assertEqual(list(settings.items()),  # sorted by cluster; "*" first
                         [("*", 400 * day), ("api-a", 90 * day), ("api-b", 1.5 * day)])
        self.assertEqual(list(self.client.retention().items()), list(settings.items()))
        self.assertEqual(self.client.set_retention("api-b", "400d")["api-b"], 400 * day)
        # Keep forever: None, 0, "0" or timedelta(0) clear a setting; clearing one that is
        # not set is fine.
        self.assertEqual(self.client.set_retention("api-a", None),
                         {"*": 400 * day, "api-b": 400 * day})
        self.assertEqual(self.client.set_retention("api-b", 0), {"*": 400 * day})
        self.assertEqual(self.client.set_retention("*", "0"), {})
        self.assertEqual(self.client.set_retention("api-never-set", dt.timedelta(0)), {})
        self.assertEqual(self.client.retention(), {})

    def test_bad_input(self) -> None:
        holds, retention = self.client.holds(), self.client.retention()
        place = self.client.place_hold
        # What the client checks, before any call: ValueError / TypeError naming the parameter.
        for call, pattern in (
                (lambda: place("api", "2026-03-08", "2026-03-01"), "^to .* must be after from_"),
                (lambda: place("api", "2026-03-01", "2026-03-01"), "^to .* must be after from_"),
                (lambda: place("api", "now", "now-1h"), "^to .* must be after from_"),
                (lambda: place("api", dt.datetime(2026, 3, 1), "now"), "^from_: naive"),
                (lambda: place("api", "2026-03-01", "soon"), "^to: "),
                (lambda: place("api", "0000-06-01T00:00:00Z", "now"), "^from_: .*0001-9999"),
                (lambda: place("api", "now-1d", "now", user=""), "^user: empty"),
                (lambda: place("api", "now-1d", "now", namespace=""), "^namespace: empty"),
                (lambda: self.client.set_retention("api", "2x"), "^keep: "),
                (lambda: self.client.set_retention("api", "-1d"), "^keep: "),
                (lambda: self.client.set_retention("api", "500ns"), "^keep: .*microsecond"),
                (lambda: self.client.set_retention("api", -dt.timedelta(days=1)), "^keep: ")):
            with self.subTest(pattern=pattern):
                self._raises(ValueError, pattern, call)
        for call, pattern in (
                (lambda: self.client.set_retention("api", 3600), "^keep: "),
                (lambda: self.client.set_retention(None, "1d"), "^cluster: "),
                (lambda: place("api", "now-1d", "now", reason=None), "^reason: "),
                (lambda: place("api", 0, "now"), "^from_: "),
                (lambda: self.client.release_hold(3), "^hold_id: ")):
            with self.subTest(pattern=pattern):
                self._raises(TypeError, pattern, call)
        # What the server checks: InvalidArgument with its message.
        for call, pattern in ((lambda: place("", "now-1d", "now"), "legal hold: empty cluster"),
                              (lambda: self.client.set_retention("", "1d"),
                               "retention: empty cluster"),
                              (lambda: self.client.release_hold(""), "legal hold: empty id")):
            with self.subTest(pattern=pattern):
                self._raises(kubetrail.InvalidArgument, "INVALID_ARGUMENT: " + pattern, call)
        self.assertEqual((self.client.holds(), self.client.retention()), (holds, retention))

    def test_retention_removes_old_events_unless_held(self) -> None:
        r1 = self.r1
        all_r1 = [r for records in r1.values() for r in records]
        self.assertEqual(self.client.count(cluster="r1"), len(all_r1))
        self.addCleanup(self._clear_retention)
        held_ids: List[str] = []
        self.addCleanup(self._release, held_ids)
        # Holds first: retention must not run on these days before they are held.
        times = sorted(r.time_us for r in r1["held"])
        everything = self.client.place_hold(
            "r1", _rfc3339(times[0]), _EPOCH + dt.timedelta(microseconds=times[-1] + 1),
            reason="everything of ten days ago")
        held_ids.append(everything["id"])
        some = r1["some_held"]
        user, namespace = _top(((r.get("user", "username"), r.get("objectRef", "namespace"))
                                for r in some if r.get("objectRef", "namespace")), 1)[0][0]
        times = sorted(r.time_us for r in some)
        one_user = self.client.place_hold(
            "r1", _rfc3339(times[0]), _rfc3339(times[-1] + 1), user=user, namespace=namespace,
            reason="one user in one namespace")
        held_ids.append(one_user["id"])
        some_kept = [r for r in some if (r.get("user", "username"),
                                         r.get("objectRef", "namespace")) == (user, namespace)]
        self.assertLess(0, len(some_kept))
        self.assertLess(len(some_kept), len(some))
        # Three days for every cluster; r2 keeps its own 30 days.
        self.client.set_retention("r2", "30d")
        self.client.set_retention("*", dt.timedelta(days=3))

        # The next run: ten days ago stays (held), eight days ago only the held user's events
        # in the held namespace, six days ago goes (a whole day), an hour ago stays; r2 stays.
        want = r1["held"] + some_kept + r1["new"]
        self.assertEqual(self._await_run("r1", len(all_r1)), len(want))
        self.assertStored("r1", want)
        self.assertEqual(self.client.count(cluster="r2"), len(self.r2))
        self.assertEqual(self.client.stats()["events_per_cluster"],
                         {"r1": len(want), "r2": len(self.r2)})

        # Released, a hold's events go at the next run; the other hold's stay.
        self.client.release_hold(everything["id"])
        self.assertEqual(self._await_run("r1", len(want)), len(some_kept) + len(r1["new"]))
        self.assertStored("r1", some_kept + r1["new"])
        self.client.release_hold(one_user["id"])
        self.assertEqual(self._await_run("r1", len(some_kept) + len(r1["new"])),
                         len(r1["new"]))
        self.assertStored("r1", r1["new"])
        self.assertEqual(self.client.count(cluster="r2"), len(self.r2))

        self.assertEqual(self.client.set_retention("*", None), {"r2": dt.timedelta(days=30)})
        self.assertEqual(self.client.set_retention("r2", None), {})


class TlsTest(unittest.TestCase):
    """The options for an aggregator outside --dev: TLS with a private CA and a server name
    that is not the address, bearer tokens, a client certificate (mutual TLS)."""

    dir: pathlib.Path
    ca: str
    server: str
    client_cert: str
    tokens: Dict[str, str]
    aggregator: Aggregator

    @classmethod
    def setUpClass(cls) -> None:
        if not shutil.which("openssl"):
            raise AssertionError("openssl not found on PATH (Debian package openssl): it "
                                 "makes the test's certificates")
        tmp = tempfile.TemporaryDirectory(prefix="kubetrail-python-tls-")
        cls.addClassCleanup(tmp.cleanup)
        cls.dir = pathlib.Path(tmp.name)
        cls.ca = cls._certificate("ca", "kubetrail-python-test-ca", None,
                                  ["basicConstraints=critical,CA:TRUE",
                                   "keyUsage=critical,keyCertSign"])
        cls.server = cls._certificate("server", "kubetrail.test", cls.ca,
                                      ["subjectAltName=DNS:kubetrail.test",
                                       "extendedKeyUsage=serverAuth"])
        cls.client_cert = cls._certificate("client", "python-client", cls.ca,
                                           ["extendedKeyUsage=clientAuth"])
        cls.tokens = {"reader": "reader-token-1", "operator": "operator-token-2"}
        config = cls.dir / "aggregator.yaml"
        config.write_text(json.dumps({  # JSON is YAML
            "tls": {"cert_file": f"{cls.server}.pem", "key_file": f"{cls.server}.key",
                    "client_ca_file": f"{cls.ca}.pem"},
            "query": {"identities": ["python-client"],
                      "tokens": [{"name": name, "admin": name == "operator",
                                  "sha256": hashlib.sha256(token.encode()).hexdigest()}
                                 for name, token in cls.tokens.items()]},
        }))
        cls.aggregator = Aggregator(os.environ["KUBETRAIL_BIN_DIR"], str(cls.dir / "data"),
                                    ("--config", str(config)))
        cls.addClassCleanup(cls.aggregator.stop)

    @classmethod
    def _certificate(cls, name: str, common_name: str, issuer: Optional[str],
                     extensions: Sequence[str]) -> str:
        """Makes NAME.key and NAME.pem (signed by `issuer`'s, else self-signed); returns the
        path without suffix."""
        base = str(cls.dir / name)
        ext = cls.dir / f"{name}.ext"
        ext.write_text("\n".join(extensions) + "\n")
        _run(["openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
              "-nodes", "-keyout", f"{base}.key", "-subj", f"/CN={common_name}",
              "-out", f"{base}.csr"])
        if issuer is None:
            signer = ["-signkey", f"{base}.key"]
        else:
            signer = ["-CA", f"{issuer}.pem", "-CAkey", f"{issuer}.key", "-CAcreateserial"]
        _run(["openssl", "x509", "-req", "-in", f"{base}.csr", *signer, "-days", "2",
              "-extfile", str(ext), "-out", f"{base}.pem"])
        return base

    def _client(self, **options: Any) -> "kubetrail.Client":
        client = kubetrail.Client(self.aggregator.address, ca=f"{self.ca}.pem",
                                  server_name="kubetrail.test", timeout=10, **options)
        self.addCleanup(client.close)
        return client

    def test_tokens_and_client_certificates(self) -> None:
        reader = self._client(token=self.tokens["reader"])
        self.assertEqual(reader.count(), 0)
        self.assertEqual(list(reader.search()), [])
        with self.assertRaises(kubetrail.PermissionDenied) as raised:
            reader.stats()  # Admin: the reader token is not an admin's
        self.assertEqual(raised.exception.code, "PERMISSION_DENIED")
        for call in (reader.retention, reader.holds, lambda: reader.set_retention("c", "1d"),
                     lambda: reader.place_hold("c", "now-1d", "now"),
                     lambda: reader.release_hold("hold-1")):
            with self.assertRaises(kubetrail.PermissionDenied):
                call()
        operator = self._client(token=self.tokens["operator"])
        self.assertEqual(operator.stats()["events"], 0)
        self.assertEqual((operator.retention(), operator.holds()), ({}, []))
        mutual = self._client(cert=f"{self.client_cert}.pem", key=f"{self.client_cert}.key")
        self.assertEqual(mutual.count(), 0)
        for client in (self._client(), self._client(token="not-a-token")):
            with self.assertRaises(kubetrail.Unauthenticated) as raised:
                client.count()
            self.assertEqual(raised.exception.code, "UNAUTHENTICATED")

    def test_token_from_the_environment(self) -> None:
        saved = os.environ.get("KUBETRAIL_TOKEN")
        self.addCleanup(lambda: os.environ.pop("KUBETRAIL_TOKEN") if saved is None
                        else os.environ.__setitem__("KUBETRAIL_TOKEN", saved))
        os.environ["KUBETRAIL_TOKEN"] = self.tokens["reader"]
        self.assertEqual(self._client().count(), 0)

    def test_the_server_certificate_is_checked(self) -> None:
        # Without the CA (gRPC's default roots) and with the wrong name, no handshake.
        for options in ({"server_name": "kubetrail.test"}, {"ca": f"{self.ca}.pem"}):
            with self.subTest(options=list(options)):
                with kubetrail.Client(self.aggregator.address, timeout=5,
                                      token=self.tokens["reader"], **options) as client:
                    with self.assertRaises(kubetrail.Unavailable):
                        client.count()
        with self.assertRaisesRegex(ValueError, "dev"):
            kubetrail.Client(self.aggregator.address, dev=True, ca=f"{self.ca}.pem")


class CorpusTest(unittest.TestCase):
    """The shared corpus of real audit events, through an aggregator of its own."""

    def test_corpus_comes_back_as_converted(self) -> None:
        corpus = pathlib.Path(os.environ.get("KUBETRAIL_CORPUS_DIR")
                              or _SOURCE_DIR.parent / "shared" / "corpus")
        files = sorted(corpus.glob("*.jsonl")) if corpus.is_dir() else []
        if not files:
            self.skipTest(f"no corpus: no *.jsonl in $KUBETRAIL_CORPUS_DIR or {corpus}")
        bin_dir = os.environ["KUBETRAIL_BIN_DIR"]
        with tempfile.TemporaryDirectory(prefix="kubetrail-python-corpus-") as tmp:
            converted = _run([os.path.join(bin_dir, "kubetrail"), "convert",
                              *map(str, files)])
            path = os.path.join(tmp, "corpus.jsonl")
            with open(path, "w", encoding="utf-8") as out:
                out.write(converted)
            aggregator = Aggregator(bin_dir, os.path.join(tmp, "data"))
            self.addCleanup(aggregator.stop)
            summary = _send(bin_dir, aggregator.address, "corpus", path)
            with kubetrail.Client(aggregator.address, dev=True) as client:
                got = [_dump(e) for e in client.search(cluster="corpus")]
                ids = {json.loads(line)["auditID"] for line in converted.splitlines()}
                got_by_get = sum(len(client.get(audit_id)) for audit_id in ids)
            aggregator.stop()
        want = {_dump(json.loads(line)) for line in converted.splitlines()}
        self.assertEqual(len(got), summary["stored"])
        self.assertEqual(len(set(got)), len(got), "an event came back twice")
        self.assertEqual(set(got), want)
        self.assertEqual(got_by_get, len(got))


if __name__ == "__main__":
    if not os.environ.get(_STAGE_VARIABLE):
        sys.exit(_run_packaging_stage())
    unittest.main(verbosity=2)
