"""Evaluate models (trained heads and zero-shot) and baselines on the test split of a films CSV.

    python -m genre_models.evaluate --data ../shared/data/movies/movies.csv --models minilm --out docs/evaluation

    python -m genre_models.evaluate --all-films --data my_films.csv --posters posters.zip --models minilm tfidf

Writes ``evaluation.md`` (thesis-style table + per-genre table), ``evaluation.json`` and
``per_genre_f1.png`` into ``--out``. ``--all-films`` scores every film of one CSV of your own instead
of a test split, exactly as the app's "Your films" tab and its ``/evaluate_films`` endpoint do (one
function, ``comparison/your_films.py``), and adds ``predictions.csv``. Each model is scored in every mode it answers in, through the
app's own predictor and thresholds; all metrics are sklearn's. The split is the same deterministic
split by id that ``genre_models.train`` uses (same ``--split-seed``).
"""
from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path
from typing import Sequence

from ..data.films import load_datasets
from ..comparison.your_films import evaluate_films
from ..data.film_rows import MAX_EVAL_FILMS
from ..errors import GenreLensError
from ..models import hub
from ..models.predictors import ModelPool
from ..models.registry import list_models, resolve_lineup
from ..training.baselines import BASELINES
from ..training.evaluate import EVALUATION_MODES, evaluate_models
from .options import positive_int
from ..training.feature_cache import DEFAULT_CACHE, FeatureCache
from ..training.report import TABLE_COLUMNS
from .options import add_heads_option, apply_heads_option


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m genre_models.evaluate", description=__doc__.split("\n")[0])
    p.add_argument("--data", required=True, nargs="+", metavar="CSV",
                   help="films CSV(s) (id,title,year,genres,plot,poster), or .txt lists of them; several are one pool, split by id")
    p.add_argument("--models", nargs="+", default=["minilm"], help=f"valid: {', '.join(list_models())}")
    p.add_argument("--modes", nargs="+", choices=EVALUATION_MODES,
                   help="modes to score each model in (rows that resolve to the same answer are kept once); "
                        "default: every mode, or with --all-films the app's (auto)")
    p.add_argument("--all-films", action="store_true",
                   help="score every film of one CSV of your own (as the app's Your films tab), not a test split")
    p.add_argument("--posters", metavar="ZIP", help="with --all-films: a zip of the posters the CSV names "
                   "(default: poster paths relative to the CSV)")
    p.add_argument("--max-eval-films", type=positive_int, default=MAX_EVAL_FILMS,
                   help="with --all-films: refuse a CSV with more rows than this")
    p.add_argument("--baselines", nargs="*", choices=BASELINES, default=list(BASELINES))
    p.add_argument("--split-seed", type=int, default=0)
    p.add_argument("--val-frac", type=float, default=0.1)
    p.add_argument("--test-frac", type=float, default=0.1)
    p.add_argument("--out", default="runs/evaluation", help="folder for evaluation.md/.json/.png")
    p.add_argument("--cache-dir", default=str(DEFAULT_CACHE))
    p.add_argument("--num-workers", type=int, default=2)
    p.add_argument("--model-config", help="JSON file adding or re-pointing models")
    add_heads_option(p)
    p.add_argument("--no-progress", action="store_true")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    argv = list(sys.argv[1:] if argv is None else argv)
    command = "python -m genre_models.evaluate " + shlex.join(argv)
    if args.all_films:
        return _all_films(args, command)
    try:
        apply_heads_option(args)
        keys = resolve_lineup(args.models, args.model_config)
        dataset = load_datasets(args.data)
        for line in dataset.report.lines():
            print(f"  {line}")
        hub.ensure_hub_mode()
        report = evaluate_models(dataset, keys, args.modes or EVALUATION_MODES, args.baselines, args.split_seed, args.val_frac,
                                 args.test_frac, FeatureCache(args.cache_dir), num_workers=args.num_workers,
                                 progress=not args.no_progress,
                                 command=command)
    except GenreLensError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if not any(r.mode != "baseline" for r in report.results):
        print("error: no model could be evaluated", file=sys.stderr)
        return 1
    out = report.write(args.out)
    print_table(report.results)
    print(f"wrote {out / 'evaluation.md'}, evaluation.json, per_genre_f1.png")
    return 0


def print_table(results) -> None:
    """One line per result (model, mode, films, the table's metrics), as both kinds of evaluation print it."""
    print(f"{'model':<34} {'mode':<12} {'films':>5}  " + "  ".join(f"{h:>11}" for _, h in TABLE_COLUMNS))
    for r in results:
        print(f"{r.name:<34} {r.mode[:12]:<12} {r.films:>5}  "
              + "  ".join(f"{r.metrics[k]:>11.4f}" for k, _ in TABLE_COLUMNS))


def _all_films(args, command: str) -> int:
    """``--all-films``: the app's Your films evaluation of one CSV, one auto-mode row per model."""
    if len(args.data) != 1 or len(args.modes or ["auto"]) != 1:
        print("error: --all-films takes one CSV (--data) and at most one mode (--modes)", file=sys.stderr)
        return 2
    try:
        keys = resolve_lineup(args.models, args.model_config)
        hub.ensure_hub_mode()
        csv_path = Path(args.data[0])
        evaluation = evaluate_films(ModelPool(), keys, csv_path, args.posters, (args.modes or ["auto"])[0],
                                    args.max_eval_films, poster_root=csv_path.parent)
    except GenreLensError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for line in evaluation.skipped + evaluation.notes:
        print(f"  {line}")
    out = evaluation.write(args.out, command)
    print_table(evaluation.results)
    print(f"wrote {out / 'evaluation.md'}, evaluation.json, per_genre_f1.png, predictions.csv")
    return 0


if __name__ == "__main__":
    from . import run

    sys.exit(run(main))
