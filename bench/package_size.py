"""Package size: classpay's Lambda package against a bare Chalice + boto3 + PynamoDB app, packaged the same way.

Both are built by `chalice package --stage prod` in a fresh copy (no cache), with the same
boto3/botocore/PynamoDB pins; the figures are the zipped and unzipped sizes of what Lambda
receives, and the distributions that make them up. Two functions also load a layer of their
own (infra/function_layers.py): DrawingHandler (the routes that answer a PNG or a PDF) Pillow,
the payout worker cryptography; each function's total is shown. Also shown: classpay as `make
package` deploys it (`automatic_layer`: a small code zip over a shared dependency layer).
classpay's zips carry their modules' bytecode, as `make package` builds them (infra/bytecode.py);
`chalice package` ships none, so the bare app is shown both as it ships and with bytecode.
Target: the API function within 1.2x of the bare package as `chalice package` ships it, and every
function under Lambda's limits (50 MB zipped upload, 250 MB unzipped with layers).

    .venv/bin/python bench/package_size.py
"""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections import Counter
from pathlib import Path

from repository import ROOT

from infra.function_layers import FUNCTION_LAYERS, build, leave_data_out_of_code, runtime_version

TARGET_RATIO = 1.2
ZIPPED_LIMIT = 50 * 1024 * 1024
UNZIPPED_LIMIT = 250 * 1024 * 1024
MB = 1024 * 1024


def _chalice_package(project: Path) -> Path:
    out = project / "out"
    environment = {**os.environ, "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION", "ap-northeast-2")}
    command = [str(Path(sys.executable).parent / "chalice"), "package", "--stage", "prod"]
    merge = project / "build" / "merge-prod.json"
    if merge.exists():
        command += ["--merge-template", str(merge)]
    subprocess.run([*command, str(out)], cwd=project, env=environment, check=True, capture_output=True)
    return out


def bare_project(where: Path, layered: bool = False) -> Path:
    """bench/bare/app.py as a Chalice project with classpay's boto3/botocore/PynamoDB pins (`layered`: its
    requirements in Chalice's `automatic_layer`, as classpay's prod stage)."""
    project = where / ("bare-layered" if layered else "bare")
    (project / ".chalice").mkdir(parents=True)
    shutil.copy(ROOT / "bench" / "bare" / "app.py", project / "app.py")
    pins = [line for line in (ROOT / "requirements.txt").read_text().splitlines()
            if re.match(r"(boto3|botocore|pynamodb)==", line)]
    (project / "requirements.txt").write_text("\n".join(pins) + "\n")
    config = {"version": "2.0", "app_name": "bare",
              "stages": {"prod": {"api_gateway_stage": "api", "automatic_layer": layered}}}
    (project / ".chalice" / "config.json").write_text(json.dumps(config))
    return project


def classpay_project(where: Path, layered: bool) -> Path:
    project = where / ("classpay-layered" if layered else "classpay")
    shutil.copytree(ROOT, project, ignore=shutil.ignore_patterns(
        ".venv", ".git", "out", "build", "deployments", "__pycache__", ".pytest_cache", ".ruff_cache", "tests", "bench"))
    config_file = project / ".chalice" / "config.json"
    config = json.loads(config_file.read_text())
    config["stages"]["prod"]["automatic_layer"] = layered
    config_file.write_text(json.dumps(config))
    subprocess.run([sys.executable, "-m", "infra.template", "--stage", "prod", "--output", "build/merge-prod.json"],
                   cwd=project, check=True, capture_output=True,
                   env={**os.environ, "AWS_DEFAULT_REGION": "ap-northeast-2"})
    return project


def _distribution_of(path: str, owners: dict[str, str]) -> str:
    top = path.split("/", 1)[0]
    if top.endswith((".dist-info", ".data")):
        return re.sub(r"-[^-]+\.(dist-info|data)$", "", top).lower().replace("_", "-") + " (metadata)"
    return owners.get(top, top)


def contents(zip_path: Path) -> tuple[int, int, Counter, dict[str, str]]:
    """(zipped bytes, unzipped bytes, zipped bytes by distribution, versions)."""
    with zipfile.ZipFile(zip_path) as archive:
        infos = archive.infolist()
        owners, versions = {}, {}
        for info in infos:
            match = re.match(r"(?:python/)?([^/]+)-([^-/]+)\.dist-info/(RECORD|top_level\.txt)$", info.filename)
            if not match:
                continue
            name = match.group(1).lower().replace("_", "-")
            versions[name] = match.group(2)
            for line in archive.read(info).decode().splitlines():
                top = line.split(",", 1)[0].split("/", 1)[0]
                if top and not top.endswith((".dist-info", ".data")) and top != "..":
                    owners.setdefault(top.removesuffix(".py"), name)
                    owners.setdefault(top, name)
        by_distribution = Counter()
        for info in infos:
            # a layer's files are under python/ (Lambda puts /opt/python on the path)
            by_distribution[_distribution_of(info.filename.removeprefix("python/"), owners)] += info.compress_size
    return zip_path.stat().st_size, sum(i.file_size for i in infos), by_distribution, versions


