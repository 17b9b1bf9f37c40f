"""Cold start as Lambda runs it: each function from the zips `make package` builds, against a bare Chalice +
boto3 + PynamoDB app packaged the same way by `chalice package`.

Lambda extracts a function's code zip into /var/task and its layers into /opt, puts /var/task,
/opt/python/lib/python3.11/site-packages and /opt/python first on the path, starts the interpreter
in /var/task and imports the handler's module (`app` for every function measured here), on a
read-only file system: whatever Python compiles is thrown away with the container. Here each
function's zips are extracted the same way under a temporary directory, and a new interpreter (with
`site`, but no site-packages of its own: a bare venv) imports `app` with PYTHONDONTWRITEBYTECODE=1
and the function's environment from the template. The figure is the wall time from starting the
process to `app` imported, interpreter start included: the median of RUNS processes, every
variant run in turn so a busy moment costs each alike. The CPU time the process reports at that
point is shown too (less sensitive to a busy machine).

classpay's zips are built by `make package` in a copy of the project (or read from --out); the
bare app (bench/bare/app.py, classpay's boto3/botocore/PynamoDB pins, `automatic_layer` as
classpay's prod stage) by `chalice package`, then given bytecode by infra/bytecode.py as `make
package` gives classpay's. Both are measured without their bytecode (as `chalice package` ships a
zip; classpay's before infra/bytecode.py) and with it (classpay as `make package` ships it).

Targets: the API function, as shipped, at most 0.55x the bare app as `chalice package` ships it and
at most 1.3x the bare app with bytecode. The drawing function (Pillow's layer too) and the payout
worker (cryptography's) are reported, also with their layer's first use (its smoke code,
infra/function_layers.py, run after `import app` in the layer's root: a PNG and a PDF drawn; a
body sealed). `-X importtime` from the API
function's zips shows where its import goes.

    .venv/bin/python bench/cold_start.py [RUNS] [--out out/]
"""

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from collections import defaultdict
from pathlib import Path

from package_size import bare_project
from repository import ROOT

from infra.function_layers import FUNCTION_LAYERS

TARGET_AS_SHIPPED = 0.55  # the API function / the bare app as `chalice package` ships it
TARGET_WITH_BYTECODE = 1.3  # the API function / the bare app with bytecode
REGION = "ap-northeast-2"
FIRST_USE = {layer.function: layer.smoke for layer in FUNCTION_LAYERS}
SHOWN = {"APIHandler": "API", "DrawingHandler": "drawing", "PayoutWorker": "payout worker"}


def classpay_artifacts(where: Path) -> Path:
    """`make package` in a copy of the project (the working tree's out/ is left alone): its out/."""
    project = where / "classpay"
    shutil.copytree(ROOT, project, ignore=shutil.ignore_patterns(
        ".venv", ".git", "out", "build", "__pycache__", ".pytest_cache", ".ruff_cache", ".hypothesis", "tests", "bench"))
    bin_dir = Path(sys.executable).parent
    stamp = bin_dir.parent / ".installed"  # the Makefile's $(STAMP): this virtualenv is installed, not remade
    subprocess.run(["make", "--no-print-directory", "-o", str(stamp), "package", f"BIN={bin_dir}", f"STAMP={stamp}"],
                   cwd=project, check=True, capture_output=True)
    return project / "out"


def bare_artifacts(where: Path) -> Path:
    """The bare app by `chalice package` (with `automatic_layer`, as classpay's prod), then its bytecode."""
    project = bare_project(where, layered=True)
    environment = {**os.environ, "AWS_DEFAULT_REGION": REGION}
    subprocess.run([str(Path(sys.executable).parent / "chalice"), "package", "--stage", "prod", "out"],
                   cwd=project, env=environment, check=True, capture_output=True)
    subprocess.run([sys.executable, "-m", "infra.bytecode", str(project / "out")], cwd=ROOT, check=True,
                   capture_output=True)
    return project / "out"


