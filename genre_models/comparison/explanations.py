"""The app's "Explain" view: heatmaps for the poster models and word scores for the plot models, side by side."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

from PIL import Image

from ..data.inputs import PosterInput, clean_plot, load_poster
from ..errors import GenreLensError, InvalidInputError
from ..explain import PosterHeatmap, WordAttribution, explain_plot, explain_poster
from ..genres import parse_custom_genres
from ..models.predictors import ModelPool

TOP_GENRE = "each model's top genre"


@dataclass
class Explanations:
    heatmaps: dict[str, PosterHeatmap] = field(default_factory=dict)
    words: dict[str, WordAttribution] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)  # model -> why it was not explained

    def gallery(self, names: dict[str, str]) -> list[tuple[Image.Image, str]]:
        """(overlay, caption) per poster model, the caption saying genre, probability, method and layer."""
        return [(h.overlay(), f"{names.get(k, k)}: {h.genre} {h.probability:.0%} · Grad-CAM on {h.layer}"
                 + (" · random weights" if h.random_weights else "")) for k, h in self.heatmaps.items()]

    def word_caption(self, key: str, names: dict[str, str]) -> str:
        """The label over a plot model's highlighted words: genre, probability, method."""
        words = self.words[key]
        return (f"{names.get(key, key)}: {words.genre} {words.probability:.0%} · each word removed in turn"
                + (" · random weights" if words.random_weights else ""))

    def to_dict(self) -> dict:
        """The API payload: word scores, heatmaps as [H][W] lists (rounded), and what was skipped."""
        return {"words": {k: w.to_dict() for k, w in self.words.items()},
                "heatmaps": {k: {"genre": h.genre, "probability": h.probability, "mode": h.mode, "layer": h.layer,
                                 "method": h.method, "random_weights": h.random_weights, "seconds": h.seconds,
                                 "heatmap": [[round(float(v), 3) for v in row] for row in h.heatmap[::4, ::4]]}
                             for k, h in self.heatmaps.items()},
                "skipped": self.skipped}


def run_explanations(pool: ModelPool, keys: Sequence[str], poster: PosterInput, plot: str | None,
                     genre: str | None = None, mode: str = "auto") -> Explanations:
    """Explain each model on the film (poster models need the poster, plot models the plot); never raises."""
    result = Explanations()
    try:  # the request's own values, checked once: a genre is a name as on /compare (no markup, bounded)
        names = parse_custom_genres([genre]) if genre not in (None, TOP_GENRE) else ()
        genre = names[0] if names else None
        given_plot = clean_plot(plot).present
    except InvalidInputError as exc:
        result.skipped.update({key: str(exc) for key in keys})
        return result
    image = None
    if poster is not None:
        try:
            image = load_poster(poster)
        except GenreLensError as exc:
            result.skipped["poster"] = str(exc)
    composed = []
    for key in keys:
        try:
            predictor = pool.get(key)
            spec = predictor.spec
            if spec.needs_poster and not spec.needs_plot:
                if image is None:
                    result.skipped[key] = "needs a poster"
                    continue
                result.heatmaps[key] = explain_poster(predictor, image, genre, mode)
            elif spec.needs_plot and not spec.needs_poster:
                if not given_plot:
                    result.skipped[key] = "needs a plot"
                    continue
                result.words[key] = explain_plot(predictor, plot, genre, mode)
            else:
                composed.append(predictor)
        except GenreLensError as exc:
            result.skipped[key] = getattr(exc, "summary", "") or str(exc)
    for predictor in composed:  # once its parts are done: whether they were explained is known
        result.skipped[predictor.key] = _through_parts(predictor, result, image is not None, given_plot)
    return result


def _through_parts(predictor, result: Explanations, poster: bool, plot: bool) -> str:
    """Why a model made of others (fusion) has no explanation of its own, saying truthfully which of its
    parts this request explained and why the others were not (no weights, an input missing, not chosen)."""
    parts = predictor.parts.items() if isinstance(predictor.parts, dict) else ((None, p) for p in predictor.parts)
    done, missing = [], {}
    for role, part in parts:
        name = f"its {role} part {part.name}" if role else f"its part {part.name}"
        if part.key in result.heatmaps or part.key in result.words:
            done.append(name)
        else:
            missing[name] = result.skipped.get(part.key) or _why_not(part, poster, plot)
    if not missing:
        return "explained through its parts"
    if not done:
        return "its parts are not explained either: " + "; ".join(f"{n}: {why}" for n, why in missing.items())
    return (f"explained only through {' and '.join(done)}; "
            + "; ".join(f"{n} is not: {why}" for n, why in missing.items()))


def _why_not(part, poster: bool, plot: bool) -> str:
    """A part not among the models asked for: why it could not be explained, or that it was not chosen."""
    try:
        part.load()  # a part of a model in use; remembered, so a part without weights costs nothing more
    except GenreLensError as exc:
        return getattr(exc, "summary", "") or str(exc)
    if part.spec.needs_poster and not poster:
        return "needs a poster"
    if part.spec.needs_plot and not plot:
        return "needs a plot"
    return "not chosen"
