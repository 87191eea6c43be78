"""TF-IDF + logistic regression on the plot (``models/sparse_text.py``) as a model the app can show.

It is the baseline every evaluation reports, trained by ``python -m genre_models.train --model tfidf``
and shipped in its checkpoint folder; there is nothing to download. Its "features" are the per-genre
logits (18 numbers a film, cheap to cache), so it goes through the same plan -> features -> score path
as every other model and can be a member of an ensemble.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch

from ...errors import WeightsUnavailableError
from ..checkpoint import HeadCheckpoint, has_config
from ..predictors import BackbonePredictor
from ..sparse_text import TfidfLogReg
from .base import PLOT, Encoded, Fetch, ModelFamily, TextEncoder, register_family


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


class TfidfPredictor(BackbonePredictor):
    """The saved model is both backbone and head: its logits, through a sigmoid, are the answer."""

    def _load(self) -> None:
        directory = self.head_folder()
        if not has_config(directory):
            raise WeightsUnavailableError(self.no_head_message(), fix=self.train_command(),
                                          summary="not trained (nothing to download; it trains in under a minute)")
        model = TfidfLogReg.load(directory)  # a CheckpointError becomes "could not be loaded" in load()
        self.encoder = self.trained_encoder = TfidfEncoder(model)
        self.checkpoint = HeadCheckpoint(head=None, config=model.config)

    def backbone_identity(self) -> dict:
        identity = super().backbone_identity()
        if self.checkpoint is not None:  # the cache of its logits must follow a retrained model
            identity["weights_sha256"] = self.checkpoint.config.get("weights_sha256")
        return identity

    def score(self, plan, features) -> torch.Tensor:
        (request,) = self.feature_requests(plan)
        index = [self.trained_genres.index(g) for g in plan.genres]
        return torch.sigmoid(features[request.key][:, index])


class TfidfFamily(ModelFamily):
    name = "tfidf-text"
    settings_type = TfidfSettings
    inputs = (PLOT,)

    def download_plan(self, spec) -> list[Fetch]:
        return [Fetch(spec.key, None, note=f"trained here and kept in {spec.checkpoint}, nothing to fetch")]

    def create_predictor(self, spec, pool, device) -> TfidfPredictor:
        return TfidfPredictor(spec, torch.device("cpu"))  # sparse algebra: the CPU whatever the device


register_family(TfidfFamily())
