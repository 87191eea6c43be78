"""Issue 33, items 1-4: a session's files belong to it, and stopping a process cleans up what it started.

Replayed on the app as a user starts it (``python app.py --models tfidf``, the shipped TF-IDF plot model, its
gradio upload folder in the kind's own folder), Debian's chromium for the pages, and the commands in
fresh processes stopped with real signals:

1. two pages upload the same films CSV and posters zip (gradio stores identical uploads at one path); one
   evaluates and is closed, then the other, which had not evaluated yet, evaluates.
2. the predictions.csv each page was given, fetched again after that page is closed.
3. the app stopped with SIGTERM (its session folders must go), and an app killed with SIGKILL (its folders
   must go at the next start, while a live app's stay); ``evaluate`` stopped with SIGTERM mid-read.
4. ``train`` stopped with SIGTERM once scikit-learn's joblib workers exist, and once ``--processes 2``'s
   torch ranks exist: no worker may outlive the command.
"""
from __future__ import annotations

import csv
import errno
import functools
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from tests.support.processes import descendants, left_alive

from .common import ROOT, Kind, Outcome

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
APP = ["--models", "tfidf", "--no-preload"]
STEP_MS = 90_000  # any one wait on the page
PREFIX = "genrelens-sessions-"  # genre_models.session_files.PREFIX


def _env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GENRELENS_", "HF_", "GRADIO_"))}
    return {**env, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT), **extra}


def _films(folder: Path, n: int = 40) -> tuple[Path, Path]:
    """A films CSV of plots TF-IDF can read, and a zip of (unread) posters, as a visitor sends them."""
    import io
    import zipfile
    folder.mkdir(parents=True, exist_ok=True)
    words = {"Horror": "a ghost haunted the house", "Romance": "two strangers fall in love",
             "Comedy": "a comedy full of fun", "Sci-Fi": "a space science fiction story"}
    names = list(words)
    path = folder / "films.csv"
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "title", "year", "genres", "plot", "poster"])
        for i in range(n):
            genre = names[i % 4]
            writer.writerow([f"f{i}", f"Film {i}", "2000", genre, f"{words[genre]} . film {i} .", f"f{i}.png"])
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zf:
        for i in range(n):
            zf.writestr(f"f{i}.png", b"not read by a plot model")
    (folder / "posters.zip").write_bytes(archive.getvalue())
    return path, folder / "posters.zip"


def _status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def _until(condition, seconds: float = 20) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


@functools.cache
def _two_pages(workdir: Path) -> dict:
    """Items 1 and 2 in one run of the app and the browser: what each page saw, and what stayed served."""
    from playwright.sync_api import sync_playwright

    from tests.support.app_launcher import AppProcess
    films, posters = _films(workdir / "visitor")
    uploads = workdir / "gradio"
    seen: dict = {"uploads": uploads}
    with AppProcess(APP, env=_env(GRADIO_TEMP_DIR=str(uploads)), log=workdir / "app.log") as app, \
            sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        app_wide = set(uploads.rglob("*"))  # the examples' posters, the Results chart: the page's, not a visitor's
        try:
            pages = []
            for _ in range(2):  # each in its own browser context: its own gradio session
                page = browser.new_context(viewport={"width": 1400, "height": 1800}).new_page()
                page.set_default_timeout(STEP_MS)
                page.goto(app.url)
                page.get_by_role("tab", name="Your films").first.click()
                page.locator("#films-zip input[type=file]").set_input_files(str(posters))
                page.locator("#films-csv input[type=file]").set_input_files(str(films))
                page.wait_for_selector("#films-csv a")
                page.wait_for_selector("#films-zip a")
                pages.append(page)
            paths = [Path(urllib.parse.unquote(p.locator(f"{s} a").first.get_attribute("href").split("file=", 1)[1]))
                     for p in pages for s in ("#films-csv", "#films-zip")]
            seen["one_path"] = paths[:2] == paths[2:]
            seen["shared"] = paths[:2]
            links = []
            for index, page in enumerate(pages):
                page.locator("#evaluate").click()
                page.wait_for_function("document.querySelector('#films-table').innerText.includes('micro-F1') || "
                                       "document.querySelector('#films-notice').innerText.length > 0")
                seen[f"notice{index}"] = page.locator("#films-notice").inner_text()
                seen[f"table{index}"] = page.locator("#films-table").inner_text()
                href = page.locator("#films-download a").first.get_attribute("href") \
                    if page.locator("#films-download a").count() else None
                links.append(None if href is None else urllib.parse.urljoin(app.url, href))
                seen[f"served{index}"] = _status(links[-1]) if links[-1] else None
                page.close()
                # what the closed page was given is no longer served; what others hold stays
                seen[f"after{index}"] = (_until(lambda: _status(links[-1]) != 200) and _status(links[-1])) \
                    if links[-1] else None
                seen[f"uploads_after{index}"] = [p.is_file() for p in paths[:2]]
            # what a visitor's bytes could still be in (gradio's upload parser also leaves an empty temp file)
            seen["left"] = sorted(str(p.relative_to(uploads)) for p in set(uploads.rglob("*")) - app_wide
                                  if p.is_file() and p.stat().st_size)
        finally:
            browser.close()
    return seen


