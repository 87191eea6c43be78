"""Write a checkpoint's model card (``README.md`` in its folder) from its ``config.json`` and an
``evaluate`` report, so every figure in the card comes from those two files.

    python tools/model_card.py checkpoints/minilm docs/evaluation/evaluation.json \
        --sweeps docs/evaluation/sweeps/*.json
"""
from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path

COLUMNS = [("micro_f1", "micro-F1"), ("macro_f1", "macro-F1"), ("macro_ap", "macro AP"),
           ("samples_f1", "samples-F1"), ("label_accuracy", "label acc."), ("hamming_loss", "Hamming")]

SHARED_LIMITS = """\
- Thresholds are tuned per genre on the validation split of this pool; a very different source (other
  eras, other sites' summaries, other languages) shifts the probabilities and may need its own tuning.
- Rare genres (Western, Documentary, War, Music) have few examples; their F1 varies most.
- The data comes from public GitHub copies of TMDB dumps with no stated licence: research use."""
GENRE_LIMIT = """18 genres, those of `genre_models/genres.py`{other}. Labels are TMDB's,
  mapped to those 18 (see `../shared/data/movies/README.md`): "TV Movie" and "Foreign" are dropped."""
STYLE_LIMIT = "English plot summaries in the style of TMDB overviews (a few sentences, median about 60 tokens)."
LIMITS = f"""\
- {STYLE_LIMIT} Text
  past 128 tokens is cut (the card says "truncated"); a long synopsis is judged on its opening only.
- {GENRE_LIMIT.format(other="; anything else is zero-shot only")}
{SHARED_LIMITS}"""
LIMITS_TFIDF = f"""\
- {STYLE_LIMIT} It reads
  every word, but knows only its vocabulary's terms: words and word pairs seen in at least two training plots.
- {GENRE_LIMIT.format(other=" and no others (no zero-shot mode)")}
{SHARED_LIMITS}"""
LIMITS_ENSEMBLE = f"""\
- {STYLE_LIMIT} MiniLM
  reads the first 128 tokens, TF-IDF every word: the end of a long synopsis moves only the TF-IDF part.
- {GENRE_LIMIT.format(other=" and no others (no zero-shot mode: use `minilm` for custom genres)")}
{SHARED_LIMITS}"""


