"""A real HTTP server on 127.0.0.1 (random port) for download tests, with misbehaving routes.

Each route serves fixed bytes, optionally after a delay (slow mirror), with an error status (dead
mirror), or announcing more bytes than it sends and hanging up (a transfer that breaks off). Hostile
routes: `trickle` sends the body one byte every that many seconds (each read is quick, the whole is
not), `endless` sends chunked-encoded blocks of the body forever (never-ending response).
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
    trickle: float = 0.0  # seconds between single bytes of the body
    endless: bool = False  # chunked transfer of the body, repeated forever


class LoopbackServer:
    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.requests: Counter[str] = Counter()
        self.stopping = threading.Event()  # ends trickling and endless responses at shutdown
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                server.requests[self.path] += 1
                route = server.routes.get(self.path, Route(b"not found", status=404))
                time.sleep(route.delay)
                try:
                    self.send_response(route.status)
                    self.send_header("Content-Type", "application/octet-stream")
                    if route.endless:
                        self.send_header("Transfer-Encoding", "chunked")
                    else:
                        self.send_header("Content-Length", str(route.announce or len(route.body)))
                    self.end_headers()
                    self._send_body(route)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout tests)
                if route.announce or route.trickle or route.endless:
                    self.close_connection = True

            def _send_body(self, route: Route) -> None:
                if route.endless:
                    while not server.stopping.is_set():
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(route.body), route.body))
                        self.wfile.flush()
                elif route.trickle:
                    for i in range(len(route.body)):
                        if server.stopping.wait(route.trickle):
                            return
                        self.wfile.write(route.body[i : i + 1])
                        self.wfile.flush()
                else:
                    self.wfile.write(route.body)
                    self.wfile.flush()

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
        self.stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()


def closed_port_url() -> str:
    """A URL on 127.0.0.1 where nothing listens: connection refused at once."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/jena_climate_2009_2016.csv.zip"
