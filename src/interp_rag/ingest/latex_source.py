"""A LaTeX source before it is parsed (latex.py): its \\input files brought in, its short commands expanded.

A paper's source is often a main file that `\\input`s one file per section (an arXiv source folder or
archive). Added from the disk, the main file is read with the files it includes, as LaTeX would: only `.tex`
files inside its own folder, nested at most `MAX_DEPTH` deep, each once; a commented-out `\\input` is left
alone. Added as a folder, the included files are not sources of their own (`paper_parts`). An archive
(`.tar.gz`, as arXiv serves a source) is read in memory the same way (`archive_source`).
"""

from __future__ import annotations

import io
import posixpath
import re
import tarfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from ..errors import SourceError
from ..text import span_holder

MAX_DEPTH = 5
MAX_INPUTS = 500  # files brought in, repeats counted: a file that inputs another many times, nested, stops
# An archive is read member by member, and passing over a member means unpacking it: a few hundred kB of
# bzip2 can hold a member of 200 GB of zeros (35 minutes to skip), or millions of empty entries, each kept in
# memory by tarfile. arXiv's sources hold tens to a few thousand files, figures included.
MAX_MEMBERS = 20_000
MAX_UNPACKED = 2_000_000_000  # bytes, all members together, as their headers declare them
_INPUT = re.compile(r"\\(?:input|include|subfile)\s*\{([^{}\n]+)\}")
_COMMENT = re.compile(r"(?<!\\)%[^\n]*")


def _target(base: Path, name: str) -> Path | None:
    """The file `\\input{name}` reads, if it is a .tex file inside `base`."""
    name = name.strip()
    path = (base / (name if name.endswith(".tex") else name + ".tex")).resolve()
    if not path.is_relative_to(base.resolve()) or not path.is_file():
        return None
    return path


def comments(tex: str) -> Callable[[int], bool]:
    """Is tex[i] inside a comment (after an unescaped % on its line)? Found in one pass over the file, so
    asking for every definition or \\input of a one-line hostile file stays linear."""
    holding = span_holder([m.span() for m in _COMMENT.finditer(tex)])
    return lambda i: holding(i) is not None


def _inputs(tex: str) -> list[re.Match[str]]:
    """The \\input commands of a source that are not inside a comment."""
    commented = comments(tex)
    return [m for m in _INPUT.finditer(tex) if not commented(m.start())]


def inline_inputs(tex: str, find: Callable[[str], tuple[str, str] | None]) -> str:
    """`tex` with every \\input replaced by the text of the file it names: `find(name)` gives (a key naming
    that file, its text), or None for a file that is not there. Each file once per branch, `MAX_DEPTH`
    deep, `MAX_INPUTS` in all; what is not brought in stays an \\input (the converter drops it)."""

    inlined = 0

    def expand(text: str, depth: int, seen: frozenset[str]) -> str:
        nonlocal inlined
        if depth >= MAX_DEPTH:
            return text
        out, last = [], 0
        for m in _inputs(text):
            found = find(m.group(1).strip()) if inlined < MAX_INPUTS else None
            if found is None or found[0] in seen:
                continue
            inlined += 1
            out += [text[last : m.start()], "\n", expand(found[1], depth + 1, seen | {found[0]}), "\n"]
            last = m.end()
        return "".join(out) + text[last:]

    return expand(tex, 0, frozenset())


def read_with_inputs(path: Path, check_bytes: Callable[[int, str], None]) -> bytes:
    """The file's bytes with every \\input of a .tex file inside its folder replaced by that file's text.
    `check_bytes(total, what)` raises when the files together pass the size limit."""
    main = path.resolve()
    data = main.read_bytes()
    tex = data.decode("utf-8", "replace")
    if not _inputs(tex):
        return data  # the common case, byte for byte (its encoding is detected later)
    total = len(data)

    def find(name: str) -> tuple[str, str] | None:
        nonlocal total
        target = _target(main.parent, name)
        if target is None or target == main:
            return None
        part = target.read_bytes()
        total += len(part)
        check_bytes(total, f"{path} with the files it includes")
        return str(target), part.decode("utf-8", "replace")

    return inline_inputs(tex, find).encode("utf-8")


