"""Start the real app (build_demo + launch) on a free loopback port, in this process, with tiny models."""
from __future__ import annotations

import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import app
from genre_models import ModelPool
from genre_models.ports import free_port  # noqa: F401 (tests import it from here)

TINY_LINEUP = ["tiny-clip-vit", "tiny-clip-rn", "tiny-bit", "tiny-bert", "tiny-fusion"]


@contextmanager
def running_app(keys=TINY_LINEUP):
    demo = app.build_demo(keys, ModelPool())
    demo.queue(default_concurrency_limit=2, max_size=8)
    port = free_port()
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True, css=app.CSS,
                max_file_size="5mb", allowed_paths=[str(app.ASSETS)])
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        demo.close()


@contextmanager
def app_process(args, env: dict, port: int, timeout: float = 300):
    """``python tests/hub_cli.py app ARGS`` (the app as a user starts it, with the tests' tiny CLIP known)
    in its own process on ``port``; yields a gradio Client once it answers. Fails with the app's output
    when it exits first; stops it afterwards."""
    import pytest
    from gradio_client import Client
    root = Path(__file__).resolve().parent.parent
    process = subprocess.Popen([sys.executable, str(root / "tests" / "hub_cli.py"), "app", *args], cwd=root,
                               env={**env, "GRADIO_SERVER_PORT": str(port)}, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    try:
        client, deadline = None, time.time() + timeout
        while client is None:
            if process.poll() is not None:
                pytest.fail(f"app exited {process.returncode}: {process.stdout.read()}")
            try:
                client = Client(f"http://127.0.0.1:{port}/", verbose=False)
            except Exception:  # not up yet
                if time.time() > deadline:
                    raise
                time.sleep(1)
        yield client
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