def lay_out(out: Path, function: str, root: Path, bytecode: bool) -> dict[str, str]:
    """Extract `function`'s code to root/var/task and its layers, in order, to root/opt (with or without the
    bytecode in them); the environment Lambda would start it with."""
    resources = json.loads((out / "sam.json").read_text())["Resources"]
    properties = resources[function]["Properties"]
    zips = [(out / properties["CodeUri"], root / "var" / "task")]
    zips += [(out / resources[layer["Ref"]]["Properties"]["ContentUri"], root / "opt")
             for layer in properties.get("Layers", [])]
    for zip_path, destination in zips:
        with zipfile.ZipFile(zip_path) as archive:
            archive.extractall(destination, [name for name in archive.namelist()
                                             if bytecode or not name.endswith(".pyc")])
    runtime = properties["Runtime"]
    task, opt = root / "var" / "task", root / "opt"
    variables = properties.get("Environment", {}).get("Variables", {})
    return {
        **{name: value if isinstance(value, str) else f"placeholder-{name.lower()}" for name, value in variables.items()},
        "PATH": os.environ.get("PATH", ""), "LANG": "en_US.UTF-8", "TZ": ":UTC",
        "PYTHONPATH": f"{task}:{opt}/python/lib/{runtime}/site-packages:{opt}/python",
        "PYTHONDONTWRITEBYTECODE": "1",  # the file system is read-only on Lambda
        "LAMBDA_TASK_ROOT": str(task), "AWS_EXECUTION_ENV": f"AWS_Lambda_{runtime}",
        "AWS_LAMBDA_FUNCTION_NAME": function, "AWS_REGION": REGION, "AWS_DEFAULT_REGION": REGION,
    }


