"""GenreLens: how CNN, CLIP and plot models read a film's genres, behind one predictor interface.

    >>> from genre_models import ModelPool
    >>> pool = ModelPool()
    >>> pool.get("minilm").predict(plot="A family moves into a haunted house.").top(3)

Layout (every import points down):
    cli/          the commands: predict, train, evaluate, download, reproduce, dataset (parse, call, print)
    comparison/   several models on one film (the app's cards, chart, agreement); Your films; the Results tab
    training/     feature cache, head fitting, fine-tuning, metrics, baselines, train_model, evaluate_models
    explain/      Grad-CAM heatmaps for poster models, word attribution for plot models
    models/       families (timm image, CLIP, HF text, TF-IDF, fusion, ensemble), registry, checkpoints
                  (heads), prompts, zero-shot, hub access, predictors
    data/         films CSVs and splits, poster/plot decoding, the IMDb/OMDb dataset builder
    genres.py, errors.py, charts.py, files.py: the ground floor
(docs/architecture.md has the whole map.)
"""
from .errors import (CheckpointError, ConfigError, DataError, GenreLensError, InvalidImageError,
                     InvalidInputError, PlanError, UnknownGenreError, UnknownModelError,
                     WeightsUnavailableError)
from .genres import GENRES, canonical_genre, parse_custom_genres, resolve_genres
from .models import (MODES, GenrePredictor, ModelPool, ModelSpec, Prediction, Status, create_predictor,
                     get_model_spec, list_models, load_model_config, register_model)
from .models.families import ModelFamily, register_family

__all__ = [
    "CheckpointError", "ConfigError", "DataError", "GENRES", "GenreLensError", "GenrePredictor",
    "InvalidImageError", "InvalidInputError", "MODES", "ModelFamily", "ModelPool", "ModelSpec", "PlanError",
    "Prediction", "Status", "UnknownGenreError", "UnknownModelError", "WeightsUnavailableError",
    "canonical_genre", "create_predictor", "get_model_spec", "list_models", "load_model_config",
    "parse_custom_genres", "register_family", "register_model", "resolve_genres",
]
