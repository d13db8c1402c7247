"""A scripted OpenAI-style chat server on 127.0.0.1 for fault tests: each request takes the next scripted
reply (status, body or raw SSE pieces written one by one, optional delay) and is recorded."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Reply:
    status: int = 200
    body: bytes | None = None  # a whole body (non-streamed answers and errors)
    pieces: list[bytes] = field(default_factory=list)  # raw SSE bytes, written and flushed one at a time
    delay: float = 0.0  # before the status line
    piece_delay: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)


def completion(text: str) -> Reply:
    body = {
        "id": "x",
        "object": "chat.completion",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
    }
    return Reply(body=json.dumps(body).encode())


def sse(deltas: list[str | None], *, done: bool = True, reasoning: list[str] | None = None) -> Reply:
    """A well-formed stream: one event per delta (None becomes `content: null`)."""
    events = [{"choices": [{"index": 0, "delta": {"role": "assistant"}}]}]
    for r in reasoning or []:
        events.append({"choices": [{"index": 0, "delta": {"reasoning_content": r, "content": None}}]})
    events += [{"choices": [{"index": 0, "delta": {"content": d}}]} for d in deltas]
    events.append({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
    pieces = [f"data: {json.dumps(e)}\n\n".encode() for e in events]
    if done:
        pieces.append(b"data: [DONE]\n\n")
    return Reply(pieces=pieces, headers={"Content-Type": "text/event-stream"})


class FakeLLM:
    def __init__(self) -> None:
        self.replies: list[Reply] = []
        self.requests: list[dict] = []
        self.base_url = ""

    def script(self, *replies: Reply) -> None:
        self.replies = list(replies)


@contextmanager
def fake_llm() -> Iterator[FakeLLM]:
    state = FakeLLM()
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            payload = json.loads(self.rfile.read(length) or b"{}")
            with lock:
                state.requests.append({"path": self.path, "json": payload, "headers": dict(self.headers)})
                reply = (
                    state.replies.pop(0) if state.replies else Reply(500, b'{"error": "no reply scripted"}')
                )
            time.sleep(reply.delay)
            try:
                self.send_response(reply.status)
                for k, v in reply.headers.items():
                    self.send_header(k, v)
                if reply.pieces:
                    self.send_header("Content-Type", reply.headers.get("Content-Type", "text/event-stream"))
                    self.send_header("Connection", "close")
                    self.end_headers()
                    for piece in reply.pieces:
                        self.wfile.write(piece)
                        self.wfile.flush()
                        time.sleep(reply.piece_delay)
                    self.close_connection = True
                else:
                    body = reply.body or b""
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    state.base_url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
