"""Explanations: word attribution checked for sanity on a model trained in the test, and on the shipped MiniLM."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from genre_models import GENRES, ModelPool
from genre_models.errors import InvalidInputError
from genre_models.explain import explain_plot
from genre_models.models.checkpoint import save_checkpoint
from genre_models.models.heads import GenreHead

FILLER = "people story the of and in to film about their lives some events".split()


def _keyword_head(predictor, keyword: str, genre: str, seed: int = 0) -> GenreHead:
    """A head trained here to predict ``genre`` exactly when the plot contains ``keyword``."""
    rng = np.random.default_rng(seed)
    plots, labels = [], []
    for i in range(240):
        words = list(rng.choice(FILLER, size=8))
        has = i % 2 == 0
        if has:
            words.insert(int(rng.integers(0, 9)), keyword)
        plots.append(" ".join(words))
        labels.append(has)
    features = predictor.encoder.encode(plots).features.clone()  # out of inference mode, for training
    y = torch.zeros(len(plots), len(GENRES))
    y[:, GENRES.index(genre)] = torch.tensor(labels, dtype=torch.float32)
    torch.manual_seed(seed)
    head = GenreHead(features.shape[1], len(GENRES))
    optimiser = torch.optim.Adam(head.parameters(), lr=0.05)
    for _ in range(300):
        optimiser.zero_grad()
        loss = torch.nn.functional.binary_cross_entropy_with_logits(head(features), y)
        loss.backward()
        optimiser.step()
    return head.eval()


def test_the_keyword_a_model_was_trained_on_ranks_first(tiny_models):
    pool = ModelPool()
    predictor = pool.get("tiny-bert")
    predictor.load()
    head = _keyword_head(predictor, "ghost", "Horror")
    save_checkpoint(tiny_models["tiny-bert"].checkpoint_dir(), head, list(GENRES), {g: 0.5 for g in GENRES})
    trained = ModelPool().get("tiny-bert")
    plot = "the people of the story and a ghost in their lives"
    explained = explain_plot(trained, plot, genre="Horror")
    assert explained.mode == "trained" and explained.probability > 0.5
    assert explained.top(1)[0][0] == "ghost"
    assert [w for w, _ in explained.words] == plot.split() and explained.read == len(plot.split())
    # the score is exactly the drop in probability without the word, through the model's own path
    without = trained.predict(plot=plot.replace(" ghost", ""), genres=["Horror"], mode="trained")
    assert dict(explained.words)["ghost"] == pytest.approx(explained.probability - without.probabilities["Horror"])
    # randomised weights (the sanity check of the saliency literature): the ranking is no longer about the keyword
    save_checkpoint(tiny_models["tiny-bert"].checkpoint_dir(), GenreHead(head.in_features, len(GENRES)),
                    list(GENRES), {g: 0.5 for g in GENRES})
    shuffled = explain_plot(ModelPool().get("tiny-bert"), plot, genre="Horror")
    assert max(abs(s) for _, s in shuffled.words) < abs(dict(explained.words)["ghost"]) / 5


def test_highlighting_scales_and_marks_unread_words(tiny_models):
    predictor = ModelPool().get("tiny-bert")  # max_length 24 tokens: a long plot is cut
    plot = " ".join(["ghost haunted house"] * 12)
    explained = explain_plot(predictor, plot, genre="Horror", mode="zero-shot")
    assert 0 < explained.read < len(plot.split()) and explained.notes[0].startswith("the model reads the first")
    marks = explained.highlighted()
    assert all(m is None for _, m in marks[explained.read:])
    read_marks = [m for _, m in marks[:explained.read]]
    assert max(abs(m) for m in read_marks) == 1.0
    assert "random weights" in explained.notes[-1] or not explained.random_weights


def test_refusals_are_clear(tiny_models, poster):
    pool = ModelPool()
    with pytest.raises(InvalidInputError, match="word attribution is for plot models"):
        explain_plot(pool.get("tiny-clip-vit"), "a ghost story")
    with pytest.raises(InvalidInputError, match="give a plot"):
        explain_plot(pool.get("tiny-bert"), "   ")


def test_shipped_minilm_explains_a_war_plot():
    explained = explain_plot(ModelPool().get("minilm"),
                             "Two pilots in the First World War fight in the skies over France and fall for "
                             "the same woman.", genre="War")
    assert explained.mode == "trained" and not explained.random_weights
    top = [w for w, _ in explained.top(3)]
    assert "War" in top or "War." in top  # the word that names the genre carries it


def _square_poster(corner: str, rng, size: int = 64):
    from PIL import Image
    pixels = rng.normal(40, 10, (size, size, 3))
    if corner:
        side = size // 4
        top = size // 8 if corner[0] == "t" else size - size // 8 - side
        left = size // 8 if corner[1] == "l" else size - size // 8 - side
        pixels[top:top + side, left:left + side] = 250
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))


def test_bit_heatmap_follows_its_trained_head_and_changes_with_random_weights(tiny_models, tmp_path):
    """Grad-CAM through a trained head on the tiny BiT. (The localisation sanity check the issue asks
    for, a peak on a square the CNN was trained to find, did not hold reliably on this tiny BiT at
    64-128 px; it is not claimed.)"""
    from genre_models.explain.poster_heatmap import explain_poster
    predictor = ModelPool().get("tiny-bit")
    torch.manual_seed(0)
    predictor.load()
    rng = np.random.default_rng(0)
    corners = ["tl", ""] * 40
    images = [_square_poster(c, rng) for c in corners]
    features = predictor.encoder.encode(images).features.clone()
    y = torch.zeros(len(images), len(GENRES))
    y[:, GENRES.index("Horror")] = torch.tensor([c == "tl" for c in corners], dtype=torch.float32)
    torch.manual_seed(0)
    head = GenreHead(features.shape[1], len(GENRES))
    optimiser = torch.optim.Adam(head.parameters(), lr=0.05)
    for _ in range(200):
        optimiser.zero_grad()
        torch.nn.functional.binary_cross_entropy_with_logits(head(features), y).backward()
        optimiser.step()
    save_checkpoint(tmp_path / "square", head.eval(), list(GENRES), {g: 0.5 for g in GENRES})
    trained = predictor.with_head(tmp_path / "square")  # the same random backbone the head was trained on
    poster = _square_poster("tl", np.random.default_rng(99))
    heat = explain_poster(trained, poster, genre="Horror")
    assert heat.mode == "trained" and heat.probability > 0.5 and heat.layer == "stages.3"
    assert heat.heatmap.shape == (64, 64) and heat.overlay().size == heat.seen.size == (64, 64)
    assert heat.heatmap.max() == pytest.approx(1.0)
    # the saliency sanity check: randomised head weights give another map
    save_checkpoint(tmp_path / "random", GenreHead(head.in_features, len(GENRES)), list(GENRES),
                    {g: 0.5 for g in GENRES})
    random_head = explain_poster(predictor.with_head(tmp_path / "random"), poster, genre="Horror")
    assert not np.allclose(random_head.heatmap, heat.heatmap, atol=0.05)


@pytest.mark.parametrize("key, layer", [("tiny-clip-vit", "visual.transformer.resblocks.1.ln_1"),
                                        ("tiny-clip-rn", "visual.layer4")])
def test_clip_zero_shot_heatmaps(tiny_models, poster, key, layer):
    from genre_models.explain.poster_heatmap import explain_poster
    heat = explain_poster(ModelPool().get(key), poster, genre="Horror")
    assert heat.mode == "zero-shot" and heat.layer == layer and heat.random_weights
    assert heat.heatmap.shape == heat.seen.size[::-1] and 0 <= heat.heatmap.min() <= heat.heatmap.max() <= 1
    assert "random weights" in heat.notes[0]
    with pytest.raises(InvalidInputError, match="heatmaps are for poster models"):
        explain_poster(ModelPool().get("tiny-bert"), poster)


def test_predict_explain_writes_heatmaps_and_word_scores(tiny_models, poster, tmp_path, capsys):
    import json

    from genre_models import predict as predict_cli
    out = tmp_path / "why"
    code = predict_cli.main(["--poster", str(poster), "--plot", "a ghost haunted the house", "--models",
                             "tiny-clip-vit", "tiny-bert", "tiny-fusion", "--mode", "zero-shot", "--explain", str(out),
                             "--explain-genre", "Horror"])
    printed = capsys.readouterr().out
    assert code == 0
    assert (out / "tiny-clip-vit-Horror.png").is_file()
    words = json.loads((out / "tiny-bert-Horror.json").read_text())
    assert [w for w, _ in words["words"]] == "a ghost haunted the house".split() and words["genre"] == "Horror"
    assert "[tiny-fusion] not explained: explanations are per input" in printed
