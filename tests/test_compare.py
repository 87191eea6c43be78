from genre_models.comparison.compare import (Comparison, agreement_markdown, card_markdown, command_html,
                                             comparison_chart)
from genre_models.models.prediction import Prediction, Status


def _pred(key, probs, threshold=0.5):
    return Prediction.from_probabilities(key, probs, {g: threshold for g in probs}, mode="zero-shot")


def test_agreement_and_disagreement():
    genres = ["Horror", "Comedy", "Drama"]
    comparison = Comparison({
        "a": _pred("a", {"Horror": 0.9, "Comedy": 0.1, "Drama": 0.6}),
        "b": _pred("b", {"Horror": 0.8, "Comedy": 0.7, "Drama": 0.55}),
        "c": Prediction.failed("c", Status.UNAVAILABLE, "no weights"),
    }, genres)
    view = comparison.agreement()
    assert view["all_agree"] == ["Horror", "Drama"]
    assert view["models_compared"] == ["a", "b"]  # the unavailable model is left out
    (top,) = view["most_disagreement"]  # Horror 90% vs 80% is no disagreement: both predict it
    assert top["genre"] == "Comedy" and top["highest"][0] == "b" and top["lowest"][0] == "a"
    assert top["predicted_by"] == ["b"] and top["not_predicted_by"] == ["a"]
    text = agreement_markdown(comparison, {"a": "Model A", "b": "Model B"})
    assert "Horror, Drama" in text and "- Comedy: predicted by Model B 70%; not by Model A 10%" in text
    assert comparison.to_dict()["models"]["c"]["status"] == "unavailable"


def test_disagreement_compares_decisions_not_only_probabilities():
    genres = ["Horror", "Comedy"]
    # a wide spread with the same decision (96% vs 51%, both predicted) is agreement; a narrow one that
    # splits the decisions (52% predicted by a, 48% not by b) is the disagreement
    comparison = Comparison({"a": _pred("a", {"Horror": 0.96, "Comedy": 0.52}),
                             "b": _pred("b", {"Horror": 0.51, "Comedy": 0.48})}, genres)
    view = comparison.agreement()
    assert view["all_agree"] == ["Horror"] and [d["genre"] for d in view["most_disagreement"]] == ["Comedy"]
    same = Comparison({"a": _pred("a", {"Horror": 0.96}), "b": _pred("b", {"Horror": 0.77})}, ["Horror"])
    assert same.agreement()["most_disagreement"] == []
    assert "They split on no genre" in agreement_markdown(same)


def test_every_card_that_cannot_answer_is_one_folded_line_whatever_the_reason():
    cases = [(Prediction.failed("x", Status.MISSING_INPUT, "X needs a poster", summary="needs a poster"),
              '<b class="gl-unavailable">Needs more input:</b> needs a poster.'),
             (Prediction.failed("t", Status.UNAVAILABLE, "T's trained head does not know heist; it scores Action, "
                                "Adventure, Animation, Comedy, Crime, Documentary, Drama, Family, Fantasy"),
              '<b class="gl-unavailable">Not available:</b> T\'s trained head does not know heist.'),
             (Prediction.failed("e", Status.ERROR, "E failed: RuntimeError: boom"),
              '<b class="gl-unavailable">Failed:</b> E failed: RuntimeError: boom.'),
             (Prediction.failed("i", Status.INVALID_INPUT, "I: the poster is not an image. " + "x" * 200),
              '<b class="gl-unavailable">Could not read the input:</b> I: the poster is not an image.')]
    for prediction, card in cases:
        assert card_markdown(prediction, "X") == card
    long = Prediction.failed("l", Status.ERROR, "word " * 40)
    assert len(card_markdown(long, "L")) < 160 and card_markdown(long, "L").endswith("….")


def test_a_card_headline_is_always_a_predicted_genre():
    from genre_models.comparison.compare import headline
    ok = _pred("a", {"Horror": 0.9, "Comedy": 0.1})
    assert headline(ok) == "Horror" and "**Predicts:** Horror" in card_markdown(ok, "A")
    # most probable is Horror at 24%, under its 48% threshold: the headline must not name it
    none = Prediction.from_probabilities("m", {"Horror": 0.24, "Drama": 0.2}, {"Horror": 0.48, "Drama": 0.3})
    assert headline(none) == "No genre predicted"
    # the most probable genre is not predicted, a less probable one is: that one leads
    split = Prediction.from_probabilities("m", {"Horror": 0.5, "Drama": 0.4}, {"Horror": 0.6, "Drama": 0.3})
    assert headline(split) == "Drama"


