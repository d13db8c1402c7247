"""How long reading a LaTeX paper takes (ingest/latex.py), on a synthetic paper of our own text.

    python bench/latex_read.py [--sections 100] [--repeat 3]

Builds a paper of --sections sections, each with a paragraph of prose with citations, references, inline
and display math, a footnote, a figure, a list and a table, and times `extract_text(…, "latex")` (best of
--repeat). Prints the source's size, the text's size and the seconds, as JSON.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from interp_rag.ingest.load import extract_text

SECTION = r"""
\section{Part %(i)d}\label{sec:%(i)d}
Probes trained on layer %(i)d read the feature~\citep{smith2020} with accuracy $a_{%(i)d} > 0.9$, as
\citet{jones_probes_2021} report for smaller models (see Section~\ref{sec:%(i)d} and
Figure~\ref{fig:%(i)d}).\footnote{The probe is linear; an MLP probe did no better.} Whether the model
uses what the probe reads is a different question, which an ablation answers.
\begin{equation}
  \mathcal{L}_{%(i)d} = \lVert x - \hat{x} \rVert^2 + \lambda \lVert f \rVert_1 \label{eq:%(i)d}
\end{equation}
\begin{figure}[t]\centering\includegraphics{f%(i)d.pdf}\caption{Accuracy by layer, part %(i)d.}
\label{fig:%(i)d}\end{figure}
\begin{itemize}\item Concrete features are stable.\item Abstract ones drift.\end{itemize}
\begin{table}[h]\caption{Results %(i)d.}\begin{tabular}{lc}Kind & Stable \\ Concrete & 81\%% \\
\end{tabular}\end{table}
"""


def paper(sections: int) -> str:
    body = "".join(SECTION % {"i": i} for i in range(1, sections + 1))
    return (
        "\\documentclass{article}\\newcommand{\\tool}{ProbeKit}\\title{A Synthetic Paper}\n"
        f"\\begin{{document}}\\maketitle\n\\begin{{abstract}}We test \\tool.\\end{{abstract}}{body}"
        "\\end{document}\n"
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sections", type=int, default=100)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    source = paper(args.sections).encode()
    times, text = [], ""
    for _ in range(args.repeat):
        t = time.perf_counter()
        text = extract_text(source, "latex")
        times.append(time.perf_counter() - t)
    print(json.dumps({"source_bytes": len(source), "text_chars": len(text), "seconds": round(min(times), 2)}))


if __name__ == "__main__":
    main()
