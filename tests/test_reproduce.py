"""`python -m genre_models.reproduce` end to end on tiny models: every stage through the real code."""
from __future__ import annotations

import json

from genre_models import reproduce as reproduce_cli
from genre_models.models.checkpoint import read_config
from genre_models.models.registry import get_model_spec
from genre_models.training.reproduce import THESIS_FIGURES
from films import write_films_csv

FAST = ["--epochs", "3", "--no-progress", "--num-workers", "0"]
LINEUP = ["tiny-clip-vit", "tiny-bit", "tiny-bert", "tiny-fusion"]


def _run(tmp_path, films, *extra):
    out = tmp_path / "repro"
    code = reproduce_cli.main(["--data", str(films), "--out", str(out), "--cache-dir", str(tmp_path / "cache"),
                               *FAST, *extra])
    return code, out


def test_every_stage_runs_and_writes_the_thesis_table(tiny_models, tmp_path, capsys):
    films = write_films_csv(tmp_path / "data", n=80)
    code, out = _run(tmp_path, films, "--models", "tiny-fusion", "tiny-bit", "--subset", "both", "--limit", "70")
    printed = capsys.readouterr()
    assert code == 0, printed.err
    # films without a poster or a plot were left out first, then the first 70 kept
    subset = int(printed.out.split("using the ", 1)[1].split(" films with poster and plot")[0])
    assert 70 < subset < 80 and "using the first 70 films (--limit)" in printed.out
    result = json.loads((out / "reproduce.json").read_text())
    # fusion's parts were added before it; every model got a head written through the train path
    for key in ("tiny-clip-vit", "tiny-bert", "tiny-bit", "tiny-fusion"):
        config = read_config(out / key)
        assert config["model_key"] == key and config["metrics"]["test"]["micro_f1"] >= 0
        # the registry now points at the new heads, so evaluation read them
        assert get_model_spec(key).checkpoint == str(out / key)
        card = (out / key / "README.md").read_text()  # a model card per key, the command and its rows
        assert f"Command: `python -m genre_models.reproduce" in card and f"| {get_model_spec(key).name} | trained |" in card
    stages = {(t["stage"], t["model"]) for t in result["times"]}
    assert {("features", "tiny-clip-vit"), ("features", "tiny-bert"), ("features", "tiny-bit"),
            ("train head", "tiny-fusion"), ("evaluate (+ baselines)", "all")} <= stages
    rows = {(r["name"], r["mode"]) for r in result["results"]}
    assert ("Tiny BiT", "trained") in rows and ("Tiny CLIP ViT", "zero-shot") in rows
    assert ("Tiny fusion", "trained") in rows and ("baseline: all-negative", "baseline") in rows
    # only films with both inputs (80 written, some lack a poster or a plot), then the first 70 of them
    used = result["data"]["rows"]
    assert used == 70 and sum(result["split_sizes"].values()) == used
    table = (out / "reproduce.md").read_text()
    assert "| Tiny BiT | trained | poster |" in table and "Hamming loss" in table and "mAP" in table
    # one test set (--subset both): each baseline once, not once per input kind
    assert table.count("| baseline: all-negative |") == 1
    for r in result["results"]:
        assert abs(r["label_accuracy"] + r["hamming_loss"] - 1) < 1e-9


def test_rerun_encodes_nothing_again(tiny_models, tmp_path, capsys):
    films = write_films_csv(tmp_path / "data", n=60)
    assert _run(tmp_path, films, "--models", "tiny-bert")[0] == 0
    capsys.readouterr()
    code, out = _run(tmp_path, films, "--models", "tiny-bert")
    assert code == 0
    assert "[tiny-bert] features: 0 films encoded" in capsys.readouterr().out
    features = [t for t in json.loads((out / "reproduce.json").read_text())["times"] if t["stage"] == "features"]
    assert features == [{"stage": "features", "model": "tiny-bert", "seconds": features[0]["seconds"],
                         "items": 0, "ms_per_item": None}]


def test_thesis_figures_are_labelled_as_the_thesis(tiny_models, tmp_path):
    from genre_models import ModelSpec
    from genre_models.models.registry import register_model
    films = write_films_csv(tmp_path / "data", n=60)
    # the table's thesis column is keyed by model key: run a tiny model under the thesis model's key
    real = get_model_spec("bit-resnet50")
    try:
        register_model(ModelSpec("bit-resnet50", "timm-image", get_model_spec("tiny-bit").settings, real.name),
                       overwrite=True)
        code, out = _run(tmp_path, films, "--models", "bit-resnet50")
    finally:
        register_model(real, overwrite=True)
    assert code == 0
    table = (out / "reproduce.md").read_text()
    row = next(line for line in table.splitlines() if line.startswith(f"| {real.name} | trained"))
    assert row.endswith(f"| label acc. {THESIS_FIGURES['bit-resnet50']['label_accuracy']:.4g} |")
    assert "thesis reported" in table and "not measured here" in table


