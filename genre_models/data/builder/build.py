"""Build a GenreLens CSV the way the thesis did: IMDb ids -> OMDb plots, genres, posters -> clean CSV.

The command is ``python -m genre_models dataset build`` (:mod:`genre_models.cli.dataset`).

Preprocessing choices (written into report.md too):
- genres mapped to the 18 canonical ones through the aliases (Musical -> Music, Sci-Fi spellings);
  others (Biography, Sport, Short, News, ...) dropped and counted;
- films without a plot, or without any kept genre, dropped;
- the same title and year twice: the record with the most IMDb votes kept;
- plots whitespace-normalised; posters verified to decode, stored as RGB JPEG (longest side capped),
  exact duplicates (same file content) kept once; genres rarer than --min-genre-count reported;
- a rerun into the same folder merges: films of the existing movies.csv that this run did not produce
  are kept, and the file is replaced only once the new one is complete (a run stopped by the daily
  limit still writes every film it has an answer for, cached ones included).
"""
from __future__ import annotations

import csv
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from tqdm.auto import tqdm

from ...errors import UnknownGenreError
from ...genres import GENRES, canonical_genre
from ..csv_text import inert_cell
from .omdb import OmdbClient, OmdbFatalError
from .posters import PosterStore

CHOICES = __doc__.split("Preprocessing choices (written into report.md too):\n")[1].strip()


@dataclass
class BuildSummary:
    ids: int = 0
    asked: int = 0
    from_cache: int = 0
    transient: int = 0  # refusals that may pass (OMDb's "Error getting data."): not cached, asked again next run
    skipped: Counter = field(default_factory=Counter)  # OMDb's reasons
    dropped: Counter = field(default_factory=Counter)  # preprocessing reasons
    dropped_genres: Counter = field(default_factory=Counter)
    poster_skips: Counter = field(default_factory=Counter)
    kept: int = 0
    kept_from_before: int = 0  # rows of an existing movies.csv this run did not produce, kept as they were
    with_poster: int = 0
    genre_counts: Counter = field(default_factory=Counter)
    stopped: str | None = None
    notes: list = field(default_factory=list)

    def lines(self) -> list[str]:
        out = [f"ids: {self.ids}; OMDb answers: {self.asked} new, {self.from_cache} from cache",
               f"films kept: {self.kept} ({self.with_poster} with a poster)"
               + (f", {self.kept_from_before} of them from the existing movies.csv" if self.kept_from_before else "")]
        for title, counter in (("skipped by OMDb", self.skipped), ("dropped", self.dropped),
                               ("genres dropped", self.dropped_genres), ("posters skipped", self.poster_skips)):
            if counter:
                out.append(f"{title}: " + ", ".join(f"{k} ({n})" for k, n in counter.most_common()))
        if self.transient:
            out.append(f"OMDb errors that may pass (not cached; a later run asks again): {self.transient}")
        if self.stopped:
            out.append(f"stopped early: {self.stopped}")
        out += self.notes
        return out


def _votes(record: dict) -> int:
    try:
        return int(str(record.get("imdbVotes", "0")).replace(",", ""))
    except ValueError:
        return 0


def clean_record(record: dict, summary: BuildSummary) -> dict | None:
    """OMDb record -> CSV row fields, or None (counted in ``summary.dropped``)."""
    genres = []
    for name in (g.strip() for g in str(record.get("Genre", "")).split(",")):
        if not name or name == "N/A":
            continue
        try:
            genre = canonical_genre(name)
        except UnknownGenreError:
            genre = None
        if genre is None:
            summary.dropped_genres[name] += 1
        elif genre not in genres:
            genres.append(genre)
    plot = " ".join(str(record.get("Plot", "")).split())
    if not plot or plot == "N/A":
        summary.dropped["no plot"] += 1
        return None
    if not genres:
        summary.dropped["no genre among the 18"] += 1
        return None
    year = str(record.get("Year", ""))[:4]
    return {"id": record["imdbID"], "title": " ".join(str(record.get("Title", "")).split()),
            "year": year if year.isdigit() else "", "genres": genres, "plot": plot,
            "poster_url": record.get("Poster"), "votes": _votes(record)}


def resolve_duplicate_titles(rows: list[dict], summary: BuildSummary) -> list[dict]:
    """Keep one film per (title, year): the one with the most votes, in the input order."""
    best: dict[tuple, dict] = {}
    for row in rows:
        key = (row["title"].lower(), row["year"])
        if key not in best or row["votes"] > best[key]["votes"]:
            best[key] = row
    kept = [row for row in rows if best[(row["title"].lower(), row["year"])] is row]
    if len(kept) < len(rows):
        summary.dropped["duplicate title and year"] += len(rows) - len(kept)
    return kept


