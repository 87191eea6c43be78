"""Command-line options that several commands share, declared once."""
from __future__ import annotations

import argparse

from ..models.hub import HEADS_ENV, use_heads_repo
from ..models.registry import ModelSpec, get_model_spec, list_models, resolve_lineup
from ..training.feature_cache import DEFAULT_CACHE


def add_model_choice(p: argparse.ArgumentParser) -> None:
    """Model keys as positional arguments ('all', the default, is every registered model) and --model-config."""
    p.add_argument("models", nargs="*", default=["all"], metavar="KEY",
                   help=f"model keys or 'all'. Valid: {', '.join(list_models())}")
    p.add_argument("--model-config", metavar="FILE", help="JSON file adding or re-pointing models")


def chosen_specs(args: argparse.Namespace) -> list[ModelSpec]:
    """The specs ``add_model_choice`` arguments name, after registering --model-config.

    Raises UnknownModelError (listing the valid keys) or ConfigError.
    """
    keys = resolve_lineup(None if "all" in args.models else args.models, args.model_config)
    return [get_model_spec(key) for key in keys]


def add_heads_option(p: argparse.ArgumentParser) -> None:
    """--heads OWNER/REPO: trained heads from a hub repo (as the GENRELENS_HEADS variable)."""
    p.add_argument("--heads", metavar="OWNER/REPO",
                   help=f"read REPO/<model key>/ from the hub for every model with no trained head in its "
                   f"local folder (as ${HEADS_ENV}; `reproduce --out DIR` writes that layout)")


def apply_heads_option(args: argparse.Namespace) -> None:
    """Point this process at ``--heads`` (and the processes it starts). Raises ConfigError for a bad id."""
    use_heads_repo(getattr(args, "heads", None))


def add_extra_model_limit(p: argparse.ArgumentParser) -> None:
    """--max-extra-model-gb: the largest model a visitor (or --extra-model) may add, read from the hub first."""
    from ..models.extra_models import DEFAULT_MAX_GB
    p.add_argument("--max-extra-model-gb", type=positive_float, default=DEFAULT_MAX_GB, metavar="GB",
                   help="refuse an added model whose files on the hub are larger than this (default: %(default)s)")


def positive_float(text: str) -> float:
    """argparse type: a number above 0, else a one-line usage error."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be above 0, got {text}")
    return value


def positive_int(text: str) -> int:
    """argparse type: a whole number of at least 1, else a one-line usage error."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def add_feature_options(p: argparse.ArgumentParser) -> None:
    """Feature cache, batching, poster decoding workers, model config and progress bars."""
    p.add_argument("--cache-dir", default=str(DEFAULT_CACHE), help="feature cache folder")
    p.add_argument("--feature-batch-size", type=int, default=32)
    p.add_argument("--num-workers", type=int, default=2, help="DataLoader workers decoding posters")
    p.add_argument("--processes", type=positive_int, default=1,
                   help="encode missing features in this many processes (torch.distributed; a GPU each "
                   "on a multi-GPU node); they share the cache")
    p.add_argument("--model-config", help="JSON file adding or re-pointing models")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
