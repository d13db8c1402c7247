"""Who may use a served instance: Gradio's log-in from INTERP_RAG_AUTH, and a warning when the app is
reachable beyond this machine without one (adding and removing sources make it writable)."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Any

from ..errors import ConfigError


def auth_pairs(spec: str) -> list[tuple[str, str]]:
    """'user:password', several comma-separated, or the path of a file with one user:password a line
    (blank lines and # comments skipped). Empty: no log-in."""
    spec = (spec or "").strip()
    if not spec:
        return []
    path = Path(spec).expanduser()
    if ":" not in spec or path.is_file():
        if not path.is_file():
            raise ConfigError(
                f"INTERP_RAG_AUTH={spec!r} is neither user:password nor an existing file of "
                "user:password lines."
            )
        entries = [ln.strip() for ln in path.read_text(encoding="utf-8").splitlines()]
        entries = [e for e in entries if e and not e.startswith("#")]
        where = str(path)
    else:
        entries, where = [e.strip() for e in spec.split(",") if e.strip()], "INTERP_RAG_AUTH"
    pairs = []
    for e in entries:
        user, sep, password = e.partition(":")
        if not sep or not user or not password:
            raise ConfigError(f"{where}: each entry must be user:password (one had no ':' or an empty part).")
        pairs.append((user, password))
    return pairs


def is_loopback(host: str) -> bool:
    if host in ("localhost", ""):
        return host == "localhost"
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def exposure_warning(settings: Any) -> str:
    """A sentence when the app listens beyond loopback with no log-in; empty otherwise."""
    if is_loopback(settings.web.host) or auth_pairs(settings.web.auth):
        return ""
    writable = "" if settings.web.read_only else " and can add or remove sources"
    return (
        f"serving on {settings.web.host} without a log-in: anyone who can reach this port can ask questions"
        f"{writable}. Set INTERP_RAG_AUTH=user:password (or a file of them), and INTERP_RAG_READ_ONLY=true "
        "for a shared instance."
    )


class BodyLimit:
    """ASGI middleware: a request body over `max_bytes` is refused (413) before Gradio reads it, except on
    the upload route (a paper is up to INTERP_RAG_MAX_SOURCE_BYTES). A question is at most 10,000
    characters; a 6 MB request to /call/ask, refused by the question's own check, still left ~6 MB in the
    server process each time (measured: 35 of them took it from 1.03 to 1.36 GB) and its value in the log."""

    def __init__(self, app: Any, max_bytes: int, exempt: tuple[str, ...] = ("/upload",)) -> None:
        self.app, self.max_bytes, self.exempt = app, max_bytes, exempt

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope.get("path", "").rstrip("/").endswith(self.exempt):
            await self.app(scope, receive, send)
            return
        length = dict(scope.get("headers") or []).get(b"content-length", b"")
        if length.isdigit() and int(length) > self.max_bytes:
            await self._refuse(send)
            return
        seen = 0

        async def counted() -> dict[str, Any]:
            # a body sent without a length (chunked) is counted as it comes; past the limit the app is told
            # the client left, so it stops reading
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    return {"type": "http.disconnect"}
            return message

        await self.app(scope, counted, send)

    async def _refuse(self, send: Any) -> None:
        body = f"Request body over {self.max_bytes:,} bytes.".encode()
        headers = [
            (b"content-type", b"text/plain; charset=utf-8"),
            (b"content-length", str(len(body)).encode()),
        ]
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def check_address(host: str, port: int) -> None:
    """ConfigError, saying what to pass instead, when the app cannot listen at host:port: an unknown host
    or a port in use. Gradio said "Cannot find empty port" for both, in a 33-line traceback."""
    import socket

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as e:
        raise ConfigError(
            f"Cannot serve on host {host!r}: no such address on this machine ({e}); pass --host "
            "(INTERP_RAG_WEB__HOST) 127.0.0.1, or 0.0.0.0 for every interface."
        ) from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server binds
        try:
            probe.bind(address)
        except OSError as e:
            raise ConfigError(
                f"Cannot serve on {host}:{port}: {e.strerror or e} (another server may be using the port); "
                "pass --port (INTERP_RAG_WEB__PORT) another port, e.g. 7861."
            ) from None
