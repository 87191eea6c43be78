"""Where the IMDb ids come from: a plain list, or IMDb's public ``title.basics.tsv.gz`` filtered.

IMDb's files have millions of rows; they are read line by line (gzip streaming), never whole.
"""
from __future__ import annotations

import csv
import gzip
import io
import re
from pathlib import Path
from typing import Iterator

IMDB_ID = re.compile(r"\btt\d{7,10}\b")
ID_COLUMNS = ("imdb_id", "tconst", "imdbID", "id")


def _open_text(path: Path) -> io.TextIOBase:
    # utf-8-sig: a byte-order mark (Excel, Notepad) is not part of the first line or column name
    if path.suffix == ".gz":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8-sig", newline="")
    return open(path, encoding="utf-8-sig", newline="")


def read_id_list(path: str | Path) -> list[str]:
    """IMDb ids from a text file (one per line, anything else on the line ignored) or a CSV with an id column.

    Order is kept, duplicates dropped. Raises ValueError when the file holds no IMDb id.
    """
    path = Path(path)
    with _open_text(path) as handle:
        text = handle.read()
    ids = list(dict.fromkeys(IMDB_ID.findall(text)))
    if not ids:
        raise ValueError(f"{path} holds no IMDb id (expected lines like tt0012349)")
    return ids


def _tsv_rows(path: Path) -> Iterator[dict[str, str]]:
    with _open_text(path) as handle:
        # IMDb's TSVs use \N for missing values and never quote
        yield from csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)


def votes_at_least(ratings: str | Path, min_votes: int) -> dict[str, int]:
    """tconst -> votes for titles with at least ``min_votes`` (only those are kept in memory)."""
    out = {}
    for row in _tsv_rows(Path(ratings)):
        try:
            votes = int(row["numVotes"])
        except (KeyError, ValueError):
            continue
        if votes >= min_votes:
            out[row["tconst"]] = votes
    return out


def filter_basics(basics: str | Path, title_type: str = "movie", year_min: int | None = None,
                  year_max: int | None = None, votes: dict[str, int] | None = None,
                  limit: int | None = None) -> list[str]:
    """Ids from ``title.basics.tsv(.gz)`` of one type within a year range (and in ``votes``, if given)."""
    ids = []
    for row in _tsv_rows(Path(basics)):
        if row.get("titleType") != title_type or row.get("isAdult") == "1":
            continue
        year = row.get("startYear", r"\N")
        if year == r"\N" and (year_min or year_max):
            continue
        if (year_min and int(year) < year_min) or (year_max and int(year) > year_max):
            continue
        if votes is not None and row["tconst"] not in votes:
            continue
        ids.append(row["tconst"])
        if limit and len(ids) >= limit:
            break
    return ids
