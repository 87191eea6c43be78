"""Reproduce the thesis in one run: features, heads, fusion, evaluation with baselines, one table.

Every stage goes through the same code as ``train`` and ``evaluate`` (and so the app): features from
each model's own backbone through the on-disk cache (resumable: a rerun computes only what is
missing), a head per model trained and written as a checkpoint under ``OUT/<key>/``, the
fusion head on top, then every model scored on the test split in each mode it answers in, with the
trivial baselines on the same films. The table puts the thesis's own figures beside ours, labelled
as the thesis's; time per stage and per model is recorded with it.
"""
from __future__ import annotations

import json
import platform
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import torch

from ..data.films import FilmDataset
from ..errors import GenreLensError
from ..files import write_text_atomic
from ..models.checkpoint import has_config, read_config
from ..models.predictors import TRAINED, ZERO_SHOT, ModelPool, create_predictor
from ..models.registry import get_model_spec, register_model, with_checkpoint
from .evaluate import evaluate_models
from .feature_cache import FeatureCache
from .parallel import cache_options
from .report import Report
from .train import FAMILY_TRAINERS, TrainOptions, train_model

# What the thesis reported on its own IMDb/OMDb data (not measured here): label accuracy is
# 1 - Hamming loss. It reported the plot model as adding about 5 points over the poster alone.
THESIS_FIGURES = {
    "clip-vit-l-14": {"label_accuracy": 0.832, "hamming_loss": 0.1679},
    "bit-resnet50": {"label_accuracy": 0.778},
}
THESIS_FUSION_NOTE = "≈ +5 points over the poster alone"
TABLE = (("label_accuracy", "label acc."), ("hamming_loss", "Hamming loss"), ("micro_f1", "micro-F1"),
         ("macro_f1", "macro-F1"), ("macro_ap", "mAP"))


@dataclass
class StageTime:
    stage: str
    model: str
    seconds: float
    items: int = 0  # films encoded (features) or heads trained

    def row(self) -> dict:
        return {"stage": self.stage, "model": self.model, "seconds": round(self.seconds, 2), "items": self.items,
                "ms_per_item": round(1000 * self.seconds / self.items, 1) if self.items else None}


