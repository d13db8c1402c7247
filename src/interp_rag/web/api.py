"""The app's HTTP API as its clients see it: each endpoint's named parameters, and the check of a call.

Gradio publishes an event as an endpoint (`/gradio_api/call/ask`, gradio_client's `api_name="/ask"`) and
names its parameters from the handler's signature. Handlers that take `*args` were published as param_0 …
param_6, with the years required, so `Client(url).predict("Are SAEs useful?", api_name="/ask")` failed; the
signatures below are the handlers' (`api_parameters`), named as `answer()`'s and the CLI's.

A call Gradio cannot route answered 500 with a traceback in the server log (an unknown name), or was
accepted and then failed with an error event listing its components' internals (too few values, a value of
the wrong kind): `KnownEndpoints` answers these at once, naming what the endpoint takes.
"""

from __future__ import annotations

import inspect
import json
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

import gradio as gr

from ..answering.llm_wire import load_json
from ..types import UNKNOWN_STANCE


def ask_api(
    question: str,
    stance: list[str] | None = None,
    year_from: str | None = None,
    year_to: str | None = None,
    types: list[str] | None = None,
    k: float = 8,
    sources: list[str] | None = None,
) -> None:
    """/ask: the Ask tab's inputs in order; all but the question may be left out."""


def add_source_api(
    url: str | None = None,
    upload: str | None = None,
    stance: str = UNKNOWN_STANCE,
    kind: str = "",
    list_search: str | None = None,
    list_stance: str | None = None,
    list_type: str | None = None,
    write_questions: bool = False,
    progress: Any = gr.Progress(),  # noqa: B008 - Gradio finds the progress tracker by this default
) -> None:
    """/add_source: a URL or an uploaded file, its stance and type ("": from the document); the Sources
    list's search and filters
    (the list it returns is filtered by them); whether the configured LLM writes search questions."""


def remove_source_api(
    source_id: str,
    list_search: str | None = None,
    list_stance: str | None = None,
    list_type: str | None = None,
) -> None:
    """/remove_source: the source's id; the Sources list's search and filters, as for /add_source."""


def api_parameters(like: Callable[..., Any]) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Give a handler `like`'s parameters as Gradio reads them: names and defaults for the API page and
    gradio_client, and where the progress tracker goes. The handler is called positionally."""

    def named(handler: Callable[..., Any]) -> Callable[..., Any]:
        handler.__signature__ = inspect.signature(like)  # type: ignore[attr-defined]
        handler.__annotations__ = dict(like.__annotations__)
        return handler

    return named


def endpoints(demo: gr.Blocks) -> dict[str, list[tuple[str, str | None]]]:
    """Every API name of the app (private ones too: the page itself calls them) with the values a call
    sends, in order: each one's name and the JSON kind Gradio reads it as (None: not checked here)."""
    out: dict[str, list[tuple[str, str | None]]] = {}
    for fn in demo.fns.values():
        if not fn.api_name:
            continue
        params = inspect.signature(fn.fn).parameters.values() if fn.fn else []
        names = [
            p.name
            for p in params
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
            and not isinstance(p.default, gr.Progress)
        ][: len(fn.inputs)]
        names += [f"value {i + 1}" for i in range(len(names), len(fn.inputs))]
        out[str(fn.api_name)] = [(n, _kind(c)) for n, c in zip(names, fn.inputs, strict=True)]
    return out


def _kind(component: Any) -> str | None:
    """What a component's value is on the wire. A Radio's schema says string whatever its choices (ours are
    numbers): not checked here; it refuses a wrong value with a message of its own, as Gradio does for
    anything not checked here."""
    if isinstance(component, gr.File):
        return "file"
    if isinstance(component, gr.Radio):
        return None
    try:
        kind = component.api_info().get("type")
    except (NotImplementedError, AttributeError):  # a button, state: nothing a client sends
        return None
    return kind if isinstance(kind, str) and kind in _IS else None


def _number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


