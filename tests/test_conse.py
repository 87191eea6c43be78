"""ConSE (genre_models/models/conse.py): the convex combination, the label-embedding cache, and the genre
prompts that reach genres through class names, checked with the real MiniLM text encoder."""
from __future__ import annotations

import pytest
import torch

from genre_models.genres import GENRES
from genre_models.models.conse import conse_embedding, label_embeddings, top_classes
from genre_models.models.prompts import GENRE_VISUALS, conse_prompts
from genre_models.models.zero_shot import ZeroShotScorer

# Class names none of GENRE_VISUALS uses, each with the genre a person would give its poster.
HELD_OUT = {"sheriff": "Western", "lasso": "Western", "mummy": "Horror", "werewolf": "Horror", "rocket": "Sci-Fi",
            "satellite": "Sci-Fi", "submarine": "War", "grenade": "War", "saxophone": "Music", "orchestra": "Music",
            "handcuffs": "Crime", "jail": "Crime", "witch": "Fantasy", "elf": "Fantasy", "groom": "Romance",
            "valentine": "Romance", "baby": "Family", "kindergarten": "Family", "pharaoh": "History",
            "gladiator": "History", "pirate": "Adventure", "compass": "Adventure"}


def test_the_embedding_is_the_probability_weighted_mean_of_the_top_classes():
    labels = torch.nn.functional.normalize(torch.tensor([[1.0, 0, 0], [0, 1.0, 0], [0, 0, 1.0], [1.0, 1.0, 0]]), dim=-1)
    logits = torch.tensor([[2.0, 1.0, 0.0, -1.0]])
    p = logits.softmax(-1)[0]
    expected = (p[0] * labels[0] + p[1] * labels[1]) / (p[0] + p[1])  # top 2, weights renormalised
    out = conse_embedding(logits, labels, top=2)
    assert torch.allclose(out[0], expected / expected.norm(), atol=1e-6)
    assert torch.allclose(out.norm(dim=-1), torch.ones(1))
    # top larger than the class count mixes every class
    assert conse_embedding(logits, labels, top=50).shape == (1, 3)
    assert top_classes(logits, ["a", "b", "c", "d"], top=2)[0] == [("a", pytest.approx(float(p[0]))),
                                                                  ("b", pytest.approx(float(p[1])))]
    with pytest.raises(ValueError, match="4 class logits but 3 class names"):
        conse_embedding(logits, labels[:3])


def test_label_embeddings_are_computed_once_per_encoder_and_label_set(tmp_path):
    calls = []

    def encode(texts):
        calls.append(list(texts))
        return torch.stack([torch.tensor([len(t), 1.0]) for t in texts])

    names = ["cowboy", "ghost", "spaceship"]
    first = label_embeddings(names, encode, {"encoder": "a"}, tmp_path)
    assert len(calls) == 1 and torch.allclose(first.norm(dim=-1), torch.ones(3))
    again = label_embeddings(names, encode, {"encoder": "a"}, tmp_path)
    assert len(calls) == 1 and torch.equal(first, again)  # read from the cache, not encoded again
    label_embeddings(names, encode, {"encoder": "b"}, tmp_path)  # another encoder: its own file
    label_embeddings(names + ["kitten"], encode, {"encoder": "a"}, tmp_path)  # another label set
    assert len(calls) == 3 and len(list(tmp_path.glob("labels-*.safetensors"))) == 3
    assert not list(tmp_path.glob("*.incomplete"))


@pytest.fixture(scope="module")
def minilm_encoder():
    from genre_models.models.registry import get_model_spec
    spec = get_model_spec("minilm")
    return spec.family_impl.load(spec, torch.device("cpu"))


def _top1_hits(encoder, prompts, cases: dict[str, str]) -> int:
    names = list(cases)
    labels = label_embeddings(names, encoder.encode_prompts, {"test": "held-out"}, cache_dir=None)
    scorer = ZeroShotScorer(encoder.encode_prompts, prompts, 20.0)
    logits = torch.full((len(names), len(names)), -5.0).fill_diagonal_(5.0)  # image i fires class i
    probabilities = scorer.probabilities(conse_embedding(logits, labels, top=3), list(GENRES))
    return sum(GENRES[int(row.argmax())] == cases[name] for name, row in zip(names, probabilities))


def test_genre_prompts_that_name_what_posters_show_beat_the_genre_word(minilm_encoder):
    """On class names the prompts never use, describing genres by what their posters show ranks the right
    genre first far more often than the genre word alone (measured: 18 vs 12 of 22 here)."""
    assert not set(HELD_OUT) & {word for words in GENRE_VISUALS.values() for word in words}
    visual = _top1_hits(minilm_encoder, conse_prompts, HELD_OUT)
    genre_word = _top1_hits(minilm_encoder, lambda g: [f"a {g.lower()} film"] if g else ["a film"], HELD_OUT)
    assert visual >= 16 and visual >= genre_word + 4, (visual, genre_word)


def test_a_cowboy_poster_is_a_western_and_a_ghost_one_horror(minilm_encoder):
    cases = {"cowboy": "Western", "ghost": "Horror", "spaceship": "Sci-Fi", "violin": "Music", "tank": "War"}
    assert _top1_hits(minilm_encoder, conse_prompts, cases) == len(cases)
    assert conse_prompts("") == ["a film", "a picture", "a person"]
    assert conse_prompts("heist") == ["a heist film", "heist"]  # a custom genre is its own phrase


