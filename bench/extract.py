"""extract: batch feature extraction over the shared posters, images/s of the training pipeline
(FeatureCache: JPEG decoding and preprocessing in DataLoader workers, forward, parts written to disk)
vs. raw forward throughput on tensors already decoded, at the same batch size."""
from __future__ import annotations

import tempfile
import time
from pathlib import Path

import torch

from genre_models.data.films import load_dataset
from genre_models.models.predictors import FeatureRequest, ModelPool
from genre_models.training.feature_cache import FeatureCache
from .common import BenchResult
from .lineup import register_full_size

TARGET = 0.9
MOVIES = Path(__file__).resolve().parents[2] / "shared" / "data" / "movies" / "movies.csv"


def run(workdir: Path, key: str = "bit-resnet50", batch_size: int = 32, limit: int | None = None,
        raw_batches: int = 8, num_workers: int = 2) -> BenchResult:
    from PIL import Image
    result = BenchResult("extract")
    if not MOVIES.is_file():
        result.notes.append(f"skipped: {MOVIES} not found (../shared is absent)")
        return result
    register_full_size(workdir)
    dataset = load_dataset(MOVIES, verify_posters=False)
    dataset = dataset.subset(dataset.frame["poster"].notna().to_numpy())
    if limit:
        dataset = dataset.subset(dataset.frame.index < limit)
    predictor = ModelPool().get(key)
    predictor.load()
    encoder = predictor.encoder
    with tempfile.TemporaryDirectory() as cache_dir:
        start = time.perf_counter()
        FeatureCache(cache_dir).features(FeatureRequest(predictor, "poster", False), dataset,
                                         batch_size=batch_size, num_workers=num_workers, progress=False)
        pipeline = len(dataset) / (time.perf_counter() - start)
    paths = dataset.frame["poster"].tolist()[:batch_size * raw_batches]
    batches = [torch.stack([encoder.preprocess(Image.open(p).convert("RGB")) for p in paths[i:i + batch_size]])
               for i in range(0, len(paths), batch_size)]
    encoder.encode_pixels(batches[0])  # warm-up
    start = time.perf_counter()
    for pixels in batches:
        encoder.encode_pixels(pixels)
    raw = len(paths) / (time.perf_counter() - start)
    result.add(f"training pipeline, {key}, {len(dataset)} posters, batch {batch_size}, {num_workers} workers",
               f"{pipeline:.2f} images/s")
    result.add(f"raw forward on decoded tensors, {len(paths)} posters, batch {batch_size}", f"{raw:.2f} images/s")
    result.ratio("pipeline ÷ raw throughput", pipeline / raw, f">= {TARGET:.1f}", pipeline / raw >= TARGET)
    return result
