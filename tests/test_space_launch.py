"""The Space launch: app.py listens where the platform says, and the README front matter matches the code."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

import pytest

from app_server import free_port
from tests.support.app_launcher import AppExited, AppProcess

ROOT = Path(__file__).resolve().parent.parent
# the Pythons a ZeroGPU Space runs (hub-docs spaces-zerogpu.md, 2026)
ZEROGPU_PYTHONS = ("3.12.12", "3.10.13")


def _listening(port: int) -> set[str]:
    """Local addresses in LISTEN state on ``port`` (IPv4), from /proc/net/tcp."""
    found = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        local, state = line.split()[1], line.split()[3]
        address, hex_port = local.split(":")
        if state == "0A" and int(hex_port, 16) == port:
            found.add(".".join(str(int(address[i:i + 2], 16)) for i in (6, 4, 2, 0)))
    return found


@contextmanager
def _running(env_extra: dict[str, str], port: int, *args: str):
    env = {**os.environ, "HF_HUB_OFFLINE": "1", **env_extra}
    env.pop("GRADIO_SERVER_NAME", None) if "GRADIO_SERVER_NAME" not in env_extra else None
    app = AppProcess(["--models", "minilm", "--no-preload", *args], env=env, port=port)
    try:
        app.start(timeout=90)
    except (AppExited, TimeoutError) as exc:
        app.stop()
        pytest.fail(str(exc))
    try:
        yield app
    finally:
        app.stop()


@pytest.mark.skipif(not Path("/proc/net/tcp").is_file(), reason="reads listening sockets from Linux /proc")
def test_listens_where_the_space_says():
    port = free_port()
    with _running({"SYSTEM": "spaces", "SPACE_ID": "genrelens/demo", "GRADIO_SERVER_NAME": "0.0.0.0",
                   "GRADIO_SERVER_PORT": str(port)}, port):
        assert _listening(port) == {"0.0.0.0"}


@pytest.mark.skipif(not Path("/proc/net/tcp").is_file(), reason="reads listening sockets from Linux /proc")
def test_flags_win_over_the_platform_variables():
    port, ignored = free_port(), free_port()
    with _running({"GRADIO_SERVER_NAME": "0.0.0.0", "GRADIO_SERVER_PORT": str(ignored)}, port,
                  "--host", "127.0.0.1", "--port", str(port)):
        assert _listening(port) == {"127.0.0.1"} and not _listening(ignored)


def test_without_flags_or_variables_gradio_defaults_apply():
    import app
    args = app.build_parser().parse_args([])
    # None is what makes gradio fall back to the variables, then to 127.0.0.1:7860
    assert args.host is None and args.port is None


def _front_matter() -> dict[str, str | list[str]]:
    text = (ROOT / "README.md").read_text()
    block = re.match(r"---\n(.*?)\n---\n", text, re.S)
    assert block, "README.md must start with the Space's YAML front matter"
    fields: dict = {}
    current = None
    for line in block.group(1).splitlines():
        if line.startswith("  - "):
            fields[current].append(line[4:].strip())
        else:
            current, _, value = line.partition(":")
            fields[current] = value.strip().strip('"') or []
    return fields


def test_front_matter_matches_requirements_and_code():
    from importlib.metadata import version

    from packaging.requirements import Requirement

    from genre_models.cli.download import plan_fetch
    from genre_models.models.lineup import DEFAULT_MODELS
    meta = _front_matter()
    assert meta["sdk"] == "gradio"
    pinned = next(Requirement(line) for line in (ROOT / "requirements.txt").read_text().splitlines()
                  if line.startswith("gradio"))
    assert pinned.specifier.contains(meta["sdk_version"]), (meta["sdk_version"], str(pinned))
    # the Space runs the gradio the tests ran on, and a Python ZeroGPU supports that CI tests on too
    assert meta["sdk_version"] == version("gradio")
    assert meta["python_version"] in ZEROGPU_PYTHONS
    minor = ".".join(meta["python_version"].split(".")[:2])
    assert re.search(rf"^python_space=python{re.escape(minor)}$", (ROOT / ".ci" / "run").read_text(), re.M)
    assert (ROOT / meta["app_file"]).is_file() and meta["app_file"] == "app.py"
    # every hub repo the default lineup fetches is declared (and nothing else), plus MiniLM's source
    repos = {f.repo for spec in DEFAULT_MODELS for f in plan_fetch(spec) if f.repo}
    sources = {spec.settings.source for spec in DEFAULT_MODELS if spec.family == "hf-text"}
    assert set(meta["models"]) == repos | sources


@pytest.mark.parametrize("args, said", [
    (["--port", "70000"], "argument --port: a port is 1 to 65535, got 70000"),
    (["--port", "http"], "argument --port: expected a whole number, got 'http'"),
    (["--max-file-size", "abc"], "argument --max-file-size: a size such as 10mb, 500kb or 1gb, got 'abc'"),
    (["--concurrency", "0"], "argument --concurrency: must be at least 1, got 0"),
    (["--max-queue", "-3"], "argument --max-queue: must be at least 1, got -3"),
])
def test_bad_launch_options_are_one_line(args, said, capsys):
    import app
    with pytest.raises(SystemExit) as stop:
        app.build_parser().parse_args(args)
    assert stop.value.code == 2 and capsys.readouterr().err.strip().endswith(said)


def test_a_busy_port_is_one_line_not_a_traceback():
    import socket
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run([sys.executable, "app.py", "--models", "minilm", "--no-preload", "--port", str(port)],
                                cwd=ROOT, env={**os.environ, "HF_HUB_OFFLINE": "1"}, capture_output=True, text=True,
                                timeout=120)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    # one line, said before the page is built: no gradio advice after it, no double period
    assert result.stderr.strip().splitlines() == [
        f"error: cannot listen on 127.0.0.1:{port} (Address already in use). Choose another --port (or --host)."]
    assert result.stdout == ""


def test_where_the_app_cannot_listen_is_said_in_a_few_words(monkeypatch):
    import socket

    from genre_models.ports import free_port, listen_problem
    port = free_port()
    monkeypatch.delenv("GRADIO_SERVER_NAME", raising=False)
    monkeypatch.delenv("GRADIO_SERVER_PORT", raising=False)
    assert listen_problem(None, port) is None and listen_problem("127.0.0.1", port) is None
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", port))
        taken.listen()
        assert listen_problem(None, port) == f"cannot listen on 127.0.0.1:{port} (Address already in use)"
        monkeypatch.setenv("GRADIO_SERVER_PORT", str(port))  # the platform's variable, no flag
        assert listen_problem(None, None).startswith(f"cannot listen on 127.0.0.1:{port}")
    monkeypatch.setenv("GRADIO_SERVER_PORT", "http")
    assert listen_problem(None, None) == "GRADIO_SERVER_PORT='http' is not a port (1 to 65535)"
    assert listen_problem("192.0.2.1", port).startswith("cannot listen on 192.0.2.1:")  # not this machine's
    if socket.has_ipv6:
        assert listen_problem("::1", port) in (None, f"cannot listen on ::1:{port} (Cannot assign requested address)")


def test_examples_cache_is_outside_the_project_and_per_lineup(tmp_path, monkeypatch):
    import app
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    one, other = app.examples_cache(["minilm"]), app.examples_cache(["minilm", "clip-vit-b-16"])
    assert one.parent == tmp_path / "genrelens" / "examples" and one != other
    assert not one.is_relative_to(ROOT)  # a read-only install can still cache the examples' answers