@lru_cache(maxsize=2)  # add reads an archive's text and its authors from one download: unpacked once
def archive_source(data: bytes, max_bytes: int = 50_000_000) -> str:
    """The LaTeX of a paper's source archive (what arXiv serves as a paper's "source": a gzipped tar, or one
    gzipped .tex): its main file (the one with \\documentclass and \\begin{document}; the largest of
    several) with the files it \\inputs. Only .tex members are read, never written anywhere, and no more
    than `max_bytes` of them; SourceError when the archive holds no LaTeX."""
    members = _tex_members(data, max_bytes)
    mains = [n for n, t in members.items() if "\\documentclass" in t]
    if not mains:
        raise SourceError("the archive holds no LaTeX document (no .tex file with \\documentclass)")
    main = max(mains, key=lambda n: ("\\begin{document}" in members[n], len(members[n])))
    folder = posixpath.dirname(main)

    def find(name: str) -> tuple[str, str] | None:
        key = posixpath.normpath(posixpath.join(folder, name if name.endswith(".tex") else name + ".tex"))
        return (key, members[key]) if key in members and key != main else None

    return inline_inputs(members[main], find)


def _tex_members(data: bytes, max_bytes: int) -> dict[str, str]:
    """name -> text of the archive's .tex files (a lone gzipped file is one member, "main.tex")."""
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as tar:
            members: dict[str, str] = {}
            total = unpacked = 0
            for count, m in enumerate(tar, 1):
                # checked on each header, before the member is passed over (which unpacks it)
                unpacked += m.size
                if count > MAX_MEMBERS or unpacked > MAX_UNPACKED:
                    what = f"{MAX_MEMBERS:,} files" if count > MAX_MEMBERS else f"{MAX_UNPACKED:,} bytes"
                    raise SourceError(
                        f"the archive holds more than {what}: not a paper's source as arXiv serves one; add "
                        "the paper's main .tex file or its PDF"
                    )
                if not m.isfile() or not m.name.lower().endswith(".tex"):
                    continue
                total += m.size
                if total > max_bytes:
                    raise SourceError(f"the archive's LaTeX files hold more than {max_bytes:,} bytes")
                f = tar.extractfile(m)
                if f is not None:
                    members[posixpath.normpath(m.name)] = f.read().decode("utf-8", "replace")
            return members
    except tarfile.ReadError:
        pass  # not a tar: a single gzipped file
    except (EOFError, zlib.error, OSError) as e:
        raise SourceError(f"the archive is damaged ({type(e).__name__}: {e})") from e
    try:
        inflate = zlib.decompressobj(wbits=47)  # gzip or zlib header
        text = inflate.decompress(data, max_bytes)
    except zlib.error as e:
        raise SourceError(f"the archive is damaged (zlib: {e})") from e
    if inflate.unconsumed_tail:
        raise SourceError(f"the compressed file holds more than {max_bytes:,} bytes")
    return {"main.tex": text.decode("utf-8", "replace")}


def included_files(path: Path) -> set[Path]:
    """The files beside `path` that it \\inputs (directly or not): parts of it, not documents of their own."""
    base = path.resolve().parent
    found: set[Path] = set()
    todo = [path.resolve()]
    while todo:
        p = todo.pop()
        try:
            tex = p.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        for m in _inputs(tex):
            target = _target(base, m.group(1))
            if target is not None and target not in found and target != path.resolve():
                found.add(target)
                todo.append(target)
    return found


def paper_parts(files: list[Path]) -> set[Path]:
    """Of a folder's files, the .tex files that are parts of a paper rather than papers: those a main file
    \\inputs, and, when the folder holds a main file (one with \\documentclass), every .tex file without
    one (an unused section, a draft, a macro file)."""
    tex = [f.resolve() for f in files if f.suffix.lower() in (".tex", ".latex")]
    mains = [f for f in tex if "\\documentclass" in f.read_text(encoding="utf-8", errors="replace")]
    parts = {part for f in tex for part in included_files(f)}
    if mains:
        parts |= set(tex) - set(mains)
    return parts


