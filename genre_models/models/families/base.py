"""What a model family is: one object that knows how to build, check, fetch and feed its backbones.

A family (timm image, CLIP, Hugging Face text, TF-IDF, fusion, ensemble, or one of yours) owns, for every model of
that family:

- its settings, validated where they are declared (``settings_type``, a frozen dataclass);
- the inputs it needs (``inputs``) and whether it can score genres it was not trained on;
- the download plan (which hub repos and files) and, from it, the offline weights check;
- for a backbone family, loading, which returns an :class:`Encoder` (features, feature size, explanation
  target layers); TF-IDF, fusion and an ensemble have no load of their own (their predictor reads them).

An encoder (below) is a loaded backbone: inputs of one modality -> [N, D] features. The explanation
code (``explain/``) asks it for a differentiable forward pass (``pixel_features``), the layers to hook,
how to lay a ViT's tokens back onto the image grid and what the model saw, so it never needs to know
which library a model came from.

Families build; they never answer: the predictor that answers for a family's models is chosen in
``predictors/pool.py`` (a backbone + head unless the pool's table names another kind).

Adding a family is one module that subclasses :class:`ModelFamily` and calls
:func:`~genre_models.models.registry.register_family`. Library imports (timm, open_clip,
transformers) happen inside ``load``/``download_plan``, so a call that needs one family never pays for
importing the others.
"""
from __future__ import annotations

import dataclasses
import json
import math
import os
from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar, Sequence

import numpy as np
import torch
from PIL import Image

from ...commands import command
from ...errors import ConfigError, WeightsUnavailableError
from .. import hub
from ..registry import PLOT, POSTER, Fetch, ModelSpec, get_model_spec


