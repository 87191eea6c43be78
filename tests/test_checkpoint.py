import json
from pathlib import Path

import pytest
import torch

from genre_models.models.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from genre_models.genres import GENRES
from genre_models.models.checkpoint import GenreHead


def _save(tmp_path, dim=12, genres=GENRES, kind="mlp"):
    torch.manual_seed(0)
    head = GenreHead(dim, len(genres), kind=kind, hidden=6)
    save_checkpoint(tmp_path, head, list(genres), {g: 0.3 for g in genres},
                    backbone={"arch": "ViT-B-16-quickgelu"}, metrics={"micro_f1": 0.5})
    return head


@pytest.mark.parametrize("kind", ["linear", "mlp"])
def test_round_trip(tmp_path, kind):
    head = _save(tmp_path, kind=kind).eval()
    loaded = load_checkpoint(tmp_path, embedding_dim=12, backbone={"arch": "ViT-B-16-quickgelu"})
    x = torch.randn(3, 12)
    assert torch.allclose(head(x), loaded.head(x))
    assert loaded.genres == GENRES and loaded.thresholds["Drama"] == pytest.approx(0.3)
    assert loaded.config["metrics"] == {"micro_f1": 0.5}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.json", "model.safetensors"]


def test_wrong_embedding_size_is_named(tmp_path):
    _save(tmp_path, dim=12)
    with pytest.raises(CheckpointError, match="12-d features but the backbone gives 768-d"):
        load_checkpoint(tmp_path, embedding_dim=768)


def test_wrong_backbone_is_named(tmp_path):
    _save(tmp_path)
    with pytest.raises(CheckpointError, match="ViT-L-14-quickgelu"):
        load_checkpoint(tmp_path, backbone={"arch": "ViT-L-14-quickgelu"})


def test_genre_mismatch_is_named(tmp_path):
    _save(tmp_path)
    config = json.loads((tmp_path / "config.json").read_text())
    config["genres"][0] = "Spaghetti"
    (tmp_path / "config.json").write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match="Spaghetti"):
        load_checkpoint(tmp_path)


def test_genre_count_mismatch_is_named(tmp_path):
    _save(tmp_path)
    config = json.loads((tmp_path / "config.json").read_text())
    config["genres"] = config["genres"][:5]
    (tmp_path / "config.json").write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match="18 outputs but config lists 5 genres"):
        load_checkpoint(tmp_path)


def test_weights_that_do_not_fit_the_config(tmp_path):
    _save(tmp_path, kind="mlp")
    config = json.loads((tmp_path / "config.json").read_text())
    config["head"]["hidden"] = 99
    (tmp_path / "config.json").write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match=r"body.1.weight: file has \(6, 12\)"):
        load_checkpoint(tmp_path)


def test_corrupt_or_pickled_weights_are_refused(tmp_path):
    _save(tmp_path)
    (tmp_path / "model.safetensors").write_bytes(b"\x80\x04 not safetensors, maybe a pickle")
    with pytest.raises(CheckpointError, match="does not match the sha256 its config.json records"):
        load_checkpoint(tmp_path)
    # with no digest recorded (an older checkpoint) the file is still never unpickled
    config = json.loads((tmp_path / "config.json").read_text())
    del config["weights_sha256"]
    (tmp_path / "config.json").write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match="not a valid safetensors file"):
        load_checkpoint(tmp_path)


def test_missing_files(tmp_path):
    with pytest.raises(CheckpointError, match="no config.json"):
        load_checkpoint(tmp_path)


