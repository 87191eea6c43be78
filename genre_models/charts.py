"""Charts: the app's comparison (bars with each model's thresholds, and a heatmap), the evaluation
report and the dataset report.

Built on ``matplotlib.figure.Figure``, not pyplot: no global figure registry to fill up in a server.
Colours are the Okabe–Ito palette by default (``colours.py``); a chart of models is given each model's own
(``models/lineup.py``'s ``model_colour``), so a model looks the same on every tab, and a colour a figure
shows twice (one model in two modes, two added models sharing one) is hatched the second time. Every text
of a figure ends inside it: a legend takes fewer columns, a long label or title wraps (:func:`legend_below`,
:func:`fit_text`).
"""
from __future__ import annotations

import textwrap
from typing import Sequence

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.legend import Legend
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle
from matplotlib.text import Text
from matplotlib.transforms import ScaledTranslation, blended_transform_factory

from .colours import OKABE_ITO

REPEAT_HATCH = "//"
LEGEND_LABEL_CHARS = 40  # a label in a legend of several columns wraps past this


def palette(n: int) -> list[str]:
    return [OKABE_ITO[k % len(OKABE_ITO)] for k in range(n)]


def _new_figure(width: float, height: float) -> Figure:
    figure = Figure(figsize=(width, height))
    FigureCanvasAgg(figure)  # a renderer to measure text with (fit_text) and to save from
    return figure


def _repeated(colours: Sequence[str]) -> list[bool]:
    """For each series: whether an earlier one in the same figure has its colour (it is then hatched)."""
    return [colour in colours[:k] for k, colour in enumerate(colours)]


def legend_below(ax, handles: Sequence | None = None, *, fontsize: float, columns: int) -> Legend:
    """The legend under ``ax``, below its tick labels, from the figure's left edge: in as many columns, up
    to ``columns``, as fit the figure's width, its labels wrapped when one column is still too wide.
    ``handles``: the artists' own by default.

    A legend of fixed columns under a narrow figure ran past its edge and was cut in the saved image
    ("the model's thresh", issue 35); tight_layout moves the axes, it never shortens a text.
    """
    fig = ax.figure
    handles = list(handles) if handles is not None else ax.get_legend_handles_labels()[0]
    # a long label (an added model's hub id) on lines of its own rather than a column of the figure's width
    labels = [textwrap.fill(h.get_label(), LEGEND_LABEL_CHARS) if columns > 1 else h.get_label() for h in handles]
    renderer, right = fig.canvas.get_renderer(), fig.bbox.x1
    # x in the figure's units: the legend has the figure's width, wherever the axes sit; y a fixed distance
    # under the axes, the depth of their tick labels (long genre names rotated reach far down), in inches
    texts = [t for t in [*ax.get_xticklabels(), ax.xaxis.label] if t.get_visible() and t.get_text()]
    bottom = min([t.get_window_extent(renderer).y0 for t in texts], default=ax.bbox.y0)
    below = (ax.bbox.y0 - bottom) / fig.dpi + 0.08
    under_axes = ax.transAxes + ScaledTranslation(0, -below, fig.dpi_scale_trans)
    where = dict(loc="upper left", bbox_to_anchor=(0.005, 0), frameon=False, fontsize=fontsize,
                 bbox_transform=blended_transform_factory(fig.transFigure, under_axes))
    for n in range(max(min(columns, len(handles)), 1), 0, -1):
        legend = ax.legend(handles, labels, ncol=n, **where)
        extent = legend.get_window_extent(renderer)
        if extent.x1 <= right:
            return legend
    # one column and still too wide: every label wrapped to the width the widest one must lose
    texts = legend.get_texts()
    widest = max(t.get_window_extent(renderer).width for t in texts)
    room = widest - (extent.x1 - right) - 4
    return ax.legend(handles, [_wrapped(t.get_text(), t.get_fontproperties(), room, renderer) for t in texts],
                     ncol=1, **where)


def fit_text(fig: Figure) -> Figure:
    """Lay ``fig`` out (``tight_layout``) with every title wrapped to end inside the figure. Returns ``fig``.

    A left title starts at the axes' edge, after the tick labels: on a phone's narrow figure a long one ran
    past the right edge ("Per-genre F1 on your 17 films (the gen", issue 35).
    """
    renderer = fig.canvas.get_renderer()
    fig.tight_layout()
    titles = [t for ax in fig.axes for t in (ax.title, ax._left_title, ax._right_title)]  # noqa: SLF001
    if any([_wrap(title, fig.bbox.x1, renderer) for title in titles]):  # each title, not only the first
        fig.tight_layout()  # a wrapped title is taller
    return fig


