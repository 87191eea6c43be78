"""Command-line options that several commands share, declared once."""
from __future__ import annotations

import argparse

from ..training.feature_cache import DEFAULT_CACHE


def add_feature_options(p: argparse.ArgumentParser) -> None:
    """Feature cache, batching, poster decoding workers, model config and progress bars."""
    p.add_argument("--cache-dir", default=str(DEFAULT_CACHE), help="feature cache folder")
    p.add_argument("--feature-batch-size", type=int, default=32)
    p.add_argument("--num-workers", type=int, default=2, help="DataLoader workers decoding posters")
    p.add_argument("--model-config", help="JSON file adding or re-pointing models")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
