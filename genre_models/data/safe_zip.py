"""Unpack a user's zip of posters without letting it write outside its folder or fill the disk.

A zip is refused whole, before anything is written, when a member's path is absolute or climbs out
(``../``, a drive letter: "zip slip"), when a member is a symlink, when a member is itself an archive
(no recursion into zips of zips), when two members would be one file (a file and a folder of the same
name, names equal in Unicode NFC), when it holds more members than ``max_members``, or when its
declared sizes add up past ``max_bytes``. Declared sizes can lie, so the bytes actually written are
counted too. A member the system cannot write (a name too long for it, ...) refuses the zip in one
line naming the member; a full disk is said to be the server's. Whatever stops it, nothing of the zip
is left: it is unpacked beside ``folder`` and put in place only once complete (``files.staged_folder``).

Names: a member flagged UTF-8 is read as UTF-8; an unflagged one from its Info-ZIP Unicode Path field
(APPNOTE 4.6.9) when it has one, else as UTF-8 when its bytes are (what most tools write without the
flag), else in the zip's legacy code page (cp437, as ``zipfile`` reads it), which :func:`describe_zip`
tells the user. Every name is unpacked in Unicode NFC, the form the films CSV is compared in, so a zip
made on macOS (NFD names: ``Ame\\u0301lie.jpg``) matches the name typed anywhere else.
"""
from __future__ import annotations

import lzma
import stat
import struct
import unicodedata
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from ..errors import DataError, GenreLensError
from ..files import is_disk_full, staged_folder
from .csv_text import shown

MAX_UNPACKED_BYTES = 200 * 2**20  # 2,000 posters of ~100 kB each, twice over
MAX_MEMBERS = 10_000
ARCHIVE_SUFFIXES = (".zip", ".tar", ".gz", ".tgz", ".bz2", ".xz", ".7z", ".rar", ".zst", ".jar")
ARCHIVE_MAGIC = (b"PK\x03\x04", b"\x1f\x8b", b"BZh", b"\xfd7zXZ", b"7z\xbc\xaf", b"Rar!")
DISK_FULL = ("the server's disk is full: the posters could not be unpacked, and nothing of them was kept; "
             "please try again later")
_BLOCK = 1 << 20
_UTF8_FLAG = 0x800  # general purpose bit 11: the name is UTF-8
_UNICODE_PATH = 0x7075  # Info-ZIP Unicode Path extra field
# what reading a member can raise: a bad CRC, a broken stream, encryption, an unknown compression method (a
# broken bz2 stream raises OSError: it then reads "cannot be unpacked", still naming the member)
_READ_ERRORS = (zipfile.BadZipFile, zlib.error, lzma.LZMAError, RuntimeError, EOFError, NotImplementedError)


@dataclass(frozen=True)
class _Member:
    info: zipfile.ZipInfo
    name: str  # as its writer meant it (what messages show)
    path: PurePosixPath  # where it is unpacked: the name in NFC, "\\" read as "/"
    legacy: bool  # the name is only the zip's legacy code page's reading of its bytes


def extract_zip(path: str | Path, folder: str | Path, max_bytes: int = MAX_UNPACKED_BYTES,
                max_members: int = MAX_MEMBERS) -> Path:
    """Unpack the zip at ``path`` into ``folder`` (created, or replaced whole) and return ``folder``.

    Raises:
        DataError: not a zip, or refused (see the module docstring); the message names the member
            and the limit, never a server path, and nothing is left in ``folder`` from this zip.
        GenreLensError: the server's disk (or quota) is full (:data:`DISK_FULL`); nothing is left either.
    """
    folder = Path(folder)
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError, ValueError) as exc:
        raise DataError(f"the posters file is not a readable zip ({_reason(exc)})") from None
    with archive:
        infos = archive.infolist()
        if len(infos) > max_members:
            raise DataError(f"the zip holds {len(infos):,} files; the limit is {max_members:,}")
        members = _plan(infos)
        declared = declared_size(infos)
        if declared > max_bytes:
            raise DataError(f"zip refused: it expands to {declared / 2**20:.1f} MiB; the limit is "
                            f"{max_bytes / 2**20:.0f} MiB")
        try:
            with staged_folder(folder) as staging:
                _write_members(archive, members, staging, max_bytes)
        except OSError as exc:  # making the staging folder or swapping it in: the server's, not a member's
            if is_disk_full(exc):
                raise GenreLensError(DISK_FULL) from exc
            raise GenreLensError(f"the posters could not be unpacked on the server ({_reason(exc)})") from exc
    return folder


def describe_zip(path: str | Path) -> str:
    """How a message names the zip at ``path``: "the zip", with a note when its file names are in a legacy
    code page (then a name typed with accents in the CSV cannot match: the user is told why)."""
    try:
        with zipfile.ZipFile(path) as archive:
            legacy = next((name for name, is_legacy in map(_decoded, archive.infolist()) if is_legacy), None)
    except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError, ValueError):
        return "the zip"
    if legacy is None:
        return "the zip"
    return (f"the zip (its file names are not UTF-8 but an older code page, read as {shown(legacy)}: "
            "zip the posters again with UTF-8 names)")


def declared_size(members: list[zipfile.ZipInfo]) -> int:
    """What the zip's directory says its members expand to (a hostile zip can under-declare it)."""
    return sum(info.file_size for info in members)


