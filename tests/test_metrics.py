import numpy as np
import pytest

from genre_models.training.metrics import multilabel_metrics, tune_thresholds


def test_metrics_on_a_hand_checked_example():
    y_true = np.array([[1, 0, 1], [0, 1, 0], [1, 1, 0], [0, 0, 0]])
    y_prob = np.array([[0.9, 0.2, 0.4], [0.1, 0.8, 0.6], [0.7, 0.3, 0.1], [0.2, 0.1, 0.3]])
    m = multilabel_metrics(y_true, y_prob, 0.5, ["A", "B", "C"])
    # predictions: [1,0,0], [0,1,1], [1,0,0], [0,0,0] -> 3 wrong cells of 12
    assert m["hamming_loss"] == pytest.approx(3 / 12)
    assert m["label_accuracy"] == pytest.approx(9 / 12)
    assert m["subset_accuracy"] == pytest.approx(1 / 4)  # only the last film is exactly right
    # micro: tp=3, fp=1, fn=2 -> 2*3 / (6+1+2)
    assert m["micro_f1"] == pytest.approx(6 / 9)
    # per genre F1: A 1.0, B 2/3, C 0.0
    assert m["macro_f1"] == pytest.approx((1 + 2 / 3 + 0) / 3)
    assert m["per_genre"]["B"] == pytest.approx({"precision": 1.0, "recall": 0.5, "f1": 2 / 3,
                                                 "ap": 1.0, "support": 2})
    # AP of C: the only positive (0.4) ranks second of four -> precision 1/2 at its recall
    assert m["per_genre"]["C"]["ap"] == pytest.approx(0.5)


def test_all_negative_has_high_label_accuracy_and_zero_f1():
    y_true = np.zeros((10, 18))
    y_true[:, 0] = 1
    m = multilabel_metrics(y_true, np.zeros((10, 18)), 0.5, [str(i) for i in range(18)])
    assert m["label_accuracy"] == pytest.approx(17 / 18) and m["micro_f1"] == 0.0


def test_thresholds_are_tuned_per_genre():
    y = np.array([[1, 0], [1, 0], [0, 1], [0, 0]])
    p = np.array([[0.3, 0.9], [0.35, 0.8], [0.1, 0.85], [0.2, 0.1]])
    t = tune_thresholds(y, p)
    assert 0.2 < t[0] <= 0.3  # separates 0.3/0.35 from 0.1/0.2
    assert 0.8 < t[1] <= 0.85


def test_tuned_thresholds_equal_a_brute_force_search_with_sklearn():
    from sklearn.metrics import f1_score

    from genre_models.training.metrics import THRESHOLD_GRID
    rng = np.random.default_rng(11)
    rates = np.linspace(0.05, 0.6, 12)
    rates[3] = 0.0  # genre 3 has no positives
    y = (rng.random((200, 12)) < rates).astype(int)
    p = np.clip(y * rng.uniform(0.0, 0.5, y.shape) + rng.uniform(0, 0.6, y.shape), 0, 1).round(2)
    tuned = tune_thresholds(y, p)
    for j in range(12):
        if not y[:, j].any():
            assert tuned[j] == 0.5  # nothing to tune on: the neutral default
            continue
        scores = [f1_score(y[:, j], (p[:, j] >= t).astype(int), zero_division=0) for t in THRESHOLD_GRID]
        best = max(t for t, s in zip(THRESHOLD_GRID, scores) if s == max(scores))  # ties: the highest
        assert tuned[j] == pytest.approx(best), j


def test_a_probability_equal_to_its_threshold_is_predicted():
    from genre_models.training.metrics import decide
    decided = decide(np.array([[0.5, 0.49]]), np.array([0.5, 0.5]))
    assert decided.tolist() == [[1, 0]] and decided.dtype.kind == "i"
    y = np.array([[1, 0], [0, 0]])
    m = multilabel_metrics(y, np.array([[0.3, 0.2], [0.1, 0.1]]), np.array([0.3, 0.5]), ["A", "B"])
    assert m["micro_f1"] == 1.0
    assert tune_thresholds(np.array([[1], [0]]), np.array([[0.3], [0.2]]))[0] == 0.3  # 0.3 itself counts


def test_undefined_scores_count_as_zero_and_absent_genres_have_no_ap():
    # genre B: no positives and nothing predicted; film 2: no genre and nothing predicted
    y = np.array([[1, 0], [0, 0]])
    m = multilabel_metrics(y, np.array([[0.9, 0.1], [0.1, 0.1]]), 0.5, ["A", "B"])
    assert m["per_genre"]["B"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "ap": None, "support": 0}
    assert m["macro_f1"] == pytest.approx(0.5) and m["samples_f1"] == pytest.approx(0.5)
    assert m["macro_ap"] == pytest.approx(1.0)  # the mean over genres that have positives
    nothing = multilabel_metrics(np.zeros((2, 2)), np.zeros((2, 2)), 0.5, ["A", "B"])
    assert np.isnan(nothing["macro_ap"]) and nothing["micro_f1"] == 0.0
