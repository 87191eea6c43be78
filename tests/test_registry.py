import json

import pytest

from genre_models import ModelPool, Status
from genre_models.errors import ConfigError
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


# -- keys are plain names; numbers are finite and of their kind (issue 33, items 16 and 17) -----------------------
def _config(tmp_path, **entry):
    path = tmp_path / "models.json"
    path.write_text(json.dumps({"models": [{"family": "tfidf-text", **entry}]}))
    return path


@pytest.mark.parametrize("key", ["../../x", "..", ".", "a/b", "a\\b", "/tmp/x", "-x", ".hidden", "", "a b", "x" * 97, 7])
def test_a_key_that_is_not_a_plain_name_is_refused_at_load_in_one_line(tmp_path, key):
    with pytest.raises(ConfigError) as info:
        load_model_config(_config(tmp_path, key=key))
    assert "is not a plain name" in str(info.value) and "\n" not in str(info.value)
    assert key not in list_models()


def test_a_key_with_path_parts_makes_train_write_nothing_outside_its_folders(tiny_bert_dir, tmp_path, capsys):
    """The issue's example: train wrote its feature cache two folders above --cache-dir."""
    from films import write_films_csv
    from genre_models.cli import train as train_cli
    cache = tmp_path / "a" / "b" / "cache"
    films = write_films_csv(tmp_path / "data", n=20)
    config = tmp_path / "evil.json"
    config.write_text(json.dumps({"models": [{"key": "../../x", "family": "hf-text", "source": str(tiny_bert_dir),
                                              "checkpoint": str(tmp_path / "ckpt")}]}))
    code = train_cli.main(["--data", str(films), "--models", "../../x", "--model-config", str(config),
                           "--cache-dir", str(cache), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "model key '../../x' is not a plain name" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "evil.json"]  # no a/, no x-plot-...


def test_register_model_refuses_a_path_key_and_the_feature_cache_never_leaves_its_root(tiny_models, tmp_path):
    from dataclasses import replace
    from genre_models.models.predictors import FeatureRequest, create_predictor
    from genre_models.models.registry import register_model
    from genre_models.training.feature_cache import FeatureCache
    escaping = replace(tiny_models["tiny-bert"], key="../../escaped")  # a spec built in code, never registered
    with pytest.raises(ConfigError, match="not a plain name"):
        register_model(escaping)
    predictor = create_predictor(escaping)
    with pytest.raises(ValueError, match="not a plain file name"):
        FeatureCache(tmp_path / "cache").folder(FeatureRequest(predictor, "plot", False))


@pytest.mark.parametrize("text, said", [
    ('"zero_shot_scale": NaN', "'models[0].zero_shot_scale' is NaN"),
    ('"zero_shot_bias": Infinity', "'models[0].zero_shot_bias' is Infinity"),
    ('"model_kwargs": {"layer_norm_eps": -Infinity}', "'models[0].model_kwargs.layer_norm_eps' is -Infinity"),
    ('"zero_shot_scale": "20"', "setting 'zero_shot_scale' must be a finite number, got the text '20'"),
    ('"max_length": "256"', "setting 'max_length' must be a whole number, got the text '256'"),
    ('"max_length": true', "setting 'max_length' must be a whole number, got true"),
    ('"max_length": 256.5', "setting 'max_length' must be a whole number, got 256.5"),
    ('"zero_shot_bias": [1]', "setting 'zero_shot_bias' must be a finite number, got [1]"),
])
def test_config_numbers_are_finite_and_typed_refused_at_load_naming_the_field(tmp_path, text, said):
    path = tmp_path / "models.json"
    path.write_text('{"models": [{"key": "typed", "family": "hf-text", "source": "org/x", ' + text + "}]}")
    with pytest.raises(ConfigError) as info:
        load_model_config(path)
    assert said in str(info.value) and "\n" not in str(info.value)
    assert "typed" not in list_models()


@pytest.mark.parametrize("entry, said", [
    ({"family": "fusion", "image_model": "clip-vit-b-16", "text_model": "minilm", "image_weight": "0.3"},
     "setting 'image_weight' must be a finite number, got the text '0.3'"),
    ({"family": "fusion", "image_model": "clip-vit-b-16", "text_model": "minilm", "image_weight": True},
     "setting 'image_weight' must be a finite number, got true"),
    ({"family": "timm-image", "arch": "resnet18", "conse_top": True}, "setting 'conse_top' must be a whole number, got true"),
    ({"family": "clip", "arch": "ViT-B-16-quickgelu", "zero_shot_scale": "100"},
     "setting 'zero_shot_scale' must be a finite number, got the text '100'"),
])
def test_every_family_s_numbers_are_typed(tmp_path, entry, said):
    path = tmp_path / "models.json"
    path.write_text(json.dumps({"models": [{"key": "typed", **entry}]}))
    with pytest.raises(ConfigError) as info:
        load_model_config(path)
    assert said in str(info.value)


def test_numbers_of_their_kind_and_null_where_allowed_load(tmp_path):
    path = tmp_path / "models.json"
    path.write_text('{"models": [{"key": "typed-ok", "family": "hf-text", "source": "org/x", "zero_shot_scale": null,'
                    ' "zero_shot_bias": 1, "max_length": 300, "model_kwargs": {"eps": 1e-12}}]}')
    try:
        assert load_model_config(path) == ["typed-ok"]
        settings = get_model_spec("typed-ok").settings
        assert (settings.zero_shot_scale, settings.zero_shot_bias, settings.max_length) == (None, 1, 300)
    finally:
        unregister_model("typed-ok")
