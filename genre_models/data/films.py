"""Film datasets in the GenreLens CSV format, validated, and split deterministically by id.

Format (as ``../shared/data/movies/movies.csv``): ``id,title,year,genres,plot,poster`` with
``|``-separated genres and a poster path relative to the CSV (may be empty). Loading never stops at
a bad row: it keeps what is usable and reports what it skipped or fixed in a :class:`LoadReport`.
Several CSVs load as one dataset (:func:`load_datasets`); each film keeps the name of its file in
the ``source`` column, and since a film's split depends on its id alone, adding a file never moves a
film that was already there to another split.
"""
from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd
from PIL import Image

from ..errors import DataError, UnknownGenreError
from ..files import file_sha256
from ..genres import GENRES, canonical_genre
from .csv_text import CsvRecords, cell_problem
from .inputs import POSTER_FORMATS, visible_text

REQUIRED_COLUMNS = ("id", "genres", "plot")
SPLITS = ("train", "val", "test")


@dataclass
class LoadReport:
    """What loading found; ``lines()`` is what the CLIs print."""

    rows_read: int = 0
    rows_kept: int = 0
    aliased_genres: Counter = field(default_factory=Counter)  # "Science Fiction -> Sci-Fi": n
    dropped_genres: Counter = field(default_factory=Counter)  # deliberately dropped (TV Movie ...)
    unknown_genres: Counter = field(default_factory=Counter)
    no_genre: int = 0
    empty_plots: int = 0
    missing_posters: int = 0
    broken_posters: int = 0
    no_poster: int = 0
    duplicate_ids: list[str] = field(default_factory=list)
    bad_rows: list[str] = field(default_factory=list)  # "movies.csv line 7: 8 fields, expected 6" (skipped)
    bad_cells: list[str] = field(default_factory=list)  # "movies.csv line 9: a NUL byte in column(s) poster" (skipped)
    trailing_delimiters: int = 0  # rows ending in extra empty fields (a stray ","), read without them

    def lines(self) -> list[str]:
        out = [f"rows read: {self.rows_read}, kept: {self.rows_kept}"]
        if self.bad_rows:
            out.append(f"rows with the wrong number of fields (skipped): {len(self.bad_rows)}: "
                       + "; ".join(self.bad_rows[:5]) + ("; …" if len(self.bad_rows) > 5 else ""))
        if self.bad_cells:
            out.append(f"rows with a cell that is not text (skipped): {len(self.bad_cells)}: "
                       + "; ".join(self.bad_cells[:5]) + ("; …" if len(self.bad_cells) > 5 else ""))
        if self.trailing_delimiters:
            out.append(f"rows ending in a stray delimiter (read without it): {self.trailing_delimiters}")
        if self.aliased_genres:
            out.append("genres mapped by alias: " + ", ".join(f"{k} ({n})" for k, n in self.aliased_genres.items()))
        if self.dropped_genres:
            out.append("genres dropped (not among the 18): " + ", ".join(
                f"{k} ({n})" for k, n in self.dropped_genres.most_common()))
        if self.unknown_genres:
            out.append("unknown genres ignored: " + ", ".join(
                f"{k!r} ({n})" for k, n in self.unknown_genres.most_common()) + f"; valid: {', '.join(GENRES)}")
        for label, n in (("rows without any kept genre (dropped)", self.no_genre),
                         ("rows with an empty plot (kept for poster models)", self.empty_plots),
                         ("rows without a poster", self.no_poster),
                         ("poster files missing (row kept for plot models)", self.missing_posters),
                         ("poster files broken (row kept for plot models)", self.broken_posters)):
            if n:
                out.append(f"{label}: {n}")
        if self.duplicate_ids:
            out.append(f"duplicate ids (first kept): {len(self.duplicate_ids)} "
                       f"e.g. {', '.join(self.duplicate_ids[:5])}")
        return out


