"""A real full disk for tests: a small tmpfs mounted on a folder, then filled, so every write there fails with
the operating system's own ENOSPC (no fault injection). Mounting needs root (or CAP_SYS_ADMIN); elsewhere
the test is skipped, saying why."""
from __future__ import annotations

import subprocess
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pytest


@contextmanager
def small_disk(folder: Path, size_kb: int = 64) -> Iterator[Path]:
    """``folder`` as a ``size_kb`` tmpfs of its own for the block; unmounted (its files gone) after."""
    folder.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_kb}k", "tmpfs", str(folder)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"a real full disk needs a tmpfs mounted, which is not permitted here "
                    f"({(mounted.stderr or mounted.stdout).strip()[:200]}); run the tests as root to include it")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], capture_output=True)


def fill(folder: Path) -> None:
    """Take every free byte of ``folder``'s file system with one file (``.filler``): the next write fails."""
    with open(folder / ".filler", "ab", buffering=0) as handle:  # unbuffered: nothing left to flush at close
        try:
            while handle.write(b"\0" * 4096):
                pass
        except OSError:
            pass
    assert not _writable(folder), f"{folder} still takes writes"


def _writable(folder: Path) -> bool:
    try:
        with open(folder / ".probe", "wb") as handle:
            handle.write(b"\0" * 4096)
        return True
    except OSError:
        return False
    finally:
        (folder / ".probe").unlink(missing_ok=True)


def contents(folder: Path) -> list[str]:
    """Every file and folder under ``folder`` but the filler, relative: what a failed write left behind."""
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.name != ".filler")
