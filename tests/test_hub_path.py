"""The user's path, hub -> Hugging Face cache -> CLI and app, through a loopback hub.

Two variants of the same checks, both in every run of the suite: tiny models (the same libraries'
download and load code, architectures small enough for seconds) and the full-size default lineup
(``test_fullsize_*``, marked ``fullsize``: about 4.2 GB of random-init weights built once into
``~/.cache/genrelens/loopback-hub``, about 4 minutes). The full-size variant takes the lineup itself,
so a model added to it later is checked without touching this file. ``-m "not fullsize"`` leaves it
out of a quick local run. Weights are random, so the checks are about statuses, shapes, caching and
determinism, never about the numbers.

Every command runs in its own process with an empty ``HF_HOME`` and ``HF_ENDPOINT`` pointed at the
loopback hub (or, for "offline", at a closed port): the product's code is what a user runs.
"""
from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from app_server import app_process, free_port
from films import write_films_csv
from tests.support.loopback_hub import DEFAULT_ROOT, LoopbackHub, build_repos
from genre_models.models.registry import get_model_spec, load_model_config

ROOT = Path(__file__).resolve().parent.parent
HUB_CLI = ROOT / "tests" / "hub_cli.py"
fullsize = pytest.mark.fullsize
PLOT = "A ghost haunts the old house where two strangers fall in love."

TINY_CLIP_ARCH = "tiny-vit-hub-quickgelu"
TINY_CLIP_REPO = "genrelens-test/tiny-vit-hub.openai"
TINY_BERT_REPO = "genrelens-test/tiny-bert"


@dataclass
class Lineup:
    """One variant: the models, the config file that declares them, where their hub repos are built."""

    keys: list[str]
    head_model: str  # the CNN (BiT): ConSE zero-shot out of the box; a head is trained for its trained mode
    config: Path
    repo_root: Path
    env: dict[str, str] = field(default_factory=dict)
    text_folders: dict[str, Path] = field(default_factory=dict)

    def run(self, command: str, *args: str, endpoint: str, hf_home: Path, timeout: float = 900,
            check: bool = True) -> subprocess.CompletedProcess:
        result = subprocess.run([sys.executable, str(HUB_CLI), command, "--model-config", str(self.config), *args],
                                cwd=ROOT, env=self.environment(endpoint, hf_home), capture_output=True, text=True,
                                timeout=timeout)
        if check:
            assert result.returncode == 0, f"{command} exited {result.returncode}:\n{result.stdout}\n{result.stderr}"
        return result

    def environment(self, endpoint: str, hf_home: Path) -> dict[str, str]:
        return {**os.environ, "HF_HOME": str(hf_home), "HF_ENDPOINT": endpoint, "HF_HUB_OFFLINE": "0",
                "HF_HUB_DISABLE_TELEMETRY": "1", "TOKENIZERS_PARALLELISM": "false", **self.env}


def _write_config(path: Path, entries: list[dict]) -> Path:
    path.write_text(json.dumps({"models": entries}))
    return path


@pytest.fixture(scope="module")
def tiny_lineup(tmp_path_factory, tiny_bert_dir):
    from hub_cli import register_tiny_clip
    from conftest import TINY_TEXT_CFG
    folder = tmp_path_factory.mktemp("tiny_hub")
    configs = folder / "open_clip"
    configs.mkdir()
    (configs / f"{TINY_CLIP_ARCH}.json").write_text(json.dumps(
        {"embed_dim": 16, "quick_gelu": True, "text_cfg": TINY_TEXT_CFG,
         "vision_cfg": {"image_size": 32, "layers": 2, "width": 32, "patch_size": 16, "head_width": 16}}))
    clip_spec = folder / "tiny_clip.json"
    clip_spec.write_text(json.dumps({"config_dir": str(configs), "repos": {TINY_CLIP_ARCH: TINY_CLIP_REPO}}))
    register_tiny_clip(clip_spec)
    ckpt = folder / "checkpoints"
    config = _write_config(folder / "models.json", [
        {"key": "hub-bit", "family": "timm-image", "arch": "resnetv2_50x1_bit", "pretrained": "goog_in21k",
         "model_kwargs": {"channels": [128, 128, 128, 128], "pretrained_cfg_overlay": {"input_size": [3, 64, 64]}},
         "display_name": "Hub BiT", "checkpoint": str(ckpt / "hub-bit")},
        {"key": "hub-clip", "family": "clip", "arch": TINY_CLIP_ARCH, "pretrained": "openai",
         "display_name": "Hub CLIP", "checkpoint": str(ckpt / "hub-clip")},
        {"key": "hub-bert", "family": "hf-text", "source": TINY_BERT_REPO, "max_length": 24,
         "display_name": "Hub BERT", "checkpoint": str(ckpt / "hub-bert")},
        {"key": "hub-fusion", "family": "fusion", "image_model": "hub-clip", "text_model": "hub-bert",
         "display_name": "Hub fusion", "checkpoint": str(ckpt / "hub-fusion")},
    ])
    keys = load_model_config(config)
    yield Lineup(keys[:3] + ["minilm"] + keys[3:], "hub-bit", config, folder / "repos",
                 {"GENRELENS_TEST_CLIP": str(clip_spec)}, {TINY_BERT_REPO: tiny_bert_dir})
    from genre_models.models.registry import unregister_model
    for key in keys:
        unregister_model(key)


