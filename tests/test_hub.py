import socket
import time

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