def runtime_python(where: Path) -> Path:
    """An interpreter like Lambda's: this Python, `site` imported, and no package of its own."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(where / "runtime")], check=True)
    return where / "runtime" / "bin" / "python"


def start_seconds(python: Path, environment: dict[str, str], code: str) -> tuple[float, float]:
    """(wall seconds from starting `python` until `code` has run in it, its exit not counted; the CPU seconds it used
    until then, as it reports them)."""
    task = environment.get("LAMBDA_TASK_ROOT", "/")
    with tempfile.TemporaryFile() as errors:
        started = time.perf_counter()
        report = "import sys, time\nsys.stdout.write(f'done {time.process_time()}\\n')\nsys.stdout.flush()"
        process = subprocess.Popen([str(python), "-c", f"{code}\n{report}"], cwd=task, env=environment,
                                   stdout=subprocess.PIPE, stderr=errors, text=True)
        line = process.stdout.readline()
        seconds = time.perf_counter() - started
        process.communicate()
        if not line.startswith("done ") or process.returncode != 0:
            errors.seek(0)
            raise SystemExit(f"{code!r} failed in {task}:\n{errors.read().decode()}")
    return seconds, float(line.split()[1])


def import_profile(python: Path, environment: dict[str, str], runs: int) -> list[tuple[str, float, float]]:
    """`-X importtime` of `import app`: [(module, self, cumulative seconds)], medians over `runs` processes."""
    self_times, cumulative_times = defaultdict(list), defaultdict(list)
    for _ in range(runs):
        done = subprocess.run([str(python), "-X", "importtime", "-c", "import app"], cwd=environment["LAMBDA_TASK_ROOT"],
                              env=environment, capture_output=True, text=True, check=True)
        for match in re.finditer(r"import time:\s+(\d+) \|\s+(\d+) \| ( *)(\S+)", done.stderr):
            self_times[match.group(4)].append(int(match.group(1)) / 1e6)
            cumulative_times[match.group(4)].append(int(match.group(2)) / 1e6)
    return [(module, statistics.median(self_times[module]), statistics.median(cumulative_times[module]))
            for module in self_times]


def _package_of(module: str) -> str:
    top = module.split(".")[0]
    return top if top in {"chalicelib", "app", "chalice", "botocore", "boto3", "pynamodb", "msgspec", "urllib3",
                          "dateutil", "s3transfer", "jmespath", "six", "tzdata", "rsa", "pyasn1"} else "(standard library)"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", type=int, nargs="?", default=15)
    parser.add_argument("--out", type=Path, help="classpay's zips, as `make package` left them (default: built afresh)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="classpay-cold-start-") as tmp:
        where = Path(tmp)
        out = args.out.resolve() if args.out else classpay_artifacts(where)
        bare_out = bare_artifacts(where)
        python = runtime_python(where)
        bare = "bare chalice+boto3+pynamodb"
        cases: dict[tuple[str, bool], tuple[dict[str, str], str]] = {}  # (what, bytecode): (environment, code)
        for bytecode in (False, True):
            suffix = "bytecode" if bytecode else "source"
            cases[bare, bytecode] = (lay_out(bare_out, "APIHandler", where / f"bare-{suffix}", bytecode), "import app")
            for function in SHOWN:
                root = where / f"{function}-{suffix}"
                environment = lay_out(out, function, root, bytecode)
                cases[f"classpay {function}", bytecode] = (environment, "import app")
                if function in FIRST_USE:  # the smoke code runs in the layer's root, /opt
                    cases[f"classpay {function} + its layer's first use", bytecode] = (
                        environment, f"import app, os\nos.chdir({str(root / 'opt')!r})\n{FIRST_USE[function]}")
        cases["interpreter start (python -c pass)", True] = ({"PATH": os.environ.get("PATH", "")}, "pass")
        for _ in range(2):  # the page cache warmed for every variant
            for environment, code in cases.values():
                start_seconds(python, environment, code)
        samples = defaultdict(list)
        for _ in range(args.runs):
            for case, (environment, code) in cases.items():
                samples[case].append(start_seconds(python, environment, code))
        wall = {case: statistics.median(w for w, _ in values) for case, values in samples.items()}
        cpu = {case: statistics.median(c for _, c in values) for case, values in samples.items()}
        profile = import_profile(python, cases["classpay APIHandler", True][0], 5)

    print("cold start from the zips in Lambda's layout, nothing written: interpreter start and `import app`, "
          f"median of {args.runs} processes (wall time; CPU time in brackets)")
    print(f"  {'':<48} {'no bytecode':>20}  {'bytecode':>20}")
    for what in dict.fromkeys(case for case, bytecode in cases if bytecode):
        row = [f"{wall[what, b] * 1000:7.1f} ms ({cpu[what, b] * 1000:5.0f} ms)" if (what, b) in wall else ""
               for b in (False, True)]
        print(f"  {what:<48} {row[0]:>20}  {row[1]:>20}")
    print("  classpay ships its bytecode (make package); `chalice package` ships none: the bare app as shipped is "
          "its 'no bytecode'")
    print()
    ratios = {}
    for function, shown in SHOWN.items():
        shipped = wall[f"classpay {function}", True]
        ratios[function] = (shipped / wall[bare, False], shipped / wall[bare, True])
        targets = (f"target <= {TARGET_AS_SHIPPED}", f"target <= {TARGET_WITH_BYTECODE}") if function == "APIHandler" \
            else ("reported", "reported")
        print(f"ratio {shown} / bare as shipped: {ratios[function][0]:.2f}  ({targets[0]})")
        print(f"ratio {shown} / bare with bytecode: {ratios[function][1]:.2f}  ({targets[1]})")
    api_cpu = cpu["classpay APIHandler", True]
    print(f"the same in CPU time, API / bare: {api_cpu / cpu[bare, False]:.2f} as shipped, "
          f"{api_cpu / cpu[bare, True]:.2f} with bytecode (reported)")
    saved = {what: 1 - wall[what, True] / wall[what, False] for what in ("classpay APIHandler", bare)}
    print(f"bytecode saves the API function {saved['classpay APIHandler']:.0%} of its cold start, "
          f"the bare app {saved[bare]:.0%}")
    print()
    print("where the API function's `import app` goes (-X importtime from its zips with bytecode, self times, median of 5;"
          " the standard library's is mostly botocore's and urllib3's)")
    by_package = defaultdict(float)
    for module, own, _ in profile:
        by_package[_package_of(module)] += own
    total = sum(by_package.values())
    print("  " + ", ".join(f"{package} {seconds * 1000:.0f} ms" for package, seconds in
                           sorted(by_package.items(), key=lambda item: -item[1])) + f"; total {total * 1000:.0f} ms")
    print("  slowest modules (self time):")
    for module, own, cumulative in sorted(profile, key=lambda row: -row[1])[:12]:
        print(f"    {module:<52} {own * 1000:6.1f} ms  (cumulative {cumulative * 1000:6.1f} ms)")
    met = ratios["APIHandler"][0] <= TARGET_AS_SHIPPED and ratios["APIHandler"][1] <= TARGET_WITH_BYTECODE
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
