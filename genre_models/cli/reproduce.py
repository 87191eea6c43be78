"""Reproduce the thesis in one command: features, heads (the thesis grid optional), fusion, evaluation.

    python -m genre_models.reproduce --data ../shared/data/movies/movies.csv --subset both
    python -m genre_models.reproduce --data movies.csv --grid --models clip-vit-l-14 bit-resnet50 minilm fusion

Writes ``OUT/reproduce.md`` (the thesis-style table beside the thesis's own figures, time per
stage), ``OUT/reproduce.json``, ``OUT/evaluation/`` and a checkpoint per model in ``OUT/<key>/`` with its model card: the layout of a
heads repo, so ``hf upload OWNER/REPO OUT`` publishes them and ``--heads OWNER/REPO`` reads them.
Features are cached (``--cache-dir``): a rerun, or a run after an interruption, encodes only what
is missing.
"""
from __future__ import annotations

import argparse
import shlex
import sys
from typing import Sequence

import numpy as np

from ..data.films import load_datasets
from ..errors import ConfigError, GenreLensError
from ..models import hub
from ..models.registry import list_models, load_model_config, validate_keys
from ..training.reproduce import reproduce
from ..training.train import TrainOptions
from .options import add_feature_options

SUBSETS = {"all": None, "poster": ("poster",), "plot": ("plot",), "both": ("poster", "plot")}


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m genre_models.reproduce", description=__doc__.split("\n")[0])
    p.add_argument("--data", required=True, nargs="+", metavar="CSV",
                   help="films CSV(s) (id,title,year,genres,plot,poster), or .txt lists of them; several are one pool, split by id")
    p.add_argument("--models", nargs="+", metavar="KEY", help=f"default: all. Valid: {', '.join(list_models())}")
    p.add_argument("--out", default="reproduction", help="output folder (default: %(default)s)")
    p.add_argument("--subset", choices=list(SUBSETS), default="all",
                   help="films used: all, or only those with a poster / a plot / both (the thesis had both)")
    p.add_argument("--limit", type=int, metavar="N",
                   help="only the first N films (after --subset): a quick look at the cost before a full run")
    p.add_argument("--grid", action="store_true",
                   help="the thesis grid per head: batch 32/64/128 x lr 1e-2/1e-3/1e-4 x SGD/Adam/AdamW")
    p.add_argument("--head", choices=["linear", "mlp"], default="linear")
    p.add_argument("--epochs", type=int, default=60)
    p.add_argument("--split-seed", type=int, default=0, help="seed of the train/val/test split by id")
    add_feature_options(p)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    argv = list(sys.argv[1:] if argv is None else argv)
    options = TrainOptions(head=args.head, thesis_grid=args.grid, epochs=args.epochs, split_seed=args.split_seed,
                           cache_dir=args.cache_dir, feature_batch_size=args.feature_batch_size,
                           num_workers=args.num_workers, processes=args.processes,
                           progress=not args.no_progress)
    try:
        if args.model_config:
            load_model_config(args.model_config)
        keys = validate_keys(args.models or list_models())
        dataset = load_datasets(args.data)
        print(f"data: {dataset.source}")
        for line in dataset.report.lines():
            print(f"  {line}")
        needed = SUBSETS[args.subset]
        if needed:
            dataset = dataset.subset(dataset.frame[list(needed)].notna().all(axis=1).to_numpy())
            print(f"  using the {len(dataset)} films with {' and '.join(needed)}")
            if len(dataset) == 0:
                raise ConfigError(f"no film in {args.data} has {' and '.join(needed)}")
        if args.limit is not None:
            if args.limit < 1:
                raise ConfigError(f"--limit must be at least 1, got {args.limit}")
            dataset = dataset.subset(np.arange(len(dataset)) < args.limit)
            print(f"  using the first {len(dataset)} films (--limit)")
        hub.ensure_hub_mode()
        result = reproduce(dataset, keys, args.out, options,
                           command="python -m genre_models.reproduce " + shlex.join(argv))
    except GenreLensError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0 if not result.skipped else 1


if __name__ == "__main__":
    from . import run

    sys.exit(run(main))
