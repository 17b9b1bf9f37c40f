"""`make run`: an emulated AWS on loopback, the stage's resources, demo data, then `chalice local`.

Starts a moto server as its own process (or reuses one already on MOTO_PORT),
runs the same bootstrap the tests use, seeds demo data, runs the scheduled jobs
on a local clock (each on its interval, in this process) and serves the API
with `chalice local --stage local` on 127.0.0.1:API_PORT. Ctrl-C stops what it
started. Nothing listens on any interface but loopback.
"""

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
STAGE = "local"


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.2)
        return probe.connect_ex((HOST, port)) == 0


def _wait_for(port: int, what: str, process: subprocess.Popen | None, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not _listening(port):
        if process is not None and process.poll() is not None:
            raise SystemExit(f"{what} exited with code {process.returncode}")
        if time.monotonic() > deadline:
            raise SystemExit(f"{what} did not start on {HOST}:{port}")
        time.sleep(0.2)


def _aws_environment(moto_port: int) -> dict[str, str]:
    return {
        "AWS_ENDPOINT_URL": f"http://{HOST}:{moto_port}",
        "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION", "ap-northeast-2"),
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
    }


def _local_clock(stop: threading.Event) -> None:
    """Run each job on its interval, as EventBridge would, against the same emulated AWS."""
    from chalicelib import clock
    from chalicelib.jobs import JOBS

    next_run = {name: 0.0 for name in JOBS}
    while not stop.wait(1.0):
        for name, job in JOBS.items():
            if time.monotonic() < next_run[name]:
                continue
            next_run[name] = time.monotonic() + job.every_seconds
            try:
                result = job.run(clock.now())
            except Exception as error:  # noqa: BLE001 - a failing job is reported and retried next tick
                print(f"[local clock] {name} failed: {error!r}", flush=True)
                continue
            if any(result.values()):
                print(f"[local clock] {name}: {result}", flush=True)


def _banner(api_port: int, accounts) -> str:
    base = f"http://{HOST}:{api_port}"
    logins = "\n".join(f"  {a.email:<28} {', '.join(a.roles + (('admin',) if a.admin else ()))}" for a in accounts)
    return f"""
classpay is running on {base}  (API document: {base}/docs)

Demo logins (password Classpay-demo-1):
{logins}

Try:
  curl -s {base}/health
  TOKEN=$(curl -s -X POST {base}/auth/login -H 'Content-Type: application/json' \\
      -d '{{"email": "learner@classpay.test", "password": "Classpay-demo-1"}}' \\
      | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
  curl -s {base}/me -H "Authorization: Bearer $TOKEN"

Ctrl-C stops everything.
"""


def main() -> int:
    api_port = int(os.environ.get("API_PORT", "8000"))
    moto_port = int(os.environ.get("MOTO_PORT", "5000"))
    if api_port == moto_port:
        raise SystemExit("API_PORT and MOTO_PORT must differ")
    if _listening(api_port):
        raise SystemExit(f"{HOST}:{api_port} is taken; set API_PORT")

    started: list[subprocess.Popen] = []
    os.environ.update(_aws_environment(moto_port))
    try:
        if _listening(moto_port):
            print(f"Reusing the AWS emulator already on {HOST}:{moto_port}")
        else:
            moto = subprocess.Popen(
                [sys.executable, "-m", "moto.server", "-H", HOST, "-p", str(moto_port)],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
            )
            started.append(moto)
            _wait_for(moto_port, "moto server", moto)

        from infra import bootstrap, seed

        os.environ.update(bootstrap.stage_environment(STAGE))
        os.environ.update(bootstrap.create_stage_resources(STAGE))
        accounts = seed.seed_demo()

        chalice = subprocess.Popen(
            [str(Path(sys.executable).parent / "chalice"), "local", "--stage", STAGE,
             "--host", HOST, "--port", str(api_port)],
            cwd=PROJECT_DIR, env=os.environ.copy(), start_new_session=True,
        )
        started.append(chalice)
        _wait_for(api_port, "chalice local", chalice)
        stop_clock = threading.Event()
        threading.Thread(target=_local_clock, args=(stop_clock,), daemon=True).start()
        print(_banner(api_port, accounts), flush=True)
        while all(process.poll() is None for process in started):
            time.sleep(0.5)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        for process in reversed(started):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in started:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)


if __name__ == "__main__":
    sys.exit(main())
