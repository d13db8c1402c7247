"""A talk's subtitles (WebVTT .vtt, SubRip .srt) as the transcript a reader reads.

Captions are cues: a timing line and a line or two of text, cut wherever the screen was full. Read as plain
text, their timings, cue numbers and headers were indexed as words, and every sentence was cut at each cue
line. Here the cues' words are joined into sentences and paragraphs, and speakers' turns are written as the
shipped transcripts write them, `**Name** (00:12:34):` with the turn's text on the next line: the shape
answering/extractive.py reads a speaker's label off and answering/sides.py reads interview talk in.

webvtt-py parses both formats (headers, NOTE/STYLE/REGION blocks, cue settings, malformed cues skipped).
What no library does is done here:
- automatic captions that roll (YouTube's): each cue repeats the line before it, and a 10 ms cue repeats it
  again. A line the previous cue already showed is dropped; a line that grows the previous one ("so today",
  then "so today I want") adds only its new words.
- speakers: WebVTT voice tags (`<v Ada Lovelace>`, as Teams writes them), a recurring "Name: " before the
  text (Zoom), and unnamed changes (">>", a dialogue dash).
- sound labels ("[Music]", "[Applause]") dropped; tags and word timings cut; HTML entities read.
"""

from __future__ import annotations

import bisect
import html
import io
import itertools
import re
from collections import Counter
from dataclasses import dataclass

from ..errors import SourceError
from ..text import split_sentences

# A paragraph ends where the talk paused this long between two cues, if a sentence ends there: a pause
# between sentences is where a speaker moves on (a pause inside a sentence is a hesitation, and breaking
# there would cut the sentence in two for the answer's quoting).
PAUSE_MS = 2_500
# ... and, in a monologue that never pauses so long, at the first sentence end after this many words: the
# shipped transcripts' paragraphs have a median of 68 words and a 90th percentile of 143.
PARAGRAPH_WORDS = 100
# Whether each paragraph that opens no turn starts with its time, "(00:12:34) …", so that a reader finds the
# moment in the video. Written in the turn label's own form, which text.clean_for_embedding cuts: no word of
# it reaches the embedding, BM25 or a quoted sentence.
PARAGRAPH_TIMES = True

_FORMAT_NAMES = {"webvtt": "WebVTT (.vtt)", "srt": "SubRip (.srt)"}
# What each format looks like, for the message that refuses a file that is not it.
_EXPECTED = {
    "webvtt": 'a first line "WEBVTT", then cues: a timing line such as "00:00:01.000 --> 00:00:04.000" and '
    "the cue's text",
    "srt": 'numbered cues: a number, a timing line such as "00:00:01,000 --> 00:00:04,000" and the '
    "cue's text",
}

_TIME = r"(?:\d+:)?\d{1,2}:\d{2}[.,]\d{1,3}"
_TIMING_LINE = rf"[ \t]*{_TIME}[ \t]+-->[ \t]+{_TIME}"
_TIMING = re.compile(f"^{_TIMING_LINE}", re.M)
# The WEBVTT signature line (text may follow it after a space or tab), as the spec defines it.
_VTT_SIGNATURE = re.compile(r"\A\ufeff?WEBVTT(?:[ \t][^\n]*)?\r?\n")
# A SubRip file opens with its first cue: a number, then a timing line.
_SRT_START = re.compile(rf"\A\ufeff?\s*\d+[ \t]*\r?\n{_TIMING_LINE}")


def subtitles_format(head: bytes) -> str | None:
    """The subtitles format of a file whose name does not say it (a .txt, a download served as text/plain):
    "webvtt" for the WEBVTT signature line with a cue's timing line in the same first kilobyte, "srt" for a
    cue number over a timing line at the very start, None otherwise. Both are shapes prose never takes, so a
    note that only mentions WebVTT stays text."""
    text = head[:1024].decode("utf-8", "replace")
    if _VTT_SIGNATURE.match(text) and _TIMING.search(text):
        return "webvtt"
    if _SRT_START.match(text):
        return "srt"
    return None


def subtitles_title(name: str) -> str:
    """A title from a subtitles file's name, which is where one is found ("Sparse Probing [a1B2c3].en.vtt",
    as yt-dlp names them: the video's id and the language dropped); "" for a download's generic name."""
    stem = re.sub(r"\.[a-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})*$", "", name.rsplit(".", 1)[0])  # ".en", ".en-US"
    stem = re.sub(r"\s*\[[\w-]{6,20}\]$", "", stem).replace("_", " ").strip()
    return "" if stem.lower() in ("download", "captions", "subtitles", "transcript") else stem


@dataclass
class _Line:
    """One line of a cue's text, read: tags cut, entities read, its speaker found."""

    start: int  # the cue's start and end, in milliseconds
    end: int
    text: str
    speaker: str | None = None  # named by a voice tag or a "Name: " prefix; None: whoever spoke before
    change: bool = False  # an unnamed change of speaker before it (">>", a dialogue dash)


