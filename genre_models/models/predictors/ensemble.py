"""An ensemble answering: each member's trained answer, their logits averaged with fitted weights.

Its checkpoint is a ``config.json`` alone (members, weights, genres, thresholds, metrics): it has no
tensors of its own. The config records each member's weights digest, so a retrained member makes the
old blend refuse to load instead of answering with weights fitted for another model.
"""
from __future__ import annotations

from pathlib import Path

import torch

from ...errors import CheckpointError, ConfigError, GenreLensError, PlanError
from ...genres import resolve_genres
from ..checkpoint import CONFIG_NAME, HeadCheckpoint, has_config, read_config
from ..prediction import Prediction
from .base import TRAINED, FeatureRequest, GenrePredictor, Plan, load_parts

FORMAT = "genrelens-ensemble/1"
LOGIT_EPS = 1e-7  # probabilities are clipped to [eps, 1 - eps] before the logit


def member_digest(part: GenrePredictor) -> str | None:
    """What identifies a member's trained weights (its checkpoint's recorded digests)."""
    config = part.checkpoint.config if part.checkpoint is not None else {}
    return config.get("finetuned_backbone_sha256", "") + config.get("weights_sha256", "") or None


def blend(probabilities: list[torch.Tensor], weights: list[float]) -> torch.Tensor:
    """sigmoid(sum_i w_i * logit(p_i)): the members' weighted mean in logit space."""
    logits = sum(w * torch.logit(p.double(), eps=LOGIT_EPS) for w, p in zip(weights, probabilities))
    return torch.sigmoid(logits).float()


class EnsemblePredictor(GenrePredictor):
    """Answers in trained mode only: each member's trained answer, blended."""

    @classmethod
    def create(cls, spec, pool, device) -> "EnsemblePredictor":
        return cls(spec, [pool.get(key) for key in spec.settings.members], device)

    def __init__(self, spec, parts: list[GenrePredictor], device=None):
        super().__init__(spec, device)
        inputs = {part.spec.family_impl.inputs for part in parts}
        if len(inputs) != 1 or inputs != {spec.family_impl.inputs}:
            raise ConfigError(f"ensemble {spec.key!r}: every member must read {', '.join(spec.family_impl.inputs)} "
                              f"alone; got {', '.join(p.key for p in parts)}")
        self.parts = parts

    def words_read(self, words: list[str]) -> int:
        """An ensemble reads as far as the member that reads furthest (TF-IDF has no limit)."""
        return max(part.words_read(words) for part in self.parts)

    @property
    def weights(self) -> list[float]:
        """The members' weights in the blend (its checkpoint's, checked when read)."""
        return [float(w) for w in self.checkpoint.config["weights"]]

    @property
    def random_weights(self) -> bool:
        return any(part.random_weights for part in self.parts)

    def _load(self) -> None:
        load_parts(self.name, [(part.name, part) for part in self.parts], "all of its members")
        directory = self.head_folder()
        if not has_config(directory):
            return  # plan() says how to fit one
        try:
            self.checkpoint = self._read_blend(Path(directory))
        except CheckpointError as exc:
            self.head_error = str(exc)

    def _read_blend(self, directory: Path) -> HeadCheckpoint:
        path = directory / CONFIG_NAME
        config = read_config(directory)  # finite, typed numbers, or CheckpointError
        if config.get("format") != FORMAT:
            raise CheckpointError(f"{path} is not an ensemble's blend ({FORMAT})")
        members = [part.key for part in self.parts]
        if config.get("members") != members:
            raise CheckpointError(f"the blend in {directory.name} was fitted for {config.get('members')}, "
                                  f"not {members}")
        weights = config.get("weights")
        if (not isinstance(weights, list) or len(weights) != len(members)
                or not all(isinstance(w, (int, float)) and w >= 0 for w in weights) or not sum(weights) > 0):
            raise CheckpointError(f"{path}: 'weights' must be {len(members)} non-negative numbers, got {weights!r}")
        try:
            for genre in resolve_genres(config["genres"]):
                float(config["thresholds"][genre])
        except (GenreLensError, KeyError, TypeError, ValueError) as exc:
            raise CheckpointError(f"{path}: genres or thresholds unusable ({exc})") from None
        for part in self.parts:
            recorded = config.get("member_digests", {}).get(part.key)
            if recorded != member_digest(part):
                raise CheckpointError(f"the blend was fitted on other weights of {part.name} (retrained since?); "
                                      f"fit it again: `{self.train_command()}`")
        return HeadCheckpoint(head=None, config=config)

    def plan(self, genres=None, mode: str = "auto", threshold: float | None = None) -> Plan:
        try:
            plan = super().plan(genres, mode, threshold)  # trained only: an ensemble has no zero-shot mode
        except PlanError as exc:
            zero_shot = [part.name for part in self.parts if part.spec.zero_shot]
            if not zero_shot or self.checkpoint is None:
                raise
            raise PlanError(f"{exc}. For other genres or zero-shot, ask {' or '.join(zero_shot)} on its own",
                            summary=exc.summary, fix=exc.fix) from exc
        for part in self.parts:
            try:
                plan.parts[part.key] = part.plan(plan.genres, TRAINED, threshold)
            except GenreLensError as exc:
                raise PlanError(f"{self.name}: its member {part.name} cannot answer ({exc})") from exc
        return plan

    def head_feature_requests(self) -> list[FeatureRequest]:
        return [r for part in self.parts for r in part.head_feature_requests()]

    def feature_requests(self, plan: Plan) -> list[FeatureRequest]:
        return [r for part in self.parts for r in part.feature_requests(plan.parts[part.key])]

    def score(self, plan: Plan, features) -> torch.Tensor:
        return blend([part.score(plan.parts[part.key], features) for part in self.parts], self.weights)

    def answer_unread(self, plan: Plan, features, row: int, unread: dict[str, str], latency_ms: float,
                      truncated: bool) -> Prediction:
        """Blend only the members that read the film, and say which were left out and why.

        A member that read nothing would pull every blend towards its prior. With one member left its own
        answer stands, at its own thresholds (the blend's were tuned on the blend); with several, their
        weights are scaled up to the blend's total and the blend's thresholds decide.
        """
        kept = [(part, w) for part, w in zip(self.parts, self.weights) if part.key not in unread]
        if not kept or not sum(w for _, w in kept) > 0:
            return super().answer_unread(plan, features, row, unread, latency_ms, truncated)
        scored = [part.score(plan.parts[part.key], features)[row:row + 1] for part, _ in kept]
        if len(kept) == 1:
            probabilities, thresholds = scored[0][0], plan.parts[kept[0][0].key].thresholds
        else:
            scale = sum(self.weights) / sum(w for _, w in kept)
            probabilities, thresholds = blend(scored, [w * scale for _, w in kept])[0], plan.thresholds
        left_out = "; ".join(f"{part.name} read nothing of this plot ({unread[part.key]}), so it was left out"
                             for part in self.parts if part.key in unread)
        note = f"{left_out}: {' and '.join(part.name for part, _ in kept)} answered alone"
        return Prediction.from_probabilities(
            self.key, {g: float(p) for g, p in zip(plan.genres, probabilities.tolist())}, thresholds,
            mode=plan.mode, latency_ms=latency_ms, plot_truncated=truncated,
            message="; ".join(filter(None, [self._note(truncated), note])))
