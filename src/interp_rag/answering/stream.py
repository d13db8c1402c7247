"""The answer stream: text deltas as they are written, then the final `Answer`.

Iterate it to stream (every item but the last is a `str`; the last is the `Answer`), or call `.answer()`
for the final Answer at once: no caller writes the loop that pulls it out.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from ..types import Answer


class AnswerStream:
    def __init__(self, items: Iterator[str | Answer]) -> None:
        self._items = items
        self._final: Answer | None = None

    def __iter__(self) -> AnswerStream:
        return self

    def __next__(self) -> str | Answer:
        item = next(self._items)
        if isinstance(item, Answer):
            self._final = item
        return item

    def deltas(self, on_final: Callable[[Answer], None] | None = None) -> Iterator[str]:
        """Only the text deltas; the final Answer is kept for `.answer()` (and passed to `on_final`)."""
        for item in self:
            if isinstance(item, str):
                yield item
            elif on_final is not None:
                on_final(item)

    def answer(self) -> Answer:
        """The final Answer, reading whatever of the stream is left."""
        for _ in self:
            pass
        if self._final is None:  # the pipeline always ends with an Answer; an error would have raised
            raise RuntimeError("the answer stream ended without an Answer")
        return self._final
