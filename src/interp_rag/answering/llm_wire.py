"""Reading an LLM server's reply without trusting it.

A server may trickle a byte at a time (each read well within the read timeout), stream forever, send a
body of gigabytes or a small gzip that expands to gigabytes, nest JSON past what Python's parser recurses
through, or put its text where another server would not. Everything here is bounded: in bytes (after
decompression) and in wall-clock time for the whole call, and every failure is an LLMError, which the
caller turns into the extractive answer with a notice.
"""

from __future__ import annotations

import json
import re
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx

from ..errors import LLMError


@dataclass
class Budget:
    """What one LLM call may take in all: `seconds` of wall-clock time from its start (retries and waits
    included) and `max_bytes` of reply (decompressed)."""

    where: str
    seconds: float
    max_bytes: int
    started: float = 0.0
    read_timeout: float = 0.0  # for the message when a read times out

    def __post_init__(self) -> None:
        self.started = self.started or time.monotonic()

    @property
    def left(self) -> float:
        return self.seconds - (time.monotonic() - self.started)

    def check_time(self) -> None:
        if self.left <= 0:
            self.stop()

    def stop(self) -> None:
        raise LLMError(
            f"The LLM at {self.where} took more than {self.seconds:g} s in all "
            "(INTERP_RAG_LLM__DEADLINE), so it was stopped."
        )

    def timeout(self, connect: float, read: float) -> httpx.Timeout:
        """A request's timeouts, none longer than what is left: a status line that never comes is one
        blocking read, which nothing else can cut short."""
        left = max(self.left, 0.001)
        return httpx.Timeout(min(read, left), connect=min(connect, left))

    def check_size(self, n: int) -> None:
        if n > self.max_bytes:
            raise LLMError(
                f"The LLM at {self.where} sent more than {self.max_bytes:,} bytes "
                "(INTERP_RAG_LLM__MAX_REPLY_BYTES), so it was stopped."
            )


def _decoder(resp: httpx.Response, where: str) -> Any:
    """A zlib decompressor for a gzip or deflate body, None for a plain one. httpx would decode a whole
    network read at once, and also brotli, zstd and stacked encodings, with no bound on what comes out
    (1.7 kB of brotli: 2.3 GB); here output is bounded as it is made, and only what is asked for is read."""
    codings = [c.strip().lower() for c in resp.headers.get("content-encoding", "").split(",")]
    codings = [c for c in codings if c and c != "identity"]
    if not codings:
        return None
    if len(codings) > 1 or codings[0] not in ("gzip", "x-gzip", "deflate"):
        raise LLMError(
            f"The LLM at {where} sent its reply encoded as {', '.join(codings)[:60]}, which is not read "
            "(gzip or deflate, once, was asked for)."
        )
    return zlib.decompressobj(zlib.MAX_WBITS | 32)  # a gzip or a zlib header, whichever it has


def _chunks(resp: httpx.Response, budget: Budget) -> Iterator[bytes]:
    """The body's decompressed chunks, within the budget; transport and decoding failures as LLMError."""
    total = 0
    try:
        decoder = _decoder(resp, budget.where)
        for raw in resp.iter_raw():
            budget.check_time()
            data = raw
            while data:
                # never more than the budget allows (plus one byte, to know it was passed)
                out = decoder.decompress(data, budget.max_bytes - total + 1) if decoder else data
                data = decoder.unconsumed_tail if decoder else b""
                total += len(out)
                budget.check_size(total)
                if out:
                    yield out
    except zlib.error as e:
        raise LLMError(f"The LLM at {budget.where} sent a body that could not be decoded ({e}).") from e
    except httpx.TimeoutException as e:
        budget.check_time()
        raise LLMError(
            f"The LLM at {budget.where} stopped streaming (no data for {budget.read_timeout:g} s)."
        ) from e
    except httpx.HTTPError as e:
        budget.check_time()  # the watchdog closed the connection at the deadline
        raise LLMError(f"The connection to the LLM at {budget.where} broke mid-answer ({e}).") from e


def read_body(resp: httpx.Response, budget: Budget) -> bytes:
    return b"".join(_chunks(resp, budget))


def body_lines(resp: httpx.Response, budget: Budget) -> Iterator[str]:
    """The body's lines as text (invalid UTF-8 replaced), as they arrive."""
    buf = bytearray()
    for chunk in _chunks(resp, budget):
        start = len(buf)
        buf += chunk
        if b"\n" not in chunk:
            continue
        cut = buf.rfind(b"\n", start)
        for line in bytes(buf[:cut]).split(b"\n"):
            yield line.decode("utf-8", "replace")
        del buf[: cut + 1]
    if buf:
        yield bytes(buf).decode("utf-8", "replace")


def sse_data(lines: Iterator[str]) -> Iterator[str]:
    """The `data` of each server-sent event. A stream that ends without a blank line still yields; a
    server that omits the blank line between events starts a new one with each complete JSON object."""
    buf: list[str] = []
    for line in lines:
        line = line.rstrip("\r")
        if not line:
            if buf:
                yield "\n".join(buf)
                buf = []
            continue
        if line.startswith(":"):
            continue
        if line.startswith("data:"):
            payload = line[5:].removeprefix(" ")
            # Only a one-line event is asked whether it is complete: asking of a long multi-line one at
            # every line would read it again and again (a 1.6 MB stream took minutes).
            if len(buf) == 1 and payload.startswith("{") and is_json(buf[0]):
                yield buf[0]
                buf = []
            buf.append(payload)
    if buf:
        yield "\n".join(buf)


