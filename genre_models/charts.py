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
    ax.legend(fontsize=10, ncol=min(4, len(series)), loc="upper left", bbox_to_anchor=(0, -0.32), frameon=False)
    fig.tight_layout()
    return fig


def _decision_groups(ax, positions: np.ndarray, probabilities: dict[str, Sequence[float]],
                     thresholds: dict[str, Sequence[float]], horizontal: bool) -> list:
    """One group of bars per category, a bar per model: filled when predicted, hollow when not, with the
    model's threshold as a black tick across each bar. Returns the legend handles."""
    size = 0.8 / max(len(probabilities), 1)
    bar, ticks = (ax.barh, ax.vlines) if horizontal else (ax.bar, ax.hlines)
    handles = []
    for k, ((label, values), colour) in enumerate(zip(probabilities.items(), palette(len(probabilities)))):
        values, marks = np.asarray(values, float), np.asarray(thresholds[label], float)
        centres = positions - 0.4 + size * (k + 0.5)
        predicted = values >= marks
        bar(centres[predicted], values[predicted], size, color=colour, edgecolor=colour)
        bar(centres[~predicted], values[~predicted], size, facecolor="white", edgecolor=colour, linewidth=1.2)
        ticks(marks, centres - size / 2, centres + size / 2, color="black", linewidth=1.6)
        handles.append(Patch(facecolor=colour, edgecolor=colour, label=label))
    return handles + [Patch(facecolor="grey", label="filled: predicted"),
                      Patch(facecolor="white", edgecolor="grey", label="hollow: not predicted"),
                      Line2D([], [], color="black", linewidth=1.6, label="the model's threshold")]


def decision_bars(categories: Sequence[str], probabilities: dict[str, Sequence[float]],
                  thresholds: dict[str, Sequence[float]], title: str | None = None) -> Figure:
    """Each model's probability per genre, its own threshold marked on every bar, its decisions visible.

    A filled bar is a genre the model predicts (probability at or above its threshold); a hollow
    bar one it does not. The black tick on each bar is that model's threshold for that genre.
    """
    fig = Figure(figsize=(max(8.0, 0.62 * len(categories) + 2), 4.6))
    ax = fig.subplots()
    x = _frame(ax, categories, "probability", True)
    handles = _decision_groups(ax, x, probabilities, thresholds, horizontal=False)
    if title:
        ax.set_title(title)
    ax.legend(handles=handles, fontsize=10, ncol=4, loc="upper left", bbox_to_anchor=(0, -0.32), frameon=False)
    fig.tight_layout()
    return fig


# Phone-width figures (the page shows them below 700 px): drawn 3.6 in wide at 100 dpi, about the width
# a 390 px screen gives them, so 8 pt text stays about 11 px on screen instead of shrinking with a wide one.
NARROW_WIDTH_IN = 3.6
NARROW_FONT_PT = 8
NARROW_GENRES = 8


def decision_bars_narrow(categories: Sequence[str], probabilities: dict[str, Sequence[float]],
                         thresholds: dict[str, Sequence[float]], top: int = NARROW_GENRES) -> Figure:
    """``decision_bars`` for a phone: horizontal bars, the ``top`` leading genres, the legend below.

    Same encoding: filled = predicted, hollow = not, the black tick = the model's threshold.
    """
    shown = list(categories)[:top]
    models = list(probabilities)
    rows = len(shown) * max(len(models), 1)
    fig = Figure(figsize=(NARROW_WIDTH_IN, 1.6 + 0.16 * rows + 0.2 * len(models)))
    ax = fig.subplots()
    y = np.arange(len(shown))
    handles = _decision_groups(ax, y, {m: v[:len(shown)] for m, v in probabilities.items()},
                               {m: v[:len(shown)] for m, v in thresholds.items()}, horizontal=True)
    ax.set_yticks(y, shown, fontsize=NARROW_FONT_PT)
    ax.invert_yaxis()  # the most probable genre on top
    ax.set_xlim(0, 1.02)
    ax.set_xticks(np.linspace(0, 1, 6), [f"{v:.0%}" for v in np.linspace(0, 1, 6)], fontsize=NARROW_FONT_PT)
    ax.spines[["top", "right"]].set_visible(False)
    more = len(categories) - len(shown)
    ax.set_title(f"The {len(shown)} most probable of {len(categories)} genres" if more > 0 else "",
                 fontsize=NARROW_FONT_PT, loc="left")
    ax.legend(handles=handles, fontsize=NARROW_FONT_PT, ncol=1, loc="upper left", bbox_to_anchor=(0, -0.06),
              frameon=False)
    fig.tight_layout()
    return fig


