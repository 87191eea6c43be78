"""Per-genre bar charts (the app's comparison, the evaluation report, the dataset report).

Built on ``matplotlib.figure.Figure``, not pyplot: no global figure registry to fill up in a server.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
from matplotlib.figure import Figure


def grouped_bars(categories: Sequence[str], series: dict[str, Sequence[float]], ylabel: str,
                 title: str | None = None, unit_interval: bool = True,
                 reference: float | None = None) -> Figure:
    """One group of bars per category, one bar per series, side by side.

    Args:
        unit_interval: fix the y axis to [0, 1] (probabilities, F1).
        reference: draw a dashed horizontal line there (e.g. the 0.5 threshold).
    """
    fig = Figure(figsize=(max(8.0, 0.62 * len(categories) + 2), 4.2))
    ax = fig.subplots()
    x = np.arange(len(categories))
    width = 0.8 / max(len(series), 1)
    for k, (label, values) in enumerate(series.items()):
        ax.bar(x - 0.4 + width * (k + 0.5), values, width, label=label)
    ax.set_xticks(x, categories, rotation=40, ha="right")
    ax.set_ylabel(ylabel)
    if unit_interval:
        ax.set_ylim(0, 1)
    if reference is not None:
        ax.axhline(reference, color="grey", lw=0.8, ls="--")
    if title:
        ax.set_title(title)
    if len(series) > 1:
        ax.legend(fontsize=8, ncol=min(4, len(series)), loc="upper right")
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    return fig