def test_a_failed_write_leaves_the_old_checkpoint_intact(tmp_path):
    from genre_models.models.checkpoint import staged_checkpoint
    target = tmp_path / "ckpt"
    head = GenreHead(8, len(GENRES))
    save_checkpoint(target, head, list(GENRES), {g: 0.3 for g in GENRES})
    before = {p.name: p.read_bytes() for p in target.iterdir()}
    with pytest.raises(KeyboardInterrupt):
        with staged_checkpoint(target) as staging:
            save_checkpoint(staging, GenreHead(8, len(GENRES)), list(GENRES), {g: 0.9 for g in GENRES})
            raise KeyboardInterrupt  # Ctrl+C after writing, before the swap
    assert {p.name: p.read_bytes() for p in target.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt"]  # no partial folder left
    with staged_checkpoint(target) as staging:
        save_checkpoint(staging, GenreHead(8, len(GENRES)), list(GENRES), {g: 0.9 for g in GENRES})
    assert load_checkpoint(target).thresholds == {g: 0.9 for g in GENRES}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt"]


class _Encoder:
    """The one thing encoder_with_backbone needs: ``model``."""

    def __init__(self):
        torch.manual_seed(0)
        self.model = torch.nn.Sequential(torch.nn.Embedding(5, 4), torch.nn.Linear(4, 3))


def _finetuned(tmp_path, state):
    from safetensors.torch import save_file

    from genre_models.files import file_sha256
    path = tmp_path / "backbone.safetensors"
    save_file(state, str(path))
    return {"finetuned_backbone": path.name, "finetuned_backbone_sha256": file_sha256(path)}


def test_a_finetuned_backbone_goes_into_a_copy_of_the_encoder(tmp_path):
    from genre_models.models.finetuned_backbone import load_finetuned_encoder
    from genre_models.files import file_sha256
    base = _Encoder()
    before = {k: v.clone() for k, v in base.model.state_dict().items()}
    new_weight = torch.full((3, 4), 0.5, dtype=torch.float16)  # stored as fp16, as training saves it
    config = _finetuned(tmp_path, {"1.weight": new_weight})
    tuned, digest = load_finetuned_encoder(base, tmp_path, config)
    assert digest == file_sha256(tmp_path / "backbone.safetensors")
    assert tuned is not base and tuned.model.training is False
    assert tuned.model[1].weight.dtype == torch.float32 and torch.equal(tuned.model[1].weight, new_weight.float())
    assert torch.equal(tuned.model[0].weight, before["0.weight"])  # tensors not stored stay the base's
    assert all(torch.equal(v, before[k]) for k, v in base.model.state_dict().items())  # original untouched
    # an integer buffer keeps its dtype
    base.model.register_buffer("steps", torch.arange(3))
    config = _finetuned(tmp_path, {"steps": torch.tensor([7, 8, 9])})
    tuned, _ = load_finetuned_encoder(base, tmp_path, config)
    assert tuned.model.steps.dtype == torch.int64 and tuned.model.steps.tolist() == [7, 8, 9]


def test_a_finetuned_backbone_that_does_not_fit_is_refused(tmp_path):
    from genre_models.models.finetuned_backbone import load_finetuned_encoder
    config = _finetuned(tmp_path, {f"{i}.weight": torch.zeros(3, 4) for i in range(2, 9)})
    with pytest.raises(CheckpointError, match=r"^fine-tuned backbone backbone.safetensors not loaded: "
                                              r"tensors this backbone lacks: 2.weight, 3.weight, 4.weight, "
                                              r"5.weight, 6.weight$"):  # the first five named
        load_finetuned_encoder(_Encoder(), tmp_path, config)
    config = _finetuned(tmp_path, {"1.weight": torch.zeros(3, 4)})
    with pytest.raises(CheckpointError, match="not loaded: the file does not match the sha256 its config records$"):
        load_finetuned_encoder(_Encoder(), tmp_path, {**config, "finetuned_backbone_sha256": "0" * 64})
    with pytest.raises(CheckpointError, match="missing.safetensors not loaded"):
        load_finetuned_encoder(_Encoder(), tmp_path, {"finetuned_backbone": "missing.safetensors"})


def test_flipped_bytes_and_nan_weights_are_refused(tmp_path):
    import math

    import torch
    from safetensors.torch import load_file, save_file

    from genre_models.errors import CheckpointError
    from genre_models.models.checkpoint import load_checkpoint, read_config, save_checkpoint
    from genre_models.models.checkpoint import GenreHead
    folder = save_checkpoint(tmp_path / "ok", GenreHead(4, 2), ["Horror", "Comedy"], {"Horror": 0.5, "Comedy": 0.5})
    assert len(read_config(folder)["weights_sha256"]) == 64
    load_checkpoint(folder)  # intact: loads
    data = bytearray((folder / "model.safetensors").read_bytes())
    data[-3] ^= 0x40  # one bit of one weight: still a valid safetensors file
    (folder / "model.safetensors").write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="does not match the sha256 its config.json records"):
        load_checkpoint(folder)
    # NaN weights: refused when saving, and when loading a file written by something else
    head = GenreHead(4, 2)
    with torch.no_grad():
        head.fc.weight[0, 0] = math.nan
    with pytest.raises(CheckpointError, match="NaN or infinite weights"):
        save_checkpoint(tmp_path / "nan", head, ["Horror", "Comedy"], {"Horror": 0.5, "Comedy": 0.5})
    assert not (tmp_path / "nan" / "model.safetensors").exists()
    other = save_checkpoint(tmp_path / "other", GenreHead(4, 2), ["Horror", "Comedy"], {"Horror": 0.5, "Comedy": 0.5})
    state = load_file(str(other / "model.safetensors"))
    state["fc.weight"][0, 0] = math.inf
    save_file(state, str(other / "model.safetensors"))
    config = read_config(other)
    del config["weights_sha256"]  # as a checkpoint from an older version, with no digest
    (other / "config.json").write_text(__import__("json").dumps(config))
    with pytest.raises(CheckpointError, match="NaN or infinite weights"):
        load_checkpoint(other)