def load_json(text: str | bytes) -> Any:
    """The parsed JSON, or None when it is not JSON (or nests deeper than Python's parser recurses)."""
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return None


def is_json(text: str) -> bool:
    return text.strip() == "[DONE]" or load_json(text) is not None


def first_choice(obj: Any) -> dict[str, Any]:
    """`choices[0]` of a chat completion (or chunk), or {} when there is none of that shape."""
    choices = obj.get("choices") if isinstance(obj, dict) else None
    first = choices[0] if isinstance(choices, list) and choices else None
    return first if isinstance(first, dict) else {}


def text_of(content: Any) -> str | None:
    """A message's text: a string, or the text parts of a list of content parts (the OpenAI form
    [{"type": "text", "text": …}]); None for anything else."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = [p.get("text") for p in content if isinstance(p, dict)]
        return "".join(p for p in parts if isinstance(p, str))
    return None


def completion_text(obj: Any) -> str | None:
    """The text of a whole (non-streamed) chat completion, or None when `obj` is not one."""
    msg = first_choice(obj).get("message")
    return text_of(msg.get("content")) if isinstance(msg, dict) else None


def delta_text(choice: dict[str, Any]) -> str | None:
    """The text of one streamed chunk's choice (its delta, or a whole message some servers send)."""
    delta = choice.get("delta") or choice.get("message")
    return text_of(delta.get("content")) if isinstance(delta, dict) else None


def error_of(obj: Any) -> str | None:
    """The message of an error object a server sends instead of an answer, as one sentence."""
    err = obj.get("error") if isinstance(obj, dict) else None
    if not err:
        return None
    msg = err.get("message") if isinstance(err, dict) else err
    text = str(msg if msg else err).strip()[:300]
    return text if text.endswith((".", "!", "?")) else text + "."


_THINK_BLOCK = re.compile(r"<think>.*?(</think>|$)", re.S)


def strip_reasoning(text: str) -> str:
    """Remove `<think>…</think>` blocks (and a leading unopened `…</think>`, as some templates emit)."""
    if "</think>" in text and "<think>" not in text.split("</think>", 1)[0]:
        text = text.split("</think>", 1)[1]
    return _THINK_BLOCK.sub("", text).strip()


class ThinkFilter:
    """Streaming version of strip_reasoning: tags may be split across deltas."""

    OPEN, CLOSE = "<think>", "</think>"

    def __init__(self) -> None:
        self.buf = ""
        self.inside = False
        self.seen_visible = False

    def feed(self, delta: str) -> str:
        # One pass with a position: slicing the buffer at each tag made a delta of many tags quadratic
        # (1.9 MB of "<think></think>": 15 s).
        buf, pos = self.buf + delta, 0
        out: list[str] = []
        while pos < len(buf):
            if self.inside:
                end = buf.find(self.CLOSE, pos)
                if end < 0:
                    pos = max(pos, len(buf) - (len(self.CLOSE) - 1))  # may hold the start of the close tag
                    break
                pos = end + len(self.CLOSE)
                self.inside = False
                continue
            start = buf.find(self.OPEN, pos)
            close = buf.find(self.CLOSE, pos)
            if close >= 0 and (start < 0 or close < start) and not self.seen_visible:
                pos = close + len(self.CLOSE)  # reasoning whose <think> was in the prompt
                out.clear()
                continue
            if start >= 0:
                out.append(buf[pos:start])
                pos = start + len(self.OPEN)
                self.inside = True
                continue
            keep = _partial_tag_suffix(buf[pos:])
            out.append(buf[pos : len(buf) - keep])
            pos = len(buf) - keep
            break
        self.buf = buf[pos:]
        text = "".join(out)
        if not self.seen_visible:
            text = text.lstrip()
        if text.strip():
            self.seen_visible = True
        return text

    def flush(self) -> str:
        rest = "" if self.inside else self.buf
        self.buf = ""
        return rest


def _partial_tag_suffix(s: str) -> int:
    """Length of the longest suffix of s that is a proper prefix of a think tag."""
    for n in range(min(len(s), len("</think>") - 1), 0, -1):
        tail = s[-n:]
        if "<think>".startswith(tail) or "</think>".startswith(tail):
            return n
    return 0


class Reply(Iterator[str]):
    """The visible text deltas of one streamed answer. Once it is read to the end, `finish_reason` says why
    the model stopped: "stop", or "length" when it reached max_tokens and the text ends where it was cut.
    A client of another kind may return any iterator of str; the pipeline reads `finish_reason` if present."""

    def __init__(self) -> None:
        self.items: Iterator[str] = iter(())
        self.finish_reason: str | None = None

    def __next__(self) -> str:
        return next(self.items)

    def close(self) -> None:
        """Stop reading: the connection closes now, not when the reply is garbage-collected."""
        close = getattr(self.items, "close", None)
        if close is not None:
            close()