@dataclass
class FilmDataset:
    """Validated films. ``frame`` columns: id, title, year, genres (list), plot (str|None), poster
    (Path|None), source (the file's name)."""

    frame: pd.DataFrame
    sources: tuple[Path, ...]
    report: LoadReport
    genres: tuple[str, ...] = GENRES

    @property
    def source(self) -> str:
        """The file(s) it was read from, for messages."""
        return " + ".join(str(p) for p in self.sources)

    def __len__(self) -> int:
        return len(self.frame)

    @property
    def ids(self) -> list[str]:
        return self.frame["id"].tolist()

    def labels(self) -> np.ndarray:
        """[N, G] multi-hot float32 targets."""
        index = {g: i for i, g in enumerate(self.genres)}
        y = np.zeros((len(self.frame), len(self.genres)), dtype=np.float32)
        for row, genres in enumerate(self.frame["genres"]):
            for genre in genres:
                y[row, index[genre]] = 1.0
        return y

    def subset(self, mask) -> "FilmDataset":
        return FilmDataset(self.frame[np.asarray(mask)].reset_index(drop=True), self.sources,
                           self.report, self.genres)

    def describe(self) -> dict:
        """What a checkpoint or report records about its data (one file: as before several existed)."""
        digests = [file_sha256(p) for p in self.sources]
        out = {"file": self.source, "rows": len(self.frame),
               "sha256": (digests[0] if len(digests) == 1 else
                          hashlib.sha256("".join(digests).encode()).hexdigest())[:16],
               "with_plot": int(self.frame["plot"].notna().sum()),
               "with_poster": int(self.frame["poster"].notna().sum())}
        if len(self.sources) > 1:
            counts = self.frame["source"].value_counts()
            out["files"] = [{"file": str(p), "rows": int(counts.get(p.name, 0)), "sha256": d[:16]}
                            for p, d in zip(self.sources, digests)]
        return out


def _check_poster(path: Path, verify: bool) -> str:
    try:
        if not path.is_file():
            return "missing"
    except OSError:  # a name the system refuses (too long, ...) names no file it can find
        return "missing"
    if verify:
        try:
            # the poster formats alone: an .ico would decode its embedded image while opening
            with Image.open(path, formats=POSTER_FORMATS) as image:
                image.verify()
        except Exception:  # PIL raises many types for broken files
            return "broken"
    return "ok"


def _read_rows(path: Path, report: "LoadReport") -> pd.DataFrame:
    """The CSV's rows as strings, each checked against the header's field count.

    A row ending in extra *empty* fields (a stray "," at its end) is read without them, as pandas'
    ``index_col=False`` would; any other row with the wrong number of fields is skipped and named by
    its line, never allowed to shift the columns of the rows after it. pandas cannot do both: with
    ``index_col=False`` it cuts or pads every such row silently. ``utf-8-sig``: a byte-order mark is
    not part of the first column's name. Only the columns GenreLens reads are kept, and the header's
    and each row's size are bounded (``csv_text.CsvRecords``); a row with a NUL byte in one of those
    cells is skipped and named like a row of the wrong width.
    """
    try:
        with open(path, encoding="utf-8-sig", newline="") as handle:
            records = CsvRecords(handle)
            header = records.header
            rows = []
            for line, row in records:
                if not row:  # a blank line
                    continue
                report.rows_read += 1
                if len(row) > len(header) and not any(value.strip() for value in row[len(header):]):
                    report.trailing_delimiters += 1
                    row = row[:len(header)]
                if len(row) != len(header):
                    report.bad_rows.append(f"{path.name} line {line}: {len(row)} fields, expected {len(header)}")
                    continue
                cells = records.pick(row)  # only the columns read: memory follows the rows, not the header
                problem = cell_problem(cells)
                if problem:
                    report.bad_cells.append(f"{path.name} line {line}: {problem}")
                    continue
                rows.append(cells)
    except FileNotFoundError:
        raise DataError(f"dataset not found: {path}") from None
    except DataError as exc:  # the header or a row past csv_text's bounds, named by its line
        raise DataError(f"{path} {exc}") from None
    except (UnicodeDecodeError, OSError) as exc:
        raise DataError(f"{path} is not a readable CSV: {exc}") from None
    return pd.DataFrame(rows, columns=records.columns, dtype=str)


