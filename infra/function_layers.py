"""Packages that one function needs and the others must not carry: a layer of its own.

    python -m infra.function_layers out/        # `make package` runs it after `chalice package`

`requirements.txt` goes into every function (Chalice's `automatic_layer`). Two functions need more:
- `DrawingHandler` (infra/template/functions.py: the routes that answer a PNG or a PDF, the dashboard
  chart and the certificate) draws the chart with Pillow, whose Linux wheel bundles its C libraries
  (7.7 MB zipped; 3.6 MB without the codecs we never use), and writes the certificate's text PDF with
  fpdf2 (pure Python), which embeds font subsets with fontTools;
- the payout worker seals Toss payout bodies as JWE (AES-GCM, `cryptography`, 4.8 MB zipped).
Each gets its layer, so the API, the authorizer and the jobs neither upload nor load either. So
do the drawing's fonts (`chalicelib/fonts`, 0.6 MB zipped): `make package` moves them from the code
zip every function loads into DrawingLayer (/opt/fonts on Lambda; `typeface.py` finds them there).

A layer's packages may only be imported inside a function body of the modules named for it
(`tests/test_conventions.py` checks), and only its function reaches that code: only the views
of drawn routes import the chart and the certificate drawing (a test checks); the payout
gateway is called by `services.payouts.complete`, which only the payout worker's job runs.
Every layer is compiled (infra/bytecode.py), then loaded and exercised from its own files, in an
interpreter without the virtualenv and writing nothing, before it is zipped (`smoke`).
"""

import argparse
import fnmatch
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from infra import bytecode
from infra.project import PROJECT_DIR, Refusal, run_command

# Chalice's manylinux target for Lambda's x86_64 images: the wheels it picks for requirements.txt.
# Lambda's python3.11 runs on Amazon Linux 2 (glibc 2.26): a manylinux_2_28 wheel does not load there.
PLATFORM = "manylinux2014_x86_64"


@dataclass(frozen=True)
class FunctionLayer:
    function: str  # the function's logical id in the template
    logical_id: str  # the AWS::Serverless::LayerVersion in the template
    requirements: str  # pinned, relative to the project
    modules: tuple[str, ...]  # the only modules that may import these packages, and only lazily
    smoke: str  # Python run from the layer's files alone (cwd: the layer, as /opt): what the app needs of it
    leave_out: tuple[str, ...] = ()  # file patterns under python/ the app never loads
    data: str | None = None  # a folder of chalicelib only this function reads: moved from the code zip to the layer

    @property
    def zip_name(self) -> str:
        return f"{self.logical_id}.zip"

    def packages(self) -> list[str]:
        """The pinned lines (`name==version`) of its requirements file."""
        lines = (line.split("#", 1)[0].strip() for line in (PROJECT_DIR / self.requirements).read_text().splitlines())
        return [line for line in lines if line]

    def distributions(self) -> set[str]:
        """The normalised names of the distributions it holds (`cffi`, `pillow`)."""
        return {normalised(package.split("==", 1)[0]) for package in self.packages()}


def normalised(distribution: str) -> str:
    return distribution.lower().replace("_", "-")


# What the chart does with Pillow (Nanum Square text, LANCZOS, PNG) and the certificate with fpdf2 (a text PDF
# embedding the subset of Nanum Square it uses).
_DRAWING_SMOKE = """
import io
from PIL import Image, ImageDraw, ImageFont
page = Image.new("RGB", (400, 100), (255, 255, 255))
font = ImageFont.truetype("fonts/NanumSquareB.ttf", 24)
ImageDraw.Draw(page).text((10, 10), "수료증 Certificate 1,250,000원", font=font, fill=(0, 0, 0))
page.resize((200, 50), Image.Resampling.LANCZOS).save(io.BytesIO(), format="PNG", optimize=True)
from fpdf import FPDF
pdf = FPDF(orientation="L", unit="mm", format="A4")
pdf.add_font("NanumSquare", "B", "fonts/NanumSquareB.ttf")
pdf.add_page()
pdf.set_font("NanumSquare", "B", 24)
pdf.cell(text="수료증 Certificate")
written = bytes(pdf.output())
assert written.startswith(b"%PDF") and b"/FontFile2" in written
"""

FUNCTION_LAYERS = (
    FunctionLayer(function="DrawingHandler", logical_id="DrawingLayer",
                  requirements="infra/drawing-requirements.txt",
                  modules=("chalicelib/services/charts.py", "chalicelib/services/certificates.py",
                           "chalicelib/services/typeface.py"),
                  smoke=_DRAWING_SMOKE,
                  # AVIF, WebP, colour management and Tk, with their libraries: half the wheel. Pillow
                  # treats a missing codec as an unsupported format; we only write PNG and PDF.
                  leave_out=("PIL/_avif.*", "pillow.libs/libavif-*", "PIL/_webp.*", "pillow.libs/libwebp*",
                             "pillow.libs/libsharpyuv-*", "PIL/_imagingcms.*", "pillow.libs/liblcms2-*",
                             "PIL/_imagingtk.*",
                             # fontTools' Cython builds of what it also ships as Python (it uses those without
                             # them): 13 MB of machine code, and pure Python leaves no glibc to match on Lambda
                             "fontTools/*.so"),
                  data="chalicelib/fonts"),
    FunctionLayer(function="PayoutWorker", logical_id="PayoutWorkerLayer",
                  requirements="infra/payout-worker-requirements.txt",
                  modules=("chalicelib/adapters/toss_payouts.py",),
                  smoke="from cryptography.hazmat.primitives.ciphers.aead import AESGCM\n"
                        "AESGCM(bytes(32)).encrypt(bytes(12), b'{}', b'header')"),
)


