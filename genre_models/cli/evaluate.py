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
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from ..comparison.your_films import evaluate_films
from ..data.film_rows import MAX_EVAL_FILMS
from ..data.films import load_datasets
from ..errors import GenreLensError
from ..models import hub
from ..models.predictors import ModelPool
from ..training.baselines import BASELINES
from ..training.evaluate import EVALUATION_MODES, evaluate_models
from ..training.feature_cache import FeatureCache
from ..training.report import TABLE_COLUMNS
from ..training.train import TrainOptions
from .options import (SPLIT_FIELDS, TRAIN_FLAGS, DataOptions, HeadsOptions, ModelsOptions, add_options, option,
                      options_from, positive_int)


@dataclass
class EvaluateCommand:
    modes: list[str] | None = option(None, nargs="+", choices=list(EVALUATION_MODES), help=(
        "modes to score each model in (rows that resolve to the same answer are kept once); "
        "default: every mode, or with --all-films the app's (auto)"))
    all_films: bool = option(False, help="score every film of one CSV of your own (as the app's Your films "
                             "tab), not a test split")
    posters: str | None = option(None, metavar="ZIP", help="with --all-films: a zip of the posters the CSV "
                                 "names (default: poster paths relative to the CSV)")
    max_eval_films: int = option(MAX_EVAL_FILMS, type=positive_int,
                                 help="with --all-films: refuse a CSV with more rows than this")
    baselines: list[str] = option(list(BASELINES), nargs="*", choices=list(BASELINES),
                                  help="baselines scored beside the models")
    out: str = option("runs/evaluation", help="folder for evaluation.md/.json/.png")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m genre_models evaluate", description=__doc__.split("\n")[0])
    add_options(p, DataOptions)
    add_options(p, ModelsOptions, defaults={"models": ("minilm",)})
    add_options(p, HeadsOptions)
    add_options(p, EvaluateCommand)
    add_options(p, TrainOptions, flags=TRAIN_FLAGS, only=(*SPLIT_FIELDS, "cache_dir", "num_workers", "progress"))
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    argv = list(sys.argv[1:] if argv is None else argv)
    command = "python -m genre_models.evaluate " + shlex.join(argv)
    models = options_from(args, ModelsOptions)
    if args.all_films:
        return _all_films(args, models, command)
    try:
        options_from(args, HeadsOptions).apply()
        keys = models.keys()
        dataset = load_datasets(args.data)
        for line in dataset.report.lines():
            print(f"  {line}")
        hub.ensure_hub_mode()
        report = evaluate_models(dataset, keys, args.modes or EVALUATION_MODES, args.baselines, args.split_seed, args.val_frac,
                                 args.test_frac, FeatureCache(args.cache_dir), num_workers=args.num_workers,
                                 progress=args.progress,
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


def _all_films(args, models: ModelsOptions, command: str) -> int:
    """``--all-films``: the app's Your films evaluation of one CSV, one auto-mode row per model."""
    if len(args.data) != 1 or len(args.modes or ["auto"]) != 1:
        print("error: --all-films takes one CSV (--data) and at most one mode (--modes)", file=sys.stderr)
        return 2
    try:
        keys = models.keys()
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
