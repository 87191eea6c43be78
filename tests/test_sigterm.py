"""SIGTERM (what a Space, ``docker stop`` or a service manager sends) ends the app and every command as Ctrl+C
does: worker processes stopped, session folders removed; and an app killed outright has its folders swept at
the next start (issue 33, items 3 and 4). Real processes, real signals."""
from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from genre_models.session_files import PREFIX
from films import write_films_csv
from tests.support.app_launcher import AppProcess
from tests.support.processes import descendants, left_alive

ROOT = Path(__file__).resolve().parent.parent


def _env(**extra) -> dict:
    """The command's own environment: nothing an earlier test left (a heads repo, a hub endpoint)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GENRELENS_", "HF_", "GRADIO_"))}
    return {**env, "HF_HUB_OFFLINE": "1", **extra}


def _command(args: list[str], tmp_path: Path) -> tuple[subprocess.Popen, Path]:
    err = tmp_path / "stderr.txt"
    with open(err, "w") as handle:  # a file, not a pipe: an orphan cannot hold the test's pipe open
        process = subprocess.Popen([sys.executable, "-m", "genre_models", *args], cwd=ROOT, env=_env(),
                                   stdout=subprocess.DEVNULL, stderr=handle)
    return process, err


def _wait_for(process: subprocess.Popen, condition, seconds: float, what: str, err: Path):
    deadline = time.monotonic() + seconds
    while not (found := condition()):  # a descriptor, a set of processes, True
        assert process.poll() is None, f"the command ended before {what}: {err.read_text()[-2000:]}"
        assert time.monotonic() < deadline, f"no {what} within {seconds:.0f} s"
        time.sleep(0.02)
    return found


def _sigterm(process: subprocess.Popen, err: Path, timeout: float = 120) -> str:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        raise AssertionError(f"still running {timeout:.0f} s after SIGTERM: {err.read_text()[-2000:]}")
    return err.read_text()




def test_a_command_stopped_by_sigterm_says_so_in_one_line_and_exits_143(tmp_path):
    """Stopped at a point the test knows: the films CSV is a named pipe the command waits to read."""
    fifo = tmp_path / "films.csv"
    os.mkfifo(fifo)
    process, err = _command(["train", "--data", str(fifo), "--models", "tfidf", "--out", str(tmp_path / "out"),
                             "--cache-dir", str(tmp_path / "cache"), "--no-progress"], tmp_path)

    def reading():  # opening the write end without blocking fails (ENXIO) until the command reads the pipe
        try:
            return os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
        except OSError as exc:
            assert exc.errno == errno.ENXIO
            return None
    writer = _wait_for(process, reading, 180, "read of --data", err)
    try:
        printed = _sigterm(process, err)
    finally:
        os.close(writer)
    assert process.returncode == 143, printed
    assert printed.strip().splitlines() == ["stopped (SIGTERM)"]
    assert not (tmp_path / "out").exists()


def test_train_stopped_by_sigterm_leaves_no_joblib_worker(tmp_path):
    """TF-IDF + LR fits one classifier per genre in scikit-learn's joblib (loky) pool; SIGTERM comes once its
    workers exist, while it fits or as they wait idle for the next fit."""
    films = write_films_csv(tmp_path / "data", n=300, with_problems=False)
    process, err = _command(["train", "--data", str(films), "--models", "tfidf", "--out", str(tmp_path / "out"),
                             "--cache-dir", str(tmp_path / "cache"), "--no-progress"], tmp_path)
    below = set()
    try:
        _wait_for(process, lambda: {p for p, cmd in descendants(process.pid).items() if b"LokyProcess" in cmd},
                  300, "joblib worker", err)
        below = set(descendants(process.pid))  # the workers and joblib's resource trackers
        printed = _sigterm(process, err)
    finally:
        process.kill()
        left = left_alive(below)
    assert process.returncode == 143, printed
    assert printed.strip().splitlines()[-1] == "stopped (SIGTERM)"
    assert left == [], "worker processes outlived the command"


def test_sigterm_stops_the_ranks_of_a_parallel_extraction(tmp_path):
    """``--processes 2`` spawns two torch ranks; SIGTERM to the command (not to its process group, as a
    terminal's Ctrl+C would be) stops them at once instead of waiting for them to encode every film."""
    films = write_films_csv(tmp_path / "data", n=120, with_problems=False)
    process, err = _command(["train", "--data", str(films), "--models", "minilm", "--processes", "2",
                             "--out", str(tmp_path / "out"), "--cache-dir", str(tmp_path / "cache"), "--epochs", "2",
                             "--no-progress", "--num-workers", "0"], tmp_path)
    below = set()
    try:
        _wait_for(process, lambda: len([p for p, cmd in descendants(process.pid).items()
                                        if b"spawn_main" in cmd]) >= 2, 300, "two ranks", err)
        below = set(descendants(process.pid))
        printed = _sigterm(process, err)
    finally:
        process.kill()
        left = left_alive(below)
    assert process.returncode == 143, printed
    assert left == [], "ranks outlived the command"
    assert not list((tmp_path / "cache").rglob("part-r*")), "the ranks went on encoding after SIGTERM"


def test_the_app_cleans_up_on_sigterm_and_sweeps_what_a_killed_app_left(tmp_path):
    uploads = tmp_path / "gradio"  # gradio's upload folder, where the app keeps its session folders
    env = _env(GRADIO_TEMP_DIR=str(uploads))
    args = ["--models", "minilm", "--no-preload"]
    with AppProcess(args, env=env) as killed:
        (killed_root,) = uploads.glob(PREFIX + "*")
        (killed_root / "session-x").mkdir()
        (killed_root / "session-x" / "predictions.csv").write_text("film_id\n")
        killed.kill9()  # a crash or the OOM killer: nothing can clean up...
    assert (killed_root / "session-x" / "predictions.csv").is_file()
    assert any(killed_root.glob("*/*.jpg"))  # gradio's own files (its copies of the examples' posters) too
    app = AppProcess(args, env=env)
    with app:  # ...so the next start removes what it left, and only that
        assert not killed_root.exists()
        assert "removed the session folders of 1 GenreLens app(s)" in app.output()
        (root,) = uploads.glob(PREFIX + "*")
        (root / "session-y").mkdir()
        (root / "session-y" / "predictions.csv").write_text("film_id\n")
        app.process.send_signal(signal.SIGTERM)
        # 0 once gradio serves (it closes its server on the interrupt), 143 if it came while launch() still ran
        assert app.process.wait(timeout=120) in (0, 143), app.output()[-3000:]
        assert "Traceback" not in app.output()
    assert not root.exists(), "the app's session folders outlived SIGTERM"
