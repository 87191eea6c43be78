"""The decision rule every model shares (``Prediction.from_probabilities``)."""
from genre_models.models.prediction import Prediction


def test_a_genre_at_its_threshold_is_predicted():
    """The README promises "at or above": a probability equal to the threshold counts, one just under does not."""
    answer = Prediction.from_probabilities("m", {"Drama": 0.5, "Comedy": 0.4999999, "Horror": 0.9},
                                           {"Drama": 0.5, "Comedy": 0.5, "Horror": 0.95})
    assert answer.predicted == ["Drama"]
    # thresholds are per genre, and the order is by probability
    both = Prediction.from_probabilities("m", {"Drama": 0.3, "War": 0.6}, {"Drama": 0.3, "War": 0.6})
    assert both.predicted == ["War", "Drama"]


def test_to_dict_is_plain_json_with_one_key_per_field():
    import dataclasses
    import json

    from genre_models.models.prediction import Status
    answer = Prediction.failed("m", Status.NOTHING_READ, "read nothing", summary="read none of the plot's words")
    out = answer.to_dict()
    assert set(out) == {f.name for f in dataclasses.fields(Prediction)}
    assert type(out["status"]) is str and out["status"] == "nothing_read"  # the value, not the enum
    assert json.loads(json.dumps(out)) == out


def test_an_answer_keeps_its_model_key():
    assert Prediction.from_probabilities("clip-vit-b-16", {"Drama": 0.7}, {"Drama": 0.5}).model_key == "clip-vit-b-16"
