"""The app caps glibc's malloc arenas (genre_models/native_memory.py, issue 26): threads share freed heap."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import app
from genre_models.native_memory import malloc_heaps

ROOT = Path(__file__).resolve().parent.parent
# eight threads allocating at once; each new thread takes a fresh arena while the limit allows
PROBE = """
import sys, threading
from genre_models.native_memory import limit_malloc_arenas, malloc_heaps
if sys.argv[1] == "limit":
    assert limit_malloc_arenas()
barrier = threading.Barrier(8)
def work():
    barrier.wait()
    kept = [bytearray(1000) for _ in range(2000)]
    barrier.wait()
threads = [threading.Thread(target=work) for _ in range(8)]
for t in threads: t.start()
for t in threads: t.join()
print(malloc_heaps())
"""


def _heaps(mode: str) -> int:
    env = {"PATH": "/usr/bin:/bin"}  # no MALLOC_ARENA_MAX from the caller's environment
    done = subprocess.run([sys.executable, "-c", PROBE, mode], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    return int(done.stdout)


@pytest.mark.skipif(malloc_heaps() is None, reason="glibc only")
def test_threads_share_two_arenas_once_limited_and_take_one_each_otherwise():
    assert _heaps("none") > 4  # the default: a heap per thread (8 per core at most)
    assert _heaps("limit") <= 2


def test_the_app_limits_arenas_before_anything_else(monkeypatch):
    calls = []
    monkeypatch.setattr(app, "limit_malloc_arenas", lambda: calls.append("limited"))
    monkeypatch.setattr(app, "build_parser", lambda: calls.append("parsed") or (_ for _ in ()).throw(SystemExit(0)))
    with pytest.raises(SystemExit):
        app.main([])
    assert calls == ["limited", "parsed"]
