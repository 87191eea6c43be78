"""films: the Your films evaluation of plot-only films with MiniLM (``evaluate_films``: reading the CSV,
scoring every film, the metrics and baselines) against the batch throughput ``bench plot`` measures for
the same model (``predict_batch`` on 64 plots). Films are synthetic, written by the bench to its workdir."""
from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from genre_models.comparison.your_films import evaluate_films
from genre_models.models.predictors import ModelPool
from .common import BenchResult
from .lineup import PLOT
from .plot import BATCH, interleaved_medians

KEY = "minilm"
TARGET = 0.9
GENRES = ("Drama", "Crime", "Thriller", "Comedy", "Romance", "Horror")


def write_films(path: Path, n: int) -> Path:
    """n films whose plots are ``bench plot``'s (a scene number apart), with 1-2 genres each."""
    rng = np.random.default_rng(0)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "title", "year", "genres", "plot", "poster"])
        for i in range(n):
            genres = rng.choice(GENRES, size=int(rng.integers(1, 3)), replace=False)
            writer.writerow([f"b{i}", f"Film {i}", "2000", "|".join(genres), f"{PLOT} Scene {i}.", ""])
    return path


def run(workdir: Path, films: int = 1000, repeat: int = 3) -> BenchResult:
    result = BenchResult("films")
    pool = ModelPool()
    predictor = pool.get(KEY)
    if not predictor.predict(plot=PLOT).ok:  # loads (not timed) and checks it answers
        raise RuntimeError(f"{KEY} did not answer")
    data = write_films(Path(workdir) / "films" / f"films-{films}.csv", films)
    plots = [f"{PLOT} Scene {i}." for i in range(BATCH)]
    evaluated = {}

    def evaluate():
        evaluated["films"] = len(evaluate_films(pool, [KEY], data).films)

    seconds = interleaved_medians({"batch": lambda: predictor.predict_batch([None] * BATCH, plots),
                                   "evaluate": evaluate}, repeat)
    if evaluated["films"] != films:
        raise RuntimeError(f"only {evaluated['films']} of {films} films were evaluated")
    batch_rate, evaluate_rate = BATCH / seconds["batch"], films / seconds["evaluate"]
    result.add(f"{KEY}: predict_batch of {BATCH} plots (bench plot's batch), median of {repeat}",
               f"{seconds['batch'] * 1000:.0f} ms = {batch_rate:.0f} films/s")
    result.add(f"{KEY}: Your films evaluation of {films} plot-only films (CSV to metrics), median of {repeat}",
               f"{seconds['evaluate']:.2f} s = {evaluate_rate:.0f} films/s")
    ratio = evaluate_rate / batch_rate
    result.ratio(f"Your films throughput ÷ batch throughput ({KEY})", ratio, f">= {TARGET:.2f}", ratio >= TARGET)
    result.notes.append("The two take turns within each repetition. The evaluation scores its films through the "
                        "same predict_batch, in chunks of 64; the rest is reading the CSV, the sklearn metrics and "
                        "the two baselines.")
    return result