def _token_limit(key: str) -> str:
    """The model's own token limit (what fine-tuning used when no --max-length was given)."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from genre_models.models.registry import get_model_spec
    limit = getattr(get_model_spec(key).settings, "max_length", None)
    return f"{limit} (the model's)" if limit else "the model's"


def _table(rows: list[dict], first: str) -> list[str]:
    lines = [f"| {first} | films | " + " | ".join(h for _, h in COLUMNS) + " |",
             "|---|---:|" + "---:|" * len(COLUMNS)]
    for row in rows:
        lines.append(f"| {row['label']} | {row['films']} | " + " | ".join(f"{row[k]:.4f}" for k, _ in COLUMNS) + " |")
    return lines


def _head_sections(config: dict, machine: str) -> list[str]:
    """What a backbone + head checkpoint is and how it was trained."""
    training, data = config["training"], config["data"]
    settings = training.get("finetune_settings", {})
    head = config["head"]
    backbone = config["backbone"].get("arch") or config["backbone"].get("source") or config["model_key"]
    lines = ["## What it is", "",
             f"`{backbone}` ({config['backbone'].get('family', '')}) with "
             + ("an MLP head" if head["kind"] == "mlp" else f"a {head['kind']} head")
             + (f" ({head['hidden']} hidden units)" if head.get("hidden") else "")
             + (", fine-tuned end to end (the word-embedding table stays frozen, so `backbone.safetensors` "
                "holds only the transformer layers, fp16)" if config.get("finetuned_backbone") else
                ", the backbone frozen")
             + "; one independent probability per genre (sigmoid), decided at per-genre thresholds tuned on "
             "the validation split.", ""]
    lines += _data_lines(data)
    lines += ["## Training", "", f"```\n{training['command']}\n```", "",
              (f"Fine-tuning: {settings['epochs']} epochs, backbone lr {settings['backbone_lr']} (layer decay "
               f"{settings['layer_decay']}), loss {settings['loss']}, token limit "
               f"{settings['max_length'] or _token_limit(config['model_key'])}; best " if settings else "Best ")
              + f"epoch {training['best_epoch']} by validation micro-F1. It took "
              f"{training['seconds'] / 60:.0f} minutes, features and test scoring included"
              f"{'; ' + machine if machine else ''}.", ""]
    history = training.get("grid", {}).get("finetune", []) if isinstance(training.get("grid"), dict) else []
    if history:
        lines += ["| epoch | train loss | val micro-F1 | val macro AP |", "|---:|---:|---:|---:|"]
        lines += [f"| {h['epoch']} | {h['train_loss']:.4f} | {h['val_micro_f1']:.4f} | {h['val_macro_ap']:.4f} |"
                  for h in history]
        lines.append("")
    return lines


def _tfidf_sections(config: dict, machine: str) -> list[str]:
    """What the TF-IDF + logistic regression model is and how it was trained."""
    vectorizer, training = config["vectorizer"], config["training"]
    lines = ["## What it is", "",
             f"TF-IDF of the plot (word n-grams {tuple(vectorizer['ngram_range'])}, sublinear term frequency, "
             f"{vectorizer['stop_words']} stop words dropped, terms in at least {vectorizer['min_df']} training "
             f"plots: {config['vocabulary_size']} terms) and one logistic regression per genre (C "
             f"{config['C']:g}), decided at per-genre thresholds tuned on the validation split. It is the "
             "`tfidf-logreg` baseline of every evaluation, saved as safetensors + JSON (`genre_models/models/"
             "tfidf.py`).", ""]
    lines += _data_lines(config["data"])
    return lines + ["## Training", "", f"```\n{training['command']}\n```", "",
                    f"Fitting and tuning the thresholds took {training['seconds']:.0f} s{'; ' + machine if machine else ''}.",
                    ""]


def _ensemble_sections(config: dict, machine: str) -> list[str]:
    """What an ensemble's blend is and how its weights were chosen."""
    training = config["training"]
    members = ", ".join(f"`{k}` {w:g}" for k, w in zip(config["members"], config["weights"]))
    lines = ["## What it is", "",
             f"An ensemble of {', '.join(f'`{k}`' for k in config['members'])}: each member answers with its own "
             f"trained model, and the ensemble averages their logits with weights {members} "
             "(`p = sigmoid(Σ w·logit(p_member))`), decided at per-genre thresholds tuned on the blend on the "
             "validation split. The member checkpoints are the ones in their own folders (their digests are "
             "recorded: a retrained member makes this blend refuse to load until it is fitted again).", ""]
    lines += _data_lines(config["data"])
    lines += ["## Fitting the blend", "", f"```\n{training['command']}\n```", "",
              f"Every weighting in steps of 0.05 was scored on the validation split ({training['selected_by']}); "
              f"it took {training['seconds']:.0f} s with the members' features cached"
              f"{'; ' + machine if machine else ''}. Every other step:", "",
              "| weights | val micro-F1 | val macro AP |", "|---|---:|---:|"]
    for row in training["grid"][::2]:
        chosen = " (chosen)" if row["weights"] == config["weights"] else ""
        lines.append(f"| {' / '.join(f'{w:g}' for w in row['weights'])}{chosen} | {row['val_micro_f1']:.4f} | "
                     f"{row['val_macro_ap']:.4f} |")
    if not any(row["weights"] == config["weights"] for row in training["grid"][::2]):
        row = next(r for r in training["grid"] if r["weights"] == config["weights"])
        lines.append(f"| {' / '.join(f'{w:g}' for w in row['weights'])} (chosen) | {row['val_micro_f1']:.4f} | "
                     f"{row['val_macro_ap']:.4f} |")
    return lines + [""]


def _data_lines(data: dict) -> list[str]:
    files = data.get("files") or [{"file": data["file"], "rows": data["rows"], "sha256": data["sha256"]}]
    lines = ["## Data", ""] + [f"- `{f['file']}`: {f['rows']} films (sha256 {f['sha256']})" for f in files]
    return lines + ["", f"Split by a hash of (seed {data['split_seed']}, film id): train {data['train_rows']}, "
                    f"validation {data['val_rows']}, test {data['test_rows']}. A film's split never depends on "
                    "what else is in the pool.", ""]


