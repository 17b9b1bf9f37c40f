"""The `make run` stack on any ports, for tools that attack it from outside (fuzzer, load test).

    python -m infra.stack --moto-port 5801 --api-port 8801 [--api-log FILE]

starts a moto server on loopback, bootstraps the `local` stage's resources,
seeds the demo data and serves `chalice local` — `make run`'s `emulated_stack`
(`infra/local.py`), without the local job clock — then prints
`READY <api url>` and waits until it is terminated (SIGTERM/SIGINT), stopping
what it started. From Python, `running_stack(moto_port, api_port)` runs it as
a child process (its own environment, so an in-process moto of a test session
never sees it) and yields the API's base URL.
"""

import argparse
import contextlib
import os
import random
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from infra.local import HOST, emulated_stack, stop_like_ctrl_c, wait_while_running
from infra.project import PROJECT_DIR, chalice_config


def serve(moto_port: int, api_port: int, api_log: Path | None = None, demo_data: bool = True) -> int:
    stop_like_ctrl_c()
    try:
        with emulated_stack(moto_port, api_port, reuse_moto=False, quiet=True, api_log=api_log,
                            demo_data=demo_data) as (_, started):
            sys.stdout.write(f"READY http://{HOST}:{api_port}\n")
            sys.stdout.flush()
            wait_while_running(started)
            return 1
    except KeyboardInterrupt:
        return 0


# Below Linux's ephemeral ports (32768 and up): a port from here is never handed to another program's
# bind to port 0 or outgoing connection while the server it is for boots (15-25 s for a stack).
FREE_PORTS = range(20000, 32000)


def free_port(*, avoid: tuple[int, ...] = ()) -> int:
    """A loopback port nobody listens on now, for a server started next (not one of `avoid`, taken already)."""
    for _ in range(200):
        port = random.choice(FREE_PORTS)
        if port in avoid:
            continue
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free loopback port in {FREE_PORTS.start}..{FREE_PORTS.stop - 1}")


def clean_environment() -> dict[str, str]:
    """The caller's environment without the AWS and stage settings a test session may have put there."""
    stages = chalice_config()["stages"].values()
    managed = {name for stage in stages for name in stage.get("environment_variables", {})}
    managed |= {"USER_POOL_ID", "USER_POOL_CLIENT_ID", "PAYOUT_ACCOUNT_KEY_ID", "CLASSPAY_UPDATE_POLICY"}
    return {k: v for k, v in os.environ.items() if not k.startswith("AWS_") and k not in managed}


@contextlib.contextmanager
def running_stack(moto_port: int, api_port: int, timeout: float = 180, api_log: Path | None = None,
                  demo_data: bool = True) -> Iterator[str]:
    """Run the stack in a child process; yield the API's base URL; stop it afterwards. With `api_log`,
    the API's output (one JSON line per request and per logged event) is appended to that file; without
    `demo_data`, the demo accounts only (no courses, wallets or history)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "infra.stack", "--moto-port", str(moto_port), "--api-port", str(api_port),
         *(["--api-log", str(api_log)] if api_log is not None else []), *([] if demo_data else ["--no-demo-data"])],
        cwd=PROJECT_DIR, env=clean_environment(), stdout=subprocess.PIPE, text=True, start_new_session=True,
    )
    try:
        deadline = time.monotonic() + timeout
        line = ""
        while not line.startswith("READY"):
            line = process.stdout.readline()
            if not line and process.poll() is not None:
                raise RuntimeError(f"the stack exited with code {process.returncode}")
            if time.monotonic() > deadline:
                raise RuntimeError("the stack did not start in time")
        yield line.split()[1]
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--moto-port", type=int, default=int(os.environ.get("MOTO_PORT", "5000")))
    parser.add_argument("--api-port", type=int, default=int(os.environ.get("API_PORT", "8000")))
    parser.add_argument("--api-log", type=Path, default=None,
                        help="append the API's output (its JSON log lines) to this file instead of discarding it")
    parser.add_argument("--no-demo-data", dest="demo_data", action="store_false",
                        help="seed the demo accounts only (no courses, wallets or history)")
    arguments = parser.parse_args()
    return serve(arguments.moto_port, arguments.api_port, arguments.api_log, arguments.demo_data)


if __name__ == "__main__":
    code = main()
    # What it started is stopped; skip the interpreter's last garbage collection of the bootstrap's and
    # the seed's boto3 and PynamoDB objects, which took ~5 s of every stop (the tests and benchmarks wait).
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