def _shared_upload(workdir: Path) -> Outcome:
    if not Path(CHROMIUM).exists():
        return Outcome(False, "Debian chromium is not installed (apt-get install chromium): not replayed")
    seen = _two_pages(workdir)
    second = seen["notice1"] + seen["table1"]
    ok = (seen["one_path"] and seen["uploads_after0"] == [True, True] and "40 films scored" in seen["table1"]
          and str(seen["uploads"]) not in second and "/tmp/" not in second and seen["uploads_after1"] == [False, False])
    return Outcome(ok, f"same path for both pages: {seen['one_path']}; after the first page closed, the CSV and zip "
                       f"it shared still there: {seen['uploads_after0']}; the second page (not yet evaluated then) "
                       f"scored: {'40 films scored' in seen['table1']}; server path shown: "
                       f"{str(seen['uploads']) in second or '/tmp/' in second}; both gone once the last page "
                       f"closed: {seen['uploads_after1'] == [False, False]}")


def _returned_file(workdir: Path) -> Outcome:
    if not Path(CHROMIUM).exists():
        return Outcome(False, "Debian chromium is not installed (apt-get install chromium): not replayed")
    seen = _two_pages(workdir)
    ok = (seen["served0"] == seen["served1"] == 200 and seen["after0"] in (403, 404) and seen["after1"] in (403, 404)
          and seen["left"] == [])
    return Outcome(ok, f"predictions.csv while open: HTTP {seen['served0']}, {seen['served1']}; after its page "
                       f"closed: HTTP {seen['after0']}, {seen['after1']}; files of theirs left in the upload folder once "
                       f"both pages closed: {len(seen['left'])}")


def _command(args: list[str], folder: Path) -> subprocess.Popen:
    with open(folder / "stderr.txt", "w") as err:
        return subprocess.Popen([sys.executable, "-m", "genre_models", *args], cwd=ROOT, env=_env(),
                                stdout=subprocess.DEVNULL, stderr=err)


def _sigterm_when(args: list[str], folder: Path, ready, limit: float = 300) -> tuple[int | None, str, list[int], float]:
    """Start the command, SIGTERM it once ``ready(process)`` holds; (exit code, stderr's last line, the
    processes below it still alive afterwards, seconds from SIGTERM to exit)."""
    folder.mkdir(parents=True, exist_ok=True)
    process, below, took = _command(args, folder), set(), 0.0
    try:
        deadline = time.monotonic() + limit
        while process.poll() is None and not ready(process) and time.monotonic() < deadline:
            time.sleep(0.02)
        if process.poll() is not None or time.monotonic() >= deadline:
            return process.poll(), "never reached the point to stop it", [], 0.0
        below = set(descendants(process.pid))
        sent = time.monotonic()
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=120)
        except subprocess.TimeoutExpired:
            pass
        took = time.monotonic() - sent
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    lines = (folder / "stderr.txt").read_text().strip().splitlines()
    return process.returncode, (lines[-1] if lines else ""), left_alive(below), took


