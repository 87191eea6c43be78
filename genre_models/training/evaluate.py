"""Evaluate models (every mode they answer in) and baselines on the test split of a films CSV.

Models are scored through their predictors' own inference path (plan -> features -> score), with the
features read from the on-disk cache, so each row measures exactly what the app shows in that mode:
the same probabilities and the same thresholds (a trained head's tuned ones, zero-shot's 0.5, late
fusion's weighted mean of its parts'). All metrics are sklearn's.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch

from ..data.films import FilmDataset, split_dataset
from ..errors import DataError, GenreLensError
from ..models.checkpoint import update_config
from ..models.predictors import TRAINED, ZERO_SHOT, GenrePredictor, ModelPool
from .baselines import BASELINES, run_baseline
from .feature_cache import FeatureCache
from .metrics import multilabel_metrics, summary

INPUTS = {"plot": "films with a plot", "poster": "films with a poster", "both": "films with both"}
TABLE_COLUMNS = [("label_accuracy", "label acc."), ("hamming_loss", "Hamming"),
                 ("subset_accuracy", "subset acc."), ("micro_f1", "micro-F1"), ("macro_f1", "macro-F1"),
                 ("samples_f1", "samples-F1"), ("macro_ap", "macro AP")]
EVALUATION_MODES = ("auto", TRAINED, ZERO_SHOT)


@dataclass
class SplitScores:
    """One model's answers, in one mode, for the films of a split that have its inputs.

    ``probabilities`` and ``decisions`` are what ``predict()`` returns for those films.
    """

    mode: str
    genres: list[str]
    rows: np.ndarray  # indices into the split
    probabilities: np.ndarray  # [len(rows), len(genres)]
    thresholds: np.ndarray  # [len(genres)]

    @property
    def decisions(self) -> np.ndarray:
        return self.probabilities >= self.thresholds


def score_split(predictor: GenrePredictor, split: FilmDataset, cache: FeatureCache, mode: str = "auto",
                genres: Sequence[str] | None = None, **feature_options) -> SplitScores:
    """Score every film of ``split`` that has the model's inputs, through the predictor's plan.

    Raises WeightsUnavailableError, PlanError or InvalidInputError (unknown mode) as ``plan`` does.
    """
    predictor.load()
    plan = predictor.plan(list(genres or split.genres), mode)
    features, rows = cache.for_requests(predictor.feature_requests(plan), split, **feature_options)
    with torch.inference_mode():
        probabilities = predictor.score(plan, {k: torch.from_numpy(x[rows]) for k, x in features.items()})
    return SplitScores(plan.mode, plan.genres, np.flatnonzero(rows), probabilities.numpy(),
                       plan.threshold_vector())


def record_test_scores(predictor: GenrePredictor, test: FilmDataset, cache: FeatureCache, genres: Sequence[str],
                       folder: Path, val_metrics: dict, **feature_options) -> tuple[SplitScores, dict]:
    """Score the test split with a checkpoint just written to ``folder``, as loaded (the app's path), and
    record those metrics and ``val_metrics`` in its config.json. Returns the scores and the test metrics."""
    scores = score_split(predictor, test, cache, TRAINED, genres, **feature_options)
    metrics = multilabel_metrics(test.labels()[scores.rows], scores.probabilities, scores.thresholds, genres)
    update_config(folder, metrics={"test": summary(metrics), "validation": summary(val_metrics),
                                   "test_per_genre": metrics["per_genre"]})
    return scores, metrics


@dataclass
class Result:
    name: str
    mode: str
    subset: str  # key of INPUTS
    films: int
    thresholds: str  # where the thresholds come from
    metrics: dict
    by_source: dict = field(default_factory=dict)  # source file -> films and summary metrics (pools only)

    @property
    def label(self) -> str:
        """Name and mode in one bracket: "MiniLM (plot, trained)", never "MiniLM (plot) (trained)"."""
        if self.name.endswith(")"):
            return f"{self.name[:-1]}, {self.mode})"
        return f"{self.name} ({self.mode})"

    def same_answers(self, other: "Result") -> bool:
        """Every test metric equal: the two rows scored the same decisions (one recipe run twice)."""
        return self.subset == other.subset and all(self.metrics[k] == other.metrics[k] for k, _ in TABLE_COLUMNS)

    def row(self) -> dict:
        return {"name": self.name, "mode": self.mode, "subset": self.subset, "films": self.films,
                "thresholds": self.thresholds, **self.metrics, "by_source": self.by_source}

    @classmethod
    def from_row(cls, row: dict) -> "Result":
        """The inverse of ``row`` (``evaluation.json`` holds rows)."""
        fields = {"name", "mode", "subset", "films", "thresholds", "by_source"}
        return cls(row["name"], row["mode"], row["subset"], row["films"], row["thresholds"],
                   {k: v for k, v in row.items() if k not in fields}, row.get("by_source", {}))


SOURCE_COLUMNS = [("films", "films"), ("micro_f1", "micro-F1"), ("macro_f1", "macro-F1"),
                  ("macro_ap", "macro AP"), ("label_accuracy", "label acc.")]


def metrics_by_source(sources: np.ndarray, y_true: np.ndarray, y_prob: np.ndarray, thresholds,
                      genres) -> dict:
    """The summary metrics on each source file's films; empty when every film is from one file."""
    names = list(dict.fromkeys(sources.tolist()))
    if len(names) < 2:
        return {}
    return {name: {"films": int((sources == name).sum()),
                   **summary(multilabel_metrics(y_true[sources == name], y_prob[sources == name], thresholds,
                                                genres))}
            for name in names}


@dataclass
class Report:
    """Everything ``evaluate`` measured, with what it ran on."""

    results: list[Result]
    data: dict
    split_seed: int
    split_sizes: dict[str, int]
    command: str = ""
    notes: list[str] = field(default_factory=list)

    def markdown(self) -> str:
        lines = ["# Evaluation", "", f"Command: `{self.command}`", "",
                 f"Data: `{self.data['file']}` ({self.data['rows']} films, sha256 {self.data['sha256']}); "
                 "split by id: " + ", ".join(f"{k} {v}" for k, v in self.split_sizes.items()) + ".", "",
                 "Every model row is scored through the app's own predictor, at the thresholds the app uses "
                 "in that mode. Label accuracy is the thesis's accuracy (1 − Hamming loss); it is dominated "
                 "by negatives, so read it beside F1, average precision and the baselines on the same films.", ""]
        for subset in dict.fromkeys(r.subset for r in self.results):
            group = [r for r in self.results if r.subset == subset]
            lines += [f"## Test split, {INPUTS[subset]} ({group[0].films})", "",
                      "| model | mode | " + " | ".join(h for _, h in TABLE_COLUMNS) + " | thresholds |",
                      "|---|---|" + "---:|" * len(TABLE_COLUMNS) + "---|"]
            for r in self._distinct(group):
                lines.append(f"| {r.name} | {r.mode} | "
                             + " | ".join(f"{r.metrics[k]:.4f}" for k, _ in TABLE_COLUMNS) + f" | {r.thresholds} |")
            lines.append("")
            lines += [f"- {r.name} gives exactly the answers of {twin.name} (the same recipe): one row for both."
                      for r, twin in self._twins(group)]
            if any(r.name == "baseline: label-prior" for r in group):
                lines.append("- baseline: label-prior gives every film the same score per genre (its training "
                             "frequency), so a threshold tuned for F1 can only predict a genre for every film or "
                             "for none; every film then gets nearly every genre, which F1 rewards a little and "
                             "label accuracy, mostly negatives, punishes: hence its label accuracy near the "
                             "share of positive labels.")
            lines.append("")
        lines += self._source_lines()
        models = [r for r in self.results if r.mode != "baseline"]
        if models:
            genres = list(models[0].metrics["per_genre"])
            lines += ["## Per-genre F1 / AP (test)", "",
                      "| genre | support | " + " | ".join(r.label for r in models) + " |",
                      "|---|---:|" + "---:|" * len(models)]
            for g in genres:
                cells = []
                for r in models:
                    pg = r.metrics["per_genre"][g]
                    cells.append(f"{pg['f1']:.3f} / {pg['ap']:.3f}" if pg["ap"] is not None else f"{pg['f1']:.3f} / –")
                lines.append(f"| {g} | {models[0].metrics['per_genre'][g]['support']} | " + " | ".join(cells) + " |")
            lines += ["", "![per-genre F1](per_genre_f1.png)", ""]
        return "\n".join(lines)

    def _source_lines(self) -> list[str]:
        """Each source's films scored apart (models and baselines trained on the whole pool)."""
        pooled = [r for r in self.results if r.by_source]
        if not pooled:
            return []
        lines = ["## Test split by source file", "",
                 "The same answers as above, scored on each file's films apart; a film's split depends on "
                 "its id alone, so a file's rows here are its own test split whatever else is in the pool.", "",
                 "| model | mode | source | " + " | ".join(h for _, h in SOURCE_COLUMNS) + " |",
                 "|---|---|---|" + "---:|" * len(SOURCE_COLUMNS)]
        for r in self._distinct(pooled):
            for source, m in r.by_source.items():
                lines.append(f"| {r.name} | {r.mode} | {source} | {m['films']} | "
                             + " | ".join(f"{m[k]:.4f}" for k, _ in SOURCE_COLUMNS[1:]) + " |")
        return lines + [""]

    def _twins(self, group: list[Result]) -> list[tuple[Result, Result]]:
        """(row, the earlier row with exactly its answers) for each row that repeats another."""
        return [(r, next(o for o in group[:i] if o.same_answers(r))) for i, r in enumerate(group)
                if any(o.same_answers(r) for o in group[:i])]

    def _distinct(self, group: list[Result]) -> list[Result]:
        """The rows of ``group`` without those repeating an earlier one's answers."""
        repeats = {id(r) for r, _ in self._twins(group)}
        return [r for r in group if id(r) not in repeats]

    @classmethod
    def from_json(cls, path: str | Path) -> "Report":
        """A report read back from its ``evaluation.json`` (to render it again, numbers unchanged)."""
        saved = json.loads(Path(path).read_text())
        return cls([Result.from_row(r) for r in saved["results"]], saved["data"], saved["split_seed"],
                   saved["split_sizes"], saved.get("command", ""))

    def write(self, out: str | Path) -> Path:
        """``evaluation.md``, ``evaluation.json`` and ``per_genre_f1.png`` into ``out``."""
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        (out / "evaluation.md").write_text(self.markdown())
        (out / "evaluation.json").write_text(json.dumps(
            {"command": self.command, "data": self.data, "split_seed": self.split_seed,
             "split_sizes": self.split_sizes, "results": [r.row() for r in self.results]}, indent=2))
        self.per_genre_chart(out / "per_genre_f1.png")
        return out

    def per_genre_f1_series(self) -> dict[str, dict[str, float]]:
        """Each distinct model row's (and the TF-IDF baseline's) test F1 per genre, keyed by its label."""
        shown = self._distinct([r for r in self.results if r.mode != "baseline" or "tfidf" in r.name])
        return {r.label: {g: v["f1"] for g, v in r.metrics["per_genre"].items()} for r in shown}

    def per_genre_chart(self, path: Path) -> None:
        from ..charts import grouped_bars
        series = self.per_genre_f1_series()
        if not series:
            return
        genres = list(next(iter(series.values())))
        grouped_bars(genres, {k: list(v.values()) for k, v in series.items()}, "F1 (test)",
                     title="Per-genre F1 on the test split").savefig(path, dpi=110)


def _subset(predictor: GenrePredictor) -> str:
    spec = predictor.spec
    return "both" if spec.needs_poster and spec.needs_plot else "plot" if spec.needs_plot else "poster"


def _threshold_source(mode: str) -> str:
    if mode == TRAINED:
        return "checkpoint (tuned on val)"
    if mode == ZERO_SHOT:
        return "zero-shot default"
    return "weighted mean of the parts'"


def _subset_mask(split: FilmDataset, subset: str) -> np.ndarray:
    plot, poster = split.frame["plot"].notna().to_numpy(), split.frame["poster"].notna().to_numpy()
    return {"plot": plot, "poster": poster, "both": plot & poster}[subset]


def baseline_result(name: str, splits: dict[str, FilmDataset], subset: str) -> Result:
    masks = {part: _subset_mask(splits[part], subset) for part in ("train", "val", "test")}
    texts = {part: splits[part].frame["plot"].fillna("").to_numpy()[masks[part]].tolist() for part in masks}
    y = {part: splits[part].labels()[masks[part]] for part in masks}
    probs, thresholds = run_baseline(name, y["train"], y["val"], len(y["test"]), texts=texts)
    source = "0.5" if name == "all-negative" else "tuned on val"
    genres = splits["test"].genres
    sources = splits["test"].frame["source"].to_numpy()[masks["test"]]
    return Result(f"baseline: {name}", "baseline", subset, len(y["test"]), source,
                  multilabel_metrics(y["test"], probs, thresholds, genres),
                  metrics_by_source(sources, y["test"], probs, thresholds, genres))


def evaluate_models(dataset: FilmDataset, keys: Sequence[str], modes: Sequence[str] = EVALUATION_MODES,
                    baselines: Sequence[str] = BASELINES, split_seed: int = 0, val_frac: float = 0.1,
                    test_frac: float = 0.1, cache: FeatureCache | None = None, pool: ModelPool | None = None,
                    num_workers: int = 2, progress: bool = True, command: str = "",
                    log: Callable[[str], None] = print) -> Report:
    """Score each model in each of ``modes`` it can answer in (rows that resolve to the same plan are
    kept once), then the baselines on the same subsets of the test split."""
    pool = pool or ModelPool()
    cache = cache or FeatureCache()
    splits = split_dataset(dataset, seed=split_seed, val=val_frac, test=test_frac)
    test = splits["test"]
    if len(test) == 0:
        raise DataError(f"the test split is empty: {len(dataset)} usable film(s) in {dataset.source}, "
                        f"{test_frac:.0%} of them go to test; evaluation needs more films")
    test_labels = test.labels()
    data = dataset.describe()
    report = Report([], data, split_seed, {k: len(v) for k, v in splits.items()}, command)
    options = dict(num_workers=num_workers, progress=progress)
    for key in keys:
        predictor = pool.get(key)
        seen = set()
        for mode in modes:
            try:
                scores = score_split(predictor, test, cache, mode, **options)
            except GenreLensError as exc:
                report.notes.append(f"[{key}] {mode}: not evaluated: {exc}")
                continue
            if scores.mode in seen:
                continue
            seen.add(scores.mode)
            y = test_labels[scores.rows]
            index = [list(test.genres).index(g) for g in scores.genres]
            metrics = multilabel_metrics(y[:, index], scores.probabilities, scores.thresholds, scores.genres)
            by_source = metrics_by_source(test.frame["source"].to_numpy()[scores.rows], y[:, index],
                                          scores.probabilities, scores.thresholds, scores.genres)
            report.results.append(Result(predictor.name, scores.mode, _subset(predictor), len(scores.rows),
                                         _threshold_source(scores.mode), metrics, by_source))
            if scores.mode == TRAINED:
                report.notes.append(_checkpoint_agreement(predictor, metrics, data, split_seed))
    for subset in dict.fromkeys(r.subset for r in report.results):
        for name in baselines:
            report.results.append(baseline_result(name, splits, subset))
    for note in filter(None, report.notes):
        log(note)
    return report


def _checkpoint_agreement(predictor: GenrePredictor, metrics: dict, data: dict, split_seed: int) -> str:
    """Whether this run reproduces the test micro-F1 the checkpoint recorded when it was trained."""
    config = predictor.checkpoint.config
    recorded = config.get("metrics", {}).get("test", {}).get("micro_f1")
    if recorded is None:
        return ""
    trained_on = config.get("data", {})
    same = trained_on.get("sha256") == data["sha256"] and trained_on.get("split_seed") == split_seed
    note = "same data and split" if same else "different data or split: not comparable"
    return (f"[{predictor.key}] test micro-F1 {metrics['micro_f1']:.4f}; checkpoint records "
            f"{recorded:.4f} ({note})")
