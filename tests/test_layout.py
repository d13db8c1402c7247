"""The package's shape stays a DAG of stages: no module imports a higher stage (not even inside a
function), and no import cycles. Read from the source with ast, so it holds for code never executed."""

from __future__ import annotations

import ast
import importlib
import sys
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "src" / "interp_rag"

# Lower number = lower stage. A module may import its own stage or lower ones.
STAGES = {
    "settings": 0,
    "errors": 0,
    "prompt_texts": 0,  # the default LLM prompts, a settings default
    "types": 0,
    "text": 0,
    "ingest": 1,
    "store": 2,
    "retrieval": 3,
    "answering": 4,
    "progress": 5,  # terminal output, below both front ends
    "evaluation": 6,
    "web": 6,
    "cli": 7,
    "cli_library": 7,  # remove, history: commands cli.py registers
}


def module_name(path: Path) -> str:
    parts = path.relative_to(PKG.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> set[str]:
    """interp_rag modules `path` imports, anywhere in it (relative imports resolved)."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            if target.startswith("interp_rag"):
                # `from . import x` / `from .pkg import mod` may name submodules
                for alias in node.names:
                    sub = f"{target}.{alias.name}"
                    out.add(sub if (PKG.parent / (sub.replace(".", "/") + ".py")).exists() else target)
        elif isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name.startswith("interp_rag")}
    return out - {name}


def stage(module: str) -> int:
    top = module.split(".")[1] if "." in module else ""
    return STAGES[top]


MODULES = {module_name(p): p for p in sorted(PKG.rglob("*.py")) if p != PKG / "__init__.py"}
GRAPH = {m: {t for t in imports_of(p) if t != "interp_rag"} for m, p in MODULES.items()}


def test_every_module_has_a_stage() -> None:
    assert all(stage(m) >= 0 for m in MODULES)  # KeyError names a module outside every stage


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_module_imports_a_higher_stage(module: str) -> None:
    upward = sorted(t for t in GRAPH[module] if stage(t) > stage(module))
    assert not upward, f"{module} (stage {stage(module)}) imports {upward}"


def test_no_import_cycles() -> None:
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(m: str, path: list[str]) -> None:
        state[m] = 1
        for t in sorted(GRAPH.get(m, ())):
            if state.get(t) == 1:
                raise AssertionError("import cycle: " + " -> ".join([*path[path.index(t) :], t]))
            if t in GRAPH and not state.get(t):
                visit(t, [*path, t])
        state[m] = 2

    for m in sorted(GRAPH):
        if not state.get(m):
            visit(m, [m])


def test_the_checker_sees_function_level_and_relative_imports(tmp_path: Path) -> None:
    src = PKG / "answering" / "extractive.py"
    assert "interp_rag.retrieval.policies" in imports_of(src)
    assert "interp_rag.text" in imports_of(src)
    assert "interp_rag.store.build" in GRAPH["interp_rag.cli"]  # imported inside a command


def test_public_functions_stay_functions_after_any_submodule_import() -> None:
    """No submodule shares a public function's name: importing it cannot replace the function."""
    import interp_rag

    for m in MODULES:
        importlib.import_module(m)
    for name in ("answer", "answer_stream", "retrieve", "evaluate", "build_index", "classify_stance"):
        assert callable(getattr(interp_rag, name)), name
        assert not isinstance(getattr(interp_rag, name), type(sys)), name
