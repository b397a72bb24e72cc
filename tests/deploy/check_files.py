#!/usr/bin/env python3
"""deploy_files: the scripts, systemd units and Dockerfiles under deploy/.

- Every shell script passes `bash -n`, and shellcheck when it is installed.
- The systemd units pass `systemd-analyze verify` (ExecStart pointed at the built binaries)
  and `systemd-analyze security --offline` below an exposure threshold, and agree with the
  config files beside them (config path, credentials, state directories, stop timeouts).
- Each Dockerfile builds in a Debian 12 stage with scripts/install-deps.sh and cmake, and its
  runtime stage installs exactly the Debian packages that hold the shared libraries the
  built binary links (`ldd` + `dpkg -S`, when both are there), and runs the image the
  manifests name with the config they mount.
- No file names a path of the machine it was written on.
"""

import os
import re
import shutil
import sys
import tempfile
import unittest

sys.dont_write_bytecode = True  # no __pycache__ beside the sources
import deploytest as dt  # noqa: E402
from deploytest import deploy_path, load_yaml, rel  # noqa: E402

UNITS = {"kubetrail-aggregator": "aggregator", "kubetrail-collector": "collector"}
# systemd-analyze security's exposure (x10) each unit must stay at or below.
EXPOSURE = {"kubetrail-aggregator": 20, "kubetrail-collector": 25}
# Packages a Debian 12 image always has.
BASE_PACKAGES = {"libc6", "libgcc-s1"}
# The runtimes of ASan and UBSan (GCC 12), linked by a -DKUBETRAIL_SANITIZE build.
SANITIZER_PACKAGES = {"libasan8", "libubsan1"}


def files_under(root, suffixes):
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
        for f in sorted(filenames):
            if f.endswith(suffixes):
                out.append(os.path.join(dirpath, f))
    return out


def read_unit(path):
    """The unit as {section: {key: [values]}} (keys may repeat)."""
    sections, current = {}, None
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            m = re.match(r"^\[(\w+)\]$", line)
            if m:
                current = sections.setdefault(m.group(1), {})
                continue
            key, _, value = line.partition("=")
            current.setdefault(key, []).append(value)
    return sections


def seconds(duration):
    m = re.fullmatch(r"(\d+)(s|m)?", duration)
    return int(m.group(1)) * (60 if m.group(2) == "m" else 1)


class ScriptsTest(unittest.TestCase):

    def scripts(self):
        out = files_under(dt.DEPLOY, (".sh",)) + files_under(dt.TESTS, (".sh",))
        self.assertIn(deploy_path("certs", "make-certs.sh"), out)
        return out

    def test_bash_syntax(self):
        for s in self.scripts():
            with self.subTest(script=rel(s)):
                r = dt.run(["bash", "-n", s])
                self.assertEqual(r.returncode, 0, r.stderr)
                with open(s, encoding="utf-8") as f:
                    self.assertEqual(f.readline().strip(), "#!/usr/bin/env bash")
                self.assertTrue(os.access(s, os.X_OK), "not executable")

    def test_shellcheck(self):
        shellcheck = shutil.which("shellcheck")
        if not shellcheck:
            self.skipTest("shellcheck is not installed")
        for s in self.scripts():
            with self.subTest(script=rel(s)):
                r = dt.run([shellcheck, "--severity=style", s])
                self.assertEqual(r.returncode, 0, r.stdout)

    def test_no_machine_paths(self):
        """Nothing under deploy/ or tests/deploy/ names a directory of this machine."""
        forbidden = re.compile("/" + "work/|/" + r"tmp\b|/" + "root/")
        for path in files_under(dt.DEPLOY, ("",)) + files_under(dt.TESTS, ("",)):
            with open(path, encoding="utf-8", errors="replace") as f:
                for n, line in enumerate(f, 1):
                    self.assertIsNone(forbidden.search(line), f"{rel(path)}:{n}: {line.strip()}")


