"""Score a user's own films (a CSV, optionally a zip of posters) with several models, side by side.

One function, :func:`evaluate_films`, answers the app's "Your films" tab, its ``/evaluate_films``
endpoint and ``python -m genre_models.evaluate --all-films``, so the numbers are the same whichever
way they are asked for. Every film goes through the models' own ``predict_batch`` (the app's path:
the same probabilities and thresholds a Compare shows), in chunks, each chunk's posters decoded once
and its backbone features shared across models as a Compare shares them. Each model scores every film it
can read (a row without a poster still counts for the plot models), and each set of films gets its own
trivial baselines (all-negative, label prior) beside the models scored on it. Metrics are sklearn's, via
``training.metrics``.
"""
from __future__ import annotations

import csv
import json
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from ..data.csv_text import inert_cell
from ..data.film_rows import MAX_EVAL_FILMS, FilmRow, read_records, validate_records
from ..data.inputs import load_poster
from ..data.safe_zip import describe_zip, extract_zip
from ..errors import DataError, FixableError, GenreLensError, InvalidInputError
from ..files import atomic_open, write_text_atomic
from ..genres import GENRES
from ..models.lineup import model_colour
from ..models.prediction import Status
from ..models.predictors import MODES, TRAINED, ZERO_SHOT, GenrePredictor, ModelPool
from ..training.baselines import run_baseline
from ..training.report import TABLE_COLUMNS, Result
from ..training.metrics import multilabel_metrics

CHUNK = 64  # films per predict_batch call: the batch `python -m bench plot` measures
BASELINES = ("all-negative", "label-prior")
DISAGREEMENTS = 10
# a film the model cannot read (no poster, an unreadable one, no word it knows): it still scores the others
FILM_STATUSES = (Status.INVALID_INPUT, Status.MISSING_INPUT, Status.NOTHING_READ)
Progress = Callable[[str, int, int], None]  # (model key, films done, films in all)


@dataclass
class ModelAnswers:
    """One model's answers: ``probabilities[i]`` is film ``rows[i]``'s, over ``genres``."""

    key: str
    name: str
    mode: str
    genres: list[str]
    thresholds: np.ndarray  # [len(genres)]
    rows: list[int] = field(default_factory=list)  # indices into FilmsEvaluation.films
    probabilities: list[list[float]] = field(default_factory=list)

    def matrix(self) -> np.ndarray:
        """[len(rows), len(genres)] probabilities."""
        return np.asarray(self.probabilities, dtype=np.float64).reshape(len(self.rows), len(self.genres))


