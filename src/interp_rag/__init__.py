"""interp-rag: cited answers from the interpretability literature, enthusiastic and skeptical side by side.

from interp_rag import answer
a = answer("Are sparse autoencoders actually useful?")
print(a.text)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .errors import (
    ConfigError,
    IndexMissingError,
    InterpRagError,
    LLMError,
    QuestionError,
    SourceError,
    StaleIndexError,
)
from .settings import Settings, get_settings
from .types import Answer, BuildReport, Chunk, Citation, Document, Passage, Source

__version__ = "0.1.0"

# Heavy modules (torch, faiss, gradio) load on first use, so `import interp_rag` stays fast.
_LAZY = {
    "answer": "answer",
    "answer_stream": "answer",
    "build_index": "build",
    "add_source": "build",
    "load_index": "index",
    "index_stats": "index",
    "retrieve": "retrieve",
    "classify_stance": "stance",
    "LLMClient": "llm",
    "evaluate": "evaluate",
    "build_ui": "ui",
}

__all__ = [
    "Answer",
    "BuildReport",
    "Chunk",
    "Citation",
    "ConfigError",
    "Document",
    "IndexMissingError",
    "InterpRagError",
    "LLMClient",
    "LLMError",
    "Passage",
    "QuestionError",
    "Settings",
    "Source",
    "SourceError",
    "StaleIndexError",
    "add_source",
    "answer",
    "answer_stream",
    "build_index",
    "build_ui",
    "classify_stance",
    "evaluate",
    "get_settings",
    "index_stats",
    "load_index",
    "retrieve",
]

if TYPE_CHECKING:
    from .answer import answer, answer_stream
    from .build import add_source, build_index
    from .evaluate import evaluate
    from .index import index_stats, load_index
    from .llm import LLMClient
    from .retrieve import retrieve
    from .stance import classify_stance
    from .ui import build_ui


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'interp_rag' has no attribute {name!r}")
