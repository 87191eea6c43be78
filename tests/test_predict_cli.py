import json

import pytest

from genre_models.commands import command
from genre_models.predict import main

PLOT = "a ghost haunted the house and the family fled ."


def test_table_with_available_and_unavailable_models(tiny_models, poster, capsys):
    code = main(["--poster", str(poster), "--plot", PLOT, "--models", "tiny-bert", "clip-vit-b-16",
                 "bit-resnet50"])
    out = capsys.readouterr().out
    assert code == 0
    assert "tiny-bert" in out.splitlines()[0] and "Horror" in out
    assert "[clip-vit-b-16] unavailable" in out and command("download", "--models", "clip-vit-b-16") in out
    assert "[bit-resnet50] unavailable" in out


def test_json_output_and_custom_genres(tiny_models, poster, capsys):
    code = main(["--poster", str(poster), "--plot", PLOT, "--models", "tiny-clip-vit", "tiny-bert",
                 "--genres", "Horror", "science fiction", "--custom-genres", "heist, space opera", "--json"])
    data = json.loads(capsys.readouterr().out)
    assert code == 0
    assert list(data["tiny-clip-vit"]["probabilities"]) == ["Horror", "Sci-Fi", "heist", "space opera"]
    assert data["tiny-bert"]["status"] == "ok"


def test_unknown_model_and_genre_list_valid_ones(capsys):
    assert main(["--plot", PLOT, "--models", "nope"]) == 2
    err = capsys.readouterr().err
    assert "unknown model 'nope'" in err and "minilm" in err
    assert main(["--plot", PLOT, "--genres", "Spaghetti"]) == 2
    err = capsys.readouterr().err
    assert "Spaghetti" in err and "Western" in err


def test_no_model_answers_exits_1(capsys):
    assert main(["--plot", PLOT, "--models", "bert-base"]) == 1
    assert "weights not downloaded" in capsys.readouterr().out


def test_needs_some_input(capsys):
    assert main(["--models", "minilm"]) == 2


@pytest.mark.parametrize("name", ["missing.jpg", "folder"])
def test_a_poster_that_cannot_be_read_is_an_error_even_when_poster_models_are_unavailable(tmp_path, capsys, name):
    from genre_models import predict as predict_cli
    (tmp_path / "folder").mkdir()
    code = predict_cli.main(["--poster", str(tmp_path / name), "--plot", "a ghost story", "--models", "minilm",
                             "clip-vit-b-16"])
    captured = capsys.readouterr()
    assert code == 2 and captured.out == ""
    assert captured.err.startswith("error: ") and repr(name) in captured.err and str(tmp_path) not in captured.err


def test_a_plot_file_with_a_byte_order_mark_or_only_invisible_characters(tmp_path, capsys):
    only_invisible = tmp_path / "blank.txt"
    only_invisible.write_text("\ufeff\u200b \u2060\n", encoding="utf-8")
    assert main(["--plot-file", str(only_invisible), "--models", "minilm"]) == 2
    assert capsys.readouterr().err.strip() == "error: give --poster, --plot or both"
    marked = tmp_path / "plot.txt"
    marked.write_bytes(b"\xef\xbb\xbf" + "A ghost haunts a house.".encode())
    assert main(["--plot-file", str(marked), "--models", "minilm", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["minilm"]["status"] == "ok"


def test_a_broken_extra_model_is_one_line_on_stderr_and_a_traceback_only_with_verbose(tmp_path, poster):
    """Python's last-resort logging printed the loader's traceback (issue 26)."""
    import os
    import subprocess
    import sys
    from pathlib import Path
    config = tmp_path / "models.json"
    config.write_text(json.dumps({"models": [{"key": "broken", "family": "timm-image", "arch": "resnetv2_50x1_bit",
                                              "model_kwargs": {"no_such_argument": 1}, "display_name": "Broken"}]}))
    command = [sys.executable, "-m", "genre_models.predict", "--model-config", str(config), "--models", "minilm",
               "broken", "--poster", str(poster), "--plot", PLOT]
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    root = Path(__file__).resolve().parent.parent
    quiet = subprocess.run(command, env=env, cwd=root, capture_output=True, text=True, timeout=300)
    assert quiet.returncode == 0 and "[broken] unavailable - Broken could not be loaded: TypeError" in quiet.stdout
    assert "Traceback" not in quiet.stderr
    assert quiet.stderr.strip().splitlines() == [
        "error: broken: loading failed (TypeError: ResNetV2.__init__() got an unexpected keyword argument "
        "'no_such_argument')"]
    verbose = subprocess.run(command + ["--verbose"], env=env, cwd=root, capture_output=True, text=True, timeout=300)
    assert verbose.returncode == 0 and "Traceback (most recent call last)" in verbose.stderr


def test_the_table_names_how_a_model_answered_zero_shot_when_it_is_not_prompt_similarity():
    from genre_models.cli.predict import format_table
    from genre_models.models.prediction import Prediction
    conse = Prediction.from_probabilities("cnn", {"Horror": 0.7}, {"Horror": 0.5}, mode="zero-shot", latency_ms=3,
                                          method="ConSE, ImageNet-21k labels")
    clip = Prediction.from_probabilities("clip", {"Horror": 0.2}, {"Horror": 0.5}, mode="zero-shot", latency_ms=4)
    lines = format_table({"cnn": conse, "clip": clip}).splitlines()
    assert "[cnn] zero-shot (ConSE, ImageNet-21k labels), 3 ms" in lines and "[clip] zero-shot, 4 ms" in lines


def test_the_poster_and_plot_are_read_once_for_every_model(tiny_models, poster, monkeypatch, capsys):
    from genre_models.data import inputs
    reads = {"poster": 0, "plot": 0}
    load_poster, clean_plot = inputs.load_poster, inputs.clean_plot

    def counting_load(*args, **kwargs):
        reads["poster"] += 1
        return load_poster(*args, **kwargs)

    def counting_clean(*args, **kwargs):
        reads["plot"] += 1
        return clean_plot(*args, **kwargs)

    from genre_models.cli import predict as predict_cli
    for module in (inputs, predict_cli):  # wherever the command might call them from
        monkeypatch.setattr(module, "load_poster", counting_load, raising=False)
        monkeypatch.setattr(module, "clean_plot", counting_clean, raising=False)
    code = main(["--poster", str(poster), "--plot", PLOT, "--models", "tiny-clip-vit", "tiny-bert", "--json"])
    data = json.loads(capsys.readouterr().out)
    assert code == 0 and {p["status"] for p in data.values()} == {"ok"}
    assert reads == {"poster": 1, "plot": 1}