@dataclass
class FilmsEvaluation:
    """What :func:`evaluate_films` measured: the films scored, what was skipped and why, each model's
    answers and the metrics table (the models scored on one set of films, then the baselines on it; the
    next set's models, its baselines, ...)."""

    films: list[FilmRow]
    skipped: list[str]
    notes: list[str]
    answers: dict[str, ModelAnswers]
    results: list[Result]
    keys: list[str] = field(default_factory=list)  # results[i]'s model key ("" for a baseline)

    def table_markdown(self) -> str:
        """The metrics table ``evaluate`` writes: one row per model and per baseline."""
        every = all(r.films == len(self.films) for r in self.results)
        lines = [f"**{len(self.films)} films scored**"
                 + ("." if every else ": each model on the films it can read (the films column), each baseline "
                    "on the films of the models above it.")
                 + " Each model at the thresholds the app uses; label accuracy is dominated by negatives, so read "
                 "it beside F1, AP and the baselines on the same films.", "",
                 "| model | mode | films | " + " | ".join(h for _, h in TABLE_COLUMNS) + " | thresholds |",
                 "|---|---|---:|" + "---:|" * len(TABLE_COLUMNS) + "---|"]
        for r in self.results:
            lines.append(f"| {r.name} | {r.mode} | {r.films} | "
                         + " | ".join(f"{r.metrics[k]:.4f}" for k, _ in TABLE_COLUMNS) + f" | {r.thresholds} |")
        lines += ["", "Baselines are fitted on their films themselves (the label prior is their genre frequencies, "
                  "its thresholds tuned on them for F1): a bar any model should clear, not a rival."]
        return "\n".join(lines)

    def per_genre_f1(self) -> dict[str, dict[str, float]]:
        """Each model's F1 per genre ({model label: {genre: F1}}), genres in the 18's order."""
        return {r.label: {g: r.metrics["per_genre"][g]["f1"] for g in GENRES if g in r.metrics["per_genre"]}
                for r in self.results if r.mode != "baseline"}

    def chart(self, narrow: bool = False):
        """Per-genre F1 across models, on the genres the films have (``narrow``: drawn for a phone's
        width), or None with no model."""
        from ..charts import grouped_bars, grouped_barh_narrow
        series = self.per_genre_f1()
        if not series:
            return None
        # only the genres the films have: F1 is 0 for every model on the others, bars that would only take room
        present = {g for film in self.films for g in film.genres}
        genres = [g for g in GENRES if g in present and any(g in v for v in series.values())]
        values = {label: [v.get(g, 0.0) for g in genres] for label, v in series.items()}
        title = f"Per-genre F1 on your {len(self.films)} films (the genres they have)"
        own = {r.label: model_colour(k) for k, r in zip(self.keys, self.results) if r.mode != "baseline"}
        colours = [own[label] for label in values]  # each model's colour on every tab
        if narrow:
            return grouped_barh_narrow(genres, values, "F1", title=title, colours=colours)
        return grouped_bars(genres, values, "F1", title=title, colours=colours)

    def disagreements(self, top: int = DISAGREEMENTS) -> list[dict]:
        """The films whose models' *decisions* split on the most genres (widest probability gap first
        among equals), as {line, id, title, plot, poster, genres, split: [{genre, predicted_by,
        not_predicted_by}]}; empty with fewer than two models."""
        if len(self.answers) < 2:
            return []
        by_film: dict[int, dict[str, dict[str, float]]] = {}
        for answers in self.answers.values():
            for row, values in zip(answers.rows, answers.probabilities):
                by_film.setdefault(row, {})[answers.key] = dict(zip(answers.genres, values))
        ranked = []
        for row, models in by_film.items():
            if len(models) < 2:
                continue
            split, gap = [], 0.0
            for genre in GENRES:
                values = {k: p[genre] for k, p in models.items() if genre in p}
                decided = {k: values[k] >= self._threshold(k, genre) for k in values}
                yes = [k for k, d in decided.items() if d]
                no = [k for k, d in decided.items() if not d]
                if yes and no:
                    split.append({"genre": genre, "predicted_by": yes, "not_predicted_by": no})
                    gap = max(gap, max(values.values()) - min(values.values()))
            if split:
                ranked.append((len(split), gap, row, split))
        ranked.sort(key=lambda item: (-item[0], -item[1], item[2]))
        out = []
        for _, _, row, split in ranked[:top]:
            film = self.films[row]
            out.append({"line": film.line, "id": film.id, "title": film.title, "genres": film.genres,
                        "plot": film.plot, "poster": str(film.poster) if film.poster else None, "split": split})
        return out

    def _threshold(self, key: str, genre: str) -> float:
        answers = self.answers[key]
        return float(answers.thresholds[answers.genres.index(genre)])

    def to_dict(self) -> dict:
        """The JSON the ``/evaluate_films`` endpoint returns: the table (every metric, per-genre ones
        apart), the films skipped and why, notes, and the films the models disagree on most."""
        table = []
        for key, r in zip(self.keys, self.results):
            table.append({"model": key or r.name, "name": r.name, "mode": r.mode, "films": r.films,
                          "thresholds": r.thresholds, **{k: float(r.metrics[k]) for k, _ in TABLE_COLUMNS}})
        disagreements = [{k: v for k, v in d.items() if k != "poster"} for d in self.disagreements()]
        return {"films": len(self.films), "skipped": self.skipped, "notes": self.notes, "table": table,
                "per_genre_f1": self.per_genre_f1(), "disagreements": disagreements}

    def write_predictions(self, path: str | Path) -> Path:
        """Every prediction as CSV: film_id, model, mode, one probability column per genre (empty where
        the model does not score it), predicted (``|``-separated, the model's decisions). Cells a
        spreadsheet would run as formulas start with ``'`` (``csv_text.inert_cell``)."""
        path = Path(path)
        genres = [g for g in GENRES if any(g in a.genres for a in self.answers.values())]
        with atomic_open(path, "w", newline="", encoding="utf-8") as handle:  # whole or not at all
            writer = csv.writer(handle)
            # every cell inert: a film id from the visitor's CSV such as =HYPERLINK(...) must not run
            writer.writerow(map(inert_cell, ["film_id", "model", "mode", *genres, "predicted"]))
            for answers in self.answers.values():
                index = {g: j for j, g in enumerate(answers.genres)}
                for row, values in zip(answers.rows, answers.probabilities):
                    predicted = [g for g, v, t in zip(answers.genres, values, answers.thresholds) if v >= t]
                    writer.writerow(map(inert_cell, [self.films[row].id, answers.key, answers.mode,
                                                     *(f"{values[index[g]]:.6f}" if g in index else ""
                                                       for g in genres), "|".join(predicted)]))
        return path

    def write(self, out: str | Path, command: str = "") -> Path:
        """``evaluation.md``, ``evaluation.json``, ``per_genre_f1.png`` and ``predictions.csv`` into ``out``."""
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        header = ["# Evaluation of your films", ""] + ([f"Command: `{command}`", ""] if command else [])
        skipped = ["## Rows skipped", ""] + [f"- {s}" for s in self.skipped] + [""] if self.skipped else []
        write_text_atomic(out / "evaluation.md", "\n".join(header + [self.table_markdown(), ""] + skipped))
        write_text_atomic(out / "evaluation.json", json.dumps({"command": command, **self.to_dict()}, indent=2))
        chart = self.chart()
        if chart is not None:
            chart.savefig(out / "per_genre_f1.png", dpi=110)
        self.write_predictions(out / "predictions.csv")
        return out


