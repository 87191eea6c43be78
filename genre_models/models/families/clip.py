"""open_clip backbones with OpenAI weights (ViT-B/16, ViT-L/14, RN50x16).

OpenAI CLIP was trained with QuickGELU: the registry uses the ``*-quickgelu`` model names, since a
plain name silently builds GELU and gives wrong features with these weights. The settings refuse
that combination.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Sequence

import torch
import torch.nn.functional as F

from ...errors import ConfigError, WeightsUnavailableError
from ..prompts import poster_prompts
from ..registry import Fetch, register_family
from .base import POSTER, ImageEncoder, ModelFamily, PretrainedWeights, missing_weights, vit_tokens_to_grid

HUB_FILES = ("open_clip_model.safetensors", "open_clip_pytorch_model.bin")


@dataclass(frozen=True)
class ClipSettings(PretrainedWeights):
    """Args:
        arch: open_clip model name (``ViT-B-16-quickgelu``).
        pretrained: open_clip tag (``openai``) or a local weights file; None = random weights.
        model_kwargs: extra ``open_clip.create_model_and_transforms`` arguments.
        zero_shot_scale, zero_shot_bias: p = sigmoid(scale * (cos genre - cos neutral) + bias);
            scale None = the head checkpoint's calibration ("zero_shot" in its config.json) if it has
            one, else the model's own learned logit scale.
    """

    arch: str
    pretrained: str | None = None
    model_kwargs: dict[str, Any] = field(default_factory=dict)
    zero_shot_scale: float | None = None
    zero_shot_bias: float = 0.0

    def __post_init__(self):
        if not self.arch:
            raise ConfigError("a clip model needs 'arch' (an open_clip model name)")
        if self.pretrained == "openai" and "quickgelu" not in self.arch.lower() \
                and not self.model_kwargs.get("force_quick_gelu"):
            raise ConfigError(f"OpenAI CLIP weights need QuickGELU: use '{self.arch}-quickgelu' "
                              "(or model_kwargs force_quick_gelu=true); the plain name gives wrong features")



class ClipEncoder(ImageEncoder):
    """Image and prompt embeddings from one open_clip model, L2-normalised."""

    def __init__(self, model: torch.nn.Module, preprocess, tokenizer, device: torch.device,
                 random_weights: bool):
        self.model = model.eval().to(device)
        self.preprocess = preprocess
        self.tokenizer = tokenizer
        self.device = device
        self.random_weights = random_weights
        self.embedding_dim = int(model.visual.output_dim)
        self.default_zero_shot_scale = float(model.logit_scale.exp().item())

    def pixel_features(self, pixels: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.model.encode_image(pixels).float(), dim=-1)

    @torch.inference_mode()
    def encode_prompts(self, texts: Sequence[str]) -> torch.Tensor:
        tokens = self.tokenizer(list(texts)).to(self.device)
        return F.normalize(encode_text_trimmed(self.model, tokens).float(), dim=-1).cpu()

    @property
    def _vit(self) -> bool:
        return hasattr(self.model.visual, "transformer")  # open_clip's VisionTransformer; ModifiedResNet has none

    def explanation_reshape(self):
        return vit_tokens_to_grid if self._vit else None

    def explanation_target_layers(self) -> list[torch.nn.Module]:
        visual = self.model.visual
        if self._vit:
            return [visual.transformer.resblocks[-1].ln_1]
        return [visual.layer4] if hasattr(visual, "layer4") else []


def encode_text_trimmed(model: torch.nn.Module, tokens: torch.Tensor) -> torch.Tensor:
    """open_clip's ``encode_text`` on tokens cut to the longest prompt instead of 77.

    The text tower is causal (each position sees only earlier ones) and pools at the EOT token, so
    the padding after the longest prompt never influences the result: the same embeddings, several
    times faster for short genre prompts. Falls back to the library call for towers that are not
    causal or not the standard CLIP layout.
    """
    attn_mask = getattr(model, "attn_mask", None)
    if attn_mask is None or not hasattr(model, "token_embedding") or \
            getattr(model, "text_pool_type", "argmax") != "argmax":
        return model.encode_text(tokens)
    length = int((tokens != 0).sum(dim=1).max().item())
    tokens = tokens[:, :length]
    cast_dtype = model.transformer.get_cast_dtype()
    x = model.token_embedding(tokens).to(cast_dtype)
    x = x + model.positional_embedding[:length].to(cast_dtype)
    x = model.transformer(x, attn_mask=attn_mask[:length, :length])
    x = model.ln_final(x)
    x = x[torch.arange(x.shape[0], device=x.device), tokens.argmax(dim=-1)]
    projection = model.text_projection
    return projection(x) if isinstance(projection, torch.nn.Linear) else x @ projection


class ClipFamily(ModelFamily):
    name = "clip"
    settings_type = ClipSettings
    inputs = (POSTER,)
    zero_shot = True
    prompts = staticmethod(poster_prompts)
    path_fields = ("pretrained",)
    identity_excludes = ("zero_shot_scale", "zero_shot_bias")

    def download_plan(self, spec) -> list[Fetch]:
        import open_clip
        settings: ClipSettings = spec.settings
        local = settings.local_fetch(spec.key, spec.name)
        if local is not None:
            return local
        cfg = open_clip.get_pretrained_cfg(settings.arch, settings.pretrained)
        if not cfg or not cfg.get("hf_hub"):
            tags = open_clip.list_pretrained_tags_by_model(settings.arch)
            raise WeightsUnavailableError(f"{spec.name}: open_clip has no hub weights '{settings.pretrained}' "
                                          f"for {settings.arch}; known tags: {', '.join(tags) or 'none'}")
        return [Fetch(spec.key, cfg["hf_hub"].rstrip("/"), HUB_FILES)]

    def load(self, spec, device: torch.device) -> ClipEncoder:
        import open_clip
        settings: ClipSettings = spec.settings
        if settings.arch not in open_clip.list_models():
            raise WeightsUnavailableError(f"{spec.name}: open_clip has no model config '{settings.arch}'")
        settings.check_local(spec.key, spec.name)
        self.check_weights(spec)
        pretrained = os.path.expanduser(settings.pretrained) if settings.pretrained else None
        try:
            model, _, preprocess = open_clip.create_model_and_transforms(
                settings.arch, pretrained=pretrained, device=device, **settings.model_kwargs)
        except (OSError, RuntimeError) as exc:  # open_clip wraps download failures in RuntimeError
            raise missing_weights(spec.key, spec.name, settings.pretrained or settings.arch, str(exc)) from exc
        return ClipEncoder(model, preprocess, open_clip.get_tokenizer(settings.arch), device,
                           random_weights=not settings.pretrained)


register_family(ClipFamily())