@dataclass
class Reproduction:
    report: Report
    times: list[StageTime]
    skipped: dict[str, str] = field(default_factory=dict)
    machine: str = ""
    trained: list[str] = field(default_factory=list)  # keys with a folder under OUT
    out: Path = Path(".")

    def thesis_table(self) -> str:
        """Label accuracy and Hamming loss as the thesis reports them, with F1 and mAP beside them."""
        lines = ["| model | mode | inputs | films | " + " | ".join(h for _, h in TABLE) + " | thesis reported |",
                 "|---|---|---|---:|" + "---:|" * len(TABLE) + "---|"]
        shown = set()
        for r in self.report.results:
            values = (r.name, r.films, *(round(r.metrics[k], 6) for k, _ in TABLE))
            if r.mode == "baseline" and values in shown:
                continue  # the same baseline on the same films, once (--subset both gives one test set)
            shown.add(values)
            key = next((k for k, v in _names().items() if v == r.name), "")
            # the thesis trained heads on its features: its figures belong beside our trained rows only
            thesis = THESIS_FIGURES.get(key) if r.mode == TRAINED else None
            if thesis:
                said = ", ".join(f"{h} {thesis[k]:.4g}" for k, h in TABLE if k in thesis)
            elif key == "fusion" and r.mode == TRAINED:
                said = THESIS_FUSION_NOTE
            else:
                said = ""
            lines.append(f"| {r.name} | {r.mode} | {r.subset} | {r.films} | "
                         + " | ".join(f"{r.metrics[k]:.4f}" for k, _ in TABLE) + f" | {said} |")
        return "\n".join(lines)

    def times_table(self) -> str:
        lines = ["| stage | model | seconds | items | ms per item |", "|---|---|---:|---:|---:|"]
        for t in self.times:
            row = t.row()
            lines.append(f"| {row['stage']} | {row['model']} | {row['seconds']:.1f} | {row['items']} | "
                         f"{row['ms_per_item'] if row['ms_per_item'] is not None else ''} |")
        return "\n".join(lines)

    def markdown(self) -> str:
        data = self.report.data
        parts = ["# Thesis reproduction", "", f"Command: `{self.report.command}`", "",
                 f"Data: `{data['file']}` ({data['rows']} films used, sha256 {data['sha256']}); split by id: "
                 + ", ".join(f"{k} {v}" for k, v in self.report.split_sizes.items()) + f". Machine: {self.machine}.",
                 "", "The last column holds the thesis's own figures, on its own data: they are not measured "
                 "here. Label accuracy is dominated by negatives; read it beside F1, mAP and the baselines.", "",
                 "## Test split", "", self.thesis_table(), "", "## Time per stage", "", self.times_table(), ""]
        if self.skipped:
            parts += ["## Not run", ""] + [f"- {k}: {why}" for k, why in self.skipped.items()] + [""]
        if self.report.notes:
            parts += ["## Notes", ""] + [f"- {n}" for n in self.report.notes if n] + [""]
        return "\n".join(parts)

    def model_card(self, key: str) -> str:
        """``OUT/<key>/README.md``: what the trained model is, its test rows beside the baselines, the command."""
        spec = get_model_spec(key)
        config = read_config(heads_folder(self.out, key))
        rows = [r for r in self.report.results if r.name == spec.name or r.mode == "baseline"]
        table = ["| model | mode | inputs | films | " + " | ".join(h for _, h in TABLE) + " |",
                 "|---|---|---|---:|" + "---:|" * len(TABLE)]
        table += [f"| {r.name} | {r.mode} | {r.subset} | {r.films} | "
                  + " | ".join(f"{r.metrics[k]:.4f}" for k, _ in TABLE) + " |" for r in rows]
        data = self.report.data
        backbone = ", ".join(f"{k} `{v}`" for k, v in config.get("backbone", {}).items() if k != "family" and v)
        return "\n".join([
            "---", "library_name: genrelens", "tags: [genrelens, movie-genres, multi-label]", "---", "",
            f"# {spec.name}: trained for GenreLens", "",
            f"`{key}` of GenreLens ({spec.family} family). " + (spec.description or "")
            + (f" Backbone: {backbone}." if backbone else ""), "",
            f"Genres ({len(config.get('genres', []))}): {', '.join(config.get('genres', []))}; a threshold each, "
            "tuned on the validation split (`config.json`).", "",
            "## Test split", "", *table, "",
            "Label accuracy is dominated by negatives: read it beside F1, mAP and the baselines.", "",
            "## How it was made", "", f"Command: `{self.report.command}`", "",
            f"Data: `{data['file']}` ({data['rows']} films, sha256 {data['sha256']}); split by id: "
            + ", ".join(f"{k} {v}" for k, v in self.report.split_sizes.items()) + f". Machine: {self.machine}.", "",
            "## Use", "", "Upload the folder that holds this one, then point GenreLens at it:", "",
            "```bash", "hf upload OWNER/REPO " + str(self.out), "GENRELENS_HEADS=OWNER/REPO python app.py   "
            "# or --heads OWNER/REPO on the app and the CLIs", "```", ""])

    def write(self, out: Path) -> Path:
        out.mkdir(parents=True, exist_ok=True)
        self.out = out
        self.report.write(out / "evaluation")
        for key in self.trained:
            write_text_atomic(heads_folder(out, key) / "README.md", self.model_card(key))
        write_text_atomic(out / "reproduce.md", self.markdown())
        write_text_atomic(out / "reproduce.json", json.dumps(
            {"command": self.report.command, "machine": self.machine, "data": self.report.data,
             "split_sizes": self.report.split_sizes, "times": [t.row() for t in self.times],
             "skipped": self.skipped, "results": [r.row() for r in self.report.results],
             "thesis_figures": THESIS_FIGURES}, indent=2))
        return out / "reproduce.md"


def heads_folder(out: Path, key: str) -> Path:
    """Where ``reproduce`` writes model ``key``: ``OUT/<key>/``, the layout a heads repo has
    (``hf upload OWNER/REPO OUT`` publishes it as is; ``GENRELENS_HEADS=OWNER/REPO`` reads it)."""
    return Path(out) / key


# families built from other models: trained after them, with their parts added to the run
COMPOSED = ("fusion", "ensemble")


def _parts(spec) -> list[str]:
    if spec.family == "ensemble":
        return list(spec.settings.members)
    return [spec.settings.image_model, spec.settings.text_model]


def _with_parts(specs: list) -> list:
    """The models asked for, each composed model's parts added before it (it reads their features or answers)."""
    keys = list(dict.fromkeys(k for s in specs for k in ([*_parts(s), s.key] if s.family in COMPOSED else [s.key])))
    return [get_model_spec(k) for k in keys]


