"""The loopback hub's side of the protocol, checked on the wire (the hub-path tests check it through the libraries)."""
from __future__ import annotations

import hashlib

import httpx
import pytest

from tests.support.loopback_hub import LoopbackHub, write_repo_marker


@pytest.fixture
def hub(tmp_path):
    repo = tmp_path / "org" / "model"
    repo.mkdir(parents=True)
    (repo / "config.json").write_text('{"hidden_size": 8}')
    (repo / "model.safetensors").write_bytes(bytes(range(256)) * 40)  # weights: served through the CDN
    write_repo_marker(repo)
    with LoopbackHub(tmp_path) as running:
        yield running


def test_small_files_directly_large_ones_through_a_cdn_redirect(hub):
    small = httpx.head(f"{hub.endpoint}/org/model/resolve/main/config.json")
    assert small.status_code == 200 and small.headers["Content-Length"] == "18"
    config_digest = hashlib.sha256(b'{"hidden_size": 8}').hexdigest()
    assert small.headers["ETag"] == f'"{config_digest}"'
    assert len(small.headers["X-Repo-Commit"]) == 40
    large = httpx.head(f"{hub.endpoint}/org/model/resolve/main/model.safetensors")
    digest = hashlib.sha256(bytes(range(256)) * 40).hexdigest()
    assert large.status_code == 302 and large.headers["X-Linked-Size"] == "10240"
    assert large.headers["X-Linked-Etag"] == f'"{digest}"' and large.headers["X-Repo-Commit"] == small.headers["X-Repo-Commit"]
    cdn = large.headers["Location"]
    assert cdn.endswith(f"/cdn/{digest}") and not cdn.startswith(hub.endpoint)  # another origin, as the real CDN
    part = httpx.get(cdn, headers={"Range": "bytes=10000-"})
    assert part.status_code == 206 and part.content == (bytes(range(256)) * 40)[10000:]
    assert part.headers["Content-Range"] == "bytes 10000-10239/10240"
    assert httpx.get(cdn, headers={"Range": "bytes=abc-"}).status_code == 416


def test_missing_files_and_repos_and_model_info(hub):
    missing = httpx.head(f"{hub.endpoint}/org/model/resolve/main/nope.bin")
    assert missing.status_code == 404 and missing.headers["X-Error-Code"] == "EntryNotFound"
    assert httpx.get(f"{hub.endpoint}/org/other/resolve/main/x").headers["X-Error-Code"] == "RepoNotFound"
    info = httpx.get(f"{hub.endpoint}/api/models/org/model", params={"blobs": True}).json()
    assert info["id"] == "org/model" and len(info["sha"]) == 40
    assert {s["rfilename"]: s["size"] for s in info["siblings"]} == {"config.json": 18, "model.safetensors": 10240}
    assert [r.path for r in hub.requests][-1] == "/api/models/org/model"


def test_a_dropped_download_is_cut_once(hub):
    cdn = httpx.head(f"{hub.endpoint}/org/model/resolve/main/model.safetensors").headers["Location"]
    hub.drop_next_download(1000)
    with pytest.raises(httpx.RemoteProtocolError):
        httpx.get(cdn)
    assert len(httpx.get(cdn).content) == 10240  # only once


def test_the_builder_covers_every_family_of_the_default_lineup(tmp_path):
    """Models with nothing to fetch add no repo; a composite's parts are built by their own family."""
    from genre_models.errors import ConfigError
    from tests.support.loopback_hub import build_repos
    from genre_models.models.lineup import DEFAULT_MODELS
    from genre_models.models.registry import ModelSpec, register_model, unregister_model
    nothing_to_fetch = [s for s in DEFAULT_MODELS if all(f.repo is None for f in s.family_impl.download_plan(s))]
    assert {s.family for s in nothing_to_fetch} >= {"tfidf-text", "ensemble"}  # the families that broke it
    built = []
    assert build_repos(nothing_to_fetch, tmp_path, log=built.append) == [] and built == []
    # an ensemble whose member has a hub repo: the member's family builds it (here, a tiny BERT folder)
    bert = tmp_path / "bert"
    bert.mkdir()
    (bert / "config.json").write_text("{}")
    member = ModelSpec("hub-member", "hf-text", {"source": "org/tiny-bert"}, "Member")
    blend = ModelSpec("hub-blend", "ensemble", {"members": ["hub-member", "tfidf"]}, "Blend")
    register_model(member)
    try:
        assert build_repos([blend], tmp_path / "repos", text_folders={"org/tiny-bert": bert},
                           log=built.append) == ["org/tiny-bert"]
        assert (tmp_path / "repos" / "org" / "tiny-bert" / "config.json").is_file()
        assert built == ["[hub-member] org/tiny-bert: building random-init weights of the full architecture…"]
    finally:
        unregister_model("hub-member")
    # a family with a repo but no recipe is named, not a KeyError
    from genre_models.models.families import Fetch
    odd = type("Odd", (), {"family": "toy", "key": "odd", "family_impl": type(
        "F", (), {"download_plan": staticmethod(lambda spec: [Fetch("odd", "org/odd")])})()})()
    with pytest.raises(ConfigError, match="cannot build 'org/odd' for model 'odd': no recipe for family 'toy'"):
        build_repos([odd], tmp_path / "other")


def test_the_command_runs_the_hub_from_the_checkout_and_says_so_without_one(tmp_path, monkeypatch, capsys):
    """`python -m genre_models.loopback_hub` keeps working with the hub's code in tests/support/; a copy of
    the package without the checkout's tests/ (installed, or a Space) gets one line, not a traceback."""
    import subprocess
    import sys

    from genre_models import loopback_hub
    from tests.support.loopback_hub.__main__ import main as hub_main
    root = loopback_hub.CHECKOUT
    shown = subprocess.run([sys.executable, "-m", "genre_models.loopback_hub", "--help"], cwd=tmp_path,
                           env={"PYTHONPATH": str(root), "HF_HUB_OFFLINE": "1", "PATH": ""},
                           capture_output=True, text=True, timeout=120)
    assert shown.returncode == 0 and "--throttle" in shown.stdout, shown.stderr
    assert loopback_hub.main(["--build-only", "--root", str(tmp_path / "repos"), "--models", "tfidf"]) == 0
    assert hub_main(["--build-only", "--root", str(tmp_path / "repos"), "--models", "nope"]) == 2
    capsys.readouterr()
    monkeypatch.setattr(loopback_hub, "CHECKOUT", tmp_path)
    assert loopback_hub.main(["--help"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"{tmp_path} has none" in err
