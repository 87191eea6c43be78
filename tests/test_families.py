"""The family interface: settings validated where declared, and a new family is one class + one call."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
import torch

from films import write_films_csv
from genre_models import ConfigError, ModelPool, ModelSpec, Status, register_model
from genre_models.data.films import load_dataset
from genre_models.models.families import (POSTER, Fetch, ImageEncoder, ModelFamily, get_family,
                                          register_family, unregister_family)
from genre_models.models.registry import spec_from_dict, unregister_model
from genre_models.training import TrainOptions, evaluate_models, train_model
from genre_models.training.feature_cache import FeatureCache


@dataclass(frozen=True)
class ColourSettings:
    bins: int = 4

    def __post_init__(self):
        if self.bins < 1:
            raise ConfigError("bins must be at least 1")


class ColourEncoder(ImageEncoder):
    """A poster's colour histogram per channel: a backbone with no weights at all."""

    def __init__(self, bins: int):
        self.bins, self.embedding_dim = bins, 3 * bins
        self.model = torch.nn.Identity()

    def preprocess(self, image):
        return torch.from_numpy(np.asarray(image.resize((16, 16)), dtype=np.float32) / 255).permute(2, 0, 1)

    def encode_pixels(self, pixels):
        hist = [torch.stack([torch.histc(p[c], self.bins, 0, 1) for c in range(3)]).flatten() for p in pixels]
        return torch.stack(hist) / 256


class ColourFamily(ModelFamily):
    name = "toy-colour"
    settings_type = ColourSettings
    inputs = (POSTER,)

    def download_plan(self, spec):
        return [Fetch(spec.key, None, note="computed, nothing to fetch")]

    def load(self, spec, device):
        return ColourEncoder(spec.settings.bins)


@pytest.fixture
def colour_model(tmp_path):
    register_family(ColourFamily())
    register_model(ModelSpec("colours", "toy-colour", {"bins": 4}, "Colours", checkpoint=str(tmp_path / "ck")))
    yield "colours"
    unregister_model("colours")
    unregister_family("toy-colour")


def test_a_new_family_predicts_trains_and_evaluates(colour_model, tmp_path):
    dataset = load_dataset(write_films_csv(tmp_path / "data", n=80))
    pred = ModelPool().get("colours").predict(poster=dataset.frame["poster"][5])
    assert pred.status is Status.UNAVAILABLE and "no trained genre head" in pred.message  # no zero-shot
    options = TrainOptions(epochs=30, lrs=(3e-2,), num_workers=0, progress=False, cache_dir=tmp_path / "cache")
    result = train_model("colours", dataset, options=options, log=lambda _: None)
    assert (result.checkpoint_dir / "model.safetensors").is_file()
    # poster colour is what the test films' genres are drawn with: the toy family learns something
    assert result.test_metrics["macro_ap"] > 0.5
    film = dataset.frame.iloc[7]
    pred = ModelPool().get("colours").predict(poster=film["poster"])
    assert pred.ok and pred.mode == "trained"
    report = evaluate_models(dataset, ["colours"], baselines=(), cache=FeatureCache(tmp_path / "cache"),
                             num_workers=0, progress=False, log=lambda _: None)
    (row,) = report.results
    assert row.mode == "trained" and row.metrics["micro_f1"] == pytest.approx(result.test_metrics["micro_f1"])


def test_family_settings_are_validated_where_declared():
    with pytest.raises(ConfigError, match="QuickGELU"):
        ModelSpec("plain-clip", "clip", {"arch": "ViT-B-16", "pretrained": "openai"})
    with pytest.raises(ConfigError, match="valid: arch, pretrained"):
        ModelSpec("x", "clip", {"arch": "ViT-B-16-quickgelu", "max_length": 7})
    with pytest.raises(ConfigError, match=r"image_weight must be a number in \[0, 1\]"):
        ModelSpec("f", "fusion", {"image_model": "a", "text_model": "b", "image_weight": 1.5})
    with pytest.raises(ConfigError, match="max_length"):
        ModelSpec("t", "hf-text", {"source": "bert-base-uncased", "max_length": 0})
    with pytest.raises(ConfigError, match="unknown model family 'vit'; valid: .*clip"):
        ModelSpec("v", "vit", {})
    with pytest.raises(ConfigError, match="needs 'source'"):
        spec_from_dict({"key": "t2", "family": "hf-text"})


def test_each_family_declares_inputs_and_capabilities():
    assert get_family("timm-image").inputs == ("poster",) and not get_family("timm-image").zero_shot
    assert get_family("clip").zero_shot and get_family("hf-text").finetunable
    assert get_family("fusion").inputs == ("poster", "plot")


# BiT is pre-activation: its final norm + ReLU, after the last stage, is where activations are non-negative
@pytest.mark.parametrize("key,layer", [("tiny-bit", "norm"), ("tiny-clip-vit", "visual.transformer.resblocks.1.ln_1"),
                                       ("tiny-clip-rn", "visual.layer4"), ("tiny-bert", "embeddings.word_embeddings")])
def test_encoders_name_their_explanation_layers(tiny_models, key, layer):
    predictor = ModelPool().get(key)
    predictor.load()
    (target,) = predictor.encoder.explanation_target_layers()
    names = {id(m): n for n, m in predictor.encoder.model.named_modules()}
    assert names[id(target)] == layer


@pytest.mark.parametrize("family, setting, value, what", [
    ("hf-text", "source", "/nonexistent/folder", "folder"),
    ("hf-text", "source", "./models/my-bert", "folder"),
    ("hf-text", "source", "~/no-such-model-here", "folder"),
    ("hf-text", "source", "models/plot/bert", "folder"),
    ("timm-image", "pretrained", "./weights/bit.safetensors", "file"),
    ("clip", "pretrained", "/nonexistent/clip.bin", "file"),
])
def test_a_path_that_is_not_there_is_said_as_such_not_as_a_hub_or_tag_error(family, setting, value, what):
    """A missing folder used to come back as HFValidationError ("Repo id must be in the form...") (issue 26)."""
    from PIL import Image
    from conftest import registered
    settings = {"hf-text": {}, "timm-image": {"arch": "resnetv2_50x1_bit"}, "clip": {"arch": "ViT-B-16-quickgelu"}}
    spec = ModelSpec("pathy", family, {**settings[family], setting: value}, "Pathy")
    with registered([spec]):
        answer = ModelPool().get("pathy").predict(poster=Image.new("RGB", (32, 48)), plot="a ghost story")
        assert answer.status.value == "unavailable"
        assert answer.message.startswith(f"Pathy: no such {what}: {value} (its '{setting}' setting)")
        assert answer.summary == f"no such {what}: {value}"
        assert "Repo id" not in answer.message and "HFValidationError" not in answer.message
        from genre_models.models.registry import get_model_spec
        with pytest.raises(Exception, match=f"no such {what}"):
            get_model_spec("pathy").family_impl.download_plan(get_model_spec("pathy"))


def test_a_hub_id_is_not_taken_for_a_path():
    from genre_models.models.families.base import looks_like_path
    assert not any(map(looks_like_path, ["bert-base-uncased", "sentence-transformers/all-MiniLM-L6-v2", "openai",
                                         "goog_in21k"]))
