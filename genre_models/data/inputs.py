"""Turning what a user hands us (a file, bytes, an array, a PIL image, free text) into model input.

Every text a person types (a plot, a genre name, a CSV cell) is read by :func:`visible_text`.

Every poster goes through :func:`load_poster`, so the CLI, the app and training all see the same
RGB image whatever the file was: EXIF rotation applied, palette/alpha composited on white, CMYK and
16-bit converted, the first frame of an animation, and a pixel limit against decompression bombs.
A file is opened only as one of :data:`POSTER_FORMATS`, whose size is known from its header before a
pixel is decoded, and only its first frame or page is ever read.
"""
from __future__ import annotations

import io
import math
import os
import re
import unicodedata
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Union

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from ..errors import InvalidImageError, InvalidInputError


# -- what counts as text a person typed ------------------------------------------------------------
# Unicode normalised, invisible characters not counted. A paste can carry characters that show nothing: a
# byte-order mark (U+FEFF) from a file saved by Notepad, zero-width spaces (U+200B) from a web page, word
# joiners (U+2060). They are Unicode's *default-ignorable* code points (``DerivedCoreProperties.txt``; nearly
# all of them of category Cf, "format"). A plot or a genre name made only of them and whitespace is empty, and
# inside a word they would split it for a tokenizer ("hor\\u200bror" -> "hor", "ror"), so they are dropped.
# Two are kept: the zero-width joiner and non-joiner (U+200D, U+200C), which change how Indic, Persian and
# emoji sequences are drawn, and the variation selectors, which pick how the character before them looks.
ZWNJ, ZWJ = "\u200c", "\u200d"
# default-ignorable code points that are not of category Cf (Unicode 15, DerivedCoreProperties.txt)
_IGNORABLE_RANGES = ((0x034F, 0x034F), (0x115F, 0x1160), (0x17B4, 0x17B5), (0x180B, 0x180F), (0x3164, 0x3164),
                     (0xFE00, 0xFE0F), (0xFFA0, 0xFFA0), (0xE0100, 0xE01EF))
_SELECTORS = ((0x180B, 0x180F), (0xFE00, 0xFE0F), (0xE0100, 0xE01EF))  # shape the character before them


def _in(ranges, char: str) -> bool:
    code = ord(char)
    return any(low <= code <= high for low, high in ranges)


def invisible(char: str) -> bool:
    """Whether ``char`` draws nothing on its own: whitespace or a default-ignorable code point."""
    return char.isspace() or unicodedata.category(char) == "Cf" or _in(_IGNORABLE_RANGES, char)


def _dropped(char: str) -> bool:
    return (not char.isspace() and invisible(char) and char not in (ZWJ, ZWNJ)
            and not _in(_SELECTORS, char))


def visible_text(text: str) -> str | None:
    """``text`` in NFC with invisible format characters dropped and whitespace folded to single
    spaces; None when nothing visible is left (only whitespace and invisible characters)."""
    text = unicodedata.normalize("NFC", text)
    if all(invisible(char) for char in text):
        return None
    return " ".join("".join(char for char in text if not _dropped(char)).split())


