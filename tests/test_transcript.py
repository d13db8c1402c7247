"""A talk's subtitles (.vtt, .srt) read as a transcript: what a user sees of them has no timings, cue
numbers or headers, no rolling repeats, whole sentences, paragraphs at speaker changes and pauses, and
speakers' turns as the shipped transcripts write them. Every caption here is our own made-up talk."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from interp_rag.errors import SourceError
from interp_rag.ingest.load import extract_text, guess_format
from interp_rag.ingest.metadata import document_metadata
from interp_rag.ingest.transcript import PARAGRAPH_WORDS
from interp_rag.store.add import guessed_type

TALKS = Path(__file__).parent / "data" / "talks"

# YouTube's automatic captions: each cue shows the line before it again, a 10 ms cue repeats the finished
# line, the new line's words carry their own timings, and sounds are labelled.
YOUTUBE = (TALKS / "youtube-auto-captions.vtt").read_text()

# A meeting tool's captions: voice tags name the speakers (with a class, without a closing tag, two voices
# in one cue), a NOTE and a STYLE block, numbered cues, a sentence that runs over two cues.
INTERVIEW = (TALKS / "reading-group.vtt").read_text()

# A conference's SubRip file: multi-line cues, formatting tags, an SSA position override, a pause of four
# seconds between two sentences.
LECTURE = (TALKS / "lecture.srt").read_text()


def read(text: str, name: str) -> str:
    data = text.encode()
    return extract_text(data, guess_format(name, data))


def blocks(text: str) -> list[str]:
    return [b.strip() for b in text.split("\n\n") if b.strip()]


def no_caption_syntax(text: str) -> None:
    assert "-->" not in text and "WEBVTT" not in text and "Kind:" not in text
    assert not re.search(r"\d\d:\d\d[.,]\d{3}", text)  # no cue timing, to the millisecond
    assert not re.search(r"(?m)^\d+$", text)  # no cue number
    assert not re.search(r"<[/a-zA-Z0-9]", text)  # no tag or word timing (a "<" the speaker said stays)
    assert "&amp;" not in text and "{\\" not in text and "[Music]" not in text


def test_youtube_rolling_captions_read_once_in_whole_sentences() -> None:
    text = read(YOUTUBE, "talk.vtt")
    no_caption_syntax(text)
    for sentence in (
        "Today I want to talk about activation patching.",
        "You copy one activation from a clean run into a corrupted run & watch the logits.",
        "Attribution patching approximates that effect with a single backward pass.",
    ):
        assert text.count(sentence) == 1, (sentence, text)
    assert text.count("activation patching") == 1 and text.count("logits") == 1
    # the 3.4 s pause after "logits." starts a paragraph, found at its time in the video
    assert blocks(text) == [
        "(00:00:01) welcome back everyone. Today I want to talk about activation patching. You copy one "
        "activation from a clean run into a corrupted run & watch the logits.",
        "(00:00:15) Attribution patching approximates that effect with a single backward pass.",
    ]


def test_voice_tags_become_speaker_turns_as_the_shipped_transcripts_write_them() -> None:
    text = read(INTERVIEW, "reading-group.vtt")
    no_caption_syntax(text)
    assert "Recorded for a reading group" not in text and "color: yellow" not in text  # NOTE, STYLE
    assert blocks(text) == [
        "**Mira Okafor** (00:00:01):\nWelcome to the reading group. Today our guest explains sparse "
        "dictionary features.",
        "**Tomas Lind** (00:00:04):\nThanks, Mira. A dictionary feature is a direction in activation space "
        "that fires on one concept.",
        "**Mira Okafor** (00:00:09):\nYeah, that makes sense.",
        "**Tomas Lind** (00:00:09):\nSo here is the catch. Reconstruction loss < 0.1 can still hide dead "
        "features & split ones.",
    ]


def test_the_answering_stage_reads_a_turn_as_it_reads_a_shipped_transcripts() -> None:
    """The speaker's label and the time are no part of a quotable sentence, and a back-channel reply is
    talk (answering/sides.chatter), as in the shipped interviews."""
    from interp_rag.answering.extractive import sentences
    from interp_rag.answering.sides import chatter
    from interp_rag.text import clean_for_embedding

    text = read(INTERVIEW, "reading-group.vtt")
    quotable = [s for s, _, _ in sentences(text)]
    assert "A dictionary feature is a direction in activation space that fires on one concept." in quotable
    assert not any("Tomas" in s or "Okafor" in s or "00:" in s for s in quotable)
    assert chatter("Yeah, that makes sense.")
    assert "00" not in clean_for_embedding(read(YOUTUBE, "talk.vtt"))  # times reach no embedding or BM25


def test_subrip_multiline_cues_join_into_sentences_and_a_pause_starts_a_paragraph() -> None:
    text = read(LECTURE, "lecture.srt")
    no_caption_syntax(text)
    assert blocks(text) == [
        "(00:00:00) Good morning. This lecture is about circuits in small transformers. Induction heads look "
        "back for an earlier copy of the current token and predict the token that followed it.",
        "(00:00:12) Now for the second topic. Previous-token heads feed them.",
    ]
    assert read(LECTURE.replace("\n", "\r\n"), "lecture.srt") == text  # Windows line ends
    assert read("\ufeff" + LECTURE, "lecture.srt") == text  # a byte order mark


def test_short_subtitles_saved_in_windows_1252_keep_their_accents() -> None:
    line = "Naïve probes and the Señor’s déjà vu, à la carte."
    data = f"1\n00:00:01,000 --> 00:00:03,000\n{line}\n".encode("cp1252")  # once read as Windows-1257
    assert line in extract_text(data, guess_format("a.srt", data))


def _cue(n: int, start: float, line: str, voice: str = "") -> str:
    def clock(t: float) -> str:
        return f"00:{int(t) // 60:02d}:{int(t) % 60:02d}.{round(t % 1 * 1000):03d}"

    return f"{n}\n{clock(start)} --> {clock(start + 2)}\n{f'<v {voice}>' if voice else ''}{line}\n"


def test_a_long_monologue_breaks_at_a_sentence_end_and_a_pause_inside_a_sentence_does_not() -> None:
    def sentence(i: int) -> str:
        return f"Feature {i} of the second layer tracked one narrow idea of the text we gave it."

    words = len(sentence(0).split())
    n = PARAGRAPH_WORDS // words + 3  # past the paragraph length, at no pause
    cues = [_cue(i + 1, 2.0 * i, sentence(i), "Tomas Lind") for i in range(n)]
    # a long pause in the middle of a sentence: a hesitation, no paragraph break
    cues += [
        _cue(n + 1, 2.0 * n, "The last one was", "Tomas Lind"),
        _cue(n + 2, 2.0 * n + 20, "about numbers in dates.", "Tomas Lind"),
    ]
    text = read("WEBVTT\n\n" + "\n".join(cues), "monologue.vtt")
    paras = blocks(text)
    assert paras[0].startswith("**Tomas Lind** (00:00:00):\n") and len(paras) == 2
    first = paras[0].split("\n", 1)[1]
    assert len(first.split()) >= PARAGRAPH_WORDS and first.endswith(".")
    assert len(first.split()) < PARAGRAPH_WORDS + words  # at the first sentence end past the length
    assert (
        paras[1].startswith("(00:00:14) Feature 7 of")
        and "The last one was about numbers in dates." in paras[1]
    )


def test_unpunctuated_automatic_captions_break_at_pauses_between_cues() -> None:
    lines = [f"probe {i} reads one direction of the stream" for i in range(20)]  # 8 words each
    cues = [_cue(i + 1, 2.0 * i + (6 if i >= 11 else 0), line) for i, line in enumerate(lines)]
    paras = blocks(read("WEBVTT\n\n" + "\n".join(cues), "auto.vtt"))
    # the 6 s gap before cue 12 (after 88 words); the 72 words after it stay under the paragraph length
    assert paras == [
        "(00:00:00) " + " ".join(lines[:11]),
        "(00:00:28) " + " ".join(lines[11:]),
    ]


def _zoom(turns: list[tuple[str, str]]) -> str:
    """A meeting tool's captions: one cue a turn, three seconds apart, each line "Name: what they said"."""
    return "WEBVTT\n\n" + "\n".join(
        _cue(i + 1, 3.0 * i, f"{who}: {line}") for i, (who, line) in enumerate(turns)
    )


