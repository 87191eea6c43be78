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
import time
from dataclasses import replace
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from . import hub
from .checkpoint import save_checkpoint
from .data import FilmDataset, load_dataset, split_dataset
from .encoders import WeightsUnavailableError
from .features import DEFAULT_CACHE, FeatureCache
from .metrics import multilabel_metrics, summary
from .predictors import GenrePredictor, ModelPool
from .registry import UnknownModelError, get_model_spec, list_models, load_model_config
from .training import HeadConfig, TrainedHead, grid, predict_probabilities, run_grid

THESIS_GRID = {"batch_sizes": [32, 64, 128], "lrs": [1e-2, 1e-3, 1e-4], "optimizers": ["sgd", "adam", "adamw"]}


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m genre_models.train", description=__doc__.split("\n")[0])
    p.add_argument("--data", required=True, help="films CSV (id,title,year,genres,plot,poster)")
    p.add_argument("--model", required=True, help=f"model key: {', '.join(list_models())}")
    p.add_argument("--out", help="checkpoint folder (default: the model's, checkpoints/<key>)")
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
    p.add_argument("--cache-dir", default=str(DEFAULT_CACHE), help="feature cache folder")
    p.add_argument("--feature-batch-size", type=int, default=32)
    p.add_argument("--num-workers", type=int, default=2, help="DataLoader workers decoding posters")
    p.add_argument("--model-config", help="JSON file adding or re-pointing models")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    return p


