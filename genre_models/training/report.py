"""The results of an evaluation and their three renderings: Markdown (``evaluation.md``), JSON
(``evaluation.json``, which reads back) and a per-genre F1 chart (``per_genre_f1.png``)."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from ..files import write_text_atomic

INPUTS = {"plot": "films with a plot", "poster": "films with a poster", "both": "films with both"}
TABLE_COLUMNS = [("label_accuracy", "label acc."), ("hamming_loss", "Hamming"),
                 ("subset_accuracy", "subset acc."), ("micro_f1", "micro-F1"), ("macro_f1", "macro-F1"),
                 ("samples_f1", "samples-F1"), ("macro_ap", "macro AP")]
SOURCE_COLUMNS = [("films", "films"), ("micro_f1", "micro-F1"), ("macro_f1", "macro-F1"),
                  ("macro_ap", "macro AP"), ("label_accuracy", "label acc.")]



@dataclass
class Result:
    name: str
    mode: str
    subset: str  # key of INPUTS
    films: int
    thresholds: str  # where the thresholds come from
    metrics: dict
    by_source: dict = field(default_factory=dict)  # source file -> films and summary metrics (pools only)

    @property
    def label(self) -> str:
        """Name and mode in one bracket: "MiniLM (plot, trained)", never "MiniLM (plot) (trained)"."""
        if self.name.endswith(")"):
            return f"{self.name[:-1]}, {self.mode})"
        return f"{self.name} ({self.mode})"

    def same_answers(self, other: "Result") -> bool:
        """Every test metric equal: the two rows scored the same decisions (one recipe run twice)."""
        return self.subset == other.subset and all(self.metrics[k] == other.metrics[k] for k, _ in TABLE_COLUMNS)

    def row(self) -> dict:
        return {"name": self.name, "mode": self.mode, "subset": self.subset, "films": self.films,
                "thresholds": self.thresholds, **self.metrics, "by_source": self.by_source}

    @classmethod
    def from_row(cls, row: dict) -> "Result":
        """The inverse of ``row`` (``evaluation.json`` holds rows)."""
        fields = {"name", "mode", "subset", "films", "thresholds", "by_source"}
        return cls(row["name"], row["mode"], row["subset"], row["films"], row["thresholds"],
                   {k: v for k, v in row.items() if k not in fields}, row.get("by_source", {}))


@dataclass
class Report:
    """Everything ``evaluate`` measured, with what it ran on."""

    results: list[Result]
    data: dict
    split_seed: int
    split_sizes: dict[str, int]
    command: str = ""
    notes: list[str] = field(default_factory=list)

    def markdown(self) -> str:
        lines = ["# Evaluation", "", f"Command: `{self.command}`", "",
                 f"Data: `{self.data['file']}` ({self.data['rows']} films, sha256 {self.data['sha256']}); "
                 "split by id: " + ", ".join(f"{k} {v}" for k, v in self.split_sizes.items()) + ".", "",
                 "Every model row is scored through the app's own predictor, at the thresholds the app uses "
                 "in that mode. Label accuracy is the thesis's accuracy (1 − Hamming loss); it is dominated "
                 "by negatives, so read it beside F1, average precision and the baselines on the same films.", ""]
        for subset in dict.fromkeys(r.subset for r in self.results):
            group = [r for r in self.results if r.subset == subset]
            lines += [f"## Test split, {INPUTS[subset]} ({group[0].films})", "",
                      "| model | mode | " + " | ".join(h for _, h in TABLE_COLUMNS) + " | thresholds |",
                      "|---|---|" + "---:|" * len(TABLE_COLUMNS) + "---|"]
            for r in self._distinct(group):
                lines.append(f"| {r.name} | {r.mode} | "
                             + " | ".join(f"{r.metrics[k]:.4f}" for k, _ in TABLE_COLUMNS) + f" | {r.thresholds} |")
            lines.append("")
            lines += [f"- {r.name} gives exactly the answers of {twin.name} (the same recipe): one row for both."
                      for r, twin in self._twins(group)]
            if any(r.name == "baseline: label-prior" for r in group):
                lines.append("- baseline: label-prior gives every film the same score per genre (its training "
                             "frequency), so a threshold tuned for F1 can only predict a genre for every film or "
                             "for none; every film then gets nearly every genre, which F1 rewards a little and "
                             "label accuracy, mostly negatives, punishes: hence its label accuracy near the "
                             "share of positive labels.")
            lines.append("")
        lines += self._source_lines()
        models = [r for r in self.results if r.mode != "baseline"]
        if models:
            genres = list(models[0].metrics["per_genre"])
            lines += ["## Per-genre F1 / AP (test)", "",
                      "| genre | support | " + " | ".join(r.label for r in models) + " |",
                      "|---|---:|" + "---:|" * len(models)]
            for g in genres:
                cells = []
                for r in models:
                    pg = r.metrics["per_genre"][g]
                    cells.append(f"{pg['f1']:.3f} / {pg['ap']:.3f}" if pg["ap"] is not None else f"{pg['f1']:.3f} / –")
                lines.append(f"| {g} | {models[0].metrics['per_genre'][g]['support']} | " + " | ".join(cells) + " |")
            lines += ["", "![per-genre F1](per_genre_f1.png)", ""]
        return "\n".join(lines)

    def _source_lines(self) -> list[str]:
        """Each source's films scored apart (models and baselines trained on the whole pool)."""
        pooled = [r for r in self.results if r.by_source]
        if not pooled:
            return []
        lines = ["## Test split by source file", "",
                 "The same answers as above, scored on each file's films apart; a film's split depends on "
                 "its id alone, so a file's rows here are its own test split whatever else is in the pool.", "",
                 "| model | mode | source | " + " | ".join(h for _, h in SOURCE_COLUMNS) + " |",
                 "|---|---|---|" + "---:|" * len(SOURCE_COLUMNS)]
        for r in self._distinct(pooled):
            for source, m in r.by_source.items():
                lines.append(f"| {r.name} | {r.mode} | {source} | {m['films']} | "
                             + " | ".join(f"{m[k]:.4f}" for k, _ in SOURCE_COLUMNS[1:]) + " |")
        return lines + [""]

    def _twins(self, group: list[Result]) -> list[tuple[Result, Result]]:
        """(row, the earlier row with exactly its answers) for each row that repeats another."""
        return [(r, next(o for o in group[:i] if o.same_answers(r))) for i, r in enumerate(group)
                if any(o.same_answers(r) for o in group[:i])]

    def _distinct(self, group: list[Result]) -> list[Result]:
        """The rows of ``group`` without those repeating an earlier one's answers."""
        repeats = {id(r) for r, _ in self._twins(group)}
        return [r for r in group if id(r) not in repeats]

    @classmethod
    def from_json(cls, path: str | Path) -> "Report":
        """A report read back from its ``evaluation.json`` (to render it again, numbers unchanged)."""
        saved = json.loads(Path(path).read_text())
        return cls([Result.from_row(r) for r in saved["results"]], saved["data"], saved["split_seed"],
                   saved["split_sizes"], saved.get("command", ""))

    def write(self, out: str | Path) -> Path:
        """``evaluation.md``, ``evaluation.json`` and ``per_genre_f1.png`` into ``out``."""
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        write_text_atomic(out / "evaluation.md", self.markdown())  # whole or not at all (a full disk)
        write_text_atomic(out / "evaluation.json", json.dumps(
            {"command": self.command, "data": self.data, "split_seed": self.split_seed,
             "split_sizes": self.split_sizes, "results": [r.row() for r in self.results]}, indent=2))
        self.per_genre_chart(out / "per_genre_f1.png")
        return out

    def _per_genre_rows(self) -> list[Result]:
        return self._distinct([r for r in self.results if r.mode != "baseline" or "tfidf" in r.name])

    def per_genre_f1_series(self) -> dict[str, dict[str, float]]:
        """Each distinct model row's (and the TF-IDF baseline's) test F1 per genre, keyed by its label."""
        return {r.label: {g: v["f1"] for g, v in r.metrics["per_genre"].items()} for r in self._per_genre_rows()}

    def per_genre_colours(self) -> list[str]:
        """The colour of each of :meth:`per_genre_f1_series`' series: its model's own, as on the app's other
        tabs (``models/lineup.py``; a row names its model by display name), grey for a baseline."""
        from ..colours import BASELINE_COLOUR
        from ..models.lineup import model_colour
        from ..models.registry import get_model_spec, list_models
        keys = {get_model_spec(k).name: k for k in reversed(list_models())}  # the first key of a name wins
        return [BASELINE_COLOUR if r.mode == "baseline" else model_colour(keys.get(r.name, r.name))
                for r in self._per_genre_rows()]

    def per_genre_chart(self, path: Path) -> None:
        from ..charts import grouped_bars
        series = self.per_genre_f1_series()
        if not series:
            return
        genres = list(next(iter(series.values())))
        grouped_bars(genres, {k: list(v.values()) for k, v in series.items()}, "F1 (test)",
                     title="Per-genre F1 on the test split", colours=self.per_genre_colours()).savefig(path, dpi=110)