def build(layer: FunctionLayer, out: Path, python_version: str) -> Path:
    """`out/<LogicalId>.zip`: the layer's packages (Linux wheels for `python_version`) under python/, with their
    bytecode (infra/bytecode.py), smoke-run from those files before they are zipped."""
    bytecode.ensure_runtime(f"python{python_version}")
    with tempfile.TemporaryDirectory(prefix="classpay-layer-") as tmp:
        target = Path(tmp) / "python"
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-compile",
                        "--target", str(target), "--platform", PLATFORM, "--implementation", "cp",
                        "--python-version", python_version, "--only-binary=:all:",
                        "-r", str(PROJECT_DIR / layer.requirements)], check=True)
        shutil.rmtree(target / "bin", ignore_errors=True)
        installed = {normalised(re.sub(r"-[^-]+\.dist-info$", "", p.name)) for p in target.glob("*.dist-info")}
        if unpinned := installed - layer.distributions():  # the same file must always build the same layer
            raise Refusal(f"{layer.requirements}: pin {sorted(unpinned)} too (the layer holds them)")
        for path in list(target.rglob("*")):
            if path.is_file() and any(fnmatch.fnmatch(path.relative_to(target).as_posix(), pattern)
                                      for pattern in layer.leave_out):
                path.unlink()
        bytecode.compile_tree(target, f"{bytecode.LAYER_ROOT}/python")
        if layer.data:  # /opt/<folder> on Lambda
            shutil.copytree(PROJECT_DIR / layer.data, Path(tmp) / Path(layer.data).name)
        smoke(layer, target)  # from the bytecode just compiled, writing none
        zip_path = out / layer.zip_name
        # Fixed times and modes, sorted: the same packages make the same bytes, so `aws cloudformation package`
        # finds the upload already there and CloudFormation keeps the layer version.
        bytecode.write_zip(zip_path, Path(tmp))
    return zip_path


def dependencies_digest(function: str) -> str:
    """A digest of what the function's layers are built from: requirements.txt (Chalice's shared layer), how their
    bytecode is compiled and, if it has one, its own layer's pins, trims, platform and data. The template puts it
    in the function's environment: SAM publishes a new version when the environment changes, but never for a new
    layer version alone (a layer is a Ref it does not resolve), so a new Pillow would not reach the alias."""
    digest = hashlib.sha256((PROJECT_DIR / "requirements.txt").read_bytes())
    digest.update(bytecode.MODE.encode())  # how every layer's bytecode is compiled
    for layer in FUNCTION_LAYERS:
        if layer.function == function:
            digest.update((PROJECT_DIR / layer.requirements).read_bytes())
            digest.update(repr((layer.leave_out, PLATFORM)).encode())
            for path in sorted((PROJECT_DIR / layer.data).rglob("*")) if layer.data else ():
                if path.is_file():
                    digest.update(path.relative_to(PROJECT_DIR).as_posix().encode() + path.read_bytes())
    return digest.hexdigest()[:16]


def smoke(layer: FunctionLayer, packages: Path) -> None:
    """Run the layer's smoke code on `packages` alone: no site-packages, so nothing the layer lacks is found; in the
    layer's root (/opt on Lambda), so its data is found where the function finds it."""
    environment = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(packages), "PYTHONNOUSERSITE": "1",
                   "PYTHONDONTWRITEBYTECODE": "1"}
    done = subprocess.run([sys.executable, "-S", "-c", layer.smoke], cwd=packages.parent, env=environment,
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise Refusal(f"{layer.logical_id} does not do what the app needs of it:\n{done.stderr}")


def leave_data_out_of_code(out: Path) -> None:
    """Remove from the code zip (out/deployment.zip, every function's) the data folders a function layer carries."""
    folders = tuple(f"{layer.data}/" for layer in FUNCTION_LAYERS if layer.data)
    code = out / "deployment.zip"
    kept = out / "deployment.zip.kept"
    with zipfile.ZipFile(code) as source, zipfile.ZipFile(kept, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            if not info.filename.startswith(folders):
                target.writestr(info, source.read(info))
    kept.replace(code)


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
        print(f"{path}: {path.stat().st_size / 1024 / 1024:.1f} MB zipped ({', '.join(layer.packages())}"  # noqa: T201
              + (f", {layer.data}" if layer.data else "") + ")")
    leave_data_out_of_code(args.out)
    return 0


if __name__ == "__main__":
    run_command(main)
