"""Issue 35, items 2-6, 9 and 10: what a new visitor trips on (a fresh clone, the README as written,
Chromium at 1400 and 390 px).

Each kind replays the issue's example and another member of its kind: a fix command pasted into a new
terminal; an added hub model fetched with ``download`` before going offline (a loopback hub on 127.0.0.1);
figures and tables whose text is cut; the line above the chart under other settings; one model's colour
across tabs; a phone's first screen; the README's snippets run as pasted and its deploy allow-list. The
browser kinds start the app as a user does (``python app.py``, the shipped plot models) with Debian's chromium.
"""
from __future__ import annotations

import ast
import io
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from .common import ROOT, Kind, Outcome, against, measure

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
STEP_MS = 90_000  # any one wait on the page; the replay stops by itself past it
TIMM_ID = "timm/test_resnet.r160_in1k"  # timm's own test classifier at its full, small size


def _new_terminal(**extra: str) -> dict:
    """A fresh shell's environment: nothing activated (this interpreter's bin folder off the PATH)."""
    own = os.path.dirname(os.path.abspath(sys.executable))
    path = os.pathsep.join(p for p in os.environ.get("PATH", "").split(os.pathsep) if p and os.path.abspath(p) != own)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    return {**env, "PATH": path or os.defpath, "HF_HUB_OFFLINE": "1", **extra}


