"""Side-by-side comparison of several models on one film: what the app and its API show.

Kept apart from ``app.py`` so the page stays layout and wiring, and so the same comparison serves
the UI, the ``/compare`` API endpoint and the tests.
"""
from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Callable, Sequence

from ..data.inputs import PosterInput, check_threshold, clean_plot, load_poster
from ..errors import InvalidImageError, InvalidInputError
from ..genres import GENRES, parse_custom_genres
from ..models.prediction import Prediction, Status
from ..models.predictors import ModelPool

# Where the page says what went wrong with each status, in plain words.
STATUS_TITLES = {
    Status.UNAVAILABLE: "Not available",
    Status.MISSING_INPUT: "Needs more input",
    Status.INVALID_INPUT: "Could not read the input",
    Status.ERROR: "Failed",
}


@dataclass
class Comparison:
    """Every selected model's prediction for one film, plus what the page says about the inputs."""

    predictions: dict[str, Prediction]
    genres: list[str]
    notices: list[str] = field(default_factory=list)

    @property
    def answered(self) -> dict[str, Prediction]:
        return {k: p for k, p in self.predictions.items() if p.ok}

    def agreement(self, top: int = 3) -> dict:
        """Genres every answering model predicts, and the genres where their probabilities differ most."""
        answered = self.answered
        if len(answered) < 2:
            return {"all_agree": [], "most_disagreement": [], "models_compared": list(answered)}
        shared = [g for g in self.genres if all(g in p.predicted for p in answered.values())]
        spreads = []
        for genre in self.genres:
            values = {k: p.probabilities[genre] for k, p in answered.items() if genre in p.probabilities}
            if len(values) < 2:
                continue
            high, low = max(values, key=values.get), min(values, key=values.get)
            spreads.append({"genre": genre, "spread": values[high] - values[low],
                            "highest": [high, values[high]], "lowest": [low, values[low]]})
        spreads.sort(key=lambda s: -s["spread"])
        return {"all_agree": shared, "most_disagreement": spreads[:top], "models_compared": list(answered)}

    def to_dict(self) -> dict:
        """The API payload: per-model probabilities, decisions and status, and the agreement view."""
        return {"genres": self.genres, "notices": self.notices,
                "models": {k: p.to_dict() for k, p in self.predictions.items()},
                "agreement": self.agreement()}


def run_comparison(pool: ModelPool, keys: Sequence[str], poster: PosterInput = None, plot: str | None = None,
                   mode: str = "auto", threshold: float | None = None, custom_genres: str | None = None,
                   on_load: Callable[[str, int, int], None] | None = None) -> Comparison:
    """Run each model on the film; never raises for bad input or missing weights.

    Args:
        custom_genres: free text ("heist, space opera"); when given, zero-shot models score these
            instead of the 18 genres, and models without zero-shot say they cannot.
        on_load: called as ``on_load(key, index, total)`` before a model that is not loaded yet is
            loaded (the UI shows it as progress).
    """
    notices = []
    try:  # the request's own values, checked once at the boundary: one notice, not one per model
        threshold = check_threshold(threshold)
        genres = list(parse_custom_genres(custom_genres)) or list(GENRES)
        clean_plot(plot)
    except InvalidInputError as exc:
        refused = {k: Prediction.failed(k, Status.INVALID_INPUT, str(exc), summary=str(exc)) for k in keys}
        return Comparison(refused, list(GENRES), [f"Nothing was computed: {exc}."])
    image = None
    if poster is not None:
        try:
            image = load_poster(poster)  # decoded once, shared by every poster model
        except InvalidImageError as exc:
            notices.append(f"The poster could not be used: {exc}. Poster models skipped; "
                           "plot models still answered.")
            image = poster  # each poster model reports the same problem on its card
    if image is None and not (plot and plot.strip()):
        notices.append("Give a poster, a plot, or both.")
    if not keys:
        notices.append("Select at least one model.")
    predictions = pool.predict(keys, image, plot, on_load=on_load, genres=genres, mode=mode, threshold=threshold)
    return Comparison(predictions, genres, notices)


THRESHOLD_NOTE = ("Each model predicts a genre when its probability reaches that model's own threshold for it "
                  "(the black tick): thresholds are tuned per genre on validation data, so 29% can be a "
                  "prediction for one genre and 31% not for another.")


def _no_answer_figure():
    from matplotlib.figure import Figure
    fig = Figure(figsize=(8, 4.2))
    ax = fig.subplots()
    ax.text(0.5, 0.5, "No model answered", ha="center", va="center", fontsize=14)
    ax.set_axis_off()
    return fig


