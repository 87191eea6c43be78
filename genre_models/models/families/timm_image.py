"""timm image backbones (the thesis CNN: BiT-ResNet50, ``resnetv2_50x1_bit.goog_in21k``).

Features are timm's pooled pre-logits (``num_classes=0``); the genre head lives apart. No zero-shot:
a CNN has no text side, so these models answer only with a trained head.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch

from ...errors import ConfigError, WeightsUnavailableError
from .base import POSTER, Fetch, PretrainedWeights, ImageEncoder, ModelFamily, missing_weights, register_family

# The files timm's loader reads, first one found on the hub wins.
HUB_FILES = ("model.safetensors", "pytorch_model.bin")


@dataclass(frozen=True)
class TimmSettings(PretrainedWeights):
    """Args:
        arch: timm model name, e.g. ``resnetv2_50x1_bit``.
        pretrained: timm pretrained tag (``goog_in21k``) or a local weights file; None = random weights.
        model_kwargs: extra ``timm.create_model`` arguments (tiny test variants).
    """

    arch: str
    pretrained: str | None = None
    model_kwargs: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self):
        if not self.arch:
            raise ConfigError("a timm-image model needs 'arch' (a timm model name)")



class TimmImageEncoder(ImageEncoder):
    def __init__(self, model: torch.nn.Module, device: torch.device, random_weights: bool):
        from timm.data import create_transform, resolve_data_config
        self.model = model.eval().to(device)
        self.device = device
        self.random_weights = random_weights
        self.embedding_dim = int(model.num_features)
        self.preprocess = create_transform(**resolve_data_config({}, model=model))

    @torch.inference_mode()
    def encode_pixels(self, pixels: torch.Tensor) -> torch.Tensor:
        return self.model(pixels.to(self.device)).float().cpu()

    def explanation_target_layers(self) -> list[torch.nn.Module]:
        """The last feature map as timm itself names it (``feature_info``), the usual Grad-CAM target.

        BiT is a pre-activation ResNet (``ResNetV2``): its last stage ends before a norm and a ReLU, and
        Grad-CAM assumes non-negative activations, so there the target is that final ``norm`` (same grid,
        after the ReLU).
        """
        from timm.models.resnetv2 import ResNetV2
        if isinstance(self.model, ResNetV2) and not isinstance(self.model.norm, torch.nn.Identity):
            return [self.model.norm]
        info = getattr(self.model, "feature_info", None)
        return [self.model.get_submodule(info[-1]["module"])] if info else []


class TimmImageFamily(ModelFamily):
    name = "timm-image"
    settings_type = TimmSettings
    inputs = (POSTER,)
    path_fields = ("pretrained",)

    def download_plan(self, spec) -> list[Fetch]:
        settings: TimmSettings = spec.settings
        local = settings.local_fetch(spec.key)
        if local is not None:
            return local
        import timm
        cfg = timm.models.get_pretrained_cfg(f"{settings.arch}.{settings.pretrained}")
        if cfg is None or not cfg.hf_hub_id:
            raise WeightsUnavailableError(f"{spec.name}: timm knows no hub weights "
                                          f"'{settings.arch}.{settings.pretrained}'")
        return [Fetch(spec.key, cfg.hf_hub_id, HUB_FILES)]

    def load(self, spec, device: torch.device) -> TimmImageEncoder:
        import timm
        settings: TimmSettings = spec.settings
        self.check_weights(spec)
        extra: dict[str, Any] = {}
        name = settings.arch
        if settings.weights_file:
            extra["pretrained_cfg_overlay"] = {"file": settings.weights_file}
        elif settings.pretrained:
            name = f"{settings.arch}.{settings.pretrained}"
        try:
            model = timm.create_model(name, pretrained=bool(settings.pretrained), num_classes=0,
                                      **extra, **settings.model_kwargs)
        except (OSError, RuntimeError) as exc:  # LocalEntryNotFoundError is an OSError
            raise missing_weights(spec.key, spec.name, name, str(exc)) from exc
        return TimmImageEncoder(model, device, random_weights=not settings.pretrained)


register_family(TimmImageFamily())
