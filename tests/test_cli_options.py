"""Options declared once: dataclass fields turned into argparse (cli/options.py), shared by the commands."""
from __future__ import annotations

import argparse
import dataclasses
from dataclasses import dataclass
from typing import Literal, Sequence

import pytest

from genre_models.cli import download, evaluate, predict, reproduce, train
from genre_models.cli.options import (TRAIN_FLAGS, DataOptions, ModelsOptions, add_deprecated_spelling,
                                      add_options, option, options_from)
from genre_models.training.train import TrainOptions


@dataclass
class Kinds:
    name: str = option(help="required: no default")
    quiet: bool = option(False, help="a switch")
    progress: bool = option(True, help="on unless --no-progress")
    sizes: Sequence[int] = option((8, 16), help="one or more")
    mode: Literal["a", "b"] = option("a", help="a choice")
    limit: int | None = option(None, help="optional")
    spelled: float = option(0.5, flags=("--other",), help="a flag that is not the field's name")
    left: str | None = option(None, exclusive="side", help="one side")
    right: str | None = option(None, exclusive="side", help="or the other")


def _parser(cls=Kinds, **kwargs) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="t", exit_on_error=False)
    add_options(parser, cls, **kwargs)
    return parser


def test_each_kind_of_field_becomes_its_option():
    parsed = options_from(_parser().parse_args(["--name", "x"]), Kinds)
    assert parsed == Kinds(name="x")  # every default is the field's
    given = options_from(_parser().parse_args(
        ["--name", "x", "--quiet", "--no-progress", "--sizes", "1", "2", "--mode", "b", "--limit", "3",
         "--other", "0.25", "--left", "l"]), Kinds)
    assert given == Kinds("x", True, False, [1, 2], "b", 3, 0.25, "l", None)


def test_types_choices_required_and_exclusive_are_enforced(capsys):
    parser = _parser()
    for bad in (["--sizes", "1"], ["--name", "x", "--mode", "c"], ["--name", "x", "--limit", "two"],
                ["--name", "x", "--left", "l", "--right", "r"], ["--name", "x", "--spelled", "1"]):
        with pytest.raises((SystemExit, argparse.ArgumentError)):
            parser.parse_args(bad)


@dataclass
class Source:
    ids: str | None = option(None, one_of="source", help="a list")
    basics: str | None = option(None, one_of="source", help="or a table")


def test_one_of_means_exactly_one():
    parser = _parser(Source)
    assert options_from(parser.parse_args(["--ids", "a"]), Source) == Source(ids="a")
    for bad in ([], ["--ids", "a", "--basics", "b"]):
        with pytest.raises((SystemExit, argparse.ArgumentError)):
            parser.parse_args(bad)


def test_help_shows_defaults_and_the_flags_as_spelled():
    text = _parser().format_help()
    assert "--sizes SIZES [SIZES ...]" in text and "(default: 8 16)" in text
    assert "--no-progress" in text and "--other OTHER" in text and "--spelled" not in text
    # an option without a default, and a switch, say nothing about one
    assert "(default: None)" not in text and "(default: False)" not in text and "(default: True)" not in text


def test_per_command_defaults_and_a_subset_of_fields():
    parser = _parser(only=("name", "mode"), defaults={"mode": "b"})
    assert vars(parser.parse_args(["--name", "x"])) == {"name": "x", "mode": "b"}
    with pytest.raises(ValueError, match="no field nope"):
        _parser(only=("nope",))


def test_every_train_option_has_its_cli_text_and_the_cli_defaults_are_the_librarys():
    assert set(TRAIN_FLAGS) == {f.name for f in dataclasses.fields(TrainOptions)}
    args = train.build_parser().parse_args(["--data", "films.csv", "--models", "minilm"])
    assert options_from(args, TrainOptions) == TrainOptions()
    args = train.build_parser().parse_args(["--data", "f.csv", "--models", "m", "--batch-size", "32", "64",
                                            "--lr", "0.01", "--optimizer", "sgd", "--grid", "--no-progress"])
    options = options_from(args, TrainOptions)
    assert (list(options.batch_sizes), list(options.lrs), list(options.optimizers)) == ([32, 64], [0.01], ["sgd"])
    assert options.thesis_grid and not options.progress


