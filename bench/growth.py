"""growth: how cost grows with the number of genres (18 -> 500 custom), the plot's length (10 -> 512
tokens), concurrent clients through the app's queue (1, 2, 4, 8) and the extraction corpus's size."""
from __future__ import annotations

import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd

from genre_models.data.films import FilmDataset, LoadReport, COLUMNS
from genre_models.genres import GENRES
from genre_models.models.predictors import FeatureRequest, ModelPool
from genre_models.training.feature_cache import FeatureCache
from tests.support.app_launcher import AppProcess

from .common import BenchResult, median_seconds
from .lineup import PLOT, register_full_size
from .startup import subprocess_env

WORDS = ("space heist haunted island desert jungle robot vampire pirate samurai detective zombie courtroom "
         "submarine circus wedding boxing chess dragon alien cowboy spy treasure prison school hospital "
         "volcano train storm ghost mafia").split()


def custom_genres(n: int) -> list[str]:
    """``n`` distinct genre phrases ("space heist", ...), like those a user types."""
    return [f"{a} {b}" for a in WORDS for b in WORDS if a != b][:n]


def plot_of_tokens(tokenizer, n: int) -> str:
    words = (PLOT + " ") * 40
    ids = tokenizer(words, add_special_tokens=False, verbose=False)["input_ids"][:max(n - 2, 1)]
    return tokenizer.decode(ids)


def throughput(clients: int, calls: int, url: str) -> float:
    from gradio_client import Client
    done, errors = [], []

    def worker():
        try:
            client = Client(url, verbose=False)
            for _ in range(calls):
                client.predict(plot=PLOT, api_name="/compare")
                done.append(1)
        except Exception as exc:  # reported below: a figure with failed calls in it means nothing
            errors.append(repr(exc))

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise RuntimeError(f"{len(errors)} calls failed: {errors[0]}")
    return len(done) / (time.perf_counter() - start)


def run(workdir: Path, repeat: int = 3) -> BenchResult:
    import subprocess
    import sys
    result = BenchResult("growth")
    register_full_size(workdir)
    pool = ModelPool()
    minilm, bert = pool.get("minilm"), pool.get("bert-base")
    minilm.load()
    bert.load()
    latency = {}
    for n in (18, 50, 100, 500):
        genres = list(GENRES) if n == 18 else custom_genres(n)
        start = time.perf_counter()
        minilm.predict(plot=PLOT, genres=genres, mode="zero-shot")
        first = time.perf_counter() - start
        latency[n] = median_seconds(lambda: minilm.predict(plot=PLOT, genres=genres, mode="zero-shot"), repeat, 0)
        result.add(f"MiniLM zero-shot, {n} genres: first call (embeds the prompts) / cached",
                   f"{first * 1000:.0f} ms / {latency[n] * 1000:.0f} ms")
    result.ratio("zero-shot latency, 500 ÷ 18 genres (cached)", latency[500] / latency[18])
    lengths = {}
    for tokens in (10, 64, 128, 256, 512):
        for predictor in (minilm, bert):
            plot = plot_of_tokens(predictor.encoder.tokenizer, tokens)
            seconds = median_seconds(lambda: predictor.predict(plot=plot), repeat)
            lengths[(predictor.key, tokens)] = seconds
            limit = predictor.encoder.max_length
            result.add(f"{predictor.key}, plot of {tokens} tokens (model limit {limit})", f"{seconds * 1000:.0f} ms")
    result.ratio("BERT-base latency, 512 ÷ 64 tokens", lengths[("bert-base", 512)] / lengths[("bert-base", 64)])
    app = AppProcess(["--models", "minilm", "--concurrency", "2", "--no-preload"], env=subprocess_env())
    try:
        app.start()
        url = app.url
        throughput(1, 1, url)  # loads MiniLM in the server, not timed
        rates = {}
        for clients in (1, 2, 4, 8):
            rates[clients] = throughput(clients, max(2, 16 // clients), url)
            result.add(f"/compare (MiniLM) throughput, {clients} concurrent client(s), queue concurrency 2",
                       f"{rates[clients]:.1f} calls/s")
        result.ratio("throughput, 8 ÷ 1 clients", rates[8] / rates[1])
    finally:
        app.stop(timeout=10)
    per_film = {}
    rng = np.random.default_rng(0)
    for size in (250, 500, 1000):
        texts = [f"{PLOT} {' '.join(rng.choice(WORDS, 8))}" for _ in range(size)]
        frame = pd.DataFrame({c: [None] * size for c in COLUMNS}, dtype=object)
        frame["id"], frame["plot"], frame["genres"] = [f"b{i}" for i in range(size)], texts, [[]] * size
        dataset = FilmDataset(frame, (Path("synthetic.csv"),), LoadReport())
        with tempfile.TemporaryDirectory() as cache_dir:
            start = time.perf_counter()
            FeatureCache(cache_dir).features(FeatureRequest(minilm, "plot", False), dataset, progress=False)
            per_film[size] = (time.perf_counter() - start) / size
        result.add(f"MiniLM plot extraction, {size} plots", f"{per_film[size] * size:.1f} s "
                   f"({per_film[size] * 1000:.1f} ms per plot)")
    result.ratio("extraction time per plot, 1000 ÷ 250 plots", per_film[1000] / per_film[250])
    return result