def test_zoom_speaker_prefixes_are_speakers_and_a_one_off_label_is_text() -> None:
    zoom = _zoom(
        [
            ("Ada Brook", "Let us start with the ablation results."),
            ("Ada Brook", "They were mixed."),
            ("Sam Ito", "Zero ablation broke the model outright."),
            ("Ada Brook", "Mean ablation did not."),
        ]
    )
    assert blocks(read(zoom, "zoom.vtt")) == [
        "**Ada Brook** (00:00:00):\nLet us start with the ablation results. They were mixed.",
        "**Sam Ito** (00:00:06):\nZero ablation broke the model outright.",
        "**Ada Brook** (00:00:09):\nMean ablation did not.",
    ]
    talk = "WEBVTT\n\n" + _cue(1, 0, "Step One: train the probe.") + "\n" + _cue(2, 2, "Then test it.")
    assert read(talk, "talk.vtt") == "(00:00:00) Step One: train the probe. Then test it.\n"


def test_zoom_prefixes_name_speakers_with_accents_and_of_any_script() -> None:
    """ "Émilie Durand: …" did not read as a speaker: her words went into the turn of the one before her."""
    zoom = _zoom(
        [
            ("Jörg Weiß", "A probe reads one direction."),
            ("Émilie Durand", "Et le modèle, l'utilise-t-il ?"),
            ("Jörg Weiß", "Only an intervention tells."),
            ("山田 太郎", "介入が必要です。"),
            ("Émilie Durand", "D'accord."),
        ]
    )
    assert [b.split("\n")[0] for b in blocks(read(zoom, "zoom.vtt"))] == [
        "**Jörg Weiß** (00:00:00):",
        "**Émilie Durand** (00:00:03):",
        "**Jörg Weiß** (00:00:06):",
        "**山田 太郎** (00:00:09):",
        "**Émilie Durand** (00:00:12):",
    ]
    text = read(zoom, "zoom.vtt")  # and all three are the talk's authors, the name without case too
    authors = document_metadata(zoom.encode(), "zoom.vtt", text)["authors"]
    assert authors == ["Jörg Weiß", "Émilie Durand", "山田 太郎"]
    low = "WEBVTT\n\n" + "\n".join(_cue(i + 1, 2.0 * i, "note: the probe is linear.") for i in range(3))
    assert "**" not in read(low, "low.vtt")  # a lowercase word is no name


