import torch

from genre_models import prompts
from genre_models.encoders.base import TextBatch
from genre_models.encoders.clip import encode_text_trimmed
from genre_models.zero_shot import ZeroShotScorer


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
        return TextBatch(torch.nn.functional.normalize(torch.randn(len(texts), 8), dim=-1))

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
