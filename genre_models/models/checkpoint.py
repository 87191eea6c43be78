"""Genre heads and their checkpoints: the multi-label head that sits on frozen backbone features (timm's
``forward_head`` role), saved as ``<dir>/model.safetensors`` + ``<dir>/config.json`` (as timm's
``save_for_hf``).

Only safetensors is ever read, so a checkpoint cannot run code when loaded. ``config.json`` holds
everything needed to use and judge the head: backbone, genres, per-genre thresholds, embedding
size, metrics, and how it was trained.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import torch
from safetensors.torch import load_file, save
from torch import nn

from ..errors import CheckpointError, UnknownGenreError
from ..files import file_sha256, loads_finite, staged_folder, write_bytes_atomic, write_text_atomic
from ..genres import resolve_genres

WEIGHTS_NAME = "model.safetensors"
CONFIG_NAME = "config.json"
FORMAT = "genrelens-head/1"


class GenreHead(nn.Module):
    """Features -> one logit per genre. ``kind="linear"`` or ``"mlp"`` (one hidden layer).

    The head returns logits; callers apply a sigmoid per genre (independent probabilities).
    ``pre_logits`` exposes the hidden representation for explanations and fusion experiments.
    """

    def __init__(self, in_features: int, num_genres: int, kind: str = "linear",
                 hidden: int = 512, dropout: float = 0.0):
        super().__init__()
        if kind not in ("linear", "mlp"):
            raise ValueError(f"unknown head kind {kind!r}; valid: 'linear', 'mlp'")
        self.in_features = in_features
        self.num_genres = num_genres
        self.kind = kind
        self.hidden = hidden
        self.dropout_p = dropout
        if kind == "linear":
            self.body = nn.Dropout(dropout)
            self.fc = nn.Linear(in_features, num_genres)
        else:
            self.body = nn.Sequential(
                nn.Dropout(dropout), nn.Linear(in_features, hidden), nn.GELU(), nn.Dropout(dropout)
            )
            self.fc = nn.Linear(hidden, num_genres)

    def forward(self, features: torch.Tensor, pre_logits: bool = False) -> torch.Tensor:
        hidden = self.body(features)
        return hidden if pre_logits else self.fc(hidden)

    def arch_config(self) -> dict:
        """What ``config.json`` needs to rebuild this head before loading its weights."""
        return {"kind": self.kind, "in_features": self.in_features, "num_genres": self.num_genres,
                "hidden": self.hidden, "dropout": self.dropout_p}

    @classmethod
    def from_arch_config(cls, cfg: dict) -> "GenreHead":
        return cls(cfg["in_features"], cfg["num_genres"], kind=cfg.get("kind", "linear"),
                   hidden=cfg.get("hidden", 512), dropout=cfg.get("dropout", 0.0))


@dataclass
class HeadCheckpoint:
    head: GenreHead
    config: dict[str, Any]

    @property
    def genres(self) -> tuple[str, ...]:
        return tuple(self.config["genres"])

    @property
    def thresholds(self) -> dict[str, float]:
        return {g: float(t) for g, t in self.config["thresholds"].items()}


def save_checkpoint(directory: str | Path, head: GenreHead, genres: list[str] | tuple[str, ...],
                    thresholds: dict[str, float], **extra: Any) -> Path:
    """Write the head and its config. ``extra`` (backbone, metrics, training, ...) goes into config.json."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    if len(genres) != head.num_genres:
        raise CheckpointError(f"{len(genres)} genres for a head with {head.num_genres} outputs")
    config = {
        "format": FORMAT,
        "genres": list(genres),
        "thresholds": {g: float(thresholds[g]) for g in genres},
        "embedding_dim": head.in_features,
        "head": head.arch_config(),
        **extra,
    }
    state = {k: v.detach().cpu().contiguous() for k, v in head.state_dict().items()}
    if not all(torch.isfinite(v).all() for v in state.values()):
        raise CheckpointError("the head has NaN or infinite weights: training diverged; nothing was written")
    write_bytes_atomic(directory / WEIGHTS_NAME, save(state, metadata={"format": "pt"}))
    write_config(directory, config, {"weights_sha256": WEIGHTS_NAME})
    return directory


