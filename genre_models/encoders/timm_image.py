"""timm image backbones (the thesis CNN: BiT-ResNet50, ``resnetv2_50x1_bit.goog_in21k``).

Features are timm's pooled pre-logits (``num_classes=0``); the genre head lives apart.
"""
from __future__ import annotations

import os
from typing import Sequence

import timm
import torch
from PIL import Image
from timm.data import create_transform, resolve_data_config

from .. import hub
from ..registry import ModelSpec
from .base import WeightsUnavailableError, default_device, missing_weights_message


class TimmImageEncoder:
    def __init__(self, model: torch.nn.Module, device: torch.device, random_weights: bool):
        self.model = model.eval().to(device)
        self.device = device
        self.random_weights = random_weights
        self.embedding_dim = int(model.num_features)
        self.preprocess = create_transform(**resolve_data_config({}, model=model))

    def encode_images(self, images: Sequence[Image.Image]) -> torch.Tensor:
        return self.encode_pixels(torch.stack([self.preprocess(im) for im in images]))

    @torch.inference_mode()
    def encode_pixels(self, pixels: torch.Tensor) -> torch.Tensor:
        """Preprocessed [N, 3, H, W] batch (e.g. from DataLoader workers) -> [N, D] features."""
        return self.model(pixels.to(self.device)).float().cpu()

    def gradcam_target_layers(self) -> list[torch.nn.Module]:
        """The last stage, the usual Grad-CAM target for ResNets."""
        return [self.model.stages[-1]] if hasattr(self.model, "stages") else []


def _weights_source(spec: ModelSpec) -> tuple[str, dict]:
    """(name shown to users, extra create_model kwargs) for the spec's weights."""
    if spec.pretrained and os.path.isfile(os.path.expanduser(spec.pretrained)):
        path = os.path.expanduser(spec.pretrained)
        return path, {"pretrained_cfg_overlay": {"file": path}}
    return f"{spec.arch}.{spec.pretrained}", {}


def check_weights(spec: ModelSpec) -> None:
    """Fail fast, before building anything, when the hub weights are not cached and we are offline."""
    if not spec.pretrained or os.path.isfile(os.path.expanduser(spec.pretrained)):
        return
    cfg = timm.models.get_pretrained_cfg(f"{spec.arch}.{spec.pretrained}")
    if cfg is None:
        raise WeightsUnavailableError(f"{spec.name}: timm knows no weights '{spec.arch}.{spec.pretrained}'")
    if cfg.hf_hub_id and not hub.hub_reachable():
        if hub.cached_file(cfg.hf_hub_id, ("model.safetensors", "pytorch_model.bin")) is None:
            raise WeightsUnavailableError(
                missing_weights_message(spec.key, spec.name, f"hf-hub:{cfg.hf_hub_id}"))


def load_timm_image(spec: ModelSpec, device: torch.device | None = None) -> TimmImageEncoder:
    """Build the timm backbone with its pretrained weights (or random ones when ``pretrained`` is None)."""
    check_weights(spec)
    source, extra = _weights_source(spec)
    name = spec.arch if not spec.pretrained or extra else f"{spec.arch}.{spec.pretrained}"
    try:
        model = timm.create_model(name, pretrained=bool(spec.pretrained), num_classes=0,
                                  **extra, **spec.model_kwargs)
    except (OSError, RuntimeError) as exc:  # LocalEntryNotFoundError is an OSError
        raise WeightsUnavailableError(missing_weights_message(spec.key, spec.name, source, str(exc))) from exc
    return TimmImageEncoder(model, device or default_device(), random_weights=not spec.pretrained)
