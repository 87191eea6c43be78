"""Feature extraction in two CPU processes (torch.distributed, gloo) matches one process."""
from __future__ import annotations

import numpy as np

from genre_models import ModelPool
from genre_models.data.films import load_dataset
from genre_models.models.predictors import FeatureRequest
from genre_models.training import feature_cache
from genre_models.training.feature_cache import FeatureCache
from genre_models.training.parallel import extractor
from films import write_films_csv


def test_two_processes_give_the_features_one_process_gives(tiny_models, tmp_path, monkeypatch):
    monkeypatch.setattr(feature_cache, "PART_SIZE", 8)  # 79 plots: ten parts, shared by the two ranks
    dataset = load_dataset(write_films_csv(tmp_path / "data", n=80))
    request = FeatureRequest(ModelPool().get("tiny-bert"), "plot", False)
    alone, alone_mask = FeatureCache(tmp_path / "one").features(request, dataset, progress=False)
    cache = FeatureCache(tmp_path / "two")
    pooled, pooled_mask = cache.features(request, dataset, progress=False, extract=extractor(2))
    assert cache.computed == 79 and (pooled_mask == alone_mask).all()
    # the same numbers, up to float rounding (each rank pads its own batches)
    assert np.allclose(pooled, alone, atol=1e-5) and np.abs(pooled).sum() > 0
    parts = sorted(p.name for p in cache.folder(request).glob("*.safetensors"))
    assert {p.split("-")[1] for p in parts} == {"r0of2", "r1of2"} and len(parts) == 10
    # the merged cache is an ordinary cache: a second run encodes nothing
    again = FeatureCache(tmp_path / "two")
    assert np.array_equal(again.features(request, dataset, progress=False)[0], pooled) and again.computed == 0


def test_train_takes_processes_and_refuses_zero(tiny_models, tmp_path, capsys, monkeypatch):
    import pytest
    from genre_models import train as train_cli
    films = write_films_csv(tmp_path / "data", n=40)
    common = ["--data", str(films), "--models", "tiny-bert", "--out", str(tmp_path / "out"), "--epochs", "2",
              "--cache-dir", str(tmp_path / "cache"), "--no-progress"]
    with pytest.raises(SystemExit):
        train_cli.main(common + ["--processes", "0"])
    assert "must be at least 1, got 0" in capsys.readouterr().err
    monkeypatch.setattr(feature_cache, "PART_SIZE", 8)
    assert train_cli.main(common + ["--processes", "2"]) == 0
    assert any(p.name.startswith("part-r1of2") for p in (tmp_path / "cache").glob("*/*.safetensors"))
