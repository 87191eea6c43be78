"""Fit an ensemble's blend (``models/predictors/ensemble.py``) on the validation split.

Every member answers the validation films through its own trained predictor (the app's path); each
weighting on a grid (steps of 0.05, summing to 1) blends their logits, per-genre thresholds are
tuned on that blend, and the weighting with the best validation micro-F1 is kept. The test split is
scored once, by the saved blend as the app loads it.
"""
from __future__ import annotations

import itertools
import time
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from ..data.films import FilmDataset, split_dataset
from ..errors import ConfigError, DataError
from ..models.checkpoint import staged_checkpoint, write_config
from ..models.predictors.ensemble import FORMAT, blend, member_digest
from ..models.predictors import TRAINED, ModelPool, create_predictor
from ..models.registry import ModelSpec, with_checkpoint
from .feature_cache import FeatureCache
from .fit import selection_score
from .parallel import cache_options
from .result import TrainResult, data_record
from .scoring import record_test_metrics, score_split

WEIGHT_STEPS = 20  # weights are multiples of 1/20


def weight_grid(members: int, steps: int = WEIGHT_STEPS) -> list[tuple[float, ...]]:
    """Every weighting of ``members`` models in multiples of 1/steps that sums to 1, the first member's
    weight falling (so among equally good weightings the one leaning on the first member wins)."""
    grid = [c for c in itertools.product(range(steps, -1, -1), repeat=members) if sum(c) == steps]
    return [tuple(k / steps for k in combo) for combo in grid]


def member_probabilities(members, split, cache: FeatureCache, genres, feature_options) -> tuple[np.ndarray, list]:
    """(rows every member scored, each member's [rows, G] probabilities on them)."""
    answers = [score_split(member, split, cache, TRAINED, genres, **feature_options) for member in members]
    rows = np.ones(len(split), dtype=bool)
    for a in answers:
        rows &= np.isin(np.arange(len(split)), a.rows)
    kept = np.flatnonzero(rows)
    return kept, [a.probabilities[np.searchsorted(a.rows, kept)] for a in answers]


def fit_weights(y_val: np.ndarray, probabilities: list[np.ndarray], genres) -> tuple[tuple, list[dict]]:
    """The members' weighting that blends best on validation, as the shipped ensemble blends (logits).

    Args:
        y_val: [N, G] multi-hot labels of the validation films.
        probabilities: each member's [N, G] probabilities on those films.

    Returns:
        (validation micro-F1, weights, [G] thresholds tuned on that blend, its metrics) of the best
        weighting on :func:`weight_grid`, and a row (weights, val micro-F1, val macro AP) per weighting.
    """
    rows, best = [], None
    for weights in weight_grid(len(probabilities)):
        blended = blend([torch.from_numpy(p) for p in probabilities], list(weights)).numpy()
        micro_f1, thresholds, metrics = selection_score(y_val, blended, genres)
        rows.append({"weights": list(weights), "val_micro_f1": micro_f1, "val_macro_ap": metrics["macro_ap"]})
        if best is None or micro_f1 > best[0]:
            best = (micro_f1, weights, thresholds, metrics)
    return best, rows


def fit_ensemble(spec: ModelSpec, dataset: FilmDataset, target: Path, options, pool: ModelPool,
                 command: str, log: Callable[[str], None]):
    """Choose the members' weights and thresholds on validation, save to ``target``, score the test split.

    Raises WeightsUnavailableError (a member not loadable), PlanError (a member without a trained head
    for these genres) and DataError (an empty split).
    """
    started = time.time()
    members = [pool.get(key) for key in spec.settings.members]
    for member in members:
        member.load()
        if member.checkpoint is None:
            raise ConfigError(f"{spec.key} blends trained models, and {member.name} has none: "
                              f"{member.no_head_message()}")
    splits = split_dataset(dataset, seed=options.split_seed, val=options.val_frac, test=options.test_frac)
    genres = list(dataset.genres)
    cache = FeatureCache(options.cache_dir)
    feature_options = cache_options(options)
    rows, val_probabilities = member_probabilities(members, splits["val"], cache, genres, feature_options)
    if len(rows) == 0:
        raise DataError("the validation split has no film every member can score")
    (micro_f1, weights, thresholds, val_metrics), grid_rows = fit_weights(splits["val"].labels()[rows],
                                                                          val_probabilities, genres)
    alone = {m.key: next(r["val_micro_f1"] for r in grid_rows if r["weights"][i] == 1.0)
             for i, m in enumerate(members)}
    log("val micro-F1 alone: " + ", ".join(f"{k} {v:.4f}" for k, v in alone.items())
        + f"; blended ({', '.join(f'{m.key} {w:g}' for m, w in zip(members, weights))}): {micro_f1:.4f}")
    sizes = {"train": len(splits["train"]), "val": len(rows), "test": len(splits["test"])}
    with staged_checkpoint(target) as staging:
        config = {"format": FORMAT, "model_key": spec.key, "members": [m.key for m in members],
                  "weights": list(weights), "space": "logit",
                  "member_digests": {m.key: member_digest(m) for m in members},
                  "genres": genres, "thresholds": dict(zip(genres, thresholds.tolist())),
                  "data": data_record(dataset, options, sizes),
                  "training": {"selected_by": "validation micro-F1 at tuned thresholds", "grid": grid_rows,
                               "seconds": round(time.time() - started, 1), "command": command}}
        write_config(staging, config)
        saved = create_predictor(with_checkpoint(spec, staging), pool)
        saved.load()
        if saved.checkpoint is None:
            raise ConfigError(f"the blend just written does not load: {saved.head_error}")
        answers, test_metrics = record_test_metrics(saved, splits["test"], cache, genres, staging, val_metrics,
                                                    **feature_options)
    log(f"test ({len(answers.rows)} films): micro-F1 {test_metrics['micro_f1']:.4f}, "
        f"macro AP {test_metrics['macro_ap']:.4f}")
    return TrainResult(target, sizes, None, test_metrics, grid_rows, round(time.time() - started, 1))
