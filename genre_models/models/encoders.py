"""What a loaded backbone is: inputs of one modality -> [N, D] features, and what explanations read.

Families build encoders (``families/``); predictors answer through them (``predictors/``); the
explanation code (``explain/``) asks them for a differentiable forward pass (``pixel_features``), the
layers to hook, how to lay a ViT's tokens back onto the image grid and what the model saw, so it never
needs to know which library a model came from.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar, Sequence

import numpy as np
import torch
from PIL import Image

POSTER, PLOT = "poster", "plot"


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
        unread_reason: what ``Encoded.unread`` means for this encoder ("" when it never sets it).
    """

    modality: ClassVar[str]
    model: torch.nn.Module
    embedding_dim: int
    random_weights: bool = False
    default_zero_shot_scale: float = 20.0
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


def vit_tokens_to_grid(tokens: torch.Tensor) -> torch.Tensor:
    """[N, 1 + H*W, C] (class token first) -> [N, C, H, W], as pytorch-grad-cam's ViT example does."""
    patches = tokens[:, 1:, :]
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
