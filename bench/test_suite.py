"""`make test` as CI runs it: a clean clone of HEAD, a new venv, lint, package, every test; the wall-clock
time (target: 15 minutes on a 2-core machine) and the slowest tests the run printed.

    .venv/bin/python bench/test_suite.py
"""

import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from repository import ROOT


def main() -> int:
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                            check=True).stdout.strip()
    with tempfile.TemporaryDirectory() as scratch:
        clone = Path(scratch) / "classpay"
        subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True)
        started = time.monotonic()
        result = subprocess.run(["make", "test"], cwd=clone, capture_output=True, text=True, check=False)
        seconds = time.monotonic() - started
    output = result.stdout + result.stderr
    sys.stdout.write(f"make test from a clean clone of {commit}: {seconds:.0f} s (exit code {result.returncode})\n")
    for summary in re.findall(r"(?m)^=*\s*(\d+ passed.*?) in [\d.]+s", output):
        sys.stdout.write(f"  {summary}\n")
    slowest = re.search(r"slowest \d+ durations =+\n(.*?)\n(?=\d+ passed|=|\n)", output, re.S)
    if slowest:
        sys.stdout.write("slowest tests:\n")
        for line in slowest.group(1).splitlines():
            sys.stdout.write(f"  {line}\n")
    if result.returncode:
        sys.stdout.write(output[-3000:] + "\n")
    return result.returncode


if __name__ == "__main__":
    sys.exit(main())