# -- posters ----------------------------------------------------------------------------------------
# 50 megapixels is far beyond any poster; larger files are refused instead of decoded.
MAX_PIXELS = 50_000_000
# A model's transform scales the *short* side to its input size (224-384 px) before cropping, so a
# 40000x2 strip would become a 224 x 4.5-million-pixel image (5 GB) on the way to a 224x224 crop. Up to
# 20:1 that step stays under 20 x input² pixels (3 million at 384 px) whatever the file; a poster is ~2:3.
MAX_ASPECT = 20
RASTER_FORMATS = "JPEG, PNG, WebP, GIF, BMP or TIFF"
# The same formats as Pillow names them (a camera's multi-picture JPEG, MPO, comes through JPEG). In each, the
# size Pillow reads from the header is the size load() allocates for the first frame. Others are not opened:
# an ICO or ICNS decodes its embedded image while *opening* (its directory's 16x16 may hold a 12000x12000 PNG).
POSTER_FORMATS = ("JPEG", "PNG", "WEBP", "GIF", "BMP", "TIFF")
# Pillow's own bomb check (warning past MAX_IMAGE_PIXELS, error past twice that) runs inside Image.open for
# every caller in the process, gradio's included, and in the container plugins before they decode a part.
Image.MAX_IMAGE_PIXELS = MAX_PIXELS
# Vector formats, told from their first bytes: Pillow would hand EPS to Ghostscript (a program outside
# Python, with its own security history) and reads none of the others; they are refused, never rasterised.
VECTOR_MAGIC = ((b"%!PS", "EPS"), (b"\xc5\xd0\xd3\xc6", "EPS"), (b"%PDF-", "PDF"),
                (b"\xd7\xcd\xc6\x9a", "WMF"), (b"\x01\x00\x09\x00", "WMF"))
VECTOR_FORMATS = ("EPS", "PDF", "WMF", "EMF", "SVG")  # Pillow names EPS and WMF (for EMF too) as we do

PosterInput = Union[str, os.PathLike, bytes, Image.Image, np.ndarray, None]


def load_poster(source: PosterInput, max_pixels: int = MAX_PIXELS) -> Image.Image | None:
    """Read a poster from a path, bytes, a numpy array or a PIL image and return it as RGB.

    Returns None when ``source`` is None (no poster given). Raises InvalidImageError with a
    plain-language message for anything that is not a readable image in one of :data:`POSTER_FORMATS`
    (another format is named), or whose first frame is past ``max_pixels`` or ``MAX_ASPECT``.
    """
    if source is None:
        return None
    if isinstance(source, np.ndarray):
        return _array_to_rgb(source)
    if isinstance(source, Image.Image):
        image = source
        if image.format is not None and image.format not in (*POSTER_FORMATS, "MPO"):
            raise _format_refusal(image.format, "the poster")
    else:
        image = _open(source, max_pixels)
    _check_pixels(image, max_pixels)
    try:
        # the frame Image.open left current (the first); never n_frames or seek: counting a TIFF's pages
        # parses every one of them (90,000 one-pixel pages: a minute)
        image = ImageOps.exif_transpose(image) or image
        return _to_rgb(image)
    except (OSError, ValueError, SyntaxError) as exc:
        raise InvalidImageError(f"the poster file is damaged or truncated ({exc})") from exc


def _open(source: str | os.PathLike | bytes, max_pixels: int) -> Image.Image:
    name = "the uploaded data" if isinstance(source, bytes) else f"'{Path(source).name}'"
    if not isinstance(source, bytes):
        path = Path(source)
        if not path.is_file():
            raise InvalidImageError(f"poster file not found: {name}")  # its name only: never a server path
        if path.stat().st_size == 0:
            raise InvalidImageError(f"{name} is empty (0 bytes)")
    stream = io.BytesIO(source) if isinstance(source, bytes) else source
    vector = _sniff_vector(source)
    if vector:
        raise _format_refusal(vector, name)
    try:
        with warnings.catch_warnings():
            # PIL warns on large images (and raises on huge ones); our own limit below says it plainly
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(stream, formats=POSTER_FORMATS)
        # opening read the header only: the size is checked before load() decodes the first frame
        _check_pixels(image, max_pixels)
        image.load()
    except InvalidImageError:
        raise
    except Image.DecompressionBombError as exc:  # PIL's own words ("DOS attack") are not for users
        raise InvalidImageError(f"{name} is over the limit of {max_pixels:,} pixels; please use a smaller "
                                "image") from exc
    except UnidentifiedImageError as exc:
        raise _unidentified(source, name) from exc
    except (OSError, ValueError, SyntaxError) as exc:
        raise InvalidImageError(f"{name} is damaged or truncated ({exc})") from exc
    return image


