"""overhead: one Compare through the app's own /compare handler (every model, poster + plot) vs. the
sum of the same backbones' raw forward passes on tensors already preprocessed and tokenized."""
from __future__ import annotations

from pathlib import Path

import torch

from genre_models.models.families.base import ImageEncoder
from genre_models.models.predictors import ModelPool
from .common import BenchResult, median_seconds
from .lineup import PLOT, poster_file, register_full_size

TARGET = 1.10


def app_handler(keys, pool, api_name: str = "compare"):
    """The function the app serves at ``api_name``, taken from the page ``app.build_demo`` builds."""
    import app
    demo = app.build_demo(keys, pool)
    for fn in demo.fns.values():
        if fn.api_name == api_name:
            return fn.fn
    raise LookupError(f"the app has no {api_name!r} endpoint")


def raw_forwards(pool: ModelPool, keys, poster: Path, plot: str):
    """One callable per distinct backbone the Compare runs: the bare model on ready tensors."""
    from PIL import Image
    image = Image.open(poster).convert("RGB")
    seen, calls = set(), []
    for key in keys:
        predictor = pool.get(key)
        predictor.load()
        plan = predictor.plan(None, "auto")
        for request in predictor.feature_requests(plan):
            if request.key in seen:
                continue
            seen.add(request.key)
            encoder = request.predictor.encoder_for(request.trained)
            if isinstance(encoder, ImageEncoder):
                pixels = encoder.preprocess(image).unsqueeze(0)
                model = encoder.model
                forward = model.encode_image if hasattr(model, "encode_image") else model
                calls.append((f"{request.predictor.key} image", lambda f=forward, x=pixels: f(x)))
            else:
                tokens = encoder.tokenizer([plot], truncation=True, max_length=encoder.max_length,
                                           return_tensors="pt")
                calls.append((f"{request.predictor.key} text{' (fine-tuned)' if request.trained else ''}",
                              lambda m=encoder.model, t=tokens: m(**t)))
    return calls


def run(workdir: Path, repeat: int = 5) -> BenchResult:
    result = BenchResult("overhead")
    keys = register_full_size(workdir)
    pool = ModelPool()
    poster = poster_file(workdir)
    handler = app_handler(keys, pool)
    answer = handler(str(poster), PLOT)  # loads every model (not timed) and checks they all answer
    failed = {k: v["message"] for k, v in answer["models"].items() if v["status"] != "ok"}
    if failed:
        raise RuntimeError(f"models did not answer: {failed}")
    calls = raw_forwards(pool, keys, poster, PLOT)

    def all_raw():
        with torch.inference_mode():
            for _, call in calls:
                call()

    compare = median_seconds(lambda: handler(str(poster), PLOT), repeat)
    raw = median_seconds(all_raw, repeat)
    for name, call in calls:
        with torch.inference_mode():
            result.add(f"raw forward, {name}", f"{median_seconds(call, 3) * 1000:.0f} ms")
    result.add(f"/compare handler, {len(keys)} models (median of {repeat})", f"{compare * 1000:.0f} ms")
    result.add(f"sum of raw forwards, {len(calls)} backbones (median of {repeat})", f"{raw * 1000:.0f} ms")
    result.ratio("/compare handler ÷ raw forwards", compare / raw, f"<= {TARGET:.2f}", compare / raw <= TARGET)
    return result