# \newcommand{\name}[args][default]{body} (also \renewcommand, \providecommand), TeX's \def\name#1#2{body},
# \DeclareMathOperator{\name}{text}, xparse's \NewDocumentCommand{\name}{O{default} m}{body} (and its
# Renew/Provide/Declare forms): each match ends at the "{" that opens the body. TeX's \let\name\other (or
# \let\name=\other) has no body: it ends after the other command.
_DEFINE = re.compile(
    r"\\(?:re|provide)?newcommand\*?\s*\{?\s*\\(?P<name>[A-Za-z]+)\s*\}?\s*"
    r"(?:\[\s*(?P<nargs>[1-9])\s*\]\s*(?:\[(?P<default>[^\]{}]*)\]\s*)?)?\{"
    r"|\\def\s*\\(?P<defname>[A-Za-z]+)(?P<params>(?:#[1-9])*)\s*\{"
    r"|\\DeclareMathOperator\*?\s*\{\s*\\(?P<opname>[A-Za-z]+)\s*\}\s*\{"
    r"|\\(?:New|Renew|Provide|Declare)DocumentCommand\s*\{?\s*\\(?P<docname>[A-Za-z]+)\s*\}?\s*"
    r"\{(?P<spec>(?:[^{}]|\{[^{}]*\})*)\}\s*\{"
    r"|\\let\s*\\(?P<letname>[A-Za-z]+)\s*=?\s*\\(?P<target>[A-Za-z]+|[^A-Za-z\s])"
)
_SPEC = re.compile(r"O\{[^{}]*\}|\S")


# An optional argument's closing bracket is looked for this far: a hostile file of "\\cmd[" must not make
# each use scan to the end of the file.
_MAX_OPTIONAL = 2_000
_BRACE = re.compile(r"(?<!\\)[{}]")
_PARAM = re.compile(r"#([1-9])")
_TOKEN = re.compile(r"\\(?:[A-Za-z]+|.)", re.S)  # a command as one argument (\cmd\alpha reads \alpha)


@dataclass(frozen=True)
class _Macro:
    nargs: int
    default: str | None  # a first argument that is optional, and what it is when left out
    body: str


def _closers(tex: str) -> dict[int, int]:
    """For each "{" that closes, the index just past its "}": one pass over the braces, so finding every
    command's arguments stays linear in the file (a file of unclosed groups included)."""
    out: dict[int, int] = {}
    opened: list[int] = []
    for m in _BRACE.finditer(tex):
        if m.group() == "{":
            opened.append(m.start())
        elif opened:
            out[opened.pop()] = m.end()
    return out


def expand_simple_macros(tex: str, keep: frozenset[str] = frozenset()) -> str:
    """The paper's own commands replaced by their definitions, their arguments put in (three rounds for
    nested ones, never past twice the source's size: a definition that calls itself must not blow it up);
    the definitions themselves removed. A paper hides its authors' notes to each other by defining the
    note command as nothing (`\\newcommand{\\jd}[1]{}`): read without its definition, each note's text stayed
    in the paper. Commands in `keep` (those the reader interprets: \\section, \\caption, \\cite, …) are not
    expanded: a paper that restyles \\section with \\renewcommand still has sections."""
    defs: dict[str, _Macro] = {}
    out, last = [], 0
    closers = _closers(tex)
    commented = comments(tex)
    for m in _DEFINE.finditer(tex):
        if m.start() < last or commented(m.start()):  # an old definition left in a comment
            continue
        if m["letname"]:  # an alias: the other command's definition, or the other command itself
            if m["letname"] not in keep:
                target = m["target"]  # a command word takes the space after it, as TeX reads it
                alias = _Macro(0, None, "\\" + target + " " * target.isalpha())
                defs[m["letname"]] = defs.get(target) or alias
            out.append(tex[last : m.start()])
            last = m.end()
            continue
        end = closers.get(m.end() - 1, -1)  # past the body's closing brace
        if end < 0:
            break
        body = tex[m.end() : end - 1].replace("\\xspace", "")
        name = m["name"] or m["defname"] or m["opname"] or m["docname"]
        if name in keep:
            pass  # the definition goes, the reader's own reading of the command stays
        elif m["opname"]:
            defs[name] = _Macro(0, None, "\\operatorname{" + body + "}")
        elif m["docname"]:
            if (shape := _document_arguments(m["spec"])) is not None:
                defs[name] = _Macro(shape[0], shape[1], body)
            # other argument forms (a star, delimited or verbatim arguments): the uses stay as written
        else:
            nargs = int(m["nargs"] or 0) if m["name"] else len(m["params"]) // 2
            defs[name] = _Macro(nargs, m["default"], body)
        out.append(tex[last : m.start()])
        last = end
    out.append(tex[last:])
    tex = "".join(out)
    if not defs:
        return tex
    names = "|".join(re.escape(k) for k in sorted(defs, key=len, reverse=True))
    pattern = re.compile(r"\\(" + names + r")(?![A-Za-z])")
    limit = 2 * len(tex) + 10_000
    for _ in range(3):
        expanded, n = _expand_once(tex, defs, pattern, limit)
        if not n or len(expanded) > limit:
            break
        tex = expanded
    return tex


