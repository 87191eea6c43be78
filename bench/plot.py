"""plot: what the shipped plot models cost per plot through ``predict`` (the app's path), and what the
MiniLM + TF-IDF ensemble adds over MiniLM alone (its TF-IDF member and the blend)."""
from __future__ import annotations

import statistics
import time
from pathlib import Path

from genre_models.models.predictors import ModelPool
from .common import BenchResult
from .lineup import PLOT

KEYS = ("minilm", "tfidf", "minilm-tfidf")
TARGET = 1.10
BATCH = 64


def interleaved_medians(calls: dict, repeat: int) -> dict:
    """Median wall time of each call, the calls taking turns (so drift on a shared machine hits them alike)."""
    times = {name: [] for name in calls}
    for call in calls.values():
        call()  # warm-up
    for _ in range(repeat):
        for name, call in calls.items():
            start = time.perf_counter()
            call()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in times.items()}


def run(workdir: Path, repeat: int = 40) -> BenchResult:
    result = BenchResult("plot")
    pool = ModelPool()
    plots = [f"{PLOT} Scene {i}." for i in range(BATCH)]
    predictors = {key: pool.get(key) for key in KEYS}
    for key, predictor in predictors.items():
        answer = predictor.predict(plot=PLOT)  # loads (not timed) and checks it answers
        if not answer.ok:
            raise RuntimeError(f"{key} did not answer: {answer.message}")
    single = interleaved_medians({k: lambda p=p: p.predict(plot=PLOT) for k, p in predictors.items()}, repeat)
    batched = interleaved_medians({k: lambda p=p: p.predict_batch([None] * BATCH, plots)
                                   for k, p in predictors.items()}, max(2, repeat // 10))
    for key in KEYS:
        result.add(f"{key}: one plot (median of {repeat})", f"{single[key] * 1000:.1f} ms")
        result.add(f"{key}: per plot in a batch of {BATCH}", f"{batched[key] / BATCH * 1000:.2f} ms")
    ratio = single["minilm-tfidf"] / single["minilm"]
    result.ratio("minilm-tfidf ÷ minilm, one plot", ratio, f"<= {TARGET:.2f}", ratio <= TARGET)
    result.ratio("minilm-tfidf ÷ minilm, per plot in a batch", batched["minilm-tfidf"] / batched["minilm"])
    result.notes.append("The models take turns within each repetition. The ensemble runs MiniLM's forward pass "
                        "and TF-IDF beside it; on a Compare with `minilm` in the lineup too, MiniLM's features "
                        "are shared, so there the ensemble adds only the TF-IDF member and the blend.")
    return result
