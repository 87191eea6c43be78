"""Train a genre head on a films CSV and save it as ``checkpoints/<key>/``.

    python -m genre_models.train --data ../shared/data/movies/movies.csv --models minilm --head mlp
    python -m genre_models.train --data movies.csv --models clip-vit-l-14 --grid     # thesis grid
    python -m genre_models.train --data movies.csv --models minilm --finetune        # whole plot model

Features come from the frozen backbone and are cached on disk (``--cache-dir``); the head is
trained with BCE and early stopping on the validation split, per-genre thresholds are tuned on
validation, and the test split is scored once, at the end, for the checkpoint's config.json.
"""
from __future__ import annotations

import argparse
import shlex
import sys
from dataclasses import dataclass
from typing import Sequence

from ..data.films import load_datasets
from ..errors import ConfigError, GenreLensError, WeightsUnavailableError
from ..models import hub
from ..training.train import TrainOptions, train_model, training_target
from .options import (TRAIN_FLAGS, DataOptions, ModelsOptions, add_deprecated_spelling, add_options,
                      option, options_from)


@dataclass
class TrainCommand:
    """What ``train`` takes besides the data, the model and TrainOptions."""

    out: str | None = option(None, help="checkpoint folder (default: the model's, checkpoints/<key>); written "
                             "beside it and swapped in only when complete")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m genre_models train", description=__doc__.split("\n")[0])
    add_options(p, DataOptions)
    # required, checked in main: argparse would refuse the deprecated --model as a missing --models
    add_options(p, ModelsOptions, defaults={"models": ()})
    add_deprecated_spelling(p, "--model", field="models", instead="--models KEY")
    add_options(p, TrainCommand)
    add_options(p, TrainOptions, flags=TRAIN_FLAGS)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.models:
        parser.error("the following arguments are required: --models")
    argv = list(sys.argv[1:] if argv is None else argv)
    options, out = options_from(args, TrainOptions), args.out
    try:
        models = options_from(args, ModelsOptions)
        if len(models.models) != 1 or "all" in models.models:
            raise ConfigError(f"train takes one model key per run (--models KEY), got {' '.join(models.models)}")
        key = models.keys()[0]  # registers --model-config first
        training_target(key, out, options)  # a bad key or setting is said before the data loads
        dataset = load_datasets(args.data)
        print(f"data: {dataset.source}")
        for line in dataset.report.lines():
            print(f"  {line}")
        hub.ensure_hub_mode()
        result = train_model(key, dataset, out, options,
                             command="python -m genre_models.train " + shlex.join(argv))
    except GenreLensError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2 if not isinstance(exc, WeightsUnavailableError) else 1
    print(f"saved {result.checkpoint_dir}")
    return 0


if __name__ == "__main__":
    from . import run

    sys.exit(run(main))
