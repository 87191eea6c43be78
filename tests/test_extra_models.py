"""Models added by hub id (models/extra_models.py), through a loopback hub serving a tiny model of each kind:
an open_clip repo (``hf-hub:``), a timm ImageNet classifier (timm's own ``test_resnet.r160_in1k``, built at
its full, small size) and a BERT-style text encoder; plus the refusals, the CLI, the API and the page."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from app_server import app_process, free_port
from conftest import TINY_TEXT_CFG
from genre_models.errors import InvalidInputError
from tests.support.loopback_hub import LoopbackHub, write_repo_marker
from genre_models.models.extra_models import ExtraModels, parse_extra_model, split_ids

ROOT = Path(__file__).resolve().parent.parent
CLIP_ID, TIMM_ID, TEXT_ID = "hf-hub:genrelens-test/tiny-openclip", "timm/test_resnet.r160_in1k", "genrelens-test/tiny-bert-extra"
PLOT = "A ghost haunts the old house where two strangers fall in love."


@pytest.mark.parametrize("text, family", [(CLIP_ID, "clip"), (TIMM_ID, "timm-image"),
                                          ("timm/resnetv2_50x1_bit.goog_in21k", "timm-image"), (TEXT_ID, "hf-text")])
def test_accepted_forms_map_to_the_registered_families(text, family):
    spec = parse_extra_model(f"  {text} ")
    assert spec.key == text and spec.family == family and spec.checkpoint is None
    assert spec.zero_shot


@pytest.mark.parametrize("text", ["", "../etc/passwd", "/etc/passwd", "hf-hub:../x", "hf-hub:onlyname", "a/b/c",
                                  "x; rm -rf /", "timm/", "timm/No_Such_Model", "timm/vit_base_patch16_clip_224.openai",
                                  "tests/golden", "https://huggingface.co/x/y", "hf-hub:a/b/../c", "~/models"])
def test_malformed_unknown_or_unsupported_ids_are_one_line_naming_the_forms(text):
    with pytest.raises(InvalidInputError) as info:
        parse_extra_model(text)
    message = str(info.value)
    assert "\n" not in message and "hf-hub:ORG/NAME" in message and "timm/NAME" in message


def test_at_most_three_added_models_per_request():
    assert split_ids("a/b, c/d\n e/f") == ["a/b", "c/d", "e/f"]
    assert split_ids("not an id") == ["not an id"]  # one id with spaces: one refusal, not three models
    with pytest.raises(InvalidInputError, match="at most 3"):
        split_ids(["a/b", "c/d", "e/f", "g/h"])


# -- ids the Hub library refuses (issue 33, item 15): refused here, that id only -----------------------------------
REFUSED_BY_THE_HUB = ["org/a--b", "org/name.git", "org/..", "org/a..b", "org/" + "x" * 97, "org/-x", "org/x-", "org/.x",
                      "org/x.", "hf-hub:org/a--b", "hf-hub:org/name.git", "timm/a--b", "org/café", "org/a b", "org/"]


@pytest.mark.parametrize("text", REFUSED_BY_THE_HUB)
def test_an_id_the_hub_library_refuses_is_refused_here_naming_why(text):
    with pytest.raises(InvalidInputError) as info:
        parse_extra_model(text)
    message = str(info.value)
    assert "\n" not in message and "is not a hub id (" in message and "hf-hub:ORG/NAME" in message


def test_every_id_accepted_here_is_one_the_hub_library_accepts():
    """The kind, not the examples: every short id over the characters that matter, through both checks."""
    import itertools
    from huggingface_hub.errors import HFValidationError
    from huggingface_hub.utils import validate_repo_id
    accepted = 0
    for name in map("".join, itertools.product("a-._", repeat=3)):
        for text in (f"org/{name}", f"hf-hub:org/{name}", f"{name}/x"):
            try:
                spec = parse_extra_model(text)
            except InvalidInputError:
                continue
            accepted += 1
            repo = spec.settings.arch[len("hf-hub:"):] if spec.family == "clip" else spec.settings.source
            try:
                validate_repo_id(repo)
            except HFValidationError as exc:
                pytest.fail(f"{text!r} accepted here, refused by huggingface_hub: {exc}")
    assert accepted > 20  # the well-formed ones still pass


def test_a_refused_id_costs_that_id_only_and_the_lineup_answers(tiny_models):
    """Compare used to fail whole (HFValidationError out of the cache lookup) and the lineup never answered."""
    from genre_models import ModelPool, Status
    from genre_models.comparison.compare import run_comparison
    comparison = run_comparison(ModelPool(), ["tiny-bert"], plot=PLOT, extra_models="org/a--b, org/name.git")
    answers = comparison.predictions
    assert answers["tiny-bert"].ok
    assert answers["org/a--b"].status is Status.INVALID_INPUT and "Cannot have -- or .." in answers["org/a--b"].message
    assert answers["org/name.git"].status is Status.INVALID_INPUT and ".git" in answers["org/name.git"].message


def test_a_library_failure_setting_up_one_added_model_costs_that_model_only(tiny_models, monkeypatch, caplog):
    import huggingface_hub
    from genre_models import ModelPool, Status
    from genre_models.comparison.compare import run_comparison

    def refuse(repo_id, filename, **kwargs):  # the cache lookup itself failing, as HFValidationError did
        raise ValueError(f"cannot look up {repo_id}")

    monkeypatch.setattr(huggingface_hub, "try_to_load_from_cache", refuse)
    comparison = run_comparison(ModelPool(), ["tiny-bert"], plot=PLOT, extra_models=["org/fine-name"])
    assert comparison.predictions["tiny-bert"].ok
    added = comparison.predictions["org/fine-name"]
    assert added.status is Status.ERROR and added.message == "'org/fine-name' could not be added (ValueError)"
    assert "cannot look up org/fine-name" in caplog.text  # the traceback goes to the log, not the card


def test_an_added_models_config_with_nan_is_refused_naming_the_field(tiny_bert_dir, tmp_path):
    """Issue 33, item 17: transformers reads NaN from config.json; the model then answered NaN and was told
    "corrupt weights?". Offline, from the Hugging Face cache as a download leaves it."""
    snapshot = tmp_path / "hf_home" / "hub" / "models--org--nan-bert" / "snapshots" / ("0" * 40)
    shutil.copytree(tiny_bert_dir, snapshot)
    (snapshot.parent.parent / "refs").mkdir()
    (snapshot.parent.parent / "refs" / "main").write_text("0" * 40)
    config = json.loads((snapshot / "config.json").read_text())
    (snapshot / "config.json").write_text(json.dumps({**config, "layer_norm_eps": "@"}).replace('"@"', "NaN"))
    env = {**_env("http://127.0.0.1:9", tmp_path / "hf_home"), "HF_HUB_OFFLINE": "1"}
    result = _predict(env, "--extra-model", "org/nan-bert", "--json")
    answer = json.loads(result.stdout)["org/nan-bert"]
    assert answer["status"] == "unavailable", answer
    assert "its config.json cannot be used ('layer_norm_eps' is NaN" in answer["message"]
    assert "corrupt" not in answer["message"]


# -- through the loopback hub ------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def extra_hub(tmp_path_factory, tiny_bert_dir):
    """The three tiny repos, served on 127.0.0.1; an empty HF_HOME per test module."""
    import open_clip
    import timm
    import torch
    from safetensors.torch import save_file
    root = tmp_path_factory.mktemp("extra_repos")
    clip = root / "genrelens-test" / "tiny-openclip"
    clip.mkdir(parents=True)
    cfg = {"embed_dim": 16, "quick_gelu": True, "text_cfg": TINY_TEXT_CFG,
           "vision_cfg": {"image_size": 32, "layers": 2, "width": 32, "patch_size": 16, "head_width": 16}}
    (clip / "open_clip_config.json").write_text(json.dumps({"model_cfg": cfg, "preprocess_cfg": {}}))
    torch.manual_seed(0)
    model = open_clip.CLIP(**cfg)
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(clip / "open_clip_model.safetensors"))
    resnet = root / "timm" / "test_resnet.r160_in1k"
    resnet.mkdir(parents=True)
    classifier = timm.create_model("test_resnet.r160_in1k", pretrained=False)
    save_file({k: v.contiguous() for k, v in classifier.state_dict().items()}, str(resnet / "model.safetensors"))
    text = root / TEXT_ID
    shutil.copytree(tiny_bert_dir, text)
    for folder in (clip, resnet, text):
        write_repo_marker(folder)
    with LoopbackHub(root) as hub:
        yield hub


def _env(endpoint: str, hf_home: Path) -> dict:
    import os
    return {**os.environ, "HF_HOME": str(hf_home), "HF_ENDPOINT": endpoint, "HF_HUB_OFFLINE": "0",
            "HF_HUB_DISABLE_TELEMETRY": "1", "TOKENIZERS_PARALLELISM": "false"}


def _predict(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "genre_models.predict", "--models", "minilm", "--plot", PLOT, *args],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)


def test_each_kind_answers_beside_the_lineup_then_offline_from_the_cache(extra_hub, tmp_path, poster):
    hf_home = tmp_path / "hf_home"
    added = ["--extra-model", CLIP_ID, "--extra-model", TIMM_ID, "--extra-model", TEXT_ID]
    result = _predict(_env(extra_hub.endpoint, hf_home), "--poster", str(poster), *added, "--json")
    assert result.returncode == 0, result.stderr
    answers = json.loads(result.stdout)
    assert list(answers) == ["minilm", CLIP_ID, TIMM_ID, TEXT_ID]
    assert {k: a["status"] for k, a in answers.items()} == dict.fromkeys(answers, "ok"), \
        {k: a["message"] for k, a in answers.items()}
    assert all(a["mode"] == "zero-shot" for k, a in answers.items() if k != "minilm")
    assert answers[TIMM_ID]["method"] == "ConSE, ImageNet-1k labels"
    assert all(len(a["probabilities"]) == 18 for a in answers.values())
    # each model's size came from the hub's model info before its first file was fetched
    log = [(r.method, r.path) for r in extra_hub.requests]
    for repo in ("genrelens-test/tiny-openclip", "timm/test_resnet.r160_in1k", TEXT_ID):
        info = log.index(("GET", f"/api/models/{repo}"))
        first_file = next(i for i, (_, path) in enumerate(log) if path.startswith(f"/{repo}/resolve/"))
        assert info < first_file

    closed = f"http://127.0.0.1:{free_port()}"  # offline: what is cached answers, anything else is "not downloaded"
    offline = _predict(_env(closed, hf_home), "--poster", str(poster), "--extra-model", TIMM_ID,
                       "--extra-model", "timm/resnet18.a1_in1k", "--json")
    answers = json.loads(offline.stdout)
    assert answers[TIMM_ID]["status"] == "ok"
    assert answers["timm/resnet18.a1_in1k"]["status"] == "unavailable"
    assert "not downloaded" in answers["timm/resnet18.a1_in1k"]["message"]


def test_over_the_size_limit_is_refused_before_any_download(extra_hub, tmp_path):
    extra_hub.clear_log()
    result = _predict(_env(extra_hub.endpoint, tmp_path / "hf_home"), "--extra-model", TEXT_ID,
                      "--max-extra-model-gb", "0.000001", "--json")
    answer = json.loads(result.stdout)[TEXT_ID]
    assert answer["status"] == "unavailable" and "over the 1e-06 GB limit" in answer["message"]
    assert not [r for r in extra_hub.requests if "/resolve/" in r.path or r.path.startswith("/cdn/")]
    assert not (tmp_path / "hf_home" / "hub" / f"models--{TEXT_ID.replace('/', '--')}").exists()


def test_a_malformed_id_on_the_command_line_is_a_usage_error(tmp_path):
    result = _predict(_env("http://127.0.0.1:9", tmp_path), "--extra-model", "../../etc")
    assert result.returncode == 2 and result.stderr.count("\n") == 1 and "hf-hub:ORG/NAME" in result.stderr


def test_least_recently_used_model_is_unloaded_past_the_limit(tiny_models, monkeypatch):
    import genre_models.models.extra_models as extra
    monkeypatch.setattr(extra, "check_fetchable", lambda spec, max_gb: 0)  # no hub here: the bound alone
    models = ExtraModels(max_loaded=2)
    specs = [parse_extra_model(i) for i in ("a/one", "b/two", "c/three")]
    first = models.predictor(specs[0])
    models.predictor(specs[1])
    assert models.predictor(specs[0]) is first  # used again: now the most recent
    models.predictor(specs[2])
    assert models.loaded == ["a/one", "c/three"]


def test_api_and_page_add_a_model(extra_hub, tmp_path, poster):
    from gradio_client import handle_file
    from playwright.sync_api import sync_playwright
    from test_app_browser import ARGS, CHROMIUM
    env = _env(extra_hub.endpoint, tmp_path / "hf_home")
    with app_process(["--models", "minilm", "--no-preload"], env, port := free_port()) as client:
        result = client.predict(poster=handle_file(str(poster)), plot=PLOT, models=["minilm"], mode="auto",
                                threshold=None, custom_genres="", extra_models=[TIMM_ID], api_name="/compare")
        assert result["models"][TIMM_ID]["status"] == "ok" and result["models"][TIMM_ID]["method"].startswith("ConSE")
        refused = client.predict(poster=None, plot=PLOT, models=["minilm"], mode="auto", threshold=None,
                                 custom_genres="", extra_models=["/etc/passwd"], api_name="/compare")
        assert refused["models"]["/etc/passwd"]["status"] == "invalid_input"
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            page = browser.new_page()
            page.goto(f"http://127.0.0.1:{port}/")
            page.wait_for_selector("#extra-models")
            page.fill("#plot textarea", PLOT)
            page.fill("#extra-models textarea, #extra-models input", TEXT_ID)
            page.click("#add-model")
            page.wait_for_function("document.querySelector('#card-added-0').innerText.includes('Predicts')",
                                   timeout=120_000)
            card = page.inner_text("#card-added-0")
            assert TEXT_ID in card and "transformers text encoder" in card and "zero-shot" in card
            assert page.is_visible("#card-added-0") and not page.is_visible("#card-added-1")
            browser.close()


def test_an_added_models_card_shows_its_id_as_typed():
    """A Markdown code span keeps backslash escapes: the card showed timm/resnet50.a1\\_in1k (found trying the page);
    an id such as www.x or ![p](http://...) became a link or an image (issue 33)."""
    import html

    import app
    from genre_models.models.prediction import Prediction, Status
    refused = Prediction.failed("timm/resnet50.a1_in1k", Status.UNAVAILABLE, "weights not downloaded")
    _, card = app.added_card(refused, "timm/resnet50.a1_in1k", 5, False)
    about = card.split("**Not added:**")[0]
    assert "<code>timm/resnet50.a1_in1k</code>" in html.unescape(about) and "\\_" not in about
    for typed in ("<b>x</b>", "![p](http://127.0.0.1:9/p.png)", "www.example.test"):
        _, hostile = app.added_card(refused, typed, 5, False)
        assert f"<code>{typed}</code>" in html.unescape(hostile)
        assert not any(mark in hostile for mark in ("<b>", "](", "://", "www."))


# -- issue 35, item 3: `download` fetches an added model before going offline ------------------------------------

def _download(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "genre_models", "download", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600)


def test_a_presenter_fetches_added_models_with_the_cards_own_command_then_they_answer_offline(extra_hub, tmp_path,
                                                                                             poster):
    from genre_models.commands import command
    hf_home, closed = tmp_path / "hf_home", f"http://127.0.0.1:{free_port()}"
    # offline and never fetched: the card names the command that fetches it
    before = json.loads(_predict(_env(closed, hf_home), "--extra-model", TIMM_ID, "--json").stdout)[TIMM_ID]
    assert before["status"] == "unavailable" and before["fix"] == command("download", "--models", TIMM_ID)
    # that command, pasted in the repository's folder on a machine with the hub, then the other two forms
    extra_hub.clear_log()
    fetched = subprocess.run(["bash", "-c", before["fix"]], cwd=ROOT, env=_env(extra_hub.endpoint, hf_home),
                             capture_output=True, text=True, timeout=600)
    assert fetched.returncode == 0 and f"[{TIMM_ID}] timm/test_resnet.r160_in1k: " in fetched.stdout, fetched.stderr
    both = _download(_env(extra_hub.endpoint, hf_home), "--models", CLIP_ID, TEXT_ID)
    assert both.returncode == 0, both.stderr
    # each size was read from the hub's model info before its first file, as the page does
    log = [(r.method, r.path) for r in extra_hub.requests]
    for repo in ("timm/test_resnet.r160_in1k", "genrelens-test/tiny-openclip", TEXT_ID):
        first_file = next(i for i, (_, path) in enumerate(log) if path.startswith(f"/{repo}/resolve/"))
        assert log.index(("GET", f"/api/models/{repo}")) < first_file
    again = _download(_env(extra_hub.endpoint, hf_home), "--models", TIMM_ID)
    assert again.returncode == 0 and "already in the cache" in again.stdout and "fetched 0.0 MB" in again.stdout
    # offline now: all three answer from the cache
    added = ["--extra-model", CLIP_ID, "--extra-model", TIMM_ID, "--extra-model", TEXT_ID]
    answers = json.loads(_predict(_env(closed, hf_home), "--poster", str(poster), *added, "--json").stdout)
    assert {k: a["status"] for k, a in answers.items()} == dict.fromkeys(answers, "ok"), \
        {k: a["message"] for k, a in answers.items()}


@pytest.mark.parametrize("args, says", [
    ([TEXT_ID, "--max-extra-model-gb", "0.000001"], "over the 1e-06 GB limit"),  # the page's size limit
    (["genrelens-test/no-such-model"], "no such model on"),
    (["not/a/hub/id"], "hf-hub:ORG/NAME"),  # the page's validation: the forms named
    (["timm/No_Such_Model"], "timm/NAME"),
    (["vit-huge"], "or a hub id: hf-hub:ORG/NAME"),  # neither a key nor an id
])
def test_download_refuses_a_hub_id_as_the_page_does_before_fetching_anything(extra_hub, tmp_path, args, says):
    extra_hub.clear_log()
    refused = _download(_env(extra_hub.endpoint, tmp_path / "hf_home"), "--models", *args)
    assert refused.returncode == 2 and refused.stderr.startswith("error: ") and says in refused.stderr, refused.stderr
    assert refused.stderr.count("\n") == 1 and "Traceback" not in refused.stderr
    assert not [r for r in extra_hub.requests if "/resolve/" in r.path or r.path.startswith("/cdn/")]
    assert not list((tmp_path / "hf_home").glob("hub/models--*"))