def modality_features(cache: FeatureCache, predictor: GenrePredictor, dataset: FilmDataset, args,
                      pool: ModelPool) -> tuple[np.ndarray, np.ndarray]:
    """Features for the model's input: plot, poster, or both concatenated (fusion)."""
    kw = dict(batch_size=args.feature_batch_size, num_workers=args.num_workers, progress=not args.no_progress)
    spec = predictor.spec
    if spec.family == "fusion":
        image, image_mask = cache.features(pool.get(spec.image_model), dataset, "poster", **kw)
        text, text_mask = cache.features(pool.get(spec.text_model), dataset, "plot", **kw)
        return np.concatenate([image, text], axis=1), image_mask & text_mask
    return cache.features(predictor, dataset, "plot" if spec.needs_plot else "poster", **kw)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    argv = list(sys.argv[1:] if argv is None else argv)
    progress = not args.no_progress
    try:
        if args.model_config:
            load_model_config(args.model_config)
        spec = get_model_spec(args.model)
        if args.finetune and spec.family != "hf-text":
            raise ValueError("--finetune is for plot models (hf-text family); "
                             f"{args.model} is {spec.family}")
        dataset = load_dataset(args.data)
    except (UnknownModelError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"data: {args.data}")
    for line in dataset.report.lines():
        print(f"  {line}")
    hub.ensure_hub_mode()
    pool = ModelPool()
    predictor = pool.get(args.model)
    # train from the base backbone: never from a head (or fine-tuned backbone) already in checkpoints/
    predictor.spec = spec = replace(spec, checkpoint=None)
    splits = split_dataset(dataset, seed=args.split_seed, val=args.val_frac, test=args.test_frac)
    cache = FeatureCache(args.cache_dir)
    try:
        predictor.load()
        data = {}
        for name, part in splits.items():
            x, mask = modality_features(cache, predictor, part, args, pool)
            data[name] = (part.subset(mask), x[mask])
    except WeightsUnavailableError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print("split (seed {}): ".format(args.split_seed) + ", ".join(
        f"{name} {len(part)}" for name, (part, _) in data.items()))
    if min(len(part) for part, _ in data.values()) == 0:
        print("error: a split is empty: the data has too few usable rows for this model", file=sys.stderr)
        return 1
    genres = dataset.genres
    y = {name: part.labels() for name, (part, _) in data.items()}
    base = HeadConfig(head=args.head, hidden=args.hidden, dropout=args.dropout, epochs=args.epochs,
                      patience=args.patience, weight_decay=args.weight_decay, seed=args.seed,
                      batch_size=args.batch_size[0], lr=args.lr[0], optimizer=args.optimizer[0])
    started = time.time()
    extra: dict = {}
    configs = grid(base, **THESIS_GRID) if args.grid else grid(base, args.batch_size, args.lr, args.optimizer)
    best, grid_rows = run_grid(configs, data["train"][1], y["train"], data["val"][1], y["val"], genres, progress)
    if len(grid_rows) > 1:
        print("grid (validation micro-F1 at tuned thresholds):")
        for row in sorted(grid_rows, key=lambda r: -r["val_micro_f1"]):
            print(f"  bs={row['batch_size']:<4} lr={row['lr']:<7g} {row['optimizer']:<6} "
                  f"micro-F1 {row['val_micro_f1']:.4f}  macro AP {row['val_macro_ap']:.4f}")
    print(f"best head on frozen features: {best.config.label()} (epoch {best.best_epoch}), val micro-F1 "
          f"{best.val_metrics['micro_f1']:.4f}")
    if args.finetune:
        from .finetune import finetune_text, save_backbone
        texts = {name: part.frame["plot"].tolist() for name, (part, _) in data.items()}
        result = finetune_text(predictor.encoder, texts["train"], y["train"], texts["val"], y["val"], genres,
                               best.config, epochs=args.finetune_epochs, backbone_lr=args.backbone_lr,
                               max_length=args.max_length, init_head=best.head, progress=progress)
        grid_rows = {"frozen_features": grid_rows, "finetune": result.history}
        best = TrainedHead(result.head, best.config, result.thresholds, result.val_metrics,
                           epochs_run=args.finetune_epochs, best_epoch=result.best_epoch)
        print(f"fine-tuned: best epoch {best.best_epoch}, val micro-F1 {best.val_metrics['micro_f1']:.4f}")

    out = Path(args.out) if args.out else get_model_spec(args.model).checkpoint_dir()
    out.mkdir(parents=True, exist_ok=True)
    if args.finetune:
        name, digest = save_backbone(out, result.backbone_state)
        extra = {"finetuned_backbone": name, "finetuned_backbone_sha256": digest}
        test_prob = _finetuned_test_probabilities(predictor, result, data["test"][0])
    else:
        # a fine-tuned backbone left from an earlier run does not belong to this head
        from .finetune import BACKBONE_FILE
        (out / BACKBONE_FILE).unlink(missing_ok=True)
        test_prob = predict_probabilities(best.head, data["test"][1])
    test_metrics = multilabel_metrics(y["test"], test_prob, best.thresholds, genres)
    thresholds = dict(zip(genres, best.thresholds.tolist()))
    backbone = ({"image_model": pool.get(spec.image_model).spec.arch,
                 "text_model": pool.get(spec.text_model).spec.arch} if spec.family == "fusion"
                else {"arch": spec.arch, "pretrained": spec.pretrained, "family": spec.family})
    save_checkpoint(
        out, best.head, genres, thresholds, model_key=args.model, backbone=backbone, **extra,
        features=("concatenated poster + plot embeddings" if spec.family == "fusion" else
                  "L2-normalised mean-pooled token embeddings" if spec.needs_plot else
                  "L2-normalised CLIP image embeddings" if spec.family == "clip" else "pooled pre-logits"),
        metrics={"test": summary(test_metrics), "validation": summary(best.val_metrics),
                 "test_per_genre": test_metrics["per_genre"]},
        data={**dataset.describe(), "split_seed": args.split_seed, "val_frac": args.val_frac,
              "test_frac": args.test_frac, **{f"{n}_rows": len(part) for n, (part, _) in data.items()}},
        training={"head": best.config.__dict__, "finetune": args.finetune, "best_epoch": best.best_epoch,
                  "grid": grid_rows, "seconds": round(time.time() - started, 1),
                  "command": "python -m genre_models.train " + shlex.join(argv)},
    )
    m = test_metrics
    print(f"test ({len(data['test'][0])} films): label accuracy {m['label_accuracy']:.4f}, micro-F1 "
          f"{m['micro_f1']:.4f}, macro-F1 {m['macro_f1']:.4f}, macro AP {m['macro_ap']:.4f}")
    print(f"saved {out}")
    return 0


def _finetuned_test_probabilities(predictor, result, test: FilmDataset) -> np.ndarray:
    """Score the test split with the fine-tuned backbone, the way the predictor will load it."""
    from .finetune import encoder_with_backbone
    stored = {k: v.half() if v.is_floating_point() else v for k, v in result.backbone_state.items()}  # as saved
    features = encoder_with_backbone(predictor.encoder, stored).encode_texts(test.frame["plot"].tolist()).embeddings
    with torch.inference_mode():
        return torch.sigmoid(result.head.eval()(features)).numpy()


if __name__ == "__main__":
    sys.exit(main())