def test_unnamed_speaker_changes_start_paragraphs() -> None:
    srt = "1\n00:00:01,000 --> 00:00:03,000\n- Does the probe generalise?\n- Only within the domain.\n\n"
    srt += "2\n00:00:03,000 --> 00:00:05,000\n>> Then the claim is narrower.\n"
    assert blocks(read(srt, "panel.srt")) == [
        "(00:00:01) Does the probe generalise?",
        "(00:00:01) Only within the domain.",
        "(00:00:03) Then the claim is narrower.",
    ]


@pytest.mark.parametrize(
    ("name", "body", "says"),
    [
        (
            "talk.vtt",
            "Just some notes about a talk.\nNo cues here.\n",
            'not WebVTT (.vtt) subtitles: expected a first line "WEBVTT"',
        ),
        (
            "talk.srt",
            "Just some notes about a talk.\n",
            "not SubRip (.srt) subtitles: expected numbered cues",
        ),
        ("talk.vtt", "WEBVTT\n\nNOTE only a note, no cue\n", "no cues in these WebVTT (.vtt) subtitles"),
        ("talk.vtt", "WEBVTT\n\n00:01.000 --> 00:02.000\n \n\n00:03.000 --> 00:04.000\n[Music]\n", "no text"),
        ("talk.srt", "1\n00:00:01,000 --> 00:00:02,000\n\n2\n00:00:03,000 --> 00:00:04,000\n\n", "no text"),
        ("talk.vtt", "WEBVTT\n\n00:01.000 --> 00:02.000\n<v Ada></v>\n", "no text"),
    ],
)
def test_what_is_not_subtitles_is_refused_saying_what_was_expected(name: str, body: str, says: str) -> None:
    with pytest.raises(SourceError, match=re.escape(says)):
        read(body, name)


def test_the_format_is_told_by_suffix_and_by_shape_where_the_suffix_says_only_text() -> None:
    assert guess_format("talk.vtt", YOUTUBE.encode()) == "webvtt"
    assert guess_format("talk.srt", LECTURE.encode()) == "srt"
    assert guess_format("talk.txt", LECTURE.encode()) == "srt"  # subtitles saved as text
    assert guess_format("download.txt", INTERVIEW.encode()) == "webvtt"  # served as text/plain
    assert guess_format("talk", YOUTUBE.encode()) == "webvtt"
    # prose that only mentions the format stays text, and a markdown file stays markdown
    assert guess_format("notes.txt", b"WEBVTT is the caption format of the web.\nIt has cues.\n") == "text"
    assert guess_format("notes.txt", b"12\nangry monkeys\n") == "text"
    assert guess_format("notes.md", YOUTUBE.encode()) == "markdown"
    assert guess_format("lecture.vtt", LECTURE.encode()) == "webvtt"
    assert read(LECTURE, "lecture.vtt") == read(LECTURE, "lecture.srt")  # the content decides the parser


