"""Hand stance labels for tests, in the form corpus/stance/labels-*.jsonl stores them (by offset and hash)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any


def hand_label(
    text: str, part: str, label: str, *, doc: str | None = None, offset: int = 0
) -> dict[str, Any]:
    """The label of `part`, found in `text` (which starts at `offset` of its document's text)."""
    start = offset + text.index(part)
    row = {"start": start, "end": start + len(part), "sha": hashlib.sha1(part.encode()).hexdigest()[:12]}
    return ({"doc": doc} if doc else {}) | row | {"label": label}


def write_labels(labels_dir: Path, *rows: dict[str, Any]) -> Path:
    """A labels directory holding `rows` (as labels-0.jsonl)."""
    labels_dir.mkdir(parents=True, exist_ok=True)
    (labels_dir / "labels-0.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return labels_dir
