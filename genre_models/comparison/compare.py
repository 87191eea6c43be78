"""Side-by-side comparison of several models on one film: what the app and its API show.

Kept apart from ``app.py`` so the page stays layout and wiring, and so the same comparison serves
the UI, the ``/compare`` API endpoint and the tests.
"""
from __future__ import annotations

import re
import string
from dataclasses import dataclass, field
from typing import Callable, Sequence

from ..commands import command
from ..data.inputs import PosterInput, check_threshold, read_film
from ..errors import InvalidInputError
from ..genres import GENRES, parse_custom_genres
from ..models.prediction import Prediction, Status
from ..models.extra_models import ExtraModels, split_ids
from ..models.lineup import model_colour
from ..models.predictors import ModelPool

# Where the page says what went wrong with each status, in plain words.
STATUS_TITLES = {
    Status.UNAVAILABLE: "Not available",
    Status.MISSING_INPUT: "Needs more input",
    Status.INVALID_INPUT: "Could not read the input",
    Status.ERROR: "Failed",
    Status.NOTHING_READ: "Read nothing it knows",
}


@dataclass
class Comparison:
    """Every selected model's prediction for one film, plus what the page says about the inputs."""

    predictions: dict[str, Prediction]
    genres: list[str]
    notices: list[str] = field(default_factory=list)
    nothing_given: bool = False  # neither a poster nor a plot: the notice says so, no card need repeat it
    threshold: float | None = None  # the one threshold the request set for every genre, if it set one

    @property
    def answered(self) -> dict[str, Prediction]:
        return {k: p for k, p in self.predictions.items() if p.ok}

    def agreement(self, top: int = 3) -> dict:
        """Genres every answering model predicts, and the genres their *decisions* split on.

        A disagreement is a genre some answering models predict and others do not, the widest spread
        of probabilities first: two models at 96% and 77% that both predict Horror agree on it.
        """
        answered = self.answered
        if len(answered) < 2:
            return {"all_agree": [], "most_disagreement": [], "models_compared": list(answered)}
        shared = [g for g in self.genres if all(g in p.predicted for p in answered.values())]
        splits = []
        for genre in self.genres:
            values = {k: p.probabilities[genre] for k, p in answered.items() if genre in p.probabilities}
            yes = [k for k in values if genre in answered[k].predicted]
            no = [k for k in values if genre not in answered[k].predicted]
            if not yes or not no:
                continue
            high, low = max(values, key=values.get), min(values, key=values.get)
            splits.append({"genre": genre, "spread": values[high] - values[low], "predicted_by": yes,
                           "not_predicted_by": no, "highest": [high, values[high]], "lowest": [low, values[low]]})
        splits.sort(key=lambda s: -s["spread"])
        return {"all_agree": shared, "most_disagreement": splits[:top], "models_compared": list(answered)}

    def to_dict(self) -> dict:
        """The API payload: per-model probabilities, decisions and status, and the agreement view."""
        return {"genres": self.genres, "notices": self.notices,
                "models": {k: p.to_dict() for k, p in self.predictions.items()},
                "agreement": self.agreement()}


def run_comparison(pool: ModelPool, keys: Sequence[str], poster: PosterInput = None, plot: str | None = None,
                   mode: str = "auto", threshold: float | None = None, custom_genres: str | None = None,
                   on_load: Callable[[str, int, int], None] | None = None,
                   extra_models: str | Sequence[str] | None = None, extras: ExtraModels | None = None) -> Comparison:
    """Run each model on the film; never raises for bad input or missing weights.

    Args:
        custom_genres: free text ("heist, space opera"); when given, zero-shot models score these
            instead of the 18 genres, and models without zero-shot say they cannot.
        on_load: called as ``on_load(key, index, total)`` before a model that is not loaded yet is
            loaded (the UI shows it as progress).
        extra_models: hub ids of models to add beside ``keys`` (``models/extra_models.py``), answered by
            ``extras``; their predictions are keyed by the id.
    """
    notices = []
    try:  # the request's own values, checked once at the boundary: one notice, not one per model
        extra_ids = split_ids(extra_models) if extra_models else []
        threshold = check_threshold(threshold)
        genres = list(parse_custom_genres(custom_genres)) or list(GENRES)
    except InvalidInputError as exc:
        return _refused(keys, exc)
    film = read_film(poster, plot)  # decoded and cleaned once, shared by every model
    if film.plot_error is not None:
        return _refused(keys, film.plot_error)
    if film.poster_error is not None:
        notices.append(f"The poster could not be used: {film.poster_error}. Poster models skipped; "
                       "plot models still answered.")  # each poster model reports it on its card
    nothing_given = film.poster is None and film.plot is None and film.poster_error is None
    if nothing_given:
        notices.append("Give a poster, a plot, or both.")
    if not keys:
        notices.append("Select at least one model.")
    predictions = pool.predict(keys, film=film, on_load=on_load, genres=genres, mode=mode, threshold=threshold)
    if extra_ids:
        extras = extras if extras is not None else ExtraModels()
        added = extras.predict(extra_ids, film=film, genres=genres, mode=mode, threshold=threshold)
        predictions.update({k: p for k, p in added.items() if k not in predictions})
    return Comparison(predictions, genres, notices, nothing_given, threshold)


