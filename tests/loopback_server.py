"""A real HTTP server on 127.0.0.1 (random port) for download tests, with misbehaving routes.

Each route serves fixed bytes, optionally after a delay (slow mirror), with an error status (dead
mirror), or announcing more bytes than it sends and hanging up (a transfer that breaks off).
Requests are counted per path, so a test can prove that no request was made.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Route:
    body: bytes = b""
    status: int = 200
    delay: float = 0.0  # seconds before the response starts
    announce: int | None = None  # Content-Length to claim; larger than the body = cut-off transfer


class LoopbackServer:
    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.requests: Counter[str] = Counter()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                server.requests[self.path] += 1
                route = server.routes.get(self.path, Route(b"not found", status=404))
                time.sleep(route.delay)
                try:
                    self.send_response(route.status)
                    self.send_header("Content-Type", "application/octet-stream")
                    self.send_header("Content-Length", str(route.announce or len(route.body)))
                    self.end_headers()
                    self.wfile.write(route.body)
                    self.wfile.flush()
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout tests)
                if route.announce:
                    self.close_connection = True

            def log_message(self, *args) -> None:
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._httpd.block_on_close = False
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return self._httpd.server_address[1]

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def add(self, path: str, body: bytes = b"", **kwargs) -> str:
        self.routes[path] = Route(body, **kwargs)
        return self.url(path)

    def __enter__(self) -> LoopbackServer:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


def closed_port_url() -> str:
    """A URL on 127.0.0.1 where nothing listens: connection refused at once."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/jena_climate_2009_2016.csv.zip"
