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


def test_chart_with_and_without_answers():
    genres = ["Horror", "Comedy"]
    fig = comparison_chart(Comparison({"a": _pred("a", {"Horror": 0.9, "Comedy": 0.1})}, genres))
    assert len(fig.axes[0].patches) == 2
    empty = comparison_chart(Comparison({"c": Prediction.failed("c", Status.ERROR, "x")}, genres))
    assert empty.axes[0].texts[0].get_text() == "No model answered"


def test_notices_for_missing_input_and_no_models():
    from genre_models import ModelPool
    from genre_models.comparison.compare import run_comparison
    comparison = run_comparison(ModelPool(), [], None, "  ")
    assert comparison.notices == ["Give a poster, a plot, or both.", "Select at least one model."]
    assert comparison.predictions == {}