def transcript_text(text: str, fmt: str) -> str:
    """Subtitles (`fmt` "webvtt" or "srt", what the file's name says; its content decides) as markdown
    text: sentences whole, paragraphs at speaker changes, pauses and sentence ends, speakers' turns as
    `**Name** (00:12:34):`. SourceError when it is not subtitles, or when its cues hold no text."""
    lines = _named_by_prefix(_dedupe(_read_lines(_cues(text, fmt))))
    if not lines:
        raise SourceError(
            "no text could be extracted: its cues are all empty (or hold only tags and sound labels such "
            "as [Music])"
        )
    return _render(lines)


def _cues(text: str, fmt: str) -> list[tuple[int, int, str]]:
    """(start ms, end ms, raw text) of each cue, in the order of the file."""
    import webvtt
    from webvtt.errors import MalformedCaptionError, MalformedFileError

    text = text.lstrip("\ufeff")
    # The content decides: a .vtt that is SubRip inside (or the reverse) is read as what it is.
    actual = "webvtt" if _VTT_SIGNATURE.match(text + "\n") else "srt" if _SRT_START.match(text) else None
    if actual is None:
        what = _FORMAT_NAMES.get(fmt, "subtitles")
        raise SourceError(
            f"not {what} subtitles: expected {_EXPECTED.get(fmt, _EXPECTED['webvtt'])}; to add the file "
            "as plain text, name it .txt"
        )
    try:
        if actual == "webvtt":
            captions = webvtt.from_string(text).captions
        else:
            captions = webvtt.from_buffer(io.StringIO(text), format="srt").captions
    except (MalformedFileError, MalformedCaptionError) as e:
        raise SourceError(
            f"not readable {_FORMAT_NAMES[actual]} subtitles ({e}): expected {_EXPECTED[actual]}"
        ) from e
    if not captions:
        if _TIMING.search(text):  # timing lines were there: cues with nothing in them
            raise SourceError("no text could be extracted: its cues are all empty")
        raise SourceError(f"no cues in these {_FORMAT_NAMES[actual]} subtitles: expected {_EXPECTED[actual]}")
    return [(c.start_time.in_milliseconds(), c.end_time.in_milliseconds(), c.raw_text) for c in captions]


_TAG = re.compile(r"<([^<>\n]*)>")
_VOICE = re.compile(r"v(?:\.[\w-]+)*\s+([^>\s][^>]*)")  # <v Name>, <v.loud Name>
_OVERRIDE = re.compile(r"\{\\[^{}]*\}")  # an SSA override some SubRip writers leave: {\an8}
# A sound label in brackets: a word or three, letters only ("[Music]", "[ Applause ]", "[inaudible]").
_SOUND = re.compile(r"\[\s*[A-Za-z][A-Za-z' ]{0,30}\s*\]|[♪♫]+")
_CHANGE = re.compile(r"^(?:>>+|-(?=\s))\s*")  # an unnamed speaker change: broadcast ">>", a dialogue dash
_SPACE = re.compile(r"\s+")


def _read_lines(cues: list[tuple[int, int, str]]) -> list[_Line]:
    """The text lines of every cue, tags cut (a voice tag names the line's speaker), entities read."""
    out = []
    for start, end, raw in cues:
        for raw_line in raw.split("\n"):
            speaker, parts = None, []
            pos = 0
            for m in _TAG.finditer(raw_line):
                parts.append(raw_line[pos : m.start()])
                pos = m.end()
                if voice := _VOICE.fullmatch(m.group(1).strip()):
                    if "".join(parts).strip():  # a second voice on the line: the first one's text first
                        out.append(_Line(start, end, _plain("".join(parts)), speaker))
                        parts = []
                    speaker = _SPACE.sub(" ", html.unescape(voice.group(1))).strip()
            parts.append(raw_line[pos:])
            line = "".join(parts)
            change = bool(_CHANGE.match(line.strip()))
            text = _plain(_CHANGE.sub("", line.strip()))
            if text:
                out.append(_Line(start, end, text, speaker, change))
    return out


def _plain(line: str) -> str:
    line = html.unescape(_OVERRIDE.sub("", line))  # after the tags are cut: "&lt;b&gt;" is text
    return _SPACE.sub(" ", _SOUND.sub(" ", line)).strip()


def _dedupe(lines: list[_Line]) -> list[_Line]:
    """The lines with rolling captions' repeats taken out: a line that the previous cue (of the same
    speaker) showed whole is dropped, and one that continues a line of it keeps only its new words."""
    out: list[_Line] = []
    before: list[_Line] = []  # the previous cue's lines
    shown: list[_Line] = []  # the current cue's lines so far
    cue = None
    for line in lines:
        if (line.start, line.end) != cue:
            cue, before, shown = (line.start, line.end), shown or before, []
        shown.append(_Line(line.start, line.end, line.text, line.speaker))
        same = [b.text for b in before if line.speaker is None or b.speaker in (None, line.speaker)]
        if line.change:
            pass
        elif line.text in same:
            continue
        elif grown := next((b for b in same if line.text.startswith(b + " ")), None):
            line.text = line.text[len(grown) + 1 :]
        out.append(line)
    return out


