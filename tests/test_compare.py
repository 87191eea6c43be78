from genre_models.comparison.compare import Comparison, agreement_markdown, card_markdown, comparison_chart
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
    top = view["most_disagreement"][0]
    assert top["genre"] == "Comedy" and top["highest"][0] == "b" and top["lowest"][0] == "a"
    text = agreement_markdown(comparison, {"a": "Model A", "b": "Model B"})
    assert "Horror, Drama" in text and "Comedy: Model B 70% vs Model A 10%" in text
    assert comparison.to_dict()["models"]["c"]["status"] == "unavailable"


def test_cards_say_why_a_model_did_not_answer():
    assert card_markdown(Prediction.failed("x", Status.MISSING_INPUT, "X needs a poster"), "X").startswith(
        "**Needs more input.** X needs a poster")
    ok = card_markdown(_pred("a", {"Horror": 0.9, "Comedy": 0.1}), "A")
    assert "**Predicts:** Horror" in ok and "zero-shot" in ok


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
    empty = comparison_chart(Comparison({"c": Prediction.failed("c", Status.ERROR, "x")}, genres))
    assert empty.axes[0].texts[0].get_text() == "No model answered"


def test_heatmap_outlines_decisions():
    from genre_models.comparison.compare import comparison_heatmap
    comparison = Comparison({"a": _pred("a", {"Horror": 0.9, "Comedy": 0.1}),
                             "b": _pred("b", {"Horror": 0.7, "Comedy": 0.6})}, ["Horror", "Comedy"])
    ax = comparison_heatmap(comparison).axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["a", "b"]
    outlined = sorted((int(p.get_x() + 0.5), int(p.get_y() + 0.5)) for p in ax.patches)
    assert outlined == [(0, 0), (0, 1), (1, 1)]  # (genre, model): a Horror, b Horror, b Comedy
    assert sorted(t.get_text() for t in ax.texts) == ["10%", "60%", "70%", "90%"]


def test_unavailable_models_fold_into_one_notice_with_one_command():
    from genre_models.comparison.compare import unavailable_notice
    missing = [Prediction.failed(k, Status.UNAVAILABLE, "long story", summary="weights not downloaded",
                                 fix=f"python -m genre_models.download {k}") for k in ("x", "y")]
    no_head = Prediction.failed("z", Status.UNAVAILABLE, "long", summary="no trained genre head; training one took 4 min",
                                fix="python -m genre_models.train --model z --data movies.csv")
    comparison = Comparison({"x": missing[0], "y": missing[1], "z": no_head, "a": _pred("a", {"Horror": 0.9}),
                             "w": Prediction.failed("w", Status.MISSING_INPUT, "needs a plot")}, ["Horror"])
    assert unavailable_notice(comparison, {"x": "X", "y": "Y"}).split("\n\n") == [
        "**Not available (weights not downloaded):** X, Y. Fix: `python -m genre_models.download x y`",
        "**Not available (no trained genre head):** z. Fix: `python -m genre_models.train --model z --data movies.csv`"]
    assert unavailable_notice(Comparison({"a": _pred("a", {"Horror": 0.9})}, ["Horror"])) == ""


def test_notices_for_missing_input_and_no_models():
    from genre_models import ModelPool
    from genre_models.comparison.compare import run_comparison
    comparison = run_comparison(ModelPool(), [], None, "  ")
    assert comparison.notices == ["Give a poster, a plot, or both.", "Select at least one model."]
    assert comparison.predictions == {}


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
