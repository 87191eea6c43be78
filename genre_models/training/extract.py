"""Encode films into feature-cache parts, and read the parts back.

A part is ``part-*.safetensors`` (``features`` [n, D] float32) beside ``part-*.json`` (the n content
hashes, in the same order). ``feature_cache.py`` decides what is missing and reads the parts;
this module encodes a chunk and writes it, in this process (:func:`encode_here`) or in each rank of
``parallel.py``.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch
from safetensors.numpy import load_file, save
from torch.utils.data import DataLoader, Dataset
from tqdm.auto import tqdm

from ..data.inputs import load_poster
from ..errors import InvalidImageError
from ..files import write_bytes_atomic, write_text_atomic
from ..models.predictors import FeatureRequest

Chunk = list[tuple[str, object]]  # (content hash, poster path or plot) per film, a part's worth
# how the films still missing get encoded: (request, cache folder, chunks, batch size, DataLoader workers,
# progress bar) -> None, every chunk written as a part of that folder
Extract = Callable[[FeatureRequest, Path, list[Chunk], int, int, bool], None]


class _PosterFiles(Dataset):
    """Decodes and preprocesses posters in DataLoader workers."""

    def __init__(self, paths: Sequence[Path], preprocess):
        self.paths = list(paths)
        self.preprocess = preprocess

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int):
        try:
            return self.preprocess(load_poster(self.paths[index])), True
        except InvalidImageError:
            return torch.zeros(3, 1, 1), False


def _collate(batch):
    ok = [b[1] for b in batch]
    good = [b[0] for b, keep in zip(batch, ok) if keep]
    return (torch.stack(good) if good else None), ok


def encode(encoder, modality: str, values: list, batch_size: int, num_workers: int) -> tuple[np.ndarray, list[bool]]:
    """([n_ok, D] features, [n] whether each value encoded): plots always do, a poster that fails to
    decode does not."""
    if modality == "plot":
        return encoder.encode(values).features.numpy(), [True] * len(values)
    loader = DataLoader(_PosterFiles(values, encoder.preprocess), batch_size=batch_size,
                        num_workers=num_workers, collate_fn=_collate)
    feats, ok = [], []
    for pixels, good in loader:
        if pixels is not None:
            feats.append(encoder.encode_pixels(pixels).numpy())
        ok.extend(good)
    return (np.concatenate(feats) if feats else np.zeros((0, encoder.embedding_dim), np.float32)), ok


def save_part(folder: Path, hashes: list[str], features: np.ndarray, name: str | None = None) -> None:
    """Write one part; ``name`` (a process's own) keeps parallel writers from taking the same one."""
    folder.mkdir(parents=True, exist_ok=True)
    stem = folder / (name or f"part-{len(list(folder.glob('part-*.safetensors'))):05d}")
    # hashes first, weights second: a part counts only once its .safetensors exists; each file is written
    # whole or not at all (a full disk leaves no part behind)
    write_text_atomic(stem.with_suffix(".json"), json.dumps(hashes))
    write_bytes_atomic(stem.with_suffix(".safetensors"),
                       save({"features": np.ascontiguousarray(features, dtype=np.float32)}))


def load_parts(folder: Path) -> dict[str, np.ndarray]:
    """Content hash -> [D] features, over every complete part in ``folder``."""
    known: dict[str, np.ndarray] = {}
    for part in sorted(folder.glob("part-*.safetensors")):
        tensors = load_file(str(part))
        hashes = json.loads(part.with_suffix(".json").read_text())
        known.update(zip(hashes, tensors["features"]))
    return known


def encode_part(encoder, modality: str, folder: Path, chunk: Chunk, batch_size: int, num_workers: int,
                name: str | None = None) -> None:
    """Encode one chunk and write it as a part of ``folder`` (a poster that fails to decode is left out)."""
    features, ok = encode(encoder, modality, [value for _, value in chunk], batch_size, num_workers)
    save_part(folder, [digest for (digest, _), good in zip(chunk, ok) if good], features, name=name)


def encode_here(request: FeatureRequest, folder: Path, chunks: list[Chunk], batch_size: int, num_workers: int,
                progress: bool) -> None:
    """The default :data:`Extract`: every chunk in this process, with the request's own encoder."""
    encoder = request.predictor.encoder_for(request.trained)
    bar = tqdm(total=sum(map(len, chunks)), desc=f"{request.predictor.key} {request.modality} features",
               disable=not progress, unit=request.modality)
    for chunk in chunks:
        encode_part(encoder, request.modality, folder, chunk, batch_size, num_workers)
        bar.update(len(chunk))
    bar.close()
