"""Packages that one function needs and the others must not carry: a layer of its own.

    python -m infra.function_layers out/        # `make package` runs it after `chalice package`

`requirements.txt` goes into every function (Chalice's `automatic_layer`). The payout worker
also seals Toss payout bodies as JWE (AES-GCM, `cryptography`: 4.7 MB zipped, a quarter of the
package): it alone gets a layer with it, so the API and the jobs neither upload nor load it.

A layer's packages may only be imported inside a function body of the modules named for it
(`tests/test_conventions.py` checks), and only its function reaches that code: the payout
gateway is called by `services.payouts.complete`, which only the payout worker's job runs.
"""

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
# Chalice's manylinux target for Lambda's x86_64 images: the wheels it picks for requirements.txt.
PLATFORM = "manylinux2014_x86_64"


@dataclass(frozen=True)
class FunctionLayer:
    function: str  # the Chalice function's name (its Python handler)
    logical_id: str  # the AWS::Serverless::LayerVersion in the template
    requirements: str  # pinned, relative to the project
    modules: tuple[str, ...]  # the only modules that may import these packages, and only lazily

    @property
    def zip_name(self) -> str:
        return f"{self.logical_id}.zip"

    def packages(self) -> list[str]:
        return [line.split("#", 1)[0].strip() for line in (PROJECT_DIR / self.requirements).read_text().splitlines()
                if line.split("#", 1)[0].strip()]


FUNCTION_LAYERS = (
    FunctionLayer(function="payout_worker", logical_id="PayoutWorkerLayer",
                  requirements="infra/payout-worker-requirements.txt",
                  modules=("chalicelib/services/payout_gateway.py",)),
)


def build(layer: FunctionLayer, out: Path, python_version: str) -> Path:
    """`out/<LogicalId>.zip`: the layer's packages (Linux wheels for `python_version`) under python/."""
    with tempfile.TemporaryDirectory(prefix="classpay-layer-") as tmp:
        target = Path(tmp) / "python"
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                        "--target", str(target), "--platform", PLATFORM, "--implementation", "cp",
                        "--python-version", python_version, "--only-binary=:all:",
                        "-r", str(PROJECT_DIR / layer.requirements)], check=True)
        shutil.rmtree(target / "bin", ignore_errors=True)
        zip_path = out / layer.zip_name
        with zipfile.ZipFile(zip_path, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in sorted(target.rglob("*")):
                if path.is_file() and "__pycache__" not in path.parts:
                    # Fixed times and modes: the same packages make the same bytes, so `aws cloudformation
                    # package` finds the upload already there and CloudFormation keeps the layer version.
                    info = zipfile.ZipInfo(path.relative_to(target.parent).as_posix(), date_time=(1980, 1, 1, 0, 0, 0))
                    info.external_attr = 0o644 << 16
                    info.compress_type = zipfile.ZIP_DEFLATED
                    archive.writestr(info, path.read_bytes())
    return zip_path


def runtime_version(out: Path) -> str:
    """The Python version Chalice packaged for ("3.11"), from its template's functions."""
    resources = json.loads((out / "sam.json").read_text())["Resources"]
    runtimes = {r["Properties"]["Runtime"] for r in resources.values() if r["Type"] == "AWS::Serverless::Function"}
    (runtime,) = runtimes
    return runtime.removeprefix("python")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="the directory `chalice package` wrote")
    args = parser.parse_args(argv)
    version = runtime_version(args.out)
    for layer in FUNCTION_LAYERS:
        path = build(layer, args.out, version)
        print(f"{path}: {path.stat().st_size / 1024 / 1024:.1f} MB zipped ({', '.join(layer.packages())})")  # noqa: T201
    return 0


if __name__ == "__main__":
    sys.exit(main())