def _threshold_source(mode: str) -> str:
    return {TRAINED: "checkpoint (tuned on val)", ZERO_SHOT: "zero-shot default"}.get(mode, "weighted mean of the parts'")


def evaluate_films(pool: ModelPool, keys: Sequence[str], csv_path: str | Path, posters_zip: str | Path | None = None,
                   mode: str = "auto", max_films: int = MAX_EVAL_FILMS, workdir: str | Path | None = None,
                   poster_root: str | Path | None = None, on_progress: Progress | None = None,
                   chunk: int = CHUNK) -> FilmsEvaluation:
    """Score every film of a user's CSV that each model in ``keys`` can read, and measure each model on its films.

    A row no model can use (its id, its genres) is skipped; a row one kind of model cannot read (no plot,
    no poster, a poster that is not an image) is left out of those models only, so a poster model never
    shrinks a plot model's films. Baselines are fitted on each model's own set of films.

    Args:
        csv_path: the films CSV (``id,title,year,genres,plot,poster``; poster names are paths inside
            the zip, or inside ``poster_root``).
        posters_zip: a zip of the posters, unpacked safely (``data/safe_zip.py``) under ``workdir``.
        poster_root: where poster names resolve when no zip is given (the CLI: the CSV's folder);
            ignored with a zip. Neither: poster models are skipped with a note.
        workdir: where the zip is unpacked; a temporary folder removed on return when None.
        on_progress: called as ``on_progress(key, films done, films in all)`` after each chunk.

    Returns:
        A FilmsEvaluation; rows that cannot be scored are in ``skipped`` as ``line N: ...; row skipped``,
        rows some models could not read as ``line N: ...; not scored by A, B``.

    Raises:
        DataError: the file (or zip) cannot be used at all, more than ``max_films`` rows, or no film
            or no model could be scored; InvalidInputError: an unknown mode. One line for the user.
    """
    if workdir is None:
        with tempfile.TemporaryDirectory(prefix="genrelens-films-") as folder:
            return evaluate_films(pool, keys, csv_path, posters_zip, mode, max_films, folder, poster_root,
                                  on_progress, chunk)
    if mode not in MODES:  # checked once here, not reported once per film by every model
        raise InvalidInputError(f"unknown mode {mode!r}; valid: {', '.join(MODES)}")
    notes: list[str] = []
    predictors: list[GenrePredictor] = []
    for key in dict.fromkeys(keys):
        try:
            predictors.append(pool.get(key))
        except GenreLensError as exc:
            notes.append(f"{key}: not evaluated: {exc}")
    if not predictors:
        raise DataError("choose at least one model" + (f" ({notes[0]})" if notes else ""))
    root = Path(poster_root) if poster_root is not None and posters_zip is None else None
    if any(p.spec.needs_poster for p in predictors) and posters_zip is None and root is None:
        notes += [_no_posters_note(p) for p in predictors if p.spec.needs_poster]
        predictors = [p for p in predictors if not p.spec.needs_poster]
        if not predictors:
            raise DataError("every chosen model reads posters: add a zip of the posters named in the CSV")
    # too many rows: refused before any unpacking
    records = read_records(csv_path, max_films, any(p.spec.needs_plot for p in predictors))
    if posters_zip is not None and any(p.spec.needs_poster for p in predictors):
        root = extract_zip(posters_zip, Path(workdir) / "posters")
    where = describe_zip(posters_zip) if posters_zip is not None else "the CSV's folder"
    # a row every model refuses (its id, its genres) is skipped here; what one kind of model cannot read of
    # a row (no plot, no poster) only keeps that row from those models: no model shrinks another's films
    films, skipped = validate_records(records, root, needs_plot=False, needs_poster=False, where=where)
    readers = {need: _Readable(*validate_records(records, root, *need, where=where))
               for need in dict.fromkeys(_inputs(p) for p in predictors)}
    posters = {line: film.poster for r in readers.values() for line, film in r.films.items() if film.poster}
    for film in films:
        film.poster = posters.get(film.line)
    answers, unscored = _score(predictors, films, readers, mode, notes, on_progress, chunk)
    if not answers:
        raise DataError("no model could score these films: " + "; ".join(notes or skipped[:3] or ["no usable row"]))
    skipped = sorted(skipped + _unscored_lines(films, answers, unscored), key=_line_number)
    scored = sorted({row for a in answers.values() for row in a.rows})
    if not scored:
        raise DataError("no film could be scored: " + "; ".join(skipped[:3] or ["the CSV has no rows"]))
    kept = {row: i for i, row in enumerate(scored)}  # films no model could score leave the table
    films = [films[row] for row in scored]
    for a in answers.values():
        a.rows = [kept[row] for row in a.rows]
    results, keys_out = _measure(answers, films)
    return FilmsEvaluation(films, skipped, notes, answers, results, keys_out)


