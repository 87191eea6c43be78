"""The pool: each model's predictor created once, parts shared, and which kind of predictor answers
for which family.

A family's models answer through :class:`BackbonePredictor` (a backbone + an optional trained head)
unless the family is in this table: a family whose models answer differently registers its predictor
kind here (``register_predictor``), so families never import predictors.
"""
from __future__ import annotations

import threading
from typing import Callable, Sequence

import torch

from ...data.inputs import FilmInput, PosterInput, read_film
from ...errors import GenreLensError
from ..prediction import Prediction, Status
from ..registry import ModelSpec, get_model_spec
from .backbone import BackbonePredictor
from .base import GenrePredictor
from .ensemble import EnsemblePredictor
from .fusion import FusionPredictor
from .tfidf import TfidfPredictor

_PREDICTORS: dict[str, type[GenrePredictor]] = {
    "tfidf-text": TfidfPredictor, "fusion": FusionPredictor, "ensemble": EnsemblePredictor,
}


def register_predictor(family: str, kind: type[GenrePredictor]) -> None:
    """Models of ``family`` answer through ``kind`` (its ``create(spec, pool, device)``) instead of a
    backbone + head."""
    _PREDICTORS[family] = kind


class ModelPool:
    """Creates each predictor once and shares backbones (a fusion model reuses its parts)."""

    def __init__(self, device: torch.device | None = None):
        self.device = device
        self._predictors: dict[str, GenrePredictor] = {}
        self._lock = threading.RLock()

    def get(self, key: str) -> GenrePredictor:
        """The predictor for a registered key. Raises UnknownModelError (or ConfigError) for bad keys."""
        with self._lock:
            if key not in self._predictors:
                self._predictors[key] = create_predictor(key, pool=self, device=self.device)
            return self._predictors[key]

    def predict(self, keys: Sequence[str], poster: PosterInput = None, plot: str | None = None,
                on_load: Callable[[str, int, int], None] | None = None, film: FilmInput | None = None,
                **kwargs) -> dict[str, Prediction]:
        """Every model's answer for one film, keyed by model; a key that cannot be built is an error status.

        The poster and plot are read once for all the models (``film``, when the caller has read them).
        ``on_load(key, index, total)`` is called before a model that is not loaded yet loads (progress).
        """
        if film is None:
            film = read_film(poster, plot)
        out = {}
        shared: dict = {}  # one film for every model: a backbone two of them use (fusion) runs once
        for index, key in enumerate(keys):
            try:
                predictor = self.get(key)
            except GenreLensError as exc:
                out[key] = Prediction.failed(key, Status.ERROR, str(exc))
                continue
            if on_load is not None and not predictor.settled:
                on_load(key, index, len(keys))
            out[key] = predictor.predict(film=film, shared=shared, **kwargs)
        return out


def create_predictor(key: str | ModelSpec, pool: ModelPool | None = None,
                     device: torch.device | None = None) -> GenrePredictor:
    """Create (not load) the predictor for a registered key or a spec. Unknown key -> error listing valid keys."""
    spec = key if isinstance(key, ModelSpec) else get_model_spec(key)
    kind = _PREDICTORS.get(spec.family, BackbonePredictor)
    return kind.create(spec, pool or ModelPool(device), device)