def _sniff_vector(source: str | os.PathLike | bytes) -> str | None:
    """The vector format ``source``'s first bytes announce (EPS, PDF, WMF, EMF, SVG), else None."""
    if isinstance(source, bytes):
        head = source[:1024]
    else:
        with open(source, "rb") as handle:
            head = handle.read(1024)
    for magic, kind in VECTOR_MAGIC:
        if head.startswith(magic):
            return kind
    if head[40:44] == b" EMF":
        return "EMF"
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if text.startswith((b"<svg", b"<?xml", b"<!doctype svg")) and b"<svg" in head.lower():
        return "SVG"
    return None


def _format_refusal(kind: str, name: str) -> InvalidImageError:
    """A format GenreLens does not read (``kind``: a vector format or Pillow's name of a raster one), said as such."""
    if kind in VECTOR_FORMATS:
        return InvalidImageError(f"{name} is {kind}, a vector format GenreLens does not draw; upload {RASTER_FORMATS}")
    return InvalidImageError(f"{name} is {kind}, an image format GenreLens does not read; upload {RASTER_FORMATS}")


def _unidentified(source: str | os.PathLike | bytes, name: str) -> InvalidImageError:
    """Why none of :data:`POSTER_FORMATS` opened ``source``, from the first bytes Pillow's own signature
    checks read: one of them but damaged, another format Pillow knows (named), or no image at all."""
    if isinstance(source, bytes):
        head = source[:16]
    else:
        with open(source, "rb") as handle:
            head = handle.read(16)
    Image.init()
    known = [kind for kind, (_, accept) in Image.OPEN.items() if accept is not None and _accepts(accept, head)]
    if any(kind in POSTER_FORMATS for kind in known):
        return InvalidImageError(f"{name} is damaged or truncated (its header cannot be read)")
    # some signatures are shared (a TGA starts as a CUR does): the file's extension picks among them
    named = None if isinstance(source, bytes) else Image.registered_extensions().get(Path(source).suffix.lower())
    signed = named in Image.OPEN and (named in known or known and Image.OPEN[named][1] is None)
    if signed and named not in POSTER_FORMATS:
        return _format_refusal(named, name)
    if known:
        return _format_refusal(known[0], name)
    return InvalidImageError(f"{name} is not an image PIL can read (expected {RASTER_FORMATS})")


def _accepts(accept, head: bytes) -> bool:
    try:
        return bool(accept(head))
    except Exception:  # a plugin's signature check on a short head; not that format
        return False


def _check_pixels(image: Image.Image, max_pixels: int) -> None:
    """Refuse a size no model should be handed: no pixels, over ``max_pixels``, or past ``MAX_ASPECT``:1."""
    width, height = image.size
    if width * height > max_pixels:
        raise InvalidImageError(
            f"the poster is {width}x{height} pixels, over the limit of {max_pixels:,} pixels; "
            "please use a smaller image"
        )
    if width == 0 or height == 0:
        raise InvalidImageError("the poster has no pixels")
    if max(width, height) > MAX_ASPECT * min(width, height):
        raise InvalidImageError(
            f"the poster is {width}x{height} pixels, {max(width, height) / min(width, height):,.0f}:1; posters "
            f"up to {MAX_ASPECT}:1 are read (crop it closer to the poster)"
        )


def _to_rgb(image: Image.Image) -> Image.Image:
    if image.mode == "RGB":
        return image
    if image.mode == "P":
        # Palette images may carry transparency in their info; RGBA keeps it for compositing.
        image = image.convert("RGBA")
    if image.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        return _array_to_rgb(np.asarray(image))
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image.convert("RGB")


