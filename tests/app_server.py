"""Start the real app (build_demo + launch) on a free loopback port, in this process, with tiny models."""
from __future__ import annotations

from contextlib import contextmanager

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
