"""Train the TF-IDF + logistic regression plot model (``models/tfidf.py``) into its folder.

The baseline's recipe, fitted on the training split, thresholds tuned on validation, the test split
scored by the saved model as the app loads it (as ``train.py`` does for heads).
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Callable

from ..data.films import FilmDataset, split_dataset
from ..errors import DataError
from ..models.checkpoint import staged_checkpoint
from ..models.predictors import ModelPool, create_predictor
from ..models.registry import ModelSpec, with_checkpoint
from ..models.tfidf import TfidfLogReg
from .feature_cache import FeatureCache
from .metrics import multilabel_metrics, tune_thresholds
from .result import TrainResult, data_record
from .scoring import record_test_metrics


def train_tfidf(spec: ModelSpec, dataset: FilmDataset, target: Path, options, pool: ModelPool,
                command: str, log: Callable[[str], None]):
    """Fit, save to ``target`` (staged, swapped in when complete) and score the test split."""
    started = time.time()
    splits = split_dataset(dataset, seed=options.split_seed, val=options.val_frac, test=options.test_frac)
    parts = {name: part.subset(part.frame["plot"].notna().to_numpy()) for name, part in splits.items()}
    sizes = {name: len(part) for name, part in parts.items()}
    log(f"split (seed {options.split_seed}): " + ", ".join(f"{n} {k}" for n, k in sizes.items()))
    if min(sizes.values()) == 0:
        raise DataError("a split has no film with a plot: the data has too few usable rows for this model")
    genres = list(dataset.genres)
    texts = {name: part.frame["plot"].tolist() for name, part in parts.items()}
    model = TfidfLogReg.fit(texts["train"], parts["train"].labels(), genres)
    val_probabilities = model.probabilities(texts["val"])
    thresholds = tune_thresholds(parts["val"].labels(), val_probabilities)
    val_metrics = multilabel_metrics(parts["val"].labels(), val_probabilities, thresholds, genres)
    log(f"TF-IDF + LR: {model.vocabulary_size} terms, val micro-F1 {val_metrics['micro_f1']:.4f}")
    with staged_checkpoint(target) as staging:
        model.save(staging, dict(zip(genres, thresholds.tolist())), model_key=spec.key,
                   data=data_record(dataset, options, sizes),
                   training={"seconds": round(time.time() - started, 1), "command": command})
        saved = create_predictor(with_checkpoint(spec, staging), pool)
        answers, test_metrics = record_test_metrics(saved, parts["test"], FeatureCache(options.cache_dir), genres,
                                                    staging, val_metrics, num_workers=options.num_workers,
                                                    progress=options.progress)
    log(f"test ({len(answers.rows)} films): micro-F1 {test_metrics['micro_f1']:.4f}, "
        f"macro AP {test_metrics['macro_ap']:.4f}")
    return TrainResult(target, sizes, None, test_metrics, [], round(time.time() - started, 1))
