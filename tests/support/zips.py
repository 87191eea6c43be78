"""Zips built as other tools write them, for the tests and the attack replay: plain members, names as raw bytes
with no UTF-8 flag (a legacy tool's), and Info-ZIP's Unicode Path field."""
from __future__ import annotations

import io
import struct
import zipfile
import zlib
from pathlib import Path


def write_zip(path: Path, members: list[tuple[str, bytes]]) -> Path:
    """``path`` holding ``members`` (name, bytes) in order, duplicates and clashes as given."""
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members:
            archive.writestr(name, data)
    return path


def raw_names_zip(path: Path, names: list[bytes], extra=None, data: bytes = b"poster bytes") -> Path:
    """A zip whose names are these bytes with no UTF-8 flag, each member ``data``: written under same-length
    placeholders whose bytes are then replaced in the headers. ``extra(raw)`` gives a member's extra field."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for i, raw in enumerate(names):
            info = zipfile.ZipInfo(f"{i}".ljust(len(raw), "_"))
            if extra is not None:
                info.extra = extra(raw)
            archive.writestr(info, data)
    written = buffer.getvalue()
    for i, raw in enumerate(names):
        written = written.replace(f"{i}".ljust(len(raw), "_").encode(), raw)
    path.write_bytes(written)
    return path


def unicode_path_field(raw: bytes, name: str) -> bytes:
    """Info-ZIP's Unicode Path extra field (0x7075) saying the member whose header name is ``raw`` is named
    ``name``: version 1, the CRC-32 of ``raw``, the UTF-8 name."""
    field = b"\x01" + struct.pack("<I", zlib.crc32(raw)) + name.encode("utf-8")
    return struct.pack("<HH", 0x7075, len(field)) + field