def _document_arguments(spec: str) -> tuple[int, str | None] | None:
    """(number of arguments, the optional first one's default or None) of an xparse argument list of
    mandatory arguments (`m`) after at most one optional first one (`o`, or `O{default}`); None for other
    forms. An `o` left out reads as nothing."""
    tokens = [t for t in _SPEC.findall(spec) if t != "+"]  # "+": may hold paragraphs, read the same
    default = None
    if tokens and (tokens[0] == "o" or tokens[0].startswith("O{")):
        default = tokens.pop(0)[2:-1] if tokens[0] != "o" else ""
    if any(t != "m" for t in tokens) or len(tokens) + (default is not None) > 9:
        return None
    return len(tokens) + (default is not None), default


def _expand_once(tex: str, defs: dict[str, _Macro], pattern: re.Pattern[str], limit: int) -> tuple[str, int]:
    """Each use of a defined command replaced once; a use whose arguments are not there (the file ends,
    a brace never closes) is left as written."""
    out: list[str] = []
    pos = n = size = 0
    closers = _closers(tex)
    while (m := pattern.search(tex, pos)) is not None and size <= limit:
        macro = defs[m.group(1)]
        args, end = _arguments(tex, m.end(), macro, closers)
        if args is None:
            out.append(tex[pos : m.end()])
            pos = m.end()
            continue
        body = _put_in(macro.body, args)
        out += [tex[pos : m.start()], body]
        size += m.start() - pos + len(body)
        pos, n = end, n + 1
    out.append(tex[pos:])
    return "".join(out), n


def _put_in(body: str, args: list[str]) -> str:
    """`body` with #1…#9 replaced in one pass: an argument that itself holds "#2" stays as written."""
    return _PARAM.sub(lambda p: args[int(p.group(1)) - 1] if int(p.group(1)) <= len(args) else "", body)


def _arguments(tex: str, i: int, macro: _Macro, closers: dict[int, int]) -> tuple[list[str] | None, int]:
    """The arguments a use of `macro` takes from tex[i:] (a {group} or one token each; an optional first
    one in [brackets]) and the index after them; None when they are not there."""
    args: list[str] = []
    if macro.nargs == 0:
        return args, i + 2 if tex.startswith("{}", i) else i  # "\\method{}" keeps the space after it
    if macro.default is not None:
        j = i
        while j < len(tex) and tex[j] in " \t":
            j += 1
        if tex.startswith("[", j) and (close := tex.find("]", j, j + _MAX_OPTIONAL)) > 0:
            args.append(tex[j + 1 : close])
            i = close + 1
        else:
            args.append(macro.default)
    while len(args) < macro.nargs:
        while i < len(tex) and tex[i] in " \t\n":
            i += 1
        if i >= len(tex) or tex[i] == "}":
            return None, i
        if tex[i] == "{":
            end = closers.get(i, -1)
            if end < 0:
                return None, i
            args.append(tex[i + 1 : end - 1])
            i = end
        elif w := _TOKEN.match(tex, i):
            args.append(w.group(0))
            i = w.end()
        else:
            args.append(tex[i])
            i += 1
    return args, i
