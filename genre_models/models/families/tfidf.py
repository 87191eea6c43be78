"""TF-IDF + logistic regression on the plot as a model family (the model and its encoder view:
``models/tfidf.py``; its predictor: ``predictors/tfidf.py``).

It is the baseline every evaluation reports, trained by ``python -m genre_models.train --models tfidf``
and shipped in its checkpoint folder; there is nothing to download. Its "features" are the per-genre
logits (18 numbers a film, cheap to cache), so it goes through the same plan -> features -> score path
as every other model and can be a member of an ensemble.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..registry import Fetch, register_family
from .base import PLOT, ModelFamily


@dataclass(frozen=True)
class TfidfSettings:
    """No settings: the vocabulary, idf and weights all live in the model's checkpoint folder."""


class TfidfFamily(ModelFamily):
    name = "tfidf-text"
    settings_type = TfidfSettings
    inputs = (PLOT,)

    def download_plan(self, spec) -> list[Fetch]:
        return [Fetch(spec.key, None, note=f"trained here and kept in {spec.checkpoint}, nothing to fetch")]


register_family(TfidfFamily())
