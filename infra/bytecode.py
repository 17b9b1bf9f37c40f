"""Bytecode in every zip `make package` builds: Lambda would otherwise compile each module on every cold start.

    python -m infra.bytecode out/        # `make package` runs it last

Lambda runs a function from a read-only file system: a module shipped as source alone is compiled
in every new container and the result thrown away (botocore, boto3, PynamoDB and chalicelib:
more than half of a cold start). Every zip the template names gets, beside each `.py`, its
`__pycache__/<module>.cpython-311.pyc`, compiled by this interpreter, which must be the functions'
runtime (refused otherwise: another Python's bytecode is ignored, or worse, half of it used).

Unchecked-hash bytecode (PEP 552): the `.pyc` holds a hash of its source, not its time, so the
same sources make the same bytes and the zips stay reproducible (fixed times and modes, sorted
entries); and Python loads it without reading the source, which a deployed zip never changes.
`make lint-infra` (infra/lint.py) refuses a zip whose bytecode is missing, for another Python or
not its source's.

The file names bytecode carries for tracebacks are where Lambda puts the files: /var/task for the
function's code, /opt for a layer.
"""

import _imp
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from infra.project import Refusal, run_command

# The magic number (first two bytes of every .pyc, little-endian) of each Lambda Python runtime's CPython.
RUNTIME_MAGIC = {"python3.11": 3495, "python3.12": 3531, "python3.13": 3571}
CODE_ROOT = "/var/task"  # where Lambda extracts a function's code zip
LAYER_ROOT = "/opt"  # and its layers
ZIP_TIME = (1980, 1, 1, 0, 0, 0)
MODE = "unchecked-hash"  # compileall's --invalidation-mode (part of the layers' digest: infra/function_layers.py)


def this_runtime() -> str:
    return f"python{sys.version_info.major}.{sys.version_info.minor}"


def cache_tag(runtime: str) -> str:
    """`python3.11` -> `cpython-311`, as in `__pycache__/app.cpython-311.pyc`."""
    major, minor = runtime.removeprefix("python").split(".")
    return f"cpython-{major}{minor}"


def magic(runtime: str) -> bytes:
    return RUNTIME_MAGIC[runtime].to_bytes(2, "little") + b"\r\n"


def ensure_runtime(runtime: str) -> None:
    """Refuse to compile for `runtime` with another Python: its bytecode would not load there."""
    if this_runtime() != runtime:
        raise Refusal(f"the functions run {runtime}; this is {this_runtime()} ({sys.executable}): "
                         f"compile their bytecode with {runtime}")