def _edit_config(folder, edit):
    config = json.loads((folder / "config.json").read_text())
    edit(config)
    (folder / "config.json").write_text(json.dumps(config))


def _refusal(folder, **kw):
    with pytest.raises(CheckpointError) as refused:
        load_checkpoint(folder, **kw)
    return str(refused.value)


def test_each_refusal_is_the_whole_sentence(tmp_path):
    """What a user reads when a checkpoint does not fit, word for word."""
    _save(tmp_path)
    assert _refusal(tmp_path, embedding_dim=768) == (
        f"checkpoint {tmp_path}: head expects 12-d features but the backbone gives 768-d; it was trained for "
        "another backbone (ViT-B-16-quickgelu)")
    assert _refusal(tmp_path, backbone={"arch": "RN50x16-quickgelu", "pretrained": "openai"}) == (
        f"checkpoint {tmp_path}: trained on backbone arch='ViT-B-16-quickgelu', but this model uses "
        "'RN50x16-quickgelu'")
    # a field the checkpoint never recorded is not held against it
    assert load_checkpoint(tmp_path, backbone={"arch": "ViT-B-16-quickgelu", "pretrained": "x"}).genres == GENRES
    _edit_config(tmp_path, lambda c: c["backbone"].clear())
    assert _refusal(tmp_path, embedding_dim=768).endswith("trained for another backbone (unknown)")
    for field in ("genres", "thresholds", "head"):
        _save(tmp_path / field)
        _edit_config(tmp_path / field, lambda c: c.pop(field))
        assert _refusal(tmp_path / field) == f"{tmp_path / field / 'config.json'} lacks the '{field}' field"


