"""Why? (comparison/explanations.py): what a model made of others says when it has no explanation of its own."""
from __future__ import annotations

from genre_models import ModelPool
from genre_models.comparison.explanations import run_explanations

PLOT = "a ghost haunted the house and the family fled ."


def test_fusion_is_explained_through_its_parts_only_when_they_are(tiny_models, poster):
    pool = ModelPool()
    both = run_explanations(pool, ["tiny-fusion", "tiny-clip-vit", "tiny-bert"], poster, PLOT)
    assert set(both.heatmaps) == {"tiny-clip-vit"} and set(both.words) == {"tiny-bert"}
    assert both.skipped == {"tiny-fusion": "explained through its parts"}
    # its parts not asked for: nothing explains it, and the note says so (not "explained through its parts")
    alone = run_explanations(pool, ["tiny-fusion"], poster, PLOT)
    assert alone.skipped == {"tiny-fusion": "its parts are not explained either: its poster part Tiny CLIP ViT: "
                                            "not chosen; its plot part Tiny BERT: not chosen"}
    no_poster = run_explanations(pool, ["tiny-fusion", "tiny-bert"], None, PLOT)
    assert no_poster.skipped == {"tiny-fusion": "explained only through its plot part Tiny BERT; its poster part "
                                                "Tiny CLIP ViT is not: needs a poster"}


def test_a_fusion_whose_poster_part_has_no_weights_is_not_called_explained(poster):
    """Issue 35: the shipped fusion's CLIP ViT-L/14 is not downloaded here; MiniLM ships with the package."""
    pool = ModelPool()
    result = run_explanations(pool, ["fusion", "minilm"], poster, PLOT)
    assert set(result.words) == {"minilm"}
    assert result.skipped == {"fusion": "explained only through its plot part MiniLM (plot); its poster part "
                                        "CLIP ViT-L/14 is not: weights not downloaded"}
    result = run_explanations(pool, ["fusion", "clip-vit-l-14"], poster, PLOT)
    assert result.skipped == {"clip-vit-l-14": "weights not downloaded",
                              "fusion": "its parts are not explained either: its poster part CLIP ViT-L/14: weights "
                                        "not downloaded; its plot part MiniLM (plot): not chosen"}
