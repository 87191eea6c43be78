"""Files written and read safely, in one place: content hashes, whole-file writes that never leave a
half-written file under the real name, folder swaps (a new folder written beside its target, then put in
place), a full disk recognised as such, plain names for files built from a key, and JSON read as the
standard has it (no NaN or Infinity)."""
from __future__ import annotations

import errno
import hashlib
import json
import os
import re
import shutil
import tempfile
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, Callable, Iterator

# the operating system's errors for "no space left": a full device, a user's quota reached
DISK_FULL_ERRNOS = (errno.ENOSPC, errno.EDQUOT)
# how a library that wraps the OS error in its own type says it: Python's "[Errno 28] No space left on
# device", Rust's (safetensors, tokenizers) "No space left on device (os error 28)"
_DISK_FULL_TEXT = re.compile("|".join(rf"\[Errno {code}\]|\(os error {code}\)" for code in DISK_FULL_ERRNOS))
_PARTIAL = re.compile(r"\.[0-9a-f]{8}\.incomplete$")


def file_sha256(path: str | Path) -> str:
    """Hex sha256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@contextmanager
def atomic_open(path: str | Path, mode: str = "w", **kwargs) -> Iterator[IO]:
    """``open(path, mode, **kwargs)`` for writing, through ``<name>.<random>.incomplete`` in the same folder,
    renamed into place when the block completes: a reader sees the old file or the new one, never a part (as
    huggingface_hub's downloads). On any failure (a full disk, Ctrl+C) the partial file is removed and
    ``path`` is as it was."""
    path = Path(path)
    partial = path.with_name(f"{path.name}.{uuid.uuid4().hex[:8]}.incomplete")
    try:
        with open(partial, mode, **kwargs) as handle:
            yield handle
        os.replace(partial, path)  # after the close: its flush may be what finds the disk full
    except BaseException as exc:
        partial.unlink(missing_ok=True)
        if isinstance(exc, OSError) and exc.errno is not None and exc.filename is None:  # write() names no file
            exc.filename = str(path)
        raise


def write_text_atomic(path: str | Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` whole or not at all (:func:`atomic_open`)."""
    with atomic_open(path, "w", encoding="utf-8") as handle:
        handle.write(text)


def write_bytes_atomic(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` whole or not at all (:func:`atomic_open`)."""
    with atomic_open(path, "wb") as handle:
        handle.write(data)


def is_disk_full(exc: BaseException | None) -> bool:
    """Whether ``exc``, or an exception it was raised from or while handling, is a write refused for want of
    space: an ``OSError`` with errno ENOSPC or EDQUOT, or a library's own error type carrying the operating
    system's words for one (safetensors: "... (os error 28)")."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, OSError) and exc.errno is not None:
            if exc.errno in DISK_FULL_ERRNOS:
                return True
        elif _DISK_FULL_TEXT.search(str(exc)):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def disk_full_message(exc: BaseException, whose: str = "the disk") -> str:
    """One line for a full disk (:func:`is_disk_full`): the file's name only, never its folder."""
    names = []
    while exc is not None and not names:
        names = [Path(n).name for n in (getattr(exc, "filename", None), getattr(exc, "filename2", None)) if n]
        exc = exc.__cause__ or exc.__context__
    # the name the file was to have, not the temporary one atomic_open wrote
    what = f"{_PARTIAL.sub('', names[0])} could not be written" if names else "a file could not be written"
    return f"{whose} is full (no space left on the device): {what}; free some space and try again"


def child_path(folder: str | Path, name: str) -> Path:
    """``folder / name`` for a plain file or folder name (a model key, a key with a suffix); ValueError for
    a name that would put it anywhere else: empty, ``.`` or ``..``, a path separator, a NUL."""
    separators = {"/", "\\", os.sep, os.altsep or "/", "\0"}
    if not isinstance(name, str) or name in ("", ".", "..") or any(s in name for s in separators):
        raise ValueError(f"{name!r} is not a plain file name: it would leave {Path(folder).name}/")
    return Path(folder) / name


class NonFiniteNumberError(ValueError):
    """A JSON document holding NaN or Infinity, which Python's ``json`` takes and the JSON standard does
    not; ``field`` is where (``models[0].zero_shot_scale``)."""

    def __init__(self, field: str, value: str):
        self.field, self.value = field, value
        super().__init__(f"'{field}' is {value}: a number there must be finite (NaN and Infinity are not JSON)")


class _Constant(str):
    """What ``NaN``, ``Infinity`` or ``-Infinity`` parse to in :func:`loads_finite`, so the walk can name the field."""


def loads_finite(text: str | bytes) -> Any:
    """``json.loads`` that refuses ``NaN``, ``Infinity`` and ``-Infinity`` (``parse_constant``).

    Raises:
        json.JSONDecodeError: not JSON; NonFiniteNumberError (a ValueError): a non-finite number, naming its field.
    """
    data = json.loads(text, parse_constant=_Constant)
    stack: list[tuple[str, Any]] = [("", data)]
    while stack:
        where, value = stack.pop()
        if isinstance(value, _Constant):
            raise NonFiniteNumberError(where or "the document", str(value))
        if isinstance(value, dict):
            stack += [(f"{where}.{k}" if where else str(k), v) for k, v in reversed(value.items())]
        elif isinstance(value, list):
            stack += [(f"{where}[{i}]", v) for i, v in reversed(list(enumerate(value)))]
    return data


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
