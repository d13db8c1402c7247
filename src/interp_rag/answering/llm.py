"""A client for any OpenAI-compatible chat-completions server (Ollama, llama.cpp, vLLM, OpenAI...).

Plain httpx, streaming (SSE) and not. Failures become LLMError with a message a user can act on; the
caller falls back to an extractive answer.
"""

from __future__ import annotations

import json
import random
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

from ..errors import ConfigError, LLMError, redact
from ..settings import Settings

_RETRY_STATUS = {408, 409, 425, 429, 500, 502, 503, 504}
_THINK_BLOCK = re.compile(r"<think>.*?(</think>|$)", re.S)


def public_url(url: str) -> str:
    """A URL fit to show or log: without user:password@, ?query or #fragment, where credentials hide."""
    u = urlsplit(url)
    if not (u.scheme and u.netloc):
        return redact(url)
    return f"{u.scheme}://{u.netloc.rsplit('@', 1)[-1]}{u.path}"


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
        self.buf += delta
        out: list[str] = []
        while self.buf:
            if self.inside:
                end = self.buf.find(self.CLOSE)
                if end < 0:
                    self.buf = self.buf[-(len(self.CLOSE) - 1) :]  # may hold the start of the close tag
                    break
                self.buf = self.buf[end + len(self.CLOSE) :]
                self.inside = False
                continue
            start = self.buf.find(self.OPEN)
            close = self.buf.find(self.CLOSE)
            if close >= 0 and (start < 0 or close < start) and not self.seen_visible:
                self.buf = self.buf[close + len(self.CLOSE) :]  # reasoning whose <think> was in the prompt
                out.clear()
                continue
            if start >= 0:
                out.append(self.buf[:start])
                self.buf = self.buf[start + len(self.OPEN) :]
                self.inside = True
                continue
            keep = _partial_tag_suffix(self.buf)
            out.append(self.buf[: len(self.buf) - keep])
            self.buf = self.buf[len(self.buf) - keep :]
            break
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


@dataclass
class LLMClient:
    base_url: str
    model: str = ""
    api_key: str = ""
    connect_timeout: float = 10.0
    read_timeout: float = 120.0
    max_retries: int = 3
    temperature: float = 0.2
    max_tokens: int = 900
    backoff: float = 0.5

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
        headers = {"Content-Type": "application/json"}
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

    def _send(self, client: httpx.Client, messages: list[dict[str, str]], stream: bool) -> httpx.Response:
        """POST with retries on connection errors, 429 and 5xx; returns an open response (status < 400)."""
        last = ""
        retry_after: str | None = None
        for attempt in range(self.max_retries + 1):
            if attempt:
                time.sleep(self._delay(attempt, retry_after))
            retry_after = None
            try:
                req = client.build_request("POST", self.url, json=self._payload(messages, stream))
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
                raise LLMError(
                    f"The LLM at {self.where} did not answer within {self.read_timeout:g} s "
                    f"({type(e).__name__})."
                ) from e
            except httpx.TransportError as e:
                last = f"the connection to the LLM at {self.where} failed ({type(e).__name__}: {e})"
                continue
            if resp.status_code < 400:
                return resp
            try:
                body = resp.read().decode("utf-8", "replace")[:300]
            except httpx.HTTPError:
                body = ""
            resp.close()
            last = f"the LLM at {self.where} answered HTTP {resp.status_code}: {body.strip()}"
            retry_after = resp.headers.get("retry-after")
            if resp.status_code not in _RETRY_STATUS:
                break
        raise LLMError(last[0].upper() + last[1:] + ". Check INTERP_RAG_LLM_BASE_URL / INTERP_RAG_LLM_MODEL.")

    def _delay(self, attempt: int, retry_after: str | None) -> float:
        if retry_after:
            try:
                return min(float(retry_after), 10.0)
            except ValueError:
                pass
        return min(self.backoff * 2 ** (attempt - 1), 8.0) * (0.75 + 0.5 * random.random())

    def complete(self, messages: list[dict[str, str]]) -> str:
        """The whole answer at once (reasoning stripped)."""
        with self._client() as client:
            resp = self._send(client, messages, stream=False)
            try:
                raw = resp.read()
            except httpx.TimeoutException as e:
                raise LLMError(f"The LLM at {self.where} stopped answering mid-response.") from e
            finally:
                resp.close()
        try:
            data = json.loads(raw)
            msg = data["choices"][0]["message"]
            content = msg.get("content") or ""
        except (ValueError, KeyError, IndexError, TypeError, AttributeError) as e:
            raise LLMError(
                f"The LLM at {self.where} returned something that is not a chat completion: {raw[:200]!r}"
            ) from e
        text = strip_reasoning(content)
        if not text:
            raise LLMError(f"The LLM at {self.where} returned an empty answer.")
        return text

    def stream(self, messages: list[dict[str, str]]) -> Iterator[str]:
        """Visible text deltas as they arrive. Ends at `data: [DONE]`, a finish_reason, or end of stream."""
        with self._client() as client:
            resp = self._send(client, messages, stream=True)
            think = ThinkFilter()
            events = bad = 0
            produced = False
            try:
                for data in _sse_data(resp.iter_lines()):
                    if data.strip() == "[DONE]":
                        break
                    try:
                        obj = json.loads(data)
                        choice = obj["choices"][0] if obj.get("choices") else {}
                    except (ValueError, KeyError, IndexError, TypeError, AttributeError):
                        bad += 1
                        if "error" in data:
                            raise LLMError(
                                f"The LLM at {self.where} reported an error: {data[:200]}"
                            ) from None
                        continue
                    if isinstance(obj, dict) and obj.get("error"):
                        raise LLMError(f"The LLM at {self.where} reported an error: {obj['error']}")
                    events += 1
                    delta = (choice.get("delta") or choice.get("message") or {}) if choice else {}
                    piece = delta.get("content") if isinstance(delta, dict) else None
                    if isinstance(piece, str) and piece:
                        visible = think.feed(piece)
                        if visible:
                            produced = True
                            yield visible
                    if choice.get("finish_reason"):
                        break
            except httpx.TimeoutException as e:
                raise LLMError(
                    f"The LLM at {self.where} stopped streaming (no data for {self.read_timeout:g} s)."
                ) from e
            except httpx.TransportError as e:
                raise LLMError(f"The connection to the LLM at {self.where} broke mid-answer ({e}).") from e
            finally:
                resp.close()
            rest = think.flush()
            if rest.strip():
                produced = True
                yield rest
            if not events:
                raise LLMError(
                    f"The LLM at {self.where} sent no readable stream events"
                    + (f" ({bad} malformed)." if bad else ".")
                )
            if not produced:
                raise LLMError(f"The LLM at {self.where} returned an empty answer.")


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


def _sse_data(lines: Iterator[str]) -> Iterator[str]:
    """The `data` of each server-sent event; lines may arrive split or merged across network reads,
    which iter_lines already reassembles. A stream that ends without a blank line still yields."""
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
            # Some servers omit the blank line between events; a new complete JSON object starts one.
            if buf and payload.startswith("{") and _is_json("\n".join(buf)):
                yield "\n".join(buf)
                buf = []
            buf.append(payload)
    if buf:
        yield "\n".join(buf)


def _is_json(s: str) -> bool:
    try:
        json.loads(s)
    except ValueError:
        return s.strip() == "[DONE]"
    return True