def _wrap(text: Text, right: float, renderer) -> bool:
    """Wrap ``text`` to end before ``right`` (display pixels) where it does not; whether it did."""
    extent = text.get_window_extent(renderer)
    if not text.get_text() or extent.x1 <= right:
        return False
    text.set_text(_wrapped(text.get_text(), text.get_fontproperties(), right - max(extent.x0, 0.0) - 4, renderer))
    return True


def _wrapped(whole: str, font, room: float, renderer) -> str:
    """``whole`` wrapped into lines at most ``room`` display pixels wide in ``font`` (8 characters at least)."""
    def widest(text: str) -> float:
        return max(renderer.get_text_width_height_descent(line, font, ismath=False)[0] for line in text.splitlines())

    width = len(whole)
    while True:  # fewer characters a line until the widest line fits: letters differ in width
        text = textwrap.fill(whole, width=width)
        if width <= 8 or widest(text) <= room:
            return text
        width = max(min(width - 1, int(width * room / widest(text))), 8)


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
                 title: str | None = None, unit_interval: bool = True,
                 colours: Sequence[str] | None = None) -> Figure:
    """One group of bars per category, one bar per series, side by side, with a legend.

    ``colours``: one per series (default: Okabe–Ito in order); a colour given twice is hatched the second time.
    """
    fig = _new_figure(max(8.0, 0.62 * len(categories) + 2), 4.4)
    ax = fig.subplots()
    x = _frame(ax, categories, ylabel, unit_interval)
    width = 0.8 / max(len(series), 1)
    colours = list(colours) if colours is not None else palette(len(series))
    for k, ((label, values), colour, again) in enumerate(zip(series.items(), colours, _repeated(colours))):
        ax.bar(x - 0.4 + width * (k + 0.5), values, width, label=label, color=colour,
               **({"hatch": REPEAT_HATCH, "edgecolor": "white"} if again else {}))
    if title:
        ax.set_title(title)
    legend_below(ax, fontsize=10, columns=4)
    return fit_text(fig)


def _decision_groups(ax, positions: np.ndarray, probabilities: dict[str, Sequence[float]],
                     thresholds: dict[str, Sequence[float]], horizontal: bool,
                     colours: Sequence[str] | None = None) -> list:
    """One group of bars per category, a bar per model: filled when predicted, hollow when not, with the
    model's threshold as a black tick across each bar. Returns the legend handles."""
    size = 0.8 / max(len(probabilities), 1)
    bar, ticks = (ax.barh, ax.vlines) if horizontal else (ax.bar, ax.hlines)
    handles = []
    colours = list(colours) if colours is not None else palette(len(probabilities))
    for k, ((label, values), colour, again) in enumerate(zip(probabilities.items(), colours, _repeated(colours))):
        values, marks = np.asarray(values, float), np.asarray(thresholds[label], float)
        centres = positions - 0.4 + size * (k + 0.5)
        predicted = values >= marks
        hatch = REPEAT_HATCH if again else None  # a colour shown twice: the second model's bars hatched
        bar(centres[predicted], values[predicted], size, color=colour, edgecolor=colour, hatch=hatch)
        bar(centres[~predicted], values[~predicted], size, facecolor="white", edgecolor=colour, linewidth=1.2,
            hatch=hatch)
        ticks(marks, centres - size / 2, centres + size / 2, color="black", linewidth=1.6)
        handles.append(Patch(facecolor=colour, edgecolor=colour, label=label, hatch=hatch))
    return handles + [Patch(facecolor="grey", label="filled: predicted"),
                      Patch(facecolor="white", edgecolor="grey", label="hollow: not predicted"),
                      Line2D([], [], color="black", linewidth=1.6, label="the model's threshold")]


def decision_bars(categories: Sequence[str], probabilities: dict[str, Sequence[float]],
                  thresholds: dict[str, Sequence[float]], title: str | None = None,
                  colours: Sequence[str] | None = None) -> Figure:
    """Each model's probability per genre, its own threshold marked on every bar, its decisions visible.

    A filled bar is a genre the model predicts (probability at or above its threshold); a hollow
    bar one it does not. The black tick on each bar is that model's threshold for that genre.
    ``colours``: one per model (default: Okabe–Ito in order).
    """
    fig = _new_figure(max(8.0, 0.62 * len(categories) + 2), 4.6)
    ax = fig.subplots()
    x = _frame(ax, categories, "probability", True)
    handles = _decision_groups(ax, x, probabilities, thresholds, horizontal=False, colours=colours)
    if title:
        ax.set_title(title)
    legend_below(ax, handles, fontsize=10, columns=4)
    return fit_text(fig)


# Phone-width figures (the page shows them below 700 px): drawn 3.6 in wide at 100 dpi, about the width
# a 390 px screen gives them, so 8 pt text stays about 11 px on screen instead of shrinking with a wide one.
NARROW_WIDTH_IN = 3.6
NARROW_FONT_PT = 8
NARROW_GENRES = 8