class SystemdTest(unittest.TestCase):

    def test_units_agree_with_their_configs(self):
        for unit, daemon in UNITS.items():
            with self.subTest(unit=unit):
                u = read_unit(deploy_path("systemd", f"{unit}.service"))
                service = u["Service"]
                config_file = f"/etc/kubetrail/{daemon}.yaml"
                self.assertEqual(service["ExecStart"],
                                 [f"/usr/local/bin/kubetrail-{daemon} --config {config_file}"])
                config = load_yaml(deploy_path("systemd", f"{daemon}.yaml"))
                self.assertEqual(service["RestartPreventExitStatus"], ["2"],
                                 "exit 2 is a bad config: no restart loop")
                self.assertEqual(service["ConfigurationDirectory"], ["kubetrail"])
                self.assertGreater(seconds(service["TimeoutStopSec"][0]),
                                   seconds(config["drain_timeout"]))
                self.assertEqual(service["ExecReload"], ["/bin/kill -HUP $MAINPID"])
                self.assertEqual(service["NoNewPrivileges"], ["yes"])
                self.assertEqual(service["CapabilityBoundingSet"], [""])
                self.assertEqual(service["ProtectSystem"], ["strict"])
                state = "/var/lib/" + service["StateDirectory"][0]
                if daemon == "aggregator":
                    self.assertEqual(config["data_dir"], state)
                    self.assertEqual(service["DynamicUser"], ["yes"])
                    # Each TLS file is a credential of this unit, under the name the config uses.
                    creds = dict(c.split(":", 1) for c in service["LoadCredential"])
                    for key, path in config["tls"].items():
                        prefix = f"/run/credentials/{unit}.service/"
                        self.assertTrue(path.startswith(prefix), key)
                        name = path[len(prefix):]
                        self.assertEqual(creds.get(name), f"/etc/kubetrail/tls/{name}")
                else:
                    self.assertTrue(config["spool"]["dir"].startswith(state + "/"))
                    for key, path in config["tls"].items():
                        self.assertTrue(path.startswith("/etc/kubetrail/tls/"), key)

    def test_systemd_analyze(self):
        analyze = shutil.which("systemd-analyze")
        if not analyze:
            self.skipTest("systemd-analyze is not installed")
        bin_dir = os.path.dirname(dt.bin_path("kubetrail-aggregator"))
        tmp = tempfile.mkdtemp(prefix="kubetrail-units-")
        self.addCleanup(shutil.rmtree, tmp, True)
        units = []
        for unit in UNITS:
            with open(deploy_path("systemd", f"{unit}.service"), encoding="utf-8") as f:
                text = f.read().replace("/usr/local/bin/", bin_dir + "/")
            units.append(os.path.join(tmp, f"{unit}.service"))
            with open(units[-1], "w", encoding="utf-8") as f:
                f.write(text)
        r = dt.run([analyze, "verify", "--man=no"] + units)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual((r.stdout + r.stderr).strip(), "", "warnings")
        for unit in UNITS:
            with self.subTest(unit=unit):
                r = dt.run([analyze, "security", "--offline=true",
                            f"--threshold={EXPOSURE[unit]}", f"{unit}.service"],
                           cwd=deploy_path("systemd"))
                level = re.search(r"Overall exposure level for \S+: ([0-9.]+)", r.stdout)
                self.assertTrue(level, r.stdout + r.stderr)
                self.assertEqual(r.returncode, 0, f"exposure {level.group(1)} above "
                                 f"{EXPOSURE[unit] / 10}")


