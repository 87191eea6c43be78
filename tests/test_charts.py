"""The charts (genre_models/charts.py): every text ends inside its figure, and a model has one colour on every
tab (issue 35, items 4 and 6)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from matplotlib.colors import to_hex
from matplotlib.text import Text
from PIL import Image

from genre_models import charts
from genre_models.comparison.compare import (Comparison, comparison_chart, comparison_chart_narrow,
                                             comparison_heatmap, comparison_heatmap_narrow)
from genre_models.genres import GENRES
from genre_models.models.lineup import DEFAULT_MODELS, model_colour
from genre_models.models.prediction import Prediction

ROOT = Path(__file__).resolve().parent.parent
CUSTOM = ["heist", "mockumentary", "space opera"]
LONG_ID = "hf-hub:an-organisation-with-a-long-name/a-model-whose-name-is-long-enough-to-need-two-lines"


def cut_texts(fig) -> list[str]:
    """The visible texts of ``fig`` that run past its edges once drawn (what a saved image would cut)."""
    fig.canvas.draw()
    renderer, box = fig.canvas.get_renderer(), fig.bbox
    cut = []
    for text in dict.fromkeys(fig.findobj(Text)):
        if not text.get_visible() or not text.get_text().strip():
            continue
        e = text.get_window_extent(renderer)
        if e.x0 < box.x0 - 0.5 or e.x1 > box.x1 + 0.5 or e.y0 < box.y0 - 0.5 or e.y1 > box.y1 + 0.5:
            cut.append(text.get_text())
    return cut


def _comparison(keys: list[str], genres: list[str], seed: int = 0) -> Comparison:
    rng = np.random.default_rng(seed)
    return Comparison({k: Prediction.from_probabilities(k, dict(zip(genres, rng.random(len(genres)).tolist())),
                                                        dict.fromkeys(genres, 0.5), mode="zero-shot")
                       for k in keys}, genres)


LINEUP = [spec.key for spec in DEFAULT_MODELS]
NAMES = {spec.key: spec.name for spec in DEFAULT_MODELS} | {LONG_ID: LONG_ID}


@pytest.mark.parametrize("keys, genres", [(LINEUP, CUSTOM), (LINEUP + [LONG_ID], CUSTOM), (LINEUP, list(GENRES)),
                                          (["minilm"], ["heist"])])
@pytest.mark.parametrize("draw", [comparison_chart, comparison_chart_narrow, comparison_heatmap,
                                  comparison_heatmap_narrow])
def test_every_text_of_a_comparison_figure_ends_inside_it(keys, genres, draw):
    """The lineup with custom genres drew a legend ending "the model's thresh" (issue 35)."""
    fig = draw(_comparison(keys, genres), NAMES)
    assert cut_texts(fig) == []
    legend = fig.axes[0].get_legend()
    if legend is not None:  # wrapped where needed, never shortened: every label whole
        shown = ["".join(t.get_text().split()) for t in legend.get_texts()]
        assert shown == ["".join(NAMES[k].split()) for k in keys] + [
            "filled:predicted", "hollow:notpredicted", "themodel'sthreshold"]


@pytest.mark.parametrize("narrow", [False, True])
def test_a_long_title_and_many_series_stay_inside_the_figure(narrow):
    title = "Per-genre F1 on your 1,234 films (the genres they have)"  # cut at 390 px (issue 35)
    series = {f"{NAMES[k]} (trained)": list(np.linspace(0, 1, 6)) for k in LINEUP}
    draw = charts.grouped_barh_narrow if narrow else charts.grouped_bars
    fig = draw(list(GENRES[:6]), series, "F1", title=title)
    assert cut_texts(fig) == []
    assert " ".join(fig.axes[0].get_title(loc="left" if narrow else "center").split()) == title


def _legend_colours(fig) -> dict[str, str]:
    legend = fig.axes[0].get_legend()
    return {" ".join(t.get_text().split()): to_hex(h.get_facecolor())
            for t, h in zip(legend.get_texts(), legend.legend_handles) if hasattr(h, "get_facecolor")}


def test_a_model_has_one_colour_on_every_tab(tmp_path):
    """Compare, Your films and Results drew colours by position in each chart: MiniLM + TF-IDF was green on one
    tab and orange on another (issue 35). Each draws the model's own colour now."""
    from genre_models.comparison.your_films import FilmsEvaluation
    from genre_models.training.report import Report, Result
    keys = ["tfidf", "minilm-tfidf"]  # without MiniLM, whose colour came first by position
    compare = _legend_colours(comparison_chart(_comparison(keys, list(GENRES)), NAMES))
    assert compare[NAMES["tfidf"]] != compare[NAMES["minilm-tfidf"]]
    # Results: the committed report, drawn again as tools/render_evaluation.py draws it
    saved = Report.from_json(ROOT / "docs" / "evaluation" / "evaluation.json")
    saved.per_genre_chart(tmp_path / "chart.png")
    results = {r.label: c for r, c in zip(saved._per_genre_rows(), saved.per_genre_colours())}
    # Your films: one row per model, as evaluate_films measures them
    per_genre = {g: {"f1": 0.5, "precision": 0.5, "recall": 0.5, "ap": 0.5, "support": 1} for g in GENRES}
    rows = [Result(NAMES[k], "trained", "plot", 3, "checkpoint", {"per_genre": per_genre}) for k in keys]
    film = type("Film", (), {"genres": ["Horror"]})()
    films = FilmsEvaluation(films=[film] * 3, skipped=[], notes=[], answers={}, results=rows, keys=keys)
    your_films = _legend_colours(films.chart())
    for key in keys:
        label = f"{NAMES[key][:-1]}, trained)"
        assert compare[NAMES[key]] == your_films[label] == to_hex(results[label]) == to_hex(model_colour(key)), key
    # the committed image is the one drawn from those colours (tools/render_evaluation.py docs/evaluation)
    committed = np.asarray(Image.open(ROOT / "docs" / "evaluation" / "per_genre_f1.png"))
    drawn = np.asarray(Image.open(tmp_path / "chart.png"))
    assert committed.shape == drawn.shape and np.abs(committed.astype(int) - drawn.astype(int)).mean() < 1


def test_the_shipped_models_colours_are_distinct_and_another_models_is_stable():
    colours = [model_colour(spec.key) for spec in DEFAULT_MODELS]
    assert len(set(colours)) == len(colours)
    assert model_colour("hf-hub:org/name") == model_colour("hf-hub:org/name") not in colours
    json.dumps(colours)  # plain strings, as matplotlib and the page take them


def test_a_colour_shown_twice_is_hatched_the_second_time():
    fig = charts.grouped_bars(["Horror"], {"MiniLM (trained)": [0.6], "MiniLM (zero-shot)": [0.3]}, "F1",
                              colours=[model_colour("minilm")] * 2)
    first, second = fig.axes[0].patches
    assert to_hex(first.get_facecolor()) == to_hex(second.get_facecolor()) and not first.get_hatch() and second.get_hatch()
