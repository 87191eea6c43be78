import html
import re
import string

import pytest

from genre_models.comparison.compare import (Comparison, agreement_markdown, as_text, card_markdown, command_html,
                                             comparison_chart, unavailable_notice)
from genre_models.commands import command
from genre_models.models.prediction import Prediction, Status


def shown(markdown: str) -> str:
    """What a browser shows of the builders' inert text: each character reference decoded."""
    return html.unescape(markdown)


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
    text = shown(agreement_markdown(comparison, {"a": "Model A", "b": "Model B"}))
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
        assert shown(card_markdown(prediction, "X")) == card
    long = Prediction.failed("l", Status.ERROR, "word " * 40)
    assert len(shown(card_markdown(long, "L"))) < 160 and shown(card_markdown(long, "L")).endswith("….")


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
    from genre_models.models.lineup import model_colour
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
    assert colours == {to_rgb(model_colour("a")), to_rgb(model_colour("b"))}  # each model's own colour
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
    assert shown(command_html("python -m genre_models.train --models tiny-bit")) == (
        '<code class="gl-cmd"><span>python</span> <span>-m</span> <span>genre_models.train</span> '
        '<span>--models</span> <span>tiny-bit</span></code>')
    hostile = command_html("x <b> www.example.test")
    assert "<b>" not in hostile and "www." not in hostile and shown(hostile).endswith("<span><b></span> "
                                                                                     "<span>www.example.test</span></code>")


def test_unavailable_models_fold_into_one_notice_with_one_command():
    from genre_models.comparison.compare import unavailable_notice
    missing = [Prediction.failed(k, Status.UNAVAILABLE, "long story", summary="weights not downloaded",
                                 fix=command("download", "--models", k)) for k in ("x", "y")]
    no_head = Prediction.failed("z", Status.UNAVAILABLE, "long", summary="no trained genre head; training one took 4 min",
                                fix=command("train", "--models", "z", "--data", "movies.csv"))
    needs = [Prediction.failed(k, Status.MISSING_INPUT, f"{k} needs a plot", summary="needs a plot") for k in "vw"]
    comparison = Comparison({"x": missing[0], "y": missing[1], "z": no_head, "a": _pred("a", {"Horror": 0.9}),
                             "v": needs[0], "w": needs[1]}, ["Horror"])
    assert shown(unavailable_notice(comparison, {"x": "X", "y": "Y"})).split("\n\n") == [
        "**Not available (weights not downloaded):** X, Y. Fix: "
        + shown(command_html(command("download", "--models", "x", "y"))),
        "**Not available (no trained genre head):** z. Fix: "
        + shown(command_html(command("train", "--models", "z", "--data", "movies.csv"))),
        "**Needs more input (needs a plot):** v, w."]
    assert unavailable_notice(Comparison({"a": _pred("a", {"Horror": 0.9})}, ["Horror"])) == ""
    # nothing given at all: the request's own notice says so once; no line per model repeats it
    empty = Comparison({"v": needs[0], "x": missing[0]}, ["Horror"], ["Give a poster, a plot, or both."],
                       nothing_given=True)
    assert shown(unavailable_notice(empty)).split("\n\n") == [
        "**Not available (weights not downloaded):** x. Fix: " + shown(command_html(command("download", "--models", "x")))]


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
    card = shown(card_markdown(pred, "A", top=2))
    assert card.splitlines()[0] == "**Predicts:** Crime"
    assert "Probability vs this model's threshold: Thriller 31% < 40% · Crime 29% ≥ 25%</small>" in card


def test_a_cut_plot_is_said_plainly_on_the_card():
    pred = _pred("a", {"Horror": 0.9})
    pred.plot_truncated, pred.message = True, "random weights (test/development model); plot truncated to the model's token limit"
    lines = shown(card_markdown(pred, "A")).split("\n\n")
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


# -- issue 33, item 10: text from a visitor or their file is shown as typed, never as markup -----------------

HOSTILE = ["![p](http://127.0.0.1:9/pixel.png)", "<img src=x onerror=alert(1)>", "[x](http://example.test/a)",
           "http://example.test/a", "www.example.test", "WWW.Example.test/x", "ftp://example.test", "user@example.test",
           "<https://example.test>", "[x][r]\n\n[r]: http://example.test", "$$\\href{http://example.test}{x}$$",
           "**bold** _it_ ~~del~~ `code`", "\\*not escaped\\*", "# heading", "> quote", "1. list", "- item",
           "| a | b |", "    indented code", "\tindented", "&lt;b&gt; &amp; &#60;", "%%%LATEX_BLOCK_0%%%",
           "line one\r\nline two\rthree\nfour", "«Amélie» — 東京 ☃"]


@pytest.mark.parametrize("typed", HOSTILE)
def test_as_text_leaves_no_markup_and_shows_exactly_what_was_typed(typed):
    inert = as_text(typed)
    # nothing Markdown, HTML, an autolink or LaTeX could start from: no punctuation outside character
    # references and the line breaks it writes itself, no text run that starts a line
    bare = re.sub(r"&#\d+;|<br>", "", inert)
    assert not set(bare) & set(string.punctuation + "\t\r\n"), bare
    assert not inert.startswith(" ")
    # and the browser decodes it back to the text as typed (its line breaks as <br>)
    assert shown(inert.replace("<br>", "\n")) == typed.replace("\r\n", "\n").replace("\r", "\n")


def test_letters_and_digits_pass_unchanged():
    assert as_text("Amélie 2001 東京") == "Amélie 2001 東京"


