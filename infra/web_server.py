"""The reference web client's static server: `web/` as files, on loopback, on an origin of its own.

    python -m infra.web_server --port 8080

`make run` serves it beside the API (so the browser's CORS is the real thing: another port is another
origin); tests/test_web_client.py serves it for Chromium. Only the pages, scripts and styles of `web/`
are served (not its npm files), with the MIME types ES modules need, and nothing is cached, so an
edited page is seen on reload. Deployed, the same files go to a private bucket behind CloudFront
(infra/template/web.py).
"""

import argparse
import contextlib
import functools
import os
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from infra.project import PROJECT_DIR

HOST = "127.0.0.1"
WEB_DIR = PROJECT_DIR / "web"
SERVED_SUFFIXES = frozenset({".html", ".js", ".css", ".svg", ".png", ".ico"})


class WebClientHandler(SimpleHTTPRequestHandler):
    """Files of `web/` whose suffix is a page's; everything else (package.json, a listing) is 404."""

    extensions_map = {**SimpleHTTPRequestHandler.extensions_map, ".js": "text/javascript; charset=utf-8",
                      ".html": "text/html; charset=utf-8", ".css": "text/css; charset=utf-8"}

    def send_head(self):
        path = Path(self.translate_path(self.path))
        if path.is_dir():
            path = path / "index.html"
        if path.suffix not in SERVED_SUFFIXES or not path.is_file() or "node_modules" in path.parts:
            self.send_error(404, "Not Found")
            return None
        return super().send_head()

    def end_headers(self):
        self.send_header("Cache-Control", "no-store")
        super().end_headers()

    def log_message(self, format, *args):  # noqa: A002 - the base class's signature
        pass  # the API logs what matters; a line per static file is noise


def make_server(port: int, directory: Path = WEB_DIR) -> ThreadingHTTPServer:
    """A server of `directory` on HOST:`port` (0: any free port; read `server_address`)."""
    return ThreadingHTTPServer((HOST, port), functools.partial(WebClientHandler, directory=str(directory)))


@contextlib.contextmanager
def serving(port: int = 0) -> Iterator[str]:
    """Serve the web client on a thread of this process; yield its base URL."""
    server = make_server(port)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://{HOST}:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=int(os.environ.get("WEB_PORT", "8080")))
    arguments = parser.parse_args()
    with make_server(arguments.port) as server:
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