def _refused(keys: Sequence[str], exc: InvalidInputError) -> Comparison:
    """Nothing computed: the request's own values are unusable (one notice, each card saying why)."""
    refused = {k: Prediction.failed(k, Status.INVALID_INPUT, str(exc), summary=str(exc)) for k in keys}
    return Comparison(refused, list(GENRES), [f"Nothing was computed: {exc}."])


def threshold_note(comparison: Comparison, names: dict[str, str] | None = None) -> str:
    """The line above the chart: how the answering models decided, read from the thresholds they used
    (empty when none answered).

    A model whose thresholds differ between genres had them tuned per genre on validation data; one with a
    single value used it for every genre: the one the request set, or zero-shot's flat 50% (custom genres
    are scored zero-shot). Said once for all when all decided alike, else per group of models.
    """
    names = names or {}
    groups: dict[float | None, list[str]] = {}  # None: tuned per genre
    for key, prediction in comparison.answered.items():
        values = {round(v, 6) for v in prediction.thresholds.values()}
        groups.setdefault(values.pop() if len(values) == 1 else None, []).append(key)
    if not groups:
        return ""

    def why(value: float | None, keys: list[str]) -> str:
        if value is None:
            return "tuned per genre on validation data, so 29% can be a prediction for one genre and 31% not for another"
        if comparison.threshold is not None and value == round(comparison.threshold, 6):
            return f"{value:.0%} for every genre, the one threshold set for all"
        zero_shot = all(comparison.predictions[k].mode == "zero-shot" for k in keys)
        return f"{value:.0%} for every genre" + (" (zero-shot: no threshold tuned per genre)" if zero_shot else "")

    start = "Each model predicts a genre when its probability reaches the model's own threshold for it (the black tick): "
    if len(groups) == 1:
        ((value, keys),) = groups.items()
        return start + why(value, keys) + "."
    return start + "; ".join(f"{why(value, keys)} for {as_text(', '.join(names.get(k, k) for k in keys))}"
                             for value, keys in groups.items()) + "."


def chart_data(comparison: Comparison, names: dict[str, str] | None = None) -> tuple[list[str], dict, dict]:
    """(genres, probabilities, thresholds) of the answering models, genres most probable first.

    The genres any model rates highly lead, so the interesting part of an 18-genre chart is on the left.
    """
    answered = comparison.answered
    names = names or {}
    order = sorted(comparison.genres, key=lambda g: -max(p.probabilities.get(g, 0.0) for p in answered.values()))
    # a model answering through another route than its head or prompts says so in the legend too
    label = {k: names.get(k, k) + (f" ({p.mode}, {p.method})" if p.method else "") for k, p in answered.items()}
    probabilities = {label[k]: [p.probabilities.get(g, 0.0) for g in order] for k, p in answered.items()}
    thresholds = {label[k]: [p.thresholds.get(g, 0.5) for g in order] for k, p in answered.items()}
    return order, probabilities, thresholds


def chart_colours(comparison: Comparison) -> list[str]:
    """The answering models' colours in :func:`chart_data`'s order: each model's own, as on every tab."""
    return [model_colour(key) for key in comparison.answered]


def comparison_chart(comparison: Comparison, names: dict[str, str] | None = None):
    """Bars: every answering model's probability per genre, its thresholds marked and decisions filled."""
    from ..charts import decision_bars
    if not comparison.answered:
        return None  # the notice says why; an empty figure would only take room
    return decision_bars(*chart_data(comparison, names), colours=chart_colours(comparison))


