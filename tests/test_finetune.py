"""Fine-tuning options: losses, layer-wise learning rates, early stopping (tiny BERT, real code path)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from genre_models import ModelPool
from genre_models.data.films import load_dataset, split_dataset
from genre_models.genres import GENRES
from genre_models.training.finetune import AsymmetricLoss, finetune_text, layerwise_groups, make_loss
from genre_models.training.fit import HeadConfig
from films import write_films_csv


def test_balanced_bce_weights_rare_genres_more_and_is_capped():
    y = np.zeros((101, 3), dtype=np.float32)
    y[:50, 0] = 1  # common
    y[:1, 1] = 1  # rare: sqrt(100 / 1) = 10
    loss = make_loss("bce-balanced", y)  # genre 2 has no positives: counted as one, then capped
    assert loss.pos_weight.tolist() == pytest.approx([np.sqrt(51 / 50), 10.0, 10.0], rel=1e-5)
    y[:1, 1] = 0
    y[:2, 1] = 1
    assert make_loss("bce-balanced", y).pos_weight[1].item() == pytest.approx(np.sqrt(99 / 2), rel=1e-5)
    with pytest.raises(ValueError, match="valid: bce, bce-balanced, asymmetric"):
        make_loss("focal", y)


def test_asymmetric_loss_discounts_easy_negatives_but_not_positives():
    asl, bce = AsymmetricLoss(), torch.nn.BCEWithLogitsLoss()
    easy_negative = (torch.tensor([[-2.0]]), torch.tensor([[0.0]]))
    positive = (torch.tensor([[0.5]]), torch.tensor([[1.0]]))
    assert asl(*easy_negative) < 0.01 * bce(*easy_negative)
    assert asl(*positive) == pytest.approx(bce(*positive).item(), rel=1e-5)
    # a very easy negative (p below the clip) costs nothing at all
    assert asl(torch.tensor([[-6.0]]), torch.tensor([[0.0]])).item() == 0.0


def test_layer_decay_gives_lower_layers_smaller_rates(tiny_models):
    encoder = ModelPool().get("tiny-bert").encoder_for(trained=False)
    backbone = encoder.model
    groups = layerwise_groups(backbone, 1e-3, 0.5)
    rate = {id(p): g["lr"] for g in groups for p in g["params"]}
    top = backbone.encoder.layer[-1].attention.self.query.weight
    below = backbone.encoder.layer[-2].attention.self.query.weight
    assert rate[id(top)] == pytest.approx(1e-3) and rate[id(below)] == pytest.approx(5e-4)
    depth = len(backbone.encoder.layer)
    assert rate[id(backbone.embeddings.position_embeddings.weight)] == pytest.approx(1e-3 * 0.5 ** depth)
    assert len(layerwise_groups(backbone, 1e-3, 1.0)) == 1  # no decay: one group


@pytest.fixture
def tiny_data(tmp_path):
    splits = split_dataset(load_dataset(write_films_csv(tmp_path, n=80, with_problems=False)))
    return {k: (v.frame["plot"].tolist(), v.labels()) for k, v in splits.items()}





def test_patience_stops_when_validation_stops_improving(tiny_models, tiny_data, capsys):
    encoder = ModelPool().get("tiny-bert").encoder_for(trained=False)
    (train_texts, y_train), (val_texts, y_val) = tiny_data["train"], tiny_data["val"]
    frozen = HeadConfig(head="linear", lr=0.0, batch_size=16)  # nothing moves: val never improves
    result = finetune_text(encoder, train_texts, y_train, val_texts, y_val, GENRES,
                           frozen, epochs=6, backbone_lr=0.0, progress=False, patience=2, loss="asymmetric",
                           layer_decay=0.8)
    assert len(result.history) == 3 and result.best_epoch == 1
    assert "stopping early" in capsys.readouterr().out
    assert result.val_probabilities.shape == (len(val_texts), len(GENRES))
    learning = HeadConfig(head="linear", lr=3e-2, batch_size=16)
    trained = finetune_text(encoder, train_texts, y_train, val_texts, y_val, GENRES,
                            learning, epochs=3, backbone_lr=1e-3, progress=False, loss="bce-balanced")
    assert len(trained.history) == 3 and trained.history[-1]["train_loss"] < trained.history[0]["train_loss"]