def _training_stage(spec, result) -> tuple[str, int]:
    """The times table's name for what training ``spec`` did, and how many models it fitted."""
    if spec.family == "ensemble":
        return "fit blend", 1
    if result.head is None:
        return "train", 1
    heads = len(result.grid_rows) if isinstance(result.grid_rows, list) else 1
    return "train head" + (" (grid)" if heads > 1 else ""), heads


def _names() -> dict[str, str]:
    from ..models.registry import list_models
    return {k: get_model_spec(k).name for k in list_models()}


def machine_summary() -> str:
    device = torch.cuda.get_device_name(0) if torch.cuda.is_available() else f"CPU, {torch.get_num_threads()} threads"
    return f"{platform.machine()} {device}, torch {torch.__version__}"


def reproduce(dataset: FilmDataset, keys: Sequence[str], out: str | Path, options: TrainOptions,
              command: str = "", log: Callable[[str], None] = print) -> Reproduction:
    """Run every stage for ``keys`` (backbones first, fusion and ensembles last) and write ``out/reproduce.md``.

    Each model's checkpoint goes to ``out/<key>`` with a model card; while this runs (and after, in this
    process) the registry points the models there, so evaluation and fusion read the new heads. A
    model whose weights are missing is reported and skipped; the others go on.
    """
    out = Path(out)
    cache = FeatureCache(options.cache_dir)
    pool = ModelPool()
    times: list[StageTime] = []
    skipped: dict[str, str] = {}
    feature_options = cache_options(options)
    specs = _with_parts([get_model_spec(k) for k in keys])
    backbones = [s for s in specs if s.family not in COMPOSED]
    composed = [s for s in specs if s.family in COMPOSED]
    for spec in specs:  # evaluation and composed models read the heads this run writes
        register_model(with_checkpoint(spec, heads_folder(out, spec.key)), overwrite=True)

    for spec in backbones:
        if spec.family in FAMILY_TRAINERS:  # no backbone features (TF-IDF): trained from the text below
            continue
        predictor = create_predictor(with_checkpoint(spec, None), pool)
        started = time.perf_counter()
        try:
            predictor.load()
        except GenreLensError as exc:
            skipped[spec.key] = str(exc)
            log(f"[{spec.key}] skipped: {exc}")
            continue
        times.append(StageTime("load backbone", spec.key, time.perf_counter() - started, 1))
        started = time.perf_counter()
        computed = 0
        for request in predictor.head_feature_requests():
            cache.features(request, dataset, **feature_options)
            computed += cache.computed
        times.append(StageTime("features", spec.key, time.perf_counter() - started, computed))
        log(f"[{spec.key}] features: {computed} films encoded in {times[-1].seconds:.1f} s "
            f"(the rest were cached)")

    for spec in [s for s in backbones if s.key not in skipped] + composed:
        if spec.family in COMPOSED:
            missing = [p for p in _parts(spec) if p in skipped]
            if missing:
                skipped[spec.key] = f"its part(s) {', '.join(missing)} did not run"
                continue
        started = time.perf_counter()
        try:
            result = train_model(spec.key, dataset, heads_folder(out, spec.key), options, command=command,
                                 pool=pool, log=lambda line, key=spec.key: log(f"[{key}] {line}"))
        except GenreLensError as exc:
            skipped[spec.key] = str(exc)
            log(f"[{spec.key}] not trained: {exc}")
            continue
        stage, fitted = _training_stage(spec, result)
        times.append(StageTime(stage, spec.key, time.perf_counter() - started, fitted))

    started = time.perf_counter()
    evaluated = [s.key for s in specs if s.key not in skipped]
    report = evaluate_models(dataset, evaluated, modes=(TRAINED, ZERO_SHOT), split_seed=options.split_seed,
                             val_frac=options.val_frac, test_frac=options.test_frac, cache=cache,
                             pool=ModelPool(), num_workers=options.num_workers, progress=options.progress,
                             command=command, log=log)
    times.append(StageTime("evaluate (+ baselines)", "all", time.perf_counter() - started, len(evaluated)))
    reproduction = Reproduction(report, times, skipped, machine_summary(),
                                [s.key for s in specs if s.key not in skipped and has_config(heads_folder(out, s.key))])
    path = reproduction.write(out)
    log(f"wrote {path}")
    return reproduction
