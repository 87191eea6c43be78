"""tools/plot_sweep.py: its recipes come from a command in the repo, and its TF-IDF blend is the shipped
ensemble's (logits weighted on the ensemble's grid), not a mean of probabilities."""
from __future__ import annotations

import json
import runpy
from pathlib import Path

import numpy as np
import pytest
import torch

from genre_models.models.predictors.ensemble import blend
from genre_models.training.fit import selection_score

SWEEP = runpy.run_path(str(Path(__file__).resolve().parent.parent / "tools" / "plot_sweep.py"))


def test_write_configs_gives_the_recipes_configs_reads(tmp_path):
    path = tmp_path / "recipes.json"
    assert SWEEP["main"](["--write-configs", str(path)]) == 0
    recipes = json.loads(path.read_text())
    assert recipes == SWEEP["RECIPES"] and all("name" in r for r in recipes)


def test_a_sweep_without_data_says_what_it_needs(capsys):
    with pytest.raises(SystemExit):
        SWEEP["main"]([])
    assert "--data and --out are required" in capsys.readouterr().err


def test_the_tfidf_blend_is_the_shipped_logit_blend():
    rng = np.random.default_rng(0)
    genres = ["Action", "Comedy", "Drama"]
    y = (rng.random((200, 3)) < 0.3).astype(np.float32)
    # two noisy, differently calibrated members: a logit blend and a probability mean rank films apart
    model = np.clip(0.25 * y + 0.75 * rng.random((200, 3)), 0.001, 0.999).astype(np.float32)
    tfidf = np.clip((0.25 * y + 0.75 * rng.random((200, 3))) ** 3, 0.001, 0.999).astype(np.float32)
    chosen = SWEEP["best_blend"](y, model, tfidf, genres)
    w = chosen["tfidf_weight"]
    assert 0 < w < 1 and round(w * 20) == w * 20  # a weighting on the ensemble's grid (steps of 0.05)
    shipped = blend([torch.from_numpy(model), torch.from_numpy(tfidf)], [1 - w, w]).numpy()
    assert chosen["val_micro_f1"] == selection_score(y, shipped, genres)[0]
    mean = (1 - w) * model + w * tfidf
    assert chosen["val_micro_f1"] != selection_score(y, mean, genres)[0]
