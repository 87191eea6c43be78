"""The fusion family: how a poster model and a plot model answer together (models/families/fusion.py)."""
from __future__ import annotations

import pytest

from genre_models import ConfigError, ModelPool, ModelSpec, Status, register_model
from genre_models.models.registry import unregister_model

PLOT = "a ghost haunted the house and the family fled ."


@pytest.fixture
def extra_models():
    keys = []

    def add(key, family, settings, **kw):
        register_model(ModelSpec(key, family, settings, **kw))
        keys.append(key)

    yield add
    for key in keys:
        unregister_model(key)


def test_parts_must_be_a_poster_model_and_a_plot_model(tiny_models, extra_models):
    extra_models("backwards", "fusion", {"image_model": "tiny-bert", "text_model": "tiny-clip-vit"})
    with pytest.raises(ConfigError, match=r"^fusion model 'backwards': 'tiny-bert' is not a poster model$"):
        ModelPool().get("backwards")
    pred = ModelPool().predict(["backwards"], plot=PLOT)["backwards"]
    assert pred.status is Status.ERROR and "'tiny-bert' is not a poster model" in pred.message


def test_both_missing_parts_are_named(tiny_models, extra_models, poster):
    extra_models("no-img", "clip", {"arch": "no-such-open-clip-arch"}, display_name="No image")
    extra_models("no-txt", "hf-text", {"source": "/nonexistent/folder"}, display_name="No text")
    extra_models("hollow", "fusion", {"image_model": "no-img", "text_model": "no-txt"}, display_name="Hollow")
    pred = ModelPool().get("hollow").predict(poster=poster, plot=PLOT)
    assert pred.status is Status.UNAVAILABLE
    assert pred.message.startswith("Hollow needs both of its parts: its poster part No image is unavailable (")
    assert "); its plot part No text is unavailable (No text: no such folder: /nonexistent/folder" in pred.message
    # the card's one line: each part and its own short reason
    # (open_clip's refusal carries no short reason of its own: "unavailable" stands in)
    assert pred.summary == "needs No image: unavailable; needs No text: no such folder: /nonexistent/folder"


def test_the_head_records_both_parts_backbones(tiny_models):
    pool = ModelPool()
    fusion = pool.get("tiny-fusion")
    assert fusion.backbone_identity() == {"image_backbone": pool.get("tiny-clip-vit").backbone_identity(),
                                          "text_backbone": pool.get("tiny-bert").backbone_identity()}
    # the parts' base features (never a fine-tuned plot backbone), poster first
    assert [r.key for r in fusion.head_feature_requests()] == [("tiny-clip-vit", "poster", False),
                                                              ("tiny-bert", "plot", False)]


def test_genres_and_threshold_reach_both_parts(tiny_models, poster):
    fusion = ModelPool().get("tiny-fusion")
    pred = fusion.predict(poster=poster, plot=PLOT, genres=["Horror", "heist"], threshold=0.9)
    assert pred.ok and list(pred.probabilities) == ["Horror", "heist"]
    assert pred.thresholds == {"Horror": pytest.approx(0.9), "heist": pytest.approx(0.9)}
    assert pred.mode == "late fusion (zero-shot poster, zero-shot plot, poster weight 0.5)"


def test_a_part_that_cannot_answer_is_named_with_its_reason(tiny_models, extra_models, poster):
    extra_models("cnn-fusion", "fusion", {"image_model": "tiny-bit", "text_model": "tiny-bert"},
                 display_name="CNN fusion")
    pred = ModelPool().get("cnn-fusion").predict(poster=poster, plot=PLOT)
    assert pred.status is Status.UNAVAILABLE
    assert pred.message.startswith("CNN fusion: its poster part Tiny BiT cannot answer (Tiny BiT: no trained "
                                   "genre head in ")


def _head(spec, dim, genres, threshold):
    import torch

    from genre_models.models.checkpoint import save_checkpoint
    from genre_models.models.checkpoint import GenreHead
    torch.manual_seed(0)
    save_checkpoint(spec.checkpoint_dir(), GenreHead(dim, len(genres)), list(genres), {g: threshold for g in genres},
                    backbone=spec.family_impl.backbone_identity(spec))


def test_a_learned_head_answers_for_the_genres_and_threshold_asked(tiny_models, poster):
    from genre_models import GENRES
    pool = ModelPool()
    dim = pool.get("tiny-clip-vit").embedding_dim + pool.get("tiny-bert").embedding_dim
    _head(tiny_models["tiny-fusion"], dim, GENRES, 0.3)
    pred = ModelPool().get("tiny-fusion").predict(poster=poster, plot=PLOT, genres=["War", "Horror"], threshold=0.7)
    assert pred.mode == "trained" and list(pred.probabilities) == ["War", "Horror"]
    assert pred.thresholds == {"War": 0.7, "Horror": 0.7}


def test_parts_that_score_different_genres_are_refused(tiny_models, poster):
    pool = ModelPool()
    _head(tiny_models["tiny-clip-vit"], pool.get("tiny-clip-vit").embedding_dim, ["Horror", "War"], 0.5)
    pred = ModelPool().get("tiny-fusion").predict(poster=poster, plot=PLOT)
    assert pred.status is Status.UNAVAILABLE
    assert pred.message.startswith("Tiny fusion: its parts score different genres (Horror, War vs Action, "
                                   "Adventure, ")
    assert pred.message.endswith("War, Western); ask for the genres both know")


def test_a_compare_runs_each_backbone_once_and_answers_as_models_alone(tiny_models, poster):
    pool = ModelPool()  # one pool: the tiny models' random weights are drawn once
    keys = ["tiny-clip-vit", "tiny-bert", "tiny-fusion"]
    alone = {k: pool.predict([k], poster, PLOT)[k] for k in keys}
    calls = []
    for key in keys[:2]:
        encoder = pool.get(key).encoder
        real = encoder.encode
        encoder.encode = lambda values, real=real, key=key: calls.append(key) or real(values)
    together = pool.predict(keys, poster, PLOT)
    assert sorted(calls) == ["tiny-bert", "tiny-clip-vit"]  # fusion reused its parts' features
    for key in keys:
        assert together[key].ok and together[key].probabilities == pytest.approx(alone[key].probabilities, abs=1e-6)


def test_a_fusion_whose_plot_part_read_nothing_names_that_part(tiny_models, poster):
    answer = ModelPool().get("tiny-fusion").predict(poster=poster, plot="\u263a\u2603 \u2764")  # no known token
    assert answer.status is Status.NOTHING_READ and answer.model_key == "tiny-fusion"
    assert answer.message == ("Tiny fusion read nothing of this plot: its part Tiny BERT: every token of it is "
                              "unknown to the model; its answer would be the same for any such plot, so it gives none")


def test_fusion_settings_take_the_whole_weight_range_and_name_what_is_missing():
    from genre_models.models.families.fusion import FusionSettings
    assert FusionSettings("a", "b", 0).image_weight == 0 and FusionSettings("a", "b", 1.0).image_weight == 1.0
    with pytest.raises(ConfigError) as info:
        FusionSettings("a", "")
    assert str(info.value) == "a fusion model needs 'image_model' and 'text_model' (model keys)"
