"""ConSE: zero-shot genres for a classifier that knows only its own named classes.

Norouzi et al., "Zero-Shot Learning by Convex Combination of Semantic Embeddings", ICLR 2014. An
image's semantic embedding is the probability-weighted mean of the text embeddings of its T most
probable classes,

    f(x) = (1 / Z) · Σ_{t=1..T} p(y_t | x) · s(y_t),    Z = Σ_{t=1..T} p(y_t | x),

and new labels (here: genre prompts) are scored against f(x) in that text space, as any zero-shot
prompt is. So a CNN reaches genres only through its ImageNet labels ("cowboy" → Western), where CLIP
reaches them through language: the contrast the product shows.

The class names come from timm's ``ImageNetInfo`` (offline) or a list given in the model's settings;
their embeddings are computed once per (text encoder, label set) and cached on disk.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Callable, Sequence

import torch

DEFAULT_TOP = 10  # T: the paper's default
CACHE_DIR = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "genrelens" / "conse"
ENCODE_BATCH = 512


def imagenet_label_names(subset: str) -> list[str]:
    """One name per class of a timm ImageNet label set ("imagenet-1k", "imagenet-21k-goog", ...).

    The first synonym of each WordNet description ("tabby, tabby cat" -> "tabby"): the later ones
    repeat it, and a long list drifts from the class in a sentence embedding.

    Raises:
        ValueError: timm has no such label set.
    """
    from timm.data import ImageNetInfo
    descriptions = ImageNetInfo(subset).label_descriptions()
    return [text.split(",")[0].strip() for text in descriptions]


def label_embeddings(names: Sequence[str], encode: Callable[[Sequence[str]], torch.Tensor], encoder_id: dict,
                     cache_dir: str | Path | None = CACHE_DIR, progress: bool = False) -> torch.Tensor:
    """[C, D] L2-normalised text embeddings of ``names``, computed once and cached on disk.

    The cache file is keyed by a digest of ``encoder_id`` (what identifies the text encoder's weights)
    and the names themselves, so another encoder or label set never reads a stale file. It is
    safetensors, written to a temporary name and renamed into place.
    """
    from safetensors.torch import load_file, save_file
    digest = hashlib.sha256(json.dumps({"encoder": encoder_id, "labels": list(names)},
                                       sort_keys=True).encode()).hexdigest()[:20]
    path = Path(cache_dir) / f"labels-{digest}.safetensors" if cache_dir else None
    if path is not None and path.is_file():
        cached = load_file(str(path))["embeddings"]
        if cached.shape[0] == len(names):
            return cached
    batches = range(0, len(names), ENCODE_BATCH)
    if progress:
        from tqdm import tqdm
        batches = tqdm(batches, desc="ConSE: embedding class names", unit="batch")
    with torch.inference_mode():
        parts = [encode(list(names[start:start + ENCODE_BATCH])).float().cpu() for start in batches]
    embeddings = torch.nn.functional.normalize(torch.cat(parts), dim=-1).contiguous()
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".incomplete")
        save_file({"embeddings": embeddings}, str(partial))
        os.replace(partial, path)
    return embeddings


def conse_embedding(class_logits: torch.Tensor, labels: torch.Tensor, top: int = DEFAULT_TOP) -> torch.Tensor:
    """[N, C] class logits and [C, D] label embeddings -> [N, D] L2-normalised semantic embeddings.

    Only the ``top`` most probable classes are mixed, weighted by their probabilities renormalised to
    sum to 1. Those weights are exactly a softmax over the top logits alone (the full softmax's
    normaliser cancels in the renormalisation), so no softmax over all C classes is computed.
    """
    if class_logits.shape[-1] != labels.shape[0]:
        raise ValueError(f"{class_logits.shape[-1]} class logits but {labels.shape[0]} class names")
    values, index = class_logits.float().topk(min(top, labels.shape[0]), dim=-1)
    weights = values.softmax(dim=-1)
    mixed = (weights.unsqueeze(-1) * labels.to(weights.device)[index]).sum(dim=1)
    return torch.nn.functional.normalize(mixed, dim=-1)


def top_classes(class_logits: torch.Tensor, names: Sequence[str], top: int = DEFAULT_TOP) -> list[list[tuple[str, float]]]:
    """Per image, the ``top`` classes ConSE mixes and their probabilities (what a card can show)."""
    probabilities = class_logits.float().softmax(dim=-1)
    values, index = probabilities.topk(min(top, len(names)), dim=-1)
    return [[(names[i], float(v)) for v, i in zip(row_v.tolist(), row_i.tolist())]
            for row_v, row_i in zip(values, index)]
