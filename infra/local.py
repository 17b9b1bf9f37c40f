"""`make run`: an emulated AWS on loopback, the stage's resources, demo data, then `chalice local`.

Starts a moto server with DynamoDB's guarantees (`infra/emulator.py`) as its own process (or reuses one already on MOTO_PORT),
runs the same bootstrap the tests use, seeds demo data, runs the scheduled jobs
on a local clock (each on the app's own rate()/cron() schedule, through its
Lambda handler, in this process), delivers the SQS queues to their workers
(polling the emulated queues) and serves the API with `chalice local --stage
local` on 127.0.0.1:API_PORT (through `infra/api_server.py`, which gives chalice's
server a listen backlog for bursts of clients). Ctrl-C stops what it started. Nothing listens on
any interface but loopback. Mail is sent to moto's SES: each mail is one log
line (`mail sent`), and moto keeps the mail itself (README, "Payouts and jobs").
"""

import contextlib
import io
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from infra.project import PROJECT_DIR, Refusal, run_command, stage_environment

HOST = "127.0.0.1"
STAGE = "local"
# `make run`'s emulated AWS, kept across runs (ignored by git; `make reset` deletes it)
STATE_FILE = PROJECT_DIR / ".local" / "aws-state.pickle"


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.2)
        return probe.connect_ex((HOST, port)) == 0


def _wait_for(port: int, what: str, process: subprocess.Popen | None, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not _listening(port):
        if process is not None and process.poll() is not None:
            raise Refusal(f"{what} exited with code {process.returncode}")
        if time.monotonic() > deadline:
            raise Refusal(f"{what} did not start on {HOST}:{port}")
        time.sleep(0.2)


def _aws_environment(moto_port: int) -> dict[str, str]:
    return {
        "AWS_ENDPOINT_URL": f"http://{HOST}:{moto_port}",
        "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION", "ap-northeast-2"),
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
    }


def _context(function: str):
    from chalice.local import LambdaContext

    return LambdaContext(function, memory_size=512)


def _scheduled_event(function: str, moment: datetime) -> dict:
    return {"version": "0", "id": f"local-{function}-{int(moment.timestamp())}", "detail-type": "Scheduled Event",
            "source": "aws.events", "account": "000000000000", "time": moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "region": os.environ.get("AWS_DEFAULT_REGION", ""), "resources": [], "detail": {}}


def _local_clock(app, stop: threading.Event) -> None:
    """Run each scheduled function on the app's own schedule (its rate() or cron() expression, read
    from `app.event_sources`), as EventBridge would: through its Lambda handler, in this process,
    against the same emulated AWS. A rate() job also runs once at start; a cron() job when its
    minute comes (UTC)."""
    from infra.schedules import Cron, schedules

    planned = schedules(app)
    last_run: dict[str, float] = {}
    last_minute = None
    for name, (expression, _) in sorted(planned.items()):
        print(f"[local clock] {name}: {expression}", flush=True)
    while not stop.wait(1.0):
        now = datetime.now(UTC)
        minute = now.replace(second=0, microsecond=0)
        for name, (_expression, schedule) in planned.items():
            if isinstance(schedule, Cron):
                if minute == last_minute or not schedule.matches(now):
                    continue
            elif not schedule.is_due(last_run.get(name), time.monotonic()):
                continue
            last_run[name] = time.monotonic()
            try:
                result = app.handler_map[name](_scheduled_event(name, now), _context(name))
            except Exception as error:  # noqa: BLE001 - a failing job is reported and runs again next time
                print(f"[local clock] {name} failed: {error!r}", flush=True)
                continue
            if isinstance(result, dict) and any(v for k, v in result.items() if k not in ("period", "since", "until",
                                                                                         "cutoff", "checked_at", "ok")):
                print(f"[local clock] {name}: {result}", flush=True)
        last_minute = minute


