"""Train a genre head on a films CSV and save it as ``checkpoints/<key>/``.

    python -m genre_models.train --data ../shared/data/movies/movies.csv --model minilm --head mlp
    python -m genre_models.train --data movies.csv --model clip-vit-l-14 --grid     # thesis grid
    python -m genre_models.train --data movies.csv --model minilm --finetune        # whole plot model

Features come from the frozen backbone and are cached on disk (``--cache-dir``); the head is
trained with BCE and early stopping on the validation split, per-genre thresholds are tuned on
validation, and the test split is scored once, at the end, for the checkpoint's config.json.
"""
from __future__ import annotations

import argparse
import shlex
import sys
from typing import Sequence

from ..data.films import load_datasets
from ..errors import GenreLensError, WeightsUnavailableError
from ..models import hub
from ..models.registry import list_models, load_model_config
from ..training.finetune import LOSSES
from ..training.train import TrainOptions, train_model, training_target
from .options import add_feature_options


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m genre_models.train", description=__doc__.split("\n")[0])
    p.add_argument("--data", required=True, nargs="+", metavar="CSV",
                   help="films CSV(s) (id,title,year,genres,plot,poster), or .txt lists of them; several are one pool, split by id")
    p.add_argument("--model", required=True, help=f"model key: {', '.join(list_models())}")
    p.add_argument("--out", help="checkpoint folder (default: the model's, checkpoints/<key>); written "
                   "beside it and swapped in only when complete")
    p.add_argument("--overwrite", action="store_true",
                   help="replace the head already in the model's own folder (the shipped one, for minilm)")
    p.add_argument("--head", choices=["linear", "mlp"], default="linear")
    p.add_argument("--hidden", type=int, default=512, help="MLP hidden size")
    p.add_argument("--dropout", type=float, default=0.2)
    p.add_argument("--batch-size", type=int, nargs="+", default=[64])
    p.add_argument("--lr", type=float, nargs="+", default=[1e-3])
    p.add_argument("--optimizer", choices=["sgd", "adam", "adamw"], nargs="+", default=["adamw"])
    p.add_argument("--grid", action="store_true",
                   help="the thesis grid: batch 32/64/128 x lr 1e-2/1e-3/1e-4 x SGD/Adam/AdamW")
    p.add_argument("--epochs", type=int, default=60)
    p.add_argument("--patience", type=int, default=6, help="early stopping: epochs without improvement")
    p.add_argument("--weight-decay", type=float, default=1e-4)
    p.add_argument("--seed", type=int, default=0, help="training seed")
    p.add_argument("--split-seed", type=int, default=0, help="seed of the train/val/test split by id")
    p.add_argument("--val-frac", type=float, default=0.1)
    p.add_argument("--test-frac", type=float, default=0.1)
    p.add_argument("--finetune", action="store_true", help="fine-tune the whole plot model (text models)")
    p.add_argument("--finetune-epochs", type=int, default=3)
    p.add_argument("--backbone-lr", type=float, default=5e-5, help="backbone learning rate with --finetune")
    p.add_argument("--max-length", type=int, help="token limit while fine-tuning (default: the model's)")
    p.add_argument("--loss", choices=LOSSES, default="bce",
                   help="fine-tuning loss: BCE, BCE with per-genre pos_weight, or asymmetric loss")
    p.add_argument("--layer-decay", type=float, default=1.0,
                   help="with --finetune: each transformer layer's lr is this times the one above's (1 = one lr)")
    p.add_argument("--finetune-patience", type=int,
                   help="with --finetune: stop after this many epochs without a better val micro-F1")
    add_feature_options(p)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    argv = list(sys.argv[1:] if argv is None else argv)
    options = TrainOptions(
        head=args.head, hidden=args.hidden, dropout=args.dropout, batch_sizes=args.batch_size, lrs=args.lr,
        optimizers=args.optimizer, thesis_grid=args.grid, epochs=args.epochs, patience=args.patience,
        weight_decay=args.weight_decay, seed=args.seed, split_seed=args.split_seed, val_frac=args.val_frac,
        test_frac=args.test_frac, finetune=args.finetune, finetune_epochs=args.finetune_epochs,
        backbone_lr=args.backbone_lr, max_length=args.max_length, loss=args.loss, layer_decay=args.layer_decay,
        finetune_patience=args.finetune_patience, cache_dir=args.cache_dir,
        feature_batch_size=args.feature_batch_size, num_workers=args.num_workers, processes=args.processes,
        progress=not args.no_progress,
        overwrite=args.overwrite)
    try:
        if args.model_config:
            load_model_config(args.model_config)
        training_target(args.model, args.out, options)  # a bad key or setting is said before the data loads
        dataset = load_datasets(args.data)
        print(f"data: {dataset.source}")
        for line in dataset.report.lines():
            print(f"  {line}")
        hub.ensure_hub_mode()
        result = train_model(args.model, dataset, args.out, options,
                             command="python -m genre_models.train " + shlex.join(argv))
    except GenreLensError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2 if not isinstance(exc, WeightsUnavailableError) else 1
    print(f"saved {result.checkpoint_dir}")
    return 0


if __name__ == "__main__":
    from . import run

    sys.exit(run(main))