def _report(title: str, zip_path: Path) -> int:
    zipped, unzipped, by_distribution, versions = contents(zip_path)
    print(f"{title}: {zipped / MB:.1f} MB zipped, {unzipped / MB:.1f} MB unzipped")
    for name, size in by_distribution.most_common():
        if size >= 20 * 1024:
            version = versions.get(name, "")
            print(f"    {name + (' ' + version if version else ''):<34} {size / MB:6.2f} MB")
    rest = sum(size for size in by_distribution.values() if size < 20 * 1024)
    print(f"    {'(everything under 20 KB)':<34} {rest / MB:6.2f} MB")
    return zipped


def _with_bytecode(out: Path) -> None:
    """The bytecode `make package` compiles into every zip of `out` (infra/bytecode.py)."""
    subprocess.run([sys.executable, "-m", "infra.bytecode", str(out)], cwd=ROOT, check=True, capture_output=True)


def _function_layers(out: Path) -> dict[str, Path]:
    """{function (logical id): its own layer's zip}, built as `make package` builds them (in `out`, which then
    leaves the layers' data out of its code zip)."""
    layers = {layer.function: build(layer, out, runtime_version(out)) for layer in FUNCTION_LAYERS}
    leave_data_out_of_code(out)  # the drawing's fonts: in its layer, not in every function's code
    return layers


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="classpay-bench-") as tmp:
        where = Path(tmp)
        bare_out = _chalice_package(bare_project(where))
        bare = _report("bare chalice+boto3+pynamodb, as `chalice package` ships it", bare_out / "deployment.zip")
        _with_bytecode(bare_out)
        bare_compiled = (bare_out / "deployment.zip").stat().st_size
        print(f"    with bytecode: {bare_compiled / MB:.1f} MB zipped")
        print()
        plain_out = _chalice_package(classpay_project(where, layered=False))
        own_layers = _function_layers(plain_out)
        _with_bytecode(plain_out)
        shared = _report("classpay, code + requirements.txt (what every function ships), with bytecode",
                         plain_out / "deployment.zip")
        shared_unzipped = contents(plain_out / "deployment.zip")[1]
        functions = {"APIHandler, Bearer and the jobs": (shared, shared_unzipped)}
        for function, zip_path in own_layers.items():
            print()
            zipped = _report(f"{function}'s own layer ({zip_path.name})", zip_path)
            functions[function] = (shared + zipped, shared_unzipped + contents(zip_path)[1])
        print()
        layered_out = _chalice_package(classpay_project(where, layered=True))
        leave_data_out_of_code(layered_out)  # as make package does (the fonts are in DrawingLayer.zip)
        _with_bytecode(layered_out)
        function_zip = layered_out / "deployment.zip"
        layer_zip = layered_out / "layer-deployment.zip"
        print("classpay as `make package` builds it (automatic_layer):")
        print(f"    code {function_zip.stat().st_size / 1024:.0f} KB zipped; shared layer "
              f"{layer_zip.stat().st_size / MB:.1f} MB zipped; "
              + "; ".join(f"{p.name} {p.stat().st_size / MB:.1f} MB" for p in own_layers.values()))
    print()
    print("what each function loads, zipped (code + shared layer + its own layer), against the bare app")
    for function, (zipped, unzipped) in functions.items():
        print(f"    {function:<42} {zipped / MB:5.1f} MB  {zipped / bare:.2f} x  ({unzipped / MB:.1f} MB unzipped)")
    api = shared / bare
    print()
    print(f"ratio classpay / bare: {api:.2f}  (target <= {TARGET_RATIO}; the API function: all routes but the drawn)")
    print(f"ratio classpay / bare with bytecode: {shared / bare_compiled:.2f}  (reported: both with bytecode)")
    print(f"ratio drawing function / bare: {functions['DrawingHandler'][0] / bare:.2f}  (reported; the PNG and PDF routes)")
    print(f"ratio payout worker / bare: {functions['PayoutWorker'][0] / bare:.2f}  (reported)")
    largest_zipped = max(zipped for zipped, _ in functions.values())
    largest_unzipped = max(unzipped for _, unzipped in functions.values())
    print(f"Lambda limits: the largest function {largest_zipped / MB:.1f} of {ZIPPED_LIMIT // MB} MB zipped, "
          f"{largest_unzipped / MB:.1f} of {UNZIPPED_LIMIT // MB} MB unzipped")
    within_limits = largest_zipped < ZIPPED_LIMIT and largest_unzipped < UNZIPPED_LIMIT
    return 0 if api <= TARGET_RATIO and within_limits else 1


if __name__ == "__main__":
    sys.exit(main())
