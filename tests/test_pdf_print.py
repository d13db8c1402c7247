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


@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium")
def test_a_printed_papers_footnotes_leave_its_sentences(tmp_path: Path) -> None:
    (tmp_path / "paper.html").write_text(PAGE)
    pdf = tmp_path / "paper.pdf"
    subprocess.run(
        [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--no-pdf-header-footer",
         f"--print-to-pdf={pdf}", (tmp_path / "paper.html").as_uri()],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    text = " ".join(pdf_text(pdf.read_bytes()).replace("\n\n", "\0").split()).split("\0")
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
