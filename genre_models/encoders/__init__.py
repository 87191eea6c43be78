"""Backbone encoders, one module per library; :func:`load_encoder` picks by the spec's family."""
from __future__ import annotations

import torch

from ..registry import ModelSpec
from .base import TextBatch, WeightsUnavailableError, default_device


def load_encoder(spec: ModelSpec, device: torch.device | None = None):
    """Load the backbone a spec describes (imports only the library that family needs)."""
    if spec.family == "timm-image":
        from .timm_image import load_timm_image
        return load_timm_image(spec, device)
    if spec.family == "clip":
        from .clip import load_clip
        return load_clip(spec, device)
    if spec.family == "hf-text":
        from .hf_text import load_hf_text
        return load_hf_text(spec, device)
    raise ValueError(f"model {spec.key!r} of family {spec.family!r} has no single backbone")


__all__ = ["TextBatch", "WeightsUnavailableError", "default_device", "load_encoder"]
