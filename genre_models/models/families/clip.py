"""open_clip backbones: OpenAI CLIP (ViT-B/16, ViT-L/14, RN50x16), SigLIP 2, and any ``hf-hub:`` open_clip repo.

OpenAI CLIP was trained with QuickGELU: the registry uses the ``*-quickgelu`` model names, since a
plain name silently builds GELU and gives wrong features with these weights. The settings refuse
that combination.

A model trained with a sigmoid loss (SigLIP, Zhai et al. 2023; SigLIP 2, Tschannen et al. 2025, open_clip
``ViT-B-16-SigLIP2`` / ``webli``) carries a learned ``logit_bias`` beside its ``logit_scale``: its encoder
says so, and zero-shot then scores each genre with the model's own sigmoid (no neutral prompt, no softmax).
Its text tower reads a Hugging Face tokenizer from a hub repo (``text_cfg.hf_tokenizer_name``), which the
download plan fetches too.
"""
from __future__ import annotations

import functools
import os
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import torch
import torch.nn.functional as F

from ...errors import ConfigError, WeightsUnavailableError
from ..prompts import poster_prompts
from .. import hub
from ..registry import Fetch, register_family
from .base import POSTER, ImageEncoder, ModelFamily, PretrainedWeights, missing_weights, vit_tokens_to_grid

HUB_FILES = ("open_clip_model.safetensors", "open_clip_pytorch_model.bin")
# Beside the weights: the model's open_clip config and the Hugging Face tokenizer files a text tower reads
CONFIG_FILES = ("open_clip_config.json", "tokenizer*", "special_tokens_map.json", "vocab.txt")
HUB_SCHEMA = "hf-hub:"


@dataclass(frozen=True)
class ClipSettings(PretrainedWeights):
    """Args:
        arch: open_clip model name (``ViT-B-16-quickgelu``), or ``hf-hub:OWNER/NAME``: an open_clip repo
            holding its own config and weights (then ``pretrained`` stays None).
        pretrained: open_clip tag (``openai``, ``webli``) or a local weights file; None = random weights.
        model_kwargs: extra ``open_clip.create_model_and_transforms`` arguments.
        zero_shot_scale, zero_shot_bias: p = sigmoid(scale * (cos genre - cos neutral) + bias), or for a
            sigmoid-trained model p = sigmoid(scale * cos genre + bias); None = the head checkpoint's
            calibration ("zero_shot" in its config.json) if it has one, else the model's own learned
            logit scale (and logit bias: 0 for CLIP).
    """

    arch: str
    pretrained: str | None = None
    model_kwargs: dict[str, Any] = field(default_factory=dict)
    zero_shot_scale: float | None = None
    zero_shot_bias: float | None = None

    @property
    def hub_repo(self) -> str | None:
        """The repo of an ``hf-hub:`` arch (its config and weights come from there), else None."""
        return self.arch[len(HUB_SCHEMA):] if self.arch.startswith(HUB_SCHEMA) else None

    @property
    def random_weights(self) -> bool:
        return not self.pretrained and self.hub_repo is None

    def __post_init__(self):
        if not self.arch:
            raise ConfigError("a clip model needs 'arch' (an open_clip model name)")
        if self.hub_repo is not None and self.pretrained:
            raise ConfigError(f"'{self.arch}' brings its own weights: leave 'pretrained' unset")
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
        self.embedding_dim = _embedding_dim(model)
        self.default_zero_shot_scale = float(model.logit_scale.exp().item())
        bias = getattr(model, "logit_bias", None)
        if bias is not None:  # trained with a sigmoid loss (SigLIP): its own sigmoid scores each genre alone
            self.default_zero_shot_bias = float(bias.item())
            self.zero_shot_contrast = False

    @property
    def method(self) -> str:
        return "" if self.zero_shot_contrast else "its own sigmoid per genre"

    def pixel_features(self, pixels: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.model.encode_image(pixels).float(), dim=-1)

    @torch.inference_mode()
    def encode_prompts(self, texts: Sequence[str]) -> torch.Tensor:
        tokens = self.tokenizer(list(texts)).to(self.device)
        return F.normalize(encode_text_trimmed(self.model, tokens).float(), dim=-1).cpu()

    def explanation_target_layers(self) -> list[torch.nn.Module]:
        """A ViT's last block's input norm (open_clip's own ViT, or a timm trunk as SigLIP's); a ResNet's layer4."""
        visual = self.model.visual
        if hasattr(visual, "transformer"):  # open_clip's VisionTransformer; ModifiedResNet has none
            return [visual.transformer.resblocks[-1].ln_1]
        trunk = getattr(visual, "trunk", None)
        if trunk is not None and hasattr(trunk, "blocks"):
            return [trunk.blocks[-1].norm1]
        return [visual.layer4] if hasattr(visual, "layer4") else []

    def explanation_reshape(self) -> Callable[[torch.Tensor], torch.Tensor] | None:
        visual = self.model.visual
        if hasattr(visual, "transformer"):
            return functools.partial(vit_tokens_to_grid, prefix=1)  # the class token
        trunk = getattr(visual, "trunk", None)
        if trunk is not None and hasattr(trunk, "blocks"):  # SigLIP pools by attention: no class token
            return functools.partial(vit_tokens_to_grid, prefix=int(getattr(trunk, "num_prefix_tokens", 0)))
        return None