def _stopped(workdir: Path) -> Outcome:
    from tests.support.app_launcher import AppProcess
    uploads = workdir / "gradio"
    env = _env(GRADIO_TEMP_DIR=str(uploads))
    with AppProcess(APP, env=env, log=workdir / "killed.log") as killed:
        (killed_root,) = uploads.glob(PREFIX + "*")
        (killed_root / "session-x").mkdir()
        (killed_root / "session-x" / "predictions.csv").write_text("film_id\n")
        killed.kill9()
    with AppProcess(APP, env=env, log=workdir / "live.log"):  # a live app beside: its root must be kept
        (live_root,) = uploads.glob(PREFIX + "*")
        with AppProcess(APP, env=env, log=workdir / "stopped.log") as stopped:
            (root,) = set(uploads.glob(PREFIX + "*")) - {live_root}
            swept = not killed_root.exists()
            kept = live_root.is_dir()
            (root / "session-y").mkdir()
            (root / "session-y" / "predictions.csv").write_text("film_id\n")
            sent = time.monotonic()
            stopped.process.send_signal(signal.SIGTERM)
            code = stopped.process.wait(timeout=120)
            took = time.monotonic() - sent
            cleaned = not root.exists()
    # a command stopped while it reads its films CSV (a named pipe it waits on)
    fifo = workdir / "films.csv"
    os.mkfifo(fifo)
    writer = None

    def reading(process) -> bool:
        nonlocal writer
        try:
            writer = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
            return True
        except OSError as exc:
            return exc.errno != errno.ENXIO
    try:
        cli_code, cli_line, _, _ = _sigterm_when(["evaluate", "--data", str(fifo), "--models", "tfidf", "--out",
                                                  str(workdir / "report"), "--cache-dir", str(workdir / "cache")],
                                                 workdir / "evaluate", reading)
    finally:
        if writer is not None:
            os.close(writer)
    ok = swept and kept and cleaned and code in (0, 143) and cli_code == 143 and cli_line == "stopped (SIGTERM)"
    return Outcome(ok, f"app SIGTERM: exit {code}, its session folders removed: {cleaned}; a SIGKILLed app's folders "
                       f"swept at the next start: {swept}, a live app's kept: {kept}; evaluate SIGTERM: exit "
                       f"{cli_code}, {cli_line!r}", f"app stopped {took:.1f} s after SIGTERM")


def _workers(workdir: Path) -> Outcome:
    films, _ = _films(workdir / "data", n=300)
    common = ["--data", str(films), "--cache-dir", str(workdir / "cache"), "--no-progress"]

    def having(marker: bytes, count: int):
        return lambda process: sum(marker in cmd for cmd in descendants(process.pid).values()) >= count
    joblib = _sigterm_when(["train", "--models", "tfidf", "--out", str(workdir / "tfidf"), *common],
                           workdir / "joblib", having(b"LokyProcess", 1))
    ranks = _sigterm_when(["train", "--models", "minilm", "--processes", "2", "--epochs", "2", "--num-workers", "0",
                           "--out", str(workdir / "minilm"), *common], workdir / "ranks", having(b"spawn_main", 2))
    parts = list((workdir / "cache").rglob("part-r*"))
    ok = (joblib[0] == 143 and ranks[0] == 143 and not joblib[2] and not ranks[2] and not parts
          and joblib[1] == ranks[1] == "stopped (SIGTERM)")
    return Outcome(ok, f"train (joblib pool): exit {joblib[0]}, {len(joblib[2])} worker(s) left; train --processes 2: "
                       f"exit {ranks[0]}, {len(ranks[2])} rank(s) left, {len(parts)} cache part(s) written after "
                       f"SIGTERM", f"stopped {joblib[3]:.1f} s and {ranks[3]:.1f} s after SIGTERM")


KINDS = [
    Kind(1, "sessions: same upload on two pages",
         "a closed page never deletes what another page uploaded (gradio keeps one path for the same bytes); "
         "an upload goes when the last page holding it closes; no message shows a server path", _shared_upload),
    Kind(2, "sessions: returned file after the page closed",
         "predictions.csv is no longer served (403/404) once its page is closed; gradio keeps no copy of it",
         _returned_file),
    Kind(3, "sessions: SIGTERM and a killed app",
         "SIGTERM ends the app and every command as Ctrl+C does (session folders removed, one line); folders of "
         "an app killed outright are swept at the next start, a live app's never", _stopped),
    Kind(4, "sessions: SIGTERM on train's worker pools",
         "no joblib worker or torch rank outlives a train stopped with SIGTERM", _workers),
]
