"""`make bench`: run every benchmark in bench/ and rewrite bench/RESULTS.md from what they print.

Each benchmark runs as its own process; its output goes into RESULTS.md verbatim
under a header naming the machine and the versions, with a summary table of
the measured figure, the target and their ratio (measured / target: <= 1.00
meets a "at most" target). The analysis of earlier runs is in bench/NOTES.md.

    .venv/bin/python bench/run_all.py                       # every benchmark
    .venv/bin/python bench/run_all.py launch_day.py test_suite.py   # only these; the others' sections are kept
"""

import datetime
import importlib.metadata
import os
import platform
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent
RESULTS = ROOT / "RESULTS.md"

# (script and arguments, what it measures)
BENCHMARKS = [
    (["test_suite.py"], "`make test` from a clean clone (new venv, lint, package, every test) on this machine"),
    (["local_start.py"], "`make run` from a clean clone: the install, the first start, a restart that keeps the data, "
                         "a fresh start after `make reset`"),
    (["cold_start.py"], "cold start from the zips `make package` builds (Lambda's layout, nothing written, interpreter "
                        "start included): each function vs a bare Chalice+boto3+PynamoDB app, with and without bytecode"),
    (["catalog.py", "10000", "100"], "catalog routes over 10,000 courses: DynamoDB calls and handler time"),
    (["ledger_calls.py"], "DynamoDB calls per money request"),
    (["orders.py", "40"], "purchases and refunds: DynamoDB calls (with and without a coupon), the items purchases share "
                          "(40 courses, one learner each), moto throughput with 1 and 8 threads"),
    (["checkout_calls.py", "12"], "checkout: DynamoDB calls per create and confirm, and the items checkouts of 12 "
                                  "different instructors share"),
    (["package_size.py"], "deployment package size (with bytecode) vs the bare app"),
    (["learning_calls.py", "50"], "learning routes: DynamoDB calls per request"),
    (["dashboard_calls.py"], "instructor dashboard over a year: DynamoDB calls and handler time"),
    (["payouts.py", "1000", "10000"], "weekly payouts at 1,000 and 10,000 instructors (~10 and ~100 thousand ledger "
                                      "entries): the fan-out, the worker on a sample, linearity"),
    (["load.py", "30", "4", "1000"], "locust on `chalice local`: browse -> detail -> buy, 4 users, at most 30 s and "
                                     "1,000 requests, then the reconciliation"),
    (["launch_day.py", "200", "50"], "launch day: 200 new learners buy one course and a seat of its 50-seat live session "
                                     "at once over `chalice local` on moto (TransactionConflict emulated), then the "
                                     "wallets and the reconciliation"),
]