def _pasted(command: str, env: dict, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", "-c", command], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


# -- item 2 ------------------------------------------------------------------------------------------------------

def fix_commands(workdir: Path) -> Outcome:
    shown = measure("""
import json, re
from genre_models import ModelPool
from genre_models.comparison.results import evaluation_report
from pathlib import Path
pool = ModelPool()
fixes = [pool.get("clip-vit-b-16").predict(poster="assets/posters/the_kid_1921.jpg").fix,  # the issue's example
         pool.get("bert-base").train_command()]            # what a card without a head shows: the train command
text, _ = evaluation_report(Path("no-such-folder"))
fixes.append(re.findall("`([^`]+)`", text)[-1])                # the Results tab's evaluate command
print(json.dumps(fixes))""", timeout=300)
    fixes = shown.result()
    if not isinstance(fixes, list) or not all(fixes):
        return Outcome(False, f"no fix commands shown: {shown.stdout[-300:]}")
    env, failed, said = _new_terminal(), [], []
    for fix in fixes:
        ran = _pasted(fix, env)
        broken = "Traceback" in ran.stderr or "ModuleNotFoundError" in ran.stderr or ran.returncode == 127
        said.append(f"`{fix.split(' --')[0]}` exit {ran.returncode}: {(ran.stderr.strip().splitlines() or [''])[-1][:70]}")
        if broken or not ran.stderr.startswith("error: "):
            failed.append(fix)
    return Outcome(not failed, f"{len(fixes)} commands pasted into a new terminal in the repository's folder "
                               f"(offline, nothing activated): " + "; ".join(said))


# -- item 3 ------------------------------------------------------------------------------------------------------

def _hub_repos(root: Path) -> None:
    """The loopback hub's repos: timm's test classifier and a tiny open_clip model (random weights)."""
    code = f"""
import json, torch, timm, open_clip
from pathlib import Path
from safetensors.torch import save_file
from tests.support.loopback_hub import write_repo_marker
root = Path({str(root)!r})
resnet = root / "timm" / "test_resnet.r160_in1k"
resnet.mkdir(parents=True)
model = timm.create_model("test_resnet.r160_in1k", pretrained=False)
save_file({{k: v.contiguous() for k, v in model.state_dict().items()}}, str(resnet / "model.safetensors"))
clip = root / "genrelens-test" / "tiny-openclip"
clip.mkdir(parents=True)
cfg = {{"embed_dim": 16, "quick_gelu": True,
        "text_cfg": {{"context_length": 77, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 2}},
        "vision_cfg": {{"image_size": 32, "layers": 2, "width": 32, "patch_size": 16, "head_width": 16}}}}
(clip / "open_clip_config.json").write_text(json.dumps({{"model_cfg": cfg, "preprocess_cfg": {{}}}}))
torch.manual_seed(0)
save_file({{k: v.contiguous() for k, v in open_clip.CLIP(**cfg).state_dict().items()}},
          str(clip / "open_clip_model.safetensors"))
for folder in (resnet, clip):
    write_repo_marker(folder)
print(json.dumps("ok"))"""
    built = measure(code, timeout=300)
    if built.result() != "ok":
        raise RuntimeError(f"could not build the loopback repos: {built.stdout[-300:]}")


def hub_ids_downloaded(workdir: Path) -> Outcome:
    from genre_models.ports import free_port
    from tests.support.loopback_hub import LoopbackHub
    _hub_repos(workdir / "repos")
    clip_id = "hf-hub:genrelens-test/tiny-openclip"
    with LoopbackHub(workdir / "repos") as hub:
        def env(endpoint: str, home: str) -> dict:
            return {**os.environ, "HF_HOME": str(workdir / home), "HF_ENDPOINT": endpoint, "HF_HUB_OFFLINE": "0",
                    "HF_HUB_DISABLE_TELEMETRY": "1", "TOKENIZERS_PARALLELISM": "false"}

        def download(home: str, *args: str) -> subprocess.CompletedProcess:
            return subprocess.run([sys.executable, "-m", "genre_models", "download", "--models", *args], cwd=ROOT,
                                  env=env(hub.endpoint, home), capture_output=True, text=True, timeout=300)

        closed = f"http://127.0.0.1:{free_port()}"
        # the issue's example, as the card of a model not downloaded tells a presenter to run it
        card = subprocess.run([sys.executable, "-m", "genre_models", "predict", "--models", "minilm", "--plot",
                               "a ghost haunts the house", "--extra-model", TIMM_ID, "--json"], cwd=ROOT,
                              env=env(closed, "hf"), capture_output=True, text=True, timeout=300)
        fix = json.loads(card.stdout or "{}").get(TIMM_ID, {}).get("fix", "")
        fetched = _pasted(fix, env(hub.endpoint, "hf")) if fix else None
        other = download("hf", clip_id)  # another form the add box takes
        poster = ROOT / "assets" / "posters" / "the_kid_1921.jpg"
        offline = subprocess.run([sys.executable, "-m", "genre_models", "predict", "--models", "minilm", "--poster",
                                  str(poster), "--extra-model", TIMM_ID, "--extra-model", clip_id, "--json"], cwd=ROOT,
                                 env=env(closed, "hf"), capture_output=True, text=True, timeout=300)
        answers = json.loads(offline.stdout or "{}")
        statuses = {k: answers.get(k, {}).get("status") for k in (TIMM_ID, clip_id)}
        # the page's checks: over the size limit and malformed ids are refused before any file is fetched
        hub.clear_log()
        refused = {"over the size limit": download("hf2", TIMM_ID, "--max-extra-model-gb", "0.000001"),
                   "malformed": download("hf2", "not/a/hub/id"), "not on the hub": download("hf2", "genrelens-test/none")}
        files = [r.path for r in hub.requests if "/resolve/" in r.path]
        tried = [f"{why}: exit {r.returncode}, {r.stderr.strip()[:60]}" for why, r in refused.items()]
        refusals_ok = all(r.returncode == 2 and r.stderr.count("\n") == 1 for r in refused.values()) and not files
        # cost: the refused over-size download against a normal one of the same model
        cmd = "import subprocess, sys, json; r = subprocess.run([sys.executable, '-m', 'genre_models', 'download', " \
              "'--models', {!r}{}], capture_output=True); print(json.dumps(r.returncode))"
        bad = measure(cmd.format(TIMM_ID, ", '--max-extra-model-gb', '0.000001'"), env=env(hub.endpoint, "hf3"))
        normal = measure(cmd.format(TIMM_ID, ""), env=env(hub.endpoint, "hf4"))
    ok = (bool(fix) and fetched is not None and fetched.returncode == 0 and other.returncode == 0
          and set(statuses.values()) == {"ok"} and refusals_ok and bad.result() == 2 and normal.result() == 0)
    observed = (f"card offline: fix `{fix}`; pasted with the hub: exit {fetched.returncode if fetched else '-'}; "
                f"{clip_id}: exit {other.returncode}; offline then: {statuses}; refused: {'; '.join(tried)}; "
                f"{len(files)} file request(s) for refused ids")
    return Outcome(ok, observed, "over-size refused vs the same model downloaded: " + against(bad, normal))


# -- item 4 ------------------------------------------------------------------------------------------------------

FIGURES = """
import json, sys
sys.path.insert(0, "tests")
import numpy as np
from test_charts import cut_texts
from genre_models import charts
from genre_models.comparison.compare import (Comparison, comparison_chart, comparison_chart_narrow,
                                             comparison_heatmap, comparison_heatmap_narrow)
from genre_models.models.lineup import DEFAULT_MODELS
from genre_models.models.prediction import Prediction
long_id = "hf-hub:an-organisation-with-a-long-name/a-model-whose-name-is-long-enough-to-need-two-lines"
names = {s.key: s.name for s in DEFAULT_MODELS} | {long_id: long_id}
rng = np.random.default_rng(0)
def comparison(keys, genres):
    return Comparison({k: Prediction.from_probabilities(k, dict(zip(genres, rng.random(len(genres)).tolist())),
                       dict.fromkeys(genres, 0.5), mode="zero-shot") for k in keys}, genres)
custom = ["heist", "mockumentary", "space opera"]
lineup = [s.key for s in DEFAULT_MODELS]
cut = {}
cut["Bars, the lineup, custom genres"] = cut_texts(comparison_chart(comparison(lineup, custom), names))
cut["Bars at 390 px, a long hub id"] = cut_texts(comparison_chart_narrow(comparison(lineup + [long_id], custom), names))
cut["heatmap, a long hub id"] = cut_texts(comparison_heatmap(comparison(lineup + [long_id], custom), names))
cut["heatmap at 390 px"] = cut_texts(comparison_heatmap_narrow(comparison(lineup, custom), names))
series = {names[k] + " (trained)": list(np.linspace(0, 1, 5)) for k in lineup}
title = "Per-genre F1 on your 1,234 films (the genres they have)"
cut["Your films chart at 390 px"] = cut_texts(charts.grouped_barh_narrow(list("ABCDE"), series, "F1", title=title))
cut["Your films chart"] = cut_texts(charts.grouped_bars(list("ABCDE"), series, "F1", title=title))
print(json.dumps(cut))"""


def text_cut(workdir: Path) -> Outcome:
    figures = measure(FIGURES, timeout=300).result() or {"figures": ["the replay failed"]}
    cut_figures = {k: v for k, v in figures.items() if v}
    tables = _in_browser(_tables, workdir)
    ok = not cut_figures and tables[0]
    return Outcome(ok, f"{len(figures)} figures drawn, text cut in {len(cut_figures)}"
                       + (f" ({'; '.join(f'{k}: {v[0][:30]}' for k, v in cut_figures.items())})" if cut_figures else "")
                       + f"; tables: {tables[1]}")


def _tables(browser, url: str, workdir: Path) -> tuple[bool, str]:
    sys.path.insert(0, str(ROOT / "tests"))
    from test_page_layout_browser import _tables_cut_without_a_sign  # the browser test's own measure
    from test_your_films import write_films
    films, _ = write_films(workdir / "films", n=6)
    said, ok = [], True
    for width in (1400, 390):
        page = browser.new_page(viewport={"width": width, "height": 900})
        page.set_default_timeout(STEP_MS)
        page.goto(url)
        page.wait_for_selector("#compare")
        page.get_by_role("tab", name="Your films").first.click()
        page.locator("#films-csv input[type=file]").set_input_files(str(films))
        page.locator("#evaluate").click()
        page.wait_for_function("document.querySelector('#films-table').innerText.includes('micro-F1')")
        fits = page.locator("#films-table table").evaluate("t => t.scrollWidth <= t.clientWidth + 1")
        cut = _tables_cut_without_a_sign(page)
        page.get_by_role("tab", name="Results").first.click()
        page.wait_for_timeout(300)
        cut += _tables_cut_without_a_sign(page)
        wide = page.evaluate("document.documentElement.scrollWidth") > width
        ok &= not cut and not wide and (fits or width < 700)
        said.append(f"{width} px: Your films table {'fits' if fits else 'scrolls'}, {len(cut)} table(s) cut "
                    f"without a scroll sign, page {'wider than' if wide else 'within'} the screen")
        page.close()
    return ok, "; ".join(said)


def _in_browser(replay, workdir: Path, args: tuple = ("--models", "minilm", "tfidf", "minilm-tfidf")):
    from playwright.sync_api import sync_playwright

    from tests.support.app_launcher import AppProcess
    if not Path(CHROMIUM).exists():
        return False, "Debian chromium is not installed (apt-get install chromium): not replayed"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "GRADIO_EXAMPLES_CACHE": str(workdir / "examples")}
    with AppProcess(list(args), env=env) as app, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            return replay(browser, app.url, workdir)
        finally:
            browser.close()


