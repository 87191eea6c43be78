"""predict never raises; every failure is a status naming the model; one exception hierarchy."""
from __future__ import annotations

import json
import os

import pytest

import genre_models.errors as errors
from genre_models import GenreLensError, ModelPool, ModelSpec, Status, register_model
from genre_models.cli import predict as predict_cli
from genre_models.cli import train as train_cli
from genre_models.commands import command
from genre_models.comparison.compare import run_comparison
from genre_models.models.families import ModelFamily, POSTER, register_family, unregister_family
from genre_models.models.registry import unregister_model

PLOT = "a ghost haunted the house and the family fled ."


def test_unknown_mode_is_a_status_naming_the_valid_ones(tiny_models, poster):
    pred = ModelPool().get("tiny-bert").predict(plot=PLOT, mode="bogus")
    assert pred.status is Status.INVALID_INPUT
    assert "unknown mode 'bogus'" in pred.message and "zero-shot" in pred.message and "Tiny BERT" in pred.message


def test_a_loader_raising_anything_is_unavailable_and_named(tiny_models, poster, caplog):
    from dataclasses import dataclass

    @dataclass(frozen=True)
    class Nothing:
        pass

    class Exploding(ModelFamily):
        name, settings_type, inputs = "exploding", Nothing, (POSTER,)

        def load(self, spec, device):
            return {}["no such weights"]  # a KeyError: no GenreLens error type at all

    register_family(Exploding())
    register_model(ModelSpec("boom", "exploding", {}, "Boom model"))
    try:
        comparison = run_comparison(ModelPool(), ["boom", "tiny-clip-vit", "tiny-bert"], poster, PLOT)
        boom = comparison.predictions["boom"]
        assert boom.status is Status.UNAVAILABLE
        assert boom.message == "Boom model could not be loaded: KeyError: 'no such weights'"
        assert comparison.predictions["tiny-clip-vit"].ok and comparison.predictions["tiny-bert"].ok
        assert "loading failed" in caplog.text and "KeyError" in caplog.text  # logged with its traceback
    finally:
        unregister_model("boom")
        unregister_family("exploding")


def test_a_broken_extra_model_in_a_config_never_stops_the_others(tiny_models, tmp_path, capsys):
    config = tmp_path / "models.json"
    config.write_text(json.dumps({"models": [{"key": "broken-bert", "family": "hf-text",
                                              "source": "/nonexistent/folder"}]}))
    try:
        code = predict_cli.main(["--plot", PLOT, "--models", "broken-bert", "tiny-bert", "--model-config",
                                 str(config)])
        out = capsys.readouterr()
        assert code == 0 and "Traceback" not in out.out + out.err
        assert "[broken-bert] unavailable" in out.out and "[tiny-bert] zero-shot" in out.out
    finally:
        unregister_model("broken-bert")


def test_a_local_model_folder_that_does_not_load_is_not_called_missing(tiny_models, tmp_path):
    folder = tmp_path / "half-written-model"
    folder.mkdir()
    (folder / "config.json").write_text('{"model_type": "bert", ')
    register_model(ModelSpec("cut-text", "hf-text", {"source": str(folder)}, "Cut text"))
    try:
        answer = ModelPool().get("cut-text").predict(plot=PLOT)
        assert answer.status == Status.UNAVAILABLE and answer.summary == "model files unreadable"
        assert answer.message.startswith(f"Cut text: the model files in {folder} could not be read (")
        assert "not downloaded" not in answer.message
    finally:
        unregister_model("cut-text")


def test_fusion_says_which_part_failed_and_why(tiny_models, poster):
    register_model(ModelSpec("ghost-text", "hf-text", {"source": "/nonexistent/folder"}, "Ghost text"))
    register_model(ModelSpec("ghost-fusion", "fusion", {"image_model": "tiny-clip-vit", "text_model": "ghost-text"},
                             "Ghost fusion"))
    try:
        pred = ModelPool().get("ghost-fusion").predict(poster=poster, plot=PLOT)
        assert pred.status is Status.UNAVAILABLE
        assert pred.message.startswith("Ghost fusion needs both of its parts: its plot part Ghost text is "
                                       "unavailable (Ghost text: no such folder: /nonexistent/folder")
        # a part that loads but cannot answer in the asked mode: named, with its own reason
        plan_failure = ModelPool().get("tiny-fusion").predict(poster=poster, plot=PLOT, mode="trained")
        assert plan_failure.status is Status.UNAVAILABLE and "no trained genre head" in plan_failure.message
    finally:
        unregister_model("ghost-fusion")
        unregister_model("ghost-text")


def test_a_failure_inside_scoring_is_an_error_status_not_an_exception(tiny_models, poster, monkeypatch, caplog):
    predictor = ModelPool().get("tiny-clip-rn")
    predictor.load()
    monkeypatch.setattr(predictor.scorer, "probabilities", lambda *a: 1 / 0)
    pred = predictor.predict(poster=poster)
    assert pred.model_key == "tiny-clip-rn"
    assert pred.status is Status.ERROR and pred.message == "Tiny CLIP RN failed: ZeroDivisionError: division by zero"
    assert "tiny-clip-rn failed" in caplog.text and "Traceback (most recent call last)" in caplog.text