def test_genre_and_threshold_refusals_name_the_checkpoint(tmp_path):
    _save(tmp_path, genres=("Horror", "Comedy", "Drama"))
    _edit_config(tmp_path, lambda c: c["thresholds"].pop("Comedy"))
    assert _refusal(tmp_path) == f"checkpoint {tmp_path}: no threshold for Comedy"
    _edit_config(tmp_path, lambda c: c.update(genres=["Horror", "Horror", "Drama"]))
    assert _refusal(tmp_path) == (f"checkpoint {tmp_path}: genres must be canonical and unique, got "
                                  "['Horror', 'Horror', 'Drama']")
    _edit_config(tmp_path, lambda c: c.update(genres=["Horror", "Spaghetti", "Drama"]))
    assert _refusal(tmp_path).startswith(f"checkpoint {tmp_path}: ") and "Spaghetti" in _refusal(tmp_path)
    _edit_config(tmp_path, lambda c: c.update(genres=["Horror", "Comedy"], thresholds={"Horror": .5, "Comedy": .5}))
    assert _refusal(tmp_path) == f"checkpoint {tmp_path}: head has 3 outputs but config lists 2 genres"


def test_file_refusals_name_the_file(tmp_path):
    assert _refusal(tmp_path) == f"no config.json in {tmp_path}"
    _save(tmp_path)
    (tmp_path / "config.json").write_text("{not json")
    assert _refusal(tmp_path).startswith(f"{tmp_path / 'config.json'} is not valid JSON: ")
    _save(tmp_path)
    (tmp_path / "model.safetensors").unlink()
    assert _refusal(tmp_path) == f"no model.safetensors in {tmp_path}"
    _save(tmp_path)
    (tmp_path / "model.safetensors").write_bytes(b"junk")
    assert _refusal(tmp_path) == (f"{tmp_path / 'model.safetensors'} does not match the sha256 its config.json "
                                  "records: the file is corrupt or was replaced; train it again or restore it")
    _edit_config(tmp_path, lambda c: c.pop("weights_sha256"))
    assert _refusal(tmp_path).startswith(f"{tmp_path / 'model.safetensors'} is not a valid safetensors file: ")


def test_tensor_refusals_list_every_problem(tmp_path):
    from safetensors.torch import load_file, save_file
    _save(tmp_path, kind="mlp")
    state = load_file(str(tmp_path / "model.safetensors"))
    state["extra.bias"] = torch.zeros(2)
    state["body.1.bias"] = torch.full_like(state["body.1.bias"], float("nan"))
    save_file(state, str(tmp_path / "model.safetensors"))
    _edit_config(tmp_path, lambda c: c.pop("weights_sha256"))
    assert _refusal(tmp_path) == f"{tmp_path / 'model.safetensors'} has NaN or infinite weights (body.1.bias)"
    state["body.1.bias"] = torch.zeros_like(state["body.1.bias"])
    del state["body.1.weight"]
    save_file(state, str(tmp_path / "model.safetensors"))
    assert _refusal(tmp_path) == (f"checkpoint {tmp_path} does not match its config: missing body.1.weight; "
                                  "unexpected extra.bias")


def test_a_head_and_its_genres_must_agree_when_saving(tmp_path):
    with pytest.raises(CheckpointError) as refused:
        save_checkpoint(tmp_path, GenreHead(4, 3), ["Horror", "Comedy"], {"Horror": 0.5, "Comedy": 0.5})
    assert str(refused.value) == "2 genres for a head with 3 outputs"
    folder = save_checkpoint(tmp_path, GenreHead(4, 2), ("Horror", "Comedy"), {"Horror": 0.25, "Comedy": 1},
                             note="x")
    config = json.loads((folder / "config.json").read_text())
    assert config["format"] == "genrelens-head/1" and config["embedding_dim"] == 4 and config["note"] == "x"
    assert config["thresholds"] == {"Horror": 0.25, "Comedy": 1.0} and config["genres"] == ["Horror", "Comedy"]
    from safetensors import safe_open
    with safe_open(str(folder / "model.safetensors"), "pt") as weights:
        assert weights.metadata() == {"format": "pt"}
    assert (folder / "config.json").read_text().endswith("}\n")


