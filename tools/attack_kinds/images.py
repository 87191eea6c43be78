"""Issue 33, items 6 and 7: a poster that costs far more to open than its file's size says.

Each input is read in a fresh process by ``read_film`` (what Compare, Why? and ``/compare`` call on a poster:
``load_poster``, once per request), against a normal poster (``assets/posters/the_kid_1921.jpg``) read the
same way:

- 6: a 9 MB TIFF of 90,000 one-pixel pages (the issue's) and a GIF of 90,000 one-pixel frames: each read
  from its first page alone, in a normal poster's time and memory.
- 7: an ``.ico`` whose directory says 16x16 but holds a 12000x12000 PNG (the issue's); then an ``.ico``
  holding a 9000x9000 PNG (81 megapixels: under twice the limit, so Pillow's own check alone lets it
  decode), a GIF whose 10x10 screen holds a 10000x6000 first frame, a TIFF whose first page says
  12000x12000 and a PNG whose header says 20000x20000: each refused in one line before a pixel is decoded,
  at a normal poster's cost. The page's own upload step (``app.PosterImage``, before ``read_film``) is
  replayed on the 81-megapixel ``.ico`` too: it must hand the file on undecoded.
"""
from __future__ import annotations

import functools
import struct
import textwrap
import zlib
from pathlib import Path

from .common import ROOT, Kind, Measured, Outcome, against, measure

NORMAL = ROOT / "assets" / "posters" / "the_kid_1921.jpg"
TIMEOUT_S = 240
SLOWEST_S = 1.0  # a poster's read, whatever its pages: a normal one takes a few milliseconds
EXTRA_MB = 50  # over a normal poster's peak: decoding 12000x12000 RGBA would be 550 MB


def _read_code(paths: list[Path]) -> str:
    """A child's code: ``read_film`` on each path, printed as one JSON list of {seconds (the call's), size (the
    poster's, or None), error (the refusal, or None)}."""
    return textwrap.dedent(f"""
        import json, time
        from genre_models.data.inputs import read_film
        answers = []
        for path in {[str(p) for p in paths]!r}:
            started = time.perf_counter()
            film = read_film(path, read_plot=False)
            answers.append({{"seconds": time.perf_counter() - started,
                             "size": list(film.poster.size) if film.poster is not None else None,
                             "error": str(film.poster_error) if film.poster_error is not None else None}})
        print(json.dumps(answers))
    """)


@functools.lru_cache(maxsize=1)
def _normal() -> Measured:
    return measure(_read_code([NORMAL]), timeout=TIMEOUT_S)


def _answers(measured: Measured) -> list[dict]:
    result = measured.result()
    return result if isinstance(result, list) else [{"error": f"the child failed: {result}", "size": None,
                                                     "seconds": None}]


# -- files built byte by byte (no image of their declared size is ever made here) -------------------------

def _tiff(pages: int, size: tuple[int, int] = (1, 1)) -> bytes:
    """A little-endian TIFF of ``pages`` grey pages of ``size``, each with one uncompressed one-byte strip (a
    large size is a header that lies: only a refusal before decoding is expected of it)."""
    out = bytearray(b"II*\x00" + struct.pack("<I", 8))
    for page in range(pages):
        pixel = len(out) + 2 + 8 * 12 + 4
        tags = [(256, 4, size[0]), (257, 4, size[1]), (258, 3, 8), (259, 3, 1), (262, 3, 1), (273, 4, pixel),
                (278, 4, size[1]), (279, 4, 1)]
        out += struct.pack("<H", len(tags))
        for tag, kind, value in tags:
            out += struct.pack("<HHI", tag, kind, 1) + (struct.pack("<HH", value, 0) if kind == 3 else
                                                        struct.pack("<I", value))
        out += struct.pack("<I", pixel + 2 if page + 1 < pages else 0) + b"\x80\x00"
    return bytes(out)


def _gif(frames: int, screen: tuple[int, int] = (1, 1), frame: tuple[int, int] = (1, 1)) -> bytes:
    """A GIF of ``frames`` frames of ``frame`` size on a ``screen``, each one pixel of LZW data (clear, 0, end)."""
    one = b"," + struct.pack("<HHHHB", 0, 0, *frame, 0) + b"\x02\x02\x44\x01\x00"
    return b"GIF89a" + struct.pack("<HHBBB", *screen, 0x80, 0, 0) + b"\x00\x00\x00\xff\xff\xff" + one * frames + b";"