Need = tuple[bool, bool]  # (reads the plot, reads the poster): models that read the same inputs read the same rows


def _inputs(predictor: GenrePredictor) -> Need:
    return predictor.spec.needs_plot, predictor.spec.needs_poster


class _Readable:
    """The rows one kind of model can read: {CSV line: the film as it reads it} and {CSV line: why not}."""

    def __init__(self, films: list[FilmRow], problems: list[str]):
        self.films = {film.line: film for film in films}
        self.problems = {_line_number(p): _reason(p) for p in problems}


def _line_number(message: str) -> int:
    return int(message.split(":", 1)[0].removeprefix("line "))


def _reason(message: str) -> str:
    """``line 9: empty plot; row skipped`` -> ``empty plot``."""
    return message.split(": ", 1)[1].removesuffix("; row skipped")


def _no_posters_note(predictor: GenrePredictor) -> str:
    return _not_evaluated(predictor, "it reads posters; add a zip of the posters named in the CSV's poster column")


def _not_evaluated(predictor: GenrePredictor, why: str) -> str:
    """The note for a model that read no film; it also says when its weights are missing, so a visitor
    learns that before uploading what the model reads."""
    note = f"{predictor.name}: not evaluated: {why}"
    try:
        predictor.load()  # once per process; the app has loaded (or failed to load) its lineup already
    except FixableError as exc:
        note += f"; its weights cannot be loaded either: {exc.summary or exc}" + (f" (fix: {exc.fix})" if exc.fix else "")
    return note