def test_a_retrain_keeps_the_model_card_marked_as_describing_the_old_weights(tmp_path):
    """`train --model tfidf --overwrite` used to delete checkpoints/tfidf/README.md (issue 26)."""
    from conftest import registered
    from films import write_films_csv
    from genre_models import ModelSpec
    from genre_models.train import main as train
    films = write_films_csv(tmp_path / "data", n=60, with_problems=False)
    folder = tmp_path / "checkpoints" / "tiny-tfidf"
    with registered([ModelSpec("tiny-tfidf", "tfidf-text", {}, "Tiny TF-IDF", checkpoint=str(folder))]):
        assert train(["--data", str(films), "--models", "tiny-tfidf"]) == 0
        card = "# Model card: `tiny-tfidf`\n\nmicro-F1 0.61 on the test split.\n"
        (folder / "README.md").write_text(card)
        for _ in range(2):  # twice: one notice, not two
            assert train(["--data", str(films), "--models", "tiny-tfidf", "--overwrite", "--seed", "1"]) == 0
            kept = (folder / "README.md").read_text()
            assert kept.startswith("> **Retrained since this card was written (") and kept.endswith("\n\n" + card)
            assert kept.count("Retrained since") == 1 and "python tools/model_card.py" in kept


def test_the_carried_card_gets_one_dated_notice_with_the_commands_that_renew_it(tmp_path):
    import datetime

    from genre_models.models.checkpoint import CARD_NAME, carry_model_card
    old, new = tmp_path / "old", tmp_path / "new"
    old.mkdir(), new.mkdir()
    notice = (f"> **Retrained since this card was written ({datetime.date.today():%Y-%m-%d}):** the figures below "
              "describe the weights it replaced. Regenerate it from an evaluation of the new ones: `python -m "
              "genre_models.evaluate`, then `python tools/model_card.py <this folder> <its evaluation.json>`.")
    card = "# Model card: `tiny`\n\nmicro-F1 0.61 — on the test split.\n"
    (old / CARD_NAME).write_text(card, encoding="utf-8")
    carry_model_card(old, new)
    assert (new / CARD_NAME).read_text(encoding="utf-8") == notice + "\n\n" + card
    # a card that is nothing but an old notice: the new notice alone
    (old / CARD_NAME).write_text(notice.replace("(20", "(19"), encoding="utf-8")
    (new / CARD_NAME).unlink()
    carry_model_card(old, new)
    assert (new / CARD_NAME).read_text(encoding="utf-8") == notice + "\n\n"
    # a new folder that brings its own card keeps it
    (new / CARD_NAME).write_text("# its own\n", encoding="utf-8")
    carry_model_card(old, new)
    assert (new / CARD_NAME).read_text(encoding="utf-8") == "# its own\n"


@pytest.mark.parametrize("edit, said", [
    (lambda text: text.replace('"Drama": 0.3', '"Drama": NaN'), "'thresholds.Drama' is NaN"),
    (lambda text: text.replace('"micro_f1": 0.5', '"micro_f1": -Infinity'), "'metrics.micro_f1' is -Infinity"),
    (lambda text: text.replace('"Drama": 0.3', '"Drama": "0.3"'), "'thresholds.Drama' must be a number, got '0.3'"),
    (lambda text: text.replace('"Drama": 0.3', '"Drama": true'), "'thresholds.Drama' must be a number, got True"),
    (lambda text: text.replace('"in_features": 12', '"in_features": 12.0'),
     "'head.in_features' must be a whole number, got 12.0"),
    (lambda text: text.replace('"hidden": 6', '"hidden": "6"'), "'head.hidden' must be a whole number, got '6'"),
    (lambda text: text.replace('"dropout": 0.0', '"dropout": false'), "'head.dropout' must be a number, got False"),
    (lambda text: text.replace('"embedding_dim": 12', '"embedding_dim": Infinity'), "'embedding_dim' is Infinity"),
])
def test_config_numbers_are_finite_and_typed_named_by_field(tmp_path, edit, said):
    """Issue 33, item 17: NaN was read as a float, "0.3" converted silently; a NaN threshold predicts nothing."""
    _save(tmp_path)
    path = tmp_path / "config.json"
    path.write_text(edit(path.read_text()))
    assert said in _refusal(tmp_path)
