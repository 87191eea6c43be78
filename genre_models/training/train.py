"""Train a genre head (optionally fine-tuning a plot model) and write it as a checkpoint folder.

Features come from the predictor's own backbone through the on-disk cache; the head is trained with
BCE and early stopping on the validation split; per-genre thresholds are tuned on validation; the
checkpoint is written beside its target and scored on the test split *as a loaded checkpoint*, through
the same path ``evaluate`` and the app use, before it is swapped into place.
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from ..data.films import FilmDataset, split_dataset
from ..errors import ConfigError, DataError
from ..models.checkpoint import has_config, save_checkpoint, staged_checkpoint
from ..models.finetuned_backbone import save_backbone
from ..models.predictors import ModelPool, create_predictor
from ..models.registry import ModelSpec, get_model_spec, with_checkpoint
from .calibrate import fit_zero_shot
from .ensemble import fit_ensemble
from .feature_cache import DEFAULT_CACHE, FeatureCache
from .finetune import finetune_text
from .fit import HeadConfig, TrainedHead, grid, run_grid
from .parallel import cache_options
from .result import TrainResult, data_record
from .scoring import record_test_metrics
from .tfidf import train_tfidf

# families whose models are not a head on backbone features, and the function that trains each
FAMILY_TRAINERS = {"tfidf-text": train_tfidf, "ensemble": fit_ensemble}
THESIS_GRID = {"batch_sizes": [32, 64, 128], "lrs": [1e-2, 1e-3, 1e-4], "optimizers": ["sgd", "adam", "adamw"]}


@dataclass
class TrainOptions:
    """Everything ``train_model`` can be asked; the defaults are the CLI's."""

    head: str = "linear"
    hidden: int = 512
    dropout: float = 0.2
    batch_sizes: Sequence[int] = (64,)
    lrs: Sequence[float] = (1e-3,)
    optimizers: Sequence[str] = ("adamw",)
    thesis_grid: bool = False
    epochs: int = 60
    patience: int = 6
    weight_decay: float = 1e-4
    seed: int = 0
    split_seed: int = 0
    val_frac: float = 0.1
    test_frac: float = 0.1
    finetune: bool = False
    finetune_epochs: int = 3
    backbone_lr: float = 5e-5
    max_length: int | None = None
    loss: str = "bce"
    layer_decay: float = 1.0
    finetune_patience: int | None = None
    cache_dir: str | Path = DEFAULT_CACHE
    feature_batch_size: int = 32
    num_workers: int = 2
    processes: int = 1  # feature extraction in this many processes (training/parallel.py)
    progress: bool = True
    overwrite: bool = False  # replace the head already in the model's own folder (not needed with ``out``)

    def head_configs(self) -> list[HeadConfig]:
        base = HeadConfig(head=self.head, hidden=self.hidden, dropout=self.dropout, epochs=self.epochs,
                          patience=self.patience, weight_decay=self.weight_decay, seed=self.seed)
        axes = THESIS_GRID if self.thesis_grid else {"batch_sizes": self.batch_sizes, "lrs": self.lrs,
                                                     "optimizers": self.optimizers}
        return grid(base, **axes)


def training_target(key: str, out: str | Path | None, options: TrainOptions) -> tuple[ModelSpec, Path]:
    """The model's spec and the folder its checkpoint goes to, checked before any work is done.

    Raises UnknownModelError, or ConfigError (no folder to write to, fine-tuning a family that cannot).
    """
    spec = get_model_spec(key)
    target = Path(out) if out else spec.checkpoint_dir()
    if target is None:
        raise ConfigError(f"model {key!r} has no checkpoint folder in its spec; pass --out FOLDER")
    if out is None and has_config(target) and not options.overwrite:
        raise ConfigError(f"{target} already holds a trained head for {key}; pass --out FOLDER to write "
                          "the new one elsewhere, or --overwrite to replace it")
    if not 0 < options.layer_decay <= 1:
        raise ConfigError(f"--layer-decay must be above 0 and at most 1, got {options.layer_decay:g}")
    if options.finetune_patience is not None and options.finetune_patience < 1:
        raise ConfigError(f"--finetune-patience must be at least 1 epoch, got {options.finetune_patience}")
    if options.finetune and not spec.family_impl.finetunable:
        raise ConfigError(f"--finetune is for models whose family can be fine-tuned; {key} is {spec.family}")
    return spec, target


