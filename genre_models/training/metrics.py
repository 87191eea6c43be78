"""Multi-label metrics, all from sklearn, and per-genre threshold tuning.

"Label accuracy" is the thesis's accuracy: 1 - Hamming loss. It is dominated by negatives (a film
has ~2.5 of 18 genres), so it is always reported beside F1, average precision and baselines.
"""
from __future__ import annotations

import warnings

import numpy as np
from sklearn.exceptions import UndefinedMetricWarning
from sklearn.metrics import (accuracy_score, average_precision_score, f1_score, hamming_loss,
                             precision_recall_fscore_support)

THRESHOLD_GRID = np.round(np.arange(0.02, 0.96, 0.01), 2)


def decide(probabilities: np.ndarray, thresholds: np.ndarray | float) -> np.ndarray:
    return (probabilities >= np.asarray(thresholds)).astype(int)


def multilabel_metrics(y_true: np.ndarray, y_prob: np.ndarray, thresholds: np.ndarray | float,
                       genres: tuple[str, ...] | list[str]) -> dict:
    """Every metric the reports show, for probabilities decided at ``thresholds``."""
    y_true = np.asarray(y_true).astype(int)
    y_pred = decide(y_prob, thresholds)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        hl = hamming_loss(y_true, y_pred)
        present = y_true.sum(axis=0) > 0  # AP is undefined for a genre with no positives
        ap = np.full(y_true.shape[1], np.nan)
        for j in np.flatnonzero(present):
            ap[j] = average_precision_score(y_true[:, j], y_prob[:, j])
        precision, recall, f1, support = precision_recall_fscore_support(
            y_true, y_pred, average=None, zero_division=0)
        return {
            "label_accuracy": 1.0 - hl,
            "hamming_loss": hl,
            "subset_accuracy": accuracy_score(y_true, y_pred),
            "micro_f1": f1_score(y_true, y_pred, average="micro", zero_division=0),
            "macro_f1": f1_score(y_true, y_pred, average="macro", zero_division=0),
            "samples_f1": f1_score(y_true, y_pred, average="samples", zero_division=0),
            "macro_ap": float(np.nanmean(ap)) if present.any() else float("nan"),
            "per_genre": {
                g: {"precision": float(precision[j]), "recall": float(recall[j]), "f1": float(f1[j]),
                    "ap": None if np.isnan(ap[j]) else float(ap[j]), "support": int(support[j])}
                for j, g in enumerate(genres)
            },
        }


def tune_thresholds(y_true: np.ndarray, y_prob: np.ndarray, grid: np.ndarray = THRESHOLD_GRID) -> np.ndarray:
    """Per-genre threshold that maximises that genre's F1 on the given (validation) data.

    Ties go to the highest threshold (fewer false positives); a genre with no positives keeps 0.5.
    """
    y_true = np.asarray(y_true).astype(bool)
    thresholds = np.full(y_true.shape[1], 0.5)
    for j in range(y_true.shape[1]):
        positives = y_true[:, j]
        if not positives.any():
            continue
        predicted = y_prob[:, j][None, :] >= grid[:, None]  # [T, N]
        tp = (predicted & positives).sum(axis=1)
        fp = (predicted & ~positives).sum(axis=1)
        fn = positives.sum() - tp
        f1 = 2 * tp / np.maximum(2 * tp + fp + fn, 1)
        best = np.flatnonzero(f1 == f1.max())[-1]
        thresholds[j] = grid[best]
    return thresholds


SUMMARY_KEYS = ("label_accuracy", "hamming_loss", "subset_accuracy", "micro_f1", "macro_f1",
                "samples_f1", "macro_ap")


def summary(metrics: dict) -> dict:
    return {k: float(metrics[k]) for k in SUMMARY_KEYS}
