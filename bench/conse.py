"""conse: what ConSE zero-shot adds to BiT-ResNet50's forward pass (its 21,843-way classifier, the
softmax, the top-10 mix of class-name embeddings), and what embedding the class names costs once.

Full-size architecture with random weights (the cost is the architecture's); the class names are
timm's ImageNet-21k ones, embedded by the shipped MiniLM, as the app does.
"""
from __future__ import annotations

import tempfile
import time
from pathlib import Path

import torch

from genre_models.models import conse
from genre_models.models.families.timm_image import ConSEEncoder, TimmImageEncoder
from genre_models.models.registry import get_model_spec
from .common import BenchResult
from .plot import interleaved_medians

TARGET = 1.05


def run(workdir: Path, repeat: int = 20) -> BenchResult:
    import timm
    result = BenchResult("conse")
    model = timm.create_model("resnetv2_50x1_bit", pretrained=False, num_classes=21843)
    classifier = model.get_classifier()
    model.reset_classifier(0)
    cpu = torch.device("cpu")
    base = TimmImageEncoder(model, cpu, random_weights=True)
    text_spec = get_model_spec("minilm")
    text = text_spec.family_impl.load(text_spec, cpu)
    names = conse.imagenet_label_names("imagenet-21k-goog")
    with tempfile.TemporaryDirectory() as empty:  # a cold cache: the one-off cost a first request would pay
        start = time.perf_counter()
        labels = conse.label_embeddings(names, text.encode_prompts, {"bench": 1}, cache_dir=empty)
        cold = time.perf_counter() - start
    view = ConSEEncoder(base, classifier, names, "imagenet-21k-goog", text, {"bench": 1}, conse.DEFAULT_TOP)
    view._labels = labels  # built above, as the app builds them once
    pixels = torch.randn(1, 3, 224, 224)
    medians = interleaved_medians({"forward": lambda: base.encode_pixels(pixels),
                                   "conse": lambda: view.encode_pixels(pixels)}, repeat)
    result.add(f"BiT-ResNet50 forward, pooled features (what a head reads), one poster, median of {repeat}",
               f"{medians['forward'] * 1000:.0f} ms")
    result.add("the same forward + ConSE (its 21,843-class classifier in bfloat16, the top-10 mix)",
               f"{medians['conse'] * 1000:.0f} ms")
    result.add(f"embedding the {len(names):,} class names once (MiniLM, cold cache)", f"{cold:.1f} s")
    batch = torch.randn(8, 3, 224, 224)
    batched = interleaved_medians({"forward": lambda: base.encode_pixels(batch),
                                   "conse": lambda: view.encode_pixels(batch)}, max(3, repeat // 5))
    result.add("per poster in a batch of 8: forward / forward + ConSE",
               f"{batched['forward'] / 8 * 1000:.0f} / {batched['conse'] / 8 * 1000:.0f} ms")
    ratio = medians["conse"] / medians["forward"]
    result.ratio("ConSE ÷ forward alone, one poster", ratio, f"<= {TARGET:.2f}", ratio <= TARGET)
    result.ratio("ConSE ÷ forward alone, per poster in a batch of 8", batched["conse"] / batched["forward"])
    result.notes.append("One poster's ConSE step is bound by reading the classifier's 21,843 x 2,048 weights "
                        "(bfloat16 halved it: float32 measured 1.07 here); a batch reads them once.")
    result.notes.append("The two calls take turns within each repetition. Later starts read the class-name "
                        "embeddings from ~/.cache/genrelens/conse instead of computing them.")
    return result
