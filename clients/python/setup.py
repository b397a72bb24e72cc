"""Build hook of the kubetrail Python client: generates the gRPC stubs while building.

Everything else is declared in pyproject.toml. build_py runs protoc on the repository's
protos (``kubetrail/v1/{event,query,admin}.proto``, imported as ``kubetrail/v1/...``) with
``--python_out``, ``--pyi_out`` and Debian's ``grpc_python_plugin`` (package
protobuf-compiler-grpc), writing ``kubetrail/v1/*_pb2.py``, ``*_pb2.pyi`` and
``*_pb2_grpc.py`` into the build directory (for an editable install: into the source tree,
where .gitignore keeps them out of git). Generated files are never committed, so the stubs
always match the protos of the checkout being built.

Where the tools come from (environment variables override):
  KUBETRAIL_PROTO_DIR   the directory holding kubetrail/v1/*.proto (default: ../../proto
                        beside this file, i.e. the repository's proto/)
  PROTOC                protoc (default: protoc on PATH)
  GRPC_PYTHON_PLUGIN    the gRPC Python plugin (default: grpc_python_plugin on PATH)
"""

import os
import pathlib
import shutil
import subprocess
import sys
from typing import List

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = pathlib.Path(__file__).resolve().parent
PROTOS = ("kubetrail/v1/event.proto", "kubetrail/v1/query.proto", "kubetrail/v1/admin.proto")


class StubError(Exception):
    """The stubs cannot be generated; the message says what to install or set."""


def _proto_dir() -> pathlib.Path:
    proto_dir = pathlib.Path(os.environ.get("KUBETRAIL_PROTO_DIR") or HERE.parent.parent / "proto")
    missing = [p for p in PROTOS if not (proto_dir / p).is_file()]
    if missing:
        raise StubError(f"kubetrail: cannot find {', '.join(missing)} under {proto_dir}; "
                        "build from a kubetrail checkout (clients/python) or set "
                        "KUBETRAIL_PROTO_DIR to the repository's proto/ directory")
    return proto_dir


def _tool(variable: str, name: str, package: str) -> str:
    path = os.environ.get(variable) or shutil.which(name)
    if not path:
        raise StubError(f"kubetrail: {name} not found on PATH: install {package} "
                        f"(scripts/install-deps.sh) or set {variable}")
    return path


def generate_stubs(out_dir: pathlib.Path) -> List[pathlib.Path]:
    """Writes the generated modules of PROTOS under out_dir/kubetrail/v1; returns them."""
    proto_dir = _proto_dir()
    protoc = _tool("PROTOC", "protoc", "protobuf-compiler")
    plugin = _tool("GRPC_PYTHON_PLUGIN", "grpc_python_plugin", "protobuf-compiler-grpc")
    target = out_dir / "kubetrail" / "v1"
    target.mkdir(parents=True, exist_ok=True)
    command = [protoc, f"-I{proto_dir}", f"--python_out={out_dir}", f"--pyi_out={out_dir}",
               f"--plugin=protoc-gen-grpc_python={plugin}", f"--grpc_python_out={out_dir}",
               *PROTOS]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise StubError(f"kubetrail: protoc failed (exit {result.returncode}): "
                        f"{' '.join(command)}\n{result.stderr}")
    outputs = [target / f"{pathlib.Path(p).stem}{suffix}" for p in PROTOS
               for suffix in ("_pb2.py", "_pb2.pyi", "_pb2_grpc.py")]
    absent = [str(p) for p in outputs if not p.is_file()]
    if absent:
        raise StubError(f"kubetrail: protoc did not write {', '.join(absent)}")
    return outputs


class BuildPyWithStubs(build_py):
    """build_py that also generates kubetrail.v1's stubs next to the copied sources."""

    def run(self) -> None:
        super().run()
        editable = getattr(self, "editable_mode", False)
        out_dir = HERE if editable else pathlib.Path(self.build_lib)
        try:
            outputs = generate_stubs(out_dir)
        except StubError as e:
            sys.exit(str(e))
        self.announce(f"generated {len(outputs)} stub modules in {out_dir}", level=2)

    def get_outputs(self, include_bytecode: bool = True) -> List[str]:
        outputs = list(super().get_outputs(include_bytecode))
        if not getattr(self, "editable_mode", False):
            target = pathlib.Path(self.build_lib) / "kubetrail" / "v1"
            outputs += [str(target / f"{pathlib.Path(p).stem}{suffix}") for p in PROTOS
                        for suffix in ("_pb2.py", "_pb2.pyi", "_pb2_grpc.py")]
        return outputs


setup(cmdclass={"build_py": BuildPyWithStubs})
