"""Multi-label genre heads that sit on frozen backbone features (timm's ``forward_head`` role)."""
from __future__ import annotations

import torch
from torch import nn


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