# (script, what, regex whose group 1 is the measured figure, target (None: reported, no target), unit)
TARGETS = [
    ("test_suite.py", "make test from a clean clone, wall clock", r"make test from a clean clone of \w+: (\d+) s", 900, "s"),
    ("local_start.py", "make run: install of requirements-run.txt into a new venv",
     r"install of requirements-run.txt into a new venv: (\d+) s", None, "s"),
    ("local_start.py", "make run: a fresh start to a healthy API, after the install (issue 19: <= 60 s)",
     r"fresh start \(make reset, venv in place\) to a healthy API: ([\d.]+) s", 60, "s"),
    ("local_start.py", "make run: the demo history (90 days) written", r"demo history \(90 days\) written in: ([\d.]+) s",
     15, "s"),
    ("local_start.py", "make run: a restart (the saved state restored) to Ready",
     r"restart \(state restored\) to Ready: ([\d.]+) s", None, "s"),
    ("cold_start.py", "cold start, the API function / the bare app as `chalice package` ships it (no bytecode)",
     r"ratio API / bare as shipped:\s+([\d.]+)", 0.55, "x"),
    ("cold_start.py", "cold start, the API function / the bare app with bytecode",
     r"ratio API / bare with bytecode:\s+([\d.]+)", 1.3, "x"),
    ("cold_start.py", "cold start, DrawingHandler / the bare app as shipped",
     r"ratio drawing / bare as shipped:\s+([\d.]+)", None, "x"),
    ("cold_start.py", "cold start, DrawingHandler / the bare app with bytecode",
     r"ratio drawing / bare with bytecode:\s+([\d.]+)", None, "x"),
    ("cold_start.py", "cold start, the payout worker / the bare app as shipped",
     r"ratio payout worker / bare as shipped:\s+([\d.]+)", None, "x"),
    ("cold_start.py", "cold start, the payout worker / the bare app with bytecode",
     r"ratio payout worker / bare with bytecode:\s+([\d.]+)", None, "x"),
    ("cold_start.py", "cold start of the API function as shipped (interpreter start and import app)",
     r"classpay APIHandler\s+[\d.]+ ms \(\s*\d+ ms\)\s+([\d.]+) ms", None, "ms"),
    ("cold_start.py", "cold start of the bare app as `chalice package` ships it",
     r"bare chalice\+boto3\+pynamodb\s+([\d.]+) ms", None, "ms"),
    ("catalog.py", "DynamoDB calls for a listing page", r"GET /courses \(popular, all\)\s+([\d.]+)", 1, "calls"),
    ("catalog.py", "DynamoDB calls for a course page", r"GET /courses/\{id\}\s+([\d.]+)", 1, "calls"),
    ("ledger_calls.py", "TransactWriteItems per confirm", r"POST \.\.\./confirm\s+200\s+\d+ calls:.*?(\d+) TransactWriteItems",
     1, "transactions"),
    ("orders.py", "reads per purchase (issue: <= 2 reads + 1 TransactWriteItems)", r"plain purchase\s+reads (\d+)", 2,
     "reads"),
    ("orders.py", "reads per purchase with a coupon (issue: <= 2 reads)", r"with a coupon\s+reads (\d+)", 2, "reads"),
    ("orders.py", "TransactWriteItems per purchase with a coupon", r"with a coupon\s+reads.*?TransactWriteItems (\d+)",
     1, "transactions"),
    ("orders.py", "writes per purchase outside the transaction (the idempotency claim PutItem; not in the issue's target)",
     r"with a coupon\s+reads.*?other writes (\d+)", None, "writes"),
    ("orders.py", "items shared by purchases of different courses of different instructors, all pairs (none: no "
     "TransactionConflict possible on DynamoDB)", r"different courses of different instructors:\s+(\d+)", 0, "items"),
    ("orders.py", "items shared per pair of purchases of different courses of ONE instructor (its pending balance, "
     "its day's stats: these can conflict)",
     r"different courses of the same instructor:\s+(\d+)", None, "items"),
    ("checkout_calls.py", "TransactWriteItems per checkout confirm (card)",
     r"card, 1 course\s+POST \.\.\./confirm\s+reads.*?TransactWriteItems (\d+)", 1, "transactions"),
    ("checkout_calls.py", "reads per checkout confirm (the checkout; the courses' revenue splits)",
     r"card, 1 course\s+POST \.\.\./confirm\s+reads (\d+)", None, "reads"),
    ("checkout_calls.py", "reads per checkout create, a cart of 2 with a seat, a coupon and a wallet part",
     r"cart of 2 \(seat, coupon, wallet part\)\s+POST /checkouts\s+reads (\d+)", None, "reads"),
    ("checkout_calls.py", "TransactWriteItems per checkout create (the holds)",
     r"card, 1 course\s+POST /checkouts\s+reads.*?TransactWriteItems (\d+)", 1, "transactions"),
    ("checkout_calls.py", "items shared by checkouts (created and confirmed) of different instructors, all pairs",
     r"items shared by checkouts of different instructors: (\d+)", 0, "items"),
    ("package_size.py", "package ratio, the API function (all routes but the drawn), the authorizer, "
     "the jobs / bare", r"ratio classpay / bare:\s+([\d.]+)", 1.2, "x"),
    ("package_size.py", "package ratio, the API function / the bare app with bytecode (both with bytecode)",
     r"ratio classpay / bare with bytecode:\s+([\d.]+)", None, "x"),
    ("package_size.py", "package ratio, DrawingHandler (the PNG and PDF routes, with Pillow) / bare",
     r"ratio drawing function / bare:\s+([\d.]+)", None, "x"),
    ("package_size.py", "package ratio, the payout worker (with cryptography) / bare",
     r"ratio payout worker / bare:\s+([\d.]+)", None, "x"),
    ("dashboard_calls.py", "Queries for a one-year dashboard of one course (+2 GetItem: owner, time zone)",
     r"dashboard, one course, 366 days by day.*?Query (\d+)", 1, "queries"),
    ("payouts.py", "fan-out for 10,000 instructors, measured on moto (SQS a recording stand-in)",
     r"fan-out for 10,000 instructors: ([\d.]+) s on moto", 900, "s"),
    ("payouts.py", "fan-out for 10,000 instructors projected on AWS (its calls x 20 ms, one after another)",
     r"projected on AWS ([\d.]+) s", 900, "s"),
    ("payouts.py", "fan-out calls per instructor, 10,000 vs 1,000 instructors (linear)",
     r"fan-out calls per instructor, largest / smallest size: ([\d.]+)", 1.1, "x"),
    ("payouts.py", "worker DynamoDB calls per payout, 10,000 vs 1,000 instructors",
     r"worker DynamoDB calls per payout, largest / smallest: ([\d.]+)", 1, "x"),
    ("load.py", "failed requests on the learner path", r"failures:\s+(\d+)", 0, "failures"),
    ("load.py", "reconciliation violations after the load", r"reconciliation: ok \w+, violations (\d+)", 0,
     "violations"),
    ("launch_day.py", "purchases paid (50 seats, 200 buyers)", r"(?m)^\s+paid\s+(\d+)$", None, "orders"),
    ("launch_day.py", "purchases answered SOLD_OUT", r"(?m)^\s+SOLD_OUT\s+(\d+)$", None, "orders"),
    ("launch_day.py", "purchases answered another 4xx", r"(?m)^\s+other 4xx\s+(\d+)$", None, "orders"),
    ("launch_day.py", "purchases failed (5xx, connection errors, CONFLICT after the app's retries)",
     r"(?m)^\s+failed\s+(\d+)\s", 0, "purchases"),
    ("launch_day.py", "TransactionConflict retries by the app (its log's \"transaction contention\" lines)",
     r"conflicts retried\s+(\d+)", None, "retries"),
    ("launch_day.py", "purchase latency p50, all 200 at once", r"latency\s+p50 (\d+) ms", None, "ms"),
    ("launch_day.py", "purchase latency p95, all 200 at once", r"latency\s+p50 \d+ ms\s+p95 (\d+) ms", None, "ms"),
    ("launch_day.py", "wallets not charged exactly once per paid order", r"wallets not as expected (\d+)", 0,
     "wallets"),
    ("launch_day.py", "reconciliation violations after the launch", r"reconciliation: ok \w+, violations (\d+)", 0,
     "violations"),
]