# -- item 5 ------------------------------------------------------------------------------------------------------

def threshold_line(workdir: Path) -> Outcome:
    notes = measure("""
import json
from genre_models import ModelPool
from genre_models.comparison.compare import run_comparison, threshold_note
pool, plot = ModelPool(), "A ghost haunts the old house where a family has just moved in."
settings = {"tuned (default)": {}, "one threshold, 35%": {"threshold": 0.35}, "zero-shot mode": {"mode": "zero-shot"},
            "custom genres": {"custom_genres": "heist, space opera"}}
print(json.dumps({name: threshold_note(run_comparison(pool, ["minilm", "tfidf"], None, plot, **kw))
                  for name, kw in settings.items()}))""", timeout=300).result() or {}
    expected = {"tuned (default)": "tuned per genre on validation data",
                "one threshold, 35%": "35% for every genre, the one threshold set for all",
                "zero-shot mode": "50% for every genre (zero-shot", "custom genres": "50% for every genre (zero-shot"}
    wrong = [name for name, text in expected.items() if text not in notes.get(name, "")
             or (name != "tuned (default)" and "on validation data" in notes.get(name, ""))]
    return Outcome(not wrong and len(notes) == 4,
                   "; ".join(f"{k}: …{v.split('(the black tick): ')[-1][:60]}" for k, v in notes.items())
                   + (f"; contradicts the settings: {wrong}" if wrong else ""))


