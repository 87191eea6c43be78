"""Fusion answering: a learned head over both parts' embeddings, or late fusion of their answers.

- a learned head over both embeddings (``checkpoints/<key>/``), trained on the parts' frozen base
  features, concatenated poster-first;
- late fusion without a head: ``p = w * p_poster + (1 - w) * p_plot`` per genre, each part answering
  in its own best mode, and the same weighted mean of the parts' thresholds decides.
"""
from __future__ import annotations

import torch

from ...errors import ConfigError, GenreLensError, PlanError
from ..registry import PLOT, POSTER
from ..registry import with_checkpoint
from .backbone import BackbonePredictor
from .base import TRAINED, ZERO_SHOT, FeatureRequest, Features, GenrePredictor, Plan, load_parts


class FusionPredictor(GenrePredictor):
    """Answers with a learned head over both embeddings when it has one, else by late fusion."""

    @classmethod
    def create(cls, spec, pool, device) -> "FusionPredictor":
        return cls(spec, pool.get(spec.settings.image_model), pool.get(spec.settings.text_model), device)

    def __init__(self, spec, image: GenrePredictor, text: GenrePredictor, device=None):
        super().__init__(spec, device)
        for part, modality in ((image, POSTER), (text, PLOT)):
            if not isinstance(part, BackbonePredictor) or part.modality != modality:
                raise ConfigError(f"fusion model {spec.key!r}: {part.key!r} is not a {modality} model")
        self.image, self.text = image, text

    @property
    def parts(self) -> dict[str, BackbonePredictor]:
        return {POSTER: self.image, PLOT: self.text}

    @property
    def random_weights(self) -> bool:
        return self.image.random_weights or self.text.random_weights

    def _load(self) -> None:
        load_parts(self.name, [(f"its {role} part {part.name}", part) for role, part in self.parts.items()],
                   "both of its parts")
        self._load_head(self.image.embedding_dim + self.text.embedding_dim, self.backbone_identity())

    def backbone_identity(self) -> dict:
        return {"image_backbone": self.image.backbone_identity(), "text_backbone": self.text.backbone_identity()}

    def with_head(self, checkpoint) -> "FusionPredictor":
        """The same parts with the learned head in another folder."""
        other = FusionPredictor(with_checkpoint(self.spec, checkpoint), self.image, self.text, self.device)
        other.load()
        return other

    def plan(self, genres=None, mode: str = "auto", threshold: float | None = None) -> Plan:
        if mode == ZERO_SHOT or (mode == "auto" and self.checkpoint is None):
            return self._late_fusion_plan(genres, mode, threshold)
        return super().plan(genres, mode, threshold)

    def _late_fusion_plan(self, genres, mode: str, threshold: float | None) -> Plan:
        wanted = list(genres) if genres else None
        parts = {}
        for role, part in self.parts.items():
            try:
                parts[role] = part.plan(wanted, mode, threshold)
            except GenreLensError as exc:
                raise PlanError(f"{self.name}: its {role} part {part.name} cannot answer ({exc})") from exc
        image, text = parts[POSTER], parts[PLOT]
        if image.genres != text.genres:
            raise PlanError(f"{self.name}: its parts score different genres ({', '.join(image.genres)} vs "
                            f"{', '.join(text.genres)}); ask for the genres both know")
        w = self.spec.settings.image_weight
        thresholds = {g: w * image.thresholds[g] + (1 - w) * text.thresholds[g] for g in image.genres}
        label = f"late fusion ({image.mode} poster, {text.mode} plot, poster weight {w:g})"
        return Plan(label, list(image.genres), thresholds, parts=parts)

    def head_feature_requests(self) -> list[FeatureRequest]:
        # the head was trained on the parts' frozen base features, poster first
        return [FeatureRequest(self.image, POSTER, False), FeatureRequest(self.text, PLOT, False)]

    def feature_requests(self, plan: Plan) -> list[FeatureRequest]:
        if plan.mode == TRAINED:
            return self.head_feature_requests()
        return (self.image.feature_requests(plan.parts[POSTER]) + self.text.feature_requests(plan.parts[PLOT]))

    def score(self, plan: Plan, features: Features) -> torch.Tensor:
        if plan.mode == TRAINED:
            x = torch.cat([features[r.key] for r in self.head_feature_requests()], dim=1)
            return self._head_probabilities(x, plan.genres)
        w = self.spec.settings.image_weight
        return (w * self.image.score(plan.parts[POSTER], features)
                + (1 - w) * self.text.score(plan.parts[PLOT], features))
