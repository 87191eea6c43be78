"""Files written safely, in one place: content hashes, whole-file writes that never leave a half-written
file under the real name, and folder swaps (a new folder written beside its target, then put in place)."""
from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator


def file_sha256(path: str | Path) -> str:
    """Hex sha256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_text_atomic(path: str | Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` through ``<name>.incomplete`` in the same folder, renamed into place:
    a reader sees the old file or the new one, never a part (as huggingface_hub's downloads)."""
    path = Path(path)
    partial = path.with_name(path.name + ".incomplete")
    try:
        partial.write_text(text, encoding="utf-8")
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


@contextmanager
def staged_folder(target: str | Path, before_swap: Callable[[Path, Path], None] | None = None) -> Iterator[Path]:
    """Write a folder beside ``target`` and swap it in only when the block completes.

    ``before_swap(target, staging)`` runs once the block has written everything, before the swap (to carry
    something over from the folder being replaced). On any failure (an exception, Ctrl+C) the partial folder
    is removed and ``target`` is untouched.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.partial-", dir=target.parent))
    try:
        yield staging
        if before_swap is not None:
            before_swap(target, staging)
        replace_folder(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def replace_folder(new: Path, target: Path) -> None:
    """Put folder ``new`` at ``target`` (same parent folder); an old ``target`` goes only once ``new`` is in."""
    old = target.parent / f".{target.name}.old-{uuid.uuid4().hex[:8]}" if target.exists() else None
    if old is not None:
        os.replace(target, old)
    try:
        os.replace(new, target)
    except BaseException:
        if old is not None:
            os.replace(old, target)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
