"""Evaluate models (trained heads and zero-shot) and baselines on the test split of a films CSV.

    python -m genre_models.evaluate --data ../shared/data/movies/movies.csv --models minilm --out docs/evaluation

Writes ``evaluation.md`` (thesis-style table + per-genre table), ``evaluation.json`` and
``per_genre_f1.png`` into ``--out``. All metrics are sklearn's. The split is the same
deterministic split by id that ``genre_models.train`` uses (same ``--split-seed``).
"""
from __future__ import annotations

import argparse
import json
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from . import hub
from .baselines import BASELINES, run_baseline
from .data import FilmDataset, load_dataset, split_dataset
from .encoders import WeightsUnavailableError
from .features import DEFAULT_CACHE, FeatureCache
from .metrics import multilabel_metrics, tune_thresholds
from .predictors import GenrePredictor, ModelPool
from .registry import UnknownModelError, list_models, resolve_lineup
from .training import predict_probabilities

INPUTS = {"plot": "films with a plot", "poster": "films with a poster", "both": "films with both"}
TABLE_COLUMNS = [("label_accuracy", "label acc."), ("hamming_loss", "Hamming"),
                 ("subset_accuracy", "subset acc."), ("micro_f1", "micro-F1"), ("macro_f1", "macro-F1"),
                 ("samples_f1", "samples-F1"), ("macro_ap", "macro AP")]


@dataclass
class Result:
    name: str
    mode: str
    subset: str  # key of INPUTS
    films: int
    thresholds: str  # where the thresholds come from
    metrics: dict

    def row(self) -> dict:
        return {"name": self.name, "mode": self.mode, "subset": self.subset, "films": self.films,
                "thresholds": self.thresholds, **self.metrics}


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m genre_models.evaluate", description=__doc__.split("\n")[0])
    p.add_argument("--data", required=True, help="films CSV (id,title,year,genres,plot,poster)")
    p.add_argument("--models", nargs="+", default=["minilm"], help=f"valid: {', '.join(list_models())}")
    p.add_argument("--modes", nargs="+", choices=["trained", "zero-shot"], default=["trained", "zero-shot"])
    p.add_argument("--baselines", nargs="*", choices=BASELINES, default=list(BASELINES))
    p.add_argument("--split-seed", type=int, default=0)
    p.add_argument("--val-frac", type=float, default=0.1)
    p.add_argument("--test-frac", type=float, default=0.1)
    p.add_argument("--out", default="runs/evaluation", help="folder for evaluation.md/.json/.png")
    p.add_argument("--cache-dir", default=str(DEFAULT_CACHE))
    p.add_argument("--num-workers", type=int, default=2)
    p.add_argument("--model-config", help="JSON file adding or re-pointing models")
    p.add_argument("--no-progress", action="store_true")
    return p


