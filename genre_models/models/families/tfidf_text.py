"""TF-IDF + logistic regression on the plot (``models/sparse_text.py``) as a model family (its predictor:
``predictors/tfidf.py``).

It is the baseline every evaluation reports, trained by ``python -m genre_models.train --model tfidf``
and shipped in its checkpoint folder; there is nothing to download. Its "features" are the per-genre
logits (18 numbers a film, cheap to cache), so it goes through the same plan -> features -> score path
as every other model and can be a member of an ensemble.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch

from ..encoders import PLOT, Encoded, TextEncoder
from ..registry import Fetch, register_family
from ..sparse_text import TfidfLogReg
from .base import ModelFamily


@dataclass(frozen=True)
class TfidfSettings:
    """No settings: the vocabulary, idf and weights all live in the model's checkpoint folder."""


class TfidfEncoder(TextEncoder):
    """Plots -> the fitted model's [N, G] genre logits."""

    def __init__(self, model: TfidfLogReg):
        self.sparse_model = model
        self.model = torch.nn.Identity()  # nothing to hook: the explanation is word occlusion
        self.embedding_dim = len(model.genres)

    def encode(self, inputs: Sequence[str]) -> Encoded:
        logits, terms = self.sparse_model.read(inputs)
        return Encoded(torch.from_numpy(logits), [False] * len(inputs), [int(n) == 0 for n in terms])

    unread_reason = "none of its words is in the vocabulary it learned from its training plots"


class TfidfFamily(ModelFamily):
    name = "tfidf-text"
    settings_type = TfidfSettings
    inputs = (PLOT,)

    def download_plan(self, spec) -> list[Fetch]:
        return [Fetch(spec.key, None, note=f"trained here and kept in {spec.checkpoint}, nothing to fetch")]


register_family(TfidfFamily())