class DockerfileTest(unittest.TestCase):

    def stages(self, daemon):
        """[(from line, [instructions])] of deploy/docker/DAEMON.Dockerfile."""
        path = deploy_path("docker", f"{daemon}.Dockerfile")
        with open(path, encoding="utf-8") as f:
            text = re.sub(r"\\\n", " ", f.read())
        stages = []
        for line in text.splitlines():
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            if line.startswith("FROM "):
                stages.append((line, []))
            else:
                stages[-1][1].append(line)
        return stages

    def runtime_packages(self, daemon):
        (_, runtime) = self.stages(daemon)[-1]
        for i in runtime:
            m = re.search(r"apt-get install -y --no-install-recommends (.*?) &&", i)
            if m:
                return set(m.group(1).split())
        self.fail("no apt-get install in the runtime stage")

    def test_dockerfiles_are_multi_stage_debian_12(self):
        for daemon in UNITS.values():
            with self.subTest(daemon=daemon):
                stages = self.stages(daemon)
                self.assertEqual(len(stages), 2)
                (build_from, build), (run_from, runtime) = stages
                self.assertEqual(build_from, "FROM debian:12 AS build")
                self.assertEqual(run_from, "FROM debian:12-slim")
                self.assertIn("RUN scripts/install-deps.sh && rm -rf /var/lib/apt/lists/*", build)
                build_text = "\n".join(build)
                self.assertIn(f"--target kubetrail-{daemon}", build_text)
                self.assertIn("-DKUBETRAIL_TESTS=OFF", build_text)
                binary = f"/usr/local/bin/kubetrail-{daemon}"
                self.assertIn(f"COPY --from=build /build/bin/kubetrail-{daemon} {binary}", runtime)
                self.assertIn(f'ENTRYPOINT ["{binary}"]', runtime)
                self.assertIn("USER 65532:65532", runtime)
                self.assertTrue(os.path.isfile(deploy_path("docker",
                                                           f"{daemon}.Dockerfile.dockerignore")))
                # The image reads the config where the manifests mount it.
                cmd = [i for i in runtime if i.startswith("CMD ")]
                self.assertEqual(cmd, [f'CMD ["--config", "/etc/kubetrail/config/{daemon}.yaml"]'])

    def test_manifests_run_these_images(self):
        for daemon, path in (("aggregator", "statefulset.yaml"), ("collector", "daemonset.yaml")):
            with open(deploy_path("docker", f"{daemon}.Dockerfile"), encoding="utf-8") as f:
                tag = re.search(r"-t (\S+) \.", f.read()).group(1)
            w = load_yaml(deploy_path("kubernetes", "base", daemon, path))
            images = {c["image"] for c in w["spec"]["template"]["spec"]["containers"]}
            self.assertEqual(images, {tag})
            self.assertEqual(tag, f"ghcr.io/kubetrail/kubetrail-{daemon}:0.1.0")

    def test_runtime_packages_are_what_the_binaries_link(self):
        if not (shutil.which("ldd") and shutil.which("dpkg-query")):
            self.skipTest("needs ldd and dpkg-query (a Debian machine)")
        libs = {}
        for daemon in UNITS.values():
            r = dt.run(["ldd", dt.bin_path(f"kubetrail-{daemon}")])
            self.assertEqual(r.returncode, 0, r.stderr)
            libs[daemon] = re.findall(r"=> (/\S+)", r.stdout)
            self.assertTrue(libs[daemon])
        # One dpkg-query for every path (it is slow to start): each library as linked and
        # as resolved, since packages own one of the two spellings (/lib vs /usr/lib).
        paths = sorted({p for ls in libs.values() for lib in ls
                        for p in (lib, os.path.realpath(lib))})
        r = dt.run(["dpkg-query", "-S"] + paths)
        owner = {}
        for line in r.stdout.splitlines():
            packages, _, path = line.partition(": ")
            owner[path] = packages.split(",")[0].split(":")[0].strip()
        for daemon, daemon_libs in libs.items():
            with self.subTest(daemon=daemon):
                packages = set()
                for lib in daemon_libs:
                    found = owner.get(lib) or owner.get(os.path.realpath(lib))
                    self.assertIsNotNone(found, f"{lib}: in no Debian package")
                    packages.add(found)
                if packages & SANITIZER_PACKAGES:
                    # A sanitizer build (make test-sanitize) links the sanitizer runtimes and
                    # not jemalloc: it is not what the images ship (a Release build).
                    self.skipTest("a sanitizer build links other libraries than the images")
                else:
                    self.assertEqual(self.runtime_packages(daemon), packages - BASE_PACKAGES)


if __name__ == "__main__":
    dt.main()