def _array_to_rgb(array: np.ndarray) -> Image.Image:
    """Arrays from Gradio/numpy: uint8 or wider ints/floats, grey, RGB or RGBA."""
    if array.ndim not in (2, 3) or array.size == 0:
        raise InvalidImageError(f"expected an image array of shape HxW or HxWxC, got {array.shape}")
    if array.ndim == 3 and array.shape[2] not in (1, 3, 4):
        raise InvalidImageError(f"expected 1, 3 or 4 colour channels, got {array.shape[2]}")
    data = array.astype(np.float64)
    if array.dtype == np.uint16:
        data = data * (255.0 / 65535.0)
    elif array.dtype != np.uint8:
        top = float(np.nanmax(data))  # never empty: refused above
        scale = 255.0 / (65535.0 if top > 255 else (255.0 if top > 1 else 1.0))
        data = data * scale
    data = np.clip(np.nan_to_num(data), 0, 255).astype(np.uint8)
    if data.ndim == 3 and data.shape[2] == 1:
        data = data[:, :, 0]
    image = Image.fromarray(data)
    _check_pixels(image, MAX_PIXELS)
    return _to_rgb(image)


@dataclass(frozen=True)
class PlotText:
    """A cleaned plot: ``text`` is None when the user gave nothing usable."""

    text: str | None

    @property
    def present(self) -> bool:
        return self.text is not None


# A plot is read up to the model's token limit (512 at most); a long TMDB plot is ~1,000 characters.
# Anything far past that is a paste gone wrong, and tokenizing it costs seconds and memory.
MAX_PLOT_CHARS = 20_000
LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def clean_plot(plot: str | None) -> PlotText:
    """Fold whitespace; a plot of only whitespace and invisible characters (a byte-order mark, zero-width
    spaces: :func:`visible_text`) means no plot. Text is NFC-normalised and invisible format
    characters are dropped, as for every text a user types.

    Raises InvalidInputError for non-text or a plot over ``MAX_PLOT_CHARS``. Characters that cannot
    be encoded (a lone surrogate from a broken paste) become U+FFFD instead of failing the tokenizer.
    """
    if plot is None:
        return PlotText(None)
    if not isinstance(plot, str):
        raise InvalidInputError(f"the plot must be text, got {type(plot).__name__}")
    if len(plot) > MAX_PLOT_CHARS:
        raise InvalidInputError(f"the plot is {len(plot):,} characters; the limit is {MAX_PLOT_CHARS:,}")
    return PlotText(visible_text(LONE_SURROGATE.sub("\ufffd", plot)))


@dataclass(frozen=True)
class FilmInput:
    """One film's poster and plot, read and checked once at a request's boundary and shared by every model.

    ``poster``: RGB image or None; ``plot``: cleaned text or None (nothing usable given). ``poster_error`` /
    ``plot_error``: why one could not be used (every model that needs it reports it on its own card).
    """

    poster: Image.Image | None = None
    plot: str | None = None
    poster_error: InvalidInputError | None = None
    plot_error: InvalidInputError | None = None


def read_film(poster: PosterInput = None, plot: str | None = None, read_poster: bool = True,
              read_plot: bool = True) -> FilmInput:
    """:func:`load_poster` and :func:`clean_plot` once, their refusals kept instead of raised; a side not
    read (no model of the request needs it) stays None."""
    image = text = poster_error = plot_error = None
    if read_poster:
        try:
            image = load_poster(poster)
        except InvalidInputError as exc:
            poster_error = exc
    if read_plot:
        try:
            text = clean_plot(plot).text
        except InvalidInputError as exc:
            plot_error = exc
    return FilmInput(image, text, poster_error, plot_error)


def check_threshold(threshold) -> float | None:
    """A decision threshold: None (use the tuned ones) or a finite number from 0 to 1."""
    if threshold is None:
        return None
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float)):
        raise InvalidInputError(f"the threshold must be a number from 0 to 1 (or none), got {threshold!r}")
    if not math.isfinite(threshold) or not 0.0 <= threshold <= 1.0:
        raise InvalidInputError(f"the threshold must be from 0 to 1, got {threshold}")
    return float(threshold)