def _decoded(info: zipfile.ZipInfo) -> tuple[str, bool]:
    """(the member's name as its writer meant it, whether that is only the legacy code page's reading)."""
    if info.flag_bits & _UTF8_FLAG:
        return info.orig_filename, False
    raw = info.orig_filename.encode("cp437")  # zipfile read the name's bytes as cp437: this gives them back
    unicode_path = _unicode_path(info.extra, raw)
    if unicode_path is not None:
        return unicode_path, False
    try:
        return raw.decode("utf-8"), False
    except UnicodeDecodeError:
        return info.orig_filename, True


def _unicode_path(extra: bytes, raw: bytes) -> str | None:
    """The UTF-8 name an Info-ZIP Unicode Path field holds (version 1, the CRC-32 of the header's name, the
    name), when its CRC matches ``raw``: otherwise a tool renamed the member without knowing the field, and
    APPNOTE 4.6.9 says to ignore it."""
    while len(extra) >= 4:
        tag, size = struct.unpack("<HH", extra[:4])
        data, extra = extra[4:4 + size], extra[4 + size:]
        if (tag == _UNICODE_PATH and len(data) >= 5 and data[0] == 1
                and struct.unpack("<I", data[1:5])[0] == zlib.crc32(raw)):
            try:
                return data[5:].decode("utf-8")
            except UnicodeDecodeError:
                return None
    return None


def _plan(infos: list[zipfile.ZipInfo]) -> list[_Member]:
    """Every member with the path it is unpacked at; DataError for the first one that cannot be."""
    members, files, folders = [], {}, {}
    for info in infos:
        name, legacy = _decoded(info)
        member = _Member(info, name, PurePosixPath(unicodedata.normalize("NFC", name).replace("\\", "/")), legacy)
        problem = _member_problem(member)
        if problem:
            raise DataError(f"zip refused: {problem}")
        if not info.is_dir():
            same = files.get(member.path)
            if same is not None:
                raise DataError(f"zip refused: {shown(same)} is in it twice" if same == name else
                                f"zip refused: {shown(name)} is in it twice (written two ways Unicode counts as one)")
            files[member.path] = name
        for parent in (member.path, *member.path.parents[:-1]) if info.is_dir() else member.path.parents[:-1]:
            folders.setdefault(parent, name)
        members.append(member)
    clash = next((path for path in files if path in folders), None)
    if clash is not None:
        raise DataError(f"zip refused: {shown(files[clash])} is both a file and a folder "
                        f"(of {shown(folders[clash])})")
    return members


def _member_problem(member: _Member) -> str | None:
    info, name, path = member.info, member.name, member.path
    if path.is_absolute() or (len(name) > 1 and name[1] == ":") or ".." in path.parts:
        return f"{shown(name)} points outside the zip"
    if "\0" in name:
        return f"{shown(name)} has a NUL character in its name"
    if not path.parts and not info.is_dir():
        return f"a file in it has no name ({shown(name)})"
    if stat.S_ISLNK(info.external_attr >> 16):
        return f"{shown(name)} is a symbolic link"
    if not info.is_dir() and name.lower().endswith(ARCHIVE_SUFFIXES):
        return f"{shown(name)} is an archive inside the archive"
    return None


def _write_members(archive: zipfile.ZipFile, members: list[_Member], folder: Path, max_bytes: int) -> None:
    written = 0
    root = folder.resolve()
    for member in members:
        target = root / member.path
        try:
            if not target.resolve().is_relative_to(root):  # checked by name in _plan; this guards what the OS resolves
                raise DataError(f"zip refused: {shown(member.name)} points outside the zip")
            if member.info.is_dir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            with open(target, "xb") as sink:  # "x": a file planned once is never written over
                written = _copy(archive, member, sink, written, max_bytes)
        except OSError as exc:  # the system refuses the name (too long, ...) or the disk is full
            if is_disk_full(exc):
                raise GenreLensError(DISK_FULL) from exc
            raise DataError(f"zip refused: {shown(member.name)} cannot be unpacked ({_reason(exc)})") from None


def _copy(archive: zipfile.ZipFile, member: _Member, sink, written: int, max_bytes: int) -> int:
    """Copy one member's bytes into ``sink``; the bytes written so far, counted against ``max_bytes``.
    What the zip's reading raises is the zip's fault (DataError); a write's OSError is left to the caller."""
    try:
        source = archive.open(member.info)
    except _READ_ERRORS as exc:  # a bad local header, encryption, a compression method zipfile lacks
        raise DataError(f"zip refused: {shown(member.name)} cannot be read ({_reason(exc)})") from None
    with source:
        first = True
        while True:
            try:
                block = source.read(_BLOCK)
            except _READ_ERRORS as exc:  # a bad CRC, a broken stream
                raise DataError(f"zip refused: {shown(member.name)} cannot be read ({_reason(exc)})") from None
            if not block:
                return written
            if first and block.startswith(ARCHIVE_MAGIC):
                raise DataError(f"zip refused: {shown(member.name)} is an archive inside the archive")
            first = False
            written += len(block)
            if written > max_bytes:
                raise DataError(f"zip refused: it expands past the limit of {max_bytes / 2**20:.0f} MiB")
            sink.write(block)


def _reason(exc: BaseException) -> str:
    """An error's own words without a path: an OSError's text is its strerror, never its filename."""
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
