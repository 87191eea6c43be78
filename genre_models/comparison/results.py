"""What the app's Results tab shows: evaluation reports and shipped checkpoints, read from files only."""
from __future__ import annotations

from pathlib import Path

from ..commands import command
from ..models.checkpoint import CONFIG_NAME, has_config, read_config
from ..models.registry import CHECKPOINTS_DIR, PROJECT_ROOT, get_model_spec

EVALUATION_DIR = PROJECT_ROOT / "docs" / "evaluation"


def checkpoints_markdown(root: Path = CHECKPOINTS_DIR) -> str:
    """A table of the trained heads in ``checkpoints/`` with the test metrics their configs record."""
    rows, commands = [], []
    for config_path in sorted(root.glob(f"*/{CONFIG_NAME}")):
        try:
            config = read_config(config_path.parent)  # NaN or a mistyped number: the row is left out
            test = config["metrics"]["test"]
        except (OSError, ValueError, KeyError):
            continue
        training = config.get("training", {})
        rows.append(f"| {config_path.parent.name} | {test['label_accuracy']:.4f} | {test['micro_f1']:.4f} | "
                    f"{test['macro_f1']:.4f} | {test['macro_ap']:.4f} | "
                    f"{config.get('data', {}).get('test_rows', '?')} |")
        commands.append(f"# {config_path.parent.name}\n{training.get('command', '?')}")
    if not rows:
        return f"_No trained checkpoints with recorded metrics in `{root.name}/`._"
    # commands under the table, not in it: a long command in a cell squeezes the numbers into broken words
    return "\n".join(["| checkpoint | label acc. | micro-F1 | macro-F1 | macro AP | test films |",
                      "|---|---:|---:|---:|---:|---:|", *rows, "", "The commands that trained them:", "",
                      "```bash", *commands, "```"])


def _shown(path: Path) -> str:
    return str(path.relative_to(PROJECT_ROOT) if path.is_relative_to(PROJECT_ROOT) else path)


def lineup_markdown(keys: list[str]) -> str:
    """Which way each model answers on this page: a trained head (local, or from a heads repo) or
    zero-shot (ConSE for a CNN, through its ImageNet class names), read from the specs and files only."""
    rows = []
    for key in keys:
        spec = get_model_spec(key)
        local, source = spec.checkpoint_dir(), spec.hub_folder()
        label_set = getattr(spec.settings, "conse_label_set", lambda: None)()
        if not spec.zero_shot:
            fallback = "nothing until a head is trained"
        elif label_set:
            fallback = f"zero-shot (ConSE, through its {label_set if isinstance(label_set, str) else 'own'} class names)"
        else:
            fallback = "zero-shot"
        if has_config(local):
            head = f"`{_shown(local)}`"
        elif source is not None:
            head = f"`{source}`, when the repo has it"
        else:
            head = "none"
        rows.append(f"| {spec.name} | {head} | {fallback} |")
    return "\n".join(["| model | trained head (answers in auto mode) | without one |", "|---|---|---|", *rows,
                      "", "Each card says which it used: \"trained\" or \"zero-shot\" (with the method when it "
                      "is not the model's own text side)."])


def evaluation_report(folder: Path = EVALUATION_DIR) -> tuple[str, Path | None]:
    """(markdown, chart path or None) of the committed evaluation; a note when there is none."""
    report = folder / "evaluation.md"
    if not report.is_file():
        return (f"_No evaluation report in `{folder.relative_to(PROJECT_ROOT) if folder.is_relative_to(PROJECT_ROOT) else folder}`. "
                f"Create one with `{command('evaluate', '--data', 'movies.csv', '--out', 'docs/evaluation')}`._", None)
    text = report.read_text()
    # the chart is shown by the page itself, not as a relative link it cannot resolve
    text = "\n".join(line for line in text.splitlines() if not line.startswith("![per-genre F1]"))
    chart = folder / "per_genre_f1.png"
    return text, chart if chart.is_file() else None


def per_genre_f1_narrow(folder: Path = EVALUATION_DIR):
    """The report's per-genre F1 chart redrawn for a phone's width (from ``evaluation.json``), or None."""
    from ..charts import grouped_barh_narrow
    from ..training.report import Report
    saved = folder / "evaluation.json"
    if not saved.is_file():
        return None
    report = Report.from_json(saved)
    series = report.per_genre_f1_series()
    if not series:
        return None
    genres = list(next(iter(series.values())))
    return grouped_barh_narrow(genres, {k: list(v.values()) for k, v in series.items()}, "F1 (test)",
                               title="Per-genre F1 on the test split", colours=report.per_genre_colours())
