"""A single backbone (timm image, CLIP, HF text, or any registered family) with an optional trained head."""
from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path

import torch

from ...errors import GenreLensError
from ...genres import GENRES
from ..finetuned_backbone import load_finetuned_encoder
from ..families.base import PLOT, POSTER, Encoder
from ..registry import ModelSpec, with_checkpoint
from ..zero_shot import ZeroShotScorer
from .base import TRAINED, FeatureRequest, Features, GenrePredictor, Plan

log = logging.getLogger(__name__)


class BackbonePredictor(GenrePredictor):
    """A single backbone (timm image, CLIP, HF text, or any registered family) with an optional head."""

    def __init__(self, spec: ModelSpec, device: torch.device | None = None):
        super().__init__(spec, device)
        self.encoder: Encoder | None = None
        self.trained_encoder: Encoder | None = None  # what the head reads: fine-tuned, or the same one
        self.finetuned_sha256: str | None = None
        self.scorer: ZeroShotScorer | None = None

    @property
    def modality(self) -> str:
        return POSTER if self.spec.needs_poster else PLOT

    @property
    def random_weights(self) -> bool:
        return bool(self.encoder is not None and self.encoder.random_weights)

    @property
    def embedding_dim(self) -> int:
        self.load()
        return self.encoder.embedding_dim

    def _load(self) -> None:
        family = self.spec.family_impl
        self.encoder = family.load(self.spec, self.device)
        if self.spec.zero_shot:
            settings, reader = self.spec.settings, self.encoder.zero_shot_encoder()
            scale = getattr(settings, "zero_shot_scale", None) or reader.default_zero_shot_scale
            bias = getattr(settings, "zero_shot_bias", None)
            self.scorer = ZeroShotScorer(reader.encode_prompts, family.prompts, scale,
                                         reader.default_zero_shot_bias if bias is None else bias,
                                         contrast=reader.zero_shot_contrast)
        self._attach_head()

    def warm_up(self) -> None:
        """Load, and embed the 18 genres' prompts, so the first zero-shot request waits on neither.

        The app does this in the background; a one-off CLI call answering with a trained head skips it.
        """
        self.load()
        if self.scorer is not None:
            try:
                self.scorer.genre_embeddings(GENRES)
                self.prepare()
            except Exception:  # a zero-shot request will report it on the card; the thread must go on
                log.exception("%s: preparing zero-shot failed", self.key)

    def prepare(self) -> None:
        self.load()
        if self.scorer is not None:
            self.encoder.zero_shot_encoder().prepare()  # ConSE: its class names, embedded once

    def _attach_head(self) -> None:
        self._load_head(self.encoder.embedding_dim, self.backbone_identity())
        self.trained_encoder, self.finetuned_sha256 = self.encoder, None
        calibration = self.checkpoint.config.get("zero_shot") if self.checkpoint is not None else None
        # a scale the spec sets explicitly wins over the checkpoint's calibration
        if self.scorer is not None and calibration and getattr(self.spec.settings, "zero_shot_scale", 0) is None:
            self.scorer = self.scorer.calibrated(calibration["scale"], calibration["bias"])
        if self.checkpoint is not None and self.checkpoint.config.get("finetuned_backbone"):
            try:
                self.trained_encoder, self.finetuned_sha256 = load_finetuned_encoder(
                    self.encoder, self.head_dir, self.checkpoint.config)
            except GenreLensError as exc:  # missing/corrupt file or keys of another architecture
                self.head_error, self.checkpoint = str(exc), None
                log.warning("%s: %s", self.key, exc)

    def with_head(self, checkpoint: str | Path | None) -> "BackbonePredictor":
        """The same loaded backbone with the head in another folder (training scores its new head so)."""
        self.load()
        other = BackbonePredictor(with_checkpoint(self.spec, checkpoint), self.device)
        other.encoder, other.scorer = self.encoder, self.scorer
        with other._lock:
            other._attach_head()
            other._loaded = True
        return other

    def encoder_for(self, trained: bool) -> Encoder:
        self.load()
        return self.trained_encoder if trained else self.encoder.zero_shot_encoder()

    @property
    def zero_shot_method(self) -> str:
        return self.encoder.zero_shot_encoder().method if self.encoder is not None else ""

    def backbone_identity(self) -> dict:
        return self.spec.family_impl.backbone_identity(self.spec)

    def feature_identity(self, trained: bool) -> str:
        """A short hash of what produces this model's features: keys the on-disk feature cache."""
        identity = {**self.backbone_identity(),
                    "finetuned": self.finetuned_sha256 if trained else None,
                    **({} if trained else self.encoder_for(False).identity())}
        return hashlib.sha1(json.dumps(identity, sort_keys=True, default=str).encode()).hexdigest()[:16]

    def head_feature_requests(self) -> list[FeatureRequest]:
        return [FeatureRequest(self, self.modality, True)]

    def feature_requests(self, plan: Plan) -> list[FeatureRequest]:
        return self.head_feature_requests() if plan.mode == TRAINED else [FeatureRequest(self, self.modality, False)]

    def score(self, plan: Plan, features: Features) -> torch.Tensor:
        (request,) = self.feature_requests(plan)
        x = features[request.key]
        if plan.mode == TRAINED:
            return self._head_probabilities(x, plan.genres)
        return self.scorer.probabilities(x, plan.genres)

    def genre_logits(self, mode: str, features: torch.Tensor, genres: list[str]) -> torch.Tensor:
        """[N, D] features (``encoder_for(mode == TRAINED)``'s, with gradients) -> [N, len(genres)] scores
        before the sigmoid, as ``score`` computes them: the trained head's logits or the zero-shot logits.
        What Grad-CAM differentiates."""
        if mode == TRAINED:
            index = [self.trained_genres.index(g) for g in genres]
            return self.checkpoint.head(features)[:, index]
        return self.scorer.logits(features, genres)

    def words_read(self, words: list[str]) -> int:
        encoder = self.encoder_for(False)
        return encoder.words_read(words) if self.modality == PLOT else len(words)


