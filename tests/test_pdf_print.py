"""A PDF as a real typesetter draws it (Chromium's printer, not our hand-written test PDFs): raised footnote
marks are their own smaller, raised pieces of text, a page's footnotes sit between the halves of the
sentence the page break cuts, and a stamp set sideways up the margin is drawn after the page's text. The
page below is our own writing, laid out as a paper's page."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from interp_rag.ingest.pdf import pdf_text

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
PAGE = """<html><head><style>
@page { size: 8.5in 11in; margin: 0 }
body { margin: 0; font-family: serif; font-size: 13.33px }
.page { position: relative; width: 8.5in; height: 11in; overflow: hidden; page-break-after: always }
.text { position: absolute; left: 1in; top: 1in; width: 6.5in; line-height: 1.3 }
.foot { position: absolute; left: 1in; bottom: 1in; width: 6.5in; font-size: 10.67px; line-height: 1.3 }
.num { position: absolute; bottom: 0.5in; left: 4.2in }
sup { font-size: 0.7em }
h2 { font-size: 18px }
.stamp { position: absolute; left: 0.2in; top: 5in; font-size: 20px; transform: rotate(-90deg);
  transform-origin: left top }
</style></head><body>
<div class="page"><div class="text"><h2>1 Probing Sparse Features</h2>
<p>Linear probes read features from activations<sup>1</sup> and they work in many layers of the models we
studied, with a cost of n<sup>2</sup> in the width of the layer. We ran each probe three times with different
seeds and report the mean.<sup>∗</sup> Probes trained on one layer transfer poorly to the next one, which we
take as a sign that the features move. The last sentence of this page runs on to the next page and is cut in
two by the footnotes that the page carries below its</p></div>
<div class="foot"><sup>1</sup>We use the residual stream at every layer; other choices of site gave similar
results.<br><sup>∗</sup>A second note on the same page, about the seeds.</div><div class="num">1</div>
<div class="stamp">arXiv:2401.00001v1 [cs.LG] 2 Jan 2024</div></div>
<div class="page"><div class="text"><p>text, after which it ends here, past the page break. A new sentence
starts here and ends.</p></div><div class="num">2</div></div>
</body></html>"""


def print_pdf(html: str, tmp_path: Path) -> bytes:
    """The PDF headless Chromium prints of the page."""
    (tmp_path / "paper.html").write_text(html)
    pdf = tmp_path / "paper.pdf"
    subprocess.run(
        [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--no-pdf-header-footer",
         f"--print-to-pdf={pdf}", (tmp_path / "paper.html").as_uri()],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    return pdf.read_bytes()


def paragraphs(pdf: bytes) -> list[str]:
    return " ".join(pdf_text(pdf).replace("\n\n", "\0").split()).split("\0")


@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium")
def test_a_printed_papers_footnotes_leave_its_sentences(tmp_path: Path) -> None:
    text = paragraphs(print_pdf(PAGE, tmp_path))
    assert text == [
        "## 1 Probing Sparse Features",
        "Linear probes read features from activations and they work in many layers of the models we "
        "studied, with a cost of n2 in the width of the layer. We ran each probe three times with "
        "different seeds and report the mean. Probes trained on one layer transfer poorly to the next "
        "one, which we take as a sign that the features move. The last sentence of this page runs on to "
        "the next page and is cut in two by the footnotes that the page carries below its text, after "
        "which it ends here, past the page break.",
        "We use the residual stream at every layer; other choices of site gave similar results.",
        "A second note on the same page, about the seeds.",
        "A new sentence starts here and ends.",
    ]


# Two columns with figures (a drawn box holding a label, a smaller caption under it, with and without a full
# stop), a table with its caption above it; a wide figure at the top of page 2 inside a sentence carried
# over from page 1; a caption in the body font (as a rendered markdown page sets one); a figure at the top
# of a column inside the sentence carried over to it, one set inside a sentence in mid-column; a line of
# running text that opens with "Figure 2.".
FIGURES = """<html><head><style>
@page { size: 8.5in 11in; margin: 0 }
body { margin: 0; font-family: serif; font-size: 13.33px }
.page { position: relative; width: 8.5in; height: 11in; overflow: hidden; page-break-after: always }
.cols { position: absolute; left: 0.75in; top: 1in; width: 7in; column-count: 2; column-gap: 0.3in;
  line-height: 1.25; height: 8.8in; column-fill: auto }
