"""`chalice local` with a listen backlog that takes a crowd: how every local stack serves the API.

    python -m infra.api_server local --stage local --host 127.0.0.1 --port 8000 [--no-autoreload]

takes `chalice`'s own arguments and runs its CLI, after one change: chalice's
server (`chalice.local.ThreadedHTTPServer`) keeps socketserver's
`request_queue_size` of 5, so the kernel queues at most ~5 connections that
its accept loop has not taken yet and resets the rest. A burst of clients at
once (the launch-day benchmark's 200 buyers, the race tests' threads, a
browser opening many tabs) then sees "connection reset" for requests the app
never received. Here the backlog is `REQUEST_QUEUE_SIZE`; each accepted
connection is still served on a thread of its own, as before.

Autoreload keeps working: chalice's reloader restarts its worker by running
`sys.argv` again, so `sys.argv` is set to run this module (with the same
interpreter and arguments), and the worker gets the same backlog. `make run`
(`infra/local.py`) and `infra.stack` (fuzzing, load, launch day, the local
stack tests) launch the API through here; nothing listens beyond the host given
(127.0.0.1 in all of them).
"""

import sys

REQUEST_QUEUE_SIZE = 128


def main(argv: list[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    from chalice.cli import cli
    from chalice.local import ThreadedHTTPServer

    ThreadedHTTPServer.request_queue_size = REQUEST_QUEUE_SIZE
    sys.argv = [sys.executable, "-m", "infra.api_server", *arguments]  # what the reloader runs as its worker
    return cli.main(args=arguments, obj={}, prog_name="chalice")


if __name__ == "__main__":
    sys.exit(main())