class Evaluator:
    """Scores models on one split, computing (cached) features once per model and split part."""

    def __init__(self, splits: dict[str, FilmDataset], cache: FeatureCache, num_workers: int, progress: bool):
        self.splits, self.cache = splits, cache
        self.kw = dict(num_workers=num_workers, progress=progress)
        self.genres = splits["test"].genres

    def _mask(self, subset: str, part: str) -> np.ndarray:
        frame = self.splits[part].frame
        plot, poster = frame["plot"].notna().to_numpy(), frame["poster"].notna().to_numpy()
        return {"plot": plot, "poster": poster, "both": plot & poster}[subset]

    def labels(self, subset: str, part: str) -> np.ndarray:
        return self.splits[part].labels()[self._mask(subset, part)]

    def features(self, predictor: GenrePredictor, part: str, trained: bool = False) -> tuple[np.ndarray, np.ndarray]:
        modality = "plot" if predictor.spec.needs_plot else "poster"
        return self.cache.features(predictor, self.splits[part], modality, trained=trained, **self.kw)

    def probabilities(self, predictor: GenrePredictor, mode: str, part: str, subset: str) -> np.ndarray:
        """Probabilities for the rows of ``subset`` in split ``part``."""
        rows = self._mask(subset, part)
        fusion = predictor.spec.family == "fusion"
        if fusion and mode != "trained":
            w = predictor.spec.image_weight
            return (w * self.probabilities(predictor.image, self.best_mode(predictor.image), part, subset)
                    + (1 - w) * self.probabilities(predictor.text, self.best_mode(predictor.text), part, subset))
        if fusion:
            x = np.concatenate([self.features(predictor.image, part)[0], self.features(predictor.text, part)[0]], 1)
        else:
            x, _ = self.features(predictor, part, trained=mode == "trained")
        if mode == "trained":
            index = [predictor.trained_genres.index(g) for g in self.genres]
            return predict_probabilities(predictor.checkpoint.head, x[rows])[:, index]
        with torch.inference_mode():
            return predictor.scorer.probabilities(torch.from_numpy(x[rows]), list(self.genres)).numpy()

    @staticmethod
    def best_mode(predictor: GenrePredictor) -> str:
        return "trained" if predictor.checkpoint is not None else "zero-shot"

    def evaluate(self, predictor: GenrePredictor, mode: str) -> Result:
        spec = predictor.spec
        subset = "both" if spec.family == "fusion" else "plot" if spec.needs_plot else "poster"
        y_test = self.labels(subset, "test")
        test = self.probabilities(predictor, mode, "test", subset)
        if mode == "trained":
            thresholds = np.array([predictor.checkpoint.thresholds[g] for g in self.genres])
            source = "checkpoint (tuned on val)"
        else:
            val = self.probabilities(predictor, mode, "val", subset)
            thresholds = tune_thresholds(self.labels(subset, "val"), val)
            source = "tuned on val"
        label = mode if spec.family != "fusion" or mode == "trained" else "late fusion"
        return Result(spec.name, label, subset, len(y_test), source,
                      multilabel_metrics(y_test, test, thresholds, self.genres))

    def baseline(self, name: str, subset: str) -> Result:
        texts = {part: self.splits[part].frame["plot"].fillna("").to_numpy()[self._mask(subset, part)].tolist()
                 for part in ("train", "val", "test")}
        y = {part: self.labels(subset, part) for part in ("train", "val", "test")}
        probs, thresholds = run_baseline(name, y["train"], y["val"], len(y["test"]), texts=texts)
        source = "0.5" if name == "all-negative" else "tuned on val"
        return Result(f"baseline: {name}", "baseline", subset, len(y["test"]), source,
                      multilabel_metrics(y["test"], probs, thresholds, self.genres))


def markdown(results: list[Result], command: str, data: dict, split_sizes: dict) -> str:
    lines = ["# Evaluation", "", f"Command: `{command}`", "",
             f"Data: `{data['file']}` ({data['rows']} films, sha256 {data['sha256']}); "
             "split by id: " + ", ".join(f"{k} {v}" for k, v in split_sizes.items()) + ".", "",
             "Label accuracy is the thesis's accuracy (1 − Hamming loss); it is dominated by negatives, "
             "so read it beside F1, average precision and the baselines on the same films.", ""]
    for subset in dict.fromkeys(r.subset for r in results):
        group = [r for r in results if r.subset == subset]
        lines += [f"## Test split, {INPUTS[subset]} ({group[0].films})", "",
                  "| model | mode | " + " | ".join(h for _, h in TABLE_COLUMNS) + " | thresholds |",
                  "|---|---|" + "---:|" * len(TABLE_COLUMNS) + "---|"]
        for r in group:
            lines.append(f"| {r.name} | {r.mode} | " + " | ".join(f"{r.metrics[k]:.4f}" for k, _ in TABLE_COLUMNS)
                         + f" | {r.thresholds} |")
        lines.append("")
    models = [r for r in results if r.mode != "baseline"]
    if models:
        genres = list(models[0].metrics["per_genre"])
        lines += ["## Per-genre F1 / AP (test)", "",
                  "| genre | support | " + " | ".join(f"{r.name} ({r.mode})" for r in models) + " |",
                  "|---|---:|" + "---:|" * len(models)]
        for g in genres:
            cells = []
            for r in models:
                pg = r.metrics["per_genre"][g]
                cells.append(f"{pg['f1']:.3f} / {pg['ap']:.3f}" if pg["ap"] is not None else f"{pg['f1']:.3f} / –")
            lines.append(f"| {g} | {models[0].metrics['per_genre'][g]['support']} | " + " | ".join(cells) + " |")
        lines += ["", "![per-genre F1](per_genre_f1.png)", ""]
    return "\n".join(lines)


