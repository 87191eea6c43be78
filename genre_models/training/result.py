"""What every trainer returns and records, whatever it trains (a head, TF-IDF, an ensemble's blend)."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..data.films import FilmDataset
from .fit import TrainedHead


@dataclass
class TrainResult:
    checkpoint_dir: Path
    split_sizes: dict[str, int]
    head: TrainedHead | None  # None for a model that is not a head (TF-IDF, an ensemble's blend)
    test_metrics: dict
    grid_rows: list[dict] | dict = field(default_factory=list)
    seconds: float = 0.0


def data_record(dataset: FilmDataset, options, sizes: dict[str, int]) -> dict:
    """The ``data`` field of a checkpoint's config.json: the files, the split and its sizes."""
    return {**dataset.describe(), "split_seed": options.split_seed, "val_frac": options.val_frac,
            "test_frac": options.test_frac, **{f"{n}_rows": k for n, k in sizes.items()}}
