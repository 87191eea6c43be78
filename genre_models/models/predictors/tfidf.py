"""TF-IDF + logistic regression answering: its checkpoint folder is both the backbone and the head."""
from __future__ import annotations

import torch

from ...errors import WeightsUnavailableError
from ..checkpoint import HeadCheckpoint, has_config
from ..tfidf import TfidfEncoder, TfidfLogReg
from .backbone import BackbonePredictor


class TfidfPredictor(BackbonePredictor):
    """The saved model is both backbone and head: its logits, through a sigmoid, are the answer."""

    @classmethod
    def create(cls, spec, pool, device) -> "TfidfPredictor":
        return cls(spec, torch.device("cpu"))  # sparse algebra: the CPU whatever the device

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
