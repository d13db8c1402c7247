"""An event's return values made into what Gradio sends, in the handler's own thread.

Gradio postprocesses each output of an event in a worker thread of its own and walks each value twice for
files to move: an answer has fourteen outputs, and this cost ~4 ms of its CPU on the server, more than all
of its HTML. An event wired with `postprocess=False` skips that; its handler returns `postprocessed(...)`,
the same values Gradio's postprocessing makes (the same JSON on the wire), made in one pass.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from gradio.components import Component
from gradio.data_classes import GradioModel, GradioRootModel


def postprocessed(outputs: Sequence[Any], values: Sequence[Any]) -> tuple[Any, ...]:
    """`values`, one per output block, as Gradio's postprocessing makes them: a component's value through
    its `postprocess`, a prop update's value likewise (its other props as they are); a State's value, a
    layout's update and `gr.skip()` unchanged."""
    return tuple(_sent(block, value) for block, value in zip(outputs, values, strict=True))


def _sent(block: Any, value: Any) -> Any:
    if not isinstance(block, Component) or block.stateful:
        return value
    if isinstance(value, dict) and value.get("__type__") == "update":
        return {**value, "value": _value(block, value["value"])} if "value" in value else value
    return _value(block, value)


def _value(block: Component, value: Any) -> Any:
    made = block.postprocess(value)
    return made.model_dump() if isinstance(made, GradioModel | GradioRootModel) else made
