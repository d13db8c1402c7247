"""interp-rag: cited answers from the interpretability literature, enthusiastic and skeptical side by side.

from interp_rag import answer
a = answer("Are sparse autoencoders actually useful?")
print(a.text)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .errors import (
    ConfigError,
    DamagedIndexError,
    IndexMissingError,
    InterpRagError,
    LLMError,
    QuestionError,
    SourceError,
    StaleIndexError,
    StorageError,
)
from .settings import Settings, get_settings
from .types import Answer, BuildReport, Chunk, Citation, Document, Passage, Source

__version__ = "0.1.0"

# Heavy modules (torch, faiss, gradio) load on first use, so `import interp_rag` stays fast.
# No submodule shares a name with a function here (answering.pipeline, evaluation): importing a submodule
# sets it as an attribute of the package, and would replace the function of the same name.
_LAZY = {
    "answer": "answering.pipeline",
    "answer_stream": "answering.pipeline",
    "build_index": "store.build",
    "add_source": "store.build",
    "add_sources": "store.library",
    "remove_source": "store.catalogue",
    "list_sources": "store.catalogue",
    "load_index": "store.index",
    "index_stats": "store.index",
    "retrieve": "retrieval.retrieve",
    "classify_stance": "ingest.label",
    "LLMClient": "answering.llm",
    "evaluate": "evaluation",
    "build_ui": "web.app",
}

__all__ = [
    "Answer",
    "BuildReport",
    "Chunk",
    "Citation",
    "ConfigError",
    "DamagedIndexError",
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
    "StorageError",
    "add_source",
    "add_sources",
    "answer",
    "answer_stream",
    "build_index",
    "build_ui",
    "classify_stance",
    "evaluate",
    "get_settings",
    "index_stats",
    "list_sources",
    "load_index",
    "remove_source",
    "retrieve",
]

if TYPE_CHECKING:
    from .answering.llm import LLMClient
    from .answering.pipeline import answer, answer_stream
    from .evaluation import evaluate
    from .ingest.label import classify_stance
    from .retrieval.retrieve import retrieve
    from .store.build import add_source, build_index
    from .store.catalogue import list_sources, remove_source
    from .store.index import index_stats, load_index
    from .store.library import add_sources
    from .web.app import build_ui


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'interp_rag' has no attribute {name!r}")