KINDS = {"genrelens-tfidf/1": (_tfidf_sections, LIMITS_TFIDF), "genrelens-ensemble/1": (_ensemble_sections, LIMITS_ENSEMBLE)}


def card(checkpoint: Path, report: dict, sweeps: list[Path], machine: str = "") -> str:
    config = json.loads((checkpoint / "config.json").read_text())
    sections, limits = KINDS.get(config.get("format"), (_head_sections, LIMITS))
    results = report["results"]
    main = [dict(r, label=f"{r['name']} ({r['mode']})" if r["mode"] != "baseline" else r["name"]) for r in results]
    lines = [f"# Model card: `{config['model_key']}`", "",
             f"Generated by `python {shlex.join(sys.argv)}` from this folder's `config.json` and the report "
             f"of `{report['command']}`.", ""]
    lines += sections(config, machine)
    lines += ["## Results on the test split", "",
              f"All films of the pool's test split ({report['split_sizes']['test']}), every row through the "
              "app's own predictor; the baselines are trained on the same pool and tuned on the same "
              "validation split. Label accuracy is 1 − Hamming loss (the thesis's accuracy); predicting no "
              "genre at all scores high on it, hence the all-negative row.", ""]
    lines += _table(main, "model") + [""]
    pooled = [r for r in results if r.get("by_source")]
    if pooled:
        lines += ["### By source file", "",
                  "Each file's own test films (for `movies.csv` that is its own test split, the one earlier "
                  "reports used, so these figures compare with them).", ""]
        for source in pooled[0]["by_source"]:
            rows = [dict(r["by_source"][source], label=(f"{r['name']} ({r['mode']})" if r["mode"] != "baseline"
                                                        else r["name"])) for r in pooled]
            lines += [f"`{source}`:", ""] + _table(rows, "model") + [""]
    zero_shot = config.get("zero_shot")
    if zero_shot:
        lines += ["## Zero-shot calibration", "",
                  f"Fitted on the validation split's frozen base features: scale {zero_shot['scale']}, bias "
                  f"{zero_shot['bias']} (before: the plot models' default scale 20, bias 0). Validation micro-F1 "
                  f"at 0.5: {zero_shot['before']['micro_f1']:.4f} → {zero_shot['after']['micro_f1']:.4f}; macro "
                  f"AP {zero_shot['after']['macro_ap']:.4f} (unchanged: one monotone map for every genre). The "
                  "zero-shot row above is scored with it.", ""]
    if sweeps:
        lines += ["## Recipes compared on the validation split", "",
                  "`tools/plot_sweep.py`; never the test split. Blends average the model's probabilities with "
                  "TF-IDF + logistic regression's at the weight best on validation.", ""]
        for path in sweeps:
            sweep = json.loads(path.read_text())
            sizes = sweep["split_sizes"]
            lines += [f"`{path.name}` ({sweep.get('note', sweep['device'])}; train {sizes['train']}, "
                      f"val {sizes['val']}):", "",
                      "| recipe | val micro-F1 | val macro AP | blended with TF-IDF (weight) |", "|---|---:|---:|---|"]
            for row in sweep["results"]:
                blend = row.get("blend")
                extra = f"{blend['val_micro_f1']:.4f} ({blend['tfidf_weight']:.1f})" if blend else "–"
                lines.append(f"| {row['name']} | {row['val_micro_f1']:.4f} | {row['val_macro_ap']:.4f} | {extra} |")
            lines.append("")
    lines += ["## Limits", "", limits, ""]
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("checkpoint", type=Path)
    p.add_argument("report", type=Path, help="evaluation.json written by python -m genre_models.evaluate")
    p.add_argument("--sweeps", nargs="*", type=Path, default=[], help="tools/plot_sweep.py outputs")
    p.add_argument("--machine", default="", help="where it was trained (config.json does not record it)")
    args = p.parse_args(argv)
    text = card(args.checkpoint, json.loads(args.report.read_text()), args.sweeps, args.machine)
    (args.checkpoint / "README.md").write_text(text)
    print(f"wrote {args.checkpoint / 'README.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
