"""Fit an ensemble's blend (``models/predictors/ensemble.py``) on the validation split.

Every member answers the validation films through its own trained predictor (the app's path); each
weighting on a grid (steps of 0.05, summing to 1) blends their logits, per-genre thresholds are
tuned on that blend, and the weighting with the best validation micro-F1 is kept. The test split is
scored once, by the saved blend as the app loads it.
"""
from __future__ import annotations

import itertools
import json
import time
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from ..data.films import FilmDataset, split_dataset
from ..errors import ConfigError, DataError
from ..models.checkpoint import CONFIG_NAME, staged_folder
from ..models.predictors.ensemble import FORMAT, blend, member_digest
from ..models.predictors import TRAINED, ModelPool, create_predictor
from ..models.registry import ModelSpec, with_checkpoint
from .evaluate import record_test_scores, score_split
from .feature_cache import FeatureCache
from .fit import selection_score
from .result import TrainResult, data_record

WEIGHT_STEPS = 20  # weights are multiples of 1/20


def weight_grid(members: int, steps: int = WEIGHT_STEPS) -> list[tuple[float, ...]]:
    """Every weighting of ``members`` models in multiples of 1/steps that sums to 1, the first member's
    weight falling (so among equally good weightings the one leaning on the first member wins)."""
    grid = [c for c in itertools.product(range(steps, -1, -1), repeat=members) if sum(c) == steps]
    return [tuple(k / steps for k in combo) for combo in grid]


def member_scores(members, split, cache: FeatureCache, genres, feature_options) -> tuple[np.ndarray, list]:
    """(rows every member scored, each member's [rows, G] probabilities on them)."""
    scored = [score_split(member, split, cache, TRAINED, genres, **feature_options) for member in members]
    rows = np.ones(len(split), dtype=bool)
    for s in scored:
        rows &= np.isin(np.arange(len(split)), s.rows)
    kept = np.flatnonzero(rows)
    return kept, [s.probabilities[np.searchsorted(s.rows, kept)] for s in scored]


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
    feature_options = dict(batch_size=options.feature_batch_size, num_workers=options.num_workers,
                           processes=options.processes, progress=options.progress)
    rows, val_probabilities = member_scores(members, splits["val"], cache, genres, feature_options)
    if len(rows) == 0:
        raise DataError("the validation split has no film every member can score")
    y_val = splits["val"].labels()[rows]
    grid_rows, best = [], None
    for weights in weight_grid(len(members)):
        blended = blend([torch.from_numpy(p) for p in val_probabilities], list(weights)).numpy()
        score, thresholds, metrics = selection_score(y_val, blended, genres)
        grid_rows.append({"weights": list(weights), "val_micro_f1": score, "val_macro_ap": metrics["macro_ap"]})
        if best is None or score > best[0]:
            best = (score, weights, thresholds, metrics)
    score, weights, thresholds, val_metrics = best
    alone = {m.key: next(r["val_micro_f1"] for r in grid_rows if r["weights"][i] == 1.0)
             for i, m in enumerate(members)}
    log("val micro-F1 alone: " + ", ".join(f"{k} {v:.4f}" for k, v in alone.items())
        + f"; blended ({', '.join(f'{m.key} {w:g}' for m, w in zip(members, weights))}): {score:.4f}")
    sizes = {"train": len(splits["train"]), "val": len(rows), "test": len(splits["test"])}
    with staged_folder(target) as staging:
        config = {"format": FORMAT, "model_key": spec.key, "members": [m.key for m in members],
                  "weights": list(weights), "space": "logit",
                  "member_digests": {m.key: member_digest(m) for m in members},
                  "genres": genres, "thresholds": dict(zip(genres, thresholds.tolist())),
                  "data": data_record(dataset, options, sizes),
                  "training": {"selected_by": "validation micro-F1 at tuned thresholds", "grid": grid_rows,
                               "seconds": round(time.time() - started, 1), "command": command}}
        (staging / CONFIG_NAME).write_text(json.dumps(config, indent=2) + "\n")
        saved = create_predictor(with_checkpoint(spec, staging), pool)
        saved.load()
        if saved.checkpoint is None:
            raise ConfigError(f"the blend just written does not load: {saved.head_error}")
        scores, test_metrics = record_test_scores(saved, splits["test"], cache, genres, staging, val_metrics,
                                                  **feature_options)
    log(f"test ({len(scores.rows)} films): micro-F1 {test_metrics['micro_f1']:.4f}, "
        f"macro AP {test_metrics['macro_ap']:.4f}")
    return TrainResult(target, sizes, None, test_metrics, grid_rows, round(time.time() - started, 1))
