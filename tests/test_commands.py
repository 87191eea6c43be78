"""The commands GenreLens shows (genre_models/commands.py) run as pasted into a new terminal (issue 35, item 2)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from genre_models import ModelPool, Status
from genre_models.commands import command, interpreter

ROOT = Path(__file__).resolve().parent.parent


def _new_terminal() -> dict:
    """A fresh shell's environment: this one's PATH without the running environment's own bin folder (a
    terminal where nothing was activated) and no PYTHONPATH."""
    own = os.path.dirname(os.path.abspath(sys.executable))
    path = os.pathsep.join(p for p in os.environ.get("PATH", "").split(os.pathsep) if p and os.path.abspath(p) != own)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    return {**env, "PATH": path or os.defpath, "HF_HUB_OFFLINE": "1"}


def test_a_cards_fix_runs_as_pasted_from_the_repository_folder():
    answer = ModelPool().get("clip-vit-b-16").predict(plot=None, poster=str(ROOT / "assets" / "posters" / "the_kid_1921.jpg"))
    assert answer.status is Status.UNAVAILABLE and answer.fix == command("download", "--models", "clip-vit-b-16")
    ran = subprocess.run(["bash", "-c", answer.fix], cwd=ROOT, env=_new_terminal(), capture_output=True, text=True,
                         timeout=300)
    # offline, download says what it would fetch: the command itself ran, in GenreLens' own environment
    assert "Traceback" not in ran.stderr and "ModuleNotFoundError" not in ran.stderr, ran.stderr
    assert ran.returncode == 1 and "cannot be reached" in ran.stderr and "clip-vit-b-16" in ran.stderr, ran.stderr


def test_the_interpreter_is_named_from_the_repository_folder_where_it_lives_there(monkeypatch, tmp_path):
    inside = ROOT / ".venv" / "bin" / "python"
    outside = tmp_path / "envs" / "x" / "bin" / "python"
    outside.parent.mkdir(parents=True)
    outside.symlink_to(sys.executable)
    try:
        for executable, expected in ((str(inside), ".venv/bin/python"), (str(outside), str(outside))):
            monkeypatch.setattr(sys, "executable", executable)
            interpreter.cache_clear()
            assert command("train", "--models", "a b") == f"{expected} -m genre_models train --models 'a b'"
        # the interpreter that `python3` on the PATH starts: named as typed
        monkeypatch.setenv("PATH", str(outside.parent))
        outside.with_name("python3").symlink_to(sys.executable)
        monkeypatch.setattr(sys, "executable", str(outside.with_name("python3")))
        interpreter.cache_clear()
        assert interpreter() == "python3"
    finally:
        interpreter.cache_clear()


@pytest.mark.parametrize("text", ["hf-hub:org/name", "timm/resnet50.a1_in1k", "org/name.v2"])
def test_hub_ids_need_no_quoting_and_odd_text_is_quoted(text):
    assert command("download", "--models", text).endswith(f" --models {text}")
    assert command("download", "--models", "a;rm -rf ~").endswith("--models 'a;rm -rf ~'")
