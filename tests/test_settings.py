"""Settings: groups, every variable the README lists, no environment changes on import."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from interp_rag.errors import ConfigError
from interp_rag.settings import Settings, get_settings

README = Path(__file__).resolve().parents[1] / "README.md"

# Each README variable, a value that differs from the default, and where it must land.
CASES = {
    "INTERP_RAG_INDEX_DIR": ("/tmp/x-index", lambda s: str(s.index_dir), "/tmp/x-index"),
    "INTERP_RAG_SOURCES_FILE": ("x/sources.toml", lambda s: str(s.sources_file), "x/sources.toml"),
    "INTERP_RAG_MIRROR": ("/tmp/mirror", lambda s: str(s.mirror), "/tmp/mirror"),
    "INTERP_RAG_CACHE_DIR": ("x/cache", lambda s: str(s.cache_dir), "x/cache"),
    "INTERP_RAG_EXPANSIONS_DIR": ("x/exp", lambda s: str(s.expansions_dir), "x/exp"),
    "INTERP_RAG_STANCE_LABELS_DIR": ("x/labels", lambda s: str(s.stance_labels_dir), "x/labels"),
    "INTERP_RAG_CHUNK_TOKENS": ("120", lambda s: s.chunk_tokens, 120),
    "INTERP_RAG_CHUNK_OVERLAP": ("16", lambda s: s.chunk_overlap, 16),
    "INTERP_RAG_LLM_BASE_URL": ("http://h:1/v1", lambda s: s.llm.base_url, "http://h:1/v1"),
    "INTERP_RAG_LLM_MODEL": ("m7", lambda s: s.llm.model, "m7"),
    "INTERP_RAG_LLM_API_KEY": ("sk-1", lambda s: s.llm.api_key, "sk-1"),
    "INTERP_RAG_LLM_CONNECT_TIMEOUT": ("3", lambda s: s.llm.connect_timeout, 3.0),
    "INTERP_RAG_LLM_READ_TIMEOUT": ("7", lambda s: s.llm.read_timeout, 7.0),
    "INTERP_RAG_LLM_MAX_RETRIES": ("1", lambda s: s.llm.max_retries, 1),
    "INTERP_RAG_LLM_PASSAGE_CHARS": ("900", lambda s: s.llm.passage_chars, 900),
    "INTERP_RAG_LLM_STANCE": ("true", lambda s: s.llm.stance, True),
    "INTERP_RAG_CONTEXT_CHARS": ("300", lambda s: s.retrieval.context_chars, 300),
    "INTERP_RAG_RERANKER": ("none", lambda s: s.retrieval.reranker, "none"),
    "INTERP_RAG_HOST": ("0.0.0.0", lambda s: s.web.host, "0.0.0.0"),
    "INTERP_RAG_PORT": ("8001", lambda s: s.web.port, 8001),
    "INTERP_RAG_AUTH": ("alice:pw", lambda s: s.web.auth, "alice:pw"),
    "INTERP_RAG_READ_ONLY": ("true", lambda s: s.web.read_only, True),
    "INTERP_RAG_WEB__PRIVATE_URLS": ("true", lambda s: s.web.private_urls, True),
    "INTERP_RAG_FETCH_PRIVATE": ("false", lambda s: s.fetch_private, False),
    "INTERP_RAG_HISTORY": ("false", lambda s: s.history, False),
    "INTERP_RAG_RELEVANCE_FLOOR": ("0.55", lambda s: s.retrieval.relevance_floor, 0.55),
    "INTERP_RAG_MAX_SOURCE_CHARS": ("5000", lambda s: s.max_source_chars, 5000),
    "INTERP_RAG_MAX_SOURCE_BYTES": ("6000", lambda s: s.max_source_bytes, 6000),
    "INTERP_RAG_NEAR_COPY_COSINE": ("0.95", lambda s: s.near_copy_cosine, 0.95),
    "INTERP_RAG_NEAR_COPY_SHARE": ("0.5", lambda s: s.near_copy_share, 0.5),
    "INTERP_RAG_FETCH_TIMEOUT": ("5", lambda s: s.fetch_timeout, 5.0),
    "INTERP_RAG_FETCH_DEADLINE": ("90", lambda s: s.fetch_deadline, 90.0),
    "INTERP_RAG_ARXIV_URL": ("https://export.arxiv.org", lambda s: s.arxiv_url, "https://export.arxiv.org"),
    "INTERP_RAG_LLM__MIN_SUPPORT": ("0.3", lambda s: s.llm.min_support, 0.3),
    "INTERP_RAG_LLM__DEADLINE": ("60", lambda s: s.llm.deadline, 60.0),
    "INTERP_RAG_LLM__MAX_REPLY_BYTES": ("50000", lambda s: s.llm.max_reply_bytes, 50_000),
    "INTERP_RAG_LLM__MAX_UNSUPPORTED": ("1", lambda s: s.llm.max_unsupported, 1.0),
    "INTERP_RAG_LLM__QUESTIONS_PER_PASSAGE": ("5", lambda s: s.llm.questions_per_passage, 5),
    "INTERP_RAG_LLM__QUESTIONS_PER_CALL": ("2", lambda s: s.llm.questions_per_call, 2),
}


def test_every_readme_variable_is_covered() -> None:
    """The README's table names these (`_CHUNK_OVERLAP` style shorthands expanded)."""
    text = README.read_text(encoding="utf-8")
    table = text[text.index("| variable |") : text.index("The full list")]
    named = set()
    for cell in re.findall(r"^\| ([^|]+) \|", table, re.M):
        full = re.findall(r"`(INTERP_RAG_\w+)`", cell)
        named |= set(full)
        parts = full[0].split("_") if full else []
        for short in re.findall(r"`_(\w+)`", cell):  # `_READ_TIMEOUT` after `INTERP_RAG_LLM_CONNECT_TIMEOUT`
            cand = ["_".join([*parts[:i], short]) for i in range(len(parts) - 1, 1, -1)]
            named.add(next((c for c in cand if c in CASES), cand[0]))
    assert named == set(CASES)