def test_train_without_a_checkpoint_folder_says_so_before_training(tiny_models, tmp_path, capsys):
    from films import write_films_csv
    register_model(ModelSpec("headless", "hf-text", tiny_models["tiny-bert"].settings, "Headless"))
    try:
        films = write_films_csv(tmp_path / "data", n=20)
        assert train_cli.main(["--data", str(films), "--models", "headless", "--no-progress"]) == 2
        assert "has no checkpoint folder" in capsys.readouterr().err
    finally:
        unregister_model("headless")


def test_training_leaves_the_pooled_predictor_alone(tiny_models, tmp_path):
    from films import write_films_csv
    from genre_models.data.films import load_dataset
    from genre_models.training import TrainOptions, train_model
    pool = ModelPool()
    before = pool.get("tiny-bert").spec
    options = TrainOptions(epochs=2, num_workers=0, progress=False, cache_dir=tmp_path / "cache")
    train_model("tiny-bert", load_dataset(write_films_csv(tmp_path / "d", n=40)), tmp_path / "out", options,
                pool=pool, log=lambda _: None)
    assert pool.get("tiny-bert").spec is before and before.checkpoint == str(tiny_models["tiny-bert"].checkpoint)


def test_every_deliberate_error_is_a_genrelens_error():
    classes = [v for v in vars(errors).values() if isinstance(v, type) and issubclass(v, Exception)]
    assert len(classes) >= 10
    assert all(issubclass(c, GenreLensError) for c in classes)
    from genre_models.data.builder.omdb import OmdbFatalError
    assert issubclass(OmdbFatalError, GenreLensError)


def test_one_line_descriptions_of_any_exception():
    from genre_models.models.predictors import describe
    assert describe(KeyError("x")) == "KeyError: 'x'"
    assert describe(RuntimeError("first line\nsecond line")) == "RuntimeError: first line"
    assert describe(ZeroDivisionError()) == "ZeroDivisionError"
    assert describe(RuntimeError("   ")) == "RuntimeError"
    assert describe(GenreLensError("ours speak for themselves")) == "ours speak for themselves"


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="/dev/full (a device every write to fails) is Linux's")
def test_a_full_disk_met_while_a_model_loads_is_said_as_such_not_as_an_oserror_with_its_path():
    """Issue 33, item 18: a cache written while loading (ConSE's embeddings) on a full disk."""
    from genre_models.models.predictors import describe
    with pytest.raises(OSError) as info:
        with open("/dev/full", "w") as handle:  # the kernel's own ENOSPC
            handle.write("x")
    assert describe(info.value) == ("the disk is full (no space left on the device): a file could not be written; "
                                    "free some space and try again")


def test_the_no_head_message_names_the_folder_and_the_way_out(tiny_models, tmp_path):
    pool = ModelPool()
    bit, bert = pool.get("tiny-bit"), pool.get("tiny-bert")
    train = "`" + command("train", "--models", "KEY", "--data", "movies.csv").replace("KEY", "{}") + "`"
    assert bit.no_head_message() == (f"Tiny BiT: no trained genre head in {tmp_path / 'checkpoints' / 'tiny-bit'}. "
                                     f"Train one: {train.format('tiny-bit')}")
    assert bert.no_head_message().endswith(f"Train one: {train.format('tiny-bert')}, or use zero-shot mode")
    register_model(ModelSpec("inside", "hf-text", tiny_models["tiny-bert"].settings, checkpoint="checkpoints/inside"))
    register_model(ModelSpec("nowhere", "hf-text", tiny_models["tiny-bert"].settings))
    try:
        inside = ModelPool().get("inside")
        assert inside.no_head_message().startswith("inside: no trained genre head in checkpoints/inside. ")
        inside.head_error = "config.json is not valid JSON"
        assert "in checkpoints/inside (config.json is not valid JSON). Train" in inside.no_head_message()
        assert ModelPool().get("nowhere").no_head_message().startswith("nowhere: no trained genre head in its "
                                                                       "checkpoint folder. Train one")
    finally:
        unregister_model("inside")
        unregister_model("nowhere")


def test_failures_carry_their_status_and_time_in_milliseconds(tiny_models):
    from genre_models import InvalidInputError, PlanError, WeightsUnavailableError
    predictor = ModelPool().get("tiny-bert")
    cases = [(WeightsUnavailableError("gone"), Status.UNAVAILABLE, "gone"),
             (PlanError("no head"), Status.UNAVAILABLE, "no head"),
             (InvalidInputError("bad plot"), Status.INVALID_INPUT, "Tiny BERT: bad plot"),
             (GenreLensError("ours"), Status.ERROR, "Tiny BERT failed: ours")]
    for exc, status, message in cases:
        pred = predictor.failure(exc, seconds=0.25)
        assert (pred.model_key, pred.status, pred.message) == ("tiny-bert", status, message)
        assert pred.latency_ms == pytest.approx(250.0)
