"""genre_models/cli/__init__.py: what every command says when the machine fails it. A full disk (issue 33, item
18) is one line naming the file, never a traceback, and leaves no half-written file: each command below runs as
a user runs it (``python -m genre_models ...``, its own process) against a real full file system (a filled
tmpfs; skipped where mounting one is not permitted)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from films import write_films_csv
from tests.support.full_disk import contents, fill, small_disk

ROOT = Path(__file__).resolve().parent.parent
PLOT = "A ghost haunts the old house where two strangers fall in love."
SAID = ("error: the disk is full (no space left on the device): {name} could not be written; "
        "free some space and try again")


@pytest.fixture
def full(tmp_path):
    with small_disk(tmp_path / "full") as disk:
        fill(disk)
        yield disk


@pytest.fixture
def setup(tmp_path, tiny_bert_dir):
    """A films CSV and a --model-config with a plot model (the tests' tiny BERT, from its folder)."""
    films = write_films_csv(tmp_path / "data", n=40, with_problems=False)
    config = tmp_path / "models.json"
    config.write_text(json.dumps({"models": [{"key": "tb", "family": "hf-text", "source": str(tiny_bert_dir),
                                              "display_name": "Tiny BERT", "checkpoint": str(tmp_path / "ckpt")}]}))
    return films, config


def _run(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    return subprocess.run([sys.executable, "-m", "genre_models", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=600)


def _said_in_one_line(done: subprocess.CompletedProcess, name: str) -> None:
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    assert done.stderr.strip().splitlines()[-1] == SAID.format(name=name)


@pytest.mark.parametrize("where", ["cache", "checkpoint"])
def test_train_on_a_full_disk_says_so_in_one_line_and_writes_nothing_half(setup, full, tmp_path, where):
    films, config = setup
    cache, out = (full / "cache", tmp_path / "out") if where == "cache" else (tmp_path / "cache", full / "tb")
    done = _run("train", "--data", str(films), "--models", "tb", "--model-config", str(config), "--cache-dir",
                str(cache), "--out", str(out), "--epochs", "2", "--num-workers", "0", "--no-progress")
    _said_in_one_line(done, "part-00000.json" if where == "cache" else "model.safetensors")
    assert [name for name in contents(full) if (full / name).is_file()] == []  # no part, no staged checkpoint
    assert not out.exists()


def test_predict_explain_on_a_full_disk_says_so_in_one_line(setup, full):
    _, config = setup
    done = _run("predict", "--plot", PLOT, "--models", "tb", "--model-config", str(config), "--explain",
                str(full / "why"), "--explain-genre", "Horror")
    _said_in_one_line(done, "tb-Horror.json")
    assert contents(full) == ["why"]  # the folder, empty