def comparison_chart_narrow(comparison: Comparison, names: dict[str, str] | None = None):
    """The bars drawn for a phone's width (the page shows them under 700 px), or None when nobody answered."""
    from ..charts import decision_bars_narrow
    return (decision_bars_narrow(*chart_data(comparison, names), colours=chart_colours(comparison))
            if comparison.answered else None)


def comparison_heatmap_narrow(comparison: Comparison, names: dict[str, str] | None = None):
    """The heatmap drawn for a phone's width, genres down and models across, or None when nobody answered."""
    from ..charts import decision_heatmap_narrow
    return decision_heatmap_narrow(*chart_data(comparison, names)) if comparison.answered else None


def comparison_heatmap(comparison: Comparison, names: dict[str, str] | None = None):
    """Models × genres: probability as colour, predicted cells outlined (reads better past three models)."""
    from ..charts import decision_heatmap
    if not comparison.answered:
        return None
    return decision_heatmap(*chart_data(comparison, names))


def reason(prediction: Prediction) -> str:
    """Why a model did not answer, in a few words (its ``summary``, else the message's first clause)."""
    if prediction.summary:
        return prediction.summary.split(";")[0]
    first = prediction.message.split("; ")[0].split(". ")[0].strip().rstrip(".")
    return first if len(first) <= 90 else first[:87].rstrip() + "…"


def unavailable_notice(comparison: Comparison, names: dict[str, str] | None = None) -> str:
    """One compact line per reason for every model that did not answer, whatever the reason, with the
    command that fixes them all when there is one. Their cards fold away (app.py's CSS)."""
    names = names or {}
    groups: dict[tuple[str, str, str], list[str]] = {}
    for key, pred in comparison.predictions.items():
        if pred.ok or (comparison.nothing_given and pred.status is Status.MISSING_INPUT):
            continue  # with no input at all the notice above says it once, not once per model
        if pred.summary and any(pred.summary in notice for notice in comparison.notices):
            continue  # a refused request ("at most 3 added models"): said once above, not against each model
        why = reason(pred)
        # an added model's id refused as typed: its reason quotes the id, so the line says it once
        title = ("Not added" if key not in names and _quotes(why, key)
                 else STATUS_TITLES.get(pred.status, "Failed"))
        groups.setdefault((title, why, _fix_family(pred.fix)), []).append(key)
    lines = []
    for (title, why, _), keys in groups.items():
        fixes = [comparison.predictions[k].fix for k in keys if comparison.predictions[k].fix]
        fix = f" Fix: {command_html(_merge_fixes(fixes))}" if fixes else ""
        if all(_quotes(why, k) for k in keys):  # "'x!!' is not a hub id", not "... is not a hub id: x!!"
            lines.append(f"**{title}:** {as_text(why)}." + fix)
        else:
            lines.append(f"**{title} ({as_text(why)}):** {as_text(', '.join(names.get(k, k) for k in keys))}." + fix)
    return "\n\n".join(lines)


def _quotes(text: str, key: str) -> bool:
    """Whether ``text`` quotes ``key`` as a message does (``repr``, perhaps cut short with "…")."""
    return repr(key)[:-1][:40] in text


def _fix_family(fix: str) -> str:
    return fix.split(" --")[0]  # "… -m genre_models download" / "… train": the command before its options


def _merge_fixes(fixes: list[str]) -> str:
    """``… download --models a`` + ``… download --models b`` -> ``… download --models a b``; other
    commands joined."""
    prefix = command("download", "--models") + " "
    parts = list(dict.fromkeys(part for f in fixes for part in f.split(" && ") if part))
    if parts and all(p.startswith(prefix) for p in parts):
        return prefix + " ".join(dict.fromkeys(k for p in parts for k in p[len(prefix):].split()))
    return " && ".join(parts)


def command_html(command: str) -> str:
    """A shell command as inline code that wraps between its words only: each word is kept whole
    (a browser would otherwise break ``tiny-bit`` after its hyphen on a phone). Copies as typed."""
    words = " ".join(f"<span>{as_text(word)}</span>" for word in command.split(" "))
    return f'<code class="gl-cmd">{words}</code>'


