"""Models: families and their encoders, the registry of model keys, checkpoints (genre heads), zero-shot,
and the predictors that answer for every model through one interface."""
from __future__ import annotations

from . import families  # noqa: F401 - registers the built-in families before any spec is made
from . import lineup  # noqa: F401 - registers the default models
from .prediction import Prediction, Status
from .predictors import MODES, GenrePredictor, ModelPool, create_predictor
from .registry import (ModelSpec, get_model_spec, list_models, load_model_config, register_model,
                       resolve_lineup, unregister_model)

__all__ = ["MODES", "GenrePredictor", "ModelPool", "ModelSpec", "Prediction", "Status", "create_predictor",
           "get_model_spec", "list_models", "load_model_config", "register_model", "resolve_lineup",
           "unregister_model"]
