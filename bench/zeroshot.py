"""zeroshot: CLIP zero-shot over the 18 genres with the prompt ensemble (the app's predictor) vs.
transformers' ``pipeline("zero-shot-image-classification")`` on an equal random-init ViT-B/16 CLIP,
given the same labels and templates (every template x genre prompt as candidate labels, one call)."""
from __future__ import annotations

import json
from pathlib import Path

import torch

from genre_models.genres import GENRES
from genre_models.models.predictors import ModelPool
from genre_models.models.prompts import poster_prompts
from .common import BenchResult, median_seconds
from .lineup import poster_file, register_full_size

TARGET = 2.0


def clip_tokenizer_files(folder: Path) -> Path:
    """vocab.json + merges.txt for transformers' CLIPTokenizer, from open_clip's own BPE (the same one
    OpenAI's CLIP uses), so no download is needed."""
    import open_clip
    folder.mkdir(parents=True, exist_ok=True)
    bpe = open_clip.tokenizer.SimpleTokenizer()
    # open_clip names the two special tokens its own way; transformers' CLIP tokenizer expects OpenAI's
    renamed = {"<start_of_text>": "<|startoftext|>", "<end_of_text>": "<|endoftext|>"}
    (folder / "vocab.json").write_text(json.dumps({renamed.get(k, k): v for k, v in bpe.encoder.items()}))
    merges = sorted(bpe.bpe_ranks.items(), key=lambda kv: kv[1])
    (folder / "merges.txt").write_text("#version: 0.2\n" + "\n".join(f"{a} {b}" for (a, b), _ in merges) + "\n")
    return folder


def transformers_pipeline(folder: Path):
    """The pipeline on a random-init CLIP with ViT-B/16's shapes (OpenAI's clip-vit-base-patch16 config)."""
    from transformers import (CLIPConfig, CLIPImageProcessor, CLIPModel, CLIPTokenizer, pipeline)
    config = CLIPConfig(text_config={"hidden_size": 512, "intermediate_size": 2048, "num_attention_heads": 8,
                                     "num_hidden_layers": 12, "max_position_embeddings": 77},
                        vision_config={"hidden_size": 768, "intermediate_size": 3072, "num_attention_heads": 12,
                                       "num_hidden_layers": 12, "image_size": 224, "patch_size": 16},
                        projection_dim=512)
    torch.manual_seed(0)
    model = CLIPModel(config).eval()
    tokenizer = CLIPTokenizer(str(folder / "vocab.json"), str(folder / "merges.txt"))
    return pipeline("zero-shot-image-classification", model=model, tokenizer=tokenizer,
                    image_processor=CLIPImageProcessor(), device="cpu")


def run(workdir: Path, repeat: int = 5) -> BenchResult:
    from PIL import Image
    result = BenchResult("zeroshot")
    register_full_size(workdir)
    predictor = ModelPool().get("clip-vit-b-16")
    predictor.load()
    poster = poster_file(workdir)
    ours = median_seconds(lambda: predictor.predict(poster, mode="zero-shot"), repeat)
    labels = [prompt for genre in GENRES for prompt in poster_prompts(genre)]
    pipe = transformers_pipeline(clip_tokenizer_files(workdir / "clip-tokenizer"))
    image = Image.open(poster).convert("RGB")
    theirs = median_seconds(lambda: pipe(image, candidate_labels=labels, hypothesis_template="{}"), repeat)
    result.add(f"GenreLens zero-shot, 18 genres x {len(poster_prompts(''))} templates (median of {repeat})",
               f"{ours * 1000:.0f} ms")
    result.add(f"transformers pipeline, same {len(labels)} prompts (median of {repeat})", f"{theirs * 1000:.0f} ms")
    result.notes.append("GenreLens embeds the prompts once, on first use (the app does it in the background at "
                        "start), then keeps them; the pipeline embeds every candidate label on each call, as it "
                        "is built to.")
    result.ratio("pipeline ÷ GenreLens (speed-up)", theirs / ours, f">= {TARGET:.1f}", theirs / ours >= TARGET)
    return result
