"""Evaluate models (every mode they answer in) and baselines on the test split of a films CSV.

Models are scored through their predictors' own inference path (``scoring.py``), so each row measures
exactly what the app shows in that mode: the same probabilities and the same thresholds (a trained
head's tuned ones, zero-shot's 0.5, late fusion's weighted mean of its parts'). The rows make a
``report.Report``. All metrics are sklearn's.
"""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from ..data.films import FilmDataset, split_dataset
from ..errors import DataError, GenreLensError
from ..models.predictors import TRAINED, ZERO_SHOT, GenrePredictor, ModelPool
from .baselines import BASELINES, run_baseline
from .feature_cache import FeatureCache
from .metrics import multilabel_metrics
from .report import Report, Result
from .scoring import metrics_by_source, score_split

EVALUATION_MODES = ("auto", TRAINED, ZERO_SHOT)


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
                answers = score_split(predictor, test, cache, mode, **options)
            except GenreLensError as exc:
                report.notes.append(f"[{key}] {mode}: not evaluated: {exc}")
                continue
            if answers.mode in seen:
                continue
            seen.add(answers.mode)
            y = test_labels[answers.rows]
            index = [list(test.genres).index(g) for g in answers.genres]
            metrics = multilabel_metrics(y[:, index], answers.probabilities, answers.thresholds, answers.genres)
            by_source = metrics_by_source(test.frame["source"].to_numpy()[answers.rows], y[:, index],
                                          answers.probabilities, answers.thresholds, answers.genres)
            report.results.append(Result(predictor.name, answers.mode, _subset(predictor), len(answers.rows),
                                         _threshold_source(answers.mode), metrics, by_source))
            if answers.mode == TRAINED:
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
