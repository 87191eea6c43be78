"""Trained heads from a hub repo (``GENRELENS_HEADS``, ``--heads``, ``hf-hub:`` checkpoints), through a loopback hub.

The heads repo is what ``reproduce --out DIR`` writes (a tiny BiT trained here on synthetic films),
plus a copy of the shipped MiniLM head, served as it is with ``LoopbackHub(folders=...)``. Every
command runs in its own process with an empty ``HF_HOME``, as a user's would; "offline" points
``HF_ENDPOINT`` at a closed port. The MiniLM backbone is the real one (an offline package), so its
answers from the hub copy must equal its answers from the shipped folder.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from app_server import app_process, free_port
from films import write_films_csv
from genre_models.commands import command
from genre_models.errors import ConfigError
from tests.support.loopback_hub import LoopbackHub
from genre_models.models import hub
from genre_models.models.hub import HEADS_ENV
from genre_models.models.registry import ModelSpec, get_model_spec, unregister_model

ROOT = Path(__file__).resolve().parent.parent
HUB_CLI = ROOT / "tests" / "hub_cli.py"
REPO, BAD_REPO = "genrelens-test/heads", "genrelens-test/bad-heads"
PLOT = "A ghost haunts the old house where two strangers fall in love."
TINY_BIT = {"family": "timm-image", "arch": "resnetv2_50x1_bit", "display_name": "Heads BiT",
            "model_kwargs": {"channels": [128, 128, 128, 128], "pretrained_cfg_overlay": {"input_size": [3, 64, 64]}}}


# -- the forms a checkpoint or --heads may take ---------------------------------------------------------
def test_hub_checkpoint_forms():
    assert hub.parse_hub_folder("hf-hub:me/heads/minilm", "x") == hub.HubFolder("me/heads", "minilm")
    assert hub.parse_hub_folder("hf-hub:me/heads", "minilm") == hub.HubFolder("me/heads", "minilm")
    assert str(hub.parse_hub_folder("hf-hub:me/heads/a/b", "k")) == "hf-hub:me/heads/a/b"
    for bad in ("hf-hub:me", "hf-hub:me/heads/../x", "hf-hub:/heads", "hf-hub:me/he ads"):
        with pytest.raises(ConfigError, match="hf-hub:OWNER/REPO|OWNER/NAME"):
            hub.parse_hub_folder(bad, "k")
    # a malformed id is refused when the model is declared, not at its first request
    with pytest.raises(ConfigError, match="OWNER/NAME"):
        ModelSpec("k", "tfidf-text", {}, checkpoint="hf-hub:nobody")
    spec = ModelSpec("k", "tfidf-text", {}, checkpoint="hf-hub:me/heads")
    assert spec.checkpoint_dir() is None and spec.hub_folder() == hub.HubFolder("me/heads", "k")


def test_heads_repo_applies_only_where_no_local_model(monkeypatch, tmp_path):
    monkeypatch.setenv(HEADS_ENV, "")  # recorded: --heads below changes os.environ, undone after
    local = ModelSpec("k", "tfidf-text", {}, checkpoint=str(tmp_path / "k"))
    assert local.hub_folder() is None
    hub.use_heads_repo("me/heads")  # --heads
    assert os.environ[HEADS_ENV] == "me/heads"
    assert local.hub_folder() == hub.HubFolder("me/heads", "k")
    (tmp_path / "k").mkdir()
    (tmp_path / "k" / "config.json").write_text("{}")
    assert local.hub_folder() is None  # a local trained model wins
    assert ModelSpec("n", "tfidf-text", {}, checkpoint=None).hub_folder() is None  # "no head" asked
    monkeypatch.setenv(HEADS_ENV, "not a repo")
    with pytest.raises(ConfigError, match="GENRELENS_HEADS"):
        hub.use_heads_repo(None)


# -- through the loopback hub ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def heads(tmp_path_factory):
    """(hub, folder): a heads repo as ``reproduce --out`` writes it, a copy with a corrupted MiniLM
    head, and a model config where MiniLM and the tiny BiT have no local head."""
    from genre_models import reproduce as reproduce_cli
    folder = tmp_path_factory.mktemp("heads")
    spec = ModelSpec("heads-bit", settings={k: v for k, v in TINY_BIT.items() if k not in ("family", "display_name")},
                     family="timm-image", display_name="Heads BiT", checkpoint=str(folder / "unused"))
    from genre_models.models.registry import register_model
    register_model(spec, overwrite=True)
    try:
        films = write_films_csv(folder / "films", n=60)
        out = folder / "out"
        assert reproduce_cli.main(["--data", str(films), "--models", "heads-bit", "--out", str(out), "--epochs", "2",
                                   "--no-progress", "--num-workers", "0", "--cache-dir", str(folder / "cache")]) == 0
    finally:
        unregister_model("heads-bit")
    assert (out / "heads-bit" / "model.safetensors").is_file() and (out / "heads-bit" / "README.md").is_file()
    shutil.copytree(ROOT / "checkpoints" / "minilm", out / "minilm")
    bad = folder / "bad"
    shutil.copytree(out, bad)
    weights = bad / "minilm" / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0xFF  # one flipped bit of a float: still a valid safetensors file, only the digest tells
    weights.write_bytes(bytes(data))
    absent = folder / "absent"  # the local checkpoint folders: none holds a head
    config = folder / "models.json"
    config.write_text(json.dumps({"models": [
        {"key": "heads-bit", **TINY_BIT, "checkpoint": str(absent / "heads-bit")},
        {"key": "heads-bit-none", **TINY_BIT, "checkpoint": str(absent / "heads-bit-none")},
        {"key": "minilm", "checkpoint": str(absent / "minilm")}]}))
    (folder / "empty-root").mkdir()
    with LoopbackHub(folder / "empty-root", folders={REPO: out, BAD_REPO: bad}) as hub:
        yield hub, folder, config


def _run(folder: Path, endpoint: str, hf_home: str, *args: str, env: dict | None = None):
    environment = {**os.environ, "HF_HOME": str(folder / hf_home), "HF_ENDPOINT": endpoint, "HF_HUB_OFFLINE": "0",
                   "HF_HUB_DISABLE_TELEMETRY": "1"}
    environment.pop(HEADS_ENV, None)  # only what the test sets
    environment.update(env or {})
    return subprocess.run([sys.executable, str(HUB_CLI), *args], cwd=ROOT, env=environment, capture_output=True,
                          text=True, timeout=600)


def _predict(folder, endpoint, hf_home, config, *args, env=None):
    result = _run(folder, endpoint, hf_home, "predict", "--model-config", str(config), "--poster",
                  str(folder / "films" / "posters" / "f5.png"), "--plot", PLOT, "--json", *args, env=env)
    assert result.stdout, result.stderr
    return json.loads(result.stdout), result


@pytest.fixture(scope="module")
def local_minilm(heads):
    """MiniLM's answer from the shipped folder (no heads repo, no model config): what the hub copy must give."""
    hub, folder, _ = heads
    result = _run(folder, hub.endpoint, "hf_local", "predict", "--models", "minilm", "--plot", PLOT, "--json")
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)["minilm"]
    assert answer["mode"] == "trained"
    return answer