def _queue_poller(app, stop: threading.Event) -> None:
    """Deliver the app's SQS queues to their workers, as Lambda's event source would: up to 10
    messages a batch; those not reported in `batchItemFailures` are deleted, the others come back
    after the queue's visibility timeout (and go to its dead-letter queue after 5 tries)."""
    import boto3

    from infra.schedules import queue_workers

    sqs = boto3.client("sqs")
    workers = {name: sqs.get_queue_url(QueueName=queue)["QueueUrl"] for name, queue in queue_workers(app).items()}
    while not stop.is_set():
        for name, url in workers.items():
            try:
                messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=2,
                                               AttributeNames=["All"]).get("Messages", [])
            except Exception as error:  # noqa: BLE001 - the emulator going away ends `make run` anyway
                print(f"[queue] {name}: {error!r}", flush=True)
                stop.wait(2.0)
                continue
            if not messages:
                continue
            arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
            event = {"Records": [{
                "messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"], "body": m["Body"],
                "attributes": m.get("Attributes", {}), "messageAttributes": {}, "md5OfBody": m.get("MD5OfBody", ""),
                "eventSource": "aws:sqs", "eventSourceARN": arn, "awsRegion": sqs.meta.region_name,
            } for m in messages]}
            try:
                answer = app.handler_map[name](event, _context(name)) or {}
                failed = {f["itemIdentifier"] for f in answer.get("batchItemFailures", [])}
            except Exception as error:  # noqa: BLE001 - the whole batch comes back, as on Lambda
                print(f"[queue] {name} failed: {error!r}", flush=True)
                continue
            done = [m for m in messages if m["MessageId"] not in failed]
            if done:
                sqs.delete_message_batch(QueueUrl=url, Entries=[
                    {"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(done)])
            print(f"[queue] {name}: {len(messages)} messages, {len(failed)} to retry", flush=True)


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


@contextlib.contextmanager
def emulated_stack(moto_port: int, api_port: int, *, reuse_moto: bool, quiet: bool, state: Path | None = None,
                   history: bool = False, api_log: Path | None = None, demo_data: bool = True) -> Iterator[list]:
    """A moto server on loopback (or the one already on `moto_port`, if `reuse_moto`), the stage's
    resources, the demo data and `chalice local`; yields the demo accounts and stops what it
    started when the block ends. `quiet` (for tools that attack the stack): no output from the
    children and no reload of `chalice local` when files change under it; with `api_log`, the
    API's output (its JSON log lines) goes to that file instead (e.g. to count contention retries). With
    `state` (`make run`), the emulator restores that file and keeps saving to it (infra/emulator_state.py);
    with `history`, the demo instructors get their 90 days of sales (`seed.seed_history`), once.
    Unless `quiet`, each step is said as it starts, with the seconds since the start. Without
    `demo_data`, only the demo accounts are seeded (no courses, wallets or history: a faster start for tests
    that make their own)."""
    if api_port == moto_port:
        raise Refusal("API_PORT and MOTO_PORT must differ")
    for port in (api_port,) if reuse_moto else (api_port, moto_port):
        if _listening(port):
            raise Refusal(f"{HOST}:{port} is taken; choose another port")
    started: list[subprocess.Popen] = []
    output = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL} if quiet else {}
    log_file = open(api_log, "ab") if api_log is not None else None  # noqa: SIM115 - closed when the stack stops
    if log_file is not None:
        output = {"stdout": log_file, "stderr": subprocess.STDOUT}
    os.environ.update(_aws_environment(moto_port))
    say = _progress(quiet)
    try:
        if _listening(moto_port):
            say(f"Reusing the AWS emulator already on {HOST}:{moto_port}")
        else:
            say(f"Starting the emulated AWS (moto) on {HOST}:{moto_port}" + _state_note(state) + "...")
            with _emulator_output(state) as emulator_output:
                moto = subprocess.Popen([sys.executable, "-m", "infra.emulator", "-H", HOST, "-p", str(moto_port),
                                         *(["--state", str(state)] if state is not None else [])],
                                        cwd=PROJECT_DIR, start_new_session=True, **emulator_output)
            started.append(moto)
            _wait_for(moto_port, "moto server", moto)

        from infra import bootstrap, seed

        say("Creating the tables, user pool, bucket, queues and keys (what exists is kept)...")
        os.environ.update(stage_environment(STAGE))
        os.environ.update(bootstrap.create_stage_resources(STAGE))
        say("Seeding the demo accounts, courses, wallets and payout accounts (what exists is kept)...")
        accounts = seed.seed_demo() if demo_data else seed.seed_accounts()
        chalice = subprocess.Popen(  # `chalice local` with a backlog for bursts of clients (infra/api_server.py)
            [sys.executable, "-m", "infra.api_server", "local", "--stage", STAGE, "--host", HOST,
             "--port", str(api_port), *(["--no-autoreload"] if quiet else [])],
            cwd=PROJECT_DIR, env={**os.environ, **({"PYTHONUNBUFFERED": "1"} if log_file else {})},
            start_new_session=True, **output,
        )
        started.append(chalice)
        if history:
            say(f"Writing the demo instructors' last {seed.HISTORY_DAYS} days of sales, refunds, completions, "
                "reviews and questions (once)...")
            with contextlib.redirect_stdout(io.StringIO()):  # the app's metric lines (EMF) of every sale
                written = seed.seed_history()
            say(f"  {written}")
        say(f"Starting the API (chalice local) on http://{HOST}:{api_port}...")
        _wait_for(api_port, "chalice local", chalice)
        say("Ready.")
        yield accounts, started
    finally:
        for process in reversed(started):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in started:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
        if log_file is not None:
            log_file.close()


def _progress(quiet: bool):
    """`say(text)`: one line, with the seconds since the stack started (nothing when `quiet`)."""
    start = time.monotonic()

    def say(text: str) -> None:
        if not quiet:
            print(f"[{time.monotonic() - start:5.1f} s] {text}", flush=True)

    return say


def _state_note(state: Path | None) -> str:
    if state is None:
        return ""
    if state.exists():
        return f", restoring what the last run saved ({state.relative_to(PROJECT_DIR)}; `make reset` starts clean)"
    return f", empty (its state will be kept in {state.relative_to(PROJECT_DIR)})"


@contextlib.contextmanager
def _emulator_output(state: Path | None) -> Iterator[dict]:
    """The emulator's own lines (what it restored, a failed save) go to a log beside its state."""
    if state is None:
        yield {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
        return
    state.parent.mkdir(parents=True, exist_ok=True)
    with open(state.parent / "emulator.log", "ab") as log:
        yield {"stdout": subprocess.DEVNULL, "stderr": log}


def reset(moto_port: int) -> int:
    """`make reset`: forget the saved state, so the next `make run` starts clean (refused while it runs: the
    emulator would save its state again as it stops)."""
    if _listening(moto_port):
        raise Refusal(f"Something is running on {HOST}:{moto_port} (make run?): stop it first, then make reset")
    if STATE_FILE.exists():
        STATE_FILE.unlink()
        print(f"Deleted {STATE_FILE.relative_to(PROJECT_DIR)}: the next make run starts with a clean emulated AWS "
              "and new demo data")
    else:
        print("Nothing to reset: no saved state")
    return 0


def stop_like_ctrl_c() -> None:
    """SIGTERM (a process manager, `kill`) and SIGHUP (a closed terminal) stop the stack as Ctrl-C
    does: the children run in sessions of their own, so only this process can stop them."""
    def interrupt(*_):
        raise KeyboardInterrupt

    for signal_number in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signal_number, interrupt)


def wait_while_running(processes: list[subprocess.Popen]) -> None:
    """Until one of them exits."""
    while all(process.poll() is None for process in processes):
        time.sleep(0.5)


def _serve_web_client(web_port: int, api_port: int) -> None:
    """The reference web client (web/) on its own origin, so the browser's CORS is real (infra/web_server.py)."""
    from infra import web_server

    if _listening(web_port):
        print(f"The web client is not served: {HOST}:{web_port} is taken (set WEB_PORT)", flush=True)
        return
    server = web_server.make_server(web_port)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print(f"Web client (learner site and instructor studio): http://{HOST}:{web_port}/"
          f"?api=http://{HOST}:{api_port}\n", flush=True)


def main() -> int:
    api_port = int(os.environ.get("API_PORT", "8000"))
    moto_port = int(os.environ.get("MOTO_PORT", "5000"))
    if sys.argv[1:] == ["--reset"]:
        return reset(moto_port)
    stop_like_ctrl_c()
    try:
        with emulated_stack(moto_port, api_port, reuse_moto=True, quiet=False, state=STATE_FILE,
                            history=True) as (accounts, started):
            from app import app  # this process runs the schedules and queue workers, as Lambda would

            stop_clock = threading.Event()
            threading.Thread(target=_local_clock, args=(app, stop_clock), daemon=True).start()
            threading.Thread(target=_queue_poller, args=(app, stop_clock), daemon=True).start()
            print(_banner(api_port, accounts), flush=True)
            _serve_web_client(int(os.environ.get("WEB_PORT", "8080")), api_port)
            wait_while_running(started)
            return 1
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    run_command(main)
