"""Training multi-label heads on cached features (BCE, early stopping, the thesis's grid)."""
from __future__ import annotations

import copy
import itertools
from dataclasses import asdict, dataclass, replace

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from ..models.checkpoint import GenreHead
from .metrics import multilabel_metrics, tune_thresholds

OPTIMIZERS = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam, "adamw": torch.optim.AdamW}


@dataclass(frozen=True)
class HeadConfig:
    """One training setting; the grid varies batch_size, lr and optimizer."""

    head: str = "linear"
    hidden: int = 512
    dropout: float = 0.2
    batch_size: int = 64
    lr: float = 1e-3
    optimizer: str = "adamw"
    weight_decay: float = 1e-4
    epochs: int = 60
    patience: int = 6
    seed: int = 0

    def label(self) -> str:
        return f"{self.head} bs={self.batch_size} lr={self.lr:g} {self.optimizer}"


@dataclass
class TrainedHead:
    head: GenreHead
    config: HeadConfig
    thresholds: np.ndarray
    val_metrics: dict
    epochs_run: int
    best_epoch: int


def predict_probabilities(head: nn.Module, x: np.ndarray, batch_size: int = 4096) -> np.ndarray:
    head.eval()
    out = []
    with torch.inference_mode():
        for start in range(0, len(x), batch_size):
            out.append(torch.sigmoid(head(torch.from_numpy(x[start:start + batch_size]))).numpy())
    return np.concatenate(out) if out else np.zeros((0, head.num_genres), np.float32)


def selection_score(y_true: np.ndarray, y_prob: np.ndarray, genres) -> tuple[float, np.ndarray, dict]:
    """Validation micro-F1 at per-genre thresholds tuned on that validation data (what ships)."""
    thresholds = tune_thresholds(y_true, y_prob)
    metrics = multilabel_metrics(y_true, y_prob, thresholds, genres)
    return metrics["micro_f1"], thresholds, metrics


def train_head(x_train: np.ndarray, y_train: np.ndarray, x_val: np.ndarray, y_val: np.ndarray,
               config: HeadConfig, genres, progress: bool = True) -> TrainedHead:
    """Train one head with BCE; keep the epoch with the best validation score (early stopping)."""
    if config.optimizer not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {config.optimizer!r}; valid: {', '.join(OPTIMIZERS)}")
    torch.manual_seed(config.seed)
    generator = torch.Generator().manual_seed(config.seed)
    head = GenreHead(x_train.shape[1], y_train.shape[1], kind=config.head, hidden=config.hidden,
                     dropout=config.dropout)
    options = {"lr": config.lr, "weight_decay": config.weight_decay}
    if config.optimizer == "sgd":
        options["momentum"] = 0.9
    optimizer = OPTIMIZERS[config.optimizer](head.parameters(), **options)
    loss_fn = nn.BCEWithLogitsLoss()
    xt, yt = torch.from_numpy(x_train), torch.from_numpy(y_train)
    best = (-1.0, None, None, None, 0)
    waited, epoch = 0, 0
    bar = tqdm(range(config.epochs), desc=config.label(), disable=not progress, leave=False)
    for epoch in bar:
        head.train()
        order = torch.randperm(len(xt), generator=generator)
        for start in range(0, len(order), config.batch_size):
            idx = order[start:start + config.batch_size]
            optimizer.zero_grad()
            loss_fn(head(xt[idx]), yt[idx]).backward()
            optimizer.step()
        score, thresholds, metrics = selection_score(y_val, predict_probabilities(head, x_val), genres)
        bar.set_postfix(val_micro_f1=f"{score:.4f}")
        if score > best[0]:
            best = (score, copy.deepcopy(head.state_dict()), thresholds, metrics, epoch + 1)
            waited = 0
        else:
            waited += 1
            if waited >= config.patience:
                break
    head.load_state_dict(best[1])
    head.eval()
    return TrainedHead(head, config, best[2], best[3], epochs_run=epoch + 1, best_epoch=best[4])


def grid(base: HeadConfig, batch_sizes, lrs, optimizers) -> list[HeadConfig]:
    """Every combination of the thesis's grid axes."""
    return [replace(base, batch_size=b, lr=lr, optimizer=o)
            for b, lr, o in itertools.product(batch_sizes, lrs, optimizers)]


def run_grid(configs: list[HeadConfig], x_train, y_train, x_val, y_val, genres,
             progress: bool = True) -> tuple[TrainedHead, list[dict]]:
    """Train every setting; return the best on validation and a row per setting for the report."""
    results, rows = [], []
    for config in tqdm(configs, desc="grid", disable=not progress or len(configs) == 1):
        trained = train_head(x_train, y_train, x_val, y_val, config, genres, progress)
        results.append(trained)
        rows.append({**asdict(config), "val_micro_f1": trained.val_metrics["micro_f1"],
                     "val_macro_ap": trained.val_metrics["macro_ap"], "best_epoch": trained.best_epoch})
    best = max(results, key=lambda t: t.val_metrics["micro_f1"])
    return best, rows