def chart_data(comparison: Comparison, names: dict[str, str] | None = None) -> tuple[list[str], dict, dict]:
    """(genres, probabilities, thresholds) of the answering models, genres most probable first.

    The genres any model rates highly lead, so the interesting part of an 18-genre chart is on the left.
    """
    answered = comparison.answered
    names = names or {}
    order = sorted(comparison.genres, key=lambda g: -max(p.probabilities.get(g, 0.0) for p in answered.values()))
    probabilities = {names.get(k, k): [p.probabilities.get(g, 0.0) for g in order] for k, p in answered.items()}
    thresholds = {names.get(k, k): [p.thresholds.get(g, 0.5) for g in order] for k, p in answered.items()}
    return order, probabilities, thresholds


def comparison_chart(comparison: Comparison, names: dict[str, str] | None = None):
    """Bars: every answering model's probability per genre, its thresholds marked and decisions filled."""
    from ..charts import decision_bars
    if not comparison.answered:
        return _no_answer_figure()
    return decision_bars(*chart_data(comparison, names))


def comparison_heatmap(comparison: Comparison, names: dict[str, str] | None = None):
    """Models × genres: probability as colour, predicted cells outlined (reads better past three models)."""
    from ..charts import decision_heatmap
    if not comparison.answered:
        return _no_answer_figure()
    return decision_heatmap(*chart_data(comparison, names))


def unavailable_notice(comparison: Comparison, names: dict[str, str] | None = None) -> str:
    """One compact line per reason for the models that could not answer, with the command that fixes them all."""
    names = names or {}
    groups: dict[tuple[str, str], list[str]] = {}
    for key, pred in comparison.predictions.items():
        if pred.status is Status.UNAVAILABLE and pred.summary:
            reason = pred.summary.split(";")[0]
            groups.setdefault((reason, _fix_family(pred.fix)), []).append(key)
    lines = []
    for (reason, _), keys in groups.items():
        fixes = [comparison.predictions[k].fix for k in keys]
        lines.append(f"**Not available ({reason}):** {', '.join(names.get(k, k) for k in keys)}. "
                     f"Fix: `{_merge_fixes(fixes)}`")
    return "\n\n".join(lines)


def _fix_family(fix: str) -> str:
    return " ".join(fix.split()[:3])  # "python -m genre_models.download" / "... .train"


def _merge_fixes(fixes: list[str]) -> str:
    """``python -m genre_models.download a`` + ``... download b`` -> ``... download a b``; other commands joined."""
    prefix = "python -m genre_models.download "
    parts = list(dict.fromkeys(part for f in fixes for part in f.split(" && ") if part))
    if parts and all(p.startswith(prefix) for p in parts):
        return prefix + " ".join(dict.fromkeys(k for p in parts for k in p[len(prefix):].split()))
    return " && ".join(parts)


def as_text(text: str) -> str:
    """Text for a Markdown field shown as typed: messages can quote user input, which must not become markup."""
    return html.escape(text, quote=False).replace("*", "\\*").replace("_", "\\_")


def card_markdown(prediction: Prediction, name: str, top: int = 5) -> str:
    """The text under a model's confidence bars: decisions, mode and latency, or why it did not answer."""
    if prediction.ok:
        predicted = ", ".join(prediction.predicted) or "none above threshold"
        marks = " · ".join(f"{g} {p:.0%} {'≥' if g in prediction.predicted else '<'} {prediction.thresholds[g]:.0%}"
                           for g, p in prediction.top(top))
        lines = [f"**Predicts:** {predicted}",
                 f"<small>{prediction.mode} · {prediction.latency_ms:.0f} ms</small>",
                 f"<small>Probability vs this model's threshold: {marks}</small>"]
        if prediction.plot_truncated:  # it changes what the model read: said plainly, not in small print
            lines.insert(1, "⚠️ **Plot cut at this model's token limit:** it read only the beginning.")
        notes = [n for n in prediction.message.split("; ") if n and "plot truncated" not in n]
        if notes:
            lines.append(f"<small>Note: {as_text('; '.join(notes))}</small>")
        return "\n\n".join(lines)
    title = STATUS_TITLES.get(prediction.status, "Failed")
    if prediction.summary:  # one line: the reason and the command; the API keeps the whole message
        # the class lets the page fold this card away: the notice above the chart says it (app.py's CSS)
        return (f'<b class="gl-unavailable">{title}:</b> {as_text(prediction.summary)}.'
                + (f" Fix: `{prediction.fix}`" if prediction.fix else ""))
    return f"**{title}.** {as_text(prediction.message)}"


def agreement_markdown(comparison: Comparison, names: dict[str, str] | None = None) -> str:
    names = names or {}
    view = comparison.agreement()
    if len(view["models_compared"]) < 2:
        return "_Agreement needs at least two models that answered._"
    agree = ", ".join(view["all_agree"]) or "no genre"
    lines = [f"**All {len(view['models_compared'])} answering models predict:** {agree}", "",
             "**Where they disagree most:**"]
    for item in view["most_disagreement"]:
        (hi, hv), (lo, lv) = item["highest"], item["lowest"]
        lines.append(f"- {item['genre']}: {names.get(hi, hi)} {hv:.0%} vs {names.get(lo, lo)} {lv:.0%}")
    return "\n".join(lines)