@pytest.mark.parametrize("name", sorted(CASES))
def test_each_readme_variable_sets_its_field(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    value, read, expected = CASES[name]
    assert read(Settings()) != expected
    monkeypatch.setenv(name, value)
    assert read(Settings()) == expected


def test_nested_names_and_groups_as_json(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INTERP_RAG_RETRIEVAL__DENSE_WEIGHT", "0.6")
    monkeypatch.setenv("INTERP_RAG_WEB__MAX_K", "30")
    monkeypatch.setenv("INTERP_RAG_LLM", '{"base_url": "http://json/v1", "model": "j"}')
    monkeypatch.setenv("INTERP_RAG_LLM_MODEL", "flat")  # the documented flat name wins
    monkeypatch.setenv("INTERP_RAG_RETRIEVAL__STANCE_LIFT", "0")  # named in the README
    monkeypatch.setenv("INTERP_RAG_RETRIEVAL__TRIM_REPEATS", "false")  # so is this
    s = Settings()
    assert s.retrieval.trim_repeats is False
    assert (s.retrieval.dense_weight, s.web.max_k, s.llm.base_url, s.llm.model) == (
        0.6,
        30,
        "http://json/v1",
        "flat",
    )
    assert s.retrieval.stance_lift == 0.0


def test_flat_keywords_and_explicit_values_beat_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INTERP_RAG_LLM_BASE_URL", "http://env/v1")
    assert Settings(llm_base_url="http://kw/v1").llm.base_url == "http://kw/v1"
    assert Settings(llm={"base_url": "http://group/v1"}).llm.base_url == "http://group/v1"


def test_bad_values_name_the_field(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INTERP_RAG_PORT", "many")
    with pytest.raises(ConfigError, match="INTERP_RAG_PORT = 'many'.*Fix or unset the variable"):
        Settings()
    monkeypatch.delenv("INTERP_RAG_PORT")
    with pytest.raises(ConfigError, match="dense_wieght"):
        Settings(retrieval={"dense_wieght": 0.2})  # a typo in a group is an error, not ignored
    with pytest.raises(ConfigError, match="Unknown setting.s. indexdir; Settings takes"):
        Settings(indexdir="/tmp")  # and at the top: it was ignored, and the default index used
    with pytest.raises(ConfigError, match=r"keyword llm.temperature = 3: .*less than or equal to 2\.$"):
        get_settings(llm={"temperature": 3})  # a keyword is named as one, not as a variable to unset


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("INTERP_RAG_RETRIEVAL__QUESTION_WEIGHT", "inf", "finite number"),  # numpy warnings, other passages
        ("INTERP_RAG_FETCH_DEADLINE", "nan", "finite number"),
        ("INTERP_RAG_RETRIEVAL__MIN_COSINE", "5", "less than or equal to 1"),  # a cosine
    ],
)
def test_no_setting_takes_nan_inf_or_a_cosine_past_one(
    name: str, value: str, message: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from interp_rag.errors import ConfigError
    from interp_rag.settings import get_settings

    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=f"{name} = '{value}': .*{message}"):
        get_settings()


def test_a_bad_value_is_a_config_error_naming_the_variable_that_holds_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from interp_rag.errors import ConfigError
    from interp_rag.settings import get_settings

    monkeypatch.setenv("INTERP_RAG_ANSWER__SIDE_CONFIDENCE", "2")
    with pytest.raises(
        ConfigError, match=r"INTERP_RAG_ANSWER__SIDE_CONFIDENCE = '2': .*less than or equal to 1"
    ):
        get_settings()
    monkeypatch.delenv("INTERP_RAG_ANSWER__SIDE_CONFIDENCE")
    monkeypatch.setenv("INTERP_RAG_PORT", "many")  # a documented flat name is named as the user wrote it
    with pytest.raises(ConfigError, match=r"INTERP_RAG_PORT = 'many': .*integer.*Fix or unset"):
        get_settings()


def test_the_cli_and_the_app_report_a_bad_value_without_a_traceback(tmp_path: Path) -> None:
    env = {**os.environ, "INTERP_RAG_RETRIEVAL__VOICE_FLOOR": "lots", "INTERP_RAG_INDEX_DIR": str(tmp_path)}
    root = Path(__file__).resolve().parents[1]
    for cmd in ([sys.executable, "-m", "interp_rag.cli", "stats"], [sys.executable, str(root / "app.py")]):
        out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120, cwd=root)
        assert out.returncode == 1, (cmd, out.stdout, out.stderr)
        assert "INTERP_RAG_RETRIEVAL__VOICE_FLOOR = 'lots'" in out.stderr
        assert "Traceback" not in out.stderr