@pytest.fixture(scope="module")
def full_lineup(tmp_path_factory):
    from genre_models.models.lineup import DEFAULT_MODELS
    folder = tmp_path_factory.mktemp("full_hub")
    # only the CNN's head is re-pointed (it has none shipped); everything else is the default lineup
    config = _write_config(folder / "models.json", [{"key": "bit-resnet50",
                                                     "checkpoint": str(folder / "checkpoints" / "bit-resnet50")}])
    yield Lineup([s.key for s in DEFAULT_MODELS], "bit-resnet50", config, DEFAULT_ROOT)
    from genre_models.models.lineup import DEFAULT_MODELS as defaults
    from genre_models.models.registry import register_model
    for spec in defaults:
        register_model(spec, overwrite=True)


class HubSession:
    """A loopback hub serving a lineup's repos, and a fresh HF_HOME filled from it once."""

    def __init__(self, lineup: Lineup, folder: Path):
        self.lineup = lineup
        self.folder = folder
        self.repos = build_repos([get_model_spec(k) for k in lineup.keys], lineup.repo_root,
                                 text_folders=lineup.text_folders, log=lambda line: None)
        self.hub = LoopbackHub(lineup.repo_root).start()
        self.hf_home = folder / "hf_home"
        self.closed_endpoint = f"http://127.0.0.1:{free_port()}"  # nothing listens there: unreachable
        self.first = lineup.run("download", "--models", *lineup.keys, endpoint=self.hub.endpoint, hf_home=self.hf_home)
        self.first_requests = self.hub.requests
        self.head_trained = False

    def served(self, repo: str) -> dict:
        return self.hub.index.files(repo)

    def cached(self, repo: str, name: str, hf_home: Path | None = None) -> Path | None:
        snapshots = (hf_home or self.hf_home) / "hub" / f"models--{repo.replace('/', '--')}" / "snapshots"
        found = list(snapshots.glob(f"*/{name}"))
        return found[0] if found else None

    def offline(self, command: str, *args: str, **kwargs) -> subprocess.CompletedProcess:
        return self.lineup.run(command, *args, endpoint=self.closed_endpoint, hf_home=self.hf_home, **kwargs)

    def ensure_head(self) -> None:
        """Train the CNN's head offline (random backbone, synthetic films), for its trained mode."""
        if self.head_trained:
            return
        films = write_films_csv(self.folder / "films", n=60)
        self.offline("train", "--data", str(films), "--models", self.lineup.head_model, "--epochs", "2",
                     "--no-progress", "--num-workers", "0", "--cache-dir", str(self.folder / "features"))
        self.head_trained = True

    def close(self) -> None:
        self.hub.stop()


@pytest.fixture(scope="module")
def tiny_hub(tiny_lineup, tmp_path_factory):
    session = HubSession(tiny_lineup, tmp_path_factory.mktemp("tiny_session"))
    yield session
    session.close()