NAMED = ["cowboy", "ghost", "spaceship", "violin", "tank"]


def _solid(colour) -> "Image.Image":
    from PIL import Image
    return Image.new("RGB", (64, 64), colour)


@pytest.fixture
def conse_cnn(tmp_path, monkeypatch):
    """A tiny timm CNN (random backbone) whose classifier names five classes, red firing "cowboy" and blue
    "ghost": the classifier's rows are set from the two posters' own pooled features."""
    from conftest import registered

    from genre_models import ModelPool, ModelSpec
    monkeypatch.setattr("genre_models.models.conse.CACHE_DIR", tmp_path / "conse")
    spec = ModelSpec("tiny-conse", "timm-image",
                     {"arch": "test_resnet", "conse_labels": NAMED, "conse_top": 2,
                      "model_kwargs": {"pretrained_cfg_overlay": {"input_size": (3, 64, 64), "crop_pct": 1.0}}},
                     "Tiny ConSE CNN", checkpoint=str(tmp_path / "no-head"))
    with registered([spec]):
        torch.manual_seed(0)
        predictor = ModelPool().get("tiny-conse")
        predictor.load()
        view = predictor.encoder.zero_shot_encoder()
        red, blue = (predictor.encoder.encode([_solid(c)]).features[0] for c in ("red", "blue"))
        direction = torch.nn.functional.normalize(red - blue, dim=0)
        with torch.no_grad():
            view.classifier.weight.zero_()
            view.classifier.bias.zero_()
            view.classifier.weight[NAMED.index("cowboy")] = 50 * direction
            view.classifier.weight[NAMED.index("ghost")] = -50 * direction
        yield predictor


def test_a_cnn_with_named_classes_answers_zero_shot_through_them(conse_cnn):
    from genre_models.comparison.compare import card_markdown
    assert conse_cnn.spec.zero_shot and conse_cnn.zero_shot_method == "ConSE, custom labels"
    western = conse_cnn.predict(poster=_solid("red"))
    horror = conse_cnn.predict(poster=_solid("blue"))
    assert western.ok and western.mode == "zero-shot" and len(western.probabilities) == 18
    assert max(western.probabilities, key=western.probabilities.get) == "Western"
    assert max(horror.probabilities, key=horror.probabilities.get) == "Horror"
    assert western.method == "ConSE, custom labels" and "zero-shot (ConSE, custom labels)" in card_markdown(western, "C")
    # custom genres work as for CLIP
    custom = conse_cnn.predict(poster=_solid("red"), genres=["cowboy film", "ghost story"])
    assert custom.ok and custom.probabilities["cowboy film"] > custom.probabilities["ghost story"]
    # the classifier's answer is what ConSE reads: randomised weights change it
    with torch.no_grad():
        torch.manual_seed(1)
        conse_cnn.encoder.zero_shot_encoder().classifier.weight.normal_()
    shuffled = conse_cnn.predict(poster=_solid("red"))
    assert shuffled.probabilities != western.probabilities
    assert max(shuffled.probabilities.values()) < max(western.probabilities.values()) or \
        max(shuffled.probabilities, key=shuffled.probabilities.get) != "Western"


def test_conse_is_explained_by_grad_cam_and_a_head_still_takes_over(conse_cnn, tmp_path):
    from genre_models import GENRES
    from genre_models.explain.poster_heatmap import explain_poster
    from genre_models.models.checkpoint import save_checkpoint
    from genre_models.models.checkpoint import GenreHead
    heat = explain_poster(conse_cnn, _solid("red"), genre="Western")
    assert heat.mode == "zero-shot" and heat.genre == "Western" and heat.heatmap.ndim == 2
    save_checkpoint(tmp_path / "head", GenreHead(conse_cnn.encoder.embedding_dim, len(GENRES)), list(GENRES),
                    {g: 0.5 for g in GENRES}, backbone=conse_cnn.backbone_identity())
    trained = conse_cnn.with_head(tmp_path / "head")
    answer = trained.predict(poster=_solid("red"))
    assert answer.ok and answer.mode == "trained" and answer.method == ""  # a trained head wins in auto mode


def test_conse_settings_are_checked(tmp_path):
    from genre_models import ConfigError, ModelPool, ModelSpec, Status
    from conftest import registered
    with pytest.raises(ConfigError, match="conse_top must be a whole number"):
        ModelSpec("x", "timm-image", {"arch": "test_resnet", "conse_top": 0})
    assert not ModelSpec("r", "timm-image", {"arch": "test_resnet"}).zero_shot  # random weights: no named classes
    assert ModelSpec("b", "timm-image", {"arch": "resnetv2_50x1_bit", "pretrained": "goog_in21k"}).settings \
        .conse_label_set() == "imagenet-21k-goog"
    odd = ModelSpec("odd", "timm-image", {"arch": "test_resnet", "conse_labels": ["a", "b"],
                                          "model_kwargs": {"num_classes": 3}}, "Odd")
    with registered([odd]):
        answer = ModelPool().get("odd").predict(poster=_solid("red"))
    assert answer.status is Status.UNAVAILABLE and "3 classes but 2 class names" in answer.message
