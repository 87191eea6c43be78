"""Calibrating zero-shot scoring on the validation split: ``p = sigmoid(scale * margin + bias)``.

``margin`` is ``cos(film, genre prompt) - cos(film, neutral prompt)``. One scale and one bias serve
every genre (a custom genre the user types has no labels to fit its own). The scale comes from a
logistic regression of the labels on the margins, so the probabilities the charts show are
calibrated; the bias is then moved to where deciding at 0.5 gives the best validation micro-F1, since
the genres zero-shot names are what users read. Average precision cannot change: the mapping is
monotone and the same for every genre.
"""
from __future__ import annotations

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression

from .metrics import multilabel_metrics, summary


def fit_zero_shot(scorer, features: np.ndarray, y: np.ndarray, genres) -> dict | None:
    """The scale and bias for ``scorer`` fitted on (validation) ``features`` and labels ``y``.

    Returns ``{"scale", "bias", "before", "after"}``, the last two being summary metrics at 0.5
    with the scorer's current and the fitted values; None when a genre's prompt does not pull the
    films that have it closer (a scale at or below zero: random weights, say), where no calibration
    beats keeping the default.
    """
    with torch.inference_mode():
        margins = scorer.margins(torch.from_numpy(np.ascontiguousarray(features, dtype=np.float32)),
                                 list(genres)).numpy()
    fit = LogisticRegression(C=100.0).fit(margins.reshape(-1, 1), y.reshape(-1))
    scale = float(fit.coef_[0, 0])
    if scale <= 0:
        return None
    candidates = np.quantile(margins, np.linspace(0.5, 0.995, 200))
    positives = y.astype(bool)

    def micro_f1(cut: float) -> float:
        predicted = margins >= cut
        tp = (predicted & positives).sum()
        return 2 * tp / max(predicted.sum() + positives.sum(), 1)

    best_cut = max(candidates, key=micro_f1)
    bias = -scale * float(best_cut)

    def at(s: float, b: float) -> dict:
        probabilities = 1 / (1 + np.exp(-(s * margins + b)))
        return summary(multilabel_metrics(y, probabilities, 0.5, genres))

    return {"scale": round(scale, 4), "bias": round(bias, 4), "before": at(scorer.scale, scorer.bias),
            "after": at(scale, bias)}
