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