def compile_tree(root: Path, shown_as: str) -> None:
    """Compile every `.py` under `root` (any bytecode there first removed), naming the files `shown_as/...`.

    In a process of its own with a fixed hash seed, so nothing of this one's state reaches the bytes."""
    for cache in sorted(root.rglob("__pycache__"), reverse=True):
        shutil.rmtree(cache)
    environment = {"PATH": os.environ.get("PATH", ""), "PYTHONHASHSEED": "0"}
    done = subprocess.run([sys.executable, "-m", "compileall", "-q", "-f", "--invalidation-mode", MODE,
                           "-d", shown_as, str(root)], env=environment, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise Refusal(f"could not compile {root}:\n{done.stdout}{done.stderr}")


def write_zip(zip_path: Path, root: Path) -> None:
    """Every file under `root`, sorted, with fixed times and modes: the same files make the same bytes, so
    `aws cloudformation package` finds the upload already there and CloudFormation keeps the version."""
    files = sorted((path.relative_to(root).as_posix(), path) for path in root.rglob("*") if path.is_file())
    with zipfile.ZipFile(zip_path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, path in files:
            info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
            info.create_system = 3  # Unix, so the mode below is read
            info.external_attr = 0o100644 << 16  # a regular file, rw-r--r--
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, path.read_bytes())


def unfit(zip_path: Path, runtime: str) -> list[str]:
    """What in `zip_path` is not a module with its bytecode for `runtime` (`make lint-infra` refuses it, `main`
    compiles it): bytecode missing, for another Python, timestamped or not its source's, or not in __pycache__."""
    tag, expected_magic = cache_tag(runtime), magic(runtime)
    problems = []
    with zipfile.ZipFile(zip_path) as archive:
        names = set(archive.namelist())
        for name in sorted(names):
            problem = None
            if name.endswith(".pyc"):
                folder, _, file = name.rpartition("/")
                if folder.rpartition("/")[2] != "__pycache__" or not file.endswith(f".{tag}.pyc"):
                    problem = f"bytecode not for {runtime} ({tag})"
            elif name.endswith(".py"):
                compiled = pyc_name(name, runtime)
                if compiled not in names:
                    problem = "no bytecode"
                else:
                    header = archive.read(compiled)[:16]
                    if header[:4] != expected_magic:
                        problem = f"bytecode for another Python (magic {int.from_bytes(header[:2], 'little')})"
                    elif not int.from_bytes(header[4:8], "little") & 1:
                        problem = "timestamp bytecode (not reproducible: compile it hash-based)"
                    elif header[8:16] != _imp.source_hash(int.from_bytes(expected_magic, "little"), archive.read(name)):
                        problem = "bytecode of another source"
            if problem:
                problems.append(f"{name}: {problem}")
    return problems


def pyc_name(source: str, runtime: str) -> str:
    """`chalicelib/app.py` -> `chalicelib/__pycache__/app.cpython-311.pyc`."""
    folder, slash, file = source.rpartition("/")
    return f"{folder}{slash}__pycache__/{file.removesuffix('.py')}.{cache_tag(runtime)}.pyc"


def with_bytecode(zip_path: Path, shown_as: str) -> None:
    """Rewrite `zip_path` with every module's bytecode beside it."""
    with tempfile.TemporaryDirectory(prefix="classpay-bytecode-") as tmp:
        root = Path(tmp) / "files"
        with zipfile.ZipFile(zip_path) as archive:
            archive.extractall(root)
        compile_tree(root, shown_as)
        written = Path(tmp) / zip_path.name
        write_zip(written, root)
        shutil.move(written, zip_path)


def packaged_zips(packaged: Path) -> dict[Path, str]:
    """{each zip the template names: where Lambda extracts it}: function code to /var/task, layers to /opt."""
    resources = json.loads(packaged.read_text())["Resources"]
    zips = {}
    for resource in resources.values():
        properties = resource.get("Properties", {})
        for key, root in (("CodeUri", CODE_ROOT), ("ContentUri", LAYER_ROOT)):
            if isinstance(properties.get(key), str):
                zips[packaged.parent / properties[key]] = root
    return zips


def packaged_runtime(packaged: Path) -> str:
    resources = json.loads(packaged.read_text())["Resources"]
    (runtime,) = {r["Properties"]["Runtime"] for r in resources.values() if r["Type"] == "AWS::Serverless::Function"}
    return runtime


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="the directory `chalice package` wrote (its sam.json names the zips)")
    args = parser.parse_args(argv)
    packaged = args.out / "sam.json"
    runtime = packaged_runtime(packaged)
    ensure_runtime(runtime)
    for zip_path, shown_as in sorted(packaged_zips(packaged).items()):
        # Chalice's zips (and any bytecode a working tree left in them); function layers have it already. A zip
        # not built is not there: `make lint-infra` says so.
        if zip_path.is_file() and unfit(zip_path, runtime):
            before = zip_path.stat().st_size
            with_bytecode(zip_path, shown_as)
            print(f"{zip_path}: bytecode for {runtime} added, "  # noqa: T201
                  f"{before / 1024 / 1024:.2f} -> {zip_path.stat().st_size / 1024 / 1024:.2f} MB zipped")
    return 0


if __name__ == "__main__":
    run_command(main)
