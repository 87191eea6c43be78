"""Baselines that give the models' numbers meaning, scored on the same split.

- all-negative: predicts no genre. With ~2.5 of 18 genres per film it still gets high label accuracy.
- label prior: every film gets the training-set genre frequencies (thresholds tuned on validation).
- TF-IDF + logistic regression on the plot (one-vs-rest, thresholds tuned on validation).
"""
from __future__ import annotations

import numpy as np
from ..models.tfidf import DEFAULT_C, TfidfLogReg
from .metrics import tune_thresholds

BASELINES = ("all-negative", "label-prior", "tfidf-logreg")


def all_negative(y_train, y_val, n_test: int, **_) -> tuple[np.ndarray, np.ndarray]:
    width = y_train.shape[1]
    return np.zeros((n_test, width), dtype=np.float32), np.full(width, 0.5)


def label_prior(y_train, y_val, n_test: int, **_) -> tuple[np.ndarray, np.ndarray]:
    prior = y_train.mean(axis=0).astype(np.float32)
    thresholds = tune_thresholds(y_val, np.tile(prior, (len(y_val), 1)))
    return np.tile(prior, (n_test, 1)), thresholds


def tfidf_logreg(y_train, y_val, n_test: int, texts: dict[str, list[str]], C: float = DEFAULT_C,
                 **_) -> tuple[np.ndarray, np.ndarray]:
    # the recipe of the `tfidf` model key (models/tfidf.py): the app's TF-IDF card is this baseline
    model = TfidfLogReg.fit(texts["train"], y_train, [str(j) for j in range(y_train.shape[1])], C=C)
    thresholds = tune_thresholds(y_val, model.probabilities(texts["val"]))
    return model.probabilities(texts["test"]), thresholds


def run_baseline(name: str, y_train, y_val, n_test: int, texts=None) -> tuple[np.ndarray, np.ndarray]:
    """(test probabilities, thresholds) of one baseline."""
    functions = {"all-negative": all_negative, "label-prior": label_prior, "tfidf-logreg": tfidf_logreg}
    if name not in functions:
        raise ValueError(f"unknown baseline {name!r}; valid: {', '.join(BASELINES)}")
    return functions[name](y_train, y_val, n_test, texts=texts)