def test_reproduce_and_evaluate_read_the_same_train_options():
    args = reproduce.build_parser().parse_args(["--data", "f.csv", "--head", "mlp", "--epochs", "3", "--grid",
                                                "--processes", "2", "--no-progress"])
    assert options_from(args, TrainOptions) == TrainOptions(head="mlp", epochs=3, thesis_grid=True, processes=2,
                                                            progress=False)
    with pytest.raises(SystemExit):  # a whole number of at least 1
        reproduce.build_parser().parse_args(["--data", "f.csv", "--processes", "0"])
    args = evaluate.build_parser().parse_args(["--data", "f.csv", "--split-seed", "4"])
    assert (args.split_seed, args.models, args.progress) == (4, ("minilm",), True)


@pytest.mark.parametrize("build", [train.build_parser, predict.build_parser, evaluate.build_parser,
                                   reproduce.build_parser], ids=["train", "predict", "evaluate", "reproduce"])
def test_which_models_is_one_option_spelled_models_everywhere(build):
    actions = [a for a in build()._actions if a.help != argparse.SUPPRESS]
    spelled = [s for a in actions for s in a.option_strings]
    assert spelled.count("--models") == 1 and spelled.count("--model-config") == 1
    assert "--model" not in spelled and not any(not a.option_strings for a in actions)


def test_models_all_means_every_registered_model():
    assert ModelsOptions(["all"]).keys() == ModelsOptions().keys() == ModelsOptions(["all", "minilm"]).keys()
    assert ModelsOptions(["tfidf", "minilm", "tfidf"]).keys() == ["tfidf", "minilm"]


def test_an_old_spelling_works_hidden_and_says_it_is_deprecated(capsys):
    parser = argparse.ArgumentParser()
    add_options(parser, ModelsOptions)
    add_deprecated_spelling(parser, "--model", field="models", instead="--models KEY")
    add_deprecated_spelling(parser, field="models", instead="--models KEY [KEY ...]")
    assert "--model " not in parser.format_help() and "deprecated" not in parser.format_help()
    assert parser.parse_args(["--model", "minilm"]).models == ["minilm"]
    assert capsys.readouterr().err == "warning: --model is deprecated; use --models KEY\n"
    assert parser.parse_args(["tfidf", "minilm"]).models == ["tfidf", "minilm"]
    assert "giving models without --models is deprecated" in capsys.readouterr().err
    assert parser.parse_args(["--models", "tfidf"]).models == ["tfidf"]
    assert capsys.readouterr().err == ""


def test_train_takes_one_model_and_its_old_flag(tmp_path, capsys):
    assert train.main(["--data", str(tmp_path / "f.csv"), "--models", "tfidf", "minilm"]) == 2
    assert "train takes one model key per run" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_:
        train.main(["--data", str(tmp_path / "f.csv")])
    assert exit_.value.code == 2 and "required: --models" in capsys.readouterr().err
    assert train.main(["--data", str(tmp_path / "f.csv"), "--model", "nope"]) == 2
    err = capsys.readouterr().err
    assert "--model is deprecated" in err and "unknown model 'nope'" in err


def test_download_still_takes_keys_without_models(capsys):
    assert download.main(["tfidf"]) == 0
    captured = capsys.readouterr()
    assert "[tfidf]" in captured.out and "deprecated" in captured.err


def test_data_is_required():
    parser = argparse.ArgumentParser(exit_on_error=False)
    add_options(parser, DataOptions)
    with pytest.raises(SystemExit):
        parser.parse_args([])
