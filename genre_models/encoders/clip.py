"""open_clip backbones with OpenAI weights (ViT-B/16, ViT-L/14, RN50x16).

OpenAI CLIP was trained with QuickGELU: the registry uses the ``*-quickgelu`` model names, since a
plain name silently builds GELU and gives wrong features with these weights.
"""
from __future__ import annotations

import os
from typing import Sequence

import open_clip
import torch
import torch.nn.functional as F
from PIL import Image

from .. import hub
from ..registry import ModelSpec
from .base import TextBatch, WeightsUnavailableError, default_device, missing_weights_message


class ClipEncoder:
    """Image and prompt embeddings from one open_clip model, L2-normalised."""

    def __init__(self, model: torch.nn.Module, preprocess, tokenizer, device: torch.device,
                 random_weights: bool):
        self.model = model.eval().to(device)
        self.preprocess = preprocess
        self.tokenizer = tokenizer
        self.device = device
        self.random_weights = random_weights
        self.embedding_dim = int(model.visual.output_dim)

    @property
    def logit_scale(self) -> float:
        return float(self.model.logit_scale.exp().item())

    def encode_images(self, images: Sequence[Image.Image]) -> torch.Tensor:
        return self.encode_pixels(torch.stack([self.preprocess(im) for im in images]))

    @torch.inference_mode()
    def encode_pixels(self, pixels: torch.Tensor) -> torch.Tensor:
        """Preprocessed [N, 3, H, W] batch (e.g. from DataLoader workers) -> [N, D] features."""
        return F.normalize(self.model.encode_image(pixels.to(self.device)).float(), dim=-1).cpu()

    @torch.inference_mode()
    def encode_texts(self, texts: Sequence[str]) -> TextBatch:
        tokens = self.tokenizer(list(texts)).to(self.device)
        return TextBatch(F.normalize(encode_text_trimmed(self.model, tokens).float(), dim=-1).cpu(),
                         [False] * len(texts))

    def gradcam_target_layers(self) -> list[torch.nn.Module]:
        visual = self.model.visual
        if hasattr(visual, "transformer"):
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


def check_weights(spec: ModelSpec) -> None:
    """Fail fast when the tagged weights are neither cached nor downloadable."""
    if not spec.pretrained or os.path.isfile(os.path.expanduser(spec.pretrained)):
        return
    cfg = open_clip.get_pretrained_cfg(spec.arch, spec.pretrained)
    if not cfg:
        tags = open_clip.list_pretrained_tags_by_model(spec.arch)
        raise WeightsUnavailableError(f"{spec.name}: open_clip has no weights '{spec.pretrained}' for "
                                      f"{spec.arch}; known tags: {', '.join(tags) or 'none'}")
    repo = (cfg.get("hf_hub") or "").rstrip("/")
    if repo and not hub.hub_reachable():
        files = ("open_clip_model.safetensors", "open_clip_pytorch_model.bin")
        if hub.cached_file(repo, files) is None:
            raise WeightsUnavailableError(missing_weights_message(spec.key, spec.name, f"hf-hub:{repo}"))


def load_clip(spec: ModelSpec, device: torch.device | None = None) -> ClipEncoder:
    """Build an open_clip model and its preprocessing with the spec's weights."""
    if spec.arch not in open_clip.list_models():
        raise WeightsUnavailableError(f"{spec.name}: open_clip has no model config '{spec.arch}'")
    check_weights(spec)
    device = device or default_device()
    pretrained = os.path.expanduser(spec.pretrained) if spec.pretrained else None
    try:
        model, _, preprocess = open_clip.create_model_and_transforms(
            spec.arch, pretrained=pretrained, device=device, **spec.model_kwargs)
    except (OSError, RuntimeError) as exc:  # open_clip wraps download failures in RuntimeError
        source = spec.pretrained or spec.arch
        raise WeightsUnavailableError(missing_weights_message(spec.key, spec.name, source, str(exc))) from exc
    return ClipEncoder(model, preprocess, open_clip.get_tokenizer(spec.arch), device,
                       random_weights=not spec.pretrained)
