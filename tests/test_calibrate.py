"""Zero-shot calibration on validation data, stored in the checkpoint and used by the predictor."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from genre_models import ModelPool
from genre_models import train as train_cli
from genre_models.models.checkpoint import read_config
from genre_models.models.predictors import create_predictor
from genre_models.models.zero_shot import ZeroShotScorer
from genre_models.training.calibrate import fit_zero_shot
from films import write_films_csv

GENRES = ["Comedy", "Horror", "Romance", "Sci-Fi", "War"]


def _scorer_and_films(n=400, seed=0):
    """Orthogonal prompt embeddings; every film leans towards every genre, more towards its own."""
    axes = {g: torch.eye(8)[i] for i, g in enumerate(GENRES)} | {"": torch.eye(8)[7]}
    scorer = ZeroShotScorer(lambda prompts: torch.stack([axes[p] for p in prompts]), lambda g: [g], scale=20.0)
    rng = np.random.default_rng(seed)
    y = (rng.random((n, len(GENRES))) < 0.25).astype(np.float32)
    x = 0.2 * np.eye(8)[7] + 0.5 * np.eye(8)[:5].sum(0) + (0.5 * y) @ np.eye(8)[:5]
    x = x + rng.normal(0, 0.05, x.shape)
    return scorer, (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32), y


def test_fit_moves_the_decision_to_where_genres_separate():
    scorer, x, y = _scorer_and_films()
    fitted = fit_zero_shot(scorer, x, y, GENRES)
    # at scale 20 and bias 0 every margin is positive, so every genre is named for every film
    assert fitted["before"]["micro_f1"] < 0.45
    assert fitted["after"]["micro_f1"] > 0.9 and fitted["scale"] > 0
    # one monotone map for every genre: the ranking, hence average precision, cannot change
    assert fitted["after"]["macro_ap"] == pytest.approx(fitted["before"]["macro_ap"])
    calibrated = scorer.calibrated(fitted["scale"], fitted["bias"])
    assert scorer.scale == 20.0 and calibrated.genre_embeddings(GENRES) is not None
    logits = calibrated.logits(torch.from_numpy(x), GENRES)
    assert torch.allclose(logits, fitted["scale"] * scorer.margins(torch.from_numpy(x), GENRES) + fitted["bias"])


def test_no_calibration_when_similarity_points_the_wrong_way():
    scorer, x, y = _scorer_and_films()
    assert fit_zero_shot(scorer, x, 1 - y, GENRES) is None  # the films *without* a genre sit nearer it


def test_training_stores_the_calibration_and_the_predictor_uses_it(tiny_models, tmp_path):
    films = write_films_csv(tmp_path / "data", n=80)
    assert train_cli.main(["--data", str(films), "--models", "tiny-bert", "--cache-dir", str(tmp_path / "cache"),
                           "--epochs", "3", "--no-progress", "--num-workers", "0"]) == 0
    spec = tiny_models["tiny-bert"]
    calibration = read_config(spec.checkpoint_dir())["zero_shot"]
    assert set(calibration) >= {"scale", "bias", "before", "after"}
    predictor = ModelPool().get("tiny-bert")
    predictor.load()
    assert (predictor.scorer.scale, predictor.scorer.bias) == (calibration["scale"], calibration["bias"])
    plot = "ghost haunted house ."
    answer = predictor.predict(plot=plot, mode="zero-shot")
    features = predictor.encoder.encode([plot]).features
    genres = list(answer.probabilities)
    expected = torch.sigmoid(calibration["scale"] * predictor.scorer.margins(features, genres)
                             + calibration["bias"])[0]
    assert np.allclose([answer.probabilities[g] for g in genres], expected.numpy(), atol=1e-5)
    # a scale the spec sets explicitly wins over the checkpoint's
    fixed = dataclasses.replace(spec, settings=dataclasses.replace(spec.settings, zero_shot_scale=7.0))
    other = create_predictor(fixed)
    other.load()
    assert other.checkpoint is not None and other.scorer.scale == 7.0
