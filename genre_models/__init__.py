"""GenreLens: how CNN, CLIP and plot models read a film's genres, behind one predictor interface.

    >>> from genre_models import ModelPool
    >>> pool = ModelPool()
    >>> pool.get("minilm").predict(plot="A family moves into a haunted house.").top(3)
"""
from .genres import GENRES, UnknownGenreError, canonical_genre, parse_custom_genres, resolve_genres
from .prediction import Prediction, Status
from .predictors import GenrePredictor, ModelPool, create_predictor
from .registry import (ModelSpec, UnknownModelError, get_model_spec, list_models, load_model_config,
                       register_model)

__all__ = [
    "GENRES", "GenrePredictor", "ModelPool", "ModelSpec", "Prediction", "Status", "UnknownGenreError",
    "UnknownModelError", "canonical_genre", "create_predictor", "get_model_spec", "list_models",
    "load_model_config", "parse_custom_genres", "register_model", "resolve_genres",
]
