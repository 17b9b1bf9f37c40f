"""Cold start: `import app` in a fresh process, classpay against a bare Chalice + boto3 + PynamoDB app.

Each run is a new interpreter (as a new Lambda container would be); the
figure is the median wall time of the import alone, measured inside the
process, over RUNS runs. Target: classpay / bare <= 1.3.

    .venv/bin/python bench/cold_start.py [RUNS]
"""

import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET_RATIO = 1.3
MEASURE = "import time; t = time.perf_counter(); import app; print(time.perf_counter() - t)"


def import_seconds(app_dir: Path, runs: int) -> list[float]:
    samples = []
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, "-X", "frozen_modules=on", "-c", MEASURE],
            cwd=app_dir, capture_output=True, text=True, check=True,
        )
        samples.append(float(out.stdout.strip().splitlines()[-1]))
    return samples


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    import_seconds(ROOT, 2)  # warm the filesystem cache and .pyc files for both
    import_seconds(ROOT / "bench" / "bare", 2)
    classpay = statistics.median(import_seconds(ROOT, runs))
    bare = statistics.median(import_seconds(ROOT / "bench" / "bare", runs))
    ratio = classpay / bare
    print(f"cold start, median of {runs} fresh processes")
    print(f"  bare chalice+boto3+pynamodb  {bare * 1000:7.1f} ms")
    print(f"  classpay app                 {classpay * 1000:7.1f} ms")
    print(f"  ratio                        {ratio:7.2f}  (target <= {TARGET_RATIO})")
    if ratio > TARGET_RATIO:
        sys.exit(1)


if __name__ == "__main__":
    main()
