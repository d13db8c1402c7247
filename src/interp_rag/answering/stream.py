"""The answer stream: text deltas as they are written, then the final `Answer`.

Iterate it to stream (every item but the last is a `str`; the last is the `Answer`), or call `.answer()`
for the final Answer at once: no caller writes the loop that pulls it out.

The deltas are the LLM's text as it comes, before any check. When the checks set it aside, the stream
says so in a delta ("The answer above is set aside; …", answering.pipeline.SET_ASIDE) and the extractive
answer follows; the final Answer's text is the checked one, always.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from ..types import Answer


class AnswerStream:
    def __init__(self, items: Iterator[str | Answer], question: str = "") -> None:
        self._items = items
        self.question = question
        self._final: Answer | None = None
        self._error: BaseException | None = None

    def __iter__(self) -> AnswerStream:
        return self

    def __next__(self) -> str | Answer:
        if self._error is not None:  # a failed stream fails again the same way, not as an empty one
            raise self._error
        try:
            item = next(self._items)
        except StopIteration:
            raise
        except Exception as e:
            self._error = e
            raise
        if isinstance(item, Answer):
            self._final = item
        return item

    def __repr__(self) -> str:
        state = "failed" if self._error else "answered" if self._final else "streaming"
        q = self.question if len(self.question) <= 60 else self.question[:59] + "…"
        return f"<AnswerStream {q!r} ({state})>"

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
