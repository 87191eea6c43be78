"""Score a split: a model's answers on the films that have its inputs, through its predictor's own
inference path (plan -> features -> probabilities), features read from the on-disk cache; and the
metrics of those answers (sklearn's), recorded in a just-written checkpoint or per source file.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from ..data.films import FilmDataset
from ..models.checkpoint import update_config
from ..models.predictors import TRAINED, GenrePredictor
from .feature_cache import FeatureCache
from .metrics import multilabel_metrics, summary


@dataclass
class SplitAnswers:
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
                genres: Sequence[str] | None = None, **feature_options) -> SplitAnswers:
    """Score every film of ``split`` that has the model's inputs, through the predictor's plan.

    Raises WeightsUnavailableError, PlanError or InvalidInputError (unknown mode) as ``plan`` does.
    """
    predictor.load()
    plan = predictor.plan(list(genres or split.genres), mode)
    features, rows = cache.for_requests(predictor.feature_requests(plan), split, **feature_options)
    with torch.inference_mode():
        probabilities = predictor.score(plan, {k: torch.from_numpy(x[rows]) for k, x in features.items()})
    return SplitAnswers(plan.mode, plan.genres, np.flatnonzero(rows), probabilities.numpy(),
                       plan.threshold_vector())


def record_test_metrics(predictor: GenrePredictor, test: FilmDataset, cache: FeatureCache, genres: Sequence[str],
                        folder: Path, val_metrics: dict, **feature_options) -> tuple[SplitAnswers, dict]:
    """Score the test split with a checkpoint just written to ``folder``, as loaded (the app's path), and
    record those metrics and ``val_metrics`` in its config.json. Returns the answers and the test metrics."""
    answers = score_split(predictor, test, cache, TRAINED, genres, **feature_options)
    metrics = multilabel_metrics(test.labels()[answers.rows], answers.probabilities, answers.thresholds, genres)
    update_config(folder, metrics={"test": summary(metrics), "validation": summary(val_metrics),
                                   "test_per_genre": metrics["per_genre"]})
    return answers, metrics


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
