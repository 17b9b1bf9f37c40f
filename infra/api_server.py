"""`chalice local` that takes a crowd: how every local stack serves the API.

    python -m infra.api_server local --stage local --host 127.0.0.1 --port 8000 [--no-autoreload]

takes `chalice`'s own arguments and runs its CLI, after two changes for bursts of
clients (the launch-day benchmark's 200 buyers at once, the race tests' threads):

- A listen backlog of `REQUEST_QUEUE_SIZE`. Chalice's server
  (`chalice.local.ThreadedHTTPServer`) keeps socketserver's `request_queue_size`
  of 5: the kernel holds at most ~5 connections its accept loop has not taken
  yet, and the rest of a burst is reset or waits on SYN retries, for requests
  the app never received.
- At most `CONCURRENT_INVOCATIONS` requests in the app at once (each still on a
  thread of its own; the others wait for a turn before the app sees them).
  Deployed, every request has a Lambda of its own and DynamoDB commits a
  transaction in milliseconds; here every request shares one Python process and
  the emulator one core, so 200 requests in the app at once each get 1/200 of
  it, and the app's clocks (the 8 s it keeps retrying a TransactionConflict,
  `retry_on_contention`) time the emulator's queue instead of the contention:
  buyers who would wait a second on AWS were answered 409 CONFLICT. Queued here,
  a request's time in the app stays close to what it costs, and the requests in
  the app still race (their transactions still overlap and conflict).
  `LOCAL_API_CONCURRENCY` changes the number (0: no limit).

And one change for clients: API Gateway's own refusals (no token, a denied
token, an unknown route) are answered as deployed, as the problem documents of
the stage's gateway responses (`answer_refusals_as_deployed`), not as chalice
local's `{"message": "Unauthorized"}`. The tests' `chalice.test.Client` shares
chalice's local gateway, and tests/conftest.py installs the same change.

Autoreload keeps working: chalice's reloader restarts its worker by running
`sys.argv` again, so `sys.argv` is set to run this module (with the same
interpreter and arguments), and the worker gets the same changes. `make run`
(`infra/local.py`) and `infra.stack` (fuzzing, load, launch day, the local
stack tests) launch the API through here; nothing listens beyond the host given
(127.0.0.1 in all of them).
"""

import functools
import json
import os
import sys
import threading

REQUEST_QUEUE_SIZE = 128
CONCURRENT_INVOCATIONS = int(os.environ.get("LOCAL_API_CONCURRENCY", "8"))


def _take_turns(limit: int) -> None:
    """At most `limit` requests inside the app (the authorizer and the route) at once."""
    from chalice.local import LocalGateway

    turns = threading.BoundedSemaphore(limit)
    handle = LocalGateway.handle_request

    @functools.wraps(handle)
    def handle_request(self, *args, **kwargs):
        with turns:
            return handle(self, *args, **kwargs)

    LocalGateway.handle_request = handle_request


def _response_type(refusal) -> str:
    """API Gateway's name for the refusal chalice's local gateway raised (`chalice.local`)."""
    if refusal.CODE == 401:
        return "UNAUTHORIZED"  # no bearer token
    if refusal.CODE == 403:
        denied = refusal.headers.get("x-amzn-ErrorType") == "AccessDeniedException"
        return "ACCESS_DENIED" if denied else "MISSING_AUTHENTICATION_TOKEN"  # a denied token; no such route
    return "AUTHORIZER_CONFIGURATION_ERROR"


def _as_deployed(refusal, request_headers: dict[str, str]):
    """chalice's refusal (a `LocalGatewayException`) with the status, headers and body that API Gateway
    answers with: the stage's gateway response of its type, filled in as the gateway fills it in."""
    from infra.template.api import gateway_responses

    response_type = _response_type(refusal)
    responses = gateway_responses(dict(os.environ))
    response = responses.get(response_type) or responses["DEFAULT_5XX" if refusal.CODE >= 500 else "DEFAULT_4XX"]
    said = json.loads(refusal.body or b"{}")
    message = said.get("message") or said.get("Message") or response_type
    template = next(iter(response["responseTemplates"].values()))
    body = template.replace("$context.error.messageString", json.dumps(message))
    body = body.replace("$context.error.responseType", response_type)
    headers = dict(refusal.headers)
    for parameter, source in response["responseParameters"].items():
        value = _parameter_value(source, request_headers, refusal.headers.get("x-amzn-RequestId", ""))
        if value is not None:
            headers[parameter.removeprefix("gatewayresponse.header.")] = value
    answer = type(refusal)(headers, body.encode())
    answer.CODE = int(response.get("statusCode", refusal.CODE))
    return answer


def _parameter_value(source: str, request_headers: dict[str, str], request_id: str) -> str | None:
    """A gateway response parameter's value: a 'literal', a request header, or the request id."""
    if source.startswith("'"):
        return source.strip("'")
    if source.startswith("method.request.header."):
        name = source.removeprefix("method.request.header.").lower()
        return next((value for key, value in request_headers.items() if key.lower() == name), None)
    if source == "context.requestId":
        return request_id
    raise ValueError(f"a gateway response parameter this local gateway cannot fill in: {source}")


def answer_refusals_as_deployed() -> None:
    """chalice's local gateway (chalice local, `chalice.test.Client`) answers API Gateway's refusals as
    API Gateway does for this stage (once per process)."""
    from chalice.local import LocalGateway, LocalGatewayException

    handle = LocalGateway.handle_request
    if getattr(handle, "answers_as_deployed", False):
        return

    @functools.wraps(handle)
    def handle_request(self, method, path, headers, body):
        try:
            return handle(self, method, path, headers, body)
        except LocalGatewayException as refusal:
            raise _as_deployed(refusal, headers) from None

    handle_request.answers_as_deployed = True
    LocalGateway.handle_request = handle_request


# Folders whose files never change the app: chalice's reloader does not look in them.
UNWATCHED = frozenset({".git", ".venv", ".local", "build", "out", "__pycache__", ".pytest_cache", ".ruff_cache",
                       ".hypothesis", "node_modules"})


def _reload_on_code_changes_only() -> None:
    """chalice local's reloader (its stat watcher: watchdog is not installed) restarts the API when any file
    under the project changes, walking every file each second, .venv's included. `.local/` holds the emulator's
    state, saved every few seconds (infra/emulator_state.py): each save would restart the API. The watcher
    walks the project without `UNWATCHED`."""
    from chalice.cli.filewatch import stat

    def code_files(root_dir: str):
        for folder, folders, files in os.walk(root_dir):
            folders[:] = [name for name in folders if name not in UNWATCHED]
            yield from (os.path.join(folder, name) for name in files)

    def seed_mtime_cache(self, root_dir: str) -> None:
        for path in code_files(root_dir):
            self._mtime_cache[path] = self._osutils.mtime(path)

    stat.StatFileWatcher._seed_mtime_cache = seed_mtime_cache
    stat.StatFileWatcher._recursive_walk_files = lambda _self, root_dir: code_files(root_dir)


def main(argv: list[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    from chalice.cli import cli
    from chalice.local import ThreadedHTTPServer

    ThreadedHTTPServer.request_queue_size = REQUEST_QUEUE_SIZE
    _reload_on_code_changes_only()
    if CONCURRENT_INVOCATIONS > 0:
        _take_turns(CONCURRENT_INVOCATIONS)
    answer_refusals_as_deployed()
    sys.argv = [sys.executable, "-m", "infra.api_server", *arguments]  # what the reloader runs as its worker
    return cli.main(args=arguments, obj={}, prog_name="chalice")


if __name__ == "__main__":
    sys.exit(main())
