"""explain: what one "Why?" costs per model, through the app's own /explain handler, against one
prediction of the same model through its /compare handler (an explanation is a backward pass for a
poster model, one pass per word for a plot model)."""
from __future__ import annotations

from pathlib import Path

from genre_models.models.predictors import ModelPool
from .common import BenchResult, median_seconds
from .lineup import PLOT, poster_file, register_full_size
from .overhead import app_handler


def run(workdir: Path, repeat: int = 3) -> BenchResult:
    result = BenchResult("explain")
    keys = register_full_size(workdir)
    pool = ModelPool()
    poster = str(poster_file(workdir))
    explain, compare = app_handler(keys, pool, "explain"), app_handler(keys, pool, "compare")
    for key in keys:
        answer = explain(poster, PLOT, [key])  # loads the model (not timed) and checks it explains
        explained = {**answer["heatmaps"], **answer["words"]}
        if key not in explained:
            result.notes.append(f"{key}: not explained ({answer['skipped'].get(key, 'no answer')})")
            continue
        what = explained[key]
        how = f"Grad-CAM on {what['layer']}" if key in answer["heatmaps"] else f"{len(what['words'])} words occluded"
        explain_s = median_seconds(lambda: explain(poster, PLOT, [key]), repeat)
        predict_s = median_seconds(lambda: compare(poster, PLOT, [key]), repeat)
        result.add(f"{key}: one explanation ({how}), median of {repeat}", f"{explain_s * 1000:.0f} ms")
        result.add(f"{key}: one prediction, median of {repeat}", f"{predict_s * 1000:.0f} ms")
        result.ratio(f"{key}: explanation ÷ prediction", explain_s / predict_s)
    result.notes.append(f"plot: {len(PLOT.split())} words; poster {poster_file(workdir).name} (444 × 300 px); "
                        "each model alone, its own top genre")
    return result
