"""A plot ensemble (MiniLM + TF-IDF's shape, on tiny models): fitted on val, served, refused when stale."""
from __future__ import annotations

import json

import pytest
import torch

from conftest import registered
from films import write_films_csv
from genre_models import ModelPool, Status
from genre_models import evaluate as evaluate_cli
from genre_models import train as train_cli
from genre_models.errors import ConfigError
from genre_models.explain.plot_words import explain_plot
from genre_models.models.families.ensemble import blend
from genre_models.models.registry import ModelSpec
from genre_models.training.ensemble import weight_grid

FAST = ["--epochs", "4", "--patience", "2", "--no-progress", "--num-workers", "0"]
PLOT = "ghost haunted house . the story of people 3 ."


def test_weight_grid_covers_every_weighting_once():
    two = weight_grid(2)
    assert two[0] == (1.0, 0.0) and two[-1] == (0.0, 1.0) and len(two) == 21
    three = weight_grid(3, steps=4)
    assert len(three) == 15 and len(set(three)) == 15
    assert all(sum(w) == pytest.approx(1.0) and min(w) >= 0 for w in three)


def test_blend_is_a_weighted_mean_of_logits():
    p, q = torch.tensor([[0.2, 0.9]]), torch.tensor([[0.6, 0.5]])
    assert torch.allclose(blend([p, q], [1.0, 0.0]), p)
    assert torch.allclose(blend([p, 1 - p], [0.5, 0.5]), torch.full_like(p, 0.5))
    expected = torch.sigmoid(0.25 * torch.logit(p) + 0.75 * torch.logit(q))
    assert torch.allclose(blend([p, q], [0.25, 0.75]), expected, atol=1e-6)
    assert torch.isfinite(blend([torch.tensor([[0.0, 1.0]]), q], [0.5, 0.5])).all()  # clipped, not infinite


def test_members_must_be_two_different_keys():
    for members in (["a"], ["a", "a"], "ab", ["a", ""]):
        with pytest.raises(ConfigError, match="two or more different model keys"):
            ModelSpec("e", "ensemble", {"members": members})


@pytest.fixture
def ensemble(tiny_models, tmp_path):
    """tiny-bert (trained here) + a TF-IDF model, blended as tiny-ens; returns (films CSV, cache dir)."""
    folder = tmp_path / "checkpoints"
    specs = [ModelSpec("tiny-tfidf", "tfidf-text", {}, "Tiny TF-IDF", checkpoint=str(folder / "tiny-tfidf")),
             ModelSpec("tiny-ens", "ensemble", {"members": ["tiny-bert", "tiny-tfidf"]}, "Tiny ensemble",
                       checkpoint=str(folder / "tiny-ens"))]
    films = write_films_csv(tmp_path / "data", n=80)
    with registered(specs):
        yield films, tmp_path / "cache"


def _train(films, cache, key, *extra):
    return train_cli.main(["--data", str(films), "--model", key, "--cache-dir", str(cache), *FAST, *extra])


def test_fitted_on_val_served_as_the_weighted_blend_and_evaluated(ensemble, capsys):
    films, cache = ensemble
    pool = ModelPool()
    refused = pool.get("tiny-ens").predict(plot=PLOT)
    assert refused.status is Status.UNAVAILABLE
    assert "Tiny ensemble needs all of its members" in refused.message and "Tiny TF-IDF" in refused.message
    assert "python -m genre_models.train --model tiny-tfidf" in refused.fix
    assert _train(films, cache, "tiny-ens") == 2  # a member without a trained model
    assert "Tiny BERT has none" in capsys.readouterr().err

    assert _train(films, cache, "tiny-bert", "--lr", "1e-2") == 0
    assert _train(films, cache, "tiny-tfidf") == 0
    assert _train(films, cache, "tiny-ens") == 0
    printed = capsys.readouterr().out
    assert "val micro-F1 alone: tiny-bert" in printed and "blended (tiny-bert" in printed
    config = json.loads((ensemble[0].parent.parent / "checkpoints" / "tiny-ens" / "config.json").read_text())
    best = max(config["training"]["grid"], key=lambda r: r["val_micro_f1"])
    assert config["weights"] == best["weights"] and sum(config["weights"]) == pytest.approx(1.0)
    assert len(config["training"]["grid"]) == 21

    pool = ModelPool()  # loads what was just written
    answer = pool.get("tiny-ens").predict(plot=PLOT)
    assert answer.status is Status.OK and answer.mode == "trained"
    parts = [pool.get(k).predict(plot=PLOT, mode="trained").probabilities for k in ("tiny-bert", "tiny-tfidf")]
    genres = list(answer.probabilities)
    expected = blend([torch.tensor([[p[g] for g in genres]]) for p in parts], config["weights"])[0]
    assert [answer.probabilities[g] for g in genres] == pytest.approx(expected.tolist(), abs=1e-6)
    assert answer.thresholds == pytest.approx(config["thresholds"])
    assert answer.predicted == [g for g in sorted(genres, key=lambda g: -answer.probabilities[g])
                                if answer.probabilities[g] >= config["thresholds"][g]]

    words = explain_plot(pool.get("tiny-ens"), PLOT + " " + " ".join(["town"] * 40))
    assert words.read == len(words.words)  # TF-IDF reads past the tiny BERT's 24 tokens

    report = ensemble[0].parent / "report"
    assert evaluate_cli.main(["--data", str(films), "--models", "tiny-tfidf", "tiny-ens", "--out", str(report),
                              "--cache-dir", str(cache), "--no-progress", "--num-workers", "0"]) == 0
    results = {r["name"]: r for r in json.loads((report / "evaluation.json").read_text())["results"]}
    assert results["Tiny ensemble"]["micro_f1"] == pytest.approx(config["metrics"]["test"]["micro_f1"], abs=1e-9)
    # the tfidf model is the baseline's recipe: the same answers on the same split
    for metric in ("micro_f1", "macro_ap", "hamming_loss"):
        assert results["Tiny TF-IDF"][metric] == pytest.approx(results["baseline: tfidf-logreg"][metric], abs=1e-6)
    assert "[tiny-ens] zero-shot: not evaluated: Tiny ensemble has no zero-shot mode" in capsys.readouterr().out


def test_a_retrained_member_makes_the_old_blend_refuse(ensemble, capsys):
    films, cache = ensemble
    for key in ("tiny-bert", "tiny-tfidf", "tiny-ens"):
        assert _train(films, cache, key) == 0
    assert _train(films, cache, "tiny-tfidf") == 2  # the folder holds one already
    assert "pass --out FOLDER" in capsys.readouterr().err
    assert _train(films, cache, "tiny-tfidf", "--split-seed", "1", "--overwrite") == 0
    answer = ModelPool().get("tiny-ens").predict(plot=PLOT)
    assert answer.status is Status.UNAVAILABLE
    assert "the blend was fitted on other weights of Tiny TF-IDF" in answer.message
    assert "python -m genre_models.train --model tiny-ens" in answer.message


def test_no_zero_shot_and_no_foreign_genres(ensemble):
    films, cache = ensemble
    for key in ("tiny-bert", "tiny-tfidf", "tiny-ens"):
        assert _train(films, cache, key) == 0
    predictor = ModelPool().get("tiny-ens")
    zero = predictor.predict(plot=PLOT, mode="zero-shot")
    assert zero.status is Status.UNAVAILABLE and "Tiny ensemble has no zero-shot mode" in zero.message
    custom = predictor.predict(plot=PLOT, genres=["Zombie"])
    assert custom.status is not Status.OK and "does not know Zombie" in custom.message