def _png(width: int, height: int, rows: int | None = None, grey: bool = False) -> bytes:
    """An RGBA (or ``grey``) PNG of zeros, compressed a row at a time (a 12000x12000 RGBA one is 0.6 MB, 576 MB
    decoded); ``rows``: how many rows its data holds (fewer than ``height``: a header that lies)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    packer, row, data = zlib.compressobj(9), bytes(1 + (1 if grey else 4) * width), bytearray()
    for _ in range(height if rows is None else rows):
        data += packer.compress(row)
    data += packer.flush()
    header = struct.pack(">IIBBBBB", width, height, 8, 0 if grey else 6, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", bytes(data)) + chunk(b"IEND", b""))


def _ico(inner: bytes) -> bytes:
    """An .ico whose directory lists one 16x16 image and holds ``inner``."""
    return struct.pack("<HHH", 0, 1, 1) + struct.pack("<BBBBHHII", 16, 16, 0, 0, 1, 32, len(inner), 22) + inner


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


# -- 6: only the first page or frame is read -----------------------------------------------------------

def run_many_pages(workdir: Path) -> Outcome:
    members = {"TIFF of 90,000 pages": _write(workdir / "pages.tiff", _tiff(90_000)),
               "GIF of 90,000 frames": _write(workdir / "frames.gif", _gif(90_000))}
    normal = _normal()
    measured = {name: measure(_read_code([path]), timeout=TIMEOUT_S) for name, path in members.items()}
    problems, seen = [], []
    for name, bad in measured.items():
        answer = _answers(bad)[0]
        if answer["error"] is not None or answer["size"] != [1, 1]:
            problems.append(f"{name}: {answer}")
        elif answer["seconds"] > SLOWEST_S or bad.peak_mb > normal.peak_mb + EXTRA_MB:
            problems.append(f"{name}: read in {answer['seconds']:.2f} s, {against(bad, normal)}")
        seen.append(f"{name} ({members[name].stat().st_size / 2**20:.1f} MB): its first image read in "
                    f"{answer['seconds']:.3f} s")
    return Outcome(not problems, (problems[0] if problems else "; ".join(seen))[:600],
                   "; ".join(f"{name}: {against(bad, normal)}" for name, bad in measured.items()))


# -- 7: the size decoded is checked before decoding, in the formats the README lists -----------------------

PAGE_HOP = textwrap.dedent("""
    import json, resource, warnings
    import app
    from genre_models.data.inputs import read_film
    peak = lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    before = peak()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        handed = app.PosterImage(type="filepath", image_mode=None).preprocess(
            app.ImageData(path=PATH, orig_name="poster.ico"))
        film = read_film(handed, read_plot=False)
    print(json.dumps({"grew_mb": peak() - before, "error": str(film.poster_error),
                      "warnings": sorted({str(w.message)[:80] for w in caught})}))
""")


def run_lying_sizes(workdir: Path) -> Outcome:
    example = _write(workdir / "poster.ico", _ico(_png(12_000, 12_000)))
    members = {"an .ico holding 9000x9000": _write(workdir / "under-twice.ico", _ico(_png(9_000, 9_000, grey=True))),
               "a GIF of screen 10x10, frame 10000x6000": _write(workdir / "screen.gif",
                                                                 _gif(1, (10, 10), (10_000, 6_000))),
               "a TIFF whose first page says 12000x12000": _write(workdir / "page.tiff", _tiff(1, (12_000, 12_000))),
               "a PNG whose header says 20000x20000": _write(workdir / "header.png", _png(20_000, 20_000, rows=1))}
    normal = _normal()
    bad = measure(_read_code([example]), timeout=TIMEOUT_S)
    others = measure(_read_code(list(members.values())), timeout=TIMEOUT_S)
    hop = measure(PAGE_HOP.replace("PATH", repr(str(members["an .ico holding 9000x9000"]))), timeout=TIMEOUT_S)
    problems = []
    answers = dict(zip(["the issue's .ico", *members], _answers(bad) + _answers(others)))
    for name, answer in answers.items():
        error = answer.get("error") or ""
        if not (("an image format GenreLens does not read" in error or "over the limit" in error)
                and "\n" not in error and str(workdir) not in error):
            problems.append(f"{name}: {answer}")
    for name, measured in (("the issue's .ico", bad), ("the others (one process)", others)):
        if measured.peak_mb > normal.peak_mb + EXTRA_MB:
            problems.append(f"{name} cost {against(measured, normal)}")
    page = hop.result() or {}
    if not (isinstance(page.get("grew_mb"), (int, float)) and page["grew_mb"] < EXTRA_MB
            and "GenreLens does not read" in str(page.get("error"))):
        problems.append(f"the page's upload step on the 81-megapixel .ico: {page or hop.stdout[-300:]}")
    observed = (problems[0] if problems else
                f"refused before decoding: {answers[next(iter(answers))]['error']}; also refused: "
                + ", ".join(members) + f"; the page's upload step grew by {page['grew_mb']:.0f} MB")
    return Outcome(not problems, observed[:600], f"the issue's .ico: {against(bad, normal)}; the other four: "
                                                 f"{against(others, normal)}")


KINDS = [
    Kind(item=6, name="Poster: 90,000 pages or frames",
         expected="only the first page or frame is read: a normal poster's time and memory",
         run=run_many_pages),
    Kind(item=7, name="Poster: a size that lies (ICO, GIF, TIFF, PNG)",
         expected="refused in one line before a pixel is decoded (formats the README lists; the decoded "
                  "frame's size checked; Pillow's own limit the app's), at a normal poster's cost",
         run=run_lying_sizes),
]
