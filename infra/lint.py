"""`make lint-infra`: cfn-lint on the packaged template, before and after the SAM transform.

    python -m infra.lint out/sam.json

cfn-lint validates SAM resources against SAM's schemas without running the transform, so
mistakes that only the transform reveals (an alias reference SAM cannot resolve, a deployment
preference it rejects) would reach CloudFormation. This also runs the transform offline, as
CloudFormation will (code locations stand in for the S3 objects `aws cloudformation package`
uploads), and lints the plain CloudFormation that comes out. Before both, every code and layer
zip the template names must be beside it (a layer `make package` forgot to build fails here),
and every wheel in them must carry a tag the functions' Lambda image loads (its Python and ABI, its
machine, manylinux up to its glibc): a wheel built on this machine (`linux_x86_64`) links this
machine's libraries, and a manylinux_2_28 one needs a newer glibc than python3.11's Amazon Linux 2
has. Either would fail on its first import on Lambda, never here. And every module in them must carry
its bytecode (infra/bytecode.py) for that Python: `__pycache__/<module>.cpython-311.pyc` with
python3.11's magic number, hash-based, compiled from the source beside it. Without it each cold start
compiles the module again (Lambda's file system is read-only); another Python's is ignored; a stale
one would run code that is not in the zip.

No check is suppressed on the packaged template. On the transformed one, W2001 (parameter not
used) is: the transform substitutes `DeploymentType` into the CodeDeploy resources itself.
"""

import json
import logging
import os
import subprocess
import sys
import zipfile
from pathlib import Path

from infra import bytecode
from infra.project import PROJECT_DIR

REGIONS = ("ap-northeast-2", "us-east-1")
TRANSFORMED_IGNORES = ("W2001",)
# The glibc of each Lambda Python runtime's image (Amazon Linux 2: 2.26; Amazon Linux 2023: 2.34).
RUNTIME_GLIBC = {"python3.9": (2, 26), "python3.10": (2, 26), "python3.11": (2, 26),
                 "python3.12": (2, 34), "python3.13": (2, 34), "python3.14": (2, 34)}
_LEGACY_MANYLINUX = {"manylinux1": (2, 5), "manylinux2010": (2, 12), "manylinux2014": (2, 17)}


def _cfn_lint(template: Path, ignore: tuple[str, ...] = ()) -> subprocess.Popen:
    """cfn-lint on `template`, started (about 20 s of one core: the policy's many Fn::Sub)."""
    command = [str(Path(sys.executable).parent / "cfn-lint"), "--regions", *REGIONS]
    if ignore:
        command += ["--ignore-checks", *ignore]
    return subprocess.Popen([*command, "--", str(template)])


def sam_transform(template: dict) -> dict:
    """The CloudFormation the SAM transform makes of `template` (offline: no managed policies needed)."""
    from samtranslator.translator.transform import transform

    class _NoManagedPolicies:
        def load(self) -> dict:
            return {}

    template = json.loads(json.dumps(template))
    for resource in template["Resources"].values():
        properties = resource.get("Properties", {})
        for location in ("CodeUri", "ContentUri"):
            if isinstance(properties.get(location), str):
                properties[location] = "s3://packaged/" + Path(properties[location]).name
    logging.getLogger("samtranslator").setLevel(logging.ERROR)
    return transform(template, {}, _NoManagedPolicies())


def missing_code(packaged: Path) -> list[str]:
    """Code and layer zips the template names that are not beside it (`aws cloudformation package` would fail)."""
    resources = json.loads(packaged.read_text())["Resources"]
    locations = [r.get("Properties", {}).get(key) for r in resources.values() for key in ("CodeUri", "ContentUri")]
    return [location for location in locations
            if isinstance(location, str) and not (packaged.parent / location).is_file()]


