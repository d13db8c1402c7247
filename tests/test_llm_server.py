"""answer() against a real OpenAI-compatible server we did not write (`transformers serve`, a tiny random
Llama created by the test). Its words are noise; what is tested is the protocol: streamed and whole
answers, its stream's end without `data: [DONE]`, and citation validation on whatever comes back."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from interp_rag import Answer, answer, answer_stream
from interp_rag.answering.llm import LLMClient
from tests.support.llm_server import start_openai_server

pytestmark = pytest.mark.llmserver


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    with start_openai_server(Path(tmp_path_factory.mktemp("llm"))) as info:
        yield info


def test_streamed_answer_from_a_real_server(server, mini_index, mini_settings) -> None:
    client = LLMClient(server.base_url, model=server.model, max_tokens=24)
    items = list(
        answer_stream("Are linear probes useful?", k=3, index=mini_index, llm=client, settings=mini_settings)
    )
    final = items[-1]
    deltas = items[:-1]
    assert isinstance(final, Answer) and len(deltas) >= 2 and "".join(deltas).strip()
    cited = {int(n) for n in re.findall(r"\[(\d+)\]", final.text)}
    assert cited == {c.number for c in final.citations} and cited <= set(range(1, len(final.passages) + 1))
    # 24 tokens: the server ends with finish_reason "length" (no [DONE]), so the answer is cut to its last
    # finished sentence and the notice says so
    if final.mode == "llm":
        assert final.text.strip() and final.model == server.model and cited
        assert not final.notice or "length limit (24 tokens" in final.notice
    else:  # random words cite no passage: an answer that cannot be checked is replaced by the extractive one
        assert final.citations
        assert (
            "cited none of the shown passages" in final.notice
            or "before it finished a sentence" in final.notice
        )


def test_whole_answer_from_a_real_server(server) -> None:
    client = LLMClient(server.base_url, model=server.model, max_tokens=16)
    text = client.complete([{"role": "user", "content": "Say something about circuits."}])
    assert text.strip()


def test_server_rejecting_the_model_name_falls_back(server, mini_index, mini_settings) -> None:
    client = LLMClient(server.base_url, model="no-such-model", max_tokens=16, max_retries=0)
    a = answer("Are linear probes useful?", index=mini_index, llm=client, settings=mini_settings)
    assert a.mode == "extractive" and "HTTP 400" in a.notice and a.citations


def test_stance_pass_against_a_real_server(server, mini_index, mini_settings) -> None:
    # A random-weight model writes no JSON: the passages keep the index's labels, and the answer comes.
    settings = mini_settings.model_copy(update={"llm": mini_settings.llm.model_copy(update={"stance": True})})
    client = LLMClient(server.base_url, model=server.model, max_tokens=24)
    a = answer("Are linear probes useful?", k=3, index=mini_index, llm=client, settings=settings)
    unusable = ("cited none of the shown passages", "before it finished a sentence")
    assert a.passages and (a.mode == "llm" or any(x in a.notice for x in unusable))
    relabelled = [p for p in a.passages if p.stance_by == "llm"]
    assert relabelled or "could not be read" in a.notice
    assert all(p.stance in ("enthusiastic", "skeptical", "neutral") for p in a.passages)


def test_add_with_questions_from_a_real_server(server, mini_settings, tmp_path: Path) -> None:
    # A random-weight model writes no JSON: the source is added without questions, and the report says so.
    import shutil

    from interp_rag.store.build import add_source
    from tests.conftest import make_settings

    shutil.copytree(mini_settings.mirror, tmp_path / "mirror")
    shutil.copy(mini_settings.sources_file, tmp_path / "sources.toml")
    shutil.copytree(mini_settings.index_dir, tmp_path / "index", ignore=shutil.ignore_patterns(".build.lock"))
    settings = make_settings(tmp_path, mirror=tmp_path / "mirror", expansions_dir=tmp_path / "expansions")
    doc = tmp_path / "note.md"
    doc.write_text("# A note on probes\n\nLinear probes read a model's residual stream at every layer.\n")
    client = LLMClient(server.base_url, model=server.model, max_tokens=32)
    report = add_source(str(doc), settings=settings, llm_questions=client)
    assert "a-note-on-probes" in report.sources_ok
    assert report.questions_written == 0 and "no usable question" in report.warnings[0]
