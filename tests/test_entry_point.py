"""One entry point (`python -m genre_models <command>`, installed as `genre-models`) over every command's main."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

from genre_models.__main__ import COMMANDS, main

ROOT = Path(__file__).resolve().parent.parent
PLOT = "A lone cowboy rides into a lawless frontier town and faces the outlaw gang."


def test_help_lists_every_command_and_an_unknown_one_is_one_line(capsys):
    assert main(["--help"]) == 0
    listed = capsys.readouterr().out
    assert all(f"  {name}" in listed for name in COMMANDS)
    assert main(["bogus"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"error: unknown command 'bogus'; valid: {', '.join(COMMANDS)}"
    assert main([]) == 2 and "usage:" in capsys.readouterr().err


def test_every_commands_help_names_the_one_entry_point_and_exits_0(capsys):
    for name in COMMANDS:
        try:
            code = main([name, "--help"])
        except SystemExit as exc:  # argparse's --help ends with exit(0); dataset's main returns 0
            code = exc.code
        assert code in (0, None), name
        out = capsys.readouterr().out
        assert f"usage: python -m genre_models {name}" in out, (name, out[:200])


def test_a_command_runs_the_same_main_as_its_own_module():
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    args = ["predict", "--models", "tfidf", "--plot", PLOT, "--json"]
    one = subprocess.run([sys.executable, "-m", "genre_models", *args], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=300)
    own = subprocess.run([sys.executable, "-m", "genre_models.predict", *args[1:]], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=300)
    assert one.returncode == own.returncode == 0, one.stderr
    answers = [json.loads(run.stdout)["tfidf"] for run in (one, own)]
    for answer in answers:
        answer.pop("latency_ms")  # the one field that differs between two runs
    assert answers[0] == answers[1] and answers[0]["status"] == "ok"


def test_pip_install_gives_the_genre_models_command(tmp_path):
    """`pip install -e .` builds (setuptools from pyproject.toml) and installs the `genre-models` script.
    Dependencies are this environment's (--no-deps): installing torch again would take minutes."""
    leftover = ROOT / "genrelens.egg-info"
    existed = leftover.exists()
    subprocess.run([sys.executable, "-m", "venv", str(tmp_path / "venv")], check=True, timeout=300)
    pip = subprocess.run([str(tmp_path / "venv" / "bin" / "pip"), "install", "-q", "--no-deps", "-e", str(ROOT)],
                         capture_output=True, text=True, timeout=600)
    try:
        assert pip.returncode == 0, pip.stderr
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": sysconfig.get_paths()["purelib"]}
        script = subprocess.run([str(tmp_path / "venv" / "bin" / "genre-models"), "--help"], cwd=tmp_path, env=env,
                                capture_output=True, text=True, timeout=300)
        assert script.returncode == 0, script.stderr
        assert all(f"  {name}" in script.stdout for name in COMMANDS)
    finally:
        if not existed:
            shutil.rmtree(leftover, ignore_errors=True)
