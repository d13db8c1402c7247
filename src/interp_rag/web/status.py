"""Whether the index can answer yet: the status a page polls while `serve` builds or loads the index in
the background, and that background work."""

from __future__ import annotations

import logging
import threading

from rich.markup import escape

from ..errors import DamagedIndexError, IndexMissingError, InterpRagError, StaleIndexError
from ..ingest.embed import expect_many_questions
from ..progress import STAGE_LABEL, build_progress, console, print_report
from ..retrieval.search import query_vector
from ..settings import Settings
from ..store.build import build_index
from ..store.format import config_mismatch
from ..store.index import get_index

log = logging.getLogger(__name__)

# How long a question asked while the index is built or loaded waits for it (a first build of the shipped
# corpus takes minutes on a laptop).
WAIT_FOR_INDEX_S = 1800.0


class IndexStatus:
    """Whether the index can answer yet; a background build or load reports its progress here."""

    def __init__(self, ready: bool = True) -> None:
        self._lock = threading.Lock()
        self._settled = threading.Event()  # set once the index is ready or has failed
        if ready:
            self._settled.set()
        self.ready, self.error, self.stage, self.done, self.total = ready, "", "", 0, 0

    def update(self, stage: str, done: int = 0, total: int = 0) -> None:
        with self._lock:
            self.stage, self.done, self.total = stage, done, total

    def finish(self, error: str = "") -> None:
        with self._lock:
            self.ready, self.error = not error, error
        self._settled.set()

    def wait(self, timeout: float) -> bool:
        """Block until the index is ready or has failed (or `timeout` seconds pass); True when ready."""
        self._settled.wait(timeout)
        return self.ready

    def message(self) -> str:
        with self._lock:
            if self.error or self.ready:
                return f"The index is not available: {self.error}" if self.error else ""
            later = " A question asked now is answered as soon as it is ready."
            if self.stage == "load":
                return "Loading the index and the embedding model…" + later
            unit = {"embed": " chunks", "expansions": "", "chunk": "", "resolve": ""}.get(self.stage)
            count = f" {self.done}/{self.total}{unit}" if unit is not None and self.total else ""
            return f"Building the index: {STAGE_LABEL.get(self.stage, 'starting')}{count}…" + later


def prepare_index(settings: Settings, status: IndexStatus) -> None:
    """Load the index, or build it first if there is none or it is stale or damaged (terminal progress bar,
    status in the page), and load the embedding model, so the first question is fast. Runs in a background
    thread while the page is served."""
    try:
        status.update("load")
        why = unusable(settings)
        if why:  # missing, damaged, or built by another version/settings: a build reuses what it can
            console.print(
                f"Index in {escape(str(settings.index_dir))}/: {escape(why)}; building it while serving."
            )
            with build_progress() as bar:

                def on_progress(stage: str, done: int, total: int, detail: str) -> None:
                    status.update(stage, done, total)
                    bar(stage, done, total, detail)

                print_report(build_index(settings=settings, on_progress=on_progress))
            status.update("load")
            get_index(settings)
        # A question is a few dozen word pieces: one intra-op thread encodes it as fast, and with several
        # questions answered at once more threads only oversubscribe the cores (measured: -25% CPU/request).
        expect_many_questions()  # questions take torch's pass
        import torch

        torch.set_num_threads(1)
        query_vector("warm up the embedding model")
        status.finish()
    except InterpRagError as e:
        console.print(f"[red]error:[/] {escape(str(e))}")
        status.finish(str(e))
    except Exception as e:  # keep serving: the page says what happened, the log has the traceback
        log.exception("preparing the index failed")
        status.finish(f"unexpected {type(e).__name__}; see the server log.")


def unusable(settings: Settings) -> str | None:
    """Why the index must be built before it can answer (a clause), or None once it is loaded. Loading is
    the check: it refuses a stale index before reading it and hashes every file it reads, so the hashes
    checked are those of the files loaded. A check of its own before the load hashed the whole index a
    second time at every start (2 x ~40 ms for the shipped index)."""
    try:
        index = get_index(settings)
    except IndexMissingError:
        return "none yet"
    except (StaleIndexError, DamagedIndexError) as e:
        return e.why
    # this process may hold the index loaded under other settings (get_index caches one per directory)
    return config_mismatch(index.meta, settings)
