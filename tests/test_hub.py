import socket
import time

import pytest

from genre_models.errors import ConfigError
from genre_models.models import hub


def test_offline_switch_reaches_huggingface_hub(monkeypatch):
    from huggingface_hub import is_offline_mode
    monkeypatch.setattr(hub.hf_constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    hub.set_offline(True)
    assert is_offline_mode() and hub.offline_mode()


def test_unreachable_hub_is_detected_fast(monkeypatch):
    # a loopback port with nothing listening: the probe must answer quickly, not hang
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setattr(hub, "_reachable", None)  # restored after the test
    monkeypatch.setattr(hub.hf_constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(hub.hf_constants, "ENDPOINT", f"http://127.0.0.1:{port}")
    start = time.perf_counter()
    assert hub.hub_reachable(timeout=1.0, refresh=True) is False
    assert time.perf_counter() - start < 2.0


def test_reachable_endpoint_is_seen(monkeypatch):
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        monkeypatch.setattr(hub, "_reachable", None)
        monkeypatch.setattr(hub.hf_constants, "HF_HUB_OFFLINE", False)
        monkeypatch.setattr(hub.hf_constants, "ENDPOINT", f"http://127.0.0.1:{server.getsockname()[1]}")
        assert hub.hub_reachable(timeout=1.0, refresh=True) is True


# -- one hub-id rule, the Hub library's own (issue 33, item 15) ------------------------------------------------------
@pytest.mark.parametrize("repo, why", [("org/a--b", "Cannot have -- or .."), ("org/name.git", "cannot end by '.git'"),
                                       ("org/..", "cannot start or end with '-' or '.'"), ("org/a..b", "Cannot have -- or .."),
                                       ("org/" + "x" * 97, "maximum length is 96"), ("org/-x", "cannot start or end"),
                                       ("a/b/c", "in the form"), ("heads", "expected OWNER/NAME"), ("", "expected OWNER/NAME")])
def test_a_heads_repo_the_hub_library_refuses_stops_the_command_in_one_line(monkeypatch, repo, why):
    monkeypatch.delenv(hub.HEADS_ENV, raising=False)
    with pytest.raises(ConfigError) as info:
        hub.use_heads_repo(repo or " ")
    assert why in str(info.value) and "\n" not in str(info.value) and repo in str(info.value)
    if repo.count("/") != 1:  # hf-hub:a/b/c is repo a/b, folder c
        return
    with pytest.raises(ConfigError, match="is not a hub repo id"):  # a checkpoint naming it, the same rule
        hub.parse_hub_folder(f"hf-hub:{repo}/minilm", "minilm")


def test_the_rule_is_the_hub_librarys_own():
    from huggingface_hub.errors import HFValidationError
    from huggingface_hub.utils import validate_repo_id
    for repo in ("genrelens/heads", "a/b", "Org_1/name.v2-x", "org/_x", "org/a.b.c"):
        assert hub.repo_id_problem(repo) is None
        validate_repo_id(repo)
    for repo in ("org/a--b", "org/x.git", "org/x.", "org/.x", "org/café", "org/a b"):
        assert hub.repo_id_problem(repo) is not None
        with pytest.raises(HFValidationError):
            validate_repo_id(repo)
