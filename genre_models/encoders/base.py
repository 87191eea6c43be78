"""What every backbone encoder offers, and the error for weights that are not on this machine."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, Sequence

import torch
from PIL import Image

from .. import hub


class WeightsUnavailableError(RuntimeError):
    """A backbone's weights are not on this machine (or failed to load). The message says how to fix it."""


def default_device() -> torch.device:
    """CUDA when present, else CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def missing_weights_message(key: str, name: str, source: str, detail: str = "") -> str:
    where = "the Hugging Face Hub cannot be reached (offline)" if not hub.hub_reachable() else "loading failed"
    text = (f"{name}: weights not available offline — {source} is not in the local Hugging Face cache and "
            f"{where}. Fix: run `python -m genre_models.download {key}` on a machine with internet "
            f"(copy its ~/.cache/huggingface here if needed), or point '{key}' at a local weights file "
            "with --model-config.")
    return text + (f" Details: {detail}" if detail else "")


@dataclass
class TextBatch:
    """Embeddings for a batch of texts, and which texts were cut at the token limit."""

    embeddings: torch.Tensor
    truncated: list[bool] = field(default_factory=list)


class ImageEncoder(Protocol):
    """Poster -> feature vector. ``model`` is the torch module (for hooks and Grad-CAM)."""

    embedding_dim: int
    model: torch.nn.Module
    random_weights: bool

    def encode_images(self, images: Sequence[Image.Image]) -> torch.Tensor: ...


class TextEncoder(Protocol):
    """Plot -> feature vector; also embeds genre prompts for zero-shot."""

    embedding_dim: int
    model: torch.nn.Module
    random_weights: bool

    def encode_texts(self, texts: Sequence[str]) -> TextBatch: ...
