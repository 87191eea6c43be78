"""Ensemble: several trained plot models answering as one (the family; its predictor: ``predictors/ensemble.py``).

Each member answers with its own trained head; the ensemble averages their logits with weights
fitted on the validation split and decides at per-genre thresholds tuned on the blend there
(``python -m genre_models.train --models <key>``, ``training/ensemble.py``). Its checkpoint is a
``config.json`` alone (members, weights, genres, thresholds, metrics): it has no tensors of its own.
The config records each member's weights digest, so a retrained member makes the old blend refuse
to load instead of answering with weights fitted for another model.
"""
from __future__ import annotations

from dataclasses import dataclass

from ...errors import ConfigError
from ..registry import PLOT
from ..registry import Fetch, register_family
from .base import ModelFamily, parts_download_plan


@dataclass(frozen=True)
class EnsembleSettings:
    """Args:
        members: keys of two or more trained plot models.
    """

    members: tuple[str, ...]

    def __post_init__(self):
        members = self.members
        if (not isinstance(members, (list, tuple)) or len(members) < 2
                or not all(isinstance(m, str) and m for m in members) or len(set(members)) != len(members)):
            raise ConfigError(f"an ensemble needs 'members': two or more different model keys, got {members!r}")
        object.__setattr__(self, "members", tuple(members))


class EnsembleFamily(ModelFamily):
    name = "ensemble"
    settings_type = EnsembleSettings
    inputs = (PLOT,)

    def download_plan(self, spec) -> list[Fetch]:
        return parts_download_plan(spec.settings.members)


register_family(EnsembleFamily())
