"""The build lock held by another thread, as another build holds it (the lock is reentrant within one
thread, so a test's own `with build_lock(...)` would not stand for another build)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from interp_rag.store.build import build_lock


@contextmanager
def lock_held_elsewhere(index_dir: Path) -> Iterator[None]:
    taken, done = threading.Event(), threading.Event()

    def hold() -> None:
        with build_lock(index_dir):
            taken.set()
            done.wait(60)

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert taken.wait(30), "the other thread never took the build lock"
        yield
    finally:
        done.set()
        holder.join()
