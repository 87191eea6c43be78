"""Tiny models built in the tests, registered through the same registry as the real ones.

Every family runs its real loading code (open_clip / timm / transformers factories) on
configurations small enough to build and run in milliseconds. HF_HUB_OFFLINE=1 is set before any
Hugging Face library is imported, so nothing ever waits on the network.
"""
from __future__ import annotations

import json
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# cached example outputs of the tiny test models must not land in (or come from) the project's .gradio/
os.environ["GRADIO_EXAMPLES_CACHE"] = tempfile.mkdtemp(prefix="genrelens-examples-")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from PIL import Image  # noqa: E402

from genre_models import ModelSpec, register_model  # noqa: E402
from genre_models.models.registry import unregister_model  # noqa: E402

torch.set_num_threads(2)

# Markers by file (pytest.ini). Every test is `unit`, the inner loop (`pytest -m unit`, under a minute:
# docs/testing.md), except the files below, whose tests take seconds to minutes each.
NOT_UNIT = {
    # start the app (in this process or its own), drive a browser, or attack it
    "test_app_api.py", "test_app_browser.py", "test_your_films_api.py", "test_space_launch.py", "test_hub_heads.py",
    "test_stress.py", "test_bench.py", "test_server_limits.py", "test_inert_browser.py", "test_sessions_browser.py", "test_sigterm.py",
    "test_page_layout_browser.py",
    # run commands in fresh processes: CLIs, pip install, git, the loopback hub's servers
    "test_entry_point.py", "test_cli.py", "test_predict_cli.py", "test_reproduce.py", "test_hub_path.py", "test_loopback_hub.py",
    "test_deploy.py", "test_extra_models.py", "test_commands.py",
    # train heads or encode through every kind of model, or load the real MiniLM and the shared films
    "test_parallel.py", "test_explain.py", "test_inference_path.py", "test_dataset_build.py", "test_calibrate.py",
    "test_ensemble.py", "test_conse.py", "test_train_evaluate.py", "test_finetune.py", "test_minilm.py",
    "test_shared_data.py",
}
BROWSER = {"test_app_browser.py", "test_inert_browser.py", "test_sessions_browser.py", "test_page_layout_browser.py"}


def pytest_collection_modifyitems(items):
    for item in items:
        name = item.path.name
        if name in BROWSER:
            item.add_marker(pytest.mark.browser)
        if name not in NOT_UNIT and item.get_closest_marker("fullsize") is None:
            item.add_marker(pytest.mark.unit)
SHARED = Path(__file__).resolve().parent.parent.parent / "shared"
MOVIES_CSV = SHARED / "data" / "movies" / "movies.csv"

TINY_TEXT_CFG = {"context_length": 77, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 2}
TINY_CLIP_CONFIGS = {
    "tiny-vit-test": {"embed_dim": 16, "quick_gelu": True, "text_cfg": TINY_TEXT_CFG,
                      "vision_cfg": {"image_size": 32, "layers": 2, "width": 32, "patch_size": 16,
                                     "head_width": 16}},
    "tiny-rn-test": {"embed_dim": 16, "quick_gelu": True, "text_cfg": TINY_TEXT_CFG,
                     "vision_cfg": {"image_size": 64, "layers": [1, 1, 1, 1], "width": 16,
                                    "head_width": 64}},
}

# A word-piece vocabulary big enough for the plots the tests write.
TINY_VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + sorted(set(
    "a an the of and in to is on at with for by from film movie poster plot story about people "
    "events their lives some that tells action adventure animated comedy crime documentary drama "
    "family fantasy historical horror musical mystery romance science fiction thriller war western "
    "ghost house love heist space opera haunted two strangers fall . , ! ' - full fights chases".split()))

@pytest.fixture(scope="session")
def tiny_clip_configs(tmp_path_factory):
    import open_clip
    folder = tmp_path_factory.mktemp("open_clip_configs")
    for name, cfg in TINY_CLIP_CONFIGS.items():
        (folder / f"{name}.json").write_text(json.dumps(cfg))
    open_clip.add_model_config(folder)
    return list(TINY_CLIP_CONFIGS)

@pytest.fixture(scope="session")
def tiny_bert_dir(tmp_path_factory):
    from transformers import BertConfig, BertModel, BertTokenizerFast
    folder = tmp_path_factory.mktemp("tiny_bert")
    (folder / "vocab.txt").write_text("\n".join(TINY_VOCAB) + "\n")
    # transformers 5 takes the vocabulary as ``vocab`` (``vocab_file`` is ignored: every word would be [UNK])
    tokenizer = BertTokenizerFast(vocab={token: i for i, token in enumerate(TINY_VOCAB)}, do_lower_case=True,
                                  model_max_length=24)
    assert tokenizer.convert_ids_to_tokens(tokenizer("ghost house")["input_ids"]) == \
        ["[CLS]", "ghost", "house", "[SEP]"]
    tokenizer.save_pretrained(folder)
    torch.manual_seed(0)
    config = BertConfig(vocab_size=len(TINY_VOCAB), hidden_size=32, num_hidden_layers=2,
                        num_attention_heads=2, intermediate_size=64, max_position_embeddings=64)
    BertModel(config).save_pretrained(folder)
    return folder

def tiny_specs(ckpt: Path, tiny_bert_dir: Path) -> list[ModelSpec]:
    """One tiny model of every family; each gets its own (empty) checkpoint folder under ``ckpt``."""
    return [
        ModelSpec("tiny-clip-vit", "clip", {"arch": "tiny-vit-test"}, "Tiny CLIP ViT",
                  checkpoint=str(ckpt / "tiny-clip-vit")),
        ModelSpec("tiny-clip-rn", "clip", {"arch": "tiny-rn-test"}, "Tiny CLIP RN",
                  checkpoint=str(ckpt / "tiny-clip-rn")),
        ModelSpec("tiny-bit", "timm-image",
                  {"arch": "resnetv2_50x1_bit",
                   "model_kwargs": {"channels": (128, 128, 128, 128),
                                    "pretrained_cfg_overlay": {"input_size": (3, 64, 64)}}},
                  "Tiny BiT", checkpoint=str(ckpt / "tiny-bit")),
        ModelSpec("tiny-bert", "hf-text", {"source": str(tiny_bert_dir), "max_length": 24}, "Tiny BERT",
                  checkpoint=str(ckpt / "tiny-bert")),
        ModelSpec("tiny-fusion", "fusion", {"image_model": "tiny-clip-vit", "text_model": "tiny-bert"},
                  "Tiny fusion", checkpoint=str(ckpt / "tiny-fusion")),
    ]


@contextmanager
def registered(specs):
    for spec in specs:
        register_model(spec, overwrite=True)
    try:
        yield {s.key: s for s in specs}
    finally:
        for spec in specs:
            unregister_model(spec.key)


@pytest.fixture
def tiny_models(tiny_clip_configs, tiny_bert_dir, tmp_path):
    """Registers tiny models of every family for one test."""
    with registered(tiny_specs(tmp_path / "checkpoints", tiny_bert_dir)) as specs:
        yield specs


@pytest.fixture
def poster(tmp_path):
    """A small synthetic poster file."""
    rng = np.random.default_rng(0)
    path = tmp_path / "poster.png"
    Image.fromarray(rng.integers(0, 255, (96, 64, 3), dtype=np.uint8)).save(path)
    return path

def needs_shared_data():
    return pytest.mark.skipif(not MOVIES_CSV.is_file(),
                              reason=f"real movie data not found at {MOVIES_CSV} (../shared is absent)")