@pytest.mark.parametrize(
    "var,value,says",
    [
        ("INTERP_RAG_ANSWER__MODE", "abstractive", "Unknown answer mode 'abstractive'"),
        ("INTERP_RAG_RERANKER", "colbert", "Unknown reranker 'colbert'"),
    ],
)
def test_the_app_refuses_an_unknown_mode_or_reranker_before_serving(tmp_path: Path, var, value, says) -> None:
    # the registries live above the settings: before, the page came up and every question failed
    env = {**os.environ, var: value, "INTERP_RAG_INDEX_DIR": str(tmp_path), "INTERP_RAG_WEB__PORT": "7869"}
    root = Path(__file__).resolve().parents[1]
    for cmd in ([sys.executable, str(root / "app.py")], [sys.executable, "-m", "interp_rag.cli", "serve"]):
        out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120, cwd=root)
        assert out.returncode == 1, (cmd, out.stdout, out.stderr)
        assert says in out.stderr and "Traceback" not in out.stderr
        assert not list(tmp_path.iterdir())  # no index build was started


def test_importing_the_package_leaves_the_environment_alone() -> None:
    code = (
        "import os; before = dict(os.environ); import interp_rag, interp_rag.settings; "
        "from interp_rag import Settings; Settings(); "
        "import interp_rag.ingest.embed, interp_rag.store.index, interp_rag.answering.pipeline; "
        "print(sorted(set(os.environ.items()) ^ set(before.items())))"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "TRANSFORMERS", "OPENBLAS"))}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_serving_on_a_busy_port_or_an_unknown_host_is_one_line(tmp_path: Path) -> None:
    import socket

    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "INTERP_RAG_INDEX_DIR": str(tmp_path)}
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = str(busy.getsockname()[1])
        cases = [
            (["serve", "--port", port], f"Cannot serve on 127.0.0.1:{port}", "pass --port"),
            (
                ["serve", "--host", "nosuchhost.invalid"],
                "Cannot serve on host 'nosuchhost.invalid'",
                "--host",
            ),
        ]
        for args, says, advice in cases:
            cmd = [sys.executable, "-m", "interp_rag.cli", *args]
            out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120, cwd=root)
            assert out.returncode == 1 and says in out.stderr and advice in out.stderr, out.stderr
            assert "Traceback" not in out.stderr and len(out.stderr.strip().splitlines()) == 1
    assert not list(tmp_path.iterdir())  # nothing was built


def test_every_public_name_resolves() -> None:
    import interp_rag

    for name in interp_rag.__all__:
        assert getattr(interp_rag, name) is not None, name
    # the source library's own functions, not a same-named helper of another stage
    assert interp_rag.remove_source.__module__ == "interp_rag.store.catalogue"
    assert interp_rag.add_sources.__module__ == "interp_rag.store.library"
