"""Charts: the app's comparison (bars with each model's thresholds, and a heatmap), the evaluation
report and the dataset report.

Built on ``matplotlib.figure.Figure``, not pyplot: no global figure registry to fill up in a server.
Colours are the Okabe–Ito palette, which stays distinguishable with the common colour-vision deficiencies.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle

OKABE_ITO = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")


def palette(n: int) -> list[str]:
    return [OKABE_ITO[k % len(OKABE_ITO)] for k in range(n)]


def _frame(ax, categories: Sequence[str], ylabel: str, unit_interval: bool) -> np.ndarray:
    x = np.arange(len(categories))
    ax.set_xticks(x, categories, rotation=40, ha="right")
    ax.set_ylabel(ylabel)
    if unit_interval:
        ax.set_ylim(0, 1.08)  # headroom above 1.0 so a bar at 1 and its tick label stay clear
        ax.set_yticks(np.linspace(0, 1, 6))
    ax.spines[["top", "right"]].set_visible(False)
    return x


def grouped_bars(categories: Sequence[str], series: dict[str, Sequence[float]], ylabel: str,
                 title: str | None = None, unit_interval: bool = True) -> Figure:
    """One group of bars per category, one bar per series, side by side, with a legend."""
    fig = Figure(figsize=(max(8.0, 0.62 * len(categories) + 2), 4.4))
    ax = fig.subplots()
    x = _frame(ax, categories, ylabel, unit_interval)
    width = 0.8 / max(len(series), 1)
    for k, ((label, values), colour) in enumerate(zip(series.items(), palette(len(series)))):
        ax.bar(x - 0.4 + width * (k + 0.5), values, width, label=label, color=colour)
    if title:
        ax.set_title(title)
    ax.legend(fontsize=8, ncol=min(4, len(series)), loc="upper left", bbox_to_anchor=(0, -0.32), frameon=False)
    fig.tight_layout()
    return fig


def decision_bars(categories: Sequence[str], probabilities: dict[str, Sequence[float]],
                  thresholds: dict[str, Sequence[float]], title: str | None = None) -> Figure:
    """Each model's probability per genre, its own threshold marked on every bar, its decisions visible.

    A filled bar is a genre the model predicts (probability at or above its threshold); a hollow
    bar one it does not. The black tick on each bar is that model's threshold for that genre.
    """
    fig = Figure(figsize=(max(8.0, 0.62 * len(categories) + 2), 4.6))
    ax = fig.subplots()
    x = _frame(ax, categories, "probability", True)
    width = 0.8 / max(len(probabilities), 1)
    handles = []
    for k, ((label, values), colour) in enumerate(zip(probabilities.items(), palette(len(probabilities)))):
        values, marks = np.asarray(values, float), np.asarray(thresholds[label], float)
        centres = x - 0.4 + width * (k + 0.5)
        predicted = values >= marks
        ax.bar(centres[predicted], values[predicted], width, color=colour, edgecolor=colour)
        ax.bar(centres[~predicted], values[~predicted], width, facecolor="white", edgecolor=colour, linewidth=1.2)
        ax.hlines(marks, centres - width / 2, centres + width / 2, color="black", linewidth=1.6)
        handles.append(Patch(facecolor=colour, edgecolor=colour, label=label))
    handles += [Patch(facecolor="grey", label="filled: predicted"),
                Patch(facecolor="white", edgecolor="grey", label="hollow: not predicted"),
                Line2D([], [], color="black", linewidth=1.6, label="the model's threshold")]
    if title:
        ax.set_title(title)
    ax.legend(handles=handles, fontsize=8, ncol=4, loc="upper left", bbox_to_anchor=(0, -0.32), frameon=False)
    fig.tight_layout()
    return fig


def decision_heatmap(categories: Sequence[str], probabilities: dict[str, Sequence[float]],
                     thresholds: dict[str, Sequence[float]]) -> Figure:
    """Models × genres, probability as colour (with its value), predicted cells outlined."""
    models = list(probabilities)
    values = np.array([probabilities[m] for m in models], float)
    decided = values >= np.array([thresholds[m] for m in models], float)
    fig = Figure(figsize=(max(8.0, 0.55 * len(categories) + 3), 1.1 + 0.55 * len(models)))
    ax = fig.subplots()
    image = ax.imshow(values, cmap="viridis", vmin=0, vmax=1, aspect="auto")
    ax.set_xticks(range(len(categories)), categories, rotation=40, ha="right")
    ax.set_yticks(range(len(models)), models)
    for (row, col), value in np.ndenumerate(values):
        ax.text(col, row, f"{value:.0%}", ha="center", va="center", fontsize=7,
                color="black" if value > 0.6 else "white")
        if decided[row, col]:
            ax.add_patch(_outline(col, row))
    fig.colorbar(image, ax=ax, fraction=0.025, pad=0.01, label="probability")
    ax.set_title("Outlined: predicted (at or above the model's threshold)", fontsize=9, loc="left")
    fig.tight_layout()
    return fig


def _outline(col: int, row: int) -> Rectangle:
    return Rectangle((col - 0.5, row - 0.5), 1, 1, fill=False, edgecolor="#D55E00", linewidth=2.2)