# -- item 6 ------------------------------------------------------------------------------------------------------

def one_colour(workdir: Path) -> Outcome:
    code = """
import json, sys
sys.path.insert(0, "tests")
import numpy as np
from matplotlib.colors import to_hex
from genre_models.comparison.compare import Comparison, comparison_chart, comparison_chart_narrow
from genre_models.comparison.results import EVALUATION_DIR, per_genre_f1_narrow
from genre_models.comparison.your_films import FilmsEvaluation
from genre_models.genres import GENRES
from genre_models.models.lineup import DEFAULT_MODELS, model_colour
from genre_models.models.prediction import Prediction
from genre_models.training.report import Report, Result
names = {s.key: s.name for s in DEFAULT_MODELS}
def legend(fig):
    l = fig.axes[0].get_legend()
    return {" ".join(t.get_text().split()).split(" (")[0]: to_hex(h.get_facecolor())
            for t, h in zip(l.get_texts(), l.legend_handles)
            if hasattr(h, "get_facecolor") and not t.get_text().startswith(("filled:", "hollow:"))}
def comparison(keys):
    return Comparison({k: Prediction.from_probabilities(k, dict.fromkeys(GENRES, 0.6), dict.fromkeys(GENRES, 0.5),
                       mode="trained") for k in keys}, list(GENRES))
seen = {}
for keys in (["tfidf", "minilm-tfidf"], ["minilm-tfidf", "bert-base", "minilm"], [s.key for s in DEFAULT_MODELS]):
    seen[f"Compare {len(keys)}"] = legend(comparison_chart(comparison(keys), names))
    seen[f"Compare at 390 px {len(keys)}"] = legend(comparison_chart_narrow(comparison(keys), names))
per_genre = {g: {"f1": 0.5} for g in GENRES}
for keys in (["minilm-tfidf", "tfidf"], ["tfidf", "minilm", "minilm-tfidf"]):
    films = FilmsEvaluation(films=[type("F", (), {"genres": ["Horror"]})()], skipped=[], notes=[], answers={},
                            results=[Result(names[k], "trained", "plot", 1, "", {"per_genre": per_genre}) for k in keys],
                            keys=keys)
    seen[f"Your films {len(keys)}"] = legend(films.chart())
    seen[f"Your films at 390 px {len(keys)}"] = legend(films.chart(narrow=True))
report = Report.from_json(EVALUATION_DIR / "evaluation.json")
seen["Results"] = {label.split(" (")[0]: to_hex(c) for label, c in zip(report.per_genre_f1_series(), report.per_genre_colours())}
seen["Results at 390 px"] = legend(per_genre_f1_narrow())
print(json.dumps({"seen": seen, "added": model_colour("hf-hub:org/some-model")}))"""
    first, second = measure(code, timeout=300).result() or {}, measure(code, timeout=300).result() or {}
    by_model: dict[str, set] = {}
    for chart, colours in first.get("seen", {}).items():
        for model, colour in colours.items():
            by_model.setdefault(model, set()).add(colour)
    split = {m: sorted(c) for m, c in by_model.items() if len(c) > 1}
    shared = len({min(c) for c in by_model.values()}) < len(by_model)
    stable = first.get("added") == second.get("added") and first.get("added") is not None
    ok = bool(by_model) and not split and not shared and stable
    return Outcome(ok, f"{len(first.get('seen', {}))} charts (Compare, Your films, Results, wide and 390 px), "
                       f"{len(by_model)} models: " + ("each in one colour" if not split else f"colour changes: {split}")
                       + ("; two models share a colour" if shared else "")
                       + f"; an added hub model's colour {'the same' if stable else 'differs'} in two processes")


