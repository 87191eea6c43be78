"""Side-by-side comparison of several models on one film: what the app and its API show.

Kept apart from ``app.py`` so the page stays layout and wiring, and so the same comparison serves
the UI, the ``/compare`` API endpoint and the tests.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Sequence

from ..data.inputs import PosterInput, load_poster
from ..errors import InvalidImageError
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
    genres = list(parse_custom_genres(custom_genres)) or list(GENRES)
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


def comparison_chart(comparison: Comparison, names: dict[str, str] | None = None):
    """Grouped bars: every answering model's probability per genre, side by side (matplotlib Figure)."""
    from matplotlib.figure import Figure

    from ..charts import grouped_bars
    answered = comparison.answered
    if not answered:
        fig = Figure(figsize=(8, 4.2))
        ax = fig.subplots()
        ax.text(0.5, 0.5, "No model answered", ha="center", va="center", fontsize=14)
        ax.set_axis_off()
        return fig
    series = {(names or {}).get(key, key): [pred.probabilities.get(g, 0.0) for g in comparison.genres]
              for key, pred in answered.items()}
    return grouped_bars(comparison.genres, series, "probability", reference=0.5)


def card_markdown(prediction: Prediction, name: str) -> str:
    """The text under a model's confidence bars: decisions, mode and latency, or why it did not answer."""
    if prediction.ok:
        predicted = ", ".join(prediction.predicted) or "none above threshold"
        lines = [f"**Predicts:** {predicted}",
                 f"<small>{prediction.mode} · {prediction.latency_ms:.0f} ms</small>"]
        if prediction.message:
            lines.append(f"<small>Note: {prediction.message}</small>")
        return "\n\n".join(lines)
    title = STATUS_TITLES.get(prediction.status, "Failed")
    if prediction.summary:  # one line: the reason and the command; the API keeps the whole message
        return f"**{title}:** {prediction.summary}." + (f" Fix: `{prediction.fix}`" if prediction.fix else "")
    return f"**{title}.** {prediction.message}"


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
