"""A client for any OpenAI-compatible chat-completions server (Ollama, llama.cpp, vLLM, OpenAI...).

Plain httpx, streaming (SSE) and not. Failures become LLMError with a message a user can act on; the
caller falls back to an extractive answer.
"""

from __future__ import annotations

import math
import random
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx

from ..errors import ConfigError, LLMError, redact
from ..settings import Settings
from ..text import strip_control
from .llm_wire import (  # ThinkFilter, strip_reasoning and Reply: also importable from here, as before
    Budget,
    Reply,
    ThinkFilter,
    body_lines,
    completion_text,
    delta_text,
    error_of,
    first_choice,
    load_json,
    read_body,
    sse_data,
    strip_reasoning,
)

_RETRY_STATUS = {408, 409, 425, 429, 500, 502, 503, 504}


def public_url(url: str) -> str:
    """A URL fit to show or log: without user:password@, ?query or #fragment, where credentials hide."""
    u = urlsplit(url)
    if not (u.scheme and u.netloc):
        return redact(url)
    return f"{u.scheme}://{u.netloc.rsplit('@', 1)[-1]}{u.path}"


@dataclass
class LLMClient:
    base_url: str
    model: str = ""
    api_key: str = field(default="", repr=False)
    connect_timeout: float = 10.0
    read_timeout: float = 120.0
    max_retries: int = 3
    temperature: float = 0.2
    max_tokens: int = 900
    backoff: float = 0.5
    deadline: float = 300.0  # seconds one call may take in all (settings.llm.deadline)
    max_reply_bytes: int = 2_000_000  # most bytes of one reply, decompressed (settings.llm.max_reply_bytes)

    def __post_init__(self) -> None:
        """ConfigError for values no call could use (max_retries=-1 failed later as an IndexError)."""
        if not isinstance(self.base_url, str) or not self.base_url.strip():
            raise ConfigError(f"LLMClient needs the server's base URL as text, not {self.base_url!r:.60}.")
        numbers = {
            "connect_timeout": self.connect_timeout,
            "read_timeout": self.read_timeout,
            "deadline": self.deadline,
            "backoff": self.backoff,
            "temperature": self.temperature,
        }
        for name, value in numbers.items():
            if (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or not math.isfinite(value)
                or value < 0
            ):
                raise ConfigError(f"LLMClient {name} must be a number of at least 0, not {value!r}.")
        for name, value in {"max_retries": self.max_retries, "max_tokens": self.max_tokens,
                            "max_reply_bytes": self.max_reply_bytes}.items():  # fmt: skip
            least = 0 if name == "max_retries" else 1
            if isinstance(value, bool) or not isinstance(value, int) or value < least:
                raise ConfigError(
                    f"LLMClient {name} must be a whole number of at least {least}, not {value!r}."
                )

    def __repr__(self) -> str:
        # the URL as messages show it: no user:password@ (the key is left out as a field)
        return f"LLMClient({self.where!r}, model={self.model!r}, max_tokens={self.max_tokens})"

    @classmethod
    def from_settings(cls, settings: Settings) -> LLMClient | None:
        """The configured client, or None when no LLM is configured (extractive mode)."""
        llm = settings.llm
        if not llm.base_url:
            return None
        return cls(
            base_url=llm.base_url,
            model=llm.model,
            api_key=llm.api_key,
            connect_timeout=llm.connect_timeout,
            read_timeout=llm.read_timeout,
            max_retries=llm.max_retries,
            temperature=llm.temperature,
            max_tokens=llm.max_tokens,
            deadline=llm.deadline,
            max_reply_bytes=llm.max_reply_bytes,
        )

    @classmethod
    def required(cls, settings: Settings, purpose: str) -> LLMClient:
        """The configured client for something only an LLM can do (`purpose`, e.g. "Writing questions"), or
        a ConfigError saying how to configure one."""
        llm = cls.from_settings(settings)
        if llm is None:
            raise ConfigError(
                f"{purpose} needs an LLM: set INTERP_RAG_LLM_BASE_URL (and INTERP_RAG_LLM_MODEL) to an "
                "OpenAI-compatible server, e.g. http://localhost:11434/v1 for Ollama."
            )
        return llm

    @property
    def url(self) -> str:
        return self.base_url.rstrip("/") + "/chat/completions"

    @property
    def where(self) -> str:
        """The base URL as messages show it: no user:password@, query or fragment."""
        return public_url(self.base_url)

    def _client(self) -> httpx.Client:
        # only what llm_wire decodes with a bound (httpx would also take brotli and zstd)
        headers = {"Content-Type": "application/json", "Accept-Encoding": "gzip, deflate"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        timeout = httpx.Timeout(self.read_timeout, connect=self.connect_timeout)
        return httpx.Client(timeout=timeout, headers=headers)

    def _payload(self, messages: list[dict[str, str]], stream: bool) -> dict[str, Any]:
        body: dict[str, Any] = {
            "messages": messages,
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
            "stream": stream,
        }
        if self.model:
            body["model"] = self.model
        return body

    def _budget(self) -> Budget:
        return Budget(self.where, self.deadline, self.max_reply_bytes, read_timeout=self.read_timeout)

    def _send(
        self, client: httpx.Client, messages: list[dict[str, str]], stream: bool, budget: Budget
    ) -> httpx.Response:
        """POST with retries on connection errors, 429 and 5xx; returns an open response (status < 300)."""
        last, advice = "", "Check INTERP_RAG_LLM_BASE_URL / INTERP_RAG_LLM_MODEL."
        key_advice = "Check INTERP_RAG_LLM_API_KEY (the server refused it, or wants one)."
        retry_after: str | None = None
        for attempt in range(self.max_retries + 1):
            if attempt:
                time.sleep(min(self._delay(attempt, retry_after), max(budget.left, 0.0)))
            budget.check_time()
            retry_after = None
            try:
                timeout = budget.timeout(self.connect_timeout, self.read_timeout)
                req = client.build_request(
                    "POST", self.url, json=self._payload(messages, stream), timeout=timeout
                )
                resp = client.send(req, stream=True)
            except (httpx.InvalidURL, httpx.UnsupportedProtocol) as e:
                raise LLMError(
                    f"INTERP_RAG_LLM_BASE_URL ({self.where}) is not a usable http(s) URL ({e}); set it to "
                    "the server's address, e.g. http://localhost:11434/v1."
                ) from e
            except (httpx.ConnectError, httpx.ConnectTimeout) as e:
                last = f"could not connect to the LLM at {self.where} ({type(e).__name__}: {e})"
                continue
            except httpx.TimeoutException as e:
                if timeout.read < self.read_timeout:  # cut to what the deadline left
                    budget.stop()
                raise LLMError(
                    f"The LLM at {self.where} did not answer within {self.read_timeout:g} s "
                    f"({type(e).__name__})."
                ) from e
            except httpx.HTTPError as e:
                last = f"the connection to the LLM at {self.where} failed ({type(e).__name__}: {e})"
                continue
            if resp.status_code < 300:
                return resp
            if resp.status_code < 400:
                resp.close()  # not followed: a redirect may lead anywhere, with the API key
                where = public_url(resp.headers.get("location", "")) or "an address it did not give"
                raise LLMError(
                    f"The LLM at {self.where} redirects (HTTP {resp.status_code}) to {where}; set "
                    "INTERP_RAG_LLM_BASE_URL to the address that answers."
                )
            try:
                body = read_body(resp, Budget(self.where, max(budget.left, 0.001), 100_000))
                body_text = body.decode("utf-8", "replace")[:300]
            except LLMError:
                body_text = ""
            finally:
                resp.close()
            last = f"the LLM at {self.where} answered HTTP {resp.status_code}: {body_text.strip()}"
            busy = resp.status_code in (429, 503)
            advice = "The server is busy or limits requests; try again later." if busy else advice
            advice = key_advice if resp.status_code in (401, 403) else advice
            retry_after = resp.headers.get("retry-after")
            if resp.status_code not in _RETRY_STATUS:
                break
        raise LLMError(last[0].upper() + last[1:].rstrip(". ") + ". " + advice)

    def _delay(self, attempt: int, retry_after: str | None) -> float:
        if retry_after:
            try:
                wait = float(retry_after)
            except ValueError:  # an HTTP date, or junk: back off as usual
                wait = math.nan
            if math.isfinite(wait) and wait >= 0:
                return min(wait, 10.0)
        return min(self.backoff * 2 ** (attempt - 1), 8.0) * (0.75 + 0.5 * random.random())

    def complete(self, messages: list[dict[str, str]]) -> str:
        """The whole answer at once (reasoning stripped)."""
        budget = self._budget()
        with self._client() as client, _watchdog(client, budget):
            resp = self._send(client, messages, stream=False, budget=budget)
            try:
                raw = read_body(resp, budget)
            finally:
                resp.close()
        return self._whole_text(raw)[0]

    def _whole_text(self, raw: bytes) -> tuple[str, str]:
        """The visible text of a whole (non-streamed) completion's body, and its finish_reason ("stop" when
        it gives none: a whole body cannot be cut off unseen)."""
        obj = load_json(raw)
        content = completion_text(obj)
        if content is None:
            raise LLMError(
                f"The LLM at {self.where} returned something that is not a chat completion: {raw[:200]!r}"
            )
        text = strip_reasoning(clean_text(content))
        if not text:
            raise LLMError(f"The LLM at {self.where} returned an empty answer.")
        return text, str(first_choice(obj).get("finish_reason") or "stop")

    def stream(self, messages: list[dict[str, str]]) -> Reply:
        """Visible text deltas as they arrive; the Reply's `finish_reason` says why the model stopped. Ends
        at a finish_reason or `data: [DONE]`; a stream that stops before either is an LLMError (the answer
        may be cut anywhere). A server that answers a streamed request with a whole completion (JSON) is read
        as one."""
        reply = Reply()
        reply.items = self._stream(messages, reply)
        return reply

    def _stream(self, messages: list[dict[str, str]], reply: Reply) -> Iterator[str]:
        budget = self._budget()
        with self._client() as client, _watchdog(client, budget):
            resp = self._send(client, messages, stream=True, budget=budget)
            try:
                if "json" not in resp.headers.get("content-type", ""):
                    yield from self._deltas(sse_data(body_lines(resp, budget)), reply)
                    return
                raw = read_body(resp, budget)  # a whole completion, though a stream was asked for
            finally:
                resp.close()
        text, reply.finish_reason = self._whole_text(raw)
        yield text

    def _deltas(self, events: Iterator[str], reply: Reply) -> Iterator[str]:
        think = ThinkFilter()
        good = bad = 0
        produced = False
        for data in events:
            if data.strip() == "[DONE]":
                reply.finish_reason = "stop"
                break
            obj = load_json(data)
            error = error_of(obj)
            if error or (obj is None and "error" in data):
                raise LLMError(f"The LLM at {self.where} reported an error: {error or data[:200]}")
            if not isinstance(obj, dict):  # not JSON, or not an event of any server's shape
                bad += 1
                continue
            good += 1
            choice = first_choice(obj)
            piece = delta_text(choice) if choice else None
            if piece:
                visible = think.feed(clean_text(piece))
                if visible:
                    produced = True
                    yield visible
            if choice.get("finish_reason"):
                reply.finish_reason = str(choice["finish_reason"])
                break
        rest = think.flush()
        if rest.strip():
            produced = True
            yield rest
        if not good:
            malformed = f" ({bad} malformed)." if bad else "."
            raise LLMError(f"The LLM at {self.where} sent no readable stream events" + malformed)
        if bad and produced:  # a dropped event may have held any word of the answer ("not", say)
            raise LLMError(
                f"The LLM at {self.where} sent {bad} unreadable stream event{'s' if bad > 1 else ''} among "
                "its answer, so words of it may be missing."
            )
        if not produced:
            raise LLMError(f"The LLM at {self.where} returned an empty answer.")
        if reply.finish_reason is None:  # every OpenAI-compatible server ends with a finish_reason or [DONE]
            raise LLMError(
                f"The LLM at {self.where} stopped streaming before it said the answer was finished (no "
                "finish_reason, no [DONE]), so the answer may be cut off."
            )


@contextmanager
def _watchdog(client: httpx.Client, budget: Budget) -> Iterator[None]:
    """Close the client's connections when the call's deadline passes, wherever it waits: a read that
    blocks (a status line or headers sent a byte at a time, each within the read timeout) then fails at
    once, and the budget names the deadline as the reason."""
    timer = threading.Timer(max(budget.left, 0.0), client.close)
    timer.daemon = True
    timer.start()
    try:
        yield
    except LLMError:
        budget.check_time()  # the deadline, not the broken read it caused, is the reason to give
        raise
    finally:
        timer.cancel()


def clean_text(text: str) -> str:
    """A reply's text fit to show and store: lone surrogates (a JSON "\\ud800") replaced, which no output
    can encode, and control and bidi-override characters out, as for any other text shown."""
    return strip_control(text.encode("utf-8", "replace").decode("utf-8"))


def resolve_llm(settings: Settings, llm: LLMClient | bool | None) -> LLMClient | None:
    """The one reading of an `llm` argument: None or True use the configured LLM (None when there is none),
    False forces the extractive answer, a client (anything with the client's `stream`) is used as it is;
    anything else is a ConfigError naming what `llm` takes ("yes" failed later, as an AttributeError)."""
    if llm is False:
        return None
    if llm is None or llm is True:
        return LLMClient.from_settings(settings)
    if not callable(getattr(llm, "stream", None)):
        raise ConfigError(f"llm must be an LLMClient, True, False or None, not {llm!r:.60}.")
    return llm