def train_model(key: str, dataset: FilmDataset, out: str | Path | None = None,
                options: TrainOptions | None = None, command: str = "", pool: ModelPool | None = None,
                log: Callable[[str], None] = print) -> TrainResult:
    """Train model ``key``'s head on ``dataset`` and write it to ``out`` (default: the model's folder).

    Raises what :func:`training_target` raises, DataError (a split without usable films) and
    WeightsUnavailableError (no backbone weights).
    """
    options = options or TrainOptions()
    spec, target = training_target(key, out, options)
    started = time.time()
    pool = pool or ModelPool()
    if spec.family in FAMILY_TRAINERS:
        return FAMILY_TRAINERS[spec.family](spec, dataset, target, options, pool, command, log)
    # from the base backbone, never from a head (or fine-tuned backbone) already in its folder
    predictor = create_predictor(with_checkpoint(spec, None), pool)
    predictor.load()
    cache = FeatureCache(options.cache_dir)
    feature_options = cache_options(options)
    splits = split_dataset(dataset, seed=options.split_seed, val=options.val_frac, test=options.test_frac)
    data = {name: _head_features(predictor, part, cache, feature_options) for name, part in splits.items()}
    sizes = {name: len(part) for name, (part, _) in data.items()}
    log(f"split (seed {options.split_seed}): " + ", ".join(f"{n} {k}" for n, k in sizes.items()))
    if min(sizes.values()) == 0:
        raise DataError("a split is empty: the data has too few usable rows for this model")
    genres = dataset.genres
    y = {name: part.labels() for name, (part, _) in data.items()}
    best, grid_rows = run_grid(options.head_configs(), data["train"][1], y["train"], data["val"][1], y["val"],
                               genres, options.progress)
    if len(grid_rows) > 1:
        log("grid (validation micro-F1 at tuned thresholds):")
        for row in sorted(grid_rows, key=lambda r: -r["val_micro_f1"]):
            log(f"  bs={row['batch_size']:<4} lr={row['lr']:<7g} {row['optimizer']:<6} "
                f"micro-F1 {row['val_micro_f1']:.4f}  macro AP {row['val_macro_ap']:.4f}")
    log(f"best head on frozen features: {best.config.label()} (epoch {best.best_epoch}), val micro-F1 "
        f"{best.val_metrics['micro_f1']:.4f}")
    zero_shot = None
    if getattr(predictor, "scorer", None) is not None and len(predictor.head_feature_requests()) == 1 \
            and predictor.encoder.zero_shot_encoder() is predictor.encoder:
        # the frozen features are the base backbone's: what zero-shot scores too (not ConSE's: it reads
        # its own semantic embeddings, so it keeps its default scale)
        zero_shot = fit_zero_shot(predictor.scorer, data["val"][1], y["val"], genres)
        if zero_shot is None:
            log("zero-shot not calibrated: on val, a higher prompt similarity does not mean the genre more often")
        else:
            log(f"zero-shot calibrated on val: scale {zero_shot['scale']:g}, bias {zero_shot['bias']:g}; "
                f"micro-F1 {zero_shot['before']['micro_f1']:.4f} -> {zero_shot['after']['micro_f1']:.4f}")
            zero_shot["fitted_on"] = "validation split, frozen base features"
    backbone_state = None
    if options.finetune:
        texts = {name: part.frame["plot"].tolist() for name, (part, _) in data.items()}
        result = finetune_text(predictor.encoder, texts["train"], y["train"], texts["val"], y["val"], genres,
                               best.config, epochs=options.finetune_epochs, backbone_lr=options.backbone_lr,
                               max_length=options.max_length, init_head=best.head, progress=options.progress,
                               loss=options.loss, layer_decay=options.layer_decay,
                               patience=options.finetune_patience)
        grid_rows = {"frozen_features": grid_rows, "finetune": result.history}
        best = TrainedHead(result.head, best.config, result.thresholds, result.val_metrics,
                           epochs_run=len(result.history), best_epoch=result.best_epoch)
        backbone_state = result.backbone_state
        log(f"fine-tuned: best epoch {best.best_epoch}, val micro-F1 {best.val_metrics['micro_f1']:.4f}")

    with staged_checkpoint(target) as staging:
        extra = {}
        if backbone_state is not None:
            name, digest = save_backbone(staging, backbone_state)
            extra = {"finetuned_backbone": name, "finetuned_backbone_sha256": digest}
        if zero_shot is not None:
            extra["zero_shot"] = zero_shot
        config = dict(
            model_key=key, backbone=predictor.backbone_identity(), **extra,
            features=" + ".join(f"{r.predictor.key} {r.modality}" for r in predictor.head_feature_requests()),
            data=data_record(dataset, options, sizes),
            training={"head": asdict(best.config), "finetune": options.finetune, **({"finetune_settings": {
                          "epochs": options.finetune_epochs, "backbone_lr": options.backbone_lr,
                          "max_length": options.max_length, "loss": options.loss,
                          "layer_decay": options.layer_decay, "patience": options.finetune_patience}}
                          if options.finetune else {}), "best_epoch": best.best_epoch,
                      "grid": grid_rows, "seconds": round(time.time() - started, 1), "command": command},
        )
        save_checkpoint(staging, best.head, genres, dict(zip(genres, best.thresholds.tolist())), **config)
        # the test split is scored by the checkpoint as it will be loaded: the app's own path
        trained = predictor.with_head(staging)
        if trained.checkpoint is None:
            raise ConfigError(f"the checkpoint just written does not load: {trained.head_error}")
        answers, test_metrics = record_test_metrics(trained, splits["test"], cache, genres, staging,
                                                    best.val_metrics, **feature_options)
    m = test_metrics
    log(f"test ({len(answers.rows)} films): label accuracy {m['label_accuracy']:.4f}, micro-F1 "
        f"{m['micro_f1']:.4f}, macro-F1 {m['macro_f1']:.4f}, macro AP {m['macro_ap']:.4f}")
    return TrainResult(target, sizes, best, test_metrics, grid_rows, round(time.time() - started, 1))


def _head_features(predictor, part: FilmDataset, cache: FeatureCache, options) -> tuple[FilmDataset, np.ndarray]:
    """The films of ``part`` that have every input the head reads, and those features side by side."""
    requests = predictor.head_feature_requests()
    features, rows = cache.for_requests(requests, part, **options)
    return part.subset(rows), np.concatenate([features[r.key] for r in requests], axis=1)[rows]
