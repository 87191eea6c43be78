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
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from ..data.films import load_datasets
from ..errors import ConfigError, GenreLensError
from ..models import hub
from ..training.reproduce import reproduce
from ..training.train import TrainOptions
from .options import (FEATURE_FIELDS, TRAIN_FLAGS, DataOptions, ModelsOptions, add_options, option,
                      options_from)

SUBSETS = {"all": None, "poster": ("poster",), "plot": ("plot",), "both": ("poster", "plot")}


@dataclass
class ReproduceCommand:
    out: str = option("reproduction", help="output folder")
    subset: str = option(
        "all", choices=list(SUBSETS), help="films used: all, or only those with a poster / a plot / both (the thesis had both)")
    limit: int | None = option(None, metavar="N", help="only the first N films (after --subset): a quick look "
                               "at the cost before a full run")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m genre_models reproduce", description=__doc__.split("\n")[0])
    add_options(p, DataOptions)
    add_options(p, ModelsOptions)
    add_options(p, ReproduceCommand)
    add_options(p, TrainOptions, flags=TRAIN_FLAGS, only=("head", "thesis_grid", "epochs", "split_seed", *FEATURE_FIELDS))
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    argv = list(sys.argv[1:] if argv is None else argv)
    options = options_from(args, TrainOptions)
    try:
        keys = options_from(args, ModelsOptions).keys()
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
