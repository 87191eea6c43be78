import pytest
import torch

from genre_models.models import prompts
from genre_models.models.families.clip import encode_text_trimmed
from genre_models.models.zero_shot import ZeroShotScorer


def test_prompts_are_data_and_neutral_reads_well():
    assert len(prompts.POSTER_TEMPLATES) == 7
    assert prompts.poster_prompts("Sci-Fi")[0] == "a poster of a science fiction movie."
    assert prompts.poster_prompts("")[0] == "a poster of a movie."
    assert all("  " not in p for p in prompts.poster_prompts("") + prompts.plot_prompts(""))
    assert prompts.poster_prompts("space opera")[3] == "a space opera movie poster."


def test_genre_embeddings_are_cached_per_genre():
    seen = []

    def encode(texts):
        seen.extend(texts)
        return torch.nn.functional.normalize(torch.randn(len(texts), 8), dim=-1)

    scorer = ZeroShotScorer(encode, prompts.poster_prompts, scale=100.0)
    features = torch.nn.functional.normalize(torch.randn(2, 8), dim=-1)
    first = scorer.probabilities(features, ["Horror", "Comedy"])
    calls = len(seen)
    again = scorer.probabilities(features, ["Comedy", "Horror"])
    assert len(seen) == calls  # nothing embedded twice
    assert torch.allclose(first[:, 0], again[:, 1])
    scorer.probabilities(features, ["Horror", "Western"])
    assert len(seen) == calls + len(prompts.POSTER_TEMPLATES)  # only the new genre


def test_trimmed_text_tower_matches_open_clip(tiny_clip_configs):
    import open_clip
    for name in tiny_clip_configs:
        model = open_clip.create_model(name, pretrained=None).eval()
        tokens = open_clip.get_tokenizer(name)(["a poster of a horror movie.", "a movie poster."])
        with torch.no_grad():
            full = model.encode_text(tokens)
            trimmed = encode_text_trimmed(model, tokens)
        assert torch.allclose(full, trimmed, atol=1e-5)


def test_probability_is_the_margin_over_the_neutral_prompt():
    """p = sigmoid(scale * (cos(x, genre) - cos(x, neutral)) + bias), computed by hand."""
    vectors = {"": [1.0, 0.0, 0.0], "horror": [0.0, 1.0, 0.0], "comedy": [0.6, 0.8, 0.0]}

    def encode(texts):  # every prompt of a genre embeds to that genre's vector
        rows = [vectors[next(k for k in ("horror", "comedy") if k in t) if any(
            k in t for k in ("horror", "comedy")) else ""] for t in texts]
        return torch.tensor(rows)

    scorer = ZeroShotScorer(encode, prompts.poster_prompts, scale=10.0, bias=-0.5)
    x = torch.nn.functional.normalize(torch.tensor([[0.8, 0.6, 0.0], [0.0, 0.0, 1.0]]), dim=-1)
    probs = scorer.probabilities(x, ["Horror", "Comedy"])
    neutral = torch.tensor(vectors[""])
    for i in range(2):
        for j, name in enumerate(("horror", "comedy")):
            margin = x[i] @ torch.tensor(vectors[name]) - x[i] @ neutral
            assert probs[i, j].item() == pytest.approx(torch.sigmoid(10.0 * margin - 0.5).item(), abs=1e-6)
    # a film orthogonal to every prompt sits at sigmoid(bias), whatever the genre
    assert probs[1].tolist() == pytest.approx([torch.sigmoid(torch.tensor(-0.5)).item()] * 2, abs=1e-6)
    # the neutral prompt matters: the first film leans to "a movie" more than to horror
    assert probs[0, 0] < 0.5 < probs[0, 1]


def test_the_genre_cache_is_bounded_and_keeps_what_is_asked_again():
    import torch

    from genre_models.models.zero_shot import ZeroShotScorer
    calls = []

    def encode(texts):
        calls.append(list(texts))
        torch.manual_seed(len(calls))
        return torch.nn.functional.normalize(torch.randn(len(texts), 8), dim=-1)

    scorer = ZeroShotScorer(encode, lambda g: [f"a {g} film"], scale=10.0, max_cached=4)
    x = torch.nn.functional.normalize(torch.randn(2, 8), dim=-1)
    first = scorer.probabilities(x, ["Horror"])
    for g in ["a", "b", "c", "d", "e"]:  # more custom genres than the cache holds
        scorer.probabilities(x, [g])
        scorer.probabilities(x, ["Horror"])  # asked again each time: stays cached
    assert len(scorer._cache) == 4
    assert "Horror" in scorer._cache and "" in scorer._cache and "a" not in scorer._cache
    assert torch.equal(scorer.probabilities(x, ["Horror"]), first)  # same embedding, never recomputed
    assert sum("a Horror film" in c for c in calls) == 1


def test_prompts_are_embedded_by_warm_up_not_by_a_plain_load(tiny_models):
    from genre_models import ModelPool
    from genre_models.genres import GENRES
    predictor = ModelPool().get("tiny-bert")
    predictor.load()  # a one-off trained-head answer (the CLI) never needs the genre prompts
    assert len(predictor.scorer._cache) == 0
    predictor.warm_up()  # what the app runs in the background
    assert set(predictor.scorer._cache) == set(GENRES) | {""}
    assert predictor.predict(plot="a ghost haunted the house .", mode="zero-shot").ok


def test_the_app_warms_the_lineup_up_in_the_background(tiny_models):
    import threading

    import app
    from genre_models import ModelPool
    from genre_models.genres import GENRES
    pool = ModelPool()
    app.preload(pool, ["tiny-bert", "tiny-clip-vit"])
    for thread in threading.enumerate():
        if thread.name == "preload-models":
            thread.join(60)
    # the 18 genres and the neutral prompt, for each model
    assert all(len(pool.get(k).scorer._cache) == len(GENRES) + 1 for k in ("tiny-bert", "tiny-clip-vit"))


def test_prompt_templates_are_averaged_then_renormalised():
    """Two unit prompt embeddings at 90°: their mean has norm 0.71; the cached genre embedding must be
    back on the unit sphere, or cosines (and so every zero-shot logit) shrink with the prompt count."""
    vectors = {"a western": torch.tensor([1.0, 0.0, 0.0]), "a cowboy film": torch.tensor([0.0, 1.0, 0.0]),
               "a film": torch.tensor([0.0, 0.0, 1.0])}
    prompts = {"Western": ["a western", "a cowboy film"], "": ["a film"]}
    scorer = ZeroShotScorer(lambda texts: torch.stack([vectors[t] for t in texts]), lambda g: prompts[g], 10.0)
    (embedding,) = scorer.genre_embeddings(["Western"])
    expected = torch.tensor([1.0, 1.0, 0.0]) / 2 ** 0.5
    assert torch.allclose(embedding, expected) and abs(float(embedding.norm()) - 1.0) < 1e-6
    # a poster exactly on that direction is at cosine 1 with the genre and 0 with the neutral prompt
    logit = scorer.logits(expected.unsqueeze(0), ["Western"])
    assert torch.allclose(logit, torch.tensor([[10.0]]))
