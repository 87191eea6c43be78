"""Backbone features for a dataset, computed once and cached on disk.

The cache is keyed by the model (its spec and weights identity) and by each film's *content* (the
plot text, or the poster file's bytes), so a second run, another split, or a CSV that shares films
reuses what is there. Features are written in parts as they are computed: an interrupted run
resumes where it stopped.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from ..data.films import FilmDataset
from ..files import child_path
from ..models.predictors import FeatureRequest
from ..models.registry import PROJECT_ROOT
from .extract import Extract, encode_here, load_parts

DEFAULT_CACHE = PROJECT_ROOT / "features_cache"
PART_SIZE = 512


def content_hash(data: bytes | str) -> str:
    return hashlib.sha1(data.encode() if isinstance(data, str) else data).hexdigest()


class FeatureCache:
    """One folder per model fingerprint holding ``part-*.safetensors`` (features + content hashes)."""

    def __init__(self, root: str | Path = DEFAULT_CACHE):
        self.root = Path(root)

    def folder(self, request: FeatureRequest) -> Path:
        predictor = request.predictor
        name = f"{predictor.key}-{request.modality}-{predictor.feature_identity(request.trained)}"
        return child_path(self.root, name)  # registered keys are plain names; this holds for any spec too

    def features(self, request: FeatureRequest, dataset: FilmDataset, batch_size: int = 32,
                 num_workers: int = 2, progress: bool = True,
                 extract: Extract = encode_here) -> tuple[np.ndarray, np.ndarray]:
        """[N, D] features a predictor asked for (``request``) and a [N] mask of rows that have them.

        Rows without that input (or with a poster that fails to decode) get zeros and mask False.
        ``extract`` encodes what is missing: in this process by default, in several with
        ``parallel.extractor(processes)``.
        """
        predictor, modality = request.predictor, request.modality
        encoder = predictor.encoder_for(request.trained)
        column = dataset.frame[modality]
        rows = [i for i, value in enumerate(column) if value is not None and value == value]
        hashes = [content_hash(column.iloc[i] if modality == "plot" else Path(column.iloc[i]).read_bytes())
                  for i in rows]
        folder = self.folder(request)
        known = load_parts(folder)
        first = {h: k for k, h in reversed(list(enumerate(hashes)))}  # same content -> computed once
        todo = sorted(k for h, k in first.items() if h not in known)
        self.computed = len(todo)
        # (content hash, poster path or plot) per film to encode, a cache part's worth per chunk
        chunks = [[(hashes[k], column.iloc[rows[k]]) for k in todo[start:start + PART_SIZE]]
                  for start in range(0, len(todo), PART_SIZE)]
        if chunks:
            extract(request, folder, chunks, batch_size, num_workers, progress)
            known = load_parts(folder)
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