# -- item 9 ------------------------------------------------------------------------------------------------------

def _first_screen(browser, url: str, workdir: Path) -> tuple[bool, str]:
    said, ok = [], True
    for width, height in ((390, 844), (412, 915), (1400, 900)):  # the issue's phone, another phone, a desktop
        page = browser.new_page(viewport={"width": width, "height": height})
        page.set_default_timeout(STEP_MS)
        page.goto(url)
        page.wait_for_selector("#compare")
        page.wait_for_timeout(500)
        compare = page.locator("#compare").bounding_box()
        example = page.locator("#examples button").first.bounding_box()
        cards = page.evaluate("[...document.querySelectorAll('.model-card')].filter(c => c.offsetParent).length")
        within = all(b and b["y"] + b["height"] <= height for b in (compare, example))
        ok &= within and cards == 0
        said.append(f"{width}x{height}: Compare ends at {compare['y'] + compare['height']:.0f} px, the first example "
                    f"at {example['y'] + example['height']:.0f} px, {cards} empty card(s) shown")
        page.close()
    return ok, "; ".join(said)


def first_screen(workdir: Path) -> Outcome:
    keys = ("--models", "minilm", "tfidf", "minilm-tfidf", "bert-base", "clip-vit-b-16", "clip-vit-l-14",
            "clip-rn50x16", "siglip2-vit-b-16", "bit-resnet50", "fusion")  # the ten cards of the default lineup
    ok, said = _in_browser(_first_screen, workdir, keys)
    return Outcome(ok, said)


# -- item 10 -----------------------------------------------------------------------------------------------------

def _python_blocks(text: str) -> list[str]:
    return re.findall(r"```python\n(.*?)\n```", text, re.S)