def _score(predictors: list[GenrePredictor], films: list[FilmRow], readers: dict[Need, _Readable], mode: str,
           notes: list[str], on_progress: Progress | None, chunk: int
           ) -> tuple[dict[str, ModelAnswers], dict[int, dict[str, list[str]]]]:
    """Each model's answers on the films it can read, and {film: {why not: [models]}} for the others."""
    answers: dict[str, ModelAnswers] = {}
    unscored: dict[int, dict[str, list[str]]] = {}
    dropped: set[str] = set()
    reads_posters = any(p.spec.needs_poster for p in predictors)
    for start in range(0, len(films), chunk):
        rows = range(start, min(start + chunk, len(films)))
        # each poster decoded once, shared by every poster model
        posters, bad = _decode({i: films[i] for i in rows if reads_posters and films[i].poster is not None})
        shared: dict[tuple[int, ...], dict] = {}  # backbone features of these very films, reused by every model
        for predictor in predictors:
            if predictor.key in dropped:
                continue
            readable = readers[_inputs(predictor)]
            mine = []
            for i in rows:
                why = readable.problems.get(films[i].line) or (bad.get(i) if predictor.spec.needs_poster else None)
                if why:
                    unscored.setdefault(i, {}).setdefault(why, []).append(predictor.key)
                else:
                    mine.append(i)
            if mine:
                predictions = predictor.predict_batch(
                    [posters[i] if predictor.spec.needs_poster else None for i in mine],
                    [films[i].plot if predictor.spec.needs_plot else None for i in mine],
                    mode=mode, shared=shared.setdefault(tuple(mine), {}))
                _collect(predictor, mine, predictions, answers, unscored, dropped, notes)
            if on_progress is not None and predictor.key not in dropped:
                on_progress(predictor.key, rows.stop, len(films))
    for predictor in predictors:
        if predictor.key not in answers and predictor.key not in dropped:
            first = next(((films[i].line, why) for i, reasons in sorted(unscored.items())
                          for why, keys in reasons.items() if predictor.key in keys), None)
            notes.append(_not_evaluated(predictor, "it can read none of these films"
                                        + (f" (e.g. line {first[0]}: {first[1]})" if first else "")))
    return {p.key: answers[p.key] for p in predictors if p.key in answers}, unscored  # the order asked for


def _collect(predictor: GenrePredictor, rows: list[int], predictions: list, answers: dict[str, ModelAnswers],
             unscored: dict[int, dict[str, list[str]]], dropped: set[str], notes: list[str]) -> None:
    for i, prediction in zip(rows, predictions):
        if prediction.ok:
            a = answers.get(predictor.key)
            if a is None:
                genres = list(prediction.probabilities)
                a = answers[predictor.key] = ModelAnswers(
                    predictor.key, predictor.name, prediction.mode, genres,
                    np.array([prediction.thresholds[g] for g in genres], dtype=np.float64))
            a.rows.append(i)
            a.probabilities.append([prediction.probabilities[g] for g in a.genres])
        elif prediction.status in FILM_STATUSES:  # this film's own: the model still scores the others
            unscored.setdefault(i, {}).setdefault(prediction.message, []).append(predictor.key)
        else:  # no weights, no head, unknown mode: the same for every film
            dropped.add(predictor.key)
            answers.pop(predictor.key, None)
            notes.append(f"{predictor.name}: not evaluated: {prediction.summary or prediction.message}")
            return