def test_a_zero_shot_answer_to_custom_genres_says_why_its_mode_changed():
    pred = _pred("a", {"heist": 0.7})
    assert "zero-shot for your genres" in card_markdown(pred, "A", custom_genres=True)
    assert "zero-shot for your genres" not in card_markdown(pred, "A")


def test_chart_marks_each_models_thresholds_and_decisions():
    from genre_models.charts import OKABE_ITO
    genres = ["Horror", "Comedy", "Drama"]
    comparison = Comparison({
        "a": Prediction.from_probabilities("a", {"Horror": 0.9, "Comedy": 0.1, "Drama": 0.3},
                                           {"Horror": 0.5, "Comedy": 0.05, "Drama": 0.35}, mode="trained"),
        "b": _pred("b", {"Horror": 0.2, "Comedy": 0.6, "Drama": 0.4}),
    }, genres)
    fig = comparison_chart(comparison, {"a": "Model A", "b": "Model B"})
    ax = fig.axes[0]
    # genres ordered by the highest probability any model gives them
    assert [t.get_text() for t in ax.get_xticklabels()] == ["Horror", "Comedy", "Drama"]
    bars = ax.patches
    assert len(bars) == 6
    filled = sorted((round(b.get_height(), 2), b.get_facecolor()[:3] != (1.0, 1.0, 1.0)) for b in bars)
    # predicted: A Horror 0.9, A Comedy 0.1 (its threshold is 0.05), B Comedy 0.6; hollow: the other three
    assert filled == [(0.1, True), (0.2, False), (0.3, False), (0.4, False), (0.6, True), (0.9, True)]
    ticks = sorted(round(y, 2) for coll in ax.collections for seg in coll.get_segments() for y in {seg[0][1]})
    assert ticks == [0.05, 0.35, 0.5, 0.5, 0.5, 0.5]  # every model's own threshold on every bar
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend[:2] == ["Model A", "Model B"] and "the model's threshold" in legend
    colours = {b.get_edgecolor()[:3] for b in bars}
    from matplotlib.colors import to_rgb
    assert colours == {to_rgb(OKABE_ITO[0]), to_rgb(OKABE_ITO[1])}
    # nobody answered: no figure at all (the notice says why), not a large empty one
    assert comparison_chart(Comparison({"c": Prediction.failed("c", Status.ERROR, "x")}, genres)) is None


def test_heatmap_outlines_decisions():
    from genre_models.comparison.compare import comparison_heatmap
    comparison = Comparison({"a": _pred("a", {"Horror": 0.9, "Comedy": 0.1}),
                             "b": _pred("b", {"Horror": 0.7, "Comedy": 0.6})}, ["Horror", "Comedy"])
    ax = comparison_heatmap(comparison).axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["a", "b"]
    outlined = sorted((int(p.get_x() + 0.5), int(p.get_y() + 0.5)) for p in ax.patches if p.get_width() == 1)
    assert outlined == [(0, 0), (0, 1), (1, 1)]  # (genre, model): a Horror, b Horror, b Comedy
    # each outline is black outside and white inside, visible on the colour map's dark and light ends
    assert {p.get_edgecolor()[:3] for p in ax.patches} == {(0.0, 0.0, 0.0), (1.0, 1.0, 1.0)}
    assert sorted(t.get_text() for t in ax.texts) == ["10%", "60%", "70%", "90%"]


def test_a_command_wraps_only_between_its_words():
    assert command_html("python -m genre_models.train --models tiny-bit") == (
        '<code class="gl-cmd"><span>python</span> <span>-m</span> <span>genre_models.train</span> '
        '<span>--models</span> <span>tiny-bit</span></code>')
    assert command_html("x <b>") == '<code class="gl-cmd"><span>x</span> <span>&lt;b&gt;</span></code>'


def test_unavailable_models_fold_into_one_notice_with_one_command():
    from genre_models.comparison.compare import unavailable_notice
    missing = [Prediction.failed(k, Status.UNAVAILABLE, "long story", summary="weights not downloaded",
                                 fix=f"python -m genre_models.download --models {k}") for k in ("x", "y")]
    no_head = Prediction.failed("z", Status.UNAVAILABLE, "long", summary="no trained genre head; training one took 4 min",
                                fix="python -m genre_models.train --models z --data movies.csv")
    needs = [Prediction.failed(k, Status.MISSING_INPUT, f"{k} needs a plot", summary="needs a plot") for k in "vw"]
    comparison = Comparison({"x": missing[0], "y": missing[1], "z": no_head, "a": _pred("a", {"Horror": 0.9}),
                             "v": needs[0], "w": needs[1]}, ["Horror"])
    assert unavailable_notice(comparison, {"x": "X", "y": "Y"}).split("\n\n") == [
        "**Not available (weights not downloaded):** X, Y. Fix: " + command_html("python -m genre_models.download --models x y"),
        "**Not available (no trained genre head):** z. Fix: " + command_html("python -m genre_models.train --models z --data movies.csv"),
        "**Needs more input (needs a plot):** v, w."]
    assert unavailable_notice(Comparison({"a": _pred("a", {"Horror": 0.9})}, ["Horror"])) == ""
    # nothing given at all: the request's own notice says so once; no line per model repeats it
    empty = Comparison({"v": needs[0], "x": missing[0]}, ["Horror"], ["Give a poster, a plot, or both."],
                       nothing_given=True)
    assert unavailable_notice(empty).split("\n\n") == [
        "**Not available (weights not downloaded):** x. Fix: " + command_html("python -m genre_models.download --models x")]


