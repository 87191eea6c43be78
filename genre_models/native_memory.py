"""Keep the server's native heap from creeping: at most a few glibc malloc arenas.

glibc gives each new thread its own malloc arena (up to 8 per core) and returns an arena's freed
memory to the system only from the top of its heap. The page's Compare draws four matplotlib figures
per click (megabyte-sized Agg buffers, then PNG encoding) in whichever of gradio's and anyio's worker
threads runs it, so every arena those threads touch keeps its own high-water mark of freed buffers:
server RSS rose 7.9% over 2,000 clicks while ``/compare`` alone, drawing nothing, stayed flat
(``tools/stress.py``, issue 26). With two arenas the threads share the freed memory instead of each
holding its own. This is glibc's ``M_ARENA_MAX`` (``mallopt(3)``; the ``MALLOC_ARENA_MAX`` variable
does the same when set before the process starts); other C libraries are left as they are.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import os
import tempfile
from pathlib import Path

M_ARENA_MAX = -8  # glibc's malloc.h
ARENAS = 2


def _glibc():
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
    except OSError:
        return None
    return libc if libc is not None and hasattr(libc, "mallopt") and hasattr(libc, "malloc_info") else None


def limit_malloc_arenas(arenas: int = ARENAS) -> bool:
    """Cap glibc's malloc arenas at ``arenas`` for threads that allocate from now on (call it before the
    server starts its threads). Returns whether it applied: False off glibc (macOS, musl) or when the
    ``MALLOC_ARENA_MAX`` environment variable already chose a limit, which is left as set."""
    libc = _glibc()
    if libc is None or os.environ.get("MALLOC_ARENA_MAX"):
        return False
    return bool(libc.mallopt(M_ARENA_MAX, arenas))


def malloc_heaps() -> int | None:
    """How many malloc arenas (heaps) the process has now, from glibc's ``malloc_info``; None off glibc."""
    libc = _glibc()
    if libc is None:
        return None
    libc.fopen.restype = ctypes.c_void_p
    libc.fopen.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
    libc.malloc_info.argtypes = [ctypes.c_int, ctypes.c_void_p]
    libc.fclose.argtypes = [ctypes.c_void_p]
    with tempfile.NamedTemporaryFile(suffix=".xml") as report:
        stream = libc.fopen(report.name.encode(), b"w")
        libc.malloc_info(0, stream)
        libc.fclose(stream)
        return Path(report.name).read_text().count("<heap nr=")