def update_config(directory: str | Path, **fields: Any) -> dict[str, Any]:
    """Add or replace top-level fields of a checkpoint's config.json (e.g. metrics measured after saving)."""
    return write_config(directory, {**read_config(directory), **fields})


def write_config(directory: str | Path, config: dict[str, Any],
                 digests: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Write ``config`` as the folder's config.json: the one writer every trained model goes through (a
    head, a TF-IDF model, a blend). ``digests`` maps a config field to a file already written in
    ``directory``, whose sha256 goes into that field: flipped bytes in a float tensor still load, only a
    recorded digest tells them apart. Returns the config as written."""
    directory = Path(directory)
    config = {**config, **{field: file_sha256(directory / name) for field, name in (digests or {}).items()}}
    write_text_atomic(directory / CONFIG_NAME, json.dumps(config, indent=2, sort_keys=False) + "\n")
    return config


def read_config(directory: str | Path) -> dict[str, Any]:
    """A trained model's config.json (a head, a TF-IDF model, a blend), its numbers finite and typed.

    Raises:
        CheckpointError: missing, not JSON (NaN and Infinity included, named by field), not an object, or a
            threshold, size or weight that is not a number of its kind (a string, a boolean).
    """
    path = Path(directory) / CONFIG_NAME
    try:
        config = loads_finite(path.read_bytes())
    except FileNotFoundError as exc:
        raise CheckpointError(f"no {CONFIG_NAME} in {path.parent}") from exc
    except ValueError as exc:  # not JSON, not UTF-8, or NaN / Infinity in it
        raise CheckpointError(f"{path} is not valid JSON: {exc}") from exc
    if not isinstance(config, dict):
        raise CheckpointError(f"{path} is not a JSON object")
    _check_numbers(config, path)
    return config


def _check_numbers(config: dict[str, Any], path: Path) -> None:
    """The numbers a loader uses, of their kind: a string "0.5" or ``true`` is refused, not converted."""
    def number(value: Any, whole: bool = False) -> bool:
        return not isinstance(value, bool) and isinstance(value, int if whole else (int, float))

    thresholds = config.get("thresholds", {})
    fields = [(f"thresholds.{g}", t, False) for g, t in thresholds.items()] if isinstance(thresholds, dict) else []
    head = config.get("head", {})
    if isinstance(head, dict):
        fields += [(f"head.{n}", head[n], n != "dropout") for n in ("in_features", "num_genres", "hidden", "dropout")
                   if n in head]
    fields += [("embedding_dim", config["embedding_dim"], True)] if "embedding_dim" in config else []
    weights = config.get("weights")
    fields += [(f"weights[{i}]", w, False) for i, w in enumerate(weights)] if isinstance(weights, list) else []
    for field, value, whole in fields:
        if not number(value, whole):
            raise CheckpointError(f"{path}: '{field}' must be a {'whole ' if whole else ''}number, got {value!r}")


def has_config(directory: str | Path | None) -> bool:
    """Whether ``directory`` holds a config.json: some trained model is there (a head, TF-IDF, a blend)."""
    return directory is not None and (Path(directory) / CONFIG_NAME).is_file()


def has_checkpoint(directory: str | Path | None) -> bool:
    return has_config(directory) and (Path(directory) / WEIGHTS_NAME).is_file()


def load_checkpoint(directory: str | Path, embedding_dim: int | None = None,
                    backbone: dict[str, Any] | None = None) -> HeadCheckpoint:
    """Load a head and check it against the backbone it will sit on.

    Args:
        directory: folder with model.safetensors and config.json.
        embedding_dim: the backbone's feature size; a different ``embedding_dim`` is an error.
        backbone: fields of the backbone in use (e.g. ``{"arch": ..., "pretrained": ...}``); each one the
            checkpoint also records must match, so a head trained on ViT-B/16 is not put on ViT-L/14.

    Raises:
        CheckpointError: naming the mismatch (file, genres, shape, backbone).
    """
    directory = Path(directory)
    config = read_config(directory)
    for key in ("genres", "thresholds", "head"):
        if key not in config:
            raise CheckpointError(f"{directory / CONFIG_NAME} lacks the '{key}' field")
    try:
        genres = resolve_genres(config["genres"])
    except UnknownGenreError as exc:
        raise CheckpointError(f"checkpoint {directory}: {exc}") from exc
    if list(genres) != list(config["genres"]):
        raise CheckpointError(f"checkpoint {directory}: genres must be canonical and unique, "
                              f"got {config['genres']}")
    missing = [g for g in genres if g not in config["thresholds"]]
    if missing:
        raise CheckpointError(f"checkpoint {directory}: no threshold for {', '.join(missing)}")
    arch = config["head"]
    if arch.get("num_genres") != len(genres):
        raise CheckpointError(f"checkpoint {directory}: head has {arch.get('num_genres')} outputs "
                              f"but config lists {len(genres)} genres")
    if embedding_dim is not None and arch.get("in_features") != embedding_dim:
        raise CheckpointError(
            f"checkpoint {directory}: head expects {arch.get('in_features')}-d features but the "
            f"backbone gives {embedding_dim}-d; it was trained for another backbone "
            f"({config.get('backbone', {}).get('arch', 'unknown')})"
        )
    recorded = config.get("backbone", {})
    for field, value in (backbone or {}).items():
        if field in recorded and recorded[field] != value:
            raise CheckpointError(f"checkpoint {directory}: trained on backbone {field}="
                                  f"{recorded[field]!r}, but this model uses {value!r}")
    weights_path = directory / WEIGHTS_NAME
    if not weights_path.is_file():
        raise CheckpointError(f"no {WEIGHTS_NAME} in {directory}")
    recorded_digest = config.get("weights_sha256")
    if recorded_digest is not None and file_sha256(weights_path) != recorded_digest:
        raise CheckpointError(f"{weights_path} does not match the sha256 its config.json records: "
                              "the file is corrupt or was replaced; train it again or restore it")
    try:
        state = load_file(str(weights_path))
    except Exception as exc:  # safetensors raises its own error types for corrupt files
        raise CheckpointError(f"{weights_path} is not a valid safetensors file: {exc}") from exc
    broken = [k for k, v in state.items() if v.is_floating_point() and not torch.isfinite(v).all()]
    if broken:
        raise CheckpointError(f"{weights_path} has NaN or infinite weights ({', '.join(broken)})")
    head = GenreHead.from_arch_config(arch)
    expected = head.state_dict()
    problems = [f"missing {k}" for k in expected if k not in state]
    problems += [f"unexpected {k}" for k in state if k not in expected]
    problems += [f"{k}: file has {tuple(state[k].shape)}, config implies {tuple(v.shape)}"
                 for k, v in expected.items() if k in state and state[k].shape != v.shape]
    if problems:
        raise CheckpointError(f"checkpoint {directory} does not match its config: " + "; ".join(problems))
    head.load_state_dict(state)
    head.eval()
    return HeadCheckpoint(head=head, config=config)


def staged_checkpoint(target: str | Path):
    """``files.staged_folder`` for a checkpoint: written beside ``target``, swapped in when complete, the
    old folder's model card carried over (see :func:`carry_model_card`)."""
    return staged_folder(target, before_swap=carry_model_card)


CARD_NAME = "README.md"
STALE_CARD = "> **Retrained since this card was written"


def carry_model_card(old: Path, new: Path) -> None:
    """Keep the model card (``README.md``, written by ``tools/model_card.py``) when a checkpoint is replaced,
    marked as describing the weights before: a retrain never deletes the card, nor lets its figures pass
    for the new weights'. A new folder that brings a card of its own keeps that one."""
    card = old / CARD_NAME
    if not card.is_file() or (new / CARD_NAME).exists():
        return
    text = card.read_text(encoding="utf-8")
    if text.startswith(STALE_CARD):  # retrained twice: one notice, not two
        text = text.split("\n\n", 1)[1] if "\n\n" in text else ""
    notice = (f"{STALE_CARD} ({time.strftime('%Y-%m-%d')}):** the figures below describe the weights it "
              "replaced. Regenerate it from an evaluation of the new ones: `python -m genre_models.evaluate`, then "
              "`python tools/model_card.py <this folder> <its evaluation.json>`.")
    (new / CARD_NAME).write_text(notice + "\n\n" + text, encoding="utf-8")
