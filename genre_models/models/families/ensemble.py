"""Ensemble: several trained plot models answering as one. This module builds: the settings (two or more
different members) and the download plan (every member's). How it answers, a weighted blend of the
members' logits, is its predictor's: ``predictors/ensemble.py``; how the weights are fitted,
``training/ensemble.py``.
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
