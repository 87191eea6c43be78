"""One inference path: what evaluate scores per film is exactly what predict() answers for that film."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from films import write_films_csv
from genre_models import GENRES, ModelPool
from genre_models.data.films import load_dataset, split_dataset
from genre_models.models.checkpoint import save_checkpoint
from genre_models.models.checkpoint import GenreHead
from genre_models.training.evaluate import score_split
from genre_models.training.feature_cache import FeatureCache


def write_head(spec, dim, thresholds, seed=0, kind="mlp"):
    """A random head with the given thresholds in the spec's checkpoint folder."""
    torch.manual_seed(seed)
    head = GenreHead(dim, len(GENRES), kind=kind, hidden=8)
    save_checkpoint(spec.checkpoint_dir(), head, list(GENRES), dict(zip(GENRES, thresholds)),
                    backbone=spec.family_impl.backbone_identity(spec))
    return head.eval()


@pytest.fixture
def films(tmp_path):
    dataset = load_dataset(write_films_csv(tmp_path / "data", n=60))
    return split_dataset(dataset, seed=0, val=0.1, test=0.4)["test"]


def spread_thresholds(seed):
    return np.random.default_rng(seed).uniform(0.2, 0.8, len(GENRES)).round(2).tolist()


# (model, mode, heads to write as {key: seed}) for each kind the structure issue names
CASES = [
    ("tiny-bit", "trained", {"tiny-bit": 1}),                 # image head
    ("tiny-clip-vit", "zero-shot", {}),                       # CLIP zero-shot
    ("tiny-clip-rn", "trained", {"tiny-clip-rn": 2}),         # CLIP head
    ("tiny-bert", "trained", {"tiny-bert": 3}),               # text head
    ("tiny-bert", "zero-shot", {"tiny-bert": 3}),             # text zero-shot beside a head
    ("tiny-fusion", "auto", {"tiny-clip-vit": 4, "tiny-bert": 5}),  # late fusion of two heads
    ("tiny-fusion", "zero-shot", {}),                         # late fusion of two zero-shots
    ("tiny-fusion", "trained", {"tiny-fusion": 6}),           # learned fusion head
]


@pytest.mark.parametrize("key,mode,heads", CASES, ids=[f"{k}-{m}" for k, m, _ in CASES])
def test_evaluate_scores_each_film_as_predict_does(tiny_models, tmp_path, films, key, mode, heads):
    pool = ModelPool()
    for head_key, seed in heads.items():
        dims = {"tiny-fusion": pool.get("tiny-clip-vit").embedding_dim + pool.get("tiny-bert").embedding_dim}
        dim = dims.get(head_key) or pool.get(head_key).embedding_dim
        write_head(tiny_models[head_key], dim, spread_thresholds(seed), seed=seed)
    predictor = ModelPool().get(key)
    scores = score_split(predictor, films, FeatureCache(tmp_path / "cache"), mode, num_workers=0, progress=False)
    assert len(scores.rows) >= 15
    frame = films.frame
    for row, index in enumerate(scores.rows):
        film = frame.iloc[index]
        pred = predictor.predict(poster=film["poster"], plot=film["plot"], mode=mode, genres=list(GENRES))
        assert pred.ok, pred.message
        assert pred.mode == scores.mode
        assert [pred.probabilities[g] for g in GENRES] == pytest.approx(scores.probabilities[row].tolist(), abs=1e-5)
        assert [pred.thresholds[g] for g in GENRES] == pytest.approx(scores.thresholds.tolist(), abs=1e-9)
        assert set(pred.predicted) == {g for g, d in zip(GENRES, scores.decisions[row]) if d}
    if heads and mode != "zero-shot":  # the thresholds really are the heads' (not one constant)
        assert len(set(scores.thresholds.round(6))) > 3


def test_late_fusion_thresholds_are_the_weighted_mean_of_the_parts(tiny_models, poster):
    pool = ModelPool()
    image_t, text_t = spread_thresholds(7), spread_thresholds(8)
    write_head(tiny_models["tiny-clip-vit"], pool.get("tiny-clip-vit").embedding_dim, image_t, seed=7)
    write_head(tiny_models["tiny-bert"], pool.get("tiny-bert").embedding_dim, text_t, seed=8)
    from genre_models.models.registry import register_model
    from dataclasses import replace
    spec = tiny_models["tiny-fusion"]
    register_model(replace(spec, settings=replace(spec.settings, image_weight=0.25)), overwrite=True)
    pool = ModelPool()
    plot = "a ghost haunted the house and the family fled ."
    image = pool.get("tiny-clip-vit").predict(poster=poster)
    text = pool.get("tiny-bert").predict(plot=plot)
    fused = pool.get("tiny-fusion").predict(poster=poster, plot=plot)
    assert image.mode == text.mode == "trained"
    assert fused.mode == "late fusion (trained poster, trained plot, poster weight 0.25)"
    for g, ti, tt in zip(GENRES, image_t, text_t):
        assert fused.thresholds[g] == pytest.approx(0.25 * ti + 0.75 * tt, abs=1e-9)
        p = 0.25 * image.probabilities[g] + 0.75 * text.probabilities[g]
        assert fused.probabilities[g] == pytest.approx(p, abs=1e-6)
        assert (g in fused.predicted) == (p >= fused.thresholds[g])


def test_learned_fusion_head_reads_poster_then_plot_features(tiny_models, poster):
    pool = ModelPool()
    image, text = pool.get("tiny-clip-vit"), pool.get("tiny-bert")
    head = write_head(tiny_models["tiny-fusion"], image.embedding_dim + text.embedding_dim,
                      spread_thresholds(9), seed=9, kind="linear")
    plot = "love two strangers fall ."
    pred = pool.get("tiny-fusion").predict(poster=poster, plot=plot)
    assert pred.mode == "trained"
    from genre_models.data.inputs import load_poster
    x = torch.cat([image.encoder.encode([load_poster(poster)]).features, text.encoder.encode([plot]).features], 1)
    with torch.inference_mode():
        expected = torch.sigmoid(head(x))[0].tolist()
    assert [pred.probabilities[g] for g in GENRES] == pytest.approx(expected, abs=1e-6)
    swapped = torch.cat([x[:, image.embedding_dim:], x[:, :image.embedding_dim]], 1)
    with torch.inference_mode():
        wrong = torch.sigmoid(head(swapped))[0].tolist()
    assert [pred.probabilities[g] for g in GENRES] != pytest.approx(wrong, abs=1e-6)
    assert pred.predicted == [g for g, p in pred.top(18) if p >= pred.thresholds[g]]


def test_a_fusion_model_with_another_head_folder_shares_its_parts(tiny_models, tmp_path, poster):
    pool = ModelPool()
    fusion = pool.get("tiny-fusion")
    fusion.load()
    assert fusion.checkpoint is None
    dim = pool.get("tiny-clip-vit").embedding_dim + pool.get("tiny-bert").embedding_dim
    torch.manual_seed(0)
    save_checkpoint(tmp_path / "other", GenreHead(dim, len(GENRES)), list(GENRES), {g: 0.3 for g in GENRES},
                    backbone=fusion.backbone_identity())
    other = fusion.with_head(tmp_path / "other")
    assert other.image is fusion.image and other.text is fusion.text
    assert other.checkpoint is not None and other.spec.checkpoint == str(tmp_path / "other")
    assert fusion.spec.checkpoint != other.spec.checkpoint  # the original is left as it was
    assert other.predict(poster=poster, plot="love .").mode == "trained"