def test_subtitles_are_a_transcript_named_after_their_file() -> None:
    data = INTERVIEW.encode()
    assert document_metadata(data, "Sparse Features Reading Group [a1B2c3D4e5F].en.vtt") == {
        "title": "Sparse Features Reading Group"
    }
    assert document_metadata(data, "reading_group.vtt") == {"title": "reading group"}
    assert document_metadata(data, "download.vtt") == {}  # a URL's generic name says nothing
    assert guessed_type("/talks/group.vtt", read(INTERVIEW, "group.vtt"), "webvtt") == "transcript"
    assert guessed_type("/talks/notes.md", "# Notes\n\nText.", "markdown") == "other"


def test_an_added_talk_answers_a_question_from_the_right_passage(built, tmp_path: Path) -> None:
    from interp_rag.ingest.sources import load_sources
    from interp_rag.retrieval.retrieve import retrieve
    from interp_rag.store.build import add_source
    from interp_rag.store.index import load_index

    talk = tmp_path / "Patching Explained [q9W8e7R6t5Y].en.vtt"
    talk.write_text(YOUTUBE)
    add_source(str(talk), settings=built)
    src = load_sources(built.sources_file)[-1]
    assert (src.title, src.type) == ("Patching Explained", "transcript")
    index = load_index(settings=built)
    hit = retrieve(index, "What does attribution patching approximate, and with how many backward passes?",
                   k=3).passages[0]  # fmt: skip
    assert hit.source_id == src.id and "single backward pass" in hit.text
    assert "-->" not in hit.text and hit.text.count("activation patching") <= 1


@pytest.mark.parametrize(
    ("path", "content_type", "suffix"),
    [
        ("/captions", "text/vtt", ".vtt"),  # a video host's captions endpoint names no file
        ("/talk/subs", "application/x-subrip", ".srt"),
        ("/raw/talk.srt", "text/plain", ".srt"),  # a raw file served as plain text keeps its own name
    ],
)
def test_downloaded_captions_are_named_by_their_content_type(
    path: str, content_type: str, suffix: str
) -> None:
    from interp_rag.ingest.fetch import fetch
    from tests.support.http import Route, serve

    body = b"WEBVTT\n\n00:00:01.000 --> 00:00:03.000\nA caption we wrote.\n"
    with serve({path: Route(body=body, content_type=content_type)}) as base:
        data, name = fetch(base + path, arxiv="")
    assert data == body and name.endswith(suffix)


def test_subtitles_added_by_url_are_titled_by_the_urls_file_name(built) -> None:
    """fetch names every download "download.vtt"; the title came from nowhere but the URL ("http://…/talks/
    Circuits%20Explained.en.vtt", id "http-127-0-0-1-…"), where a file of that name is titled by it."""
    from interp_rag.store.library import add_sources
    from tests.support.http import Route, serve

    routes = {"/talks/Circuits%20Explained.en.vtt": Route(body=INTERVIEW.encode(), content_type="text/vtt")}
    with serve(routes) as base:
        report = add_sources([f"{base}/talks/Circuits%20Explained.en.vtt"], settings=built)
    assert [(r.ok, r.id, r.title) for r in report.results] == [
        (True, "circuits-explained", "Circuits Explained")
    ]


def test_a_talks_named_speakers_are_its_authors_and_its_first_words_no_title() -> None:
    """As the shipped interviews list host and guest: the answer cites "Okafor and Lind", the .bib entry
    names them. Roles and numbered voices ("Speaker 1") are no names. A file named only "transcript.vtt"
    was titled by its first turn's label ("**Mira Okafor** (00:00:01):")."""
    from interp_rag.store.add import fallback_title

    text = read(INTERVIEW, "reading-group.vtt")
    assert document_metadata(INTERVIEW.encode(), "reading_group.vtt", text) == {
        "title": "reading group",
        "authors": ["Mira Okafor", "Tomas Lind"],
    }
    voices = ["Host", "Speaker 1", "Host"]
    roles = "WEBVTT\n\n" + "\n".join(
        _cue(i + 1, 2 * i, "A sentence we wrote.", v) for i, v in enumerate(voices)
    )
    assert "**Host** (00:00:00):" in read(roles, "talk.vtt")
    assert "authors" not in document_metadata(roles.encode(), "talk.vtt", read(roles, "talk.vtt"))
    assert fallback_title(text, "/talks/transcript.vtt") == "transcript"
    assert fallback_title(read(LECTURE, "x.srt"), "/talks/captions.srt") == "captions"