def _unscored_lines(films: list[FilmRow], answers: dict[str, ModelAnswers],
                    unscored: dict[int, dict[str, list[str]]]) -> list[str]:
    """``line N: why; not scored by A, B`` per reason, or ``line N: why; row skipped`` for a film no model
    scored; only the models that were evaluated are named."""
    names = {a.key: a.name for a in answers.values()}
    scored = {row for a in answers.values() for row in a.rows}
    lines = []
    for i, reasons in sorted(unscored.items()):
        reasons = {why: [names[k] for k in keys if k in names] for why, keys in reasons.items()}
        reasons = {why: who for why, who in reasons.items() if who}
        if not reasons:
            continue
        if i not in scored:
            lines.append(f"line {films[i].line}: {'; '.join(reasons)}; row skipped")
        else:
            lines += [f"line {films[i].line}: {why}; not scored by {', '.join(who)}" for why, who in reasons.items()]
    return lines


def _decode(films: dict[int, FilmRow]) -> tuple[dict[int, object], dict[int, str]]:
    posters, bad = {}, {}
    for i, film in films.items():
        try:
            posters[i] = load_poster(film.poster)
        except InvalidInputError as exc:
            bad[i] = f"poster {film.poster.name!r}: {exc}"
    return posters, bad


def _measure(answers: dict[str, ModelAnswers], films: list[FilmRow]) -> tuple[list[Result], list[str]]:
    """Each model on its own films, and beside the models of each set of films the baselines on that set."""
    index = {g: j for j, g in enumerate(GENRES)}
    y = np.zeros((len(films), len(GENRES)), dtype=np.float32)
    for row, film in enumerate(films):
        y[row, [index[g] for g in film.genres]] = 1.0
    groups: dict[tuple[int, ...], list[ModelAnswers]] = {}
    for a in answers.values():
        groups.setdefault(tuple(a.rows), []).append(a)
    results, keys = [], []
    for rows, group in groups.items():
        truth = y[np.asarray(rows, dtype=int)]
        for a in group:
            results.append(Result(a.name, a.mode, "plot", len(rows), _threshold_source(a.mode),
                                  multilabel_metrics(truth[:, [index[g] for g in a.genres]], a.matrix(),
                                                     a.thresholds, a.genres)))
            keys.append(a.key)
        whose = f" (on the films of {', '.join(a.name for a in group)})" if len(groups) > 1 else ""
        for name in BASELINES:  # fitted on these films themselves
            probabilities, thresholds = run_baseline(name, truth, truth, len(truth))
            results.append(Result(f"baseline: {name}{whose}", "baseline", "plot", len(rows),
                                  "0.5" if name == "all-negative" else "tuned on these films",
                                  multilabel_metrics(truth, probabilities, thresholds, GENRES)))
            keys.append("")
    return results, keys


def film_label(film: dict) -> str:
    """How a film from :meth:`FilmsEvaluation.disagreements` is named in lists: its line and title."""
    return f"line {film['line']}: {film['title'] or film['id']}"


def film_choices(disagreements: list[dict]) -> dict[str, dict]:
    """{label: {"poster": path or None, "plot": text}}: what opening each film in Compare fills in."""
    return {film_label(d): {"poster": d["poster"], "plot": d["plot"]} for d in disagreements}


def disagreements_markdown(disagreements: list[dict], names: dict[str, str] | None = None) -> str:
    """The films the models disagree on most, each with the genres their decisions split on."""
    from .compare import as_text
    names = names or {}
    if not disagreements:
        return "_No film on which the models' decisions split (or fewer than two models answered)._"
    lines = ["**Where the models disagree most** (genres their decisions split on; open one in Compare below):", ""]
    for d in disagreements:
        splits = "; ".join(f"{s['genre']}: predicted by {', '.join(names.get(k, k) for k in s['predicted_by'])}, "
                           f"not by {', '.join(names.get(k, k) for k in s['not_predicted_by'])}" for s in d["split"])
        lines.append(f"- **{as_text(film_label(d))}** (true: {', '.join(d['genres'])}): {as_text(splits)}")
    return "\n".join(lines)