@pytest.fixture(scope="module")
def full_hub(full_lineup, tmp_path_factory):
    session = HubSession(full_lineup, tmp_path_factory.mktemp("full_session"))
    yield session
    session.close()


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# -- the checks, shared by both variants ------------------------------------------------------------
def check_download_fetches_everything_once(session: HubSession) -> None:
    out = session.first.stdout
    for repo in session.repos:
        files = session.served(repo)
        assert f"{repo}: " in out and " MB)" in out.split(f"{repo}: ", 1)[1].splitlines()[0]
        for name in files:  # the loopback repos hold only what the loaders read
            cached = session.cached(repo, name)
            assert cached is not None, f"{repo}/{name} not in the cache"
            assert cached.stat().st_size == files[name].size
    assert "[minilm] local folder" in out and "done: fetched" in out
    fetched = sum(f.size for repo in session.repos for f in session.served(repo).values())
    assert f"done: fetched {fetched / 1e6:,.1f} MB" in out
    # LFS weights came through the CDN redirect, as from the real hub
    assert any(r.method == "GET" and r.path.startswith("/cdn/") and r.status == 200 for r in session.first_requests)

    session.hub.clear_log()
    second = session.lineup.run("download", "--models", *session.lineup.keys, endpoint=session.hub.endpoint,
                                hf_home=session.hf_home)
    for repo in session.repos:
        assert f"{repo}: already in the cache" in second.stdout
    assert "done: fetched 0.0 MB" in second.stdout
    moved = [r for r in session.hub.requests if r.method == "GET" and ("/resolve/" in r.path or r.path.startswith("/cdn/"))]
    assert moved == [], f"a second run downloaded again: {moved}"


def _largest_file(session: HubSession):
    """(model key, repo, file name, served entry) of the largest weights file: the one a failure is likeliest to hit."""
    repo, name, entry = max(((repo, name, f) for repo in session.repos for name, f in session.served(repo).items()),
                            key=lambda item: item[2].size)
    key = next(k for k in session.lineup.keys
               if any(f.repo == repo for f in get_model_spec(k).family_impl.download_plan(get_model_spec(k))))
    return key, repo, name, entry


def check_dropped_connection_resumes(session: HubSession, folder: Path) -> None:
    key, repo, name, entry = _largest_file(session)
    hf_home = folder / "hf_home_dropped"
    from huggingface_hub import constants
    # huggingface_hub writes whole chunks; cut after more than one so there is something to resume from
    cut = entry.size - entry.size // 8
    assert cut > constants.DOWNLOAD_CHUNK_SIZE, "the largest test file must span more than one download chunk"
    session.hub.clear_log()
    session.hub.drop_next_download(cut)
    session.lineup.run("download", "--models", key, endpoint=session.hub.endpoint, hf_home=hf_home)
    gets = [r for r in session.hub.requests if r.method == "GET" and r.path == f"/cdn/{entry.sha256}"]
    # the first transfer was cut; the same run asked for the rest, from the last chunk it wrote
    assert [r.range is None for r in gets] == [True, False], gets
    resumed_from = int(gets[1].range.removeprefix("bytes=").removesuffix("-"))
    assert 0 < resumed_from <= cut and gets[1].status == 206
    cached = session.cached(repo, name, hf_home)
    assert cached is not None and _sha256(cached) == entry.sha256


