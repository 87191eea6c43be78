"""Fusion: a poster model and a plot model answering together. This module builds: the settings (its
two parts, the late-fusion weight) and the download plan (both parts'). How it answers, with a learned
head or by late fusion, is its predictor's: ``predictors/fusion.py``.
"""
from __future__ import annotations

from dataclasses import dataclass

from ...errors import ConfigError
from ..registry import PLOT, POSTER
from ..registry import Fetch, register_family
from .base import ModelFamily, parts_download_plan


@dataclass(frozen=True)
class FusionSettings:
    """Args:
        image_model: key of the poster model.
        text_model: key of the plot model.
        image_weight: the poster model's weight in late fusion, in [0, 1].
    """

    image_model: str
    text_model: str
    image_weight: float = 0.5

    def __post_init__(self):
        if not self.image_model or not self.text_model:
            raise ConfigError("a fusion model needs 'image_model' and 'text_model' (model keys)")
        if not isinstance(self.image_weight, (int, float)) or not 0.0 <= self.image_weight <= 1.0:
            raise ConfigError(f"image_weight must be a number in [0, 1], got {self.image_weight!r}")


class FusionFamily(ModelFamily):
    name = "fusion"
    settings_type = FusionSettings
    inputs = (POSTER, PLOT)

    def download_plan(self, spec) -> list[Fetch]:
        return parts_download_plan([spec.settings.image_model, spec.settings.text_model])


register_family(FusionFamily())