def test_missing_weights_skip_one_model_and_say_so(tiny_models, tmp_path, capsys):
    from genre_models import ModelSpec
    from genre_models.models.registry import register_model, unregister_model
    films = write_films_csv(tmp_path / "data", n=60)
    # open_clip is asked for an 'openai' tag this tiny architecture has no weights for: offline, not cached
    register_model(ModelSpec("tiny-missing", "clip", {"arch": "tiny-vit-test", "pretrained": "openai",
                                                      "model_kwargs": {"force_quick_gelu": True}},
                             "Missing"), overwrite=True)
    try:
        code, out = _run(tmp_path, films, "--models", "tiny-missing", "tiny-bert")
    finally:
        unregister_model("tiny-missing")
    assert code == 1
    result = json.loads((out / "reproduce.json").read_text())
    assert list(result["skipped"]) == ["tiny-missing"]
    assert {r["name"] for r in result["results"] if r["mode"] != "baseline"} == {"Tiny BERT"}
    assert "## Not run" in (out / "reproduce.md").read_text()
    assert "tiny-missing" in capsys.readouterr().out


def test_ctrl_c_is_one_line_and_exit_130(tmp_path):
    """Ctrl+C at a point the test knows, not at a moment it guesses: the films CSV is a named pipe, and the
    command is interrupted while it waits to read it. The readiness signal is the pipe itself: opening its
    write end without blocking fails (ENXIO) until the command has opened it to read. (Waiting for a
    printed line raced the command: a whole run takes seconds, so under load the signal could land
    while it was importing libraries, or after it had finished.)"""
    import errno
    import os
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path
    fifo = tmp_path / "films.csv"
    os.mkfifo(fifo)
    root = Path(__file__).resolve().parent.parent
    # the command's own environment: nothing an earlier test left in os.environ (a heads repo, a hub endpoint),
    # and SIGINT at its default, whatever this process inherited; its output goes to files, so a process it
    # may have started cannot hold a pipe open after it has exited
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GENRELENS_", "HF_", "GRADIO_"))}
    err_file = tmp_path / "stderr.txt"
    with open(err_file, "w") as err_handle:
        process = subprocess.Popen([sys.executable, "-m", "genre_models.reproduce", "--data", str(fifo), "--models",
                                    "minilm", "--out", str(tmp_path / "out"), "--cache-dir", str(tmp_path / "cache"),
                                    "--no-progress"], cwd=root, env={**env, "HF_HUB_OFFLINE": "1"},
                                   stdout=subprocess.DEVNULL, stderr=err_handle,
                                   preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    writer, deadline = None, time.monotonic() + 120
    while writer is None:
        try:
            writer = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)  # succeeds once the command reads the pipe
        except OSError as exc:
            assert exc.errno == errno.ENXIO and process.poll() is None and time.monotonic() < deadline, \
                err_file.read_text() if process.poll() is not None else "the command never read --data"
            time.sleep(0.05)
    try:
        process.send_signal(signal.SIGINT)  # it is reading the CSV: the pipe is open and no line has come
        try:
            process.wait(timeout=120)
        except subprocess.TimeoutExpired:
            process.kill()
            raise AssertionError(f"still running 120 s after Ctrl+C; its stderr: {err_file.read_text()[-2000:]}")
    finally:
        os.close(writer)
    err = err_file.read_text()
    assert process.returncode == 130, err
    assert err.strip().splitlines() == ["interrupted (Ctrl+C)"]


def test_an_ensemble_brings_its_members_and_is_fitted_after_them(tiny_models, tmp_path, capsys):
    from conftest import registered
    from test_ensemble import ensemble_specs
    films = write_films_csv(tmp_path / "data", n=80)
    with registered(ensemble_specs(tmp_path / "elsewhere")):
        code, out = _run(tmp_path, films, "--models", "tiny-ens")
        assert code == 0, capsys.readouterr().err
    result = json.loads((out / "reproduce.json").read_text())
    stages = [(t["stage"], t["model"]) for t in result["times"]]
    # TF-IDF has no backbone features; both members are trained before the blend is fitted on them
    assert ("features", "tiny-bert") in stages and not any(m == "tiny-tfidf" for s, m in stages if s == "features")
    assert stages.index(("train head", "tiny-bert")) < stages.index(("fit blend", "tiny-ens"))
    assert stages.index(("train", "tiny-tfidf")) < stages.index(("fit blend", "tiny-ens"))
    assert read_config(out / "tiny-ens")["members"] == ["tiny-bert", "tiny-tfidf"]
    rows = {(r["name"], r["mode"]) for r in result["results"]}
    assert {("Tiny ensemble", "trained"), ("Tiny TF-IDF", "trained"), ("Tiny BERT", "trained")} <= rows
    assert result["skipped"] == {}