def default_device() -> torch.device:
    """CUDA when present, else CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


@dataclass
class Encoded:
    """Features for a batch of inputs ([N, D]) and, for text, which inputs were cut at the token limit and
    which held nothing the encoder knows (``unread``: no word in a TF-IDF vocabulary, only unknown tokens):
    its features for those are the same for any such input, not a reading of it."""

    features: torch.Tensor
    truncated: list[bool] = field(default_factory=list)
    unread: list[bool] = field(default_factory=list)


class Encoder:
    """A loaded backbone: inputs of one modality -> [N, D] feature vectors.

    Attributes:
        model: the torch module (hooks, Grad-CAM, fine-tuning reach it here).
        embedding_dim: D, the feature size a head sits on.
        random_weights: built without pretrained weights (tests, development): predictions say so.
        default_zero_shot_scale: the scale zero-shot uses when the spec sets none.
        default_zero_shot_bias: the bias zero-shot uses when the spec sets none.
        zero_shot_contrast: whether zero-shot contrasts each genre with a neutral prompt (``zero_shot.py``);
            False for a model that learned its own sigmoid (SigLIP), which scores each genre alone.
        unread_reason: what ``Encoded.unread`` means for this encoder ("" when it never sets it).
    """

    modality: ClassVar[str]
    model: torch.nn.Module
    embedding_dim: int
    random_weights: bool = False
    default_zero_shot_scale: float = 20.0
    default_zero_shot_bias: float = 0.0
    zero_shot_contrast: bool = True
    unread_reason: str = ""

    def encode(self, inputs: Sequence[Any]) -> Encoded:
        raise NotImplementedError

    def encode_prompts(self, texts: Sequence[str]) -> torch.Tensor:
        """[N, D] L2-normalised embeddings of zero-shot prompts, in the space of ``encode``."""
        raise NotImplementedError(f"{type(self).__name__} has no text side for zero-shot prompts")

    def explanation_target_layers(self) -> list[torch.nn.Module]:
        """The layers a saliency method (Grad-CAM) should look at; [] when none fits."""
        return []

    # -- zero-shot: most encoders read prompts in their own feature space; ConSE reads another one --------
    method: str = ""  # how zero-shot reaches genres, when it is not the usual prompt similarity

    def zero_shot_encoder(self) -> "Encoder":
        """The encoder zero-shot features come from (itself, unless the family says otherwise)."""
        return self

    def identity(self) -> dict:
        """What, beyond the backbone's weights, makes this encoder's features (keys the feature cache)."""
        return {}

    def prepare(self) -> None:
        """Work a first zero-shot request would otherwise wait on, done ahead (the app's preload)."""


class ImageEncoder(Encoder):
    """Posters (RGB PIL images) -> features. ``preprocess`` runs in DataLoader workers for corpora.

    A family implements ``pixel_features`` (its forward pass, differentiable); ``encode_pixels`` runs it
    without gradients for answers, Grad-CAM runs it with them.
    """

    modality = POSTER
    preprocess: Callable[[Image.Image], torch.Tensor]
    device: torch.device

    def encode(self, inputs: Sequence[Image.Image]) -> Encoded:
        return Encoded(self.encode_pixels(torch.stack([self.preprocess(im) for im in inputs])),
                       [False] * len(inputs))

    def pixel_features(self, pixels: torch.Tensor) -> torch.Tensor:
        """A preprocessed [N, 3, H, W] batch on ``device`` -> [N, D] float features on ``device``, with
        gradients (what ``encode`` returns, and what Grad-CAM differentiates)."""
        raise NotImplementedError

    @torch.inference_mode()
    def encode_pixels(self, pixels: torch.Tensor) -> torch.Tensor:
        """A preprocessed [N, 3, H, W] batch -> [N, D] features on the CPU."""
        return self.pixel_features(pixels.to(self.device)).float().cpu()

    def explanation_reshape(self) -> Callable[[torch.Tensor], torch.Tensor] | None:
        """How the target layer's output becomes an [N, C, H, W] map (None: it already is one)."""
        return None

    def seen_image(self, pixels: torch.Tensor) -> Image.Image:
        """The first preprocessed image of ``pixels`` back to RGB: what the model saw (after resize and crop).

        Undoes the torchvision ``Normalize`` in ``preprocess`` (timm's and open_clip's transforms both end so).
        """
        from torchvision.transforms import Normalize
        norm = next((t for t in getattr(self.preprocess, "transforms", []) if isinstance(t, Normalize)), None)
        image = pixels[0].detach().float().cpu()
        if norm is not None:
            image = image * torch.as_tensor(norm.std).view(3, 1, 1) + torch.as_tensor(norm.mean).view(3, 1, 1)
        return Image.fromarray(np.uint8(255 * image.clamp(0, 1).permute(1, 2, 0).numpy()))


def vit_tokens_to_grid(tokens: torch.Tensor, prefix: int = 1) -> torch.Tensor:
    """[N, prefix + H*W, C] (class token first, or none: SigLIP) -> [N, C, H, W], as pytorch-grad-cam's ViT
    example does."""
    patches = tokens[:, prefix:, :]
    side = int(math.isqrt(patches.shape[1]))
    return patches.reshape(patches.shape[0], side, side, patches.shape[2]).permute(0, 3, 1, 2)


class TextEncoder(Encoder):
    """Plots (cleaned strings) -> features, with truncation flags."""

    modality = PLOT
    unread_reason = "every token of it is unknown to the model"

    def encode_prompts(self, texts: Sequence[str]) -> torch.Tensor:
        return self.encode(texts).features

    def words_read(self, words: list[str]) -> int:
        """How many of ``words`` (a plot split on whitespace) the encoder reads before its token limit."""
        return len(words)


WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".ckpt", ".pkl", ".npz")


def looks_like_path(text: str) -> bool:
    """Whether a model source or weights setting names a place on disk rather than a hub id or a library tag.

    A hub id is ``name`` or ``namespace/name``: one "/" at most, never first. A path starts with "/", "~" or
    ".", holds a backslash or more than one "/", or ends with a weights file's suffix.
    """
    text = text.strip()
    return (text.startswith(("/", "~", ".")) or "\\" in text or text.count("/") > 1 or text.count(os.sep) > 1
            or text.lower().endswith(WEIGHT_SUFFIXES))


def missing_path(key: str, name: str, setting: str, value: str, what: str = "folder") -> WeightsUnavailableError:
    """The error for a setting naming a file or folder that is not there (not a hub or library failure)."""
    return WeightsUnavailableError(
        f"{name}: no such {what}: {value} (its '{setting}' setting). Fix: point '{key}' at an existing {what}, "
        "or at a hub id, with --model-config.", summary=f"no such {what}: {value}")


