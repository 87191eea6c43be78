"""train/evaluate CLIs called through main(argv) on a small CSV written by the test."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from genre_models import ModelPool, Status
from genre_models import evaluate as evaluate_cli
from genre_models import train as train_cli
from genre_models.models.checkpoint import read_config
from genre_models.data.films import load_dataset
from genre_models.training import extract
from genre_models.training.feature_cache import FeatureCache
from films import write_films_csv

FAST = ["--epochs", "4", "--patience", "2", "--no-progress", "--num-workers", "0"]


@pytest.fixture
def films(tmp_path):
    return write_films_csv(tmp_path / "data", n=80)


def _train(tmp_path, films, key, *extra):
    out = tmp_path / "checkpoints" / key
    code = train_cli.main(["--data", str(films), "--models", key, "--out", str(out),
                           "--cache-dir", str(tmp_path / "cache"), *FAST, *extra])
    assert code == 0
    return out


def test_grid_trains_saves_reloads_and_evaluates(tiny_models, tmp_path, films, capsys):
    out = _train(tmp_path, films, "tiny-bert", "--lr", "1e-2", "1e-3", "--head", "mlp", "--hidden", "16")
    printed = capsys.readouterr().out
    assert "unknown genres ignored: 'Spaghetti' (1)" in printed and "duplicate ids" in printed
    assert "grid (validation micro-F1" in printed and printed.count("micro-F1 0.") >= 2
    config = read_config(out)
    assert len(config["training"]["grid"]) == 2
    assert config["training"]["command"].startswith("python -m genre_models.train --data")
    assert config["data"]["split_seed"] == 0 and config["data"]["rows"] == 80
    assert set(config["metrics"]["test"]) >= {"label_accuracy", "micro_f1", "macro_ap", "hamming_loss"}

    # the predictor picks the head up from its checkpoint folder
    pred = ModelPool().get("tiny-bert").predict(plot="ghost haunted house .")
    assert pred.status is Status.OK and pred.mode == "trained"

    report = tmp_path / "report"
    assert evaluate_cli.main(["--data", str(films), "--models", "tiny-bert", "--out", str(report),
                              "--cache-dir", str(tmp_path / "cache"), "--no-progress",
                              "--num-workers", "0"]) == 0
    printed = capsys.readouterr().out
    results = json.loads((report / "evaluation.json").read_text())["results"]
    trained = next(r for r in results if r["mode"] == "trained")
    # evaluation reproduces the numbers the checkpoint recorded, on the same split
    for key, value in config["metrics"]["test"].items():
        assert trained[key] == pytest.approx(value, abs=1e-9), key
    names = {r["name"] for r in results}
    assert {"baseline: all-negative", "baseline: label-prior", "baseline: tfidf-logreg"} <= names
    assert any(r["mode"] == "zero-shot" for r in results)
    markdown = (report / "evaluation.md").read_text()
    assert "| Tiny BERT | trained |" in markdown and "micro-F1" in markdown
    assert (report / "per_genre_f1.png").stat().st_size > 1000
    assert "same data and split" in printed


def test_cached_features_are_reused(tiny_models, tmp_path, films, monkeypatch):
    _train(tmp_path, films, "tiny-clip-vit")
    monkeypatch.setattr(extract, "encode", lambda *a, **k: pytest.fail("features recomputed"))
    _train(tmp_path, films, "tiny-clip-vit", "--lr", "3e-3")


def test_interrupted_feature_run_resumes(tiny_models, tmp_path, films, monkeypatch):
    import genre_models.training.feature_cache as features
    from genre_models.models.predictors import FeatureRequest
    monkeypatch.setattr(features, "PART_SIZE", 16)
    dataset = load_dataset(films)
    predictor = ModelPool().get("tiny-bert")
    cache = FeatureCache(tmp_path / "cache")
    real = extract.encode
    calls = []

    def flaky(*args, **kwargs):
        calls.append(len(args[2]))
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(extract, "encode", flaky)
    with pytest.raises(KeyboardInterrupt):
        cache.features(FeatureRequest(predictor, "plot", False), dataset, progress=False)
    monkeypatch.setattr(extract, "encode", real)
    x, mask = cache.features(FeatureRequest(predictor, "plot", False), dataset, progress=False)
    assert cache.computed == mask.sum() - 32  # two parts of 16 were kept from the first run
    assert mask.sum() == 79  # one film has an empty plot


@pytest.mark.parametrize("key", ["tiny-bit", "tiny-clip-rn", "tiny-fusion"])
def test_poster_and_fusion_heads_train(tiny_models, tmp_path, films, key):
    out = _train(tmp_path, films, key, "--head", "linear")
    config = read_config(out)
    assert config["data"]["train_rows"] < 80  # only films with a (readable) poster
    assert ModelPool().get(key).checkpoint is None  # trained into --out, not the model's folder


def test_finetune_saves_a_partial_fp16_backbone(tiny_models, tmp_path, films, capsys):
    spec = tiny_models["tiny-bert"]
    out = spec.checkpoint_dir()
    assert train_cli.main(["--data", str(films), "--models", "tiny-bert", "--finetune", "--finetune-epochs", "1",
                           "--batch-size", "16", "--cache-dir", str(tmp_path / "cache"), "--no-progress"]) == 0
    config = read_config(out)
    assert config["finetuned_backbone"] == "backbone.safetensors" and config["training"]["finetune"]
    from safetensors.torch import load_file
    tensors = load_file(str(out / "backbone.safetensors"))
    assert not any(k.startswith("embeddings.word_embeddings") for k in tensors)  # frozen, not stored
    assert all(t.dtype == torch.float16 for t in tensors.values() if t.is_floating_point())
    predictor = ModelPool().get("tiny-bert")
    predictor.load()
    assert predictor.trained_encoder is not predictor.encoder
    assert predictor.predict(plot="love two strangers fall .").mode == "trained"
    capsys.readouterr()
    assert evaluate_cli.main(["--data", str(films), "--models", "tiny-bert", "--modes", "trained",
                              "--baselines", "--out", str(tmp_path / "r"), "--cache-dir", str(tmp_path / "cache"),
                              "--no-progress"]) == 0
    result = json.loads((tmp_path / "r" / "evaluation.json").read_text())["results"][0]
    assert result["micro_f1"] == pytest.approx(config["metrics"]["test"]["micro_f1"], abs=1e-6)
    # a backbone file that is not the one trained with the head is refused, zero-shot still answers
    (out / "backbone.safetensors").write_bytes((out / "backbone.safetensors").read_bytes()[:-8] + b"\0" * 8)
    tampered = ModelPool().get("tiny-bert")
    pred = tampered.predict(plot="love two strangers fall .")
    assert pred.mode == "zero-shot" and "does not match the sha256" in pred.message
    # a later head trained without --finetune into the same folder does not keep the old backbone
    assert train_cli.main(["--data", str(films), "--models", "tiny-bert", "--cache-dir", str(tmp_path / "cache"),
                           "--overwrite", *FAST]) == 0
    assert not (out / "backbone.safetensors").exists()
    assert ModelPool().get("tiny-bert").predict(plot="love two strangers fall .").mode == "trained"


def test_usage_errors(tmp_path, films, capsys):
    assert train_cli.main(["--data", str(films), "--models", "nope"]) == 2
    assert "Valid models" in capsys.readouterr().err
    # the model is checked before the data is read
    assert train_cli.main(["--data", str(tmp_path / "missing.csv"), "--models", "nope"]) == 2
    assert "Valid models" in capsys.readouterr().err
    assert train_cli.main(["--data", str(films), "--models", "clip-vit-b-16", "--finetune"]) == 2
    capsys.readouterr()
    assert train_cli.main(["--data", str(films), "--models", "minilm", "--out", str(tmp_path / "o"),
                           "--finetune", "--layer-decay", "1.5"]) == 2
    assert "--layer-decay must be above 0 and at most 1, got 1.5" in capsys.readouterr().err
    assert train_cli.main(["--data", str(films), "--models", "minilm", "--out", str(tmp_path / "o"),
                           "--finetune", "--finetune-patience", "0"]) == 2
    assert "--finetune-patience must be at least 1 epoch" in capsys.readouterr().err
    assert evaluate_cli.main(["--data", str(tmp_path / "missing.csv")]) == 2
    # weights that are not on this machine: a clear message, no traceback
    assert train_cli.main(["--data", str(films), "--models", "bit-resnet50", "--no-progress"]) == 1
    assert "weights not downloaded" in capsys.readouterr().err


def test_fusion_evaluates_learned_and_late(tiny_models, tmp_path, films):
    assert train_cli.main(["--data", str(films), "--models", "tiny-fusion", "--cache-dir", str(tmp_path / "cache"),
                           *FAST]) == 0
    report = tmp_path / "report"
    assert evaluate_cli.main(["--data", str(films), "--models", "tiny-fusion", "--baselines", "all-negative",
                              "--out", str(report), "--cache-dir", str(tmp_path / "cache"), "--no-progress",
                              "--num-workers", "0"]) == 0
    results = json.loads((report / "evaluation.json").read_text())["results"]
    late = "late fusion (zero-shot poster, zero-shot plot, poster weight 0.5)"
    assert [(r["mode"], r["subset"]) for r in results] == [("trained", "both"), (late, "both"), ("baseline", "both")]
    recorded = read_config(tiny_models["tiny-fusion"].checkpoint_dir())["metrics"]["test"]["micro_f1"]
    assert results[0]["micro_f1"] == pytest.approx(recorded, abs=1e-9)


@pytest.mark.parametrize("rows", ["", "1,a,2000,Nothing,a plot about nothing,\n"])
def test_evaluate_without_usable_films_is_one_line(tmp_path, capsys, rows):
    data = tmp_path / "films.csv"
    data.write_text("id,title,year,genres,plot,poster\n" + rows)
    code = evaluate_cli.main(["--data", str(data), "--models", "minilm", "--out", str(tmp_path / "out"),
                              "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error: ") and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_the_models_own_head_is_replaced_only_with_overwrite(tiny_models, tmp_path, films, capsys):
    from genre_models.models.registry import get_model_spec
    folder = get_model_spec("tiny-bert").checkpoint_dir()
    args = ["--data", str(films), "--models", "tiny-bert", "--cache-dir", str(tmp_path / "cache"), *FAST]
    assert train_cli.main(args) == 0  # an empty folder: written
    before = (folder / "model.safetensors").read_bytes()
    capsys.readouterr()
    assert train_cli.main(args + ["--seed", "1"]) == 2
    err = capsys.readouterr().err
    assert "already holds a trained head for tiny-bert; pass --out FOLDER" in err and "--overwrite" in err
    assert (folder / "model.safetensors").read_bytes() == before  # untouched
    assert train_cli.main(args + ["--seed", "1", "--overwrite"]) == 0
    assert (folder / "model.safetensors").read_bytes() != before


def test_a_pool_of_csvs_trains_and_is_reported_per_source(tiny_models, tmp_path, films, capsys):
    from films import write_second_source
    second = write_second_source(tmp_path / "more", n=60)
    out = _train(tmp_path, films, "tiny-bert", "--data", str(films), str(second))  # the last --data wins
    assert out == tiny_models["tiny-bert"].checkpoint_dir()
    data = read_config(out)["data"]
    assert [f["rows"] for f in data["files"]] == [80, 60]
    assert evaluate_cli.main(["--data", str(films), str(second), "--models", "tiny-bert", "--modes", "trained",
                              "--baselines", "all-negative", "--out", str(tmp_path / "r"),
                              "--cache-dir", str(tmp_path / "cache"), "--no-progress"]) == 0
    results = json.loads((tmp_path / "r" / "evaluation.json").read_text())["results"]
    for row in results:
        parts = row["by_source"]
        assert set(parts) == {"films.csv", "second.csv"}
        assert sum(p["films"] for p in parts.values()) == row["films"]
    model = next(r for r in results if r["mode"] == "trained")
    # each file's rows scored alone: the pooled micro-F1 lies between the two files'
    low, high = sorted(p["micro_f1"] for p in model["by_source"].values())
    assert low <= model["micro_f1"] <= high
    assert "## Test split by source file" in (tmp_path / "r" / "evaluation.md").read_text()
    # a file's rows are exactly its own test split: the same checkpoint on that file alone agrees
    assert evaluate_cli.main(["--data", str(films), "--models", "tiny-bert", "--modes", "trained", "--baselines",
                              "--out", str(tmp_path / "alone"), "--cache-dir", str(tmp_path / "cache"),
                              "--no-progress"]) == 0
    alone = json.loads((tmp_path / "alone" / "evaluation.json").read_text())["results"][0]
    assert alone["films"] == model["by_source"]["films.csv"]["films"]
    assert alone["micro_f1"] == pytest.approx(model["by_source"]["films.csv"]["micro_f1"], abs=1e-9)
    # and the baselines' rows too: predicting nothing, a genre's AP is its share of that file's test films
    from genre_models.data.films import load_datasets, split_dataset
    test = split_dataset(load_datasets([films, second]))["test"]
    negative = next(r for r in results if r["name"] == "baseline: all-negative")
    for source, part in negative["by_source"].items():
        y = test.labels()[(test.frame["source"] == source).to_numpy() & test.frame["plot"].notna().to_numpy()]
        assert part["macro_ap"] == pytest.approx(y[:, y.sum(0) > 0].mean(0).mean())
    # the model card is written from the checkpoint's config and that report, figures included
    import runpy
    card_tool = runpy.run_path(str(Path(__file__).resolve().parent.parent / "tools" / "model_card.py"))
    assert card_tool["main"]([str(out), str(tmp_path / "r" / "evaluation.json"), "--machine", "2 test cores"]) == 0
    card = (out / "README.md").read_text()
    trained = model["by_source"]["second.csv"]
    assert f"| {model['name']} (trained) | {trained['films']} | {trained['micro_f1']:.4f} |" in card
    assert "`second.csv`:" in card and "; 2 test cores." in card and "## Zero-shot calibration" in card


def test_a_report_shows_one_row_per_set_of_answers_and_one_bracket_per_label(tmp_path):
    from genre_models.training.report import Report, Result
    per_genre = {"Horror": {"f1": 0.5, "ap": 0.6, "support": 3}}
    metrics = {"label_accuracy": 0.9, "hamming_loss": 0.1, "subset_accuracy": 0.2, "micro_f1": 0.58,
               "macro_f1": 0.54, "samples_f1": 0.57, "macro_ap": 0.54, "per_genre": per_genre}
    model = Result("TF-IDF + LR (plot)", "trained", "plot", 10, "checkpoint", dict(metrics))
    twin = Result("baseline: tfidf-logreg", "baseline", "plot", 10, "tuned on val", dict(metrics))
    other = Result("baseline: label-prior", "baseline", "plot", 10, "tuned on val", {**metrics, "micro_f1": 0.2})
    report = Report([model, twin, other], {"file": "f.csv", "rows": 10, "sha256": "x"}, 0, {"test": 10}, "cmd")
    text = report.markdown()
    rows = [line for line in text.splitlines() if line.startswith("| ") and "0.9000" in line]
    assert [r.split(" | ")[0] for r in rows] == ["| TF-IDF + LR (plot)", "| baseline: label-prior"]
    assert "baseline: tfidf-logreg gives exactly the answers of TF-IDF + LR (plot)" in text
    assert "label accuracy near the share of positive labels" in text  # the label-prior row is explained
    assert model.label == "TF-IDF + LR (plot, trained)" and Result("X", "zero-shot", "plot", 1, "", {}).label == "X (zero-shot)"
    assert "(plot) (trained)" not in text
    # rendering again from the JSON gives the same report
    report.write(tmp_path)
    assert Report.from_json(tmp_path / "evaluation.json").markdown() == text