def test_notices_for_missing_input_and_no_models():
    from genre_models import ModelPool
    from genre_models.comparison.compare import run_comparison
    comparison = run_comparison(ModelPool(), [], None, "  ")
    assert comparison.notices == ["Give a poster, a plot, or both.", "Select at least one model."]
    assert comparison.predictions == {}


def test_a_plot_of_invisible_characters_is_told_as_an_empty_one():
    from genre_models import ModelPool
    from genre_models.comparison.compare import run_comparison
    empty = run_comparison(ModelPool(), ["minilm"], None, "")
    invisible = run_comparison(ModelPool(), ["minilm"], None, "\ufeff\u200b \u2060\u200d")
    assert invisible.notices == empty.notices == ["Give a poster, a plot, or both."]
    assert invisible.nothing_given and invisible.predictions["minilm"].to_dict() == empty.predictions["minilm"].to_dict()


def test_card_shows_each_top_genre_against_its_own_threshold():
    pred = Prediction.from_probabilities("a", {"Crime": 0.29, "Thriller": 0.31, "Drama": 0.05},
                                         {"Crime": 0.25, "Thriller": 0.40, "Drama": 0.5}, mode="trained")
    card = card_markdown(pred, "A", top=2)
    assert card.splitlines()[0] == "**Predicts:** Crime"
    assert "Probability vs this model's threshold: Thriller 31% < 40% · Crime 29% ≥ 25%</small>" in card


def test_a_cut_plot_is_said_plainly_on_the_card():
    pred = _pred("a", {"Horror": 0.9})
    pred.plot_truncated, pred.message = True, "random weights (test/development model); plot truncated to the model's token limit"
    lines = card_markdown(pred, "A").split("\n\n")
    assert lines[1] == "⚠️ **Plot cut at this model's token limit:** it read only the beginning."
    assert lines[-1] == "<small>Note: random weights (test/development model)</small>"


def _min_text_px(fig, width_px: float) -> float:
    """The smallest text of a figure in pixels once the figure is shown ``width_px`` wide."""
    scale = width_px / (fig.get_figwidth() * fig.dpi)
    texts = [t for ax in fig.axes for t in ax.findobj(lambda a: hasattr(a, "get_fontsize") and hasattr(a, "get_text"))
             if t.get_text().strip() and t.get_visible()]
    return min(t.get_fontsize() * fig.dpi / 72 * scale for t in texts)


def test_phone_figures_keep_their_text_readable_at_390_px():
    from genre_models.comparison.compare import comparison_chart_narrow, comparison_heatmap_narrow
    from genre_models.genres import GENRES
    rng = __import__("random").Random(0)
    models = {f"m{i}": _pred(f"m{i}", {g: rng.random() for g in GENRES}) for i in range(9)}
    names = {k: f"Model name {k}" for k in models}
    comparison = Comparison(models, list(GENRES))
    bars, heat = comparison_chart_narrow(comparison, names), comparison_heatmap_narrow(comparison, names)
    for fig in (bars, heat):
        assert _min_text_px(fig, 350) >= 10  # a 390 px screen gives a figure about 350 px
    # the same models and decisions as the wide chart: 8 leading genres, one bar per model each
    from genre_models.comparison.compare import chart_data
    ax = bars.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == chart_data(comparison, names)[0][:8]
    assert len(ax.patches) == 8 * 9 and ax.get_title(loc="left") == "The 8 most probable of 18 genres"
    # the wide figures at a desktop's width: no text under 10 px either
    from genre_models.comparison.compare import comparison_heatmap
    for fig in (comparison_chart(comparison, names), comparison_heatmap(comparison, names)):
        assert _min_text_px(fig, fig.get_figwidth() * fig.dpi) >= 10
    assert comparison_chart_narrow(Comparison({}, list(GENRES))) is None
