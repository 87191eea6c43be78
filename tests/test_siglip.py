"""SigLIP-style models in the clip family: zero-shot from the model's own sigmoid, Grad-CAM through a timm
trunk, and the Gemma-layout tokenizer the loopback hub serves for SigLIP 2.

Tiny open_clip configs of the same kind as ``ViT-B-16-SigLIP2`` (named without "siglip": open_clip gives such a
name with no tokenizer of its own a SentencePiece tokenizer it downloads): ``init_logit_bias`` (so the model learns a
bias beside its scale), and for the explanation test a timm ViT trunk pooled by attention (no class token).
"""
from __future__ import annotations

import json

import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from conftest import TINY_TEXT_CFG, registered
from genre_models import ModelSpec, Status
from genre_models.genres import GENRES
from genre_models.models.predictors import create_predictor
from genre_models.models.prompts import poster_prompts

TINY_SIGLIP = {"embed_dim": 16, "init_logit_bias": -3.0, "text_cfg": TINY_TEXT_CFG,
               "vision_cfg": {"image_size": 32, "layers": 2, "width": 32, "patch_size": 16, "head_width": 16}}
# as ViT-B-16-SigLIP2's vision tower: a timm ViT pooled by attention ("map"), its output used as it is
TINY_SIGLIP_TIMM = {"embed_dim": 64, "init_logit_bias": -3.0, "text_cfg": TINY_TEXT_CFG,
                    "vision_cfg": {"image_size": 160, "timm_model_name": "test_vit", "timm_model_pretrained": False,
                                   "timm_pool": "map", "timm_proj": "none"}}


@pytest.fixture(scope="module")
def siglip_configs(tmp_path_factory):
    import open_clip
    folder = tmp_path_factory.mktemp("siglip_configs")
    (folder / "tiny-sigmoid-test.json").write_text(json.dumps(TINY_SIGLIP))
    (folder / "tiny-sigmoid-timm-test.json").write_text(json.dumps(TINY_SIGLIP_TIMM))
    open_clip.add_model_config(folder)


@pytest.fixture
def siglip(siglip_configs, tmp_path):
    torch.manual_seed(0)
    specs = [ModelSpec("tiny-siglip", "clip", {"arch": "tiny-sigmoid-test"}, "Tiny SigLIP",
                       checkpoint=str(tmp_path / "tiny-siglip")),
             ModelSpec("tiny-siglip-timm", "clip", {"arch": "tiny-sigmoid-timm-test"}, "Tiny SigLIP (timm trunk)",
                       checkpoint=str(tmp_path / "tiny-siglip-timm"))]
    with registered(specs) as found:
        yield found


def test_zero_shot_is_the_models_own_sigmoid_per_genre(siglip, poster):
    predictor = create_predictor("tiny-siglip")
    answer = predictor.predict(poster=poster)
    assert answer.status is Status.OK and answer.mode == "zero-shot" and answer.method == "its own sigmoid per genre"
    encoder, model = predictor.encoder, predictor.encoder.model
    # the config's -3.0, not open_clip's default -10 nor CLIP's 0: read from the model
    assert encoder.zero_shot_contrast is False and encoder.default_zero_shot_bias == pytest.approx(-3.0)
    scale, bias = float(model.logit_scale.detach().exp()), float(model.logit_bias.detach())
    image = encoder.encode([Image.open(poster).convert("RGB")]).features[0]
    for genre in GENRES:  # p = sigmoid(exp(logit_scale) * cos(poster, mean prompt) + logit_bias)
        text = F.normalize(encoder.encode_prompts(poster_prompts(genre)).mean(dim=0), dim=0)
        want = torch.sigmoid(torch.tensor(scale * float(image @ text) + bias))
        assert answer.probabilities[genre] == pytest.approx(float(want), abs=1e-5)
    # no neutral prompt was embedded, and one genre alone gets the same probability as among 18
    assert "" not in predictor.scorer._cache
    alone = predictor.predict(poster=poster, genres=["Horror"])
    assert alone.probabilities["Horror"] == pytest.approx(answer.probabilities["Horror"], abs=1e-6)


def test_clip_keeps_its_neutral_prompt_contrast(tiny_models, poster):
    predictor = create_predictor("tiny-clip-vit")
    answer = predictor.predict(poster=poster)
    assert answer.ok and answer.method == ""
    assert predictor.encoder.zero_shot_contrast is True and "" in predictor.scorer._cache


def test_grad_cam_through_a_timm_trunk_with_no_class_token(siglip, poster):
    from genre_models.explain import explain_poster
    predictor = create_predictor("tiny-siglip-timm")
    heat = explain_poster(predictor, poster, "Horror", "zero-shot")
    assert heat.layer == f"visual.trunk.blocks.{len(predictor.encoder.model.visual.trunk.blocks) - 1}.norm1"
    assert heat.heatmap.shape == (160, 160) and float(heat.heatmap.max()) > 0
    prefix = predictor.encoder.model.visual.trunk.num_prefix_tokens
    grid = predictor.encoder.explanation_reshape()(torch.arange(prefix + 100.0).view(1, -1, 1))
    assert grid.shape == (1, 1, 10, 10) and float(grid[0, 0, 0, 0]) == prefix  # the first patch, after the prefix


def test_loopback_tokenizer_has_gemma_layout_and_fits_the_text_tower(tmp_path):
    from transformers import AutoTokenizer, PretrainedConfig
    from tests.support.loopback_hub.tokenizer import build_gemma_tokenizer
    build_gemma_tokenizer(tmp_path, vocab_size=256_000, context_length=64)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["special_tokens_map.json", "tokenizer.json",
                                                         "tokenizer_config.json"]
    tokenizer = AutoTokenizer.from_pretrained(str(tmp_path), config=PretrainedConfig())
    assert type(tokenizer).__name__ == "GemmaTokenizer"
    assert tokenizer.convert_ids_to_tokens([0, 1, 2, 3]) == ["<pad>", "<eos>", "<bos>", "<unk>"]
    ids = tokenizer(["a poster of a horror movie. 🧙"], padding="max_length", max_length=64)["input_ids"][0]
    assert len(ids) == 64 and max(ids) < 256_000 and 3 not in ids  # byte fallback: nothing unknown
    assert ids[ids.index(1) + 1:] == [0] * (63 - ids.index(1))  # <eos> then right padding
