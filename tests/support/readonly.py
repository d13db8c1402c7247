"""A directory its user may not write to, for real: mode bits without write permission, and a child process
that obeys them. Root writes anywhere (CAP_DAC_OVERRIDE), so under root the child drops every capability
first (setpriv); where that cannot be done the test is skipped."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


def obeying_modes() -> list[str]:
    """The prefix for a command that must be refused what the mode bits refuse."""
    if os.geteuid() != 0:
        return []
    prefix = ["setpriv", "--bounding-set=-all", "--inh-caps=-all"]
    if shutil.which("setpriv") is None or subprocess.run([*prefix, "true"], capture_output=True).returncode:
        pytest.skip("running as root, and setpriv cannot drop root's capabilities here")
    return prefix


@contextmanager
def write_protected(root: Path) -> Iterator[None]:
    """`root` and everything under it without write permission (chmod -R a-w), restored afterwards."""
    paths = [root, *root.rglob("*")]
    modes = {p: p.stat().st_mode for p in paths}
    for p in paths:
        p.chmod(stat.S_IMODE(modes[p]) & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
    try:
        yield
    finally:
        for p in paths:
            p.chmod(stat.S_IMODE(modes[p]))