def decision_bars_narrow(categories: Sequence[str], probabilities: dict[str, Sequence[float]],
                         thresholds: dict[str, Sequence[float]], top: int = NARROW_GENRES,
                         colours: Sequence[str] | None = None) -> Figure:
    """``decision_bars`` for a phone: horizontal bars, the ``top`` leading genres, the legend below.

    Same encoding: filled = predicted, hollow = not, the black tick = the model's threshold.
    """
    shown = list(categories)[:top]
    models = list(probabilities)
    rows = len(shown) * max(len(models), 1)
    fig = _new_figure(NARROW_WIDTH_IN, 1.6 + 0.16 * rows + 0.2 * len(models))
    ax = fig.subplots()
    y = np.arange(len(shown))
    handles = _decision_groups(ax, y, {m: v[:len(shown)] for m, v in probabilities.items()},
                               {m: v[:len(shown)] for m, v in thresholds.items()}, horizontal=True, colours=colours)
    ax.set_yticks(y, shown, fontsize=NARROW_FONT_PT)
    ax.invert_yaxis()  # the most probable genre on top
    ax.set_xlim(0, 1.02)
    ax.set_xticks(np.linspace(0, 1, 6), [f"{v:.0%}" for v in np.linspace(0, 1, 6)], fontsize=NARROW_FONT_PT)
    ax.spines[["top", "right"]].set_visible(False)
    more = len(categories) - len(shown)
    ax.set_title(f"The {len(shown)} most probable of {len(categories)} genres" if more > 0 else "",
                 fontsize=NARROW_FONT_PT, loc="left")
    legend_below(ax, handles, fontsize=NARROW_FONT_PT, columns=1)
    return fit_text(fig)


def decision_heatmap_narrow(categories: Sequence[str], probabilities: dict[str, Sequence[float]],
                            thresholds: dict[str, Sequence[float]]) -> Figure:
    """``decision_heatmap`` for a phone: genres down, models across, probabilities in percent."""
    models = list(probabilities)
    values = np.array([probabilities[m] for m in models], float).T
    decided = values >= np.array([thresholds[m] for m in models], float).T
    longest = max((len(m) for m in models), default=4)
    fig = _new_figure(NARROW_WIDTH_IN, 0.9 + 0.062 * longest + 0.28 * len(categories))
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
    return fit_text(fig)


def decision_heatmap(categories: Sequence[str], probabilities: dict[str, Sequence[float]],
                     thresholds: dict[str, Sequence[float]]) -> Figure:
    """Models × genres, probability as colour (with its value), predicted cells outlined."""
    models = list(probabilities)
    values = np.array([probabilities[m] for m in models], float)
    decided = values >= np.array([thresholds[m] for m in models], float)
    fig = _new_figure(max(8.0, 0.62 * len(categories) + 3), 1.3 + 0.55 * len(models))
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
    return fit_text(fig)


def _outline(col: int, row: int) -> tuple[Rectangle, Rectangle]:
    """A predicted cell's frame: black outside, white inside, so it shows on viridis' yellow and purple alike."""
    return (Rectangle((col - 0.5, row - 0.5), 1, 1, fill=False, edgecolor="black", linewidth=3.0),
            Rectangle((col - 0.42, row - 0.42), 0.84, 0.84, fill=False, edgecolor="white", linewidth=1.4))


def grouped_barh_narrow(categories: Sequence[str], series: dict[str, Sequence[float]], xlabel: str,
                        title: str | None = None, colours: Sequence[str] | None = None) -> Figure:
    """``grouped_bars`` for a phone: categories down, one horizontal bar per series, the legend below."""
    n = max(len(series), 1)
    fig = _new_figure(NARROW_WIDTH_IN, 1.4 + 0.13 * len(categories) * n + 0.2 * len(series))
    ax = fig.subplots()
    y = np.arange(len(categories))
    height = 0.8 / n
    colours = list(colours) if colours is not None else palette(len(series))
    for k, ((label, values), colour, again) in enumerate(zip(series.items(), colours, _repeated(colours))):
        ax.barh(y - 0.4 + height * (k + 0.5), values, height, label=label, color=colour,
                **({"hatch": REPEAT_HATCH, "edgecolor": "white"} if again else {}))
    ax.set_yticks(y, categories, fontsize=NARROW_FONT_PT)
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.set_xticks(np.linspace(0, 1, 6), [f"{v:.1f}" for v in np.linspace(0, 1, 6)], fontsize=NARROW_FONT_PT)
    ax.set_xlabel(xlabel, fontsize=NARROW_FONT_PT)
    ax.spines[["top", "right"]].set_visible(False)
    if title:
        ax.set_title(title, fontsize=NARROW_FONT_PT, loc="left")
    legend_below(ax, fontsize=NARROW_FONT_PT, columns=1)
    return fit_text(fig)
