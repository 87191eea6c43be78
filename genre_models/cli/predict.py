"""Compare models on one film from the command line.

    python -m genre_models.predict --poster poster.jpg --plot "A family moves into..." \\
        --models minilm clip-vit-b-16 bit-resnet50 [--genres Horror Comedy] [--json]

Prints a genre x model table (``*`` marks a predicted genre) and each model's status. Exits 0 when at
least one model answered, 1 when none did, 2 for a usage error (unknown model or genre).
"""
from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from ..data.inputs import read_film
from ..errors import GenreLensError
from ..files import atomic_open, write_text_atomic
from ..genres import parse_custom_genres, resolve_genres
from ..models import hub
from ..models.prediction import Prediction
from ..models.predictors import MODES, ModelPool
from . import configure_logging
from ..models.extra_models import ExtraModels, parse_extra_model
from .options import ExtraModelOptions, HeadsOptions, ModelsOptions, add_options, option, options_from


@dataclass
class PredictCommand:
    poster: str | None = option(None, help="poster image file")
    plot: str | None = option(None, exclusive="plot", help="plot text")
    plot_file: str | None = option(None, exclusive="plot", help="file holding the plot text")
    genres: list[str] | None = option(None, metavar="GENRE", help="canonical genres to score (default: all 18)")
    custom_genres: str | None = option(None, metavar="LIST",
                                       help='free-text genres for zero-shot models, e.g. "heist, space opera"')
    mode: str = option("auto", choices=list(MODES),
                       help="trained head, zero-shot, or auto (trained where it knows the genres)")
    threshold: float | None = option(None, help="one decision threshold for every genre")
    json: bool = option(False, help="print JSON instead of a table")
    explain: str | None = option(None, metavar="OUT_DIR", help=(
        "also explain each answering model's top genre (or --explain-genre): Grad-CAM PNGs for poster "
        "models, word scores (JSON) for plot models"))
    explain_genre: str | None = option(None, metavar="GENRE",
                                       help="the genre to explain (default: each model's top)")
    verbose: bool = option(False, help="log a model's failure with its Python traceback (by default: one line)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m genre_models predict", description=__doc__.split("\n")[0])
    add_options(parser, ModelsOptions)
    add_options(parser, HeadsOptions)
    add_options(parser, ExtraModelOptions)
    add_options(parser, PredictCommand)
    return parser


def write_explanations(pool: ModelPool, predictions: dict[str, Prediction], poster, plot: str | None,
                       out: Path, genre: str | None, mode: str) -> list[str]:
    """Explain every model that answered; returns one line per model (what was written, or why not)."""
    from ..explain import explain_plot, explain_poster
    out.mkdir(parents=True, exist_ok=True)
    lines = []
    for key, pred in predictions.items():
        if not pred.ok:
            continue
        try:
            predictor = pool.get(key)
            if predictor.spec.needs_poster and not predictor.spec.needs_plot:
                heat = explain_poster(predictor, poster, genre, mode)
                path = out / f"{key}-{heat.genre}.png"
                with atomic_open(path, "wb") as handle:  # whole or not at all (a full disk)
                    heat.overlay().save(handle, format="PNG")
                lines.append(f"[{key}] {heat.genre}: {path} ({heat.method}, layer {heat.layer}, {heat.seconds:.1f} s)")
            elif predictor.spec.needs_plot and not predictor.spec.needs_poster:
                words = explain_plot(predictor, plot, genre, mode)
                path = out / f"{key}-{words.genre}.json"
                write_text_atomic(path, json.dumps(words.to_dict(), indent=2, allow_nan=False))
                top = ", ".join(f"{w} {s:+.3f}" for w, s in words.top(3))
                lines.append(f"[{key}] {words.genre}: {path} (top words: {top}; {words.seconds:.1f} s)")
            else:
                lines.append(f"[{key}] not explained: explanations are per input (poster or plot models)")
        except GenreLensError as exc:
            lines.append(f"[{key}] not explained: {exc}")
    return lines


def format_table(predictions: dict[str, Prediction]) -> str:
    """Genre rows, model columns; probabilities with '*' where the model predicts the genre."""
    answered = {k: p for k, p in predictions.items() if p.ok}
    genres = list(dict.fromkeys(g for p in answered.values() for g in p.probabilities))
    width = max([len(g) for g in genres] + [5])
    cols = {k: max(len(k), 7) for k in answered}
    lines = []
    if answered:
        lines.append("genre".ljust(width) + "  " + "  ".join(k.rjust(cols[k]) for k in answered))
        for genre in genres:
            cells = []
            for key, pred in answered.items():
                value = pred.probabilities.get(genre)
                text = "-" if value is None else f"{value:.3f}" + ("*" if genre in pred.predicted else " ")
                cells.append(text.rjust(cols[key]))
            lines.append(genre.ljust(width) + "  " + "  ".join(cells))
        lines.append("")
    for key, pred in predictions.items():
        mode = f"{pred.mode} ({pred.method})" if pred.method else pred.mode  # ConSE says so, as on its card
        detail = f"{mode}, {pred.latency_ms:.0f} ms" if pred.ok else pred.status.value
        note = f" - {pred.message}" if pred.message else ""
        lines.append(f"[{key}] {detail}{note}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    configure_logging(args.verbose)
    try:
        options_from(args, HeadsOptions).apply()
        keys = options_from(args, ModelsOptions).keys()
        extra = [parse_extra_model(text).key for text in args.extra_model]  # a malformed id is a usage error
        if len(set(extra)) > 3:
            raise GenreLensError(f"at most 3 --extra-model, got {len(set(extra))}")
        genres = list(resolve_genres(args.genres)) if args.genres else []
        genres += [g for g in parse_custom_genres(args.custom_genres) if g not in genres]
        plot = args.plot
        if args.plot_file:
            # utf-8-sig: a byte-order mark (Notepad writes one) is not part of the plot
            with open(args.plot_file, encoding="utf-8-sig") as handle:
                plot = handle.read()
        # read and checked once, here, for every model; what the CLI cannot read is the user's error, said once
        film = read_film(args.poster, plot)  # no --poster: no poster, not a refusal
        for refusal in (film.poster_error, film.plot_error):
            if refusal is not None:
                raise refusal
    except (GenreLensError, OSError, UnicodeDecodeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if film.poster is None and film.plot is None:  # a plot of invisible characters only is no plot
        print("error: give --poster, --plot or both", file=sys.stderr)
        return 2
    hub.ensure_hub_mode()
    pool = ModelPool()
    predictions = pool.predict(keys, film=film, genres=genres or None, mode=args.mode, threshold=args.threshold)
    extras = ExtraModels(max_gb=args.max_extra_model_gb)
    added = extras.predict(extra, film=film, genres=genres or None, mode=args.mode, threshold=args.threshold)
    predictions.update({k: p for k, p in added.items() if k not in predictions})
    if args.json:
        # strict JSON: a NaN never reaches the output (predictors refuse non-finite probabilities)
        print(json.dumps({k: p.to_dict() for k, p in predictions.items()}, indent=2, allow_nan=False))
    else:
        print(format_table(predictions))
    if args.explain:
        lines = write_explanations(pool, predictions, film.poster, film.plot, Path(args.explain), args.explain_genre,
                                   args.mode)
        print("\n".join(lines), file=sys.stderr if args.json else sys.stdout)
    return 0 if any(p.ok for p in predictions.values()) else 1


if __name__ == "__main__":
    from . import run

    sys.exit(run(main))