# "Ada Lovelace: …" as Zoom writes a speaker: one to four capitalised words, a colon. Read so only where
# names that recur open a third of the lines or more (then every such prefix is a speaker, one who spoke
# once too), so that "Step One: …" in a talk stays text. Words of any script: "Émilie Durand: …" was read
# as text, in the turn of whoever spoke before her.
_PREFIX = re.compile(r"^([^\W\d_][\w.'’-]*(?: [^\W\d_][\w.'’-]*){0,3}): (?=\S)")


def _prefix_name(text: str) -> str | None:
    """The speaker a line's "Name: " prefix names: its words capitalised (or of a script without case)."""
    m = _PREFIX.match(text)
    return m.group(1) if m and not any(w[0].islower() for w in m.group(1).split()) else None


def _named_by_prefix(lines: list[_Line]) -> list[_Line]:
    if any(ln.speaker for ln in lines):
        return lines  # voice tags name the speakers
    found = [_prefix_name(ln.text) for ln in lines]
    counts = Counter(name for name in found if name)
    if sum(k for k in counts.values() if k >= 2) * 3 < len(lines):
        return lines
    for ln, name in zip(lines, found, strict=True):
        if name:
            ln.speaker, ln.text = name, ln.text[len(name) + 2 :]
    return lines


@dataclass
class _Paragraph:
    start: int  # milliseconds
    speaker: str | None
    opens_turn: bool
    text: str = ""


def _turns(lines: list[_Line]) -> list[list[_Line]]:
    """Runs of lines of one speaker: a named speaker differing from the last one, or an unnamed change,
    starts a new run."""
    runs: list[list[_Line]] = []
    speaker = None
    for ln in lines:
        named = ln.speaker is not None and ln.speaker != speaker
        if not runs or named or ln.change:
            runs.append([])
        speaker = ln.speaker if ln.speaker is not None else None if ln.change else speaker
        ln.speaker = speaker
        runs[-1].append(ln)
    return runs


def _paragraphs(turn: list[_Line]) -> list[_Paragraph]:
    """One speaker's turn in paragraphs: the lines joined, broken before a sentence that follows a pause
    of PAUSE_MS or that starts once the paragraph has PARAGRAPH_WORDS words. Captions with no sentence
    punctuation (some automatic ones) break at cue edges instead, the only boundaries they have."""
    joined, at = "", []  # the turn's text; where each line starts in it, with its time and pause before
    last_end = None
    for ln in turn:
        if joined:
            joined += " "
        pause = last_end is not None and ln.start - last_end >= PAUSE_MS
        at.append((len(joined), ln.start, pause))
        joined += ln.text
        last_end = ln.end
    spans = split_sentences(joined)
    if len(spans) == 1 and (len(joined.split()) > PARAGRAPH_WORDS or not re.search("[.!?]", joined)):
        starts = [a for a, _, _ in at] + [len(joined)]
        spans = [(a, b - 1 if b < len(joined) else b) for a, b in itertools.pairwise(starts)]
    line_at = {a: (t, pause) for a, t, pause in at}
    offsets = [a for a, _, _ in at]
    paras: list[_Paragraph] = []
    words = 0
    for a, b in spans:
        # a sentence starting inside a line has that line's time, and no pause before it
        t, pause = line_at.get(a) or (at[bisect.bisect_right(offsets, a) - 1][1], False)
        if not paras or pause or words >= PARAGRAPH_WORDS:
            paras.append(_Paragraph(t, turn[0].speaker, opens_turn=not paras))
            words = 0
        p = paras[-1]
        p.text = f"{p.text} {joined[a:b]}" if p.text else joined[a:b]
        words += len(joined[a:b].split())
    return paras


# A turn's label and a timed paragraph's opening, as _render writes them.
TURN_LABEL = re.compile(r"^\*\*(?P<name>[^*\n]+)\*\* \(\d{2,}:\d{2}:\d{2}\):$", re.M)
TIMED_LINE = re.compile(r"^(?:\*\*[^*\n]+\*\* )?\(\d{2,}:\d{2}:\d{2}\)")


def transcript_speakers(text: str) -> list[str]:
    """The speakers a transcript's turns name (by voice tags or "Name: " prefixes), in the order they first
    speak."""
    return list(dict.fromkeys(m.group("name").strip() for m in TURN_LABEL.finditer(text)))


def _clock(ms: int) -> str:
    s = ms // 1000
    return f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}"


def _render(lines: list[_Line]) -> str:
    blocks = []
    for turn in _turns(lines):
        for p in _paragraphs(turn):
            if p.opens_turn and p.speaker:
                blocks.append(f"**{p.speaker}** ({_clock(p.start)}):\n{p.text}")
            elif PARAGRAPH_TIMES:
                blocks.append(f"({_clock(p.start)}) {p.text}")
            else:
                blocks.append(p.text)
    return "\n\n".join(blocks) + "\n"
