import torch

from genre_models.models.checkpoint import GenreHead


def test_pre_logits_is_the_hidden_layer_and_logits_follow_from_it():
    torch.manual_seed(0)
    head = GenreHead(6, 4, kind="mlp", hidden=5).eval()
    x = torch.randn(3, 6)
    hidden = head(x, pre_logits=True)
    assert hidden.shape == (3, 5)
    assert torch.allclose(head(x), head.fc(hidden))
    linear = GenreHead(6, 4).eval()
    assert torch.equal(linear(x, pre_logits=True), x) and linear(x).shape == (3, 4)


def test_the_mlp_is_linear_gelu_linear():
    torch.manual_seed(0)
    head = GenreHead(6, 4, kind="mlp", hidden=5).eval()
    x = torch.randn(3, 6)
    linear = head.body[1]
    assert torch.allclose(head(x), head.fc(torch.nn.functional.gelu(linear(x))))


def test_arch_config_round_trips_and_old_configs_get_the_defaults():
    head = GenreHead(6, 4)
    assert head.arch_config() == {"kind": "linear", "in_features": 6, "num_genres": 4, "hidden": 512, "dropout": 0.0}
    mlp = GenreHead(6, 4, kind="mlp", hidden=7, dropout=0.3)
    assert GenreHead.from_arch_config(mlp.arch_config()).arch_config() == mlp.arch_config()
    assert GenreHead.from_arch_config({"in_features": 6, "num_genres": 4}).arch_config() == head.arch_config()


def test_an_unknown_kind_is_named():
    import pytest
    with pytest.raises(ValueError, match="^unknown head kind 'deep'; valid: 'linear', 'mlp'$"):
        GenreHead(6, 4, kind="deep")
    assert isinstance(GenreHead(6, 4, kind="linear").body, torch.nn.Dropout)
