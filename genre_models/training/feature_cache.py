"""Backbone features for a dataset, computed once and cached on disk.

The cache is keyed by the model (its spec and weights identity) and by each film's *content* (the
plot text, or the poster file's bytes), so a second run, another split, or a CSV that shares films
reuses what is there. Features are written in parts as they are computed: an interrupted run
resumes where it stopped.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from safetensors.numpy import load_file, save_file
from torch.utils.data import DataLoader, Dataset
from tqdm.auto import tqdm

from ..data.films import FilmDataset
from ..data.inputs import load_poster
from ..errors import InvalidImageError
from ..models.predictors import FeatureRequest
from ..models.registry import PROJECT_ROOT

DEFAULT_CACHE = PROJECT_ROOT / "features_cache"
PART_SIZE = 512


def content_hash(data: bytes | str) -> str:
    return hashlib.sha1(data.encode() if isinstance(data, str) else data).hexdigest()


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


class FeatureCache:
    """One folder per model fingerprint holding ``part-*.safetensors`` (features + content hashes)."""

    def __init__(self, root: str | Path = DEFAULT_CACHE):
        self.root = Path(root)

    def folder(self, request: FeatureRequest) -> Path:
        predictor = request.predictor
        return self.root / f"{predictor.key}-{request.modality}-{predictor.feature_identity(request.trained)}"

    def _load_parts(self, folder: Path) -> dict[str, np.ndarray]:
        known: dict[str, np.ndarray] = {}
        for part in sorted(folder.glob("part-*.safetensors")):
            tensors = load_file(str(part))
            hashes = json.loads(part.with_suffix(".json").read_text())
            known.update(zip(hashes, tensors["features"]))
        return known

    @staticmethod
    def _save_part(folder: Path, hashes: list[str], features: np.ndarray, name: str | None = None) -> None:
        """Write one part; ``name`` (a process's own) keeps parallel writers from taking the same one."""
        folder.mkdir(parents=True, exist_ok=True)
        stem = folder / (name or f"part-{len(list(folder.glob('part-*.safetensors'))):05d}")
        # hashes first, weights second: a part counts only once its .safetensors exists
        stem.with_suffix(".json").write_text(json.dumps(hashes))
        tmp = stem.with_suffix(".tmp")
        save_file({"features": np.ascontiguousarray(features, dtype=np.float32)}, str(tmp))
        tmp.rename(stem.with_suffix(".safetensors"))

    def features(self, request: FeatureRequest, dataset: FilmDataset, batch_size: int = 32,
                 num_workers: int = 2, progress: bool = True, processes: int = 1) -> tuple[np.ndarray, np.ndarray]:
        """[N, D] features a predictor asked for (``request``) and a [N] mask of rows that have them.

        Rows without that input (or with a poster that fails to decode) get zeros and mask False.
        ``processes`` > 1 encodes what is missing in that many processes (``training/parallel.py``).
        """
        predictor, modality = request.predictor, request.modality
        encoder = predictor.encoder_for(request.trained)
        column = dataset.frame[modality]
        rows = [i for i, value in enumerate(column) if value is not None and value == value]
        hashes = [content_hash(column.iloc[i] if modality == "plot" else Path(column.iloc[i]).read_bytes())
                  for i in rows]
        folder = self.folder(request)
        known = self._load_parts(folder)
        first = {h: k for k, h in reversed(list(enumerate(hashes)))}  # same content -> computed once
        todo = sorted(k for h, k in first.items() if h not in known)
        self.computed = len(todo)
        # (content hash, poster path or plot) per film to encode, a cache part's worth per chunk
        chunks = [[(hashes[k], column.iloc[rows[k]]) for k in todo[start:start + PART_SIZE]]
                  for start in range(0, len(todo), PART_SIZE)]
        if chunks and processes > 1:
            from .parallel import extract_in_processes
            extract_in_processes(processes, [predictor.spec], predictor.key, request.trained, modality, folder,
                                 chunks, batch_size, num_workers)
            known = self._load_parts(folder)
        elif chunks:
            bar = tqdm(total=len(todo), desc=f"{predictor.key} {modality} features", disable=not progress,
                       unit=modality)
            for chunk in chunks:
                known.update(self.encode_part(encoder, modality, folder, chunk, batch_size, num_workers))
                bar.update(len(chunk))
            bar.close()
        dim = next(iter(known.values())).shape[0] if known else encoder.embedding_dim
        out = np.zeros((len(dataset), dim), dtype=np.float32)
        mask = np.zeros(len(dataset), dtype=bool)
        for i, h in zip(rows, hashes):
            if h in known:
                out[i], mask[i] = known[h], True
        return out, mask

    def for_requests(self, requests: list[FeatureRequest], dataset: FilmDataset,
                     **options) -> tuple[dict[tuple[str, str, bool], np.ndarray], np.ndarray]:
        """Features for each of a plan's requests (by request key) and the [N] mask of rows having all of them."""
        features, rows = {}, np.ones(len(dataset), dtype=bool)
        for request in requests:
            if request.key not in features:
                features[request.key], mask = self.features(request, dataset, **options)
                rows &= mask
        return features, rows

    @classmethod
    def encode_part(cls, encoder, modality: str, folder: Path, chunk: list[tuple[str, object]], batch_size: int,
                    num_workers: int, name: str | None = None) -> dict[str, np.ndarray]:
        """Encode one chunk of (content hash, poster path or plot) and write it as a cache part; returns
        hash -> features for the films that encoded (a poster that fails to decode is left out)."""
        features, ok = cls._encode(encoder, modality, [value for _, value in chunk], batch_size, num_workers)
        kept = [digest for (digest, _), good in zip(chunk, ok) if good]
        cls._save_part(folder, kept, features, name=name)
        return dict(zip(kept, features))

    @staticmethod
    def _encode(encoder, modality, values, batch_size, num_workers) -> tuple[np.ndarray, list[bool]]:
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