def write_report(out: Path, summary: BuildSummary, min_genre_count: int) -> None:
    from ...charts import grouped_bars
    counts = [summary.genre_counts.get(g, 0) for g in GENRES]
    grouped_bars(GENRES, {"films": counts}, "films", title="Genre distribution",
                 unit_interval=False).savefig(out / "genre_distribution.png", dpi=100)
    rare = [g for g in GENRES if summary.genre_counts.get(g, 0) < min_genre_count]
    lines = ["# Dataset report", "", *[f"- {line}" for line in summary.lines()], "",
             "## Preprocessing choices", "", CHOICES, "", "## Genre distribution", "",
             "| genre | films |", "|---|---:|", *[f"| {g} | {n} |" for g, n in zip(GENRES, counts)], "",
             f"Genres with fewer than {min_genre_count} films: {', '.join(rare) or 'none'}.", "",
             "![genre distribution](genre_distribution.png)", ""]
    (out / "report.md").write_text("\n".join(lines))


def build(ids: list[str], out: Path, client: OmdbClient, posters: bool = True, max_poster_side: int = 500,
          min_genre_count: int = 20, progress: bool = True) -> BuildSummary:
    """Fetch, clean and write ``out/movies.csv``, ``out/posters/`` and ``out/report.md``."""
    out.mkdir(parents=True, exist_ok=True)
    summary = BuildSummary(ids=len(ids))
    records = []
    for imdb_id in tqdm(ids, desc="OMDb", disable=not progress, unit="film"):
        try:
            # once stopped, only cached answers are read: a stop on one new id loses no film fetched before
            answer = client.cached(imdb_id) if summary.stopped else client.lookup(imdb_id)
        except OmdbFatalError as exc:
            summary.stopped = str(exc)
            continue
        if answer is None:
            continue
        summary.from_cache += answer.from_cache
        summary.asked += not answer.from_cache
        summary.transient += answer.transient
        if answer.data is None:
            summary.skipped[answer.skip_reason] += 1
        else:
            records.append(answer.data)
    rows = [row for row in (clean_record(r, summary) for r in records) if row is not None]
    rows = resolve_duplicate_titles(rows, summary)
    store = PosterStore(out / "posters", max_side=max_poster_side) if posters else None
    for row in tqdm(rows, desc="posters", disable=not progress or store is None, unit="poster"):
        row["poster"] = ""
        if store is None:
            continue
        result = store.add(row["id"], row["poster_url"], client.download)
        if result.path is not None:
            row["poster"] = f"posters/{result.path.name}"
            summary.with_poster += 1
        else:
            reason = result.skip_reason.split(":")[0]
            summary.poster_skips["same poster as an earlier film" if reason.startswith("same poster") else reason] += 1
    table = [[row["id"], row["title"], row["year"], "|".join(row["genres"]), row["plot"], row["poster"]]
             for row in rows]
    produced = {row["id"] for row in rows}
    earlier = [line for line in _existing_rows(out / "movies.csv") if line[0] not in produced]
    summary.kept_from_before = len(earlier)
    table = earlier + table
    _write_csv_atomically(out / "movies.csv", table)
    for line in table:
        summary.genre_counts.update(g for g in line[3].split("|") if g)
    summary.kept = len(table)
    summary.notes += client.notes
    write_report(out, summary, min_genre_count)
    return summary


CSV_HEADER = ["id", "title", "year", "genres", "plot", "poster"]


def _existing_rows(path: Path) -> list[list[str]]:
    """The rows of a movies.csv an earlier run wrote (none if there is none or it is not ours)."""
    if not path.is_file():
        return []
    with open(path, newline="", encoding="utf-8-sig") as handle:  # a BOM from an editor is no part of "id"
        reader = csv.reader(handle)
        if next(reader, None) != CSV_HEADER:
            return []
        return [line for line in reader if len(line) == len(CSV_HEADER)]


def _write_csv_atomically(path: Path, table: list[list[str]]) -> None:
    """Write beside ``path`` and rename: a crash or Ctrl+C leaves the old file whole."""
    tmp = path.with_name(f".{path.name}.partial")
    try:
        with open(tmp, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            # OMDb's text is no one's formula: a title such as "+1" is written '+1 (read back as +1)
            writer.writerow(map(inert_cell, CSV_HEADER))
            writer.writerows(map(inert_cell, line) for line in table)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
