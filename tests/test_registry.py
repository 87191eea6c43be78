import json

import pytest

from genre_models import ModelPool, Status
from genre_models.models.registry import (UnknownModelError, get_model_spec, list_models, load_model_config,
                                   unregister_model)


def test_thesis_models_are_registered():
    keys = list_models()
    for key in ("bit-resnet50", "clip-vit-b-16", "clip-vit-l-14", "clip-rn50x16", "siglip2-vit-b-16", "bert-base",
                "minilm", "fusion"):
        assert key in keys
    # OpenAI CLIP weights need QuickGELU: a plain name would silently give wrong features
    openai = [k for k in list_models("clip") if get_model_spec(k).settings.pretrained == "openai"]
    assert len(openai) == 3 and all(get_model_spec(k).settings.arch.endswith("-quickgelu") for k in openai)


def test_unknown_key_names_valid_ones():
    with pytest.raises(UnknownModelError) as info:
        get_model_spec("clip-vit-g-14")
    assert "clip-vit-g-14" in str(info.value) and "bit-resnet50" in str(info.value)


def test_config_file_adds_and_repoints_models(tiny_clip_configs, tiny_models, tmp_path, poster):
    head_dir = tmp_path / "my_heads"
    config = tmp_path / "models.json"
    config.write_text(json.dumps({"models": [
        {"key": "my-clip", "family": "clip", "arch": "tiny-rn-test", "pretrained": None,
         "checkpoint": "./my_heads/clip"},
        {"key": "tiny-bit", "checkpoint": str(head_dir / "bit")},
    ]}))
    try:
        assert load_model_config(config) == ["my-clip", "tiny-bit"]
        spec = get_model_spec("my-clip")
        assert spec.checkpoint == str(head_dir / "clip")  # relative to the config file
        assert get_model_spec("tiny-bit").checkpoint == str(head_dir / "bit")
        assert get_model_spec("tiny-bit").family == "timm-image"  # other fields kept
        assert ModelPool().get("my-clip").predict(poster=poster).status is Status.OK
    finally:
        unregister_model("my-clip")


@pytest.mark.parametrize("content,match", [("{", "not valid JSON"), ('{"models": {}}', "must look like"),
                                            ('{"models": [{"key": "x"}]}', "needs a 'family'"),
                                            ('{"models": [{"key": "x", "famly": "clip"}]}', "famly")])
def test_bad_config_files(tmp_path, content, match):
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(ValueError, match=match):
        load_model_config(path)
