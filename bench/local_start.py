"""`make run` as a newcomer meets it: a clean clone of HEAD, a new venv, and three starts.

    .venv/bin/python bench/local_start.py

1. `make run` in the clone: the install of requirements-run.txt (timed by its own last line), then the first
   start on an empty emulator to a healthy API (`GET /health` answers 200), demo data and history included;
   a learner signs up, then SIGTERM to make's process group (a script's SIGINT may be ignored; infra/local.py
   stops the same on both).
2. `make run` again: the restart restores the saved state; time to a healthy API, and the learner of step 1
   logs in with their password.
3. `make reset`, then `make run`: a fresh start with the venv in place (the issue's "a fresh machine reaches
   a healthy API in <= 60 s after the install").
Every line `make run` printed (its progress, with seconds since its start) follows the figures.
"""

import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from repository import ROOT

from infra.stack import free_port

HEALTH_TIMEOUT = 600


def _call(url: str, body: dict | None = None) -> tuple[int, dict]:
    request = urllib.request.Request(url, data=json.dumps(body).encode() if body is not None else None,
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, json.loads(answer.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, {}
    except OSError:
        return 0, {}


class Run:
    """One `make run` in `clone`, its output collected, stopped like Ctrl-C."""

    def __init__(self, clone: Path, environment: dict[str, str]) -> None:
        self.output = Path(tempfile.mkstemp(suffix=".log")[1])
        self.started = time.monotonic()
        self.process = subprocess.Popen(["make", "run"], cwd=clone, env=environment, stdout=self.output.open("w"),
                                        stderr=subprocess.STDOUT, start_new_session=True)

    def healthy_after(self, base: str) -> float:
        """Seconds until `GET /health` answers 200 (the API serves while the first start still writes the
        history: the history is done when make run says `Ready.`, see `ready_after`)."""
        deadline = self.started + HEALTH_TIMEOUT
        while _call(f"{base}/health")[0] != 200:
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"make run did not become healthy:\n{self.text()}")
            time.sleep(0.2)
        return time.monotonic() - self.started

    def ready_after(self) -> float:
        """Seconds until make run said `Ready.` (the demo data and history written, the banner next)."""
        deadline = self.started + HEALTH_TIMEOUT
        while "] Ready." not in self.text():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"make run did not say Ready:\n{self.text()}")
            time.sleep(0.2)
        return time.monotonic() - self.started

    def text(self) -> str:
        return self.output.read_text()

    def stop(self) -> None:
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)


def _seconds(pattern: str, text: str) -> float | None:
    found = re.search(pattern, text)
    return float(found.group(1)) if found else None


def main() -> int:
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                            check=True).stdout.strip()
    api_port = free_port()
    moto_port = free_port(avoid=(api_port,))
    web_port = free_port(avoid=(api_port, moto_port))
    base = f"http://127.0.0.1:{api_port}"
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "VIRTUAL_ENV"))}
    environment.update(API_PORT=str(api_port), MOTO_PORT=str(moto_port), WEB_PORT=str(web_port))
    environment.pop("PYTHONDONTWRITEBYTECODE", None)  # a newcomer's Python writes bytecode: the second start uses it
    with tempfile.TemporaryDirectory() as scratch:
        clone = Path(scratch) / "classpay"
        subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True)

        first = Run(clone, environment)
        first.healthy_after(base)
        first_total = first.ready_after()
        email = "bench-restart@classpay.test"
        signed_up = _call(f"{base}/auth/signup", {"email": email, "password": "Bench-pass-1", "name": "Bench",
                                                 "roles": ["learner"]})[0]
        first.stop()
        install = _seconds(r"Installed requirements-run.txt in (\d+) s", first.text()) or 0.0
        venv_mb = sum(f.stat().st_size for f in (clone / ".venv").rglob("*") if f.is_file()) / 1e6
        packages = len(list((clone / ".venv").glob("lib/python*/site-packages/*.dist-info")))

        restart = Run(clone, environment)
        restart.healthy_after(base)
        restart_total = restart.ready_after()
        logged_in = _call(f"{base}/auth/login", {"email": email, "password": "Bench-pass-1"})[0]
        restart.stop()

        subprocess.run(["make", "reset"], cwd=clone, env=environment, check=True, capture_output=True)
        fresh = Run(clone, environment)
        fresh_healthy = fresh.healthy_after(base)
        fresh_total = fresh.ready_after()
        fresh.stop()

    history = re.search(r"\[\s*([\d.]+) s\] Writing the demo.*?\n\[\s*([\d.]+) s\]", fresh.text(), re.S)
    out = sys.stdout.write
    out(f"make run from a clean clone of {commit} (loopback, this machine; load average "
        f"{os.getloadavg()[0]:.1f} at the end)\n")
    out(f"install of requirements-run.txt into a new venv: {install:.0f} s ({packages} packages, {venv_mb:.0f} MB)\n")
    out(f"first start after the install to Ready: {first_total - install:.1f} s "
        f"(make run in all: {first_total:.1f} s)\n")
    out(f"fresh start (make reset, venv in place) to a healthy API: {fresh_healthy:.1f} s; to Ready "
        f"(demo data and history written): {fresh_total:.1f} s\n")
    if history:
        out(f"demo history (90 days) written in: {float(history.group(2)) - float(history.group(1)):.1f} s\n")
    out(f"restart (state restored) to Ready: {restart_total:.1f} s; a learner signed up before it "
        f"(status {signed_up}) logs in after it: status {logged_in}\n")
    out("\nwhat the fresh start printed:\n")
    for line in fresh.text().splitlines():
        if line.startswith("[") or line.startswith("classpay is running"):
            out(f"  {line}\n")
    return 0 if signed_up == 202 and logged_in == 200 else 1


if __name__ == "__main__":
    sys.exit(main())