def load_dataset(path: str | Path, verify_posters: bool = True) -> FilmDataset:
    """Read and validate a films CSV. Raises DataError only when the file itself is unusable.

    Loading never stops at a bad row: rows with the wrong number of fields, without an id or a kept
    genre, or repeating an id, are skipped and counted in the report (the first by line).
    """
    path = Path(path)
    report = LoadReport()
    raw = _read_rows(path, report)
    missing = [c for c in REQUIRED_COLUMNS if c not in raw.columns]
    if missing:
        raise DataError(f"{path} lacks column(s) {', '.join(missing)}; expected "
                        "id,title,year,genres,plot,poster")
    rows, seen = [], set()
    for record in raw.to_dict("records"):
        film_id = visible_text(record["id"]) or ""
        if not film_id:
            continue
        if film_id in seen:
            report.duplicate_ids.append(film_id)
            continue
        seen.add(film_id)
        genres = []
        for name in filter(None, (g.strip() for g in record["genres"].split("|"))):
            try:
                genre = canonical_genre(name)
            except UnknownGenreError:
                report.unknown_genres[name] += 1
                continue
            if genre is None:
                report.dropped_genres[name] += 1
            elif genre not in genres:
                if genre != name:
                    report.aliased_genres[f"{name} -> {genre}"] += 1
                genres.append(genre)
        if not genres:
            report.no_genre += 1
            continue
        plot = visible_text(record.get("plot", ""))  # invisible characters alone are an empty plot
        report.empty_plots += plot is None
        poster = None
        if record.get("poster", "").strip():
            candidate = (path.parent / record["poster"].strip())
            state = _check_poster(candidate, verify_posters)
            if state == "ok":
                poster = candidate
            elif state == "missing":
                report.missing_posters += 1
            else:
                report.broken_posters += 1
        else:
            report.no_poster += 1
        rows.append({"id": film_id, "title": record.get("title", ""), "year": record.get("year", ""),
                     "genres": genres, "plot": plot, "poster": poster, "source": path.name})
    report.rows_kept = len(rows)
    # object dtype keeps None for "no plot"/"no poster" (pandas would otherwise turn it into NaN)
    frame = pd.DataFrame({c: pd.Series([r[c] for r in rows], dtype=object) for c in COLUMNS})
    return FilmDataset(frame, (path,), report)


COLUMNS = ["id", "title", "year", "genres", "plot", "poster", "source"]


def data_files(arguments: Sequence[str | Path]) -> list[Path]:
    """The CSVs named on a command line: each argument is a CSV, or a ``.txt`` list file holding one
    CSV path per line (relative to the list; blank lines and ``#`` comments skipped)."""
    files = []
    for argument in map(Path, arguments):
        if argument.suffix.lower() != ".txt":
            files.append(argument)
            continue
        try:
            lines = argument.read_text(encoding="utf-8-sig").splitlines()  # a BOM is not part of the first path
        except (OSError, UnicodeDecodeError) as exc:
            raise DataError(f"cannot read the list of CSVs {argument}: {exc}") from None
        files += [argument.parent / line.strip() for line in lines if line.strip() and not line.startswith("#")]
    if not files:
        raise DataError("no films CSV given")
    return files


def load_datasets(paths: Sequence[str | Path], verify_posters: bool = True) -> FilmDataset:
    """Read several films CSVs (or ``.txt`` lists of them, see :func:`data_files`) as one dataset.

    A film whose id already came from an earlier file is skipped and reported as a duplicate id.
    """
    files = data_files(paths)
    parts = [load_dataset(path, verify_posters) for path in files]
    if len(parts) == 1:
        return parts[0]
    if len({p.resolve() for p in files}) < len(files):
        raise DataError("the same CSV is named twice: " + ", ".join(map(str, files)))
    report = LoadReport()
    seen: set[str] = set()
    frames = []
    for part in parts:
        one = part.report
        report.rows_read += one.rows_read
        for name in ("aliased_genres", "dropped_genres", "unknown_genres"):
            getattr(report, name).update(getattr(one, name))
        report.bad_rows += one.bad_rows
        report.bad_cells += one.bad_cells
        for name in ("no_genre", "empty_plots", "missing_posters", "broken_posters", "no_poster",
                     "trailing_delimiters"):
            setattr(report, name, getattr(report, name) + getattr(one, name))
        repeated = part.frame["id"].isin(seen).to_numpy()
        report.duplicate_ids += one.duplicate_ids + part.frame["id"][repeated].tolist()
        frames.append(part.frame[~repeated])
        seen.update(part.frame["id"])
    frame = pd.concat(frames, ignore_index=True)
    report.rows_kept = len(frame)
    return FilmDataset(frame, tuple(files), report)


def split_of(film_id: str, seed: int, val: float = 0.1, test: float = 0.1) -> str:
    """The split a film belongs to: a hash of (seed, id), so it never depends on row order or size."""
    value = int(hashlib.sha256(f"{seed}:{film_id}".encode()).hexdigest()[:8], 16) / 0x1_0000_0000
    return "test" if value < test else "val" if value < test + val else "train"


def split_dataset(dataset: FilmDataset, seed: int = 0, val: float = 0.1,
                  test: float = 0.1) -> dict[str, FilmDataset]:
    """Deterministic train/val/test split by id."""
    names = np.array([split_of(i, seed, val, test) for i in dataset.ids])
    return {name: dataset.subset(names == name) for name in SPLITS}
