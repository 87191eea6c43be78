"""Predictors answer: one interface (``predict(poster, plot) -> Prediction``) for every kind of model.

- ``base``: the interface, planning, batching and the error contract;
- ``backbone``: a backbone + an optional trained head (most families);
- ``tfidf``, ``fusion``, ``ensemble``: the kinds that answer differently;
- ``pool``: which kind answers for which family; each predictor created once, parts shared.
"""
from __future__ import annotations

from .backbone import BackbonePredictor
from .base import MODES, TRAINED, ZERO_SHOT, FeatureRequest, Features, GenrePredictor, Plan, describe
from .pool import ModelPool, create_predictor, register_predictor

__all__ = ["MODES", "TRAINED", "ZERO_SHOT", "BackbonePredictor", "FeatureRequest", "Features", "GenrePredictor",
           "ModelPool", "Plan", "create_predictor", "describe", "register_predictor"]