def lambda_tags(runtime: str, architecture: str) -> set[str]:
    """Every wheel tag a Lambda Python runtime's image loads: its CPython (and abi3, pure Python), and manylinux
    platforms up to the image's glibc, for its architecture."""
    from packaging import tags

    version = tuple(int(part) for part in runtime.removeprefix("python").split("."))
    glibc_major, glibc_minor = RUNTIME_GLIBC[runtime]
    machine = {"x86_64": "x86_64", "arm64": "aarch64"}[architecture]
    platforms = [f"manylinux_{glibc_major}_{minor}_{machine}" for minor in range(glibc_minor, 4, -1)]
    platforms += [f"{legacy}_{machine}" for legacy, (_, minor) in _LEGACY_MANYLINUX.items() if minor <= glibc_minor]
    interpreter = f"cp{version[0]}{version[1]}"
    supported = [*tags.cpython_tags(version, platforms=platforms),
                 *tags.compatible_tags(version, interpreter=interpreter, platforms=platforms)]
    return {str(tag) for tag in supported}


def unfit_wheels(packaged: Path) -> list[str]:
    """Wheels in the zips beside the template that no tag of theirs lets load on its functions' runtime."""
    resources = json.loads(packaged.read_text())["Resources"]
    functions = [r["Properties"] for r in resources.values() if r["Type"] == "AWS::Serverless::Function"]
    ((runtime, architecture),) = {(f["Runtime"], *f.get("Architectures", ["x86_64"])) for f in functions}
    loadable = lambda_tags(runtime, architecture)
    unfit = []
    for archive_path in sorted(packaged.parent.glob("*.zip")):
        with zipfile.ZipFile(archive_path) as archive:
            for name in archive.namelist():
                if not name.endswith(".dist-info/WHEEL"):
                    continue
                wheel_tags = [line.split(":", 1)[1].strip() for line in archive.read(name).decode().splitlines()
                              if line.startswith("Tag:")]
                if not loadable.intersection(wheel_tags):
                    unfit.append(f"{archive_path.name}: {name.split('/')[-2]} ({', '.join(wheel_tags)})")
    return unfit


def unfit_bytecode(packaged: Path) -> list[str]:
    """Modules in the zips the template names whose bytecode is missing, for another Python, or not their source's;
    and bytecode that is not the functions' runtime's (another cache tag, outside __pycache__)."""
    runtime = bytecode.packaged_runtime(packaged)
    return [f"{archive_path.name}: {problem}" for archive_path in sorted(bytecode.packaged_zips(packaged))
            if archive_path.is_file()  # missing_code says so
            for problem in bytecode.unfit(archive_path, runtime)]


def main(argv: list[str]) -> int:
    os.environ.setdefault("AWS_DEFAULT_REGION", REGIONS[0])
    packaged = Path(argv[0] if argv else "out/sam.json")
    if missing := missing_code(packaged):
        print(f"{packaged} names code that is not there: {', '.join(missing)}", file=sys.stderr)  # noqa: T201
        return 1
    if unfit := unfit_wheels(packaged):
        print("wheels that would not load on Lambda:\n  " + "\n  ".join(unfit), file=sys.stderr)  # noqa: T201
        return 1
    if unfit := unfit_bytecode(packaged):
        print(f"modules without their bytecode for the functions' Python ({len(unfit)}; `make package` compiles it):\n  "  # noqa: T201
              + "\n  ".join(unfit[:20]) + ("\n  ..." if len(unfit) > 20 else ""), file=sys.stderr)
        return 1
    transformed = PROJECT_DIR / "build" / f"{packaged.stem}.transformed.json"
    transformed.parent.mkdir(exist_ok=True)
    transformed.write_text(json.dumps(sam_transform(json.loads(packaged.read_text())), indent=1))
    # the two templates side by side, a core each
    lints = [_cfn_lint(packaged), _cfn_lint(transformed, TRANSFORMED_IGNORES)]
    codes = [lint.wait() for lint in lints]
    failed = next((code for code in codes if code), 0)  # a killed one (negative) fails too
    if not failed:
        print(f"cfn-lint: {packaged} and its SAM transform are clean")  # noqa: T201
    return failed


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
