"""A user's own films CSV, read row by row so every problem can be named with its CSV line.

The columns are those ``python -m genre_models.evaluate`` reads (``id,title,year,genres,plot,poster``,
see ``films.py``). Unlike training data, whose loader silently repairs what it can, a user asked to
have *these* films scored: a row that cannot be scored as given (an unknown genre, an empty plot, a
poster the zip lacks, missing cells) is skipped and named as ``line N: ...``; the rest is scored. Only
a file that cannot be used at all (unreadable, a required column absent, too many rows) is refused.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from ..errors import DataError, UnknownGenreError
from ..genres import canonical_genre
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
    cells: dict[str, str | None]  # None: the row has fewer cells than the header
    # more non-empty cells than the header (an unquoted comma in a plot): every cell after it may be shifted
    fields: int | None = None


def read_records(path: str | Path, max_films: int = MAX_EVAL_FILMS, needs_plot: bool = True) -> list[Record]:
    """Every data record of the CSV with its starting line, refusing the file up front when unusable.

    Raises:
        DataError: unreadable, not UTF-8, no ``id``/``genres`` column (or no ``plot`` column when
            ``needs_plot``), or more than ``max_films`` rows (the message names the limit).
    """
    path = Path(path)
    records: list[Record] = []
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle)
            header = [h.strip() for h in next(reader, [])]
            while header and not header[-1]:  # a stray delimiter after the header
                header.pop()
            missing = [c for c in (*REQUIRED, *(("plot",) if needs_plot else ())) if c not in header]
            if missing:
                raise DataError(f"line 1: the CSV lacks column(s) {', '.join(missing)}; expected "
                                "id,title,year,genres,plot,poster")
            start = reader.line_num + 1
            for cells in reader:
                if any(c.strip() for c in cells):
                    if len(records) == max_films:
                        raise DataError(f"more than {max_films:,} films in the CSV; the limit is {max_films:,} "
                                        "(--max-eval-films): split the file")
                    # extra *empty* cells (a stray "," at the end) are read without them, as training does
                    extra = any(c.strip() for c in cells[len(header):])
                    records.append(Record(start, {h: cells[i] if i < len(cells) else None
                                                  for i, h in enumerate(header)}, len(cells) if extra else None))
                start = reader.line_num + 1
    except FileNotFoundError:
        raise DataError(f"films CSV not found: {path}") from None
    except UnicodeDecodeError:
        raise DataError("the films CSV is not UTF-8 text") from None
    except csv.Error as exc:
        raise DataError(f"line {start}: not readable as CSV ({exc})") from None
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
        if record.fields is not None:
            problems.append(f"line {line}: {record.fields} fields, expected {len(cells)} (a comma in an unquoted "
                            "cell?); row skipped")
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
            return [], f"unknown genre {name!r}"
        if genre is not None and genre not in genres:  # None: a genre dropped on purpose (TV Movie)
            genres.append(genre)
    return genres, None if genres else "no genre among the 18"


def _poster(name: str, root: Path | None, where: str) -> tuple[Path | None, str | None]:
    if not name:
        return None, "no poster named"
    if root is None:
        return None, f"poster {name!r}: no posters given"
    path = (root / name.replace("\\", "/")).resolve()
    if not path.is_relative_to(root.resolve()):
        return None, f"poster {name!r} points outside {where}"
    if not path.is_file():
        return None, f"poster {name!r} is not in {where}"
    return path, None
