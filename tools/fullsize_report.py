"""Measure the full-size lineup along the user's path: download sizes and time, load time, latency, memory.

    python tools/fullsize_report.py [--model-config FILE] [--out docs/full-size-measured.json]
    python tools/fullsize_report.py --models clip-vit-b-16 siglip2-vit-b-16   # those alone, then the whole lineup

1. Builds (once) the default models' repos with random-init weights of the full architectures and
   serves them on a loopback hub (tests/support/loopback_hub).
2. `python -m genre_models.download --models all` into an empty HF_HOME, timed; the sizes are the files'.
3. With the hub unreachable, each model in a process of its own: load time, then latency of one
   poster+plot prediction (median of 5 after one warm-up; the warm-up itself is the first prediction, which
   also embeds the zero-shot prompts), and the process's peak RSS.
   For each model alone, also the time one explanation of its top genre takes (Grad-CAM for poster
   models, word occlusion for plot models).
4. The whole lineup in one process, as the app holds it: peak RSS after loading all and comparing once.

Weights are random: the numbers are costs (bytes, seconds, memory), never accuracy. Prints Markdown.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
POSTER = ROOT / "assets" / "posters" / "wings_1927.jpg"
PLOT = ("Two young men from the same small town, one rich and one middle-class, enlist as pilots in the "
        "First World War and fall for the same woman while fighting in the skies over France.")

MEASURE = r"""
import json, resource, statistics, sys, time
from genre_models import ModelPool
from genre_models.models import hub
from genre_models.models.registry import load_model_config
config, keys = sys.argv[1], sys.argv[2:]
if config:
    load_model_config(config)
hub.ensure_hub_mode()
pool = ModelPool()
out = {}
for key in keys:
    started = time.perf_counter()
    pool.get(key).load()
    out[key] = {"load_s": time.perf_counter() - started}
for key in keys:
    predictor = pool.get(key)
    started = time.perf_counter()
    predictor.predict(POSTER, PLOT)  # warm-up: first-call allocations, zero-shot prompt embeddings
    out[key]["first_ms"] = 1000 * (time.perf_counter() - started)
    runs = []
    for _ in range(5):
        started = time.perf_counter()
        prediction = predictor.predict(POSTER, PLOT)
        runs.append(time.perf_counter() - started)
    out[key].update(status=prediction.status.value, mode=prediction.mode, latency_ms=1000 * statistics.median(runs),
                    message=prediction.message)
    if EXPLAIN and prediction.ok and not (predictor.spec.needs_poster and predictor.spec.needs_plot):
        from genre_models.explain import explain_plot, explain_poster
        started = time.perf_counter()
        if predictor.spec.needs_poster:
            explain_poster(predictor, POSTER)
        else:
            explain_plot(predictor, PLOT)
        out[key]["explain_s"] = time.perf_counter() - started
out["_peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(out))
"""


def _measure(keys: list[str], env: dict, config: str) -> dict:
    code = f"POSTER = {str(POSTER)!r}\nPLOT = {PLOT!r}\nEXPLAIN = {len(keys) == 1}\n" + MEASURE
    result = subprocess.run([sys.executable, "-c", code, config, *keys], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=3600)
    if result.returncode != 0:
        raise SystemExit(f"measuring {keys} failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model-config", default="", help="JSON re-pointing models (e.g. the CNN at a trained head)")
    parser.add_argument("--out", help="also write the measurements as JSON here")
    parser.add_argument("--models", nargs="+", metavar="KEY", help="measure these alone (default: every model); "
                        "the whole lineup is measured in one process too, unless --no-lineup")
    parser.add_argument("--no-lineup", action="store_true", help="skip the whole lineup in one process")
    args = parser.parse_args(argv)

    from tests.support.loopback_hub import DEFAULT_ROOT, LoopbackHub, build_repos
    from genre_models.models.lineup import DEFAULT_MODELS
    keys = [s.key for s in DEFAULT_MODELS]
    build_repos(DEFAULT_MODELS, DEFAULT_ROOT)
    hf_home = Path(tempfile.mkdtemp(prefix="genrelens-hf-home-"))
    base_env = {**os.environ, "HF_HOME": str(hf_home), "HF_HUB_OFFLINE": "0", "TOKENIZERS_PARALLELISM": "false"}
    with LoopbackHub(DEFAULT_ROOT) as hub:
        started = time.perf_counter()
        download = subprocess.run([sys.executable, "-m", "genre_models.download", "--models", "all"], cwd=ROOT,
                                  env={**base_env, "HF_ENDPOINT": hub.endpoint, "HF_HUB_DISABLE_PROGRESS_BARS": "1"},
                                  capture_output=True, text=True)
        download_s = time.perf_counter() - started
        sizes = {repo: sum(f.size for f in hub.index.files(repo).values()) for repo in hub.index.repos()}
    if download.returncode != 0:
        raise SystemExit(f"download failed:\n{download.stdout}\n{download.stderr}")
    # the hub is gone: every later load reads the cache, as on an offline laptop
    offline_env = {**base_env, "HF_ENDPOINT": "http://127.0.0.1:9"}
    per_model = {key: _measure([key], offline_env, args.model_config) for key in args.models or keys}
    lineup = None if args.no_lineup else _measure(keys, offline_env, args.model_config)

    from genre_models.cli.download import plan_fetch
    print(f"Download (`python -m genre_models.download --models all`, loopback hub, empty cache): "
          f"{sum(sizes.values()) / 1e6:,.1f} MB in {download_s:.1f} s\n")
    print("| model | hub repo | download MB | load s | first prediction ms | latency ms (poster+plot, median of 5) | "
          "explain s (Grad-CAM / word occlusion, top genre) | peak RSS MB (this model alone) | status |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---|")
    for spec in (s for s in DEFAULT_MODELS if s.key in per_model):
        repos = list(dict.fromkeys(f.repo for f in plan_fetch(spec) if f.repo))
        mb = sum(sizes.get(r, 0) for r in repos) / 1e6
        m = per_model[spec.key][spec.key]
        explain = f"{m['explain_s']:.1f}" if "explain_s" in m else "–"
        print(f"| {spec.key} | {', '.join(dict.fromkeys(repos)) or 'none (package / parts)'} | {mb:,.1f} | "
              f"{m['load_s']:.1f} | {m['first_ms']:,.0f} | {m['latency_ms']:.0f} | {explain} | {per_model[spec.key]['_peak_rss_mb']:,.0f} | "
              f"{m['status']} ({m['mode']}) |")
    if lineup is not None:
        print(f"\nWhole lineup in one process (every model loaded, six predictions each): peak RSS "
              f"{lineup['_peak_rss_mb']:,.0f} MB; statuses: "
              + ", ".join(f"{k} {lineup[k]['status']}" for k in keys))
    if args.out:
        Path(args.out).write_text(json.dumps({"download_s": download_s, "sizes": sizes, "per_model": per_model,
                                              "lineup": lineup}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
