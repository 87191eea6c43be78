"""A user's own films CSV, read row by row so every problem can be named with its CSV line.

The columns are those ``python -m genre_models.evaluate`` reads (``id,title,year,genres,plot,poster``,
see ``films.py``). Unlike training data, whose loader silently repairs what it can, a user asked to
have *these* films scored: a row that cannot be scored as given (an unknown genre, an empty plot, a
poster the zip lacks, missing cells, a NUL byte, a poster name the system refuses) is skipped and named
as ``line N: ...``; the rest is scored. Only a file that cannot be used at all (unreadable, a required
column absent or one named twice, too many rows, a header or a row past ``csv_text``'s bounds) is refused.
"""
from __future__ import annotations

import os
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from ..errors import DataError, UnknownGenreError
from ..genres import canonical_genre
from .csv_text import CsvRecords, cell_problem, shown
from .inputs import visible_text

MAX_EVAL_FILMS = 2000
REQUIRED = ("id", "genres")


@dataclass
class FilmRow:
    """One scorable film; ``line`` is the CSV line its record starts on (the header is line 1)."""

    line: int
    id: str
    title: str
    genres: list[str]
    plot: str | None
    poster: Path | None


@dataclass
class Record:
    line: int
    cells: dict[str, str | None]  # the columns GenreLens reads; None: the row has fewer cells than the header
    # why the row cannot be used whatever the models: more non-empty cells than the header (an unquoted
    # comma in a plot shifts every cell after it), a NUL byte in a cell
    problem: str | None = None


def read_records(path: str | Path, max_films: int = MAX_EVAL_FILMS, needs_plot: bool = True) -> list[Record]:
    """Every data record of the CSV with its starting line, refusing the file up front when unusable.

    Only the columns GenreLens reads are kept (``csv_text.COLUMNS``), so memory follows the rows, not
    the header's width.

    Raises:
        DataError: unreadable, not UTF-8, no ``id``/``genres`` column (or no ``plot`` column when
            ``needs_plot``), more than ``max_films`` rows (the message names the limit), or a header
            or a row past ``csv_text``'s bounds or with a repeated column name (named by line).
    """
    path = Path(path)
    records: list[Record] = []
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            rows = CsvRecords(handle)
            header = rows.header
            missing = [c for c in (*REQUIRED, *(("plot",) if needs_plot else ())) if c not in header]
            if missing:
                raise DataError(f"line 1: the CSV lacks column(s) {', '.join(missing)}; expected "
                                "id,title,year,genres,plot,poster")
            for start, cells in rows:
                if any(c.strip() for c in cells):
                    if len(records) == max_films:
                        raise DataError(f"more than {max_films:,} films in the CSV; the limit is {max_films:,} "
                                        "(--max-eval-films): split the file")
                    picked = rows.pick(cells)
                    # extra *empty* cells (a stray "," at the end) are read without them, as training does
                    extra = any(c.strip() for c in cells[len(header):])
                    records.append(Record(start, picked, f"{len(cells)} fields, expected {len(header)} (a comma in "
                                          "an unquoted cell?)" if extra else cell_problem(picked)))
    except FileNotFoundError:
        raise DataError(f"films CSV not found: {path.name}") from None
    except UnicodeDecodeError:
        raise DataError("the films CSV is not UTF-8 text") from None
    return records


def validate_records(records: list[Record], poster_root: Path | None = None, needs_plot: bool = True,
                     needs_poster: bool = False, where: str = "the zip") -> tuple[list[FilmRow], list[str]]:
    """(the scorable films, one ``line N: ...; row skipped`` message per row that is not).

    ``poster_root``: the folder poster names resolve in (the unpacked zip); a name resolving outside
    it counts as absent. ``where`` names that folder in messages.
    """
    films, problems, seen = [], [], set()
    needed = ["id", "genres"] + (["plot"] if needs_plot else []) + (["poster"] if needs_poster else [])
    for record in records:
        cells, line = record.cells, record.line
        if record.problem is not None:
            problems.append(f"line {line}: {record.problem}; row skipped")
            continue
        lacking = [c for c in needed if cells.get(c) is None]
        if lacking:
            problems.append(f"line {line}: missing column(s) {', '.join(lacking)} (fewer cells than the "
                            "header); row skipped")
            continue
        film_id = cells["id"].strip()
        problem = None
        if not film_id:
            problem = "empty id"
        elif film_id in seen:
            problem = f"id {film_id!r} repeats an earlier row"
        genres, problem = _genres(cells["genres"]) if problem is None else ([], problem)
        plot = visible_text(cells.get("plot") or "")  # a plot of zero-width spaces is an empty plot
        if problem is None and needs_plot and plot is None:
            problem = "empty plot"
        poster = None
        if problem is None and needs_poster:
            poster, problem = _poster((cells.get("poster") or "").strip(), poster_root, where)
        if problem:
            problems.append(f"line {line}: {problem}; row skipped")
            continue
        seen.add(film_id)
        films.append(FilmRow(line, film_id, (cells.get("title") or "").strip(), genres, plot, poster))
    return films, problems


def _genres(text: str) -> tuple[list[str], str | None]:
    genres = []
    for name in filter(None, (g.strip() for g in text.split("|"))):
        try:
            genre = canonical_genre(name)
        except UnknownGenreError:
            return [], f"unknown genre {name!r}" + _separator_hint(name)
        if genre is not None and genre not in genres:  # None: a genre dropped on purpose (TV Movie)
            genres.append(genre)
    return genres, None if genres else "no genre among the 18"


# what people separate genres with instead of "|" (ASCII and full-width commas, semicolons, slashes, ...)
_SEPARATORS = re.compile(r"\s*[,;/&+\uff0c\uff1b\u3001]\s*")


def _separator_hint(name: str) -> str:
    """How genres are separated, for an unknown genre that is several in one ("Horror, Mystery", "Horror
    Mystery"); "" for one unknown name."""
    pieces = [p for p in _SEPARATORS.split(name) if p]
    if len(pieces) < 2 or not any(_known(p) for p in pieces):  # "http://a.b" is no list of genres
        pieces = name.split()
        if len(pieces) < 2 or not all(_known(p) for p in pieces):
            return ""
    return f" (genres are separated by '|', as in {shown('|'.join(pieces))})"


def _known(name: str) -> bool:
    try:
        canonical_genre(name)
    except UnknownGenreError:
        return False
    return True


def _poster(name: str, root: Path | None, where: str) -> tuple[Path | None, str | None]:
    if not name:
        return None, "no poster named"
    if root is None:
        return None, f"poster {shown(name)}: no posters given"
    try:
        # compared in NFC: a zip is unpacked in NFC (safe_zip), and a folder copied from macOS holds NFD names
        for form in dict.fromkeys(unicodedata.normalize(f, name) for f in ("NFC", "NFD")):
            path = (root / form.replace("\\", "/")).resolve()
            inside = path.is_relative_to(root.resolve())
            found = inside and path.is_file()
            if found or not inside:
                break
    except (OSError, ValueError) as exc:  # a name the system refuses (too long, ...): this row's fault alone
        reason = os.strerror(exc.errno) if getattr(exc, "errno", None) else "not a usable file name"
        return None, f"poster {shown(name)} cannot be looked up ({reason})"
    if not inside:
        return None, f"poster {shown(name)} points outside {where}"
    if not found:
        return None, f"poster {shown(name)} is not in {where}"
    return path, None
