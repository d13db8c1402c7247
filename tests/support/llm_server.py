"""Start a real OpenAI-compatible chat server (``transformers serve``) on loopback, fully offline.

The server is an implementation we did not write, so the project's client is tested against real
request validation and a real SSE stream. Nothing is downloaded: the model is a tiny random-weight Llama and
its tokenizer is trained here on a few lines of text, both saved under the test's own ``workdir``.

Known behaviour of ``transformers serve`` (transformers 5.x) worth knowing when writing tests:
- the stream ends after a chunk carrying ``finish_reason`` and ``usage``; there is NO ``data: [DONE]`` line;
- the first chunk is ``{"delta": {"role": "assistant"}}`` with no ``content`` key;
- a request's ``model`` must be exactly ``ServerInfo.model`` (or absent), else HTTP 400;
- without ``max_tokens`` it generates up to 1024 tokens, so always send ``max_tokens`` to keep tests fast.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

MODEL_NAME = "tiny-llama"  # a directory under workdir; also the server's model id (cwd is workdir)
SPECIAL_TOKENS = ["<unk>", "<pad>", "<s>", "</s>"]
CHAT_TEMPLATE = (
    "{% for m in messages %}<s>{{ m['role'] }}\n{{ m['content'] }}</s>\n{% endfor %}"
    "{% if add_generation_prompt %}<s>assistant\n{% endif %}"
)
# Words the tokenizer learns; the random model emits them, so answers are readable (if meaningless) text.
TRAINING_TEXT = [
    "Sparse autoencoders find interpretable features in the residual stream of a language model.",
    "Skeptics argue that attention maps and probes do not show what a model actually computes.",
    "Circuits, superposition and polysemantic neurons are studied with activation patching.",
    "The quick brown fox jumps over the lazy dog; 0123456789 (a, b, c) [x] {y} 'z' \"q\" ? ! - : / %",
]


@dataclass(frozen=True)
class ServerInfo:
    base_url: str  # e.g. http://127.0.0.1:PORT/v1 — what an OpenAI client takes as base_url
    model: str  # value to send as "model" in requests; the server rejects any other name
    log_path: Path  # server stdout+stderr, useful when a test fails


def build_tiny_model(model_dir: Path, seed: int = 0) -> None:
    """Save a ~30k-parameter random Llama plus a trained BPE tokenizer with a chat template."""
    # Imported here: torch/transformers are heavy and only needed by tests that start the server.
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import GenerationConfig, LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    # Metaspace (not byte-level) so that every token decodes to valid text on its own: streamed
    # deltas never hold back half a UTF-8 character. Printable ASCII is seeded so little maps to <unk>.
    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Metaspace()
    tok.decoder = decoders.Metaspace()
    trainer = trainers.BpeTrainer(
        vocab_size=400,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=[chr(c) for c in range(32, 127)] + ["▁", "\n", "\t"],
        show_progress=False,
    )
    tok.train_from_iterator(TRAINING_TEXT * 4, trainer=trainer)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=tok, unk_token="<unk>", pad_token="<pad>", bos_token="<s>", eos_token="</s>"
    )
    tokenizer.chat_template = CHAT_TEMPLATE
    tokenizer.save_pretrained(model_dir)

    special_ids = tokenizer.convert_tokens_to_ids(SPECIAL_TOKENS)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        # RoPE has no learned positions, so a long window costs nothing and fits RAG-sized prompts.
        max_position_embeddings=16384,
        tie_word_embeddings=True,
        # 10x the default init spread: at 0.02 greedy decoding repeats one token ("aaaa…"); at 0.2 the
        # answer is varied text with spaces, closer to what a client must cope with.
        initializer_range=0.2,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
    )
    torch.manual_seed(seed)
    model = LlamaForCausalLM(config).eval()
    # Greedy decoding that never emits special tokens (so never EOS): the same prompt always yields the
    # same non-empty answer of exactly max_tokens tokens, with finish_reason "length".
    model.generation_config = GenerationConfig(
        do_sample=False,
        suppress_tokens=special_ids,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
    )
    model.save_pretrained(model_dir)


def _free_port() -> int:
    # Small race (the port could be taken before the server binds it); a failed start reports it clearly.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _tail(path: Path, limit: int = 4000) -> str:
    try:
        return path.read_text(errors="replace")[-limit:]
    except OSError:
        return "<no server log>"


def _stop(proc: subprocess.Popen[bytes]) -> None:
    # The server runs in its own session, so the whole process group (any worker children) goes at once.
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=15)


@contextlib.contextmanager
def start_openai_server(workdir: Path, *, timeout: float = 180) -> Iterator[ServerInfo]:
    """Build the tiny model under ``workdir``, serve it on 127.0.0.1 and yield how to reach it."""
    workdir.mkdir(parents=True, exist_ok=True)
    model_dir = workdir / MODEL_NAME
    if not (model_dir / "config.json").exists():
        build_tiny_model(model_dir)

    port = _free_port()
    log_path = workdir / "llm_server.log"
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "HF_HUB_DISABLE_TELEMETRY": "1",
        "TOKENIZERS_PARALLELISM": "false",
        "PYTHONUNBUFFERED": "1",
        # Two CPU cores in CI: keep torch from oversubscribing them next to the test process.
        "OMP_NUM_THREADS": "1",
    }
    cmd = [
        sys.executable, "-m", "transformers.cli.transformers", "serve", MODEL_NAME,  # FORCE_MODEL: preload it
        "--host", "127.0.0.1", "--port", str(port), "--device", "cpu", "--dtype", "float32",
        "--log-level", "info", "--default-seed", "0",
    ]  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    with log_path.open("wb") as log:
        # cwd=workdir makes the relative MODEL_NAME a local path, and a short, stable model id.
        proc = subprocess.Popen(
            cmd, cwd=workdir, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(
                    f"transformers serve exited with code {proc.returncode} before answering.\n"
                    f"Command: {' '.join(cmd)}\nLog tail ({log_path}):\n{_tail(log_path)}"
                )
            with contextlib.suppress(httpx.HTTPError):
                # The forced model is loaded before uvicorn binds, so an answer here means ready to serve.
                if httpx.get(f"{base}/v1/models", timeout=2).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"transformers serve did not answer on {base} within {timeout:.0f}s.\n"
                    f"Command: {' '.join(cmd)}\nLog tail ({log_path}):\n{_tail(log_path)}"
                )
            time.sleep(0.25)
        yield ServerInfo(base_url=f"{base}/v1", model=MODEL_NAME, log_path=log_path)
    finally:
        _stop(proc)
