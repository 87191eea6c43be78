import torch

from genre_models.models.heads import GenreHead


def test_pre_logits_is_the_hidden_layer_and_logits_follow_from_it():
    torch.manual_seed(0)
    head = GenreHead(6, 4, kind="mlp", hidden=5).eval()
    x = torch.randn(3, 6)
    hidden = head(x, pre_logits=True)
    assert hidden.shape == (3, 5)
    assert torch.allclose(head(x), head.fc(hidden))
    linear = GenreHead(6, 4).eval()
    assert torch.equal(linear(x, pre_logits=True), x) and linear(x).shape == (3, 4)