def test_a_visitors_genres_and_model_ids_reach_cards_notices_and_agreement_inert():
    genres = ["www.example.test", "Horror"]  # a custom genre may hold "." and "/": a bare host
    added = "![p](http://127.0.0.1:9/pixel.png)"  # refused ids come back keyed by the text as typed
    comparison = Comparison({"a": _pred("a", {"www.example.test": 0.9, "Horror": 0.1}),
                             added: _pred(added, {"www.example.test": 0.2, "Horror": 0.1}),
                             "[x](http://example.test/a)": Prediction.failed("[x](http://example.test/a)",
                                                                            Status.INVALID_INPUT, "refused",
                                                                            summary="'[x](http://example.test/a)' refused")},
                            genres)
    texts = [card_markdown(comparison.predictions["a"], "A"), agreement_markdown(comparison),
             unavailable_notice(comparison)]
    for text in texts:
        assert not re.search(r"www\.|://|\[|\]|<img", text), text
    assert "**Predicts:** www.example.test" in shown(texts[0])
    assert f"- www.example.test: predicted by a 90%; not by {added} 20%" in shown(texts[1])
    assert shown(texts[2]) == "**Not added:** '[x](http://example.test/a)' refused."  # the id once (issue 35)


def test_a_refused_hub_id_is_one_sentence_naming_it_once():
    """Issue 35: not "Could not read the input ('x!!' is not a hub id ...): x!!."; every refused id, whatever
    the reason, and one cut short in its message; a lineup model's own reason still lists it."""
    from genre_models import ModelPool
    from genre_models.comparison.compare import run_comparison
    long_id = "org/" + "a" * 120
    comparison = run_comparison(ModelPool(), ["tfidf"], None, "a ghost haunts the house",
                                extra_models=["not a valid id!!", "timm/nosuchmodelhere", long_id])
    lines = shown(unavailable_notice(comparison, {"tfidf": "TF-IDF"})).split("\n\n")
    assert len(lines) == 3 and all(line.startswith("**Not added:** '") for line in lines), lines
    assert lines[0].startswith("**Not added:** 'not a valid id!!' is not a hub id")
    assert lines[1].startswith("**Not added:** 'timm/nosuchmodelhere' is not ")
    assert [line.count("not a valid id!!") for line in lines] == [1, 0, 0]
    assert lines[2].count("org/aaaa") == 1 and lines[2].endswith(".") and ":**" not in lines[2][14:]
    # a model of the lineup that cannot answer is still listed after its reason
    tfidf = Prediction.failed("tfidf", Status.INVALID_INPUT, "TF-IDF: not text", summary="not text")
    assert shown(unavailable_notice(Comparison({"tfidf": tfidf}, ["Horror"]), {"tfidf": "TF-IDF"})) == (
        "**Could not read the input (not text):** TF-IDF.")


def test_a_refused_request_is_said_once_not_against_every_model():
    from genre_models import ModelPool
    from genre_models.comparison.compare import run_comparison
    comparison = run_comparison(ModelPool(), ["tfidf", "minilm"], None, "a ghost",
                                extra_models="a/b, c/d, e/f, g/h")
    assert comparison.notices == ["Nothing was computed: at most 3 added models at once; got 4."]
    assert unavailable_notice(comparison, {"tfidf": "TF-IDF", "minilm": "MiniLM"}) == ""


# -- issue 35, item 5: the line above the chart follows the settings ------------------------------------------

def test_the_threshold_note_says_how_the_models_actually_decided(tiny_models):
    from genre_models import ModelPool
    from genre_models.comparison.compare import run_comparison, threshold_note
    pool, plot = ModelPool(), "a ghost haunted the house and the family fled ."
    names = {"tiny-bert": "Tiny BERT", "tfidf": "TF-IDF"}  # TF-IDF: a trained head; tiny BERT: zero-shot only
    tuned = threshold_note(run_comparison(pool, ["tfidf"], None, plot), names)
    assert "tuned per genre on validation data" in tuned and "for every genre" not in tuned
    for note, flat in ((threshold_note(run_comparison(pool, ["tfidf", "tiny-bert"], None, plot, threshold=0.4), names),
                        "40% for every genre, the one threshold set for all"),
                       (threshold_note(run_comparison(pool, ["tiny-bert"], None, plot, mode="zero-shot"), names),
                        "50% for every genre (zero-shot: no threshold tuned per genre)"),
                       (threshold_note(run_comparison(pool, ["tfidf", "tiny-bert"], None, plot,
                                                      custom_genres="heist, space opera"), names),
                        "50% for every genre (zero-shot: no threshold tuned per genre)")):
        assert flat in note and "on validation data" not in note, note
    both = shown(threshold_note(run_comparison(pool, ["tfidf", "tiny-bert"], None, plot), names))
    assert "on validation data" in both and both.endswith("for TF-IDF; 50% for every genre (zero-shot: no threshold "
                                                          "tuned per genre) for Tiny BERT."), both
    # models that decided differently are named by how each did
    mixed = Comparison({"t": Prediction.from_probabilities("t", {"Horror": 0.4, "Drama": 0.2},
                                                           {"Horror": 0.29, "Drama": 0.31}, mode="trained"),
                        "z": _pred("z", {"Horror": 0.6, "Drama": 0.1})}, ["Horror", "Drama"])
    assert threshold_note(mixed, {"t": "T", "z": "Z"}).endswith(
        "tuned per genre on validation data, so 29% can be a prediction for one genre and 31% not for another for T; "
        "50% for every genre (zero-shot: no threshold tuned per genre) for Z.")
    assert threshold_note(Comparison({}, ["Horror"])) == ""  # nobody answered: no chart, no line about it