def decision_heatmap_narrow(categories: Sequence[str], probabilities: dict[str, Sequence[float]],
                            thresholds: dict[str, Sequence[float]]) -> Figure:
    """``decision_heatmap`` for a phone: genres down, models across, probabilities in percent."""
    models = list(probabilities)
    values = np.array([probabilities[m] for m in models], float).T
    decided = values >= np.array([thresholds[m] for m in models], float).T
    longest = max((len(m) for m in models), default=4)
    fig = Figure(figsize=(NARROW_WIDTH_IN, 0.9 + 0.062 * longest + 0.28 * len(categories)))
    ax = fig.subplots()
    ax.imshow(values, cmap="viridis", vmin=0, vmax=1, aspect="auto")
    ax.set_yticks(range(len(categories)), categories, fontsize=NARROW_FONT_PT)
    ax.set_xticks(range(len(models)), models, rotation=90, fontsize=NARROW_FONT_PT)
    ax.xaxis.tick_top()
    for (row, col), value in np.ndenumerate(values):
        ax.text(col, row, f"{100 * value:.0f}", ha="center", va="center", fontsize=NARROW_FONT_PT,
                color="black" if value > 0.6 else "white")
        if decided[row, col]:
            for patch in _outline(col, row):
                ax.add_patch(patch)
    ax.set_xlabel("Probability, %; outlined: predicted", fontsize=NARROW_FONT_PT, loc="left")
    fig.tight_layout()
    return fig


def decision_heatmap(categories: Sequence[str], probabilities: dict[str, Sequence[float]],
                     thresholds: dict[str, Sequence[float]]) -> Figure:
    """Models × genres, probability as colour (with its value), predicted cells outlined."""
    models = list(probabilities)
    values = np.array([probabilities[m] for m in models], float)
    decided = values >= np.array([thresholds[m] for m in models], float)
    fig = Figure(figsize=(max(8.0, 0.62 * len(categories) + 3), 1.3 + 0.55 * len(models)))
    ax = fig.subplots()
    image = ax.imshow(values, cmap="viridis", vmin=0, vmax=1, aspect="auto")
    ax.set_xticks(range(len(categories)), categories, rotation=40, ha="right")
    ax.set_yticks(range(len(models)), models)
    for (row, col), value in np.ndenumerate(values):
        ax.text(col, row, f"{value:.0%}", ha="center", va="center", fontsize=10,
                color="black" if value > 0.6 else "white")
        if decided[row, col]:
            for patch in _outline(col, row):
                ax.add_patch(patch)
    fig.colorbar(image, ax=ax, fraction=0.025, pad=0.01, label="probability")
    ax.set_title("Outlined: predicted (at or above the model's threshold)", fontsize=10, loc="left")
    fig.tight_layout()
    return fig


def _outline(col: int, row: int) -> tuple[Rectangle, Rectangle]:
    """A predicted cell's frame: black outside, white inside, so it shows on viridis' yellow and purple alike."""
    return (Rectangle((col - 0.5, row - 0.5), 1, 1, fill=False, edgecolor="black", linewidth=3.0),
            Rectangle((col - 0.42, row - 0.42), 0.84, 0.84, fill=False, edgecolor="white", linewidth=1.4))


def grouped_barh_narrow(categories: Sequence[str], series: dict[str, Sequence[float]], xlabel: str,
                        title: str | None = None) -> Figure:
    """``grouped_bars`` for a phone: categories down, one horizontal bar per series, the legend below."""
    n = max(len(series), 1)
    fig = Figure(figsize=(NARROW_WIDTH_IN, 1.4 + 0.13 * len(categories) * n + 0.2 * len(series)))
    ax = fig.subplots()
    y = np.arange(len(categories))
    height = 0.8 / n
    for k, ((label, values), colour) in enumerate(zip(series.items(), palette(len(series)))):
        ax.barh(y - 0.4 + height * (k + 0.5), values, height, label=label, color=colour)
    ax.set_yticks(y, categories, fontsize=NARROW_FONT_PT)
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.set_xticks(np.linspace(0, 1, 6), [f"{v:.1f}" for v in np.linspace(0, 1, 6)], fontsize=NARROW_FONT_PT)
    ax.set_xlabel(xlabel, fontsize=NARROW_FONT_PT)
    ax.spines[["top", "right"]].set_visible(False)
    if title:
        ax.set_title(title, fontsize=NARROW_FONT_PT, loc="left")
    ax.legend(fontsize=NARROW_FONT_PT, ncol=1, loc="upper left", bbox_to_anchor=(0, -0.5 / len(categories) - 0.04),
              frameon=False)
    fig.tight_layout()
    return fig