# Which values Gradio reads as each kind: a text box takes a number as its text (a year), and nothing (its
# default); a slider, checkbox or checkbox group given null failed inside Gradio.
_IS: dict[str, Callable[[Any], bool]] = {
    "string": lambda v: v is None or isinstance(v, str) or _number(v),
    "number": _number,
    "boolean": lambda v: isinstance(v, bool),
    "array": lambda v: isinstance(v, list) and all(isinstance(x, str) for x in v),
    "file": lambda v: v is None or (isinstance(v, dict) and isinstance(v.get("path"), str)),
}
_SAY = {
    "string": "text (or null)",
    "number": "a number",
    "boolean": "true or false",
    "array": "a list of text values",
    "file": 'null or a file as gradio_client\'s handle_file(path) sends it ({"path": …, "meta": {"_type": '
    '"gradio.FileData"}}); a path on the server is not read',
}


def wrong_values(name: str, wanted: list[tuple[str, str | None]], sent: Any) -> str:
    """What is wrong with the values of a call to /name, in a sentence ('' when nothing is): too few, or
    one of the wrong kind, which Gradio refused with its components' internals (or read a text meant as a
    list letter by letter). `sent` not a list: Gradio answers that itself."""
    if not isinstance(sent, list):
        return ""
    if len(sent) < len(wanted):
        names = ", ".join(n for n, _ in wanted)
        return (
            f"/{name} takes {len(wanted)} values in this order: {names}; {len(sent)} were sent. "
            "gradio_client fills in the defaults of those left out."
        )
    for (param, kind), value in zip(wanted, sent, strict=False):
        if kind is not None and not _IS[kind](value):
            return f"/{name}: {param} must be {_SAY[kind]}; {json.dumps(value)[:60]} was sent."
    return ""


_CALL = re.compile(r"^(?:/gradio_api)?/(?:call/v2|call|run|api)/([^/]+)/?$")


class KnownEndpoints:
    """ASGI middleware on the API's call routes (POST `/gradio_api/call/NAME`, `/run/NAME`, `/api/NAME`):
    an unknown NAME answers 404 naming the app's public endpoints, and a call sending fewer values than NAME
    takes, or one of the wrong kind, answers 422 saying what it takes (`wrong_values`). A call that names
    its event by number (`fn_index`, as the page itself does on `/run/predict`) must name one of the app's.
    Place it inside BodyLimit: the body it reads is bounded."""

    def __init__(
        self,
        app: Any,
        endpoints: dict[str, list[tuple[str, str | None]]],
        public: tuple[str, ...] = (),
        events: int = 0,
    ) -> None:
        self.app, self.endpoints, self.public, self.events = app, endpoints, public, events

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        m = _CALL.match(scope.get("path", "")) if scope["type"] == "http" else None
        if m is None or scope.get("method") != "POST":
            await self.app(scope, receive, send)
            return
        messages = []
        while True:  # the whole body (BodyLimit, outside, has bounded it), kept to be read again
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request" or not message.get("more_body"):
                break
        call = _call(b"".join(m.get("body", b"") for m in messages if m["type"] == "http.request"))
        name, problem = unquote(m.group(1)), None
        index = call.get("fn_index") if call is not None else None
        if index is not None:
            if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < self.events:
                problem = 404, f"No event #{index}; this app's endpoints: {self._known()}."
        elif name not in self.endpoints:
            problem = 404, f"No endpoint /{name}; this app's endpoints: {self._known()}."
        elif call is not None and (why := wrong_values(name, self.endpoints[name], call.get("data"))):
            problem = 422, why
        if problem is not None:
            await _answer(send, *problem)
            return

        async def replay() -> dict[str, Any]:
            return messages.pop(0) if messages else await receive()

        await self.app(scope, replay, send)

    def _known(self) -> str:
        return ", ".join(f"/{n}" for n in self.public) or "none"


def _call(body: bytes) -> dict[str, Any] | None:
    """The call's JSON object; None when the body is not one (Gradio answers that itself)."""
    call = load_json(body)
    return call if isinstance(call, dict) else None


async def _answer(send: Any, status: int, detail: str) -> None:
    body = json.dumps({"detail": detail}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