def check_killed_download_starts_over_and_cleans_up(session: HubSession, folder: Path) -> None:
    key, repo, name, entry = _largest_file(session)
    hf_home = folder / "hf_home_killed"
    blobs = hf_home / "hub" / f"models--{repo.replace('/', '--')}" / "blobs"
    session.hub.set_throttle(max(entry.size // 8, 64 * 1024))  # about 8 s for the whole file
    process = subprocess.Popen([sys.executable, str(HUB_CLI), "download", "--model-config", str(session.lineup.config),
                                "--models", key], cwd=ROOT, env=session.lineup.environment(session.hub.endpoint, hf_home),
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 120
        partial = 0
        while time.time() < deadline and partial < entry.size // 4:
            incomplete = list(blobs.glob("*.incomplete")) if blobs.is_dir() else []
            partial = incomplete[0].stat().st_size if incomplete else 0
            time.sleep(0.1)
        assert partial >= entry.size // 4, "the download never got going"
    finally:
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        session.hub.set_throttle(None)
    assert session.cached(repo, name, hf_home) is None  # the killed file never reached the snapshot
    leftover = sum(p.stat().st_size for p in blobs.glob("*.incomplete"))
    assert leftover >= partial
    rerun = session.lineup.run("download", "--models", key, endpoint=session.hub.endpoint, hf_home=hf_home)
    assert f"[{key}] removed {leftover / 1e6:,.1f} MB of partial files" in rerun.stdout
    assert list(blobs.glob("*.incomplete")) == []
    cached = session.cached(repo, name, hf_home)
    assert cached is not None and _sha256(cached) == entry.sha256


def check_offline_every_model_answers(session: HubSession, poster: Path) -> None:
    session.ensure_head()
    keys = session.lineup.keys
    args = ["--models", *keys, "--poster", str(poster), "--plot", PLOT, "--json"]
    first = json.loads(session.offline("predict", *args).stdout)
    assert {k: p["status"] for k, p in first.items()} == {k: "ok" for k in keys}, \
        {k: p["message"] for k, p in first.items() if p["status"] != "ok"}
    for key, prediction in first.items():
        assert len(prediction["probabilities"]) == 18
        assert all(0.0 <= p <= 1.0 for p in prediction["probabilities"].values())
    assert first[session.lineup.head_model]["mode"] == "trained"
    second = json.loads(session.offline("predict", *args).stdout)
    assert {k: p["probabilities"] for k, p in second.items()} == {k: p["probabilities"] for k, p in first.items()}


def check_cnn_answers_zero_shot_through_its_class_names(session: HubSession, poster: Path) -> None:
    """BiT with its ImageNet-21k classifier, no head: ConSE zero-shot, out of the box."""
    key = session.lineup.head_model
    args = ["--models", key, "--poster", str(poster), "--mode", "zero-shot", "--json"]
    answer = json.loads(session.offline("predict", *args).stdout)[key]
    assert answer["status"] == "ok", answer["message"]
    assert answer["mode"] == "zero-shot" and answer["method"] == "ConSE, ImageNet-21k labels"
    assert len(answer["probabilities"]) == 18 and all(0 <= p <= 1 for p in answer["probabilities"].values())


def check_offline_app_answers(session: HubSession, poster: Path) -> None:
    from gradio_client import handle_file
    session.ensure_head()
    keys = session.lineup.keys
    env = session.lineup.environment(session.closed_endpoint, session.hf_home)
    with app_process(["--model-config", str(session.lineup.config), "--models", *keys], env, free_port()) as client:
        result = client.predict(poster=handle_file(str(poster)), plot=PLOT, models=keys, mode="auto",
                                threshold=None, custom_genres="", api_name="/compare")
        statuses = {k: p["status"] for k, p in result["models"].items()}
        assert statuses == {k: "ok" for k in keys}, {k: p["message"] for k, p in result["models"].items()}
        assert all(len(p["probabilities"]) == 18 for p in result["models"].values())
        again = client.predict(poster=handle_file(str(poster)), plot=PLOT, models=keys, mode="auto",
                               threshold=None, custom_genres="", api_name="/compare")
        assert {k: p["probabilities"] for k, p in again["models"].items()} == \
               {k: p["probabilities"] for k, p in result["models"].items()}


# -- tiny variant: in the README's test command ----------------------------------------------------
def test_tiny_download_fetches_everything_once(tiny_hub):
    check_download_fetches_everything_once(tiny_hub)


def test_tiny_dropped_connection_resumes(tiny_hub, tmp_path):
    check_dropped_connection_resumes(tiny_hub, tmp_path)


def test_tiny_killed_download_starts_over_and_cleans_up(tiny_hub, tmp_path):
    check_killed_download_starts_over_and_cleans_up(tiny_hub, tmp_path)


def test_tiny_offline_every_model_answers(tiny_hub, poster):
    check_offline_every_model_answers(tiny_hub, poster)


def test_tiny_cnn_answers_zero_shot_through_its_class_names(tiny_hub, poster):
    check_cnn_answers_zero_shot_through_its_class_names(tiny_hub, poster)


def test_tiny_offline_app_answers(tiny_hub, poster):
    check_offline_app_answers(tiny_hub, poster)


# -- full size: the default lineup, in every run ------------------------------------------------------------------------------
@fullsize
def test_fullsize_download_fetches_everything_once(full_hub):
    check_download_fetches_everything_once(full_hub)


@fullsize
def test_fullsize_dropped_connection_resumes(full_hub, tmp_path):
    check_dropped_connection_resumes(full_hub, tmp_path)


@fullsize
def test_fullsize_killed_download_starts_over_and_cleans_up(full_hub, tmp_path):
    check_killed_download_starts_over_and_cleans_up(full_hub, tmp_path)


@fullsize
def test_fullsize_offline_every_model_answers(full_hub, poster):
    check_offline_every_model_answers(full_hub, poster)


@fullsize
def test_fullsize_cnn_answers_zero_shot_through_its_class_names(full_hub, poster):
    check_cnn_answers_zero_shot_through_its_class_names(full_hub, poster)


@fullsize
def test_fullsize_offline_app_answers(full_hub, poster):
    check_offline_app_answers(full_hub, poster)