VERSIONS = ["chalice", "boto3", "pynamodb", "msgspec", "moto", "locust", "schemathesis"]


def _machine() -> list[str]:
    versions = []
    for name in VERSIONS:
        try:
            versions.append(f"{name} {importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            continue
    return [
        f"- Written: {datetime.datetime.now(datetime.UTC).strftime('%Y-%m-%d %H:%M UTC')} (each section says when it ran)",
        f"- Machine: {platform.machine()}, {os.cpu_count()} cores, {platform.system()} {platform.release()}",
        f"- Python {platform.python_version()}; " + ", ".join(versions),
    ]


def _target(target: float | None, unit: str) -> str:
    if target is None:
        return "none (reported)"
    return f"{'<=' if target else '='} {target:g} {unit}"


def _ratio(measured: float, target: float | None) -> str:
    if target is None:
        return "-"
    if target == 0:
        return "meets" if measured == 0 else "MISSED"
    ratio = measured / target
    return f"{ratio:.2f}" + ("" if ratio <= 1.0 else "  MISSED")


def _kept_sections() -> dict[str, tuple[str, str]]:
    """The sections of the RESULTS.md on disk: script -> (its heading line's detail, its output)."""
    if not RESULTS.exists():
        return {}
    text = RESULTS.read_text()
    earlier = re.search(r"^- Run: (.+)$", text, re.M)  # RESULTS.md from before sections named their run
    sections = re.findall(r"## `bench/(\S+)[^`]*`\n\n(.*?)\n\n```\n(.*?)\n```", text, re.S)
    return {script: (detail if "; run " in detail or not earlier else f"{detail[:-1]}; run {earlier.group(1)})",
                     output) for script, detail, output in sections}


def main() -> int:
    only = set(sys.argv[1:])
    unknown = only - {arguments[0] for arguments, _ in BENCHMARKS}
    if unknown:
        sys.stderr.write(f"no such benchmark: {', '.join(sorted(unknown))}\n")
        return 2
    kept = _kept_sections() if only else {}
    run_at = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    outputs: dict[str, tuple[str, str, int]] = {}
    for arguments, what in BENCHMARKS:
        script = arguments[0]
        if only and script not in only:
            detail, output = kept.get(script, (f"{what} (not run yet)", ""))
            outputs[script] = (output, detail, 0)
            continue
        sys.stdout.write(f"== {script} ({what})\n")
        sys.stdout.flush()
        started = time.monotonic()
        result = subprocess.run([sys.executable, str(ROOT / script), *arguments[1:]], cwd=ROOT.parent,
                                capture_output=True, text=True, check=False)
        output = result.stdout.strip() or result.stderr.strip()[-3000:]
        status = "" if result.returncode == 0 else f", exit code {result.returncode}"
        outputs[script] = (output, f"{what} ({time.monotonic() - started:.0f} s{status}; run {run_at})",
                           result.returncode)
        sys.stdout.write(output + "\n")
    lines = ["# Benchmark results", "",
             "Written by `make bench` (`bench/run_all.py`); do not edit by hand. Analysis of earlier runs: "
             "[NOTES.md](NOTES.md).", "", *_machine(), "",
             "## Targets", "", "| benchmark | figure | measured | target | ratio |", "|---|---|---|---|---|"]
    for script, what, pattern, target, unit in TARGETS:
        match = re.search(pattern, outputs.get(script, ("", 0, 1))[0])
        if match:
            measured = float(match.group(1))
            lines.append(f"| {script} | {what} | {measured:g} {unit} | {_target(target, unit)} | "
                         f"{_ratio(measured, target)} |")
        else:
            lines.append(f"| {script} | {what} | not measured | {_target(target, unit)} | - |")
    lines += [""]
    for arguments, _what in BENCHMARKS:
        output, detail, _code = outputs[arguments[0]]
        lines += [f"## `bench/{' '.join(arguments)}`", "", detail, "", "```", output, "```", ""]
    RESULTS.write_text("\n".join(lines))
    sys.stdout.write(f"wrote {RESULTS.relative_to(ROOT.parent)}\n")
    return max(code for _, _, code in outputs.values())


if __name__ == "__main__":
    sys.exit(main())