def test_predict_reads_heads_from_the_repo_then_offline_from_the_cache(heads, local_minilm):
    hub, folder, config = heads
    closed = f"http://127.0.0.1:{free_port()}"
    keys = ["minilm", "heads-bit"]
    # download prefetches the heads beside the backbones
    fetched = _run(folder, hub.endpoint, "hf_a", "download", "--model-config", str(config), "--heads", REPO, "--models", *keys)
    assert fetched.returncode == 0, fetched.stderr
    assert f"[minilm] hf-hub:{REPO}/minilm: in the cache" in fetched.stdout
    assert f"[heads-bit] hf-hub:{REPO}/heads-bit: in the cache" in fetched.stdout
    # offline now: the cached heads answer in trained mode
    answers, result = _predict(folder, closed, "hf_a", config, "--heads", REPO, "--models", *keys)
    assert result.returncode == 0, result.stderr
    assert {k: (a["status"], a["mode"]) for k, a in answers.items()} == {k: ("ok", "trained") for k in keys}, answers
    assert answers["minilm"]["probabilities"] == pytest.approx(local_minilm["probabilities"], abs=1e-6)
    assert answers["minilm"]["predicted"] == local_minilm["predicted"]
    # without the heads repo, the same models have no head: it was the repo that answered
    bare, _ = _predict(folder, closed, "hf_a", config, "--models", *keys, "--mode", "trained")
    assert {k: a["status"] for k, a in bare.items()} == {k: "unavailable" for k in keys}


