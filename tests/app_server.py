"""Start the real app with tiny models: in this process (build_demo + launch) or, through the shared
launcher (tests/support/app_launcher.py), in its own as a user starts it."""
from __future__ import annotations

import sys
from contextlib import contextmanager

import app
from genre_models import ModelPool
from genre_models.ports import free_port  # noqa: F401 (tests import it from here)
from tests.support.app_launcher import ROOT, AppExited, AppProcess

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
    app = AppProcess(args, env=env, port=port, program=[sys.executable, str(ROOT / "tests" / "hub_cli.py"), "app"])
    try:
        try:
            app.start(timeout)
        except AppExited as exc:
            pytest.fail(str(exc))
        yield Client(app.url, verbose=False)
    finally:
        app.stop(timeout=30)