def per_genre_chart(results: list[Result], path: Path) -> None:
    from .charts import grouped_bars
    shown = [r for r in results if r.mode != "baseline" or "tfidf" in r.name]
    if not shown:
        return
    genres = list(shown[0].metrics["per_genre"])
    series = {f"{r.name} ({r.mode})": [r.metrics["per_genre"][g]["f1"] for g in genres] for r in shown}
    grouped_bars(genres, series, "F1 (test)", title="Per-genre F1 on the test split").savefig(path, dpi=110)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        keys = resolve_lineup(args.models, args.model_config)
        dataset = load_dataset(args.data)
    except (UnknownModelError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for line in dataset.report.lines():
        print(f"  {line}")
    data = dataset.describe()  # hashes the CSV: once
    hub.ensure_hub_mode()
    splits = split_dataset(dataset, seed=args.split_seed, val=args.val_frac, test=args.test_frac)
    evaluator = Evaluator(splits, FeatureCache(args.cache_dir), args.num_workers, not args.no_progress)
    pool = ModelPool()
    results: list[Result] = []
    for key in keys:
        predictor = pool.get(key)
        try:
            predictor.load()
        except WeightsUnavailableError as exc:
            print(f"[{key}] skipped: {exc}", file=sys.stderr)
            continue
        for mode in args.modes:
            if mode == "trained" and predictor.checkpoint is None:
                print(f"[{key}] no trained head in {predictor.spec.checkpoint_dir()}; trained mode skipped")
                continue
            if mode == "zero-shot" and not predictor.spec.zero_shot:
                continue
            results.append(evaluator.evaluate(predictor, mode))
            _compare_with_checkpoint(predictor, mode, results[-1], data, args.split_seed)
    for subset in dict.fromkeys(r.subset for r in results):
        for name in args.baselines:
            results.append(evaluator.baseline(name, subset))
    if not results:
        print("error: no model could be evaluated", file=sys.stderr)
        return 1
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    command = "python -m genre_models.evaluate " + shlex.join(argv)
    sizes = {k: len(v) for k, v in splits.items()}
    (out / "evaluation.md").write_text(markdown(results, command, data, sizes))
    (out / "evaluation.json").write_text(json.dumps(
        {"command": command, "data": data, "split_seed": args.split_seed, "split_sizes": sizes,
         "results": [r.row() for r in results]}, indent=2))
    per_genre_chart(results, out / "per_genre_f1.png")
    print(f"{'model':<34} {'mode':<12} {'films':>5}  " + "  ".join(f"{h:>11}" for _, h in TABLE_COLUMNS))
    for r in results:
        print(f"{r.name:<34} {r.mode:<12} {r.films:>5}  "
              + "  ".join(f"{r.metrics[k]:>11.4f}" for k, _ in TABLE_COLUMNS))
    print(f"wrote {out / 'evaluation.md'}, evaluation.json, per_genre_f1.png")
    return 0


def _compare_with_checkpoint(predictor, mode, result: Result, data: dict, split_seed: int) -> None:
    """Say whether this run reproduces the test metrics recorded in the checkpoint."""
    if mode != "trained":
        return
    config = predictor.checkpoint.config
    recorded = config.get("metrics", {}).get("test", {}).get("micro_f1")
    trained_on = config.get("data", {})
    if recorded is None:
        return
    same = trained_on.get("sha256") == data["sha256"] and trained_on.get("split_seed") == split_seed
    note = "same data and split" if same else "different data or split: not comparable"
    print(f"[{predictor.key}] test micro-F1 {result.metrics['micro_f1']:.4f}; checkpoint records "
          f"{recorded:.4f} ({note})")


if __name__ == "__main__":
    sys.exit(main())