def test_predict_fetches_heads_itself_and_a_missing_subfolder_is_no_head(heads, local_minilm):
    hub, folder, config = heads
    # GENRELENS_HEADS as a Space owner sets it, instead of --heads
    answers, result = _predict(folder, hub.endpoint, "hf_b", config, "--models", "minilm", "heads-bit-none",
                               "--mode", "trained", env={HEADS_ENV: REPO})
    assert answers["minilm"]["status"] == "ok" and answers["minilm"]["mode"] == "trained"
    assert answers["minilm"]["probabilities"] == pytest.approx(local_minilm["probabilities"], abs=1e-6)
    none = answers["heads-bit-none"]
    # the repo has no heads-bit-none/: "no trained head" on that card, not an error
    assert none["status"] == "unavailable", none
    assert f"no trained genre head in hf-hub:{REPO}/heads-bit-none" in none["message"]
    assert "Traceback" not in result.stderr


def test_a_head_whose_bytes_do_not_match_its_sha256_is_refused(heads):
    hub, folder, config = heads
    answers, result = _predict(folder, hub.endpoint, "hf_c", config, "--heads", BAD_REPO, "--models", "minilm",
                               "--mode", "trained")
    answer = answers["minilm"]
    assert answer["status"] == "unavailable" and answer["mode"] != "trained"
    assert "does not match the sha256 its config.json records" in answer["message"]
    assert "\n" not in answer["message"] and "Traceback" not in result.stderr
    # auto mode: MiniLM answers zero-shot instead, and its card says why the head was not used
    answers, _ = _predict(folder, hub.endpoint, "hf_c", config, "--heads", BAD_REPO, "--models", "minilm")
    assert answers["minilm"]["mode"] == "zero-shot" and "sha256" in answers["minilm"]["message"]


def test_offline_and_never_downloaded_says_how_to_fetch(heads):
    hub, folder, config = heads
    closed = f"http://127.0.0.1:{free_port()}"
    answers, _ = _predict(folder, closed, "hf_d", config, "--heads", REPO, "--models", "minilm", "--mode", "trained")
    assert answers["minilm"]["status"] == "unavailable"
    assert command("download", "--heads", REPO) in answers["minilm"]["message"]
    fetched = _run(folder, closed, "hf_d", "download", "--model-config", str(config), "--heads", REPO, "--models", "minilm")
    assert fetched.returncode == 1 and "is not downloaded" in fetched.stderr


def test_app_answers_from_the_heads_repo(heads, local_minilm):
    from gradio_client import handle_file
    hub, folder, config = heads
    env = {**os.environ, "HF_HOME": str(folder / "hf_app"), "HF_ENDPOINT": hub.endpoint, "HF_HUB_OFFLINE": "0",
           HEADS_ENV: REPO}
    with app_process(["--model-config", str(config), "--models", "minilm", "heads-bit"], env, free_port(),
                     timeout=240) as client:
        result = client.predict(poster=handle_file(str(folder / "films" / "posters" / "f5.png")), plot=PLOT,
                                models=["minilm", "heads-bit"], mode="auto", threshold=None, custom_genres="",
                                api_name="/compare")
        assert {k: (a["status"], a["mode"]) for k, a in result["models"].items()} == \
            {"minilm": ("ok", "trained"), "heads-bit": ("ok", "trained")}, result["models"]
        answer = result["models"]["minilm"]
        assert answer["probabilities"] == pytest.approx(local_minilm["probabilities"], abs=1e-6)


def test_loopback_hub_serves_a_folder_as_a_repo(heads):
    hub, folder, _ = heads
    files = hub.index.files(REPO)
    assert {"minilm/config.json", "minilm/model.safetensors", "heads-bit/README.md"} <= set(files)
    assert hub.index.files(BAD_REPO)["minilm/model.safetensors"].sha256 != files["minilm/model.safetensors"].sha256
    assert get_model_spec("minilm").checkpoint == "checkpoints/minilm"  # the module's config ran in subprocesses