def readme(workdir: Path) -> Outcome:
    from huggingface_hub.utils import filter_repo_objects
    from tests.support.app_launcher import AppProcess
    text = (ROOT / "README.md").read_text()
    blocks = {name: next((b for b in _python_blocks(text) if f'api_name="/{name}"' in b), "")
              for name in ("evaluate_films", "compare")}
    said, ok = [], True
    for name, block in blocks.items():
        tree = ast.parse(block) if block else None
        bare = tree is None or isinstance(tree.body[-1], ast.Expr) and not (
            isinstance(tree.body[-1].value, ast.Call) and getattr(tree.body[-1].value.func, "id", "") == "print")
        own_client = "Client(" in block
        ok &= own_client and not bare
        said.append(f"/{name} snippet: {'its own client' if own_client else 'no client line'}, "
                    f"{'a bare last expression' if bare else 'prints its answer'}")
    # run them as pasted against the app (only the address changed): the films example in a folder holding them
    sys.path.insert(0, str(ROOT / "tests"))
    from test_your_films import write_films
    films, posters = write_films(workdir / "run", n=6)
    films.rename(workdir / "run" / "my_films.csv")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "GRADIO_EXAMPLES_CACHE": str(workdir / "examples")}
    with AppProcess(["--models", "minilm", "clip-vit-b-16"], env=env) as app:
        for name, cwd in (("evaluate_films", workdir / "run"), ("compare", ROOT)):
            code = blocks[name].replace("http://127.0.0.1:7860/", app.url)
            ran = subprocess.run([sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True, timeout=300)
            ok &= ran.returncode == 0 and bool(ran.stdout.strip())
            said.append(f"/{name} run as pasted: exit {ran.returncode}, printed "
                        f"{(ran.stdout.strip().splitlines() or [ran.stderr.strip()[-80:]])[-1][:60]!r}")
    # the deploy command: an allow-list, so the evaluate example's files and other leftovers stay home
    deploy = next(b for b in re.findall(r"```bash\n(.*?)\n```", text, re.S) if "hf upload YOUR_NAME/genrelens " in b)
    args = shlex.split(next(line for line in deploy.replace("\\\n", " ").splitlines() if " upload " in line))
    includes = [args[i + 1] for i, a in enumerate(args) if a == "--include"]
    excludes = [args[i + 1] for i, a in enumerate(args) if a == "--exclude"]
    leftovers = ["my_films.csv", "posters.zip", "runs/my_films/predictions.csv", "notes.txt", ".env",
                 "checkpoints/.minilm.partial-1/model.safetensors"]
    needed = ["app.py", "requirements.txt", "README.md", "genre_models/comparison/compare.py",
              "checkpoints/minilm/backbone.safetensors", "assets/examples.json", "docs/evaluation/evaluation.json"]
    sent = set(filter_repo_objects(leftovers + needed, allow_patterns=includes or None, ignore_patterns=excludes))
    ok &= bool(includes) and not sent & set(leftovers) and set(needed) <= sent
    said.append(f"deploy: {len(includes)} --include pattern(s); of {len(leftovers)} leftovers "
                f"({', '.join(leftovers[:2])}, ...) {len(sent & set(leftovers))} sent; "
                f"{len(set(needed) & sent)} of {len(needed)} needed files sent")
    return Outcome(ok, "; ".join(said))


KINDS = [
    Kind(item=2, name="fix command pasted in a new terminal (issue 35)",
         expected="each command the page shows (download, train, evaluate) runs pasted into a new terminal in the "
                  "repository's folder: the app's own Python, a one-line answer, never ModuleNotFoundError",
         run=fix_commands),
    Kind(item=3, name="hub model fetched before going offline (issue 35)",
         expected="download takes the add box's hub ids with its checks (size limit, forms) before any file; the "
                  "offline card names that command; fetched, the model answers offline",
         run=hub_ids_downloaded),
    Kind(item=4, name="text cut in figures and tables (issue 35)",
         expected="no figure text past its edge (legend, title, long hub id; wide and 390 px); a table fits a "
                  "desktop and, where it scrolls, shows a shadow on the side that continues",
         run=text_cut),
    Kind(item=5, name="threshold line follows the settings (issue 35)",
         expected="the line above the chart says how the models decided: tuned per genre, one threshold for all, "
                  "or zero-shot's flat 50%",
         run=threshold_line),
    Kind(item=6, name="one colour per model on every tab (issue 35)",
         expected="a model keeps one colour on Compare, Your films and Results, wide and at 390 px, whatever else "
                  "is drawn beside it; distinct models, distinct colours",
         run=one_colour),
    Kind(item=9, name="phone's first screen (issue 35)",
         expected="at 390x844 (and another phone) Compare and an example are on the first screen; no empty card",
         run=first_screen),
    Kind(item=10, name="README snippets and deploy allow-list (issue 35)",
         expected="the API snippets run as pasted (own client, print); the deploy upload is an allow-list that "
                  "leaves my_films.csv, posters.zip and other leftovers home",
         run=readme),
]
