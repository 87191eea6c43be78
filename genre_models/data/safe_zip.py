"""Unpack a user's zip of posters without letting it write outside its folder or fill the disk.

A zip is refused whole, before anything is written, when a member's path is absolute or climbs out
(``../``, a drive letter: "zip slip"), when a member is a symlink, when a member is itself an archive
(no recursion into zips of zips), when it holds more members than ``max_members``, or when its
declared sizes add up past ``max_bytes``. Declared sizes can lie, so the bytes actually written are
counted too: past the limit, unpacking stops and the partial folder is removed.
"""
from __future__ import annotations

import shutil
import stat
import zipfile
import zlib
from pathlib import Path, PurePosixPath

from ..errors import DataError

MAX_UNPACKED_BYTES = 200 * 2**20  # 2,000 posters of ~100 kB each, twice over
MAX_MEMBERS = 10_000
ARCHIVE_SUFFIXES = (".zip", ".tar", ".gz", ".tgz", ".bz2", ".xz", ".7z", ".rar", ".zst", ".jar")
ARCHIVE_MAGIC = (b"PK\x03\x04", b"\x1f\x8b", b"BZh", b"\xfd7zXZ", b"7z\xbc\xaf", b"Rar!")
_BLOCK = 1 << 20


def _member_problem(info: zipfile.ZipInfo) -> str | None:
    name = info.filename
    path = PurePosixPath(name.replace("\\", "/"))
    if path.is_absolute() or (len(name) > 1 and name[1] == ":") or ".." in path.parts:
        return f"{name!r} points outside the zip"
    if stat.S_ISLNK(info.external_attr >> 16):
        return f"{name!r} is a symbolic link"
    if not info.is_dir() and name.lower().endswith(ARCHIVE_SUFFIXES):
        return f"{name!r} is an archive inside the archive"
    return None


def extract_zip(path: str | Path, folder: str | Path, max_bytes: int = MAX_UNPACKED_BYTES,
                max_members: int = MAX_MEMBERS) -> Path:
    """Unpack the zip at ``path`` into ``folder`` (created) and return ``folder``.

    Raises:
        DataError: not a zip, or refused (see the module docstring); the message names the member
            and the limit, and nothing is left in ``folder`` from this zip.
    """
    folder = Path(folder)
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise DataError(f"the posters file is not a readable zip ({exc})") from None
    with archive:
        members = archive.infolist()
        if len(members) > max_members:
            raise DataError(f"the zip holds {len(members):,} files; the limit is {max_members:,}")
        for info in members:
            problem = _member_problem(info)
            if problem:
                raise DataError(f"zip refused: {problem}")
        declared = declared_size(members)
        if declared > max_bytes:
            raise DataError(f"zip refused: it expands to {declared / 2**20:.1f} MiB; the limit is "
                            f"{max_bytes / 2**20:.0f} MiB")
        folder.mkdir(parents=True, exist_ok=True)
        try:
            _write_members(archive, members, folder, max_bytes)
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
    return folder


def declared_size(members: list[zipfile.ZipInfo]) -> int:
    """What the zip's directory says its members expand to (a hostile zip can under-declare it)."""
    return sum(info.file_size for info in members)


def _write_members(archive: zipfile.ZipFile, members: list[zipfile.ZipInfo], folder: Path, max_bytes: int) -> None:
    written = 0
    root = folder.resolve()
    for info in members:
        target = (folder / info.filename.replace("\\", "/")).resolve()
        if not target.is_relative_to(root):  # checked above by name; this guards what the OS resolves
            raise DataError(f"zip refused: {info.filename!r} points outside the zip")
        if info.is_dir():
            target.mkdir(parents=True, exist_ok=True)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            with archive.open(info) as source, open(target, "wb") as sink:
                first = True
                while block := source.read(_BLOCK):
                    if first and block.startswith(ARCHIVE_MAGIC):
                        raise DataError(f"zip refused: {info.filename!r} is an archive inside the archive")
                    first = False
                    written += len(block)
                    if written > max_bytes:
                        raise DataError(f"zip refused: it expands past the limit of {max_bytes / 2**20:.0f} MiB")
                    sink.write(block)
        except (zipfile.BadZipFile, zlib.error, OSError, RuntimeError) as exc:  # CRC error, encrypted member, ...
            raise DataError(f"zip refused: {info.filename!r} cannot be read ({exc})") from None