.one { position: absolute; left: 1in; top: 1in; width: 6.5in; line-height: 1.3 }
p { margin: 0 0 0.6em 0; text-align: justify }
figure { margin: 0.8em 0; break-inside: avoid }
.box { height: 1.2in; border: 1px solid black; text-align: center; font-size: 10px }
figcaption { font-size: 11.5px; line-height: 1.25; margin-top: 0.4em }
table { font-size: 11.5px; border-collapse: collapse; margin: 0.4em auto }
td, th { border-top: 1px solid black; padding: 2px 6px }
.tcap { font-size: 11.5px; text-align: center; margin-top: 0.8em }
.num { position: absolute; bottom: 0.5in; left: 4.2in }
h2 { font-size: 18px; margin: 0.5em 0 }
.top { position: absolute; left: 1in; top: 0.6in; width: 6.5in }
.col { position: absolute; top: 1in; width: 3.3in; line-height: 1.25 }
.col .box { height: 1in }
.col figcaption { margin: 0.4em 0 0.8em 0 }
</style></head><body>
<div class="page"><div class="cols"><h2>1 Probing Layers</h2>
<p>We train a linear probe on the residual stream of every layer and measure how well it recovers the
part of speech of each token. The probes are small and cheap to train, so we can afford to train one for
each layer of each model in our study, with three seeds each. The results are collected below.</p>
<figure><div class="box">layer accuracy plot</div><figcaption>Figure 1: Probe accuracy by layer for the
three models we study, averaged over three seeds</figcaption></figure>
<p>Accuracy rises through the early layers and falls again near the output, as earlier work found for
syntax. The peak sits at about two thirds of the depth in every model we looked at.</p>
<figure><div class="box">diagram</div><figcaption>Fig. 2. A second figure whose caption ends with a
full stop and runs over two lines of the column.</figcaption></figure>
<p>Sparse autoencoders trained on the same layers find features that the probes miss. We count a feature as
found when its decoder direction has a cosine similarity above one half with the probe direction.</p>
<div class="tcap">Table 1: Features found per layer</div>
<table><tr><th>Layer</th><th>Probe</th><th>SAE</th></tr><tr><td>4</td><td>12</td><td>31</td></tr>
<tr><td>8</td><td>17</td><td>44</td></tr></table>
<p>The table shows that the autoencoder finds more features at every depth. We next turn to the question of
why the probes miss them, which needs a closer look at the directions themselves and at how they change
from one layer to the next one in the stack.</p>
<p>Directions learned by the probes drift slowly with depth. A probe trained at one layer loses about a
tenth of its accuracy at the next layer and most of it three layers later, while the features of the
autoencoder keep their meaning over longer stretches of the network.</p>
<figure><div class="box">drift plot</div><figcaption>Figure 3: Cosine similarity between probe directions
at neighbouring layers. Each line is one model. The similarity falls off quickly after the middle
layers.</figcaption></figure>
<p>We take this as evidence that the features move while the probes stay put. A final sentence of the page
runs on past the end of this column and over the page break into the next page, where a figure at the top
of the page stands between its two</p>
</div><div class="num">1</div></div>
<div class="page"><div class="top"><figure style="margin:0">
<div class="box" style="height:1.5in">wide figure</div>
<figcaption>Figure 4: A wide figure set at the top of the second page, above the running
text</figcaption></figure></div>
<div class="one" style="top:3.2in"><p>halves, and the sentence ends here. A new paragraph follows with one
more sentence to read.</p>
<p style="font-style:italic">Table 2: An italic caption set in the body font, as a rendered page sets
it</p>
<p>The last paragraph of the document, which closes the page.</p></div>
<div class="num">2</div></div>
<div class="page"><div class="col" style="left:0.75in"><p>Steering vectors change what a model writes
without changing its weights. As we show in<br>Figure 2. The vectors are found from the difference of
the mean activations on two sets of prompts, and the last sentence of this column is carried over to the
next column, past the figure that stands at its</p></div>
<div class="col" style="left:4.4in"><figure style="margin:0"><div class="box">steering plot</div>
<figcaption>Figure 5: Steering strength against the share of answers that change</figcaption></figure>
<p>top, and it ends here. The next paragraph stands between the two halves of this</p>
<figure style="margin:0"><div class="box">second plot</div><figcaption>Table 3. A caption set in the
middle of a column, inside a sentence.</figcaption></figure>
<p>sentence, which ends here.</p></div></div>
</body></html>
"""


@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium")
def test_a_printed_papers_captions_are_paragraphs_of_their_own(tmp_path: Path) -> None:
    assert paragraphs(print_pdf(FIGURES, tmp_path)) == [
        "## 1 Probing Layers",
        "We train a linear probe on the residual stream of every layer and measure how well it "
        "recovers the part of speech of each token. The probes are small and cheap to train, so we "
        "can afford to train one for each layer of each model in our study, with three seeds each. "
        "The results are collected below.",
        "layer accuracy plot",
        "Figure 1: Probe accuracy by layer for the three models we study, averaged over three seeds",
        "Accuracy rises through the early layers and falls again near the output, as earlier work "
        "found for syntax. The peak sits at about two thirds of the depth in every model we looked "
        "at.",
        "diagram",
        "Fig. 2. A second figure whose caption ends with a full stop and runs over two lines of the column.",
        "Sparse autoencoders trained on the same layers find features that the probes miss. We count "
        "a feature as found when its decoder direction has a cosine similarity above one half with "
        "the probe direction.",
        "Table 1: Features found per layer",
        "Layer Probe SAE 4 12 31 8 17 44",
        "The table shows that the autoencoder finds more features at every depth. We next turn to the"
        " question of why the probes miss them, which needs a closer look at the directions "
        "themselves and at how they change from one layer to the next one in the stack. Directions "
        "learned by the probes drift slowly with depth. A probe trained at one layer loses about a "
        "tenth of its accuracy at the next layer and most of it three layers later, while the "
        "features of the autoencoder keep their meaning over longer stretches of the network.",
        "drift plot",
        "Figure 3: Cosine similarity between probe directions at neighbouring layers. Each line is "
        "one model. The similarity falls off quickly after the middle layers.",
        "We take this as evidence that the features move while the probes stay put. A final sentence "
        "of the page runs on past the end of this column and over the page break into the next page, "
        "where a figure at the top of the page stands between its two halves, and the sentence ends "
        "here.",
        "wide figure",
        "Figure 4: A wide figure set at the top of the second page, above the running text",
        "A new paragraph follows with one more sentence to read.",
        "Table 2: An italic caption set in the body font, as a rendered page sets it",
        "The last paragraph of the document, which closes the page.",
        "Steering vectors change what a model writes without changing its weights. As we show in "
        "Figure 2. The vectors are found from the difference of the mean activations on two sets of "
        "prompts, and the last sentence of this column is carried over to the next column, past the "
        "figure that stands at its top, and it ends here.",
        "steering plot",
        "Figure 5: Steering strength against the share of answers that change",
        "The next paragraph stands between the two halves of this sentence, which ends here.",
        "second plot",
        "Table 3. A caption set in the middle of a column, inside a sentence.",
    ]


# Captions without a "Figure 3:" label, as a rendered markdown page (an unnumbered italic caption in the body
# font) and an IEEE paper (the label "TABLE I" on a line of its own over the title, in smaller capitals) set
# them; and lines of running text that open with a label after a finished sentence.
LABELS = """<html><head><style>
@page { size: 8.5in 11in; margin: 0 }
body { margin: 0; font-family: serif; font-size: 13.33px }
.one { position: absolute; left: 1in; top: 1in; width: 6.5in; line-height: 1.3 }
p { margin: 0 0 0.8em 0 }
.cap { font-size: 10.67px; text-align: center; font-variant: small-caps; line-height: 1.2; margin: 0 }
table { font-size: 10.67px; border-collapse: collapse; margin: 0.4em auto 0.8em auto }
td { border-top: 1px solid black; padding: 2px 6px }
</style></head><body><div class="one">
<p>Probes read the part of speech from the residual stream. They are cheap to train on every layer, so we
train one for each layer of each model in the study, three times over with different seeds, and report the
mean of the three runs. The spread between seeds is small next to the differences between layers, which
are what the rest of this page is about.</p>
<p><em>Figure: How well the probes do at each layer of the three models, over three seeds</em></p>
<p>Accuracy rises through the early layers. It falls again near the output.<br>Table 1 lists the layers
where it peaks, and<br>Fig. 2 shows the same for the second model.</p>
<p class="cap">TABLE I</p><p class="cap">FEATURES FOUND PER LAYER</p>
<table><tr><td>Layer</td><td>Probe</td><td>SAE</td></tr><tr><td>4</td><td>12</td><td>31</td></tr></table>
<p>The autoencoder finds more features at every depth.</p>
</div></body></html>"""


@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium")
def test_a_printed_pages_unnumbered_and_ieee_captions_are_paragraphs_of_their_own(tmp_path: Path) -> None:
    assert paragraphs(print_pdf(LABELS, tmp_path)) == [
        "Probes read the part of speech from the residual stream. They are cheap to train on every layer, so "
        "we train one for each layer of each model in the study, three times over with different seeds, and "
        "report the mean of the three runs. The spread between seeds is small next to the differences "
        "between layers, which are what the rest of this page is about.",
        "Figure: How well the probes do at each layer of the three models, over three seeds",
        "Accuracy rises through the early layers. It falls again near the output. Table 1 lists the layers "
        "where it peaks, and Fig. 2 shows the same for the second model.",
        "TABLE I FEATURES FOUND PER LAYER",
        "Layer Probe SAE 4 12 31",
        "The autoencoder finds more features at every depth.",
    ]