def _embedding_dim(model: torch.nn.Module) -> int:
    """D: the vision tower's output size; a timm trunk (SigLIP's) does not record it, the text side (same space) does."""
    if getattr(model.visual, "output_dim", None):
        return int(model.visual.output_dim)
    text = getattr(model, "text", None)  # CustomTextCLIP's tower
    if text is not None and getattr(text, "output_dim", None):
        return int(text.output_dim)
    projection = model.text_projection
    return int(projection.out_features if isinstance(projection, torch.nn.Linear) else projection.shape[1])


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
        if settings.hub_repo is not None:  # config, weights and tokenizer all in the one repo
            return [Fetch(spec.key, settings.hub_repo, HUB_FILES),
                    Fetch(spec.key, settings.hub_repo, CONFIG_FILES, patterns=True, probe=("open_clip_config.json",))]
        local = settings.local_fetch(spec.key, spec.name)
        if local is not None:
            return local
        cfg = open_clip.get_pretrained_cfg(settings.arch, settings.pretrained)
        if not cfg or not cfg.get("hf_hub"):
            tags = open_clip.list_pretrained_tags_by_model(settings.arch)
            raise WeightsUnavailableError(f"{spec.name}: open_clip has no hub weights '{settings.pretrained}' "
                                          f"for {settings.arch}; known tags: {', '.join(tags) or 'none'}")
        plan = [Fetch(spec.key, cfg["hf_hub"].rstrip("/"), HUB_FILES)]
        tokenizer = tokenizer_repo(open_clip.get_model_config(settings.arch) or {})
        if tokenizer:
            plan.append(Fetch(spec.key, tokenizer, CONFIG_FILES, patterns=True, probe=("tokenizer_config.json",)))
        return plan

    def load(self, spec, device: torch.device) -> ClipEncoder:
        import open_clip
        settings: ClipSettings = spec.settings
        if settings.hub_repo is None and settings.arch not in open_clip.list_models():
            raise WeightsUnavailableError(f"{spec.name}: open_clip has no model config '{settings.arch}'")
        settings.check_local(spec.key, spec.name)
        self.check_weights(spec)
        pretrained = os.path.expanduser(settings.pretrained) if settings.pretrained else None
        try:
            model, _, preprocess = open_clip.create_model_and_transforms(
                settings.arch, pretrained=pretrained, device=device, **settings.model_kwargs)
            tokenizer = open_clip.get_tokenizer(settings.arch, **_tokenizer_kwargs(model_config(settings)))
        except (OSError, RuntimeError) as exc:  # open_clip wraps download failures in RuntimeError
            raise missing_weights(spec.key, spec.name, settings.pretrained or settings.arch, str(exc)) from exc
        return ClipEncoder(model, preprocess, tokenizer, device, random_weights=settings.random_weights)


def model_config(settings: ClipSettings) -> dict:
    """The open_clip model config: built into open_clip, or an ``hf-hub:`` repo's ``open_clip_config.json``
    (read from the cache, where loading the model put it); {} when neither is there."""
    import json
    import open_clip
    if settings.hub_repo is None:
        return open_clip.get_model_config(settings.arch) or {}
    path = hub.cached_file(settings.hub_repo, ("open_clip_config.json",))
    return json.loads(open(path, encoding="utf-8").read()).get("model_cfg", {}) if path else {}


def _tokenizer_kwargs(model_cfg: dict) -> dict:
    """What ``open_clip.get_tokenizer`` passes on to ``AutoTokenizer.from_pretrained`` for a text tower reading a
    Hugging Face tokenizer: a blank model config. A tokenizer repo (SigLIP 2's) holds no ``config.json``, and
    transformers 5 looks one up before ``tokenizer_config.json`` names the class; offline, with no record that
    the hub lacks it, that lookup fails. Given a config, it goes straight to ``tokenizer_config.json``."""
    if not tokenizer_repo(model_cfg):
        return {}
    from transformers import PretrainedConfig
    return {"config": PretrainedConfig()}


def tokenizer_repo(model_cfg: dict) -> str | None:
    """The hub repo an open_clip config's text tower reads its Hugging Face tokenizer from, if any."""
    return (model_cfg.get("text_cfg") or {}).get("hf_tokenizer_name") or None


register_family(ClipFamily())