class PretrainedWeights:
    """For settings with a ``pretrained`` field: a library tag, a local weights file, or None (random)."""

    pretrained: str | None

    @property
    def weights_file(self) -> str | None:
        path = os.path.expanduser(self.pretrained) if self.pretrained else None
        return path if path and os.path.isfile(path) else None

    def check_local(self, key: str, name: str) -> None:
        """Raise when ``pretrained`` names a file that is not there (a library would call it an unknown tag)."""
        if self.pretrained and looks_like_path(self.pretrained) and not self.weights_file:
            raise missing_path(key, name, "pretrained", self.pretrained, "file")

    def local_fetch(self, key: str, name: str = "") -> list[Fetch] | None:
        """The plan when nothing comes from the hub (random or local weights), else None."""
        self.check_local(key, name or key)
        if not self.pretrained:
            return [Fetch(key, None, note="random weights, nothing to fetch")]
        if self.weights_file:
            return [Fetch(key, None, note=f"local file {self.pretrained}, nothing to fetch")]
        return None


def parts_download_plan(keys: Sequence[str]) -> list[Fetch]:
    """What a model made of others (fusion, an ensemble) fetches: each part's plan, in order."""
    specs = [get_model_spec(key) for key in keys]
    return [fetch for spec in specs for fetch in spec.family_impl.download_plan(spec)]


def missing_weights(key: str, name: str, source: str, detail: str = "") -> WeightsUnavailableError:
    """The error for weights that are not in the local cache: the whole story, and one line with the fix."""
    where = "the Hugging Face Hub cannot be reached" if not hub.hub_reachable() else "loading failed"
    fix = command("download", "--models", key)
    text = (f"{name}: weights not downloaded ({source} is not in the local cache and {where}). "
            f"Fix: `{fix}` on a machine with internet, or point "
            f"'{key}' at a local weights file with --model-config.")
    return WeightsUnavailableError(text + (f" Details: {detail}" if detail else ""),
                                   summary="weights not downloaded", fix=fix)


class ModelFamily:
    """Base class of the family objects; subclasses set the class attributes and ``load``."""

    name: ClassVar[str]
    settings_type: ClassVar[type]
    inputs: ClassVar[tuple[str, ...]]
    zero_shot: ClassVar[bool] = False
    finetunable: ClassVar[bool] = False
    # zero-shot prompt templates for one genre ("" = the neutral prompt), see models/prompts.py
    prompts: ClassVar[Callable[[str], list[str]] | None] = None
    # settings fields holding paths; a --model-config file gives them relative to itself
    path_fields: ClassVar[tuple[str, ...]] = ()
    # settings fields that do not change the backbone's features (left out of its identity)
    identity_excludes: ClassVar[tuple[str, ...]] = ()

    def has_zero_shot(self, spec: ModelSpec) -> bool:
        """Whether this model answers zero-shot (the family's flag; a family may decide per model)."""
        return self.zero_shot

    # -- settings ----------------------------------------------------------------------------------
    def parse_settings(self, key: str, fields: dict[str, Any]) -> Any:
        """Build this family's settings from plain fields, naming unknown or missing ones."""
        declared = dataclasses.fields(self.settings_type)
        valid = [f.name for f in declared]
        unknown = sorted(set(fields) - set(valid))
        if unknown:
            raise ConfigError(f"model {key!r}: unknown setting(s) {unknown} for family {self.name!r}; "
                              f"valid: {', '.join(valid)}")
        required = [f.name for f in declared if f.default is dataclasses.MISSING
                    and f.default_factory is dataclasses.MISSING and f.name not in fields]
        if required:
            raise ConfigError(f"model {key!r} ({self.name}) needs {', '.join(repr(n) for n in required)}")
        return self.settings_type(**fields)

    # -- weights -----------------------------------------------------------------------------------
    def download_plan(self, spec: ModelSpec) -> list[Fetch]:
        return [Fetch(spec.key, None, note="nothing to fetch")]

    def check_weights(self, spec: ModelSpec) -> None:
        """Fail at once, before building anything, when we are offline and the weights are not cached."""
        if hub.hub_reachable():
            return
        for fetch in self.download_plan(spec):
            if fetch.repo and hub.cached_file(fetch.repo, fetch.probe or fetch.files) is None:
                raise missing_weights(fetch.key, spec.name, f"hf-hub:{fetch.repo}")

    def load(self, spec: ModelSpec, device: torch.device) -> Encoder:
        raise NotImplementedError

    def backbone_identity(self, spec: ModelSpec) -> dict[str, Any]:
        """What identifies the backbone's weights: recorded in checkpoints, keys the feature cache."""
        settings = dataclasses.asdict(spec.settings)
        identity = {"family": self.name, **{k: v for k, v in settings.items() if k not in self.identity_excludes}}
        return json.loads(json.dumps(identity, default=str))  # as config.json will hold it (tuples -> lists)
