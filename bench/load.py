"""Load on `chalice local` over an emulated AWS: the learner path (browse -> detail -> buy) with locust.

Starts the `make run` stack on its own loopback ports (`infra/stack.py`),
runs locust headless with a few users, bounded by time AND by a number of
requests (whichever comes first; requests in flight then finish), and prints
the figures per request, then `GET /admin/reconciliation` as the demo admin:
it must be ok (exit code 1 otherwise, as for a failed request). Nothing listens
beyond 127.0.0.1, and the locustfile refuses any other host.

    .venv/bin/python bench/load.py [SECONDS] [USERS] [MAX_REQUESTS]   # default 30 4 1000
"""

import csv
import ipaddress
import os
import subprocess
import sys
import tempfile
import urllib.parse
from pathlib import Path

from repository import ROOT

from infra.stack import clean_environment, running_stack
from infra.stack_client import demo_admin

MOTO_PORT = int(os.environ.get("BENCH_MOTO_PORT", "5805"))
API_PORT = int(os.environ.get("BENCH_API_PORT", "8805"))


def main() -> int:
    seconds = int(sys.argv[1]) if len(sys.argv) > 1 else 30
    users = int(sys.argv[2]) if len(sys.argv) > 2 else 4
    max_requests = int(sys.argv[3]) if len(sys.argv) > 3 else 1000
    with running_stack(MOTO_PORT, API_PORT) as base_url, tempfile.TemporaryDirectory() as scratch:
        assert ipaddress.ip_address(urllib.parse.urlsplit(base_url).hostname).is_loopback, base_url
        prefix = Path(scratch) / "load"
        command = [str(Path(sys.executable).parent / "locust"), "-f", str(ROOT / "bench" / "locustfile.py"),
                   "--headless", "--host", base_url, "--users", str(users), "--spawn-rate", str(users),
                   "--run-time", f"{seconds}s", "--csv", str(prefix), "--only-summary", "--loglevel", "WARNING",
                   "--stop-timeout", "5", "--max-requests", str(max_requests)]
        result = subprocess.run(command, env=clean_environment(), capture_output=True, text=True, check=False)
        rows = list(csv.DictReader(open(f"{prefix}_stats.csv")))
        reconciliation = demo_admin(base_url).reconciliation()  # the ledger after the load, as the demo admin
    total = sum(int(r["Request Count"]) for r in rows if r["Name"] == "Aggregated")  # failures included
    bound = f"stopped at the request bound ({max_requests})" if total >= max_requests else \
        f"stopped at the time bound ({total} of at most {max_requests} requests)"
    sys.stdout.write(f"locust {users} users for at most {seconds} s and {max_requests} requests against chalice local "
                     f"on moto (loopback): {bound}\n")
    sys.stdout.write(f"  {'request':<24}{'count':>7}{'fail':>6}{'req/s':>8}{'p50 ms':>8}{'p95 ms':>8}{'p99 ms':>8}\n")
    for row in rows:
        sys.stdout.write(f"  {row['Name']:<24}{row['Request Count']:>7}{row['Failure Count']:>6}"
                         f"{float(row['Requests/s']):>8.1f}{row['50%']:>8}{row['95%']:>8}{row['99%']:>8}\n")
    failures = sum(int(r["Failure Count"]) for r in rows if r["Name"] == "Aggregated")
    sys.stdout.write(f"failures: {failures}\n")
    violations = reconciliation["violations"]
    sys.stdout.write(f"reconciliation: ok {str(reconciliation['ok']).lower()}, violations {len(violations)}\n")
    for violation in violations[:20]:
        sys.stdout.write(f"  {violation}\n")
    return 0 if result.returncode in (0, 1) and failures == 0 and reconciliation["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
