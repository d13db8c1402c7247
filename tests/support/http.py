"""A real HTTP server on 127.0.0.1 whose routes a test scripts: status, body, content type, delay."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Route:
    status: int = 200
    body: bytes = b""
    content_type: str = "text/html; charset=utf-8"
    delay: float = 0.0
    gate: threading.Event | None = None  # when given, the answer waits until the test sets it
    location: str = ""  # a redirect's target (with a 3xx status)


@contextmanager
def serve(routes: dict[str, Route], hits: list[str] | None = None) -> Iterator[str]:
    """Serve `routes` on a free port; every requested path is appended to `hits` (when given)."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if hits is not None:
                hits.append(self.path)
            route = routes.get(self.path, Route(404, b"not found", "text/plain"))
            if route.delay:
                time.sleep(route.delay)
            if route.gate is not None:
                route.gate.wait(300)
            try:
                self.send_response(route.status)
                self.send_header("Content-Type", route.content_type)
                if route.location:
                    self.send_header("Location", route.location)
                self.send_header("Content-Length", str(len(route.body)))
                self.end_headers()
                self.wfile.write(route.body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (timeout tests)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