# Every ASCII punctuation character as a numeric character reference: the browser shows the character, while
# gradio's Markdown (marked, GFM) and its LaTeX pass see "&#58;" in the source. Escaping only HTML and a few
# Markdown marks is not enough: GFM turns a bare "http://x", "www.x" or "a@b.c" into a link by itself
# (linkify), "$$...$$" becomes KaTeX, "|" splits a table cell, and "# ", "> ", "1. " open blocks in a list item.
_INERT = str.maketrans({c: f"&#{ord(c)};" for c in string.punctuation + "\t"})
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def as_text(text: str) -> str:
    """``text`` (typed by a visitor, read from their file, or a message quoting either) as inert HTML for a
    ``gr.Markdown`` field: shown exactly as typed, never a link, image, tag, formula or Markdown mark.

    Safe inline anywhere in Markdown (a paragraph, a list item, a table cell, inside ``**`` or an HTML
    element's content; not inside an attribute value): ASCII punctuation and tabs become numeric character
    references, line breaks ``<br>``, and a leading space ``&#32;`` (it cannot indent a code block).
    The output is about 5 times longer than the punctuation it encodes; letters and digits are unchanged.
    """
    inert = _LINE_BREAK.sub("<br>", str(text).translate(_INERT))
    return "&#32;" + inert[1:] if inert.startswith(" ") else inert


def headline(prediction: Prediction) -> str:
    """The big line above a card's bars: its most probable *predicted* genre, never one it does not predict."""
    return prediction.predicted[0] if prediction.predicted else "No genre predicted"


def card_markdown(prediction: Prediction, name: str, top: int = 5, custom_genres: bool = False) -> str:
    """The text under a model's confidence bars: decisions, mode and latency, or why it did not answer.

    ``custom_genres``: the request asked for genres of its own, so a model that has a trained head
    but answered zero-shot says why its mode changed.
    """
    if prediction.ok:
        # genres can be the visitor's own (custom genres): shown as typed, like every name below
        predicted = as_text(", ".join(prediction.predicted)) or "none above threshold"
        marks = " · ".join(f"{as_text(g)} {p:.0%} {'≥' if g in prediction.predicted else '<'} "
                           f"{prediction.thresholds[g]:.0%}" for g, p in prediction.top(top))
        mode = f"{prediction.mode} ({prediction.method})" if prediction.method else prediction.mode
        if custom_genres and prediction.mode == "zero-shot":
            mode = "zero-shot for your genres (a trained head knows only the genres it was trained on)"
        lines = [f"**Predicts:** {predicted}",
                 f"<small>{mode} · {prediction.latency_ms:.0f} ms</small>",
                 f"<small>Probability vs this model's threshold: {marks}</small>"]
        if prediction.plot_truncated:  # it changes what the model read: said plainly, not in small print
            lines.insert(1, "⚠️ **Plot cut at this model's token limit:** it read only the beginning.")
        notes = [n for n in prediction.message.split("; ") if n and "plot truncated" not in n]
        if notes:
            lines.append(f"<small>Note: {as_text('; '.join(notes))}</small>")
        return "\n\n".join(lines)
    # one line, whatever the reason; the class lets the page fold the card away (app.py's CSS): the
    # notice above the chart names the model with its reason and fix. The API keeps the whole message.
    title = STATUS_TITLES.get(prediction.status, "Failed")
    return (f'<b class="gl-unavailable">{title}:</b> {as_text(prediction.summary or reason(prediction))}.'
            + (f" Fix: {command_html(prediction.fix)}" if prediction.fix else ""))


def agreement_markdown(comparison: Comparison, names: dict[str, str] | None = None) -> str:
    names = names or {}
    view = comparison.agreement()
    if len(view["models_compared"]) < 2:
        return "_Agreement needs at least two models that answered._"
    agree = as_text(", ".join(view["all_agree"])) or "no genre"
    lines = [f"**All {len(view['models_compared'])} answering models predict:** {agree}", ""]
    if not view["most_disagreement"]:
        return "\n".join(lines + ["**They split on no genre:** each predicts the same genres."])
    lines.append("**Where their decisions split most:**")
    for item in view["most_disagreement"]:  # an added model is named by the id its visitor typed
        yes = ", ".join(f"{as_text(names.get(k, k))} {comparison.predictions[k].probabilities[item['genre']]:.0%}"
                        for k in item["predicted_by"])
        no = ", ".join(f"{as_text(names.get(k, k))} {comparison.predictions[k].probabilities[item['genre']]:.0%}"
                       for k in item["not_predicted_by"])
        lines.append(f"- {as_text(item['genre'])}: predicted by {yes}; not by {no}")
    return "\n".join(lines)
